//! Remote write 1.0: `prometheus.WriteRequest` (prompb/remote.proto, prompb/types.proto).

use crate::wire::*;
use lgtm_proto::Message;
use lgtm_proto::prometheus::{
    BucketSpan, Exemplar, Histogram, Label, MetricMetadata, Sample, TimeSeries, WriteRequest,
    histogram, metric_metadata,
};

const TS: i64 = 1_700_000_000_000;

fn label(name: &str, value: &str) -> Label {
    Label {
        name: name.into(),
        value: value.into(),
    }
}

/// The smallest useful request, spelled out byte by byte.
#[test]
fn minimal_write_request_literal_bytes() {
    #[rustfmt::skip]
    let bytes: &[u8] = &[
        0x0a, 0x1e,                   // WriteRequest.timeseries (1, LEN), 30 bytes
          0x0a, 0x0e,                 //   TimeSeries.labels (1, LEN), 14 bytes
            0x0a, 0x08, b'_', b'_', b'n', b'a', b'm', b'e', b'_', b'_', // name (1) "__name__"
            0x12, 0x02, b'u', b'p',   //     value (2) "up"
          0x12, 0x0c,                 //   TimeSeries.samples (2, LEN), 12 bytes
            0x09, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f, // value (1, I64) 1.0
            0x10, 0xe8, 0x07,         //     timestamp (2, VARINT) 1000
    ];
    let want = WriteRequest {
        timeseries: vec![TimeSeries {
            labels: vec![label("__name__", "up")],
            samples: vec![Sample {
                value: 1.0,
                timestamp: 1000,
            }],
            ..Default::default()
        }],
        metadata: vec![],
    };
    assert_eq!(WriteRequest::decode(bytes).unwrap(), want);
    assert_eq!(want.encode_to_vec(), bytes);
}

/// Hand-assembled WriteRequest: a float series with an exemplar, a series with an integer
/// and a float (custom-bucket) native histogram, and one metadata entry.
pub(crate) fn full_write_request_bytes() -> Vec<u8> {
    let series_up = message(
        1, // WriteRequest.timeseries
        &[
            message(1, &[string(1, "__name__"), string(2, "up")]), // labels
            message(1, &[string(1, "job"), string(2, "api")]),
            message(2, &[double(1, 1.0), int(2, TS)]), // samples
            message(
                3, // exemplars
                &[
                    message(1, &[string(1, "trace_id"), string(2, "4bf92f3577b34da6")]),
                    double(2, 0.25),
                    int(3, TS - 5),
                ],
            ),
        ],
    );
    let int_histogram = message(
        4, // TimeSeries.histograms
        &[
            uint(1, 5),                              // count_int
            double(3, 7.5),                          // sum
            sint(4, 1),                              // schema (sint32, ZigZag 1 -> 2)
            double(5, 1e-128),                       // zero_threshold
            uint(6, 1),                              // zero_count_int
            message(8, &[uint(2, 1)]), // negative_spans {offset 0 (default, omitted), length 1}
            packed_sint(9, &[1]),      // negative_deltas
            message(11, &[sint(1, -2), uint(2, 2)]), // positive_spans
            message(11, &[sint(1, 3), uint(2, 1)]),
            packed_sint(12, &[1, 0, -1]), // positive_deltas
            uint(14, 2),                  // reset_hint NO
            int(15, TS),                  // timestamp
        ],
    );
    let float_histogram = message(
        4,
        &[
            double(2, 3.0),                 // count_float
            double(3, 2.0),                 // sum
            sint(4, -53),                   // schema: custom buckets
            double(7, 0.0), // zero_count_float: a set oneof is written even when zero
            message(11, &[uint(2, 2)]), // positive_spans {offset 0, length 2}
            packed_double(13, &[1.0, 2.0]), // positive_counts
            uint(14, 3),    // reset_hint GAUGE
            int(15, TS),
            packed_double(16, &[0.5, 1.0]), // custom_values
        ],
    );
    let series_hist = message(
        1,
        &[
            message(1, &[string(1, "__name__"), string(2, "rpc_seconds")]),
            int_histogram,
            float_histogram,
        ],
    );
    let metadata = message(
        3, // WriteRequest.metadata
        &[
            uint(1, 3), // type HISTOGRAM
            string(2, "rpc_seconds"),
            string(4, "RPC latency."),
            string(5, "seconds"),
        ],
    );
    cat(&[series_up, series_hist, metadata])
}

pub(crate) fn full_write_request() -> WriteRequest {
    WriteRequest {
        timeseries: vec![
            TimeSeries {
                labels: vec![label("__name__", "up"), label("job", "api")],
                samples: vec![Sample {
                    value: 1.0,
                    timestamp: TS,
                }],
                exemplars: vec![Exemplar {
                    labels: vec![label("trace_id", "4bf92f3577b34da6")],
                    value: 0.25,
                    timestamp: TS - 5,
                }],
                histograms: vec![],
            },
            TimeSeries {
                labels: vec![label("__name__", "rpc_seconds")],
                samples: vec![],
                exemplars: vec![],
                histograms: vec![
                    Histogram {
                        count: Some(histogram::Count::CountInt(5)),
                        sum: 7.5,
                        schema: 1,
                        zero_threshold: 1e-128,
                        zero_count: Some(histogram::ZeroCount::ZeroCountInt(1)),
                        negative_spans: vec![BucketSpan {
                            offset: 0,
                            length: 1,
                        }],
                        negative_deltas: vec![1],
                        negative_counts: vec![],
                        positive_spans: vec![
                            BucketSpan {
                                offset: -2,
                                length: 2,
                            },
                            BucketSpan {
                                offset: 3,
                                length: 1,
                            },
                        ],
                        positive_deltas: vec![1, 0, -1],
                        positive_counts: vec![],
                        reset_hint: histogram::ResetHint::No as i32,
                        timestamp: TS,
                        custom_values: vec![],
                    },
                    Histogram {
                        count: Some(histogram::Count::CountFloat(3.0)),
                        sum: 2.0,
                        schema: -53,
                        zero_threshold: 0.0,
                        zero_count: Some(histogram::ZeroCount::ZeroCountFloat(0.0)),
                        negative_spans: vec![],
                        negative_deltas: vec![],
                        negative_counts: vec![],
                        positive_spans: vec![BucketSpan {
                            offset: 0,
                            length: 2,
                        }],
                        positive_deltas: vec![],
                        positive_counts: vec![1.0, 2.0],
                        reset_hint: histogram::ResetHint::Gauge as i32,
                        timestamp: TS,
                        custom_values: vec![0.5, 1.0],
                    },
                ],
            },
        ],
        metadata: vec![MetricMetadata {
            r#type: metric_metadata::MetricType::Histogram as i32,
            metric_family_name: "rpc_seconds".into(),
            help: "RPC latency.".into(),
            unit: "seconds".into(),
        }],
    }
}

#[test]
fn decodes_hand_assembled_write_request() {
    let decoded = WriteRequest::decode(full_write_request_bytes().as_slice()).unwrap();
    assert_eq!(decoded, full_write_request());
    let h = &decoded.timeseries[1].histograms[0];
    assert_eq!(h.reset_hint(), histogram::ResetHint::No);
    assert_eq!(h.positive_spans[0].offset, -2);
    assert_eq!(
        decoded.metadata[0].r#type(),
        metric_metadata::MetricType::Histogram
    );
}

#[test]
fn encodes_write_request_like_upstream() {
    assert_eq!(
        full_write_request().encode_to_vec(),
        full_write_request_bytes()
    );
}

/// Decoders must accept repeated scalars both packed and unpacked (the encoding guide requires
/// parsers to handle either form), and fields in any order.
#[test]
fn accepts_unpacked_deltas_and_out_of_order_fields() {
    let bytes = message(
        1,
        &[message(
            4,
            &[
                sint(12, 1), // positive_deltas as individual varint fields, not packed
                sint(12, -1),
                uint(1, 2), // count_int after the deltas
            ],
        )],
    );
    let decoded = WriteRequest::decode(bytes.as_slice()).unwrap();
    let h = &decoded.timeseries[0].histograms[0];
    assert_eq!(h.positive_deltas, [1, -1]);
    assert_eq!(h.count, Some(histogram::Count::CountInt(2)));
}

/// Field 2 is reserved upstream (Cortex used it for the request source); a Cortex-style sender
/// may still set it, and it must be skipped, not rejected.
#[test]
fn skips_unknown_and_reserved_fields() {
    let bytes = cat(&[
        uint(2, 1), // reserved `source` from Cortex
        message(1, &[message(2, &[double(1, 4.0), int(2, 1)])]),
        string(99, "future field"),
    ]);
    let decoded = WriteRequest::decode(bytes.as_slice()).unwrap();
    assert_eq!(decoded.timeseries[0].samples[0].value, 4.0);
}

/// The stale marker is a specific NaN bit pattern; it must survive decode bit-exactly.
#[test]
fn stale_marker_nan_bits_survive() {
    let stale = f64::from_bits(0x7ff0_0000_0000_0002);
    let bytes = message(1, &[message(2, &[double(1, stale), int(2, TS)])]);
    let decoded = WriteRequest::decode(bytes.as_slice()).unwrap();
    assert_eq!(
        decoded.timeseries[0].samples[0].value.to_bits(),
        0x7ff0_0000_0000_0002
    );
    assert_eq!(decoded.encode_to_vec(), bytes);
}

/// Truncated bodies (a cut connection) must fail cleanly, never panic or succeed silently
/// with a full-length message.
#[test]
fn truncated_bodies_are_errors() {
    let bytes = full_write_request_bytes();
    for cut in 1..bytes.len() {
        let prefix = &bytes[..cut];
        if let Ok(partial) = WriteRequest::decode(prefix) {
            assert_ne!(partial, full_write_request(), "cut at {cut}");
        }
    }
}
