//! The blocking segment writer: appends framed records, rolls segments, fsyncs per policy,
//! repairs a damaged tail on open and deletes checkpointed segments.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use super::format::{
    FRAME_HEADER_LEN, SEGMENT_HEADER_LEN, encode_frame, list_segments, segment_header, segment_path,
};
use super::reader::{DamageReason, ReplayReport, ReplayedRecord, WalReader};
use super::{Error, FsyncPolicy, Record, Result, WalOptions, WalPosition};

const LOCK_FILE: &str = "LOCK";

/// An open, exclusively locked WAL directory accepting appends. Blocking: call it from a
/// dedicated thread or wrap it in a [`super::WalWriter`].
#[derive(Debug)]
pub struct Wal {
    dir: PathBuf,
    opts: WalOptions,
    _lock: File,
    file: File,
    segment: u64,
    offset: u64,
    buf: Vec<u8>,
    dirty_since: Option<Instant>,
    poisoned: Option<String>,
    syncs: u64,
}

impl Wal {
    /// Opens (creating if needed) the WAL in `dir`: validates every segment, repairs a damaged
    /// tail and returns the replay report describing what was found.
    pub fn open(dir: impl AsRef<Path>, opts: WalOptions) -> Result<(Wal, ReplayReport)> {
        Self::open_replaying(dir, opts, 0, |_| {})
    }

    /// Like [`Wal::open`], but reads only segment `from_segment` and later (older ones are
    /// taken as covered by a checkpoint: neither validated nor replayed) and hands every valid
    /// record to `f`, so a store recovers and opens for writing in one pass over the files.
    /// If no segment at or after `from_segment` exists, appends go to a new segment
    /// `from_segment`.
    pub fn open_replaying(
        dir: impl AsRef<Path>,
        opts: WalOptions,
        from_segment: u64,
        mut f: impl FnMut(ReplayedRecord),
    ) -> Result<(Wal, ReplayReport)> {
        validate(&opts)?;
        let dir = dir.as_ref().to_path_buf();
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        // Make the directory's own entry durable too (cheap, once per open).
        if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
            sync_dir(parent)?;
        }
        let lock_path = dir.join(LOCK_FILE);
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| Error::io(&lock_path, e))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => return Err(Error::Locked { path: dir }),
            Err(std::fs::TryLockError::Error(e)) => return Err(Error::io(&lock_path, e)),
        }

        let report = WalReader::open(&dir, from_segment)?.for_each_record(&mut f)?;
        repair(&dir, &report)?;

        let segments = list_segments(&dir).map_err(|e| Error::io(&dir, e))?;
        let (file, segment, offset) = match segments.last() {
            Some(&n) if n >= from_segment => {
                let path = segment_path(&dir, n);
                let mut file = OpenOptions::new()
                    .write(true)
                    .open(&path)
                    .map_err(|e| Error::io(&path, e))?;
                let len = file.metadata().map_err(|e| Error::io(&path, e))?.len();
                let offset = if len < SEGMENT_HEADER_LEN {
                    // Repair left an empty file: give it its header.
                    file.set_len(0).map_err(|e| Error::io(&path, e))?;
                    file.write_all(&segment_header())
                        .map_err(|e| Error::io(&path, e))?;
                    file.sync_data().map_err(|e| Error::io(&path, e))?;
                    SEGMENT_HEADER_LEN
                } else {
                    len
                };
                (file, n, offset)
            }
            _ => {
                let file = create_segment(&dir, from_segment)?;
                (file, from_segment, SEGMENT_HEADER_LEN)
            }
        };
        let mut wal = Wal {
            dir,
            opts,
            _lock: lock,
            file,
            segment,
            offset,
            buf: Vec::new(),
            dirty_since: None,
            poisoned: None,
            syncs: 0,
        };
        // Appends go to the end of the file: position the handle there.
        wal.seek_end()?;
        Ok((wal, report))
    }

    fn seek_end(&mut self) -> Result<()> {
        use std::io::{Seek, SeekFrom};
        let path = self.segment_path();
        self.file
            .seek(SeekFrom::Start(self.offset))
            .map_err(|e| Error::io(&path, e))?;
        Ok(())
    }

    /// Directory of this log.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The options in force.
    pub fn options(&self) -> &WalOptions {
        &self.opts
    }

    /// Segment currently appended to.
    pub fn current_segment(&self) -> u64 {
        self.segment
    }

    /// Position after the last appended record.
    pub fn position(&self) -> WalPosition {
        WalPosition {
            segment: self.segment,
            offset: self.offset,
        }
    }

    /// Number of fsyncs of segment data done so far (for tests and metrics).
    pub fn sync_count(&self) -> u64 {
        self.syncs
    }

    /// Appends a batch of records and makes it as durable as the fsync policy says before
    /// returning. Returns the position after the batch. The batch is validated first, so an
    /// invalid record rejects the whole batch without writing any of it.
    pub fn append(&mut self, records: &[Record]) -> Result<WalPosition> {
        let pos = self.write(records.iter().map(|r| (r.kind, &r.data[..])))?;
        if self.opts.fsync == FsyncPolicy::Always {
            self.sync()?;
        }
        Ok(pos)
    }

    /// Appends one record from a borrowed slice; same durability as [`Wal::append`].
    pub fn append_slice(&mut self, kind: u8, data: &[u8]) -> Result<WalPosition> {
        let pos = self.write(std::iter::once((kind, data)))?;
        if self.opts.fsync == FsyncPolicy::Always {
            self.sync()?;
        }
        Ok(pos)
    }

    /// Writes records to the kernel without fsync (the group-commit building block): once this
    /// returns they survive a process crash but not yet an OS crash.
    pub(crate) fn write<'a>(
        &mut self,
        records: impl Iterator<Item = (u8, &'a [u8])> + Clone,
    ) -> Result<WalPosition> {
        self.check_poisoned()?;
        for (kind, data) in records.clone() {
            if kind == 0 {
                return Err(Error::ReservedKind);
            }
            if data.len() > self.opts.max_record_size as usize {
                return Err(Error::RecordTooLarge {
                    len: data.len(),
                    max: self.opts.max_record_size,
                });
            }
        }
        let mut buf = std::mem::take(&mut self.buf);
        buf.clear();
        let result = (|| {
            for (kind, data) in records {
                let frame = (FRAME_HEADER_LEN + data.len()) as u64;
                let size = self.offset + buf.len() as u64;
                if size > SEGMENT_HEADER_LEN && size + frame > self.opts.max_segment_size {
                    self.write_out(&buf)?;
                    buf.clear();
                    self.roll()?;
                }
                encode_frame(&mut buf, kind, data);
            }
            self.write_out(&buf)
        })();
        // Keep a modest buffer around for the next batch; drop huge ones.
        if buf.capacity() <= 4 * 1024 * 1024 {
            self.buf = buf;
        }
        result.map(|()| self.position())
    }

    fn write_out(&mut self, buf: &[u8]) -> Result<()> {
        if buf.is_empty() {
            return Ok(());
        }
        if let Err(e) = self.file.write_all(buf) {
            let path = self.segment_path();
            self.poisoned = Some(format!("write to {} failed: {e}", path.display()));
            return Err(Error::io(path, e));
        }
        self.offset += buf.len() as u64;
        if self.dirty_since.is_none() {
            self.dirty_since = Some(Instant::now());
        }
        Ok(())
    }

    /// fsyncs everything written so far. A failed fsync poisons the writer: after one, Linux
    /// may have dropped the dirty pages, so nothing written can be trusted until reopen.
    pub fn sync(&mut self) -> Result<()> {
        self.check_poisoned()?;
        if self.dirty_since.is_none() {
            return Ok(());
        }
        if let Err(e) = self.file.sync_data() {
            let path = self.segment_path();
            self.poisoned = Some(format!("fsync of {} failed: {e}", path.display()));
            return Err(Error::io(path, e));
        }
        self.dirty_since = None;
        self.syncs += 1;
        Ok(())
    }

    /// When unsynced data exists (and the writer is usable): the instant of the first
    /// unsynced write.
    pub(crate) fn dirty_since(&self) -> Option<Instant> {
        if self.poisoned.is_some() {
            return None;
        }
        self.dirty_since
    }

    /// Starts a new segment (after syncing the current one) and returns its number; every
    /// record appended before the call lies in a lower-numbered segment. If the current
    /// segment holds no record yet it is kept and its number returned.
    pub fn cut_segment(&mut self) -> Result<u64> {
        self.check_poisoned()?;
        if self.offset > SEGMENT_HEADER_LEN {
            self.roll()?;
        }
        Ok(self.segment)
    }

    fn roll(&mut self) -> Result<()> {
        self.sync()?;
        let next = self.segment + 1;
        let file = match create_segment(&self.dir, next) {
            Ok(f) => f,
            Err(e) => {
                self.poisoned = Some(e.to_string());
                return Err(e);
            }
        };
        tracing::debug!(dir = %self.dir.display(), segment = next, "wal segment cut");
        self.file = file;
        self.segment = next;
        self.offset = SEGMENT_HEADER_LEN;
        Ok(())
    }

    /// Deletes every segment numbered below `segment` (never the current one), typically
    /// after a checkpoint made them obsolete. Returns how many files were removed.
    pub fn truncate_before(&mut self, segment: u64) -> Result<usize> {
        let limit = segment.min(self.segment);
        let segments = list_segments(&self.dir).map_err(|e| Error::io(&self.dir, e))?;
        let mut removed = 0;
        for n in segments.into_iter().filter(|&n| n < limit) {
            let path = segment_path(&self.dir, n);
            std::fs::remove_file(&path).map_err(|e| Error::io(&path, e))?;
            removed += 1;
        }
        if removed > 0 {
            sync_dir(&self.dir)?;
            tracing::debug!(dir = %self.dir.display(), before = limit, removed, "wal segments truncated");
        }
        Ok(removed)
    }

    fn check_poisoned(&self) -> Result<()> {
        match &self.poisoned {
            Some(reason) => Err(Error::Poisoned {
                reason: reason.clone(),
            }),
            None => Ok(()),
        }
    }

    fn segment_path(&self) -> PathBuf {
        segment_path(&self.dir, self.segment)
    }
}

impl Drop for Wal {
    fn drop(&mut self) {
        if self.poisoned.is_none()
            && self.dirty_since.is_some()
            && let Err(e) = self.sync()
        {
            tracing::error!(dir = %self.dir.display(), error = %e, "wal fsync on close failed");
        }
    }
}

fn validate(opts: &WalOptions) -> Result<()> {
    if opts.max_segment_size <= SEGMENT_HEADER_LEN + FRAME_HEADER_LEN as u64 {
        return Err(Error::InvalidOptions(format!(
            "max_segment_size {} is too small",
            opts.max_segment_size
        )));
    }
    if let FsyncPolicy::Interval(d) = opts.fsync
        && d.is_zero()
    {
        return Err(Error::InvalidOptions(
            "fsync interval must be positive (use FsyncPolicy::Always)".into(),
        ));
    }
    Ok(())
}

/// Creates segment `n` with its header, durably (file data and directory entry).
fn create_segment(dir: &Path, n: u64) -> Result<File> {
    let path = segment_path(dir, n);
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .map_err(|e| Error::io(&path, e))?;
    file.write_all(&segment_header())
        .map_err(|e| Error::io(&path, e))?;
    file.sync_data().map_err(|e| Error::io(&path, e))?;
    sync_dir(dir)?;
    Ok(file)
}

fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io(dir, e))
}

/// Cuts the log back to the last good record found by replay: later segments are deleted and
/// the damaged segment is truncated at the damage offset.
fn repair(dir: &Path, report: &ReplayReport) -> Result<()> {
    let Some(damage) = &report.damage else {
        return Ok(());
    };
    for &n in &damage.unread_segments {
        let path = segment_path(dir, n);
        std::fs::remove_file(&path).map_err(|e| Error::io(&path, e))?;
    }
    if damage.reason != DamageReason::MissingSegment {
        let path = segment_path(dir, damage.segment);
        let file = OpenOptions::new()
            .write(true)
            .open(&path)
            .map_err(|e| Error::io(&path, e))?;
        let keep = if damage.offset < SEGMENT_HEADER_LEN {
            0
        } else {
            damage.offset
        };
        file.set_len(keep).map_err(|e| Error::io(&path, e))?;
        file.sync_all().map_err(|e| Error::io(&path, e))?;
    }
    sync_dir(dir)?;
    tracing::warn!(
        dir = %dir.display(),
        segment = damage.segment,
        offset = damage.offset,
        dropped_bytes = damage.skipped_bytes,
        dropped_segments = damage.unread_segments.len(),
        reason = %damage.reason,
        "wal tail repaired"
    );
    Ok(())
}
