//! Recording rules: evaluate an expression and store its result under a new metric name
//! (`rules/recording.go`), and [`Rule`], either kind.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use lgtm_common::labels::Labels;
use parking_lot::Mutex;

use crate::alerting::AlertingRule;
use crate::context::{RuleContext, RuleOutput, RuleStatus};
use crate::eval::Evaluator;

/// A recording rule.
#[derive(Debug)]
pub struct RecordingRule<E: Evaluator> {
    name: String,
    expr: E::Expr,
    query: String,
    labels: BTreeMap<String, String>,
    status: Mutex<Option<RuleStatus>>,
}

impl<E: Evaluator> RecordingRule<E> {
    /// A new rule writing `expr`'s result as `name` with `labels` added.
    pub fn new(name: &str, expr: E::Expr, labels: BTreeMap<String, String>) -> Self {
        let query = E::format(&expr);
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

    /// Records the outcome of an evaluation.
    pub fn set_status(&self, status: RuleStatus) {
        *self.status.lock() = Some(status);
    }

    /// One evaluation at `ts - offset`: the output series, or an error for duplicate output
    /// label sets and a result over `limit`.
    pub fn eval(
        &self,
        ctx: &RuleContext<E>,
        ts: i64,
        offset_ms: i64,
        limit: i64,
    ) -> Result<RuleOutput, String> {
        let result = ctx.evaluator.query(&self.expr, ts - offset_ms)?;
        let mut out = Vec::with_capacity(result.len());
        let mut seen = HashSet::with_capacity(result.len());
        for sample in result {
            if sample.histogram {
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
            out.push((labels, sample.value));
        }
        let n = out.len() as i64;
        if limit > 0 && n > limit {
            return Err(format!("exceeded limit {limit} with {n} series"));
        }
        Ok(out)
    }
}

/// Either kind of rule.
#[derive(Debug)]
pub enum Rule<E: Evaluator> {
    /// `record:`.
    Recording(Arc<RecordingRule<E>>),
    /// `alert:`.
    Alerting(Arc<AlertingRule<E>>),
}

impl<E: Evaluator> Clone for Rule<E> {
    fn clone(&self) -> Self {
        match self {
            Rule::Recording(r) => Rule::Recording(Arc::clone(r)),
            Rule::Alerting(r) => Rule::Alerting(Arc::clone(r)),
        }
    }
}

impl<E: Evaluator> Rule<E> {
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

    /// Records the outcome of an evaluation.
    pub fn set_status(&self, status: RuleStatus) {
        match self {
            Rule::Recording(r) => r.set_status(status),
            Rule::Alerting(r) => r.set_status(status),
        }
    }

    /// Evaluates the rule.
    pub fn eval(
        &self,
        ctx: &RuleContext<E>,
        ts: i64,
        offset_ms: i64,
        limit: i64,
    ) -> Result<RuleOutput, String> {
        match self {
            Rule::Recording(r) => r.eval(ctx, ts, offset_ms, limit),
            Rule::Alerting(r) => r.eval(ctx, ts, offset_ms, limit),
        }
    }

    /// The rule's labels (group labels merged under its own).
    pub fn labels(&self) -> &BTreeMap<String, String> {
        match self {
            Rule::Recording(r) => r.labels(),
            Rule::Alerting(r) => r.labels(),
        }
    }

    /// What identifies "the same rule" across reloads: name and labels, as Prometheus'
    /// `nameAndLabels` (a changed expression or `for` keeps the alert state).
    pub fn identity(&self) -> String {
        format!("{}\u{0}{:?}", self.name(), self.labels())
    }
}

/// Labels of an output series without its samples, for staleness tracking.
pub type SeriesSet = HashSet<Labels>;
