//! The PromQL function table (names, argument types, variadic arity) and the function
//! families, one file each under `functions/`.
//!
//! The families work on plain values (`&Series` windows, `f64`s, `Vector`s) so that LogQL's
//! range aggregations can call them too.

pub mod absent;
pub mod histogram;
pub mod info;
pub mod labels;
pub mod math;
pub mod over_time;
pub mod rate;
pub mod sort;
pub mod time;

use crate::value::ValueType;
use ValueType::{Matrix as M, Scalar as S, String as Str, Vector as V};

/// Signature of one function.
#[derive(Debug)]
pub struct FunctionDef {
    /// Name as written.
    pub name: &'static str,
    /// Argument types; with `variadic != 0` the last type repeats.
    pub args: &'static [ValueType],
    /// 0: exact arity; n > 0: up to n optional trailing arguments; -1: unlimited.
    pub variadic: i32,
    /// Result type.
    pub ret: ValueType,
    /// Behind `--enable-feature=promql-experimental-functions`.
    pub experimental: bool,
}

const fn f(
    name: &'static str,
    args: &'static [ValueType],
    variadic: i32,
    ret: ValueType,
    experimental: bool,
) -> FunctionDef {
    FunctionDef {
        name,
        args,
        variadic,
        ret,
        experimental,
    }
}

/// Every function PromQL knows.
pub static FUNCTIONS: &[FunctionDef] = &[
    f("abs", &[V], 0, V, false),
    f("absent", &[V], 0, V, false),
    f("absent_over_time", &[M], 0, V, false),
    f("acos", &[V], 0, V, false),
    f("acosh", &[V], 0, V, false),
    f("asin", &[V], 0, V, false),
    f("asinh", &[V], 0, V, false),
    f("atan", &[V], 0, V, false),
    f("atanh", &[V], 0, V, false),
    f("avg_over_time", &[M], 0, V, false),
    f("ceil", &[V], 0, V, false),
    f("changes", &[M], 0, V, false),
    f("clamp", &[V, S, S], 0, V, false),
    f("clamp_max", &[V, S], 0, V, false),
    f("clamp_min", &[V, S], 0, V, false),
    f("cos", &[V], 0, V, false),
    f("cosh", &[V], 0, V, false),
    f("count_over_time", &[M], 0, V, false),
    f("days_in_month", &[V], 1, V, false),
    f("day_of_month", &[V], 1, V, false),
    f("day_of_week", &[V], 1, V, false),
    f("day_of_year", &[V], 1, V, false),
    f("deg", &[V], 0, V, false),
    f("delta", &[M], 0, V, false),
    f("deriv", &[M], 0, V, false),
    f("exp", &[V], 0, V, false),
    f("floor", &[V], 0, V, false),
    f("histogram_avg", &[V], 0, V, false),
    f("histogram_count", &[V], 0, V, false),
    f("histogram_fraction", &[S, S, V], 0, V, false),
    f("histogram_quantile", &[S, V], 0, V, false),
    f("histogram_quantiles", &[V, Str, S], -1, V, true),
    f("histogram_sum", &[V], 0, V, false),
    f("histogram_stddev", &[V], 0, V, false),
    f("histogram_stdvar", &[V], 0, V, false),
    f("double_exponential_smoothing", &[M, S, S], 0, V, true),
    f("hour", &[V], 1, V, false),
    f("idelta", &[M], 0, V, false),
    f("increase", &[M], 0, V, false),
    f("info", &[V, V], 1, V, true),
    f("irate", &[M], 0, V, false),
    f("label_replace", &[V, Str, Str, Str, Str], 0, V, false),
    f("label_join", &[V, Str, Str, Str], -1, V, false),
    f("last_over_time", &[M], 0, V, false),
    f("first_over_time", &[M], 0, V, true),
    f("ln", &[V], 0, V, false),
    f("log10", &[V], 0, V, false),
    f("log2", &[V], 0, V, false),
    f("mad_over_time", &[M], 0, V, true),
    f("max_over_time", &[M], 0, V, false),
    f("min_over_time", &[M], 0, V, false),
    f("ts_of_max_over_time", &[M], 0, V, true),
    f("ts_of_min_over_time", &[M], 0, V, true),
    f("ts_of_last_over_time", &[M], 0, V, true),
    f("ts_of_first_over_time", &[M], 0, V, true),
    f("minute", &[V], 1, V, false),
    f("month", &[V], 1, V, false),
    f("pi", &[], 0, S, false),
    f("predict_linear", &[M, S], 0, V, false),
    f("present_over_time", &[M], 0, V, false),
    f("quantile_over_time", &[S, M], 0, V, false),
    f("rad", &[V], 0, V, false),
    f("rate", &[M], 0, V, false),
    f("resets", &[M], 0, V, false),
    f("round", &[V, S], 1, V, false),
    f("scalar", &[V], 0, S, false),
    f("sgn", &[V], 0, V, false),
    f("sin", &[V], 0, V, false),
    f("sinh", &[V], 0, V, false),
    f("sort", &[V], 0, V, false),
    f("sort_desc", &[V], 0, V, false),
    f("sort_by_label", &[V, Str], -1, V, true),
    f("sort_by_label_desc", &[V, Str], -1, V, true),
    f("sqrt", &[V], 0, V, false),
    f("stddev_over_time", &[M], 0, V, false),
    f("stdvar_over_time", &[M], 0, V, false),
    f("sum_over_time", &[M], 0, V, false),
    f("tan", &[V], 0, V, false),
    f("tanh", &[V], 0, V, false),
    f("time", &[], 0, S, false),
    f("timestamp", &[V], 0, V, false),
    f("vector", &[S], 0, V, false),
    f("year", &[V], 1, V, false),
    f("start", &[], 0, S, true),
    f("end", &[], 0, S, true),
    f("step", &[], 0, S, true),
    f("range", &[], 0, S, true),
    f("min_of", &[S, S], 0, S, true),
    f("start_timestamp", &[V], 0, V, true),
    f("max_of", &[S, S], 0, S, true),
];

/// Looks a function up by name.
pub fn lookup(name: &str) -> Option<&'static FunctionDef> {
    FUNCTIONS.iter().find(|d| d.name == name).or_else(|| {
        // The duration-expression keywords are case-insensitive, like other PromQL keywords.
        let lower = name.to_ascii_lowercase();
        FUNCTIONS.iter().find(|d| {
            d.name == lower
                && matches!(
                    d.name,
                    "step" | "range" | "start" | "end" | "min_of" | "max_of"
                )
        })
    })
}

/// Functions whose result depends on the evaluation step (the conformance runner skips the
/// `@` invariance check for them).
pub const STEP_VARIANT: &[&str] = &[
    "time",
    "timestamp",
    "day_of_month",
    "day_of_week",
    "day_of_year",
    "days_in_month",
    "hour",
    "minute",
    "month",
    "year",
    "predict_linear",
    "start",
    "end",
    "range",
    "step",
];

/// Range functions that keep the metric name.
pub fn keeps_metric_name(name: &str) -> bool {
    matches!(name, "last_over_time" | "first_over_time")
}
