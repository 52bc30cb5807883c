//! Query annotations: the warnings and infos Prometheus attaches to a result (`warnings` and
//! `infos` in the HTTP API), each naming the position of the sub-expression it concerns.

use crate::ast::PosRange;

/// Severity of an annotation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AnnoKind {
    /// `PromQL warning: ...` (results may be wrong).
    Warning,
    /// `PromQL info: ...` (results may be surprising).
    Info,
}

/// One annotation before it is rendered with the query text.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Annotation {
    /// Severity.
    pub kind: AnnoKind,
    /// Message without the `PromQL warning: ` prefix and position.
    pub msg: String,
    /// Sub-expression concerned.
    pub pos: PosRange,
}

/// Collected annotations (deduplicated when rendered).
pub type Annos = Vec<Annotation>;

/// Adds a warning.
pub fn warn(annos: &mut Annos, pos: PosRange, msg: impl Into<String>) {
    annos.push(Annotation {
        kind: AnnoKind::Warning,
        msg: msg.into(),
        pos,
    });
}

/// Adds an info.
pub fn info(annos: &mut Annos, pos: PosRange, msg: impl Into<String>) {
    annos.push(Annotation {
        kind: AnnoKind::Info,
        msg: msg.into(),
        pos,
    });
}

/// Text of Prometheus' `MixedExponentialCustomHistogramsWarning` for `metric`, which several
/// operators raise (aggregations, rates, `*_over_time`, interpolation): one place for its text.
pub fn mixed_schemas(metric: &str) -> String {
    format!(
        "vector contains a mix of histograms with exponential and custom buckets schemas for metric name {}",
        lgtm_common::labels::quote(metric)
    )
}

/// Text of Prometheus' `NativeHistogramNotCounterWarning` (rate-like functions over a gauge
/// histogram).
pub fn not_counter(metric: &str) -> String {
    format!(
        "this native histogram metric is not a counter: {}",
        lgtm_common::labels::quote(metric)
    )
}

/// Text of Prometheus' `NativeHistogramNotGaugeWarning` (`delta`/`idelta` over a counter
/// histogram).
pub fn not_gauge(metric: &str) -> String {
    format!(
        "this native histogram metric is not a gauge: {}",
        lgtm_common::labels::quote(metric)
    )
}

/// Text of Prometheus' `HistogramIgnoredInMixedRangeInfo` (a range mixing floats and
/// histograms, where the function only uses the floats).
pub fn histograms_ignored(metric: &str) -> String {
    format!(
        "ignored histograms in a range containing both floats and histograms for metric name {}",
        lgtm_common::labels::quote(metric)
    )
}

/// Renders annotations as Prometheus prints them: `PromQL warning: <msg> (line:col)`.
pub fn render(annos: &Annos, query: &str) -> (Vec<String>, Vec<String>) {
    let mut warnings = Vec::new();
    let mut infos = Vec::new();
    for a in annos {
        let prefix = match a.kind {
            AnnoKind::Warning => "PromQL warning",
            AnnoKind::Info => "PromQL info",
        };
        let s = format!(
            "{prefix}: {} ({})",
            a.msg,
            crate::lexer::position(query, a.pos.start)
        );
        let list = if a.kind == AnnoKind::Warning {
            &mut warnings
        } else {
            &mut infos
        };
        if !list.contains(&s) {
            list.push(s);
        }
    }
    (warnings, infos)
}
