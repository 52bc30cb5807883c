//! The read interface the engine queries through, and an in-memory implementation for tests
//! and the conformance runner. The TSDB implements [`Queryable`] over its head and blocks.

use std::sync::Arc;

use lgtm_common::labels::{Labels, Matcher, matches_all};
use parking_lot::RwLock;

use crate::value::{FPoint, FloatHistogram, HPoint, Series};

/// What the engine will do with the selected data; storage may use it to prune.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SelectHints {
    /// Earliest timestamp needed (inclusive, ms).
    pub start_ms: i64,
    /// Latest timestamp needed (inclusive, ms).
    pub end_ms: i64,
    /// Query step (0 for instant queries).
    pub step_ms: i64,
    /// Range of the surrounding range selector (0 for instant selectors).
    pub range_ms: i64,
    /// Function applied to the selection, if any.
    pub func: Option<String>,
}

/// Storage failure, reported to the user as an execution error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct StorageError(pub String);

/// Anything the engine can read series from.
///
/// Implementations return the series matching *all* matchers, sorted by labels, each with its
/// float and histogram samples in time order restricted to `[start_ms, end_ms]`. A staleness
/// marker is stored as a float sample with the value [`crate::value::stale_nan`].
pub trait Queryable: Send + Sync {
    /// Selects series and their samples.
    fn select(
        &self,
        hints: &SelectHints,
        matchers: &[Matcher],
    ) -> Result<Vec<Series>, StorageError>;
}

/// Removes the point at time `t` (and its start timestamp) if present.
fn remove_at<P>(points: &mut Vec<P>, sts: &mut Vec<i64>, t: i64, time: impl Fn(&P) -> i64) {
    sts.resize(points.len(), 0);
    if let Some(i) = points.iter().position(|p| time(p) == t) {
        points.remove(i);
        sts.remove(i);
    }
}

/// A simple in-memory series store (tests, conformance runner, rule unit tests).
#[derive(Debug, Default)]
pub struct MemStorage {
    series: RwLock<Vec<Series>>,
}

impl MemStorage {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn with_series<R>(&self, labels: &Labels, f: impl FnOnce(&mut Series) -> R) -> R {
        let mut all = self.series.write();
        let idx = match all.binary_search_by(|s| s.labels.cmp(labels)) {
            Ok(i) => i,
            Err(i) => {
                all.insert(i, Series::new(labels.clone()));
                i
            }
        };
        f(&mut all[idx])
    }

    /// Adds a float sample (kept in time order; a sample at an existing time replaces it).
    pub fn add_float(&self, labels: &Labels, t: i64, v: f64) {
        self.add_float_with_st(labels, t, v, 0);
    }

    /// Adds a float sample with its start (created) timestamp (0 = unknown).
    pub fn add_float_with_st(&self, labels: &Labels, t: i64, v: f64, st: i64) {
        self.with_series(labels, |s| {
            remove_at(&mut s.histograms, &mut s.hist_sts, t, |p| p.t);
            s.float_sts.resize(s.floats.len(), 0);
            match s.floats.binary_search_by(|p| p.t.cmp(&t)) {
                Ok(i) => {
                    s.floats[i].f = v;
                    s.float_sts[i] = st;
                }
                Err(i) => {
                    s.floats.insert(i, FPoint { t, f: v });
                    s.float_sts.insert(i, st);
                }
            }
        });
    }

    /// Adds a histogram sample.
    pub fn add_histogram(&self, labels: &Labels, t: i64, h: FloatHistogram) {
        self.add_histogram_with_st(labels, t, h, 0);
    }

    /// Adds a histogram sample with its start (created) timestamp (0 = unknown).
    pub fn add_histogram_with_st(&self, labels: &Labels, t: i64, h: FloatHistogram, st: i64) {
        self.with_series(labels, |s| {
            remove_at(&mut s.floats, &mut s.float_sts, t, |p| p.t);
            s.hist_sts.resize(s.histograms.len(), 0);
            let h = Arc::new(h);
            match s.histograms.binary_search_by(|p| p.t.cmp(&t)) {
                Ok(i) => {
                    s.histograms[i].h = h;
                    s.hist_sts[i] = st;
                }
                Err(i) => {
                    s.histograms.insert(i, HPoint { t, h });
                    s.hist_sts.insert(i, st);
                }
            }
        });
    }

    /// Sets the counter-reset hints of histogram samples the way Prometheus' TSDB reports
    /// them when reading chunks back: gauge histograms stay gauges; a counter histogram that
    /// directly follows a compatible counter histogram without a reset is `NotReset`; any
    /// other one (first sample, after a float, a gauge, a reset or a layout change) starts a
    /// new chunk and reads as `Unknown`.
    pub fn assign_counter_reset_hints(&self) {
        use crate::value::CounterResetHint as H;
        let mut all = self.series.write();
        for s in all.iter_mut() {
            let mut prev: Option<Arc<FloatHistogram>> = None;
            let mut prev_t = i64::MIN;
            let mut fi = 0;
            for hp in s.histograms.iter_mut() {
                // A float sample between two histograms breaks the chunk.
                while fi < s.floats.len() && s.floats[fi].t < hp.t {
                    if s.floats[fi].t > prev_t {
                        prev = None;
                    }
                    fi += 1;
                }
                let original = hp.h.counter_reset_hint;
                let hint = if original == H::Gauge {
                    H::Gauge
                } else {
                    match &prev {
                        Some(p)
                            if p.counter_reset_hint != H::Gauge
                                && p.schema == hp.h.schema
                                && p.zero_threshold == hp.h.zero_threshold
                                && p.custom_values == hp.h.custom_values
                                && original != H::Reset
                                && !hp.h.detect_reset(p) =>
                        {
                            H::NotReset
                        }
                        _ => H::Unknown,
                    }
                };
                let mut h = (*hp.h).clone();
                h.counter_reset_hint = hint;
                prev = Some(hp.h.clone());
                prev_t = hp.t;
                hp.h = Arc::new(h);
            }
        }
    }

    /// Removes everything.
    pub fn clear(&self) {
        self.series.write().clear();
    }
}

impl Queryable for MemStorage {
    fn select(
        &self,
        hints: &SelectHints,
        matchers: &[Matcher],
    ) -> Result<Vec<Series>, StorageError> {
        let all = self.series.read();
        let mut out = Vec::new();
        for s in all.iter() {
            if !matches_all(matchers, &s.labels) {
                continue;
            }
            let lo = s.floats.partition_point(|p| p.t < hints.start_ms);
            let hi = s.floats.partition_point(|p| p.t <= hints.end_ms);
            let hlo = s.histograms.partition_point(|p| p.t < hints.start_ms);
            let hhi = s.histograms.partition_point(|p| p.t <= hints.end_ms);
            let any_st = s.float_sts.iter().chain(&s.hist_sts).any(|st| *st != 0);
            let series = Series {
                labels: s.labels.clone(),
                floats: s.floats[lo..hi].to_vec(),
                histograms: s.histograms[hlo..hhi].to_vec(),
                drop_name: false,
                float_sts: if any_st {
                    s.float_sts[lo..hi].to_vec()
                } else {
                    Vec::new()
                },
                hist_sts: if any_st {
                    s.hist_sts[hlo..hhi].to_vec()
                } else {
                    Vec::new()
                },
            };
            if !series.is_empty() {
                out.push(series);
            }
        }
        Ok(out)
    }
}

/// Checks one `select` answer against the [`Queryable`] contract, for storage implementors'
/// tests: series sorted by labels and unique, every series matching all matchers, samples
/// strictly increasing in time within the requested range, no float and histogram at the same
/// time, start timestamps (when given) one per sample. Returns the first violation.
pub fn check_contract(
    hints: &SelectHints,
    matchers: &[Matcher],
    series: &[Series],
) -> Result<(), String> {
    for w in series.windows(2) {
        if w[0].labels >= w[1].labels {
            return Err(format!(
                "series not sorted or duplicated: {} then {}",
                w[0].labels, w[1].labels
            ));
        }
    }
    for s in series {
        if !matches_all(matchers, &s.labels) {
            return Err(format!("series {} does not match the selector", s.labels));
        }
        let times_ok = |ts: &mut dyn Iterator<Item = i64>| -> Result<(), String> {
            let mut prev = i64::MIN;
            for t in ts {
                if t < hints.start_ms || t > hints.end_ms {
                    return Err(format!(
                        "sample at {t} outside [{}, {}] in {}",
                        hints.start_ms, hints.end_ms, s.labels
                    ));
                }
                if t <= prev && prev != i64::MIN {
                    return Err(format!(
                        "samples not strictly increasing at {t} in {}",
                        s.labels
                    ));
                }
                prev = t;
            }
            Ok(())
        };
        times_ok(&mut s.floats.iter().map(|p| p.t))?;
        times_ok(&mut s.histograms.iter().map(|p| p.t))?;
        if let Some(p) = s
            .floats
            .iter()
            .find(|f| s.histograms.iter().any(|h| h.t == f.t))
        {
            return Err(format!(
                "float and histogram at the same time {} in {}",
                p.t, s.labels
            ));
        }
        let has_st = !(s.float_sts.is_empty() && s.hist_sts.is_empty());
        if has_st && (s.float_sts.len() != s.floats.len() || s.hist_sts.len() != s.histograms.len())
        {
            return Err(format!(
                "start timestamps do not line up with samples in {}",
                s.labels
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mem_storage_honours_the_contract() {
        let s = MemStorage::new();
        for (job, n) in [("b", 3), ("a", 5)] {
            let l = Labels::from_pairs([("__name__", "up"), ("job", job)]);
            for i in (0..n).rev() {
                s.add_float_with_st(&l, i * 1000, i as f64, i * 1000 - 10);
            }
        }
        s.add_histogram(
            &Labels::from_pairs([("__name__", "h")]),
            2000,
            FloatHistogram::default(),
        );
        let hints = SelectHints {
            start_ms: 1000,
            end_ms: 3000,
            ..Default::default()
        };
        let m = [Matcher::equal("__name__", "up")];
        let got = s.select(&hints, &m).unwrap();
        check_contract(&hints, &m, &got).unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].labels.get("job"), Some("a"));
        assert_eq!(
            got[0].floats.iter().map(|p| p.t).collect::<Vec<_>>(),
            vec![1000, 2000, 3000]
        );
        assert_eq!(got[0].float_sts, vec![990, 1990, 2990]);
        // A broken answer is reported.
        let mut bad = got.clone();
        bad.swap(0, 1);
        assert!(
            check_contract(&hints, &m, &bad)
                .unwrap_err()
                .contains("not sorted")
        );
    }
}
