//! The success envelope `{"status":"success","data":…,"warnings":[…],"infos":[…]}`.
//!
//! Prometheus (`web/api/v1/api.go` `Response`): fields in the order `status`, `data`,
//! `errorType`, `error`, `warnings`, `infos`, each but `status` `omitempty`. Loki's query
//! encoder (`pkg/util/marshal/query.go`) writes `warnings` before `data`; [`FieldOrder`]
//! chooses.

use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use serde::Serialize;
use serde::ser::SerializeMap;

use super::error::{ApiError, Prometheus};
use super::json::to_go_json;
use crate::error::ErrorKind;

/// Where `warnings` goes relative to `data`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FieldOrder {
    /// `status, data, warnings, infos` (Prometheus).
    #[default]
    Prometheus,
    /// `status, warnings, data` (Loki's query responses).
    Loki,
}

/// A successful API answer; serializes to the upstream's exact bytes and is an axum response
/// (`200`, `Content-Type: application/json`).
#[derive(Debug, Clone)]
pub struct Envelope<T> {
    data: Option<T>,
    warnings: Vec<String>,
    infos: Vec<String>,
    order: FieldOrder,
    content_type: &'static str,
}

impl<T> Envelope<T> {
    /// `{"status":"success","data":<data>}`.
    pub fn success(data: T) -> Self {
        Envelope {
            data: Some(data),
            warnings: Vec::new(),
            infos: Vec::new(),
            order: FieldOrder::Prometheus,
            content_type: JSON_CONTENT_TYPE,
        }
    }

    /// `{"status":"success"}` with `data` omitted, as Go does for a nil `data` (Loki's
    /// `/labels` with no result, for instance).
    pub fn empty() -> Self {
        Envelope {
            data: None,
            warnings: Vec::new(),
            infos: Vec::new(),
            order: FieldOrder::Prometheus,
            content_type: JSON_CONTENT_TYPE,
        }
    }

    /// Add warnings (written only when non-empty).
    pub fn with_warnings(mut self, warnings: impl IntoIterator<Item = String>) -> Self {
        self.warnings.extend(warnings);
        self
    }

    /// Add info-level annotations (Prometheus 3.x `infos`, written only when non-empty).
    pub fn with_infos(mut self, infos: impl IntoIterator<Item = String>) -> Self {
        self.infos.extend(infos);
        self
    }

    /// Choose the field order (Loki writes `warnings` before `data`).
    pub fn with_order(mut self, order: FieldOrder) -> Self {
        self.order = order;
        self
    }

    /// Override the `Content-Type` (default `application/json`, Prometheus' value).
    pub fn with_content_type(mut self, content_type: &'static str) -> Self {
        self.content_type = content_type;
        self
    }

    /// The payload, for tests and post-processing.
    pub fn data(&self) -> Option<&T> {
        self.data.as_ref()
    }
}

impl<T: Serialize> Serialize for Envelope<T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("status", "success")?;
        if self.order == FieldOrder::Loki && !self.warnings.is_empty() {
            map.serialize_entry("warnings", &self.warnings)?;
        }
        if let Some(data) = &self.data {
            map.serialize_entry("data", data)?;
        }
        if self.order == FieldOrder::Prometheus && !self.warnings.is_empty() {
            map.serialize_entry("warnings", &self.warnings)?;
        }
        if !self.infos.is_empty() {
            map.serialize_entry("infos", &self.infos)?;
        }
        map.end()
    }
}

impl<T: Serialize> IntoResponse for Envelope<T> {
    fn into_response(self) -> Response {
        match to_go_json(&self) {
            Ok(body) => {
                let mut resp = json_response(StatusCode::OK, body);
                if self.content_type != JSON_CONTENT_TYPE
                    && let Ok(v) = HeaderValue::from_str(self.content_type)
                {
                    resp.headers_mut().insert(header::CONTENT_TYPE, v);
                }
                resp
            }
            Err(err) => ApiError::<Prometheus>::new(
                ErrorKind::Internal,
                format!("error marshaling json response: {err}"),
            )
            .into_response(),
        }
    }
}

const JSON_CONTENT_TYPE: &str = "application/json";

/// A JSON response with the given status and `Content-Type: application/json`.
pub(crate) fn json_response(status: StatusCode, body: Vec<u8>) -> Response {
    let mut resp = (status, body).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}
