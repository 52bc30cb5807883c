use std::sync::Arc;

use lgtm_common::clock::SystemClock;
use lgtm_common::labels::{Labels, Matcher};
use lgtm_common::objstore::ObjectStore;
use lgtm_common::wal::WalOptions;

use super::*;

fn opts(dir: &std::path::Path, objects: Arc<dyn ObjectStore>) -> StoreOptions {
    StoreOptions {
        wal_dir: dir.join("wal"),
        wal: WalOptions::default(),
        objects,
        out_of_order_window_ns: 3_600_000_000_000,
        max_streams_per_tenant: 0,
        clock: SystemClock::shared(),
    }
}

fn fs_objects(dir: &std::path::Path) -> Arc<dyn ObjectStore> {
    let url = format!("file://{}", dir.join("objects").display());
    std::fs::create_dir_all(dir.join("objects")).unwrap();
    lgtm_common::objstore::from_url(&url)
        .unwrap()
        .store()
        .clone()
}

fn stream(app: &str, entries: &[(i64, &str)]) -> AppendStream {
    AppendStream {
        labels: Labels::from_pairs([("app", app)]),
        entries: entries
            .iter()
            .map(|(t, l)| Entry::new(*t, l, Labels::from_pairs([("detected_level", "info")])))
            .collect(),
    }
}

fn lines(s: &[StreamEntries]) -> Vec<(String, i64, String)> {
    s.iter()
        .flat_map(|x| {
            x.entries.iter().map(|e| {
                (
                    x.labels.get_or_empty("app").to_owned(),
                    e.ts,
                    e.line.to_string(),
                )
            })
        })
        .collect()
}

#[tokio::test]
async fn appended_entries_survive_reopen_and_flush() {
    let dir = tempfile::tempdir().unwrap();
    let objects = fs_objects(dir.path());
    let all = [Matcher::new(lgtm_common::labels::MatchOp::Regex, "app", ".+").unwrap()];
    {
        let (store, _) = Store::open(opts(dir.path(), objects.clone()))
            .await
            .unwrap();
        let out = store
            .append(
                "t1",
                vec![
                    stream("a", &[(10, "x"), (5, "y"), (10, "x")]),
                    stream("b", &[(7, "z")]),
                ],
            )
            .await
            .unwrap();
        assert_eq!(out.written, 3);
        assert_eq!(out.duplicates, 1);
    }
    // Reopen: WAL replay restores the head.
    let (store, report) = Store::open(opts(dir.path(), objects.clone()))
        .await
        .unwrap();
    assert_eq!(report.replayed_entries, 3);
    let got = lines(&store.select("t1", &all, 0, 100).await.unwrap());
    assert_eq!(
        got,
        vec![
            ("a".into(), 5, "y".into()),
            ("a".into(), 10, "x".into()),
            ("b".into(), 7, "z".into())
        ]
    );
    // Another tenant sees nothing.
    assert!(store.select("t2", &all, 0, 100).await.unwrap().is_empty());
    // Flush to a block; the data is now read from the object store.
    assert_eq!(store.flush().await.unwrap(), 1);
    assert_eq!(store.head_bytes(), 0);
    assert_eq!(lines(&store.select("t1", &all, 0, 100).await.unwrap()), got);
    // Time range and matchers narrow the block read.
    let only_a = [Matcher::equal("app", "a")];
    assert_eq!(
        lines(&store.select("t1", &only_a, 6, 11).await.unwrap()),
        vec![("a".into(), 10, "x".into())]
    );
    store
        .append("t1", vec![stream("a", &[(11, "new")])])
        .await
        .unwrap();
    drop(store);
    // Reopen after the flush: blocks are loaded, the truncated WAL holds only the new entry.
    let (store, report) = Store::open(opts(dir.path(), objects)).await.unwrap();
    assert_eq!(report.blocks, 1);
    assert_eq!(report.replayed_entries, 1);
    let got = lines(&store.select("t1", &only_a, 0, 100).await.unwrap());
    assert_eq!(
        got,
        vec![
            ("a".into(), 5, "y".into()),
            ("a".into(), 10, "x".into()),
            ("a".into(), 11, "new".into())
        ]
    );
    let stats = store.stream_stats("t1", &all, 0, 100);
    assert_eq!(stats.len(), 2);
    assert_eq!(stats[0].1.entries, 3);
}

#[tokio::test]
async fn too_far_behind_and_stream_limit_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = opts(dir.path(), fs_objects(dir.path()));
    o.out_of_order_window_ns = 100;
    o.max_streams_per_tenant = 1;
    let (store, _) = Store::open(o).await.unwrap();
    let out = store
        .append(
            "t",
            vec![
                stream("a", &[(1000, "n"), (850, "old"), (950, "ok")]),
                stream("b", &[(1, "x")]),
            ],
        )
        .await
        .unwrap();
    assert_eq!(out.written, 2);
    assert_eq!(
        out.rejections,
        vec![
            AppendRejection::TooFarBehind {
                labels: Labels::from_pairs([("app", "a")]),
                entries: vec![(850, 900)],
                total: 3
            },
            AppendRejection::StreamLimit {
                labels: Labels::from_pairs([("app", "b")])
            }
        ]
    );
}

#[test]
fn merge_drops_exact_duplicates_only() {
    let e = |t, l: &str| Entry::new(t, l, Labels::default());
    let out = merge(vec![
        vec![e(1, "a"), e(3, "c")],
        vec![e(1, "a"), e(1, "b"), e(2, "x")],
    ]);
    let got: Vec<_> = out.iter().map(|x| (x.ts, x.line.to_string())).collect();
    assert_eq!(
        got,
        vec![
            (1, "a".into()),
            (1, "b".into()),
            (2, "x".into()),
            (3, "c".into())
        ]
    );
}

#[tokio::test]
async fn flush_retries_while_the_object_store_is_unavailable() {
    let dir = tempfile::tempdir().unwrap();
    // A regular file where the object store directory should be: every put fails.
    let root = dir.path().join("objects");
    std::fs::write(&root, b"in the way").unwrap();
    let objects: Arc<dyn ObjectStore> =
        Arc::new(object_store::local::LocalFileSystem::new_with_prefix(dir.path()).unwrap());
    let objects: Arc<dyn ObjectStore> =
        Arc::new(object_store::prefix::PrefixStore::new(objects, "objects"));
    let all = [Matcher::new(lgtm_common::labels::MatchOp::Regex, "app", ".+").unwrap()];
    let (store, _) = Store::open(opts(dir.path(), objects.clone()))
        .await
        .unwrap();
    store
        .append("t", vec![stream("a", &[(1, "one")])])
        .await
        .unwrap();
    assert!(store.flush().await.is_err());
    // Ingestion and queries continue; the frozen data is still served.
    store
        .append("t", vec![stream("a", &[(2, "two")])])
        .await
        .unwrap();
    assert_eq!(
        lines(&store.select("t", &all, 0, 10).await.unwrap()).len(),
        2
    );
    // The store comes back: the next flush uploads both snapshots and truncates the WAL.
    std::fs::remove_file(&root).unwrap();
    std::fs::create_dir(&root).unwrap();
    assert_eq!(store.flush().await.unwrap(), 2);
    assert_eq!(store.block_count(), 2);
    drop(store);
    let (store, report) = Store::open(opts(dir.path(), objects)).await.unwrap();
    assert_eq!(report.replayed_entries, 0);
    assert_eq!(
        lines(&store.select("t", &all, 0, 10).await.unwrap()),
        vec![("a".into(), 1, "one".into()), ("a".into(), 2, "two".into())]
    );
}

#[tokio::test]
async fn compaction_merges_blocks_and_applies_retention() {
    let dir = tempfile::tempdir().unwrap();
    let objects = fs_objects(dir.path());
    let all = [Matcher::new(lgtm_common::labels::MatchOp::Regex, "app", ".+").unwrap()];
    let (store, _) = Store::open(opts(dir.path(), objects.clone()))
        .await
        .unwrap();
    for i in 0..3 {
        store
            .append(
                "t",
                vec![
                    stream("keep", &[(100 + i, "k")]),
                    stream("short", &[(100 + i, "s")]),
                ],
            )
            .await
            .unwrap();
        store.flush().await.unwrap();
    }
    assert_eq!(store.block_count(), 3);
    let before = lines(&store.select("t", &all, 0, 1000).await.unwrap());
    // Below the block threshold and no retention: nothing happens.
    assert_eq!(
        store
            .compact(&Retention::default(), 4, 0, 1000)
            .await
            .unwrap(),
        CompactOutcome::default()
    );
    let out = store
        .compact(&Retention::default(), 3, 0, 1000)
        .await
        .unwrap();
    assert_eq!((out.blocks_in, out.blocks_out), (3, 1));
    assert_eq!(store.block_count(), 1);
    assert_eq!(
        lines(&store.select("t", &all, 0, 1000).await.unwrap()),
        before
    );
    // Stream retention: `short` keeps 900ns at now=1001 (cutoff 101), `keep` forever.
    let retention = Retention {
        default_ns: 0,
        rules: vec![RetentionRule {
            matchers: vec![Matcher::equal("app", "short")],
            priority: 1,
            period_ns: 900,
        }],
    };
    let out = store.compact(&retention, 10, 0, 1001).await.unwrap();
    assert_eq!(out.entries_expired, 1);
    let got = lines(&store.select("t", &all, 0, 1000).await.unwrap());
    assert_eq!(got.iter().filter(|x| x.0 == "short").count(), 2);
    assert_eq!(got.iter().filter(|x| x.0 == "keep").count(), 3);
    drop(store);
    // Only the compacted block is left on the object store.
    let (store, report) = Store::open(opts(dir.path(), objects)).await.unwrap();
    assert_eq!(report.blocks, 1);
    assert_eq!(lines(&store.select("t", &all, 0, 1000).await.unwrap()), got);
}

#[tokio::test]
async fn select_keep_returns_the_edges_across_head_and_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = Store::open(opts(dir.path(), fs_objects(dir.path())))
        .await
        .unwrap();
    let only_a = [Matcher::equal("app", "a")];
    store
        .append("t", vec![stream("a", &[(1, "1"), (3, "3"), (5, "5")])])
        .await
        .unwrap();
    store.flush().await.unwrap();
    store
        .append("t", vec![stream("a", &[(2, "2"), (4, "4"), (6, "6")])])
        .await
        .unwrap();
    let only_a = &only_a;
    let ts = |k: Keep| {
        let store = &store;
        async move {
            store
                .select_keep("t", only_a, 0, 100, k)
                .await
                .unwrap()
                .iter()
                .flat_map(|s| s.entries.iter().map(|e| e.ts))
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(ts(Keep::Oldest(3)).await, vec![1, 2, 3]);
    assert_eq!(ts(Keep::Newest(2)).await, vec![5, 6]);
    assert_eq!(ts(Keep::All).await, vec![1, 2, 3, 4, 5, 6]);
}

/// Keeps lines containing a literal (what a `|= "x"` pipeline hands the store).
struct Has(Vec<String>);

impl LineTest for Has {
    fn keep(&self, line: &str) -> bool {
        self.0.iter().all(|n| line.contains(n.as_str()))
    }

    fn required(&self) -> &[String] {
        &self.0
    }
}

#[tokio::test]
async fn filtered_selects_equal_filtering_after_select_on_sealed_heads_and_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let objects = fs_objects(dir.path());
    let (store, _) = Store::open(opts(dir.path(), objects)).await.unwrap();
    let all = [Matcher::new(lgtm_common::labels::MatchOp::Regex, "app", ".+").unwrap()];
    let pad = "p".repeat(400);
    // Enough lines per stream to seal several head chunks; every 7th is late.
    let push = |base: i64| {
        let rows: Vec<(i64, String)> = (0..400i64)
            .map(|i| {
                let ts = base + if i % 7 == 6 { i * 10 - 35 } else { i * 10 };
                (ts, format!("i={i} code={} {pad}", i % 13))
            })
            .collect();
        rows
    };
    for (round, base) in [(0, 0i64), (1, 10_000)] {
        for app in ["a", "b"] {
            let rows = push(base);
            let refs: Vec<(i64, &str)> = rows.iter().map(|(t, l)| (*t, l.as_str())).collect();
            store.append("t", vec![stream(app, &refs)]).await.unwrap();
        }
        if round == 0 {
            store.flush().await.unwrap();
        }
    }
    for (lo, hi) in [(i64::MIN, i64::MAX), (1_000, 12_000)] {
        let everything = store.select("t", &all, lo, hi).await.unwrap();
        let total: u64 = everything.iter().map(|s| s.entries.len() as u64).sum();
        for needle in ["code=5 ", "code=99 "] {
            let test = Has(vec![needle.to_owned()]);
            let got = store
                .select_filtered("t", &all, lo, hi, Keep::All, Some(&test))
                .await
                .unwrap();
            let scanned: u64 = got.iter().map(|s| s.scanned.lines).sum();
            assert_eq!(scanned, total, "every entry in range is counted");
            let want: Vec<_> = lines(&everything)
                .into_iter()
                .filter(|l| l.2.contains(needle))
                .collect();
            assert_eq!(lines(&got), want, "{needle} in [{lo}, {hi})");
        }
    }
}
