//! The counter/gauge family over a window of samples: `rate`, `increase`, `delta`, `irate`,
//! `idelta`, `deriv`, `predict_linear`, `changes`, `resets`.

use std::sync::Arc;

use crate::annotations::{Annos, info, warn};
use crate::ast::PosRange;
use crate::functions::math::kahan_inc;
use crate::value::{CounterResetHint, FPoint, FloatHistogram, Series};

/// Where the window of a range function sits.
#[derive(Clone, Copy, Debug)]
pub struct RangeCtx {
    /// Evaluation time of the step (ms).
    pub ts: i64,
    /// Exclusive start of the window (ms).
    pub range_start: i64,
    /// Inclusive end of the window (ms).
    pub range_end: i64,
    /// Position of the range argument (for annotations).
    pub pos: PosRange,
    /// Position of the first scalar parameter (for annotations).
    pub param_pos: PosRange,
    /// `smoothed` range: samples around the window are interpolated at its edges.
    pub smoothed: bool,
    /// `anchored` range: the last sample before the window anchors its start.
    pub anchored: bool,
}

impl RangeCtx {
    /// Window length in seconds.
    pub fn range_secs(&self) -> f64 {
        (self.range_end - self.range_start) as f64 / 1000.0
    }
}

/// A float or histogram result of a range function.
#[derive(Clone, Debug, PartialEq)]
pub enum Out {
    /// A float.
    F(f64),
    /// A histogram.
    H(Arc<FloatHistogram>),
}

fn metric_name(s: &Series) -> String {
    s.labels.metric_name().unwrap_or("").to_owned()
}

/// Mixed floats and histograms warning.
pub fn mixed_warning(annos: &mut Annos, s: &Series, pos: PosRange) {
    warn(
        annos,
        pos,
        format!(
            "encountered a mix of histograms and floats for metric name {}",
            lgtm_common::labels::quote(&metric_name(s))
        ),
    );
}

/// True when the start timestamps of two consecutive samples show a counter reset
/// (Prometheus' `isStartTimestampReset`).
pub fn is_st_reset(prev_st: i64, prev_t: i64, cur_st: i64, cur_t: i64) -> bool {
    if cur_st == 0 || cur_st >= cur_t {
        return false;
    }
    if cur_st < prev_t {
        return false;
    }
    if cur_st > prev_t {
        return true;
    }
    if prev_st > prev_t {
        return false;
    }
    prev_st != 0 && prev_st != prev_t
}

/// True when a sample's start timestamp overlaps the previous sample (data quality issue).
fn st_overlap(prev_st: i64, prev_t: i64, cur_st: i64) -> bool {
    cur_st != 0 && cur_st < prev_t && cur_st != prev_st
}

fn overlap_warning(annos: &mut Annos, s: &Series, pos: PosRange) {
    warn(
        annos,
        pos,
        format!(
            "sample has start time that overlaps with previous sample timestamp for metric {}",
            lgtm_common::labels::quote(&metric_name(s))
        ),
    );
}

fn histogram_rate(
    s: &Series,
    is_counter: bool,
    pos: PosRange,
    annos: &mut Annos,
) -> Option<FloatHistogram> {
    let points = &s.histograms;
    let sts = &s.hist_sts;
    let mut prev: FloatHistogram = (*points[0].h).clone();
    let last = &points[points.len() - 1].h;
    let mut custom = prev.uses_custom_buckets();
    let mixed = || crate::annotations::mixed_schemas(&metric_name(s));
    if is_counter
        && (prev.counter_reset_hint == CounterResetHint::Gauge
            || last.counter_reset_hint == CounterResetHint::Gauge)
    {
        warn(annos, pos, crate::annotations::not_counter(&metric_name(s)));
    }
    // A reset between the 1st and 2nd sample makes the 1st irrelevant (layout included).
    if is_counter {
        let second = &points[1].h;
        if (sts.len() > 1 && is_st_reset(sts[0], points[0].t, sts[1], points[1].t))
            || second.detect_reset(&prev)
        {
            prev = FloatHistogram {
                schema: second.schema,
                custom_values: second.custom_values.clone(),
                ..Default::default()
            };
            custom = second.uses_custom_buckets();
        }
    }
    if last.uses_custom_buckets() != custom {
        warn(annos, pos, mixed());
        return None;
    }
    let mut min_schema = last.schema.min(prev.schema);
    for p in &points[1..points.len() - 1] {
        if !is_counter {
            continue;
        }
        if p.h.counter_reset_hint == CounterResetHint::Gauge {
            warn(annos, pos, crate::annotations::not_counter(&metric_name(s)));
        }
        min_schema = min_schema.min(p.h.schema);
        if p.h.uses_custom_buckets() != custom {
            warn(annos, pos, mixed());
            return None;
        }
    }
    let mut h = last.to_schema(min_schema);
    if custom
        && prev.custom_values != last.custom_values
        && !(prev.count == 0.0 && prev.positive_buckets.is_empty())
    {
        info(
            annos,
            pos,
            "mismatched custom buckets were reconciled during subtraction",
        );
    }
    h = match h.sub(&prev) {
        Ok(x) => x,
        Err(_) => {
            warn(annos, pos, mixed());
            return None;
        }
    };
    if is_counter {
        let mut overlap = false;
        let mut prev_h: &FloatHistogram = &prev;
        for (i, p) in points.iter().enumerate().skip(1) {
            if !overlap && i < sts.len() && st_overlap(sts[i - 1], points[i - 1].t, sts[i]) {
                overlap_warning(annos, s, pos);
                overlap = true;
            }
            let st_reset = i < sts.len() && is_st_reset(sts[i - 1], points[i - 1].t, sts[i], p.t);
            if st_reset || p.h.detect_reset(prev_h) {
                h = match h.add(prev_h) {
                    Ok(x) => x,
                    Err(_) => {
                        warn(annos, pos, mixed());
                        return None;
                    }
                };
            }
            prev_h = &p.h;
        }
    } else if points[0].h.counter_reset_hint != CounterResetHint::Gauge
        || last.counter_reset_hint != CounterResetHint::Gauge
    {
        warn(annos, pos, crate::annotations::not_gauge(&metric_name(s)));
    }
    h.counter_reset_hint = CounterResetHint::Gauge;
    h.compact();
    Some(h)
}

/// `rate` (`is_rate`), `increase` (counter, not rate) and `delta` (neither).
pub fn extrapolated_rate(
    s: &Series,
    ctx: &RangeCtx,
    is_counter: bool,
    is_rate: bool,
    annos: &mut Annos,
) -> Option<Out> {
    if !s.histograms.is_empty() && !s.floats.is_empty() {
        mixed_warning(annos, s, ctx.pos);
        return None;
    }
    let (first_t, last_t, n1, sts);
    let mut result_f = 0.0;
    let mut result_h: Option<FloatHistogram> = None;
    if !s.histograms.is_empty() {
        n1 = s.histograms.len() - 1;
        first_t = s.histograms[0].t;
        last_t = s.histograms[n1].t;
        sts = &s.hist_sts;
        if s.histograms.len() > 1 {
            result_h = Some(histogram_rate(s, is_counter, ctx.pos, annos)?);
        }
    } else if !s.floats.is_empty() {
        n1 = s.floats.len() - 1;
        first_t = s.floats[0].t;
        last_t = s.floats[n1].t;
        sts = &s.float_sts;
        result_f = s.floats[n1].f - s.floats[0].f;
        if is_counter {
            let mut overlap = false;
            for i in 1..s.floats.len() {
                let (prev, cur) = (s.floats[i - 1], s.floats[i]);
                if !overlap && i < sts.len() && st_overlap(sts[i - 1], prev.t, sts[i]) {
                    overlap_warning(annos, s, ctx.pos);
                    overlap = true;
                }
                if cur.f < prev.f
                    || (i < sts.len() && is_st_reset(sts[i - 1], prev.t, sts[i], cur.t))
                {
                    result_f += prev.f;
                }
            }
        }
    } else {
        return None;
    }
    let mut duration_to_start = (first_t - ctx.range_start) as f64 / 1000.0;
    let mut duration_to_end = (ctx.range_end - last_t) as f64 / 1000.0;
    let mut sampled = (last_t - first_t) as f64 / 1000.0;
    let avg = if n1 > 0 { sampled / n1 as f64 } else { 0.0 };
    let threshold = avg * 1.1;
    let st0 = sts.first().copied().unwrap_or(0);
    if is_counter && st0 != 0 && st0 > ctx.range_start && st0 < first_t {
        // A zero-valued sample at the start timestamp replaces extrapolation to the left.
        duration_to_start = 0.0;
        sampled = (last_t - st0) as f64 / 1000.0;
        if !s.floats.is_empty() {
            result_f += s.floats[0].f;
        } else {
            let first = &s.histograms[0].h;
            result_h = Some(match result_h {
                None => (**first).clone(),
                Some(h) => h.add(first).ok()?,
            });
        }
    } else if n1 == 0 {
        return None;
    } else {
        if duration_to_start >= threshold {
            duration_to_start = avg / 2.0;
        }
        if is_counter {
            let mut to_zero = duration_to_start;
            if result_f > 0.0 && !s.floats.is_empty() && s.floats[0].f >= 0.0 {
                to_zero = sampled * (s.floats[0].f / result_f);
            } else if let Some(h) = &result_h
                && h.count > 0.0
                && !s.histograms.is_empty()
                && s.histograms[0].h.count >= 0.0
            {
                to_zero = sampled * (s.histograms[0].h.count / h.count);
            }
            if to_zero < duration_to_start {
                duration_to_start = to_zero;
            }
        }
    }
    if duration_to_end >= threshold {
        duration_to_end = avg / 2.0;
    }
    let mut factor = if sampled != 0.0 {
        (sampled + duration_to_start + duration_to_end) / sampled
    } else {
        1.0
    };
    if is_rate {
        factor /= ctx.range_secs();
    }
    match result_h {
        Some(mut h) => {
            h.mul(factor);
            h.counter_reset_hint = CounterResetHint::Gauge;
            h.compact();
            Some(Out::H(Arc::new(h)))
        }
        None => Some(Out::F(result_f * factor)),
    }
}

enum Pt<'a> {
    F(i64, f64),
    H(i64, &'a Arc<FloatHistogram>),
}

impl Pt<'_> {
    fn t(&self) -> i64 {
        match self {
            Pt::F(t, _) | Pt::H(t, _) => *t,
        }
    }
}

/// Points of both kinds in time order, with their start timestamps.
fn merged_st(s: &Series) -> Vec<(Pt<'_>, i64)> {
    let mut out = Vec::with_capacity(s.len());
    let (mut i, mut j) = (0, 0);
    while i < s.floats.len() || j < s.histograms.len() {
        let take_f =
            j >= s.histograms.len() || (i < s.floats.len() && s.floats[i].t <= s.histograms[j].t);
        if take_f {
            out.push((Pt::F(s.floats[i].t, s.floats[i].f), s.float_st(i)));
            i += 1;
        } else {
            out.push((Pt::H(s.histograms[j].t, &s.histograms[j].h), s.hist_st(j)));
            j += 1;
        }
    }
    out
}

fn merged(s: &Series) -> Vec<Pt<'_>> {
    let mut out: Vec<Pt<'_>> = Vec::with_capacity(s.len());
    let (mut i, mut j) = (0, 0);
    while i < s.floats.len() || j < s.histograms.len() {
        let take_f =
            j >= s.histograms.len() || (i < s.floats.len() && s.floats[i].t <= s.histograms[j].t);
        if take_f {
            out.push(Pt::F(s.floats[i].t, s.floats[i].f));
            i += 1;
        } else {
            out.push(Pt::H(s.histograms[j].t, &s.histograms[j].h));
            j += 1;
        }
    }
    out
}

/// `irate` (`is_rate`) and `idelta`.
pub fn instant_value(s: &Series, ctx: &RangeCtx, is_rate: bool, annos: &mut Annos) -> Option<Out> {
    let pts = merged_st(s);
    if pts.len() < 2 {
        return None;
    }
    let (last, last_st) = &pts[pts.len() - 1];
    let (prev, prev_st) = &pts[pts.len() - 2];
    let st_reset = is_st_reset(*prev_st, prev.t(), *last_st, last.t());
    let interval = (last.t() - prev.t()) as f64 / 1000.0;
    match (prev, last) {
        (Pt::F(_, p), Pt::F(_, l)) => {
            let mut v = if is_rate && (l < p || st_reset) {
                *l
            } else {
                l - p
            };
            if is_rate {
                if interval == 0.0 {
                    return None;
                }
                v /= interval;
            }
            Some(Out::F(v))
        }
        (Pt::H(_, p), Pt::H(_, l)) => {
            if is_rate
                && (p.counter_reset_hint == CounterResetHint::Gauge
                    || l.counter_reset_hint == CounterResetHint::Gauge)
            {
                warn(
                    annos,
                    ctx.pos,
                    crate::annotations::not_counter(&metric_name(s)),
                );
            }
            if !is_rate
                && (p.counter_reset_hint != CounterResetHint::Gauge
                    || l.counter_reset_hint != CounterResetHint::Gauge)
            {
                warn(
                    annos,
                    ctx.pos,
                    crate::annotations::not_gauge(&metric_name(s)),
                );
            }
            let mut h = if !is_rate || !(st_reset || l.detect_reset(p)) {
                if l.uses_custom_buckets()
                    && p.uses_custom_buckets()
                    && l.custom_values != p.custom_values
                {
                    info(
                        annos,
                        ctx.pos,
                        "mismatched custom buckets were reconciled during subtraction",
                    );
                }
                match l.sub(p) {
                    Ok(h) => h,
                    Err(_) => {
                        warn(
                            annos,
                            ctx.pos,
                            crate::annotations::mixed_schemas(&metric_name(s)),
                        );
                        return None;
                    }
                }
            } else {
                (***l).clone()
            };
            h.counter_reset_hint = CounterResetHint::Gauge;
            h.compact();
            if is_rate {
                if interval == 0.0 {
                    return None;
                }
                h.div(interval);
            }
            Some(Out::H(Arc::new(h)))
        }
        _ => {
            mixed_warning(annos, s, ctx.pos);
            None
        }
    }
}

/// Least-squares fit; returns slope and intercept at `intercept_t`.
pub fn linear_regression(points: &[FPoint], intercept_t: i64) -> (f64, f64) {
    let mut n = 0.0;
    let (mut sx, mut cx, mut sy, mut cy, mut sxy, mut cxy, mut sx2, mut cx2) =
        (0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
    let init_y = points[0].f;
    let mut const_y = true;
    for (i, p) in points.iter().enumerate() {
        if const_y && i > 0 && p.f != init_y {
            const_y = false;
        }
        n += 1.0;
        let x = (p.t - intercept_t) as f64 / 1e3;
        (sx, cx) = kahan_inc(x, sx, cx);
        (sy, cy) = kahan_inc(p.f, sy, cy);
        (sxy, cxy) = kahan_inc(x * p.f, sxy, cxy);
        (sx2, cx2) = kahan_inc(x * x, sx2, cx2);
    }
    if const_y {
        if init_y.is_infinite() {
            return (f64::NAN, f64::NAN);
        }
        return (0.0, init_y);
    }
    sx += cx;
    sy += cy;
    sxy += cxy;
    sx2 += cx2;
    let cov = sxy - sx * sy / n;
    let var = sx2 - sx * sx / n;
    let slope = cov / var;
    (slope, sy / n - slope * sx / n)
}

fn histogram_ignored(s: &Series, ctx: &RangeCtx, func: &str, annos: &mut Annos) {
    if !s.histograms.is_empty() {
        info(
            annos,
            ctx.pos,
            crate::annotations::histograms_ignored(&metric_name(s)),
        );
        let _ = func;
    }
}

/// `deriv`.
pub fn deriv(s: &Series, ctx: &RangeCtx, annos: &mut Annos) -> Option<Out> {
    if s.floats.len() < 2 {
        if s.floats.is_empty() && !s.histograms.is_empty() {
            return None;
        }
        return None;
    }
    if !s.histograms.is_empty() {
        histogram_ignored(s, ctx, "deriv", annos);
    }
    let (slope, _) = linear_regression(&s.floats, s.floats[0].t);
    Some(Out::F(slope))
}

/// `predict_linear(v, seconds)`.
pub fn predict_linear(s: &Series, ctx: &RangeCtx, secs: f64, annos: &mut Annos) -> Option<Out> {
    if s.floats.len() < 2 {
        return None;
    }
    if !s.histograms.is_empty() {
        histogram_ignored(s, ctx, "predict_linear", annos);
    }
    let (slope, intercept) = linear_regression(&s.floats, ctx.ts);
    Some(Out::F(intercept + slope * secs))
}

/// `changes`.
pub fn changes(s: &Series) -> Option<Out> {
    let pts = merged(s);
    if pts.is_empty() {
        return None;
    }
    let mut n = 0.0;
    for w in pts.windows(2) {
        let changed = match (&w[0], &w[1]) {
            (Pt::F(_, a), Pt::F(_, b)) => a != b && !(a.is_nan() && b.is_nan()),
            (Pt::H(_, a), Pt::H(_, b)) => {
                let mut x: FloatHistogram = (***a).clone();
                x.counter_reset_hint = b.counter_reset_hint;
                x != ***b
            }
            _ => true,
        };
        if changed {
            n += 1.0;
        }
    }
    Some(Out::F(n))
}

/// `resets`.
pub fn resets(s: &Series) -> Option<Out> {
    let pts = merged_st(s);
    if pts.is_empty() {
        return None;
    }
    let mut n = 0.0;
    for w in pts.windows(2) {
        let ((a, a_st), (b, b_st)) = (&w[0], &w[1]);
        if is_st_reset(*a_st, a.t(), *b_st, b.t()) {
            n += 1.0;
            continue;
        }
        let reset = match (a, b) {
            (Pt::F(_, a), Pt::F(_, b)) => b < a,
            (Pt::H(_, a), Pt::H(_, b)) => b.detect_reset(a),
            _ => true,
        };
        if reset {
            n += 1.0;
        }
    }
    Some(Out::F(n))
}

fn interpolate(t1: i64, y1: f64, t2: i64, y2: f64, t: i64, is_counter: bool) -> f64 {
    let y1 = if is_counter && y2 < y1 { 0.0 } else { y1 };
    y1 + (y2 - y1) * (t - t1) as f64 / (t2 - t1) as f64
}

/// Linear interpolation between two histograms (a reset starts again from zero).
pub fn interpolate_histograms(
    h1: &FloatHistogram,
    t1: i64,
    h2: &FloatHistogram,
    t2: i64,
    t: i64,
    is_counter: bool,
) -> Option<FloatHistogram> {
    if t == t1 {
        return Some(h1.clone());
    }
    if t == t2 {
        return Some(h2.clone());
    }
    if h1.uses_custom_buckets() != h2.uses_custom_buckets() {
        return None;
    }
    let frac = (t - t1) as f64 / (t2 - t1) as f64;
    if is_counter && h2.detect_reset(h1) {
        let mut r = h2.clone();
        r.mul(frac);
        return Some(r);
    }
    let mut r = h2.sub(h1).ok()?;
    r.mul(frac);
    let mut out = r.add(h1).ok()?;
    out.counter_reset_hint = h2.counter_reset_hint;
    Some(out)
}

/// `rate`/`increase`/`delta` over an `anchored` or `smoothed` window (the matrix holds the
/// sample before the window and, when smoothed, the one after it).
pub fn extended_rate(
    s: &Series,
    ctx: &RangeCtx,
    is_counter: bool,
    is_rate: bool,
    annos: &mut Annos,
) -> Option<Out> {
    if !s.histograms.is_empty() && !s.floats.is_empty() {
        mixed_warning(annos, s, ctx.pos);
        return None;
    }
    let (range_start, range_end) = (ctx.range_start, ctx.range_end);
    if !s.histograms.is_empty() {
        return extended_histogram_rate(s, ctx, is_counter, is_rate, annos);
    }
    let f = &s.floats;
    if f.is_empty() {
        return None;
    }
    let mut last = f.len() - 1;
    let mut first = f[..last]
        .partition_point(|p| p.t <= range_start)
        .saturating_sub(1);
    if ctx.smoothed {
        last = f[..last].partition_point(|p| p.t < range_end);
    }
    if f[last].t <= range_start {
        return None;
    }
    if ctx.smoothed && f[first].t > range_end {
        return None;
    }
    let left = if ctx.smoothed && f[first].t < range_start {
        interpolate(
            f[first].t,
            f[first].f,
            f[first + 1].t,
            f[first + 1].f,
            range_start,
            is_counter,
        )
    } else {
        f[first].f
    };
    let right = if ctx.smoothed && last > 0 && f[last].t > range_end {
        interpolate(
            f[last - 1].t,
            f[last - 1].f,
            f[last].t,
            f[last].f,
            range_end,
            is_counter,
        )
    } else {
        f[last].f
    };
    let mut result = right - left;
    if is_counter {
        if f[first].t <= range_start {
            first += 1;
        }
        if f[last].t >= range_end {
            last = last.wrapping_sub(1);
        }
        let mut prev = left;
        if last != usize::MAX && first <= last {
            for p in &f[first..=last] {
                if p.f < prev {
                    result += prev;
                }
                prev = p.f;
            }
        }
        if right < prev {
            result += prev;
        }
    }
    if is_rate {
        result /= ctx.range_secs();
    }
    Some(Out::F(result))
}

fn extended_histogram_rate(
    s: &Series,
    ctx: &RangeCtx,
    is_counter: bool,
    is_rate: bool,
    annos: &mut Annos,
) -> Option<Out> {
    let (range_start, range_end) = (ctx.range_start, ctx.range_end);
    let h = &s.histograms;
    let mut last = h.len() - 1;
    let first = h[..last]
        .partition_point(|p| p.t <= range_start)
        .saturating_sub(1);
    if ctx.smoothed {
        last = h[..last].partition_point(|p| p.t < range_end);
    }
    if h[last].t <= range_start {
        return None;
    }
    if ctx.smoothed && h[first].t > range_end {
        return None;
    }
    let custom = h[first].h.uses_custom_buckets();
    for p in &h[first..=last] {
        if p.h.uses_custom_buckets() != custom {
            warn(
                annos,
                ctx.pos,
                crate::annotations::mixed_schemas(&metric_name(s)),
            );
            return None;
        }
        if is_counter && p.h.counter_reset_hint == CounterResetHint::Gauge {
            warn(
                annos,
                ctx.pos,
                crate::annotations::not_counter(&metric_name(s)),
            );
        }
    }
    let left = if ctx.smoothed && h[first].t < range_start {
        interpolate_histograms(
            &h[first].h,
            h[first].t,
            &h[first + 1].h,
            h[first + 1].t,
            range_start,
            is_counter,
        )?
    } else {
        (*h[first].h).clone()
    };
    let right = if ctx.smoothed && last > 0 && h[last].t > range_end {
        interpolate_histograms(
            &h[last - 1].h,
            h[last - 1].t,
            &h[last].h,
            h[last].t,
            range_end,
            is_counter,
        )?
    } else {
        (*h[last].h).clone()
    };
    if !is_counter
        && (left.counter_reset_hint != CounterResetHint::Gauge
            || right.counter_reset_hint != CounterResetHint::Gauge)
    {
        warn(
            annos,
            ctx.pos,
            crate::annotations::not_gauge(&metric_name(s)),
        );
    }
    let mut result = right.sub(&left).ok()?;
    if is_counter {
        let mut lo = first + 1;
        let mut prev: &FloatHistogram = &left;
        if ctx.smoothed && h[first].t < range_start && h[first + 1].h.detect_reset(&h[first].h) {
            prev = &h[first + 1].h;
            lo += 1;
        }
        let hi = last as isize - 1;
        if lo as isize <= hi + 1 {
            let mut correction: Option<FloatHistogram> = None;
            let add = |x: &FloatHistogram, c: &mut Option<FloatHistogram>| -> Option<()> {
                *c = Some(match c.take() {
                    None => x.clone(),
                    Some(acc) => acc.add(x).ok()?,
                });
                Some(())
            };
            if hi >= lo as isize {
                for p in &h[lo..=hi as usize] {
                    if p.h.detect_reset(prev) {
                        add(prev, &mut correction)?;
                    }
                    prev = &p.h;
                }
            }
            if right.detect_reset(prev) {
                add(prev, &mut correction)?;
            }
            if let Some(c) = correction {
                result = result.add(&c).ok()?;
            }
        }
    }
    if is_rate {
        result.div(ctx.range_secs());
    }
    result.counter_reset_hint = CounterResetHint::Gauge;
    result.compact();
    Some(Out::H(Arc::new(result)))
}
