//! The TSDB admin API, SIGHUP reloads, ingestion limits and compaction against real
//! processes: answers compared with Debian's Prometheus 2.42, deletions and compactions
//! surviving `kill -9`.

use crate::support::{free_port, require_peer, wait_ready};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use lgtm_proto::Message;
use lgtm_proto::prometheus as pb;

struct Proc(Child);

impl Proc {
    fn pid(&self) -> u32 {
        self.0.id()
    }

    fn kill9(mut self) {
        self.0.kill().expect("kill");
        let _ = self.0.wait();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn ours(data: &std::path::Path, port: u16, extra: &[&str]) -> Proc {
    let child = Command::new(env!("CARGO_BIN_EXE_metrics-tsdb"))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg(format!("--storage.tsdb.path={}", data.display()))
        .arg("--log.level=warn")
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start metrics-tsdb");
    let p = Proc(child);
    wait_ready(&format!("http://127.0.0.1:{port}"), "metrics-tsdb");
    p
}

fn peer(bin: &std::path::Path, dir: &std::path::Path, port: u16, admin: bool) -> Proc {
    let config = dir.join("prometheus.yml");
    std::fs::write(&config, "global:\n  scrape_interval: 1h\n").expect("config");
    let mut cmd = Command::new(bin);
    cmd.arg(format!("--config.file={}", config.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"));
    if admin {
        cmd.arg("--web.enable-admin-api");
    }
    let child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start prometheus");
    let p = Proc(child);
    wait_ready(&format!("http://127.0.0.1:{port}"), "prometheus");
    p
}

/// `(status, body)` of a request; `form` is sent as an urlencoded body.
fn call(method: &str, url: &str, form: Option<&str>) -> (u16, String) {
    let client = reqwest::blocking::Client::new();
    let mut req = client.request(method.parse().expect("method"), url);
    if let Some(body) = form {
        req = req
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body.to_owned());
    }
    let resp = req.send().expect("request");
    let status = resp.status().as_u16();
    (status, resp.text().expect("body"))
}

/// A series to remote-write: its labels and samples.
type WriteSeries<'a> = (&'a [(&'a str, &'a str)], &'a [(i64, f64)]);

fn write_request(series: &[WriteSeries<'_>]) -> Vec<u8> {
    let req = pb::WriteRequest {
        timeseries: series
            .iter()
            .map(|(labels, samples)| pb::TimeSeries {
                labels: labels
                    .iter()
                    .map(|(n, v)| pb::Label {
                        name: (*n).into(),
                        value: (*v).into(),
                    })
                    .collect(),
                samples: samples
                    .iter()
                    .map(|&(t, v)| pb::Sample {
                        value: v,
                        timestamp: t,
                    })
                    .collect(),
                ..Default::default()
            })
            .collect(),
        metadata: vec![],
    };
    snap::raw::Encoder::new()
        .compress_vec(&req.encode_to_vec())
        .expect("snappy")
}

fn remote_write(base: &str, body: Vec<u8>) -> (u16, String) {
    let resp = reqwest::blocking::Client::new()
        .post(format!("{base}/api/v1/write"))
        .header("Content-Type", "application/x-protobuf")
        .header("Content-Encoding", "snappy")
        .header("X-Prometheus-Remote-Write-Version", "0.1.0")
        .body(body)
        .send()
        .expect("write");
    let status = resp.status().as_u16();
    (status, resp.text().expect("body"))
}

#[test]
fn admin_api_answers_like_prometheus_2_42() {
    let Some(prometheus) = require_peer(&["prometheus"]) else {
        return;
    };
    lgtm_common::http_client::client::install_crypto_provider();
    let dir = tempfile::tempdir().expect("tempdir");
    let (p_off, p_on, o_off, o_on) = (free_port(), free_port(), free_port(), free_port());
    std::fs::create_dir_all(dir.path().join("p_off")).expect("dir");
    std::fs::create_dir_all(dir.path().join("p_on")).expect("dir");
    let _peer_off = peer(&prometheus, &dir.path().join("p_off"), p_off, false);
    let _peer_on = peer(&prometheus, &dir.path().join("p_on"), p_on, true);
    let _ours_off = ours(&dir.path().join("o_off"), o_off, &["--config.file="]);
    let ours_on_dir = dir.path().join("o_on");
    let _ours_on = ours(
        &ours_on_dir,
        o_on,
        &["--config.file=", "--web.enable-admin-api"],
    );
    let url = |port: u16, path: &str| format!("http://127.0.0.1:{port}{path}");

    let disabled: &[(&str, &str, Option<&str>)] = &[
        ("POST", "/api/v1/admin/tsdb/delete_series?match[]=up", None),
        ("PUT", "/api/v1/admin/tsdb/delete_series?match[]=up", None),
        ("POST", "/api/v1/admin/tsdb/clean_tombstones", None),
        ("PUT", "/api/v1/admin/tsdb/clean_tombstones", None),
        ("POST", "/api/v1/admin/tsdb/snapshot", None),
    ];
    for (method, path, form) in disabled {
        let theirs = call(method, &url(p_off, path), *form);
        let mine = call(method, &url(o_off, path), *form);
        assert_eq!(
            mine, theirs,
            "{method} {path} without --web.enable-admin-api"
        );
    }
    assert_eq!(
        call(
            "POST",
            &url(o_off, "/api/v1/admin/tsdb/clean_tombstones"),
            None
        )
        .0,
        500,
        "2.42 answers 500 unavailable"
    );

    let enabled: &[(&str, &str, Option<&str>)] = &[
        ("POST", "/api/v1/admin/tsdb/delete_series", None),
        ("POST", "/api/v1/admin/tsdb/delete_series?match[]=up", None),
        (
            "PUT",
            "/api/v1/admin/tsdb/delete_series",
            Some("match[]=up&match[]=%7Bjob%3D%22x%22%7D&start=0&end=100"),
        ),
        (
            "POST",
            "/api/v1/admin/tsdb/delete_series?match[]=up&start=abc",
            None,
        ),
        (
            "POST",
            "/api/v1/admin/tsdb/delete_series?match[]=up&end=abc",
            None,
        ),
        (
            "POST",
            "/api/v1/admin/tsdb/delete_series?match[]=up%7B",
            None,
        ),
        (
            "POST",
            "/api/v1/admin/tsdb/delete_series?match[]=%7Bfoo%3D%22%22%7D",
            None,
        ),
        ("POST", "/api/v1/admin/tsdb/delete_series?match[]=", None),
        ("POST", "/api/v1/admin/tsdb/clean_tombstones", None),
        ("PUT", "/api/v1/admin/tsdb/clean_tombstones", None),
        ("POST", "/api/v1/admin/tsdb/snapshot?skip_head=yes", None),
    ];
    for (method, path, form) in enabled {
        let theirs = call(method, &url(p_on, path), *form);
        let mine = call(method, &url(o_on, path), *form);
        assert_eq!(mine, theirs, "{method} {path} with --web.enable-admin-api");
    }
    assert_eq!(
        call(
            "POST",
            &url(o_on, "/api/v1/admin/tsdb/delete_series?match[]=up"),
            None
        ),
        (204, String::new())
    );
    // GET is not routed for these paths in either.
    let get = "/api/v1/admin/tsdb/delete_series?match[]=up";
    assert_eq!(
        call("GET", &url(o_on, get), None).0,
        call("GET", &url(p_on, get), None).0
    );

    // A snapshot answers its directory name, which exists under <data>/snapshots.
    for (port, skip) in [(p_on, "true"), (o_on, "true"), (o_on, "false")] {
        let (status, body) = call(
            "POST",
            &url(
                port,
                &format!("/api/v1/admin/tsdb/snapshot?skip_head={skip}"),
            ),
            None,
        );
        assert_eq!(status, 200, "{body}");
        let v: serde_json::Value = serde_json::from_str(&body).expect("json");
        assert_eq!(v["status"], "success");
        let name = v["data"]["name"].as_str().expect("name");
        let (time, random) = name.split_once('-').expect("time-random");
        assert_eq!(time.len(), 16, "{name}");
        assert!(time.ends_with('Z') && time.as_bytes()[8] == b'T', "{name}");
        assert_eq!(random.len(), 16, "{name}");
        assert!(random.chars().all(|c| c.is_ascii_hexdigit()), "{name}");
        if port == o_on {
            assert!(ours_on_dir.join("snapshots").join(name).is_dir());
        }
    }
}

#[test]
fn deletions_survive_kill_and_limits_answer_with_mimir_texts() {
    lgtm_common::http_client::client::install_crypto_provider();
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let args = [
        "--config.file=",
        "--web.enable-remote-write-receiver",
        "--web.enable-admin-api",
        "--validation.max-label-names-per-series=3",
        "--ingester.max-global-series-per-user=3",
    ];
    let samples: Vec<(i64, f64)> = (0..60).map(|i| (1_000_000 + i * 1000, i as f64)).collect();
    let server = ours(dir.path(), port, &args);
    let (status, body) = remote_write(
        &base,
        write_request(&[
            (&[("__name__", "m"), ("job", "a")], &samples),
            (&[("__name__", "m"), ("job", "b")], &samples),
        ]),
    );
    assert_eq!(status, 204, "{body}");
    // Too many labels: 400 with Mimir's text; nothing of that series stored.
    let (status, body) = remote_write(
        &base,
        write_request(&[(
            &[("__name__", "m"), ("job", "c"), ("pod", "p"), ("zone", "z")],
            &samples,
        )]),
    );
    assert_eq!(status, 400);
    assert_eq!(
        body.trim_end(),
        "received a series whose number of labels exceeds the limit (actual: 4, limit: 3) series: 'm{job=\"c\", pod=\"p\", zone=\"z\"}' (err-mimir-max-label-names-per-series). To adjust the related per-tenant limit, configure -validation.max-label-names-per-series, or contact your service administrator."
    );
    // Series limit: the third series fits, the fourth does not.
    let (status, _) = remote_write(
        &base,
        write_request(&[(&[("__name__", "m"), ("job", "c")], &samples)]),
    );
    assert_eq!(status, 204);
    let (status, body) = remote_write(
        &base,
        write_request(&[(&[("__name__", "m"), ("job", "d")], &samples)]),
    );
    assert_eq!(status, 400);
    assert_eq!(
        body.trim_end(),
        "per-user series limit of 3 exceeded (err-mimir-max-series-per-user). To adjust the related per-tenant limit, configure -ingester.max-global-series-per-user, or contact your service administrator."
    );

    // Delete job="a" between 1010 s and 1029 s.
    let (status, body) = call(
        "POST",
        &format!("{base}/api/v1/admin/tsdb/delete_series"),
        Some("match[]=m%7Bjob%3D%22a%22%7D&start=1010&end=1029"),
    );
    assert_eq!((status, body.as_str()), (204, ""));
    let count = |base: &str, job: &str| -> serde_json::Value {
        let (status, body) = call(
            "GET",
            &format!(
                "{base}/api/v1/query?query=count_over_time(m%7Bjob%3D%22{job}%22%7D%5B2m%5D)&time=1060"
            ),
            None,
        );
        assert_eq!(status, 200, "{body}");
        let v: serde_json::Value = serde_json::from_str(&body).expect("json");
        v["data"]["result"][0]["value"][1].clone()
    };
    assert_eq!(count(&base, "a"), "40");
    assert_eq!(count(&base, "b"), "60");
    let (_, metrics) = call("GET", &format!("{base}/metrics"), None);
    for name in [
        "prometheus_tsdb_compactions_total 0",
        "prometheus_tsdb_size_retentions_total 0",
        "prometheus_tsdb_blocks_loaded 0",
    ] {
        assert!(metrics.contains(name), "{name} missing from /metrics");
    }
    server.kill9();
    let server = ours(dir.path(), port, &args);
    assert_eq!(count(&base, "a"), "40", "the deletion survived kill -9");
    assert_eq!(count(&base, "b"), "60");
    drop(server);
}

#[test]
fn sighup_reloads_the_configuration() {
    lgtm_common::http_client::client::install_crypto_provider();
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("prometheus.yml");
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    std::fs::write(
        &config,
        "scrape_configs:\n  - job_name: first\n    static_configs:\n      - targets: ['127.0.0.1:1']\n",
    )
    .expect("config");
    let server = ours(
        &dir.path().join("data"),
        port,
        &[&format!("--config.file={}", config.display())],
    );
    let pools = || call("GET", &format!("{base}/api/v1/scrape_pools"), None).1;
    assert!(pools().contains("\"first\""), "{}", pools());
    std::fs::write(
        &config,
        "scrape_configs:\n  - job_name: second\n    static_configs:\n      - targets: ['127.0.0.1:1']\n",
    )
    .expect("config");
    // Without --web.enable-lifecycle the HTTP reload is refused, SIGHUP still works.
    assert_eq!(call("POST", &format!("{base}/-/reload"), None).0, 403);
    let status = Command::new("kill")
        .args(["-HUP", &server.pid().to_string()])
        .status()
        .expect("kill -HUP");
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    while !pools().contains("\"second\"") {
        assert!(Instant::now() < deadline, "not reloaded: {}", pools());
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(!pools().contains("\"first\""));
    // A broken file keeps the running configuration and reports the failure.
    std::fs::write(&config, "scrape_configs: [").expect("config");
    Command::new("kill")
        .args(["-HUP", &server.pid().to_string()])
        .status()
        .expect("kill -HUP");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (_, body) = call("GET", &format!("{base}/api/v1/status/runtimeinfo"), None);
        if body.contains("\"reloadConfigSuccess\":false") {
            break;
        }
        assert!(Instant::now() < deadline, "{body}");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(pools().contains("\"second\""));
}

/// Ten series written in acknowledged batches while blocks are cut and compacted every few
/// seconds (10 s blocks), the server killed with SIGKILL at random moments in between: after
/// the last restart every acknowledged sample reads back exactly once and the blocks settle
/// into non-overlapping, compacted ranges.
#[test]
fn acknowledged_samples_survive_kill_minus_nine_during_compaction() {
    lgtm_common::http_client::client::install_crypto_provider();
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let args = [
        "--config.file=",
        "--web.enable-remote-write-receiver",
        "--storage.tsdb.min-block-duration=10s",
        "--storage.tsdb.retention.time=1d",
    ];
    let jobs: Vec<String> = (0..10).map(|i| format!("j{i}")).collect();
    let mut t = 0i64; // next timestamp, seconds
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    for _round in 0..5 {
        let server = ours(dir.path(), port, &args);
        for _batch in 0..8 {
            let samples: Vec<(i64, f64)> = (t..t + 5).map(|s| (s * 1000, s as f64)).collect();
            let labels: Vec<[(&str, &str); 2]> = jobs
                .iter()
                .map(|j| [("__name__", "compacted"), ("job", j.as_str())])
                .collect();
            let series: Vec<WriteSeries<'_>> = labels
                .iter()
                .map(|l| (&l[..], samples.as_slice()))
                .collect();
            let (status, body) = remote_write(&base, write_request(&series));
            assert_eq!(status, 204, "{body}");
            t += 5;
        }
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        std::thread::sleep(Duration::from_millis(seed % 2500));
        server.kill9();
    }
    let _server = ours(dir.path(), port, &args);
    let query = |q: &str| -> serde_json::Value {
        let q: String = url::form_urlencoded::byte_serialize(q.as_bytes()).collect();
        let (status, body) = call(
            "GET",
            &format!("{base}/api/v1/query?query={q}&time={t}"),
            None,
        );
        assert_eq!(status, 200, "{body}");
        serde_json::from_str(&body).expect("json")
    };
    let counts = query("count_over_time(compacted[1h])");
    let results = counts["data"]["result"].as_array().expect("vector");
    assert_eq!(results.len(), 10);
    for r in results {
        assert_eq!(r["value"][1], t.to_string(), "{r}");
    }
    let sums = query("sum_over_time(compacted[1h])");
    let expected: i64 = (0..t).sum();
    for r in sums["data"]["result"].as_array().expect("vector") {
        assert_eq!(r["value"][1], expected.to_string(), "{r}");
    }
    // Within a few maintenance passes the blocks are disjoint and some are compacted.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let mut ranges: Vec<(i64, i64, u64)> = std::fs::read_dir(dir.path().join("blocks"))
            .expect("blocks")
            .filter_map(Result::ok)
            .filter_map(|e| std::fs::read(e.path().join("meta.json")).ok())
            .map(|bytes| {
                let v: serde_json::Value = serde_json::from_slice(&bytes).expect("meta");
                (
                    v["minTime"].as_i64().expect("minTime"),
                    v["maxTime"].as_i64().expect("maxTime"),
                    v["compaction"]["level"].as_u64().expect("level"),
                )
            })
            .collect();
        ranges.sort();
        let disjoint = ranges.windows(2).all(|w| w[0].1 <= w[1].0);
        if disjoint && ranges.iter().any(|r| r.2 >= 2) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "blocks did not settle: {ranges:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let again = query("count_over_time(compacted[1h])");
    assert_eq!(again["data"]["result"], counts["data"]["result"]);
}
