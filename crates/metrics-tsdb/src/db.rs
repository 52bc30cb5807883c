//! The durable TSDB: the in-memory [`Head`] made crash-safe by the shared write-ahead log.
//!
//! An append is applied to the head and its WAL records are enqueued under one lock, so the
//! log holds samples in exactly the order the head accepted them; the caller is answered only
//! once the records are durable per the fsync policy. On open, the log is replayed into a new
//! head before the first append: every acknowledged sample is back after `kill -9`.
//!
//! Maintenance (`maintain`) cuts the head into blocks, compacts blocks (`db/compaction.rs`),
//! applies retention and mirrors blocks to the object store (`db/retention.rs`); the admin
//! operations (deletion, tombstone cleanup, snapshots) are in `db/admin.rs`.

mod admin;
mod compaction;
mod limits;
#[cfg(test)]
mod maintenance_tests;
mod retention;

pub use admin::snapshot_name;
pub use limits::{DbMetrics, Rejection};

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use lgtm_common::labels::Labels;
use lgtm_common::wal::{self, ReplayReport, Wal, WalOptions, WalWriter};
use parking_lot::Mutex;

use lgtm_common::blocks::{BlockCatalog, BlockId, BlockMeta};

use crate::block::meta::{BlockDesc, TsdbMeta};
use crate::block::tombstones::{Tombstones, remove_deleted};
use crate::block::{BlockError, BlockReader, SeriesData, write_block};
use crate::head::{Head, HeadOptions, MemSeries};
use crate::index::SeriesRef;
use crate::wal_record::{self, KIND_SAMPLES, KIND_SERIES, RefSample};

/// Errors of the durable store (per-sample rejections are reported in [`AppendOutcome`]).
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The write-ahead log failed; the batch is not acknowledged.
    #[error("write-ahead log: {0}")]
    Wal(#[from] wal::Error),
    /// A block could not be written or read.
    #[error("block: {0}")]
    Block(#[from] BlockError),
    /// A block directory could not be managed.
    #[error("block directory {path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// Uploading to or listing the object store failed.
    #[error("object storage: {0}")]
    ObjectStore(#[from] lgtm_common::blocks::Error),
}

/// Prometheus' block range: the head is cut into 2-hour blocks.
pub const DEFAULT_BLOCK_RANGE_MS: i64 = 2 * 3600 * 1000;

/// A block on local disk with its metadata.
#[derive(Debug)]
pub struct LoadedBlock {
    /// `meta.json`.
    pub meta: BlockMeta,
    /// The opened block.
    pub reader: BlockReader,
    /// `compaction.parents`: blocks this one replaced (deleted on open if still present).
    pub parents: Vec<BlockDesc>,
    /// Deleted intervals, applied on every read until the block is rewritten.
    pub tombstones: parking_lot::RwLock<Tombstones>,
}

impl LoadedBlock {
    /// Opens the block in `dir` with its `meta.json` and `tombstones`.
    pub fn open(dir: &Path) -> Result<Self, BlockError> {
        let meta = TsdbMeta::read(dir)?;
        let reader = BlockReader::open(dir)?;
        let tombstones = Tombstones::read_block(&reader)?;
        Ok(Self {
            meta: meta.meta,
            reader,
            parents: meta.parents,
            tombstones: parking_lot::RwLock::new(tombstones),
        })
    }

    /// The block's `meta.json` contents.
    pub fn tsdb_meta(&self) -> TsdbMeta {
        TsdbMeta {
            meta: self.meta.clone(),
            parents: self.parents.clone(),
            num_tombstones: self.tombstones.read().total(),
        }
    }

    /// Bytes of the block's files on disk (index, chunks, tombstones, meta.json), as
    /// Prometheus' `Block.Size` counts for size retention.
    pub fn size_bytes(&self) -> u64 {
        std::fs::read_dir(self.reader.dir())
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .filter_map(|e| e.metadata().ok())
                    .filter(std::fs::Metadata::is_file)
                    .map(|m| m.len())
                    .sum()
            })
            .unwrap_or(0)
    }
}

/// What one maintenance pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MaintenanceReport {
    /// Blocks cut from the head.
    pub blocks_written: usize,
    /// Blocks removed by retention.
    pub blocks_deleted: usize,
    /// Blocks copied to the object store.
    pub blocks_uploaded: usize,
    /// Compactions run (each replaces its source blocks by one).
    pub compactions: usize,
    /// Blocks removed by size retention (also counted in `blocks_deleted`).
    pub blocks_deleted_by_size: usize,
    /// Replaced or expired blocks deleted from the object store.
    pub blocks_deleted_remotely: usize,
}

/// Where and how the store keeps its data.
#[derive(Debug, Clone)]
pub struct DbOptions {
    /// Data directory (`--storage.tsdb.path`); the WAL lives in `<dir>/wal`.
    pub dir: PathBuf,
    /// WAL tuning.
    pub wal: WalOptions,
    /// Head tuning.
    pub head: HeadOptions,
    /// Length of a block cut from the head (ms).
    pub block_range_ms: i64,
    /// Blocks ending more than this before the newest data are deleted (0 = keep).
    pub retention_ms: i64,
    /// `--storage.tsdb.retention.size`: oldest blocks are deleted while blocks and WAL take
    /// more bytes than this (0 = no limit).
    pub retention_bytes: u64,
    /// Largest block compaction builds (0: Prometheus' default, 10 % of the retention time
    /// capped at 31 days).
    pub max_block_duration_ms: i64,
    /// Most labels a series may have (0 = no limit), Mimir's `max_label_names_per_series`.
    pub max_labels_per_series: usize,
    /// Where finished blocks are copied (S3/SeaweedFS); local disk stays the read path.
    pub object_store: Option<BlockCatalog>,
}

impl DbOptions {
    /// Defaults for a data directory.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            wal: WalOptions::default(),
            head: HeadOptions::default(),
            block_range_ms: DEFAULT_BLOCK_RANGE_MS,
            retention_ms: 15 * 24 * 3600 * 1000,
            retention_bytes: 0,
            max_block_duration_ms: 0,
            max_labels_per_series: 0,
            object_store: None,
        }
    }
}

/// What opening found.
#[derive(Debug, Clone, Default)]
pub struct OpenReport {
    /// Series restored from the log.
    pub series: usize,
    /// Samples restored from the log.
    pub samples: usize,
    /// Records that could not be decoded (skipped).
    pub corrupt_records: usize,
    /// Samples whose series record never appeared (should be zero).
    pub orphan_samples: usize,
    /// The log reader's report (torn tail, corruption).
    pub wal: ReplayReport,
}

/// One series' samples in an append batch.
#[derive(Debug, Clone)]
pub struct SeriesSamples {
    /// The series' labels.
    pub labels: Labels,
    /// `(timestamp ms, value)` pairs.
    pub samples: Vec<(i64, f64)>,
}

/// Bit-exact comparison of values, so NaN payloads (stale markers) compare as stored.
impl PartialEq for SeriesSamples {
    fn eq(&self, other: &Self) -> bool {
        self.labels == other.labels
            && self.samples.len() == other.samples.len()
            && self
                .samples
                .iter()
                .zip(&other.samples)
                .all(|(a, b)| a.0 == b.0 && a.1.to_bits() == b.1.to_bits())
    }
}

/// Result of an accepted batch: how many samples were stored and the first rejection.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AppendOutcome {
    /// Samples newly stored.
    pub written: usize,
    /// Samples identical to ones already stored (accepted, not stored twice).
    pub duplicates: usize,
    /// Samples rejected, by reason.
    pub rejected: usize,
    /// The first rejection, with its series, as Prometheus (or, for limits, Mimir) reports it.
    pub first_error: Option<(Rejection, Labels, i64)>,
}

/// The durable store.
#[derive(Debug)]
pub struct Db {
    head: Arc<Head>,
    wal: WalWriter,
    /// Orders head mutation and WAL enqueueing.
    append_lock: Mutex<()>,
    dir: PathBuf,
    blocks: parking_lot::RwLock<Vec<Arc<LoadedBlock>>>,
    /// Serialises maintenance passes.
    maintenance: tokio::sync::Mutex<()>,
    block_range_ms: i64,
    retention_ms: i64,
    retention_bytes: u64,
    /// Block ranges per compaction level, the first being `block_range_ms`.
    ranges: Vec<i64>,
    max_labels_per_series: usize,
    object_store: Option<BlockCatalog>,
    /// Deletions of the head's series, applied on reads and when a block is cut.
    head_tombstones: parking_lot::RwLock<Tombstones>,
    /// Blocks deleted locally that the object store still has to forget (persisted).
    remote_deletes: Mutex<Vec<BlockId>>,
    metrics: DbMetrics,
    /// Bumped (under the append lock) whenever head GC removes series, so series cached by
    /// [`Db::append_resolving`] callers are checked again only after a removal.
    series_removals: std::sync::atomic::AtomicU64,
}

fn blocks_dir(dir: &Path) -> PathBuf {
    dir.join("blocks")
}

/// Opens every complete block under `<dir>/blocks`, removing leftovers of interrupted work:
/// `*.tmp` directories (a block being written) and blocks listed as a parent of another
/// block (a compaction that wrote its result but did not get to delete its sources).
fn load_blocks(dir: &Path) -> Result<Vec<Arc<LoadedBlock>>, DbError> {
    let root = blocks_dir(dir);
    std::fs::create_dir_all(&root).map_err(|source| DbError::Io {
        path: root.clone(),
        source,
    })?;
    let entries = std::fs::read_dir(&root).map_err(|source| DbError::Io {
        path: root.clone(),
        source,
    })?;
    let mut blocks = Vec::new();
    for entry in entries.filter_map(Result::ok) {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(".tmp") {
            tracing::warn!(path = %path.display(), "removing incomplete block");
            let _ = std::fs::remove_dir_all(&path);
            continue;
        }
        match std::fs::symlink_metadata(path.join(lgtm_common::blocks::META_FILE)) {
            Ok(_) => {}
            Err(_) => continue,
        }
        match LoadedBlock::open(&path) {
            Ok(block) => blocks.push(Arc::new(block)),
            Err(BlockError::Io { path: p, source })
                if p.ends_with(lgtm_common::blocks::META_FILE)
                    && source.kind() != std::io::ErrorKind::NotFound =>
            {
                tracing::error!(path = %p.display(), error = %source, "skipping block with invalid meta.json");
            }
            Err(e) => return Err(e.into()),
        }
    }
    let replaced: std::collections::HashSet<BlockId> = blocks
        .iter()
        .flat_map(|b| b.parents.iter().map(|p| p.ulid))
        .collect();
    let (stale, mut blocks): (Vec<_>, Vec<_>) = blocks
        .into_iter()
        .partition(|b| replaced.contains(&b.meta.ulid));
    for block in stale {
        tracing::info!(block = %block.meta.ulid, "deleting block replaced by compaction");
        remove_block_dir(block.reader.dir())?;
    }
    blocks.sort_by_key(|b| (b.meta.min_time, b.meta.ulid));
    Ok(blocks)
}

/// Removes a block directory: first renamed to `<ulid>.tmp` (so a crash midway leaves a
/// leftover that the next open discards, never a half-deleted block), then deleted.
fn remove_block_dir(dir: &Path) -> Result<(), DbError> {
    let mut tmp = dir.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    std::fs::rename(dir, &tmp).map_err(|source| DbError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    std::fs::remove_dir_all(&tmp).map_err(|source| DbError::Io { path: tmp, source })
}

/// fsyncs a directory so renames and removals in it are durable.
fn sync_dir(dir: &Path) -> Result<(), DbError> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|source| DbError::Io {
            path: dir.to_path_buf(),
            source,
        })
}

impl Db {
    /// Opens the store, replaying the WAL into a fresh head.
    pub fn open(options: DbOptions) -> Result<(Self, OpenReport), DbError> {
        let head = Arc::new(Head::new(options.head.clone()));
        let blocks = load_blocks(&options.dir)?;
        let head_tombstones = Tombstones::read_head(&options.dir)?;
        let remote_deletes = retention::read_remote_deletes(&options.dir)?;
        if let Some(end) = blocks.iter().map(|b| b.meta.max_time).max() {
            // Samples before the newest block's end are in blocks; the WAL may still hold them.
            head.set_min_valid_time(end);
        }
        let mut report = OpenReport::default();
        let mut pending: HashMap<SeriesRef, Vec<(i64, f64)>> = HashMap::new();
        // Replay-local index from reference to series: a vector slot per sample instead of a
        // locked map lookup (which was a quarter of replay CPU); sparse refs use the head.
        let mut by_ref: Vec<Option<Arc<MemSeries>>> = Vec::new();
        const DENSE_REFS: u64 = 1 << 26;
        let wal_dir = options.dir.join("wal");
        let (wal, recovery) =
            Wal::recover(&wal_dir, options.wal.clone(), |record| match record.kind {
                KIND_SERIES => match wal_record::decode_series(&record.data) {
                    Ok(series) => {
                        for (series_ref, labels) in series {
                            let restored = head.restore_series(series_ref, labels);
                            report.series += 1;
                            if series_ref < DENSE_REFS && restored.series_ref == series_ref {
                                let i = series_ref as usize;
                                if by_ref.len() <= i {
                                    by_ref.resize(i + 1, None);
                                }
                                by_ref[i] = Some(Arc::clone(&restored));
                            }
                            for (t, v) in pending.remove(&series_ref).unwrap_or_default() {
                                if head.append_to(&restored, t, v) == Ok(true) {
                                    report.samples += 1;
                                }
                            }
                        }
                    }
                    Err(_) => report.corrupt_records += 1,
                },
                KIND_SAMPLES => match wal_record::decode_samples(&record.data) {
                    Ok(samples) => {
                        for s in samples {
                            let local = usize::try_from(s.series)
                                .ok()
                                .and_then(|i| by_ref.get(i))
                                .and_then(Option::as_ref);
                            let looked_up;
                            let found = match local {
                                Some(series) => Some(series),
                                None => {
                                    looked_up = head.series(s.series);
                                    looked_up.as_ref()
                                }
                            };
                            match found {
                                Some(series) => {
                                    if head.append_to(series, s.t, s.v) == Ok(true) {
                                        report.samples += 1;
                                    }
                                }
                                None => pending.entry(s.series).or_default().push((s.t, s.v)),
                            }
                        }
                    }
                    Err(_) => report.corrupt_records += 1,
                },
                _ => report.corrupt_records += 1,
            })?;
        report.orphan_samples = pending.values().map(Vec::len).sum();
        report.wal = recovery.wal;
        if let Some(damage) = &report.wal.damage {
            tracing::warn!(?damage, "write-ahead log damaged; replay stopped there");
        }
        let wal = WalWriter::spawn(wal)?;
        let block_range_ms = options.block_range_ms.max(1);
        let max_block = if options.max_block_duration_ms > 0 {
            options.max_block_duration_ms
        } else {
            crate::block::compact::max_block_duration(options.retention_ms)
        };
        let metrics = DbMetrics::default();
        metrics.set_blocks(&blocks, options.retention_bytes);
        Ok((
            Self {
                head,
                wal,
                append_lock: Mutex::new(()),
                dir: options.dir,
                blocks: parking_lot::RwLock::new(blocks),
                maintenance: tokio::sync::Mutex::new(()),
                block_range_ms,
                retention_ms: options.retention_ms,
                retention_bytes: options.retention_bytes,
                ranges: crate::block::compact::block_ranges(block_range_ms, max_block),
                max_labels_per_series: options.max_labels_per_series,
                object_store: options.object_store,
                head_tombstones: parking_lot::RwLock::new(head_tombstones),
                series_removals: std::sync::atomic::AtomicU64::new(0),
                remote_deletes: Mutex::new(remote_deletes),
                metrics,
            },
            report,
        ))
    }

    /// The head, for queries.
    pub fn head(&self) -> &Arc<Head> {
        &self.head
    }

    /// The data directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The storage metrics (`prometheus_tsdb_*`), for registration with `/metrics`.
    pub fn metrics(&self) -> &DbMetrics {
        &self.metrics
    }

    /// Appends a batch; resolves once every stored sample is durable. Rejected samples (out of
    /// order, duplicates with other values, ...) do not fail the batch: they are counted in the
    /// outcome so the API can answer as Prometheus does while keeping the good samples.
    pub async fn append(&self, batch: &[SeriesSamples]) -> Result<AppendOutcome, DbError> {
        let mut unchecked = u64::MAX;
        self.append_resolving(batch, &mut [], &mut unchecked).await
    }

    /// [`Db::append`] for callers that send the same series again and again (a scrape loop):
    /// `resolved[i]` caches the head series of `batch[i]`. A cached series the head still
    /// holds is used without looking its labels up; a missing or removed one (head GC after
    /// a block cut) is looked up as usual and cached. Entries past `resolved` are looked up.
    /// `checked` is the removal epoch at which `resolved` was last checked (updated here):
    /// while no series was removed since, cached series are used without a check; pass
    /// `u64::MAX` after putting series into `resolved` from elsewhere.
    pub async fn append_resolving(
        &self,
        batch: &[SeriesSamples],
        resolved: &mut [Option<Arc<MemSeries>>],
        checked: &mut u64,
    ) -> Result<AppendOutcome, DbError> {
        let mut outcome = AppendOutcome::default();
        let enqueued = {
            let _order = self.append_lock.lock();
            let epoch = self
                .series_removals
                .load(std::sync::atomic::Ordering::Relaxed);
            let check = std::mem::replace(checked, epoch) != epoch;
            let mut new_series: Vec<(SeriesRef, Labels)> = Vec::new();
            let mut accepted: Vec<RefSample> = Vec::new();
            for (i, entry) in batch.iter().enumerate() {
                let cached = resolved.get(i).and_then(Option::as_ref).filter(|s| {
                    !check
                        || self
                            .head
                            .series(s.series_ref)
                            .is_some_and(|live| Arc::ptr_eq(&live, s))
                });
                let found = match cached {
                    Some(series) => Ok((Arc::clone(series), false)),
                    None => {
                        let found = limits::check_labels(&entry.labels, self.max_labels_per_series)
                            .and_then(|()| {
                                self.head
                                    .get_or_create_reporting(&entry.labels)
                                    .map_err(Rejection::from)
                            });
                        if let (Ok((series, _)), Some(slot)) = (&found, resolved.get_mut(i)) {
                            *slot = Some(Arc::clone(series));
                        }
                        found
                    }
                };
                let (series, created) = match found {
                    Ok(found) => found,
                    Err(e) => {
                        outcome.rejected += entry.samples.len();
                        let t = entry.samples.first().map_or(0, |s| s.0);
                        outcome
                            .first_error
                            .get_or_insert((e, entry.labels.clone(), t));
                        continue;
                    }
                };
                if created {
                    new_series.push((series.series_ref, series.labels.clone()));
                }
                for &(t, v) in &entry.samples {
                    match self.head.append_to(&series, t, v) {
                        Ok(true) => {
                            outcome.written += 1;
                            accepted.push(RefSample {
                                series: series.series_ref,
                                t,
                                v,
                            });
                        }
                        Ok(false) => outcome.duplicates += 1,
                        Err(e) => {
                            outcome.rejected += 1;
                            outcome
                                .first_error
                                .get_or_insert((e.into(), entry.labels.clone(), t));
                        }
                    }
                }
            }
            let mut records = Vec::with_capacity(2);
            if !new_series.is_empty() {
                let refs: Vec<(SeriesRef, &Labels)> =
                    new_series.iter().map(|(r, l)| (*r, l)).collect();
                records.push(wal::Record::new(
                    KIND_SERIES,
                    wal_record::encode_series(&refs),
                ));
            }
            if !accepted.is_empty() {
                records.push(wal::Record::new(
                    KIND_SAMPLES,
                    wal_record::encode_samples(&accepted),
                ));
            }
            if records.is_empty() {
                None
            } else {
                // Enqueue while holding the lock so the log order is the head order; the
                // durability wait happens after the lock is released.
                Some(self.wal.enqueue(records)?)
            }
        };
        if let Some(pending) = enqueued {
            pending.await?;
        }
        Ok(outcome)
    }

    /// Label names across head and blocks, sorted.
    pub fn label_names(&self) -> Vec<String> {
        let mut names: std::collections::BTreeSet<String> =
            self.head.label_names().into_iter().collect();
        for block in self.blocks.read().iter() {
            names.extend(block.reader.postings().label_names().map(str::to_owned));
        }
        names.into_iter().collect()
    }

    /// Values of a label across head and blocks, sorted.
    pub fn label_values(&self, name: &str) -> Vec<String> {
        let mut values: std::collections::BTreeSet<String> =
            self.head.label_values(name).into_iter().collect();
        for block in self.blocks.read().iter() {
            values.extend(
                block
                    .reader
                    .postings()
                    .label_values(name)
                    .map(str::to_owned),
            );
        }
        values.into_iter().collect()
    }

    /// The blocks, oldest first.
    pub fn blocks(&self) -> Vec<Arc<LoadedBlock>> {
        self.blocks.read().clone()
    }

    /// Series matching `matchers` with samples in `[mint, maxt]` from blocks and head merged,
    /// in label order: the one read path of queries, remote read and federation.
    pub fn select(
        &self,
        matchers: &[lgtm_common::labels::Matcher],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<SeriesData>, DbError> {
        let blocks: Vec<Arc<LoadedBlock>> = self
            .blocks
            .read()
            .iter()
            .filter(|b| b.meta.max_time > mint && b.meta.min_time <= maxt)
            .cloned()
            .collect();
        let head_tombstones = self.head_tombstones.read();
        let head_samples = |series: &crate::head::MemSeries| {
            let mut samples = series.samples(mint, maxt);
            remove_deleted(&mut samples, head_tombstones.get(&series.labels));
            samples
        };
        if blocks.is_empty() {
            // Head only (the common case for recent data): already in label order and
            // time-ordered per series, nothing to merge.
            return Ok(self
                .head
                .select(matchers)
                .into_iter()
                .filter_map(|series| {
                    let samples = head_samples(&series);
                    (!samples.is_empty()).then(|| (series.labels.clone(), samples))
                })
                .collect());
        }
        let mut merged: std::collections::BTreeMap<Labels, Vec<(i64, f64)>> = Default::default();
        for block in &blocks {
            let tombstones = block.tombstones.read();
            for (labels, mut samples) in block.reader.select(matchers, mint, maxt)? {
                remove_deleted(&mut samples, tombstones.get(&labels));
                if !samples.is_empty() {
                    merged.entry(labels).or_default().extend(samples);
                }
            }
        }
        for series in self.head.select(matchers) {
            let samples = head_samples(&series);
            if !samples.is_empty() {
                merged
                    .entry(series.labels.clone())
                    .or_default()
                    .extend(samples);
            }
        }
        Ok(merged
            .into_iter()
            .map(|(labels, mut samples)| {
                samples.sort_by_key(|s| s.0);
                samples.dedup_by_key(|s| s.0);
                (labels, samples)
            })
            .collect())
    }

    /// One maintenance pass: cut finished block ranges from the head into blocks (with a WAL
    /// checkpoint so the log stays short), apply retention by time and size, compact blocks,
    /// mirror the block set to the object store. Safe to call while appends continue.
    pub async fn maintain(&self, now_ms: i64) -> Result<MaintenanceReport, DbError> {
        let _pass = self.maintenance.lock().await;
        let mut report = MaintenanceReport::default();
        while let Some(range) = self.compactable_range() {
            self.cut_block(range).await?;
            report.blocks_written += 1;
        }
        // Retention first, as Prometheus' reload after the head compaction: expired blocks are
        // not worth compacting.
        report.blocks_deleted = self.apply_retention(now_ms)?;
        report.blocks_deleted_by_size = self.apply_size_retention()?;
        report.blocks_deleted += report.blocks_deleted_by_size;
        report.compactions = self.compact_blocks().await?;
        let (uploaded, deleted) = self.sync_object_store().await?;
        report.blocks_uploaded = uploaded;
        report.blocks_deleted_remotely = deleted;
        self.metrics
            .set_blocks(&self.blocks(), self.retention_bytes);
        Ok(report)
    }

    /// The next block range to cut: Prometheus cuts when the head spans 1.5 block ranges,
    /// aligned to the range.
    fn compactable_range(&self) -> Option<(i64, i64)> {
        let series = self.head.all_series();
        let min = series.iter().filter_map(|s| s.min_time()).min()?;
        let max = series.iter().filter_map(|s| s.max_time()).max()?;
        let range = self.block_range_ms;
        let start = min.div_euclid(range) * range;
        let end = start + range;
        // Prometheus' `compactable()`: the head spans more than 1.5 block ranges.
        (max - min > range / 2 * 3).then_some((start, end))
    }

    async fn cut_block(&self, (start, end): (i64, i64)) -> Result<(), DbError> {
        // 1. From now on nothing older than `end` enters the head, and the WAL gets a fresh
        //    segment: every record after the cut holds samples at or after `end`.
        let cut = {
            let _order = self.append_lock.lock();
            self.head
                .set_min_valid_time(self.head.min_valid_time().max(end));
            self.wal.enqueue_cut()?
        };
        let segment = cut.await?;
        // 2. Write the block from the now frozen range.
        let id =
            BlockId::generate(u64::try_from(end).unwrap_or(0)).map_err(DbError::ObjectStore)?;
        let root = blocks_dir(&self.dir);
        let tmp = root.join(format!("{id}.tmp"));
        let final_dir = root.join(id.to_string());
        let series: Vec<(Labels, Vec<(i64, f64)>)> = {
            let tombstones = self.head_tombstones.read();
            self.head
                .all_series()
                .into_iter()
                .map(|s| {
                    let mut samples = s.samples(start, end - 1);
                    remove_deleted(&mut samples, tombstones.get(&s.labels));
                    (s.labels.clone(), samples)
                })
                .filter(|(_, samples)| !samples.is_empty())
                .collect()
        };
        let tmp_for_write = tmp.clone();
        let stats = tokio::task::spawn_blocking(move || write_block(&tmp_for_write, series))
            .await
            .map_err(|e| DbError::Io {
                path: tmp.clone(),
                source: std::io::Error::other(e.to_string()),
            })??;
        let mut meta = BlockMeta::new(id, start, end);
        meta.stats.num_series = Some(stats.series);
        meta.stats.num_samples = Some(stats.samples);
        meta.stats.num_chunks = Some(stats.chunks);
        TsdbMeta::new(meta).write(&tmp)?;
        std::fs::rename(&tmp, &final_dir).map_err(|source| DbError::Io {
            path: final_dir.clone(),
            source,
        })?;
        sync_dir(&root)?;
        let block = LoadedBlock::open(&final_dir)?;
        {
            let mut blocks = self.blocks.write();
            blocks.push(Arc::new(block));
            blocks.sort_by_key(|b| (b.meta.min_time, b.meta.ulid));
        }
        // The head's deletions before `end` went into the block (as removed samples).
        {
            let mut tombstones = self.head_tombstones.write();
            if !tombstones.is_empty() {
                tombstones.drop_before(end);
                tombstones.write_head(&self.dir)?;
            }
        }
        // 3. Drop the block's samples from the head, then the series left without any.
        for series in self.head.all_series() {
            series.truncate_before(end);
        }
        let removed = {
            let _order = self.append_lock.lock();
            let removed = self.head.gc_empty_series();
            if removed > 0 {
                self.series_removals
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            removed
        };
        // 4. Checkpoint: every live series and the head's samples, then drop old segments.
        let records = self.checkpoint_records();
        let wal_dir = self.dir.join("wal");
        tokio::task::spawn_blocking(move || wal::write_checkpoint(&wal_dir, segment, records))
            .await
            .map_err(|e| DbError::Io {
                path: self.dir.join("wal"),
                source: std::io::Error::other(e.to_string()),
            })??;
        self.wal.truncate_before(segment).await?;
        tracing::info!(block = %id, min_time = start, max_time = end, series = stats.series, samples = stats.samples, removed_series = removed, "head block written");
        Ok(())
    }

    fn checkpoint_records(&self) -> Vec<wal::Record> {
        let all = self.head.all_series();
        let mut records = Vec::new();
        for group in all.chunks(1000) {
            let refs: Vec<(SeriesRef, &Labels)> =
                group.iter().map(|s| (s.series_ref, &s.labels)).collect();
            records.push(wal::Record::new(
                KIND_SERIES,
                wal_record::encode_series(&refs),
            ));
            let samples: Vec<RefSample> = group
                .iter()
                .flat_map(|s| {
                    s.samples(i64::MIN, i64::MAX)
                        .into_iter()
                        .map(move |(t, v)| RefSample {
                            series: s.series_ref,
                            t,
                            v,
                        })
                })
                .collect();
            if !samples.is_empty() {
                records.push(wal::Record::new(
                    KIND_SAMPLES,
                    wal_record::encode_samples(&samples),
                ));
            }
        }
        records
    }

    /// fsyncs the log (used on shutdown with an interval fsync policy).
    pub async fn sync(&self) -> Result<(), DbError> {
        self.wal.sync().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::head::AppendError;
    use lgtm_common::labels::Matcher;

    fn batch(job: &str, samples: &[(i64, f64)]) -> SeriesSamples {
        SeriesSamples {
            labels: Labels::from_pairs([("__name__", "up"), ("job", job)]),
            samples: samples.to_vec(),
        }
    }

    #[tokio::test]
    async fn appended_samples_survive_reopen() {
        let dir = tempfile::tempdir().unwrap();
        {
            let (db, report) = Db::open(DbOptions::new(dir.path())).unwrap();
            assert_eq!(report.series, 0);
            let out = db
                .append(&[batch("a", &[(1, 1.0), (2, 2.0)]), batch("b", &[(1, 5.0)])])
                .await
                .unwrap();
            assert_eq!(out.written, 3);
            let out = db
                .append(&[batch(
                    "a",
                    &[(3, f64::from_bits(0x7ff0_0000_0000_0002)), (1, 9.0)],
                )])
                .await
                .unwrap();
            assert_eq!(out.written, 1);
            assert_eq!(out.rejected, 1);
            assert_eq!(
                out.first_error.as_ref().map(|e| &e.0),
                Some(&Rejection::Append(AppendError::OutOfOrder))
            );
        }
        let (db, report) = Db::open(DbOptions::new(dir.path())).unwrap();
        assert_eq!(report.series, 2);
        assert_eq!(report.samples, 4);
        assert_eq!(report.orphan_samples, 0);
        let a = db.head().select(&[Matcher::equal("job", "a")]);
        let samples = a[0].samples(i64::MIN, i64::MAX);
        assert_eq!(samples.len(), 3);
        assert_eq!(
            samples[2].1.to_bits(),
            0x7ff0_0000_0000_0002,
            "stale marker kept exactly"
        );
        // New series after reopen get fresh references that do not clash.
        db.append(&[batch("c", &[(1, 1.0)])]).await.unwrap();
        let c = db.head().select(&[Matcher::equal("job", "c")]);
        assert!(c[0].series_ref > a[0].series_ref);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_appends_replay_in_head_order() {
        let dir = tempfile::tempdir().unwrap();
        let expected = {
            let (db, _) = Db::open(DbOptions::new(dir.path())).unwrap();
            let db = Arc::new(db);
            let mut tasks = Vec::new();
            for worker in 0..4i64 {
                let db = Arc::clone(&db);
                tasks.push(tokio::spawn(async move {
                    let mut stored = 0;
                    for i in 0..200i64 {
                        // All workers write the same series with interleaved timestamps.
                        let t = i * 4 + worker;
                        let out = db
                            .append(&[batch("shared", &[(t, t as f64)])])
                            .await
                            .unwrap();
                        stored += out.written;
                    }
                    stored
                }));
            }
            let mut total = 0;
            for task in tasks {
                total += task.await.unwrap();
            }
            let series = db.head().select(&[Matcher::equal("job", "shared")]);
            assert_eq!(series[0].samples(i64::MIN, i64::MAX).len(), total);
            series[0].samples(i64::MIN, i64::MAX)
        };
        let (db, report) = Db::open(DbOptions::new(dir.path())).unwrap();
        assert_eq!(report.samples, expected.len());
        let series = db.head().select(&[Matcher::equal("job", "shared")]);
        assert_eq!(series[0].samples(i64::MIN, i64::MAX), expected);
    }

    #[tokio::test]
    async fn head_is_cut_into_blocks_with_a_checkpoint_and_survives_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let mut options = DbOptions::new(dir.path());
        options.block_range_ms = 10_000;
        options.wal.max_segment_size = 4096;
        let expected: Vec<(i64, f64)> = (0..40).map(|i| (i * 1000, i as f64)).collect();
        {
            let (db, _) = Db::open(options.clone()).unwrap();
            for chunk in expected.chunks(5) {
                db.append(&[batch("a", chunk), batch("b", chunk)])
                    .await
                    .unwrap();
            }
            let report = db.maintain(40_000).await.unwrap();
            // The head spans 0..39s: blocks [0,10s), [10,20s) and [20,30s) are cut, the rest
            // stays in the head (less than 1.5 ranges past the last cut).
            assert_eq!(report.blocks_written, 3, "{report:?}");
            assert_eq!(db.blocks().len(), 3);
            assert_eq!(db.blocks()[0].meta.stats.num_samples, Some(20));
            let head_samples =
                db.head().select(&[Matcher::equal("job", "a")])[0].samples(i64::MIN, i64::MAX);
            assert_eq!(head_samples.first().map(|s| s.0), Some(30_000));
            let all = db
                .select(&[Matcher::equal("job", "a")], i64::MIN, i64::MAX)
                .unwrap();
            assert_eq!(
                all[0].1, expected,
                "blocks and head merge to the full series"
            );
            // Appends older than the cut are out of bounds now.
            let out = db.append(&[batch("a", &[(5_000, 1.0)])]).await.unwrap();
            assert_eq!(
                out.first_error.map(|e| e.0),
                Some(Rejection::Append(AppendError::OutOfBounds))
            );
            // Old WAL segments went away with the checkpoint.
            let wal_dir = dir.path().join("wal");
            assert!(
                lgtm_common::wal::latest_checkpoint(&wal_dir)
                    .unwrap()
                    .is_some()
            );
        }
        let (db, report) = Db::open(options).unwrap();
        assert!(report.wal.damage.is_none());
        assert_eq!(db.blocks().len(), 3);
        let all = db
            .select(&[Matcher::equal("job", "b")], i64::MIN, i64::MAX)
            .unwrap();
        assert_eq!(
            all[0].1, expected,
            "nothing lost or doubled across blocks, checkpoint and WAL"
        );
    }

    #[tokio::test]
    async fn series_that_stopped_are_garbage_collected_after_their_block() {
        let dir = tempfile::tempdir().unwrap();
        let mut options = DbOptions::new(dir.path());
        options.block_range_ms = 10_000;
        let (db, _) = Db::open(options.clone()).unwrap();
        db.append(&[batch("gone", &[(1000, 1.0)])]).await.unwrap();
        let long: Vec<(i64, f64)> = (0..20).map(|i| (i * 1000, 1.0)).collect();
        db.append(&[batch("stays", &long)]).await.unwrap();
        assert_eq!(db.head().num_series(), 2);
        db.maintain(20_000).await.unwrap();
        assert_eq!(
            db.head().num_series(),
            1,
            "the stopped series left the head"
        );
        assert!(db.head().label_values("job") == vec!["stays"]);
        // Its data is still queryable from the block, and it may come back.
        let gone = db
            .select(&[Matcher::equal("job", "gone")], i64::MIN, i64::MAX)
            .unwrap();
        assert_eq!(gone[0].1, vec![(1000, 1.0)]);
        db.append(&[batch("gone", &[(25_000, 2.0)])]).await.unwrap();
        drop(db);
        let (db, report) = Db::open(options).unwrap();
        assert_eq!(report.orphan_samples, 0);
        let gone = db
            .select(&[Matcher::equal("job", "gone")], i64::MIN, i64::MAX)
            .unwrap();
        assert_eq!(gone[0].1, vec![(1000, 1.0), (25_000, 2.0)]);
    }

    #[tokio::test]
    async fn retention_deletes_old_blocks() {
        let dir = tempfile::tempdir().unwrap();
        let mut options = DbOptions::new(dir.path());
        options.block_range_ms = 10_000;
        options.retention_ms = 15_000;
        let (db, _) = Db::open(options).unwrap();
        let samples: Vec<(i64, f64)> = (0..50).map(|i| (i * 1000, 1.0)).collect();
        db.append(&[batch("a", &samples)]).await.unwrap();
        let report = db.maintain(50_000).await.unwrap();
        assert_eq!(report.blocks_written, 4);
        // Newest sample at 49s: blocks ending at or before 34s are beyond 15s retention.
        assert_eq!(report.blocks_deleted, 3);
        assert_eq!(db.blocks().len(), 1);
        assert_eq!(db.blocks()[0].meta.min_time, 30_000);
    }
}
