//! `/api/v1/status/*`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use lgtm_common::api::{Envelope, Params};
use lgtm_common::time::format_rfc3339_millis;
use serde::Serialize;

use super::ApiState;

/// The Prometheus version whose API we answer for; Grafana reads `version` to enable
/// features, so it names the upstream release our behaviour follows.
pub const COMPATIBLE_PROMETHEUS_VERSION: &str = "3.5.0";

fn unix_ms(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// `GET /api/v1/status/buildinfo`. No `application`/`features`: Grafana takes those for Mimir.
pub async fn buildinfo() -> Response {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct BuildInfo {
        version: &'static str,
        revision: &'static str,
        branch: &'static str,
        build_user: &'static str,
        build_date: &'static str,
        go_version: &'static str,
    }
    Envelope::success(BuildInfo {
        version: COMPATIBLE_PROMETHEUS_VERSION,
        revision: concat!("lgtm-rs-", env!("CARGO_PKG_VERSION")),
        branch: "HEAD",
        build_user: "lgtm-rs",
        build_date: "",
        go_version: "rust",
    })
    .into_response()
}

/// `GET /api/v1/status/flags`.
pub async fn flags(State(state): State<Arc<ApiState>>) -> Response {
    Envelope::success(&state.flags).into_response()
}

/// `GET /api/v1/status/config`.
pub async fn config(State(state): State<Arc<ApiState>>) -> Response {
    let yaml = state
        .reloader
        .as_ref()
        .map(|r| r.config_yaml())
        .unwrap_or_default();
    Envelope::success(BTreeMap::from([("yaml", yaml)])).into_response()
}

/// `GET /api/v1/status/runtimeinfo`.
pub async fn runtimeinfo(State(state): State<Arc<ApiState>>) -> Response {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct RuntimeInfo {
        start_time: String,
        #[serde(rename = "CWD")]
        cwd: String,
        hostname: String,
        server_time: String,
        reload_config_success: bool,
        last_config_time: String,
        corruption_count: i64,
        goroutine_count: usize,
        #[serde(rename = "GOMAXPROCS")]
        gomaxprocs: usize,
        #[serde(rename = "GOMEMLIMIT")]
        gomemlimit: i64,
        #[serde(rename = "GOGC")]
        gogc: String,
        #[serde(rename = "GODEBUG")]
        godebug: String,
        storage_retention: String,
    }
    let (ok, at) = *state.last_reload.read();
    Envelope::success(RuntimeInfo {
        start_time: format_rfc3339_millis(unix_ms(state.start_time)),
        cwd: std::env::current_dir()
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
        hostname: std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|s| s.trim().to_owned())
            .unwrap_or_default(),
        server_time: format_rfc3339_millis(unix_ms(SystemTime::now())),
        reload_config_success: ok,
        last_config_time: format_rfc3339_millis(unix_ms(at)),
        corruption_count: 0,
        goroutine_count: 0,
        gomaxprocs: std::thread::available_parallelism().map_or(1, usize::from),
        gomemlimit: i64::MAX,
        gogc: String::new(),
        godebug: String::new(),
        storage_retention: state
            .flags
            .get("storage.tsdb.retention.time")
            .cloned()
            .unwrap_or_else(|| "15d".into()),
    })
    .into_response()
}

#[derive(Serialize)]
struct Stat {
    name: String,
    value: u64,
}

/// `GET /api/v1/status/tsdb`: head cardinality statistics (top `limit`, default 10).
pub async fn tsdb(State(state): State<Arc<ApiState>>, params: Params) -> Response {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct HeadStats {
        num_series: usize,
        num_label_pairs: usize,
        chunk_count: usize,
        min_time: i64,
        max_time: i64,
    }
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct TsdbStatus {
        head_stats: HeadStats,
        series_count_by_metric_name: Vec<Stat>,
        label_value_count_by_label_name: Vec<Stat>,
        memory_in_bytes_by_label_name: Vec<Stat>,
        series_count_by_label_value_pair: Vec<Stat>,
    }
    let limit = params
        .get("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .filter(|&l| l > 0 && l <= 10_000)
        .unwrap_or(10);
    let head = state.db.head();
    let stats = head.cardinality();
    let top = |map: BTreeMap<String, u64>| -> Vec<Stat> {
        let mut v: Vec<Stat> = map
            .into_iter()
            .map(|(name, value)| Stat { name, value })
            .collect();
        v.sort_by(|a, b| b.value.cmp(&a.value).then_with(|| a.name.cmp(&b.name)));
        v.truncate(limit);
        v
    };
    Envelope::success(TsdbStatus {
        head_stats: HeadStats {
            num_series: stats.num_series,
            num_label_pairs: stats.num_label_pairs,
            chunk_count: stats.chunk_count,
            min_time: stats.min_time,
            max_time: stats.max_time,
        },
        series_count_by_metric_name: top(stats.series_by_metric),
        label_value_count_by_label_name: top(stats.values_by_label),
        memory_in_bytes_by_label_name: top(stats.bytes_by_label),
        series_count_by_label_value_pair: top(stats.series_by_pair),
    })
    .into_response()
}
