//! End to end over real sockets, no peer needed: alert-router serving on 127.0.0.1, a
//! webhook sink and a fake Bot API (answering 429 once) as local HTTP servers.

use std::sync::Arc;
use std::time::Duration;

use alert_router::notify::reqwest;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::IntoResponse;
use parking_lot::Mutex;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

#[derive(Clone, Default)]
struct Sink {
    log: Arc<Mutex<Vec<(String, Value)>>>,
    throttled: Arc<Mutex<bool>>,
}

async fn handle(
    State(s): State<Sink>,
    uri: Uri,
    headers: axum::http::HeaderMap,
    body: Bytes,
) -> axum::response::Response {
    let path = uri.path().to_owned();
    if path == "/hook" {
        let auth = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        assert_eq!(auth, "Bearer s3cret");
    }
    if path.ends_with("/sendMessage") {
        let mut t = s.throttled.lock();
        if !*t {
            *t = true;
            return (
                StatusCode::TOO_MANY_REQUESTS,
                r#"{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 1","parameters":{"retry_after":1}}"#,
            )
                .into_response();
        }
    }
    s.log
        .lock()
        .push((path, serde_json::from_slice(&body).unwrap_or(Value::Null)));
    (StatusCode::OK, r#"{"ok":true,"result":{"message_id":5}}"#).into_response()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_and_telegram_over_http() {
    let sink = Sink::default();
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    let app = axum::Router::new()
        .fallback(handle)
        .with_state(sink.clone());
    let sink_task = tokio::spawn(async move { axum::serve(l, app).await });

    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("am.yml");
    std::fs::write(
        &cfg,
        format!(
            r#"
route:
  receiver: both
  group_by: [alertname]
  group_wait: 200ms
receivers:
  - name: both
    webhook_configs: [{{url: 'http://127.0.0.1:{port}/hook', http_config: {{authorization: {{credentials: s3cret}}}}}}]
    telegram_configs: [{{api_url: 'http://127.0.0.1:{port}', bot_token: 'T', chat_id: 42}}]
"#
        ),
    )
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let shutdown = CancellationToken::new();
    let config = alert_router::Config {
        config_file: cfg,
        storage_path: dir.path().join("data"),
        ..Default::default()
    };
    let server = tokio::spawn(alert_router::serve(config, listener, shutdown.clone()));

    lgtm_common::http_client::client::install_crypto_provider();
    let client = reqwest::Client::new();
    let mut ready = false;
    for _ in 0..50 {
        if client
            .get(format!("{base}/-/ready"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(ready);
    let r = client
        .post(format!("{base}/api/v2/alerts"))
        .body(
            r#"[{"labels":{"alertname":"E2E","instance":"a"},"annotations":{"summary":"x < y"}}]"#,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    tokio::time::sleep(Duration::from_millis(2500)).await;
    shutdown.cancel();
    server.await.unwrap().unwrap();
    sink_task.abort();

    let log = sink.log.lock().clone();
    let paths: Vec<&str> = log.iter().map(|(p, _)| p.as_str()).collect();
    assert!(
        paths.contains(&"/botT/getChat"),
        "chat verified at start-up: {paths:?}"
    );
    let hook: Vec<&Value> = log
        .iter()
        .filter(|(p, _)| p == "/hook")
        .map(|(_, b)| b)
        .collect();
    assert_eq!(hook.len(), 1);
    assert_eq!(hook[0]["groupLabels"]["alertname"], "E2E");
    let tg: Vec<&Value> = log
        .iter()
        .filter(|(p, _)| p == "/botT/sendMessage")
        .map(|(_, b)| b)
        .collect();
    assert_eq!(tg.len(), 1, "delivered once after the 429");
    assert!(
        tg[0]["text"]
            .as_str()
            .unwrap()
            .contains(" - summary = x &lt; y\n")
    );
}
