//! Durations in the two syntaxes the stack's configs and APIs speak.
//!
//! Prometheus and Alertmanager use `model.Duration` (`1h30m`, `2d`, `1y`: integer counts, units
//! `y w d h m s ms` in decreasing order, no sign, no fractions). Loki, Tempo and Promtail mostly
//! use Go's `time.Duration` (`1.5h`, `300ms`, `-2s`, `µs`, `ns`). A general-purpose duration
//! crate accepts inputs that one or the other rejects, so both grammars live here, with the
//! upstream's own error texts and the upstream's own way of printing a duration back.
//!
//! API parameters such as `step` and `timeout` take either form of number: float seconds or a
//! Prometheus duration ([`parse_duration_or_seconds`]).

mod go;
mod prom;
mod quote;
#[cfg(test)]
mod tests;

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub use go::{format_go_duration, parse_go_duration};
pub use prom::{format_prom_duration, parse_prom_duration};
pub use quote::{go_quote, go_time_quote};

/// 2^63 as a float: `float64(math.MaxInt64)` in Go.
pub(crate) const TWO_POW_63: f64 = (1u64 << 63) as f64;

/// Nanoseconds in one millisecond.
const NANOS_PER_MILLI: i64 = 1_000_000;

/// Why a duration string was refused; each message is the upstream's own text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    /// Prometheus `model.ParseDuration("")`.
    #[error("empty duration string")]
    PromEmpty,
    /// Prometheus: wrong shape (sign, fraction, units out of order or repeated, missing unit).
    #[error("not a valid duration string: {}", go_quote(.0))]
    PromInvalid(String),
    /// Prometheus: a unit outside `y w d h m s ms`.
    #[error("unknown unit {} in duration {}", go_quote(.unit), go_quote(.input))]
    PromUnknownUnit {
        /// The unit as written.
        unit: String,
        /// The whole input.
        input: String,
    },
    /// Prometheus: more than `i64::MAX` nanoseconds (about 292 years).
    #[error("duration out of range")]
    PromOutOfRange,
    /// Go `time.ParseDuration`: wrong shape or overflow.
    #[error("time: invalid duration {}", go_time_quote(.0))]
    GoInvalid(String),
    /// Go: a number without a unit (other than a lone `0`).
    #[error("time: missing unit in duration {}", go_time_quote(.0))]
    GoMissingUnit(String),
    /// Go: a unit outside `ns us µs ms s m h`.
    #[error("time: unknown unit {} in duration {}", go_time_quote(.unit), go_time_quote(.input))]
    GoUnknownUnit {
        /// The unit as written.
        unit: String,
        /// The whole input.
        input: String,
    },
    /// API parameter (`step`, `timeout`, `lookback_delta`): neither float seconds nor a
    /// Prometheus duration.
    #[error("cannot parse {} to a valid duration", go_quote(.0))]
    ParamInvalid(String),
    /// API parameter: float seconds beyond the range of a Go `time.Duration`.
    #[error("cannot parse {} to a valid duration. It overflows int64", go_quote(.0))]
    ParamOverflow(String),
}

/// Parses an API duration parameter as Prometheus (`web/api/v1` `parseDuration`) and Loki
/// (`parseSecondsOrDuration`) do: float seconds first (`15`, `0.5`, `1e3`), then a Prometheus
/// duration (`5m`). Returns signed nanoseconds, like Go's `time.Duration`; callers check the
/// sign themselves (Prometheus answers a non-positive `step` with its own message, see
/// [`crate::time::check_step`]).
pub fn parse_duration_or_seconds(s: &str) -> Result<i64, DurationError> {
    match crate::time::go_parse_float(s) {
        Ok(secs) if secs.is_nan() => Err(DurationError::ParamInvalid(s.to_owned())),
        Ok(secs) => {
            let ns = secs * 1e9;
            // float64(math.MaxInt64) is 2^63: Go refuses values strictly beyond it.
            if !(-TWO_POW_63..=TWO_POW_63).contains(&ns) {
                return Err(DurationError::ParamOverflow(s.to_owned()));
            }
            // `time.Duration(ts)` truncates toward zero; `as` does too (and saturates at 2^63).
            Ok(ns as i64)
        }
        Err(_) => match parse_prom_duration(s) {
            Ok(d) => Ok(duration_to_nanos(d)),
            Err(_) => Err(DurationError::ParamInvalid(s.to_owned())),
        },
    }
}

/// Converts a non-negative std duration to nanoseconds, saturating at `i64::MAX`.
fn duration_to_nanos(d: Duration) -> i64 {
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}

/// A Prometheus/Alertmanager config duration (`model.Duration`): reads `1h30m`, writes it back
/// the way Prometheus prints it (`1h30m`, `90d`, `0s`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PromDuration(pub Duration);

impl PromDuration {
    /// Builds one from whole milliseconds, the resolution Prometheus keeps.
    pub const fn from_millis(ms: u64) -> Self {
        Self(Duration::from_millis(ms))
    }

    /// The value as a std duration, for timers and arithmetic.
    pub const fn get(self) -> Duration {
        self.0
    }

    /// Whole milliseconds, the unit of Prometheus timestamps (saturating).
    pub fn as_millis(self) -> i64 {
        i64::try_from(self.0.as_millis()).unwrap_or(i64::MAX)
    }

    /// Nanoseconds (saturating), for code that mixes in Go-style durations.
    pub fn as_nanos(self) -> i64 {
        duration_to_nanos(self.0)
    }
}

impl std::str::FromStr for PromDuration {
    type Err = DurationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_prom_duration(s).map(Self)
    }
}

impl fmt::Display for PromDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_prom_duration(self.0))
    }
}

impl From<Duration> for PromDuration {
    fn from(d: Duration) -> Self {
        Self(d)
    }
}

impl Serialize for PromDuration {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&format_prom_duration(self.0))
    }
}

impl<'de> Deserialize<'de> for PromDuration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        parse_scalar(deserializer, |s| parse_prom_duration(s).map(Self))
    }
}

/// A Go `time.Duration` as Loki, Tempo and Promtail configs write it (`1.5h`, `300ms`, `-2s`);
/// written back as Go's `Duration.String()` does (`1h30m0s`). Signed nanoseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GoDuration(pub i64);

impl GoDuration {
    /// Builds one from a std duration (saturating at Go's maximum, about 292 years).
    pub fn from_std(d: Duration) -> Self {
        Self(duration_to_nanos(d))
    }

    /// Signed nanoseconds, Go's representation.
    pub const fn as_nanos(self) -> i64 {
        self.0
    }

    /// Milliseconds, truncated toward zero as Go's `Duration.Milliseconds()` does.
    pub const fn as_millis(self) -> i64 {
        self.0 / NANOS_PER_MILLI
    }

    /// The value as a std duration for timers; `None` when negative.
    pub fn to_std(self) -> Option<Duration> {
        u64::try_from(self.0).ok().map(Duration::from_nanos)
    }
}

impl std::str::FromStr for GoDuration {
    type Err = DurationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_go_duration(s).map(Self)
    }
}

impl fmt::Display for GoDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_go_duration(self.0))
    }
}

impl Serialize for GoDuration {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&format_go_duration(self.0))
    }
}

impl<'de> Deserialize<'de> for GoDuration {
    /// Strings use Go's duration syntax. Bare numbers are nanoseconds, as Go's yaml.v2 (which
    /// Loki, Tempo and Promtail use) stores an integer into a `time.Duration`: `timeout: 30` is
    /// accepted upstream and means 30ns, so it is accepted here too.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct GoVisitor;

        impl serde::de::Visitor<'_> for GoVisitor {
            type Value = GoDuration;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a Go duration")
            }

            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<GoDuration, E> {
                parse_go_duration(v).map(GoDuration).map_err(E::custom)
            }

            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<GoDuration, E> {
                Ok(GoDuration(v))
            }

            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<GoDuration, E> {
                i64::try_from(v)
                    .map(GoDuration)
                    .map_err(|_| E::custom(format!("integer {v} overflows a Go duration")))
            }

            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<GoDuration, E> {
                if v.is_finite() && v.abs() < TWO_POW_63 {
                    Ok(GoDuration(v as i64))
                } else {
                    Err(E::custom(format!("number {v} overflows a Go duration")))
                }
            }
        }

        deserializer.deserialize_any(GoVisitor)
    }
}

/// Reads a YAML/JSON scalar as text and converts it with `parse` inside the visitor, so that
/// a conversion error carries the scalar's own location and key path. Go's yaml.v2 hands a
/// plain `0` or `30` to a duration's `UnmarshalYAML` as the string `"0"`/`"30"`, so numbers are
/// accepted here and given to `parse` as text (which then accepts `0` and rejects `30`, as
/// upstream does).
pub(crate) fn parse_scalar<'de, D, T, E>(
    deserializer: D,
    parse: fn(&str) -> Result<T, E>,
) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    E: fmt::Display,
{
    struct Scalar<T, E>(fn(&str) -> Result<T, E>);

    impl<T, E: fmt::Display> serde::de::Visitor<'_> for Scalar<T, E> {
        type Value = T;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a string")
        }

        fn visit_str<Er: serde::de::Error>(self, v: &str) -> Result<T, Er> {
            (self.0)(v).map_err(Er::custom)
        }

        fn visit_u64<Er: serde::de::Error>(self, v: u64) -> Result<T, Er> {
            self.visit_str(&v.to_string())
        }

        fn visit_i64<Er: serde::de::Error>(self, v: i64) -> Result<T, Er> {
            self.visit_str(&v.to_string())
        }

        fn visit_f64<Er: serde::de::Error>(self, v: f64) -> Result<T, Er> {
            self.visit_str(&v.to_string())
        }
    }

    deserializer.deserialize_any(Scalar(parse))
}
