//! Metric query evaluation over in-memory streams: range aggregations step over the entries
//! of each window, the rest (vector aggregations, binary operators with vector matching)
//! reuses the step-evaluation core of `lgtm-promql`.
//!
//! Loki's rules kept here: windows are `(t - range - offset, t - offset]`; `rate` and
//! `bytes_rate` divide by the range (no extrapolation); the unwrapped label leaves the
//! series labels; a series that still carries `__error__` fails the query with
//! `pipeline error: ...`; division and modulo by zero give NaN; more than `max_series`
//! series fail with Loki's limit message.

use std::collections::BTreeMap;

use lgtm_common::labels::{Label, Labels, MatchOp, matches_all};
use lgtm_promql::aggregation::{AggParam, AggPos, Grouping as PromGrouping, aggregate};
use lgtm_promql::ast::{AggOp, BinOp as PromBinOp, Card, PosRange, VectorMatching};
use lgtm_promql::binary::{vector_scalar, vector_vector};
use lgtm_promql::value::{Sample, Vector};

use super::ast::*;
use super::pipeline::{
    ERR_SAMPLE_EXTRACTION, ERROR_DETAILS_LABEL, ERROR_LABEL, Extraction, LabelsBuilder, Pipeline,
};
use super::units::{parse_bytes, parse_go_duration, parse_go_float};

/// Loki's default `max_query_series`.
pub const DEFAULT_MAX_SERIES: usize = 500;

/// An evaluation failure, with Loki's texts.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EvalError {
    /// A stage could not be built.
    #[error("{0}")]
    Parse(#[from] super::ParseError),
    /// A series kept `__error__` (`pipeline error: 'JSONParserErr' for series: '{...}'.`).
    #[error(
        "pipeline error: '{kind}' for series: '{series}'.\nUse a label filter to intentionally skip this error. (e.g | __error__!=\"{kind}\").\nTo skip all potential errors you can match empty errors.(e.g __error__=\"\")\nThe label filter can also be specified after unwrap. (e.g | unwrap latency | __error__=\"\" )\n"
    )]
    Pipeline {
        /// `__error__` value.
        kind: String,
        /// The series labels.
        series: String,
    },
    /// Too many series.
    #[error(
        "maximum number of series ({0}) reached for a single query; consider reducing query cardinality by adding more specific stream selectors, reducing the time range, or aggregating results with functions like sum(), count() or topk()"
    )]
    MaxSeries(usize),
    /// Vector matching failed (many-to-many and similar).
    #[error("{0}")]
    Matching(String),
}

/// One log entry.
#[derive(Clone, Debug)]
pub struct Entry {
    /// Unix nanoseconds.
    pub ts: i64,
    /// The line.
    pub line: String,
    /// Structured metadata.
    pub metadata: Labels,
}

/// A stream: labels and entries in time order.
#[derive(Clone, Debug)]
pub struct Stream {
    /// Stream labels.
    pub labels: Labels,
    /// Entries sorted by timestamp.
    pub entries: Vec<Entry>,
}

/// The value of a metric expression at one step.
#[derive(Clone, Debug, PartialEq)]
pub enum StepValue {
    /// An instant vector.
    Vector(Vector),
    /// A scalar.
    Scalar(f64),
}

/// One series of a range query result: labels and `(unix ms, value)` points.
#[derive(Clone, Debug, PartialEq)]
pub struct MatrixSeries {
    /// Labels.
    pub labels: Labels,
    /// Points in time order.
    pub points: Vec<(i64, f64)>,
}

/// Extracted samples of one series for one range aggregation.
#[derive(Debug, Default)]
struct SampleSeries {
    labels: Labels,
    /// `(ts ns, value)` in time order.
    points: Vec<(i64, f64)>,
}

/// Evaluates metric queries over a fixed set of streams.
#[derive(Debug)]
pub struct Evaluator<'a> {
    streams: &'a [Stream],
    /// Series limit (Loki's `max_query_series`).
    pub max_series: usize,
}

impl<'a> Evaluator<'a> {
    /// An evaluator over `streams` with Loki's default limits.
    pub fn new(streams: &'a [Stream]) -> Self {
        Self {
            streams,
            max_series: DEFAULT_MAX_SERIES,
        }
    }

    /// Instant query at `ts` (ns).
    pub fn instant(&self, expr: &SampleExpr, ts: i64) -> Result<StepValue, EvalError> {
        let mut cache = Cache::default();
        let expr = &split_grouped_avg(expr);
        let v = self.eval(expr, ts, ts, ts, &mut cache)?;
        if let StepValue::Vector(v) = &v {
            self.check_limit(v.len())?;
        }
        Ok(v)
    }

    /// Range query from `start` to `end` (inclusive) every `step` (all ns).
    pub fn range(
        &self,
        expr: &SampleExpr,
        start: i64,
        end: i64,
        step: i64,
    ) -> Result<Vec<MatrixSeries>, EvalError> {
        let step = step.max(1);
        let expr = split_grouped_avg(expr);
        let mut cache = Cache::default();
        let mut out: BTreeMap<Labels, Vec<(i64, f64)>> = BTreeMap::new();
        let mut t = start;
        while t <= end {
            match self.eval(&expr, t, start, end, &mut cache)? {
                StepValue::Scalar(f) => out
                    .entry(Labels::empty())
                    .or_default()
                    .push((t / 1_000_000, f)),
                StepValue::Vector(v) => {
                    for s in v {
                        out.entry(s.labels).or_default().push((t / 1_000_000, s.f));
                    }
                }
            }
            self.check_limit(out.len())?;
            t += step;
        }
        Ok(out
            .into_iter()
            .map(|(labels, points)| MatrixSeries { labels, points })
            .collect())
    }

    fn check_limit(&self, n: usize) -> Result<(), EvalError> {
        if n > self.max_series {
            return Err(EvalError::MaxSeries(self.max_series));
        }
        Ok(())
    }

    fn eval(
        &self,
        expr: &SampleExpr,
        t: i64,
        start: i64,
        end: i64,
        cache: &mut Cache,
    ) -> Result<StepValue, EvalError> {
        Ok(match expr {
            SampleExpr::Literal(v) => StepValue::Scalar(*v),
            SampleExpr::Vector(v) => {
                StepValue::Vector(vec![Sample::float(Labels::empty(), t / 1_000_000, *v)])
            }
            SampleExpr::RangeAggregation(r) => {
                StepValue::Vector(self.range_agg(r, None, t, start, end, cache)?)
            }
            SampleExpr::VectorAggregation(v) => {
                // Loki pushes `sum by (...)` into the range aggregations it can: their
                // parsers then extract only what the grouping needs.
                let pushed = match &*v.expr {
                    SampleExpr::RangeAggregation(r)
                        if v.op == VectorOp::Sum
                            && r.grouping.is_none()
                            && matches!(
                                r.op,
                                RangeOp::BytesOverTime
                                    | RangeOp::BytesRate
                                    | RangeOp::SumOverTime
                                    | RangeOp::Rate
                                    | RangeOp::CountOverTime
                            ) =>
                    {
                        Some(self.range_agg(r, Some(&v.grouping), t, start, end, cache)?)
                    }
                    _ => None,
                };
                let inner = match pushed {
                    Some(x) => StepValue::Vector(x),
                    None => self.eval(&v.expr, t, start, end, cache)?,
                };
                let inner = match inner {
                    StepValue::Vector(x) => x,
                    StepValue::Scalar(f) => vec![Sample::float(Labels::empty(), t / 1_000_000, f)],
                };
                StepValue::Vector(vector_aggregate(v, inner, t)?)
            }
            SampleExpr::BinOp(b) => {
                let l = self.eval(&b.lhs, t, start, end, cache)?;
                let r = self.eval(&b.rhs, t, start, end, cache)?;
                binop(b, l, r, t)?
            }
            SampleExpr::LabelReplace(l) => {
                let inner = match self.eval(&l.expr, t, start, end, cache)? {
                    StepValue::Vector(x) => x,
                    StepValue::Scalar(f) => vec![Sample::float(Labels::empty(), t / 1_000_000, f)],
                };
                StepValue::Vector(label_replace(l, inner))
            }
        })
    }

    fn range_agg(
        &self,
        r: &RangeAggregation,
        pushed: Option<&Grouping>,
        t: i64,
        start: i64,
        end: i64,
        cache: &mut Cache,
    ) -> Result<Vector, EvalError> {
        let key = r as *const RangeAggregation as usize;
        if let std::collections::hash_map::Entry::Vacant(slot) = cache.series.entry(key) {
            slot.insert(self.extract(r, pushed, start, end)?);
        }
        Ok(range_step(r, &cache.series[&key], t))
    }

    /// Runs the pipeline of a range aggregation once over every entry the query can reach
    /// and groups the extracted samples into series.
    fn extract(
        &self,
        r: &RangeAggregation,
        pushed: Option<&Grouping>,
        start: i64,
        end: i64,
    ) -> Result<Vec<SampleSeries>, EvalError> {
        let extraction = extraction_for(r, pushed);
        let lr = &r.range;
        let pipeline = Pipeline::new(&lr.log.stages)?;
        let post: Vec<super::pipeline::label_filter::Compiled> = match &lr.unwrap {
            Some(u) => u
                .post_filters
                .iter()
                .map(super::pipeline::label_filter::Compiled::new)
                .collect::<Result<_, _>>()
                .map_err(super::ParseError::semantic)?,
            None => Vec::new(),
        };
        let lo = start - lr.range - lr.offset;
        let hi = end - lr.offset;
        let mut by_labels: BTreeMap<Labels, Vec<(i64, f64)>> = BTreeMap::new();
        for s in self.streams {
            if !matches_all(&lr.log.matchers, &s.labels) {
                continue;
            }
            let first = s.entries.partition_point(|e| e.ts <= lo);
            for e in &s.entries[first..] {
                if e.ts > hi {
                    break;
                }
                if !pipeline.matches_line(&e.line) {
                    continue;
                }
                let mut lbs = LabelsBuilder::new(&s.labels, &e.metadata);
                lbs.set_extraction(extraction.clone());
                let mut line = e.line.clone();
                if !pipeline.process_builder(e.ts, &mut line, &mut lbs) {
                    continue;
                }
                let value = match &lr.unwrap {
                    None => match r.op {
                        RangeOp::BytesOverTime | RangeOp::BytesRate => line.len() as f64,
                        _ => 1.0,
                    },
                    Some(u) => {
                        let raw = lbs.get(&u.label).unwrap_or("").to_owned();
                        if raw.is_empty() {
                            // Loki skips entries without a value to unwrap.
                            continue;
                        }
                        let v = match u.conversion {
                            None => parse_go_float(&raw),
                            Some(Conversion::Bytes) => parse_bytes(&raw).map(|b| b as f64),
                            Some(Conversion::Duration | Conversion::DurationSeconds) => {
                                parse_go_duration(&raw).map(|d| d as f64 / 1e9)
                            }
                        };
                        let v = match v {
                            Ok(v) => v,
                            Err(e) => {
                                if !lbs.has_err() {
                                    lbs.add_error(ERR_SAMPLE_EXTRACTION, &e);
                                }
                                0.0
                            }
                        };
                        if !post.iter().all(|f| f.test(&mut lbs)) {
                            continue;
                        }
                        lbs.del(&u.label);
                        v
                    }
                };
                // Parsed labels with empty values stay: Loki groups `json level` on a line
                // without `level` under `level=""`, apart from lines that have no label at all.
                let labels = Labels::from_sorted_unchecked(
                    lbs.labels()
                        .into_iter()
                        .map(|(n, v)| lgtm_common::labels::Label::new(n, v))
                        .collect(),
                );
                by_labels.entry(labels).or_default().push((e.ts, value));
            }
        }
        let mut out = Vec::with_capacity(by_labels.len());
        for (labels, mut points) in by_labels {
            if let Some(kind) = labels.get(ERROR_LABEL) {
                return Err(EvalError::Pipeline {
                    kind: kind.to_owned(),
                    series: labels.to_string(),
                });
            }
            points.sort_by_key(|p| p.0);
            out.push(SampleSeries { labels, points });
        }
        Ok(out)
    }
}

/// Loki's query frontend runs `avg_over_time(... | unwrap x ...) by (g)` as
/// `sum by (g) (sum_over_time(...)) / sum by (g) (count_over_time(...))`, the count side
/// without the unwrap and its filters. Results (and pipeline errors) follow that form.
fn split_grouped_avg(e: &SampleExpr) -> SampleExpr {
    match e {
        SampleExpr::RangeAggregation(r)
            if r.op == RangeOp::AvgOverTime
                && r.grouping
                    .as_ref()
                    .is_some_and(|g| !(g.without && g.labels.is_empty())) =>
        {
            let g = r.grouping.clone().unwrap_or_default();
            let sum = RangeAggregation {
                op: RangeOp::SumOverTime,
                param: None,
                range: r.range.clone(),
                grouping: None,
            };
            let count = RangeAggregation {
                op: RangeOp::CountOverTime,
                param: None,
                range: LogRange {
                    unwrap: None,
                    ..r.range.clone()
                },
                grouping: None,
            };
            let wrap = |inner: RangeAggregation| {
                SampleExpr::VectorAggregation(VectorAggregation {
                    op: VectorOp::Sum,
                    param: None,
                    expr: Box::new(SampleExpr::RangeAggregation(inner)),
                    grouping: g.clone(),
                })
            };
            SampleExpr::BinOp(BinOp {
                op: BinOpKind::Div,
                opts: BinOpOptions::default(),
                lhs: Box::new(wrap(sum)),
                rhs: Box::new(wrap(count)),
            })
        }
        SampleExpr::RangeAggregation(_) | SampleExpr::Literal(_) | SampleExpr::Vector(_) => {
            e.clone()
        }
        SampleExpr::VectorAggregation(v) => SampleExpr::VectorAggregation(VectorAggregation {
            expr: Box::new(split_grouped_avg(&v.expr)),
            ..v.clone()
        }),
        SampleExpr::BinOp(b) => SampleExpr::BinOp(BinOp {
            lhs: Box::new(split_grouped_avg(&b.lhs)),
            rhs: Box::new(split_grouped_avg(&b.rhs)),
            ..b.clone()
        }),
        SampleExpr::LabelReplace(l) => SampleExpr::LabelReplace(LabelReplace {
            expr: Box::new(split_grouped_avg(&l.expr)),
            ..l.clone()
        }),
    }
}

/// Loki's parser hints for a range aggregation: what its parsers must extract, from the
/// grouping that applies to its samples (its own `by`, or a `sum by` pushed into it).
fn extraction_for(r: &RangeAggregation, pushed: Option<&Grouping>) -> Extraction {
    let lr = &r.range;
    if lr.log.stages.iter().any(|s| {
        matches!(
            s,
            Stage::LineFormat(_) | Stage::LabelFormat(_) | Stage::Keep(_) | Stage::Drop(_)
        )
    }) {
        return Extraction::All;
    }
    let Some(g) = r.grouping.as_ref().or(pushed) else {
        return Extraction::All;
    };
    if g.without {
        return Extraction::All;
    }
    let mut required: Vec<String> = Vec::new();
    for st in &lr.log.stages {
        if let Stage::LabelFilter(f) = st {
            filter_labels(f, &mut required);
        }
    }
    if let Some(u) = &lr.unwrap {
        required.push(u.label.clone());
        for f in &u.post_filters {
            filter_labels(f, &mut required);
        }
    }
    required.retain(|n| n != ERROR_LABEL && n != ERROR_DETAILS_LABEL);
    if g.labels.is_empty() {
        return if required.is_empty() {
            Extraction::Nothing
        } else {
            Extraction::All
        };
    }
    required.extend(g.labels.iter().cloned());
    required.sort();
    required.dedup();
    Extraction::Only(std::sync::Arc::new(required))
}

fn filter_labels(f: &LabelFilter, out: &mut Vec<String>) {
    match f {
        LabelFilter::And(a, b) | LabelFilter::Or(a, b) => {
            filter_labels(a, out);
            filter_labels(b, out);
        }
        LabelFilter::Matcher(m) => out.push(m.name.clone()),
        LabelFilter::Number { name, .. }
        | LabelFilter::Duration { name, .. }
        | LabelFilter::Bytes { name, .. }
        | LabelFilter::Ip { name, .. } => out.push(name.clone()),
    }
}

#[derive(Default)]
struct Cache {
    series: std::collections::HashMap<usize, Vec<SampleSeries>>,
}

/// Applies a range function to one window's values.
fn range_fn(op: RangeOp, param: Option<f64>, range_ns: i64, pts: &[(i64, f64)]) -> Option<f64> {
    let range_secs = range_ns as f64 / 1e9;
    if pts.is_empty() {
        return None;
    }
    let vals = || pts.iter().map(|p| p.1);
    let n = pts.len() as f64;
    Some(match op {
        RangeOp::CountOverTime => n,
        RangeOp::Rate => {
            // Without unwrap every value is 1, so this is entries per second.
            vals().sum::<f64>() / range_secs
        }
        RangeOp::BytesOverTime => vals().sum(),
        RangeOp::BytesRate => vals().sum::<f64>() / range_secs,
        RangeOp::SumOverTime => vals().sum(),
        RangeOp::AvgOverTime => vals().sum::<f64>() / n,
        RangeOp::MinOverTime => vals().fold(f64::INFINITY, f64::min),
        RangeOp::MaxOverTime => vals().fold(f64::NEG_INFINITY, f64::max),
        RangeOp::StdvarOverTime | RangeOp::StddevOverTime => {
            let mean = vals().sum::<f64>() / n;
            let var = vals().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
            if op == RangeOp::StddevOverTime {
                var.sqrt()
            } else {
                var
            }
        }
        RangeOp::QuantileOverTime => {
            let q = param.unwrap_or(f64::NAN);
            let mut v: Vec<f64> = vals().collect();
            v.sort_by(|a, b| a.total_cmp(b));
            quantile(q, &v)
        }
        RangeOp::FirstOverTime => pts[0].1,
        RangeOp::LastOverTime => pts[pts.len() - 1].1,
        RangeOp::RateCounter => return counter_rate(pts, range_ns),
        RangeOp::AbsentOverTime => 1.0,
    })
}

/// `rate_counter`: Prometheus' extrapolated counter rate as Loki computes it, with
/// nanosecond timestamps in a formula written for milliseconds (so the extrapolation is
/// tiny), the window ending at the last sample, and 0 for fewer than two samples.
fn counter_rate(pts: &[(i64, f64)], range_ns: i64) -> Option<f64> {
    if pts.len() < 2 {
        return Some(0.0);
    }
    let (first_t, first) = pts[0];
    let (last_t, last) = pts[pts.len() - 1];
    let mut result = last - first;
    let mut prev = 0.0;
    for p in pts {
        if p.1 < prev {
            result += prev;
        }
        prev = p.1;
    }
    let range_start = first_t - range_ns / 1_000_000;
    let mut to_start = (first_t - range_start) as f64 / 1000.0;
    let to_end = 0.0;
    let sampled = (last_t - first_t) as f64 / 1000.0;
    let avg = sampled / (pts.len() - 1) as f64;
    if result > 0.0 && first >= 0.0 {
        let to_zero = sampled * (first / result);
        if to_zero < to_start {
            to_start = to_zero;
        }
    }
    let threshold = avg * 1.1;
    let mut interval = sampled;
    interval += if to_start < threshold {
        to_start
    } else {
        avg / 2.0
    };
    interval += if to_end < threshold {
        to_end
    } else {
        avg / 2.0
    };
    Some(result * (interval / sampled) / (range_ns as f64 / 1e9))
}

/// Prometheus' quantile over sorted values.
fn quantile(q: f64, sorted: &[f64]) -> f64 {
    if sorted.is_empty() || q.is_nan() {
        return f64::NAN;
    }
    if q < 0.0 {
        return f64::NEG_INFINITY;
    }
    if q > 1.0 {
        return f64::INFINITY;
    }
    let n = sorted.len() as f64;
    let rank = q * (n - 1.0);
    let lower = rank.floor().max(0.0) as usize;
    let upper = (lower + 1).min(sorted.len() - 1);
    let w = rank - rank.floor();
    sorted[lower] * (1.0 - w) + sorted[upper] * w
}

fn group_key(g: &Grouping, labels: &Labels) -> Labels {
    if g.without {
        labels.without(&g.labels)
    } else {
        labels.keep(&g.labels)
    }
}

/// The points of `s` in `(lo, hi]`.
fn window_of(s: &SampleSeries, lo: i64, hi: i64) -> &[(i64, f64)] {
    let a = s.points.partition_point(|p| p.0 <= lo);
    let b = s.points.partition_point(|p| p.0 <= hi);
    &s.points[a..b]
}

/// The range aggregation's vector at step `t`.
fn range_step(r: &RangeAggregation, series: &[SampleSeries], t: i64) -> Vector {
    let lr = &r.range;
    let hi = t - lr.offset;
    let lo = hi - lr.range;
    let t_ms = t / 1_000_000;
    if r.op == RangeOp::AbsentOverTime {
        if series.iter().any(|s| !window_of(s, lo, hi).is_empty()) {
            return Vec::new();
        }
        let labels = Labels::from_labels(
            lr.log
                .matchers
                .iter()
                .filter(|m| m.op == MatchOp::Equal)
                .map(|m| Label::new(m.name.clone(), m.value.clone()))
                .collect(),
        );
        return vec![Sample::float(labels, t_ms, 1.0)];
    }
    match &r.grouping {
        None => series
            .iter()
            .filter_map(|s| {
                range_fn(r.op, r.param, lr.range, window_of(s, lo, hi))
                    .map(|f| Sample::float(s.labels.clone(), t_ms, f))
            })
            .collect(),
        Some(g) => {
            let mut groups: BTreeMap<Labels, Vec<(i64, f64)>> = BTreeMap::new();
            for s in series {
                let w = window_of(s, lo, hi);
                if !w.is_empty() {
                    groups
                        .entry(group_key(g, &s.labels))
                        .or_default()
                        .extend_from_slice(w);
                }
            }
            groups
                .into_iter()
                .filter_map(|(labels, mut pts)| {
                    pts.sort_by_key(|p| p.0);
                    range_fn(r.op, r.param, lr.range, &pts).map(|f| Sample::float(labels, t_ms, f))
                })
                .collect()
        }
    }
}

fn vector_aggregate(v: &VectorAggregation, inner: Vector, t: i64) -> Result<Vector, EvalError> {
    let op = match v.op {
        VectorOp::Sum => AggOp::Sum,
        VectorOp::Avg => AggOp::Avg,
        VectorOp::Max => AggOp::Max,
        VectorOp::Min => AggOp::Min,
        VectorOp::Count => AggOp::Count,
        VectorOp::Stddev => AggOp::Stddev,
        VectorOp::Stdvar => AggOp::Stdvar,
        VectorOp::Bottomk => AggOp::Bottomk,
        VectorOp::Topk | VectorOp::ApproxTopk => AggOp::Topk,
        VectorOp::Sort => {
            let mut inner = inner;
            inner.sort_by(|a, b| a.f.total_cmp(&b.f));
            return Ok(inner);
        }
        VectorOp::SortDesc => {
            let mut inner = inner;
            inner.sort_by(|a, b| b.f.total_cmp(&a.f));
            return Ok(inner);
        }
    };
    let grouping = PromGrouping {
        labels: v.grouping.labels.clone(),
        without: v.grouping.without,
    };
    let param = v.param.map(|k| AggParam::Scalar(k as f64));
    let mut annos = Vec::new();
    let out = aggregate(
        op,
        inner,
        param.as_ref(),
        &grouping,
        t / 1_000_000,
        AggPos::default(),
        &mut annos,
    )
    .map_err(|e| EvalError::Matching(e.to_string()))?;
    Ok(out)
}

fn prom_op(op: BinOpKind) -> PromBinOp {
    match op {
        BinOpKind::Or => PromBinOp::Or,
        BinOpKind::And => PromBinOp::And,
        BinOpKind::Unless => PromBinOp::Unless,
        BinOpKind::Add => PromBinOp::Add,
        BinOpKind::Sub => PromBinOp::Sub,
        BinOpKind::Mul => PromBinOp::Mul,
        BinOpKind::Div => PromBinOp::Div,
        BinOpKind::Mod => PromBinOp::Mod,
        BinOpKind::Pow => PromBinOp::Pow,
        BinOpKind::Eq => PromBinOp::Eql,
        BinOpKind::Ne => PromBinOp::Neq,
        BinOpKind::Gt => PromBinOp::Gtr,
        BinOpKind::Ge => PromBinOp::Gte,
        BinOpKind::Lt => PromBinOp::Lss,
        BinOpKind::Le => PromBinOp::Lte,
    }
}

fn binop(b: &BinOp, l: StepValue, r: StepValue, t: i64) -> Result<StepValue, EvalError> {
    let op = prom_op(b.op);
    let return_bool = b.opts.return_bool && b.op.is_comparison();
    let pos = PosRange::default();
    let mut annos = Vec::new();
    let zero_div = matches!(b.op, BinOpKind::Div | BinOpKind::Mod);
    Ok(match (l, r) {
        (StepValue::Scalar(a), StepValue::Scalar(c)) => StepValue::Scalar(b.op.apply(a, c)),
        (StepValue::Vector(v), StepValue::Scalar(c)) => {
            let mut out =
                vector_scalar(op, v, c, false, return_bool, t / 1_000_000, pos, &mut annos);
            if zero_div && c == 0.0 {
                out.iter_mut().for_each(|s| s.f = f64::NAN);
            }
            StepValue::Vector(out)
        }
        (StepValue::Scalar(c), StepValue::Vector(v)) => {
            let zeros: Vec<bool> = v.iter().map(|s| s.f == 0.0).collect();
            let mut out =
                vector_scalar(op, v, c, true, return_bool, t / 1_000_000, pos, &mut annos);
            if zero_div && out.len() == zeros.len() {
                for (s, z) in out.iter_mut().zip(zeros) {
                    if z {
                        s.f = f64::NAN;
                    }
                }
            }
            StepValue::Vector(out)
        }
        (StepValue::Vector(lv), StepValue::Vector(mut rv)) => {
            if zero_div {
                // Loki: x / 0 and x % 0 are NaN; NaN as divisor gives exactly that.
                rv.iter_mut()
                    .filter(|s| s.f == 0.0)
                    .for_each(|s| s.f = f64::NAN);
            }
            let card = if b.op.is_set_op() {
                Card::ManyToMany
            } else {
                match b.opts.card {
                    Cardinality::OneToOne => Card::OneToOne,
                    Cardinality::ManyToOne => Card::ManyToOne,
                    Cardinality::OneToMany => Card::OneToMany,
                }
            };
            let mut m = VectorMatching::new(card);
            m.on = b.opts.on;
            m.labels = b.opts.matching_labels.clone();
            m.include = b.opts.include.clone().unwrap_or_default();
            let out = vector_vector(op, lv, rv, &m, return_bool, t / 1_000_000, pos, &mut annos)
                .map_err(|e| EvalError::Matching(loki_matching_error(&e.to_string())))?;
            StepValue::Vector(out)
        }
    })
}

/// Loki's shorter texts for vector matching failures.
fn loki_matching_error(prom: &str) -> String {
    if prom.contains("many-to-many matching not allowed") {
        let side = if prom.contains("on the left hand-side") {
            "left"
        } else {
            "right"
        };
        return format!(
            "found duplicate series on the {side} hand-side;many-to-many matching not allowed: matching labels must be unique on one side"
        );
    }
    if prom.contains("multiple matches for labels") {
        return "multiple matches for labels: grouping labels must ensure unique matches"
            .to_owned();
    }
    prom.to_owned()
}

fn label_replace(l: &LabelReplace, inner: Vector) -> Vector {
    let Ok(re) = super::regex_go::compile(&format!("^(?s:{})$", l.regex)) else {
        return inner;
    };
    inner
        .into_iter()
        .map(|mut s| {
            let src = s.labels.get_or_empty(&l.src).to_owned();
            if let Some(caps) = re.captures(&src) {
                let mut dst = String::new();
                caps.expand(&l.replacement, &mut dst);
                s.labels = s.labels.with(&l.dst, &dst);
            }
            s
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logql::{Expr, parse};

    const S: i64 = 1_000_000_000;

    fn streams() -> Vec<Stream> {
        let entry = |ts: i64, line: &str| Entry {
            ts: ts * S,
            line: line.to_owned(),
            metadata: Labels::empty(),
        };
        vec![
            Stream {
                labels: Labels::from_pairs([("app", "a"), ("env", "prod")]),
                entries: vec![
                    entry(10, "level=info latency=100ms bytes=1KB n=1"),
                    entry(20, "level=error latency=300ms bytes=2KB n=3"),
                    entry(60, "level=info latency=200ms bytes=3KB n=2 bad=\"x"),
                ],
            },
            Stream {
                labels: Labels::from_pairs([("app", "b"), ("env", "prod")]),
                entries: vec![entry(30, "level=info n=oops")],
            },
        ]
    }

    fn sample(q: &str) -> SampleExpr {
        match parse(q).unwrap() {
            Expr::Sample(s) => s,
            Expr::Log(_) => panic!("{q} is a log query"),
        }
    }

    fn instant(q: &str, t: i64) -> Result<Vec<(String, f64)>, EvalError> {
        let data = streams();
        let ev = Evaluator::new(&data);
        Ok(match ev.instant(&sample(q), t * S)? {
            StepValue::Scalar(f) => vec![(String::new(), f)],
            StepValue::Vector(v) => {
                let mut out: Vec<(String, f64)> =
                    v.into_iter().map(|s| (s.labels.to_string(), s.f)).collect();
                out.sort_by(|a, b| a.0.cmp(&b.0));
                out
            }
        })
    }

    #[test]
    fn windows_are_left_open_right_closed() {
        // (0s, 60s] holds all three entries of app a; (10s, 70s] drops the one at 10s.
        let r = instant(r#"count_over_time({app="a"}[60s])"#, 60).unwrap();
        assert_eq!(r, vec![(r#"{app="a", env="prod"}"#.to_owned(), 3.0)]);
        let r = instant(r#"count_over_time({app="a"}[60s])"#, 70).unwrap();
        assert_eq!(r[0].1, 2.0);
        let r = instant(r#"count_over_time({app="a"}[60s] offset 10s)"#, 70).unwrap();
        assert_eq!(r[0].1, 3.0);
    }

    #[test]
    fn rates_divide_by_the_range() {
        let r = instant(r#"rate({app="a"}[60s])"#, 60).unwrap();
        assert_eq!(r[0].1, 3.0 / 60.0);
        let r = instant(r#"bytes_over_time({app="a"}[60s])"#, 60).unwrap();
        let bytes: usize = streams()[0].entries.iter().map(|e| e.line.len()).sum();
        assert_eq!(r[0].1, bytes as f64);
    }

    #[test]
    fn unwrap_conversions_and_grouping() {
        let q = r#"sum_over_time({app="a"} | logfmt latency | unwrap duration(latency) [60s])"#;
        let r = instant(q, 60).unwrap();
        assert!((r[0].1 - 0.6).abs() < 1e-12, "{r:?}");
        // The unwrapped label leaves the series; parsed labels stay.
        assert!(!r[0].0.contains("latency="));
        let q = r#"max_over_time({app="a"} | logfmt | unwrap bytes(bytes) [60s]) by (env)"#;
        assert_eq!(
            instant(q, 60).unwrap(),
            vec![(r#"{env="prod"}"#.to_owned(), 3000.0)]
        );
        // Loki splits a grouped average into sum / count, the count without the unwrap: the
        // entry whose `n` does not convert is left out of the sum but counted.
        let q = r#"avg_over_time({env="prod"} | logfmt | unwrap n | __error__="" [60s]) by (env)"#;
        assert_eq!(instant(q, 60).unwrap()[0].1, 6.0 / 4.0);
        let q = r#"avg_over_time({app="a"} | logfmt | unwrap n [60s])"#;
        assert_eq!(instant(q, 60).unwrap().len(), 3, "ungrouped: per series");
    }

    #[test]
    fn unfiltered_conversion_errors_fail_the_query() {
        let q = r#"sum_over_time({env="prod"} | logfmt | unwrap n [60s])"#;
        let e = instant(q, 60).unwrap_err().to_string();
        assert!(
            e.starts_with("pipeline error: 'SampleExtractionErr' for series: '{"),
            "{e}"
        );
    }

    #[test]
    fn grouping_limits_what_parsers_extract() {
        // The lines are not JSON: alone, the parser error fails the query...
        let e = instant(r#"count_over_time({app="a"} | json [60s])"#, 60).unwrap_err();
        assert!(e.to_string().starts_with("pipeline error: 'JSONParserErr'"));
        // ...but `sum()` needs no label, so Loki does not run the parser at all.
        let r = instant(r#"sum(count_over_time({app="a"} | json [60s]))"#, 60).unwrap();
        assert_eq!(r, vec![("{}".to_owned(), 3.0)]);
        // `sum by (level)` extracts `level` and stops: the later bad pair never errors.
        let r = instant(
            r#"sum by (level) (count_over_time({env="prod"} | logfmt --strict [60s]))"#,
            60,
        )
        .unwrap();
        assert_eq!(r.len(), 2);
    }

    #[test]
    fn vector_operations() {
        let r = instant(r#"sum by (env) (count_over_time({env="prod"}[60s]))"#, 60).unwrap();
        assert_eq!(r, vec![(r#"{env="prod"}"#.to_owned(), 4.0)]);
        let r = instant(r#"topk(1, count_over_time({env="prod"}[60s]))"#, 60).unwrap();
        assert_eq!(r[0].0, r#"{app="a", env="prod"}"#);
        // Loki: division by zero is NaN, not Inf.
        let r = instant(r#"sum(count_over_time({env="prod"}[60s])) / 0"#, 60).unwrap();
        assert!(r[0].1.is_nan());
        let q = r#"sum(count_over_time({env="prod"}[60s])) / (sum(count_over_time({env="prod"}[60s])) * 0)"#;
        assert!(instant(q, 60).unwrap()[0].1.is_nan());
        let r = instant(r#"sum(count_over_time({env="prod"}[60s])) > bool 3"#, 60).unwrap();
        assert_eq!(r[0].1, 1.0);
        let r = instant("vector(1) + vector(1)", 60).unwrap();
        assert_eq!(r, vec![("{}".to_owned(), 2.0)]);
        let q = r#"label_replace(count_over_time({app="a"}[60s]), "svc", "$1-svc", "app", "(.*)")"#;
        assert!(instant(q, 60).unwrap()[0].0.contains(r#"svc="a-svc""#));
    }

    #[test]
    fn absent_and_limits() {
        let r = instant(r#"absent_over_time({app="nope", env=~"p.*"}[60s])"#, 60).unwrap();
        assert_eq!(r, vec![(r#"{app="nope"}"#.to_owned(), 1.0)]);
        assert!(
            instant(r#"absent_over_time({app="a"}[60s])"#, 60)
                .unwrap()
                .is_empty()
        );
        let data = streams();
        let mut ev = Evaluator::new(&data);
        ev.max_series = 1;
        let e = ev.instant(&sample(r#"count_over_time({env="prod"}[60s])"#), 60 * S);
        assert_eq!(e.unwrap_err(), EvalError::MaxSeries(1));
    }

    #[test]
    fn range_queries_step_from_start_to_end() {
        let data = streams();
        let ev = Evaluator::new(&data);
        let m = ev
            .range(
                &sample(r#"count_over_time({app="a"}[30s])"#),
                30 * S,
                90 * S,
                30 * S,
            )
            .unwrap();
        assert_eq!(m.len(), 1);
        // (60s, 90s] is empty: the entry at 60s belongs to the previous window only.
        assert_eq!(m[0].points, vec![(30_000, 2.0), (60_000, 1.0)]);
    }
}
