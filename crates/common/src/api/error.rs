//! [`ApiError`]: an error answer written exactly as the replaced upstream writes it.
//!
//! Three styles exist upstream and each service picks the one of its upstream:
//!
//! | style | body | status table | used by |
//! |---|---|---|---|
//! | [`Prometheus`] | `{"status":"error","errorType":"bad_data","error":"…"}`, `application/json` | [`ErrorKind::http_status_code`] | Prometheus API v1, Loki's Prometheus-shaped endpoints |
//! | [`Loki`] | message, no trailing newline, `text/plain; charset=utf-8`, `nosniff` (`serverutil.WriteError`) | [`ErrorKind::loki_http_status_code`]; canceled/timeout get Loki's fixed texts | Loki query API |
//! | [`Text`] | message + `\n`, same headers (Go `http.Error`) | [`ErrorKind::loki_http_status_code`] | Loki push, dskit middleware (`no org id`), Tempo |
//!
//! Client errors (4xx) are answered silently; server errors are logged once, here.

use std::fmt;
use std::marker::PhantomData;

use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use serde::Serialize;
use serde::ser::SerializeMap;

use super::envelope::json_response;
use super::json::to_go_json;
use crate::duration::go_quote;
use crate::error::{ErrorKind, HasErrorKind};

/// Loki's body for a query the client cancelled (`ErrClientCanceled`, status 499).
pub const LOKI_CLIENT_CANCELED: &str = "the request was cancelled by the client";
/// Loki's body for a query that hit its deadline (`ErrDeadlineExceeded`, status 504).
pub const LOKI_DEADLINE_EXCEEDED: &str = "request timed out, decrease the duration of the request or add more label matchers (prefer exact match over regex match) to reduce the amount of data processed";

/// Which upstream error body to write, chosen at run time (middleware, server builder).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ErrorStyle {
    /// Prometheus JSON envelope.
    #[default]
    Prometheus,
    /// Loki query API plain text without trailing newline.
    Loki,
    /// Go `http.Error`: plain text with a trailing newline.
    Text,
}

/// A compile-time error style, so a handler's `?` cannot answer in the wrong upstream's shape.
pub trait Style: Send + Sync + 'static {
    /// The style this marker stands for.
    const STYLE: ErrorStyle;
}

/// Marker: answer errors as Prometheus' JSON envelope.
#[derive(Debug, Clone, Copy, Default)]
pub struct Prometheus;
/// Marker: answer errors as Loki's query API plain text.
#[derive(Debug, Clone, Copy, Default)]
pub struct Loki;
/// Marker: answer errors as Go `http.Error` plain text.
#[derive(Debug, Clone, Copy, Default)]
pub struct Text;

impl Style for Prometheus {
    const STYLE: ErrorStyle = ErrorStyle::Prometheus;
}
impl Style for Loki {
    const STYLE: ErrorStyle = ErrorStyle::Loki;
}
impl Style for Text {
    const STYLE: ErrorStyle = ErrorStyle::Text;
}

/// An error answered to an HTTP client: a kind, a message and (rarely) a `data` payload.
///
/// Handlers return `Result<T, ApiError>` (Prometheus style) or `Result<T, ApiError<Loki>>`;
/// any error implementing [`HasErrorKind`] converts with `?`. It deliberately does not
/// implement `std::error::Error` (that is what makes the blanket `From` possible).
pub struct ApiError<S: Style = Prometheus> {
    kind: ErrorKind,
    message: String,
    data: Option<serde_json::Value>,
    _style: PhantomData<fn() -> S>,
}

impl<S: Style> fmt::Debug for ApiError<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiError")
            .field("style", &S::STYLE)
            .field("kind", &self.kind)
            .field("message", &self.message)
            .finish()
    }
}

impl<S: Style> fmt::Display for ApiError<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind, self.message)
    }
}

impl<S: Style> ApiError<S> {
    /// An error of `kind` with the message the client sees.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        ApiError {
            kind,
            message: message.into(),
            data: None,
            _style: PhantomData,
        }
    }

    /// `bad_data` (400): invalid parameter or body.
    pub fn bad_data(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::BadData, message)
    }

    /// Prometheus' `invalid parameter "<name>": <err>` wording for a bad parameter.
    pub fn invalid_param(name: &str, err: impl fmt::Display) -> Self {
        Self::new(
            ErrorKind::BadData,
            format!("invalid parameter {}: {err}", go_quote(name)),
        )
    }

    /// `execution` (422): evaluation of a valid request failed.
    pub fn execution(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Execution, message)
    }

    /// `internal` (500).
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, message)
    }

    /// `not_found` (404).
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, message)
    }

    /// `unavailable`.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unavailable, message)
    }

    /// From any error that knows its kind, keeping its `Display` text as the message.
    pub fn from_error<E: HasErrorKind + fmt::Display + ?Sized>(err: &E) -> Self {
        Self::new(err.error_kind(), err.to_string())
    }

    /// Attach a `data` payload to the error envelope (Prometheus style only; ignored by the
    /// text styles, as upstream has no place for it).
    pub fn with_data(mut self, data: serde_json::Value) -> Self {
        self.data = Some(data);
        self
    }

    /// The kind.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The message as given (Loki style may replace it on the wire, see the module docs).
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The same error answered in another style.
    pub fn restyle<T: Style>(self) -> ApiError<T> {
        ApiError {
            kind: self.kind,
            message: self.message,
            data: self.data,
            _style: PhantomData,
        }
    }
}

impl<S: Style> HasErrorKind for ApiError<S> {
    fn error_kind(&self) -> ErrorKind {
        self.kind
    }
}

impl<S: Style, E: HasErrorKind + std::error::Error> From<E> for ApiError<S> {
    fn from(err: E) -> Self {
        Self::from_error(&err)
    }
}

impl<S: Style> IntoResponse for ApiError<S> {
    fn into_response(self) -> Response {
        build_response(S::STYLE, self.kind, &self.message, self.data.as_ref())
    }
}

/// An error response in `style`, for middleware that has no handler type to carry a marker.
pub fn error_response(style: ErrorStyle, kind: ErrorKind, message: &str) -> Response {
    build_response(style, kind, message, None)
}

fn build_response(
    style: ErrorStyle,
    kind: ErrorKind,
    message: &str,
    data: Option<&serde_json::Value>,
) -> Response {
    if !kind.is_client_error() {
        tracing::error!(
            error_type = kind.error_type(),
            status = status_for(style, kind).as_u16(),
            error = message,
            "request failed"
        );
    }
    match style {
        ErrorStyle::Prometheus => {
            let body = ErrorBody {
                kind,
                message,
                data,
            };
            match to_go_json(&body) {
                Ok(bytes) => json_response(status_for(style, kind), bytes),
                // Unreachable for a string message; answer like Go's http.Error would.
                Err(err) => text_response(StatusCode::INTERNAL_SERVER_ERROR, format!("{err}\n")),
            }
        }
        ErrorStyle::Loki => {
            let body = match kind {
                ErrorKind::Canceled => LOKI_CLIENT_CANCELED.to_owned(),
                ErrorKind::Timeout => LOKI_DEADLINE_EXCEEDED.to_owned(),
                _ => message.to_owned(),
            };
            text_response(status_for(style, kind), body)
        }
        ErrorStyle::Text => text_response(status_for(style, kind), format!("{message}\n")),
    }
}

fn status_for(style: ErrorStyle, kind: ErrorKind) -> StatusCode {
    let code = match style {
        ErrorStyle::Prometheus => kind.http_status_code(),
        ErrorStyle::Loki | ErrorStyle::Text => kind.loki_http_status_code(),
    };
    StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// A plain-text response with the headers Go's `http.Error` sets.
pub(crate) fn text_response(status: StatusCode, body: String) -> Response {
    let mut resp = (status, body).into_response();
    let headers = resp.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    resp
}

struct ErrorBody<'a> {
    kind: ErrorKind,
    message: &'a str,
    data: Option<&'a serde_json::Value>,
}

impl Serialize for ErrorBody<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("status", "error")?;
        if let Some(data) = self.data {
            map.serialize_entry("data", data)?;
        }
        map.serialize_entry("errorType", self.kind.error_type())?;
        map.serialize_entry("error", self.message)?;
        map.end()
    }
}
