//! Aggregation operators over an instant vector (`sum`, `avg`, `topk`, `quantile`, ...), with
//! `by`/`without` grouping. Works on [`Vector`] values only, so LogQL reuses it.

use std::collections::HashMap;
use std::sync::Arc;

use lgtm_common::labels::{Labels, is_valid_label_name};

use crate::annotations::{Annos, info, warn};
use crate::ast::{AggOp, PosRange};
use crate::error::{Error, Result};
use crate::functions::math::kahan_inc;
use crate::functions::over_time::{float_mean, quantile};
use crate::value::{FloatHistogram, Sample, Vector, fmt_float_f};

/// The parameter of `topk`, `quantile`, `count_values`, ...
#[derive(Clone, Debug, PartialEq)]
pub enum AggParam {
    /// A scalar (`k`, `φ`, ratio).
    Scalar(f64),
    /// A string (`count_values` label).
    String(String),
}

/// Grouping of an aggregation.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Grouping {
    /// Labels of `by`/`without`.
    pub labels: Vec<String>,
    /// `without` when true.
    pub without: bool,
}

impl Grouping {
    /// The group key of a label set.
    pub fn key(&self, labels: &Labels) -> Labels {
        if self.without {
            labels.without(&self.dropped())
        } else {
            labels.keep(&self.labels)
        }
    }

    /// Names a `without` grouping removes (its labels and the metric identity labels).
    fn dropped(&self) -> Vec<&str> {
        let mut drop: Vec<&str> = self.labels.iter().map(String::as_str).collect();
        drop.extend_from_slice(crate::value::METRIC_IDENTITY_LABELS);
        drop
    }
}

/// Groups samples by their grouping key without building the key for every sample: the key's
/// fingerprint is hashed straight from the sample's labels, and the key itself is built once
/// per group (Prometheus groups by the same kind of hash).
pub(crate) struct Grouper<'g> {
    grouping: &'g Grouping,
    dropped: Vec<&'g str>,
    index: HashMap<u64, Vec<usize>>,
    pub(crate) keys: Vec<Labels>,
}

impl<'g> Grouper<'g> {
    pub(crate) fn new(grouping: &'g Grouping) -> Self {
        Self {
            grouping,
            dropped: if grouping.without {
                grouping.dropped()
            } else {
                Vec::new()
            },
            index: HashMap::new(),
            keys: Vec::new(),
        }
    }

    /// The group index of `labels` and whether the group is new.
    pub(crate) fn group_of(&mut self, labels: &Labels) -> (usize, bool) {
        let fp = if self.grouping.without {
            labels.fingerprint_without(&self.dropped)
        } else {
            labels.fingerprint_for(&self.grouping.labels)
        };
        let slot = self.index.entry(fp).or_default();
        if let Some(&i) = slot.iter().find(|&&i| {
            let key = &self.keys[i];
            let mut projected = labels.iter().filter(|l| {
                if self.grouping.without {
                    !self.dropped.iter().any(|n| *n == l.name)
                } else {
                    self.grouping.labels.contains(&l.name)
                }
            });
            key.iter().all(|k| projected.next() == Some(k)) && projected.next().is_none()
        }) {
            return (i, false);
        }
        let i = self.keys.len();
        slot.push(i);
        self.keys.push(self.grouping.key(labels));
        (i, true)
    }
}

/// Positions for annotations.
#[derive(Clone, Copy, Debug, Default)]
pub struct AggPos {
    /// The aggregated expression.
    pub expr: PosRange,
    /// The parameter.
    pub param: PosRange,
}

fn name_of(s: &Sample) -> String {
    s.labels.metric_name().unwrap_or("").to_owned()
}

/// Evaluates an aggregation at time `ts`.
pub fn aggregate(
    op: AggOp,
    v: Vector,
    param: Option<&AggParam>,
    grouping: &Grouping,
    ts: i64,
    pos: AggPos,
    annos: &mut Annos,
) -> Result<Vector> {
    let scalar = match param {
        Some(AggParam::Scalar(f)) => Some(*f),
        _ => None,
    };
    match op {
        AggOp::Topk | AggOp::Bottomk | AggOp::Limitk => {
            let p = scalar.unwrap_or(f64::NAN);
            if p.is_nan() {
                return Err(Error::Eval("Parameter value is NaN".into()));
            }
            let k = if p >= i64::MAX as f64 {
                i64::MAX
            } else {
                p as i64
            };
            if k < 1 {
                return Ok(Vec::new());
            }
            return Ok(select_k(op, v, k as usize, grouping, ts, pos, annos));
        }
        AggOp::LimitRatio => {
            let mut r = scalar.unwrap_or(f64::NAN);
            if r.is_nan() {
                return Err(Error::Eval("Ratio value is NaN".into()));
            }
            if !(-1.0..=1.0).contains(&r) {
                let capped = r.clamp(-1.0, 1.0);
                warn(
                    annos,
                    pos.param,
                    format!(
                        "ratio value should be between -1 and 1, got {}, capping to {}",
                        fmt_float_f(r),
                        fmt_float_f(capped)
                    ),
                );
                r = capped;
            }
            let out = v
                .into_iter()
                .filter(|s| {
                    let off = s.labels.fingerprint() as f64 / u64::MAX as f64;
                    (r >= 0.0 && off < r) || (r < 0.0 && off >= 1.0 + r)
                })
                .map(|mut s| {
                    s.t = ts;
                    s
                })
                .collect();
            return Ok(out);
        }
        AggOp::Quantile => {
            let q = scalar.unwrap_or(f64::NAN);
            if !(0.0..=1.0).contains(&q) {
                warn(
                    annos,
                    pos.param,
                    format!(
                        "quantile value should be between 0 and 1, got {}",
                        fmt_float_f(q)
                    ),
                );
            }
        }
        AggOp::CountValues => {
            let Some(AggParam::String(label)) = param else {
                return Err(Error::Eval("count_values needs a label name".into()));
            };
            if !is_valid_label_name(label)
                && (label.is_empty() || crate::lexer::has_raw_bytes(label))
            {
                return Err(Error::Eval(format!(
                    "invalid label name {}",
                    crate::lexer::quote_raw(label)
                )));
            }
            return Ok(count_values(v, label, grouping, ts));
        }
        _ => {}
    }
    // Group samples in first-appearance order.
    let mut grouper = Grouper::new(grouping);
    let mut groups: Vec<Vec<Sample>> = Vec::new();
    for s in v {
        match grouper.group_of(&s.labels) {
            (i, false) => groups[i].push(s),
            (_, true) => groups.push(vec![s]),
        }
    }
    let mut out = Vec::with_capacity(groups.len());
    for (key, samples) in grouper.keys.into_iter().zip(groups) {
        let drop_name = samples.iter().any(|s| s.drop_name);
        let n_hist = samples.iter().filter(|s| s.h.is_some()).count();
        let n_float = samples.len() - n_hist;
        let mut push_f = |f: f64| {
            out.push(Sample {
                labels: key.clone(),
                t: ts,
                f,
                h: None,
                drop_name,
            });
        };
        match op {
            AggOp::Count => push_f(samples.len() as f64),
            AggOp::Group => push_f(1.0),
            AggOp::Sum | AggOp::Avg => {
                if n_hist > 0 && n_float > 0 {
                    warn(
                        annos,
                        pos.expr,
                        "encountered a mix of histograms and floats for aggregation",
                    );
                    continue;
                }
                if n_hist > 0 {
                    let hs: Vec<&FloatHistogram> =
                        samples.iter().filter_map(|s| s.h.as_deref()).collect();
                    match crate::histogram::combine_all(&hs, op == AggOp::Avg) {
                        Ok(crate::histogram::Combined {
                            histogram: h,
                            reconciled,
                            conflicting_resets,
                        }) => {
                            if conflicting_resets {
                                warn(
                                    annos,
                                    pos.expr,
                                    "conflicting counter resets during histogram aggregation",
                                );
                            }
                            if reconciled {
                                info(
                                    annos,
                                    pos.expr,
                                    "mismatched custom buckets were reconciled during aggregation",
                                );
                            }
                            out.push(Sample {
                                labels: key.clone(),
                                t: ts,
                                f: 0.0,
                                h: Some(Arc::new(h)),
                                drop_name,
                            });
                        }
                        Err(_) => {
                            warn(
                                annos,
                                pos.expr,
                                crate::annotations::mixed_schemas(&name_of(&samples[0])),
                            );
                        }
                    }
                    continue;
                }
                if op == AggOp::Sum {
                    let (mut sum, mut c) = (0.0, 0.0);
                    for s in &samples {
                        (sum, c) = kahan_inc(s.f, sum, c);
                    }
                    push_f(if sum.is_infinite() { sum } else { sum + c });
                } else {
                    push_f(float_mean(samples.iter().map(|s| s.f)));
                }
            }
            AggOp::Min | AggOp::Max | AggOp::Stddev | AggOp::Stdvar | AggOp::Quantile => {
                if n_hist > 0 {
                    info(
                        annos,
                        pos.expr,
                        format!("ignored histogram in {} aggregation", op.as_str()),
                    );
                }
                let floats: Vec<f64> = samples
                    .iter()
                    .filter(|s| s.h.is_none())
                    .map(|s| s.f)
                    .collect();
                if floats.is_empty() {
                    continue;
                }
                let v = match op {
                    AggOp::Min | AggOp::Max => {
                        let mut best = floats[0];
                        for &f in &floats[1..] {
                            let better = if op == AggOp::Max { f > best } else { f < best };
                            if better || best.is_nan() {
                                best = f;
                            }
                        }
                        best
                    }
                    AggOp::Quantile => {
                        let mut fl = floats;
                        quantile(scalar.unwrap_or(f64::NAN), &mut fl)
                    }
                    _ => {
                        let (mut n, mut mean, mut m2) = (0.0, 0.0, 0.0);
                        for f in floats {
                            n += 1.0;
                            let d = f - mean;
                            mean += d / n;
                            m2 += d * (f - mean);
                        }
                        let var = m2 / n;
                        if op == AggOp::Stddev { var.sqrt() } else { var }
                    }
                };
                push_f(v);
            }
            _ => {}
        }
    }
    Ok(out)
}

pub(crate) fn cmp_desc_nan_last(a: f64, b: f64) -> std::cmp::Ordering {
    use std::cmp::Ordering::*;
    match (a.is_nan(), b.is_nan()) {
        (true, true) => Equal,
        (true, false) => Greater,
        (false, true) => Less,
        _ => b.partial_cmp(&a).unwrap_or(Equal),
    }
}

pub(crate) fn cmp_asc_nan_last(a: f64, b: f64) -> std::cmp::Ordering {
    use std::cmp::Ordering::*;
    match (a.is_nan(), b.is_nan()) {
        (true, true) => Equal,
        (true, false) => Greater,
        (false, true) => Less,
        _ => a.partial_cmp(&b).unwrap_or(Equal),
    }
}

fn select_k(
    op: AggOp,
    v: Vector,
    k: usize,
    grouping: &Grouping,
    ts: i64,
    pos: AggPos,
    annos: &mut Annos,
) -> Vector {
    let mut grouper = Grouper::new(grouping);
    let mut groups: Vec<Vec<Sample>> = Vec::new();
    for mut s in v {
        if op != AggOp::Limitk && s.h.is_some() {
            info(
                annos,
                pos.expr,
                format!("ignored histogram in {} aggregation", op.as_str()),
            );
            continue;
        }
        s.t = ts;
        match grouper.group_of(&s.labels) {
            (i, false) => groups[i].push(s),
            (_, true) => groups.push(vec![s]),
        }
    }
    let mut out = Vec::new();
    for mut g in groups {
        match op {
            AggOp::Topk => g.sort_by(|a, b| cmp_desc_nan_last(a.f, b.f)),
            AggOp::Bottomk => g.sort_by(|a, b| cmp_asc_nan_last(a.f, b.f)),
            _ => {}
        }
        g.truncate(k);
        out.extend(g);
    }
    out
}

fn count_values(v: Vector, label: &str, grouping: &Grouping, ts: i64) -> Vector {
    let mut index: HashMap<Labels, usize> = HashMap::new();
    let mut out: Vec<Sample> = Vec::new();
    for s in v {
        let value = match &s.h {
            Some(h) => crate::histogram::histogram_string(h),
            None => fmt_float_f(s.f),
        };
        let key = grouping.key(&s.labels).with(label, &value);
        match index.get(&key) {
            Some(&i) => out[i].f += 1.0,
            None => {
                index.insert(key.clone(), out.len());
                out.push(Sample::float(key, ts, 1.0));
            }
        }
    }
    out
}
