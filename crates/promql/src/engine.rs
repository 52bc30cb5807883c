//! The evaluator: instant and range queries over a [`Queryable`], step by step.
//!
//! Every expression is evaluated at one timestamp at a time; range queries and subqueries
//! iterate over their steps. Selector data is loaded once per query (for the whole time range
//! each selector needs) and sliced per step. Lookback is left-open as in Prometheus 3:
//! a sample at exactly `t - lookback` (or `t - range`) is not included.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use lgtm_common::labels::Labels;

use crate::aggregation::{AggParam, AggPos, Grouping, aggregate};
use crate::annotations::{Annos, render, warn};
use crate::ast::{
    AggOp, AtModifier, BinOp, Card, DurationValue, Expr, MatrixSelector, SubqueryExpr,
    VectorMatching, VectorSelector,
};
use crate::binary::{scalar_op, vector_scalar, vector_vector};
use crate::error::{Error, Result};
use crate::functions::{self, rate::Out, rate::RangeCtx};
use crate::storage::{Queryable, SelectHints};
use crate::value::{
    FPoint, HPoint, Matrix, Sample, Series, Value, ValueType, Vector, is_stale_nan,
};

/// Engine settings (Prometheus flag names in brackets).
#[derive(Clone, Debug)]
pub struct EngineOptions {
    /// `--query.lookback-delta` (default 5m).
    pub lookback_delta_ms: i64,
    /// `--query.max-samples` (default 50,000,000).
    pub max_samples: usize,
    /// `--query.timeout` (default 2m).
    pub timeout: Duration,
    /// Step of subqueries without an explicit step (the evaluation interval; 1m).
    pub default_subquery_step_ms: i64,
    /// `--enable-feature=promql-delayed-name-removal`: keep `__name__` until the end of the
    /// query (so `label_replace` etc. can still read it); off by default as in Prometheus.
    pub delayed_name_removal: bool,
}

impl Default for EngineOptions {
    fn default() -> Self {
        Self {
            lookback_delta_ms: 300_000,
            max_samples: 50_000_000,
            timeout: Duration::from_secs(120),
            default_subquery_step_ms: 60_000,
            delayed_name_removal: false,
        }
    }
}

/// Lets a caller stop a running query.
#[derive(Clone, Debug, Default)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    /// A fresh token.
    pub fn new() -> Self {
        Self::default()
    }
    /// Requests cancellation.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }
    /// True once cancelled.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// A query result with its annotations rendered as Prometheus prints them.
#[derive(Clone, Debug, PartialEq)]
pub struct QueryResult {
    /// The value (`Matrix` for range queries).
    pub value: Value,
    /// `PromQL warning: ...` strings.
    pub warnings: Vec<String>,
    /// `PromQL info: ...` strings.
    pub infos: Vec<String>,
}

/// The PromQL engine.
#[derive(Clone, Debug, Default)]
pub struct Engine {
    opts: EngineOptions,
}

impl Engine {
    /// An engine with the given options (a zero lookback delta or subquery step means the
    /// default, as in Prometheus).
    pub fn new(mut opts: EngineOptions) -> Self {
        let defaults = EngineOptions::default();
        if opts.lookback_delta_ms <= 0 {
            opts.lookback_delta_ms = defaults.lookback_delta_ms;
        }
        if opts.default_subquery_step_ms <= 0 {
            opts.default_subquery_step_ms = defaults.default_subquery_step_ms;
        }
        Self { opts }
    }

    /// The options.
    pub fn options(&self) -> &EngineOptions {
        &self.opts
    }

    /// Evaluates `expr` (parsed from `query`) at `ts_ms`.
    pub fn instant_query(
        &self,
        storage: &dyn Queryable,
        query: &str,
        expr: &Expr,
        ts_ms: i64,
        cancel: Option<&CancelToken>,
    ) -> Result<QueryResult> {
        let mut expr = expr.clone();
        resolve_durations(&mut expr, ts_ms, ts_ms, 0)?;
        let mut ev = Evaluator::new(storage, &self.opts, ts_ms, ts_ms, 0, cancel);
        ev.plan(&expr);
        let v = ev.eval(&expr, ts_ms)?;
        let value = match v {
            Value::Vector(v) => Value::Vector(finish_vector(v, ts_ms)?),
            Value::Matrix(m) => Value::Matrix(finish_matrix(m)),
            other => other,
        };
        let (warnings, infos) = render(&ev.annos, query);
        Ok(QueryResult {
            value,
            warnings,
            infos,
        })
    }

    /// Evaluates `expr` from `start_ms` to `end_ms` every `step_ms`.
    #[allow(clippy::too_many_arguments)]
    pub fn range_query(
        &self,
        storage: &dyn Queryable,
        query: &str,
        expr: &Expr,
        start_ms: i64,
        end_ms: i64,
        step_ms: i64,
        cancel: Option<&CancelToken>,
    ) -> Result<QueryResult> {
        let vt = expr.value_type();
        if vt != ValueType::Scalar && vt != ValueType::Vector {
            return Err(Error::Eval(format!(
                "invalid expression type \"{}\" for range query, must be Scalar or instant Vector",
                vt.describe()
            )));
        }
        if step_ms <= 0 {
            return Err(Error::Eval("zero or negative query resolution step widths are not accepted. Try a positive integer".into()));
        }
        let mut expr = expr.clone();
        resolve_durations(&mut expr, start_ms, end_ms, step_ms)?;
        let mut ev = Evaluator::new(storage, &self.opts, start_ms, end_ms, step_ms, cancel);
        ev.plan(&expr);
        if let Some(m) = ev.range_call_in_place(&expr, self.opts.max_samples)? {
            let (warnings, infos) = render(&ev.annos, query);
            return Ok(QueryResult {
                value: Value::Matrix(m),
                warnings,
                infos,
            });
        }
        let mut series: HashMap<Labels, Series> = HashMap::new();
        let mut t = start_ms;
        let mut total = 0usize;
        while t <= end_ms {
            ev.check_limits()?;
            ev.step_samples = 0;
            match ev.eval(&expr, t)? {
                Value::Scalar { v, .. } => {
                    series
                        .entry(Labels::empty())
                        .or_default()
                        .floats
                        .push(FPoint { t, f: v });
                    total += 1;
                }
                Value::Vector(v) => {
                    let v = finish_vector(v, t)?;
                    total += v.len();
                    for s in v {
                        // Look up before inserting: cloning the labels once per step and
                        // series was a measurable share of range-query time.
                        let e = match series.get_mut(&s.labels) {
                            Some(e) => e,
                            None => series
                                .entry(s.labels.clone())
                                .or_insert_with(|| Series::new(s.labels.clone())),
                        };
                        match s.h {
                            Some(h) => e.histograms.push(HPoint { t, h }),
                            None => e.floats.push(FPoint { t, f: s.f }),
                        }
                    }
                }
                _ => {
                    return Err(Error::Eval(
                        "range query must return scalar or vector".into(),
                    ));
                }
            }
            if total > self.opts.max_samples {
                return Err(Error::TooManySamples);
            }
            if t == i64::MAX {
                break;
            }
            t = t.saturating_add(step_ms);
        }
        let mut m: Matrix = series.into_values().collect();
        m.sort_by(|a, b| a.labels.cmp(&b.labels));
        let (warnings, infos) = render(&ev.annos, query);
        Ok(QueryResult {
            value: Value::Matrix(m),
            warnings,
            infos,
        })
    }
}

/// Applies delayed `__name__` removal and rejects duplicate label sets.
fn finish_vector(v: Vector, ts: i64) -> Result<Vector> {
    let mut out: Vector = v
        .into_iter()
        .map(|mut s| {
            if s.drop_name {
                s.labels = crate::value::drop_metric_identity(&s.labels);
                s.drop_name = false;
            }
            s.t = ts;
            s
        })
        .collect();
    check_duplicates(&mut out)?;
    Ok(out)
}

fn check_duplicates(v: &mut Vector) -> Result<()> {
    if v.len() > 1 {
        let mut seen = std::collections::HashSet::with_capacity(v.len());
        for s in v.iter() {
            if !seen.insert(&s.labels) {
                return Err(Error::Eval(
                    "vector cannot contain metrics with the same labelset".into(),
                ));
            }
        }
    }
    Ok(())
}

fn finish_matrix(m: Matrix) -> Matrix {
    let mut out: Matrix = m
        .into_iter()
        .map(|mut s| {
            if s.drop_name {
                s.labels = crate::value::drop_metric_identity(&s.labels);
                s.drop_name = false;
            }
            s
        })
        .collect();
    out.sort_by(|a, b| a.labels.cmp(&b.labels));
    out
}

/// Evaluates a constant scalar expression (numbers and arithmetic), used for durations.
pub fn const_fold(e: &Expr) -> Option<f64> {
    fold_with(e, &|_| None)
}

fn fold_with(e: &Expr, f: &dyn Fn(&str) -> Option<f64>) -> Option<f64> {
    match e {
        Expr::Number { val, .. } => Some(*val),
        Expr::Paren { expr, .. } => fold_with(expr, f),
        Expr::Unary { neg, expr, .. } => fold_with(expr, f).map(|v| if *neg { -v } else { v }),
        Expr::Binary(b) => {
            let l = fold_with(&b.lhs, f)?;
            let r = fold_with(&b.rhs, f)?;
            Some(scalar_op(b.op, l, r))
        }
        Expr::Call(c) if c.args.is_empty() => f(&c.func),
        Expr::Call(c) if (c.func == "min_of" || c.func == "max_of") && c.args.len() == 2 => {
            let a = fold_with(&c.args[0], f)?;
            let b = fold_with(&c.args[1], f)?;
            Some(if c.func == "min_of" {
                crate::functions::math::go_min(a, b)
            } else {
                crate::functions::math::go_max(a, b)
            })
        }
        _ => None,
    }
}

fn resolve_durations(e: &mut Expr, start: i64, end: i64, step: i64) -> Result<()> {
    let lookup = |name: &str| -> Option<f64> {
        match name {
            "step" => Some(step as f64 / 1000.0),
            "range" => Some((end - start) as f64 / 1000.0),
            "start" => Some(start as f64 / 1000.0),
            "end" => Some(end as f64 / 1000.0),
            _ => None,
        }
    };
    let fix = |d: &mut DurationValue, positive: bool| -> Result<()> {
        if let DurationValue::Expr(x) = d {
            let v = fold_with(x, &lookup)
                .ok_or_else(|| Error::Eval(format!("cannot evaluate duration expression {x}")))?;
            if !v.is_finite() {
                return Err(Error::Eval(format!(
                    "duration expression {x} is not a finite number"
                )));
            }
            let ms = (v * 1000.0).round() as i64;
            if positive && ms <= 0 {
                return Err(Error::Eval(format!(
                    "duration must be greater than 0, got {}",
                    crate::value::fmt_duration_ms(ms)
                )));
            }
            *d = DurationValue::Ms(ms);
        }
        Ok(())
    };
    match e {
        Expr::Number { .. } | Expr::String { .. } => Ok(()),
        Expr::Paren { expr, .. } | Expr::Unary { expr, .. } => {
            resolve_durations(expr, start, end, step)
        }
        Expr::Binary(b) => {
            resolve_durations(&mut b.lhs, start, end, step)?;
            resolve_durations(&mut b.rhs, start, end, step)
        }
        Expr::Aggregate(a) => {
            if let Some(p) = &mut a.param {
                resolve_durations(p, start, end, step)?;
            }
            resolve_durations(&mut a.expr, start, end, step)
        }
        Expr::Call(c) => {
            for a in &mut c.args {
                resolve_durations(a, start, end, step)?;
            }
            Ok(())
        }
        Expr::Vector(v) => fix(&mut v.offset, false),
        Expr::Matrix(m) => {
            fix(&mut m.vs.offset, false)?;
            fix(&mut m.range, true)
        }
        Expr::Subquery(s) => {
            fix(&mut s.offset, false)?;
            fix(&mut s.range, true)?;
            if let Some(st) = &mut s.step {
                fix(st, true)?;
            }
            resolve_durations(&mut s.expr, start, end, step)
        }
    }
}

/// One inner step of a subquery: its vector and the label fingerprints of its samples.
type CachedStep = Arc<(Vector, Vec<u64>)>;

struct Evaluator<'a> {
    storage: &'a dyn Queryable,
    opts: &'a EngineOptions,
    start: i64,
    end: i64,
    step: i64,
    ranges: HashMap<usize, (i64, i64, i64)>,
    /// Inner results of subqueries per subquery node and inner step: outer steps of a range
    /// query share most inner steps, so each is evaluated once.
    subquery_cache: HashMap<usize, std::collections::BTreeMap<i64, CachedStep>>,
    /// Selectors read only for histogram count/sum (Prometheus' `HistogramStatsIterator`),
    /// whose counter-reset hints are re-detected while reading.
    stats_selectors: std::collections::HashSet<usize>,
    data: HashMap<usize, Arc<Vec<Series>>>,
    /// Per selector and loaded series: the label set holding only the metric name (what
    /// range functions read for annotations), built once per query.
    name_only: HashMap<usize, Vec<Labels>>,
    /// Per selector and loaded series: the labels without the metric identity, built once
    /// per query instead of once per step and series.
    dropped: HashMap<usize, Arc<Vec<Labels>>>,
    /// Per selector: whether its dropped label sets are all distinct.
    dropped_unique: HashMap<usize, bool>,
    /// Per selector and loaded series: the float window bounds of the last evaluated step.
    cursors: HashMap<usize, Vec<(usize, usize)>>,
    /// Per aggregation node: the group of every loaded input series and the group keys.
    #[allow(clippy::type_complexity)]
    group_cache: HashMap<usize, Arc<(Vec<usize>, Vec<Labels>)>>,
    annos: Annos,
    deadline: Instant,
    cancel: Option<&'a CancelToken>,
    step_samples: usize,
}

#[cfg(test)]
thread_local! {
    /// Tests switch the in-place paths off to compare them with the general path.
    static GENERAL_ONLY: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Whether the in-place evaluation paths may be used (always, outside tests).
fn in_place_enabled() -> bool {
    #[cfg(test)]
    if GENERAL_ONLY.with(|c| c.get()) {
        return false;
    }
    true
}

fn key_of(vs: &VectorSelector) -> usize {
    vs as *const VectorSelector as usize
}

impl<'a> Evaluator<'a> {
    fn new(
        storage: &'a dyn Queryable,
        opts: &'a EngineOptions,
        start: i64,
        end: i64,
        step: i64,
        cancel: Option<&'a CancelToken>,
    ) -> Self {
        Self {
            storage,
            opts,
            start,
            end,
            step,
            ranges: HashMap::new(),
            stats_selectors: std::collections::HashSet::new(),
            subquery_cache: HashMap::new(),
            data: HashMap::new(),
            name_only: HashMap::new(),
            dropped: HashMap::new(),
            dropped_unique: HashMap::new(),
            cursors: HashMap::new(),
            group_cache: HashMap::new(),
            annos: Vec::new(),
            deadline: Instant::now() + opts.timeout,
            cancel,
            step_samples: 0,
        }
    }

    fn check_limits(&self) -> Result<()> {
        if self.cancel.is_some_and(|c| c.is_cancelled()) {
            return Err(Error::Canceled("query execution"));
        }
        if Instant::now() > self.deadline {
            return Err(Error::Timeout("query execution"));
        }
        Ok(())
    }

    fn at_time(&self, at: &Option<AtModifier>) -> Option<i64> {
        at.map(|a| match a {
            AtModifier::Timestamp(t) => t,
            AtModifier::Start => self.start,
            AtModifier::End => self.end,
        })
    }

    /// Computes the time range each selector needs (Prometheus' `getTimeRangesForSelector`).
    fn plan(&mut self, e: &Expr) {
        self.plan_rec(e, 0, 0, None);
        self.plan_stats(e, false);
    }

    /// Marks selectors whose nearest enclosing function is `histogram_count`, `histogram_sum`
    /// or `histogram_avg` (not crossing a subquery or a bucket-reading function).
    fn plan_stats(&mut self, e: &Expr, stats: bool) {
        match e {
            Expr::Number { .. } | Expr::String { .. } => {}
            Expr::Paren { expr, .. } | Expr::Unary { expr, .. } => self.plan_stats(expr, stats),
            Expr::Binary(b) => {
                self.plan_stats(&b.lhs, stats);
                self.plan_stats(&b.rhs, stats);
            }
            Expr::Aggregate(a) => {
                if let Some(p) = &a.param {
                    self.plan_stats(p, stats);
                }
                self.plan_stats(&a.expr, stats);
            }
            Expr::Call(c) => {
                let inner = match c.func.as_str() {
                    "histogram_count" | "histogram_sum" | "histogram_avg" => true,
                    "histogram_quantile" | "histogram_quantiles" | "histogram_fraction" => false,
                    _ => stats,
                };
                for a in &c.args {
                    self.plan_stats(a, inner);
                }
            }
            Expr::Vector(vs) => {
                if stats {
                    self.stats_selectors.insert(key_of(vs));
                }
            }
            Expr::Matrix(m) => {
                if stats {
                    self.stats_selectors.insert(key_of(&m.vs));
                }
            }
            Expr::Subquery(s) => self.plan_stats(&s.expr, false),
        }
    }

    fn plan_rec(&mut self, e: &Expr, extra: i64, ahead: i64, anchor: Option<i64>) {
        match e {
            Expr::Number { .. } | Expr::String { .. } => {}
            Expr::Paren { expr, .. } | Expr::Unary { expr, .. } => {
                self.plan_rec(expr, extra, ahead, anchor)
            }
            Expr::Binary(b) => {
                self.plan_rec(&b.lhs, extra, ahead, anchor);
                self.plan_rec(&b.rhs, extra, ahead, anchor);
            }
            Expr::Aggregate(a) => {
                if let Some(p) = &a.param {
                    self.plan_rec(p, extra, ahead, anchor);
                }
                self.plan_rec(&a.expr, extra, ahead, anchor);
            }
            Expr::Call(c) => {
                for a in &c.args {
                    self.plan_rec(a, extra, ahead, anchor);
                }
            }
            Expr::Vector(vs) => self.plan_selector(vs, 0, extra, ahead, anchor),
            Expr::Matrix(m) => self.plan_selector(&m.vs, m.range.ms(), extra, ahead, anchor),
            Expr::Subquery(s) => {
                let anchor = self.at_time(&s.at).or(anchor);
                let step = s
                    .step
                    .as_ref()
                    .map(|d| d.ms())
                    .unwrap_or(self.opts.default_subquery_step_ms);
                self.plan_rec(
                    &s.expr,
                    extra
                        .saturating_add(s.range.ms())
                        .saturating_add(s.offset.ms().max(0))
                        .saturating_add(step),
                    ahead.saturating_add(s.offset.ms().min(0).saturating_neg()),
                    anchor,
                );
            }
        }
    }

    fn plan_selector(
        &mut self,
        vs: &VectorSelector,
        range: i64,
        extra: i64,
        ahead: i64,
        anchor: Option<i64>,
    ) {
        let (mut s, mut e) = match self.at_time(&vs.at).or(anchor) {
            Some(t) => (t, t),
            None => (self.start, self.end),
        };
        if extra > 0 && vs.at.is_none() {
            // Inside subqueries with offsets, be generous in both directions.
            e = e.max(self.end);
        }
        s = s.saturating_sub(
            range
                .saturating_add(self.opts.lookback_delta_ms)
                .saturating_add(extra)
                .saturating_add(vs.offset.ms().max(0)),
        );
        e = e
            .saturating_sub(vs.offset.ms().min(0))
            .saturating_add(ahead);
        if vs.smoothed {
            e = e.saturating_add(self.opts.lookback_delta_ms);
        }
        let k = key_of(vs);
        let entry = self.ranges.entry(k).or_insert((s, e, range));
        entry.0 = entry.0.min(s);
        entry.1 = entry.1.max(e);
        let _ = &mut s;
    }

    fn load(&mut self, vs: &VectorSelector) -> Result<Arc<Vec<Series>>> {
        let k = key_of(vs);
        if let Some(d) = self.data.get(&k) {
            return Ok(d.clone());
        }
        let (s, e, range) = self
            .ranges
            .get(&k)
            .copied()
            .unwrap_or((i64::MIN / 4, i64::MAX / 4, 0));
        let hints = SelectHints {
            start_ms: s,
            end_ms: e,
            step_ms: self.step,
            range_ms: range,
            func: None,
        };
        let mut series = self
            .storage
            .select(&hints, &vs.matchers)
            .map_err(|e| Error::Storage(e.0))?;
        if self.stats_selectors.contains(&k) {
            redetect_counter_resets(&mut series);
        }
        let d = Arc::new(series);
        self.data.insert(k, d.clone());
        Ok(d)
    }

    fn count(&mut self, n: usize) -> Result<()> {
        self.step_samples += n;
        if self.step_samples > self.opts.max_samples {
            return Err(Error::TooManySamples);
        }
        Ok(())
    }

    fn eval_vector_selector(&mut self, vs: &VectorSelector, ts: i64) -> Result<Vector> {
        let t_ref = self
            .at_time(&vs.at)
            .unwrap_or(ts)
            .saturating_sub(vs.offset.ms());
        let data = self.load(vs)?;
        let lo = t_ref.saturating_sub(self.opts.lookback_delta_ms);
        let mut out = Vec::new();
        for s in data.iter() {
            if vs.smoothed
                && let Some(smp) = self.smoothed_sample(s, t_ref, vs.pos)
            {
                if let Some(smp) = smp {
                    out.push(smp);
                }
                continue;
            }
            let fi = s.floats.partition_point(|p| p.t <= t_ref);
            let hi = s.histograms.partition_point(|p| p.t <= t_ref);
            let f = fi.checked_sub(1).map(|i| s.floats[i]).filter(|p| p.t > lo);
            let h = hi
                .checked_sub(1)
                .map(|i| &s.histograms[i])
                .filter(|p| p.t > lo);
            let sample = match (f, h) {
                (Some(f), Some(h)) if h.t > f.t => {
                    Sample::histogram(s.labels.clone(), h.t, h.h.clone())
                }
                (Some(f), _) => {
                    if is_stale_nan(f.f) {
                        continue;
                    }
                    Sample::float(s.labels.clone(), f.t, f.f)
                }
                (None, Some(h)) => Sample::histogram(s.labels.clone(), h.t, h.h.clone()),
                (None, None) => continue,
            };
            out.push(sample);
        }
        self.count(out.len())?;
        Ok(out)
    }

    /// `metric smoothed`: interpolates between the samples around `t`. `None` when the plain
    /// lookback applies (no later sample), `Some(None)` to drop the series.
    fn smoothed_sample(
        &mut self,
        s: &Series,
        t: i64,
        pos: crate::ast::PosRange,
    ) -> Option<Option<Sample>> {
        let lb = self.opts.lookback_delta_ms;
        let fi = s.floats.partition_point(|p| p.t <= t);
        let hi = s.histograms.partition_point(|p| p.t <= t);
        let bf = fi
            .checked_sub(1)
            .map(|i| s.floats[i])
            .filter(|p| p.t > t.saturating_sub(lb) && !is_stale_nan(p.f));
        let bh = hi
            .checked_sub(1)
            .map(|i| &s.histograms[i])
            .filter(|p| p.t > t.saturating_sub(lb));
        let af = s
            .floats
            .get(fi)
            .copied()
            .filter(|p| p.t <= t.saturating_add(lb) && !is_stale_nan(p.f));
        let ah = s.histograms.get(hi).filter(|p| p.t <= t.saturating_add(lb));
        let before_is_h = match (bf, bh) {
            (Some(f), Some(h)) => h.t > f.t,
            (None, Some(_)) => true,
            _ => false,
        };
        let after_is_h = match (af, ah) {
            (Some(f), Some(h)) => h.t < f.t,
            (None, Some(_)) => true,
            _ => false,
        };
        let has_before = bf.is_some() || bh.is_some();
        let has_after = af.is_some() || ah.is_some();
        if !has_before || !has_after {
            return None;
        }
        let bt = if before_is_h {
            bh.map(|p| p.t)
        } else {
            bf.map(|p| p.t)
        }
        .unwrap_or(t);
        if bt == t {
            return None;
        }
        if before_is_h != after_is_h {
            crate::functions::rate::mixed_warning(&mut self.annos, s, pos);
            return Some(None);
        }
        if before_is_h {
            let (b, a) = (bh?, ah?);
            let is_counter = a.h.counter_reset_hint != crate::value::CounterResetHint::Gauge;
            let Some(h) =
                crate::functions::rate::interpolate_histograms(&b.h, b.t, &a.h, a.t, t, is_counter)
            else {
                warn(
                    &mut self.annos,
                    pos,
                    crate::annotations::mixed_schemas(s.labels.metric_name().unwrap_or("")),
                );
                return Some(None);
            };
            return Some(Some(Sample::histogram(s.labels.clone(), t, Arc::new(h))));
        }
        let (b, a) = (bf?, af?);
        let v = b.f + (a.f - b.f) * (t - b.t) as f64 / (a.t - b.t) as f64;
        Some(Some(Sample::float(s.labels.clone(), t, v)))
    }

    fn eval_matrix_selector(&mut self, m: &MatrixSelector, ts: i64) -> Result<(Matrix, i64, i64)> {
        let vs = &m.vs;
        let t_ref = self
            .at_time(&vs.at)
            .unwrap_or(ts)
            .saturating_sub(vs.offset.ms());
        let lo = t_ref.saturating_sub(m.range.ms());
        let data = self.load(vs)?;
        let mut out = Vec::new();
        let mut n = 0;
        for s in data.iter() {
            let a = s.floats.partition_point(|p| p.t <= lo);
            let b = s.floats.partition_point(|p| p.t <= t_ref);
            let ha = s.histograms.partition_point(|p| p.t <= lo);
            let hb = s.histograms.partition_point(|p| p.t <= t_ref);
            let fst = |i: usize| s.float_sts.get(i).copied().unwrap_or(0);
            let hst = |i: usize| s.hist_sts.get(i).copied().unwrap_or(0);
            let mut floats: Vec<FPoint> = Vec::with_capacity(b - a);
            let mut fsts: Vec<i64> = Vec::new();
            for i in a..b {
                if !is_stale_nan(s.floats[i].f) {
                    floats.push(s.floats[i]);
                    fsts.push(fst(i));
                }
            }
            let mut histograms = s.histograms[ha..hb].to_vec();
            let mut hsts: Vec<i64> = (ha..hb).map(hst).collect();
            if (vs.anchored && !(floats.is_empty() && histograms.is_empty())) || vs.smoothed {
                let lb = self.opts.lookback_delta_ms;
                // The latest sample at or before the window start (within the lookback delta).
                let bf = a
                    .checked_sub(1)
                    .filter(|i| s.floats[*i].t > lo.saturating_sub(lb));
                let bh = ha
                    .checked_sub(1)
                    .filter(|i| s.histograms[*i].t > lo.saturating_sub(lb));
                match (bf, bh) {
                    (Some(f), Some(h)) if s.histograms[h].t > s.floats[f].t => {
                        histograms.insert(0, s.histograms[h].clone());
                        hsts.insert(0, hst(h));
                    }
                    (Some(f), _) if !is_stale_nan(s.floats[f].f) => {
                        floats.insert(0, s.floats[f]);
                        fsts.insert(0, fst(f));
                    }
                    (None, Some(h)) => {
                        histograms.insert(0, s.histograms[h].clone());
                        hsts.insert(0, hst(h));
                    }
                    _ => {}
                }
                if vs.smoothed {
                    let af = Some(b).filter(|i| {
                        s.floats
                            .get(*i)
                            .is_some_and(|p| p.t <= t_ref.saturating_add(lb))
                    });
                    let ah = Some(hb).filter(|i| {
                        s.histograms
                            .get(*i)
                            .is_some_and(|p| p.t <= t_ref.saturating_add(lb))
                    });
                    match (af, ah) {
                        (Some(f), Some(h)) if s.histograms[h].t < s.floats[f].t => {
                            histograms.push(s.histograms[h].clone());
                            hsts.push(hst(h));
                        }
                        (Some(f), _) if !is_stale_nan(s.floats[f].f) => {
                            floats.push(s.floats[f]);
                            fsts.push(fst(f));
                        }
                        (None, Some(h)) => {
                            histograms.push(s.histograms[h].clone());
                            hsts.push(hst(h));
                        }
                        _ => {}
                    }
                }
            }
            if floats.is_empty() && histograms.is_empty() {
                continue;
            }
            let has_st = !(s.float_sts.is_empty() && s.hist_sts.is_empty());
            n += floats.len() + histograms.len();
            out.push(Series {
                labels: s.labels.clone(),
                floats,
                histograms,
                drop_name: false,
                float_sts: if has_st { fsts } else { Vec::new() },
                hist_sts: if has_st { hsts } else { Vec::new() },
            });
        }
        self.count(n)?;
        Ok((out, lo, t_ref))
    }

    /// A range-vector function applied straight to a plain matrix selector: the same result
    /// as building the matrix with [`Self::eval_matrix_selector`] and mapping the function
    /// over it, without copying every window and its labels at every step (one reused
    /// scratch window; output labels from per-query caches).
    fn call_over_selector(
        &mut self,
        name: &str,
        m: &MatrixSelector,
        params: &[f64],
        ts: i64,
        pos: crate::ast::PosRange,
        param_pos: crate::ast::PosRange,
    ) -> Result<Value> {
        let (data, values) = self.range_fn_values(name, m, params, ts, pos, param_pos)?;
        let drop_now = !functions::keeps_metric_name(name) && !self.opts.delayed_name_removal;
        let dropped = if drop_now {
            Some(self.dropped_labels(&m.vs, &data))
        } else {
            None
        };
        let mut out = Vec::with_capacity(values.len());
        for (i, r) in values {
            let labels = match &dropped {
                Some(d) => d[i].clone(),
                None => data[i].labels.clone(),
            };
            let mut smp = match r {
                Out::F(f) => Sample::float(labels, ts, f),
                Out::H(h) => Sample::histogram(labels, ts, h),
            };
            smp.drop_name = !drop_now && !functions::keeps_metric_name(name);
            out.push(smp);
        }
        if drop_now {
            check_duplicates(&mut out)?;
        }
        Ok(Value::Vector(out))
    }

    /// An aggregation evaluated straight over a plain float selector or a one-argument range
    /// function of one, without building the input vector: group membership of every loaded
    /// series is computed once per query, so no step clones or hashes input labels. Gives
    /// exactly what [`aggregate`] gives over the vector (same order, same summation order);
    /// `None` where that does not hold (histograms, duplicate label sets after dropping the
    /// name, delayed name removal, other operators), so the general path runs instead.
    fn fused_aggregate(
        &mut self,
        a: &crate::ast::AggregateExpr,
        param: Option<&AggParam>,
        ts: i64,
    ) -> Result<Option<Vector>> {
        use AggOp::*;
        if self.opts.delayed_name_removal
            || !in_place_enabled()
            || !matches!(a.op, Sum | Avg | Count | Min | Max | Group | Topk | Bottomk)
        {
            return Ok(None);
        }
        let k = match (a.op, param) {
            (Topk | Bottomk, Some(AggParam::Scalar(p))) => {
                if p.is_nan() || *p < 1.0 {
                    return Ok(None);
                }
                if *p >= i64::MAX as f64 {
                    usize::MAX
                } else {
                    usize::try_from(*p as i64).unwrap_or(usize::MAX)
                }
            }
            (Topk | Bottomk, _) => return Ok(None),
            _ => 0,
        };
        type Inputs = (
            Arc<Vec<Series>>,
            Vec<(usize, f64)>,
            Option<Arc<Vec<Labels>>>,
        );
        let (data, values, labels): Inputs = match a.expr.unparen() {
            Expr::Vector(vs) if !vs.smoothed => {
                let data = self.load(vs)?;
                if data.iter().any(|s| !s.histograms.is_empty()) {
                    return Ok(None);
                }
                let t_ref = self
                    .at_time(&vs.at)
                    .unwrap_or(ts)
                    .saturating_sub(vs.offset.ms());
                let lo = t_ref.saturating_sub(self.opts.lookback_delta_ms);
                let mut values = Vec::with_capacity(data.len());
                for (i, s) in data.iter().enumerate() {
                    let fi = s.floats.partition_point(|p| p.t <= t_ref);
                    if let Some(p) = fi.checked_sub(1).map(|j| s.floats[j])
                        && p.t > lo
                        && !is_stale_nan(p.f)
                    {
                        values.push((i, p.f));
                    }
                }
                self.count(values.len())?;
                (data, values, None)
            }
            Expr::Call(c) if c.args.len() == 1 => {
                let Expr::Matrix(m) = c.args[0].unparen() else {
                    return Ok(None);
                };
                let name = c.func.as_str();
                let Some(def) = functions::lookup(name) else {
                    return Ok(None);
                };
                if m.vs.anchored
                    || m.vs.smoothed
                    || def.args != [ValueType::Matrix]
                    || def.variadic != 0
                    || name == "absent_over_time"
                {
                    return Ok(None);
                }
                let data = self.load(&m.vs)?;
                if data.iter().any(|s| !s.histograms.is_empty()) {
                    return Ok(None);
                }
                let labels = if functions::keeps_metric_name(name) {
                    None
                } else {
                    let dropped = self.dropped_labels(&m.vs, &data);
                    let unique = *self.dropped_unique.entry(key_of(&m.vs)).or_insert_with(|| {
                        let set: std::collections::HashSet<&Labels> = dropped.iter().collect();
                        set.len() == dropped.len()
                    });
                    if !unique {
                        return Ok(None);
                    }
                    Some(dropped)
                };
                let pos = c.args[0].pos();
                let (data, out) = self.range_fn_values(name, m, &[], ts, pos, pos)?;
                let mut values = Vec::with_capacity(out.len());
                for (i, r) in out {
                    match r {
                        Out::F(f) => values.push((i, f)),
                        Out::H(_) => return Ok(None),
                    }
                }
                (data, values, labels)
            }
            _ => return Ok(None),
        };
        let label_of = |i: usize| -> &Labels {
            match &labels {
                Some(l) => &l[i],
                None => &data[i].labels,
            }
        };
        let agg_key = a as *const crate::ast::AggregateExpr as usize;
        let assign = match self.group_cache.get(&agg_key) {
            Some(g) => Arc::clone(g),
            None => {
                let grouping = Grouping {
                    labels: a.grouping.clone(),
                    without: a.without,
                };
                let mut grouper = crate::aggregation::Grouper::new(&grouping);
                let ids: Vec<usize> = (0..data.len())
                    .map(|i| grouper.group_of(label_of(i)).0)
                    .collect();
                let g = Arc::new((ids, grouper.keys));
                self.group_cache.insert(agg_key, Arc::clone(&g));
                g
            }
        };
        let (ids, keys) = &*assign;
        // Groups in first-appearance order of this step, as the general path forms them.
        let mut slot = vec![usize::MAX; keys.len()];
        let mut order: Vec<usize> = Vec::new();
        let mut members: Vec<Vec<(usize, f64)>> = Vec::new();
        for (i, f) in values {
            let g = ids[i];
            if slot[g] == usize::MAX {
                slot[g] = order.len();
                order.push(g);
                members.push(Vec::new());
            }
            members[slot[g]].push((i, f));
        }
        let mut out = Vec::with_capacity(order.len());
        for (g, mut group) in order.into_iter().zip(members) {
            let f = match a.op {
                Count => group.len() as f64,
                Group => 1.0,
                Sum => {
                    let (mut sum, mut c) = (0.0, 0.0);
                    for (_, f) in &group {
                        (sum, c) = crate::functions::math::kahan_inc(*f, sum, c);
                    }
                    if sum.is_infinite() { sum } else { sum + c }
                }
                Avg => crate::functions::over_time::float_mean(group.iter().map(|x| x.1)),
                Min | Max => {
                    let mut best = group[0].1;
                    for &(_, f) in &group[1..] {
                        let better = if a.op == Max { f > best } else { f < best };
                        if better || best.is_nan() {
                            best = f;
                        }
                    }
                    best
                }
                _ => {
                    if a.op == Topk {
                        group.sort_by(|x, y| crate::aggregation::cmp_desc_nan_last(x.1, y.1));
                    } else {
                        group.sort_by(|x, y| crate::aggregation::cmp_asc_nan_last(x.1, y.1));
                    }
                    group.truncate(k);
                    for (i, f) in group {
                        out.push(Sample::float(label_of(i).clone(), ts, f));
                    }
                    continue;
                }
            };
            out.push(Sample::float(keys[g].clone(), ts, f));
        }
        Ok(Some(out))
    }

    /// A range query whose expression is a one-argument range function of a plain matrix
    /// selector (`rate(x[5m])`), evaluated series by series into the result matrix: every
    /// output series gets its labels once instead of a sample per step that is hashed into
    /// the result. `None` when the expression has another shape or its output label sets
    /// are not all distinct (the general path then reports the collision as Prometheus does).
    fn range_call_in_place(&mut self, expr: &Expr, max_samples: usize) -> Result<Option<Matrix>> {
        let Expr::Call(c) = expr.unparen() else {
            return Ok(None);
        };
        let name = c.func.as_str();
        let (Some(arg), 1) = (c.args.first(), c.args.len()) else {
            return Ok(None);
        };
        let Expr::Matrix(m) = arg.unparen() else {
            return Ok(None);
        };
        let Some(def) = functions::lookup(name) else {
            return Ok(None);
        };
        if !in_place_enabled()
            || m.vs.anchored
            || m.vs.smoothed
            || def.args != [ValueType::Matrix]
            || def.variadic != 0
            || name == "absent_over_time"
        {
            return Ok(None);
        }
        let data = self.load(&m.vs)?;
        let labels: Arc<Vec<Labels>> = if functions::keeps_metric_name(name) {
            Arc::new(data.iter().map(|s| s.labels.clone()).collect())
        } else {
            let dropped = self.dropped_labels(&m.vs, &data);
            let set: std::collections::HashSet<&Labels> = dropped.iter().collect();
            if set.len() != dropped.len() {
                return Ok(None);
            }
            dropped
        };
        let mut out: Vec<Option<Series>> = vec![None; data.len()];
        let pos = arg.pos();
        let mut total = 0usize;
        let mut t = self.start;
        while t <= self.end {
            self.check_limits()?;
            self.step_samples = 0;
            let (_, values) = self.range_fn_values(name, m, &[], t, pos, pos)?;
            total += values.len();
            if total > max_samples {
                return Err(Error::TooManySamples);
            }
            for (i, r) in values {
                let s = out[i].get_or_insert_with(|| Series::new(labels[i].clone()));
                match r {
                    Out::F(f) => s.floats.push(FPoint { t, f }),
                    Out::H(h) => s.histograms.push(HPoint { t, h }),
                }
            }
            if t == i64::MAX {
                break;
            }
            t = t.saturating_add(self.step);
        }
        let mut m: Matrix = out.into_iter().flatten().collect();
        m.sort_by(|a, b| a.labels.cmp(&b.labels));
        Ok(Some(m))
    }

    /// Labels of the selector's loaded series without the metric identity (cached per query).
    fn dropped_labels(&mut self, vs: &VectorSelector, data: &[Series]) -> Arc<Vec<Labels>> {
        Arc::clone(self.dropped.entry(key_of(vs)).or_insert_with(|| {
            Arc::new(
                data.iter()
                    .map(|s| crate::value::drop_metric_identity(&s.labels))
                    .collect(),
            )
        }))
    }

    /// The results of range function `name` over each loaded series of a plain matrix
    /// selector at `ts`, as `(series index, value)` in series order.
    #[allow(clippy::type_complexity)]
    fn range_fn_values(
        &mut self,
        name: &str,
        m: &MatrixSelector,
        params: &[f64],
        ts: i64,
        pos: crate::ast::PosRange,
        param_pos: crate::ast::PosRange,
    ) -> Result<(Arc<Vec<Series>>, Vec<(usize, Out)>)> {
        let vs = &m.vs;
        let t_ref = self
            .at_time(&vs.at)
            .unwrap_or(ts)
            .saturating_sub(vs.offset.ms());
        let lo = t_ref.saturating_sub(m.range.ms());
        let data = self.load(vs)?;
        let k = key_of(vs);
        let ctx = RangeCtx {
            ts,
            range_start: lo,
            range_end: t_ref,
            pos,
            param_pos,
            smoothed: false,
            anchored: false,
        };
        let window = |s: &Series| {
            (
                s.floats.partition_point(|p| p.t <= lo),
                s.floats.partition_point(|p| p.t <= t_ref),
                s.histograms.partition_point(|p| p.t <= lo),
                s.histograms.partition_point(|p| p.t <= t_ref),
            )
        };
        if matches!(name, "rate" | "increase") {
            for s in data.iter() {
                let n = s.labels.metric_name().unwrap_or("");
                if n.is_empty()
                    || ["_total", "_sum", "_count", "_bucket"]
                        .iter()
                        .any(|suf| n.ends_with(suf))
                {
                    continue;
                }
                let (a, b, ha, hb) = window(s);
                if ha == hb && s.floats[a..b].iter().any(|p| !is_stale_nan(p.f)) {
                    crate::annotations::info(
                        &mut self.annos,
                        pos,
                        format!(
                            "metric might not be a counter, name does not end in _total/_sum/_count/_bucket: {}",
                            lgtm_common::labels::quote(n)
                        ),
                    );
                }
            }
        }
        let mut names = self.name_only.remove(&k).unwrap_or_else(|| {
            data.iter()
                .map(|s| s.labels.keep(&[lgtm_common::labels::METRIC_NAME]))
                .collect()
        });
        let mut scratch = Series::new(Labels::empty());
        let mut out = Vec::new();
        let mut result = Ok(());
        let direct = matches!(
            name,
            "count_over_time"
                | "sum_over_time"
                | "avg_over_time"
                | "min_over_time"
                | "max_over_time"
                | "last_over_time"
        );
        // Window bounds of the previous step per series: steps move forward, so the new
        // bounds are found by scanning the few new samples instead of a binary search over
        // the series (which misses the cache for long series).
        let mut cursors = self
            .cursors
            .remove(&k)
            .filter(|c| c.len() == data.len())
            .unwrap_or_else(|| vec![(0, 0); data.len()]);
        for (i, s) in data.iter().enumerate() {
            let (a, b) = (
                seek(&s.floats, cursors[i].0, lo),
                seek(&s.floats, cursors[i].1, t_ref),
            );
            cursors[i] = (a, b);
            let (ha, hb) = if s.histograms.is_empty() {
                (0, 0)
            } else {
                (
                    s.histograms.partition_point(|p| p.t <= lo),
                    s.histograms.partition_point(|p| p.t <= t_ref),
                )
            };
            if direct && s.histograms.is_empty() && s.float_sts.is_empty() {
                // Float-only windows of the simple `*_over_time` functions are read in place.
                let live = || {
                    s.floats[a..b]
                        .iter()
                        .map(|p| p.f)
                        .filter(|f| !is_stale_nan(*f))
                };
                let n = live().count();
                if n == 0 {
                    continue;
                }
                if let Err(e) = self.count(n) {
                    result = Err(e);
                    break;
                }
                out.push((i, Out::F(float_window_fn(name, n, live))));
                continue;
            }
            scratch.floats.clear();
            scratch.float_sts.clear();
            scratch.histograms.clear();
            scratch.hist_sts.clear();
            let has_st = !(s.float_sts.is_empty() && s.hist_sts.is_empty());
            for j in a..b {
                if !is_stale_nan(s.floats[j].f) {
                    scratch.floats.push(s.floats[j]);
                    if has_st {
                        scratch
                            .float_sts
                            .push(s.float_sts.get(j).copied().unwrap_or(0));
                    }
                }
            }
            scratch.histograms.extend_from_slice(&s.histograms[ha..hb]);
            if has_st {
                scratch
                    .hist_sts
                    .extend((ha..hb).map(|j| s.hist_sts.get(j).copied().unwrap_or(0)));
            }
            if scratch.floats.is_empty() && scratch.histograms.is_empty() {
                continue;
            }
            if let Err(e) = self.count(scratch.floats.len() + scratch.histograms.len()) {
                result = Err(e);
                break;
            }
            std::mem::swap(&mut scratch.labels, &mut names[i]);
            let r = apply_range_fn(name, &scratch, &ctx, params, &mut self.annos);
            std::mem::swap(&mut scratch.labels, &mut names[i]);
            match r {
                Ok(Some(r)) => out.push((i, r)),
                Ok(None) => {}
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }
        self.name_only.insert(k, names);
        self.cursors.insert(k, cursors);
        result?;
        Ok((data, out))
    }

    fn eval_subquery(&mut self, s: &SubqueryExpr, ts: i64) -> Result<(Matrix, i64, i64)> {
        let t_ref = self
            .at_time(&s.at)
            .unwrap_or(ts)
            .saturating_sub(s.offset.ms());
        let step = s
            .step
            .as_ref()
            .map(|d| d.ms())
            .unwrap_or(self.opts.default_subquery_step_ms)
            .max(1);
        let range = s.range.ms();
        let lo = t_ref.saturating_sub(range);
        let mut t = step * (lo / step);
        if t <= lo {
            t = t.saturating_add(step);
        }
        // Series by label fingerprint (collisions fall back to a linear check).
        let mut index: HashMap<u64, Vec<usize>> = HashMap::new();
        let mut out: Matrix = Vec::new();
        let saved = self.step_samples;
        let mut n = 0;
        let key = s as *const SubqueryExpr as usize;
        let mut last_raw: Vec<Option<Arc<crate::value::FloatHistogram>>> = Vec::new();
        // Inner steps at or before `lo` will not be needed again by later (larger) outer steps.
        if let Some(cache) = self.subquery_cache.get_mut(&key) {
            let keep = cache.split_off(&(lo + 1));
            *cache = keep;
        }
        while t <= t_ref {
            self.check_limits()?;
            let cached = self
                .subquery_cache
                .get(&key)
                .and_then(|c| c.get(&t))
                .cloned();
            let v = match cached {
                Some(v) => v,
                None => {
                    let v = match self.eval(&s.expr, t)? {
                        Value::Vector(v) => v,
                        Value::Scalar { v, .. } => vec![Sample::float(Labels::empty(), t, v)],
                        _ => return Err(Error::Eval("subquery must be an instant vector".into())),
                    };
                    let fps = v.iter().map(|s| s.labels.fingerprint()).collect();
                    let v = Arc::new((v, fps));
                    self.subquery_cache
                        .entry(key)
                        .or_default()
                        .insert(t, v.clone());
                    v
                }
            };
            self.step_samples = saved + n;
            let (vec, fps) = &*v;
            for (smp, fp) in vec.iter().zip(fps) {
                let slot = index.entry(*fp).or_default();
                let i = match slot.iter().copied().find(|&i| out[i].labels == smp.labels) {
                    Some(i) => i,
                    None => {
                        slot.push(out.len());
                        out.push(Series::new(smp.labels.clone()));
                        last_raw.push(None);
                        out.len() - 1
                    }
                };
                let ser = &mut out[i];
                ser.drop_name |= smp.drop_name;
                match &smp.h {
                    Some(h) => {
                        // Hints describe consecutive raw samples; a subquery compares other
                        // pairs, so only a repeated sample keeps "not reset".
                        use crate::value::CounterResetHint as H;
                        let same = last_raw[i].as_ref().is_some_and(|p| Arc::ptr_eq(p, h));
                        last_raw[i] = Some(h.clone());
                        let out_h = if h.counter_reset_hint == H::Gauge {
                            h.clone()
                        } else {
                            let want = if same { H::NotReset } else { H::Unknown };
                            if h.counter_reset_hint == want {
                                h.clone()
                            } else {
                                let mut x = (**h).clone();
                                x.counter_reset_hint = want;
                                Arc::new(x)
                            }
                        };
                        ser.histograms.push(HPoint { t, h: out_h });
                    }
                    None => ser.floats.push(FPoint { t, f: smp.f }),
                }
                n += 1;
            }
            self.count(0)?;
            t = t.saturating_add(step);
            if t == i64::MAX {
                break;
            }
        }
        self.step_samples = saved;
        self.count(n)?;
        out.sort_by(|a, b| a.labels.cmp(&b.labels));
        Ok((out, lo, t_ref))
    }

    /// A range argument of a function: its matrix and window.
    fn eval_range_arg(&mut self, e: &Expr, ts: i64) -> Result<(Matrix, i64, i64)> {
        match e {
            Expr::Paren { expr, .. } => self.eval_range_arg(expr, ts),
            Expr::Matrix(m) => self.eval_matrix_selector(m, ts),
            Expr::Subquery(s) => self.eval_subquery(s, ts),
            other => Err(Error::Eval(format!("expected range vector, got {other}"))),
        }
    }

    fn eval_scalar(&mut self, e: &Expr, ts: i64) -> Result<f64> {
        match self.eval(e, ts)? {
            Value::Scalar { v, .. } => Ok(v),
            _ => Err(Error::Eval("expected scalar".into())),
        }
    }

    fn eval_vector(&mut self, e: &Expr, ts: i64) -> Result<Vector> {
        match self.eval(e, ts)? {
            Value::Vector(v) => Ok(v),
            _ => Err(Error::Eval("expected instant vector".into())),
        }
    }

    fn eval_string(&mut self, e: &Expr, ts: i64) -> Result<String> {
        match self.eval(e, ts)? {
            Value::String { v, .. } => Ok(v),
            _ => Err(Error::Eval("expected string".into())),
        }
    }

    fn eval(&mut self, e: &Expr, ts: i64) -> Result<Value> {
        let v = self.eval_node(e, ts)?;
        if self.opts.delayed_name_removal {
            return Ok(v);
        }
        // Without delayed removal, a name-dropping operation drops the name right away.
        Ok(match v {
            Value::Vector(mut v) => {
                let mut dropped = false;
                for s in v.iter_mut().filter(|s| s.drop_name) {
                    s.labels = crate::value::drop_metric_identity(&s.labels);
                    s.drop_name = false;
                    dropped = true;
                }
                if dropped {
                    check_duplicates(&mut v)?;
                }
                Value::Vector(v)
            }
            Value::Matrix(mut m) => {
                for s in m.iter_mut().filter(|s| s.drop_name) {
                    s.labels = crate::value::drop_metric_identity(&s.labels);
                    s.drop_name = false;
                }
                Value::Matrix(m)
            }
            other => other,
        })
    }

    fn eval_node(&mut self, e: &Expr, ts: i64) -> Result<Value> {
        match e {
            Expr::Number { val, .. } => Ok(Value::Scalar { t: ts, v: *val }),
            Expr::String { val, .. } => Ok(Value::String {
                t: ts,
                v: val.clone(),
            }),
            Expr::Paren { expr, .. } => self.eval(expr, ts),
            Expr::Unary { neg, expr, .. } => {
                let v = self.eval(expr, ts)?;
                if !*neg {
                    return Ok(v);
                }
                Ok(match v {
                    Value::Scalar { t, v } => Value::Scalar { t, v: -v },
                    Value::Vector(v) => Value::Vector(
                        v.into_iter()
                            .map(|mut s| {
                                s.f = -s.f;
                                if let Some(h) = &s.h {
                                    let mut h = (**h).clone();
                                    h.mul(-1.0);
                                    h.counter_reset_hint = crate::value::CounterResetHint::Gauge;
                                    s.h = Some(Arc::new(h));
                                }
                                s.drop_name = true;
                                s.t = ts;
                                s
                            })
                            .collect(),
                    ),
                    other => other,
                })
            }
            Expr::Binary(b) => {
                let lt = b.lhs.value_type();
                let rt = b.rhs.value_type();
                let pos = b.pos;
                if lt == ValueType::Scalar && rt == ValueType::Scalar {
                    let l = self.eval_scalar(&b.lhs, ts)?;
                    let r = self.eval_scalar(&b.rhs, ts)?;
                    return Ok(Value::Scalar {
                        t: ts,
                        v: scalar_op(b.op, l, r),
                    });
                }
                if lt == ValueType::Vector && rt == ValueType::Vector {
                    let l = self.eval_vector(&b.lhs, ts)?;
                    if l.is_empty() && matches!(b.op, BinOp::And) {
                        return Ok(Value::Vector(Vec::new()));
                    }
                    let r = self.eval_vector(&b.rhs, ts)?;
                    let default = VectorMatching::new(if b.op.is_set() {
                        Card::ManyToMany
                    } else {
                        Card::OneToOne
                    });
                    let m = b.matching.as_ref().unwrap_or(&default);
                    let mut out =
                        vector_vector(b.op, l, r, m, b.return_bool, ts, pos, &mut self.annos)?;
                    if !b.op.is_set() {
                        for s in &mut out {
                            s.t = ts;
                        }
                    }
                    return Ok(Value::Vector(out));
                }
                if lt == ValueType::Vector {
                    let l = self.eval_vector(&b.lhs, ts)?;
                    let r = self.eval_scalar(&b.rhs, ts)?;
                    Ok(Value::Vector(vector_scalar(
                        b.op,
                        l,
                        r,
                        false,
                        b.return_bool,
                        ts,
                        pos,
                        &mut self.annos,
                    )))
                } else {
                    let l = self.eval_scalar(&b.lhs, ts)?;
                    let r = self.eval_vector(&b.rhs, ts)?;
                    Ok(Value::Vector(vector_scalar(
                        b.op,
                        r,
                        l,
                        true,
                        b.return_bool,
                        ts,
                        pos,
                        &mut self.annos,
                    )))
                }
            }
            Expr::Aggregate(a) => {
                let param = match &a.param {
                    Some(p) if a.op == AggOp::CountValues => {
                        Some(AggParam::String(self.eval_string(p, ts)?))
                    }
                    Some(p) => Some(AggParam::Scalar(self.eval_scalar(p, ts)?)),
                    None => None,
                };
                if let Some(v) = self.fused_aggregate(a, param.as_ref(), ts)? {
                    return Ok(Value::Vector(v));
                }
                let v = self.eval_vector(&a.expr, ts)?;
                let grouping = Grouping {
                    labels: a.grouping.clone(),
                    without: a.without,
                };
                let pos = AggPos {
                    expr: a.expr.pos(),
                    param: a.param.as_ref().map(|p| p.pos()).unwrap_or_default(),
                };
                Ok(Value::Vector(aggregate(
                    a.op,
                    v,
                    param.as_ref(),
                    &grouping,
                    ts,
                    pos,
                    &mut self.annos,
                )?))
            }
            Expr::Call(c) => self.eval_call(c, ts),
            Expr::Vector(vs) => Ok(Value::Vector(self.eval_vector_selector(vs, ts)?)),
            Expr::Matrix(m) => Ok(Value::Matrix(self.eval_matrix_selector(m, ts)?.0)),
            Expr::Subquery(s) => Ok(Value::Matrix(self.eval_subquery(s, ts)?.0)),
        }
    }

    fn eval_call(&mut self, c: &crate::ast::Call, ts: i64) -> Result<Value> {
        let name = c.func.as_str();
        let def = functions::lookup(name)
            .ok_or_else(|| Error::Eval(format!("unknown function {name}")))?;
        // The parser checks arity; hand-built trees get an error instead of a panic.
        let fixed = def.args.len();
        let min = if def.variadic != 0 {
            fixed.saturating_sub(1)
        } else {
            fixed
        };
        let max = match def.variadic {
            0 => fixed,
            v if v < 0 => usize::MAX,
            v => min + v as usize,
        };
        if c.args.len() < min || c.args.len() > max {
            return Err(Error::Eval(format!(
                "wrong number of arguments in call to {name:?}"
            )));
        }
        // Range-vector functions.
        if let Some(mi) = def.args.iter().position(|t| *t == ValueType::Matrix) {
            let mut params = Vec::new();
            for (i, a) in c.args.iter().enumerate() {
                if i != mi {
                    params.push(self.eval_scalar(a, ts)?);
                }
            }
            let arg = &c.args[mi];
            let inner = arg.unparen();
            if let Expr::Matrix(m) = inner
                && (m.vs.anchored || m.vs.smoothed)
            {
                let (which, allowed): (&str, &[&str]) = if m.vs.anchored {
                    (
                        "anchored",
                        &["changes", "delta", "increase", "rate", "resets"],
                    )
                } else {
                    ("smoothed", &["delta", "increase", "rate"])
                };
                if !allowed.contains(&name) {
                    return Err(Error::Eval(format!(
                        "{which} modifier can only be used with: {} - not with {name}",
                        allowed.join(", ")
                    )));
                }
            }
            if let Expr::Matrix(m) = inner
                && !m.vs.anchored
                && !m.vs.smoothed
                && name != "absent_over_time"
                && in_place_enabled()
            {
                let param_pos = c.args.first().map(|a| a.pos()).unwrap_or_default();
                return self.call_over_selector(name, m, &params, ts, arg.pos(), param_pos);
            }
            let (matrix, lo, hi) = self.eval_range_arg(arg, ts)?;
            let ctx = RangeCtx {
                ts,
                range_start: lo,
                range_end: hi,
                pos: arg.pos(),
                param_pos: c.args.first().map(|a| a.pos()).unwrap_or_default(),
                smoothed: matches!(inner, Expr::Matrix(m) if m.vs.smoothed),
                anchored: matches!(inner, Expr::Matrix(m) if m.vs.anchored),
            };
            if name == "absent_over_time" {
                if matrix.is_empty() {
                    let labels = match inner {
                        Expr::Matrix(m) => functions::absent::absent_labels(&m.vs),
                        _ => Labels::empty(),
                    };
                    return Ok(Value::Vector(vec![Sample::float(labels, ts, 1.0)]));
                }
                return Ok(Value::Vector(Vec::new()));
            }
            if matches!(name, "rate" | "increase") {
                for s in &matrix {
                    if s.histograms.is_empty() && !s.floats.is_empty() {
                        let n = s.labels.metric_name().unwrap_or("");
                        if !n.is_empty()
                            && !["_total", "_sum", "_count", "_bucket"]
                                .iter()
                                .any(|suf| n.ends_with(suf))
                        {
                            crate::annotations::info(
                                &mut self.annos,
                                ctx.pos,
                                format!(
                                    "metric might not be a counter, name does not end in _total/_sum/_count/_bucket: {}",
                                    lgtm_common::labels::quote(n)
                                ),
                            );
                        }
                    }
                }
            }
            let mut out = Vec::with_capacity(matrix.len());
            for s in &matrix {
                let r = apply_range_fn(name, s, &ctx, &params, &mut self.annos)?;
                let Some(r) = r else { continue };
                let drop_name = s.drop_name || !functions::keeps_metric_name(name);
                let mut smp = match r {
                    Out::F(f) => Sample::float(s.labels.clone(), ts, f),
                    Out::H(h) => Sample::histogram(s.labels.clone(), ts, h),
                };
                smp.drop_name = drop_name;
                out.push(smp);
            }
            return Ok(Value::Vector(out));
        }
        match name {
            "time" => {
                return Ok(Value::Scalar {
                    t: ts,
                    v: ts as f64 / 1000.0,
                });
            }
            "pi" => {
                return Ok(Value::Scalar {
                    t: ts,
                    v: std::f64::consts::PI,
                });
            }
            "start" => {
                return Ok(Value::Scalar {
                    t: ts,
                    v: self.start as f64 / 1000.0,
                });
            }
            "end" => {
                return Ok(Value::Scalar {
                    t: ts,
                    v: self.end as f64 / 1000.0,
                });
            }
            "step" => {
                return Ok(Value::Scalar {
                    t: ts,
                    v: self.step as f64 / 1000.0,
                });
            }
            "range" => {
                return Ok(Value::Scalar {
                    t: ts,
                    v: (self.end - self.start) as f64 / 1000.0,
                });
            }
            "min_of" | "max_of" => {
                let a = self.eval_scalar(&c.args[0], ts)?;
                let b = self.eval_scalar(&c.args[1], ts)?;
                let v = if name == "min_of" {
                    functions::math::go_min(a, b)
                } else {
                    functions::math::go_max(a, b)
                };
                return Ok(Value::Scalar { t: ts, v });
            }
            "vector" => {
                let v = self.eval_scalar(&c.args[0], ts)?;
                return Ok(Value::Vector(vec![Sample::float(Labels::empty(), ts, v)]));
            }
            "scalar" => {
                let v = self.eval_vector(&c.args[0], ts)?;
                let floats: Vec<f64> = v.iter().filter(|s| s.h.is_none()).map(|s| s.f).collect();
                let f = if floats.len() == 1 {
                    floats[0]
                } else {
                    f64::NAN
                };
                return Ok(Value::Scalar { t: ts, v: f });
            }
            _ => {}
        }
        if name == "start_timestamp" {
            // Start timestamps only reach a function directly applied to a selector.
            let Expr::Vector(vs) = c.args[0].unparen() else {
                self.eval(&c.args[0], ts)?;
                return Ok(Value::Vector(Vec::new()));
            };
            let t_ref = self
                .at_time(&vs.at)
                .unwrap_or(ts)
                .saturating_sub(vs.offset.ms());
            let lo = t_ref.saturating_sub(self.opts.lookback_delta_ms);
            let data = self.load(vs)?;
            let mut out = Vec::new();
            for s in data.iter() {
                let fi = s.floats.partition_point(|p| p.t <= t_ref);
                let hi = s.histograms.partition_point(|p| p.t <= t_ref);
                let f = fi.checked_sub(1).filter(|i| s.floats[*i].t > lo);
                let h = hi.checked_sub(1).filter(|i| s.histograms[*i].t > lo);
                let st = match (f, h) {
                    (Some(f), Some(h)) if s.histograms[h].t > s.floats[f].t => s.hist_st(h),
                    (Some(f), _) if is_stale_nan(s.floats[f].f) => continue,
                    (Some(f), _) => s.float_st(f),
                    (None, Some(h)) => s.hist_st(h),
                    (None, None) => continue,
                };
                let mut smp = Sample::float(s.labels.clone(), ts, st as f64 / 1000.0);
                smp.drop_name = true;
                out.push(smp);
            }
            return Ok(Value::Vector(out));
        }
        if name == "info" {
            let base = self.eval_vector(&c.args[0], ts)?;
            let sel: Vec<lgtm_common::labels::Matcher> = match c.args.get(1).map(|a| a.unparen()) {
                Some(Expr::Vector(vs)) => vs.matchers.clone(),
                _ => Vec::new(),
            };
            let (names, data) = functions::info::split_matchers(&sel);
            let t = info_time(&c.args[0], ts, self);
            let lb = self.opts.lookback_delta_ms;
            let hints = SelectHints {
                start_ms: t.saturating_sub(lb).saturating_add(1),
                end_ms: t,
                step_ms: self.step,
                range_ms: 0,
                func: Some("info".into()),
            };
            let series = self
                .storage
                .select(&hints, &names)
                .map_err(|e| Error::Storage(e.0))?;
            let mut infos = Vec::new();
            for s in &series {
                let f = s.floats.last();
                let h = s.histograms.last();
                match (f, h) {
                    (Some(f), Some(h)) if h.t > f.t => {
                        infos.push(Sample::histogram(s.labels.clone(), h.t, h.h.clone()))
                    }
                    (Some(f), _) if !is_stale_nan(f.f) => {
                        infos.push(Sample::float(s.labels.clone(), f.t, f.f))
                    }
                    (None, Some(h)) => {
                        infos.push(Sample::histogram(s.labels.clone(), h.t, h.h.clone()))
                    }
                    _ => {}
                }
            }
            return Ok(Value::Vector(functions::info::enrich(
                base, &infos, &names, &data,
            )?));
        }
        // Date functions default to vector(time()).
        if functions::time::calendar(name, 0.0).is_some() {
            let v = if c.args.is_empty() {
                vec![Sample::float(Labels::empty(), ts, ts as f64 / 1000.0)]
            } else {
                self.eval_vector(&c.args[0], ts)?
            };
            let out = v
                .into_iter()
                .filter(|s| s.h.is_none())
                .filter_map(|s| {
                    let f = functions::time::calendar(name, s.f)?;
                    Some(Sample {
                        labels: s.labels,
                        t: ts,
                        f,
                        h: None,
                        drop_name: true,
                    })
                })
                .collect();
            return Ok(Value::Vector(out));
        }
        let mut scalars = Vec::new();
        let mut strings = Vec::new();
        let mut vector = None;
        let mut vector_pos = c.pos;
        for a in &c.args {
            match a.value_type() {
                ValueType::Scalar => scalars.push(self.eval_scalar(a, ts)?),
                ValueType::String => strings.push(self.eval_string(a, ts)?),
                ValueType::Vector if vector.is_none() => {
                    vector_pos = a.pos();
                    vector = Some(self.eval_vector(a, ts)?);
                }
                _ => {
                    self.eval(a, ts)?;
                }
            }
        }
        let v = vector.unwrap_or_default();
        let map_floats = |v: Vector, f: &dyn Fn(f64) -> f64| -> Vector {
            v.into_iter()
                .filter(|s| s.h.is_none())
                .map(|s| Sample {
                    labels: s.labels,
                    t: ts,
                    f: f(s.f),
                    h: None,
                    drop_name: true,
                })
                .collect()
        };
        let out = match name {
            n if functions::math::unary(n, 0.0).is_some() => {
                map_floats(v, &|x| functions::math::unary(n, x).unwrap_or(f64::NAN))
            }
            "round" => {
                let to = scalars.first().copied().unwrap_or(1.0);
                map_floats(v, &|x| functions::math::round(x, to))
            }
            "clamp" => {
                let (lo, hi) = (sc(&scalars, 0), sc(&scalars, 1));
                if lo > hi {
                    Vec::new()
                } else {
                    map_floats(v, &|x| functions::math::clamp(x, lo, hi))
                }
            }
            "clamp_min" => {
                let lo = sc(&scalars, 0);
                map_floats(v, &|x| functions::math::go_max(lo, x))
            }
            "clamp_max" => {
                let hi = sc(&scalars, 0);
                map_floats(v, &|x| functions::math::go_min(hi, x))
            }
            "timestamp" => v
                .into_iter()
                .map(|s| Sample {
                    labels: s.labels,
                    t: ts,
                    f: s.t as f64 / 1000.0,
                    h: None,
                    drop_name: true,
                })
                .collect(),
            "absent" => {
                if v.is_empty() {
                    let labels = match c.args[0].unparen() {
                        Expr::Vector(vs) => functions::absent::absent_labels(vs),
                        _ => Labels::empty(),
                    };
                    vec![Sample::float(labels, ts, 1.0)]
                } else {
                    Vec::new()
                }
            }
            "sort" | "sort_desc" => {
                if self.step != 0 {
                    warn(
                        &mut self.annos,
                        c.pos,
                        "sort is ineffective for range queries since results are always ordered by labels",
                    );
                }
                functions::sort::sort_by_value(v, name == "sort_desc")
            }
            "sort_by_label" | "sort_by_label_desc" => {
                if self.step != 0 {
                    warn(
                        &mut self.annos,
                        c.pos,
                        "sort is ineffective for range queries since results are always ordered by labels",
                    );
                }
                functions::sort::sort_by_label(v, &strings, name == "sort_by_label_desc")
            }
            "label_replace" => {
                let mut out = functions::labels::label_replace(
                    v,
                    st(&strings, 0),
                    st(&strings, 1),
                    st(&strings, 2),
                    st(&strings, 3),
                )?;
                check_duplicates_pending(&mut out)?;
                out
            }
            "label_join" => {
                let mut out = functions::labels::label_join(
                    v,
                    st(&strings, 0),
                    st(&strings, 1),
                    strings.get(2..).unwrap_or(&[]),
                )?;
                check_duplicates_pending(&mut out)?;
                out
            }
            "histogram_count" | "histogram_sum" | "histogram_avg" | "histogram_stddev"
            | "histogram_stdvar" => v
                .into_iter()
                .filter_map(|s| {
                    let h = s.h?;
                    let f = match name {
                        "histogram_count" => h.count,
                        "histogram_sum" => h.sum,
                        "histogram_avg" => h.sum / h.count,
                        "histogram_stddev" => h.stdvar().sqrt(),
                        _ => h.stdvar(),
                    };
                    Some(Sample {
                        labels: s.labels,
                        t: ts,
                        f,
                        h: None,
                        drop_name: true,
                    })
                })
                .collect(),
            "histogram_fraction" => functions::histogram::histogram_fraction(
                sc(&scalars, 0),
                sc(&scalars, 1),
                v,
                ts,
                vector_pos,
                &mut self.annos,
            ),
            "histogram_quantile" => {
                let ppos = c.args[0].pos();
                functions::histogram::histogram_quantile(
                    sc(&scalars, 0),
                    v,
                    ts,
                    ppos,
                    vector_pos,
                    &mut self.annos,
                )
            }
            "histogram_quantiles" => {
                let label = strings.first().cloned().unwrap_or_default();
                let mut out = Vec::new();
                for (i, q) in scalars.iter().enumerate() {
                    let ppos = c.args.get(2 + i).map(|a| a.pos()).unwrap_or_default();
                    let r = functions::histogram::histogram_quantile(
                        *q,
                        v.clone(),
                        ts,
                        ppos,
                        vector_pos,
                        &mut self.annos,
                    );
                    for mut s in r {
                        let mut qs = crate::value::fmt_float_f(*q);
                        if q.is_finite() && !qs.contains(['.', 'e']) {
                            qs.push_str(".0");
                        }
                        s.labels = s.labels.with(&label, &qs);
                        out.push(s);
                    }
                }
                out
            }
            other => return Err(Error::Eval(format!("function {other:?} is not supported"))),
        };
        Ok(Value::Vector(out))
    }
}

/// The time at which `info()` looks up info series: the base expression's own time
/// (honouring its `@` and `offset`).
/// How many of `points` have `t <= bound`, starting from `from`, a count for an earlier
/// (smaller or equal) bound when it is still valid: a short forward scan, else a binary search.
fn seek(points: &[FPoint], from: usize, bound: i64) -> usize {
    if from > points.len() || (from > 0 && points[from - 1].t > bound) {
        return points.partition_point(|p| p.t <= bound);
    }
    let mut i = from;
    while i < points.len() && points[i].t <= bound {
        i += 1;
        if i - from > 32 {
            return i + points[i..].partition_point(|p| p.t <= bound);
        }
    }
    i
}

/// `count|sum|avg|min|max|last_over_time` over a non-empty float-only window of `n` values
/// (what [`functions::over_time::eval`] computes for such a window, in the same order).
fn float_window_fn<I: Iterator<Item = f64> + Clone>(
    name: &str,
    n: usize,
    values: impl Fn() -> I,
) -> f64 {
    match name {
        "count_over_time" => n as f64,
        "sum_over_time" => {
            let (mut sum, mut c) = (0.0, 0.0);
            for v in values() {
                (sum, c) = crate::functions::math::kahan_inc(v, sum, c);
            }
            if sum.is_infinite() { sum } else { sum + c }
        }
        "avg_over_time" => crate::functions::over_time::float_mean(values()),
        "last_over_time" => values().last().unwrap_or(f64::NAN),
        _ => {
            let is_max = name == "max_over_time";
            let mut it = values();
            let mut best = it.next().unwrap_or(f64::NAN);
            for f in it {
                let better = if is_max { f > best } else { f < best };
                if better || best.is_nan() {
                    best = f;
                }
            }
            best
        }
    }
}

/// Applies range-vector function `name` to one series' window.
fn apply_range_fn(
    name: &str,
    s: &Series,
    ctx: &RangeCtx,
    params: &[f64],
    annos: &mut Annos,
) -> Result<Option<Out>> {
    Ok(match name {
        "rate" | "increase" | "delta" if ctx.smoothed || ctx.anchored => {
            functions::rate::extended_rate(s, ctx, name != "delta", name == "rate", annos)
        }
        "rate" => functions::rate::extrapolated_rate(s, ctx, true, true, annos),
        "increase" => functions::rate::extrapolated_rate(s, ctx, true, false, annos),
        "delta" => functions::rate::extrapolated_rate(s, ctx, false, false, annos),
        "irate" => functions::rate::instant_value(s, ctx, true, annos),
        "idelta" => functions::rate::instant_value(s, ctx, false, annos),
        "deriv" => functions::rate::deriv(s, ctx, annos),
        "predict_linear" => {
            functions::rate::predict_linear(s, ctx, params.first().copied().unwrap_or(0.0), annos)
        }
        "changes" => functions::rate::changes(s),
        "resets" => functions::rate::resets(s),
        _ => functions::over_time::eval(name, s, params, ctx, annos)?,
    })
}

fn info_time(e: &Expr, ts: i64, ev: &Evaluator<'_>) -> i64 {
    match e {
        Expr::Vector(vs) => ev
            .at_time(&vs.at)
            .unwrap_or(ts)
            .saturating_sub(vs.offset.ms()),
        Expr::Matrix(m) => ev
            .at_time(&m.vs.at)
            .unwrap_or(ts)
            .saturating_sub(m.vs.offset.ms()),
        Expr::Subquery(s) => {
            let outer = ev
                .at_time(&s.at)
                .unwrap_or(ts)
                .saturating_sub(s.offset.ms());
            info_time(&s.expr, outer, ev)
        }
        Expr::Paren { expr, .. } | Expr::Unary { expr, .. } => info_time(expr, ts, ev),
        Expr::Call(c) => c
            .args
            .iter()
            .find(|a| matches!(a.value_type(), ValueType::Vector | ValueType::Matrix))
            .map(|a| info_time(a, ts, ev))
            .unwrap_or(ts),
        Expr::Aggregate(a) => info_time(&a.expr, ts, ev),
        Expr::Binary(b) => info_time(&b.lhs, ts, ev),
        _ => ts,
    }
}

/// Scalar argument `i` of a call (NaN when missing: the parser guarantees it is not).
fn sc(v: &[f64], i: usize) -> f64 {
    v.get(i).copied().unwrap_or(f64::NAN)
}

/// String argument `i` of a call (empty when missing).
fn st(v: &[String], i: usize) -> &str {
    v.get(i).map(String::as_str).unwrap_or("")
}

/// Re-detects counter resets sample by sample, as reading only counts and sums does upstream:
/// each histogram after another one is marked `Reset` or `NotReset`.
fn redetect_counter_resets(series: &mut [Series]) {
    use crate::value::CounterResetHint as H;
    for s in series {
        let mut prev: Option<Arc<crate::value::FloatHistogram>> = None;
        for p in s.histograms.iter_mut() {
            let orig = p.h.clone();
            if let Some(prev) = &prev
                && orig.counter_reset_hint != H::Gauge
            {
                let hint = if orig.detect_reset(prev) {
                    H::Reset
                } else {
                    H::NotReset
                };
                let mut h = (*orig).clone();
                h.counter_reset_hint = hint;
                p.h = Arc::new(h);
            }
            prev = Some(orig);
        }
    }
}

/// Duplicate check before name removal: series that differ only by a to-be-dropped name
/// are fine here (they are caught at the end if they survive).
fn check_duplicates_pending(v: &mut Vector) -> Result<()> {
    let mut seen = std::collections::HashSet::with_capacity(v.len());
    for s in v.iter() {
        if !seen.insert((&s.labels, s.drop_name)) {
            return Err(Error::Eval(
                "vector cannot contain metrics with the same labelset".into(),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parser::{ParserOptions, parse_with};
    use crate::storage::MemStorage;

    fn storage() -> MemStorage {
        let s = MemStorage::new();
        for (job, step) in [("a", 1.0), ("b", 2.0)] {
            let l = Labels::from_pairs([("__name__", "req_total"), ("job", job)]);
            for i in 0..=10 {
                s.add_float(&l, i * 60_000, i as f64 * step * 60.0);
            }
        }
        s
    }

    fn run(q: &str, ts: i64, opts: EngineOptions) -> Result<QueryResult> {
        let expr = parse_with(q, ParserOptions::all())?;
        Engine::new(opts).instant_query(&storage(), q, &expr, ts, None)
    }

    /// The in-place paths (aggregations straight over selectors, range functions read without
    /// building the matrix) must answer exactly what the general path answers.
    #[test]
    fn in_place_paths_match_the_general_path() {
        let st = MemStorage::new();
        for n in 0..12u64 {
            let l = Labels::from_pairs([
                (
                    "__name__",
                    if n % 3 == 0 { "g" } else { "c_total" }.to_owned(),
                ),
                ("job", format!("j{}", n % 4)),
                ("i", format!("{n}")),
            ]);
            for k in 0..200i64 {
                // Gaps, ties, a stale marker and counter resets along the way.
                if (k + n as i64) % 17 == 0 {
                    continue;
                }
                let v = if k == 150 && n == 5 {
                    crate::value::stale_nan()
                } else if n % 3 == 0 {
                    ((k * 7 + n as i64 * 13) % 23) as f64
                } else {
                    ((k % 120) * (1 + n as i64 % 3)) as f64
                };
                st.add_float(&l, k * 15_000, v);
            }
        }
        let eval = |q: &str, general: bool, delayed: bool| -> Result<QueryResult> {
            GENERAL_ONLY.with(|c| c.set(general));
            let expr = parse_with(q, ParserOptions::all()).unwrap();
            let engine = Engine::new(EngineOptions {
                delayed_name_removal: delayed,
                ..Default::default()
            });
            let r = engine.range_query(&st, q, &expr, 600_000, 2_900_000, 30_000, None);
            GENERAL_ONLY.with(|c| c.set(false));
            r
        };
        for q in [
            "sum by (job) (c_total)",
            "count without (i) (g)",
            "avg(g)",
            "min by (job) (g)",
            "max(g)",
            "group by (job) (g)",
            "count by (__name__) ({job=~\"j.*\"})",
            "sum by (job) (rate(c_total[2m]))",
            "topk(3, g)",
            "topk by (job) (1, g)",
            "bottomk(2, rate(c_total[1m]))",
            "rate(c_total[2m])",
            "irate(c_total[2m])",
            "increase(c_total[5m] offset 1m)",
            "rate(g[5m])",
            "rate({job=\"j1\"}[2m])",
            "avg_over_time(g[5m])",
            "sum_over_time(g[5m])",
            "max_over_time(g[3m])",
            "min_over_time(g[3m])",
            "count_over_time(c_total[3m])",
            "last_over_time(g[1m])",
            "quantile_over_time(0.5, g[5m])",
            "avg(avg_over_time(g[10m]))",
        ] {
            for delayed in [false, true] {
                let (a, b) = (eval(q, false, delayed), eval(q, true, delayed));
                match (a, b) {
                    (Ok(a), Ok(b)) => {
                        assert_eq!(a.value, b.value, "{q} (delayed removal {delayed})");
                        assert_eq!(a.warnings, b.warnings, "{q}");
                        assert_eq!(a.infos, b.infos, "{q}");
                        assert!(
                            matches!(&a.value, Value::Matrix(m) if !m.is_empty()),
                            "{q} gave nothing"
                        );
                    }
                    (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "{q}"),
                    (a, b) => panic!("{q}: {a:?} vs {b:?}"),
                }
            }
        }
    }

    #[test]
    fn seek_agrees_with_a_binary_search_from_any_start() {
        let points: Vec<FPoint> = (0..100)
            .map(|i| FPoint {
                t: i * 10 + (i % 3),
                f: 0.0,
            })
            .collect();
        for from in 0..=points.len() + 1 {
            for bound in (-5..1020).step_by(7) {
                assert_eq!(
                    seek(&points, from, bound),
                    points.partition_point(|p| p.t <= bound),
                    "from {from} bound {bound}"
                );
            }
        }
    }

    #[test]
    fn rate_and_aggregation() {
        let r = run(
            "sum(rate(req_total[5m]))",
            600_000,
            EngineOptions::default(),
        )
        .unwrap();
        let Value::Vector(v) = r.value else {
            panic!("{r:?}")
        };
        assert_eq!(v.len(), 1);
        assert!((v[0].f - 3.0).abs() < 1e-9, "{}", v[0].f);
        assert!(v[0].labels.is_empty());
    }

    #[test]
    fn lookback_is_left_open() {
        // The last sample is at 10m; at 15m it is exactly lookback-delta old and excluded.
        let r = run("req_total", 900_000, EngineOptions::default()).unwrap();
        assert_eq!(r.value, Value::Vector(Vec::new()));
        let r = run("req_total", 899_999, EngineOptions::default()).unwrap();
        let Value::Vector(v) = r.value else { panic!() };
        assert_eq!(v.len(), 2);
    }

    #[test]
    fn range_query_matrix_is_sorted_and_drops_names() {
        let q = "req_total * 2";
        let expr = parse_with(q, ParserOptions::all()).unwrap();
        let r = Engine::default()
            .range_query(&storage(), q, &expr, 0, 120_000, 60_000, None)
            .unwrap();
        let Value::Matrix(m) = r.value else { panic!() };
        assert_eq!(m.len(), 2);
        assert!(m[0].labels < m[1].labels);
        assert_eq!(m[0].labels.to_string(), r#"{job="a"}"#);
        assert_eq!(
            m[1].floats.iter().map(|p| p.f).collect::<Vec<_>>(),
            vec![0.0, 240.0, 480.0]
        );
    }

    #[test]
    fn max_samples_limit_uses_prometheus_text() {
        let opts = EngineOptions {
            max_samples: 5,
            ..EngineOptions::default()
        };
        let err = run("count_over_time(req_total[10m])", 600_000, opts).unwrap_err();
        assert_eq!(err, Error::TooManySamples);
        assert_eq!(
            err.to_string(),
            "query processing would load too many samples into memory in query execution"
        );
    }

    #[test]
    fn cancellation_stops_the_query() {
        let token = CancelToken::new();
        token.cancel();
        let q = "req_total";
        let expr = parse_with(q, ParserOptions::all()).unwrap();
        let err = Engine::default()
            .range_query(&storage(), q, &expr, 0, 600_000, 60_000, Some(&token))
            .unwrap_err();
        assert_eq!(err.to_string(), "query was canceled in query execution");
    }

    #[test]
    fn many_to_many_error_text() {
        let err = run(
            "req_total + on() req_total",
            600_000,
            EngineOptions::default(),
        )
        .unwrap_err();
        assert!(
            err.to_string().starts_with(
                "found duplicate series for the match group {} on the right hand-side"
            ),
            "{err}"
        );
    }

    #[test]
    fn warnings_carry_positions() {
        let s = MemStorage::new();
        s.add_float(&Labels::from_pairs([("__name__", "temp")]), 0, 1.0);
        s.add_float(&Labels::from_pairs([("__name__", "temp")]), 60_000, 2.0);
        let q = "rate(temp[5m])";
        let expr = parse_with(q, ParserOptions::all()).unwrap();
        let r = Engine::default()
            .instant_query(&s, q, &expr, 60_000, None)
            .unwrap();
        assert_eq!(
            r.infos,
            vec![
                r#"PromQL info: metric might not be a counter, name does not end in _total/_sum/_count/_bucket: "temp" (1:6)"#
            ]
        );
    }
}

#[cfg(test)]
mod name_removal_tests {
    use super::*;
    use crate::parser::{ParserOptions, parse_with};
    use crate::storage::MemStorage;

    fn eval(q: &str, delayed: bool) -> Result<Value> {
        let s = MemStorage::new();
        for name in ["a_total", "b_total"] {
            let l = Labels::from_pairs([("__name__", name), ("job", "x")]);
            for i in 0..5 {
                s.add_float(&l, i * 60_000, i as f64);
            }
        }
        let expr = parse_with(q, ParserOptions::all())?;
        let opts = EngineOptions {
            delayed_name_removal: delayed,
            ..EngineOptions::default()
        };
        Engine::new(opts)
            .instant_query(&s, q, &expr, 240_000, None)
            .map(|r| r.value)
    }

    #[test]
    fn eager_removal_is_the_default_like_prometheus() {
        // Stock Prometheus drops the name at rate(): the two outputs collide right away.
        let err = eval(r#"sum(rate({__name__=~"a_total|b_total"}[5m]))"#, false).unwrap_err();
        assert_eq!(
            err.to_string(),
            "vector cannot contain metrics with the same labelset"
        );
        // With delayed removal the name is still there for the aggregation.
        let Value::Vector(v) =
            eval(r#"sum(rate({__name__=~"a_total|b_total"}[5m]))"#, true).unwrap()
        else {
            panic!()
        };
        assert_eq!(v.len(), 1);
        // label_replace sees the name only with delayed removal.
        let Value::Vector(v) = eval(
            r#"label_replace(rate(a_total[5m]), "n", "$1", "__name__", "(.*)")"#,
            true,
        )
        .unwrap() else {
            panic!()
        };
        assert_eq!(v[0].labels.get("n"), Some("a_total"));
        let Value::Vector(v) = eval(
            r#"label_replace(rate(a_total[5m]), "n", "$1", "__name__", "(.*)")"#,
            false,
        )
        .unwrap() else {
            panic!()
        };
        assert_eq!(v[0].labels.get("n"), None);
    }
}
