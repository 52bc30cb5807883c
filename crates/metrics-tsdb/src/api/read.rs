//! `POST /api/v1/read`: Prometheus remote read, with both response types: `SAMPLES` (one
//! snappy-compressed `ReadResponse`) and `STREAMED_XOR_CHUNKS` (frames of
//! `uvarint length | ChunkedReadResponse | CRC32C big-endian`, one series per frame, raw XOR
//! chunk bytes as the head holds them).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::{StatusCode, header};
use lgtm_common::compress::snappy_decompress;
use lgtm_common::labels::{MatchOp, Matcher};
use lgtm_proto::Message;
use lgtm_proto::prometheus as pb;

use super::ApiState;
use crate::head::MemSeries;

fn text(status: StatusCode, message: &str) -> Response {
    (status, format!("{message}\n")).into_response()
}

fn matchers(query: &pb::Query) -> Result<Vec<Matcher>, String> {
    query
        .matchers
        .iter()
        .map(|m| {
            let op = match pb::label_matcher::Type::try_from(m.r#type) {
                Ok(pb::label_matcher::Type::Eq) => MatchOp::Equal,
                Ok(pb::label_matcher::Type::Neq) => MatchOp::NotEqual,
                Ok(pb::label_matcher::Type::Re) => MatchOp::Regex,
                Ok(pb::label_matcher::Type::Nre) => MatchOp::NotRegex,
                Err(_) => return Err(format!("invalid matcher type {}", m.r#type)),
            };
            Matcher::new(op, m.name.clone(), m.value.clone()).map_err(|e| e.to_string())
        })
        .collect()
}

fn proto_labels(series: &MemSeries) -> Vec<pb::Label> {
    series
        .labels
        .iter()
        .map(|l| pb::Label {
            name: l.name.clone(),
            value: l.value.clone(),
        })
        .collect()
}

/// Appends one frame: uvarint length, message, CRC32C (big endian) of the message.
fn push_frame(out: &mut Vec<u8>, message: &[u8]) {
    let mut len = message.len() as u64;
    while len >= 0x80 {
        out.push((len as u8) | 0x80);
        len >>= 7;
    }
    out.push(len as u8);
    out.extend_from_slice(message);
    out.extend_from_slice(&crc32c::crc32c(message).to_be_bytes());
}

/// The handler.
pub async fn remote_read(State(state): State<Arc<ApiState>>, body: Bytes) -> Response {
    let raw = match snappy_decompress(&body, state.options.max_write_bytes) {
        Ok(raw) => raw,
        Err(e) => return text(StatusCode::BAD_REQUEST, &e.to_string()),
    };
    let request = match pb::ReadRequest::decode(raw.as_slice()) {
        Ok(r) => r,
        Err(e) => return text(StatusCode::BAD_REQUEST, &e.to_string()),
    };
    let streamed = request
        .accepted_response_types
        .first()
        .is_some_and(|&t| t == pb::read_request::ResponseType::StreamedXorChunks as i32);
    let head = state.db.head();
    if streamed {
        let mut out = Vec::new();
        for (index, query) in request.queries.iter().enumerate() {
            let matchers = match matchers(query) {
                Ok(m) => m,
                Err(e) => return text(StatusCode::BAD_REQUEST, &e),
            };
            for series in head.select(&matchers) {
                let chunks: Vec<pb::Chunk> = series
                    .chunks(query.start_timestamp_ms, query.end_timestamp_ms)
                    .into_iter()
                    .map(|(min, max, data)| pb::Chunk {
                        min_time_ms: min,
                        max_time_ms: max,
                        r#type: pb::chunk::Encoding::Xor as i32,
                        data: data.into(),
                    })
                    .collect();
                if chunks.is_empty() {
                    continue;
                }
                let frame = pb::ChunkedReadResponse {
                    chunked_series: vec![pb::ChunkedSeries {
                        labels: proto_labels(&series),
                        chunks,
                    }],
                    query_index: index as i64,
                };
                push_frame(&mut out, &frame.encode_to_vec());
            }
        }
        return (
            [(
                header::CONTENT_TYPE,
                "application/x-streamed-protobuf; proto=prometheus.ChunkedReadResponse",
            )],
            out,
        )
            .into_response();
    }
    let mut response = pb::ReadResponse::default();
    for query in &request.queries {
        let matchers = match matchers(query) {
            Ok(m) => m,
            Err(e) => return text(StatusCode::BAD_REQUEST, &e),
        };
        let mut result = pb::QueryResult::default();
        for series in head.select(&matchers) {
            let samples: Vec<pb::Sample> = series
                .samples(query.start_timestamp_ms, query.end_timestamp_ms)
                .into_iter()
                .map(|(timestamp, value)| pb::Sample { value, timestamp })
                .collect();
            if samples.is_empty() {
                continue;
            }
            result.timeseries.push(pb::TimeSeries {
                labels: proto_labels(&series),
                samples,
                ..Default::default()
            });
        }
        response.results.push(result);
    }
    match snap::raw::Encoder::new().compress_vec(&response.encode_to_vec()) {
        Ok(compressed) => (
            [
                (header::CONTENT_TYPE, "application/x-protobuf"),
                (header::CONTENT_ENCODING, "snappy"),
            ],
            compressed,
        )
            .into_response(),
        Err(e) => text(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}
