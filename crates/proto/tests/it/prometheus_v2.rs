//! Remote write 2.0: `io.prometheus.write.v2.Request` (prompb/io/prometheus/write/v2/types.proto).

use crate::wire::*;
use lgtm_proto::Message;
use lgtm_proto::prometheus::WriteRequest;
use lgtm_proto::prometheus::write::v2::{
    BucketSpan, Exemplar, Histogram, Metadata, Request, Sample, TimeSeries, histogram, metadata,
};

const TS: i64 = 1_700_000_000_000;

const SYMBOLS: [&str; 9] = [
    "",                    // 0: required empty first symbol
    "__name__",            // 1
    "http_requests_total", // 2
    "job",                 // 3
    "api",                 // 4
    "Total requests.",     // 5
    "trace_id",            // 6
    "4bf92f3577b34da6",    // 7
    "rpc_seconds",         // 8
];

fn request_bytes() -> Vec<u8> {
    let mut parts: Vec<Vec<u8>> = SYMBOLS.iter().map(|s| string(4, s)).collect(); // symbols
    parts.push(message(
        5, // timeseries
        &[
            packed_uint(1, &[1, 2, 3, 4]), // labels_refs: __name__=http_requests_total, job=api
            message(
                2, // samples
                &[double(1, 10.0), int(2, TS), int(3, TS - 60_000)],
            ),
            message(
                4, // exemplars
                &[packed_uint(1, &[6, 7]), double(2, 1.0), int(3, TS)],
            ),
            message(
                5, // metadata: COUNTER, help "Total requests.", unit_ref 0 omitted
                &[uint(1, 1), uint(3, 5)],
            ),
        ],
    ));
    parts.push(message(
        5,
        &[
            packed_uint(1, &[1, 8]),
            message(
                3, // histograms
                &[
                    uint(1, 4),                              // count_int
                    double(3, 3.5), // sum (schema 0 is the default: omitted)
                    uint(6, 1),     // zero_count_int
                    message(11, &[sint(1, -1), uint(2, 2)]), // positive_spans
                    packed_sint(12, &[2, -1]), // positive_deltas
                    uint(14, 1),    // reset_hint YES
                    int(15, TS),    // timestamp
                    int(17, TS - 60_000), // start_timestamp (key 0x88 0x01)
                ],
            ),
            message(5, &[uint(1, 3)]), // metadata: HISTOGRAM
        ],
    ));
    cat(&parts)
}

fn request() -> Request {
    Request {
        symbols: SYMBOLS.iter().map(|s| s.to_string()).collect(),
        timeseries: vec![
            TimeSeries {
                labels_refs: vec![1, 2, 3, 4],
                samples: vec![Sample {
                    value: 10.0,
                    timestamp: TS,
                    start_timestamp: TS - 60_000,
                }],
                histograms: vec![],
                exemplars: vec![Exemplar {
                    labels_refs: vec![6, 7],
                    value: 1.0,
                    timestamp: TS,
                }],
                metadata: Some(Metadata {
                    r#type: metadata::MetricType::Counter as i32,
                    help_ref: 5,
                    unit_ref: 0,
                }),
                created_timestamp: 0,
            },
            TimeSeries {
                labels_refs: vec![1, 8],
                samples: vec![],
                histograms: vec![Histogram {
                    count: Some(histogram::Count::CountInt(4)),
                    sum: 3.5,
                    schema: 0,
                    zero_threshold: 0.0,
                    zero_count: Some(histogram::ZeroCount::ZeroCountInt(1)),
                    negative_spans: vec![],
                    negative_deltas: vec![],
                    negative_counts: vec![],
                    positive_spans: vec![BucketSpan {
                        offset: -1,
                        length: 2,
                    }],
                    positive_deltas: vec![2, -1],
                    positive_counts: vec![],
                    reset_hint: histogram::ResetHint::Yes as i32,
                    timestamp: TS,
                    custom_values: vec![],
                    start_timestamp: TS - 60_000,
                }],
                exemplars: vec![],
                metadata: Some(Metadata {
                    r#type: metadata::MetricType::Histogram as i32,
                    help_ref: 0,
                    unit_ref: 0,
                }),
                created_timestamp: 0,
            },
        ],
    }
}

#[test]
fn decodes_hand_assembled_v2_request() {
    let decoded = Request::decode(request_bytes().as_slice()).unwrap();
    assert_eq!(decoded, request());
    let series = &decoded.timeseries[0];
    let names: Vec<&str> = series
        .labels_refs
        .iter()
        .map(|r| decoded.symbols[*r as usize].as_str())
        .collect();
    assert_eq!(names, ["__name__", "http_requests_total", "job", "api"]);
    let meta = series.metadata.as_ref().unwrap();
    assert_eq!(meta.r#type(), metadata::MetricType::Counter);
    assert_eq!(decoded.symbols[meta.help_ref as usize], "Total requests.");
}

#[test]
fn encodes_v2_request_like_upstream() {
    assert_eq!(request().encode_to_vec(), request_bytes());
}

/// Start timestamp of histograms is field 17: a two-byte key (17 << 3 = 136 = 0x88 0x01).
#[test]
fn histogram_start_timestamp_key_is_two_bytes() {
    let h = Histogram {
        start_timestamp: 1,
        ..Default::default()
    };
    assert_eq!(h.encode_to_vec(), [0x88, 0x01, 0x01]);
}

/// Prometheus v2.54-v3.7 put a series-wide `created_timestamp` in TimeSeries field 6.
#[test]
fn reads_legacy_series_created_timestamp() {
    let bytes = cat(&[
        string(4, ""),
        message(
            5,
            &[
                message(2, &[double(1, 1.0), int(2, TS)]),
                int(6, TS - 3_600_000), // created_timestamp
            ],
        ),
    ]);
    let decoded = Request::decode(bytes.as_slice()).unwrap();
    assert_eq!(decoded.timeseries[0].created_timestamp, TS - 3_600_000);
    assert_eq!(decoded.timeseries[0].samples[0].start_timestamp, 0);
}

/// Upstream reserves fields 1-3 so a 1.0 body sent with the wrong Content-Type decodes to an
/// empty 2.0 Request (the receiver then sees no series instead of garbage), and vice versa a
/// 2.0 body decodes to an empty 1.0 WriteRequest.
#[test]
fn v1_and_v2_bodies_decode_as_empty_messages_of_the_other_version() {
    let v1 = crate::prometheus_v1::full_write_request_bytes();
    let as_v2 = Request::decode(v1.as_slice()).unwrap();
    assert!(as_v2.symbols.is_empty() && as_v2.timeseries.is_empty());

    let as_v1 = WriteRequest::decode(request_bytes().as_slice()).unwrap();
    assert!(as_v1.timeseries.is_empty() && as_v1.metadata.is_empty());
}
