//! Blocks on a real S3 store (SeaweedFS started by the test; skipped when `weed` is not
//! installed unless `LGTM_REQUIRE_PEERS=1`): flushed data is read back after a restart.

use lgtm_common::clock::SystemClock;
use lgtm_common::labels::{MatchOp, Matcher};
use lgtm_common::objstore::testing::SeaweedFs;
use log_store::config::Config;
use log_store::server::LogStore;
use log_store::store::{AppendStream, Entry};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocks_round_trip_through_seaweedfs() {
    let Some(weed) = SeaweedFs::start().await.unwrap() else {
        eprintln!("skipping: weed not installed");
        return;
    };
    let url = weed.url("loki", "blocks");
    weed.wait_writable(&url).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = || {
        let mut c = Config {
            auth_enabled: false,
            ..Config::default()
        };
        c.common.path_prefix = Some(dir.path().to_path_buf());
        c.common.storage.object_store_url = Some(url.clone());
        c
    };
    let entries: Vec<Entry> = (0..100)
        .map(|i| Entry::new(1_000 + i, &format!("line {i}"), Default::default()))
        .collect();
    {
        let ls = LogStore::open(config(), SystemClock::shared())
            .await
            .unwrap();
        ls.state
            .store
            .append(
                "fake",
                vec![AppendStream {
                    labels: lgtm_common::labels::Labels::from_pairs([("app", "s3")]),
                    entries: entries.clone(),
                }],
            )
            .await
            .unwrap();
        assert_eq!(ls.state.store.flush().await.unwrap(), 1);
    }
    let ls = LogStore::open(config(), SystemClock::shared())
        .await
        .unwrap();
    assert_eq!(ls.state.store.block_count(), 1);
    let m = [Matcher::new(MatchOp::Equal, "app", "s3").unwrap()];
    let got = ls.state.store.select("fake", &m, 0, 10_000).await.unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].entries, entries);
}
