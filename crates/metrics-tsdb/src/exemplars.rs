//! Exemplar storage: one circular buffer of fixed total capacity shared by all series (as
//! Prometheus' `storage.exemplars.max_exemplars`), so a metric spike in Grafana can jump to the
//! trace that caused it through `/api/v1/query_exemplars`.
//!
//! Exemplars live in memory only; a restart starts empty (Prometheus keeps them in its WAL).

use std::collections::{HashMap, VecDeque};

use lgtm_common::labels::{Labels, Matcher, matches_all};
use parking_lot::Mutex;

/// Prometheus' default `max_exemplars`.
pub const DEFAULT_MAX_EXEMPLARS: usize = 100_000;

/// One exemplar.
#[derive(Debug, Clone, PartialEq)]
pub struct Exemplar {
    /// Exemplar labels (`trace_id`, ...).
    pub labels: Labels,
    /// Value.
    pub value: f64,
    /// Timestamp in ms.
    pub timestamp: i64,
}

#[derive(Debug, Default)]
struct Inner {
    /// Insertion order of `(series, timestamp)` for eviction.
    order: VecDeque<(Labels, i64)>,
    by_series: HashMap<Labels, VecDeque<Exemplar>>,
}

/// The store.
#[derive(Debug)]
pub struct ExemplarStore {
    capacity: usize,
    inner: Mutex<Inner>,
}

impl Default for ExemplarStore {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_EXEMPLARS)
    }
}

impl ExemplarStore {
    /// A store holding at most `capacity` exemplars (0 disables storage).
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            inner: Mutex::new(Inner::default()),
        }
    }

    /// Adds an exemplar of `series`. Like Prometheus, an exemplar identical to the series'
    /// newest one is ignored and one older than it is dropped; returns whether it was stored.
    pub fn add(&self, series: &Labels, exemplar: Exemplar) -> bool {
        if self.capacity == 0 {
            return false;
        }
        let mut inner = self.inner.lock();
        let list = inner.by_series.entry(series.clone()).or_default();
        if let Some(last) = list.back()
            && (exemplar.timestamp < last.timestamp
                || (exemplar.timestamp == last.timestamp && exemplar.labels == last.labels))
        {
            return false;
        }
        let t = exemplar.timestamp;
        list.push_back(exemplar);
        inner.order.push_back((series.clone(), t));
        while inner.order.len() > self.capacity {
            if let Some((old_series, _)) = inner.order.pop_front()
                && let Some(list) = inner.by_series.get_mut(&old_series)
            {
                list.pop_front();
                if list.is_empty() {
                    inner.by_series.remove(&old_series);
                }
            }
        }
        true
    }

    /// Exemplars in `[start, end]` of the series matching any matcher set, by series label
    /// order.
    pub fn select(
        &self,
        selectors: &[Vec<Matcher>],
        start: i64,
        end: i64,
    ) -> Vec<(Labels, Vec<Exemplar>)> {
        let inner = self.inner.lock();
        let mut out: Vec<(Labels, Vec<Exemplar>)> = inner
            .by_series
            .iter()
            .filter(|(labels, _)| selectors.iter().any(|m| matches_all(m, labels)))
            .map(|(labels, list)| {
                (
                    labels.clone(),
                    list.iter()
                        .filter(|e| e.timestamp >= start && e.timestamp <= end)
                        .cloned()
                        .collect::<Vec<_>>(),
                )
            })
            .filter(|(_, list)| !list.is_empty())
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    /// Number of stored exemplars.
    pub fn len(&self) -> usize {
        self.inner.lock().order.len()
    }

    /// True when nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ex(trace: &str, t: i64) -> Exemplar {
        Exemplar {
            labels: Labels::from_pairs([("trace_id", trace)]),
            value: 1.0,
            timestamp: t,
        }
    }

    #[test]
    fn ring_evicts_the_oldest_across_series_and_select_filters() {
        let store = ExemplarStore::new(3);
        let a = Labels::from_pairs([("__name__", "m"), ("job", "a")]);
        let b = Labels::from_pairs([("__name__", "m"), ("job", "b")]);
        assert!(store.add(&a, ex("t1", 1)));
        assert!(store.add(&b, ex("t2", 2)));
        assert!(!store.add(&b, ex("t2", 2)), "duplicate ignored");
        assert!(!store.add(&b, ex("t0", 1)), "older than the newest dropped");
        assert!(store.add(&a, ex("t3", 3)));
        assert!(store.add(&b, ex("t4", 4)));
        assert_eq!(store.len(), 3);
        let all = store.select(&[vec![Matcher::equal("__name__", "m")]], 0, 10);
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].1, vec![ex("t3", 3)], "t1 was evicted");
        assert_eq!(all[1].1, vec![ex("t2", 2), ex("t4", 4)]);
        let window = store.select(&[vec![Matcher::equal("job", "b")]], 3, 10);
        assert_eq!(window, vec![(b, vec![ex("t4", 4)])]);
    }
}
