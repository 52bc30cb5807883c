use futures::TryStreamExt;
use object_store::PutPayload;

use super::*;

fn s3(cfg: ObjectStoreConfig) -> S3Config {
    match cfg {
        ObjectStoreConfig::S3(c) => c,
        other => panic!("expected s3, got {other:?}"),
    }
}

#[test]
fn bare_paths_and_file_urls_are_local_directories() {
    let cases = [
        ("/var/lib/lgtm", "/var/lib/lgtm", true),
        ("./data", "./data", true),
        ("file:///var/lib/lgtm", "/var/lib/lgtm", true),
        ("file://localhost/var/lib/lgtm/", "/var/lib/lgtm/", true),
        ("file:///srv/a%20b?fsync=false", "/srv/a b", false),
    ];
    for (url, path, fsync) in cases {
        let cfg = ObjectStoreConfig::from_url(url).unwrap();
        assert_eq!(
            cfg,
            ObjectStoreConfig::File(FileConfig {
                path: path.into(),
                fsync
            }),
            "{url}"
        );
        assert_eq!(cfg.prefix(), "");
        assert_eq!(cfg.backend(), "file");
    }
}

#[test]
fn memory_urls_carry_an_optional_prefix() {
    assert_eq!(
        ObjectStoreConfig::from_url("memory://").unwrap(),
        ObjectStoreConfig::Memory(MemoryConfig::default())
    );
    let cfg = ObjectStoreConfig::from_url("memory://tenant/blocks/").unwrap();
    assert_eq!(cfg.prefix(), "tenant/blocks");
}

#[test]
fn s3_url_with_every_query_key() {
    let cfg = ObjectStoreConfig::from_url(
        "s3://lgtm-data/metrics/blocks/?endpoint=http://127.0.0.1:8333&region=us-east-1\
         &force_path_style=true&access_key_id=AKID&secret_access_key=se%2Bcr%2Fet\
         &session_token=tok&allow_http=1&timeout=2m&connect_timeout=1500ms",
    )
    .unwrap();
    let c = s3(cfg.clone());
    assert_eq!(c.bucket, "lgtm-data");
    assert_eq!(c.prefix, "metrics/blocks");
    assert_eq!(c.endpoint.as_deref(), Some("http://127.0.0.1:8333"));
    assert_eq!(c.region.as_deref(), Some("us-east-1"));
    assert_eq!(c.force_path_style, Some(true));
    assert_eq!(c.allow_http, Some(true));
    assert_eq!(c.access_key_id.as_deref(), Some("AKID"));
    assert_eq!(c.secret_access_key.as_deref(), Some("se+cr/et"));
    assert_eq!(c.session_token.as_deref(), Some("tok"));
    assert_eq!(c.timeout, Some(std::time::Duration::from_secs(120)));
    assert_eq!(
        c.connect_timeout,
        Some(std::time::Duration::from_millis(1500))
    );
    // The URL form round-trips (secrets aside).
    let mut shown = ObjectStoreConfig::from_url(&parse::to_url(&cfg, false)).unwrap();
    assert_eq!(shown, cfg);
    shown = ObjectStoreConfig::from_url(&cfg.to_string()).unwrap();
    assert_eq!(s3(shown).secret_access_key.as_deref(), Some("<secret>"));
    assert_eq!(cfg.prefix(), "metrics/blocks");

    // Secrets never show in Display, Debug or Serialize.
    for shown in [
        cfg.to_string(),
        format!("{cfg:?}"),
        serde_json::to_string(&cfg).unwrap(),
    ] {
        assert!(
            !shown.contains("se+cr") && !shown.contains("se%2Bcr"),
            "{shown}"
        );
        assert!(
            !shown.contains("tok\"") && !shown.contains("=tok"),
            "{shown}"
        );
        assert!(shown.contains("AKID"), "{shown}");
    }

    let bare = s3(ObjectStoreConfig::from_url("s3a://bucket").unwrap());
    assert_eq!((bare.bucket.as_str(), bare.prefix.as_str()), ("bucket", ""));
    assert_eq!(bare.endpoint, None);
}

#[test]
fn url_errors_name_the_bad_part() {
    let err = |u: &str| ObjectStoreConfig::from_url(u).unwrap_err();
    assert!(matches!(err(""), Error::EmptyUrl));
    assert!(matches!(err("  "), Error::EmptyUrl));
    assert!(matches!(err("gs://bucket/x"), Error::UnknownScheme { scheme } if scheme == "gs"));
    assert!(matches!(err("s3://"), Error::MissingBucket));
    assert!(matches!(err("s3:///prefix"), Error::MissingBucket));
    assert!(matches!(err("s3://[::1"), Error::InvalidUrl(_)));
    match err("s3://b/p?endpiont=http://x") {
        Error::UnknownQueryKey { scheme, key, .. } => {
            assert_eq!((scheme, key.as_str()), ("s3", "endpiont"))
        }
        other => panic!("{other:?}"),
    }
    assert!(
        matches!(err("s3://b?force_path_style=maybe"), Error::BadQueryValue { key, .. } if key == "force_path_style")
    );
    assert!(
        matches!(err("s3://b?endpoint=127.0.0.1:8333"), Error::BadQueryValue { key, .. } if key == "endpoint")
    );
    assert!(
        matches!(err("s3://b?region=a&region=b"), Error::DuplicateQueryKey { key } if key == "region")
    );
    for bad in [
        "s3://b?timeout=30",
        "s3://b?timeout=0s",
        "s3://b?connect_timeout=soon",
    ] {
        assert!(matches!(err(bad), Error::BadQueryValue { .. }), "{bad}");
    }
    assert!(matches!(
        err("s3://b:9000/x"),
        Error::UnexpectedUrlPart { scheme: "s3", .. }
    ));
    assert!(matches!(
        err("s3://key:secret@b/x"),
        Error::UnexpectedUrlPart { scheme: "s3", .. }
    ));
    assert!(matches!(
        err("file://server/share"),
        Error::UnexpectedUrlPart { scheme: "file", .. }
    ));
    assert!(
        matches!(err("file:///x?sync=1"), Error::UnknownQueryKey { scheme: "file", key, .. } if key == "sync")
    );
    assert!(matches!(
        err("memory://?a=b"),
        Error::UnknownQueryKey {
            scheme: "memory",
            ..
        }
    ));
    assert!(matches!(err("s3://b/a//c"), Error::BadPrefix { .. }));
    // The message names the offending key.
    assert!(
        err("s3://b?colour=red")
            .to_string()
            .contains("unknown query key \"colour\"")
    );
}

#[test]
fn yaml_takes_a_url_or_a_map() {
    #[derive(serde::Deserialize, Debug)]
    struct Cfg {
        storage: ObjectStoreConfig,
    }
    let parse = |y: &str| serde_yaml_ng::from_str::<Cfg>(y).map(|c| c.storage);

    let c = parse("storage: s3://b/p?endpoint=http://127.0.0.1:8333\n").unwrap();
    assert_eq!(s3(c).endpoint.as_deref(), Some("http://127.0.0.1:8333"));

    let c = parse(
        "storage:\n  url: s3://b/p?access_key_id=k\n  secret_access_key: s\n  prefix: /q/r/\n",
    )
    .unwrap();
    let c = s3(c);
    assert_eq!(c.secret_access_key.as_deref(), Some("s"));
    assert_eq!(c.access_key_id.as_deref(), Some("k"));
    assert_eq!(c.prefix, "q/r");

    let c = parse("storage: {backend: file, path: /data, fsync: false}\n").unwrap();
    assert_eq!(
        c,
        ObjectStoreConfig::File(FileConfig {
            path: "/data".into(),
            fsync: false
        })
    );
    let c = parse("storage: {backend: s3, bucket: b, region: eu-west-1, timeout: 5m}\n").unwrap();
    let c = s3(c);
    assert_eq!(c.region.as_deref(), Some("eu-west-1"));
    assert_eq!(c.timeout, Some(std::time::Duration::from_secs(300)));
    assert_eq!(
        parse("storage: {backend: memory}\n").unwrap().backend(),
        "memory"
    );

    let e = |y: &str| parse(y).unwrap_err().to_string();
    assert!(e("storage: {backend: memory, timeout: 5m}\n").contains("\"timeout\""));
    assert!(e("storage: {backend: s3}\n").contains("needs field \"bucket\""));
    assert!(e("storage: {backend: file, bucket: x, path: /d}\n").contains("\"bucket\""));
    assert!(e("storage: {url: memory://, backend: s3}\n").contains("contradicts"));
    assert!(e("storage: {backend: gcs}\n").contains("gcs"));
    assert!(e("storage: {url: s3://b, colour: red}\n").contains("colour"));
    assert!(e("storage: \"ftp://x\"\n").contains("ftp"));
}

/// put/get/head/list/delete through the handle's prefixed store.
async fn round_trip(h: &ObjectStoreHandle) {
    let store = h.store();
    let p = |s: &str| ObjectPath::from(s);
    store
        .put(
            &p("blocks/01/meta.json"),
            PutPayload::from_static(b"{\"v\":1}"),
        )
        .await
        .unwrap();
    store
        .put(&p("blocks/01/chunks"), PutPayload::from(vec![7u8; 100_000]))
        .await
        .unwrap();
    store
        .put(&p("blocks/02/meta.json"), PutPayload::from_static(b"{}"))
        .await
        .unwrap();
    store
        .put(&p("other/x"), PutPayload::from_static(b"x"))
        .await
        .unwrap();

    let got = store
        .get(&p("blocks/01/meta.json"))
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(&got[..], b"{\"v\":1}");
    assert_eq!(
        store.head(&p("blocks/01/chunks")).await.unwrap().size,
        100_000
    );

    let mut listed: Vec<String> = store
        .list(Some(&p("blocks")))
        .map_ok(|m| m.location.to_string())
        .try_collect()
        .await
        .unwrap();
    listed.sort();
    assert_eq!(
        listed,
        [
            "blocks/01/chunks",
            "blocks/01/meta.json",
            "blocks/02/meta.json"
        ]
    );
    let dirs = store.list_with_delimiter(Some(&p("blocks"))).await.unwrap();
    let mut prefixes: Vec<String> = dirs.common_prefixes.iter().map(|p| p.to_string()).collect();
    prefixes.sort();
    assert_eq!(prefixes, ["blocks/01", "blocks/02"]);

    // The prefix is applied: the unscoped store sees the full key.
    if !h.prefix().as_ref().is_empty() {
        let full = h.prefix().clone().join("other").join("x");
        let raw = h.root().get(&full).await.unwrap().bytes().await.unwrap();
        assert_eq!(&raw[..], b"x");
    }

    for key in [
        "blocks/01/meta.json",
        "blocks/01/chunks",
        "blocks/02/meta.json",
        "other/x",
    ] {
        store.delete(&p(key)).await.unwrap();
    }
    assert!(matches!(
        store.get(&p("blocks/01/meta.json")).await,
        Err(object_store::Error::NotFound { .. })
    ));
    let left: Vec<_> = store.list(None).try_collect().await.unwrap();
    assert!(left.is_empty(), "{left:?}");
}

#[tokio::test]
async fn scoped_handles_nest_prefixes() {
    let h = from_url("memory://data").unwrap();
    let t = h.scoped("/tenant-a/").unwrap();
    assert_eq!(t.prefix().as_ref(), "data/tenant-a");
    t.store()
        .put(&"x".into(), PutPayload::from_static(b"1"))
        .await
        .unwrap();
    let via_parent = h.store().get(&"tenant-a/x".into()).await.unwrap();
    assert_eq!(&via_parent.bytes().await.unwrap()[..], b"1");
    assert!(matches!(h.scoped("a//b"), Err(Error::BadPrefix { .. })));
    assert_eq!(h.scoped("").unwrap().prefix().as_ref(), "data");
    t.store().delete(&"x".into()).await.unwrap();
    round_trip(&t).await;
}

#[tokio::test]
async fn memory_round_trip() {
    round_trip(&from_url("memory://").unwrap()).await;
    round_trip(&from_url("memory://tenant-a/data").unwrap()).await;
}

#[tokio::test]
async fn file_round_trip_creates_the_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("not/yet/there");
    let h = from_url(&format!("file://{}", root.display())).unwrap();
    h.store()
        .put(&"probe/a".into(), PutPayload::from_static(b"on disk"))
        .await
        .unwrap();
    assert_eq!(
        std::fs::read(root.join("probe").join("a")).unwrap(),
        b"on disk"
    );
    h.store().delete(&"probe/a".into()).await.unwrap();
    round_trip(&h).await;
    round_trip(&from_url(root.to_str().unwrap()).unwrap()).await;
}

#[cfg(not(feature = "s3"))]
#[test]
fn s3_without_the_feature_is_a_clear_error() {
    let cfg = ObjectStoreConfig::from_url("s3://b/p").unwrap();
    assert!(matches!(cfg.build(), Err(Error::S3Disabled)));
}

#[cfg(feature = "s3")]
#[test]
fn s3_builds_without_network() {
    let h = from_url("s3://b/p?endpoint=http://127.0.0.1:1&access_key_id=k&secret_access_key=s")
        .unwrap();
    assert_eq!(h.prefix().as_ref(), "p");
}

#[cfg(feature = "s3")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_round_trip_against_seaweedfs() {
    let Some(weed) = super::testing::SeaweedFs::start().await.unwrap() else {
        return;
    };
    let url = weed.url("lgtm-test", "tenant/blocks");
    let took = weed.wait_writable(&url).await.unwrap();
    eprintln!("SeaweedFS writable after {took:?}");
    let h = from_url(&url).unwrap();
    round_trip(&h).await;

    // Signatures are checked: a wrong secret is refused.
    let bad = from_url(&weed.url_with_secret("lgtm-test", "x", "wrong")).unwrap();
    let err = bad
        .store()
        .put(&"y".into(), PutPayload::from_static(b"y"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, object_store::Error::PermissionDenied { .. }),
        "{err}"
    );
}
