//! API v2 shapes, status codes and error texts as observed on Alertmanager 0.25.

use serde_json::Value;

use crate::common::{call, core_with, post_alerts};

const CONFIG: &str = include_str!("data/am.yml");

#[tokio::test]
async fn alert_validation_errors_match_alertmanager() {
    let (core, _t) = core_with(CONFIG, None, None);
    let cases: &[(&str, u16, &str)] = &[
        (
            r#"[{"labels":{}}]"#,
            400,
            "\"at least one label pair required\"\n",
        ),
        (
            r#"[{"annotations":{"a":"b"}}]"#,
            422,
            r#"{"code":602,"message":"0.labels in body is required"}"#,
        ),
        (
            r#"[{"labels":{"a":"b"},"startsAt":"2026-01-02T00:00:00Z","endsAt":"2026-01-01T00:00:00Z"}]"#,
            400,
            "\"start time must be before end time\"\n",
        ),
        (
            r#"[{"labels":{"0bad":"x"}}]"#,
            400,
            "\"invalid label set: invalid name \\\"0bad\\\"\"\n",
        ),
        (
            r#"{"labels":{"a":"b"}}"#,
            400,
            r#"{"code":400,"message":"parsing alerts body from \"\" failed, because json: cannot unmarshal object into Go value of type models.PostableAlerts"}"#,
        ),
    ];
    for (body, status, want) in cases {
        let (s, b) = call(&core, "POST", "/api/v2/alerts", Some(body)).await;
        assert_eq!((s, b.as_str()), (*status, *want), "{body}");
    }
    let (s, b) = call(&core, "POST", "/api/v2/alerts", Some("nope")).await;
    assert_eq!(s, 400);
    assert!(
        b.starts_with(r#"{"code":400,"message":"parsing alerts body from \"\" failed, because "#),
        "{b}"
    );
}

#[tokio::test]
async fn valid_alerts_of_a_bad_batch_are_stored() {
    let (core, _t) = core_with(CONFIG, None, None);
    let (s, _) = call(
        &core,
        "POST",
        "/api/v2/alerts",
        Some(r#"[{"labels":{"alertname":"Ok"}},{"labels":{}}]"#),
    )
    .await;
    assert_eq!(s, 400);
    let (_, b) = call(&core, "GET", "/api/v2/alerts", None).await;
    let v: Value = serde_json::from_str(&b).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn gettable_alert_shape_inhibition_and_filters() {
    let (core, _t) = core_with(CONFIG, None, None);
    post_alerts(
        &core,
        r#"[{"labels":{"alertname":"NodeDown","severity":"critical","instance":"db1"},"annotations":{"summary":"db1 <down> & out"}},
            {"labels":{"alertname":"DiskFull","severity":"warning","instance":"db1","team":"db"}},
            {"labels":{"alertname":"DiskFull","severity":"warning","instance":"db2","team":"db"},"generatorURL":"http://prom:9090/graph"}]"#,
    )
    .await;
    let (s, b) = call(&core, "GET", "/api/v2/alerts", None).await;
    assert_eq!(s, 200);
    let v: Vec<Value> = serde_json::from_str(&b).unwrap();
    assert_eq!(v.len(), 3);
    // Sorted by fingerprint; NodeDown's fingerprint is the one 0.25 showed.
    let fps: Vec<&str> = v
        .iter()
        .map(|a| a["fingerprint"].as_str().unwrap())
        .collect();
    let mut sorted = fps.clone();
    sorted.sort();
    assert_eq!(fps, sorted);
    let node = v
        .iter()
        .find(|a| a["labels"]["alertname"] == "NodeDown")
        .unwrap();
    assert_eq!(node["fingerprint"], "1fab455b4289563c");
    assert_eq!(node["receivers"], serde_json::json!([{"name":"tg"}]));
    assert_eq!(
        node["status"],
        serde_json::json!({"inhibitedBy":[],"silencedBy":[],"state":"active"})
    );
    // Field order of go-swagger's output.
    let first = &b[b.find("\"annotations\"").unwrap()..];
    let order: Vec<usize> = [
        "\"annotations\"",
        "\"endsAt\"",
        "\"fingerprint\"",
        "\"receivers\"",
        "\"startsAt\"",
        "\"status\"",
        "\"updatedAt\"",
        "\"labels\"",
    ]
    .iter()
    .map(|k| first.find(k).unwrap())
    .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:?}");
    let inhibited = v
        .iter()
        .find(|a| a["labels"]["instance"] == "db1" && a["labels"]["alertname"] == "DiskFull")
        .unwrap();
    assert_eq!(inhibited["status"]["state"], "suppressed");
    assert_eq!(
        inhibited["status"]["inhibitedBy"],
        serde_json::json!(["1fab455b4289563c"])
    );
    assert_eq!(
        inhibited["receivers"],
        serde_json::json!([{"name":"team-hook"}])
    );

    // amtool's default query hides the inhibited one.
    let (_, b) = call(
        &core,
        "GET",
        "/api/v2/alerts?active=true&inhibited=false&silenced=false&unprocessed=false",
        None,
    )
    .await;
    let v: Vec<Value> = serde_json::from_str(&b).unwrap();
    assert_eq!(v.len(), 2);
    let (_, b) = call(
        &core,
        "GET",
        "/api/v2/alerts?filter=alertname%3DDiskFull&filter=instance%3D%22db2%22",
        None,
    )
    .await;
    let v: Vec<Value> = serde_json::from_str(&b).unwrap();
    assert_eq!(v.len(), 1);
    assert_eq!(v[0]["generatorURL"], "http://prom:9090/graph");
    let (_, b) = call(&core, "GET", "/api/v2/alerts?receiver=team-.*", None).await;
    assert_eq!(serde_json::from_str::<Vec<Value>>(&b).unwrap().len(), 2);
    // Empty-valued filter matches an absent label.
    let (_, b) = call(&core, "GET", "/api/v2/alerts?filter=team%3D%22%22", None).await;
    assert_eq!(serde_json::from_str::<Vec<Value>>(&b).unwrap().len(), 1);
    let (s, b) = call(&core, "GET", "/api/v2/alerts?filter=foo", None).await;
    assert_eq!((s, b.as_str()), (400, "\"bad matcher format: foo\"\n"));
    let (s, b) = call(&core, "GET", "/api/v2/alerts?receiver=(", None).await;
    assert_eq!(s, 400);
    assert!(
        b.starts_with("\"failed to parse receiver param: error parsing regexp: "),
        "{b}"
    );
    // Not a recognised true value: false, as go-swagger's ConvertBool reads it.
    let (s, b) = call(&core, "GET", "/api/v2/alerts?active=maybe", None).await;
    assert_eq!(s, 200);
    assert_eq!(serde_json::from_str::<Vec<Value>>(&b).unwrap().len(), 1);

    // Groups: one per (route, group labels), receiver named.
    let (_, b) = call(&core, "GET", "/api/v2/alerts/groups", None).await;
    let groups: Vec<Value> = serde_json::from_str(&b).unwrap();
    let summary: Vec<(String, String)> = groups
        .iter()
        .map(|g| {
            (
                g["receiver"]["name"].as_str().unwrap().to_owned(),
                g["labels"].to_string(),
            )
        })
        .collect();
    assert!(
        summary.contains(&("tg".into(), r#"{"alertname":"NodeDown"}"#.into())),
        "{summary:?}"
    );
    assert!(summary.contains(&(
        "team-hook".into(),
        r#"{"alertname":"DiskFull","instance":"db2"}"#.into()
    )));
    assert_eq!(
        groups[0].as_object().unwrap().keys().collect::<Vec<_>>(),
        ["alerts", "labels", "receiver"]
    );
}

#[tokio::test]
async fn silences_lifecycle_and_errors() {
    let (core, _t) = core_with(CONFIG, None, None);
    let now = chrono::Utc::now();
    let end = (now + chrono::Duration::hours(1)).to_rfc3339();
    let body = format!(
        r#"{{"comment":"maintenance db2","createdBy":"harness","startsAt":"{}","endsAt":"{end}","matchers":[{{"name":"alertname","value":"DiskFull","isRegex":false}},{{"name":"instance","value":"db2","isRegex":false,"isEqual":true}}]}}"#,
        now.to_rfc3339()
    );
    let (s, b) = call(&core, "POST", "/api/v2/silences", Some(&body)).await;
    assert_eq!(s, 200, "{b}");
    let id = serde_json::from_str::<Value>(&b).unwrap()["silenceID"]
        .as_str()
        .unwrap()
        .to_owned();
    let (s, b) = call(&core, "GET", &format!("/api/v2/silence/{id}"), None).await;
    assert_eq!(s, 200);
    let v: Value = serde_json::from_str(&b).unwrap();
    assert_eq!(v["status"]["state"], "active");
    assert_eq!(
        v["matchers"][0],
        serde_json::json!({"isEqual":true,"isRegex":false,"name":"alertname","value":"DiskFull"})
    );
    let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
    assert_eq!(keys.len(), 8);

    // The silenced alert is reported as such.
    post_alerts(
        &core,
        r#"[{"labels":{"alertname":"DiskFull","instance":"db2","severity":"warning"}}]"#,
    )
    .await;
    let (_, b) = call(&core, "GET", "/api/v2/alerts", None).await;
    let alerts: Vec<Value> = serde_json::from_str(&b).unwrap();
    assert_eq!(alerts[0]["status"]["silencedBy"], serde_json::json!([id]));

    // Silence filters compare matchers, not labels.
    let (_, b) = call(&core, "GET", "/api/v2/silences?filter=instance%3Ddb2", None).await;
    assert_eq!(serde_json::from_str::<Vec<Value>>(&b).unwrap().len(), 1);
    let (_, b) = call(
        &core,
        "GET",
        "/api/v2/silences?filter=instance%3D~db2",
        None,
    )
    .await;
    assert_eq!(serde_json::from_str::<Vec<Value>>(&b).unwrap().len(), 0);

    let cases: Vec<(String, u16, String)> = vec![
        (
            format!(
                r#"{{"comment":"c","createdBy":"a","startsAt":"{}","endsAt":"2001-01-01T00:00:00Z","matchers":[{{"name":"a","value":"b","isRegex":false}}]}}"#,
                "2000-01-01T00:00:00Z"
            ),
            400,
            "\"Failed to create silence: end time can't be in the past\"\n".into(),
        ),
        (
            format!(
                r#"{{"comment":"c","createdBy":"a","startsAt":"{end}","endsAt":"{}","matchers":[{{"name":"a","value":"b","isRegex":false}}]}}"#,
                now.to_rfc3339()
            ),
            400,
            "\"Failed to create silence: start time must be before end time\"\n".into(),
        ),
        (
            format!(
                r#"{{"comment":"c","createdBy":"a","startsAt":"{}","endsAt":"{end}","matchers":[{{"name":"a","value":".*","isRegex":true}}]}}"#,
                now.to_rfc3339()
            ),
            400,
            "\"silence invalid: at least one matcher must not match the empty string\"\n".into(),
        ),
        (
            format!(
                r#"{{"comment":"c","createdBy":"a","startsAt":"{}","endsAt":"{end}","matchers":[]}}"#,
                now.to_rfc3339()
            ),
            422,
            r#"{"code":612,"message":"matchers in body should have at least 1 items"}"#.into(),
        ),
        (
            format!(
                r#"{{"createdBy":"a","startsAt":"{}","endsAt":"{end}","matchers":[{{"name":"a","value":"b","isRegex":false}}]}}"#,
                now.to_rfc3339()
            ),
            422,
            r#"{"code":602,"message":"comment in body is required"}"#.into(),
        ),
        (
            format!(
                r#"{{"id":"00000000-0000-4000-8000-000000000000","comment":"c","createdBy":"a","startsAt":"{}","endsAt":"{end}","matchers":[{{"name":"a","value":"b","isRegex":false}}]}}"#,
                now.to_rfc3339()
            ),
            404,
            "\"silence not found\"\n".into(),
        ),
    ];
    for (body, status, want) in cases {
        let (s, b) = call(&core, "POST", "/api/v2/silences", Some(&body)).await;
        assert_eq!((s, b.as_str()), (status, want.as_str()), "{body}");
    }
    let (s, b) = call(
        &core,
        "GET",
        "/api/v2/silence/00000000-0000-4000-8000-000000000000",
        None,
    )
    .await;
    assert_eq!((s, b.as_str()), (404, ""));
    let (s, b) = call(&core, "GET", "/api/v2/silence/abc", None).await;
    assert_eq!(
        (s, b.as_str()),
        (
            422,
            r#"{"code":601,"message":"silenceID in path must be of type uuid: \"abc\""}"#
        )
    );
    let (s, b) = call(
        &core,
        "DELETE",
        "/api/v2/silence/00000000-0000-4000-8000-000000000000",
        None,
    )
    .await;
    assert_eq!((s, b.as_str()), (500, "\"silence not found\"\n"));

    let (s, _) = call(&core, "DELETE", &format!("/api/v2/silence/{id}"), None).await;
    assert_eq!(s, 200);
    let (_, b) = call(&core, "GET", &format!("/api/v2/silence/{id}"), None).await;
    let v: Value = serde_json::from_str(&b).unwrap();
    assert!(
        v["status"]["state"] == "expired" || v["status"]["state"] == "active",
        "{v}"
    );
}

#[tokio::test]
async fn status_receivers_health_v1_and_metrics() {
    let (core, _t) = core_with(CONFIG, None, None);
    let (s, b) = call(&core, "GET", "/api/v2/status", None).await;
    assert_eq!(s, 200);
    let v: Value = serde_json::from_str(&b).unwrap();
    assert_eq!(v["cluster"]["status"], "disabled");
    assert_eq!(v["versionInfo"]["version"], "0.25.0");
    let original = v["config"]["original"].as_str().unwrap();
    assert!(original.contains("default-hook") && !original.contains("TESTTOKEN"));
    // The served text is itself a valid configuration.
    alert_router::config::LoadedConfig::load_str(original, None).unwrap();
    let (_, b) = call(&core, "GET", "/api/v2/receivers", None).await;
    assert_eq!(
        b.trim(),
        r#"[{"name":"default-hook"},{"name":"team-hook"},{"name":"tg"}]"#
    );
    assert_eq!(
        call(&core, "GET", "/-/healthy", None).await,
        (200, "OK".into())
    );
    assert_eq!(
        call(&core, "GET", "/-/ready", None).await,
        (200, "OK".into())
    );
    let (s, b) = call(&core, "GET", "/api/v1/alerts", None).await;
    assert_eq!(s, 410);
    assert!(b.contains("is removed as of version 0.27.0"));
    // Grafana's Mimir detection must not see a 200 here.
    assert_eq!(
        call(&core, "GET", "/alertmanager/api/v2/status", None)
            .await
            .0,
        404
    );
    post_alerts(&core, r#"[{"labels":{"alertname":"M"}}]"#).await;
    let (_, m) = call(&core, "GET", "/metrics", None).await;
    for needle in [
        "alertmanager_alerts{state=\"active\"} 1",
        "alertmanager_silences{state=\"active\"} 0",
        "alertmanager_notifications_total{integration=\"telegram\"} 0",
        "alertmanager_notifications_failed_total{integration=\"webhook\"} 0",
        "alertmanager_alerts_received_total{status=\"firing\",version=\"v2\"} 1",
    ] {
        assert!(m.contains(needle), "missing {needle}");
    }
}

#[tokio::test]
async fn route_prefix_and_reload() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("am.yml");
    std::fs::write(&path, CONFIG).unwrap();
    let token = tokio_util::sync::CancellationToken::new();
    let config = alert_router::Config {
        config_file: path.clone(),
        storage_path: dir.path().join("data"),
        external_url: Some("http://am.example/am/".into()),
        ..Default::default()
    };
    let core = alert_router::start(&config, 9093, token.clone()).unwrap();
    assert_eq!(core.external_url, "http://am.example/am");
    assert_eq!(
        call(&core, "GET", "/am/api/v2/receivers", None).await.0,
        200
    );
    assert_eq!(call(&core, "GET", "/api/v2/receivers", None).await.0, 404);
    // A bad config is refused and the running one stays.
    std::fs::write(&path, "route: {receiver: nope}\nreceivers: [{name: a}]").unwrap();
    let (s, b) = call(&core, "POST", "/am/-/reload", None).await;
    assert_eq!(
        (s, b.as_str()),
        (
            500,
            "failed to reload config: undefined receiver \"nope\" used in route\n"
        )
    );
    let (_, b) = call(&core, "GET", "/am/api/v2/receivers", None).await;
    assert!(b.contains("team-hook"));
    std::fs::write(&path, "route: {receiver: a}\nreceivers: [{name: a}]").unwrap();
    assert_eq!(call(&core, "POST", "/am/-/reload", None).await.0, 200);
    let (_, b) = call(&core, "GET", "/am/api/v2/receivers", None).await;
    assert_eq!(b.trim(), r#"[{"name":"a"}]"#);
    token.cancel();
}
