//! Two replicas replicating silences and the notification log over HTTP on their cluster
//! ports: the same alert posted to both notifies once; a silence made on one is listed by
//! the other.

use std::sync::Arc;
use std::time::Duration;

use alert_router::notify::reqwest;
use axum::body::Bytes;
use axum::extract::State;
use parking_lot::Mutex;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

async fn sink(State(log): State<Arc<Mutex<Vec<Value>>>>, body: Bytes) -> &'static str {
    log.lock()
        .push(serde_json::from_slice(&body).unwrap_or(Value::Null));
    ""
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_notify_once_and_share_silences() {
    let log: Arc<Mutex<Vec<Value>>> = Arc::default();
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sink_port = l.local_addr().unwrap().port();
    let app = axum::Router::new().fallback(sink).with_state(log.clone());
    let sink_task = tokio::spawn(async move { axum::serve(l, app).await });

    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("am.yml");
    std::fs::write(
        &cfg,
        format!(
            "route: {{receiver: hook, group_by: [alertname], group_wait: 1s, group_interval: 1m}}\n\
             receivers: [{{name: hook, webhook_configs: [{{url: 'http://127.0.0.1:{sink_port}/'}}]}}]\n"
        ),
    )
    .unwrap();
    lgtm_common::http_client::client::install_crypto_provider();
    let client = reqwest::Client::new();
    let shutdown = CancellationToken::new();
    // Free ports are picked then bound by the replicas: another test may grab one in
    // between, so a start-up that fails is retried on new ports.
    let mut started = None;
    for _attempt in 0..5 {
        let cluster_ports = [free_port(), free_port()];
        let token = shutdown.child_token();
        let mut urls = Vec::new();
        let mut servers = Vec::new();
        for i in 0..2 {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            urls.push(format!("http://{}", listener.local_addr().unwrap()));
            let me = format!("127.0.0.1:{}", cluster_ports[i]);
            let peer = format!("127.0.0.1:{}", cluster_ports[1 - i]);
            let config = alert_router::Config::from_args(
                [
                    format!("--config.file={}", cfg.display()),
                    format!(
                        "--storage.path={}",
                        dir.path().join(format!("data{i}")).display()
                    ),
                    format!("--cluster.listen-address={me}"),
                    format!("--cluster.advertise-address={me}"),
                    format!("--cluster.peer={peer}"),
                    "--cluster.peer-timeout=3s".to_owned(),
                ]
                .into_iter(),
            )
            .unwrap();
            servers.push(tokio::spawn(alert_router::serve(
                config,
                listener,
                token.clone(),
            )));
        }
        let mut ready = 0;
        for u in &urls {
            for _ in 0..100 {
                if client
                    .get(format!("{u}/-/ready"))
                    .send()
                    .await
                    .is_ok_and(|r| r.status().is_success())
                {
                    ready += 1;
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        if ready == 2 {
            started = Some((urls, servers));
            break;
        }
        token.cancel();
        for s in servers {
            let _ = s.await;
        }
    }
    let (urls, servers) = started.expect("two replicas started");
    let alert = r#"[{"labels":{"alertname":"HaTest","instance":"x"}}]"#;
    for u in &urls {
        let r = client
            .post(format!("{u}/api/v2/alerts"))
            .body(alert)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200);
    }
    // group_wait (1s) + the second replica's positional wait (3s) + margin for a loaded CI.
    tokio::time::sleep(Duration::from_millis(7000)).await;
    assert_eq!(
        log.lock().len(),
        1,
        "exactly one notification from the pair"
    );

    // A silence created on replica 0 is listed by replica 1.
    let now = chrono::Utc::now();
    let body = format!(
        r#"{{"comment":"c","createdBy":"t","startsAt":"{}","endsAt":"{}","matchers":[{{"name":"alertname","value":"HaTest","isRegex":false}}]}}"#,
        now.to_rfc3339(),
        (now + chrono::Duration::hours(1)).to_rfc3339()
    );
    let r = client
        .post(format!("{}/api/v2/silences", urls[0]))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let id = serde_json::from_str::<Value>(&r.text().await.unwrap()).unwrap()["silenceID"]
        .as_str()
        .unwrap()
        .to_owned();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let r = client
        .get(format!("{}/api/v2/silence/{id}", urls[1]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200, "silence replicated");
    let status = client
        .get(format!("{}/api/v2/status", urls[1]))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let status: Value = serde_json::from_str(&status).unwrap();
    assert_eq!(status["cluster"]["status"], "ready");
    assert_eq!(status["cluster"]["peers"].as_array().unwrap().len(), 2);
    let metrics = client
        .get(format!("{}/metrics", urls[0]))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("alertmanager_cluster_enabled 1"));

    shutdown.cancel();
    for s in servers {
        s.await.unwrap().unwrap();
    }
    sink_task.abort();
}
