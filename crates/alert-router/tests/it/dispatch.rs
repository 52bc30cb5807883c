//! Aggregation groups, timing, resolved notifications, dedup and the notification log, on
//! paused tokio time with an in-process webhook receiver.

use std::time::Duration;

use serde_json::Value;
use tokio::time::{Instant, sleep};

use crate::common::{Recorder, call, core_with, post_alerts};

const CONFIG: &str = r#"
route:
  receiver: hook
  group_by: [alertname]
  group_wait: 30s
  group_interval: 5m
  repeat_interval: 4h
  routes:
    - receiver: quiet
      matchers: [quiet="yes"]
inhibit_rules:
  - source_matchers: [severity="critical"]
    target_matchers: [severity="warning"]
    equal: [instance]
receivers:
  - name: hook
    webhook_configs: [{url: 'http://127.0.0.1:1/hook', http_config: {basic_auth: {username: u, password: p}}}]
  - name: quiet
    webhook_configs: [{url: 'http://127.0.0.1:1/quiet', send_resolved: false, max_alerts: 1}]
"#;

fn alert(name: &str, instance: &str, extra: &str) -> String {
    format!(r#"{{"labels":{{"alertname":"{name}","instance":"{instance}"{extra}}}}}"#)
}

/// A firing alert as Prometheus sends it: with an explicit `endsAt` in the future.
fn firing(name: &str, instance: &str) -> String {
    format!(
        r#"{{"labels":{{"alertname":"{name}","instance":"{instance}"}},"endsAt":"2099-01-01T00:00:00Z"}}"#
    )
}

/// [`firing`] with extra labels (`,"k":"v"`).
fn firing_with(name: &str, instance: &str, extra: &str) -> String {
    format!(
        r#"{{"labels":{{"alertname":"{name}","instance":"{instance}"{extra}}},"endsAt":"2099-01-01T00:00:00Z"}}"#
    )
}

fn instances(body: &Value) -> Vec<String> {
    body["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            format!(
                "{}:{}",
                a["labels"]["instance"].as_str().unwrap(),
                a["status"].as_str().unwrap()
            )
        })
        .collect()
}

#[tokio::test(start_paused = true)]
async fn group_wait_interval_resolve_and_repeat() {
    let rec = Recorder::default();
    let (core, _t) = core_with(CONFIG, Some(rec.client()), None);
    let t0 = Instant::now();
    post_alerts(&core, &format!("[{}]", firing("A", "1"))).await;
    sleep(Duration::from_secs(10)).await;
    post_alerts(&core, &format!("[{}]", firing("A", "2"))).await;
    sleep(Duration::from_secs(19)).await;
    assert_eq!(rec.len(), 0, "nothing before group_wait");
    sleep(Duration::from_secs(2)).await;
    assert_eq!(
        rec.len(),
        1,
        "one notification for the group after group_wait"
    );
    let (at, req) = rec.requests.lock()[0].clone();
    assert_eq!(at - t0, Duration::from_secs(30));
    assert_eq!(req.url, "http://127.0.0.1:1/hook");
    assert!(
        req.headers
            .contains(&("authorization".into(), "Basic dTpw".into()))
    );
    let b = &rec.bodies()[0];
    assert_eq!(instances(b), ["1:firing", "2:firing"]);
    assert_eq!(b["groupKey"], "{}:{alertname=\"A\"}");
    assert_eq!(b["groupLabels"], serde_json::json!({"alertname":"A"}));
    assert_eq!(b["commonLabels"], serde_json::json!({"alertname":"A"}));
    assert_eq!(b["externalURL"], "http://am.example:9093");
    assert_eq!(b["version"], "4");
    assert_eq!(b["alerts"][0]["endsAt"], "0001-01-01T00:00:00Z");

    // A new alert waits for the next group_interval tick.
    sleep(Duration::from_secs(60)).await;
    post_alerts(&core, &format!("[{}]", firing("A", "3"))).await;
    sleep(Duration::from_secs(200)).await;
    assert_eq!(rec.len(), 1);
    sleep(Duration::from_secs(45)).await;
    assert_eq!(rec.len(), 2);
    assert_eq!(rec.requests.lock()[1].0 - t0, Duration::from_secs(330));
    assert_eq!(
        instances(&rec.bodies()[1]),
        ["1:firing", "2:firing", "3:firing"]
    );

    // Resolving one alert: sent at the next tick with send_resolved (default true).
    post_alerts(
        &core,
        &format!(
            r#"[{{"labels":{{"alertname":"A","instance":"1"}},"endsAt":"{}"}}]"#,
            core.clock.now().to_rfc3339()
        ),
    )
    .await;
    sleep(Duration::from_secs(300)).await;
    assert_eq!(rec.len(), 3);
    let b = &rec.bodies()[2];
    assert_eq!(instances(b), ["1:resolved", "2:firing", "3:firing"]);
    assert_eq!(b["status"], "firing");

    // Nothing changes: no notification until repeat_interval (4h) has elapsed.
    sleep(Duration::from_secs(4 * 3600 - 600)).await;
    assert_eq!(rec.len(), 3, "no repeat before 4h");
    sleep(Duration::from_secs(1200)).await;
    assert_eq!(rec.len(), 4);
    let times: Vec<Instant> = rec.requests.lock().iter().map(|(t, _)| *t).collect();
    let since_last = times[3] - times[2];
    assert!(
        since_last >= Duration::from_secs(4 * 3600)
            && since_last <= Duration::from_secs(4 * 3600 + 300),
        "{since_last:?}"
    );
    assert_eq!(instances(&rec.bodies()[3]), ["2:firing", "3:firing"]);
}

#[tokio::test(start_paused = true)]
async fn timeout_resolution_and_groups_disappear() {
    let rec = Recorder::default();
    let (core, _t) = core_with(CONFIG, Some(rec.client()), None);
    post_alerts(&core, &format!("[{}]", alert("B", "1", ""))).await;
    sleep(Duration::from_secs(31)).await;
    assert_eq!(rec.len(), 1);
    // Not re-sent: resolves after resolve_timeout (5m), notified at the next tick after.
    sleep(Duration::from_secs(600)).await;
    assert_eq!(rec.len(), 2);
    assert_eq!(instances(&rec.bodies()[1]), ["1:resolved"]);
    assert_eq!(rec.bodies()[1]["status"], "resolved");
    let (_, b) = call(&core, "GET", "/api/v2/alerts/groups", None).await;
    assert_eq!(b.trim(), "[]");
    let (_, b) = call(&core, "GET", "/api/v2/alerts", None).await;
    assert_eq!(b.trim(), "[]", "resolved alerts are not listed");
}

#[tokio::test(start_paused = true)]
async fn inhibition_silences_send_resolved_and_max_alerts() {
    let rec = Recorder::default();
    let (core, _t) = core_with(CONFIG, Some(rec.client()), None);
    post_alerts(
        &core,
        &format!(
            "[{},{},{}]",
            firing_with("Node", "db1", r#","severity":"critical""#),
            firing_with("Disk", "db1", r#","severity":"warning""#),
            firing_with("Disk", "db2", r#","severity":"warning""#)
        ),
    )
    .await;
    // Silence "Load".
    let now = core.clock.now();
    let body = format!(
        r#"{{"comment":"c","createdBy":"t","startsAt":"{}","endsAt":"{}","matchers":[{{"name":"alertname","value":"Load","isRegex":false}}]}}"#,
        now.to_rfc3339(),
        (now + chrono::Duration::hours(2)).to_rfc3339()
    );
    assert_eq!(
        call(&core, "POST", "/api/v2/silences", Some(&body)).await.0,
        200
    );
    post_alerts(&core, &format!("[{}]", alert("Load", "db3", ""))).await;
    // The quiet route: max_alerts 1, send_resolved false.
    post_alerts(
        &core,
        &format!(
            "[{},{}]",
            firing_with("Q", "a", r#","quiet":"yes""#),
            firing_with("Q", "b", r#","quiet":"yes""#)
        ),
    )
    .await;
    sleep(Duration::from_secs(31)).await;
    let bodies = rec.bodies();
    let mut seen: Vec<(String, Vec<String>)> = bodies
        .iter()
        .map(|b| {
            (
                b["groupLabels"]["alertname"].as_str().unwrap().to_owned(),
                instances(b),
            )
        })
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        [
            ("Disk".to_owned(), vec!["db2:firing".to_owned()]),
            ("Node".to_owned(), vec!["db1:firing".to_owned()]),
            ("Q".to_owned(), vec!["a:firing".to_owned()]),
        ],
        "inhibited Disk/db1 and silenced Load are not sent"
    );
    let q = bodies
        .iter()
        .find(|b| b["groupLabels"]["alertname"] == "Q")
        .unwrap();
    assert_eq!(q["truncatedAlerts"], 1);
    assert_eq!(q["receiver"], "quiet");

    // Resolve one Q alert: not sent (send_resolved false, one still firing).
    let n = rec.len();
    post_alerts(
        &core,
        &format!(
            r#"[{{"labels":{{"alertname":"Q","instance":"a","quiet":"yes"}},"endsAt":"{}"}}]"#,
            core.clock.now().to_rfc3339()
        ),
    )
    .await;
    // Resolve the source of the inhibition: Disk/db1 becomes notifiable.
    post_alerts(&core, &format!(r#"[{{"labels":{{"alertname":"Node","instance":"db1","severity":"critical"}},"endsAt":"{}"}}]"#, core.clock.now().to_rfc3339())).await;
    sleep(Duration::from_secs(300)).await;
    let new: Vec<Value> = rec.bodies()[n..].to_vec();
    let mut got: Vec<(String, Vec<String>)> = new
        .iter()
        .map(|b| {
            (
                b["groupLabels"]["alertname"].as_str().unwrap().to_owned(),
                instances(b),
            )
        })
        .collect();
    got.sort();
    assert_eq!(
        got,
        [
            (
                "Disk".to_owned(),
                vec!["db1:firing".to_owned(), "db2:firing".to_owned()]
            ),
            ("Node".to_owned(), vec!["db1:resolved".to_owned()]),
        ]
    );
    let (_, m) = call(&core, "GET", "/metrics", None).await;
    assert!(
        m.contains("alertmanager_notifications_total{integration=\"webhook\"} 5"),
        "{m}"
    );
}

#[tokio::test(start_paused = true)]
async fn notification_log_survives_restart() {
    let dir = tempfile::tempdir().unwrap();
    let rec = Recorder::default();
    {
        let (core, token) = core_with(CONFIG, Some(rec.client()), Some(dir.path().into()));
        post_alerts(&core, &format!("[{}]", firing("R", "1"))).await;
        sleep(Duration::from_secs(31)).await;
        assert_eq!(rec.len(), 1);
        core.persist();
        token.cancel();
    }
    // Restart: Prometheus re-sends the firing alert; the old startsAt makes the new group
    // flush at once, and the notification log says it was already notified.
    let (core, _t) = core_with(CONFIG, Some(rec.client()), Some(dir.path().into()));
    let starts = (core.clock.now() - chrono::Duration::minutes(2)).to_rfc3339();
    post_alerts(&core, &format!(r#"[{{"labels":{{"alertname":"R","instance":"1"}},"startsAt":"{starts}","endsAt":"2099-01-01T00:00:00Z"}}]"#)).await;
    sleep(Duration::from_secs(1)).await;
    assert_eq!(rec.len(), 1, "not re-sent after restart");
    // A new alert in the same group is still notified (at the next tick).
    post_alerts(
        &core,
        &format!(r#"[{{"labels":{{"alertname":"R","instance":"2"}},"startsAt":"{starts}"}}]"#),
    )
    .await;
    sleep(Duration::from_secs(301)).await;
    assert_eq!(rec.len(), 2);
    assert_eq!(instances(&rec.bodies()[1]), ["1:firing", "2:firing"]);
}

#[tokio::test(start_paused = true)]
async fn failing_receiver_is_retried_and_counted() {
    let rec = Recorder::default();
    for _ in 0..3 {
        rec.responses.lock().push_back((503, "busy".into()));
    }
    let (core, _t) = core_with(CONFIG, Some(rec.client()), None);
    post_alerts(&core, &format!("[{}]", alert("F", "1", ""))).await;
    sleep(Duration::from_secs(40)).await;
    assert_eq!(rec.len(), 4, "3 failures then success");
    let (_, m) = call(&core, "GET", "/metrics", None).await;
    assert!(
        m.contains("alertmanager_notification_requests_failed_total{integration=\"webhook\"} 3")
    );
    assert!(m.contains("alertmanager_notifications_failed_total{integration=\"webhook\"} 0"));
    // 4xx is not retried, and counted as a failed notification.
    rec.responses.lock().push_back((400, "bad".into()));
    post_alerts(&core, &format!("[{}]", alert("G", "1", ""))).await;
    sleep(Duration::from_secs(40)).await;
    assert_eq!(rec.len(), 5);
    let (_, m) = call(&core, "GET", "/metrics", None).await;
    assert!(m.contains("alertmanager_notifications_failed_total{integration=\"webhook\"} 1"));
}

#[tokio::test(start_paused = true)]
async fn retries_stop_when_a_peer_notified_meanwhile() {
    let rec = Recorder::default();
    rec.responses.lock().push_back((503, "busy".into()));
    let (core, _t) = core_with(CONFIG, Some(rec.client()), None);
    post_alerts(&core, &format!("[{}]", firing("P", "1"))).await;
    sleep(Duration::from_millis(30_010)).await;
    assert_eq!(rec.len(), 1, "first attempt failed");
    // A peer's nflog entry arrives through replication before the retry.
    let labels = lgtm_common::labels::Labels::from_pairs([("alertname", "P"), ("instance", "1")]);
    let now = core.clock.now();
    core.nflog.merge(vec![(
        alert_router::nflog::EntryKey {
            group_key: "{}:{alertname=\"P\"}".into(),
            receiver: "hook".into(),
            integration: "webhook".into(),
            idx: 0,
        },
        alert_router::nflog::Entry {
            timestamp: now,
            firing: vec![labels.fingerprint()],
            resolved: vec![],
            expires_at: now + chrono::Duration::hours(1),
            receiver_data: Default::default(),
        },
    )]);
    sleep(Duration::from_secs(20)).await;
    assert_eq!(rec.len(), 1, "no retry: the peer already notified");
    let (_, m) = call(&core, "GET", "/metrics", None).await;
    assert!(m.contains("alertmanager_notifications_failed_total{integration=\"webhook\"} 0"));
}

#[tokio::test(start_paused = true)]
async fn mute_and_active_time_intervals() {
    let yaml = r#"
route:
  receiver: hook
  group_by: [alertname]
  group_wait: 1s
  routes:
    - {matchers: [r="muted"], mute_time_intervals: [always]}
    - {matchers: [r="inactive"], active_time_intervals: [long_ago]}
    - {matchers: [r="active"], active_time_intervals: [always]}
time_intervals:
  - name: always
    time_intervals: [{weekdays: ['sunday:saturday']}]
  - name: long_ago
    time_intervals: [{years: ['2000:2001']}]
receivers:
  - name: hook
    webhook_configs: [{url: 'http://127.0.0.1:1/'}]
"#;
    let rec = Recorder::default();
    let (core, _t) = core_with(yaml, Some(rec.client()), None);
    post_alerts(
        &core,
        r#"[{"labels":{"alertname":"M","r":"muted"}},{"labels":{"alertname":"I","r":"inactive"}},{"labels":{"alertname":"A","r":"active"}}]"#,
    )
    .await;
    sleep(Duration::from_secs(5)).await;
    let names: Vec<String> = rec
        .bodies()
        .iter()
        .map(|b| b["groupLabels"]["alertname"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["A"]);
    // Muted alerts are still grouped and listed.
    let (_, b) = call(&core, "GET", "/api/v2/alerts/groups", None).await;
    assert_eq!(serde_json::from_str::<Vec<Value>>(&b).unwrap().len(), 3);
}
