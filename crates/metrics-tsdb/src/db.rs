//! The durable TSDB: the in-memory [`Head`] made crash-safe by the shared write-ahead log.
//!
//! An append is applied to the head and its WAL records are enqueued under one lock, so the
//! log holds samples in exactly the order the head accepted them; the caller is answered only
//! once the records are durable per the fsync policy. On open, the log is replayed into a new
//! head before the first append: every acknowledged sample is back after `kill -9`.

use std::collections::HashMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use lgtm_common::labels::Labels;
use lgtm_common::wal::{self, ReplayReport, Wal, WalOptions, WalWriter};
use parking_lot::Mutex;

use crate::head::{AppendError, Head, HeadOptions};
use crate::index::SeriesRef;
use crate::wal_record::{self, KIND_SAMPLES, KIND_SERIES, RefSample};

/// Errors of the durable store (per-sample rejections are reported in [`AppendOutcome`]).
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The write-ahead log failed; the batch is not acknowledged.
    #[error("write-ahead log: {0}")]
    Wal(#[from] wal::Error),
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
}

impl DbOptions {
    /// Defaults for a data directory.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            wal: WalOptions::default(),
            head: HeadOptions::default(),
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
}

impl Db {
    /// Opens the store, replaying the WAL into a fresh head.
    pub fn open(options: DbOptions) -> Result<(Self, OpenReport), DbError> {
        let head = Arc::new(Head::new(options.head.clone()));
        let mut report = OpenReport::default();
        let mut pending: HashMap<SeriesRef, Vec<(i64, f64)>> = HashMap::new();
        let wal_dir = options.dir.join("wal");
        let (wal, wal_report) =
            Wal::open_replaying(&wal_dir, options.wal.clone(), 0, |record| {
                match record.kind {
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
                }
            })?;
        report.orphan_samples = pending.values().map(Vec::len).sum();
        report.wal = wal_report;
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
                let existed = self.head.num_series();
                let series = match self.head.get_or_create(&entry.labels) {
                    Ok(series) => series,
                    Err(e) => {
                        outcome.rejected += entry.samples.len();
                        let t = entry.samples.first().map_or(0, |s| s.0);
                        outcome
                            .first_error
                            .get_or_insert((e, entry.labels.clone(), t));
                        continue;
                    }
                };
                if self.head.num_series() > existed {
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
                let mut append = Box::pin(self.wal.append(records));
                let mut cx = Context::from_waker(std::task::Waker::noop());
                match append.as_mut().poll(&mut cx) {
                    Poll::Ready(result) => {
                        result?;
                        None
                    }
                    Poll::Pending => Some(append),
                }
            }
        };
        if let Some(append) = enqueued {
            let append: Pin<Box<_>> = append;
            append.await?;
        }
        Ok(outcome)
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
                .append(&[batch("a", &[(3, f64::from_bits(0x7ff0_0000_0000_0002)), (1, 9.0)])])
                .await
                .unwrap();
            assert_eq!(out.written, 1);
            assert_eq!(out.rejected, 1);
            assert_eq!(out.first_error.as_ref().map(|e| &e.0), Some(&AppendError::OutOfOrder));
        }
        let (db, report) = Db::open(DbOptions::new(dir.path())).unwrap();
        assert_eq!(report.series, 2);
        assert_eq!(report.samples, 4);
        assert_eq!(report.orphan_samples, 0);
        let a = db.head().select(&[Matcher::equal("job", "a")]);
        let samples = a[0].samples(i64::MIN, i64::MAX);
        assert_eq!(samples.len(), 3);
        assert_eq!(samples[2].1.to_bits(), 0x7ff0_0000_0000_0002, "stale marker kept exactly");
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
                        let out = db.append(&[batch("shared", &[(t, t as f64)])]).await.unwrap();
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
}
