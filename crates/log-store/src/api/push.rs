//! `POST /loki/api/v1/push`: 204 on success, Loki's plain-text errors otherwise.

use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, StatusCode, header};
use lgtm_common::api::{ApiError, Text};
use lgtm_common::tenant::Tenant;

use super::AppState;

/// Push handler.
pub(super) async fn push(
    State(state): State<AppState>,
    tenant: Tenant,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let h = |n: header::HeaderName| headers.get(n).and_then(|v| v.to_str().ok());
    match state
        .pusher
        .push_http(
            &tenant.id(),
            h(header::CONTENT_TYPE),
            h(header::CONTENT_ENCODING),
            &body,
        )
        .await
    {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => ApiError::<Text>::from_error(&e).into_response(),
    }
}

/// `POST /otlp/v1/logs`: 204 on success; errors are a protobuf `google.rpc.Status` (code 0)
/// with the HTTP status in the header, 500 rewritten to 503 so OTLP clients retry.
pub(super) async fn otlp(
    State(state): State<AppState>,
    tenant: Tenant,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let h = |n: header::HeaderName| headers.get(n).and_then(|v| v.to_str().ok());
    match state
        .pusher
        .push_otlp(
            &tenant.id(),
            h(header::CONTENT_TYPE),
            h(header::CONTENT_ENCODING),
            &body,
        )
        .await
    {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => {
            use lgtm_common::error::HasErrorKind;
            let mut status = StatusCode::from_u16(e.error_kind().loki_http_status_code())
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            if status == StatusCode::INTERNAL_SERVER_ERROR {
                status = StatusCode::SERVICE_UNAVAILABLE;
            }
            let msg = lgtm_proto::google::rpc::Status {
                code: 0,
                message: e.to_string(),
                details: Vec::new(),
            };
            let mut r = (status, prost::Message::encode_to_vec(&msg)).into_response();
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                http::HeaderValue::from_static("application/octet-stream"),
            );
            r
        }
    }
}
