//! The in-memory head: the most recent samples of every active series, in compressed chunks,
//! with a postings index for label matchers.
//!
//! Appends follow Prometheus' rules: a sample older than the series' last one is out of order,
//! the same timestamp with another value is a duplicate, the same timestamp and value is
//! accepted and ignored, and a sample older than the head's lower bound is out of bounds.

use std::collections::HashMap;
use std::sync::Arc;

use lgtm_common::labels::{Labels, Matcher};
use parking_lot::{Mutex, RwLock};

use crate::chunk::{ChunkError, XorChunk};
use crate::index::{Postings, SeriesRef};

/// Samples per chunk before a new one is cut (Prometheus' figure: compression gains flatten
/// beyond it while decoding cost for short ranges grows).
pub const DEFAULT_SAMPLES_PER_CHUNK: usize = 120;

/// An append was refused. Texts are Prometheus' own, as remote-write senders log them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AppendError {
    /// Older than the series' newest sample.
    #[error("out of order sample")]
    OutOfOrder,
    /// Same timestamp as the newest sample, different value.
    #[error("duplicate sample for timestamp")]
    Duplicate,
    /// Older than the head accepts.
    #[error("out of bounds")]
    OutOfBounds,
    /// The label set has no metric name.
    #[error("empty metric name")]
    EmptyMetricName,
    /// The head holds as many series as it may.
    #[error("per-user series limit of {limit} exceeded")]
    SeriesLimit {
        /// Configured limit.
        limit: usize,
    },
}

/// Head tuning.
#[derive(Debug, Clone)]
pub struct HeadOptions {
    /// Samples per chunk before cutting a new one.
    pub samples_per_chunk: usize,
    /// Most series the head creates; 0 means unlimited.
    pub max_series: usize,
    /// `storage.tsdb.out_of_order_time_window` in ms; 0 disables it. Samples older than a
    /// series' newest one but no older than the head's newest sample minus this window are
    /// kept in the series' out-of-order buffer instead of being refused.
    pub out_of_order_window_ms: i64,
}

impl Default for HeadOptions {
    fn default() -> Self {
        Self {
            samples_per_chunk: DEFAULT_SAMPLES_PER_CHUNK,
            max_series: 0,
            out_of_order_window_ms: 0,
        }
    }
}

/// One series with its chunks.
#[derive(Debug)]
pub struct MemSeries {
    /// Reference inside this head.
    pub series_ref: SeriesRef,
    /// The series' labels.
    pub labels: Labels,
    chunks: Mutex<SeriesChunks>,
}

#[derive(Debug, Default)]
struct SeriesChunks {
    closed: Vec<XorChunk>,
    open: XorChunk,
    last: Option<(i64, u64)>,
    /// Out-of-order samples, sorted by time, all older than `last` (boxed: most series never
    /// get one, and an empty box costs one pointer).
    #[allow(clippy::box_collection)] // 8 bytes per series instead of 24 for a rare buffer
    ooo: Option<Box<Vec<(i64, f64)>>>,
}

/// Merges in-order `samples` with the sorted out-of-order ones; on equal timestamps the
/// in-order sample wins.
fn merge_ooo(samples: Vec<(i64, f64)>, ooo: &[(i64, f64)]) -> Vec<(i64, f64)> {
    let mut out = Vec::with_capacity(samples.len() + ooo.len());
    let (mut i, mut j) = (0, 0);
    while i < samples.len() || j < ooo.len() {
        match (samples.get(i), ooo.get(j)) {
            (Some(a), Some(b)) if b.0 < a.0 => {
                out.push(*b);
                j += 1;
            }
            (Some(a), Some(b)) => {
                if b.0 == a.0 {
                    j += 1;
                }
                out.push(*a);
                i += 1;
            }
            (Some(a), None) => {
                out.push(*a);
                i += 1;
            }
            (None, Some(b)) => {
                out.push(*b);
                j += 1;
            }
            (None, None) => break,
        }
    }
    out
}

impl MemSeries {
    /// Samples with `mint <= t <= maxt`, in time order.
    pub fn samples(&self, mint: i64, maxt: i64) -> Vec<(i64, f64)> {
        let chunks = self.chunks.lock();
        let mut out = Vec::new();
        for chunk in chunks.closed.iter().chain(std::iter::once(&chunks.open)) {
            let (Some(lo), Some(hi)) = (chunk.min_time(), chunk.max_time()) else {
                continue;
            };
            if hi < mint || lo > maxt {
                continue;
            }
            // Chunks built by this head always decode; a failure would be a bug, not input.
            out.extend(
                chunk
                    .iter()
                    .filter_map(Result::ok)
                    .filter(|&(t, _)| t >= mint && t <= maxt),
            );
        }
        match chunks.ooo.as_deref() {
            Some(ooo) => {
                let lo = ooo.partition_point(|s| s.0 < mint);
                let hi = ooo.partition_point(|s| s.0 <= maxt);
                merge_ooo(out, &ooo[lo..hi])
            }
            None => out,
        }
    }

    /// Encoded chunks overlapping `[mint, maxt]` as `(min_time, max_time, bytes)`, for
    /// streamed remote read (the bytes are Prometheus' XOR chunk format).
    pub fn chunks(&self, mint: i64, maxt: i64) -> Vec<(i64, i64, Vec<u8>)> {
        let chunks = self.chunks.lock();
        if chunks.ooo.is_some() {
            // Out-of-order samples live outside the chunks: hand out freshly encoded ones.
            drop(chunks);
            let samples = self.samples(mint, maxt);
            return samples
                .chunks(DEFAULT_SAMPLES_PER_CHUNK)
                .filter_map(|part| {
                    let mut c = XorChunk::new();
                    for &(t, v) in part {
                        c.append(t, v).ok()?;
                    }
                    Some((c.min_time()?, c.max_time()?, c.bytes().to_vec()))
                })
                .collect();
        }
        chunks
            .closed
            .iter()
            .chain(std::iter::once(&chunks.open))
            .filter_map(|c| {
                let (lo, hi) = (c.min_time()?, c.max_time()?);
                (hi >= mint && lo <= maxt).then(|| (lo, hi, c.bytes().to_vec()))
            })
            .collect()
    }

    /// Drops every sample older than `t` (they moved into a block), re-encoding the chunk that
    /// straddles `t`. Returns how many samples remain.
    pub fn truncate_before(&self, t: i64) -> usize {
        let mut chunks = self.chunks.lock();
        let mut kept_closed = Vec::with_capacity(chunks.closed.len());
        for chunk in chunks.closed.drain(..) {
            match (chunk.min_time(), chunk.max_time()) {
                (Some(_), Some(max)) if max < t => {}
                (Some(min), Some(_)) if min >= t => kept_closed.push(chunk),
                (Some(_), Some(_)) => kept_closed.push(reencode_from(&chunk, t)),
                _ => {}
            }
        }
        chunks.closed = kept_closed;
        if chunks.open.min_time().is_some_and(|min| min < t) {
            chunks.open = reencode_from(&chunks.open, t);
        }
        if let Some(ooo) = chunks.ooo.as_mut() {
            ooo.retain(|s| s.0 >= t);
        }
        if chunks.ooo.as_ref().is_some_and(|o| o.is_empty()) {
            chunks.ooo = None;
        }
        chunks.closed.iter().map(XorChunk::len).sum::<usize>()
            + chunks.open.len()
            + chunks.ooo.as_ref().map_or(0, |o| o.len())
    }

    /// True when the series holds no sample.
    pub fn is_empty(&self) -> bool {
        let chunks = self.chunks.lock();
        chunks.open.is_empty()
            && chunks.closed.iter().all(XorChunk::is_empty)
            && chunks.ooo.is_none()
    }

    /// Timestamp of the oldest sample.
    pub fn min_time(&self) -> Option<i64> {
        let chunks = self.chunks.lock();
        let in_order = chunks
            .closed
            .first()
            .and_then(XorChunk::min_time)
            .or_else(|| chunks.open.min_time());
        let ooo = chunks.ooo.as_ref().and_then(|o| o.first()).map(|s| s.0);
        match (in_order, ooo) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Timestamp of the newest sample.
    pub fn max_time(&self) -> Option<i64> {
        self.chunks.lock().last.map(|(t, _)| t)
    }

    /// Encoded bytes held by this series' chunks.
    pub fn chunk_bytes(&self) -> usize {
        let chunks = self.chunks.lock();
        chunks.closed.iter().map(|c| c.bytes().len()).sum::<usize>() + chunks.open.bytes().len()
    }

    /// Appends a sample; `ooo_min` is the oldest timestamp the out-of-order window accepts
    /// (None when the window is off).
    fn append(
        &self,
        t: i64,
        v: f64,
        samples_per_chunk: usize,
        ooo_min: Option<i64>,
    ) -> Result<bool, AppendError> {
        let mut chunks = self.chunks.lock();
        if let Some((last_t, last_bits)) = chunks.last {
            if t < last_t {
                if ooo_min.is_none_or(|min| t < min) {
                    return Err(AppendError::OutOfOrder);
                }
                let ooo = chunks.ooo.get_or_insert_with(Box::default);
                return match ooo.binary_search_by_key(&t, |s| s.0) {
                    Ok(i) if ooo[i].1.to_bits() == v.to_bits() => Ok(false),
                    Ok(_) => Err(AppendError::Duplicate),
                    Err(i) => {
                        ooo.insert(i, (t, v));
                        Ok(true)
                    }
                };
            }
            if t == last_t {
                return if last_bits == v.to_bits() {
                    Ok(false)
                } else {
                    Err(AppendError::Duplicate)
                };
            }
        }
        if chunks.open.len() >= samples_per_chunk {
            let mut full = std::mem::take(&mut chunks.open);
            full.shrink_to_fit();
            chunks.closed.push(full);
        }
        match chunks.open.append(t, v) {
            Ok(()) => {}
            Err(ChunkError::OutOfOrder { .. }) => return Err(AppendError::OutOfOrder),
            Err(ChunkError::Full | ChunkError::Corrupt(_)) => {
                let full = std::mem::take(&mut chunks.open);
                chunks.closed.push(full);
                chunks
                    .open
                    .append(t, v)
                    .map_err(|_| AppendError::OutOfOrder)?;
            }
        }
        chunks.last = Some((t, v.to_bits()));
        Ok(true)
    }
}

/// Head cardinality, as `/api/v1/status/tsdb` reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cardinality {
    /// Series in the head.
    pub num_series: usize,
    /// Distinct label pairs.
    pub num_label_pairs: usize,
    /// Chunks held.
    pub chunk_count: usize,
    /// Oldest sample (ms).
    pub min_time: i64,
    /// Newest sample (ms).
    pub max_time: i64,
    /// Series per metric name.
    pub series_by_metric: std::collections::BTreeMap<String, u64>,
    /// Distinct values per label name.
    pub values_by_label: std::collections::BTreeMap<String, u64>,
    /// Bytes of distinct values per label name.
    pub bytes_by_label: std::collections::BTreeMap<String, u64>,
    /// Series per `name=value` pair.
    pub series_by_pair: std::collections::BTreeMap<String, u64>,
}

/// A chunk holding only the samples of `chunk` at or after `t`.
fn reencode_from(chunk: &XorChunk, t: i64) -> XorChunk {
    let mut out = XorChunk::new();
    for (ts, v) in chunk
        .iter()
        .filter_map(Result::ok)
        .filter(|&(ts, _)| ts >= t)
    {
        // Samples come from a valid chunk in time order.
        let _ = out.append(ts, v);
    }
    out
}

/// Hashes a `u64` key (a series reference or an already well-mixed fingerprint) with one
/// multiplication instead of SipHash: the maps are looked up for every series of every write.
#[derive(Debug, Default, Clone, Copy)]
struct U64Hasher(u64);

impl std::hash::Hasher for U64Hasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0 ^ n)
            .wrapping_mul(0x9e37_79b9_7f4a_7c15)
            .rotate_left(26);
    }
}

type U64Map<V> = HashMap<u64, V, std::hash::BuildHasherDefault<U64Hasher>>;

/// Series by label fingerprint. Collisions are rare, so the first series of a fingerprint is
/// stored inline and only further ones in a side map: no per-series `Vec` allocation.
#[derive(Debug, Default)]
struct FingerprintMap {
    first: U64Map<Arc<MemSeries>>,
    collisions: U64Map<Vec<Arc<MemSeries>>>,
}

impl FingerprintMap {
    fn find(&self, fingerprint: u64, labels: &Labels) -> Option<&Arc<MemSeries>> {
        let series = self.first.get(&fingerprint)?;
        if &series.labels == labels {
            return Some(series);
        }
        self.collisions
            .get(&fingerprint)?
            .iter()
            .find(|s| &s.labels == labels)
    }

    fn insert(&mut self, fingerprint: u64, series: Arc<MemSeries>) {
        match self.first.entry(fingerprint) {
            std::collections::hash_map::Entry::Vacant(slot) => {
                slot.insert(series);
            }
            std::collections::hash_map::Entry::Occupied(_) => {
                self.collisions.entry(fingerprint).or_default().push(series);
            }
        }
    }

    fn remove(&mut self, fingerprint: u64, series_ref: SeriesRef) {
        let is_first = self
            .first
            .get(&fingerprint)
            .is_some_and(|s| s.series_ref == series_ref);
        let list = self.collisions.get_mut(&fingerprint);
        if is_first {
            self.first.remove(&fingerprint);
            if let Some(list) = list {
                if let Some(next) = list.pop() {
                    self.first.insert(fingerprint, next);
                }
                if list.is_empty() {
                    self.collisions.remove(&fingerprint);
                }
            }
        } else if let Some(list) = list {
            list.retain(|s| s.series_ref != series_ref);
            if list.is_empty() {
                self.collisions.remove(&fingerprint);
            }
        }
    }
}

#[derive(Debug, Default)]
struct HeadIndex {
    by_fingerprint: FingerprintMap,
    by_ref: U64Map<Arc<MemSeries>>,
    postings: Postings,
    next_ref: SeriesRef,
}

/// The in-memory head of the TSDB.
#[derive(Debug)]
pub struct Head {
    index: RwLock<HeadIndex>,
    options: HeadOptions,
    /// Samples older than this (ms) are out of bounds.
    min_valid_time: std::sync::atomic::AtomicI64,
    /// Newest sample appended (ms), the reference point of the out-of-order window.
    max_time: std::sync::atomic::AtomicI64,
}

impl Default for Head {
    fn default() -> Self {
        Self::new(HeadOptions::default())
    }
}

impl Head {
    /// An empty head.
    pub fn new(options: HeadOptions) -> Self {
        Self {
            index: RwLock::new(HeadIndex {
                next_ref: 1,
                ..HeadIndex::default()
            }),
            options,
            min_valid_time: std::sync::atomic::AtomicI64::new(i64::MIN),
            max_time: std::sync::atomic::AtomicI64::new(i64::MIN),
        }
    }

    /// Refuses samples older than `t` (ms) from now on: they belong to blocks already cut.
    pub fn set_min_valid_time(&self, t: i64) {
        self.min_valid_time
            .store(t, std::sync::atomic::Ordering::Relaxed);
    }

    /// Every series, in reference order.
    pub fn all_series(&self) -> Vec<Arc<MemSeries>> {
        let index = self.index.read();
        index
            .postings
            .all()
            .iter()
            .filter_map(|r| index.by_ref.get(r).cloned())
            .collect()
    }

    /// Removes series that hold no sample any more (their data moved into blocks and nothing
    /// new arrived), so churning series (pods come and go) do not grow the head forever.
    /// Callers hold the store's append lock so no append races the removal.
    pub fn gc_empty_series(&self) -> usize {
        let mut index = self.index.write();
        let empty: Vec<Arc<MemSeries>> = index
            .by_ref
            .values()
            .filter(|s| s.is_empty())
            .cloned()
            .collect();
        for series in &empty {
            index.by_ref.remove(&series.series_ref);
            let fingerprint = series.labels.fingerprint();
            index.by_fingerprint.remove(fingerprint, series.series_ref);
            index.postings.remove(
                series.series_ref,
                series
                    .labels
                    .iter()
                    .map(|l| (l.name.as_str(), l.value.as_str())),
            );
        }
        empty.len()
    }

    /// The lower bound of accepted samples.
    pub fn min_valid_time(&self) -> i64 {
        self.min_valid_time
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Number of series.
    pub fn num_series(&self) -> usize {
        self.index.read().by_ref.len()
    }

    /// The series with these labels, created when new.
    pub fn get_or_create(&self, labels: &Labels) -> Result<Arc<MemSeries>, AppendError> {
        self.get_or_create_reporting(labels)
            .map(|(series, _)| series)
    }

    /// Like [`Head::get_or_create`], also telling whether this call created the series (the
    /// store then logs a series record for it).
    pub fn get_or_create_reporting(
        &self,
        labels: &Labels,
    ) -> Result<(Arc<MemSeries>, bool), AppendError> {
        if labels.metric_name().is_none_or(str::is_empty) {
            return Err(AppendError::EmptyMetricName);
        }
        let fingerprint = labels.fingerprint();
        if let Some(series) = self.lookup(fingerprint, labels) {
            return Ok((series, false));
        }
        let mut index = self.index.write();
        if let Some(existing) = index.by_fingerprint.find(fingerprint, labels) {
            return Ok((Arc::clone(existing), false));
        }
        if self.options.max_series > 0 && index.by_ref.len() >= self.options.max_series {
            return Err(AppendError::SeriesLimit {
                limit: self.options.max_series,
            });
        }
        let series_ref = index.next_ref;
        index.next_ref += 1;
        let series = Arc::new(MemSeries {
            series_ref,
            labels: labels.clone(),
            chunks: Mutex::new(SeriesChunks::default()),
        });
        index.postings.add(
            series_ref,
            labels.iter().map(|l| (l.name.as_str(), l.value.as_str())),
        );
        index
            .by_fingerprint
            .insert(fingerprint, Arc::clone(&series));
        index.by_ref.insert(series_ref, Arc::clone(&series));
        Ok((series, true))
    }

    fn lookup(&self, fingerprint: u64, labels: &Labels) -> Option<Arc<MemSeries>> {
        self.index
            .read()
            .by_fingerprint
            .find(fingerprint, labels)
            .cloned()
    }

    /// Re-creates a series under a known reference (WAL replay). An existing series with the
    /// same labels keeps its reference, which is returned.
    pub fn restore_series(&self, series_ref: SeriesRef, labels: Labels) -> Arc<MemSeries> {
        let fingerprint = labels.fingerprint();
        if let Some(existing) = self.lookup(fingerprint, &labels) {
            return existing;
        }
        let mut index = self.index.write();
        if let Some(existing) = index.by_ref.get(&series_ref) {
            return Arc::clone(existing);
        }
        // Postings need increasing references; replayed references arrive in creation order,
        // but guard against a damaged log by inserting out-of-order ones at their place.
        let series = Arc::new(MemSeries {
            series_ref,
            labels,
            chunks: Mutex::new(SeriesChunks::default()),
        });
        index.postings.add_unordered(
            series_ref,
            series
                .labels
                .iter()
                .map(|l| (l.name.as_str(), l.value.as_str())),
        );
        index.next_ref = index.next_ref.max(series_ref + 1);
        index
            .by_fingerprint
            .insert(fingerprint, Arc::clone(&series));
        index.by_ref.insert(series_ref, Arc::clone(&series));
        series
    }

    /// The series with this reference.
    pub fn series(&self, series_ref: SeriesRef) -> Option<Arc<MemSeries>> {
        self.index.read().by_ref.get(&series_ref).cloned()
    }

    /// Appends one sample to a known series.
    pub fn append_to(&self, series: &MemSeries, t: i64, v: f64) -> Result<bool, AppendError> {
        if t < self
            .min_valid_time
            .load(std::sync::atomic::Ordering::Relaxed)
        {
            return Err(AppendError::OutOfBounds);
        }
        self.append_checked(series, t, v)
    }

    /// Appends to `series` under the out-of-order window rules and advances the head's
    /// newest timestamp.
    fn append_checked(&self, series: &MemSeries, t: i64, v: f64) -> Result<bool, AppendError> {
        use std::sync::atomic::Ordering::Relaxed;
        let window = self.options.out_of_order_window_ms;
        let ooo_min = (window > 0).then(|| self.max_time.load(Relaxed).saturating_sub(window));
        let stored = series.append(t, v, self.options.samples_per_chunk, ooo_min)?;
        if stored {
            self.max_time.fetch_max(t, Relaxed);
        }
        Ok(stored)
    }

    /// Appends one sample; returns whether it was stored (false for an identical duplicate).
    pub fn append(&self, labels: &Labels, t: i64, v: f64) -> Result<bool, AppendError> {
        if t < self
            .min_valid_time
            .load(std::sync::atomic::Ordering::Relaxed)
        {
            return Err(AppendError::OutOfBounds);
        }
        let series = self.get_or_create(labels)?;
        self.append_checked(&series, t, v)
    }

    /// Series matching every matcher, in label order.
    pub fn select(&self, matchers: &[Matcher]) -> Vec<Arc<MemSeries>> {
        let index = self.index.read();
        let mut out: Vec<Arc<MemSeries>> = index
            .postings
            .select(matchers)
            .into_iter()
            .filter_map(|r| index.by_ref.get(&r).cloned())
            .collect();
        drop(index);
        out.sort_by(|a, b| a.labels.cmp(&b.labels));
        out
    }

    /// Cardinality statistics for `/api/v1/status/tsdb`.
    pub fn cardinality(&self) -> Cardinality {
        let index = self.index.read();
        let mut stats = Cardinality {
            num_series: index.by_ref.len(),
            min_time: i64::MAX,
            max_time: i64::MIN,
            ..Cardinality::default()
        };
        for (name, values) in index.postings.iter_labels() {
            stats
                .values_by_label
                .insert(name.to_owned(), values.len() as u64);
            let mut bytes = 0u64;
            for (value, refs) in values {
                stats.num_label_pairs += 1;
                bytes += value.len() as u64;
                stats
                    .series_by_pair
                    .insert(format!("{name}={value}"), refs.len() as u64);
                if name == lgtm_common::labels::METRIC_NAME {
                    stats
                        .series_by_metric
                        .insert(value.to_owned(), refs.len() as u64);
                }
            }
            stats.bytes_by_label.insert(name.to_owned(), bytes);
        }
        for series in index.by_ref.values() {
            let chunks = series.chunks.lock();
            stats.chunk_count += chunks.closed.len() + usize::from(!chunks.open.is_empty());
            if let Some(min) = chunks.closed.first().unwrap_or(&chunks.open).min_time() {
                stats.min_time = stats.min_time.min(min);
            }
            if let Some((max, _)) = chunks.last {
                stats.max_time = stats.max_time.max(max);
            }
        }
        if stats.num_series == 0 || stats.min_time == i64::MAX {
            // Prometheus reports these bounds for an empty head.
            stats.min_time = i64::MAX;
            stats.max_time = i64::MIN;
        }
        stats
    }

    /// Sorted label names across all series.
    pub fn label_names(&self) -> Vec<String> {
        self.index
            .read()
            .postings
            .label_names()
            .map(str::to_owned)
            .collect()
    }

    /// Sorted values of one label across all series.
    pub fn label_values(&self, name: &str) -> Vec<String> {
        self.index
            .read()
            .postings
            .label_values(name)
            .map(str::to_owned)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_collisions_keep_every_series_findable() {
        let series = |r: SeriesRef, name: &str| {
            Arc::new(MemSeries {
                series_ref: r,
                labels: Labels::from_pairs([("__name__", name.to_owned())]),
                chunks: Mutex::new(SeriesChunks::default()),
            })
        };
        let (a, b, c) = (series(1, "a"), series(2, "b"), series(3, "c"));
        let mut map = FingerprintMap::default();
        // Force one fingerprint for all three.
        for s in [&a, &b, &c] {
            map.insert(7, Arc::clone(s));
        }
        for s in [&a, &b, &c] {
            assert_eq!(
                map.find(7, &s.labels).map(|f| f.series_ref),
                Some(s.series_ref)
            );
        }
        assert!(map.find(8, &a.labels).is_none());
        map.remove(7, 1);
        assert!(map.find(7, &a.labels).is_none());
        assert_eq!(map.find(7, &b.labels).map(|f| f.series_ref), Some(2));
        assert_eq!(map.find(7, &c.labels).map(|f| f.series_ref), Some(3));
        map.remove(7, 2);
        map.remove(7, 3);
        assert!(map.first.is_empty() && map.collisions.is_empty());
    }
    use lgtm_common::labels::MatchOp;

    fn up(job: &str) -> Labels {
        Labels::from_pairs([("__name__", "up"), ("job", job)])
    }

    #[test]
    fn out_of_order_window_accepts_late_samples_and_merges_them() {
        let head = Head::new(HeadOptions {
            out_of_order_window_ms: 60_000,
            ..HeadOptions::default()
        });
        let (a, b) = (up("a"), up("b"));
        assert_eq!(head.append(&a, 100_000, 1.0), Ok(true));
        assert_eq!(head.append(&a, 160_000, 2.0), Ok(true));
        // The window is measured from the head's newest sample (any series), as Prometheus does.
        assert_eq!(head.append(&b, 200_000, 9.0), Ok(true));
        assert_eq!(head.append(&a, 150_000, 1.5), Ok(true));
        assert_eq!(head.append(&a, 145_000, -0.0), Ok(true));
        assert_eq!(head.append(&a, 150_000, 1.5), Ok(false));
        assert_eq!(head.append(&a, 150_000, 7.0), Err(AppendError::Duplicate));
        assert_eq!(head.append(&a, 139_999, 1.0), Err(AppendError::OutOfOrder));
        // A timestamp the in-order chunks already hold: the in-order sample is read.
        assert_eq!(head.append(&a, 160_000, 3.0), Err(AppendError::Duplicate));
        let series = head.get_or_create(&a).unwrap();
        let want = vec![
            (100_000, 1.0),
            (145_000, -0.0),
            (150_000, 1.5),
            (160_000, 2.0),
        ];
        assert_eq!(series.samples(i64::MIN, i64::MAX), want);
        assert_eq!(series.samples(146_000, 155_000), vec![(150_000, 1.5)]);
        assert_eq!(series.min_time(), Some(100_000));
        assert_eq!(series.max_time(), Some(160_000));
        // Remote read's XOR chunks carry the merged samples.
        let from_chunks: Vec<(i64, f64)> = series
            .chunks(i64::MIN, i64::MAX)
            .iter()
            .flat_map(|(_, _, bytes)| {
                crate::chunk::XorIter::new(bytes)
                    .map(Result::unwrap)
                    .collect::<Vec<_>>()
            })
            .collect();
        assert_eq!(from_chunks, want);
        // Cutting a block drops out-of-order samples with the rest.
        assert_eq!(series.truncate_before(150_000), 2);
        assert_eq!(
            series.samples(i64::MIN, i64::MAX),
            vec![(150_000, 1.5), (160_000, 2.0)]
        );
        assert_eq!(series.truncate_before(155_000), 1);
        assert!(!series.is_empty());
        // Without a window the same late sample is refused.
        let strict = Head::default();
        strict.append(&a, 160_000, 2.0).unwrap();
        assert_eq!(
            strict.append(&a, 150_000, 1.5),
            Err(AppendError::OutOfOrder)
        );
    }

    #[test]
    fn appends_follow_prometheus_rules() {
        let head = Head::default();
        assert_eq!(head.append(&up("a"), 1000, 1.0), Ok(true));
        assert_eq!(head.append(&up("a"), 1000, 1.0), Ok(false));
        assert_eq!(
            head.append(&up("a"), 1000, 2.0),
            Err(AppendError::Duplicate)
        );
        assert_eq!(
            head.append(&up("a"), 999, 2.0),
            Err(AppendError::OutOfOrder)
        );
        assert_eq!(head.append(&up("a"), 2000, 2.0), Ok(true));
        head.set_min_valid_time(5000);
        assert_eq!(
            head.append(&up("a"), 4000, 2.0),
            Err(AppendError::OutOfBounds)
        );
        assert_eq!(
            head.append(&Labels::from_pairs([("job", "x")]), 9000, 1.0),
            Err(AppendError::EmptyMetricName)
        );
        let series = head.select(&[Matcher::equal("job", "a")]);
        assert_eq!(series.len(), 1);
        assert_eq!(
            series[0].samples(0, i64::MAX),
            vec![(1000, 1.0), (2000, 2.0)]
        );
    }

    #[test]
    fn chunks_are_cut_and_ranges_respected() {
        let head = Head::new(HeadOptions {
            samples_per_chunk: 10,
            ..HeadOptions::default()
        });
        for i in 0..95 {
            head.append(&up("a"), i * 15_000, i as f64).unwrap();
        }
        let series = head.select(&[Matcher::equal("__name__", "up")]);
        let all = series[0].samples(i64::MIN, i64::MAX);
        assert_eq!(all.len(), 95);
        let window = series[0].samples(15_000 * 20, 15_000 * 29);
        assert_eq!(window.len(), 10);
        assert_eq!(window[0], (300_000, 20.0));
    }

    #[test]
    fn select_by_matchers_and_label_lookups() {
        let head = Head::default();
        for job in ["b", "a", "c"] {
            head.append(&up(job), 0, 1.0).unwrap();
        }
        let re = Matcher::new(MatchOp::Regex, "job", "a|c").unwrap();
        let got: Vec<String> = head
            .select(&[re])
            .iter()
            .map(|s| s.labels.to_string())
            .collect();
        assert_eq!(
            got,
            vec![
                r#"{__name__="up", job="a"}"#.to_owned(),
                r#"{__name__="up", job="c"}"#.to_owned()
            ]
        );
        assert_eq!(head.label_names(), vec!["__name__", "job"]);
        assert_eq!(head.label_values("job"), vec!["a", "b", "c"]);
    }

    #[test]
    fn series_limit() {
        let head = Head::new(HeadOptions {
            max_series: 2,
            ..HeadOptions::default()
        });
        head.append(&up("a"), 0, 1.0).unwrap();
        head.append(&up("b"), 0, 1.0).unwrap();
        assert_eq!(
            head.append(&up("c"), 0, 1.0),
            Err(AppendError::SeriesLimit { limit: 2 })
        );
        // Existing series still accept samples.
        assert_eq!(head.append(&up("a"), 1, 1.0), Ok(true));
    }
}
