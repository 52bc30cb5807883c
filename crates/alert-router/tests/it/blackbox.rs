//! The issue's "done when": the same alert sequence posted to Debian's Alertmanager and to
//! alert-router with the same configuration; the webhook and Telegram requests each
//! delivers, group by group and in order, must match.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use alert_router::notify::reqwest;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::Uri;
use parking_lot::Mutex;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::common::peer;

type Log = Arc<Mutex<Vec<(String, Value)>>>;

const CONFIG: &str = r#"
global: {resolve_timeout: 5m}
route:
  receiver: default-hook
  group_by: [alertname]
  group_wait: 1s
  group_interval: 3s
  repeat_interval: 1h
  routes:
    - receiver: team-hook
      matchers: [ 'team="db"' ]
      group_by: [alertname, instance]
      continue: true
    - receiver: tg
      matchers: [ 'severity="critical"' ]
inhibit_rules:
  - source_matchers: [ 'severity="critical"' ]
    target_matchers: [ 'severity="warning"' ]
    equal: [instance]
receivers:
  - name: default-hook
    webhook_configs: [{url: 'http://127.0.0.1:PORT/WHO/default', send_resolved: true}]
  - name: team-hook
    webhook_configs: [{url: 'http://127.0.0.1:PORT/WHO/team', send_resolved: false}]
  - name: tg
    telegram_configs:
      - {api_url: 'http://127.0.0.1:PORT/WHO', bot_token: '123456:TESTTOKEN', chat_id: -1001234567890}
"#;

async fn record(State(log): State<Log>, uri: Uri, body: Bytes) -> axum::response::Response {
    let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let path = uri.path().replace("//", "/");
    log.lock().push((path.clone(), v));
    if path.ends_with("/sendMessage") {
        let ok = r#"{"ok":true,"result":{"message_id":1,"date":1700000000,"chat":{"id":-1001234567890,"type":"supergroup"},"text":"x"}}"#;
        return ([("content-type", "application/json")], ok).into_response_ok();
    }
    ([("content-type", "text/plain")], "").into_response_ok()
}

trait Ok200 {
    fn into_response_ok(self) -> axum::response::Response;
}

impl<T: axum::response::IntoResponse> Ok200 for T {
    fn into_response_ok(self) -> axum::response::Response {
        self.into_response()
    }
}

/// Drops what legitimately differs between two servers: timestamps (keeping whether
/// `endsAt` is zero).
fn normalise(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(alerts) = v.get_mut("alerts").and_then(Value::as_array_mut) {
        for a in alerts {
            let zero = a["endsAt"] == "0001-01-01T00:00:00Z";
            a["startsAt"] = Value::String("<t>".into());
            a["endsAt"] = Value::String(if zero {
                "0001-01-01T00:00:00Z".into()
            } else {
                "<t>".into()
            });
        }
    }
    v
}

/// Per destination and group: the normalised notifications in arrival order.
fn by_group(log: &[(String, Value)], who: &str) -> BTreeMap<String, Vec<Value>> {
    let mut out: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for (path, body) in log {
        let Some(rest) = path.strip_prefix(&format!("/{who}/")) else {
            continue;
        };
        // alert-router checks its Telegram chats at start-up; Alertmanager does not.
        if rest.ends_with("/getChat") {
            continue;
        }
        let key = match body.get("groupKey") {
            Some(k) => format!("{rest} {k}"),
            None => rest.to_owned(),
        };
        out.entry(key).or_default().push(normalise(body));
    }
    out
}

async fn post(client: &reqwest::Client, base: &str, body: &str) {
    let r = client
        .post(format!("{base}/api/v2/alerts"))
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200, "{base}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn same_notifications_as_alertmanager() {
    let Some(am_bin) = peer("prometheus-alertmanager").or_else(|| peer("alertmanager")) else {
        return;
    };
    let log: Log = Arc::default();
    let sink = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sink_port = sink.local_addr().unwrap().port();
    let app = axum::Router::new().fallback(record).with_state(log.clone());
    let sink_task = tokio::spawn(async move { axum::serve(sink, app).await });

    let dir = tempfile::tempdir().unwrap();
    let write_cfg = |who: &str| {
        let p = dir.path().join(format!("{who}.yml"));
        std::fs::write(
            &p,
            CONFIG
                .replace("PORT", &sink_port.to_string())
                .replace("WHO", who),
        )
        .unwrap();
        p
    };
    let (am_cfg, our_cfg) = (write_cfg("am"), write_cfg("ours"));

    // Debian's Alertmanager on a free port, no clustering.
    let (am, am_url) = crate::common::start_alertmanager(
        &am_bin,
        &[
            format!("--config.file={}", am_cfg.display()),
            format!("--storage.path={}", dir.path().join("am-data").display()),
            "--web.external-url=http://am.example:9093".to_owned(),
        ],
    )
    .await;

    // alert-router.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let our_port = listener.local_addr().unwrap().port();
    let shutdown = CancellationToken::new();
    let config = alert_router::Config {
        config_file: our_cfg,
        storage_path: dir.path().join("our-data"),
        external_url: Some("http://am.example:9093".into()),
        ..Default::default()
    };
    let ours = tokio::spawn(alert_router::serve(config, listener, shutdown.clone()));

    lgtm_common::http_client::client::install_crypto_provider();
    let client = reqwest::Client::new();
    let our_url = format!("http://127.0.0.1:{our_port}");
    for _ in 0..100 {
        if client
            .get(format!("{our_url}/-/ready"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let both = |body: String| {
        let (c, a, o) = (client.clone(), am_url.clone(), our_url.clone());
        async move {
            tokio::join!(post(&c, &a, &body), post(&c, &o, &body));
        }
    };
    let far = r#""endsAt":"2099-01-01T00:00:00Z""#;
    both(format!(
        r#"[{{"labels":{{"alertname":"DiskFull","severity":"warning","instance":"db1","team":"db"}},"annotations":{{"summary":"disk on db1 nearly full"}},"generatorURL":"http://prom:9090/graph?g0.expr=up&x=<1>",{far}}},
            {{"labels":{{"alertname":"DiskFull","severity":"warning","instance":"db2","team":"db"}},"annotations":{{"summary":"disk on db2 nearly full"}},{far}}},
            {{"labels":{{"alertname":"NodeDown","severity":"critical","instance":"db1"}},"annotations":{{"summary":"db1 <down> & out"}},{far}}},
            {{"labels":{{"alertname":"Other","instance":"x"}},"annotations":{{"summary":"a \"quoted\" 'one' + more"}},{far}}}]"#
    ))
    .await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let now = chrono::Utc::now().to_rfc3339();
    both(format!(
        r#"[{{"labels":{{"alertname":"NodeDown","severity":"critical","instance":"db1"}},"annotations":{{"summary":"db1 <down> & out"}},"endsAt":"{now}"}},
            {{"labels":{{"alertname":"Other","instance":"y"}},{far}}}]"#
    ))
    .await;
    tokio::time::sleep(Duration::from_millis(7000)).await;

    drop(am);
    shutdown.cancel();
    ours.await.unwrap().unwrap();
    sink_task.abort();

    let log = log.lock().clone();
    let theirs = by_group(&log, "am");
    let mine = by_group(&log, "ours");
    assert!(!theirs.is_empty(), "Alertmanager delivered nothing");
    for (k, v) in &theirs {
        eprintln!("group {k}: {} notification(s)", v.len());
    }
    assert_eq!(
        theirs.keys().collect::<Vec<_>>(),
        mine.keys().collect::<Vec<_>>(),
        "same groups and destinations"
    );
    for (k, v) in &theirs {
        assert_eq!(v, &mine[k], "group {k}");
    }
    // The scenario exercised what it should.
    assert!(
        theirs
            .keys()
            .any(|k| k.starts_with("bot123456:TESTTOKEN/sendMessage"))
    );
    assert!(
        theirs.keys().any(|k| k.contains("instance=\\\"db1\\\"")),
        "{:?}",
        theirs.keys()
    );
}
