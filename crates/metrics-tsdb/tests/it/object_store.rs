//! Finished blocks are copied to S3 (a real SeaweedFS) and listed there with their meta.json.

use lgtm_common::blocks::BlockCatalog;
use lgtm_common::labels::Labels;
use lgtm_common::objstore::testing::SeaweedFs;
use metrics_tsdb::db::{Db, DbOptions, SeriesSamples};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocks_are_uploaded_to_seaweedfs() {
    let Some(seaweed) = SeaweedFs::start().await.expect("seaweedfs") else {
        return;
    };
    let url = seaweed.url("metrics", "tenant-a");
    seaweed.wait_writable(&url).await.expect("writable");
    let handle = lgtm_common::objstore::from_url(&url).expect("url");
    let catalog = BlockCatalog::from_handle(&handle, "blocks");
    let dir = tempfile::tempdir().expect("tempdir");
    let mut options = DbOptions::new(dir.path());
    options.block_range_ms = 10_000;
    options.object_store = Some(catalog.clone());
    let (db, _) = Db::open(options).expect("open");
    let samples: Vec<(i64, f64)> = (0..30).map(|i| (i * 1000, i as f64)).collect();
    db.append(&[SeriesSamples {
        labels: Labels::from_pairs([("__name__", "m"), ("job", "x")]),
        samples,
    }])
    .await
    .expect("append");
    let report = db.maintain(30_000).await.expect("maintain");
    assert_eq!(report.blocks_written, 2);
    assert_eq!(report.blocks_uploaded, 2);
    let listing = catalog.list().await.expect("list");
    assert_eq!(listing.blocks.len(), 2);
    assert_eq!(listing.blocks[0].min_time, 0);
    assert_eq!(listing.blocks[0].stats.num_samples, Some(10));
    // A second pass uploads nothing new.
    assert_eq!(
        db.maintain(30_000).await.expect("maintain").blocks_uploaded,
        0
    );
}

/// Compaction through S3: the merged block is uploaded with Prometheus' `meta.json` fields and
/// its sources disappear from the bucket; the bucket's block reads back the same data.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compaction_replaces_blocks_in_seaweedfs() {
    let Some(seaweed) = SeaweedFs::start().await.expect("seaweedfs") else {
        return;
    };
    let url = seaweed.url("metrics", "compaction");
    seaweed.wait_writable(&url).await.expect("writable");
    let handle = lgtm_common::objstore::from_url(&url).expect("url");
    let catalog = BlockCatalog::from_handle(&handle, "blocks");
    let dir = tempfile::tempdir().expect("tempdir");
    let samples: Vec<(i64, f64)> = (0..55).map(|i| (i * 1000, i as f64)).collect();
    let mut options = DbOptions::new(dir.path());
    options.block_range_ms = 10_000;
    options.retention_ms = 0;
    options.max_block_duration_ms = 10_000;
    options.object_store = Some(catalog.clone());
    {
        let (db, _) = Db::open(options.clone()).expect("open");
        db.append(&[SeriesSamples {
            labels: Labels::from_pairs([("__name__", "m"), ("job", "x")]),
            samples: samples.clone(),
        }])
        .await
        .expect("append");
        assert_eq!(
            db.maintain(55_000).await.expect("maintain").blocks_uploaded,
            4
        );
    }
    // Allow 30 s blocks: the first three compact into one.
    options.max_block_duration_ms = 0;
    let (db, _) = Db::open(options).expect("open");
    let report = db.maintain(55_000).await.expect("maintain");
    assert_eq!(report.compactions, 1);
    assert_eq!(
        (report.blocks_uploaded, report.blocks_deleted_remotely),
        (1, 3)
    );
    let listing = catalog.list().await.expect("list");
    let ranges: Vec<(i64, i64, u32)> = listing
        .blocks
        .iter()
        .map(|b| (b.min_time, b.max_time, b.compaction.level))
        .collect();
    assert_eq!(ranges, vec![(0, 30_000, 2), (30_000, 40_000, 1)]);
    let meta: serde_json::Value = serde_json::from_slice(
        &catalog
            .read_file(listing.blocks[0].ulid, "meta.json")
            .await
            .expect("meta"),
    )
    .expect("json");
    assert_eq!(
        meta["compaction"]["parents"].as_array().map(Vec::len),
        Some(3)
    );
    let restored = tempfile::tempdir().expect("tempdir");
    catalog
        .download_dir(listing.blocks[0].ulid, restored.path())
        .await
        .expect("download");
    let block = metrics_tsdb::db::LoadedBlock::open(restored.path()).expect("open block");
    let got = block.reader.select(&[], i64::MIN, i64::MAX).expect("read");
    assert_eq!(got[0].1, samples[..30].to_vec());
}
