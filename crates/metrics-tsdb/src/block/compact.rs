//! Compaction: which blocks to merge (Prometheus' `LeveledCompactor` planner, `tsdb/compact.go`)
//! and the merge itself, which reads the sources through [`BlockReader::read_series`] and
//! writes through [`write_block`], so whatever chunk encoding those use flows through.
//!
//! Planner rules, in Prometheus' order:
//! 1. overlapping blocks (vertical compaction) are merged first;
//! 2. otherwise, leaving out the newest block, the first group of blocks that falls into one
//!    aligned range of the next level (`2h → 6h → 18h → …`, ×3 per level) and either fills it
//!    or lies before the newest block;
//! 3. otherwise a big enough block with more than 5 % tombstones (or a small one that is
//!    deleted entirely) is rewritten alone.

use std::collections::BTreeMap;
use std::path::Path;

use lgtm_common::blocks::{BlockId, BlockMeta};
use lgtm_common::labels::Labels;

use super::meta::TsdbMeta;
use super::tombstones::{Tombstones, remove_deleted};
use super::{BlockError, BlockReader, WrittenStats, write_block};

/// Prometheus' cap on the largest block: 31 days.
pub const MAX_BLOCK_DURATION_MS: i64 = 31 * 24 * 3600 * 1000;

/// The block ranges of each level: `ExponentialBlockRanges(min, 10, 3)` cut at `max`
/// (Prometheus: 10 % of the retention time, at most 31 days). The first entry is the head's
/// block range.
pub fn block_ranges(min_range: i64, max_block_duration: i64) -> Vec<i64> {
    let mut out = Vec::with_capacity(10);
    let mut range = min_range.max(1);
    for _ in 0..10 {
        if !out.is_empty() && range > max_block_duration {
            break;
        }
        out.push(range);
        range = range.saturating_mul(3);
    }
    out
}

/// The largest block Prometheus builds for a retention time (0 = none): a tenth of it, at
/// most 31 days.
pub fn max_block_duration(retention_ms: i64) -> i64 {
    if retention_ms > 0 {
        (retention_ms / 10).min(MAX_BLOCK_DURATION_MS)
    } else {
        MAX_BLOCK_DURATION_MS
    }
}

/// What the planner needs to know about a block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlanBlock {
    /// Its id.
    pub ulid: BlockId,
    /// First timestamp.
    pub min_time: i64,
    /// Exclusive end.
    pub max_time: i64,
    /// Series in it.
    pub num_series: u64,
    /// Deleted intervals recorded for it.
    pub num_tombstones: u64,
}

/// The blocks to compact next (in time order), or empty when there is nothing to do.
pub fn plan(blocks: &[PlanBlock], ranges: &[i64]) -> Vec<BlockId> {
    let mut blocks = blocks.to_vec();
    blocks.sort_by_key(|b| (b.min_time, b.ulid));
    let overlapping = select_overlapping(&blocks);
    if !overlapping.is_empty() {
        return overlapping;
    }
    // The newest block is left alone: it was just cut from the head.
    let Some((_, older)) = blocks.split_last() else {
        return Vec::new();
    };
    let selected = select_range(older, ranges);
    if !selected.is_empty() {
        return selected;
    }
    let half = ranges.get(ranges.len() / 2).copied().unwrap_or(i64::MAX);
    for b in older.iter().rev() {
        if b.max_time - b.min_time < half {
            if b.num_tombstones > 0 && b.num_tombstones >= b.num_series {
                return vec![b.ulid];
            }
            break;
        }
        if b.num_tombstones as f64 / (b.num_series + 1) as f64 > 0.05 {
            return vec![b.ulid];
        }
    }
    Vec::new()
}

/// The first run of blocks overlapping in time (`selectOverlappingDirs`).
fn select_overlapping(blocks: &[PlanBlock]) -> Vec<BlockId> {
    let mut out = Vec::new();
    let Some(first) = blocks.first() else {
        return out;
    };
    let mut global_max = first.max_time;
    for (i, b) in blocks.iter().enumerate().skip(1) {
        if b.min_time < global_max {
            if out.is_empty() {
                out.push(blocks[i - 1].ulid);
            }
            out.push(b.ulid);
        } else if !out.is_empty() {
            break;
        }
        global_max = global_max.max(b.max_time);
    }
    out
}

/// `selectDirs`: for each level above the first, the first aligned group of more than one
/// block that fills its range or ends before the newest block starts.
fn select_range(blocks: &[PlanBlock], ranges: &[i64]) -> Vec<BlockId> {
    let Some(last) = blocks.last() else {
        return Vec::new();
    };
    let high_time = last.min_time;
    for &range in ranges.iter().skip(1) {
        for group in split_by_range(blocks, range) {
            let (Some(first), Some(end)) = (group.first(), group.last()) else {
                continue;
            };
            let (mint, maxt) = (first.min_time, end.max_time);
            if (maxt - mint == range || maxt <= high_time) && group.len() > 1 {
                return group.iter().map(|b| b.ulid).collect();
            }
        }
    }
    Vec::new()
}

/// Groups consecutive blocks by the aligned range of length `range` they fall into; blocks
/// wider than their range are skipped (`splitByRange`).
fn split_by_range(blocks: &[PlanBlock], range: i64) -> Vec<&[PlanBlock]> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < blocks.len() {
        let t0 = blocks[i].min_time.div_euclid(range) * range;
        if blocks[i].max_time > t0 + range {
            i += 1;
            continue;
        }
        let start = i;
        while i < blocks.len() && blocks[i].max_time <= t0 + range {
            i += 1;
        }
        if i > start {
            out.push(&blocks[start..i]);
        }
    }
    out
}

/// Metadata of the block compacted from `parents` (`CompactBlockMetas`): their combined
/// range, one level above the highest, the union of their sources, and the parents listed.
pub fn compacted_meta(ulid: BlockId, parents: &[&TsdbMeta]) -> TsdbMeta {
    let mut meta = BlockMeta::new(ulid, i64::MAX, i64::MIN);
    meta.compaction.level = 0;
    meta.compaction.sources.clear();
    let mut out = TsdbMeta::new(meta);
    for p in parents {
        out.meta.min_time = out.meta.min_time.min(p.meta.min_time);
        out.meta.max_time = out.meta.max_time.max(p.meta.max_time);
        out.meta.compaction.level = out.meta.compaction.level.max(p.meta.compaction.level);
        out.meta
            .compaction
            .sources
            .extend(p.meta.compaction.sources.iter().copied());
        out.parents.push(p.desc());
    }
    out.meta.compaction.level += 1;
    out.meta.compaction.sources.sort();
    out.meta.compaction.sources.dedup();
    out
}

/// Writes the merge of `sources` (each block with its tombstones) into `dir`: every series
/// once, samples from all sources in time order, a timestamp present in several sources taken
/// from the first, deleted samples left out. Series left without samples are dropped.
pub fn merge_into(
    dir: &Path,
    sources: &[(&BlockReader, &Tombstones)],
) -> Result<WrittenStats, BlockError> {
    let mut merged: BTreeMap<Labels, Vec<(i64, f64)>> = BTreeMap::new();
    for (reader, tombstones) in sources {
        for (labels, mut samples) in reader.select(&[], i64::MIN, i64::MAX)? {
            remove_deleted(&mut samples, tombstones.get(&labels));
            merged.entry(labels).or_default().extend(samples);
        }
    }
    write_block(
        dir,
        merged.into_iter().map(|(labels, mut samples)| {
            // Stable: the first source's sample wins on equal timestamps.
            samples.sort_by_key(|s| s.0);
            samples.dedup_by_key(|s| s.0);
            (labels, samples)
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = 3_600_000;

    fn b(n: u128, min: i64, max: i64) -> PlanBlock {
        PlanBlock {
            ulid: BlockId::from_parts(n as u64, n),
            min_time: min,
            max_time: max,
            num_series: 10,
            num_tombstones: 0,
        }
    }

    fn ids(blocks: &[PlanBlock]) -> Vec<BlockId> {
        blocks.iter().map(|b| b.ulid).collect()
    }

    #[test]
    fn ranges_follow_prometheus() {
        // 15d retention: max block 36h, so 2h, 6h, 18h.
        assert_eq!(
            block_ranges(2 * H, max_block_duration(15 * 24 * H)),
            vec![2 * H, 6 * H, 18 * H]
        );
        assert_eq!(max_block_duration(0), MAX_BLOCK_DURATION_MS);
        let long = block_ranges(2 * H, max_block_duration(365 * 24 * H));
        assert_eq!(long.last(), Some(&(486 * H)), "{long:?}");
        // A retention shorter than 10 block ranges: no compaction levels at all.
        assert_eq!(block_ranges(2 * H, max_block_duration(10 * H)), vec![2 * H]);
    }

    #[test]
    fn plans_like_the_leveled_compactor() {
        let ranges = block_ranges(2 * H, 36 * H);
        // Cases from Prometheus' `TestLeveledCompactor_plan`.
        assert!(plan(&[], &ranges).is_empty());
        assert!(plan(&[b(1, 0, 2 * H)], &ranges).is_empty());
        // Two blocks filling 6h are left alone while the newest is excluded.
        let two = [b(1, 0, 2 * H), b(2, 2 * H, 4 * H)];
        assert!(plan(&two, &ranges).is_empty());
        let three = [b(1, 0, 2 * H), b(2, 2 * H, 4 * H), b(3, 4 * H, 6 * H)];
        assert!(
            plan(&three, &ranges).is_empty(),
            "the newest block is never picked"
        );
        let four = [
            b(1, 0, 2 * H),
            b(2, 2 * H, 4 * H),
            b(3, 4 * H, 6 * H),
            b(4, 6 * H, 8 * H),
        ];
        assert_eq!(plan(&four, &ranges), ids(&four[..3]));
        // A group that ends before the newest block is compacted even with gaps.
        let gap = [b(1, 0, 2 * H), b(2, 4 * H, 6 * H), b(4, 12 * H, 14 * H)];
        assert_eq!(plan(&gap, &ranges), ids(&gap[..2]));
        // Level 2 into 18h once three 6h blocks fill it.
        let level2 = [
            b(1, 0, 6 * H),
            b(2, 6 * H, 12 * H),
            b(3, 12 * H, 18 * H),
            b(4, 18 * H, 20 * H),
        ];
        assert_eq!(plan(&level2, &ranges), ids(&level2[..3]));
        // Blocks already at the largest range are not compacted further.
        let top = [b(1, 0, 18 * H), b(2, 18 * H, 36 * H), b(3, 36 * H, 38 * H)];
        assert!(plan(&top, &ranges).is_empty());
    }

    #[test]
    fn overlapping_blocks_first() {
        let ranges = block_ranges(2 * H, 36 * H);
        let blocks = [
            b(1, 0, 2 * H),
            b(2, 2 * H, 4 * H),
            b(3, 3 * H, 5 * H),
            b(4, 10 * H, 12 * H),
        ];
        assert_eq!(plan(&blocks, &ranges), ids(&blocks[1..3]));
        let nested = [b(1, 0, 6 * H), b(2, H, 2 * H), b(3, 5 * H, 7 * H)];
        assert_eq!(plan(&nested, &ranges), ids(&nested));
    }

    #[test]
    fn tombstone_heavy_blocks_are_rewritten() {
        let ranges = block_ranges(2 * H, 36 * H);
        let mut big = b(1, 0, 18 * H);
        big.num_tombstones = 2;
        let newest = b(2, 18 * H, 20 * H);
        assert_eq!(plan(&[big, newest], &ranges), vec![big.ulid]);
        // A small block only when fully deleted.
        let mut small = b(1, 0, 2 * H);
        small.num_tombstones = 5;
        assert!(plan(&[small, newest], &ranges).is_empty());
        small.num_tombstones = 10;
        assert_eq!(plan(&[small, newest], &ranges), vec![small.ulid]);
    }

    #[test]
    fn compacted_meta_combines_lineage() {
        let a = TsdbMeta::new(BlockMeta::new(BlockId::from_parts(1, 1), 0, 2 * H));
        let mut bm = BlockMeta::new(BlockId::from_parts(2, 2), 2 * H, 6 * H);
        bm.compaction.level = 2;
        bm.compaction.sources = vec![BlockId::from_parts(0, 9), BlockId::from_parts(2, 2)];
        let bb = TsdbMeta::new(bm);
        let out = compacted_meta(BlockId::from_parts(3, 3), &[&a, &bb]);
        assert_eq!((out.meta.min_time, out.meta.max_time), (0, 6 * H));
        assert_eq!(out.meta.compaction.level, 3);
        assert_eq!(
            out.meta.compaction.sources,
            vec![
                BlockId::from_parts(0, 9),
                BlockId::from_parts(1, 1),
                BlockId::from_parts(2, 2)
            ]
        );
        assert_eq!(out.parents, vec![a.desc(), bb.desc()]);
    }

    #[test]
    fn merge_dedups_overlaps_and_drops_deleted_samples() {
        let tmp = tempfile::tempdir().unwrap();
        let (d1, d2, out) = (
            tmp.path().join("1"),
            tmp.path().join("2"),
            tmp.path().join("out"),
        );
        let x = Labels::from_pairs([("__name__", "x")]);
        let y = Labels::from_pairs([("__name__", "y")]);
        write_block(
            &d1,
            vec![
                (x.clone(), vec![(0, 0.0), (10, 1.0), (20, 2.0)]),
                (y.clone(), vec![(5, 5.0)]),
            ],
        )
        .unwrap();
        write_block(&d2, vec![(x.clone(), vec![(20, 9.0), (30, 3.0)])]).unwrap();
        let (r1, r2) = (
            BlockReader::open(&d1).unwrap(),
            BlockReader::open(&d2).unwrap(),
        );
        let mut t1 = Tombstones::default();
        t1.add(&x, (10, 10));
        t1.add(&y, (0, 100));
        let none = Tombstones::default();
        let stats = merge_into(&out, &[(&r1, &t1), (&r2, &none)]).unwrap();
        assert_eq!(stats.series, 1);
        let merged = BlockReader::open(&out).unwrap();
        let all = merged.select(&[], i64::MIN, i64::MAX).unwrap();
        assert_eq!(all, vec![(x, vec![(0, 0.0), (20, 2.0), (30, 3.0)])]);
    }
}
