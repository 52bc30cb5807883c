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
}

impl Default for HeadOptions {
    fn default() -> Self {
        Self {
            samples_per_chunk: DEFAULT_SAMPLES_PER_CHUNK,
            max_series: 0,
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
        out
    }

    /// Encoded chunks overlapping `[mint, maxt]` as `(min_time, max_time, bytes)`, for
    /// streamed remote read (the bytes are Prometheus' XOR chunk format).
    pub fn chunks(&self, mint: i64, maxt: i64) -> Vec<(i64, i64, Vec<u8>)> {
        let chunks = self.chunks.lock();
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
        chunks.closed.iter().map(XorChunk::len).sum::<usize>() + chunks.open.len()
    }

    /// True when the series holds no sample.
    pub fn is_empty(&self) -> bool {
        let chunks = self.chunks.lock();
        chunks.open.is_empty() && chunks.closed.iter().all(XorChunk::is_empty)
    }

    /// Timestamp of the oldest sample.
    pub fn min_time(&self) -> Option<i64> {
        let chunks = self.chunks.lock();
        chunks
            .closed
            .first()
            .and_then(XorChunk::min_time)
            .or_else(|| chunks.open.min_time())
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

    fn append(&self, t: i64, v: f64, samples_per_chunk: usize) -> Result<bool, AppendError> {
        let mut chunks = self.chunks.lock();
        if let Some((last_t, last_bits)) = chunks.last {
            if t < last_t {
                return Err(AppendError::OutOfOrder);
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
            let full = std::mem::take(&mut chunks.open);
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

#[derive(Debug, Default)]
struct HeadIndex {
    by_fingerprint: HashMap<u64, Vec<Arc<MemSeries>>>,
    by_ref: HashMap<SeriesRef, Arc<MemSeries>>,
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
            if let Some(list) = index.by_fingerprint.get_mut(&fingerprint) {
                list.retain(|s| s.series_ref != series.series_ref);
                if list.is_empty() {
                    index.by_fingerprint.remove(&fingerprint);
                }
            }
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
        if let Some(existing) = index
            .by_fingerprint
            .get(&fingerprint)
            .and_then(|list| list.iter().find(|s| &s.labels == labels))
        {
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
            .entry(fingerprint)
            .or_default()
            .push(Arc::clone(&series));
        index.by_ref.insert(series_ref, Arc::clone(&series));
        Ok((series, true))
    }

    fn lookup(&self, fingerprint: u64, labels: &Labels) -> Option<Arc<MemSeries>> {
        self.index
            .read()
            .by_fingerprint
            .get(&fingerprint)
            .and_then(|list| list.iter().find(|s| &s.labels == labels))
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
            .entry(fingerprint)
            .or_default()
            .push(Arc::clone(&series));
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
        series.append(t, v, self.options.samples_per_chunk)
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
        series.append(t, v, self.options.samples_per_chunk)
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
    use lgtm_common::labels::MatchOp;

    fn up(job: &str) -> Labels {
        Labels::from_pairs([("__name__", "up"), ("job", job)])
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
            max_series: 0,
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
