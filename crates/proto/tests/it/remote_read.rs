//! Remote read: `prometheus.ReadRequest` / `ReadResponse` / `ChunkedReadResponse`.

use crate::wire::*;
use lgtm_proto::prometheus::{
    Chunk, ChunkedReadResponse, ChunkedSeries, Label, LabelMatcher, Query, QueryResult, ReadHints,
    ReadRequest, ReadResponse, Sample, TimeSeries, chunk, label_matcher, read_request,
};
use lgtm_proto::{Bytes, Message};

/// What Prometheus' remote read client sends for `rate(http_requests_total{job=~"api|web"}[5m])`.
fn read_request_bytes() -> Vec<u8> {
    cat(&[
        message(
            1, // queries
            &[
                int(1, 1_700_000_000_000), // start_timestamp_ms
                int(2, 1_700_000_300_000), // end_timestamp_ms
                message(
                    3,
                    &[string(2, "__name__"), string(3, "http_requests_total")],
                ), // EQ (0) omitted
                message(3, &[uint(1, 2), string(2, "job"), string(3, "api|web")]), // RE
                message(
                    4, // hints
                    &[
                        int(1, 15_000), // step_ms
                        string(2, "rate"),
                        int(3, 1_700_000_000_000),
                        int(4, 1_700_000_300_000),
                        string(5, "job"), // grouping
                        uint(6, 1),       // by = true
                        int(7, 300_000),  // range_ms
                    ],
                ),
            ],
        ),
        packed_uint(2, &[1, 0]), // accepted_response_types: STREAMED_XOR_CHUNKS, SAMPLES
    ])
}

#[test]
fn decodes_and_encodes_read_request() {
    let want = ReadRequest {
        queries: vec![Query {
            start_timestamp_ms: 1_700_000_000_000,
            end_timestamp_ms: 1_700_000_300_000,
            matchers: vec![
                LabelMatcher {
                    r#type: label_matcher::Type::Eq as i32,
                    name: "__name__".into(),
                    value: "http_requests_total".into(),
                },
                LabelMatcher {
                    r#type: label_matcher::Type::Re as i32,
                    name: "job".into(),
                    value: "api|web".into(),
                },
            ],
            hints: Some(ReadHints {
                step_ms: 15_000,
                func: "rate".into(),
                start_ms: 1_700_000_000_000,
                end_ms: 1_700_000_300_000,
                grouping: vec!["job".into()],
                by: true,
                range_ms: 300_000,
            }),
        }],
        accepted_response_types: vec![
            read_request::ResponseType::StreamedXorChunks as i32,
            read_request::ResponseType::Samples as i32,
        ],
    };
    let decoded = ReadRequest::decode(read_request_bytes().as_slice()).unwrap();
    assert_eq!(decoded, want);
    assert_eq!(
        decoded.accepted_response_types().collect::<Vec<_>>(),
        [
            read_request::ResponseType::StreamedXorChunks,
            read_request::ResponseType::Samples
        ]
    );
    assert_eq!(want.encode_to_vec(), read_request_bytes());
}

#[test]
fn encodes_samples_read_response() {
    let resp = ReadResponse {
        results: vec![QueryResult {
            timeseries: vec![TimeSeries {
                labels: vec![Label {
                    name: "__name__".into(),
                    value: "up".into(),
                }],
                samples: vec![Sample {
                    value: 1.0,
                    timestamp: 5,
                }],
                ..Default::default()
            }],
        }],
    };
    let want = message(
        1, // results
        &[message(
            1, // timeseries
            &[
                message(1, &[string(1, "__name__"), string(2, "up")]),
                message(2, &[double(1, 1.0), int(2, 5)]),
            ],
        )],
    );
    assert_eq!(resp.encode_to_vec(), want);
}

#[test]
fn chunked_read_response_round_trips_chunk_bytes() {
    // Raw XOR chunk bytes are opaque here; any payload must come back untouched.
    let payload: &[u8] = &[0x00, 0x01, 0xb4, 0xe3, 0xca, 0x9c, 0xbd, 0x63, 0x3f, 0xf0];
    let want_bytes = cat(&[
        message(
            1, // chunked_series
            &[
                message(1, &[string(1, "__name__"), string(2, "up")]),
                message(
                    2, // chunks
                    &[
                        int(1, 1_000),
                        int(2, 2_000),
                        uint(3, 1), // XOR
                        bytes(4, payload),
                    ],
                ),
            ],
        ),
        int(2, 3), // query_index
    ]);
    let msg = ChunkedReadResponse {
        chunked_series: vec![ChunkedSeries {
            labels: vec![Label {
                name: "__name__".into(),
                value: "up".into(),
            }],
            chunks: vec![Chunk {
                min_time_ms: 1_000,
                max_time_ms: 2_000,
                r#type: chunk::Encoding::Xor as i32,
                data: Bytes::from_static(payload),
            }],
        }],
        query_index: 3,
    };
    assert_eq!(msg.encode_to_vec(), want_bytes);
    // Decoding from a `Bytes` buffer hands out the chunk as a slice of the input.
    let input = Bytes::from(want_bytes);
    let decoded = ChunkedReadResponse::decode(input.clone()).unwrap();
    assert_eq!(decoded, msg);
    let data = &decoded.chunked_series[0].chunks[0].data;
    let start = data.as_ptr() as usize - input.as_ptr() as usize;
    assert!(
        start < input.len(),
        "chunk data should point into the input buffer"
    );
}

#[test]
fn chunk_encodings_match_tsdb_encoding_bytes() {
    assert_eq!(chunk::Encoding::Xor as i32, 1);
    assert_eq!(chunk::Encoding::Histogram as i32, 2);
    assert_eq!(chunk::Encoding::FloatHistogram as i32, 3);
    assert_eq!(
        chunk::Encoding::from_str_name("XOR"),
        Some(chunk::Encoding::Xor)
    );
}
