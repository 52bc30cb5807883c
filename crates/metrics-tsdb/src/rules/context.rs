//! PromQL as the rules' language: the [`Evaluator`] over the engine and a [`Queryable`], the
//! [`RuleStore`]s (the TSDB, and the in-memory store of rule unit tests), and the evaluation
//! context whose templates' `query` runs on the same engine and data.

use std::collections::BTreeMap;
use std::sync::Arc;

use lgtm_common::labels::{Labels, Matcher};
use lgtm_promql::Engine;
use lgtm_promql::ast::Expr;
use lgtm_promql::storage::{MemStorage, Queryable, SelectHints};
use lgtm_promql::value::{Sample, Value};
use lgtm_rules::eval::{EvalSample, Evaluator, OutputSample, RuleStore};
use lgtm_rules::template::GoTemplates;
use lgtm_template::{QueryFn, Time};

use crate::db::{Db, SeriesSamples};
use crate::querier::DbQuerier;

/// The evaluation context of PromQL rules.
pub type RuleContext = lgtm_rules::RuleContext<PromqlEvaluator>;

/// A parsed rule expression and its printed form (the engine wants both).
#[derive(Debug, Clone)]
pub struct PromqlExpr {
    /// The AST.
    pub expr: Expr,
    /// `expr` as Prometheus prints it.
    pub text: String,
}

/// Runs rule expressions as PromQL instant queries over `queryable`.
#[derive(Clone)]
pub struct PromqlEvaluator {
    /// The engine.
    pub engine: Engine,
    /// Where rule queries read.
    pub queryable: Arc<dyn Queryable>,
}

impl std::fmt::Debug for PromqlEvaluator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PromqlEvaluator").finish_non_exhaustive()
    }
}

impl PromqlEvaluator {
    /// An evaluator over `queryable`.
    pub fn new(engine: Engine, queryable: Arc<dyn Queryable>) -> Self {
        Self { engine, queryable }
    }

    /// A PromQL instant query whose result must be a vector or a scalar (a scalar becomes one
    /// sample without labels), as rules require (Prometheus' `EngineQueryFunc`).
    pub fn instant(&self, text: &str, expr: &Expr, ts_ms: i64) -> Result<Vec<Sample>, String> {
        let result = self
            .engine
            .instant_query(&*self.queryable, text, expr, ts_ms, None)
            .map_err(|e| e.to_string())?;
        match result.value {
            Value::Vector(v) => Ok(v),
            Value::Scalar { t, v } => Ok(vec![Sample::float(Labels::empty(), t, v)]),
            _ => Err("rule result is not a vector or scalar".to_owned()),
        }
    }
}

impl Evaluator for PromqlEvaluator {
    type Expr = PromqlExpr;

    fn parse(text: &str) -> Result<PromqlExpr, String> {
        let expr = lgtm_promql::parse(text).map_err(|e| e.to_string())?;
        let text = expr.to_string();
        Ok(PromqlExpr { expr, text })
    }

    fn format(expr: &PromqlExpr) -> String {
        expr.text.clone()
    }

    fn query(&self, expr: &PromqlExpr, ts_ms: i64) -> Result<Vec<EvalSample>, String> {
        Ok(self
            .instant(&expr.text, &expr.expr, ts_ms)?
            .into_iter()
            .map(|s| EvalSample {
                histogram: s.h.is_some(),
                labels: s.labels,
                value: s.f,
            })
            .collect())
    }
}

/// A context over `queryable`: PromQL rules, Prometheus' templates with `query` bound to the
/// same engine and data.
pub fn promql_context(
    engine: Engine,
    queryable: Arc<dyn Queryable>,
    external_labels: BTreeMap<String, String>,
    external_url: String,
) -> RuleContext {
    let evaluator = PromqlEvaluator::new(engine, queryable);
    let for_templates = evaluator.clone();
    let query: QueryFn = Arc::new(move |text: &str, at: &Time| {
        let ts = i64::try_from(at.unix_nanos() / 1_000_000).unwrap_or(0);
        let expr = lgtm_promql::parse(text).map_err(|e| e.to_string())?;
        let vector = for_templates.instant(text, &expr, ts)?;
        Ok(vector
            .into_iter()
            .map(|s| lgtm_template::Sample {
                labels: s
                    .labels
                    .iter()
                    .map(|l| (l.name.clone(), l.value.clone()))
                    .collect(),
                value: s.f,
            })
            .collect())
    });
    lgtm_rules::RuleContext::new(
        evaluator,
        Arc::new(GoTemplates::new(Some(query), &external_url)),
        external_labels,
        external_url,
    )
}

/// The newest float of each selected series in `[start_ms, end_ms]`.
fn last_samples(
    queryable: &dyn Queryable,
    matchers: &[Matcher],
    start_ms: i64,
    end_ms: i64,
) -> Result<Vec<(Labels, i64, f64)>, String> {
    let hints = SelectHints {
        start_ms,
        end_ms,
        ..SelectHints::default()
    };
    Ok(queryable
        .select(&hints, matchers)
        .map_err(|e| e.to_string())?
        .into_iter()
        .filter_map(|s| {
            let last = s.floats.last()?;
            Some((s.labels.clone(), last.t, last.f))
        })
        .collect())
}

/// `Arc<Db>` as a `'static` [`Queryable`] (rule queries and template `query` calls) and as
/// the rules' [`RuleStore`] (outputs go through `Db::append`, like scraped samples).
#[derive(Debug, Clone)]
pub struct SharedDbQuerier(pub Arc<Db>);

impl Queryable for SharedDbQuerier {
    fn select(
        &self,
        hints: &SelectHints,
        matchers: &[Matcher],
    ) -> Result<Vec<lgtm_promql::value::Series>, lgtm_promql::storage::StorageError> {
        DbQuerier::new(&self.0).select(hints, matchers)
    }
}

impl RuleStore for SharedDbQuerier {
    async fn append(&self, batch: Vec<OutputSample>) -> Result<(), String> {
        let batch: Vec<SeriesSamples> = batch
            .into_iter()
            .map(|s| SeriesSamples {
                labels: s.labels,
                samples: vec![(s.t, s.v)],
            })
            .collect();
        self.0
            .append(&batch)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    fn last_samples(
        &self,
        matchers: &[Matcher],
        start_ms: i64,
        end_ms: i64,
    ) -> Result<Vec<(Labels, i64, f64)>, String> {
        last_samples(self, matchers, start_ms, end_ms)
    }
}

/// The in-memory store rule unit tests evaluate against.
#[derive(Debug, Clone)]
pub struct MemRuleStore(pub Arc<MemStorage>);

impl RuleStore for MemRuleStore {
    async fn append(&self, batch: Vec<OutputSample>) -> Result<(), String> {
        for s in batch {
            self.0.add_float(&s.labels, s.t, s.v);
        }
        Ok(())
    }

    fn last_samples(
        &self,
        matchers: &[Matcher],
        start_ms: i64,
        end_ms: i64,
    ) -> Result<Vec<(Labels, i64, f64)>, String> {
        last_samples(&*self.0, matchers, start_ms, end_ms)
    }
}
