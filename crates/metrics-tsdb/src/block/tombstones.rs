//! Deletion marks (`/api/v1/admin/tsdb/delete_series`): closed time intervals per series that
//! reads skip until compaction or `clean_tombstones` rewrites the data without them.
//!
//! A block keeps them in its `tombstones` file, in Prometheus' layout (`tsdb/docs/format/
//! tombstones.md`): magic `0x0130BA30` (4 bytes, big endian), version `1`, then one record per
//! interval `series ref (uvarint), mint (varint), maxt (varint)` in reference order, then a
//! CRC32C of the records. The references are positions in this store's block index. The head
//! keeps its marks keyed by labels in `<storage.tsdb.path>/head.tombstones` (same layout with
//! the labels spelled out), applied when the head is cut into a block.

use lgtm_common::varint::{put_uvarint, put_varint};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use lgtm_common::labels::{Label, Labels};

use super::{BlockError, BlockReader};
use crate::index::SeriesRef;

/// File name of a block's tombstones.
pub const TOMBSTONES_FILE: &str = "tombstones";
/// File name of the head's tombstones, in the data directory.
pub const HEAD_TOMBSTONES_FILE: &str = "head.tombstones";
const MAGIC: u32 = 0x0130_BA30;
const HEAD_MAGIC: u32 = 0x0130_BA31;
const VERSION: u8 = 1;

/// A closed interval `[mint, maxt]` of deleted timestamps (ms).
pub type Interval = (i64, i64);

/// Adds `iv` to sorted, disjoint `list`, merging overlapping and adjacent intervals as
/// Prometheus' `Intervals.Add` does.
pub fn add_interval(list: &mut Vec<Interval>, iv: Interval) {
    if iv.0 > iv.1 {
        return;
    }
    list.push(iv);
    list.sort_unstable();
    let mut merged: Vec<Interval> = Vec::with_capacity(list.len());
    for &(a, b) in list.iter() {
        match merged.last_mut() {
            Some(last) if a <= last.1.saturating_add(1) => last.1 = last.1.max(b),
            _ => merged.push((a, b)),
        }
    }
    *list = merged;
}

/// Whether `t` falls in one of the sorted intervals.
pub fn is_deleted(list: &[Interval], t: i64) -> bool {
    let i = list.partition_point(|iv| iv.1 < t);
    list.get(i).is_some_and(|iv| iv.0 <= t)
}

/// Drops the samples the intervals delete.
pub fn remove_deleted(samples: &mut Vec<(i64, f64)>, list: &[Interval]) {
    if !list.is_empty() {
        samples.retain(|s| !is_deleted(list, s.0));
    }
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn uvarint(&mut self) -> Option<u64> {
        lgtm_common::varint::read_uvarint(self.buf, &mut self.pos)
    }

    fn varint(&mut self) -> Option<i64> {
        lgtm_common::varint::read_varint(self.buf, &mut self.pos)
    }

    fn string(&mut self) -> Option<String> {
        let len = usize::try_from(self.uvarint()?).ok()?;
        let end = self.pos.checked_add(len).filter(|&e| e <= self.buf.len())?;
        let s = std::str::from_utf8(&self.buf[self.pos..end])
            .ok()?
            .to_owned();
        self.pos = end;
        Some(s)
    }

    fn done(&self) -> bool {
        self.pos >= self.buf.len()
    }
}

/// Frames `records` with magic, version and checksum.
fn frame(magic: u32, records: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(records.len() + 9);
    out.extend_from_slice(&magic.to_be_bytes());
    out.push(VERSION);
    out.extend_from_slice(records);
    out.extend_from_slice(&crc32c::crc32c(records).to_be_bytes());
    out
}

/// Checks the framing and returns the records, or why the file is unusable.
fn unframe(magic: u32, data: &[u8]) -> Result<&[u8], &'static str> {
    if data.len() < 9 || data[..4] != magic.to_be_bytes() {
        return Err("bad tombstones magic");
    }
    if data[4] != VERSION {
        return Err("unknown tombstones version");
    }
    let (records, crc) = data[5..].split_at(data.len() - 9);
    if crc32c::crc32c(records).to_be_bytes() != crc {
        return Err("tombstones checksum mismatch");
    }
    Ok(records)
}

/// Writes `data` to `path` so that a crash leaves either the old or the new file: a
/// temporary file, fsynced, renamed over the target, then the directory fsynced.
pub(crate) fn write_atomically(path: &Path, data: &[u8]) -> Result<(), BlockError> {
    let io = |p: &Path| {
        let p = p.to_path_buf();
        move |source| BlockError::Io { path: p, source }
    };
    let tmp = path.with_extension("tmp");
    let mut file = std::fs::File::create(&tmp).map_err(io(&tmp))?;
    file.write_all(data).map_err(io(&tmp))?;
    file.sync_all().map_err(io(&tmp))?;
    drop(file);
    std::fs::rename(&tmp, path).map_err(io(path))?;
    if let Some(parent) = path.parent() {
        std::fs::File::open(parent)
            .and_then(|d| d.sync_all())
            .map_err(io(parent))?;
    }
    Ok(())
}

fn corrupt(path: PathBuf, reason: &'static str) -> BlockError {
    BlockError::Corrupt { path, reason }
}

/// Deleted intervals by series labels: a block's (stored by reference in its `tombstones`
/// file) or the head's (stored with the labels spelled out).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Tombstones {
    by_labels: BTreeMap<Labels, Vec<Interval>>,
}

fn read_optional(path: &Path) -> Result<Option<Vec<u8>>, BlockError> {
    match std::fs::read(path) {
        Ok(d) => Ok(Some(d)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(BlockError::Io {
            path: path.to_path_buf(),
            source,
        }),
    }
}

impl Tombstones {
    /// Marks `[mint, maxt]` of the series `labels` deleted.
    pub fn add(&mut self, labels: &Labels, iv: Interval) {
        if iv.0 > iv.1 {
            return;
        }
        add_interval(self.by_labels.entry(labels.clone()).or_default(), iv);
    }

    /// The deleted intervals of a series (sorted, disjoint).
    pub fn get(&self, labels: &Labels) -> &[Interval] {
        self.by_labels.get(labels).map_or(&[], Vec::as_slice)
    }

    /// Whether nothing is deleted.
    pub fn is_empty(&self) -> bool {
        self.by_labels.is_empty()
    }

    /// Number of intervals (Prometheus' `numTombstones`).
    pub fn total(&self) -> u64 {
        self.by_labels.values().map(|l| l.len() as u64).sum()
    }

    /// Forgets every interval ending before `t` (the head's data before `t` left it).
    pub fn drop_before(&mut self, t: i64) {
        self.by_labels.retain(|_, list| {
            list.retain(|iv| iv.1 >= t);
            !list.is_empty()
        });
    }

    /// Reads the `tombstones` file of the block `reader` (missing: nothing deleted).
    pub fn read_block(reader: &BlockReader) -> Result<Self, BlockError> {
        let path = reader.dir().join(TOMBSTONES_FILE);
        let Some(data) = read_optional(&path)? else {
            return Ok(Self::default());
        };
        let records = unframe(MAGIC, &data).map_err(|r| corrupt(path.clone(), r))?;
        let mut r = Reader {
            buf: records,
            pos: 0,
        };
        let mut out = Self::default();
        while !r.done() {
            let (Some(series), Some(mint), Some(maxt)) = (r.uvarint(), r.varint(), r.varint())
            else {
                return Err(corrupt(path, "truncated tombstone record"));
            };
            let labels = reader
                .series_labels(series)
                .ok_or_else(|| corrupt(path.clone(), "tombstone for an unknown series"))?;
            out.add(labels, (mint, maxt));
        }
        Ok(out)
    }

    /// Replaces the `tombstones` file of the block `reader` atomically; returns its size.
    pub fn write_block(&self, reader: &BlockReader) -> Result<u64, BlockError> {
        let mut by_ref: BTreeMap<SeriesRef, &Vec<Interval>> = BTreeMap::new();
        for (labels, list) in &self.by_labels {
            if let Some(r) = reader.series_ref(labels) {
                by_ref.insert(r, list);
            }
        }
        let mut records = Vec::new();
        for (r, list) in by_ref {
            for &(mint, maxt) in list {
                put_uvarint(&mut records, r);
                put_varint(&mut records, mint);
                put_varint(&mut records, maxt);
            }
        }
        let data = frame(MAGIC, &records);
        write_atomically(&reader.dir().join(TOMBSTONES_FILE), &data)?;
        Ok(data.len() as u64)
    }

    /// Reads `head.tombstones` from the data directory (missing: nothing deleted).
    pub fn read_head(data_dir: &Path) -> Result<Self, BlockError> {
        let path = data_dir.join(HEAD_TOMBSTONES_FILE);
        let Some(data) = read_optional(&path)? else {
            return Ok(Self::default());
        };
        let records = unframe(HEAD_MAGIC, &data).map_err(|r| corrupt(path.clone(), r))?;
        let mut r = Reader {
            buf: records,
            pos: 0,
        };
        let mut out = Self::default();
        while !r.done() {
            let bad = || corrupt(path.clone(), "truncated head tombstone record");
            let n = r.uvarint().ok_or_else(bad)?;
            let mut labels = Vec::with_capacity(n.min(256) as usize);
            for _ in 0..n {
                let name = r.string().ok_or_else(bad)?;
                let value = r.string().ok_or_else(bad)?;
                labels.push(Label { name, value });
            }
            let labels = Labels::from_labels(labels);
            let k = r.uvarint().ok_or_else(bad)?;
            for _ in 0..k {
                let (Some(mint), Some(maxt)) = (r.varint(), r.varint()) else {
                    return Err(bad());
                };
                out.add(&labels, (mint, maxt));
            }
        }
        Ok(out)
    }

    /// Replaces `head.tombstones` in the data directory atomically (removes it when empty).
    pub fn write_head(&self, data_dir: &Path) -> Result<(), BlockError> {
        let path = data_dir.join(HEAD_TOMBSTONES_FILE);
        if self.is_empty() {
            return match std::fs::remove_file(&path) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(source) => Err(BlockError::Io { path, source }),
            };
        }
        let mut records = Vec::new();
        for (labels, list) in &self.by_labels {
            put_uvarint(&mut records, labels.len() as u64);
            for label in labels.iter() {
                for s in [&label.name, &label.value] {
                    put_uvarint(&mut records, s.len() as u64);
                    records.extend_from_slice(s.as_bytes());
                }
            }
            put_uvarint(&mut records, list.len() as u64);
            for &(mint, maxt) in list {
                put_varint(&mut records, mint);
                put_varint(&mut records, maxt);
            }
        }
        write_atomically(&path, &frame(HEAD_MAGIC, &records))
    }
}

/// Series-level access the deletion code needs; labels and chunk time ranges only, never
/// chunk bytes.
impl BlockReader {
    /// Labels of series `r` (its position in the index).
    pub fn series_labels(&self, r: SeriesRef) -> Option<&Labels> {
        self.series.get(r as usize).map(|(labels, _)| labels)
    }

    /// The reference of the series with exactly these labels.
    pub fn series_ref(&self, labels: &Labels) -> Option<SeriesRef> {
        self.series
            .binary_search_by(|(l, _)| l.cmp(labels))
            .ok()
            .map(|i| i as SeriesRef)
    }

    /// Whether series `r` has a chunk overlapping `[mint, maxt]`: Prometheus records a
    /// tombstone only for series with data in the deleted interval.
    pub fn has_data_in(&self, r: SeriesRef, mint: i64, maxt: i64) -> bool {
        self.series
            .get(r as usize)
            .is_some_and(|(_, refs)| refs.iter().any(|c| c.max >= mint && c.min <= maxt))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_merge_like_prometheus() {
        let mut list = Vec::new();
        add_interval(&mut list, (10, 20));
        add_interval(&mut list, (30, 40));
        assert_eq!(list, vec![(10, 20), (30, 40)]);
        // Adjacent (21 follows 20) merges, as in `Intervals.Add`.
        add_interval(&mut list, (21, 25));
        assert_eq!(list, vec![(10, 25), (30, 40)]);
        add_interval(&mut list, (5, 35));
        assert_eq!(list, vec![(5, 40)]);
        assert!(is_deleted(&list, 5) && is_deleted(&list, 40));
        assert!(!is_deleted(&list, 4) && !is_deleted(&list, 41));
        let mut samples = vec![(1, 1.0), (5, 2.0), (41, 3.0)];
        remove_deleted(&mut samples, &list);
        assert_eq!(samples, vec![(1, 1.0), (41, 3.0)]);
        add_interval(&mut list, (i64::MIN, i64::MAX));
        assert_eq!(list, vec![(i64::MIN, i64::MAX)]);
    }

    #[test]
    fn block_tombstones_round_trip_and_detect_damage() {
        let dir = tempfile::tempdir().unwrap();
        let x = Labels::from_pairs([("__name__", "x")]);
        let y = Labels::from_pairs([("__name__", "y")]);
        super::super::write_block(
            dir.path(),
            vec![(y.clone(), vec![(1, 1.0)]), (x.clone(), vec![(1, 1.0)])],
        )
        .unwrap();
        let reader = BlockReader::open(dir.path()).unwrap();
        assert_eq!(reader.series_ref(&y), Some(1));
        assert!(Tombstones::read_block(&reader).unwrap().is_empty());
        let mut t = Tombstones::default();
        t.add(&y, (-5, 100));
        t.add(&y, (200, 300));
        t.add(&x, (i64::MIN, i64::MAX));
        t.write_block(&reader).unwrap();
        let back = Tombstones::read_block(&reader).unwrap();
        assert_eq!(back, t);
        assert_eq!(back.total(), 3);
        let data = std::fs::read(dir.path().join(TOMBSTONES_FILE)).unwrap();
        assert_eq!(
            &data[..5],
            &[0x01, 0x30, 0xBA, 0x30, 1],
            "Prometheus' magic"
        );
        // First record: series 0 (x), then its interval.
        assert_eq!(data[5], 0);
        let mut bad = data.clone();
        bad[6] ^= 1;
        std::fs::write(dir.path().join(TOMBSTONES_FILE), bad).unwrap();
        assert!(Tombstones::read_block(&reader).is_err());
    }

    #[test]
    fn head_tombstones_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let a = Labels::from_pairs([("__name__", "up"), ("job", "a")]);
        let b = Labels::from_pairs([("__name__", "up"), ("job", "b")]);
        let mut t = Tombstones::default();
        t.add(&a, (0, 10));
        t.add(&b, (5, 50));
        t.write_head(dir.path()).unwrap();
        assert_eq!(Tombstones::read_head(dir.path()).unwrap(), t);
        t.drop_before(20);
        assert!(t.get(&a).is_empty());
        assert_eq!(t.get(&b), &[(5, 50)]);
        Tombstones::default().write_head(dir.path()).unwrap();
        assert!(!dir.path().join(HEAD_TOMBSTONES_FILE).exists());
        assert!(Tombstones::read_head(dir.path()).unwrap().is_empty());
    }
}
