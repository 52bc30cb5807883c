//! Compaction and retention: a tenant's blocks are merged into one (its level is one more
//! than the highest input level) once there are enough of them or once some of their data
//! has outlived its retention. Entries older than their stream's retention cutoff are
//! dropped while rewriting, and blocks that end up empty are deleted. Retention follows
//! Loki's `retention_period` and `retention_stream` rules (the matching rule with the
//! highest priority wins).

use std::collections::HashMap;
use std::sync::Arc;

use lgtm_common::labels::{Labels, Matcher, matches_all};

use super::block::{self, LoadedBlock};
use super::{Entry, Store, StoreError, merge};

/// One `retention_stream` rule.
#[derive(Debug, Clone)]
pub struct RetentionRule {
    /// Stream selector.
    pub matchers: Vec<Matcher>,
    /// Higher wins when several rules match.
    pub priority: u32,
    /// Keep this long (ns).
    pub period_ns: i64,
}

/// Retention settings of a tenant.
#[derive(Debug, Clone, Default)]
pub struct Retention {
    /// `retention_period` in ns (0 = keep forever).
    pub default_ns: i64,
    /// `retention_stream` rules.
    pub rules: Vec<RetentionRule>,
}

impl Retention {
    /// Oldest timestamp to keep for a stream at `now`, `None` to keep everything.
    pub fn cutoff(&self, labels: &Labels, now_ns: i64) -> Option<i64> {
        let period = self
            .rules
            .iter()
            .filter(|r| matches_all(&r.matchers, labels))
            .max_by_key(|r| r.priority)
            .map_or(self.default_ns, |r| r.period_ns);
        (period > 0).then(|| now_ns.saturating_sub(period))
    }

    fn is_enabled(&self) -> bool {
        self.default_ns > 0 || !self.rules.is_empty()
    }
}

/// What a compaction pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct CompactOutcome {
    /// Input blocks replaced.
    pub blocks_in: usize,
    /// Blocks written.
    pub blocks_out: usize,
    /// Entries dropped by retention.
    pub entries_expired: u64,
    /// Entries removed by delete requests.
    pub entries_deleted: u64,
}

impl Store {
    /// Compacts each tenant with at least `min_blocks` blocks, or whose blocks hold data past
    /// its retention, into one block. Runs under the flush lock.
    /// Delete requests older than `delete_cancel_ns` are applied physically and marked
    /// `processed`.
    pub async fn compact(
        &self,
        retention: &Retention,
        min_blocks: usize,
        delete_cancel_ns: i64,
        now_ns: i64,
    ) -> Result<CompactOutcome, StoreError> {
        let _one = self.flush_lock.lock().await;
        self.ensure_deletes_loaded().await?;
        let due: Vec<Arc<super::deletes::ActiveDelete>> = self
            .deletes
            .read()
            .iter()
            .filter(|d| {
                d.req.status == "received"
                    && d.req.created_ns.saturating_add(delete_cancel_ns) <= now_ns
            })
            .cloned()
            .collect();
        let mut by_tenant: HashMap<String, Vec<Arc<LoadedBlock>>> = HashMap::new();
        for b in self.blocks.read().iter() {
            by_tenant
                .entry(b.tenant.clone())
                .or_default()
                .push(b.clone());
        }
        let mut outcome = CompactOutcome::default();
        for (tenant, blocks) in by_tenant {
            let expired = retention.is_enabled()
                && blocks.iter().any(|b| {
                    b.labels
                        .iter()
                        .any(|l| retention.cutoff(l, now_ns).is_some_and(|c| b.min_ns < c))
                });
            let tenant_due: Vec<_> = due
                .iter()
                .filter(|d| d.req.tenant == tenant)
                .cloned()
                .collect();
            if blocks.len() < min_blocks.max(2) && !expired && tenant_due.is_empty() {
                continue;
            }
            let mut parts: HashMap<Labels, Vec<Vec<Entry>>> = HashMap::new();
            for b in &blocks {
                for (i, labels) in b.labels.iter().enumerate() {
                    let entries = b
                        .read_stream(&self.opts.objects, i, i64::MIN, i64::MAX)
                        .await?;
                    parts.entry(labels.clone()).or_default().push(entries);
                }
            }
            let mut streams: Vec<(Labels, Vec<Entry>)> = Vec::with_capacity(parts.len());
            for (labels, p) in parts {
                let mut entries = merge(p);
                outcome.entries_deleted +=
                    super::deletes::filter(&tenant_due, &tenant, &labels, &mut entries);
                if let Some(c) = retention.cutoff(&labels, now_ns) {
                    let before = entries.len();
                    entries.retain(|e| e.ts >= c);
                    outcome.entries_expired += (before - entries.len()) as u64;
                }
                if !entries.is_empty() {
                    streams.push((labels, entries));
                }
            }
            let new_block = if streams.is_empty() {
                None
            } else {
                let level = blocks
                    .iter()
                    .map(|b| b.meta.compaction.level)
                    .max()
                    .unwrap_or(1)
                    + 1;
                let mut sources: Vec<_> = blocks
                    .iter()
                    .flat_map(|b| b.meta.compaction.sources.iter().copied())
                    .collect();
                sources.sort();
                sources.dedup();
                let b = block::write(
                    &self.opts.objects,
                    &tenant,
                    &streams,
                    (now_ns / 1_000_000).max(0) as u64,
                    Some((level, sources)),
                )
                .await?;
                Some(Arc::new(b))
            };
            {
                let mut all = self.blocks.write();
                all.retain(|b| !blocks.iter().any(|x| Arc::ptr_eq(x, b)));
                if let Some(b) = &new_block {
                    all.push(b.clone());
                }
            }
            for b in &blocks {
                block::delete(&self.opts.objects, &tenant, b.meta.ulid).await?;
            }
            tracing::info!(tenant = %tenant, inputs = blocks.len(), "blocks compacted");
            outcome.blocks_in += blocks.len();
            outcome.blocks_out += usize::from(new_block.is_some());
        }
        if !due.is_empty() {
            let all: Vec<super::DeleteRequest> = {
                let mut d = self.deletes.write();
                for x in d.iter_mut() {
                    if due.iter().any(|y| Arc::ptr_eq(x, y)) {
                        let mut req = x.req.clone();
                        req.status = "processed".into();
                        if let Ok(n) = super::deletes::ActiveDelete::new(req) {
                            *x = Arc::new(n);
                        }
                    }
                }
                d.iter().map(|x| x.req.clone()).collect()
            };
            super::deletes::save(&self.opts.objects, &all).await?;
        }
        Ok(outcome)
    }
}
