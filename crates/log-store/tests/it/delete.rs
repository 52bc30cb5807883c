//! The delete API: requests hide entries from queries at once, can be cancelled, and are
//! applied to blocks by compaction.

use axum::body::Body;
use http::Request;
use http_body_util::BodyExt;
use lgtm_common::clock::SystemClock;
use log_store::config::Config;
use log_store::server::LogStore;
use log_store::store::Retention;
use serde_json::{Value, json};
use tower::ServiceExt;

async fn call(r: &axum::Router, method: &str, uri: &str, body: Option<String>) -> (u16, Vec<u8>) {
    let mut b = Request::builder().method(method).uri(uri);
    if body.is_some() {
        b = b.header("Content-Type", "application/json");
    }
    let req = b.body(body.map_or_else(Body::empty, Body::from)).unwrap();
    let resp = r.clone().oneshot(req).await.unwrap();
    let s = resp.status().as_u16();
    (
        s,
        resp.into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec(),
    )
}

async fn lines(r: &axum::Router, t: i64) -> Vec<String> {
    let uri = format!(
        "/loki/api/v1/query_range?query=%7Bapp%3D%22d%22%7D&start={}&end={}&direction=forward",
        t - 1,
        t + 100
    );
    let (_, body) = call(r, "GET", &uri, None).await;
    let v: Value = serde_json::from_slice(&body).unwrap();
    v["data"]["result"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| {
            s["values"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x[1].as_str().unwrap().to_owned())
        })
        .collect()
}

#[tokio::test]
async fn delete_requests_filter_cancel_and_compact() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config {
        auth_enabled: false,
        ..Config::default()
    };
    config.common.path_prefix = Some(dir.path().to_path_buf());
    config.compactor.retention_enabled = true;
    let ls = LogStore::open(config, SystemClock::shared()).await.unwrap();
    let r = ls.http().build_router();
    let now_s = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let t = (now_s - 120) * 1_000_000_000;
    let values: Vec<Value> = ["keep 1", "secret 2", "keep 3", "secret 4"]
        .iter()
        .enumerate()
        .map(|(i, l)| json!([(t + i as i64).to_string(), l]))
        .collect();
    let body = json!({"streams":[{"stream":{"app":"d"},"values":values}]}).to_string();
    assert_eq!(
        call(&r, "POST", "/loki/api/v1/push", Some(body)).await.0,
        204
    );
    let (s, b) = call(
        &r,
        "POST",
        "/loki/api/v1/delete?query=%7Bapp%3D%22d%22%7D",
        None,
    )
    .await;
    assert_eq!((s, b.as_slice()), (400, &b"start time not set\n"[..]));
    let create = format!(
        "/loki/api/v1/delete?query=%7Bapp%3D%22d%22%7D%20%7C%3D%20%22secret%22&start={}&end={}",
        now_s - 3600,
        now_s - 1
    );
    assert_eq!(call(&r, "POST", &create, None).await.0, 204);
    assert_eq!(lines(&r, t).await, ["keep 1", "keep 3"]);
    let (_, b) = call(&r, "GET", "/loki/api/v1/delete", None).await;
    let list: Value = serde_json::from_slice(&b).unwrap();
    assert_eq!(list[0]["status"], "received");
    assert_eq!(list[0]["query"], "{app=\"d\"} |= \"secret\"");
    let id = list[0]["request_id"].as_str().unwrap().to_owned();
    // Cancelling brings the entries back.
    let (s, _) = call(
        &r,
        "DELETE",
        &format!("/loki/api/v1/delete?request_id={id}"),
        None,
    )
    .await;
    assert_eq!(s, 204);
    assert_eq!(lines(&r, t).await.len(), 4);
    let (s, b) = call(&r, "DELETE", "/loki/api/v1/delete?request_id=nope", None).await;
    assert_eq!(
        (s, b.as_slice()),
        (404, &b"could not find delete request with given id\n"[..])
    );
    // Again, then flush and compact: the request is processed and the block rewritten.
    assert_eq!(call(&r, "POST", &create, None).await.0, 204);
    ls.state.store.flush().await.unwrap();
    let out = ls
        .state
        .store
        .compact(&Retention::default(), 8, 0, ls.state.clock.now_ns())
        .await
        .unwrap();
    assert_eq!(out.entries_deleted, 2);
    assert_eq!(lines(&r, t).await, ["keep 1", "keep 3"]);
    let (_, b) = call(&r, "GET", "/loki/api/v1/delete", None).await;
    let list: Value = serde_json::from_slice(&b).unwrap();
    assert_eq!(list[0]["status"], "processed");
    let id = list[0]["request_id"].as_str().unwrap().to_owned();
    let (s, _) = call(
        &r,
        "DELETE",
        &format!("/loki/api/v1/delete?request_id={id}"),
        None,
    )
    .await;
    assert_eq!(s, 400);
}
