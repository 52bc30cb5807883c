//! Prometheus API time parameters (`web/api/v1/api.go` `parseTime`) and JSON timestamps
//! (`util/jsonutil` `MarshalTimestamp`).

use super::TimeError;
use super::float::go_parse_float;
use super::rfc3339::parse_rfc3339;

/// What `time.Unix(math.MinInt64/1000+62135596801, 0).UTC().Format(time.RFC3339Nano)` prints:
/// clients (Grafana, promtool, client_golang) send it to mean "no lower bound".
pub const PROM_MIN_TIME_STR: &str = "-292273086-05-16T16:47:06Z";
/// The matching "no upper bound" string.
pub const PROM_MAX_TIME_STR: &str = "292277025-08-18T07:12:54.999999999Z";
/// [`PROM_MIN_TIME_STR`] in milliseconds since the epoch.
pub const PROM_MIN_TIME_MS: i64 = PROM_MIN_TIME_SECS * 1000;
/// [`PROM_MAX_TIME_STR`] in milliseconds since the epoch.
pub const PROM_MAX_TIME_MS: i64 = PROM_MAX_TIME_SECS * 1000 + 999;

const PROM_MIN_TIME_SECS: i64 = i64::MIN / 1000 + 62_135_596_801;
const PROM_MAX_TIME_SECS: i64 = i64::MAX / 1000 - 62_135_596_801;

/// Parses a Prometheus API time parameter to milliseconds since the epoch: float unix seconds
/// (`1435781451.781`, `1e9`; the fraction is rounded to the millisecond), RFC 3339 with
/// optional fraction and offset, or the special min/max strings. Empty input is an error here;
/// callers substitute their default (now, or min/max time) before calling.
pub fn parse_prom_time_ms(s: &str) -> Result<i64, TimeError> {
    let (secs, nanos) = parse_prom_parts(s)?;
    let ms = i128::from(secs) * 1000 + i128::from(nanos / 1_000_000);
    i64::try_from(ms).map_err(|_| TimeError::PromInvalid(s.to_owned()))
}

/// [`parse_prom_time_ms`] with nanosecond resolution (RFC 3339 fractions kept). Times beyond
/// the i64 nanosecond range (years before 1678 or after 2261, such as the min/max strings)
/// saturate at `i64::MIN`/`i64::MAX`, which keeps their "no bound" meaning.
pub fn parse_prom_time_ns(s: &str) -> Result<i64, TimeError> {
    let (secs, nanos) = parse_prom_parts(s)?;
    let ns = i128::from(secs) * 1_000_000_000 + i128::from(nanos);
    Ok(i64::try_from(ns).unwrap_or(if ns < 0 { i64::MIN } else { i64::MAX }))
}

/// Prometheus' `parseTimeParam`: an absent or empty parameter is `default_ms`; a bad one is
/// refused as `Invalid time value for 'start': cannot parse "x" to a valid timestamp` (the API
/// layer then prefixes `invalid parameter "start": `).
pub fn parse_prom_time_param(
    name: &str,
    value: Option<&str>,
    default_ms: i64,
) -> Result<i64, TimeError> {
    match value {
        None | Some("") => Ok(default_ms),
        Some(v) => parse_prom_time_ms(v).map_err(|e| TimeError::PromParam {
            name: name.to_owned(),
            source: Box::new(e),
        }),
    }
}

/// Unix seconds and non-negative nanoseconds, as Go's `time.Time` holds them.
fn parse_prom_parts(s: &str) -> Result<(i64, u32), TimeError> {
    let invalid = || TimeError::PromInvalid(s.to_owned());
    if let Ok(t) = go_parse_float(s) {
        // Go converts non-finite or huge values with undefined results; refuse them.
        if !t.is_finite() || t.abs() >= 9.2e18 {
            return Err(invalid());
        }
        let whole = t.trunc();
        let frac = (t.fract() * 1000.0).round() / 1000.0;
        // time.Unix(int64(s), int64(ns*1e9)) normalises a negative fraction into the second.
        let total = i128::from(whole as i64) * 1_000_000_000 + i128::from((frac * 1e9) as i64);
        let secs = total.div_euclid(1_000_000_000);
        let nanos = total.rem_euclid(1_000_000_000) as u32;
        return Ok((i64::try_from(secs).map_err(|_| invalid())?, nanos));
    }
    if let Some(parts) = parse_rfc3339(s) {
        return Ok(parts);
    }
    match s {
        PROM_MIN_TIME_STR => Ok((PROM_MIN_TIME_SECS, 0)),
        PROM_MAX_TIME_STR => Ok((PROM_MAX_TIME_SECS, 999_999_999)),
        _ => Err(invalid()),
    }
}

/// Appends a millisecond timestamp the way Prometheus writes sample timestamps in JSON: unix
/// seconds as a bare number, with exactly three decimals when not whole (`1435781451.780`),
/// none when whole (`1435781451`).
pub fn write_prom_timestamp(out: &mut String, ms: i64) {
    use std::fmt::Write as _;
    let abs = ms.unsigned_abs();
    if ms < 0 {
        out.push('-');
    }
    let _ = write!(out, "{}", abs / 1000);
    let frac = abs % 1000;
    if frac != 0 {
        let _ = write!(out, ".{frac:03}");
    }
}

/// [`write_prom_timestamp`] into a new string.
pub fn format_prom_timestamp(ms: i64) -> String {
    let mut out = String::with_capacity(16);
    write_prom_timestamp(&mut out, ms);
    out
}
