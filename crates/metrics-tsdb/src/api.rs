//! The Prometheus HTTP API v1 and the management endpoints, answering as Prometheus does.
//!
//! One module per endpoint group: `query` (instant, range, format), `series` (series, labels,
//! label values, metadata), `status` (buildinfo, flags, config, runtimeinfo, tsdb), `write`
//! (remote write receiver), `lifecycle` (`/-/reload`; `/-/healthy` and `/-/ready` come from the
//! shared HTTP scaffold).

pub mod admin;
pub mod federate;
pub mod lifecycle;
pub mod query;
pub mod read;
pub mod render;
pub mod rules;
pub mod series;
pub mod status;
pub mod targets;
pub mod write;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::SystemTime;

use axum::Router;
use axum::routing::{get, post};
use lgtm_common::api::{ApiError, Params};
use lgtm_common::labels::Matcher;
use lgtm_promql::Engine;
use parking_lot::RwLock;

use crate::db::Db;

/// Settings of the API taken from flags.
#[derive(Debug, Clone)]
pub struct ApiOptions {
    /// `--web.enable-remote-write-receiver`.
    pub enable_remote_write_receiver: bool,
    /// `--web.enable-lifecycle`.
    pub enable_lifecycle: bool,
    /// `--web.enable-admin-api`.
    pub enable_admin_api: bool,
    /// Largest decompressed remote-write body.
    pub max_write_bytes: usize,
    /// `--web.enable-otlp-receiver`.
    pub enable_otlp_receiver: bool,
    /// `--enable-feature=otlp-native-delta-ingestion`: store OTLP delta points as they come.
    pub otlp_native_delta_ingestion: bool,
    /// Default `--query.timeout`.
    pub query_timeout: std::time::Duration,
    /// `--query.max-concurrency`: queries beyond it wait for a slot, as in Prometheus.
    pub max_concurrent_queries: usize,
}

impl Default for ApiOptions {
    fn default() -> Self {
        Self {
            enable_remote_write_receiver: true,
            enable_lifecycle: false,
            enable_admin_api: false,
            max_write_bytes: 32 << 20,
            enable_otlp_receiver: false,
            otlp_native_delta_ingestion: false,
            query_timeout: std::time::Duration::from_secs(120),
            max_concurrent_queries: 20,
        }
    }
}

/// Per-metric metadata as `/api/v1/metadata` reports it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct MetricMetadata {
    /// `counter`, `gauge`, ...
    #[serde(rename = "type")]
    pub metric_type: String,
    /// Help text.
    pub help: String,
    /// Unit.
    pub unit: String,
}

/// What `/-/reload` and `/api/v1/status/config` need: the configuration text and a way to
/// apply a new one.
pub trait ConfigReloader: Send + Sync + std::fmt::Debug {
    /// Re-reads the configuration; an error keeps the running one.
    fn reload(&self) -> Result<(), String>;
    /// The effective configuration as YAML.
    fn config_yaml(&self) -> String;
    /// The `otlp:` block of the running configuration, for the OTLP receiver.
    fn otlp_config(&self) -> Option<crate::config::OtlpConfig> {
        None
    }
}

/// Shared state of every handler.
#[derive(Debug)]
pub struct ApiState {
    /// The store.
    pub db: Arc<Db>,
    /// The PromQL engine.
    pub engine: Engine,
    /// API settings.
    pub options: ApiOptions,
    /// Exemplars from remote write and scrapes.
    pub exemplars: Arc<crate::exemplars::ExemplarStore>,
    /// Query slots (`--query.max-concurrency`).
    pub query_slots: Arc<tokio::sync::Semaphore>,
    /// Flags as `/api/v1/status/flags` reports them.
    pub flags: BTreeMap<String, String>,
    /// Server start time.
    pub start_time: SystemTime,
    /// Metadata by metric name, from remote write and scrapes.
    pub metadata: crate::scrape::manager::MetadataSink,
    /// The scrape manager, when the server scrapes.
    pub scrape: Option<Arc<crate::scrape::manager::ScrapeManager>>,
    /// Configuration access, when the server runs from a config file.
    pub reloader: Option<Arc<dyn ConfigReloader>>,
    /// Result of the last reload, for runtimeinfo.
    pub last_reload: RwLock<(bool, SystemTime)>,
    /// The rule manager (and through it the notifier), when rules run.
    pub rules: Option<Arc<crate::rules::RuleManager>>,
}

impl ApiState {
    /// State with defaults around a store.
    pub fn new(db: Arc<Db>, engine: Engine, options: ApiOptions) -> Self {
        Self {
            db,
            engine,
            exemplars: Arc::new(crate::exemplars::ExemplarStore::default()),
            query_slots: Arc::new(tokio::sync::Semaphore::new(
                options.max_concurrent_queries.max(1),
            )),
            options,
            flags: BTreeMap::new(),
            start_time: SystemTime::now(),
            metadata: Arc::new(RwLock::new(BTreeMap::new())),
            scrape: None,
            reloader: None,
            last_reload: RwLock::new((true, SystemTime::now())),
            rules: None,
        }
    }
}

/// Every route of the service.
pub fn router(state: Arc<ApiState>) -> Router {
    Router::new()
        .route("/api/v1/query", get(query::instant).post(query::instant))
        .route("/api/v1/query_range", get(query::range).post(query::range))
        .route(
            "/api/v1/format_query",
            get(query::format).post(query::format),
        )
        .route(
            "/api/v1/series",
            get(series::series)
                .post(series::series)
                .delete(series::delete_not_implemented),
        )
        .route("/api/v1/labels", get(series::labels).post(series::labels))
        .route("/api/v1/label/{name}/values", get(series::label_values))
        .route("/api/v1/metadata", get(series::metadata))
        .route(
            "/api/v1/query_exemplars",
            get(series::exemplars).post(series::exemplars),
        )
        .route("/api/v1/status/buildinfo", get(status::buildinfo))
        .route("/api/v1/status/flags", get(status::flags))
        .route("/api/v1/status/config", get(status::config))
        .route("/api/v1/status/runtimeinfo", get(status::runtimeinfo))
        .route("/api/v1/status/tsdb", get(status::tsdb))
        .route("/federate", get(federate::federate))
        .route("/api/v1/write", post(write::remote_write))
        .route("/api/v1/otlp/v1/metrics", post(crate::otlp::otlp_write))
        .route("/api/v1/read", post(read::remote_read))
        .route("/api/v1/targets", get(targets::targets))
        .route("/api/v1/scrape_pools", get(targets::scrape_pools))
        .route("/api/v1/rules", get(rules::rules))
        .route("/api/v1/alerts", get(rules::alerts))
        .route("/api/v1/alertmanagers", get(rules::alertmanagers))
        .route(
            "/api/v1/admin/tsdb/delete_series",
            post(admin::delete_series).put(admin::delete_series),
        )
        .route(
            "/api/v1/admin/tsdb/clean_tombstones",
            post(admin::clean_tombstones).put(admin::clean_tombstones),
        )
        .route(
            "/api/v1/admin/tsdb/snapshot",
            post(admin::snapshot).put(admin::snapshot),
        )
        .route(
            "/-/reload",
            post(lifecycle::reload)
                .put(lifecycle::reload)
                .get(lifecycle::only_post),
        )
        .with_state(state)
}

/// Parses every `match[]` as a series selector, with Prometheus' errors.
fn parse_match_params(params: &Params, required: bool) -> Result<Vec<Vec<Matcher>>, ApiError> {
    let raw: Vec<&str> = params.get_all("match[]").collect();
    if raw.is_empty() && required {
        return Err(ApiError::bad_data("no match[] parameter provided"));
    }
    let mut out = Vec::with_capacity(raw.len());
    for selector in raw {
        let matchers = lgtm_promql::parser::parse_selector(selector)
            .map_err(|e| ApiError::invalid_param("match[]", e))?;
        if matchers.iter().all(Matcher::matches_empty) {
            return Err(ApiError::invalid_param(
                "match[]",
                "match[] must contain at least one non-empty matcher",
            ));
        }
        out.push(matchers);
    }
    Ok(out)
}

/// Prometheus' `parseTime` for optional `start`/`end` parameters: absent means unbounded.
fn parse_time_bound(params: &Params, name: &str, default: i64) -> Result<i64, ApiError> {
    match params.get(name) {
        None | Some("") => Ok(default),
        Some(value) => lgtm_common::time::parse_prom_time_ms(value)
            .map_err(|e| ApiError::invalid_param(name, e)),
    }
}

/// The optional `limit` parameter (0 = none).
fn parse_limit(params: &Params) -> Result<usize, ApiError> {
    match params.get("limit") {
        None | Some("") => Ok(0),
        Some(value) => value.parse::<usize>().map_err(|_| {
            ApiError::invalid_param("limit", "cannot parse \"limit\" to a valid limit")
        }),
    }
}

#[cfg(test)]
mod tests;
