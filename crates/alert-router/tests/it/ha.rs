//! High availability over the cluster port (SWIM membership and state exchange over HTTP):
//!
//! * two in-process replicas: the same alert posted to both notifies once; a silence made
//!   on one is listed by the other;
//! * three `alert-router` processes: one killed with SIGKILL is dropped from the others'
//!   `/api/v2/status` peers within a bounded time and positions shift; one stopped with
//!   SIGTERM leaves at once;
//! * a replica started late, joining through one member only, receives the existing
//!   silences (push-pull on join) and learns every member.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

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

fn client() -> reqwest::Client {
    lgtm_common::http_client::client::install_crypto_provider();
    reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

async fn get_json(client: &reqwest::Client, url: String) -> Option<Value> {
    let r = client.get(url).send().await.ok()?;
    if !r.status().is_success() {
        return None;
    }
    serde_json::from_str(&r.text().await.ok()?).ok()
}

/// Polls `f` every 100 ms until it returns `Some`, for at most `limit`.
async fn eventually<T, F, Fut>(limit: Duration, mut f: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let t0 = Instant::now();
    while t0.elapsed() < limit {
        if let Some(v) = f().await {
            return Some(v);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    None
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
    let client = client();
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
                    "--cluster.gossip-interval=50ms".to_owned(),
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
        if ready == 2 && servers.iter().all(|s| !s.is_finished()) {
            started = Some((urls, servers));
            break;
        }
        token.cancel();
        for s in servers {
            let _ = s.await;
        }
    }
    let (urls, servers) = started.expect("two replicas started");
    // Both settled first, so both run their pipeline at the same moment after group_wait:
    // only the positional wait keeps the second from notifying too.
    for u in &urls {
        let ready = eventually(Duration::from_secs(30), || async {
            let c = get_json(&client, format!("{u}/api/v2/status")).await?["cluster"].clone();
            (c["status"] == "ready" && c["peers"].as_array()?.len() == 2).then_some(())
        })
        .await;
        assert!(ready.is_some(), "{u} settled with two members");
    }
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
    // group_wait (1s); then the second replica's positional wait (3s) passes and it finds
    // the first one's nflog entry.
    let first = eventually(Duration::from_secs(30), || async {
        (!log.lock().is_empty()).then_some(())
    })
    .await;
    assert!(first.is_some(), "one replica notified");
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(
        log.lock().len(),
        1,
        "exactly one notification from the pair"
    );

    // A silence created on replica 0 is listed by replica 1.
    let id = create_silence(&client, &urls[0], "c", "t", ("alertname", "HaTest"), 1).await;
    let replicated = eventually(Duration::from_secs(3), || {
        get_json(&client, format!("{}/api/v2/silence/{id}", urls[1]))
    })
    .await;
    assert!(replicated.is_some(), "silence replicated");
    let status = get_json(&client, format!("{}/api/v2/status", urls[1]))
        .await
        .unwrap();
    assert_eq!(status["cluster"]["status"], "ready");
    let peers = status["cluster"]["peers"].as_array().unwrap();
    assert_eq!(peers.len(), 2, "{status}");
    let mut addresses: Vec<&str> = peers
        .iter()
        .map(|p| p["address"].as_str().unwrap())
        .collect();
    addresses.sort_unstable();
    let mut expected: Vec<String> = Vec::new();
    for u in &urls {
        let s = get_json(&client, format!("{u}/api/v2/status"))
            .await
            .unwrap();
        let name = s["cluster"]["name"].as_str().unwrap().to_owned();
        assert_eq!(name.len(), 26, "a ULID name: {name}");
        assert!(peers.iter().any(|p| p["name"] == name.as_str()), "{status}");
        let me = peers.iter().find(|p| p["name"] == name.as_str()).unwrap();
        expected.push(me["address"].as_str().unwrap().to_owned());
    }
    expected.sort_unstable();
    assert_eq!(addresses, expected);
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

/// One `alert-router` process; killed when dropped.
struct Replica {
    child: Child,
    web: String,
    cluster: String,
    log: PathBuf,
}

impl Replica {
    fn start(dir: &Path, i: usize, cluster_port: u16, peers: &[String], extra: &[&str]) -> Self {
        let web_port = free_port();
        let cfg = dir.join("am.yml");
        if !cfg.is_file() {
            std::fs::write(&cfg, "route: {receiver: none}\nreceivers: [{name: none}]\n").unwrap();
        }
        let log = dir.join(format!("replica{i}.log"));
        let cluster = format!("127.0.0.1:{cluster_port}");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_alert-router"));
        cmd.arg(format!("--config.file={}", cfg.display()))
            .arg(format!(
                "--storage.path={}",
                dir.join(format!("data{i}")).display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{web_port}"))
            .arg(format!("--cluster.listen-address={cluster}"))
            .arg("--cluster.gossip-interval=50ms")
            .arg("--log.level=debug")
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap());
        for p in peers {
            cmd.arg(format!("--cluster.peer={p}"));
        }
        Self {
            child: cmd.spawn().expect("start alert-router"),
            web: format!("http://127.0.0.1:{web_port}"),
            cluster,
            log,
        }
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    /// The cluster block of `/api/v2/status`.
    async fn cluster(&self, client: &reqwest::Client) -> Option<Value> {
        get_json(client, format!("{}/api/v2/status", self.web))
            .await
            .map(|s| s["cluster"].clone())
    }

    /// `alertmanager_peer_position` from `/metrics`.
    async fn position(&self, client: &reqwest::Client) -> Option<usize> {
        let text = client
            .get(format!("{}/metrics", self.web))
            .send()
            .await
            .ok()?
            .text()
            .await
            .ok()?;
        text.lines()
            .find_map(|l| l.strip_prefix("alertmanager_peer_position "))
            .and_then(|v| v.trim().parse().ok())
    }

    /// Peer names in `/api/v2/status`, once the replica is ready with `n` members.
    async fn wait_members(
        &self,
        client: &reqwest::Client,
        n: usize,
        limit: Duration,
    ) -> Vec<String> {
        let got = eventually(limit, || async {
            let c = self.cluster(client).await?;
            let peers = c["peers"].as_array()?;
            (c["status"] == "ready" && peers.len() == n).then(|| {
                peers
                    .iter()
                    .map(|p| p["name"].as_str().unwrap_or_default().to_owned())
                    .collect()
            })
        })
        .await;
        match got {
            Some(names) => names,
            None => panic!(
                "{} never showed {n} ready members; last status {:?}\n{}",
                self.web,
                self.cluster(client).await,
                self.log_tail()
            ),
        }
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Cluster ports for `n` replicas; retried by callers when a port was taken meanwhile.
fn cluster_ports(n: usize) -> Vec<u16> {
    (0..n).map(|_| free_port()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_replicas_drop_a_killed_member_and_positions_shift() {
    let dir = tempfile::tempdir().unwrap();
    let client = client();
    let ports = cluster_ports(3);
    // Every replica is given every address, its own included, as from a headless Service.
    let all: Vec<String> = ports.iter().map(|p| format!("127.0.0.1:{p}")).collect();
    let mut replicas: Vec<Option<Replica>> = ports
        .iter()
        .enumerate()
        .map(|(i, p)| {
            Some(Replica::start(
                dir.path(),
                i,
                *p,
                &all,
                &["--cluster.peer-timeout=2s"],
            ))
        })
        .collect();
    let mut names = Vec::new();
    for r in replicas.iter().flatten() {
        names = r.wait_members(&client, 3, Duration::from_secs(40)).await;
    }
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted, "peers are listed by name");
    // Each replica's position is its name's index in the sorted names.
    let mut by_position: Vec<usize> = vec![usize::MAX; 3];
    for (i, r) in replicas.iter().enumerate() {
        let r = r.as_ref().unwrap();
        let me = r.cluster(&client).await.unwrap();
        let name = me["name"].as_str().unwrap().to_owned();
        let expected = sorted.iter().position(|n| *n == name).unwrap();
        assert_eq!(r.position(&client).await, Some(expected), "{name}");
        let address = me["peers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name.as_str())
            .unwrap()["address"]
            .clone();
        assert_eq!(
            address,
            r.cluster.as_str(),
            "status shows the advertised address"
        );
        by_position[expected] = i;
    }

    // SIGKILL the replica at position 0: no leave message, failure detection must notice.
    let killed = replicas[by_position[0]].take().unwrap();
    let killed_name = sorted[0].clone();
    drop(killed);
    let t0 = Instant::now();
    for &i in &by_position[1..] {
        let r = replicas[i].as_ref().unwrap();
        let left = r.wait_members(&client, 2, Duration::from_secs(20)).await;
        assert!(!left.contains(&killed_name), "{left:?}");
    }
    let detected = t0.elapsed();
    eprintln!("killed member dropped from both survivors' status after {detected:?}");
    assert!(detected < Duration::from_secs(20));
    for (new_pos, &i) in by_position[1..].iter().enumerate() {
        let r = replicas[i].as_ref().unwrap();
        let pos = eventually(Duration::from_secs(5), || async {
            r.position(&client).await.filter(|p| *p == new_pos)
        })
        .await;
        assert_eq!(pos, Some(new_pos), "positions shift down by one");
    }

    // SIGTERM the (new) position 0: it leaves, and the last one sees it at once rather
    // than after failure detection.
    let mut stopping = replicas[by_position[1]].take().unwrap();
    let last = replicas[by_position[2]].as_ref().unwrap();
    let status = Command::new("kill")
        .arg("-TERM")
        .arg(stopping.child.id().to_string())
        .status()
        .unwrap();
    assert!(status.success());
    let t0 = Instant::now();
    last.wait_members(&client, 1, Duration::from_secs(10)).await;
    let took = t0.elapsed();
    eprintln!("left member dropped after {took:?}");
    let exit = stopping.child.wait().unwrap();
    assert!(
        exit.success(),
        "graceful exit: {exit:?}\n{}",
        stopping.log_tail()
    );
    assert!(
        stopping.log_tail().contains("left the cluster"),
        "{}",
        stopping.log_tail()
    );
    assert_eq!(last.position(&client).await, Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_joiner_receives_existing_silences() {
    let dir = tempfile::tempdir().unwrap();
    let client = client();
    let ports = cluster_ports(3);
    let addr = |i: usize| format!("127.0.0.1:{}", ports[i]);
    // A long push-pull interval: only the exchange made when a member comes up can bring
    // the silence to the late joiner in time.
    let extra = ["--cluster.pushpull-interval=10m"];
    let a = Replica::start(dir.path(), 0, ports[0], &[addr(1)], &extra);
    let b = Replica::start(dir.path(), 1, ports[1], &[addr(0)], &extra);
    a.wait_members(&client, 2, Duration::from_secs(40)).await;
    b.wait_members(&client, 2, Duration::from_secs(40)).await;

    let id = create_silence(&client, &a.web, "maintenance", "ha-test", ("job", "db"), 2).await;
    let on_b = eventually(Duration::from_secs(5), || {
        get_json(&client, format!("{}/api/v2/silence/{id}", b.web))
    })
    .await;
    assert!(on_b.is_some(), "pushed to the running peer");

    // C starts later and knows only A; it must get the silence and learn B through A.
    let c = Replica::start(dir.path(), 2, ports[2], &[addr(0)], &extra);
    let got = eventually(Duration::from_secs(15), || {
        get_json(&client, format!("{}/api/v2/silence/{id}", c.web))
    })
    .await;
    let got = got.unwrap_or_else(|| panic!("late joiner has the silence\n{}", c.log_tail()));
    assert_eq!(got["comment"], "maintenance");
    assert_eq!(got["createdBy"], "ha-test");
    assert_eq!(got["status"]["state"], "active");
    let names = c.wait_members(&client, 3, Duration::from_secs(20)).await;
    assert_eq!(names.len(), 3);
    // And B, which C never named, sees C too.
    b.wait_members(&client, 3, Duration::from_secs(20)).await;
    // The late joiner's own change reaches both older members.
    let r = client
        .delete(format!("{}/api/v2/silence/{id}", c.web))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    for peer in [&a, &b] {
        let expired = eventually(Duration::from_secs(5), || async {
            let s = get_json(&client, format!("{}/api/v2/silence/{id}", peer.web)).await?;
            (s["status"]["state"] == "expired").then_some(())
        })
        .await;
        assert!(
            expired.is_some(),
            "expiry made on the late joiner replicated"
        );
    }
}

/// A replica killed and restarted at the same address (a StatefulSet pod keeping its IP)
/// replaces its predecessor at once, without waiting for failure detection, and gets the
/// state back from its peer although its own storage is new.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_restarted_at_its_address_replaces_itself() {
    let dir = tempfile::tempdir().unwrap();
    let client = client();
    let ports = cluster_ports(2);
    let addr = |i: usize| format!("127.0.0.1:{}", ports[i]);
    // Slow failure detection: only the restart itself can explain a quick replacement.
    let extra = [
        "--cluster.probe-interval=5s",
        "--cluster.probe-timeout=2s",
        "--cluster.pushpull-interval=10m",
    ];
    let a = Replica::start(dir.path(), 0, ports[0], &[addr(1)], &extra);
    let b = Replica::start(dir.path(), 1, ports[1], &[addr(0)], &extra);
    a.wait_members(&client, 2, Duration::from_secs(40)).await;
    b.wait_members(&client, 2, Duration::from_secs(40)).await;
    let old_name = b.cluster(&client).await.unwrap()["name"]
        .as_str()
        .unwrap()
        .to_owned();
    let id = create_silence(&client, &a.web, "kept", "ha-test", ("job", "web"), 1).await;

    drop(b);
    // Same cluster address, new storage directory (index 2), new name.
    let b2 = Replica::start(dir.path(), 2, ports[1], &[addr(0)], &extra);
    let t0 = Instant::now();
    let new_name = eventually(Duration::from_secs(10), || async {
        b2.cluster(&client).await?["name"]
            .as_str()
            .map(str::to_owned)
    })
    .await
    .expect("restarted replica answers");
    let replaced = eventually(Duration::from_secs(10), || async {
        let c = a.cluster(&client).await?;
        let names: Vec<&str> = c["peers"]
            .as_array()?
            .iter()
            .filter_map(|p| p["name"].as_str())
            .collect();
        (names.contains(&new_name.as_str()) && !names.contains(&old_name.as_str())).then_some(())
    })
    .await;
    assert!(
        replaced.is_some(),
        "old {old_name} replaced by {new_name}: {:?}\n{}",
        a.cluster(&client).await,
        a.log_tail()
    );
    eprintln!(
        "restarted replica replaced its predecessor after {:?}",
        t0.elapsed()
    );
    let got = eventually(Duration::from_secs(10), || {
        get_json(&client, format!("{}/api/v2/silence/{id}", b2.web))
    })
    .await;
    assert!(
        got.is_some(),
        "restarted replica got the silence back\n{}",
        b2.log_tail()
    );
    b2.wait_members(&client, 2, Duration::from_secs(20)).await;
}

/// Creates a silence on one replica through the API and returns its id.
async fn create_silence(
    client: &reqwest::Client,
    web: &str,
    comment: &str,
    created_by: &str,
    (name, value): (&str, &str),
    hours: i64,
) -> String {
    let now = chrono::Utc::now();
    let body = serde_json::json!({
        "comment": comment,
        "createdBy": created_by,
        "startsAt": now.to_rfc3339(),
        "endsAt": (now + chrono::Duration::hours(hours)).to_rfc3339(),
        "matchers": [{"name": name, "value": value, "isRegex": false}],
    });
    let r = client
        .post(format!("{web}/api/v2/silences"))
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    serde_json::from_str::<Value>(&r.text().await.unwrap()).unwrap()["silenceID"]
        .as_str()
        .unwrap()
        .to_owned()
}
