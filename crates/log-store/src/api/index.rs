//! `/loki/api/v1/index/stats`, `/index/volume` and `/index/volume_range`, answered from the
//! head and the block indexes without reading chunks.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::response::Response;
use lgtm_common::api::{ApiError, Loki, Params, to_go_json};
use lgtm_common::labels::{Labels, MatchOp};
use lgtm_common::tenant::Tenant;
use serde::Serialize;

use super::AppState;
use super::encode::{self, Stats, json_response};
use super::labels::parse_selector;
use crate::logql::eval::MatrixSeries;
use crate::query::{QueryError, params};

type Result<T> = std::result::Result<T, ApiError<Loki>>;

fn err(e: QueryError) -> ApiError<Loki> {
    ApiError::from_error(&e)
}

/// `GET|POST /loki/api/v1/index/stats`: `{"streams","chunks","bytes","entries"}`, no envelope.
pub(super) async fn stats(
    State(state): State<AppState>,
    tenant: Tenant,
    p: Params<Loki>,
) -> Result<Response> {
    let (start, end) = params::bounds(&p, state.clock.now_ns()).map_err(err)?;
    let matchers = parse_selector(p.get_or_empty("query")).map_err(err)?;
    let per_stream = state
        .store
        .stream_stats(&tenant.id(), &matchers, start, end);
    #[derive(Serialize)]
    struct Body {
        streams: u64,
        chunks: u64,
        bytes: u64,
        entries: u64,
    }
    let body = Body {
        streams: per_stream.len() as u64,
        chunks: per_stream.iter().map(|s| s.1.chunks).sum(),
        bytes: per_stream.iter().map(|s| s.1.bytes).sum(),
        entries: per_stream.iter().map(|s| s.1.entries).sum(),
    };
    Ok(json_response(to_go_json(&body).unwrap_or_default()))
}

/// Volume per group: the group is `targetLabels`, else the selector's label names
/// (`aggregateBy=labels` gives one series per label name with an empty value).
async fn volumes(
    state: &AppState,
    tenant: &Tenant,
    p: &Params<Loki>,
    start: i64,
    end: i64,
) -> Result<Vec<(Labels, u64)>> {
    let matchers = parse_selector(p.get_or_empty("query")).map_err(err)?;
    let targets: Vec<String> = match p.get("targetLabels").filter(|s| !s.is_empty()) {
        Some(t) => t.split(',').map(|s| s.trim().to_owned()).collect(),
        None => matchers
            .iter()
            .filter(|m| m.op != MatchOp::NotEqual && m.op != MatchOp::NotRegex)
            .map(|m| m.name.clone())
            .collect(),
    };
    let by_labels = p.get("aggregateBy") == Some("labels");
    let mut acc: BTreeMap<Labels, u64> = BTreeMap::new();
    for (labels, s) in state
        .store
        .stream_stats(&tenant.id(), &matchers, start, end)
    {
        if by_labels {
            for t in &targets {
                if labels.get(t).is_some() {
                    *acc.entry(Labels::from_pairs([(t.as_str(), "")]))
                        .or_default() += s.bytes;
                }
            }
        } else {
            *acc.entry(labels.keep(&targets)).or_default() += s.bytes;
        }
    }
    let mut out: Vec<(Labels, u64)> = acc.into_iter().collect();
    out.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let limit = params::limit(p).map_err(err)?;
    out.truncate(limit);
    Ok(out)
}

/// `GET|POST /loki/api/v1/index/volume`.
pub(super) async fn volume(
    State(state): State<AppState>,
    tenant: Tenant,
    p: Params<Loki>,
) -> Result<Response> {
    let (start, end) = params::bounds(&p, state.clock.now_ns()).map_err(err)?;
    let v = volumes(&state, &tenant, &p, start, end).await?;
    let samples: Vec<(Labels, f64)> = v.into_iter().map(|(l, b)| (l, b as f64)).collect();
    let stats = Stats {
        entries_returned: samples.len() as u64,
        ..Stats::default()
    };
    Ok(json_response(encode::vector(
        &samples,
        end.div_euclid(1_000_000),
        &stats,
    )))
}

/// `GET|POST /loki/api/v1/index/volume_range`: one point per step window.
pub(super) async fn volume_range(
    State(state): State<AppState>,
    tenant: Tenant,
    p: Params<Loki>,
) -> Result<Response> {
    let rp = params::range(&p, state.clock.now_ns()).map_err(err)?;
    let mut series: BTreeMap<Labels, Vec<(i64, f64)>> = BTreeMap::new();
    let mut t = rp.start;
    while t < rp.end {
        let next = (t + rp.step).min(rp.end);
        for (l, b) in volumes(&state, &tenant, &p, t, next).await? {
            series
                .entry(l)
                .or_default()
                .push((next.div_euclid(1_000_000), b as f64));
        }
        t = next;
    }
    let series: Vec<MatrixSeries> = series
        .into_iter()
        .map(|(labels, points)| MatrixSeries { labels, points })
        .collect();
    let stats = Stats {
        entries_returned: series.len() as u64,
        ..Stats::default()
    };
    Ok(json_response(encode::matrix(&series, &stats)))
}
