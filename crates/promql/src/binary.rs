//! Binary operators over values: scalar/scalar, vector/scalar and vector/vector with
//! `on`/`ignoring`/`group_*` matching and the set operators. Independent of the PromQL AST
//! apart from the operator and matching descriptions, so LogQL reuses it.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use lgtm_common::labels::{Labels, METRIC_NAME};

use crate::annotations::{Annos, info};
use crate::ast::{BinOp, Card, PosRange, VectorMatching};
use crate::error::{Error, Result};
use crate::value::{FloatHistogram, Sample, Vector};

/// Scalar/scalar (and float element) arithmetic and comparison: value and whether to keep.
pub fn float_op(op: BinOp, l: f64, r: f64) -> (f64, bool) {
    match op {
        BinOp::Add => (l + r, true),
        BinOp::Sub => (l - r, true),
        BinOp::Mul => (l * r, true),
        BinOp::Div => (l / r, true),
        BinOp::Pow => (l.powf(r), true),
        BinOp::Mod => (l % r, true),
        BinOp::Atan2 => (l.atan2(r), true),
        BinOp::Eql => (l, l == r),
        BinOp::Neq => (l, l != r),
        BinOp::Gtr => (l, l > r),
        BinOp::Lss => (l, l < r),
        BinOp::Gte => (l, l >= r),
        BinOp::Lte => (l, l <= r),
        _ => (f64::NAN, false),
    }
}

/// Scalar/scalar operation (comparisons need `bool` and return 0/1).
pub fn scalar_op(op: BinOp, l: f64, r: f64) -> f64 {
    let (v, keep) = float_op(op, l, r);
    if op.is_comparison() {
        if keep { 1.0 } else { 0.0 }
    } else {
        v
    }
}

/// Operation on one pair of elements, either of which may be a histogram.
/// Returns `(float, histogram, keep)`; `None` when the types are incompatible.
fn elem_op(
    op: BinOp,
    lf: f64,
    rf: f64,
    lh: Option<&Arc<FloatHistogram>>,
    rh: Option<&Arc<FloatHistogram>>,
    pos: PosRange,
    annos: &mut Annos,
) -> Option<(f64, Option<Arc<FloatHistogram>>, bool)> {
    let incompatible = |annos: &mut Annos, l: &str, r: &str| {
        info(
            annos,
            pos,
            format!(
                "incompatible sample types encountered for binary operator {:?}: {l} {} {r}",
                op.as_str(),
                op.as_str()
            ),
        );
    };
    match (lh, rh) {
        (None, None) => {
            let (v, keep) = float_op(op, lf, rf);
            Some((v, None, keep))
        }
        (None, Some(h)) => match op {
            BinOp::Mul => {
                let mut h = (**h).clone();
                h.mul(lf);
                h.compact();
                Some((0.0, Some(Arc::new(h)), true))
            }
            _ => {
                incompatible(annos, "float", "histogram");
                None
            }
        },
        (Some(h), None) => match op {
            BinOp::TrimUpper | BinOp::TrimLower => Some((
                0.0,
                Some(Arc::new(h.trim(rf, op == BinOp::TrimUpper))),
                true,
            )),
            BinOp::Mul | BinOp::Div => {
                let mut h = (**h).clone();
                if op == BinOp::Mul {
                    h.mul(rf)
                } else {
                    h.div(rf)
                }
                h.compact();
                Some((0.0, Some(Arc::new(h)), true))
            }
            _ => {
                incompatible(annos, "histogram", "float");
                None
            }
        },
        (Some(a), Some(b)) => match op {
            BinOp::Add | BinOp::Sub => {
                if a.uses_custom_buckets()
                    && b.uses_custom_buckets()
                    && a.custom_values != b.custom_values
                {
                    let what = if op == BinOp::Add {
                        "addition"
                    } else {
                        "subtraction"
                    };
                    info(
                        annos,
                        pos,
                        format!("mismatched custom buckets were reconciled during {what}"),
                    );
                }
                let r = if op == BinOp::Add { a.add(b) } else { a.sub(b) };
                match r {
                    Ok(mut h) => {
                        h.compact();
                        if op == BinOp::Sub {
                            h.counter_reset_hint = crate::value::CounterResetHint::Gauge;
                        }
                        Some((0.0, Some(Arc::new(h)), true))
                    }
                    Err(_) => {
                        crate::annotations::warn(annos, pos, "vector contains a mix of histograms with exponential and custom buckets schemas for metric name \"\"".to_string());
                        None
                    }
                }
            }
            BinOp::Eql | BinOp::Neq => {
                let mut x = (**a).clone();
                let mut y = (**b).clone();
                x.compact();
                y.compact();
                x.counter_reset_hint = y.counter_reset_hint;
                let eq = x == y;
                Some((
                    0.0,
                    Some(a.clone()),
                    if op == BinOp::Eql { eq } else { !eq },
                ))
            }
            _ => {
                incompatible(annos, "histogram", "histogram");
                None
            }
        },
    }
}

/// Drops the metric name for operators that change the value.
fn drops_name(op: BinOp, return_bool: bool) -> bool {
    return_bool || !(op.is_comparison() || matches!(op, BinOp::TrimUpper | BinOp::TrimLower))
}

/// `vector op scalar` (or `scalar op vector` with `scalar_left`).
#[allow(clippy::too_many_arguments)]
pub fn vector_scalar(
    op: BinOp,
    v: Vector,
    scalar: f64,
    scalar_left: bool,
    return_bool: bool,
    ts: i64,
    pos: PosRange,
    annos: &mut Annos,
) -> Vector {
    let mut out = Vec::with_capacity(v.len());
    for s in v {
        let (lf, rf, lh, rh) = if scalar_left {
            (scalar, s.f, None, s.h.as_ref())
        } else {
            (s.f, scalar, s.h.as_ref(), None)
        };
        let Some((mut f, mut h, keep)) = elem_op(op, lf, rf, lh, rh, pos, annos) else {
            continue;
        };
        if op.is_comparison() && scalar_left {
            f = s.f;
            h = s.h.clone();
        }
        if return_bool {
            f = if keep { 1.0 } else { 0.0 };
            h = None;
        } else if !keep {
            continue;
        }
        out.push(Sample {
            labels: s.labels,
            t: ts,
            f,
            h,
            drop_name: s.drop_name || drops_name(op, return_bool),
        });
    }
    out
}

/// The matching signature of a label set.
pub fn signature(labels: &Labels, on: bool, names: &[String]) -> Labels {
    if on {
        labels.keep(names)
    } else {
        let mut drop: Vec<&str> = names.iter().map(String::as_str).collect();
        drop.push(METRIC_NAME);
        labels.without(&drop)
    }
}

fn result_labels(l: &Labels, r: &Labels, m: &VectorMatching) -> Labels {
    let mut out = l.clone();
    if m.card == Card::OneToOne {
        out = if m.on {
            out.keep(&m.labels)
        } else {
            out.without(&m.labels)
        };
    }
    for name in &m.include {
        out = out.with(name, r.get_or_empty(name));
    }
    out
}

/// `lhs op rhs` for two instant vectors.
#[allow(clippy::too_many_arguments)]
pub fn vector_vector(
    op: BinOp,
    lhs: Vector,
    rhs: Vector,
    m: &VectorMatching,
    return_bool: bool,
    ts: i64,
    pos: PosRange,
    annos: &mut Annos,
) -> Result<Vector> {
    match op {
        BinOp::And => return Ok(set_and(lhs, rhs, m)),
        BinOp::Or => return Ok(set_or(lhs, rhs, m)),
        BinOp::Unless => return Ok(set_unless(lhs, rhs, m)),
        _ => {}
    }
    let swapped = m.card == Card::OneToMany;
    let (lhs, rhs) = if swapped { (rhs, lhs) } else { (lhs, rhs) };
    // Fill modifiers refer to the operands after the group_right swap.
    let fill_many = m.fill_left;
    let fill_one = m.fill_right;
    let mut right: HashMap<Labels, usize> = HashMap::new();
    for (i, s) in rhs.iter().enumerate() {
        let sig = signature(&s.labels, m.on, &m.labels);
        if let Some(&j) = right.get(&sig) {
            let side = if swapped { "left" } else { "right" };
            return Err(Error::Eval(format!(
                "found duplicate series for the match group {} on the {side} hand-side of the operation: [{}, {}];many-to-many matching not allowed: matching labels must be unique on one side",
                sig,
                rhs[j].labels.clone().min(s.labels.clone()),
                rhs[j].labels.clone().max(s.labels.clone())
            )));
        }
        right.insert(sig, i);
    }
    let mut matched: HashMap<Labels, HashSet<Labels>> = HashMap::new();
    let mut used_right: HashSet<usize> = HashSet::new();
    let mut out = Vec::new();
    let emit = |ls: &Sample,
                rs: &Sample,
                out: &mut Vector,
                annos: &mut Annos,
                matched: &mut HashMap<Labels, HashSet<Labels>>,
                sig: Labels|
     -> Result<()> {
        let (mut lf, mut rf, mut lh, mut rh) = (ls.f, rs.f, ls.h.as_ref(), rs.h.as_ref());
        if swapped {
            std::mem::swap(&mut lf, &mut rf);
            std::mem::swap(&mut lh, &mut rh);
        }
        let Some((mut f, mut h, keep)) = elem_op(op, lf, rf, lh, rh, pos, annos) else {
            return Ok(());
        };
        if swapped && op.is_comparison() {
            // The "many" side's value is returned.
            f = ls.f;
            h = ls.h.clone();
        }
        if return_bool {
            f = if keep { 1.0 } else { 0.0 };
            h = None;
        } else if !keep {
            return Ok(());
        }
        let labels = result_labels(&ls.labels, &rs.labels, m);
        let entry = matched.entry(sig).or_default();
        if !entry.insert(labels.clone()) && m.card != Card::OneToOne {
            return Err(Error::Eval(
                "multiple matches for labels: grouping labels must ensure unique matches".into(),
            ));
        }
        let drop_name = drops_name(op, return_bool) || ls.drop_name;
        out.push(Sample {
            labels,
            t: ts,
            f,
            h,
            drop_name,
        });
        Ok(())
    };
    let mut one_to_one_seen: HashSet<Labels> = HashSet::new();
    for ls in &lhs {
        let sig = signature(&ls.labels, m.on, &m.labels);
        match right.get(&sig) {
            Some(&j) => {
                if m.card == Card::OneToOne && !one_to_one_seen.insert(sig.clone()) {
                    return Err(Error::Eval("multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)".into()));
                }
                used_right.insert(j);
                emit(ls, &rhs[j], &mut out, annos, &mut matched, sig)?;
            }
            None => {
                if let Some(fv) = fill_one {
                    let filler = Sample::float(ls.labels.keep(&m.include), ts, fv);
                    emit(ls, &filler, &mut out, annos, &mut matched, sig)?;
                }
            }
        }
    }
    if let Some(fv) = fill_many {
        for (j, rs) in rhs.iter().enumerate() {
            if used_right.contains(&j) {
                continue;
            }
            let sig = signature(&rs.labels, m.on, &m.labels);
            let filler = Sample::float(sig.clone(), ts, fv);
            emit(&filler, rs, &mut out, annos, &mut matched, sig)?;
        }
    }
    Ok(out)
}

fn sigs(v: &Vector, m: &VectorMatching) -> HashSet<Labels> {
    v.iter()
        .map(|s| signature(&s.labels, m.on, &m.labels))
        .collect()
}

/// `lhs and rhs`.
pub fn set_and(lhs: Vector, rhs: Vector, m: &VectorMatching) -> Vector {
    let r = sigs(&rhs, m);
    lhs.into_iter()
        .filter(|s| r.contains(&signature(&s.labels, m.on, &m.labels)))
        .collect()
}

/// `lhs or rhs`.
pub fn set_or(lhs: Vector, rhs: Vector, m: &VectorMatching) -> Vector {
    let l = sigs(&lhs, m);
    let mut out = lhs;
    out.extend(
        rhs.into_iter()
            .filter(|s| !l.contains(&signature(&s.labels, m.on, &m.labels))),
    );
    out
}

/// `lhs unless rhs`.
pub fn set_unless(lhs: Vector, rhs: Vector, m: &VectorMatching) -> Vector {
    let r = sigs(&rhs, m);
    lhs.into_iter()
        .filter(|s| !r.contains(&signature(&s.labels, m.on, &m.labels)))
        .collect()
}
