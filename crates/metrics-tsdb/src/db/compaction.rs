//! Block compaction in the store: plan with Prometheus' leveled planner, write the merged
//! block completely (`<ulid>.tmp`, fsynced, renamed, directory fsynced, `meta.json` naming its
//! parents), swap it in, and only then delete the sources. A crash before the rename leaves a
//! `.tmp` that the next open removes; a crash after it leaves sources that the next open
//! deletes because the new block lists them as parents. Either way the store reads the same.

use std::sync::Arc;

use lgtm_common::blocks::BlockId;

use super::{Db, DbError, LoadedBlock, blocks_dir, remove_block_dir, sync_dir};
use crate::block::compact::{PlanBlock, compacted_meta, merge_into, plan};
use crate::block::meta::TsdbMeta;
use crate::block::tombstones::Tombstones;

impl Db {
    /// Runs compactions until the planner has nothing left; returns how many ran.
    pub(super) async fn compact_blocks(&self) -> Result<usize, DbError> {
        let mut done = 0;
        loop {
            let planned: Vec<PlanBlock> = self
                .blocks()
                .iter()
                .map(|b| PlanBlock {
                    ulid: b.meta.ulid,
                    min_time: b.meta.min_time,
                    max_time: b.meta.max_time,
                    num_series: b.reader.num_series() as u64,
                    num_tombstones: b.tombstones.read().total(),
                })
                .collect();
            let ids = plan(&planned, &self.ranges);
            if ids.is_empty() {
                return Ok(done);
            }
            if let Err(e) = self.compact(&ids).await {
                self.metrics.compactions_failed.inc();
                return Err(e);
            }
            self.metrics.compactions.inc();
            done += 1;
        }
    }

    /// Merges the blocks `ids` into one (or rewrites a single block without its deleted
    /// data), then deletes them.
    pub(super) async fn compact(&self, ids: &[BlockId]) -> Result<(), DbError> {
        let sources: Vec<Arc<LoadedBlock>> = self
            .blocks()
            .into_iter()
            .filter(|b| ids.contains(&b.meta.ulid))
            .collect();
        let metas: Vec<TsdbMeta> = sources.iter().map(|b| b.tsdb_meta()).collect();
        let max_time = metas.iter().map(|m| m.meta.max_time).max().unwrap_or(0);
        let id = BlockId::generate(u64::try_from(max_time).unwrap_or(0))?;
        let meta = compacted_meta(id, &metas.iter().collect::<Vec<_>>());
        self.replace_blocks(sources, meta).await
    }

    /// Writes the merge of `sources` as the block described by `meta` (its stats filled in
    /// here), swaps it in for them and deletes them. An empty result deletes the sources
    /// without writing a block, as Prometheus does.
    pub(super) async fn replace_blocks(
        &self,
        sources: Vec<Arc<LoadedBlock>>,
        mut meta: TsdbMeta,
    ) -> Result<(), DbError> {
        if sources.is_empty() {
            return Ok(());
        }
        let root = blocks_dir(&self.dir);
        let id = meta.meta.ulid;
        let tmp = root.join(format!("{id}.tmp"));
        let final_dir = root.join(id.to_string());
        let inputs = sources.clone();
        let tmp_for_write = tmp.clone();
        let written = tokio::task::spawn_blocking(move || {
            let tombstones: Vec<Tombstones> =
                inputs.iter().map(|b| b.tombstones.read().clone()).collect();
            let pairs: Vec<_> = inputs
                .iter()
                .zip(&tombstones)
                .map(|(b, t)| (&b.reader, t))
                .collect();
            let stats = merge_into(&tmp_for_write, &pairs)?;
            if stats.series == 0 {
                return Ok::<_, DbError>(None);
            }
            meta.meta.stats.num_series = Some(stats.series);
            meta.meta.stats.num_samples = Some(stats.samples);
            meta.meta.stats.num_chunks = Some(stats.chunks);
            meta.write(&tmp_for_write)?;
            Ok(Some(meta))
        })
        .await
        .map_err(|e| DbError::Io {
            path: tmp.clone(),
            source: std::io::Error::other(e.to_string()),
        })?;
        let written = match written {
            Ok(w) => w,
            Err(e) => {
                let _ = std::fs::remove_dir_all(&tmp);
                return Err(e);
            }
        };
        let new_block = match written {
            Some(meta) => {
                std::fs::rename(&tmp, &final_dir).map_err(|source| DbError::Io {
                    path: final_dir.clone(),
                    source,
                })?;
                sync_dir(&root)?;
                let block = LoadedBlock::open(&final_dir)?;
                tracing::info!(
                    block = %id,
                    level = meta.meta.compaction.level,
                    min_time = meta.meta.min_time,
                    max_time = meta.meta.max_time,
                    sources = ?sources.iter().map(|b| b.meta.ulid.to_string()).collect::<Vec<_>>(),
                    "compacted blocks"
                );
                Some(Arc::new(block))
            }
            None => {
                let _ = std::fs::remove_dir_all(&tmp);
                tracing::info!(
                    blocks = sources.len(),
                    "compaction result empty, deleting sources"
                );
                None
            }
        };
        let gone: Vec<BlockId> = sources.iter().map(|b| b.meta.ulid).collect();
        self.note_remote_deletes(&gone)?;
        {
            let mut blocks = self.blocks.write();
            blocks.retain(|b| !gone.contains(&b.meta.ulid));
            blocks.extend(new_block);
            blocks.sort_by_key(|b| (b.meta.min_time, b.meta.ulid));
        }
        // Readers still holding a source keep its open files; the names go now.
        for block in &sources {
            remove_block_dir(block.reader.dir())?;
        }
        sync_dir(&root)?;
        Ok(())
    }
}
