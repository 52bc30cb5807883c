//! Retention by time and by size, and mirroring the block set to the object store.
//!
//! Size retention follows Prometheus' `BeyondSizeRetention`: starting from the WAL's size,
//! blocks are added newest first; the first block that takes the total over the limit and
//! every older one are deleted, and `prometheus_tsdb_size_retentions_total` counts the pass.
//!
//! The object store receives every local block (files first, `meta.json` last) and forgets
//! the blocks deleted locally (compaction sources, expired blocks) once their replacement is
//! uploaded. Those pending deletions are kept in `<storage.tsdb.path>/object-store.deletions`
//! so a restart in between does not leave duplicates in the bucket.

use std::path::Path;

use lgtm_common::blocks::{BlockId, META_FILE};
use lgtm_common::objstore::ObjectStoreExt;

use super::{Db, DbError, remove_block_dir};
use crate::block::tombstones::write_atomically;

const REMOTE_DELETES_FILE: &str = "object-store.deletions";

/// Reads the pending object-store deletions (one block id per line).
pub(super) fn read_remote_deletes(dir: &Path) -> Result<Vec<BlockId>, DbError> {
    let path = dir.join(REMOTE_DELETES_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok(text
            .lines()
            .filter_map(|l| l.trim().parse::<BlockId>().ok())
            .collect()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(source) => Err(DbError::Io { path, source }),
    }
}

/// Total size of the regular files under `dir` (0 if it does not exist).
pub(super) fn dir_size(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .filter_map(Result::ok)
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_size(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

impl Db {
    /// Remembers blocks the object store must delete, durably, before they go locally.
    pub(super) fn note_remote_deletes(&self, ids: &[BlockId]) -> Result<(), DbError> {
        if self.object_store.is_none() || ids.is_empty() {
            return Ok(());
        }
        let mut pending = self.remote_deletes.lock();
        pending.extend_from_slice(ids);
        self.write_remote_deletes(&pending)
    }

    fn write_remote_deletes(&self, pending: &[BlockId]) -> Result<(), DbError> {
        let text: String = pending.iter().map(|id| format!("{id}\n")).collect();
        write_atomically(&self.dir.join(REMOTE_DELETES_FILE), text.as_bytes())?;
        Ok(())
    }

    /// Deletes `expired` blocks from disk and the in-memory list.
    fn delete_blocks(&self, expired: &[BlockId]) -> Result<(), DbError> {
        if expired.is_empty() {
            return Ok(());
        }
        self.note_remote_deletes(expired)?;
        let removed: Vec<_> = {
            let mut blocks = self.blocks.write();
            let (gone, kept): (Vec<_>, Vec<_>) = blocks
                .drain(..)
                .partition(|b| expired.contains(&b.meta.ulid));
            *blocks = kept;
            gone
        };
        for block in removed {
            remove_block_dir(block.reader.dir())?;
        }
        Ok(())
    }

    /// Time retention: blocks ending `retention_ms` or more before the newest data go.
    pub(super) fn apply_retention(&self, now_ms: i64) -> Result<usize, DbError> {
        if self.retention_ms <= 0 {
            return Ok(0);
        }
        let newest = self
            .head
            .all_series()
            .iter()
            .filter_map(|s| s.max_time())
            .max()
            .unwrap_or(now_ms)
            .max(
                self.blocks
                    .read()
                    .iter()
                    .map(|b| b.meta.max_time)
                    .max()
                    .unwrap_or(i64::MIN),
            );
        let cutoff = newest - self.retention_ms;
        let expired: Vec<BlockId> = self
            .blocks
            .read()
            .iter()
            .filter(|b| b.meta.max_time <= cutoff)
            .map(|b| b.meta.ulid)
            .collect();
        for id in &expired {
            tracing::info!(block = %id, "deleting block beyond retention time");
        }
        if !expired.is_empty() {
            self.metrics.time_retentions.inc();
        }
        self.delete_blocks(&expired)?;
        Ok(expired.len())
    }

    /// Bytes size retention counts: every block plus the WAL.
    pub fn storage_bytes(&self) -> u64 {
        dir_size(&self.dir.join("wal")) + self.blocks().iter().map(|b| b.size_bytes()).sum::<u64>()
    }

    /// Size retention: newest blocks are kept while blocks and WAL fit the limit.
    pub(super) fn apply_size_retention(&self) -> Result<usize, DbError> {
        if self.retention_bytes == 0 {
            return Ok(0);
        }
        let mut blocks = self.blocks();
        blocks.sort_by_key(|b| std::cmp::Reverse((b.meta.max_time, b.meta.min_time)));
        let mut total = dir_size(&self.dir.join("wal"));
        let mut expired = Vec::new();
        for (i, block) in blocks.iter().enumerate() {
            total += block.size_bytes();
            if total > self.retention_bytes {
                expired = blocks[i..].iter().map(|b| b.meta.ulid).collect();
                break;
            }
        }
        if expired.is_empty() {
            return Ok(0);
        }
        tracing::info!(
            blocks = expired.len(),
            limit = self.retention_bytes,
            "deleting blocks beyond retention size"
        );
        self.metrics.size_retentions.inc();
        self.delete_blocks(&expired)?;
        Ok(expired.len())
    }

    /// Uploads local blocks the object store lacks, then deletes there the blocks deleted
    /// here. Returns `(uploaded, deleted)`.
    pub(super) async fn sync_object_store(&self) -> Result<(usize, usize), DbError> {
        let Some(catalog) = &self.object_store else {
            return Ok((0, 0));
        };
        let listing = catalog.list().await?;
        let present: std::collections::HashSet<BlockId> =
            listing.blocks.iter().map(|m| m.ulid).collect();
        let mut uploaded = 0;
        for block in self.blocks() {
            if present.contains(&block.meta.ulid) {
                continue;
            }
            let written = catalog.upload_dir(block.reader.dir(), &block.meta).await?;
            let mut full = block.tsdb_meta();
            if !full.parents.is_empty() || full.num_tombstones > 0 {
                // The catalogue writes the shared fields; put Prometheus' extra ones back.
                full.meta = written;
                let body = full.to_json().map_err(|e| DbError::Io {
                    path: block.reader.dir().join(META_FILE),
                    source: std::io::Error::other(e),
                })?;
                let path = catalog.block_dir(block.meta.ulid).join(META_FILE);
                catalog
                    .store()
                    .put(&path, body.into())
                    .await
                    .map_err(|source| {
                        DbError::ObjectStore(lgtm_common::blocks::Error::Store {
                            op: "put",
                            path: path.to_string(),
                            source,
                        })
                    })?;
            }
            uploaded += 1;
        }
        let pending: Vec<BlockId> = self.remote_deletes.lock().clone();
        let mut deleted = 0;
        for id in &pending {
            if present.contains(id) {
                catalog.delete(*id).await?;
                deleted += 1;
            }
        }
        if !pending.is_empty() {
            let mut current = self.remote_deletes.lock();
            current.retain(|id| !pending.contains(id));
            self.write_remote_deletes(&current)?;
        }
        Ok((uploaded, deleted))
    }
}

impl Db {
    /// Downloads the object store's blocks that are missing locally (a lost or fresh data
    /// directory), leaving out those this store deleted or already merged into a local block.
    /// Each is written to `<ulid>.tmp` and renamed when complete. Returns how many came back.
    pub async fn restore_from_object_store(&self) -> Result<usize, DbError> {
        let Some(catalog) = &self.object_store else {
            return Ok(0);
        };
        let _pass = self.maintenance.lock().await;
        let listing = catalog.list().await?;
        let local = self.blocks();
        let pending: Vec<BlockId> = self.remote_deletes.lock().clone();
        let covered = |id: BlockId, sources: &[BlockId]| {
            local.iter().any(|b| {
                b.meta.ulid == id
                    || b.parents.iter().any(|p| p.ulid == id)
                    || (!sources.is_empty()
                        && sources
                            .iter()
                            .all(|s| b.meta.compaction.sources.contains(s)))
            })
        };
        let root = super::blocks_dir(&self.dir);
        let mut restored = 0;
        for remote in &listing.blocks {
            let id = remote.ulid;
            if pending.contains(&id) || covered(id, &remote.compaction.sources) {
                continue;
            }
            let tmp = root.join(format!("{id}.tmp"));
            let final_dir = root.join(id.to_string());
            catalog.download_dir(id, &tmp).await?;
            // The catalogue rewrites meta.json from the shared fields; keep Prometheus' own.
            let raw = catalog.read_file(id, META_FILE).await?;
            write_atomically(&tmp.join(META_FILE), &raw)?;
            std::fs::rename(&tmp, &final_dir).map_err(|source| DbError::Io {
                path: final_dir.clone(),
                source,
            })?;
            super::sync_dir(&root)?;
            let block = super::LoadedBlock::open(&final_dir)?;
            self.head
                .set_min_valid_time(self.head.min_valid_time().max(block.meta.max_time));
            tracing::info!(block = %id, "block restored from the object store");
            let mut blocks = self.blocks.write();
            blocks.push(std::sync::Arc::new(block));
            blocks.sort_by_key(|b| (b.meta.min_time, b.meta.ulid));
            restored += 1;
        }
        Ok(restored)
    }
}
