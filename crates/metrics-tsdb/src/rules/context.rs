//! What every rule evaluation needs: the engine, the data, external labels/URL and the
//! template functions (with `query` bound to the same engine and data).

use std::collections::BTreeMap;
use std::sync::Arc;

use lgtm_common::labels::Labels;
use lgtm_promql::Engine;
use lgtm_promql::ast::Expr;
use lgtm_promql::storage::Queryable;
use lgtm_promql::value::{Sample, Value};
use lgtm_template::{FuncMap, PrometheusContext, QueryFn, Time, prometheus_funcs};

/// Shared, read-only inputs of rule evaluation.
#[derive(Clone)]
pub struct RuleContext {
    /// The PromQL engine.
    pub engine: Engine,
    /// Where rule queries read.
    pub queryable: Arc<dyn Queryable>,
    /// `global.external_labels` (`$externalLabels`, and added to alerts by the notifier).
    pub external_labels: BTreeMap<String, String>,
    /// `--web.external-url` (`$externalURL`, generator URLs).
    pub external_url: String,
    /// Template functions, `query` included.
    pub funcs: FuncMap,
}

impl std::fmt::Debug for RuleContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuleContext")
            .field("external_labels", &self.external_labels)
            .field("external_url", &self.external_url)
            .finish_non_exhaustive()
    }
}

impl RuleContext {
    /// A context over `queryable`.
    pub fn new(
        engine: Engine,
        queryable: Arc<dyn Queryable>,
        external_labels: BTreeMap<String, String>,
        external_url: String,
    ) -> Self {
        let (q_engine, q_store) = (engine.clone(), Arc::clone(&queryable));
        let query: QueryFn = Arc::new(move |text: &str, at: &Time| {
            let ts = i64::try_from(at.unix_nanos() / 1_000_000).unwrap_or(0);
            let expr = lgtm_promql::parse(text).map_err(|e| e.to_string())?;
            let vector = instant_vector(&q_engine, &*q_store, text, &expr, ts)?;
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
        let funcs = prometheus_funcs(PrometheusContext {
            query: Some(query),
            external_url: external_url.clone(),
        });
        Self {
            engine,
            queryable,
            external_labels,
            external_url,
            funcs,
        }
    }

    /// Runs a rule expression at `ts_ms` (Prometheus' `EngineQueryFunc`).
    pub fn query(&self, text: &str, expr: &Expr, ts_ms: i64) -> Result<Vec<Sample>, String> {
        instant_vector(&self.engine, &*self.queryable, text, expr, ts_ms)
    }
}

/// An instant query whose result must be a vector or a scalar (a scalar becomes one sample
/// without labels), as rules require.
fn instant_vector(
    engine: &Engine,
    store: &dyn Queryable,
    text: &str,
    expr: &Expr,
    ts_ms: i64,
) -> Result<Vec<Sample>, String> {
    let result = engine
        .instant_query(store, text, expr, ts_ms, None)
        .map_err(|e| e.to_string())?;
    match result.value {
        Value::Vector(v) => Ok(v),
        Value::Scalar { t, v } => Ok(vec![Sample::float(Labels::empty(), t, v)]),
        _ => Err("rule result is not a vector or scalar".to_owned()),
    }
}

/// `(labels, value)` pairs a rule writes at one timestamp.
pub type RuleOutput = Vec<(Labels, f64)>;

/// Health of a rule after its last evaluation (`ok`, `err`, `unknown`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RuleStatus {
    /// `unknown` until evaluated, then `ok` or `err`.
    pub health: &'static str,
    /// Last error text, empty when healthy.
    pub last_error: String,
    /// Wall-clock time of the last evaluation (ms), 0 = never.
    pub last_evaluation_ms: i64,
    /// Seconds the last evaluation took.
    pub evaluation_seconds: f64,
}

impl RuleStatus {
    /// The status of a rule never evaluated.
    pub fn unknown() -> Self {
        Self {
            health: "unknown",
            ..Self::default()
        }
    }
}
