//! What `/api/v1/admin/tsdb/*` does to the store: delete series (tombstones, durable before
//! the call returns), clean tombstones (rewrite the blocks that have them) and snapshots
//! (hard links of every block plus, optionally, the head written as a block).

use std::path::Path;
use std::sync::Arc;

use lgtm_common::blocks::{BlockId, BlockMeta};
use lgtm_common::labels::Matcher;

use super::{Db, DbError, LoadedBlock, sync_dir};
use crate::block::meta::TsdbMeta;
use crate::block::tombstones::remove_deleted;
use crate::block::write_block;

/// A snapshot directory name as Prometheus makes it: UTC time `20060102T150405Z` and 16 hex
/// digits of randomness.
pub fn snapshot_name(now_ms: i64, random: u64) -> String {
    let secs = now_ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil date from days since the epoch (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}{month:02}{day:02}T{:02}{:02}{:02}Z-{random:016x}",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> DbError + '_ {
    move |source| DbError::Io {
        path: path.to_path_buf(),
        source,
    }
}

impl Db {
    /// Marks the samples in `[mint, maxt]` of every series matching one of `selectors`
    /// deleted, in the head and in every block (Prometheus' `DB.Delete`). Reads skip them
    /// at once; the data goes when the block is compacted or cleaned. Durable on return.
    pub async fn delete_series(
        &self,
        selectors: &[Vec<Matcher>],
        mint: i64,
        maxt: i64,
    ) -> Result<(), DbError> {
        let _pass = self.maintenance.lock().await;
        // Head: per series, only up to its current data (`Head.Delete`).
        let mut head_changed = false;
        {
            let mut tombstones = self.head_tombstones.write();
            for matchers in selectors {
                for series in self.head.select(matchers) {
                    let (Some(first), Some(last)) = (series.min_time(), series.max_time()) else {
                        continue;
                    };
                    let (from, to) = (mint.max(first), maxt.min(last));
                    if from <= to {
                        tombstones.add(&series.labels, (from, to));
                        head_changed = true;
                    }
                }
            }
            if head_changed {
                tombstones.write_head(&self.dir)?;
            }
        }
        // Blocks: clamped to the block, only series with a chunk in the interval.
        for block in self.blocks() {
            let (from, to) = (mint.max(block.meta.min_time), maxt.min(block.meta.max_time));
            if from > to {
                continue;
            }
            let mut tombstones = block.tombstones.write();
            let before = tombstones.clone();
            for matchers in selectors {
                for r in block.reader.postings().select(matchers) {
                    if !block.reader.has_data_in(r, from, to) {
                        continue;
                    }
                    if let Some(labels) = block.reader.series_labels(r) {
                        tombstones.add(labels, (from, to));
                    }
                }
            }
            if *tombstones != before {
                tombstones.write_block(&block.reader)?;
                let meta = TsdbMeta {
                    meta: block.meta.clone(),
                    parents: block.parents.clone(),
                    num_tombstones: tombstones.total(),
                };
                meta.write(block.reader.dir())?;
            }
        }
        Ok(())
    }

    /// Rewrites every block that has tombstones without the deleted data (Prometheus'
    /// `DB.CleanTombstones`); a block left empty is removed. The head's deletions stay until
    /// it is cut into a block. Returns how many blocks were rewritten.
    pub async fn clean_tombstones(&self) -> Result<usize, DbError> {
        let _pass = self.maintenance.lock().await;
        let dirty: Vec<Arc<LoadedBlock>> = self
            .blocks()
            .into_iter()
            .filter(|b| !b.tombstones.read().is_empty())
            .collect();
        for block in &dirty {
            let old = block.tsdb_meta();
            let id = BlockId::generate(u64::try_from(old.meta.max_time).unwrap_or(0))?;
            let mut meta = BlockMeta::new(id, old.meta.min_time, old.meta.max_time);
            meta.compaction.level = old.meta.compaction.level;
            meta.compaction.sources = old.meta.compaction.sources.clone();
            let meta = TsdbMeta {
                meta,
                parents: vec![old.desc()],
                num_tombstones: 0,
            };
            self.replace_blocks(vec![Arc::clone(block)], meta).await?;
        }
        Ok(dirty.len())
    }

    /// Writes a snapshot into `dir`: every block hard-linked (copied where links fail) and,
    /// with `with_head`, the head's data as one more block, as Prometheus' `DB.Snapshot`.
    pub async fn snapshot(&self, dir: &Path, with_head: bool) -> Result<(), DbError> {
        let _pass = self.maintenance.lock().await;
        std::fs::create_dir_all(dir).map_err(io_err(dir))?;
        for block in self.blocks() {
            let target = dir.join(block.meta.ulid.to_string());
            std::fs::create_dir_all(&target).map_err(io_err(&target))?;
            let entries =
                std::fs::read_dir(block.reader.dir()).map_err(io_err(block.reader.dir()))?;
            for entry in entries.filter_map(Result::ok) {
                let from = entry.path();
                if !from.is_file() {
                    continue;
                }
                let to = target.join(entry.file_name());
                if std::fs::hard_link(&from, &to).is_err() {
                    std::fs::copy(&from, &to).map_err(io_err(&to))?;
                }
            }
        }
        if with_head {
            let tombstones = self.head_tombstones.read().clone();
            let series: Vec<_> = self
                .head
                .all_series()
                .into_iter()
                .map(|s| {
                    let mut samples = s.samples(i64::MIN, i64::MAX);
                    remove_deleted(&mut samples, tombstones.get(&s.labels));
                    (s.labels.clone(), samples)
                })
                .filter(|(_, samples)| !samples.is_empty())
                .collect();
            let min = series
                .iter()
                .filter_map(|(_, s)| s.first())
                .map(|s| s.0)
                .min();
            let max = series
                .iter()
                .filter_map(|(_, s)| s.last())
                .map(|s| s.0)
                .max();
            if let (Some(min), Some(max)) = (min, max) {
                let id = BlockId::generate(u64::try_from(max).unwrap_or(0))?;
                let target = dir.join(id.to_string());
                let stats = write_block(&target, series)?;
                let mut meta = BlockMeta::new(id, min, max.saturating_add(1));
                meta.stats.num_series = Some(stats.series);
                meta.stats.num_samples = Some(stats.samples);
                meta.stats.num_chunks = Some(stats.chunks);
                TsdbMeta::new(meta).write(&target)?;
            }
        }
        sync_dir(dir)?;
        Ok(())
    }
}
