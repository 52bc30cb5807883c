//! Histogram functions: `histogram_quantile` (classic buckets and native), `histogram_fraction`,
//! `histogram_count/sum/avg/stddev/stdvar`.

use std::collections::HashMap;

use lgtm_common::labels::Labels;

use crate::annotations::{Annos, info, warn};
use crate::ast::PosRange;
use crate::value::{Sample, Vector};

/// A classic histogram bucket: upper bound and cumulative count.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ClassicBucket {
    /// `le` value.
    pub upper: f64,
    /// Cumulative count.
    pub count: f64,
}

/// Quantile over classic cumulative buckets; returns the value and whether monotonicity had to
/// be forced.
pub fn bucket_quantile(q: f64, buckets: &mut [ClassicBucket]) -> (f64, bool) {
    if q.is_nan() {
        return (f64::NAN, false);
    }
    if q < 0.0 {
        return (f64::NEG_INFINITY, false);
    }
    if q > 1.0 {
        return (f64::INFINITY, false);
    }
    buckets.sort_by(|a, b| {
        a.upper
            .partial_cmp(&b.upper)
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    match buckets.last() {
        Some(b) if b.upper == f64::INFINITY => {}
        _ => return (f64::NAN, false),
    }
    // Coalesce equal bounds.
    let mut merged: Vec<ClassicBucket> = Vec::with_capacity(buckets.len());
    for b in buckets.iter() {
        match merged.last_mut() {
            Some(last) if last.upper == b.upper => last.count += b.count,
            _ => merged.push(*b),
        }
    }
    let mut forced = false;
    let mut prev = merged[0].count;
    for b in merged.iter_mut().skip(1) {
        let curr = b.count;
        if curr == prev {
            continue;
        }
        if ((curr - prev) / prev.abs().max(curr.abs())).abs() <= 1e-12 {
            b.count = prev;
            continue;
        }
        if curr < prev {
            b.count = prev;
            forced = true;
            continue;
        }
        prev = curr;
    }
    if merged.len() < 2 {
        return (f64::NAN, forced);
    }
    let observations = merged[merged.len() - 1].count;
    if observations == 0.0 {
        return (f64::NAN, forced);
    }
    let mut rank = q * observations;
    let n = merged.len() - 1;
    let b = merged[..n].partition_point(|x| x.count < rank);
    if b == n {
        return (merged[n - 1].upper, forced);
    }
    if b == 0 && merged[0].upper <= 0.0 {
        return (merged[0].upper, forced);
    }
    let mut start = 0.0;
    let end = merged[b].upper;
    let mut count = merged[b].count;
    if b > 0 {
        start = merged[b - 1].upper;
        count -= merged[b - 1].count;
        rank -= merged[b - 1].count;
    }
    (start + (end - start) * (rank / count), forced)
}

/// Parses an `le` label value as Prometheus does (`+Inf`, floats).
pub fn parse_le(s: &str) -> Option<f64> {
    match s {
        "+Inf" | "Inf" | "+inf" | "inf" => Some(f64::INFINITY),
        "-Inf" | "-inf" => Some(f64::NEG_INFINITY),
        "NaN" => Some(f64::NAN),
        _ => s.parse().ok(),
    }
}

/// Native histogram samples and classic bucket groups of an input vector.
type Split = (Vec<(Labels, Sample)>, Vec<(Labels, Vec<ClassicBucket>)>);

/// Splits the input of `histogram_quantile`/`histogram_fraction` into native histograms and
/// classic bucket groups (by labels without `le`), warning about malformed `le` labels and
/// about label sets that have both kinds (those are dropped).
fn split_histograms(v: Vector, pos: PosRange, annos: &mut Annos) -> Split {
    let mut groups: HashMap<Labels, Vec<ClassicBucket>> = HashMap::new();
    let mut order: Vec<Labels> = Vec::new();
    let mut natives: Vec<(Labels, Sample)> = Vec::new();
    for s in v {
        if s.h.is_some() {
            natives.push((s.labels.clone(), s));
            continue;
        }
        let le = s.labels.get("le").and_then(parse_le);
        let Some(le) = le else {
            warn(
                annos,
                pos,
                format!(
                    "bucket label \"le\" is missing or has a malformed value of {} for metric name {}",
                    lgtm_common::labels::quote(s.labels.get_or_empty("le")),
                    lgtm_common::labels::quote(s.labels.metric_name().unwrap_or(""))
                ),
            );
            continue;
        };
        let key = s.labels.without(&["le"]);
        if !groups.contains_key(&key) {
            order.push(key.clone());
        }
        groups.entry(key).or_default().push(ClassicBucket {
            upper: le,
            count: s.f,
        });
    }
    let mut kept_natives = Vec::new();
    for (key, s) in natives {
        if groups.contains_key(&key) {
            warn(
                annos,
                pos,
                format!(
                    "vector contains a mix of classic and native histograms for metric name {}",
                    lgtm_common::labels::quote(key.metric_name().unwrap_or(""))
                ),
            );
            groups.remove(&key);
            continue;
        }
        kept_natives.push((key, s));
    }
    let classic = order
        .into_iter()
        .filter_map(|k| groups.remove(&k).map(|b| (k, b)))
        .collect();
    (kept_natives, classic)
}

/// `histogram_quantile(q, v)` over native histograms and classic `le` buckets.
pub fn histogram_quantile(
    q: f64,
    v: Vector,
    ts: i64,
    param_pos: PosRange,
    pos: PosRange,
    annos: &mut Annos,
) -> Vector {
    if !(0.0..=1.0).contains(&q) {
        warn(
            annos,
            param_pos,
            format!(
                "quantile value should be between 0 and 1, got {}",
                crate::value::fmt_float_f(q)
            ),
        );
    }
    let mut out = Vec::new();
    let (natives, classic) = split_histograms(v, pos, annos);
    for (key, s) in natives {
        let h = s.h.as_ref().map(|h| h.quantile(q)).unwrap_or(f64::NAN);
        if s.h
            .as_ref()
            .is_some_and(|h| h.sum.is_nan() && h.count > 0.0)
        {
            let how = if h.is_nan() {
                "result is NaN"
            } else {
                "result is skewed higher"
            };
            info(
                annos,
                pos,
                format!(
                    "input to histogram_quantile has NaN observations, {how} for metric name {}",
                    lgtm_common::labels::quote(key.metric_name().unwrap_or(""))
                ),
            );
        }
        out.push(Sample {
            labels: key,
            t: ts,
            f: h,
            h: None,
            drop_name: true,
        });
    }
    for (key, mut buckets) in classic {
        let (v, forced) = bucket_quantile(q, &mut buckets);
        if forced {
            info(
                annos,
                pos,
                format!(
                    "input to histogram_quantile needed to be fixed for monotonicity (see https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile) for metric name {}",
                    lgtm_common::labels::quote(key.metric_name().unwrap_or(""))
                ),
            );
        }
        out.push(Sample {
            labels: key,
            t: ts,
            f: v,
            h: None,
            drop_name: true,
        });
    }
    out
}

/// `histogram_fraction(lower, upper, v)` over native histograms and classic `le` buckets.
pub fn histogram_fraction(
    lower: f64,
    upper: f64,
    v: Vector,
    ts: i64,
    pos: PosRange,
    annos: &mut Annos,
) -> Vector {
    let mut out = Vec::new();
    let (natives, classic) = split_histograms(v, pos, annos);
    for (key, s) in natives {
        let Some(h) = &s.h else { continue };
        if h.sum.is_nan() && h.count > 0.0 {
            info(
                annos,
                pos,
                format!(
                    "input to histogram_fraction has NaN observations, which are excluded from all fractions for metric name {}",
                    lgtm_common::labels::quote(key.metric_name().unwrap_or(""))
                ),
            );
        }
        out.push(Sample {
            labels: key,
            t: ts,
            f: h.fraction(lower, upper),
            h: None,
            drop_name: true,
        });
    }
    for (key, mut buckets) in classic {
        let f = bucket_fraction(lower, upper, &mut buckets);
        out.push(Sample {
            labels: key,
            t: ts,
            f,
            h: None,
            drop_name: true,
        });
    }
    out
}

/// Fraction of observations between `lower` and `upper` in classic buckets.
pub fn bucket_fraction(lower: f64, upper: f64, buckets: &mut [ClassicBucket]) -> f64 {
    buckets.sort_by(|a, b| {
        a.upper
            .partial_cmp(&b.upper)
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    match buckets.last() {
        Some(b) if b.upper == f64::INFINITY => {}
        _ => return f64::NAN,
    }
    let total = buckets[buckets.len() - 1].count;
    if total == 0.0 || lower.is_nan() || upper.is_nan() {
        return f64::NAN;
    }
    if lower >= upper {
        return 0.0;
    }
    let rank_at = |x: f64| -> f64 {
        let mut prev_upper = 0.0f64;
        let mut prev_count = 0.0;
        for (i, b) in buckets.iter().enumerate() {
            if x <= b.upper {
                if b.upper.is_infinite() {
                    return if x.is_infinite() { b.count } else { prev_count };
                }
                let lo = if i == 0 {
                    if b.upper > 0.0 {
                        0.0
                    } else {
                        // No interpolation inside a bucket of infinite width.
                        return if x == f64::NEG_INFINITY { 0.0 } else { b.count };
                    }
                } else {
                    prev_upper
                };
                if x <= lo {
                    return prev_count;
                }
                return prev_count + (b.count - prev_count) * (x - lo) / (b.upper - lo);
            }
            prev_upper = b.upper;
            prev_count = b.count;
        }
        total
    };
    (rank_at(upper) - rank_at(lower)) / total
}
