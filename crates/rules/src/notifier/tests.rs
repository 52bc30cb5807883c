use std::sync::Arc;

use lgtm_common::labels::Labels;
use parking_lot::Mutex;

use super::*;

fn alert(name: &str, extra: &[(&str, &str)]) -> NotifyAlert {
    let mut pairs = vec![("alertname", name)];
    pairs.extend_from_slice(extra);
    NotifyAlert {
        labels: Labels::from_pairs(pairs),
        annotations: [("summary".to_owned(), "s".to_owned())].into(),
        starts_at: 1_700_000_000_000,
        ends_at: 1_700_000_240_123,
        generator_url: "http://p:9090/graph?g0.expr=up&g0.tab=1".to_owned(),
    }
}

fn relabel(yaml: &str) -> Vec<RelabelConfig> {
    serde_yaml_ng::from_str(yaml).unwrap()
}

fn set(name: &str, target: &str, settings: AlertmanagerSettings) -> Arc<AlertmanagerSet> {
    Arc::new(
        AlertmanagerSet::new(
            name,
            settings,
            Box::new(StaticTargets(vec![Labels::from_pairs([(
                "__address__",
                target,
            )])])),
        )
        .unwrap(),
    )
}

#[test]
fn full_queue_drops_oldest_and_counts() {
    let n = Notifier::new(3, NotifierMetrics::default());
    n.send((0..2).map(|i| alert(&format!("A{i}"), &[])).collect());
    n.send((2..4).map(|i| alert(&format!("A{i}"), &[])).collect());
    assert_eq!(n.queue_len(), 3);
    assert_eq!(n.dropped(), 1);
    let batch = n.next_batch();
    let names: Vec<&str> = batch
        .iter()
        .map(|a| a.labels.get_or_empty("alertname"))
        .collect();
    assert_eq!(names, ["A1", "A2", "A3"]);
    // A single send larger than the queue keeps its newest alerts.
    n.send((0..5).map(|i| alert(&format!("B{i}"), &[])).collect());
    assert_eq!(n.dropped(), 3);
    assert_eq!(n.next_batch()[0].labels.get("alertname"), Some("B2"));
}

#[test]
fn external_labels_then_alert_relabeling() {
    let n = Notifier::new(100, NotifierMetrics::default());
    n.apply(NotifierSettings {
        external_labels: Labels::from_pairs([("replica", "a"), ("cluster", "eu1")]),
        relabel: relabel(
            "[{action: labeldrop, regex: replica}, {source_labels: [severity], regex: debug, action: drop}]",
        ),
        sets: Vec::new(),
    });
    n.send(vec![
        alert("A", &[("cluster", "own")]),
        alert("B", &[("severity", "debug")]),
    ]);
    let batch = n.next_batch();
    assert_eq!(batch.len(), 1);
    // The alert's own cluster label wins over the external label; replica was dropped.
    assert_eq!(
        batch[0].labels,
        Labels::from_pairs([("alertname", "A"), ("cluster", "own")])
    );
    assert_eq!(batch[0].starts_at, "2023-11-14T22:13:20.000Z");
    assert_eq!(batch[0].ends_at, "2023-11-14T22:17:20.123Z");
}

/// Requests seen by a fake Alertmanager: path, `Authorization`, JSON body.
type Seen = Arc<Mutex<Vec<(String, Option<String>, serde_json::Value)>>>;

async fn recorder(status: u16) -> (String, Seen) {
    let seen: Seen = Arc::default();
    let store = Arc::clone(&seen);
    let app = axum::Router::new().fallback(move |req: axum::extract::Request| {
        let store = Arc::clone(&store);
        async move {
            let path = req.uri().path().to_owned();
            let auth = req
                .headers()
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let body = axum::body::to_bytes(req.into_body(), 1 << 20)
                .await
                .unwrap_or_default();
            store.lock().push((
                path,
                auth,
                serde_json::from_slice(&body).unwrap_or_default(),
            ));
            http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::OK)
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (addr.to_string(), seen)
}

#[tokio::test]
async fn posts_api_v2_alerts_to_every_alertmanager_with_auth_and_prefix() {
    lgtm_common::http_client::client::install_crypto_provider();
    let (good, good_seen) = recorder(200).await;
    let (bad, bad_seen) = recorder(500).await;
    let n = Notifier::new(100, NotifierMetrics::default());
    let http: lgtm_common::http_client::HttpClientConfig =
        serde_yaml_ng::from_str("basic_auth: {username: u, password: p}").unwrap();
    n.apply(NotifierSettings {
        sets: vec![
            set(
                "config-0",
                &good,
                AlertmanagerSettings {
                    path_prefix: "/am".to_owned(),
                    http,
                    ..AlertmanagerSettings::default()
                },
            ),
            set("config-1", &bad, AlertmanagerSettings::default()),
        ],
        ..NotifierSettings::default()
    });
    assert_eq!(
        n.alertmanager_urls(),
        [
            format!("http://{good}/am/api/v2/alerts"),
            format!("http://{bad}/api/v2/alerts")
        ]
    );
    n.send(vec![alert("A", &[("job", "x")])]);
    let batch = n.next_batch();
    // One Alertmanager accepting is enough.
    assert!(n.send_all(&batch).await);
    let got = good_seen.lock().clone();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].0, "/am/api/v2/alerts");
    assert_eq!(got[0].1.as_deref(), Some("Basic dTpw"));
    assert_eq!(
        got[0].2,
        serde_json::json!([{
            "annotations": {"summary": "s"},
            "endsAt": "2023-11-14T22:17:20.123Z",
            "startsAt": "2023-11-14T22:13:20.000Z",
            "generatorURL": "http://p:9090/graph?g0.expr=up&g0.tab=1",
            "labels": {"alertname": "A", "job": "x"}
        }])
    );
    assert_eq!(bad_seen.lock().len(), 1);
    // Only failing Alertmanagers: the batch is not delivered.
    n.apply(NotifierSettings {
        sets: vec![set("config-0", &bad, AlertmanagerSettings::default())],
        ..NotifierSettings::default()
    });
    assert!(!n.send_all(&batch).await);
}
