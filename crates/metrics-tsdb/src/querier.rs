//! The PromQL engine's read path over the store: head series selected by postings, samples
//! restricted to the requested window.

use lgtm_common::labels::Matcher;
use lgtm_promql::storage::{Queryable, SelectHints, StorageError};
use lgtm_promql::value::{FPoint, Series};

use crate::head::Head;

/// Reads the head for the engine.
#[derive(Debug, Clone, Copy)]
pub struct HeadQuerier<'a> {
    head: &'a Head,
}

impl<'a> HeadQuerier<'a> {
    /// A querier over `head`.
    pub fn new(head: &'a Head) -> Self {
        Self { head }
    }
}

impl Queryable for HeadQuerier<'_> {
    fn select(&self, hints: &SelectHints, matchers: &[Matcher]) -> Result<Vec<Series>, StorageError> {
        let mut out = Vec::new();
        for series in self.head.select(matchers) {
            let floats: Vec<FPoint> = series
                .samples(hints.start_ms, hints.end_ms)
                .into_iter()
                .map(|(t, f)| FPoint { t, f })
                .collect();
            if floats.is_empty() {
                continue;
            }
            let mut s = Series::new(series.labels.clone());
            s.floats = floats;
            out.push(s);
        }
        Ok(out)
    }
}
