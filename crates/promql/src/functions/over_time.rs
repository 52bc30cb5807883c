//! The `*_over_time` family over a window of samples.

use std::sync::Arc;

use crate::annotations::{Annos, info, warn};
use crate::error::{Error, Result};
use crate::functions::math::kahan_inc;
use crate::functions::rate::{Out, RangeCtx, mixed_warning};
use crate::value::{FloatHistogram, Series};

/// φ-quantile of unsorted values with linear interpolation (PromQL's `quantile`).
pub fn quantile(q: f64, values: &mut [f64]) -> f64 {
    if values.is_empty() || q.is_nan() {
        return f64::NAN;
    }
    if q < 0.0 {
        return f64::NEG_INFINITY;
    }
    if q > 1.0 {
        return f64::INFINITY;
    }
    // Go's sort.Float64s order: NaN first.
    values.sort_by(|a, b| match (a.is_nan(), b.is_nan()) {
        (true, true) => std::cmp::Ordering::Equal,
        (true, false) => std::cmp::Ordering::Less,
        (false, true) => std::cmp::Ordering::Greater,
        _ => a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal),
    });
    let n = values.len() as f64;
    let rank = q * (n - 1.0);
    let lower = rank.floor().max(0.0);
    let upper = (lower + 1.0).min(n - 1.0);
    let weight = rank - rank.floor();
    values[lower as usize] * (1.0 - weight) + values[upper as usize] * weight
}

fn name(s: &Series) -> String {
    s.labels.metric_name().unwrap_or("").to_owned()
}

/// Mean of floats with compensated summation, falling back to an incremental mean on overflow.
pub fn float_mean(values: impl Iterator<Item = f64> + Clone) -> f64 {
    let (mut sum, mut c, mut n) = (0.0, 0.0, 0.0);
    for v in values.clone() {
        n += 1.0;
        (sum, c) = kahan_inc(v, sum, c);
    }
    let direct = (sum + c) / n;
    if !direct.is_infinite() || values.clone().any(|v| !v.is_finite()) {
        return if sum.is_infinite() { sum / n } else { direct };
    }
    // Overflow: incremental mean.
    let (mut mean, mut k) = (0.0f64, 0.0f64);
    for v in values {
        k += 1.0;
        if mean.is_infinite() && v.is_finite() {
            continue;
        }
        mean += v / k - mean / k;
    }
    mean
}

/// Evaluates one `*_over_time` function (params: the scalar arguments in order).
pub fn eval(
    func: &str,
    s: &Series,
    params: &[f64],
    ctx: &RangeCtx,
    annos: &mut Annos,
) -> Result<Option<Out>> {
    let floats = || s.floats.iter().map(|p| p.f);
    let only_floats = |annos: &mut Annos| -> bool {
        if s.floats.is_empty() {
            return false;
        }
        if !s.histograms.is_empty() {
            info(
                annos,
                ctx.pos,
                crate::annotations::histograms_ignored(&name(s)),
            );
        }
        true
    };
    Ok(match func {
        "count_over_time" => {
            if s.is_empty() {
                None
            } else {
                Some(Out::F(s.len() as f64))
            }
        }
        "present_over_time" => (!s.is_empty()).then_some(Out::F(1.0)),
        "last_over_time" => {
            let lf = s.floats.last();
            let lh = s.histograms.last();
            match (lf, lh) {
                (Some(f), Some(h)) if h.t > f.t => Some(Out::H(h.h.clone())),
                (Some(f), _) => Some(Out::F(f.f)),
                (None, Some(h)) => Some(Out::H(h.h.clone())),
                (None, None) => None,
            }
        }
        "first_over_time" => {
            let lf = s.floats.first();
            let lh = s.histograms.first();
            match (lf, lh) {
                (Some(f), Some(h)) if h.t < f.t => Some(Out::H(h.h.clone())),
                (Some(f), _) => Some(Out::F(f.f)),
                (None, Some(h)) => Some(Out::H(h.h.clone())),
                (None, None) => None,
            }
        }
        "ts_of_last_over_time" => {
            let t = s
                .floats
                .last()
                .map(|p| p.t)
                .max(s.histograms.last().map(|p| p.t));
            t.map(|t| Out::F(t as f64 / 1000.0))
        }
        "ts_of_first_over_time" => {
            let a = s.floats.first().map(|p| p.t);
            let b = s.histograms.first().map(|p| p.t);
            let t = match (a, b) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            t.map(|t| Out::F(t as f64 / 1000.0))
        }
        "sum_over_time" | "avg_over_time" => {
            if !s.floats.is_empty() && !s.histograms.is_empty() {
                mixed_warning(annos, s, ctx.pos);
                return Ok(None);
            }
            if s.is_empty() {
                return Ok(None);
            }
            if !s.histograms.is_empty() {
                let hs: Vec<&FloatHistogram> = s.histograms.iter().map(|p| p.h.as_ref()).collect();
                return Ok(
                    match crate::histogram::combine_all(&hs, func == "avg_over_time") {
                        Ok(crate::histogram::Combined {
                            histogram: h,
                            reconciled,
                            conflicting_resets,
                        }) => {
                            if conflicting_resets {
                                warn(
                                    annos,
                                    ctx.pos,
                                    "conflicting counter resets during histogram aggregation",
                                );
                            }
                            if reconciled {
                                info(
                                    annos,
                                    ctx.pos,
                                    "mismatched custom buckets were reconciled during aggregation",
                                );
                            }
                            Some(Out::H(Arc::new(h)))
                        }
                        Err(_) => {
                            warn(annos, ctx.pos, crate::annotations::mixed_schemas(&name(s)));
                            None
                        }
                    },
                );
            }
            if func == "sum_over_time" {
                let (mut sum, mut c) = (0.0, 0.0);
                for v in floats() {
                    (sum, c) = kahan_inc(v, sum, c);
                }
                Some(Out::F(if sum.is_infinite() { sum } else { sum + c }))
            } else {
                Some(Out::F(float_mean(floats())))
            }
        }
        "min_over_time" | "max_over_time" | "ts_of_min_over_time" | "ts_of_max_over_time" => {
            if !only_floats(annos) {
                return Ok(None);
            }
            let is_max = func.contains("max");
            let mut best = s.floats[0];
            for p in &s.floats[1..] {
                let better = if is_max { p.f > best.f } else { p.f < best.f };
                let ts_tie = func.starts_with("ts_of") && p.f == best.f;
                if better || best.f.is_nan() || ts_tie {
                    best = *p;
                }
            }
            if func.starts_with("ts_of") {
                Some(Out::F(best.t as f64 / 1000.0))
            } else {
                Some(Out::F(best.f))
            }
        }
        "stddev_over_time" | "stdvar_over_time" => {
            if !only_floats(annos) {
                return Ok(None);
            }
            let (mut count, mut mean, mut cm, mut aux, mut ca) = (0.0, 0.0, 0.0, 0.0, 0.0);
            for v in floats() {
                count += 1.0;
                let delta = v - (mean + cm);
                (mean, cm) = kahan_inc(delta / count, mean, cm);
                (aux, ca) = kahan_inc(delta * (v - (mean + cm)), aux, ca);
            }
            let var = (aux + ca) / count;
            Some(Out::F(if func == "stddev_over_time" {
                var.sqrt()
            } else {
                var
            }))
        }
        "quantile_over_time" => {
            let q = params.first().copied().unwrap_or(f64::NAN);
            if !(0.0..=1.0).contains(&q) {
                warn(
                    annos,
                    ctx.param_pos,
                    format!(
                        "quantile value should be between 0 and 1, got {}",
                        crate::value::fmt_float_f(q)
                    ),
                );
            }
            if !only_floats(annos) {
                return Ok(None);
            }
            let mut v: Vec<f64> = floats().collect();
            Some(Out::F(quantile(q, &mut v)))
        }
        "mad_over_time" => {
            if !only_floats(annos) {
                return Ok(None);
            }
            let mut v: Vec<f64> = floats().collect();
            if v.iter().any(|x| x.is_nan()) {
                return Ok(Some(Out::F(f64::NAN)));
            }
            let median = quantile(0.5, &mut v);
            let mut dev: Vec<f64> = v.iter().map(|x| (x - median).abs()).collect();
            Some(Out::F(quantile(0.5, &mut dev)))
        }
        "double_exponential_smoothing" => {
            let sf = params.first().copied().unwrap_or(f64::NAN);
            let tf = params.get(1).copied().unwrap_or(f64::NAN);
            if !(sf > 0.0 && sf < 1.0) {
                return Err(Error::Eval(format!(
                    "invalid smoothing factor. Expected: 0 < sf < 1, got: {}",
                    fmt_go_f6(sf)
                )));
            }
            if !(tf > 0.0 && tf < 1.0) {
                return Err(Error::Eval(format!(
                    "invalid trend factor. Expected: 0 < tf < 1, got: {}",
                    fmt_go_f6(tf)
                )));
            }
            if !s.floats.is_empty() && !s.histograms.is_empty() {
                info(
                    annos,
                    ctx.pos,
                    crate::annotations::histograms_ignored(&name(s)),
                );
            }
            if s.floats.len() < 2 {
                return Ok(None);
            }
            let f = &s.floats;
            let (mut s0, mut s1, mut b) = (0.0, f[0].f, f[1].f - f[0].f);
            for (i, p) in f.iter().enumerate().skip(1) {
                let x = sf * p.f;
                if i > 1 {
                    b = tf * (s1 - s0) + (1.0 - tf) * b;
                }
                let y = (1.0 - sf) * (s1 + b);
                s0 = s1;
                s1 = x + y;
            }
            Some(Out::F(s1))
        }
        _ => None,
    })
}

/// Go's `%f`: six decimals, and `+Inf`/`-Inf`/`NaN` where Rust would print `inf`.
fn fmt_go_f6(v: f64) -> String {
    if v.is_infinite() {
        return if v > 0.0 { "+Inf" } else { "-Inf" }.to_string();
    }
    format!("{v:.6}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smoothing_factor_errors_print_floats_like_go_percent_f() {
        // Go: fmt.Sprintf("%f", x) for 0.5, 1.25, NaN, +Inf, -Inf.
        assert_eq!(fmt_go_f6(0.5), "0.500000");
        assert_eq!(fmt_go_f6(1.25), "1.250000");
        assert_eq!(fmt_go_f6(f64::NAN), "NaN");
        assert_eq!(fmt_go_f6(f64::INFINITY), "+Inf");
        assert_eq!(fmt_go_f6(f64::NEG_INFINITY), "-Inf");
    }
}
