//! The in-memory head: per tenant, per stream, the entries not yet flushed to a block.
//! Appends apply Loki's unordered-writes rules: an entry older than the stream's newest
//! timestamp minus the out-of-order window is rejected, an entry with the same timestamp and
//! line as one already in the open buffer is silently dropped (duplicates of sealed entries
//! are dropped when queries merge, as Loki's does across chunks).
//!
//! Each stream keeps a small open buffer of entries sorted by timestamp; once it holds
//! [`SEAL_BYTES`] of lines it is sealed into a compressed chunk (the block chunk format at a
//! fast zstd level), so the head holds about a fifth of the raw bytes it covers. Queries
//! decode sealed chunks on the fly, copying out only the lines their line filters keep.

use std::collections::HashMap;
use std::sync::Arc;

use lgtm_common::labels::{Labels, Matcher, matches_all};
use parking_lot::RwLock;

use super::{Entry, Keep, LineTest, ScanStats, StoreError, chunk};

/// Line bytes of a stream's open buffer before it is sealed into a compressed chunk.
pub(crate) const SEAL_BYTES: usize = 32 << 10;
/// zstd level of sealed head chunks: level 1 compresses this data as well as level 3
/// (`docs/log-store.md`) at about twice the speed.
const SEAL_LEVEL: i32 = 1;

/// A compressed run of a stream's entries (sorted within the chunk).
#[derive(Debug)]
pub(crate) struct Sealed {
    pub(crate) min_ts: i64,
    pub(crate) max_ts: i64,
    pub(crate) entries: u64,
    pub(crate) line_bytes: u64,
    pub(crate) data: Box<[u8]>,
}

/// A stream's unflushed entries: sealed chunks plus the open buffer. Chunks and buffer may
/// overlap in time (out-of-order writes); readers merge them.
#[derive(Debug, Default)]
pub(crate) struct StreamData {
    pub(crate) sealed: Vec<Sealed>,
    /// Entries sorted by timestamp (stable for equal timestamps).
    pub(crate) open: Vec<Entry>,
    open_bytes: usize,
}

impl StreamData {
    /// True when nothing is held.
    pub(crate) fn is_empty(&self) -> bool {
        self.sealed.is_empty() && self.open.is_empty()
    }

    /// Bytes of lines held.
    pub(crate) fn line_bytes(&self) -> usize {
        self.open_bytes
            + self
                .sealed
                .iter()
                .map(|s| s.line_bytes as usize)
                .sum::<usize>()
    }

    /// Oldest timestamp held.
    pub(crate) fn oldest(&self) -> Option<i64> {
        self.sealed
            .iter()
            .map(|s| s.min_ts)
            .chain(self.open.first().map(|e| e.ts))
            .min()
    }

    fn seal(&mut self) -> Result<(), StoreError> {
        if self.open.is_empty() {
            return Ok(());
        }
        let (data, _) = chunk::encode_level(&self.open, SEAL_LEVEL)?;
        self.sealed.push(Sealed {
            min_ts: self.open[0].ts,
            max_ts: self.open[self.open.len() - 1].ts,
            entries: self.open.len() as u64,
            line_bytes: self.open_bytes as u64,
            data: data.into_boxed_slice(),
        });
        self.open.clear();
        self.open_bytes = 0;
        Ok(())
    }

    /// Entries in `[start, end)` passing `test`, as sorted parts (one per sealed chunk and
    /// one for the open buffer), each cut to what `keep` can need. Every entry in range
    /// that was looked at is counted into `stats`.
    pub(crate) fn parts(
        &self,
        start: i64,
        end: i64,
        keep: Keep,
        test: Option<&dyn LineTest>,
        stats: &mut ScanStats,
    ) -> Result<Vec<Vec<Entry>>, StoreError> {
        let mut out = Vec::new();
        let lo = self.open.partition_point(|e| e.ts < start);
        let hi = self.open.partition_point(|e| e.ts < end);
        if lo < hi {
            let part = keep.cut(&self.open[lo..hi]);
            let mut kept = Vec::new();
            for e in part {
                stats.add(e);
                if test.is_none_or(|t| t.keep(&e.line)) {
                    kept.push(e.clone());
                }
            }
            if !kept.is_empty() {
                out.push(kept);
            }
        }
        let mut chunks: Vec<&Sealed> = self
            .sealed
            .iter()
            .filter(|c| c.max_ts >= start && c.min_ts < end)
            .collect();
        // With a `keep` of n, chunks entirely older (newer) than the n entries already found
        // cannot contribute.
        let n = match keep {
            Keep::All => usize::MAX,
            Keep::Oldest(n) | Keep::Newest(n) => n,
        };
        match keep {
            Keep::Newest(_) => chunks.sort_by_key(|c| std::cmp::Reverse(c.max_ts)),
            _ => chunks.sort_by_key(|c| c.min_ts),
        }
        let mut found: Vec<i64> = out
            .first()
            .map_or(Vec::new(), |p| p.iter().map(|e| e.ts).collect());
        for c in chunks {
            if found.len() >= n {
                // The n-th best timestamp so far bounds what can still be kept.
                let skip = match keep {
                    Keep::Newest(_) => {
                        found.sort_unstable_by(|a, b| b.cmp(a));
                        c.max_ts < found[n - 1]
                    }
                    Keep::Oldest(_) => {
                        found.sort_unstable();
                        c.min_ts > found[n - 1]
                    }
                    Keep::All => false,
                };
                if skip {
                    continue;
                }
            }
            let mut entries = chunk::decode_range(&c.data, start, end, test, stats)?;
            keep.truncate(&mut entries);
            if n != usize::MAX {
                found.extend(entries.iter().map(|e| e.ts));
            }
            if !entries.is_empty() {
                out.push(entries);
            }
        }
        Ok(out)
    }

    /// Every entry held, merged and sorted (for writing a block).
    pub(crate) fn all_entries(&self) -> Result<Vec<Entry>, StoreError> {
        let parts = self.parts(
            i64::MIN,
            i64::MAX,
            Keep::All,
            None,
            &mut ScanStats::default(),
        )?;
        Ok(super::merge(parts))
    }

    /// Entries and line bytes in `[start, end)`, without building entries.
    pub(crate) fn count_range(&self, start: i64, end: i64) -> Result<(u64, u64), StoreError> {
        let lo = self.open.partition_point(|e| e.ts < start);
        let hi = self.open.partition_point(|e| e.ts < end);
        let mut n = (hi - lo) as u64;
        let mut bytes: u64 = self.open[lo..hi].iter().map(|e| e.line.len() as u64).sum();
        for c in &self.sealed {
            if c.max_ts < start || c.min_ts >= end {
                continue;
            }
            if c.min_ts >= start && c.max_ts < end {
                n += c.entries;
                bytes += c.line_bytes;
            } else {
                let (cn, cb) = chunk::count_range(&c.data, start, end)?;
                n += cn;
                bytes += cb;
            }
        }
        Ok((n, bytes))
    }
}

/// One stream in the head.
#[derive(Debug)]
pub(crate) struct MemStream {
    pub(crate) labels: Labels,
    pub(crate) data: RwLock<StreamBuf>,
}

/// The entries of a stream and its ordering state.
#[derive(Debug, Default)]
pub(crate) struct StreamBuf {
    /// What the stream holds until the next flush.
    pub(crate) data: StreamData,
    /// Newest timestamp ever accepted (survives flushes), for the out-of-order window.
    pub(crate) newest: Option<i64>,
    /// Recently seen structured-metadata sets, shared between entries (most entries of a
    /// stream carry one of a few sets, such as `{detected_level="info"}`).
    interned: Vec<std::sync::Arc<lgtm_common::labels::Labels>>,
}

/// Distinct metadata sets remembered per stream.
const INTERNED_SETS: usize = 16;

/// Why an entry was not stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Reject {
    /// Older than newest − window: `(entry ts, oldest acceptable ts)`.
    TooFarBehind(i64, i64),
}

impl StreamBuf {
    /// Points `e.metadata` at an equal set already held, so equal sets share one allocation.
    fn intern(&mut self, e: &mut Entry) {
        if let Some(found) = self.interned.iter().find(|m| **m == e.metadata) {
            e.metadata = found.clone();
            return;
        }
        if self.interned.len() >= INTERNED_SETS {
            self.interned.remove(0);
        }
        self.interned.push(e.metadata.clone());
    }

    /// Inserts one entry. `Ok(true)` stored, `Ok(false)` duplicate dropped.
    pub(crate) fn push(&mut self, mut e: Entry, window_ns: i64) -> Result<bool, Reject> {
        if let Some(newest) = self.newest {
            let oldest_ok = newest.saturating_sub(window_ns);
            if e.ts < oldest_ok {
                return Err(Reject::TooFarBehind(e.ts, oldest_ok));
            }
        }
        let open = &mut self.data.open;
        // Position after every entry with ts <= e.ts; check equal-ts entries for duplicates.
        let pos = if open.last().is_none_or(|l| l.ts <= e.ts) {
            open.len()
        } else {
            open.partition_point(|x| x.ts <= e.ts)
        };
        let mut i = pos;
        while i > 0 && open[i - 1].ts == e.ts {
            if open[i - 1].line == e.line {
                return Ok(false);
            }
            i -= 1;
        }
        self.intern(&mut e);
        self.newest = Some(self.newest.map_or(e.ts, |n| n.max(e.ts)));
        let d = &mut self.data;
        d.open_bytes += e.line.len();
        if pos == d.open.len() {
            d.open.push(e);
        } else {
            d.open.insert(pos, e);
        }
        if d.open_bytes >= SEAL_BYTES
            && let Err(err) = d.seal()
        {
            // Encoding in memory cannot fail in practice; keep the entries open if it does.
            tracing::warn!(error = %err, "could not seal a head chunk");
        }
        Ok(true)
    }

    /// Bytes of lines held.
    pub(crate) fn bytes(&self) -> usize {
        self.data.line_bytes()
    }
}

/// The head of one tenant.
#[derive(Debug, Default)]
pub(crate) struct TenantHead {
    pub(crate) streams: RwLock<HashMap<Labels, Arc<MemStream>>>,
}

impl TenantHead {
    /// The stream for `labels`, creating it unless that would exceed `max_streams`
    /// (0 = unlimited). `None` when the limit refuses it.
    pub(crate) fn get_or_create(
        &self,
        labels: &Labels,
        max_streams: usize,
    ) -> Option<Arc<MemStream>> {
        if let Some(s) = self.streams.read().get(labels) {
            return Some(s.clone());
        }
        let mut w = self.streams.write();
        if let Some(s) = w.get(labels) {
            return Some(s.clone());
        }
        if max_streams > 0 && w.len() >= max_streams {
            return None;
        }
        let s = Arc::new(MemStream {
            labels: labels.clone(),
            data: RwLock::new(StreamBuf::default()),
        });
        w.insert(labels.clone(), s.clone());
        Some(s)
    }

    /// Streams whose labels match every matcher.
    pub(crate) fn matching(&self, matchers: &[Matcher]) -> Vec<Arc<MemStream>> {
        self.streams
            .read()
            .values()
            .filter(|s| matches_all(matchers, &s.labels))
            .cloned()
            .collect()
    }

    /// Takes every stream's entries out (for a flush), leaving the ordering state. Streams
    /// that received nothing since the previous flush are dropped from the head, so they stop
    /// counting against the active-stream limit (as Loki drops idle flushed streams).
    pub(crate) fn take_all(&self) -> Vec<(Labels, StreamData)> {
        let mut streams = self.streams.write();
        let mut out = Vec::new();
        streams.retain(|_, s| {
            let mut d = s.data.write();
            if d.data.is_empty() {
                return false;
            }
            out.push((s.labels.clone(), std::mem::take(&mut d.data)));
            true
        });
        out
    }

    /// Streams in the head.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.streams.read().len()
    }

    /// Bytes of lines held by the head.
    pub(crate) fn bytes(&self) -> usize {
        self.streams
            .read()
            .values()
            .map(|s| s.data.read().bytes())
            .sum()
    }

    /// Oldest entry timestamp held by the head.
    pub(crate) fn oldest(&self) -> Option<i64> {
        self.streams
            .read()
            .values()
            .filter_map(|s| s.data.read().data.oldest())
            .min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(ts: i64, line: &str) -> Entry {
        Entry::new(ts, line, Labels::default())
    }

    fn all(b: &StreamBuf) -> Vec<(i64, String)> {
        b.data
            .all_entries()
            .unwrap()
            .iter()
            .map(|x| (x.ts, x.line.to_string()))
            .collect()
    }

    #[test]
    fn out_of_order_within_window_is_sorted_and_duplicates_dropped() {
        let mut b = StreamBuf::default();
        assert_eq!(b.push(e(10, "a"), 100), Ok(true));
        assert_eq!(b.push(e(5, "b"), 100), Ok(true));
        assert_eq!(b.push(e(10, "c"), 100), Ok(true));
        assert_eq!(b.push(e(10, "a"), 100), Ok(false));
        assert_eq!(
            all(&b),
            vec![(5, "b".into()), (10, "a".into()), (10, "c".into())]
        );
        assert_eq!(b.push(e(200, "d"), 100), Ok(true));
        assert_eq!(
            b.push(e(99, "old"), 100),
            Err(Reject::TooFarBehind(99, 100))
        );
        assert_eq!(b.push(e(100, "edge"), 100), Ok(true));
    }

    #[test]
    fn sealed_chunks_read_back_exactly_with_filters_and_keep() {
        let mut b = StreamBuf::default();
        let line = "x".repeat(1000);
        let mut want = Vec::new();
        for i in 0..300i64 {
            // Every tenth entry arrives late (out of order, inside the window).
            let ts = if i % 10 == 9 { i * 10 - 45 } else { i * 10 };
            let l = format!("{i} {line}");
            b.push(e(ts, &l), 1_000).unwrap();
            want.push((ts, l));
        }
        assert!(b.data.sealed.len() >= 6, "32 KiB runs of lines were sealed");
        want.sort_by_key(|w| w.0);
        assert_eq!(all(&b), want);
        assert_eq!(b.bytes(), want.iter().map(|w| w.1.len()).sum::<usize>());
        let in_range: Vec<_> = want.iter().filter(|w| (100..2000).contains(&w.0)).collect();
        assert_eq!(
            b.data.count_range(100, 2000).unwrap(),
            (
                in_range.len() as u64,
                in_range.iter().map(|w| w.1.len() as u64).sum()
            )
        );
        struct Has7;
        impl LineTest for Has7 {
            fn keep(&self, line: &str) -> bool {
                line.starts_with('7')
            }
        }
        let mut stats = ScanStats::default();
        let parts = b
            .data
            .parts(100, 2000, Keep::All, Some(&Has7), &mut stats)
            .unwrap();
        let got: Vec<_> = super::super::merge(parts)
            .into_iter()
            .map(|x| (x.ts, x.line.to_string()))
            .collect();
        let expect: Vec<_> = in_range
            .iter()
            .filter(|w| w.1.starts_with('7'))
            .map(|w| (w.0, w.1.clone()))
            .collect();
        assert_eq!(got, expect);
        assert_eq!(stats.lines, in_range.len() as u64);
        for keep in [Keep::Newest(7), Keep::Oldest(7)] {
            let parts = b
                .data
                .parts(i64::MIN, i64::MAX, keep, None, &mut ScanStats::default())
                .unwrap();
            let mut got = super::super::merge(parts);
            keep.truncate(&mut got);
            let got: Vec<_> = got.iter().map(|x| (x.ts, x.line.to_string())).collect();
            let expect: Vec<_> = match keep {
                Keep::Newest(n) => want[want.len() - n..].to_vec(),
                Keep::Oldest(n) => want[..n].to_vec(),
                Keep::All => unreachable!(),
            };
            assert_eq!(got, expect, "{keep:?}");
        }
    }

    #[test]
    fn equal_metadata_sets_share_one_allocation() {
        let mut b = StreamBuf::default();
        let md = || Labels::from_pairs([("detected_level", "info")]);
        b.push(Entry::new(1, "a", md()), 100).unwrap();
        b.push(Entry::new(2, "b", md()), 100).unwrap();
        b.push(Entry::new(3, "c", Labels::default()), 100).unwrap();
        let open = &b.data.open;
        assert!(std::sync::Arc::ptr_eq(&open[0].metadata, &open[1].metadata));
        assert_eq!(*open[2].metadata, Labels::default());
    }

    #[test]
    fn idle_streams_leave_the_head_on_the_second_flush() {
        let h = TenantHead::default();
        let a = Labels::from_pairs([("a", "1")]);
        let s = h.get_or_create(&a, 1).unwrap();
        s.data.write().push(e(1, "x"), 100).unwrap();
        assert_eq!(h.take_all().len(), 1);
        assert_eq!(h.len(), 1, "kept: it had data in this flush period");
        assert!(h.take_all().is_empty());
        assert_eq!(h.len(), 0, "idle for a whole period: dropped");
        let b = Labels::from_pairs([("a", "2")]);
        assert!(
            h.get_or_create(&b, 1).is_some(),
            "the limit counts active streams"
        );
    }

    #[test]
    fn stream_limit() {
        let h = TenantHead::default();
        let a = Labels::from_pairs([("a", "1")]);
        let b = Labels::from_pairs([("a", "2")]);
        assert!(h.get_or_create(&a, 1).is_some());
        assert!(h.get_or_create(&a, 1).is_some());
        assert!(h.get_or_create(&b, 1).is_none());
    }
}
