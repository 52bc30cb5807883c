//! The durable TSDB: the in-memory [`Head`] made crash-safe by the shared write-ahead log.
//!
//! An append is applied to the head and its WAL records are enqueued under one lock, so the
//! log holds samples in exactly the order the head accepted them; the caller is answered only
//! once the records are durable per the fsync policy. On open, the log is replayed into a new
//! head before the first append: every acknowledged sample is back after `kill -9`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use lgtm_common::labels::Labels;
use lgtm_common::wal::{self, ReplayReport, Wal, WalOptions, WalWriter};
use parking_lot::Mutex;

use lgtm_common::blocks::{BlockCatalog, BlockId, BlockMeta};

use crate::block::{BlockError, BlockReader, SeriesData, write_block};
use crate::head::{AppendError, Head, HeadOptions};
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
    /// The first rejection, with its series, as Prometheus reports it.
    pub first_error: Option<(AppendError, Labels, i64)>,
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
    object_store: Option<BlockCatalog>,
}

fn blocks_dir(dir: &Path) -> PathBuf {
    dir.join("blocks")
}

/// Opens every complete block under `<dir>/blocks`, removing leftovers of interrupted writes.
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
        let meta_path = path.join(lgtm_common::blocks::META_FILE);
        let Ok(text) = std::fs::read(&meta_path) else {
            continue;
        };
        let meta: BlockMeta = match serde_json::from_slice(&text) {
            Ok(meta) => meta,
            Err(e) => {
                tracing::error!(path = %meta_path.display(), error = %e, "skipping block with invalid meta.json");
                continue;
            }
        };
        let reader = BlockReader::open(&path)?;
        blocks.push(Arc::new(LoadedBlock { meta, reader }));
    }
    blocks.sort_by_key(|b| b.meta.min_time);
    Ok(blocks)
}

impl Db {
    /// Opens the store, replaying the WAL into a fresh head.
    pub fn open(options: DbOptions) -> Result<(Self, OpenReport), DbError> {
        let head = Arc::new(Head::new(options.head.clone()));
        let blocks = load_blocks(&options.dir)?;
        if let Some(end) = blocks.iter().map(|b| b.meta.max_time).max() {
            // Samples before the newest block's end are in blocks; the WAL may still hold them.
            head.set_min_valid_time(end);
        }
        let mut report = OpenReport::default();
        let mut pending: HashMap<SeriesRef, Vec<(i64, f64)>> = HashMap::new();
        let wal_dir = options.dir.join("wal");
        let (wal, recovery) =
            Wal::recover(&wal_dir, options.wal.clone(), |record| match record.kind {
                KIND_SERIES => match wal_record::decode_series(&record.data) {
                    Ok(series) => {
                        for (series_ref, labels) in series {
                            let restored = head.restore_series(series_ref, labels);
                            report.series += 1;
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
                            match head.series(s.series) {
                                Some(series) => {
                                    if head.append_to(&series, s.t, s.v) == Ok(true) {
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
        Ok((
            Self {
                head,
                wal,
                append_lock: Mutex::new(()),
                dir: options.dir,
                blocks: parking_lot::RwLock::new(blocks),
                maintenance: tokio::sync::Mutex::new(()),
                block_range_ms: options.block_range_ms.max(1),
                retention_ms: options.retention_ms,
                object_store: options.object_store,
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

    /// Appends a batch; resolves once every stored sample is durable. Rejected samples (out of
    /// order, duplicates with other values, ...) do not fail the batch: they are counted in the
    /// outcome so the API can answer as Prometheus does while keeping the good samples.
    pub async fn append(&self, batch: &[SeriesSamples]) -> Result<AppendOutcome, DbError> {
        let mut outcome = AppendOutcome::default();
        let enqueued = {
            let _order = self.append_lock.lock();
            let mut new_series: Vec<(SeriesRef, Labels)> = Vec::new();
            let mut accepted: Vec<RefSample> = Vec::new();
            for entry in batch {
                let (series, created) = match self.head.get_or_create_reporting(&entry.labels) {
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
                                .get_or_insert((e, entry.labels.clone(), t));
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
        if blocks.is_empty() {
            // Head only (the common case for recent data): already in label order and
            // time-ordered per series, nothing to merge.
            return Ok(self
                .head
                .select(matchers)
                .into_iter()
                .filter_map(|series| {
                    let samples = series.samples(mint, maxt);
                    (!samples.is_empty()).then(|| (series.labels.clone(), samples))
                })
                .collect());
        }
        let mut merged: std::collections::BTreeMap<Labels, Vec<(i64, f64)>> = Default::default();
        for block in &blocks {
            for (labels, samples) in block.reader.select(matchers, mint, maxt)? {
                merged.entry(labels).or_default().extend(samples);
            }
        }
        for series in self.head.select(matchers) {
            let samples = series.samples(mint, maxt);
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
    /// checkpoint so the log stays short), apply retention, copy new blocks to the object
    /// store. Safe to call while appends continue.
    pub async fn maintain(&self, now_ms: i64) -> Result<MaintenanceReport, DbError> {
        let _pass = self.maintenance.lock().await;
        let mut report = MaintenanceReport::default();
        while let Some(range) = self.compactable_range() {
            self.cut_block(range).await?;
            report.blocks_written += 1;
        }
        report.blocks_deleted = self.apply_retention(now_ms);
        report.blocks_uploaded = self.upload_missing().await?;
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
        let series: Vec<(Labels, Vec<(i64, f64)>)> = self
            .head
            .all_series()
            .into_iter()
            .map(|s| (s.labels.clone(), s.samples(start, end - 1)))
            .filter(|(_, samples)| !samples.is_empty())
            .collect();
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
        let meta_path = tmp.join(lgtm_common::blocks::META_FILE);
        let meta_json = serde_json::to_vec_pretty(&meta).map_err(|e| DbError::Io {
            path: meta_path.clone(),
            source: std::io::Error::other(e),
        })?;
        std::fs::write(&meta_path, meta_json).map_err(|source| DbError::Io {
            path: meta_path.clone(),
            source,
        })?;
        std::fs::rename(&tmp, &final_dir).map_err(|source| DbError::Io {
            path: final_dir.clone(),
            source,
        })?;
        let reader = BlockReader::open(&final_dir)?;
        self.blocks
            .write()
            .push(Arc::new(LoadedBlock { meta, reader }));
        // 3. Drop the block's samples from the head, then the series left without any.
        for series in self.head.all_series() {
            series.truncate_before(end);
        }
        let removed = {
            let _order = self.append_lock.lock();
            self.head.gc_empty_series()
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

    fn apply_retention(&self, now_ms: i64) -> usize {
        if self.retention_ms <= 0 {
            return 0;
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
        let mut blocks = self.blocks.write();
        let (expired, kept): (Vec<_>, Vec<_>) =
            blocks.drain(..).partition(|b| b.meta.max_time <= cutoff);
        *blocks = kept;
        drop(blocks);
        for block in &expired {
            tracing::info!(block = %block.meta.ulid, "deleting block beyond retention");
            let _ = std::fs::remove_dir_all(block.reader.dir());
        }
        expired.len()
    }

    async fn upload_missing(&self) -> Result<usize, DbError> {
        let Some(catalog) = &self.object_store else {
            return Ok(0);
        };
        let listing = catalog.list().await?;
        let present: std::collections::HashSet<BlockId> =
            listing.blocks.iter().map(|m| m.ulid).collect();
        let mut uploaded = 0;
        for block in self.blocks() {
            if present.contains(&block.meta.ulid) {
                continue;
            }
            catalog.upload_dir(block.reader.dir(), &block.meta).await?;
            uploaded += 1;
        }
        Ok(uploaded)
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
                Some(&AppendError::OutOfOrder)
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
            assert_eq!(out.first_error.map(|e| e.0), Some(AppendError::OutOfBounds));
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
