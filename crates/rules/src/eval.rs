//! The three plug-in points that make rule evaluation independent of the query language and
//! the store: an [`Evaluator`] (PromQL, LogQL), a [`RuleStore`] (where outputs, `ALERTS` and
//! `ALERTS_FOR_STATE` go and where `for` state is read back) and a [`TemplateExpander`]
//! (Go templates in alert labels and annotations).

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::future::Future;

use lgtm_common::labels::{Labels, Matcher};

/// Bit pattern of Prometheus' staleness marker (`value.StaleNaN`).
pub const STALE_NAN_BITS: u64 = 0x7ff0_0000_0000_0002;

/// The staleness marker written for series a rule stopped producing.
pub fn stale_nan() -> f64 {
    f64::from_bits(STALE_NAN_BITS)
}

/// Whether `v` is the staleness marker (not just any NaN).
pub fn is_stale_nan(v: f64) -> bool {
    v.to_bits() == STALE_NAN_BITS
}

/// One element of an instant query result.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalSample {
    /// Series labels, `__name__` included when the expression keeps it.
    pub labels: Labels,
    /// Float value (0 for a histogram sample).
    pub value: f64,
    /// True for a native-histogram sample, which recording rules skip (stores keep floats).
    pub histogram: bool,
}

impl EvalSample {
    /// A float sample.
    pub fn float(labels: Labels, value: f64) -> Self {
        Self {
            labels,
            value,
            histogram: false,
        }
    }
}

/// The query language rules are written in: parse once at load time, run as an instant query
/// at each evaluation (Prometheus' `QueryFunc`).
pub trait Evaluator: Send + Sync + 'static {
    /// A parsed expression.
    type Expr: Clone + Debug + Send + Sync + 'static;

    /// Parses and validates an expression; the error is the language's own message (shown
    /// after `could not parse expression: `).
    fn parse(text: &str) -> Result<Self::Expr, String>;

    /// The expression as the upstream prints it (the `query` field of `/api/v1/rules`).
    fn format(expr: &Self::Expr) -> String;

    /// Runs `expr` as an instant query at `ts_ms`; the result must be a vector or scalar.
    fn query(&self, expr: &Self::Expr, ts_ms: i64) -> Result<Vec<EvalSample>, String>;

    /// The `generatorURL` of alerts: Prometheus' `<external-url>/graph?g0.expr=..&g0.tab=1`.
    fn generator_url(&self, external_url: &str, expr: &str) -> String {
        prometheus_graph_url(external_url, expr)
    }
}

/// One sample a rule evaluation writes (output series, `ALERTS`, stale markers).
#[derive(Debug, Clone, PartialEq)]
pub struct OutputSample {
    /// Series labels with `__name__`.
    pub labels: Labels,
    /// Timestamp (ms).
    pub t: i64,
    /// Value (stale markers are [`stale_nan`]).
    pub v: f64,
}

/// Where rule outputs go and where `ALERTS_FOR_STATE` is read back at start-up.
pub trait RuleStore: Send + Sync + 'static {
    /// Appends one rule's outputs; an error is logged and evaluation goes on (as Prometheus).
    fn append(&self, batch: Vec<OutputSample>) -> impl Future<Output = Result<(), String>> + Send;

    /// The newest sample `(labels, t, v)` of each series matching `matchers` within
    /// `[start_ms, end_ms]` (Prometheus' `RestoreForState` querier).
    fn last_samples(
        &self,
        matchers: &[Matcher],
        start_ms: i64,
        end_ms: i64,
    ) -> Result<Vec<(Labels, i64, f64)>, String>;
}

/// What alert templates see (`$labels`, `$externalLabels`, `$externalURL`, `$value`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TemplateData {
    /// The result sample's labels.
    pub labels: BTreeMap<String, String>,
    /// `global.external_labels`.
    pub external_labels: BTreeMap<String, String>,
    /// `--web.external-url`.
    pub external_url: String,
    /// The result sample's value.
    pub value: f64,
}

/// Expands alert label and annotation templates (Prometheus' `template.Expander`).
pub trait TemplateExpander: Send + Sync + Debug {
    /// Parse-checks a template at load time (`template: __alert_X:1: ...` on error).
    fn check(&self, alert: &str, text: &str) -> Result<(), String>;

    /// Expands `text` for one alert instance evaluated at `ts_ms`.
    fn expand(
        &self,
        alert: &str,
        text: &str,
        data: &TemplateData,
        ts_ms: i64,
    ) -> Result<String, String>;
}

/// Go's `url.QueryEscape`.
pub fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3 / 2);
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// `<external-url>/graph?g0.expr=<expr>&g0.tab=1` (Prometheus' `TableLinkForExpression`).
pub fn prometheus_graph_url(external_url: &str, expr: &str) -> String {
    format!(
        "{}/graph?g0.expr={}&g0.tab=1",
        external_url.trim_end_matches('/'),
        query_escape(expr)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_escape_matches_go() {
        assert_eq!(
            query_escape("rate(x{a=\"b c\"}[5m]) > 0.5~"),
            "rate%28x%7Ba%3D%22b+c%22%7D%5B5m%5D%29+%3E+0.5~"
        );
    }

    #[test]
    fn stale_marker_is_a_specific_nan() {
        assert!(is_stale_nan(stale_nan()));
        assert!(!is_stale_nan(f64::NAN));
    }
}
