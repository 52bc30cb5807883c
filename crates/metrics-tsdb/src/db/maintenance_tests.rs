//! Compaction, crash states, retention by size, deletion and limits, against real files.

use std::path::Path;

use lgtm_common::labels::{Labels, Matcher};

use super::*;
use crate::block::tombstones::{HEAD_TOMBSTONES_FILE, TOMBSTONES_FILE};

fn series(job: &str, samples: &[(i64, f64)]) -> SeriesSamples {
    SeriesSamples {
        labels: Labels::from_pairs([("__name__", "up"), ("job", job)]),
        samples: samples.to_vec(),
    }
}

fn options(dir: &Path) -> DbOptions {
    let mut o = DbOptions::new(dir);
    o.block_range_ms = 10_000;
    // No time retention: blocks compact up to 31 days.
    o.retention_ms = 0;
    o
}

fn every_second(from: i64, to: i64) -> Vec<(i64, f64)> {
    (from..to)
        .map(|s| (s * 1000, (s * 7 % 13) as f64))
        .collect()
}

fn read(db: &Db, job: &str) -> Vec<(i64, f64)> {
    db.select(&[Matcher::equal("job", job)], i64::MIN, i64::MAX)
        .unwrap()
        .into_iter()
        .next()
        .map(|s| s.1)
        .unwrap_or_default()
}

fn ranges(db: &Db) -> Vec<(i64, i64, u32)> {
    db.blocks()
        .iter()
        .map(|b| (b.meta.min_time, b.meta.max_time, b.meta.compaction.level))
        .collect()
}

/// Names in `<dir>/blocks`, sorted.
fn block_dirs(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir.join("blocks"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

#[tokio::test]
async fn blocks_compact_level_by_level_with_lineage_and_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let expected = every_second(0, 200);
    let level1: Vec<BlockId>;
    {
        let (db, _) = Db::open(options(dir.path())).unwrap();
        assert_eq!(db.ranges[..3], [10_000, 30_000, 90_000]);
        db.append(&[series("a", &expected), series("b", &expected[..50])])
            .await
            .unwrap();
        let report = db.maintain(200_000).await.unwrap();
        // 19 blocks of 10 s are cut (the head keeps 190..199 s), then compacted: 30 s blocks
        // three at a time, then 90 s blocks; the newest block stays alone.
        assert_eq!(report.blocks_written, 19);
        assert_eq!(
            ranges(&db),
            vec![(0, 90_000, 3), (90_000, 180_000, 3), (180_000, 190_000, 1)]
        );
        assert_eq!(report.compactions, 6 + 2, "{report:?}");
        assert_eq!(db.metrics().compactions.get(), 8);
        let first = &db.blocks()[0];
        assert_eq!(first.meta.compaction.sources.len(), 9);
        assert_eq!(first.parents.len(), 3);
        assert_eq!(
            first
                .parents
                .iter()
                .map(|p| (p.min_time, p.max_time))
                .collect::<Vec<_>>(),
            vec![(0, 30_000), (30_000, 60_000), (60_000, 90_000)]
        );
        assert_eq!(first.meta.stats.num_samples, Some(90 + 50));
        level1 = first.meta.compaction.sources.clone();
        assert_eq!(read(&db, "a"), expected);
        assert_eq!(read(&db, "b"), expected[..50].to_vec());
        // meta.json on disk carries Prometheus' fields.
        let json: serde_json::Value =
            serde_json::from_slice(&std::fs::read(first.reader.dir().join("meta.json")).unwrap())
                .unwrap();
        assert_eq!(json["compaction"]["level"], 3);
        assert_eq!(json["compaction"]["parents"].as_array().unwrap().len(), 3);
        assert_eq!(json["compaction"]["sources"].as_array().unwrap().len(), 9);
    }
    // Only the three blocks remain on disk; nothing half-written.
    assert_eq!(block_dirs(dir.path()).len(), 3);
    let (db, _) = Db::open(options(dir.path())).unwrap();
    assert_eq!(db.blocks()[0].meta.compaction.sources, level1);
    assert_eq!(read(&db, "a"), expected);
    assert_eq!(db.maintain(200_000).await.unwrap().compactions, 0);
}

#[tokio::test]
async fn overlapping_blocks_are_merged_vertically() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = Db::open(options(dir.path())).unwrap();
    // Two blocks over the same range, written directly (as an import or a second writer
    // would), with one sample in both.
    for (id, samples) in [
        (1u128, vec![(1000, 1.0), (2000, 2.0)]),
        (2, vec![(2000, 2.0), (3000, 3.0)]),
    ] {
        let ulid = BlockId::from_parts(id as u64, id);
        let target = dir.path().join("blocks").join(ulid.to_string());
        write_block(&target, vec![(Labels::from_pairs([("job", "x")]), samples)]).unwrap();
        TsdbMeta::new(BlockMeta::new(ulid, 0, 10_000))
            .write(&target)
            .unwrap();
    }
    drop(db);
    let (db, _) = Db::open(options(dir.path())).unwrap();
    assert_eq!(db.blocks().len(), 2);
    assert_eq!(db.maintain(0).await.unwrap().compactions, 1);
    assert_eq!(ranges(&db), vec![(0, 10_000, 2)]);
    assert_eq!(read(&db, "x"), vec![(1000, 1.0), (2000, 2.0), (3000, 3.0)]);
}

#[tokio::test]
async fn a_crash_at_any_step_of_compaction_leaves_a_readable_store() {
    let dir = tempfile::tempdir().unwrap();
    let saved = tempfile::tempdir().unwrap();
    let expected = every_second(0, 55);
    let mut opts = options(dir.path());
    // First cut four 10 s blocks without compacting them.
    opts.max_block_duration_ms = 10_000;
    {
        let (db, _) = Db::open(opts.clone()).unwrap();
        db.append(&[series("a", &expected)]).await.unwrap();
        db.maintain(55_000).await.unwrap();
        assert_eq!(db.blocks().len(), 4);
    }
    let sources = block_dirs(dir.path());
    for name in &sources {
        copy_dir(
            &dir.path().join("blocks").join(name),
            &saved.path().join(name),
        );
    }
    // With 30 s blocks allowed, [0, 30 s) is full: its three blocks compact.
    let opts = options(dir.path());
    {
        let (db, _) = Db::open(opts.clone()).unwrap();
        assert_eq!(db.maintain(55_000).await.unwrap().compactions, 1);
        assert_eq!(ranges(&db), vec![(0, 30_000, 2), (30_000, 40_000, 1)]);
    }
    let compacted = block_dirs(dir.path());
    let new_block: Vec<&String> = compacted.iter().filter(|n| !sources.contains(n)).collect();
    assert_eq!(new_block.len(), 1);
    let new_block = new_block[0].clone();

    // Crash after the new block was renamed into place, before its sources were deleted:
    // the sources are back; opening deletes them because the new block names them parents.
    for name in &sources {
        copy_dir(
            &saved.path().join(name),
            &dir.path().join("blocks").join(name),
        );
    }
    {
        let (db, _) = Db::open(opts.clone()).unwrap();
        assert_eq!(ranges(&db), vec![(0, 30_000, 2), (30_000, 40_000, 1)]);
        assert_eq!(read(&db, "a"), expected);
    }
    assert_eq!(block_dirs(dir.path()), compacted);

    // Crash while the new block was being written: a `.tmp` directory next to intact
    // sources. Opening removes the leftover; the sources still answer.
    std::fs::remove_dir_all(dir.path().join("blocks").join(&new_block)).unwrap();
    for name in &sources {
        copy_dir(
            &saved.path().join(name),
            &dir.path().join("blocks").join(name),
        );
    }
    let partial = dir.path().join("blocks").join(format!("{new_block}.tmp"));
    std::fs::create_dir_all(&partial).unwrap();
    std::fs::write(partial.join("chunks"), b"half a block").unwrap();
    let (db, _) = Db::open(opts).unwrap();
    assert_eq!(block_dirs(dir.path()), sources);
    assert_eq!(read(&db, "a"), expected);
    // And the next pass compacts again.
    assert_eq!(db.maintain(55_000).await.unwrap().compactions, 1);
    assert_eq!(read(&db, "a"), expected);
}

#[tokio::test]
async fn size_retention_deletes_oldest_blocks_beyond_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let mut opts = options(dir.path());
    opts.max_block_duration_ms = 10_000;
    let (mut db, _) = Db::open(opts).unwrap();
    db.append(&[series("a", &every_second(0, 45))])
        .await
        .unwrap();
    db.maintain(45_000).await.unwrap();
    let blocks = db.blocks();
    assert_eq!(blocks.len(), 3);
    let wal = retention::dir_size(&db.dir().join("wal"));
    assert!(wal > 0, "the WAL counts towards the limit");
    // Room for the WAL and the two newest blocks only.
    db.retention_bytes = wal + blocks[1].size_bytes() + blocks[2].size_bytes();
    let report = db.maintain(45_000).await.unwrap();
    assert_eq!(report.blocks_deleted_by_size, 1);
    assert_eq!(db.metrics().size_retentions.get(), 1);
    assert_eq!(ranges(&db), vec![(10_000, 20_000, 1), (20_000, 30_000, 1)]);
    assert!(!blocks[0].reader.dir().exists());
    assert_eq!(read(&db, "a").first().map(|s| s.0), Some(10_000));
    // Within the limit now: nothing more goes.
    assert_eq!(db.maintain(45_000).await.unwrap().blocks_deleted, 0);
    assert_eq!(db.metrics().size_retentions.get(), 1);
    // One byte less than blocks + WAL: the older of the two goes too.
    db.retention_bytes = db.storage_bytes() - 1;
    assert_eq!(db.maintain(45_000).await.unwrap().blocks_deleted_by_size, 1);
    assert_eq!(ranges(&db), vec![(20_000, 30_000, 1)]);
}

#[tokio::test]
async fn deleted_series_stay_deleted_across_restart_cleanup_and_compaction() {
    let dir = tempfile::tempdir().unwrap();
    let mut opts = options(dir.path());
    opts.max_block_duration_ms = 10_000;
    let all = every_second(0, 45);
    let kept: Vec<(i64, f64)> = all
        .iter()
        .copied()
        .filter(|s| !(5_000..=38_000).contains(&s.0))
        .collect();
    {
        let (db, _) = Db::open(opts.clone()).unwrap();
        db.append(&[series("a", &all), series("b", &all)])
            .await
            .unwrap();
        db.maintain(45_000).await.unwrap();
        assert_eq!(db.blocks().len(), 3);
        // Blocks hold 0..30 s, the head 30..44 s: the interval spans both.
        db.delete_series(&[vec![Matcher::equal("job", "a")]], 5_000, 38_000)
            .await
            .unwrap();
        assert_eq!(read(&db, "a"), kept);
        assert_eq!(read(&db, "b"), all, "other series untouched");
        assert_eq!(db.blocks()[0].tombstones.read().total(), 1);
        assert!(db.dir().join(HEAD_TOMBSTONES_FILE).exists());
    }
    // Tombstones are durable: block files and the head's file.
    let (db, _) = Db::open(opts.clone()).unwrap();
    assert_eq!(read(&db, "a"), kept);
    let json: serde_json::Value = serde_json::from_slice(
        &std::fs::read(db.blocks()[1].reader.dir().join("meta.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(json["stats"]["numTombstones"], 1);

    // clean_tombstones rewrites the three blocks without the data.
    let old: Vec<BlockId> = db.blocks().iter().map(|b| b.meta.ulid).collect();
    assert_eq!(db.clean_tombstones().await.unwrap(), 3);
    let new = db.blocks();
    assert_eq!(new.len(), 3);
    for (b, parent) in new.iter().zip(&old) {
        assert_ne!(b.meta.ulid, *parent);
        assert_eq!(
            b.parents.iter().map(|p| p.ulid).collect::<Vec<_>>(),
            vec![*parent]
        );
        assert!(b.tombstones.read().is_empty());
        assert!(!b.reader.dir().join(TOMBSTONES_FILE).exists());
    }
    assert_eq!(
        new[1].meta.stats.num_samples,
        Some(10),
        "only b is left in 10..20 s"
    );
    assert_eq!(read(&db, "a"), kept);
    assert_eq!(read(&db, "b"), all);

    // More data: the head is cut, and its deletions go into the new block as removed samples.
    let later: Vec<(i64, f64)> = every_second(45, 70);
    db.append(&[series("a", &later)]).await.unwrap();
    db.maintain(70_000).await.unwrap();
    let mut expected = kept.clone();
    expected.extend(later);
    assert_eq!(read(&db, "a"), expected);
    assert!(
        !db.dir().join(HEAD_TOMBSTONES_FILE).exists(),
        "head deletions ended up in blocks"
    );
    drop(db);
    let (db, _) = Db::open(opts).unwrap();
    assert_eq!(read(&db, "a"), expected);
}

#[tokio::test]
async fn compaction_drops_deleted_data_and_empty_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let mut small = options(dir.path());
    small.max_block_duration_ms = 10_000;
    {
        let (db, _) = Db::open(small.clone()).unwrap();
        db.append(&[series("a", &every_second(0, 55))])
            .await
            .unwrap();
        db.maintain(55_000).await.unwrap();
        assert_eq!(db.blocks().len(), 4);
        // All of the first block, half of the second.
        db.delete_series(&[vec![Matcher::equal("job", "a")]], 0, 14_999)
            .await
            .unwrap();
    }
    {
        let (db, _) = Db::open(options(dir.path())).unwrap();
        db.maintain(55_000).await.unwrap();
        assert_eq!(ranges(&db), vec![(0, 30_000, 2), (30_000, 40_000, 1)]);
        assert_eq!(db.blocks()[0].meta.stats.num_samples, Some(15));
        assert!(db.blocks()[0].tombstones.read().is_empty());
        assert_eq!(read(&db, "a"), every_second(15, 55));
    }
    // A small block is rewritten alone once everything in it is deleted, and a rewrite that
    // leaves nothing removes the block.
    let dir = tempfile::tempdir().unwrap();
    let mut small = options(dir.path());
    small.max_block_duration_ms = 10_000;
    let (db, _) = Db::open(small).unwrap();
    db.append(&[series("a", &every_second(0, 45))])
        .await
        .unwrap();
    db.maintain(45_000).await.unwrap();
    db.delete_series(&[vec![Matcher::equal("job", "a")]], 10_000, 19_999)
        .await
        .unwrap();
    drop(db);
    let (db, _) = Db::open(options(dir.path())).unwrap();
    assert_eq!(db.maintain(45_000).await.unwrap().compactions, 1);
    assert_eq!(ranges(&db), vec![(0, 10_000, 1), (20_000, 30_000, 1)]);
    let mut expected = every_second(0, 10);
    expected.extend(every_second(20, 45));
    assert_eq!(read(&db, "a"), expected);
}

#[tokio::test]
async fn label_and_series_limits_use_mimir_texts() {
    let dir = tempfile::tempdir().unwrap();
    let mut opts = options(dir.path());
    opts.max_labels_per_series = 2;
    opts.head.max_series = 1;
    let (db, _) = Db::open(opts).unwrap();
    let wide = SeriesSamples {
        labels: Labels::from_pairs([("__name__", "up"), ("job", "a"), ("x", "1")]),
        samples: vec![(1, 1.0), (2, 2.0)],
    };
    let out = db.append(&[wide]).await.unwrap();
    assert_eq!(out.rejected, 2);
    assert_eq!(
        out.first_error.unwrap().0.to_string(),
        "received a series whose number of labels exceeds the limit (actual: 3, limit: 2) series: 'up{job=\"a\", x=\"1\"}' (err-mimir-max-label-names-per-series). To adjust the related per-tenant limit, configure -validation.max-label-names-per-series, or contact your service administrator."
    );
    let out = db
        .append(&[series("a", &[(1, 1.0)]), series("b", &[(1, 1.0)])])
        .await
        .unwrap();
    assert_eq!((out.written, out.rejected), (1, 1));
    assert_eq!(
        out.first_error.unwrap().0.to_string(),
        "per-user series limit of 1 exceeded (err-mimir-max-series-per-user). To adjust the related per-tenant limit, configure -ingester.max-global-series-per-user, or contact your service administrator."
    );
}

#[tokio::test]
async fn snapshot_holds_blocks_and_head() {
    let dir = tempfile::tempdir().unwrap();
    let mut opts = options(dir.path());
    opts.max_block_duration_ms = 10_000;
    let (db, _) = Db::open(opts).unwrap();
    let all = every_second(0, 45);
    db.append(&[series("a", &all)]).await.unwrap();
    db.maintain(45_000).await.unwrap();
    db.delete_series(&[vec![Matcher::equal("job", "a")]], 40_000, 41_000)
        .await
        .unwrap();
    let snap = dir.path().join("snapshots").join("s1");
    db.snapshot(&snap, true).await.unwrap();
    let mut blocks: Vec<LoadedBlock> = std::fs::read_dir(&snap)
        .unwrap()
        .map(|e| LoadedBlock::open(&e.unwrap().path()).unwrap())
        .collect();
    blocks.sort_by_key(|b| b.meta.min_time);
    assert_eq!(blocks.len(), 4, "three blocks and the head");
    let mut samples = Vec::new();
    for b in &blocks {
        for (_, s) in b.reader.select(&[], i64::MIN, i64::MAX).unwrap() {
            samples.extend(s);
        }
    }
    assert_eq!(samples, read(&db, "a"));
    assert_eq!(samples.len(), 45 - 2);
    let head_block = &blocks[3];
    assert_eq!(
        (head_block.meta.min_time, head_block.meta.max_time),
        (30_000, 44_001)
    );
    // skip_head leaves the head out.
    let snap2 = dir.path().join("snapshots").join("s2");
    db.snapshot(&snap2, false).await.unwrap();
    assert_eq!(std::fs::read_dir(&snap2).unwrap().count(), 3);
}

fn file_catalog(root: &Path) -> BlockCatalog {
    std::fs::create_dir_all(root).unwrap();
    let handle = lgtm_common::objstore::from_url(&format!("file://{}", root.display())).unwrap();
    BlockCatalog::from_handle(&handle, "blocks")
}

#[tokio::test]
async fn the_object_store_follows_compaction_and_retention() {
    let dir = tempfile::tempdir().unwrap();
    let bucket = tempfile::tempdir().unwrap();
    let catalog = file_catalog(bucket.path());
    let mut small = options(dir.path());
    small.max_block_duration_ms = 10_000;
    small.object_store = Some(catalog.clone());
    let expected = every_second(0, 55);
    let sources: Vec<BlockId>;
    {
        let (db, _) = Db::open(small).unwrap();
        db.append(&[series("a", &expected)]).await.unwrap();
        let report = db.maintain(55_000).await.unwrap();
        assert_eq!(report.blocks_uploaded, 4);
        sources = db.blocks().iter().map(|b| b.meta.ulid).collect();
    }
    let mut opts = options(dir.path());
    opts.object_store = Some(catalog.clone());
    {
        // Compact, but stop before the object store hears of it (as a crash would).
        let (db, _) = Db::open(opts.clone()).unwrap();
        assert_eq!(db.compact_blocks().await.unwrap(), 1);
        let pending = std::fs::read_to_string(dir.path().join("object-store.deletions")).unwrap();
        assert_eq!(pending.lines().count(), 3, "{pending}");
        assert_eq!(catalog.list().await.unwrap().blocks.len(), 4);
    }
    // After a restart the next pass uploads the new block, then deletes its sources there.
    let (db, _) = Db::open(opts.clone()).unwrap();
    let report = db.maintain(55_000).await.unwrap();
    assert_eq!(
        (report.blocks_uploaded, report.blocks_deleted_remotely),
        (1, 3)
    );
    let listing = catalog.list().await.unwrap();
    let remote: Vec<(i64, i64, u32)> = listing
        .blocks
        .iter()
        .map(|b| (b.min_time, b.max_time, b.compaction.level))
        .collect();
    assert_eq!(remote, vec![(0, 30_000, 2), (30_000, 40_000, 1)]);
    assert!(listing.partial.is_empty(), "no half-deleted blocks left");
    let compacted = listing.blocks[0].ulid;
    let meta =
        TsdbMeta::from_json(&catalog.read_file(compacted, "meta.json").await.unwrap()).unwrap();
    assert_eq!(
        meta.parents.iter().map(|p| p.ulid).collect::<Vec<_>>(),
        sources[..3].to_vec(),
        "Prometheus' parents survive the upload"
    );
    assert!(meta.meta.files.iter().any(|f| f.rel_path == "index"));
    // The uploaded block holds the data: download it and read it back.
    let restored = tempfile::tempdir().unwrap();
    catalog
        .download_dir(compacted, restored.path())
        .await
        .unwrap();
    let block = LoadedBlock::open(restored.path()).unwrap();
    let got = block.reader.select(&[], i64::MIN, i64::MAX).unwrap();
    assert_eq!(got[0].1, expected[..30].to_vec());
    assert_eq!(
        std::fs::read_to_string(dir.path().join("object-store.deletions")).unwrap(),
        ""
    );
    drop(db);
    // Time retention removes expired blocks from the bucket too.
    let mut short = opts;
    short.retention_ms = 20_000;
    let (db, _) = Db::open(short).unwrap();
    let report = db.maintain(55_000).await.unwrap();
    assert_eq!(report.blocks_deleted, 1);
    assert_eq!(report.blocks_deleted_remotely, 1);
    let remote: Vec<i64> = catalog
        .list()
        .await
        .unwrap()
        .blocks
        .iter()
        .map(|b| b.min_time)
        .collect();
    assert_eq!(remote, vec![30_000]);
}

#[tokio::test]
async fn a_lost_data_directory_is_restored_from_the_object_store() {
    let bucket = tempfile::tempdir().unwrap();
    let catalog = file_catalog(bucket.path());
    let expected = every_second(0, 55);
    {
        let dir = tempfile::tempdir().unwrap();
        let mut opts = options(dir.path());
        opts.object_store = Some(catalog.clone());
        let (db, _) = Db::open(opts).unwrap();
        db.append(&[series("a", &expected)]).await.unwrap();
        let report = db.maintain(55_000).await.unwrap();
        assert_eq!(report.compactions, 1);
        assert_eq!(catalog.list().await.unwrap().blocks.len(), 2);
        // The data directory (blocks, WAL and all) is lost with `dir`.
    }
    let dir = tempfile::tempdir().unwrap();
    let mut opts = options(dir.path());
    opts.object_store = Some(catalog.clone());
    let (db, _) = Db::open(opts.clone()).unwrap();
    assert_eq!(db.restore_from_object_store().await.unwrap(), 2);
    assert_eq!(ranges(&db), vec![(0, 30_000, 2), (30_000, 40_000, 1)]);
    assert_eq!(
        db.blocks()[0].parents.len(),
        3,
        "Prometheus' fields restored too"
    );
    assert_eq!(read(&db, "a"), expected[..40].to_vec());
    // Nothing older than the restored blocks may enter the head.
    let out = db.append(&[series("a", &[(39_000, 1.0)])]).await.unwrap();
    assert_eq!(out.rejected, 1);
    // A second call (or a restart) downloads nothing more, and nothing is re-uploaded.
    assert_eq!(db.restore_from_object_store().await.unwrap(), 0);
    assert_eq!(db.maintain(55_000).await.unwrap().blocks_uploaded, 0);
    drop(db);
    let (db, _) = Db::open(opts).unwrap();
    assert_eq!(db.restore_from_object_store().await.unwrap(), 0);
    assert_eq!(read(&db, "a"), expected[..40].to_vec());
}
