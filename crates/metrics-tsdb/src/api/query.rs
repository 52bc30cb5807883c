//! `/api/v1/query`, `/api/v1/query_range`, `/api/v1/format_query`, `/api/v1/parse_query`.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use lgtm_common::api::{ApiError, Envelope, Params};
use lgtm_common::duration::parse_duration_or_seconds;
use lgtm_common::error::ErrorKind;
use lgtm_common::time::{TimeError, parse_prom_time_ms};
use lgtm_promql::value::{Value, ValueType};
use lgtm_promql::{Engine, EngineOptions, Error as PromqlError};

use super::ApiState;
use super::render::QueryData;
use crate::querier::DbQuerier;

/// Most points a range query may return per series.
const MAX_POINTS_PER_SERIES: i64 = 11_000;

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

fn query_param(params: &Params) -> &str {
    params.get_or_empty("query")
}

/// The engine for one request: the `timeout` parameter may only shorten `--query.timeout`.
fn engine_for(state: &ApiState, params: &Params) -> Result<Engine, ApiError> {
    let mut options: EngineOptions = state.engine.options().clone();
    if let Some(raw) = params.get("timeout").filter(|s| !s.is_empty()) {
        let ns =
            parse_duration_or_seconds(raw).map_err(|e| ApiError::invalid_param("timeout", e))?;
        let requested = Duration::from_nanos(ns.max(0) as u64);
        options.timeout = options.timeout.min(requested);
    }
    Ok(Engine::new(options))
}

/// Waits for a query slot (`--query.max-concurrency`).
async fn acquire_slot(state: &ApiState) -> Result<tokio::sync::OwnedSemaphorePermit, ApiError> {
    Arc::clone(&state.query_slots)
        .acquire_owned()
        .await
        .map_err(|e| ApiError::internal(e.to_string()))
}

fn engine_error(err: PromqlError) -> ApiError {
    let kind = match &err {
        PromqlError::Parse { .. } => return ApiError::invalid_param("query", err),
        PromqlError::Timeout(_) => ErrorKind::Timeout,
        PromqlError::Canceled(_) => ErrorKind::Canceled,
        PromqlError::Storage(_) => ErrorKind::Internal,
        PromqlError::Eval(_) | PromqlError::TooManySamples => ErrorKind::Execution,
    };
    ApiError::new(kind, err.to_string())
}

fn respond(result: lgtm_promql::QueryResult) -> Response {
    Envelope::success(QueryData(&result.value))
        .with_warnings(result.warnings)
        .with_infos(result.infos)
        .into_response()
}

/// Truncates an instant-vector result to `limit` series (3.x `limit` parameter).
fn apply_limit(result: &mut lgtm_promql::QueryResult, limit: usize) {
    if limit == 0 {
        return;
    }
    let truncated = match &mut result.value {
        Value::Vector(v) if v.len() > limit => {
            v.truncate(limit);
            true
        }
        Value::Matrix(m) if m.len() > limit => {
            m.truncate(limit);
            true
        }
        _ => false,
    };
    if truncated {
        result
            .warnings
            .push("results truncated due to limit".into());
    }
}

/// `GET|POST /api/v1/query`.
pub async fn instant(State(state): State<Arc<ApiState>>, params: Params) -> Response {
    match instant_inner(state, params).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

async fn instant_inner(state: Arc<ApiState>, params: Params) -> Result<Response, ApiError> {
    let ts = match params.get("time").filter(|s| !s.is_empty()) {
        Some(raw) => parse_prom_time_ms(raw).map_err(|e| {
            ApiError::invalid_param("time", format!("Invalid time value for 'time': {e}"))
        })?,
        None => now_ms(),
    };
    let engine = engine_for(&state, &params)?;
    let limit = super::parse_limit(&params)?;
    let query = query_param(&params).to_owned();
    let expr = lgtm_promql::parse(&query).map_err(engine_error)?;
    let db = Arc::clone(&state.db);
    let _slot = acquire_slot(&state).await?;
    let mut result = tokio::task::spawn_blocking(move || {
        engine.instant_query(&DbQuerier::new(&db), &query, &expr, ts, None)
    })
    .await
    .map_err(|e| ApiError::internal(e.to_string()))?
    .map_err(engine_error)?;
    apply_limit(&mut result, limit);
    Ok(respond(result))
}

/// `GET|POST /api/v1/query_range`.
pub async fn range(State(state): State<Arc<ApiState>>, params: Params) -> Response {
    match range_inner(state, params).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

async fn range_inner(state: Arc<ApiState>, params: Params) -> Result<Response, ApiError> {
    let start = parse_prom_time_ms(params.get_or_empty("start"))
        .map_err(|e| ApiError::invalid_param("start", e))?;
    let end = parse_prom_time_ms(params.get_or_empty("end"))
        .map_err(|e| ApiError::invalid_param("end", e))?;
    if end < start {
        return Err(ApiError::invalid_param("end", TimeError::EndBeforeStart));
    }
    let step_ns = parse_duration_or_seconds(params.get_or_empty("step"))
        .map_err(|e| ApiError::invalid_param("step", e))?;
    if step_ns <= 0 {
        return Err(ApiError::invalid_param("step", TimeError::StepNotPositive));
    }
    let step = (step_ns / 1_000_000).max(1);
    // Prometheus compares Go durations: (end-start)/step with nanosecond precision.
    if ((end - start) as i128 * 1_000_000) / i128::from(step_ns) > i128::from(MAX_POINTS_PER_SERIES)
    {
        return Err(ApiError::bad_data(TimeError::TooManyPoints.to_string()));
    }
    let engine = engine_for(&state, &params)?;
    let limit = super::parse_limit(&params)?;
    let query = query_param(&params).to_owned();
    let expr = lgtm_promql::parse(&query).map_err(engine_error)?;
    let value_type = expr.value_type();
    if !matches!(value_type, ValueType::Scalar | ValueType::Vector) {
        // Prometheus checks this before evaluating and answers bad_data.
        return Err(ApiError::bad_data(format!(
            "invalid expression type \"{}\" for range query, must be Scalar or instant Vector",
            value_type.describe()
        )));
    }
    let db = Arc::clone(&state.db);
    let _slot = acquire_slot(&state).await?;
    let mut result = tokio::task::spawn_blocking(move || {
        engine.range_query(&DbQuerier::new(&db), &query, &expr, start, end, step, None)
    })
    .await
    .map_err(|e| ApiError::internal(e.to_string()))?
    .map_err(engine_error)?;
    apply_limit(&mut result, limit);
    Ok(respond(result))
}

/// `GET|POST /api/v1/format_query`.
pub async fn format(params: Params) -> Response {
    match lgtm_promql::parse(query_param(&params)) {
        Ok(expr) => Envelope::success(expr.to_string()).into_response(),
        Err(e) => engine_error(e).into_response(),
    }
}

/// `GET|POST /api/v1/parse_query`: the expression tree as the Prometheus UI's explain view
/// reads it.
pub async fn parse(params: Params) -> Response {
    match lgtm_promql::parse(query_param(&params)) {
        Ok(expr) => Envelope::success(lgtm_promql::ast_json::to_json(&expr)).into_response(),
        Err(e) => engine_error(e).into_response(),
    }
}
