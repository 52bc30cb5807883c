//! Metric queries: the entries every range aggregation needs are fetched from the store
//! (window `[start - range - offset, end - offset]` per selector) and handed to the LogQL
//! evaluator.

use std::collections::BTreeMap;

use lgtm_common::labels::{Labels, Matcher};

use super::QueryError;
use crate::logql::ast::{RangeOp, SampleExpr};
use crate::logql::eval::{self, Evaluator, MatrixSeries, StepValue};
use crate::logql::pipeline::Pipeline;
use crate::store::Store;
use crate::store::{Keep, LineTest};

/// What one range aggregation reads: its selector and pipeline, the window
/// `[earliest, latest)` and whether it looks at the lines at all.
struct Window<'a> {
    matchers: &'a [Matcher],
    stages: &'a [crate::logql::ast::Stage],
    lo: i64,
    hi: i64,
    needs_lines: bool,
}

/// The window each range aggregation needs.
fn windows<'a>(expr: &'a SampleExpr, start: i64, end: i64, out: &mut Vec<Window<'a>>) {
    match expr {
        SampleExpr::RangeAggregation(r) => {
            let lo = start
                .saturating_sub(r.range.range)
                .saturating_sub(r.range.offset);
            let hi = end.saturating_sub(r.range.offset).saturating_add(1);
            // Counting entries without a pipeline never reads a line.
            let needs_lines = !(r.range.log.stages.is_empty()
                && r.range.unwrap.is_none()
                && matches!(r.op, RangeOp::CountOverTime | RangeOp::Rate));
            out.push(Window {
                matchers: &r.range.log.matchers,
                stages: &r.range.log.stages,
                lo,
                hi,
                needs_lines,
            });
        }
        SampleExpr::VectorAggregation(v) => windows(&v.expr, start, end, out),
        SampleExpr::BinOp(b) => {
            windows(&b.lhs, start, end, out);
            windows(&b.rhs, start, end, out);
        }
        SampleExpr::LabelReplace(l) => windows(&l.expr, start, end, out),
        SampleExpr::Literal(_) | SampleExpr::Vector(_) => {}
    }
}

/// Fetches every stream the expression reads, over the union of its windows.
async fn fetch(
    store: &Store,
    tenant: &str,
    expr: &SampleExpr,
    start: i64,
    end: i64,
) -> Result<Vec<eval::Stream>, QueryError> {
    let mut w = Vec::new();
    windows(expr, start, end, &mut w);
    let Some(lo) = w.iter().map(|x| x.lo).min() else {
        return Ok(Vec::new());
    };
    let hi = w.iter().map(|x| x.hi).max().unwrap_or(lo);
    let needs_lines = w.iter().any(|x| x.needs_lines);
    // With one selector, its leading line filters can run inside the store: the evaluator
    // would drop the same lines first thing.
    let pipeline = match w.as_slice() {
        [only] => Pipeline::new(only.stages)
            .ok()
            .filter(Pipeline::has_line_filters),
        _ => None,
    };
    let test = pipeline.as_ref().map(|p| p as &dyn LineTest);
    let mut by_labels: BTreeMap<Labels, eval::Stream> = BTreeMap::new();
    for x in &w {
        for s in store
            .select_filtered(tenant, x.matchers, lo, hi, Keep::All, test)
            .await?
        {
            if s.entries.is_empty() {
                continue;
            }
            by_labels
                .entry(s.labels.clone())
                .or_insert_with(|| eval::Stream {
                    labels: s.labels,
                    entries: s
                        .entries
                        .iter()
                        .map(|e| eval::Entry {
                            ts: e.ts,
                            line: if needs_lines {
                                e.line.to_string()
                            } else {
                                String::new()
                            },
                            metadata: (*e.metadata).clone(),
                        })
                        .collect(),
                });
        }
    }
    Ok(by_labels.into_values().collect())
}

/// Runs CPU-bound evaluation off the async workers, so the query timeout can fire.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, QueryError> + Send + 'static,
) -> Result<T, QueryError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| QueryError::BadRequest(format!("query evaluation failed: {e}")))?
}

/// Instant evaluation at `ts`.
pub async fn instant(
    store: &Store,
    tenant: &str,
    expr: &SampleExpr,
    ts: i64,
    max_series: usize,
) -> Result<StepValue, QueryError> {
    let streams = fetch(store, tenant, expr, ts, ts).await?;
    let expr = expr.clone();
    blocking(move || {
        let mut ev = Evaluator::new(&streams);
        ev.max_series = max_series;
        Ok(ev.instant(&expr, ts)?)
    })
    .await
}

/// Range evaluation.
pub async fn range(
    store: &Store,
    tenant: &str,
    expr: &SampleExpr,
    start: i64,
    end: i64,
    step: i64,
    max_series: usize,
) -> Result<Vec<MatrixSeries>, QueryError> {
    let streams = fetch(store, tenant, expr, start, end).await?;
    let expr = expr.clone();
    blocking(move || {
        let mut ev = Evaluator::new(&streams);
        ev.max_series = max_series;
        Ok(ev.range(&expr, start, end, step)?)
    })
    .await
}
