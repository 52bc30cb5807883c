//! `POST /api/v1/read`: Prometheus remote read, with both response types: `SAMPLES` (one
//! snappy-compressed `ReadResponse`) and `STREAMED_XOR_CHUNKS` (frames of
//! `uvarint length | ChunkedReadResponse | CRC32C big-endian`, one series per frame, Prometheus XOR
//! chunks).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::{StatusCode, header};
use lgtm_common::compress::snappy_decompress;
use lgtm_common::labels::{Labels, MatchOp, Matcher};
use lgtm_proto::Message;
use lgtm_proto::prometheus as pb;

use super::ApiState;
use crate::chunk::XorChunk;
use crate::head::DEFAULT_SAMPLES_PER_CHUNK;

/// Samples as Prometheus XOR chunks of at most 120 samples.
fn xor_chunks(samples: &[(i64, f64)]) -> Vec<pb::Chunk> {
    samples
        .chunks(DEFAULT_SAMPLES_PER_CHUNK)
        .filter_map(|part| {
            let mut chunk = XorChunk::new();
            for &(t, v) in part {
                // Samples from the store are strictly increasing.
                let _ = chunk.append(t, v);
            }
            Some(pb::Chunk {
                min_time_ms: chunk.min_time()?,
                max_time_ms: chunk.max_time()?,
                r#type: pb::chunk::Encoding::Xor as i32,
                data: chunk.bytes().to_vec().into(),
            })
        })
        .collect()
}

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

fn proto_labels(labels: &Labels) -> Vec<pb::Label> {
    labels
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
    let mut response = pb::ReadResponse::default();
    let mut frames = Vec::new();
    for (index, query) in request.queries.iter().enumerate() {
        let matchers = match matchers(query) {
            Ok(m) => m,
            Err(e) => return text(StatusCode::BAD_REQUEST, &e),
        };
        let selected =
            match state
                .db
                .select(&matchers, query.start_timestamp_ms, query.end_timestamp_ms)
            {
                Ok(s) => s,
                Err(e) => return text(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
            };
        let mut result = pb::QueryResult::default();
        for (labels, samples) in selected {
            let labels = proto_labels(&labels);
            if streamed {
                let frame = pb::ChunkedReadResponse {
                    chunked_series: vec![pb::ChunkedSeries {
                        labels,
                        chunks: xor_chunks(&samples),
                    }],
                    query_index: index as i64,
                };
                push_frame(&mut frames, &frame.encode_to_vec());
            } else {
                result.timeseries.push(pb::TimeSeries {
                    labels,
                    samples: samples
                        .into_iter()
                        .map(|(timestamp, value)| pb::Sample { value, timestamp })
                        .collect(),
                    ..Default::default()
                });
            }
        }
        response.results.push(result);
    }
    if streamed {
        return (
            [(
                header::CONTENT_TYPE,
                "application/x-streamed-protobuf; proto=prometheus.ChunkedReadResponse",
            )],
            frames,
        )
            .into_response();
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
