use std::sync::Arc;

use lgtm_common::clock::MockClock;
use lgtm_common::labels::{MatchOp, Matcher};
use lgtm_common::wal::WalOptions;

use super::*;
use crate::store::{StoreOptions, StreamEntries};

const NOW_MS: i64 = 1_772_323_200_000;

async fn pusher(limits: LimitsConfig) -> (Pusher, Arc<Store>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let clock = MockClock::from_millis(NOW_MS);
    let (store, _) = Store::open(StoreOptions {
        wal_dir: dir.path().join("wal"),
        wal: WalOptions::default(),
        objects: Arc::new(object_store::memory::InMemory::new()),
        out_of_order_window_ns: 3_600_000_000_000,
        max_streams_per_tenant: limits.max_streams(),
        clock: clock.shared(),
    })
    .await
    .unwrap();
    let store = Arc::new(store);
    (
        Pusher::new(
            limits,
            store.clone(),
            clock.shared(),
            crate::metrics::PushMetrics::new(&lgtm_common::metrics::Registry::new()),
        ),
        store,
        dir,
    )
}

async fn all(store: &Store) -> Vec<StreamEntries> {
    let m = [Matcher::new(MatchOp::Regex, "service_name", ".+").unwrap()];
    store.select("fake", &m, 0, i64::MAX).await.unwrap()
}

fn json(body: &str) -> Vec<u8> {
    body.as_bytes().to_vec()
}

const T: i64 = NOW_MS * 1_000_000 - 1_000_000_000;

#[tokio::test]
async fn json_push_is_enriched_and_stored() {
    let (p, store, _d) = pusher(LimitsConfig::default()).await;
    let body = format!(
        r#"{{"streams":[{{"stream":{{"app":"api","namespace":"prod"}},"values":[["{T}","level=error msg=boom"],["{}","plain",{{"trace_id":"abc"}}]]}}]}}"#,
        T + 1
    );
    p.push_http("fake", Some("application/json"), None, &json(&body))
        .await
        .unwrap();
    let got = all(&store).await;
    assert_eq!(got.len(), 1);
    assert_eq!(
        got[0].labels.to_string(),
        r#"{app="api", namespace="prod", service_name="api"}"#
    );
    assert_eq!(
        got[0].entries[0].metadata.get("detected_level"),
        Some("error")
    );
    assert_eq!(
        got[0].entries[1].metadata.get("detected_level"),
        Some("unknown")
    );
    assert_eq!(got[0].entries[1].metadata.get("trace_id"), Some("abc"));
}

#[tokio::test]
async fn invalid_entries_are_grouped_and_valid_ones_kept() {
    let limits = LimitsConfig {
        max_line_size: lgtm_common::config::ByteSize(10),
        ..LimitsConfig::default()
    };
    let (p, store, _d) = pusher(limits).await;
    let old = T - 8 * 24 * 3_600_000_000_000;
    let body = format!(
        r#"{{"streams":[{{"stream":{{"app":"a"}},"values":[["{T}","ok"],["{}","this line is too long"],["{}","also far too long"],["{old}","old"]]}}]}}"#,
        T + 1,
        T + 2
    );
    let err = p
        .push_http("fake", Some("application/json"), None, &json(&body))
        .await
        .unwrap_err();
    assert_eq!(err.error_kind(), ErrorKind::BadData);
    assert_eq!(
        err.to_string(),
        "1 errors like: max entry size '10' bytes exceeded for stream '{app=\"a\", service_name=\"a\"}' while adding an entry with length '21' bytes; \
         1 errors like: max entry size '10' bytes exceeded for stream '{app=\"a\", service_name=\"a\"}' while adding an entry with length '17' bytes; \
         1 errors like: entry for stream '{app=\"a\", service_name=\"a\"}' has timestamp too old: 2026-02-20T23:59:59Z, oldest acceptable timestamp is: 2026-02-22T00:00:00Z"
    );
    let got = all(&store).await;
    assert_eq!(got[0].entries.len(), 1);
    assert_eq!(&*got[0].entries[0].line, "ok");
}

#[tokio::test]
async fn truncate_instead_of_reject() {
    let limits = LimitsConfig {
        max_line_size: lgtm_common::config::ByteSize(4),
        max_line_size_truncate: true,
        ..LimitsConfig::default()
    };
    let (p, store, _d) = pusher(limits).await;
    let body =
        format!(r#"{{"streams":[{{"stream":{{"app":"a"}},"values":[["{T}","abcdefgh"]]}}]}}"#);
    p.push_http("fake", Some("application/json"), None, &json(&body))
        .await
        .unwrap();
    assert_eq!(&*all(&store).await[0].entries[0].line, "abcd");
}

#[tokio::test]
async fn label_limits_and_duplicates() {
    let limits = LimitsConfig {
        max_label_names_per_series: 2,
        ..LimitsConfig::default()
    };
    let (p, _store, _d) = pusher(limits).await;
    let body = format!(
        r#"{{"streams":[{{"stream":{{"a":"1","b":"2","c":"3"}},"values":[["{T}","x"]]}}]}}"#
    );
    let err = p
        .push_http("fake", Some("application/json"), None, &json(&body))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "entry for stream '{a=\"1\", b=\"2\", c=\"3\", service_name=\"unknown_service\"}' has 3 label names; limit 2"
    );
    let streams = vec![decode::RawStream {
        labels: vec![("a".into(), "1".into()), ("a".into(), "2".into())],
        entries: vec![decode::RawEntry {
            ts: T,
            line: "x".into(),
            metadata: vec![],
        }],
    }];
    let err = p.ingest("fake", streams).await.unwrap_err();
    assert!(
        err.to_string().ends_with("has duplicate label name: 'a'"),
        "{err}"
    );
    assert!(matches!(
        p.ingest("fake", vec![]).await.unwrap_err(),
        PushError::NoStreams
    ));
}

#[tokio::test]
async fn rate_limit_refuses_the_whole_request() {
    let limits = LimitsConfig {
        ingestion_rate_mb: 1.0 / 1024.0,
        ingestion_burst_size_mb: 1.0 / 1024.0,
        ..LimitsConfig::default()
    };
    let (p, store, _d) = pusher(limits).await;
    let line = "x".repeat(2000);
    let body = format!(r#"{{"streams":[{{"stream":{{"app":"a"}},"values":[["{T}","{line}"]]}}]}}"#);
    let err = p
        .push_http("fake", Some("application/json"), None, &json(&body))
        .await
        .unwrap_err();
    assert_eq!(err.error_kind(), ErrorKind::TooManyRequests);
    assert_eq!(
        err.to_string(),
        "ingestion rate limit exceeded for user fake (limit: 1024 bytes/sec) while attempting to ingest '1' lines totaling '2021' bytes, reduce log volume or contact your Loki administrator to see if the limit can be increased"
    );
    assert!(all(&store).await.is_empty());
}

#[tokio::test]
async fn too_far_behind_uses_the_ingester_format() {
    let (p, _store, _d) = pusher(LimitsConfig::default()).await;
    let behind = T - 2 * 3_600_000_000_000 - 5;
    let body = format!(
        r#"{{"streams":[{{"stream":{{"app":"a"}},"values":[["{T}","new"],["{behind}","old"]]}}]}}"#
    );
    let err = p
        .push_http("fake", Some("application/json"), None, &json(&body))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "entry with timestamp 2026-02-28 21:59:58.999999995 +0000 UTC ignored, reason: 'entry too far behind, entry timestamp is: 2026-02-28T21:59:58Z, oldest acceptable timestamp is: 2026-02-28T22:59:59Z',\n\
         user 'fake', total ignored: 1 out of 2 for stream: {app=\"a\", service_name=\"a\"}"
    );
}

#[test]
fn go_time_strings() {
    assert_eq!(go_time_string(0), "1970-01-01 00:00:00 +0000 UTC");
    assert_eq!(
        go_time_string(1_500_000_000),
        "1970-01-01 00:00:01.5 +0000 UTC"
    );
}
