//! The same API requests sent to Debian's Alertmanager and to alert-router, answers compared
//! (status code and body, timestamps and generated ids masked).

use std::time::Duration;

use alert_router::notify::reqwest;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::common::peer;

/// Masks what legitimately differs between two servers.
fn mask(v: &mut Value) {
    match v {
        Value::Object(m) => {
            for (k, val) in m.iter_mut() {
                match k.as_str() {
                    "startsAt" | "endsAt" | "updatedAt" | "id" | "silenceID" => {
                        *val = Value::String("<x>".into())
                    }
                    "silencedBy" => {
                        let n = val.as_array().map_or(0, Vec::len);
                        *val = Value::from(n);
                    }
                    _ => mask(val),
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(mask),
        _ => {}
    }
}

async fn send(
    client: &reqwest::Client,
    method: &str,
    url: &str,
    body: Option<&str>,
) -> (u16, String) {
    let mut req = match method {
        "POST" => client.post(url),
        "DELETE" => client.delete(url),
        _ => client.get(url),
    };
    if let Some(b) = body {
        req = req
            .header("content-type", "application/json")
            .body(b.to_owned());
    }
    let resp = req.send().await.unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

fn normalise(body: &str) -> String {
    match serde_json::from_str::<Value>(body) {
        Ok(mut v) => {
            mask(&mut v);
            v.to_string()
        }
        Err(_) => body.trim().to_owned(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_answers_equal_alertmanagers() {
    let Some(am_bin) = peer("prometheus-alertmanager").or_else(|| peer("alertmanager")) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("am.yml");
    std::fs::write(&cfg, include_str!("data/am.yml")).unwrap();
    let (am, theirs) = crate::common::start_alertmanager(
        &am_bin,
        &[
            format!("--config.file={}", cfg.display()),
            format!("--storage.path={}", dir.path().join("am").display()),
        ],
    )
    .await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let ours = format!("http://{}", listener.local_addr().unwrap());
    let shutdown = CancellationToken::new();
    let config = alert_router::Config {
        config_file: cfg.clone(),
        storage_path: dir.path().join("ours"),
        ..Default::default()
    };
    let server = tokio::spawn(alert_router::serve(config, listener, shutdown.clone()));
    lgtm_common::http_client::client::install_crypto_provider();
    let client = reqwest::Client::new();
    for base in [&theirs, &ours] {
        for _ in 0..100 {
            if client
                .get(format!("{base}/-/ready"))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let far = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
    let now = chrono::Utc::now().to_rfc3339();
    let silence = format!(
        r#"{{"comment":"maintenance db2","createdBy":"harness","startsAt":"{now}","endsAt":"{far}","matchers":[{{"name":"alertname","value":"DiskFull","isRegex":false}},{{"name":"instance","value":"db2","isRegex":false}}]}}"#
    );
    let alerts = r#"[{"labels":{"alertname":"DiskFull","severity":"warning","instance":"db1","team":"db"},"annotations":{"summary":"disk on db1"},"generatorURL":"http://prom:9090/graph"},
        {"labels":{"alertname":"DiskFull","severity":"warning","instance":"db2","team":"db"}},
        {"labels":{"alertname":"NodeDown","severity":"critical","instance":"db1"},"annotations":{"summary":"db1 <down> & out"}},
        {"labels":{"alertname":"Svc","service":"foo1"}}]"#;
    let cases: Vec<(&str, String, Option<String>)> = vec![
        ("POST", "/api/v2/alerts".into(), Some(alerts.into())),
        ("POST", "/api/v2/silences".into(), Some(silence.clone())),
        ("GET", "/api/v2/alerts".into(), None),
        ("GET", "/api/v2/alerts?active=true&inhibited=false&silenced=false&unprocessed=false".into(), None),
        ("GET", "/api/v2/alerts?silenced=true&active=false".into(), None),
        ("GET", "/api/v2/alerts?filter=alertname%3DDiskFull&filter=instance%3D~%22db.%22".into(), None),
        ("GET", "/api/v2/alerts?filter=team%3D%22%22".into(), None),
        ("GET", "/api/v2/alerts?filter=team!%3D%22%22".into(), None),
        ("GET", "/api/v2/alerts?receiver=team-hook".into(), None),
        ("GET", "/api/v2/alerts?receiver=tg%7Cdefault-hook".into(), None),
        ("GET", "/api/v2/alerts?filter=foo".into(), None),
        ("GET", "/api/v2/alerts/groups".into(), None),
        ("GET", "/api/v2/alerts/groups?receiver=team-hook&silenced=false".into(), None),
        ("GET", "/api/v2/receivers".into(), None),
        ("GET", "/api/v2/silences".into(), None),
        ("GET", "/api/v2/silences?filter=instance%3Ddb2".into(), None),
        ("GET", "/api/v2/silences?filter=instance%3D~db2".into(), None),
        ("GET", "/api/v2/silence/abc".into(), None),
        ("GET", "/api/v2/silence/00000000-0000-4000-8000-000000000000".into(), None),
        ("DELETE", "/api/v2/silence/00000000-0000-4000-8000-000000000000".into(), None),
        ("POST", "/api/v2/alerts".into(), Some(r#"[{"labels":{}}]"#.into())),
        ("POST", "/api/v2/alerts".into(), Some(r#"[{"annotations":{"a":"b"}}]"#.into())),
        ("POST", "/api/v2/alerts".into(), Some(r#"[{"labels":{"0bad":"x"}}]"#.into())),
        (
            "POST",
            "/api/v2/alerts".into(),
            Some(r#"[{"labels":{"a":"b"},"startsAt":"2026-01-02T00:00:00Z","endsAt":"2026-01-01T00:00:00Z"}]"#.into()),
        ),
        ("POST", "/api/v2/alerts".into(), Some(r#"{"labels":{"a":"b"}}"#.into())),
        ("POST", "/api/v2/silences".into(), Some(silence.replace(r#""comment":"maintenance db2","#, ""))),
        ("POST", "/api/v2/silences".into(), Some(silence.replace("DiskFull", ".*").replace(r#""isRegex":false},{"name":"instance","value":"db2","isRegex":false}"#, r#""isRegex":true}"#))),
        ("POST", "/api/v2/silences".into(), Some(silence.replace(&far, "2001-01-01T00:00:00Z"))),
        ("GET", "/api/v2/alerts?active=maybe".into(), None),
        ("POST", "/api/v2/alerts".into(), Some(r#"[{"labels":{"alertname":"Past"},"endsAt":"2001-01-01T00:00:00Z"}]"#.into())),
        ("GET", "/api/v2/alerts?filter=alertname%3DPast".into(), None),
        ("POST", "/api/v2/alerts".into(), Some(r#"[{"labels":{"alertname":"Future"},"endsAt":"2099-01-01T00:00:00Z"}]"#.into())),
        ("GET", "/api/v2/alerts?filter=alertname%3DFuture".into(), None),
        ("POST", "/api/v2/alerts".into(), Some(r#"[{"labels":{"a":1}}]"#.into())),
        ("POST", "/api/v2/alerts".into(), Some(r#"[{"labels":{"a":"b"},"generatorURL":"::not a url"}]"#.into())),
        ("POST", "/api/v2/silences".into(), Some(silence.replace(r#"[{"name":"alertname","value":"DiskFull","isRegex":false},{"name":"instance","value":"db2","isRegex":false}]"#, "[]"))),
        (
            "POST",
            "/api/v2/silences".into(),
            Some(silence.replace(r#"{"comment""#, r#"{"id":"00000000-0000-4000-8000-000000000000","comment""#)),
        ),
        ("POST", "/api/v2/silences".into(), Some(
                silence
                    .replace(r#""isRegex":false}]"#, r#""isRegex":false,"isEqual":false}]"#)
                    // A distinct endsAt: Alertmanager's order of equal endsAt is unspecified.
                    .replace(&far, &(chrono::Utc::now() + chrono::Duration::minutes(90)).to_rfc3339()),
            )),
        ("GET", "/api/v2/silences?filter=instance!%3Ddb2".into(), None),
        (
            "POST",
            "/api/v2/silences".into(),
            Some(silence.replace(&now, &(chrono::Utc::now() + chrono::Duration::minutes(30)).to_rfc3339()).replace("db2", "db9")),
        ),
        ("GET", "/api/v2/silences".into(), None),
        ("GET", "/-/healthy".into(), None),
        ("GET", "/-/ready".into(), None),
    ];
    let mut mismatches = Vec::new();
    for (method, path, body) in &cases {
        let a = send(&client, method, &format!("{theirs}{path}"), body.as_deref()).await;
        let b = send(&client, method, &format!("{ours}{path}"), body.as_deref()).await;
        if method == &"POST" {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let (na, nb) = (normalise(&a.1), normalise(&b.1));
        if a.0 != b.0 || na != nb {
            mismatches.push(format!(
                "{method} {path}\n  alertmanager: {} {na}\n  alert-router: {} {nb}",
                a.0, b.0
            ));
        }
    }
    // Silence updates: same id when only endsAt moves, new id (old one expired) when the
    // matchers change; expire; expire again.
    let mut facts: Vec<Vec<String>> = Vec::new();
    for base in [&theirs, &ours] {
        let mut f = Vec::new();
        let (_, b) = send(
            &client,
            "POST",
            &format!("{base}/api/v2/silences"),
            Some(&silence),
        )
        .await;
        let id = serde_json::from_str::<Value>(&b).unwrap()["silenceID"]
            .as_str()
            .unwrap()
            .to_owned();
        let later = (chrono::Utc::now() + chrono::Duration::hours(2)).to_rfc3339();
        let (_, b) = send(&client, "GET", &format!("{base}/api/v2/silence/{id}"), None).await;
        let mut current: Value = serde_json::from_str(&b).unwrap();
        current["endsAt"] = Value::String(later);
        let (s1, b) = send(
            &client,
            "POST",
            &format!("{base}/api/v2/silences"),
            Some(&current.to_string()),
        )
        .await;
        let id2 = serde_json::from_str::<Value>(&b).unwrap()["silenceID"]
            .as_str()
            .unwrap()
            .to_owned();
        f.push(format!("endsAt update: {s1} same id {}", id2 == id));
        current["matchers"][1]["value"] = Value::String("db3".into());
        let (s2, b) = send(
            &client,
            "POST",
            &format!("{base}/api/v2/silences"),
            Some(&current.to_string()),
        )
        .await;
        let id3 = serde_json::from_str::<Value>(&b).unwrap()["silenceID"]
            .as_str()
            .unwrap()
            .to_owned();
        f.push(format!("matcher update: {s2} same id {}", id3 == id));
        let (_, b) = send(&client, "GET", &format!("{base}/api/v2/silence/{id}"), None).await;
        f.push(format!(
            "old: {}",
            serde_json::from_str::<Value>(&b).unwrap()["status"]["state"]
        ));
        let (s3, b3) = send(
            &client,
            "DELETE",
            &format!("{base}/api/v2/silence/{id3}"),
            None,
        )
        .await;
        f.push(format!("expire: {s3} {}", b3.trim()));
        let (s4, b4) = send(
            &client,
            "DELETE",
            &format!("{base}/api/v2/silence/{id3}"),
            None,
        )
        .await;
        f.push(format!(
            "expire again: {s4} {}",
            b4.trim().replace(&id3, "<id>")
        ));
        facts.push(f);
    }
    if facts[0] != facts[1] {
        mismatches.push(format!(
            "silence updates\n  alertmanager: {:?}\n  alert-router: {:?}",
            facts[0], facts[1]
        ));
    }

    // The effective configuration text of /api/v2/status.
    let original = |body: String| -> String {
        serde_json::from_str::<Value>(&body).unwrap()["config"]["original"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let a = original(
        send(&client, "GET", &format!("{theirs}/api/v2/status"), None)
            .await
            .1,
    );
    let b = original(
        send(&client, "GET", &format!("{ours}/api/v2/status"), None)
            .await
            .1,
    );
    if a != b {
        mismatches.push(format!(
            "status config.original\n  alertmanager: {a}\n  alert-router: {b}"
        ));
    }

    drop(am);
    shutdown.cancel();
    server.await.unwrap().unwrap();
    assert!(
        mismatches.is_empty(),
        "{} mismatches:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}
