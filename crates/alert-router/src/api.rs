//! The HTTP surface: API v2 with Alertmanager's JSON shapes, status codes and error texts,
//! `/-/healthy`, `/-/ready`, `/-/reload`, `/metrics`, and `/api/v1/*` answering 410 as
//! Alertmanager 0.27+ does. Every path sits under `--web.route-prefix`.

mod alerts;
mod error;
mod misc;
mod silences;
mod status;

use std::sync::Arc;

use axum::Router;
use axum::routing::{any, get, post};

pub use error::ApiError;

use crate::state::Core;

/// Largest request body accepted (alert batches, silences).
pub const MAX_BODY_BYTES: usize = 64 << 20;

/// The router of a running instance (tests drive it with `oneshot`).
pub fn router(core: Arc<Core>) -> Router {
    let api = Router::new()
        .route(
            "/api/v2/alerts",
            get(alerts::get_alerts).post(alerts::post_alerts),
        )
        .route("/api/v2/alerts/groups", get(alerts::get_groups))
        .route(
            "/api/v2/silences",
            get(silences::get_silences).post(silences::post_silence),
        )
        .route(
            "/api/v2/silence/{id}",
            get(silences::get_silence).delete(silences::delete_silence),
        )
        .route("/api/v2/receivers", get(status::get_receivers))
        .route("/api/v2/status", get(status::get_status))
        .route("/api/v1/{*rest}", any(misc::v1_gone))
        .route("/-/healthy", get(misc::ok).head(misc::ok))
        .route("/-/ready", get(misc::ok).head(misc::ok))
        .route(
            "/-/reload",
            post(misc::reload).get(misc::reload_wrong_method),
        )
        .route("/metrics", get(misc::metrics))
        // Large enough for benchmark-sized batches, bounded all the same.
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(core.clone());
    let prefix = core.route_prefix.trim_end_matches('/');
    if prefix.is_empty() {
        api
    } else {
        Router::new().nest(prefix, api)
    }
}

/// Query pairs in order, keys repeated as given (go-swagger reads `filter` as a list).
pub(crate) fn query_pairs(q: Option<&str>) -> Vec<(String, String)> {
    url::form_urlencoded::parse(q.unwrap_or("").as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// go-swagger's boolean query parameters: empty or absent → the default; otherwise
/// `swag.ConvertBool`, which is true for `true 1 yes ok y on selected checked enabled` and
/// false for anything else (no error; observed on Alertmanager 0.25).
pub(crate) fn query_bool(
    pairs: &[(String, String)],
    name: &str,
    default: bool,
) -> Result<bool, ApiError> {
    let Some((_, v)) = pairs.iter().find(|(k, _)| k == name) else {
        return Ok(default);
    };
    Ok(match v.to_ascii_lowercase().as_str() {
        "" => default,
        "true" | "1" | "yes" | "ok" | "y" | "on" | "selected" | "checked" | "enabled" => true,
        _ => false,
    })
}
