//! Checkpoints: a compact snapshot of the state that records in old segments built up (e.g.
//! the series still alive), so those segments can be deleted without losing it — the
//! Prometheus `checkpoint.NNNNNNNN` idea.
//!
//! Flow for a store: `n = cut_segment()`; snapshot the live state as records;
//! [`write_checkpoint`]`(dir, n, records)`; `truncate_before(n)`. Recovery
//! ([`Wal::recover`]) replays the latest checkpoint, then segments `n` and later; segments
//! below `n` left behind by a crash before the truncation are skipped.

use std::fs;
use std::path::{Path, PathBuf};

use super::reader::{ReplayReport, ReplayedRecord, WalReader};
use super::{Error, FsyncPolicy, Record, Result, Wal, WalOptions};

const PREFIX: &str = "checkpoint.";
const TMP_SUFFIX: &str = ".tmp";
/// Records are written to the checkpoint in batches of about this many bytes.
const BATCH_BYTES: usize = 4 * 1024 * 1024;

/// A complete checkpoint on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The checkpoint covers every segment numbered below this.
    pub upto: u64,
    /// Its directory (segment files in the WAL format).
    pub path: PathBuf,
}

impl Checkpoint {
    /// Replays the checkpoint's records.
    pub fn reader(&self) -> Result<WalReader> {
        WalReader::open(&self.path, 0)
    }
}

fn checkpoint_name(upto: u64) -> String {
    format!("{PREFIX}{upto:08}")
}

fn parse_name(name: &str) -> Option<u64> {
    let digits = name.strip_prefix(PREFIX)?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Complete checkpoints in `wal_dir`, ascending.
fn list(wal_dir: &Path) -> Result<Vec<Checkpoint>> {
    let mut out = Vec::new();
    let entries = match fs::read_dir(wal_dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(Error::io(wal_dir, e)),
    };
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(wal_dir, e))?;
        let is_dir = entry
            .file_type()
            .map_err(|e| Error::io(entry.path(), e))?
            .is_dir();
        if let (true, Some(upto)) = (is_dir, entry.file_name().to_str().and_then(parse_name)) {
            out.push(Checkpoint {
                upto,
                path: entry.path(),
            });
        }
    }
    out.sort_by_key(|c| c.upto);
    Ok(out)
}

/// The newest complete checkpoint of the WAL in `wal_dir`, if any.
pub fn latest_checkpoint(wal_dir: impl AsRef<Path>) -> Result<Option<Checkpoint>> {
    Ok(list(wal_dir.as_ref())?.pop())
}

/// Writes a checkpoint covering segments below `upto` from `records`, atomically (a temporary
/// directory, fsynced, then renamed), and deletes older checkpoints. A checkpoint for the same
/// `upto` that already exists is kept as it is: it already covers everything below `upto`.
/// Blocking; safe to run while a writer appends to the same WAL.
pub fn write_checkpoint(
    wal_dir: impl AsRef<Path>,
    upto: u64,
    records: impl IntoIterator<Item = Record>,
) -> Result<Checkpoint> {
    let wal_dir = wal_dir.as_ref();
    let final_path = wal_dir.join(checkpoint_name(upto));
    let existing = list(wal_dir)?;
    if let Some(cp) = existing.iter().find(|c| c.upto == upto) {
        return Ok(cp.clone());
    }
    let tmp = wal_dir.join(format!("{}{TMP_SUFFIX}", checkpoint_name(upto)));
    match fs::remove_dir_all(&tmp) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(Error::io(&tmp, e)),
    }
    {
        let opts = WalOptions {
            // One fsync at the end (and at each segment roll) is enough: the rename publishes.
            fsync: FsyncPolicy::Interval(std::time::Duration::from_secs(3600)),
            ..WalOptions::default()
        };
        let (mut wal, _) = Wal::open(&tmp, opts)?;
        let mut batch = Vec::new();
        let mut bytes = 0;
        for r in records {
            bytes += r.data.len();
            batch.push(r);
            if bytes >= BATCH_BYTES {
                wal.append(&batch)?;
                batch.clear();
                bytes = 0;
            }
        }
        wal.append(&batch)?;
        wal.sync()?;
    }
    let lock = tmp.join("LOCK");
    fs::remove_file(&lock).map_err(|e| Error::io(&lock, e))?;
    fs::rename(&tmp, &final_path).map_err(|e| Error::io(&final_path, e))?;
    fs::File::open(wal_dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io(wal_dir, e))?;
    for old in existing.into_iter().filter(|c| c.upto < upto) {
        fs::remove_dir_all(&old.path).map_err(|e| Error::io(&old.path, e))?;
    }
    tracing::debug!(dir = %wal_dir.display(), upto, "wal checkpoint written");
    Ok(Checkpoint {
        upto,
        path: final_path,
    })
}

/// What [`Wal::recover`] replayed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecoveryReport {
    /// The checkpoint replayed first, with its replay report.
    pub checkpoint: Option<(Checkpoint, ReplayReport)>,
    /// The replay of the segments from the checkpoint on (or from the first, without one).
    pub wal: ReplayReport,
}

impl Wal {
    /// Opens the WAL in `dir` for writing after handing `f` the records of the latest
    /// checkpoint and then of every segment it does not cover, in order. Stale temporary
    /// checkpoint directories from a crash are removed.
    pub fn recover(
        dir: impl AsRef<Path>,
        opts: WalOptions,
        mut f: impl FnMut(ReplayedRecord),
    ) -> Result<(Wal, RecoveryReport)> {
        let dir = dir.as_ref();
        fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        remove_stale_tmp(dir)?;
        let mut report = RecoveryReport::default();
        let mut from = 0;
        if let Some(cp) = latest_checkpoint(dir)? {
            let cp_report = cp.reader()?.for_each_record(&mut f)?;
            if let Some(d) = &cp_report.damage {
                tracing::error!(
                    checkpoint = %cp.path.display(), segment = d.segment, offset = d.offset,
                    reason = %d.reason, "wal checkpoint damaged"
                );
            }
            from = cp.upto;
            report.checkpoint = Some((cp, cp_report));
        }
        let (mut wal, wal_report) = Wal::open_replaying(dir, opts, from, f)?;
        report.wal = wal_report;
        // Segments a crash left between writing the checkpoint and truncating.
        wal.truncate_before(from)?;
        Ok((wal, report))
    }
}

fn remove_stale_tmp(dir: &Path) -> Result<()> {
    for entry in fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if name.starts_with(PREFIX) && name.ends_with(TMP_SUFFIX) {
            let path = entry.path();
            tracing::warn!(path = %path.display(), "removing incomplete wal checkpoint");
            fs::remove_dir_all(&path).map_err(|e| Error::io(&path, e))?;
        }
    }
    Ok(())
}
