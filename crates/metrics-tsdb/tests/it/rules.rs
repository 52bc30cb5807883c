//! Rules and alerting end to end: the shipped rule set passes its unit tests under our
//! `metrics-tsdb-tool test rules` and Debian's `promtool test rules`; an alert raised by
//! `metrics-tsdb` arrives at Debian's real Alertmanager (and from there at a webhook) with the
//! right labels, annotations, `startsAt` and later `endsAt`; a restart in the middle of `for`
//! keeps the pending state.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use lgtm_common::http::CancellationToken;
use lgtm_proto::Message;
use lgtm_proto::prometheus as pb;
use metrics_tsdb::server::{Config, start};
use parking_lot::Mutex;

use crate::support::{free_port, require_peer, wait_ready};

/// A peer binary, or `None` (a skip) when missing and peers are optional.
fn peer(name: &str) -> Option<PathBuf> {
    require_peer(&[name])
}

fn deploy_rules() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/rules")
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn rfc3339_ms(s: &str) -> i64 {
    let (secs, nanos) =
        lgtm_common::time::parse_rfc3339(s).unwrap_or_else(|| panic!("bad time {s}"));
    secs * 1000 + i64::from(nanos / 1_000_000)
}

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn run(tool: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new(tool).args(args).output().expect("run tool");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn shipped_rule_tests_pass_under_our_tool_and_promtool() {
    let ours = PathBuf::from(env!("CARGO_BIN_EXE_metrics-tsdb-tool"));
    let promtool = peer("promtool");
    let tests_dir = deploy_rules().join("tests");
    let mut tests: Vec<PathBuf> = std::fs::read_dir(&tests_dir)
        .expect("deploy/rules/tests")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml"))
        .collect();
    tests.sort();
    let rule_files: Vec<PathBuf> = std::fs::read_dir(deploy_rules())
        .expect("deploy/rules")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml"))
        .collect();
    assert!(rule_files.len() >= 4, "rule files: {rule_files:?}");
    assert_eq!(tests.len(), rule_files.len(), "one test file per rule file");
    let mut tools = vec![ours];
    tools.extend(promtool);
    for tool in &tools {
        for rf in &rule_files {
            let (ok, out) = run(tool, &["check", "rules", rf.to_str().expect("utf8")]);
            assert!(ok, "{} check rules {}: {out}", tool.display(), rf.display());
        }
        for t in &tests {
            let (ok, out) = run(tool, &["test", "rules", t.to_str().expect("utf8")]);
            assert!(ok, "{} test rules {}: {out}", tool.display(), t.display());
            assert!(out.contains("  SUCCESS"), "{out}");
        }
    }
    // The same files with one wrong expectation fail under every tool, with promtool's words.
    let scratch = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(scratch.path().join("tests")).expect("mkdir");
    for rf in &rule_files {
        std::fs::copy(rf, scratch.path().join(rf.file_name().expect("name"))).expect("copy");
    }
    let text = std::fs::read_to_string(tests_dir.join("kubernetes-nodes.test.yml")).expect("read");
    let broken = text.replace(
        "summary: \"Node n1 is not ready\"",
        "summary: \"Node n1 is fine\"",
    );
    assert_ne!(broken, text);
    let broken_path = scratch.path().join("tests/broken.test.yml");
    std::fs::write(&broken_path, broken).expect("write");
    for tool in &tools {
        let (ok, out) = run(
            tool,
            &["test", "rules", broken_path.to_str().expect("utf8")],
        );
        assert!(
            !ok,
            "{} accepted a wrong expectation: {out}",
            tool.display()
        );
        assert!(out.contains("  FAILED:"), "{out}");
        assert!(
            out.contains("alertname: KubeNodeNotReady, time: 7m"),
            "{out}"
        );
    }
}

#[test]
fn check_rules_rejects_what_promtool_rejects_naming_the_rule() {
    let ours = PathBuf::from(env!("CARGO_BIN_EXE_metrics-tsdb-tool"));
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = dir.path().join("bad.yml");
    std::fs::write(
        &bad,
        "groups:\n  - name: g\n    rules:\n      - alert: Broken\n        expr: sum(up\n",
    )
    .expect("write");
    let (ok, out) = run(&ours, &["check", "rules", bad.to_str().expect("utf8")]);
    assert!(!ok);
    assert!(
        out.contains("group \"g\", rule 1, \"Broken\": could not parse expression"),
        "{out}"
    );
    if let Some(promtool) = peer("promtool") {
        let (ok, out) = run(&promtool, &["check", "rules", bad.to_str().expect("utf8")]);
        assert!(!ok, "{out}");
        assert!(
            out.contains("group \"g\", rule 1, \"Broken\": could not parse expression"),
            "{out}"
        );
    }
}

/// Remote-write body with one sample per series.
fn write_body(series: &[(&[(&str, &str)], f64)], t: i64) -> Vec<u8> {
    let req = pb::WriteRequest {
        timeseries: series
            .iter()
            .map(|(labels, v)| pb::TimeSeries {
                labels: labels
                    .iter()
                    .map(|(n, v)| pb::Label {
                        name: (*n).into(),
                        value: (*v).into(),
                    })
                    .collect(),
                samples: vec![pb::Sample {
                    value: *v,
                    timestamp: t,
                }],
                ..Default::default()
            })
            .collect(),
        metadata: vec![],
    };
    snap::raw::Encoder::new()
        .compress_vec(&req.encode_to_vec())
        .expect("snappy")
}

const PRESSURE: &[(&str, &str)] = &[
    ("__name__", "kube_node_status_condition"),
    ("condition", "MemoryPressure"),
    ("node", "worker-1"),
    ("status", "true"),
];

async fn remote_write(client: &reqwest::Client, base: &str, value: f64) {
    let resp = client
        .post(format!("{base}/api/v1/write"))
        .header("Content-Encoding", "snappy")
        .header("Content-Type", "application/x-protobuf")
        .body(write_body(&[(PRESSURE, value)], now_ms()))
        .send()
        .await
        .expect("remote write");
    assert_eq!(resp.status().as_u16(), 204, "{:?}", resp.text().await);
}

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

async fn wait_until<F, Fut>(what: &str, timeout: Duration, mut f: F) -> serde_json::Value
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<serde_json::Value>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A webhook receiver recording every notification body.
async fn start_recorder() -> (String, Arc<Mutex<Vec<serde_json::Value>>>) {
    let seen: Arc<Mutex<Vec<serde_json::Value>>> = Arc::default();
    let store = Arc::clone(&seen);
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |body: axum::body::Bytes| {
            let store = Arc::clone(&store);
            async move {
                if let Ok(v) = serde_json::from_slice(&body) {
                    store.lock().push(v);
                }
                ""
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}/hook"), seen)
}

fn start_alertmanager(bin: &Path, dir: &Path, hook: &str) -> (Killed, String) {
    let port = free_port();
    let config = dir.join("am.yml");
    std::fs::write(
        &config,
        format!(
            "route:\n  receiver: hook\n  group_by: [alertname]\n  group_wait: 0s\n  group_interval: 1s\n  repeat_interval: 1h\nreceivers:\n  - name: hook\n    webhook_configs: [{{url: '{hook}', send_resolved: true}}]\n"
        ),
    )
    .expect("am config");
    let child = Command::new(bin)
        .arg(format!("--config.file={}", config.display()))
        .arg(format!("--storage.path={}", dir.join("am-data").display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--cluster.listen-address=")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start alertmanager");
    let base = format!("http://127.0.0.1:{port}");
    wait_ready(&base, "alertmanager");
    (Killed(child), base)
}

const TEST_RULES: &str = r#"
groups:
  - name: it-node-pressure
    interval: 1s
    rules:
      - record: it:node_pressure:count
        expr: count by (condition) (kube_node_status_condition{status="true"} == 1)
      - alert: ItNodeMemoryPressure
        expr: kube_node_status_condition{condition="MemoryPressure",status="true"} == 1
        for: 2s
        labels:
          severity: warning
          source: "{{ $externalLabels.replica }}"
        annotations:
          summary: "Node {{ $labels.node }} is under memory pressure"
          value: "{{ $value }}"
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alert_reaches_debian_alertmanager_and_resolves() {
    let Some(am_bin) = peer("prometheus-alertmanager") else {
        return;
    };
    alert_scenario(&am_bin).await;
}

/// The same scenario against our `alert-router` binary, named by `LGTM_ALERT_ROUTER_BIN`
/// (another crate's binary, so this test does not build it; skipped when unset).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alert_reaches_alert_router_and_resolves() {
    let Some(bin) = std::env::var_os("LGTM_ALERT_ROUTER_BIN").map(PathBuf::from) else {
        eprintln!("skipping: LGTM_ALERT_ROUTER_BIN not set");
        return;
    };
    alert_scenario(&bin).await;
}

/// Starts an Alertmanager-compatible binary and `metrics-tsdb`, raises an alert, checks it
/// at the Alertmanager and its webhook, then clears it and checks the resolution.
async fn alert_scenario(am_bin: &Path) {
    lgtm_common::http_client::client::install_crypto_provider();
    let dir = tempfile::tempdir().expect("tempdir");
    let (hook, notifications) = start_recorder().await;
    let (_am, am_base) =
        tokio::task::block_in_place(|| start_alertmanager(am_bin, dir.path(), &hook));
    std::fs::write(dir.path().join("it-rules.yml"), TEST_RULES).expect("rules");
    let am_target = am_base.trim_start_matches("http://");
    let prometheus_yml = format!(
        "global:\n  evaluation_interval: 1s\n  external_labels: {{replica: a}}\nrule_files:\n  - it-rules.yml\n  - {}/*.yml\nalerting:\n  alertmanagers:\n    - static_configs:\n        - targets: ['{am_target}']\n      timeout: 5s\n",
        deploy_rules().display()
    );
    std::fs::write(dir.path().join("prometheus.yml"), prometheus_yml).expect("config");
    let config = Config::from_args([
        format!(
            "--config.file={}",
            dir.path().join("prometheus.yml").display()
        ),
        format!("--storage.tsdb.path={}", dir.path().join("data").display()),
        "--web.listen-address=127.0.0.1:0".to_owned(),
        "--web.external-url=http://metrics-tsdb.test:9090".to_owned(),
        "--web.enable-remote-write-receiver".to_owned(),
        "--web.enable-lifecycle".to_owned(),
    ])
    .expect("flags");
    let shutdown = CancellationToken::new();
    let running = start(config, shutdown.clone()).await.expect("start");
    let base = format!("http://{}", running.addr);
    let client = reqwest::Client::new();

    // Every shipped rule file loads in the server, alongside the test rule.
    let rules = get_json(&client, &format!("{base}/api/v1/rules")).await;
    let groups = rules["data"]["groups"].as_array().expect("groups");
    for name in [
        "it-node-pressure",
        "kubernetes-nodes",
        "kubernetes-pods",
        "istio-slo",
        "lgtm-stack",
    ] {
        assert!(
            groups.iter().any(|g| g["name"] == name),
            "group {name} missing: {rules}"
        );
    }
    let ams = get_json(&client, &format!("{base}/api/v1/alertmanagers")).await;
    assert_eq!(
        ams["data"]["activeAlertmanagers"][0]["url"],
        format!("{am_base}/api/v2/alerts")
    );

    remote_write(&client, &base, 1.0).await;
    // Pending first, then firing: visible in our API.
    let firing = wait_until(
        "firing alert in /api/v1/alerts",
        Duration::from_secs(20),
        || {
            let (client, url) = (client.clone(), format!("{base}/api/v1/alerts"));
            async move {
                let v = get_json(&client, &url).await;
                let alert = v["data"]["alerts"]
                    .as_array()?
                    .iter()
                    .find(|a| {
                        a["labels"]["alertname"] == "ItNodeMemoryPressure" && a["state"] == "firing"
                    })?
                    .clone();
                Some(alert)
            }
        },
    )
    .await;
    assert_eq!(firing["labels"]["node"], "worker-1");
    assert_eq!(
        firing["labels"]["source"], "a",
        "$externalLabels expanded: {firing}"
    );
    assert_eq!(firing["value"], "1e+00");
    let active_at = rfc3339_ms(firing["activeAt"].as_str().expect("activeAt"));

    // The alert at the real Alertmanager.
    let at_am = wait_until("alert at Alertmanager", Duration::from_secs(20), || {
        let (client, url) = (client.clone(), format!("{am_base}/api/v2/alerts"));
        async move {
            let v = get_json(&client, &url).await;
            v.as_array()?
                .iter()
                .find(|a| a["labels"]["alertname"] == "ItNodeMemoryPressure")
                .cloned()
        }
    })
    .await;
    let labels = &at_am["labels"];
    assert_eq!(labels["replica"], "a", "external label added: {at_am}");
    assert_eq!(labels["severity"], "warning");
    assert_eq!(labels["node"], "worker-1");
    assert_eq!(labels["condition"], "MemoryPressure");
    assert!(labels.get("__name__").is_none(), "{at_am}");
    assert_eq!(
        at_am["annotations"]["summary"],
        "Node worker-1 is under memory pressure"
    );
    assert_eq!(at_am["annotations"]["value"], "1");
    let starts_at = rfc3339_ms(at_am["startsAt"].as_str().expect("startsAt"));
    let ends_at = rfc3339_ms(at_am["endsAt"].as_str().expect("endsAt"));
    // startsAt is the firing time: `for` (2s) after activeAt, on an evaluation tick.
    assert!(
        starts_at >= active_at + 2000 && starts_at <= active_at + 4000,
        "activeAt {active_at} startsAt {starts_at}"
    );
    // endsAt of a firing alert: send time + 4 * max(resend delay 1m, interval 1s).
    assert!(
        (ends_at - starts_at - 240_000).abs() <= 2_000,
        "startsAt {starts_at} endsAt {ends_at}"
    );
    let generator = at_am["generatorURL"].as_str().expect("generatorURL");
    assert!(
        generator.starts_with(
            "http://metrics-tsdb.test:9090/graph?g0.expr=kube_node_status_condition%7B"
        ),
        "{generator}"
    );
    // Alertmanager routed it to the webhook.
    let firing_note = wait_until("firing webhook", Duration::from_secs(20), || {
        let seen = notifications.lock().clone();
        async move { seen.into_iter().find(|n| n["status"] == "firing") }
    })
    .await;
    assert_eq!(
        firing_note["alerts"][0]["labels"]["alertname"],
        "ItNodeMemoryPressure"
    );
    assert_eq!(
        rfc3339_ms(
            firing_note["alerts"][0]["startsAt"]
                .as_str()
                .expect("startsAt")
        ),
        starts_at
    );

    // Self-monitoring as Prometheus names it.
    let metrics = client
        .get(format!("{base}/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    let sent_line =
        format!("prometheus_notifications_sent_total{{alertmanager=\"{am_base}/api/v2/alerts\"}}");
    assert!(metrics.contains(&sent_line), "{metrics}");
    assert!(
        metrics.contains("prometheus_notifications_dropped_total 0"),
        "{metrics}"
    );
    assert!(
        metrics.contains("prometheus_notifications_queue_capacity 10000"),
        "{metrics}"
    );
    let group_key = format!("{}/it-rules.yml;it-node-pressure", dir.path().display());
    assert!(
        metrics.contains(&format!(
            "prometheus_rule_group_rules{{rule_group=\"{group_key}\"}} 2"
        )),
        "{metrics}"
    );
    assert!(
        metrics.contains("prometheus_rule_group_last_evaluation_timestamp_seconds{"),
        "{metrics}"
    );
    // ALERTS / ALERTS_FOR_STATE and the recording rule are queryable.
    let q = |expr: &str| {
        format!(
            "{base}/api/v1/query?query={}",
            url::form_urlencoded::byte_serialize(expr.as_bytes()).collect::<String>()
        )
    };
    let alerts_series = get_json(&client, &q("ALERTS{alertname=\"ItNodeMemoryPressure\"}")).await;
    assert_eq!(
        alerts_series["data"]["result"][0]["metric"]["alertstate"], "firing",
        "{alerts_series}"
    );
    let for_state = get_json(
        &client,
        &q("ALERTS_FOR_STATE{alertname=\"ItNodeMemoryPressure\"}"),
    )
    .await;
    assert_eq!(
        for_state["data"]["result"][0]["value"][1],
        (active_at / 1000).to_string(),
        "{for_state}"
    );
    let recorded = get_json(&client, &q("it:node_pressure:count")).await;
    assert_eq!(recorded["data"]["result"][0]["value"][1], "1", "{recorded}");

    // Resolution: the condition clears, the resolved alert carries endsAt = resolve time.
    let cleared_at = now_ms();
    remote_write(&client, &base, 0.0).await;
    let resolved_note = wait_until("resolved webhook", Duration::from_secs(20), || {
        let seen = notifications.lock().clone();
        async move { seen.into_iter().find(|n| n["status"] == "resolved") }
    })
    .await;
    let resolved = &resolved_note["alerts"][0];
    assert_eq!(resolved["labels"]["alertname"], "ItNodeMemoryPressure");
    assert_eq!(resolved["status"], "resolved");
    let resolved_end = rfc3339_ms(resolved["endsAt"].as_str().expect("endsAt"));
    assert!(
        resolved_end >= cleared_at - 1000 && resolved_end <= cleared_at + 5000,
        "cleared {cleared_at} endsAt {resolved_end}"
    );
    assert_eq!(
        rfc3339_ms(resolved["startsAt"].as_str().expect("startsAt")),
        starts_at
    );
    // The rule's state and the recording rule's stale marker.
    let rules = get_json(
        &client,
        &format!("{base}/api/v1/rules?type=alert&rule_name[]=ItNodeMemoryPressure"),
    )
    .await;
    let group = &rules["data"]["groups"][0];
    assert_eq!(group["name"], "it-node-pressure");
    assert_eq!(group["rules"].as_array().map(Vec::len), Some(1), "{rules}");
    assert_eq!(group["rules"][0]["type"], "alerting");
    assert_eq!(group["rules"][0]["health"], "ok");
    assert_eq!(group["rules"][0]["duration"], 2.0);
    // `match[]` selects rules by their labels; `exclude_alerts` drops the instances.
    let rules = get_json(
        &client,
        &format!("{base}/api/v1/rules?match[]=%7Bseverity%3D%22warning%22%7D&exclude_alerts=true"),
    )
    .await;
    let groups = rules["data"]["groups"].as_array().expect("groups");
    assert!(!groups.is_empty());
    for g in groups {
        for r in g["rules"].as_array().expect("rules") {
            assert_eq!(r["labels"]["severity"], "warning", "{r}");
            assert!(r["alerts"].is_null(), "{r}");
        }
    }
    let bad = client
        .get(format!("{base}/api/v1/rules?type=bogus"))
        .send()
        .await
        .expect("rules");
    assert_eq!(bad.status().as_u16(), 400);
    shutdown.cancel();
    let _ = running.task.await;
}

struct Tsdb {
    _child: Killed,
    base: String,
}

fn start_tsdb_process(dir: &Path) -> Tsdb {
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_metrics-tsdb"))
        .arg(format!(
            "--config.file={}",
            dir.join("prometheus.yml").display()
        ))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--web.enable-remote-write-receiver")
        .arg("--rules.alert.for-grace-period=1s")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start metrics-tsdb");
    let base = format!("http://127.0.0.1:{port}");
    wait_ready(&base, "metrics-tsdb");
    Tsdb {
        _child: Killed(child),
        base,
    }
}

async fn pending_active_at(client: &reqwest::Client, base: &str) -> i64 {
    let alert = wait_until("pending alert", Duration::from_secs(20), || {
        let (client, url) = (client.clone(), format!("{base}/api/v1/alerts"));
        async move {
            let v = get_json(&client, &url).await;
            v["data"]["alerts"]
                .as_array()?
                .iter()
                .find(|a| a["labels"]["alertname"] == "SlowPressure")
                .cloned()
        }
    })
    .await;
    assert_eq!(alert["state"], "pending", "{alert}");
    rfc3339_ms(alert["activeAt"].as_str().expect("activeAt"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_in_the_middle_of_for_keeps_the_pending_state() {
    lgtm_common::http_client::client::install_crypto_provider();
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("rules.yml"),
        "groups:\n  - name: slow\n    interval: 1s\n    rules:\n      - alert: SlowPressure\n        expr: kube_node_status_condition{condition=\"MemoryPressure\",status=\"true\"} == 1\n        for: 1m\n",
    )
    .expect("rules");
    std::fs::write(
        dir.path().join("prometheus.yml"),
        "global:\n  evaluation_interval: 1s\nrule_files: [rules.yml]\n",
    )
    .expect("config");
    let client = reqwest::Client::new();
    let first = tokio::task::block_in_place(|| start_tsdb_process(dir.path()));
    remote_write(&client, &first.base, 1.0).await;
    let active_at = pending_active_at(&client, &first.base).await;
    // Let a few evaluations write ALERTS_FOR_STATE, then kill the server mid-`for`.
    tokio::time::sleep(Duration::from_secs(6)).await;
    let down_at = now_ms();
    drop(first);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let restarted_at = now_ms();
    let second = tokio::task::block_in_place(|| start_tsdb_process(dir.path()));
    remote_write(&client, &second.base, 1.0).await;
    // Wait for the restoration (it happens after the first evaluation).
    tokio::time::sleep(Duration::from_secs(3)).await;
    let restored = pending_active_at(&client, &second.base).await;
    // Without restoration activeAt would be after the restart; restored, it is the original
    // activeAt moved forward by the downtime (Prometheus' outage handling).
    assert!(
        restored < restarted_at - 2000,
        "activeAt {restored} not restored (restart at {restarted_at})"
    );
    let downtime = restarted_at - down_at;
    assert!(
        restored >= active_at + downtime - 1000 && restored <= active_at + downtime + 5000,
        "original {active_at}, restored {restored}, downtime {downtime}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_rule_file_on_reload_keeps_old_rules_and_reports_failure() {
    lgtm_common::http_client::client::install_crypto_provider();
    let dir = tempfile::tempdir().expect("tempdir");
    let rules_path = dir.path().join("rules.yml");
    std::fs::write(
        &rules_path,
        "groups: [{name: old, rules: [{record: 'x:sum', expr: 'sum(x)'}]}]\n",
    )
    .expect("rules");
    std::fs::write(
        dir.path().join("prometheus.yml"),
        "rule_files: [rules.yml]\n",
    )
    .expect("config");
    let config = Config::from_args([
        format!(
            "--config.file={}",
            dir.path().join("prometheus.yml").display()
        ),
        format!("--storage.tsdb.path={}", dir.path().join("data").display()),
        "--web.listen-address=127.0.0.1:0".to_owned(),
        "--web.enable-lifecycle".to_owned(),
    ])
    .expect("flags");
    let shutdown = CancellationToken::new();
    let running = start(config, shutdown.clone()).await.expect("start");
    let base = format!("http://{}", running.addr);
    let client = reqwest::Client::new();
    std::fs::write(
        &rules_path,
        "groups: [{name: new, rules: [{alert: Broken, expr: 'sum(x'}]}]\n",
    )
    .expect("rules");
    let resp = client
        .post(format!("{base}/-/reload"))
        .send()
        .await
        .expect("reload");
    assert_eq!(resp.status().as_u16(), 500);
    let text = resp.text().await.expect("body");
    assert!(
        text.contains("group \"new\", rule 1, \"Broken\": could not parse expression"),
        "{text}"
    );
    let rules = get_json(&client, &format!("{base}/api/v1/rules")).await;
    assert_eq!(rules["data"]["groups"][0]["name"], "old", "{rules}");
    let info = get_json(&client, &format!("{base}/api/v1/status/runtimeinfo")).await;
    assert_eq!(info["data"]["reloadConfigSuccess"], false, "{info}");
    let metrics = client
        .get(format!("{base}/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    assert!(
        metrics.contains("prometheus_rule_config_last_reload_successful 0"),
        "{metrics}"
    );
    // A fixed file is picked up.
    std::fs::write(
        &rules_path,
        "groups: [{name: new, rules: [{alert: Fixed, expr: 'sum(x) > 1'}]}]\n",
    )
    .expect("rules");
    let resp = client
        .post(format!("{base}/-/reload"))
        .send()
        .await
        .expect("reload");
    assert_eq!(resp.status().as_u16(), 200);
    let rules = get_json(&client, &format!("{base}/api/v1/rules")).await;
    assert_eq!(rules["data"]["groups"][0]["name"], "new", "{rules}");
    assert_eq!(rules["data"]["groups"].as_array().map(Vec::len), Some(1));
    shutdown.cancel();
    let _ = running.task.await;
}

const SIDE_BY_SIDE_RULES: &str = r#"
groups:
  - name: side-by-side
    interval: 1s
    rules:
      - record: job:answer:sum
        expr: sum(vector(42))
        labels:
          team: infra
      - alert: AlwaysFiring
        expr: vector(1) > 0
        for: 2s
        labels:
          severity: test
        annotations:
          summary: "value is {{ $value }} on {{ $labels.job }}"
          ext: "{{ $externalLabels.replica }}"
"#;

fn keys(v: &serde_json::Value) -> Vec<String> {
    v.as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default()
}

/// The same rule file on Debian's Prometheus and on us: `/api/v1/rules` and `/api/v1/alerts`
/// carry the same fields and values (ours may add the 3.x fields 2.42 lacks), and the rule
/// output series are identical.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_and_alerts_api_match_debian_prometheus() {
    let Some(prometheus) = peer("prometheus") else {
        return;
    };
    lgtm_common::http_client::client::install_crypto_provider();
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("rules.yml"), SIDE_BY_SIDE_RULES).expect("rules");
    std::fs::write(
        dir.path().join("prometheus.yml"),
        "global:\n  evaluation_interval: 1s\n  external_labels: {replica: a}\nrule_files: [rules.yml]\n",
    )
    .expect("config");
    let peer_port = free_port();
    let peer_url = format!("http://127.0.0.1:{peer_port}");
    let _peer = Killed(
        Command::new(prometheus)
            .arg(format!(
                "--config.file={}",
                dir.path().join("prometheus.yml").display()
            ))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("peer").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{peer_port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start prometheus"),
    );
    let shutdown = CancellationToken::new();
    let ours = start(
        Config::from_args([
            format!(
                "--config.file={}",
                dir.path().join("prometheus.yml").display()
            ),
            format!("--storage.tsdb.path={}", dir.path().join("ours").display()),
            "--web.listen-address=127.0.0.1:0".to_owned(),
        ])
        .expect("flags"),
        shutdown.clone(),
    )
    .await
    .expect("start ours");
    let ours_url = format!("http://{}", ours.addr);
    let client = reqwest::Client::new();
    let mut firing = Vec::new();
    for base in [&peer_url, &ours_url] {
        let rules = wait_until("firing AlwaysFiring", Duration::from_secs(30), || {
            let (client, url) = (client.clone(), format!("{base}/api/v1/rules"));
            async move {
                let v: serde_json::Value = client.get(&url).send().await.ok()?.json().await.ok()?;
                let state = &v["data"]["groups"][0]["rules"][1]["state"];
                (state == "firing").then_some(v)
            }
        })
        .await;
        let alerts = get_json(&client, &format!("{base}/api/v1/alerts")).await;
        firing.push((rules, alerts));
    }
    let (theirs, ours_v) = (&firing[0], &firing[1]);
    let (g_theirs, g_ours) = (
        &theirs.0["data"]["groups"][0],
        &ours_v.0["data"]["groups"][0],
    );
    for k in keys(g_theirs) {
        assert!(
            g_ours.get(&k).is_some(),
            "group field {k} missing: {g_ours}"
        );
    }
    for k in ["name", "interval", "limit"] {
        assert_eq!(g_ours[k], g_theirs[k], "group {k}");
    }
    assert!(
        g_ours["file"]
            .as_str()
            .is_some_and(|f| f.ends_with("rules.yml")),
        "{g_ours}"
    );
    for i in 0..2 {
        let (r_theirs, r_ours) = (&g_theirs["rules"][i], &g_ours["rules"][i]);
        for k in keys(r_theirs) {
            assert!(r_ours.get(&k).is_some(), "rule field {k} missing: {r_ours}");
        }
        for k in [
            "name",
            "query",
            "labels",
            "annotations",
            "health",
            "type",
            "state",
            "duration",
        ] {
            assert_eq!(r_ours.get(k), r_theirs.get(k), "rule {i} field {k}");
        }
    }
    let (a_theirs, a_ours) = (
        &g_theirs["rules"][1]["alerts"][0],
        &g_ours["rules"][1]["alerts"][0],
    );
    assert_eq!(keys(a_ours), keys(a_theirs), "{a_ours} vs {a_theirs}");
    for k in ["labels", "annotations", "state", "value"] {
        assert_eq!(a_ours[k], a_theirs[k], "alert field {k}");
    }
    assert_eq!(a_ours["annotations"]["summary"], "value is 1 on ");
    assert_eq!(a_ours["annotations"]["ext"], "a");
    let (l_theirs, l_ours) = (
        &theirs.1["data"]["alerts"][0],
        &ours_v.1["data"]["alerts"][0],
    );
    assert_eq!(keys(l_ours), keys(l_theirs));
    for k in ["labels", "annotations", "state", "value"] {
        assert_eq!(l_ours[k], l_theirs[k], "/api/v1/alerts field {k}");
    }
    // Rule outputs: same series (labels) on both servers.
    for expr in ["job:answer:sum", "ALERTS", "ALERTS_FOR_STATE"] {
        let mut metrics = Vec::new();
        for base in [&peer_url, &ours_url] {
            let v = get_json(
                &client,
                &format!(
                    "{base}/api/v1/query?query={}",
                    url::form_urlencoded::byte_serialize(expr.as_bytes()).collect::<String>()
                ),
            )
            .await;
            let mut m: Vec<String> = v["data"]["result"]
                .as_array()
                .map(|r| r.iter().map(|s| s["metric"].to_string()).collect())
                .unwrap_or_default();
            m.sort();
            metrics.push(m);
        }
        assert!(!metrics[0].is_empty(), "{expr} empty on Prometheus");
        assert_eq!(metrics[1], metrics[0], "{expr}");
    }
    shutdown.cancel();
    let _ = ours.task.await;
}

/// `metrics-tsdb-tool query ...` prints what `promtool query ...` prints for the same server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_commands_print_what_promtool_prints() {
    let Some(promtool) = peer("promtool") else {
        return;
    };
    lgtm_common::http_client::client::install_crypto_provider();
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("rules.yml"), SIDE_BY_SIDE_RULES).expect("rules");
    std::fs::write(
        dir.path().join("prometheus.yml"),
        "global:\n  evaluation_interval: 1s\n  external_labels: {replica: a}\nrule_files: [rules.yml]\n",
    )
    .expect("config");
    let shutdown = CancellationToken::new();
    let ours = start(
        Config::from_args([
            format!(
                "--config.file={}",
                dir.path().join("prometheus.yml").display()
            ),
            format!("--storage.tsdb.path={}", dir.path().join("data").display()),
            "--web.listen-address=127.0.0.1:0".to_owned(),
        ])
        .expect("flags"),
        shutdown.clone(),
    )
    .await
    .expect("start");
    let base = format!("http://{}", ours.addr);
    let client = reqwest::Client::new();
    wait_until("ALERTS written", Duration::from_secs(20), || {
        let (client, url) = (client.clone(), format!("{base}/api/v1/query?query=ALERTS"));
        async move {
            let v = get_json(&client, &url).await;
            (v["data"]["result"].as_array()?.len() == 1).then_some(v)
        }
    })
    .await;
    // Whole-second query times below must come after the first ALERTS sample.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let tool = PathBuf::from(env!("CARGO_BIN_EXE_metrics-tsdb-tool"));
    let at = format!("--time={}", now_ms() / 1000);
    let (start_t, end_t) = (
        format!("--start={}", now_ms() / 1000 - 3),
        format!("--end={}", now_ms() / 1000),
    );
    let cases: Vec<(Vec<&str>, Vec<&str>)> = vec![
        (
            vec!["query", "instant", &at, &base, "job:answer:sum"],
            vec!["query", "instant", &base, "job:answer:sum", &at],
        ),
        (
            vec!["query", "instant", &at, &base, "ALERTS"],
            vec!["query", "instant", &base, "ALERTS", &at],
        ),
        (
            vec![
                "query",
                "range",
                &start_t,
                &end_t,
                "--step=1s",
                &base,
                "job:answer:sum",
            ],
            vec![
                "query",
                "range",
                &base,
                "job:answer:sum",
                &start_t,
                &end_t,
                "--step=1s",
            ],
        ),
        (
            vec!["query", "series", "--match=ALERTS", &base],
            vec!["query", "series", &base, "--match=ALERTS"],
        ),
        (
            vec!["query", "labels", &base, "alertname"],
            vec!["query", "labels", &base, "alertname"],
        ),
    ];
    for (theirs_args, ours_args) in cases {
        let (ok_t, out_t) = run(&promtool, &theirs_args);
        let (ok_o, out_o) = run(&tool, &ours_args);
        assert!(
            ok_t && ok_o,
            "promtool {theirs_args:?}: {out_t}\nours {ours_args:?}: {out_o}"
        );
        assert!(!out_t.trim().is_empty(), "{theirs_args:?}");
        assert_eq!(out_o, out_t, "{ours_args:?}");
    }
    shutdown.cancel();
    let _ = ours.task.await;
}
