//! API time parameters and timestamp printing, as Prometheus and Loki do them.
//!
//! * Prometheus (`web/api/v1` `parseTime`): float unix seconds (rounded to the millisecond) or
//!   RFC 3339 with optional fraction and offset, plus the two special strings clients send for
//!   "no bound"; results in milliseconds ([`parse_prom_time_ms`]).
//! * Loki (`pkg/loghttp/params.go` `parseTimestamp`): RFC 3339 first, then float seconds, then
//!   integers, where numbers above 10^10 are unix *nanoseconds*; results in nanoseconds
//!   ([`parse_loki_time_ns`]).
//! * Printing: Prometheus JSON sample timestamps ([`format_prom_timestamp`]) and Go's
//!   RFC3339Nano ([`format_rfc3339_nano`]).
//! * Step alignment and range checks for range queries (`step` module).

mod float;
mod loki;
mod prom;
mod rfc3339;
mod step;
#[cfg(test)]
mod tests;

pub use float::{GoNumError, NumErrorKind, go_parse_float, go_parse_int};
pub use loki::{LOKI_DEFAULT_SINCE_NS, loki_bounds, parse_loki_time_ns};
pub use prom::{
    PROM_MAX_TIME_MS, PROM_MAX_TIME_STR, PROM_MIN_TIME_MS, PROM_MIN_TIME_STR,
    format_prom_timestamp, parse_prom_time_ms, parse_prom_time_ns, parse_prom_time_param,
    write_prom_timestamp,
};
pub use rfc3339::{
    format_go_time_string, format_rfc3339, format_rfc3339_millis, format_rfc3339_nano,
    format_rfc3339_parts, parse_rfc3339,
};
pub use step::{
    PROM_MAX_POINTS, align_down, align_up, check_loki_bounds, check_loki_step, check_prom_bounds,
    check_prom_range, check_prom_step, check_step, default_loki_step_secs, step_count,
    step_timestamps,
};

/// Why a time parameter or a time range was refused; messages are the upstream's own text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimeError {
    /// Prometheus: neither float seconds nor RFC 3339.
    #[error("cannot parse {} to a valid timestamp", crate::duration::go_quote(.0))]
    PromInvalid(String),
    /// Prometheus `parseTimeParam`: which parameter held the bad time.
    #[error("Invalid time value for '{name}': {source}")]
    PromParam {
        /// Parameter name (`time`, `start`, `end`).
        name: String,
        /// The underlying parse error.
        source: Box<TimeError>,
    },
    /// Loki `determineBounds`: which bound held the bad time.
    #[error("could not parse '{name}' parameter: {message}")]
    LokiParam {
        /// Parameter name (`start`, `end`, `since`).
        name: &'static str,
        /// The underlying parse error's text.
        message: String,
    },
    /// Loki: Go's `strconv` error, returned verbatim by Loki.
    #[error(transparent)]
    LokiNumber(#[from] GoNumError),
    /// Loki: a float timestamp that is NaN or infinite.
    #[error("floating point timestamp is NaN or Inf")]
    LokiNanOrInf,
    /// Loki: a float timestamp beyond the int64 range.
    #[error("floating point timestamp exceeds integer range")]
    LokiFloatRange,
    /// Prometheus range query: `end` before `start`.
    #[error("end timestamp must not be before start time")]
    EndBeforeStart,
    /// Prometheus range query: `step` zero or negative.
    #[error(
        "zero or negative query resolution step widths are not accepted. Try a positive integer"
    )]
    StepNotPositive,
    /// Prometheus range query: more than 11,000 points per series.
    #[error(
        "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)"
    )]
    TooManyPoints,
    /// Loki range query: `end` before `start` (Loki's text says "or equal", but equal passes).
    #[error("end timestamp must not be before or equal to start time")]
    LokiEndBeforeStart,
    /// Loki range query: more than 11,000 points per series (Loki 3.x wording).
    #[error(
        "exceeded maximum resolution of 11,000 points per time series. Try increasing the value of the step parameter"
    )]
    LokiTooManyPoints,
}

impl TimeError {
    /// The Prometheus API parameter an error belongs to, for the `invalid parameter "end": …`
    /// wrapper; `None` when Prometheus reports the error bare (too many points).
    pub fn prom_param(&self) -> Option<&'static str> {
        match self {
            Self::EndBeforeStart => Some("end"),
            Self::StepNotPositive => Some("step"),
            _ => None,
        }
    }
}
