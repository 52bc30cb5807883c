//! Range-query steps: Prometheus' range checks and the alignment helpers query frontends use.

use super::TimeError;

/// Prometheus refuses range queries with more points than this per series.
pub const PROM_MAX_POINTS: i64 = 11_000;

/// Checks a `step` (nanoseconds) as Prometheus does: zero or negative is refused.
pub fn check_step(step_ns: i64) -> Result<(), TimeError> {
    if step_ns <= 0 {
        return Err(TimeError::StepNotPositive);
    }
    Ok(())
}

/// Checks a parsed Prometheus `query_range` request in Prometheus' order: `end` not before
/// `start`, a positive `step`, at most 11,000 points (`(end - start) / step > 11000` is
/// refused). Times in milliseconds, step in nanoseconds (Go `time.Duration`). Prometheus checks
/// the bounds *before* parsing `step`; to keep its order when `step` may be malformed, call
/// [`check_prom_bounds`], parse `step`, then [`check_prom_step`].
/// [`TimeError::prom_param`] tells which parameter name the API error carries.
pub fn check_prom_range(start_ms: i64, end_ms: i64, step_ns: i64) -> Result<(), TimeError> {
    check_prom_bounds(start_ms, end_ms)?;
    check_prom_step(start_ms, end_ms, step_ns)
}

/// Prometheus: `end` must not be before `start` (equal is fine).
pub fn check_prom_bounds(start_ms: i64, end_ms: i64) -> Result<(), TimeError> {
    if end_ms < start_ms {
        return Err(TimeError::EndBeforeStart);
    }
    Ok(())
}

/// Prometheus: a positive `step` and at most 11,000 points per series.
pub fn check_prom_step(start_ms: i64, end_ms: i64, step_ns: i64) -> Result<(), TimeError> {
    check_step(step_ns)?;
    let span_ns = (i128::from(end_ms) - i128::from(start_ms)) * 1_000_000;
    if span_ns / i128::from(step_ns) > i128::from(PROM_MAX_POINTS) {
        return Err(TimeError::TooManyPoints);
    }
    Ok(())
}

/// Loki (`loghttp.ParseRangeQuery`): `end` must not be before `start`. Loki checks this right
/// after reading the bounds, before `limit`, `direction` and `step`.
pub fn check_loki_bounds(start_ns: i64, end_ns: i64) -> Result<(), TimeError> {
    if end_ns < start_ns {
        return Err(TimeError::LokiEndBeforeStart);
    }
    Ok(())
}

/// Loki: after `step` is read, it must be positive and give at most 11,000 points.
pub fn check_loki_step(start_ns: i64, end_ns: i64, step_ns: i64) -> Result<(), TimeError> {
    check_step(step_ns)?;
    let span_ns = i128::from(end_ns) - i128::from(start_ns);
    if span_ns / i128::from(step_ns) > i128::from(PROM_MAX_POINTS) {
        return Err(TimeError::LokiTooManyPoints);
    }
    Ok(())
}

/// Number of evaluation steps in `[start, end]` (all in one unit): `start`, `start + step`, …
/// up to and including `end`. Zero when the range is empty or the step is not positive.
pub fn step_count(start: i64, end: i64, step: i64) -> u64 {
    if step <= 0 || end < start {
        return 0;
    }
    let span = i128::from(end) - i128::from(start);
    u64::try_from(span / i128::from(step) + 1).unwrap_or(u64::MAX)
}

/// The evaluation timestamps of a range query: `start, start + step, …, <= end`.
pub fn step_timestamps(start: i64, end: i64, step: i64) -> impl Iterator<Item = i64> {
    let count = step_count(start, end, step);
    (0..count).map(move |i| start + (i as i64) * step)
}

/// Rounds `ts` down to a multiple of `step` (towards negative infinity), as step-aligning
/// query frontends do with `start`. Returns `ts` unchanged for a non-positive step.
pub fn align_down(ts: i64, step: i64) -> i64 {
    if step <= 0 {
        return ts;
    }
    ts - ts.rem_euclid(step)
}

/// Rounds `ts` up to a multiple of `step`. Returns `ts` unchanged for a non-positive step.
pub fn align_up(ts: i64, step: i64) -> i64 {
    if step <= 0 {
        return ts;
    }
    let rem = ts.rem_euclid(step);
    if rem == 0 {
        ts
    } else {
        ts.saturating_add(step - rem)
    }
}

/// Loki's default `step` when none is given (`defaultQueryRangeStep`): the range in seconds
/// divided by 250, rounded down, at least 1 second. Times in nanoseconds, result in seconds.
pub fn default_loki_step_secs(start_ns: i64, end_ns: i64) -> i64 {
    let secs = (end_ns as f64 - start_ns as f64) / 1e9;
    ((secs / 250.0).floor() as i64).max(1)
}
