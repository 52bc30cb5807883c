//! Protobuf exposition format (`io.prometheus.client.MetricFamily`, varint-delimited stream).

use crate::wire::*;
use lgtm_proto::Message;
use lgtm_proto::prometheus::client::{MetricFamily, MetricType};

/// A scrape body as client_golang writes it: proto2 encoding, so optional fields that are set
/// are written even when zero (type COUNTER = 0) and repeated scalars are *not* packed.
fn scrape_body() -> Vec<u8> {
    let counter = cat(&[
        string(1, "http_requests_total"),
        string(2, "Total requests."),
        uint(3, 0), // type COUNTER, explicitly present
        message(
            4, // metric
            &[
                message(1, &[string(1, "code"), string(2, "200")]),
                message(
                    3, // counter
                    &[
                        double(1, 1027.0),
                        message(
                            2, // exemplar
                            &[
                                message(1, &[string(1, "trace_id"), string(2, "abc")]),
                                double(2, 1.0),
                                message(3, &[uint(1, 1_700_000_000)]),
                            ],
                        ),
                        message(3, &[uint(1, 1_699_990_000)]), // created_timestamp
                    ],
                ),
            ],
        ),
    ]);
    let histogram = cat(&[
        string(1, "rpc_seconds"),
        uint(3, 4), // HISTOGRAM
        message(
            4,
            &[message(
                7, // histogram
                &[
                    uint(1, 3),                               // sample_count
                    double(2, 0.75),                          // sample_sum
                    sint(5, 3),                               // schema
                    double(6, 2.938735877055719e-39),         // zero_threshold (2^-128)
                    uint(7, 0),                               // zero_count (set, zero)
                    message(12, &[sint(1, -10), uint(2, 2)]), // positive_span
                    sint(13, 1),                              // positive_delta, unpacked
                    sint(13, 1),
                ],
            )],
        ),
    ]);
    cat(&[
        crate::wire::varint(counter.len() as u64),
        counter,
        crate::wire::varint(histogram.len() as u64),
        histogram,
    ])
}

#[test]
fn decodes_delimited_metric_families() {
    let body = scrape_body();
    let mut buf = body.as_slice();
    let mut families = Vec::new();
    while !buf.is_empty() {
        families.push(MetricFamily::decode_length_delimited(&mut buf).unwrap());
    }
    assert_eq!(families.len(), 2);

    let counter = &families[0];
    assert_eq!(counter.r#type(), MetricType::Counter);
    let c = counter.metric[0].counter.as_ref().unwrap();
    assert_eq!(c.value, 1027.0);
    assert_eq!(c.created_timestamp.unwrap().seconds, 1_699_990_000);
    assert_eq!(c.exemplar.as_ref().unwrap().label[0].value, "abc");

    let hist = &families[1];
    assert_eq!(hist.r#type(), MetricType::Histogram);
    let h = hist.metric[0].histogram.as_ref().unwrap();
    assert_eq!((h.schema, h.sample_count), (3, 3));
    assert_eq!(h.zero_threshold, 2f64.powi(-128));
    assert_eq!(h.positive_span[0].offset, -10);
    assert_eq!(h.positive_delta, [1, 1]);
}
