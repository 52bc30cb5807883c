//! Segmented, checksummed write-ahead log shared by the metrics, log and trace stores, so that
//! an acknowledged write survives `kill -9` (and, with [`FsyncPolicy::Always`], power loss).
//!
//! Layout: a directory of numbered segment files (`00000000`, `00000001`, …). Each segment starts
//! with an 8-byte header (`LWAL`, layout version, 3 reserved bytes) followed by records framed as
//! `len: u32 LE | kind: u8 | crc32c(len, kind, payload): u32 LE | payload`. The `kind` byte is
//! the caller's record type and version (0 is reserved), so stores can evolve their formats.
//! A record may be of any size up to [`WalOptions::max_record_size`]; a record larger than the
//! segment size gets a segment of its own.
//!
//! Replay ([`WalReader`]) yields records in order and stops at the first torn or corrupt frame,
//! describing it in a [`ReplayReport`] instead of failing. Opening for writing ([`Wal::open`])
//! replays, truncates the damaged tail (and drops any segment after it) so new appends are
//! readable, and continues in the last segment.
//!
//! Threading: [`Wal`] is a plain blocking writer. [`WalWriter`] moves it onto a dedicated OS
//! thread (not tokio's blocking pool: the thread lives as long as the log, and owning the file
//! there makes group commit natural) and hands out a cloneable, async-friendly handle whose
//! appends from many tasks are coalesced into one write and one fsync.

mod checkpoint;
mod format;
mod handle;
mod reader;
mod writer;

#[cfg(test)]
mod tests;

use std::path::PathBuf;
use std::time::Duration;

use bytes::Bytes;

pub use checkpoint::{Checkpoint, RecoveryReport, latest_checkpoint, write_checkpoint};
pub use handle::{PendingWal, WalStats, WalWriter};
pub use reader::{Damage, DamageReason, ReplayReport, ReplayedRecord, WalReader};
pub use writer::Wal;

/// Errors of the write-ahead log. Damage found during replay is *not* an error: it is reported
/// in [`ReplayReport::damage`].
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file-system operation on a WAL file or directory failed.
    #[error("wal i/o on {path}: {source}")]
    Io {
        /// The file or directory concerned.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// Another writer holds the directory lock.
    #[error("wal directory {path} is locked by another writer")]
    Locked {
        /// The WAL directory.
        path: PathBuf,
    },
    /// Record kind 0 is reserved so that zero-filled space never parses as a record.
    #[error("record kind 0 is reserved")]
    ReservedKind,
    /// The record is bigger than the configured limit.
    #[error("record of {len} bytes exceeds the limit of {max} bytes")]
    RecordTooLarge {
        /// Size of the rejected record payload.
        len: usize,
        /// The configured [`WalOptions::max_record_size`].
        max: u32,
    },
    /// An earlier write or fsync failed; the file state is unknown, so the writer refuses
    /// further appends until the log is reopened (which repairs the tail).
    #[error("wal writer is unusable after an earlier failure: {reason}")]
    Poisoned {
        /// The first failure.
        reason: String,
    },
    /// The options are unusable.
    #[error("invalid wal options: {0}")]
    InvalidOptions(String),
    /// The writer thread has stopped.
    #[error("wal writer thread has stopped")]
    Closed,
}

/// Result alias of the WAL module.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

/// When an append is made durable against power loss. Both policies write every acknowledged
/// record to the kernel before the append returns, so a process crash (`kill -9`) never loses
/// an acknowledged record; they differ only in what an OS crash or power cut can take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FsyncPolicy {
    /// fsync before the append (or the group of concurrent appends) is acknowledged.
    Always,
    /// fsync in the background at most this long after the first unsynced write; an OS crash
    /// can lose up to this much acknowledged data.
    Interval(Duration),
}

/// Tuning of a [`Wal`].
#[derive(Debug, Clone)]
pub struct WalOptions {
    /// A new segment is started when the next record would push the current one past this
    /// size (a single larger record still gets a segment of its own).
    pub max_segment_size: u64,
    /// Largest accepted record payload; bounds memory on replay of a damaged length too.
    pub max_record_size: u32,
    /// Durability of appends.
    pub fsync: FsyncPolicy,
}

/// Default segment size, as in Prometheus.
pub const DEFAULT_SEGMENT_SIZE: u64 = 128 * 1024 * 1024;
/// Default record size limit.
pub const DEFAULT_MAX_RECORD_SIZE: u32 = 256 * 1024 * 1024;

impl Default for WalOptions {
    fn default() -> Self {
        WalOptions {
            max_segment_size: DEFAULT_SEGMENT_SIZE,
            max_record_size: DEFAULT_MAX_RECORD_SIZE,
            fsync: FsyncPolicy::Always,
        }
    }
}

/// One record to append: the caller's type/version byte (1..=255) and its payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Record type and version chosen by the store; 0 is reserved.
    pub kind: u8,
    /// Encoded payload.
    pub data: Bytes,
}

impl Record {
    /// Builds a record from anything convertible to [`Bytes`].
    pub fn new(kind: u8, data: impl Into<Bytes>) -> Self {
        Record {
            kind,
            data: data.into(),
        }
    }
}

/// A place in the log: segment number and byte offset inside it. Ordered as the log is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct WalPosition {
    /// Segment number.
    pub segment: u64,
    /// Byte offset within the segment file.
    pub offset: u64,
}
