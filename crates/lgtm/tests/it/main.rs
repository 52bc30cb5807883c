//! The all-in-one binary: one process, one config, every built component answering, and a
//! clean stop on SIGTERM.

use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

fn get(url: &str) -> Option<(u16, String)> {
    let resp = reqwest::blocking::get(url).ok()?;
    let status = resp.status().as_u16();
    Some((status, resp.text().ok()?))
}

fn wait_ok(url: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some((200, body)) = get(url) {
            return body;
        }
        assert!(Instant::now() < deadline, "{url} never answered 200");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn one_process_runs_every_component_and_stops_on_sigterm() {
    lgtm_common::http_client::client::install_crypto_provider();
    let dir = tempfile::tempdir().expect("tempdir");
    let (metrics, alerts, logs) = (free_port(), free_port(), free_port());
    let config = dir.path().join("lgtm.yaml");
    std::fs::write(
        &config,
        format!(
            "metrics_tsdb:\n  args: ['--web.listen-address=127.0.0.1:{metrics}']\nalert_router:\n  args: ['--web.listen-address=127.0.0.1:{alerts}']\nlog_store:\n  args: ['-server.http-listen-port={logs}']\n"
        ),
    )
    .expect("config");
    let mut child = Command::new(env!("CARGO_BIN_EXE_lgtm"))
        .arg(format!("-config.file={}", config.display()))
        .arg(format!("-data.dir={}", dir.path().join("data").display()))
        .arg("-log.level=warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start lgtm");

    assert_eq!(
        wait_ok(&format!("http://127.0.0.1:{metrics}/-/ready")),
        "Prometheus Server is Ready.\n"
    );
    let status = wait_ok(&format!("http://127.0.0.1:{alerts}/api/v2/status"));
    assert!(status.contains("\"config\""), "{status}");
    // The embedded default Alertmanager configuration was written and loaded.
    assert!(dir.path().join("data/alertmanager.yml").is_file());
    let (_, body) = get(&format!(
        "http://127.0.0.1:{metrics}/api/v1/query?query=1%2B1&time=4"
    ))
    .expect("query");
    assert_eq!(
        body,
        r#"{"status":"success","data":{"resultType":"scalar","result":[4,"2"]}}"#
    );
    let client = reqwest::blocking::Client::new();
    let posted = client
        .post(format!("http://127.0.0.1:{alerts}/api/v2/alerts"))
        .header("content-type", "application/json")
        .body(r#"[{"labels":{"alertname":"NodeMemoryPressure","node":"n1"}}]"#)
        .send()
        .expect("post alert");
    assert_eq!(posted.status().as_u16(), 200);
    let listed = wait_ok(&format!("http://127.0.0.1:{alerts}/api/v2/alerts"));
    assert!(listed.contains("NodeMemoryPressure"), "{listed}");
    assert!(dir.path().join("data/metrics/wal").is_dir());
    // Loki's push API and query API answer on the log-store port (single tenant by default).
    assert_eq!(
        wait_ok(&format!("http://127.0.0.1:{logs}/ready")),
        "ready\n"
    );
    let now_ns = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_nanos();
    let pushed = client
        .post(format!("http://127.0.0.1:{logs}/loki/api/v1/push"))
        .header("content-type", "application/json")
        .body(format!(
            r#"{{"streams":[{{"stream":{{"app":"checkout"}},"values":[["{now_ns}","payment failed trace_id=4bf92f35"]]}}]}}"#
        ))
        .send()
        .expect("push");
    assert_eq!(pushed.status().as_u16(), 204);
    let logs_body = wait_ok(&format!(
        "http://127.0.0.1:{logs}/loki/api/v1/query_range?query=%7Bapp%3D%22checkout%22%7D%20%7C%3D%20%22failed%22"
    ));
    assert!(
        logs_body.contains("payment failed trace_id=4bf92f35"),
        "{logs_body}"
    );

    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill")
            .success()
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            assert!(status.success(), "lgtm exited with {status}");
            break;
        }
        assert!(Instant::now() < deadline, "lgtm did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(100));
    }
}
