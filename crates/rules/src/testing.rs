//! Fakes for the shared code's tests: an evaluator whose results the test sets per
//! expression, and an in-memory store.

use std::collections::BTreeMap;
use std::sync::Arc;

use lgtm_common::labels::{Labels, Matcher, matches_all};
use parking_lot::Mutex;

use crate::context::RuleContext;
use crate::eval::{EvalSample, Evaluator, OutputSample, RuleStore};
use crate::template::GoTemplates;

/// Expressions are opaque names; `parse` only rejects an unclosed `(` with PromQL's message.
#[derive(Debug, Clone, Default)]
pub(crate) struct FakeEval {
    results: Arc<Mutex<BTreeMap<String, Vec<EvalSample>>>>,
    queried_at: Arc<Mutex<Vec<(String, i64)>>>,
}

impl FakeEval {
    /// From now on, `expr` returns one sample per `(labels, value)`.
    pub(crate) fn set(&self, expr: &str, samples: &[(&[(&str, &str)], f64)]) {
        self.results.lock().insert(
            expr.to_owned(),
            samples
                .iter()
                .map(|(l, v)| EvalSample::float(Labels::from_pairs(l.iter().copied()), *v))
                .collect(),
        );
    }

    /// `(expr, timestamp)` of every query so far.
    pub(crate) fn queries(&self) -> Vec<(String, i64)> {
        self.queried_at.lock().clone()
    }
}

impl Evaluator for FakeEval {
    type Expr = String;

    fn parse(text: &str) -> Result<String, String> {
        if text.matches('(').count() > text.matches(')').count() {
            return Err("1:7: parse error: unclosed left parenthesis".to_owned());
        }
        Ok(text.trim().to_owned())
    }

    fn format(expr: &String) -> String {
        expr.clone()
    }

    fn query(&self, expr: &String, ts_ms: i64) -> Result<Vec<EvalSample>, String> {
        self.queried_at.lock().push((expr.clone(), ts_ms));
        if expr == "fail" {
            return Err("query failed".to_owned());
        }
        Ok(self.results.lock().get(expr).cloned().unwrap_or_default())
    }
}

/// Every appended sample, in order.
#[derive(Debug, Default)]
pub(crate) struct FakeStore {
    pub(crate) samples: Mutex<Vec<OutputSample>>,
}

impl FakeStore {
    /// Takes what was appended since the last call.
    pub(crate) fn take(&self) -> Vec<OutputSample> {
        std::mem::take(&mut *self.samples.lock())
    }
}

impl RuleStore for FakeStore {
    async fn append(&self, batch: Vec<OutputSample>) -> Result<(), String> {
        self.samples.lock().extend(batch);
        Ok(())
    }

    fn last_samples(
        &self,
        matchers: &[Matcher],
        start_ms: i64,
        end_ms: i64,
    ) -> Result<Vec<(Labels, i64, f64)>, String> {
        let mut last: BTreeMap<Labels, (i64, f64)> = BTreeMap::new();
        for s in self.samples.lock().iter() {
            if (start_ms..=end_ms).contains(&s.t) && matches_all(matchers, &s.labels) {
                last.insert(s.labels.clone(), (s.t, s.v));
            }
        }
        Ok(last.into_iter().map(|(l, (t, v))| (l, t, v)).collect())
    }
}

/// A context over `eval` with external labels `{cluster="eu1"}` and URL
/// `http://prom.example:9090`.
pub(crate) fn context(eval: &FakeEval) -> Arc<RuleContext<FakeEval>> {
    Arc::new(RuleContext::new(
        eval.clone(),
        Arc::new(GoTemplates::new(None, "http://prom.example:9090")),
        BTreeMap::from([("cluster".to_owned(), "eu1".to_owned())]),
        "http://prom.example:9090".to_owned(),
    ))
}
