//! `/-/reload`.

use std::sync::Arc;
use std::time::SystemTime;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::StatusCode;

use super::ApiState;

/// `POST|PUT /-/reload`, gated by `--web.enable-lifecycle` as upstream.
pub async fn reload(State(state): State<Arc<ApiState>>) -> Response {
    if !state.options.enable_lifecycle {
        return (StatusCode::FORBIDDEN, "Lifecycle API is not enabled.").into_response();
    }
    match reload_config(&state).await {
        Ok(()) => StatusCode::OK.into_response(),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("failed to reload config: {e}\n"),
        )
            .into_response(),
    }
}

/// Re-reads the configuration file and records the outcome for runtimeinfo; shared by
/// `/-/reload` and `SIGHUP`. Without a file there is nothing to do.
pub async fn reload_config(state: &ApiState) -> Result<(), String> {
    let Some(reloader) = state.reloader.clone() else {
        return Ok(());
    };
    let outcome = match tokio::task::spawn_blocking(move || reloader.reload()).await {
        Ok(r) => r,
        Err(e) => Err(e.to_string()),
    };
    *state.last_reload.write() = (outcome.is_ok(), SystemTime::now());
    outcome
}

/// `GET /-/reload`.
pub async fn only_post() -> Response {
    (
        StatusCode::METHOD_NOT_ALLOWED,
        "Only POST or PUT requests allowed",
    )
        .into_response()
}
