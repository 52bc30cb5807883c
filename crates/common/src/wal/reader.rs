//! Replay: reads the records of a WAL directory in order and stops at the first damage,
//! describing it instead of failing.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use super::format::{
    FRAME_HEADER_LEN, SEGMENT_HEADER_LEN, SEGMENT_MAGIC, SEGMENT_VERSION, decode_frame_header,
    frame_crc, list_segments, segment_path,
};
use super::{Error, Result, WalPosition};

/// A record read back from the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayedRecord {
    /// Segment holding the record.
    pub segment: u64,
    /// Offset of the record's frame within the segment.
    pub offset: u64,
    /// The record type byte given at append.
    pub kind: u8,
    /// The payload.
    pub data: Vec<u8>,
}

/// Why replay stopped before the end of the files (non-exhaustive: new checks may come).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DamageReason {
    /// The segment file is shorter than its header (a crash right after creating it).
    ShortSegmentHeader {
        /// Bytes present.
        len: u64,
    },
    /// The segment header has the wrong magic or an unknown layout version.
    BadSegmentHeader,
    /// Fewer bytes than a frame header remain at the end of the segment.
    ShortFrameHeader {
        /// Bytes present.
        available: u64,
    },
    /// The frame announces more payload than the segment holds.
    ShortPayload {
        /// Announced payload length.
        expected: u32,
        /// Bytes present after the frame header.
        available: u64,
    },
    /// The kind byte is 0, which is never written.
    ReservedKind,
    /// The rest of the last segment is zero bytes: space the file system allocated but whose
    /// data never reached the disk before a power loss (ext4/XFS delayed allocation).
    ZeroedTail {
        /// Zero bytes found.
        len: u64,
    },
    /// The stored checksum does not match the frame.
    ChecksumMismatch {
        /// CRC32C stored in the frame.
        stored: u32,
        /// CRC32C computed over the frame.
        computed: u32,
    },
    /// Segment numbers are not contiguous: this segment is missing.
    MissingSegment,
}

impl DamageReason {
    /// True for the reasons a crash in the middle of a write leaves behind.
    pub fn is_truncation(&self) -> bool {
        matches!(
            self,
            DamageReason::ShortSegmentHeader { .. }
                | DamageReason::ShortFrameHeader { .. }
                | DamageReason::ShortPayload { .. }
                | DamageReason::ZeroedTail { .. }
        )
    }
}

impl std::fmt::Display for DamageReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DamageReason::ShortSegmentHeader { len } => {
                write!(
                    f,
                    "segment header truncated ({len} of {SEGMENT_HEADER_LEN} bytes)"
                )
            }
            DamageReason::BadSegmentHeader => f.write_str("bad segment header"),
            DamageReason::ShortFrameHeader { available } => write!(
                f,
                "record header truncated ({available} of {FRAME_HEADER_LEN} bytes)"
            ),
            DamageReason::ShortPayload {
                expected,
                available,
            } => write!(
                f,
                "record payload truncated ({available} of {expected} bytes)"
            ),
            DamageReason::ReservedKind => f.write_str("record kind 0 (garbage data)"),
            DamageReason::ZeroedTail { len } => write!(f, "{len} zero bytes at the end"),
            DamageReason::ChecksumMismatch { stored, computed } => write!(
                f,
                "checksum mismatch (stored {stored:#010x}, computed {computed:#010x})"
            ),
            DamageReason::MissingSegment => f.write_str("segment missing"),
        }
    }
}

/// Where and why replay stopped early.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Damage {
    /// Segment where the damage starts.
    pub segment: u64,
    /// Offset of the damaged frame (or header) within that segment.
    pub offset: u64,
    /// What was wrong.
    pub reason: DamageReason,
    /// Bytes from `offset` to the end of that segment file, none of them replayed.
    pub skipped_bytes: u64,
    /// Later segments that exist but were not read because they follow the damage.
    pub unread_segments: Vec<u64>,
}

impl Damage {
    /// True when the damage looks like an interrupted write at the very end of the log:
    /// the normal result of a crash, losing nothing that was acknowledged.
    pub fn is_torn_tail(&self) -> bool {
        self.reason.is_truncation() && self.unread_segments.is_empty()
    }
}

/// What a replay read and where it stopped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplayReport {
    /// Segments opened, in order.
    pub segments: Vec<u64>,
    /// Records returned.
    pub records: u64,
    /// Payload bytes returned.
    pub payload_bytes: u64,
    /// Position just after the last good record (or segment header), if any segment was read.
    pub end: Option<WalPosition>,
    /// Set when replay stopped before the end of the files.
    pub damage: Option<Damage>,
}

struct Cursor {
    segment: u64,
    path: PathBuf,
    reader: BufReader<File>,
    offset: u64,
    len: u64,
}

/// Iterator over the records of a WAL directory, in log order, from a given segment on.
/// Yields `Err` only for I/O failures (then ends); damage ends the iteration and is described
/// by [`WalReader::report`].
#[derive(Debug)]
pub struct WalReader {
    dir: PathBuf,
    pending: VecDeque<u64>,
    cursor: Option<Cursor>,
    expected_next: Option<u64>,
    report: ReplayReport,
    done: bool,
}

impl std::fmt::Debug for Cursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cursor")
            .field("segment", &self.segment)
            .field("offset", &self.offset)
            .field("len", &self.len)
            .finish()
    }
}

impl WalReader {
    /// Opens `dir` for replay of every segment numbered `from_segment` or higher.
    pub fn open(dir: impl AsRef<Path>, from_segment: u64) -> Result<Self> {
        let dir = dir.as_ref().to_path_buf();
        let pending = list_segments(&dir)
            .map_err(|e| Error::io(&dir, e))?
            .into_iter()
            .filter(|&n| n >= from_segment)
            .collect();
        Ok(WalReader {
            dir,
            pending,
            cursor: None,
            expected_next: None,
            report: ReplayReport::default(),
            done: false,
        })
    }

    /// What has been read so far; complete once the iterator returned `None`.
    pub fn report(&self) -> &ReplayReport {
        &self.report
    }

    /// Consumes the reader, returning its report.
    pub fn into_report(self) -> ReplayReport {
        self.report
    }

    /// Reads the remaining records into `f`, then returns the report.
    pub fn for_each_record(mut self, mut f: impl FnMut(ReplayedRecord)) -> Result<ReplayReport> {
        for rec in &mut self {
            f(rec?);
        }
        Ok(self.report)
    }

    fn damage(&mut self, segment: u64, offset: u64, len: u64, reason: DamageReason) {
        let unread: Vec<u64> = self.pending.drain(..).collect();
        let skipped_bytes = len.saturating_sub(offset);
        if unread.is_empty() && reason.is_truncation() {
            tracing::warn!(
                dir = %self.dir.display(), segment, offset, skipped_bytes, reason = %reason,
                "wal replay stopped at a torn tail"
            );
        } else {
            tracing::error!(
                dir = %self.dir.display(), segment, offset, skipped_bytes,
                unread_segments = unread.len(), reason = %reason,
                "wal replay stopped at corruption"
            );
        }
        self.report.damage = Some(Damage {
            segment,
            offset,
            reason,
            skipped_bytes,
            unread_segments: unread,
        });
        self.cursor = None;
        self.done = true;
    }

    /// Opens the next segment; returns false when there is none (or it was damaged).
    fn open_next(&mut self) -> Result<bool> {
        let Some(segment) = self.pending.pop_front() else {
            return Ok(false);
        };
        if let Some(expected) = self.expected_next
            && segment != expected
        {
            self.pending.push_front(segment);
            self.damage(expected, 0, 0, DamageReason::MissingSegment);
            return Ok(false);
        }
        self.expected_next = Some(segment + 1);
        let path = segment_path(&self.dir, segment);
        let file = File::open(&path).map_err(|e| Error::io(&path, e))?;
        let len = file.metadata().map_err(|e| Error::io(&path, e))?.len();
        self.report.segments.push(segment);
        if len < SEGMENT_HEADER_LEN {
            self.report.end = Some(WalPosition { segment, offset: 0 });
            self.damage(segment, 0, len, DamageReason::ShortSegmentHeader { len });
            return Ok(false);
        }
        let mut reader = BufReader::with_capacity(256 * 1024, file);
        let mut header = [0u8; SEGMENT_HEADER_LEN as usize];
        reader
            .read_exact(&mut header)
            .map_err(|e| Error::io(&path, e))?;
        if header[..4] != SEGMENT_MAGIC || header[4] != SEGMENT_VERSION || header[5..] != [0; 3] {
            self.report.end = Some(WalPosition { segment, offset: 0 });
            self.damage(segment, 0, len, DamageReason::BadSegmentHeader);
            return Ok(false);
        }
        self.report.end = Some(WalPosition {
            segment,
            offset: SEGMENT_HEADER_LEN,
        });
        self.cursor = Some(Cursor {
            segment,
            path,
            reader,
            offset: SEGMENT_HEADER_LEN,
            len,
        });
        Ok(true)
    }

    fn next_record(&mut self) -> Result<Option<ReplayedRecord>> {
        loop {
            if self.done {
                return Ok(None);
            }
            let Some(cur) = self.cursor.as_mut() else {
                if !self.open_next()? {
                    self.done = true;
                    return Ok(None);
                }
                continue;
            };
            let remaining = cur.len - cur.offset;
            if remaining == 0 {
                self.cursor = None;
                continue;
            }
            let (segment, offset, len) = (cur.segment, cur.offset, cur.len);
            if remaining < FRAME_HEADER_LEN as u64 {
                self.damage(
                    segment,
                    offset,
                    len,
                    DamageReason::ShortFrameHeader {
                        available: remaining,
                    },
                );
                return Ok(None);
            }
            let mut hb = [0u8; FRAME_HEADER_LEN];
            cur.reader
                .read_exact(&mut hb)
                .map_err(|e| Error::io(&cur.path, e))?;
            let h = decode_frame_header(&hb);
            let available = remaining - FRAME_HEADER_LEN as u64;
            if h.kind == 0 {
                let reason = if hb == [0u8; FRAME_HEADER_LEN]
                    && self.pending.is_empty()
                    && rest_is_zero(&mut cur.reader).map_err(|e| Error::io(&cur.path, e))?
                {
                    DamageReason::ZeroedTail { len: remaining }
                } else {
                    DamageReason::ReservedKind
                };
                self.damage(segment, offset, len, reason);
                return Ok(None);
            }
            if u64::from(h.len) > available {
                self.damage(
                    segment,
                    offset,
                    len,
                    DamageReason::ShortPayload {
                        expected: h.len,
                        available,
                    },
                );
                return Ok(None);
            }
            let mut data = vec![0u8; h.len as usize];
            cur.reader
                .read_exact(&mut data)
                .map_err(|e| Error::io(&cur.path, e))?;
            let computed = frame_crc(h.len, h.kind, &data);
            if computed != h.crc {
                self.damage(
                    segment,
                    offset,
                    len,
                    DamageReason::ChecksumMismatch {
                        stored: h.crc,
                        computed,
                    },
                );
                return Ok(None);
            }
            cur.offset += FRAME_HEADER_LEN as u64 + u64::from(h.len);
            self.report.records += 1;
            self.report.payload_bytes += u64::from(h.len);
            self.report.end = Some(WalPosition {
                segment,
                offset: cur.offset,
            });
            return Ok(Some(ReplayedRecord {
                segment,
                offset,
                kind: h.kind,
                data,
            }));
        }
    }
}

/// Whether everything left in `r` is zero bytes.
fn rest_is_zero(r: &mut impl Read) -> std::io::Result<bool> {
    let mut buf = [0u8; 64 * 1024];
    loop {
        let n = r.read(&mut buf)?;
        if n == 0 {
            return Ok(true);
        }
        if buf[..n].iter().any(|&b| b != 0) {
            return Ok(false);
        }
    }
}

impl Iterator for WalReader {
    type Item = Result<ReplayedRecord>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.next_record() {
            Ok(Some(r)) => Some(Ok(r)),
            Ok(None) => None,
            Err(e) => {
                self.done = true;
                self.cursor = None;
                Some(Err(e))
            }
        }
    }
}
