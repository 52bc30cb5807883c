//! Native (sparse, exponential or custom-bucket) histograms with float counts, and the
//! arithmetic PromQL needs on them: addition with schema reconciliation, scaling, counter-reset
//! detection, quantiles, fractions and variance.

use std::collections::BTreeMap;

/// Schema number of histograms with custom bucket boundaries (NHCB).
pub const CUSTOM_BUCKETS_SCHEMA: i32 = -53;

/// Counter-reset hint carried by each histogram sample.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CounterResetHint {
    /// Nothing known.
    #[default]
    Unknown,
    /// This sample follows a reset.
    Reset,
    /// Definitely no reset since the previous sample.
    NotReset,
    /// The histogram is a gauge: resets are meaningless.
    Gauge,
}

/// A run of consecutive buckets: `offset` from the end of the previous span, then `length`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    /// Gap to the previous span (or the start index for the first span).
    pub offset: i32,
    /// Number of buckets.
    pub length: u32,
}

/// A native histogram with float counts (what PromQL computes with).
#[derive(Clone, Debug, PartialEq)]
pub struct FloatHistogram {
    /// Counter-reset hint.
    pub counter_reset_hint: CounterResetHint,
    /// Resolution; -53 for custom buckets.
    pub schema: i32,
    /// Width of the zero bucket (observations with |v| <= threshold).
    pub zero_threshold: f64,
    /// Observations in the zero bucket.
    pub zero_count: f64,
    /// Total observations.
    pub count: f64,
    /// Sum of observations.
    pub sum: f64,
    /// Positive bucket spans.
    pub positive_spans: Vec<Span>,
    /// Negative bucket spans.
    pub negative_spans: Vec<Span>,
    /// Positive bucket counts (absolute).
    pub positive_buckets: Vec<f64>,
    /// Negative bucket counts (absolute).
    pub negative_buckets: Vec<f64>,
    /// Upper bounds of the custom buckets (schema -53), `+Inf` implied.
    pub custom_values: Vec<f64>,
}

impl Default for FloatHistogram {
    fn default() -> Self {
        Self {
            counter_reset_hint: CounterResetHint::Unknown,
            schema: 0,
            zero_threshold: 0.0,
            zero_count: 0.0,
            count: 0.0,
            sum: 0.0,
            positive_spans: Vec::new(),
            negative_spans: Vec::new(),
            positive_buckets: Vec::new(),
            negative_buckets: Vec::new(),
            custom_values: Vec::new(),
        }
    }
}

/// Histogram arithmetic that has no defined result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HistogramError {
    /// One operand uses exponential buckets, the other custom buckets.
    MixedSchemas,
    /// Custom bucket boundaries differ.
    IncompatibleBounds,
}

/// A bucket with its bounds, as iteration yields it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Bucket {
    /// Lower bound (exclusive except for the zero bucket).
    pub lower: f64,
    /// Upper bound (inclusive).
    pub upper: f64,
    /// Observations.
    pub count: f64,
}

/// Upper bound of exponential bucket `idx` at `schema`.
pub fn exp_bound(idx: i32, schema: i32) -> f64 {
    if schema <= 0 {
        let exp = (idx as i64) << (-schema);
        if exp > 1024 {
            return f64::INFINITY;
        }
        if exp < -1074 {
            return 0.0;
        }
        2f64.powi(exp as i32)
    } else {
        let shift = 1i64 << schema;
        let whole = (idx as i64).div_euclid(shift);
        let frac = (idx as i64).rem_euclid(shift);
        2f64.powi(whole as i32) * 2f64.powf(frac as f64 / shift as f64)
    }
}

fn spans_to_sparse(spans: &[Span], buckets: &[f64]) -> Vec<(i32, f64)> {
    let mut out = Vec::with_capacity(buckets.len());
    let mut idx = 0i32;
    let mut b = 0usize;
    for (i, s) in spans.iter().enumerate() {
        if i == 0 {
            idx = s.offset;
        } else {
            idx += s.offset;
        }
        for _ in 0..s.length {
            if let Some(c) = buckets.get(b) {
                out.push((idx, *c));
            }
            b += 1;
            idx += 1;
        }
    }
    out
}

fn sparse_to_spans(items: &[(i32, f64)], keep_zeros: bool) -> (Vec<Span>, Vec<f64>) {
    let mut spans: Vec<Span> = Vec::new();
    let mut buckets = Vec::new();
    let mut next: Option<i32> = None;
    for &(idx, c) in items {
        if c == 0.0 && !keep_zeros {
            continue;
        }
        match next {
            Some(n) if n == idx => {
                if let Some(last) = spans.last_mut() {
                    last.length += 1;
                }
            }
            Some(n) => spans.push(Span {
                offset: idx - n,
                length: 1,
            }),
            None => spans.push(Span {
                offset: idx,
                length: 1,
            }),
        }
        buckets.push(c);
        next = Some(idx + 1);
    }
    (spans, buckets)
}

impl FloatHistogram {
    /// True for custom-bucket (NHCB) histograms.
    pub fn uses_custom_buckets(&self) -> bool {
        self.schema == CUSTOM_BUCKETS_SCHEMA
    }

    /// Positive buckets as `(index, count)`.
    pub fn positive(&self) -> Vec<(i32, f64)> {
        spans_to_sparse(&self.positive_spans, &self.positive_buckets)
    }

    /// Negative buckets as `(index, count)`.
    pub fn negative(&self) -> Vec<(i32, f64)> {
        spans_to_sparse(&self.negative_spans, &self.negative_buckets)
    }

    /// Replaces the positive buckets.
    pub fn set_positive(&mut self, items: &[(i32, f64)]) {
        let (s, b) = sparse_to_spans(items, true);
        self.positive_spans = s;
        self.positive_buckets = b;
    }

    /// Replaces the negative buckets.
    pub fn set_negative(&mut self, items: &[(i32, f64)]) {
        let (s, b) = sparse_to_spans(items, true);
        self.negative_spans = s;
        self.negative_buckets = b;
    }

    /// Removes empty buckets and merges spans (Prometheus `Compact(0)`).
    pub fn compact(&mut self) {
        let p = self.positive();
        let n = self.negative();
        let (s, b) = sparse_to_spans(&p, false);
        self.positive_spans = s;
        self.positive_buckets = b;
        let (s, b) = sparse_to_spans(&n, false);
        self.negative_spans = s;
        self.negative_buckets = b;
    }

    /// Multiplies every count and the sum by `f`.
    pub fn mul(&mut self, f: f64) {
        self.count *= f;
        self.sum *= f;
        self.zero_count *= f;
        for b in self
            .positive_buckets
            .iter_mut()
            .chain(self.negative_buckets.iter_mut())
        {
            *b *= f;
        }
    }

    /// Divides every count and the sum by `f` (division by zero leaves no buckets, as
    /// Prometheus does).
    pub fn div(&mut self, f: f64) {
        if f == 0.0 {
            self.count /= f;
            self.sum /= f;
            self.zero_count /= f;
            self.positive_spans.clear();
            self.positive_buckets.clear();
            self.negative_spans.clear();
            self.negative_buckets.clear();
            return;
        }
        self.count /= f;
        self.sum /= f;
        self.zero_count /= f;
        for b in self
            .positive_buckets
            .iter_mut()
            .chain(self.negative_buckets.iter_mut())
        {
            *b /= f;
        }
    }

    /// Buckets converted to a lower resolution.
    fn reduce(items: &[(i32, f64)], from: i32, to: i32) -> BTreeMap<i32, f64> {
        let mut out = BTreeMap::new();
        for &(idx, c) in items {
            let t = if from > to && from != CUSTOM_BUCKETS_SCHEMA {
                ((idx - 1) >> (from - to)) + 1
            } else {
                idx
            };
            *out.entry(t).or_insert(0.0) += c;
        }
        out
    }

    /// A copy at a lower schema.
    pub fn to_schema(&self, schema: i32) -> FloatHistogram {
        if schema >= self.schema || self.uses_custom_buckets() {
            return self.clone();
        }
        let mut h = self.clone();
        let p: Vec<_> = Self::reduce(&self.positive(), self.schema, schema)
            .into_iter()
            .collect();
        let n: Vec<_> = Self::reduce(&self.negative(), self.schema, schema)
            .into_iter()
            .collect();
        h.schema = schema;
        h.set_positive(&p);
        h.set_negative(&n);
        h
    }

    /// Moves buckets that fall inside a larger zero threshold into the zero bucket.
    fn widen_zero(&mut self, threshold: f64) {
        if threshold <= self.zero_threshold || self.uses_custom_buckets() {
            return;
        }
        let mut moved = 0.0;
        let schema = self.schema;
        let keep = |items: Vec<(i32, f64)>, moved: &mut f64| -> Vec<(i32, f64)> {
            items
                .into_iter()
                .filter(|&(idx, c)| {
                    if exp_bound(idx, schema) <= threshold {
                        *moved += c;
                        false
                    } else {
                        true
                    }
                })
                .collect()
        };
        let p = keep(self.positive(), &mut moved);
        let n = keep(self.negative(), &mut moved);
        self.set_positive(&p);
        self.set_negative(&n);
        self.zero_count += moved;
        self.zero_threshold = threshold;
    }

    /// Re-bins a custom-bucket histogram onto `bounds` (a subset of its own bounds).
    pub fn rebin_custom(&self, bounds: &[f64]) -> FloatHistogram {
        let mut m: BTreeMap<i32, f64> = BTreeMap::new();
        for (idx, c) in self.positive() {
            let upper = self
                .custom_values
                .get(idx as usize)
                .copied()
                .unwrap_or(f64::INFINITY);
            let ni = bounds.partition_point(|b| *b < upper) as i32;
            *m.entry(ni).or_insert(0.0) += c;
        }
        let mut h = self.clone();
        h.custom_values = bounds.to_vec();
        let items: Vec<(i32, f64)> = m.into_iter().collect();
        h.set_positive(&items);
        h
    }

    /// Brings two custom-bucket histograms onto their common bounds; true when re-binned.
    pub fn reconcile_custom(
        a: &FloatHistogram,
        b: &FloatHistogram,
    ) -> (FloatHistogram, FloatHistogram, bool) {
        if !a.uses_custom_buckets() || a.custom_values == b.custom_values {
            return (a.clone(), b.clone(), false);
        }
        let common: Vec<f64> = a
            .custom_values
            .iter()
            .copied()
            .filter(|v| b.custom_values.contains(v))
            .collect();
        (a.rebin_custom(&common), b.rebin_custom(&common), true)
    }

    fn combine(&self, other: &FloatHistogram, sign: f64) -> Result<FloatHistogram, HistogramError> {
        if self.uses_custom_buckets() != other.uses_custom_buckets() {
            return Err(HistogramError::MixedSchemas);
        }
        let (ra, rb, _) = Self::reconcile_custom(self, other);
        let schema = ra.schema.min(rb.schema);
        let mut a = ra.to_schema(schema);
        let mut b = rb.to_schema(schema);
        let zt = a.zero_threshold.max(b.zero_threshold);
        a.widen_zero(zt);
        b.widen_zero(zt);
        let merge = |x: Vec<(i32, f64)>, y: Vec<(i32, f64)>| -> Vec<(i32, f64)> {
            let mut m: BTreeMap<i32, f64> = x.into_iter().collect();
            for (i, c) in y {
                *m.entry(i).or_insert(0.0) += sign * c;
            }
            m.into_iter().collect()
        };
        let p = merge(a.positive(), b.positive());
        let n = merge(a.negative(), b.negative());
        a.set_positive(&p);
        a.set_negative(&n);
        a.zero_count += sign * b.zero_count;
        a.count += sign * b.count;
        a.sum += sign * b.sum;
        Ok(a)
    }

    /// `self + other`.
    pub fn add(&self, other: &FloatHistogram) -> Result<FloatHistogram, HistogramError> {
        self.combine(other, 1.0)
    }

    /// `self - other`.
    pub fn sub(&self, other: &FloatHistogram) -> Result<FloatHistogram, HistogramError> {
        self.combine(other, -1.0)
    }

    /// True when `self` (the later sample) indicates a counter reset after `prev`.
    pub fn detect_reset(&self, prev: &FloatHistogram) -> bool {
        match self.counter_reset_hint {
            CounterResetHint::Reset => return true,
            CounterResetHint::NotReset => return false,
            _ => {}
        }
        if self.count < prev.count {
            return true;
        }
        if self.uses_custom_buckets() != prev.uses_custom_buckets() {
            return true;
        }
        if self.uses_custom_buckets() && self.custom_values != prev.custom_values {
            let (a, b, _) = Self::reconcile_custom(self, prev);
            let cur: BTreeMap<i32, f64> = a.positive().into_iter().collect();
            return b
                .positive()
                .into_iter()
                .any(|(i, c)| c > cur.get(&i).copied().unwrap_or(0.0));
        }
        if self.schema > prev.schema {
            return true;
        }
        if self.zero_threshold < prev.zero_threshold {
            return true;
        }
        let mut p = prev.to_schema(self.schema);
        p.widen_zero(self.zero_threshold);
        if p.zero_threshold != self.zero_threshold && !self.uses_custom_buckets() {
            return true;
        }
        if self.zero_count < p.zero_count {
            return true;
        }
        let check = |cur: Vec<(i32, f64)>, old: Vec<(i32, f64)>| {
            let cur: BTreeMap<i32, f64> = cur.into_iter().collect();
            old.into_iter()
                .any(|(i, c)| c > cur.get(&i).copied().unwrap_or(0.0))
        };
        check(self.positive(), p.positive()) || check(self.negative(), p.negative())
    }

    /// All buckets from the lowest to the highest bound: negative, zero, positive.
    pub fn buckets(&self) -> Vec<Bucket> {
        let mut out = Vec::new();
        if self.uses_custom_buckets() {
            for (idx, c) in self.positive() {
                let i = idx as usize;
                let lower = if i == 0 {
                    f64::NEG_INFINITY
                } else {
                    self.custom_values
                        .get(i - 1)
                        .copied()
                        .unwrap_or(f64::INFINITY)
                };
                let upper = self.custom_values.get(i).copied().unwrap_or(f64::INFINITY);
                out.push(Bucket {
                    lower,
                    upper,
                    count: c,
                });
            }
            return out;
        }
        let mut neg = self.negative();
        neg.reverse();
        for (idx, c) in neg {
            out.push(Bucket {
                lower: -exp_bound(idx, self.schema),
                upper: -exp_bound(idx - 1, self.schema),
                count: c,
            });
        }
        if self.zero_count != 0.0 || self.zero_threshold != 0.0 {
            out.push(Bucket {
                lower: -self.zero_threshold,
                upper: self.zero_threshold,
                count: self.zero_count,
            });
        }
        for (idx, c) in self.positive() {
            out.push(Bucket {
                lower: exp_bound(idx - 1, self.schema),
                upper: exp_bound(idx, self.schema),
                count: c,
            });
        }
        out
    }

    /// True when the histogram has no negative (resp. positive) buckets with data.
    fn has_negative(&self) -> bool {
        !self.negative_buckets.is_empty()
    }

    fn has_positive(&self) -> bool {
        !self.positive_buckets.is_empty()
    }

    /// Estimated φ-quantile (Prometheus' `HistogramQuantile`).
    pub fn quantile(&self, q: f64) -> f64 {
        if q < 0.0 {
            return f64::NEG_INFINITY;
        }
        if q > 1.0 {
            return f64::INFINITY;
        }
        if self.count == 0.0 || q.is_nan() {
            return f64::NAN;
        }
        let mut buckets = self.buckets();
        let forward = self.sum.is_nan() || q < 0.5;
        let rank_total = if forward {
            q * self.count
        } else {
            (1.0 - q) * self.count
        };
        if !forward {
            buckets.reverse();
        }
        let mut count = 0.0;
        let mut bucket = Bucket {
            lower: 0.0,
            upper: 0.0,
            count: 0.0,
        };
        let mut found = false;
        for b in &buckets {
            if b.count == 0.0 {
                continue;
            }
            bucket = *b;
            found = true;
            count += b.count;
            if count >= rank_total {
                break;
            }
        }
        if !found {
            return f64::NAN;
        }
        if self.sum.is_nan() && count < rank_total {
            // The rank falls among the NaN observations.
            return f64::NAN;
        }
        if !self.uses_custom_buckets() && bucket.lower < 0.0 && bucket.upper > 0.0 {
            if !self.has_negative() && self.has_positive() {
                bucket.lower = 0.0;
            } else if !self.has_positive() && self.has_negative() {
                bucket.upper = 0.0;
            }
        } else if self.uses_custom_buckets() {
            if bucket.lower == f64::NEG_INFINITY {
                if bucket.upper <= 0.0 {
                    return bucket.upper;
                }
                bucket.lower = 0.0;
            } else if bucket.upper == f64::INFINITY {
                return bucket.lower;
            }
        }
        if count > self.count {
            count = self.count;
        }
        if count < rank_total {
            return if forward { bucket.upper } else { bucket.lower };
        }
        // Fraction of the way through the bucket, measured from its lower bound.
        let frac = if forward {
            (rank_total - (count - bucket.count)) / bucket.count
        } else {
            1.0 - (rank_total - (count - bucket.count)) / bucket.count
        };
        if self.uses_custom_buckets() || (bucket.lower <= 0.0 && bucket.upper >= 0.0) {
            return bucket.lower + (bucket.upper - bucket.lower) * frac;
        }
        let log_lower = bucket.lower.abs().log2();
        let log_upper = bucket.upper.abs().log2();
        if bucket.lower > 0.0 {
            (log_lower + (log_upper - log_lower) * frac).exp2()
        } else {
            -(log_upper + (log_lower - log_upper) * (1.0 - frac)).exp2()
        }
    }

    /// Estimated share of observations in `(lower, upper]` (Prometheus' `HistogramFraction`).
    pub fn fraction(&self, lower: f64, upper: f64) -> f64 {
        if self.count == 0.0 || lower.is_nan() || upper.is_nan() {
            return f64::NAN;
        }
        if lower >= upper {
            return 0.0;
        }
        let custom = self.uses_custom_buckets();
        let (mut rank, mut lower_rank, mut upper_rank) = (0.0, 0.0, 0.0);
        let (mut lower_set, mut upper_set) = (false, false);
        for mut b in self.buckets() {
            let mut zero_bucket = false;
            if !custom && b.lower <= 0.0 && b.upper >= 0.0 {
                zero_bucket = true;
                if !self.has_negative() && self.has_positive() {
                    b.lower = 0.0;
                } else if !self.has_positive() && self.has_negative() {
                    b.upper = 0.0;
                }
            }
            if custom && b.lower == f64::NEG_INFINITY && b.upper > 0.0 {
                b.lower = 0.0;
            }
            let linear = |v: f64, rank: f64| {
                if b.upper.is_infinite() || b.lower.is_infinite() {
                    return rank
                        + if v > b.lower && b.upper.is_infinite() {
                            0.0
                        } else {
                            b.count
                        };
                }
                rank + b.count * (v - b.lower) / (b.upper - b.lower)
            };
            let expo = |v: f64, rank: f64| {
                let ll = b.lower.abs().log2();
                let lu = b.upper.abs().log2();
                let lv = v.abs().log2();
                let fr = if v > 0.0 {
                    (lv - ll) / (lu - ll)
                } else {
                    1.0 - (lv - lu) / (ll - lu)
                };
                rank + b.count * fr
            };
            if !lower_set && b.lower >= lower {
                lower_rank = rank;
                lower_set = true;
            }
            if !upper_set && b.lower >= upper {
                upper_rank = rank;
                upper_set = true;
            }
            if lower_set && upper_set {
                break;
            }
            if !lower_set && b.lower < lower && b.upper > lower {
                lower_rank = if custom || zero_bucket {
                    linear(lower, rank)
                } else {
                    expo(lower, rank)
                };
                lower_set = true;
            }
            if !upper_set && b.lower < upper && b.upper > upper {
                upper_rank = if custom || zero_bucket {
                    linear(upper, rank)
                } else {
                    expo(upper, rank)
                };
                upper_set = true;
            }
            if lower_set && upper_set {
                break;
            }
            rank += b.count;
        }
        if !lower_set || lower_rank > self.count {
            lower_rank = self
                .buckets()
                .iter()
                .map(|b| b.count)
                .sum::<f64>()
                .min(self.count);
        }
        // NaN observations count in `count` but in no bucket: they belong to no fraction.
        let in_buckets: f64 = self
            .buckets()
            .iter()
            .map(|b| b.count)
            .sum::<f64>()
            .min(self.count);
        if !upper_set || upper_rank > in_buckets {
            upper_rank = in_buckets;
        }
        if lower_rank > in_buckets {
            lower_rank = in_buckets;
        }
        (upper_rank - lower_rank) / self.count
    }

    /// Estimated variance of the observations (`histogram_stdvar`).
    pub fn stdvar(&self) -> f64 {
        let mean = if self.count > 0.0 {
            self.sum / self.count
        } else {
            0.0
        };
        let mut variance = 0.0;
        for b in self.buckets() {
            if b.count == 0.0 {
                continue;
            }
            let val = if self.uses_custom_buckets() {
                (b.upper + b.lower) / 2.0
            } else if b.lower <= 0.0 && b.upper >= 0.0 {
                0.0
            } else {
                let v = (b.upper * b.lower).sqrt();
                if b.upper < 0.0 { -v } else { v }
            };
            let d = val - mean;
            variance += b.count * d * d;
        }
        variance / self.count
    }

    /// Structural equality with relative tolerance, after compaction (used by tests).
    pub fn approx_eq(&self, other: &FloatHistogram, eq: impl Fn(f64, f64) -> bool) -> bool {
        let mut a = self.clone();
        let mut b = other.clone();
        a.compact();
        b.compact();
        a.schema == b.schema
            && eq(a.count, b.count)
            && eq(a.sum, b.sum)
            && eq(a.zero_count, b.zero_count)
            && eq(a.zero_threshold, b.zero_threshold)
            && a.positive_spans == b.positive_spans
            && a.negative_spans == b.negative_spans
            && a.positive_buckets.len() == b.positive_buckets.len()
            && a.negative_buckets.len() == b.negative_buckets.len()
            && a.positive_buckets
                .iter()
                .zip(&b.positive_buckets)
                .all(|(x, y)| eq(*x, *y))
            && a.negative_buckets
                .iter()
                .zip(&b.negative_buckets)
                .all(|(x, y)| eq(*x, *y))
            && a.custom_values == b.custom_values
    }
}

/// Prometheus' `FloatHistogram.String()` rendering (`{count:4, sum:5, (0.5,1]:1, ...}`).
pub fn histogram_string(h: &FloatHistogram) -> String {
    let mut out = format!(
        "{{count:{}, sum:{}",
        crate::value::fmt_go_float(h.count),
        crate::value::fmt_go_float(h.sum)
    );
    for b in h.buckets() {
        if b.count == 0.0 {
            continue;
        }
        let zero = b.lower <= 0.0 && b.upper >= 0.0 && !h.uses_custom_buckets();
        let (open, close) = if zero {
            ('[', ']')
        } else if b.upper <= 0.0 {
            ('[', ')')
        } else {
            ('(', ']')
        };
        out.push_str(&format!(
            ", {open}{},{}{close}:{}",
            crate::value::fmt_go_float(b.lower),
            crate::value::fmt_go_float(b.upper),
            crate::value::fmt_go_float(b.count)
        ));
    }
    out.push('}');
    out
}

impl FloatHistogram {
    /// Histogram trim operators: keeps only the observations below (`</`, `keep_below`) or
    /// above (`>/`) `x`, interpolating inside the bucket that contains `x` (exponentially for
    /// exponential buckets, linearly for the zero bucket and custom buckets). The sum is
    /// re-estimated from the kept buckets; a histogram that loses nothing is returned as is.
    pub fn trim(&self, x: f64, keep_below: bool) -> FloatHistogram {
        let custom = self.uses_custom_buckets();
        let has_neg = self.negative().iter().any(|b| b.1 != 0.0);
        let has_pos = self.positive().iter().any(|b| b.1 != 0.0);
        // (kind, index, lower, upper, count): kind 0 = negative, 1 = zero, 2 = positive/custom.
        let mut items: Vec<(u8, i32, f64, f64, f64)> = Vec::new();
        if custom {
            for (idx, c) in self.positive() {
                let i = idx as usize;
                let upper = self.custom_values.get(i).copied().unwrap_or(f64::INFINITY);
                let lower = if i == 0 {
                    if upper > 0.0 && upper.is_finite() {
                        0.0
                    } else {
                        f64::NEG_INFINITY
                    }
                } else {
                    self.custom_values
                        .get(i - 1)
                        .copied()
                        .unwrap_or(f64::INFINITY)
                };
                items.push((2, idx, lower, upper, c));
            }
        } else {
            for (idx, c) in self.negative() {
                items.push((
                    0,
                    idx,
                    -exp_bound(idx, self.schema),
                    -exp_bound(idx - 1, self.schema),
                    c,
                ));
            }
            let (mut zl, mut zu) = (-self.zero_threshold, self.zero_threshold);
            if !has_neg && has_pos {
                zl = 0.0;
            } else if has_neg && !has_pos {
                zu = 0.0;
            }
            items.push((1, 0, zl, zu, self.zero_count));
            for (idx, c) in self.positive() {
                items.push((
                    2,
                    idx,
                    exp_bound(idx - 1, self.schema),
                    exp_bound(idx, self.schema),
                    c,
                ));
            }
        }
        let mut changed = false;
        let mut sum = 0.0;
        let mut count = 0.0;
        let mut pos_out = Vec::new();
        let mut neg_out = Vec::new();
        let mut zero = 0.0;
        for (kind, idx, lower, upper, c) in items {
            let linear = custom || kind == 1;
            let rep = |lo: f64, hi: f64| -> f64 {
                if lo.is_infinite() && hi.is_infinite() {
                    return 0.0;
                }
                if lo == f64::NEG_INFINITY {
                    return if hi > 0.0 { hi / 2.0 } else { hi };
                }
                if hi == f64::INFINITY {
                    return lo;
                }
                if linear {
                    (lo + hi) / 2.0
                } else if hi <= 0.0 {
                    -(lo * hi).sqrt()
                } else {
                    (lo * hi).sqrt()
                }
            };
            // Share of the bucket below x (finite buckets).
            let below_share = |x: f64| -> f64 {
                if x <= lower {
                    return 0.0;
                }
                if x >= upper {
                    return 1.0;
                }
                if linear {
                    (x - lower) / (upper - lower)
                } else if upper <= 0.0 {
                    (lower.abs().log2() - x.abs().log2())
                        / (lower.abs().log2() - upper.abs().log2())
                } else {
                    (x.log2() - lower.log2()) / (upper.log2() - lower.log2())
                }
            };
            // Kept share and the bounds the kept observations lie in.
            let (share, lo, hi) = if lower.is_infinite() && upper.is_infinite() {
                // (-Inf, +Inf]: nothing is known about where observations lie.
                let keep = if keep_below {
                    x == f64::INFINITY
                } else {
                    x == f64::NEG_INFINITY
                };
                (if keep { 1.0 } else { 0.0 }, lower, upper)
            } else if lower == f64::NEG_INFINITY {
                // First custom bucket with a non-positive upper bound (infinite width).
                if keep_below {
                    if x >= upper {
                        (1.0, lower, upper)
                    } else if x == f64::NEG_INFINITY {
                        (0.0, lower, upper)
                    } else {
                        (1.0, lower, x)
                    }
                } else {
                    let keep = x == f64::NEG_INFINITY;
                    (if keep { 1.0 } else { 0.0 }, lower, upper)
                }
            } else if upper == f64::INFINITY {
                // Last custom bucket (infinite width).
                if keep_below {
                    let keep = x == f64::INFINITY;
                    (if keep { 1.0 } else { 0.0 }, lower, upper)
                } else if x <= lower {
                    (1.0, lower, upper)
                } else if x == f64::INFINITY {
                    (0.0, lower, upper)
                } else {
                    (1.0, x, upper)
                }
            } else if custom
                && idx == 0
                && lower == 0.0
                && !keep_below
                && x < 0.0
                && x != f64::NEG_INFINITY
            {
                // First custom bucket with a positive upper bound: its lower bound is only
                // assumed to be 0, so a cut below 0 cannot be placed.
                (0.0, lower, upper)
            } else {
                let b = below_share(x);
                if keep_below {
                    (b, lower, upper.min(x))
                } else {
                    (1.0 - b, lower.max(x), upper)
                }
            };
            if share != 1.0 && c != 0.0 {
                changed = true;
            }
            let kept = c * share;
            if kept != 0.0 {
                sum += kept * rep(lo, hi);
            }
            count += kept;
            match kind {
                0 => neg_out.push((idx, kept)),
                1 => zero = kept,
                _ => pos_out.push((idx, kept)),
            }
        }
        if !changed {
            return self.clone();
        }
        let mut h = self.clone();
        h.set_positive(&pos_out);
        h.set_negative(&neg_out);
        h.zero_count = zero;
        h.count = count;
        h.sum = sum;
        h.compact();
        h
    }
}

/// Result of [`combine_all`].
#[derive(Debug, Clone)]
pub struct Combined {
    /// The sum or mean.
    pub histogram: FloatHistogram,
    /// Custom bucket bounds had to be reconciled.
    pub reconciled: bool,
    /// Inputs mixed `Reset` and `NotReset` hints ("conflicting counter resets").
    pub conflicting_resets: bool,
}

/// Sums (or averages, with `mean`) histograms field by field with compensated summation,
/// reconciling schemas, zero thresholds and custom bounds.
pub fn combine_all(hs: &[&FloatHistogram], mean: bool) -> Result<Combined, HistogramError> {
    let Some(first) = hs.first() else {
        return Ok(Combined {
            histogram: FloatHistogram::default(),
            reconciled: false,
            conflicting_resets: false,
        });
    };
    let custom = first.uses_custom_buckets();
    if hs.iter().any(|h| h.uses_custom_buckets() != custom) {
        return Err(HistogramError::MixedSchemas);
    }
    let mut reconciled = false;
    let mut bounds = first.custom_values.clone();
    if custom {
        for h in &hs[1..] {
            if h.custom_values != bounds {
                reconciled = true;
                bounds.retain(|v| h.custom_values.contains(v));
            }
        }
    }
    let schema = hs.iter().map(|h| h.schema).min().unwrap_or(0);
    let zt = hs.iter().map(|h| h.zero_threshold).fold(0.0, f64::max);
    let aligned: Vec<FloatHistogram> = hs
        .iter()
        .map(|h| {
            let mut x = if custom {
                h.rebin_custom(&bounds)
            } else {
                h.to_schema(schema)
            };
            x.widen_zero(zt);
            x
        })
        .collect();
    let agg = |vals: &mut dyn Iterator<Item = f64>| -> f64 {
        let v: Vec<f64> = vals.collect();
        if mean {
            crate::functions::over_time::float_mean(v.iter().copied())
        } else {
            let (mut sum, mut c) = (0.0, 0.0);
            for x in v {
                (sum, c) = crate::functions::math::kahan_inc(x, sum, c);
            }
            if sum.is_infinite() { sum } else { sum + c }
        }
    };
    let hints: Vec<CounterResetHint> = hs.iter().map(|h| h.counter_reset_hint).collect();
    let hint = if hints.contains(&CounterResetHint::Gauge) {
        CounterResetHint::Gauge
    } else if hints.iter().all(|h| *h == CounterResetHint::NotReset) {
        CounterResetHint::NotReset
    } else if hints.iter().all(|h| *h == CounterResetHint::Reset) {
        CounterResetHint::Reset
    } else {
        CounterResetHint::Unknown
    };
    let mut out = FloatHistogram {
        schema: if custom {
            CUSTOM_BUCKETS_SCHEMA
        } else {
            schema
        },
        zero_threshold: zt,
        custom_values: if custom { bounds } else { Vec::new() },
        counter_reset_hint: hint,
        ..Default::default()
    };
    out.count = agg(&mut aligned.iter().map(|h| h.count));
    out.sum = agg(&mut aligned.iter().map(|h| h.sum));
    out.zero_count = agg(&mut aligned.iter().map(|h| h.zero_count));
    let maps = |f: &dyn Fn(&FloatHistogram) -> Vec<(i32, f64)>| -> Vec<BTreeMap<i32, f64>> {
        aligned.iter().map(|h| f(h).into_iter().collect()).collect()
    };
    for neg in [false, true] {
        let ms = if neg {
            maps(&|h| h.negative())
        } else {
            maps(&|h| h.positive())
        };
        let mut keys: Vec<i32> = ms.iter().flat_map(|m| m.keys().copied()).collect();
        keys.sort_unstable();
        keys.dedup();
        let items: Vec<(i32, f64)> = keys
            .into_iter()
            .map(|k| {
                (
                    k,
                    agg(&mut ms.iter().map(|m| m.get(&k).copied().unwrap_or(0.0))),
                )
            })
            .collect();
        if neg {
            out.set_negative(&items)
        } else {
            out.set_positive(&items)
        }
    }
    out.compact();
    let conflicting_resets =
        hints.contains(&CounterResetHint::Reset) && hints.contains(&CounterResetHint::NotReset);
    Ok(Combined {
        histogram: out,
        reconciled,
        conflicting_resets,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(buckets: &[f64]) -> FloatHistogram {
        let mut h = FloatHistogram {
            count: buckets.iter().sum(),
            sum: 5.0,
            ..Default::default()
        };
        let items: Vec<(i32, f64)> = buckets
            .iter()
            .enumerate()
            .map(|(i, c)| (i as i32, *c))
            .collect();
        h.set_positive(&items);
        h
    }

    #[test]
    fn quantile_uses_exponential_interpolation() {
        // buckets:[1 2 1] at schema 0: (0.5,1], (1,2], (2,4]; median is sqrt(2).
        let q = h(&[1.0, 2.0, 1.0]).quantile(0.5);
        assert!((q - std::f64::consts::SQRT_2).abs() < 1e-12, "{q}");
    }

    #[test]
    fn fraction_of_whole_range_is_one() {
        assert_eq!(h(&[1.0, 2.0, 1.0]).fraction(0.0, 8.0), 1.0);
        assert_eq!(h(&[1.0, 2.0, 1.0]).fraction(1.0, 2.0), 0.5);
    }

    #[test]
    fn add_reduces_schema() {
        let mut a = h(&[1.0, 1.0]);
        a.schema = 1;
        let b = h(&[1.0]);
        let s = a.add(&b).unwrap();
        assert_eq!(s.schema, 0);
        assert_eq!(s.count, 3.0);
    }

    #[test]
    fn reset_detection() {
        let a = h(&[2.0, 1.0]);
        let b = h(&[1.0, 3.0]);
        assert!(b.detect_reset(&a));
        assert!(!a.detect_reset(&h(&[1.0, 1.0])));
    }
}
