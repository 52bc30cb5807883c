//! `POST /api/v1/write`: the remote-write receiver.
//!
//! Status codes follow what senders do with them: 204 stored; 400 never retried (malformed
//! body, invalid series, samples the store refuses such as out-of-order ones, as Prometheus
//! answers); 415 lets a 2.0 sender fall back to 1.0; 5xx is retried (the WAL failed). Errors are
//! plain text, as Prometheus' `http.Error` writes them. 2.0 answers carry the
//! `X-Prometheus-Remote-Write-*-Written` headers on success and on error.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderValue, StatusCode, header};
use lgtm_common::compress::snappy_decompress;

use super::{ApiState, MetricMetadata};
use crate::remote_write::{WriteError, WriteProtocol, decode_v1, decode_v2};

const SAMPLES_WRITTEN: &str = "X-Prometheus-Remote-Write-Samples-Written";
const HISTOGRAMS_WRITTEN: &str = "X-Prometheus-Remote-Write-Histograms-Written";
const EXEMPLARS_WRITTEN: &str = "X-Prometheus-Remote-Write-Exemplars-Written";

fn text(status: StatusCode, message: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        format!("{message}\n"),
    )
        .into_response()
}

fn with_counts(response: Response, protocol: WriteProtocol, samples: usize) -> Response {
    with_all_counts(response, protocol, samples, 0)
}

fn with_all_counts(
    mut response: Response,
    protocol: WriteProtocol,
    samples: usize,
    exemplars: usize,
) -> Response {
    if protocol == WriteProtocol::V2 {
        let headers = response.headers_mut();
        headers.insert(SAMPLES_WRITTEN, HeaderValue::from(samples));
        headers.insert(HISTOGRAMS_WRITTEN, HeaderValue::from(0));
        headers.insert(EXEMPLARS_WRITTEN, HeaderValue::from(exemplars));
    }
    response
}

/// The handler.
pub async fn remote_write(
    State(state): State<Arc<ApiState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !state.options.enable_remote_write_receiver {
        return text(
            StatusCode::NOT_FOUND,
            "remote write receiver needs to be enabled with --web.enable-remote-write-receiver",
        );
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let protocol = match WriteProtocol::from_content_type(content_type) {
        Ok(p) => p,
        Err(e) => return text(StatusCode::UNSUPPORTED_MEDIA_TYPE, &e.to_string()),
    };
    match headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
    {
        None => {}
        Some(enc) if enc.eq_ignore_ascii_case("snappy") => {}
        Some(enc) => {
            return with_counts(
                text(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    &format!("unsupported compression: {enc}. Only snappy is supported"),
                ),
                protocol,
                0,
            );
        }
    }
    let raw = match snappy_decompress(&body, state.options.max_write_bytes) {
        Ok(raw) => raw,
        Err(e) => return with_counts(text(StatusCode::BAD_REQUEST, &e.to_string()), protocol, 0),
    };
    let decoded = match protocol {
        WriteProtocol::V1 => decode_v1(&raw),
        WriteProtocol::V2 => decode_v2(&raw),
    };
    let decoded = match decoded {
        Ok(d) => d,
        Err(WriteError::Invalid(m)) => {
            return with_counts(text(StatusCode::BAD_REQUEST, &m), protocol, 0);
        }
        Err(WriteError::Unsupported(m)) => {
            return with_counts(text(StatusCode::UNSUPPORTED_MEDIA_TYPE, &m), protocol, 0);
        }
    };
    if !decoded.metadata.is_empty() {
        let mut metadata = state.metadata.write();
        for m in &decoded.metadata {
            let entry = MetricMetadata {
                metric_type: m.metric_type.to_owned(),
                help: m.help.clone(),
                unit: m.unit.clone(),
            };
            let list = metadata.entry(m.metric.clone()).or_default();
            if !list.contains(&entry) {
                list.push(entry);
            }
        }
    }
    if decoded.histograms > 0 {
        tracing::debug!(
            histograms = decoded.histograms,
            "native histogram samples are not stored yet"
        );
    }
    let exemplars = decoded
        .exemplars
        .iter()
        .filter(|e| {
            state.exemplars.add(
                &e.series,
                crate::exemplars::Exemplar {
                    labels: e.labels.clone(),
                    value: e.value,
                    timestamp: e.timestamp,
                },
            )
        })
        .count();
    match state.db.append(&decoded.series).await {
        Ok(outcome) => {
            let stored = outcome.written + outcome.duplicates;
            match outcome.first_error {
                None => with_all_counts(
                    StatusCode::NO_CONTENT.into_response(),
                    protocol,
                    stored,
                    exemplars,
                ),
                Some((err, labels, t)) => {
                    tracing::debug!(%err, series = %labels, timestamp = t, "remote write sample rejected");
                    with_all_counts(
                        text(StatusCode::BAD_REQUEST, &err.to_string()),
                        protocol,
                        stored,
                        exemplars,
                    )
                }
            }
        }
        Err(e) => {
            tracing::error!(error = %e, "remote write append failed");
            with_counts(
                text(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
                protocol,
                0,
            )
        }
    }
}
