//! Scraping real HTTP targets end to end: a local exporter, and Debian's
//! `prometheus-node-exporter` as a real peer.

use crate::support::{free_port, require_peer};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::get;
use lgtm_common::http::CancellationToken;
use metrics_tsdb::server::{Config, start};
use parking_lot::Mutex;

async fn get_json(client: &reqwest::Client, url: &str) -> serde_json::Value {
    client
        .get(url)
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json")
}

/// Polls `query` until `check` accepts the result or 20 s pass.
async fn wait_for(
    client: &reqwest::Client,
    base: &str,
    query: &str,
    check: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let v = get_json(
            client,
            &format!("{base}/api/v1/query?query={}", urlencode(query)),
        )
        .await;
        if check(&v["data"]["result"]) {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {query}: {v}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

async fn start_tsdb(
    dir: &std::path::Path,
    prometheus_yml: &str,
    shutdown: CancellationToken,
) -> String {
    let config_path = dir.join("prometheus.yml");
    std::fs::write(&config_path, prometheus_yml).expect("write config");
    let config = Config::from_args([
        format!("--config.file={}", config_path.display()),
        format!("--storage.tsdb.path={}", dir.join("data").display()),
        "--web.listen-address=127.0.0.1:0".to_owned(),
        "--web.enable-lifecycle".to_owned(),
    ])
    .expect("flags");
    let running = start(config, shutdown).await.expect("start");
    format!("http://{}", running.addr)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scrapes_an_exporter_reports_targets_and_marks_vanished_series_stale() {
    lgtm_common::http_client::client::install_crypto_provider();
    let body = Arc::new(Mutex::new(
        "# HELP demo_total A counter.\n# TYPE demo_total counter\ndemo_total{path=\"/a\"} 5\ndemo_total{path=\"/b\"} 7\n".to_owned(),
    ));
    let served = Arc::clone(&body);
    let exporter = Router::new().route(
        "/metrics",
        get(move || {
            let text = served.lock().clone();
            async move { ([("content-type", "text/plain; version=0.0.4")], text) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let exporter_addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, exporter).await });

    let dir = tempfile::tempdir().expect("tempdir");
    let shutdown = CancellationToken::new();
    let base = start_tsdb(
        dir.path(),
        &format!(
            "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: demo\n    static_configs:\n      - targets: ['{exporter_addr}']\n        labels: {{team: core}}\n"
        ),
        shutdown.clone(),
    )
    .await;
    let client = reqwest::Client::new();
    let v = wait_for(&client, &base, "demo_total", |r| {
        r.as_array().is_some_and(|a| a.len() == 2)
    })
    .await;
    let first = &v["data"]["result"][0];
    assert_eq!(first["metric"]["job"], "demo");
    assert_eq!(first["metric"]["team"], "core");
    assert_eq!(first["metric"]["instance"], exporter_addr.to_string());
    assert_eq!(first["value"][1], "5");
    wait_for(&client, &base, "up", |r| r[0]["value"][1] == "1").await;
    wait_for(&client, &base, "scrape_samples_scraped", |r| {
        r[0]["value"][1] == "2"
    })
    .await;

    let targets = get_json(&client, &format!("{base}/api/v1/targets")).await;
    let active = &targets["data"]["activeTargets"][0];
    assert_eq!(active["scrapePool"], "demo");
    assert_eq!(
        active["scrapeUrl"],
        format!("http://{exporter_addr}/metrics")
    );
    assert_eq!(active["scrapeInterval"], "1s");
    assert_eq!(active["health"], "up");
    let metadata = get_json(
        &client,
        &format!("{base}/api/v1/metadata?metric=demo_total"),
    )
    .await;
    assert_eq!(metadata["data"]["demo_total"][0]["type"], "counter");

    // The /b series disappears: a stale marker ends it at once (no 5 minute lookback).
    *body.lock() = "demo_total{path=\"/a\"} 6\n".to_owned();
    wait_for(&client, &base, "demo_total", |r| {
        r.as_array().is_some_and(|a| a.len() == 1)
    })
    .await;

    // The exporter fails: up goes to 0 and the target reports the error.
    *body.lock() = "demo_total{path=\"/a\"} notanumber\n".to_owned();
    wait_for(&client, &base, "up", |r| r[0]["value"][1] == "0").await;
    let targets = get_json(&client, &format!("{base}/api/v1/targets?state=active")).await;
    let active = &targets["data"]["activeTargets"][0];
    assert_eq!(active["health"], "down");
    assert!(
        active["lastError"].as_str().is_some_and(|e| !e.is_empty()),
        "{active}"
    );
    assert!(targets["data"].get("droppedTargets").is_none());
    shutdown.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scrapes_debian_node_exporter() {
    let Some(binary) = require_peer(&["prometheus-node-exporter", "node_exporter"]) else {
        return;
    };
    lgtm_common::http_client::client::install_crypto_provider();
    let port = free_port();
    let mut child = std::process::Command::new(binary)
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start node exporter");
    let dir = tempfile::tempdir().expect("tempdir");
    let shutdown = CancellationToken::new();
    let base = start_tsdb(
        dir.path(),
        &format!("global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: node\n    static_configs:\n      - targets: ['127.0.0.1:{port}']\n"),
        shutdown.clone(),
    )
    .await;
    let client = reqwest::Client::new();
    let v = wait_for(&client, &base, "count(node_cpu_seconds_total)", |r| {
        r[0]["value"][1]
            .as_str()
            .and_then(|s| s.parse::<f64>().ok())
            .is_some_and(|n| n > 0.0)
    })
    .await;
    assert_eq!(v["status"], "success");
    wait_for(&client, &base, "up{job=\"node\"}", |r| {
        r[0]["value"][1] == "1"
    })
    .await;
    shutdown.cancel();
    let _ = child.kill();
    let _ = child.wait();
}
