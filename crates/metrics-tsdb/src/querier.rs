//! The PromQL engine's read path over the store: blocks and head merged by [`Db::select`].

use lgtm_common::labels::Matcher;
use lgtm_promql::storage::{Queryable, SelectHints, StorageError};
use lgtm_promql::value::{FPoint, Series};

use crate::db::Db;

/// Reads the store for the engine.
#[derive(Debug, Clone, Copy)]
pub struct DbQuerier<'a> {
    db: &'a Db,
}

impl<'a> DbQuerier<'a> {
    /// A querier over `db`.
    pub fn new(db: &'a Db) -> Self {
        Self { db }
    }
}

impl Queryable for DbQuerier<'_> {
    fn select(
        &self,
        hints: &SelectHints,
        matchers: &[Matcher],
    ) -> Result<Vec<Series>, StorageError> {
        let selected = self
            .db
            .select(matchers, hints.start_ms, hints.end_ms)
            .map_err(|e| StorageError(e.to_string()))?;
        Ok(selected
            .into_iter()
            .map(|(labels, samples)| {
                let mut s = Series::new(labels);
                s.floats = samples.into_iter().map(|(t, f)| FPoint { t, f }).collect();
                s
            })
            .collect())
    }
}
