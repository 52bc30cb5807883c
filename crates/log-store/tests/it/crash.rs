//! `kill -9` during ingestion loses no acknowledged line: the binary is started, fed
//! batches, killed with SIGKILL, restarted, and every acknowledged entry is read back.
//! A flushed head is read back from the blocks after a restart too.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use crate::http_client::request;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start(config: &std::path::Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_log-store"))
        .arg(format!("-config.file={}", config.display()))
        .arg("-log.level=warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

async fn wait_ready(addr: &str) {
    for _ in 0..200 {
        if let Ok((200, _)) = request(addr, "GET", "/ready", &[], b"").await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("log-store did not become ready");
}

async fn count(addr: &str, start: i64, end: i64) -> usize {
    let path = format!(
        "/loki/api/v1/query_range?query=%7Bapp%3D%22crash%22%7D&start={start}&end={end}&limit=5000"
    );
    let (status, body) = request(addr, "GET", &path, &[], b"").await.unwrap();
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let v: Value = serde_json::from_slice(&body).unwrap();
    v["data"]["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["values"].as_array().unwrap().len())
        .sum()
}

#[tokio::test]
async fn kill_9_loses_no_acknowledged_entry_and_blocks_survive_restart() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let config = dir.path().join("loki.yaml");
    std::fs::write(
        &config,
        format!(
            "auth_enabled: false\nserver:\n  http_listen_port: {port}\n  http_listen_address: 127.0.0.1\ncommon:\n  path_prefix: {}\nschema_config:\n  configs: []\n",
            dir.path().display()
        ),
    )
    .unwrap();
    let mut child = start(&config);
    wait_ready(&addr).await;
    // The built-in probe for images without curl.
    let probe = Command::new(env!("CARGO_BIN_EXE_log-store"))
        .arg("-health")
        .arg(format!("-health.url=http://{addr}/ready"))
        .output()
        .unwrap();
    assert!(probe.status.success());
    assert_eq!(String::from_utf8_lossy(&probe.stderr), "Loki is healthy\n");
    let base = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as i64
        - 60_000_000_000;
    let mut acked = 0usize;
    for batch in 0..20i64 {
        let values: Vec<Value> = (0..50i64)
            .map(|i| {
                json!([
                    (base + batch * 1000 + i).to_string(),
                    format!("batch {batch} entry {i}")
                ])
            })
            .collect();
        let body = json!({"streams":[{"stream":{"app":"crash"},"values":values}]}).to_string();
        let (status, _) = request(
            &addr,
            "POST",
            "/loki/api/v1/push",
            &[("Content-Type", "application/json")],
            body.as_bytes(),
        )
        .await
        .unwrap();
        assert_eq!(status, 204);
        acked += 50;
        if batch == 9 {
            // Half the data goes to a block before the crash.
            let (status, _) = request(&addr, "POST", "/flush", &[], b"").await.unwrap();
            assert_eq!(status, 204);
        }
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let mut child = start(&config);
    wait_ready(&addr).await;
    assert_eq!(count(&addr, base, base + 1_000_000).await, acked);
    child.kill().unwrap();
    child.wait().unwrap();
}
