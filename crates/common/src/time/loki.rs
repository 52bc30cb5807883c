//! Loki API time parameters (`pkg/loghttp/params.go` `parseTimestamp`, Loki 3.x).

use super::TimeError;
use super::float::{go_parse_float, go_parse_int};
use super::rfc3339::parse_rfc3339;

/// Loki's `defaultSince`: one hour, in nanoseconds.
pub const LOKI_DEFAULT_SINCE_NS: i64 = 3_600_000_000_000;

/// Loki's `determineBounds` for `start`/`end`/`since` (empty strings = absent): `end` defaults to
/// now; `start` defaults to `min(end, now) - since`, `since` to one hour (a Prometheus
/// duration). Returns `(start_ns, end_ns)`; errors read
/// `could not parse 'end' parameter: strconv.ParseInt: parsing "x": invalid syntax`.
pub fn loki_bounds(
    now_ns: i64,
    start: &str,
    end: &str,
    since: &str,
) -> Result<(i64, i64), TimeError> {
    let since_ns = if since.is_empty() {
        LOKI_DEFAULT_SINCE_NS
    } else {
        let d = crate::duration::parse_prom_duration(since).map_err(|e| TimeError::LokiParam {
            name: "since",
            message: e.to_string(),
        })?;
        i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
    };
    let end_ns = if end.is_empty() {
        now_ns
    } else {
        parse_loki_time_ns(end).map_err(|e| TimeError::LokiParam {
            name: "end",
            message: e.to_string(),
        })?
    };
    let start_ns = if start.is_empty() {
        end_ns.min(now_ns).saturating_sub(since_ns)
    } else {
        parse_loki_time_ns(start).map_err(|e| TimeError::LokiParam {
            name: "start",
            message: e.to_string(),
        })?
    };
    Ok((start_ns, end_ns))
}

/// Numbers up to this value are unix seconds; larger ones are unix nanoseconds.
const SECONDS_LIMIT: f64 = 1e10;

/// Parses a Loki API time parameter (`start`, `end`, `time`) to unix nanoseconds, in Loki's
/// order: RFC3339Nano first; then, if the value contains a `.`, a float that is seconds (with
/// the fraction rounded to the millisecond) when its integer part is at most 10^10 and
/// nanoseconds otherwise; then an integer that is seconds up to 10^10 and nanoseconds above.
/// Errors are Go's `strconv` errors, which Loki returns verbatim. Empty input is the caller's
/// default.
pub fn parse_loki_time_ns(s: &str) -> Result<i64, TimeError> {
    if let Some((secs, nanos)) = parse_rfc3339(s) {
        // Go's UnixNano is undefined outside 1678..2262; saturate instead.
        let ns = i128::from(secs) * 1_000_000_000 + i128::from(nanos);
        return Ok(i64::try_from(ns).unwrap_or(if ns < 0 { i64::MIN } else { i64::MAX }));
    }
    if s.contains('.') {
        let t = go_parse_float(s)?;
        if !t.is_finite() {
            return Err(TimeError::LokiNanOrInf);
        }
        let high = t.trunc();
        if high > i64::MAX as f64 || high < i64::MIN as f64 {
            return Err(TimeError::LokiFloatRange);
        }
        if high <= SECONDS_LIMIT {
            let low = (t.fract() * 1000.0).round() / 1000.0;
            let ns = i128::from(high as i64) * 1_000_000_000 + i128::from((low * 1e9) as i64);
            return Ok(i64::try_from(ns).unwrap_or(if ns < 0 { i64::MIN } else { i64::MAX }));
        }
        return Ok(high as i64);
    }
    let value = go_parse_int(s)?;
    if value <= SECONDS_LIMIT as i64 {
        return Ok(value.saturating_mul(1_000_000_000));
    }
    Ok(value)
}
