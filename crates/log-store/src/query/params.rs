//! Query parameters as Loki parses them (`pkg/loghttp/params.go`, `query.go`): times,
//! `limit`, `direction`, `step`, `interval`, with Loki's error texts.

use lgtm_common::api::Loki;
use lgtm_common::api::Params;
use lgtm_common::duration::parse_duration_or_seconds;
use lgtm_common::time::{default_loki_step_secs, loki_bounds, parse_loki_time_ns};

use super::{Direction, QueryError};

/// Loki's `defaultQueryLimit`.
pub const DEFAULT_LIMIT: usize = 100;

fn bad(msg: impl Into<String>) -> QueryError {
    QueryError::BadRequest(msg.into())
}

/// `limit` (default 100, must be positive).
pub fn limit(p: &Params<Loki>) -> Result<usize, QueryError> {
    match p.get("limit").filter(|s| !s.is_empty()) {
        None => Ok(DEFAULT_LIMIT),
        Some(s) => {
            let v = lgtm_common::time::go_parse_int(s).map_err(|e| bad(e.to_string()))?;
            if v <= 0 {
                return Err(bad("limit must be a positive value"));
            }
            Ok(usize::try_from(v).unwrap_or(usize::MAX))
        }
    }
}

/// `direction` (default backward, case-insensitive).
pub fn direction(p: &Params<Loki>) -> Result<Direction, QueryError> {
    match p.get("direction").filter(|s| !s.is_empty()) {
        None => Ok(Direction::Backward),
        Some(s) => match s.to_ascii_lowercase().as_str() {
            "forward" => Ok(Direction::Forward),
            "backward" => Ok(Direction::Backward),
            _ => Err(bad(format!("invalid direction '{s}'"))),
        },
    }
}

/// `start`/`end`/`since` in ns.
pub fn bounds(p: &Params<Loki>, now_ns: i64) -> Result<(i64, i64), QueryError> {
    loki_bounds(
        now_ns,
        p.get_or_empty("start"),
        p.get_or_empty("end"),
        p.get_or_empty("since"),
    )
    .map_err(|e| bad(e.to_string()))
}

/// `time` of an instant query (default now).
pub fn time(p: &Params<Loki>, now_ns: i64) -> Result<i64, QueryError> {
    match p.get("time").filter(|s| !s.is_empty()) {
        None => Ok(now_ns),
        Some(s) => {
            parse_loki_time_ns(s).map_err(|e| bad(format!("could not parse 'time' parameter: {e}")))
        }
    }
}

/// A parsed `query_range` request (without the query text).
#[derive(Debug, Clone, Copy)]
pub struct RangeParams {
    /// Start, ns.
    pub start: i64,
    /// End, ns.
    pub end: i64,
    /// Entries to return (log queries).
    pub limit: usize,
    /// Entry order (log queries).
    pub direction: Direction,
    /// Step, ns (metric queries).
    pub step: i64,
    /// Minimum gap between returned entries, ns (log queries; 0 = off).
    pub interval: i64,
}

/// Parses `query_range` parameters in Loki's order.
pub fn range(p: &Params<Loki>, now_ns: i64) -> Result<RangeParams, QueryError> {
    let (start, end) = bounds(p, now_ns)?;
    if end < start {
        return Err(bad(
            "end timestamp must not be before or equal to start time",
        ));
    }
    let limit = limit(p)?;
    let direction = direction(p)?;
    let step = match p.get("step").filter(|s| !s.is_empty()) {
        None => default_loki_step_secs(start, end) * 1_000_000_000,
        Some(s) => parse_duration_or_seconds(s).map_err(|e| bad(e.to_string()))?,
    };
    if step <= 0 {
        return Err(bad(
            "zero or negative query resolution step widths are not accepted. Try a positive integer",
        ));
    }
    let interval = match p.get("interval").filter(|s| !s.is_empty()) {
        None => 0,
        Some(s) => parse_duration_or_seconds(s).map_err(|e| bad(e.to_string()))?,
    };
    if interval < 0 {
        return Err(bad("interval must be >= 0"));
    }
    if (end - start) / step > 11_000 {
        return Err(bad(
            "exceeded maximum resolution of 11,000 points per time series. Try increasing the value of the step parameter",
        ));
    }
    Ok(RangeParams {
        start,
        end,
        limit,
        direction,
        step,
        interval,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(q: &str) -> Params<Loki> {
        Params::from_urlencoded(q.as_bytes())
    }

    #[test]
    fn defaults_and_errors() {
        let r = range(&p("start=1772319600&end=1772323200"), 0).unwrap();
        assert_eq!(r.limit, 100);
        assert_eq!(r.direction, Direction::Backward);
        assert_eq!(r.step, 14_000_000_000);
        let e = |q: &str| range(&p(q), 0).unwrap_err().to_string();
        assert_eq!(
            e("start=1772323200&end=1772319600"),
            "end timestamp must not be before or equal to start time"
        );
        assert_eq!(
            e("start=1&end=2&limit=-3"),
            "limit must be a positive value"
        );
        assert_eq!(e("start=1&end=2&direction=up"), "invalid direction 'up'");
        assert_eq!(
            e("start=1&end=2&step=abc"),
            "cannot parse \"abc\" to a valid duration"
        );
        assert_eq!(
            e("start=1&end=2&step=-5"),
            "zero or negative query resolution step widths are not accepted. Try a positive integer"
        );
        assert_eq!(
            e("start=1772319600&end=1772323200&step=0.1"),
            "exceeded maximum resolution of 11,000 points per time series. Try increasing the value of the step parameter"
        );
        assert_eq!(
            e("start=yesterday&end=2"),
            "could not parse 'start' parameter: strconv.ParseInt: parsing \"yesterday\": invalid syntax"
        );
        assert_eq!(e("start=1&end=2&interval=-1"), "interval must be >= 0");
    }
}
