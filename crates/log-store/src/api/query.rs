//! `/loki/api/v1/query_range` and `/loki/api/v1/query`.

use std::time::Instant;

use axum::extract::State;
use axum::response::Response;
use http::HeaderMap;
use lgtm_common::api::{ApiError, Loki, Params};
use lgtm_common::error::ErrorKind;
use lgtm_common::tenant::Tenant;

use super::AppState;
use super::encode::{self, Stats};
use crate::logql::eval::StepValue;
use crate::logql::pipeline::Pipeline;
use crate::logql::{self, Expr};
use crate::query::{Direction, QueryError, logs, metric, params};
use crate::store::Keep;

type Result<T> = std::result::Result<T, ApiError<Loki>>;

fn err(e: QueryError) -> ApiError<Loki> {
    ApiError::from_error(&e)
}

/// True when the client asked for categorized labels.
fn categorize(headers: &HeaderMap) -> bool {
    headers
        .get_all("X-Loki-Response-Encoding-Flags")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|f| f.trim() == "categorize-labels")
}

/// Loki prints both the query length and the limit as Go durations.
fn check_length(state: &AppState, start: i64, end: i64) -> std::result::Result<(), QueryError> {
    let max = state.limits.max_query_length.as_nanos();
    if max > 0 && end - start > max {
        return Err(QueryError::BadRequest(format!(
            "the query time range exceeds the limit (query length: {}, limit: {})",
            lgtm_common::duration::format_go_duration(end - start),
            lgtm_common::duration::format_go_duration(max)
        )));
    }
    Ok(())
}

/// Loki 3.6 stamps instant `scalar` results with the evaluation time (ms) multiplied by 10⁹
/// in int64 (it wraps) and divided by 10⁶, written as a JSON integer: `time=1772322000`
/// answers `1434568923883`. Reproduced so responses match Loki's.
fn loki_scalar_ms(ms: i64) -> i64 {
    ms.wrapping_mul(1_000_000_000) / 1_000_000
}

/// Runs a query handler within `limits_config.query_timeout` (504 with Loki's text after).
async fn with_timeout(
    state: &AppState,
    f: impl std::future::Future<Output = Result<Response>>,
) -> Result<Response> {
    let limit = state.limits.query_timeout.0;
    if limit.is_zero() {
        return f.await;
    }
    match tokio::time::timeout(limit, f).await {
        Ok(r) => r,
        Err(_) => Err(ApiError::new(ErrorKind::Timeout, "query timed out")),
    }
}

/// `GET|POST /loki/api/v1/query_range`.
pub(super) async fn query_range(
    State(state): State<AppState>,
    tenant: Tenant,
    headers: HeaderMap,
    p: Params<Loki>,
) -> Result<Response> {
    with_timeout(&state, query_range_inner(&state, tenant, headers, p)).await
}

async fn query_range_inner(
    state: &AppState,
    tenant: Tenant,
    headers: HeaderMap,
    p: Params<Loki>,
) -> Result<Response> {
    let began = Instant::now();
    let rp = params::range(&p, state.clock.now_ns()).map_err(err)?;
    let expr = logql::parse_and_compile(p.get_or_empty("query")).map_err(|e| err(e.into()))?;
    check_length(state, rp.start, rp.end).map_err(err)?;
    let tenant = tenant.id();
    match expr {
        Expr::Log(log) => {
            let max = state.limits.max_entries_limit_per_query;
            if max > 0 && rp.limit > max {
                return Err(err(QueryError::BadRequest(format!(
                    "max entries limit per query exceeded, limit > max_entries_limit_per_query ({} > {max})",
                    rp.limit
                ))));
            }
            let pipeline = Pipeline::new(&log.stages).map_err(|e| err(e.into()))?;
            // Without filters every entry is kept, so each stream can contribute at most
            // `limit` entries from the end the direction starts at.
            let keep = if log.has_filter() || rp.interval > 0 {
                Keep::All
            } else {
                match rp.direction {
                    Direction::Forward => Keep::Oldest(rp.limit),
                    Direction::Backward => Keep::Newest(rp.limit),
                }
            };
            // The leading line filters run inside the store, on lines still in their chunks.
            let test: Option<&dyn crate::store::LineTest> =
                pipeline.has_line_filters().then_some(&pipeline);
            let streams = state
                .store
                .select_filtered(&tenant, &log.matchers, rp.start, rp.end, keep, test)
                .await
                .map_err(|e| err(e.into()))?;
            let (rows, log_stats) = metric::blocking(move || {
                Ok(logs::run(
                    &streams,
                    &pipeline,
                    rp.limit,
                    rp.direction,
                    rp.interval,
                ))
            })
            .await
            .map_err(err)?;
            let stats = Stats {
                log: log_stats,
                entries_returned: rows.len() as u64,
                exec_secs: began.elapsed().as_secs_f64(),
            };
            Ok(encode::json_response(encode::streams(
                &rows,
                categorize(&headers),
                &stats,
            )))
        }
        Expr::Sample(expr) => {
            let series = metric::range(
                &state.store,
                &tenant,
                &expr,
                rp.start,
                rp.end,
                rp.step,
                state.limits.max_query_series,
            )
            .await
            .map_err(err)?;
            let stats = Stats {
                entries_returned: series.len() as u64,
                exec_secs: began.elapsed().as_secs_f64(),
                ..Stats::default()
            };
            Ok(encode::json_response(encode::matrix(&series, &stats)))
        }
    }
}

/// `GET|POST /loki/api/v1/query` (metric queries only, as Loki).
pub(super) async fn query(
    State(state): State<AppState>,
    tenant: Tenant,
    p: Params<Loki>,
) -> Result<Response> {
    with_timeout(&state, query_inner(&state, tenant, p)).await
}

async fn query_inner(state: &AppState, tenant: Tenant, p: Params<Loki>) -> Result<Response> {
    let began = Instant::now();
    let ts = params::time(&p, state.clock.now_ns()).map_err(err)?;
    params::limit(&p).map_err(err)?;
    params::direction(&p).map_err(err)?;
    let expr = logql::parse_and_compile(p.get_or_empty("query")).map_err(|e| err(e.into()))?;
    let Expr::Sample(expr) = expr else {
        return Err(err(QueryError::BadRequest(
            "log queries are not supported as an instant query type, please change your query to a range query type".into(),
        )));
    };
    let v = metric::instant(
        &state.store,
        &tenant.id(),
        &expr,
        ts,
        state.limits.max_query_series,
    )
    .await
    .map_err(err)?;
    let ms = ts.div_euclid(1_000_000);
    let mut stats = Stats {
        entries_returned: 1,
        exec_secs: began.elapsed().as_secs_f64(),
        ..Stats::default()
    };
    Ok(encode::json_response(match v {
        StepValue::Scalar(f) => encode::scalar(loki_scalar_ms(ms), f, &stats),
        StepValue::Vector(samples) => {
            stats.entries_returned = samples.len() as u64;
            let s: Vec<_> = samples.into_iter().map(|s| (s.labels, s.f)).collect();
            encode::vector(&s, ms, &stats)
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::response::IntoResponse;
    use http_body_util::BodyExt;

    #[test]
    fn scalar_timestamps_wrap_like_loki() {
        assert_eq!(loki_scalar_ms(1_772_322_000_000), 1_434_568_923_883);
    }

    #[tokio::test(start_paused = true)]
    async fn slow_queries_answer_504_with_lokis_text() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = crate::config::Config::default();
        config.common.path_prefix = Some(dir.path().to_path_buf());
        config.limits_config.query_timeout = lgtm_common::duration::PromDuration::from_millis(1000);
        let ls = crate::server::LogStore::open(config, lgtm_common::clock::SystemClock::shared())
            .await
            .unwrap();
        let slow = async {
            tokio::time::sleep(std::time::Duration::from_secs(2)).await;
            Ok(axum::http::StatusCode::OK.into_response())
        };
        let resp = with_timeout(&ls.state, slow)
            .await
            .unwrap_err()
            .into_response();
        assert_eq!(resp.status().as_u16(), 504);
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(
            body.as_ref(),
            lgtm_common::api::LOKI_DEADLINE_EXCEEDED.as_bytes()
        );
    }
}
