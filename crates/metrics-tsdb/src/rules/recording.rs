//! Recording rules: evaluate an expression and store its result under a new metric name
//! (`rules/recording.go`).

use std::collections::{BTreeMap, HashSet};

use lgtm_common::labels::Labels;
use lgtm_promql::ast::Expr;
use parking_lot::Mutex;

use super::context::{RuleContext, RuleOutput, RuleStatus};

/// A recording rule.
#[derive(Debug)]
pub struct RecordingRule {
    name: String,
    expr: Expr,
    query: String,
    labels: BTreeMap<String, String>,
    status: Mutex<Option<RuleStatus>>,
}

impl RecordingRule {
    /// A new rule writing `expr`'s result as `name` with `labels` added.
    pub fn new(name: &str, expr: Expr, labels: BTreeMap<String, String>) -> Self {
        let query = expr.to_string();
        Self {
            name: name.to_owned(),
            expr,
            query,
            labels,
            status: Mutex::new(None),
        }
    }

    /// The recorded metric name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The expression as Prometheus prints it.
    pub fn query(&self) -> &str {
        &self.query
    }

    /// Labels added to every output series.
    pub fn labels(&self) -> &BTreeMap<String, String> {
        &self.labels
    }

    /// Health and timing of the last evaluation.
    pub fn status(&self) -> RuleStatus {
        self.status
            .lock()
            .clone()
            .unwrap_or_else(RuleStatus::unknown)
    }

    pub(crate) fn set_status(&self, status: RuleStatus) {
        *self.status.lock() = Some(status);
    }

    /// One evaluation at `ts - offset`: the output series, or an error for duplicate output
    /// label sets and a result over `limit`.
    pub fn eval(
        &self,
        ctx: &RuleContext,
        ts: i64,
        offset_ms: i64,
        limit: i64,
    ) -> Result<RuleOutput, String> {
        let result = ctx.query(&self.query, &self.expr, ts - offset_ms)?;
        let mut out = Vec::with_capacity(result.len());
        let mut seen = HashSet::with_capacity(result.len());
        for sample in result {
            if sample.h.is_some() {
                // Native histograms are not stored by this TSDB yet.
                continue;
            }
            let mut labels = sample.labels.with("__name__", &self.name);
            for (k, v) in &self.labels {
                labels = if v.is_empty() {
                    labels.without(&[k.as_str()])
                } else {
                    labels.with(k, v)
                };
            }
            if !seen.insert(labels.clone()) {
                return Err(
                    "vector contains metrics with the same labelset after applying rule labels"
                        .to_owned(),
                );
            }
            out.push((labels, sample.f));
        }
        let n = out.len() as i64;
        if limit > 0 && n > limit {
            return Err(format!("exceeded limit {limit} with {n} series"));
        }
        Ok(out)
    }
}

/// Either kind of rule.
#[derive(Debug, Clone)]
pub enum Rule {
    /// `record:`.
    Recording(std::sync::Arc<RecordingRule>),
    /// `alert:`.
    Alerting(std::sync::Arc<super::alerting::AlertingRule>),
}

impl Rule {
    /// The rule's name.
    pub fn name(&self) -> &str {
        match self {
            Rule::Recording(r) => r.name(),
            Rule::Alerting(r) => r.name(),
        }
    }

    /// The printed expression.
    pub fn query(&self) -> &str {
        match self {
            Rule::Recording(r) => r.query(),
            Rule::Alerting(r) => r.query(),
        }
    }

    /// Health and timing of the last evaluation.
    pub fn status(&self) -> RuleStatus {
        match self {
            Rule::Recording(r) => r.status(),
            Rule::Alerting(r) => r.status(),
        }
    }

    pub(crate) fn set_status(&self, status: RuleStatus) {
        match self {
            Rule::Recording(r) => r.set_status(status),
            Rule::Alerting(r) => r.set_status(status),
        }
    }

    /// Evaluates the rule.
    pub fn eval(
        &self,
        ctx: &RuleContext,
        ts: i64,
        offset_ms: i64,
        limit: i64,
    ) -> Result<RuleOutput, String> {
        match self {
            Rule::Recording(r) => r.eval(ctx, ts, offset_ms, limit),
            Rule::Alerting(r) => r.eval(ctx, ts, offset_ms, limit),
        }
    }

    /// A key identifying "the same rule" across reloads.
    pub fn identity(&self) -> String {
        match self {
            Rule::Recording(r) => {
                format!("record\u{0}{}\u{0}{}\u{0}{:?}", r.name, r.query, r.labels)
            }
            Rule::Alerting(r) => format!(
                "alert\u{0}{}\u{0}{}\u{0}{:?}\u{0}{:?}",
                r.name(),
                r.query(),
                r.labels(),
                r.annotations()
            ),
        }
    }
}

/// Labels of an output series without its samples, for staleness tracking.
pub type SeriesSet = HashSet<Labels>;
