use std::path::Path;

use proptest::prelude::*;

use super::*;
use crate::objstore;

#[test]
fn block_id_is_crockford_base32_ulid() {
    let id: BlockId = "01ARZ3NDEKTSV4RRFFQ69G5FAV".parse().unwrap();
    // The first 10 characters are the 48-bit millisecond timestamp in base 32.
    assert_eq!(id.timestamp_ms(), 1_469_922_850_259);
    assert_eq!(id.to_string(), "01ARZ3NDEKTSV4RRFFQ69G5FAV");
    // Crockford decoding is case-insensitive and maps I, L, O.
    let lower: BlockId = "01arz3ndektsv4rrffq69g5fav".parse().unwrap();
    assert_eq!(lower, id);
    assert_eq!(
        "0IL0000000000000000000000O".parse::<BlockId>().unwrap(),
        "01100000000000000000000000".parse::<BlockId>().unwrap()
    );
    for bad in [
        "",
        "01ARZ3NDEKTSV4RRFFQ69G5FA",
        "01ARZ3NDEKTSV4RRFFQ69G5FAVV",
        "01ARZ3NDEKTSV4RRFFQ69G5FAU",
        "81ARZ3NDEKTSV4RRFFQ69G5FAV",
    ] {
        assert!(
            matches!(bad.parse::<BlockId>(), Err(Error::InvalidBlockId(_))),
            "{bad}"
        );
    }
    let a = BlockId::generate(1_700_000_000_000).unwrap();
    let b = BlockId::generate(1_700_000_000_000).unwrap();
    assert_ne!(a, b, "random bits differ");
    assert_eq!(a.timestamp_ms(), 1_700_000_000_000);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn block_id_text_round_trips_and_sorts_like_the_value(
        t1 in 0u64..(1 << 48), r1 in any::<u128>(), t2 in 0u64..(1 << 48), r2 in any::<u128>()
    ) {
        let a = BlockId::from_parts(t1, r1);
        let b = BlockId::from_parts(t2, r2);
        prop_assert_eq!(a.to_string().parse::<BlockId>().unwrap(), a);
        prop_assert_eq!(a.timestamp_ms(), t1);
        prop_assert_eq!(a.cmp(&b), a.to_string().cmp(&b.to_string()));
        if t1 < t2 {
            prop_assert!(a < b);
        }
    }
}

#[test]
fn prometheus_meta_json_parses_and_extra_fields_survive() {
    let text = r#"{
        "ulid": "01EM6Q6A1YPX4G9TEB20J22B2R",
        "minTime": 1602237600000,
        "maxTime": 1602244800000,
        "stats": {"numSamples": 553673232, "numSeries": 1346066, "numChunks": 4440437},
        "compaction": {"level": 1, "sources": ["01EM65SHSX4VARXBBHBF0M0FDS", "01EM6GAJSYWSQQRDY782EA5ZPN"]},
        "version": 1,
        "thanos": {"labels": {"replica": "a"}, "source": "sidecar"}
    }"#;
    let meta: BlockMeta = serde_json::from_str(text).unwrap();
    assert_eq!(meta.ulid.to_string(), "01EM6Q6A1YPX4G9TEB20J22B2R");
    assert_eq!(
        (meta.min_time, meta.max_time),
        (1602237600000, 1602244800000)
    );
    assert_eq!(meta.stats.num_samples, Some(553673232));
    assert_eq!(meta.stats.num_series, Some(1346066));
    assert_eq!(meta.stats.num_entries, None);
    assert_eq!(meta.compaction.level, 1);
    assert_eq!(meta.compaction.sources.len(), 2);
    assert!(meta.extra.contains_key("thanos"));
    let again: serde_json::Value = serde_json::to_value(&meta).unwrap();
    assert_eq!(again["thanos"]["source"], "sidecar");
    assert_eq!(again["minTime"], 1602237600000i64);
    assert!(again["stats"].get("numEntries").is_none());
    let back: BlockMeta = serde_json::from_value(again).unwrap();
    assert_eq!(back, meta);
}

fn meta(ts: u64, min: i64, max: i64) -> BlockMeta {
    BlockMeta::new(BlockId::from_parts(ts, u128::from(ts)), min, max)
}

#[test]
fn selection_uses_half_open_block_ranges() {
    let blocks = vec![meta(3, 200, 300), meta(1, 0, 100), meta(2, 100, 200)];
    let pick = |s, e| -> Vec<i64> {
        select_overlapping(&blocks, s, e)
            .iter()
            .map(|b| b.min_time)
            .collect()
    };
    assert_eq!(pick(0, 1000), vec![0, 100, 200]);
    // maxTime is exclusive: a query starting at 100 does not need [0, 100).
    assert_eq!(pick(100, 150), vec![100]);
    // The query end is inclusive: ending at 200 needs [200, 300).
    assert_eq!(pick(150, 200), vec![100, 200]);
    assert_eq!(pick(99, 99), vec![0]);
    assert!(pick(300, 400).is_empty());
    assert!(pick(-50, -1).is_empty());
}

fn write_block_dir(dir: &Path, big: usize) {
    std::fs::create_dir_all(dir.join("chunks")).unwrap();
    std::fs::write(dir.join("index"), b"index-bytes").unwrap();
    std::fs::write(dir.join("chunks/000001"), vec![1u8; big]).unwrap();
    std::fs::write(dir.join("chunks/000002"), b"").unwrap();
    // A local meta.json is not uploaded: the catalogue writes its own.
    std::fs::write(dir.join(META_FILE), b"stale").unwrap();
}

async fn catalogue_round_trip(h: &objstore::ObjectStoreHandle, big: usize) {
    use object_store::{ObjectStoreExt, PutPayload};
    let cat = BlockCatalog::new(h.store().clone(), "blocks");
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    write_block_dir(&src, big);

    let id = BlockId::generate(1_700_000_000_000).unwrap();
    let mut m = BlockMeta::new(id, 1000, 2000);
    m.stats.num_series = Some(3);
    let written = cat.upload_dir(&src, &m).await.unwrap();
    let rels: Vec<&str> = written.files.iter().map(|f| f.rel_path.as_str()).collect();
    assert_eq!(rels, ["chunks/000001", "chunks/000002", "index"]);
    assert_eq!(written.stats.num_bytes, Some(big as u64 + 11));

    // A second, older block; a partial upload; a broken meta.json; a foreign directory.
    let older = BlockMeta::new(BlockId::generate(1_600_000_000_000).unwrap(), 0, 1000);
    cat.upload_dir(&src, &older).await.unwrap();
    let partial = BlockId::generate(1_700_000_000_001).unwrap();
    let store = h.store();
    store
        .put(
            &cat.block_dir(partial).join("index"),
            PutPayload::from_static(b"x"),
        )
        .await
        .unwrap();
    let broken = BlockId::generate(1_700_000_000_002).unwrap();
    store
        .put(
            &cat.block_dir(broken).join(META_FILE),
            PutPayload::from_static(b"{not json"),
        )
        .await
        .unwrap();
    store
        .put(&"blocks/wal/x".into(), PutPayload::from_static(b"x"))
        .await
        .unwrap();

    let listing = cat.list().await.unwrap();
    let ids: Vec<BlockId> = listing.blocks.iter().map(|b| b.ulid).collect();
    assert_eq!(ids, vec![older.ulid, id], "ordered by min time");
    assert_eq!(listing.blocks[1], written);
    assert_eq!(listing.partial, vec![partial]);
    assert_eq!(listing.invalid.len(), 1);
    assert_eq!(listing.invalid[0].0, broken);

    let in_range = select_overlapping(&listing.blocks, 1500, 1600);
    assert_eq!(in_range.len(), 1);
    assert_eq!(in_range[0].ulid, id);

    let dst = tmp.path().join("dst");
    let got = cat.download_dir(id, &dst).await.unwrap();
    assert_eq!(got, written);
    for rel in ["index", "chunks/000001", "chunks/000002"] {
        assert_eq!(
            std::fs::read(dst.join(rel)).unwrap(),
            std::fs::read(src.join(rel)).unwrap(),
            "{rel}"
        );
    }
    let local_meta: BlockMeta =
        serde_json::from_slice(&std::fs::read(dst.join(META_FILE)).unwrap()).unwrap();
    assert_eq!(local_meta, written);

    cat.delete(id).await.unwrap();
    assert!(matches!(cat.meta(id).await, Err(Error::NotFound(_))));
    let after = cat.list().await.unwrap();
    assert_eq!(
        after.blocks.iter().map(|b| b.ulid).collect::<Vec<_>>(),
        vec![older.ulid]
    );
    let left: Vec<_> =
        futures::TryStreamExt::try_collect::<Vec<_>>(store.list(Some(&cat.block_dir(id))))
            .await
            .unwrap();
    assert!(left.is_empty(), "{left:?}");
    // Deleting again is fine.
    cat.delete(id).await.unwrap();
}

#[tokio::test]
async fn catalogue_on_memory() {
    // Over 8 MiB: exercises the multipart path.
    catalogue_round_trip(&objstore::from_url("memory://").unwrap(), 9 * 1024 * 1024).await;
}

#[tokio::test]
async fn catalogue_on_file() {
    let tmp = tempfile::tempdir().unwrap();
    let h = objstore::from_url(tmp.path().to_str().unwrap()).unwrap();
    catalogue_round_trip(&h, 1000).await;
}

#[cfg(feature = "s3")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn catalogue_on_seaweedfs() {
    let Some(weed) = crate::objstore::testing::SeaweedFs::start().await.unwrap() else {
        return;
    };
    let url = weed.url("lgtm-blocks", "tenant");
    weed.wait_writable(&url).await.unwrap();
    catalogue_round_trip(&objstore::from_url(&url).unwrap(), 9 * 1024 * 1024).await;
}

#[tokio::test]
async fn retention_deletes_blocks_that_end_before_the_cutoff() {
    let h = objstore::from_url("memory://").unwrap();
    let cat = BlockCatalog::from_handle(&h, "/tenant-1/blocks/");
    let tmp = tempfile::tempdir().unwrap();
    write_block_dir(tmp.path(), 10);
    let mut ids = Vec::new();
    for (i, (min, max)) in [(0, 100), (100, 200), (200, 300)].into_iter().enumerate() {
        let m = BlockMeta::new(BlockId::from_parts(i as u64, 1), min, max);
        ids.push(cat.upload_dir(tmp.path(), &m).await.unwrap().ulid);
    }
    assert_eq!(
        cat.block_dir(ids[0]).to_string(),
        format!("tenant-1/blocks/{}", ids[0])
    );
    // [100, 200) ends exactly at the cutoff: its data is all older, so it goes too.
    assert_eq!(cat.delete_before(200).await.unwrap(), vec![ids[0], ids[1]]);
    let left: Vec<BlockId> = cat
        .list()
        .await
        .unwrap()
        .blocks
        .iter()
        .map(|b| b.ulid)
        .collect();
    assert_eq!(left, vec![ids[2]]);
    assert!(cat.delete_before(200).await.unwrap().is_empty());
}

#[tokio::test]
async fn in_memory_blocks_upload_files_then_meta() {
    let h = objstore::from_url("memory://").unwrap();
    let cat = BlockCatalog::from_handle(&h, "t1");
    let id = BlockId::from_parts(5, 5);
    let mut m = BlockMeta::new(id, 10, 20);
    m.extra.insert("format".into(), "v1".into());
    let written = cat
        .upload_files(
            &m,
            vec![
                ("index".into(), bytes::Bytes::from_static(b"idx")),
                ("/chunks/0001".into(), bytes::Bytes::from(vec![9u8; 1000])),
            ],
        )
        .await
        .unwrap();
    let rels: Vec<&str> = written.files.iter().map(|f| f.rel_path.as_str()).collect();
    assert_eq!(rels, ["index", "chunks/0001"]);
    assert_eq!(written.stats.num_bytes, Some(1003));
    assert_eq!(cat.meta(id).await.unwrap(), written);
    assert_eq!(
        &cat.read_file(id, "chunks/0001").await.unwrap()[..],
        &[9u8; 1000][..]
    );
    assert!(matches!(
        cat.read_file(id, "missing").await,
        Err(Error::Store { op: "get", .. })
    ));
}
