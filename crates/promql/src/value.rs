//! Query values: scalars, strings, instant vectors and range vectors (matrices), with float
//! and native-histogram samples. Timestamps are milliseconds since the epoch.

use std::sync::Arc;

use lgtm_common::labels::Labels;

pub use crate::histogram::{CounterResetHint, FloatHistogram, Span};

/// Bit pattern of Prometheus' staleness marker (a NaN that is never produced by arithmetic).
pub const STALE_NAN_BITS: u64 = 0x7ff0_0000_0000_0002;

/// The staleness marker as a float.
pub fn stale_nan() -> f64 {
    f64::from_bits(STALE_NAN_BITS)
}

/// True when `v` is exactly the staleness marker.
pub fn is_stale_nan(v: f64) -> bool {
    v.to_bits() == STALE_NAN_BITS
}

/// The static type of an expression or value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueType {
    /// A single float without labels.
    Scalar,
    /// A string.
    String,
    /// An instant vector.
    Vector,
    /// A range vector.
    Matrix,
}

impl ValueType {
    /// Name as Prometheus prints it in errors.
    pub fn describe(self) -> &'static str {
        match self {
            ValueType::Scalar => "scalar",
            ValueType::String => "string",
            ValueType::Vector => "instant vector",
            ValueType::Matrix => "range vector",
        }
    }

    /// Name as the HTTP API's `resultType` field spells it.
    pub fn api_name(self) -> &'static str {
        match self {
            ValueType::Scalar => "scalar",
            ValueType::String => "string",
            ValueType::Vector => "vector",
            ValueType::Matrix => "matrix",
        }
    }
}

/// A float point of a range vector.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FPoint {
    /// Timestamp (ms).
    pub t: i64,
    /// Value.
    pub f: f64,
}

/// A histogram point of a range vector.
#[derive(Clone, Debug, PartialEq)]
pub struct HPoint {
    /// Timestamp (ms).
    pub t: i64,
    /// Value.
    pub h: Arc<FloatHistogram>,
}

/// One element of an instant vector: a float or a histogram with its labels.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    /// Labels (metric name included until delayed name removal runs).
    pub labels: Labels,
    /// Timestamp (ms).
    pub t: i64,
    /// Float value (ignored when `h` is set).
    pub f: f64,
    /// Histogram value.
    pub h: Option<Arc<FloatHistogram>>,
    /// The metric name must be dropped before the result is returned.
    pub drop_name: bool,
}

impl Sample {
    /// A float sample.
    pub fn float(labels: Labels, t: i64, f: f64) -> Self {
        Self {
            labels,
            t,
            f,
            h: None,
            drop_name: false,
        }
    }

    /// A histogram sample.
    pub fn histogram(labels: Labels, t: i64, h: Arc<FloatHistogram>) -> Self {
        Self {
            labels,
            t,
            f: 0.0,
            h: Some(h),
            drop_name: false,
        }
    }
}

/// An instant vector.
pub type Vector = Vec<Sample>;

/// Labels that describe the metric rather than the series (`__name__` and, with the
/// type-and-unit-labels feature, `__type__` and `__unit__`): dropped together when an
/// operation changes the meaning of the value.
pub const METRIC_IDENTITY_LABELS: &[&str] = &["__name__", "__type__", "__unit__"];

/// A copy of `labels` without the metric identity labels.
pub fn drop_metric_identity(labels: &Labels) -> Labels {
    labels.without(METRIC_IDENTITY_LABELS)
}

/// One series of a range vector.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Series {
    /// Labels.
    pub labels: Labels,
    /// Float points in time order.
    pub floats: Vec<FPoint>,
    /// Histogram points in time order.
    pub histograms: Vec<HPoint>,
    /// The metric name must be dropped before the result is returned.
    pub drop_name: bool,
    /// Start (created) timestamps of `floats`, index by index; empty when the storage has
    /// none, 0 for a sample without one.
    pub float_sts: Vec<i64>,
    /// Start timestamps of `histograms`, like `float_sts`.
    pub hist_sts: Vec<i64>,
}

impl Series {
    /// An empty series.
    pub fn new(labels: Labels) -> Self {
        Self {
            labels,
            ..Default::default()
        }
    }

    /// Number of points (floats and histograms).
    pub fn len(&self) -> usize {
        self.floats.len() + self.histograms.len()
    }

    /// True without points.
    pub fn is_empty(&self) -> bool {
        self.floats.is_empty() && self.histograms.is_empty()
    }

    /// Start timestamp of float point `i` (0 when unknown).
    pub fn float_st(&self, i: usize) -> i64 {
        self.float_sts.get(i).copied().unwrap_or(0)
    }

    /// Start timestamp of histogram point `i` (0 when unknown).
    pub fn hist_st(&self, i: usize) -> i64 {
        self.hist_sts.get(i).copied().unwrap_or(0)
    }
}

/// A range vector.
pub type Matrix = Vec<Series>;

/// Any query result.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// A scalar at a time.
    Scalar {
        /// Timestamp (ms).
        t: i64,
        /// Value.
        v: f64,
    },
    /// A string at a time.
    String {
        /// Timestamp (ms).
        t: i64,
        /// Value.
        v: String,
    },
    /// An instant vector.
    Vector(Vector),
    /// A range vector.
    Matrix(Matrix),
}

impl Value {
    /// The value's type.
    pub fn value_type(&self) -> ValueType {
        match self {
            Value::Scalar { .. } => ValueType::Scalar,
            Value::String { .. } => ValueType::String,
            Value::Vector(_) => ValueType::Vector,
            Value::Matrix(_) => ValueType::Matrix,
        }
    }
}

/// Formats a float as Go's `%g`/`strconv.FormatFloat(v, 'g', -1, 64)`, as Prometheus prints
/// histogram strings and text-exposition sample values.
pub fn fmt_go_float(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    if v == 0.0 {
        return if v.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    // Rust's `{:e}` and `{}` both print the shortest round-tripping digits, as Go's `-1`
    // precision does; Go's shortest `%g` switches to exponent form below 1e-4 and from 1e6
    // (`eprec = 6` in strconv's ftoa).
    let e = format!("{v:e}");
    let (mant, exp) = e.split_once('e').unwrap_or((&e, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if !(-4..6).contains(&exp) {
        let sign = if exp < 0 { '-' } else { '+' };
        return format!("{mant}e{sign}{:02}", exp.abs());
    }
    format!("{v}")
}

/// Formats a float as Go's `strconv.FormatFloat(v, 'f', -1, 64)` (used for label values).
pub fn fmt_float_f(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    format!("{v}")
}

/// Formats milliseconds as a Prometheus duration (`1h30m`, `500ms`, `0s`).
pub fn fmt_duration_ms(ms: i64) -> String {
    let text = lgtm_common::duration::format_prom_duration(std::time::Duration::from_millis(
        ms.unsigned_abs(),
    ));
    if ms < 0 { format!("-{text}") } else { text }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_float_formatting() {
        assert_eq!(fmt_go_float(1.0), "1");
        assert_eq!(fmt_go_float(0.5), "0.5");
        assert_eq!(fmt_go_float(1e21), "1e+21");
        assert_eq!(fmt_go_float(0.00001), "1e-05");
        assert_eq!(fmt_go_float(0.0001), "0.0001");
        // Go: fmt.Sprintf("%g", x) for x = 123456, 1e6, 1234567, -2.5e7.
        assert_eq!(fmt_go_float(123456.0), "123456");
        assert_eq!(fmt_go_float(1e6), "1e+06");
        assert_eq!(fmt_go_float(1234567.0), "1.234567e+06");
        assert_eq!(fmt_go_float(-2.5e7), "-2.5e+07");
        assert_eq!(fmt_go_float(f64::INFINITY), "+Inf");
        assert_eq!(fmt_duration_ms(5_400_000), "1h30m");
        assert_eq!(fmt_duration_ms(86_400_000), "1d");
        assert_eq!(fmt_duration_ms(1500), "1s500ms");
    }
}
