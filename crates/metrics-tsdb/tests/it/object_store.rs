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
