//! `kill -9` during remote-write ingestion: every sample acknowledged before the kill is
//! queryable after a restart.

use crate::support::{free_port, wait_ready};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use lgtm_proto::Message;
use lgtm_proto::prometheus as pb;

struct Server {
    child: Child,
    base: String,
}

impl Server {
    fn start(data: &std::path::Path, port: u16) -> Server {
        let child = Command::new(env!("CARGO_BIN_EXE_metrics-tsdb"))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg(format!("--storage.tsdb.path={}", data.display()))
            .arg("--config.file=")
            .arg("--web.enable-remote-write-receiver")
            .arg("--log.level=warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start metrics-tsdb");
        let server = Server {
            child,
            base: format!("http://127.0.0.1:{port}"),
        };
        wait_ready(&server.base, "metrics-tsdb");
        server
    }

    fn kill9(mut self) {
        // SIGKILL: no graceful shutdown, no final fsync.
        self.child.kill().expect("kill");
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn batch(series: usize, t: i64) -> Vec<u8> {
    let req = pb::WriteRequest {
        timeseries: (0..series)
            .map(|i| pb::TimeSeries {
                labels: vec![
                    pb::Label {
                        name: "__name__".into(),
                        value: "crash_test".into(),
                    },
                    pb::Label {
                        name: "series".into(),
                        value: i.to_string(),
                    },
                ],
                samples: vec![pb::Sample {
                    value: t as f64 + i as f64 / 1000.0,
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

#[test]
fn acknowledged_samples_survive_kill_minus_nine() {
    // reqwest is built without a default TLS provider; plain HTTP still needs one installed.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let server = Server::start(dir.path(), port);
    let client = reqwest::blocking::Client::new();
    const SERIES: usize = 50;
    let mut acked: Vec<i64> = Vec::new();
    // A writer thread keeps sending while the main thread kills the server.
    let writer = {
        let base = server.base.clone();
        std::thread::spawn(move || {
            let client = reqwest::blocking::Client::new();
            let mut acked = Vec::new();
            for step in 0..100_000i64 {
                let t = 1_000_000 + step * 1000;
                let resp = client
                    .post(format!("{base}/api/v1/write"))
                    .header("Content-Type", "application/x-protobuf")
                    .header("Content-Encoding", "snappy")
                    .header("X-Prometheus-Remote-Write-Version", "0.1.0")
                    .body(batch(SERIES, t))
                    .send();
                match resp {
                    Ok(r) if r.status().as_u16() == 204 => acked.push(t),
                    _ => break,
                }
            }
            acked
        })
    };
    std::thread::sleep(Duration::from_millis(1500));
    server.kill9();
    acked.extend(writer.join().expect("writer"));
    assert!(
        acked.len() > 10,
        "too few batches acknowledged: {}",
        acked.len()
    );

    let server = Server::start(dir.path(), port);
    let last = *acked.last().expect("acked");
    let first = acked[0];
    let resp: serde_json::Value = client
        .get(format!(
            "{}/api/v1/query_range?query=count_over_time(crash_test[1s])&start={}&end={}&step=1",
            server.base,
            first as f64 / 1000.0,
            last as f64 / 1000.0
        ))
        .send()
        .expect("query")
        .json()
        .expect("json");
    let result = resp["data"]["result"].as_array().expect("result");
    assert_eq!(result.len(), SERIES, "{resp}");
    for series in result {
        let values = series["values"].as_array().expect("values");
        // One sample per acknowledged second, each counted once.
        let present: Vec<i64> = values
            .iter()
            .map(|v| (v[0].as_f64().expect("ts") * 1000.0).round() as i64)
            .collect();
        for t in &acked {
            assert!(
                present.contains(t),
                "acknowledged sample at {t} lost for {}",
                series["metric"]
            );
        }
    }
}
