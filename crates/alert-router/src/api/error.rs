//! API errors in go-swagger's shapes: handler errors are a JSON string, schema violations a
//! `{"code","message"}` object.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// An API error response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiError {
    /// A handler error: the body is the message as a JSON string.
    Message(StatusCode, String),
    /// A go-swagger validation error: `{"code":…,"message":…}`.
    Swagger(StatusCode, u32, String),
    /// An empty-bodied status (404 of `GET /silence/{id}`).
    Empty(StatusCode),
}

impl ApiError {
    /// 400 with a string body.
    pub fn bad_request(msg: impl Into<String>) -> Self {
        Self::Message(StatusCode::BAD_REQUEST, msg.into())
    }

    /// A go-swagger style error.
    pub fn swagger(status: u16, code: u32, msg: impl Into<String>) -> Self {
        Self::Swagger(
            StatusCode::from_u16(status).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY),
            code,
            msg.into(),
        )
    }
}

fn json(status: StatusCode, body: Vec<u8>) -> Response {
    let mut r = (status, body).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            Self::Message(status, msg) => {
                if status.is_server_error() {
                    tracing::error!(status = status.as_u16(), error = %msg, "api error");
                }
                let mut body = serde_json::to_vec(&msg).unwrap_or_default();
                body.push(b'\n');
                json(status, body)
            }
            Self::Swagger(status, code, message) => {
                let body =
                    serde_json::to_vec(&serde_json::json!({"code": code, "message": message}))
                        .unwrap_or_default();
                json(status, body)
            }
            Self::Empty(status) => status.into_response(),
        }
    }
}

/// A 200 JSON response from a serialisable value, with go-swagger's trailing newline.
pub(crate) fn ok_json<T: serde::Serialize>(v: &T) -> Response {
    let mut body = serde_json::to_vec(v).unwrap_or_default();
    body.push(b'\n');
    json(StatusCode::OK, body)
}
