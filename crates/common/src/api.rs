//! The Prometheus/Loki HTTP API conventions shared by every service.
//!
//! - [`Envelope`]: the `{"status":"success","data":…,"warnings":[…],"infos":[…]}` body with
//!   Prometheus' field order and omission rules;
//! - [`ApiError`]: the error answer, written in the style of the upstream the service replaces
//!   ([`Prometheus`] JSON envelope, [`Loki`] plain text, or Go `http.Error` [`Text`]);
//! - extractors ([`Query`], [`Form`], [`Json`], [`Params`], [`BoundedBytes`]) whose rejections
//!   are answered in that same style;
//! - [`to_go_json`]: JSON bytes escaped the way Go's `encoding/json` escapes them, so bodies
//!   match the upstream byte for byte.

mod envelope;
mod error;
mod extract;
mod json;

pub use envelope::{Envelope, FieldOrder};
pub use error::{
    ApiError, ErrorStyle, LOKI_CLIENT_CANCELED, LOKI_DEADLINE_EXCEEDED, Loki, Prometheus, Style,
    Text, error_response,
};
pub use extract::{BoundedBytes, Form, Json, Params, Query};
pub use json::{GoJsonFormatter, to_go_json, to_go_json_writer};

/// A handler result answering errors in style `S` (Prometheus by default).
pub type ApiResult<T, S = Prometheus> = Result<T, ApiError<S>>;

#[cfg(test)]
mod tests;
