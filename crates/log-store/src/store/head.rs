//! The in-memory head: per tenant, per stream, the entries not yet flushed to a block,
//! sorted by timestamp. Appends apply Loki's unordered-writes rules: an entry older than
//! the stream's newest timestamp minus the out-of-order window is rejected, an entry with
//! the same timestamp and line as one already stored is silently dropped.

use std::collections::HashMap;
use std::sync::Arc;

use lgtm_common::labels::{Labels, Matcher, matches_all};
use parking_lot::RwLock;

use super::Entry;

/// One stream in the head.
#[derive(Debug)]
pub(crate) struct MemStream {
    pub(crate) labels: Labels,
    pub(crate) data: RwLock<StreamBuf>,
}

/// The entries of a stream and its ordering state.
#[derive(Debug, Default)]
pub(crate) struct StreamBuf {
    /// Entries sorted by timestamp (stable for equal timestamps).
    pub(crate) entries: Vec<Entry>,
    /// Newest timestamp ever accepted (survives flushes), for the out-of-order window.
    pub(crate) newest: Option<i64>,
    /// Bytes of lines held.
    pub(crate) bytes: usize,
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
        // Position after every entry with ts <= e.ts; check equal-ts entries for duplicates.
        let pos = self.entries.partition_point(|x| x.ts <= e.ts);
        let mut i = pos;
        while i > 0 && self.entries[i - 1].ts == e.ts {
            if self.entries[i - 1].line == e.line {
                return Ok(false);
            }
            i -= 1;
        }
        self.intern(&mut e);
        self.bytes += e.line.len();
        self.newest = Some(self.newest.map_or(e.ts, |n| n.max(e.ts)));
        if pos == self.entries.len() {
            self.entries.push(e);
        } else {
            self.entries.insert(pos, e);
        }
        Ok(true)
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
    pub(crate) fn take_all(&self) -> Vec<(Labels, Vec<Entry>)> {
        let mut streams = self.streams.write();
        let mut out = Vec::new();
        streams.retain(|_, s| {
            let mut d = s.data.write();
            if d.entries.is_empty() {
                return false;
            }
            d.bytes = 0;
            out.push((s.labels.clone(), std::mem::take(&mut d.entries)));
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
            .map(|s| s.data.read().bytes)
            .sum()
    }

    /// Oldest entry timestamp held by the head.
    pub(crate) fn oldest(&self) -> Option<i64> {
        self.streams
            .read()
            .values()
            .filter_map(|s| s.data.read().entries.first().map(|e| e.ts))
            .min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(ts: i64, line: &str) -> Entry {
        Entry::new(ts, line, Labels::default())
    }

    #[test]
    fn out_of_order_within_window_is_sorted_and_duplicates_dropped() {
        let mut b = StreamBuf::default();
        assert_eq!(b.push(e(10, "a"), 100), Ok(true));
        assert_eq!(b.push(e(5, "b"), 100), Ok(true));
        assert_eq!(b.push(e(10, "c"), 100), Ok(true));
        assert_eq!(b.push(e(10, "a"), 100), Ok(false));
        let ts: Vec<_> = b
            .entries
            .iter()
            .map(|x| (x.ts, x.line.to_string()))
            .collect();
        assert_eq!(
            ts,
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
    fn equal_metadata_sets_share_one_allocation() {
        let mut b = StreamBuf::default();
        let md = || Labels::from_pairs([("detected_level", "info")]);
        b.push(Entry::new(1, "a", md()), 100).unwrap();
        b.push(Entry::new(2, "b", md()), 100).unwrap();
        b.push(Entry::new(3, "c", Labels::default()), 100).unwrap();
        assert!(std::sync::Arc::ptr_eq(
            &b.entries[0].metadata,
            &b.entries[1].metadata
        ));
        assert_eq!(*b.entries[2].metadata, Labels::default());
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
