//! `/api/v1/targets` and `/api/v1/scrape_pools`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::UNIX_EPOCH;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use lgtm_common::api::{Envelope, Params};
use lgtm_common::labels::Labels;
use lgtm_common::time::format_rfc3339_nano;
use serde::Serialize;

use super::ApiState;

/// Go's zero time, which Prometheus reports for a target never scraped.
const GO_ZERO_TIME: &str = "0001-01-01T00:00:00Z";

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Active {
    discovered_labels: Labels,
    labels: Labels,
    scrape_pool: String,
    scrape_url: String,
    global_url: String,
    last_error: String,
    last_scrape: String,
    last_scrape_duration: f64,
    health: &'static str,
    scrape_interval: String,
    scrape_timeout: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Dropped {
    discovered_labels: Labels,
    scrape_pool: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Targets {
    #[serde(skip_serializing_if = "Option::is_none")]
    active_targets: Option<Vec<Active>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dropped_targets: Option<Vec<Dropped>>,
    dropped_target_counts: BTreeMap<String, usize>,
}

/// `GET /api/v1/targets?state=active|dropped|any&scrapePool=<job>`.
pub async fn targets(State(state): State<Arc<ApiState>>, params: Params) -> Response {
    let which = params.get("state").unwrap_or("any").to_ascii_lowercase();
    let pool = params.get("scrapePool").filter(|s| !s.is_empty());
    let show_active = which == "active" || which == "any" || which.is_empty();
    let show_dropped = which == "dropped" || which == "any" || which.is_empty();
    let (active, dropped) = match &state.scrape {
        Some(manager) => (manager.active_targets(), manager.dropped_targets()),
        None => (Vec::new(), Vec::new()),
    };
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for d in &dropped {
        *counts.entry(d.job.clone()).or_default() += 1;
    }
    let active: Vec<Active> = active
        .into_iter()
        .filter(|a| pool.is_none_or(|p| p == a.job))
        .map(|a| {
            let health = a.health.read().clone();
            Active {
                discovered_labels: a.target.discovered_labels.clone(),
                labels: a.target.labels.clone(),
                scrape_pool: a.job.clone(),
                scrape_url: a.target.url.clone(),
                global_url: a.target.url.clone(),
                last_error: health.last_error,
                last_scrape: health
                    .last_scrape
                    .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                    .map_or_else(
                        || GO_ZERO_TIME.to_owned(),
                        |d| format_rfc3339_nano(d.as_nanos() as i64),
                    ),
                last_scrape_duration: health.last_scrape_duration,
                health: health.health,
                scrape_interval: a.target.interval.to_string(),
                scrape_timeout: a.target.timeout.to_string(),
            }
        })
        .collect();
    let dropped: Vec<Dropped> = dropped
        .into_iter()
        .filter(|d| pool.is_none_or(|p| p == d.job))
        .map(|d| Dropped {
            discovered_labels: d.discovered_labels,
            scrape_pool: d.job,
        })
        .collect();
    Envelope::success(Targets {
        active_targets: show_active.then_some(active),
        dropped_targets: show_dropped.then_some(dropped),
        dropped_target_counts: counts,
    })
    .into_response()
}

/// `GET /api/v1/scrape_pools`.
pub async fn scrape_pools(State(state): State<Arc<ApiState>>) -> Response {
    let pools = state
        .scrape
        .as_ref()
        .map(|m| m.scrape_pools())
        .unwrap_or_default();
    Envelope::success(BTreeMap::from([("scrapePools", pools)])).into_response()
}
