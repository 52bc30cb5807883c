//! `POST /api/v1/otlp/v1/metrics`: the OTLP/HTTP metrics receiver, answering as Prometheus'
//! (`--web.enable-otlp-receiver`) does.
//!
//! Bodies are `application/x-protobuf` or `application/json` (OTLP/JSON), optionally
//! `Content-Encoding: gzip`, decompressed with a cap. Malformed bodies and unsupported
//! content types or encodings are 400 with Prometheus' texts; out-of-order, duplicate and
//! out-of-bounds samples are 400 (never retried), storage failures 500. Success is 200 with an
//! empty `ExportMetricsServiceResponse`, or one carrying `partial_success` when some data
//! points could not be converted (delta temporality, exponential histograms). Translation
//! lives in `otlp/names.rs` and `otlp/convert.rs`.

pub mod convert;
pub mod names;

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, StatusCode, header};
use lgtm_common::compress::{Encoding, decompress};
use lgtm_proto::Message;
use lgtm_proto::otlp::collector::metrics::v1::{
    ExportMetricsPartialSuccess, ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};

use crate::api::{ApiState, MetricMetadata};
use crate::config::{ConfigError, OtlpConfig};
use convert::{Settings, convert};
use names::{LabelNamer, TranslationStrategy};

const PROTOBUF: &str = "application/x-protobuf";
const JSON: &str = "application/json";

/// Translation settings from the configuration's `otlp:` block and the flags.
pub fn settings(config: &OtlpConfig, allow_delta: bool, lookback_delta_ms: i64) -> Settings {
    let name = config.translation_strategy.as_deref().unwrap_or("");
    let strategy = TranslationStrategy::parse(name).unwrap_or_else(|| {
        tracing::warn!(
            strategy = name,
            "unknown otlp.translation_strategy, using the default"
        );
        TranslationStrategy::default()
    });
    Settings {
        strategy,
        labels: LabelNamer {
            underscore_sanitization: config.label_name_underscore_sanitization.unwrap_or(true),
            preserve_multiple_underscores: config
                .label_name_preserve_multiple_underscores
                .unwrap_or(true),
            ..LabelNamer::for_strategy(strategy)
        },
        promote_resource_attributes: config.promote_resource_attributes.clone(),
        promote_all_resource_attributes: config.promote_all_resource_attributes.unwrap_or(false),
        ignore_resource_attributes: config.ignore_resource_attributes.clone(),
        keep_identifying_resource_attributes: config
            .keep_identifying_resource_attributes
            .unwrap_or(false),
        promote_scope_metadata: config.promote_scope_metadata.unwrap_or(false),
        allow_delta,
        lookback_delta_ms,
    }
}

impl OtlpConfig {
    /// Prometheus' `OTLPConfig` rules: promote-all excludes a promote list, ignoring needs
    /// promote-all, attribute lists are trimmed and free of empty and duplicated names, and the
    /// translation strategy is known.
    pub fn validate(&mut self) -> Result<(), ConfigError> {
        let invalid = |m: String| Err(ConfigError::Invalid(m));
        if let Some(strategy) = &self.translation_strategy
            && TranslationStrategy::parse(strategy).is_none()
        {
            return invalid(format!(
                "unsupported OTLP translation strategy {strategy:?}"
            ));
        }
        if self.promote_all_resource_attributes.unwrap_or(false) {
            if !self.promote_resource_attributes.is_empty() {
                return invalid("'promote_all_resource_attributes' and 'promote_resource_attributes' cannot be configured simultaneously".into());
            }
            sanitize_attributes(&mut self.ignore_resource_attributes, "ignored").map_err(|e| {
                ConfigError::Invalid(format!("invalid 'ignore_resource_attributes': {e}"))
            })
        } else {
            if !self.ignore_resource_attributes.is_empty() {
                return invalid("'ignore_resource_attributes' cannot be configured unless 'promote_all_resource_attributes' is true".into());
            }
            sanitize_attributes(&mut self.promote_resource_attributes, "promoted").map_err(|e| {
                ConfigError::Invalid(format!("invalid 'promote_resource_attributes': {e}"))
            })
        }
    }
}

/// Trims attribute names; every empty or duplicated one is reported (joined by newlines, as
/// Go's `errors.Join`).
fn sanitize_attributes(attributes: &mut [String], adjective: &str) -> Result<(), String> {
    let mut seen = std::collections::HashSet::new();
    let mut errors = Vec::new();
    for attr in attributes.iter_mut() {
        let trimmed = attr.trim().to_owned();
        if trimmed.is_empty() {
            errors.push(format!("empty {adjective} OTel resource attribute"));
            continue;
        }
        if !seen.insert(trimmed.clone()) {
            errors.push(format!(
                "duplicated {adjective} OTel resource attribute {trimmed:?}"
            ));
            continue;
        }
        *attr = trimmed;
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors.join("\n"))
    }
}

fn text(status: StatusCode, message: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        format!("{message}\n"),
    )
        .into_response()
}

/// Decodes a request body the way Prometheus' `DecodeOTLPWriteRequest` does.
pub fn decode(
    content_type: Option<&str>,
    content_encoding: Option<&str>,
    body: &[u8],
    limit: usize,
) -> Result<(ExportMetricsServiceRequest, bool), String> {
    let media = content_type
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let is_json = match media.as_str() {
        PROTOBUF => false,
        JSON => true,
        _ => {
            return Err(format!(
                "unsupported content type: {}, supported: [{JSON}, {PROTOBUF}]",
                content_type.unwrap_or("")
            ));
        }
    };
    let encoding = match content_encoding.map(str::trim) {
        None | Some("") => Encoding::Identity,
        Some(e) if e.eq_ignore_ascii_case("gzip") => Encoding::Gzip,
        Some(other) => {
            return Err(format!(
                "unsupported compression: {other}. Only \"gzip\" or no compression supported"
            ));
        }
    };
    let raw = decompress(encoding, body, limit).map_err(|e| e.to_string())?;
    let request = if is_json {
        serde_json::from_slice(&raw).map_err(|e| format!("unmarshal OTLP JSON: {e}"))?
    } else {
        ExportMetricsServiceRequest::decode(raw.as_slice())
            .map_err(|e| format!("unmarshal OTLP protobuf: {e}"))?
    };
    Ok((request, is_json))
}

fn success(is_json: bool, rejected: usize, errors: &[String]) -> Response {
    let content_type = if is_json { JSON } else { PROTOBUF };
    let response = ExportMetricsServiceResponse {
        partial_success: (rejected > 0 || !errors.is_empty()).then(|| {
            ExportMetricsPartialSuccess {
                rejected_data_points: i64::try_from(rejected).unwrap_or(i64::MAX),
                error_message: errors.join("; "),
            }
        }),
    };
    let body = if is_json {
        serde_json::to_vec(&response).unwrap_or_else(|_| b"{}".to_vec())
    } else {
        response.encode_to_vec()
    };
    (StatusCode::OK, [(header::CONTENT_TYPE, content_type)], body).into_response()
}

/// The handler.
pub async fn otlp_write(
    State(state): State<Arc<ApiState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !state.options.enable_otlp_receiver {
        return text(
            StatusCode::NOT_FOUND,
            "otlp write receiver needs to be enabled with --web.enable-otlp-receiver",
        );
    }
    let get = |name: header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok());
    let (request, is_json) = match decode(
        get(header::CONTENT_TYPE),
        get(header::CONTENT_ENCODING),
        &body,
        state.options.max_write_bytes,
    ) {
        Ok(r) => r,
        Err(message) => return text(StatusCode::BAD_REQUEST, &message),
    };
    let config = state
        .reloader
        .as_ref()
        .and_then(|r| r.otlp_config())
        .unwrap_or_default();
    let settings = settings(
        &config,
        state.options.otlp_native_delta_ingestion,
        state.engine.options().lookback_delta_ms,
    );
    let converted = convert(&request, &settings);
    if !converted.errors.is_empty() {
        tracing::warn!(errors = ?converted.errors, rejected = converted.rejected, "Error translating OTLP metrics to Prometheus write request");
    }
    if !converted.metadata.is_empty() {
        let mut metadata = state.metadata.write();
        for m in &converted.metadata {
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
    for (series, exemplar) in &converted.exemplars {
        state.exemplars.add(series, exemplar.clone());
    }
    match state.db.append(&converted.series).await {
        Ok(outcome) => match outcome.first_error {
            None => success(is_json, converted.rejected, &converted.errors),
            Some((err, labels, t)) => {
                tracing::debug!(%err, series = %labels, timestamp = t, "OTLP sample rejected");
                text(StatusCode::BAD_REQUEST, &err.to_string())
            }
        },
        Err(e) => {
            tracing::error!(error = %e, "Error appending remote write");
            text(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string())
        }
    }
}

#[cfg(test)]
mod tests;
