//! The HTTP API: Loki's push, query, label/series, index and status endpoints on one axum
//! router (`/ready` and `/metrics` come from the shared server scaffold).

mod delete;
mod encode;
mod index;
mod labels;
mod misc;
mod push;
mod query;

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};
use lgtm_common::clock::SharedClock;

use crate::config::LimitsConfig;
use crate::push::Pusher;
use crate::store::Store;

/// Shared state of the handlers.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The store.
    pub store: Arc<Store>,
    /// The push pipeline.
    pub pusher: Arc<Pusher>,
    /// Query limits.
    pub limits: Arc<LimitsConfig>,
    /// Clock for default times.
    pub clock: SharedClock,
    /// Effective configuration as YAML-ish text for `/config`.
    pub config_text: Arc<String>,
    /// `compactor.retention_enabled`: the delete API is on.
    pub deletes_enabled: bool,
}

/// The service routes.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/loki/api/v1/push", post(push::push))
        .route("/api/prom/push", post(push::push))
        .route("/otlp/v1/logs", post(push::otlp))
        .route(
            "/loki/api/v1/query_range",
            get(query::query_range).post(query::query_range),
        )
        .route("/loki/api/v1/query", get(query::query).post(query::query))
        .route(
            "/loki/api/v1/labels",
            get(labels::labels).post(labels::labels),
        )
        .route(
            "/loki/api/v1/label",
            get(labels::labels).post(labels::labels),
        )
        .route(
            "/loki/api/v1/label/{name}/values",
            get(labels::label_values).post(labels::label_values),
        )
        .route(
            "/loki/api/v1/series",
            get(labels::series).post(labels::series),
        )
        .route(
            "/loki/api/v1/index/stats",
            get(index::stats).post(index::stats),
        )
        .route(
            "/loki/api/v1/index/volume",
            get(index::volume).post(index::volume),
        )
        .route(
            "/loki/api/v1/index/volume_range",
            get(index::volume_range).post(index::volume_range),
        )
        .route(
            "/loki/api/v1/format_query",
            get(misc::format_query).post(misc::format_query),
        )
        .route("/loki/api/v1/status/buildinfo", get(misc::buildinfo))
        .route(
            "/loki/api/v1/delete",
            get(delete::list)
                .post(delete::create)
                .put(delete::create)
                .delete(delete::cancel),
        )
        .route("/flush", get(misc::flush).post(misc::flush))
        .route("/config", get(misc::config))
        .with_state(state)
}

#[cfg(test)]
mod tests;
