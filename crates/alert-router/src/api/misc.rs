//! Health, readiness, reload, metrics and the removed v1 API.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::state::Core;

/// `/-/healthy`, `/-/ready`.
pub(super) async fn ok() -> &'static str {
    "OK"
}

/// `POST /-/reload`: 200, or 500 `failed to reload config: …` keeping the running config.
pub(super) async fn reload(State(core): State<Arc<Core>>) -> Response {
    match Box::pin(core.reload()).await {
        Ok(()) => StatusCode::OK.into_response(),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("failed to reload config: {e}\n"),
        )
            .into_response(),
    }
}

/// `GET /-/reload`.
pub(super) async fn reload_wrong_method() -> Response {
    (
        StatusCode::METHOD_NOT_ALLOWED,
        "Only POST requests allowed\n",
    )
        .into_response()
}

/// `/metrics`.
pub(super) async fn metrics(State(core): State<Arc<Core>>) -> Response {
    let body = core.metrics.render(&core.gauges());
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        body,
    )
        .into_response()
}

/// `/api/v1/*`: 410 with Alertmanager 0.27's body.
pub(super) async fn v1_gone() -> Response {
    let body = serde_json::json!({
        "status": "deprecated",
        "error": "The Alertmanager v1 API was deprecated in version 0.16.0 and is removed as of version 0.27.0 - please use the equivalent route in the v2 API",
    });
    let mut bytes = serde_json::to_vec(&body).unwrap_or_default();
    bytes.push(b'\n');
    (
        StatusCode::GONE,
        [(header::CONTENT_TYPE, "application/json")],
        bytes,
    )
        .into_response()
}
