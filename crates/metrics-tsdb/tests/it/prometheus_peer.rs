//! Debian's real Prometheus 2.42 as a peer: it scrapes a target and remote-writes into
//! `metrics-tsdb`; every sample it stored reads back identically from us, and `promtool query`
//! prints the same answers against both servers.

use crate::support::{free_port, require_peer};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use lgtm_common::http::CancellationToken;
use metrics_tsdb::server::{Config, start};

/// The peer binaries, or `None` (a skip) when they are missing and peers are optional.
fn peers() -> Option<(std::path::PathBuf, std::path::PathBuf)> {
    Some((require_peer(&["prometheus"])?, require_peer(&["promtool"])?))
}

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn json(client: &reqwest::Client, url: &str) -> serde_json::Value {
    client
        .get(url)
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json")
}

/// Raw samples of every `up`/`prometheus_*` series in `[from, to]` (seconds), as `(labels, [(t, v)])`.
async fn raw_samples(
    client: &reqwest::Client,
    base: &str,
    selector: &str,
    at: f64,
) -> Vec<(String, Vec<(String, String)>)> {
    let q: String =
        url::form_urlencoded::byte_serialize(format!("{selector}[1h]").as_bytes()).collect();
    let v = json(client, &format!("{base}/api/v1/query?query={q}&time={at}")).await;
    let mut out: Vec<(String, Vec<(String, String)>)> = v["data"]["result"]
        .as_array()
        .expect("matrix")
        .iter()
        .map(|s| {
            let values = s["values"]
                .as_array()
                .expect("values")
                .iter()
                .map(|p| (p[0].to_string(), p[1].as_str().expect("value").to_owned()))
                .collect();
            (s["metric"].to_string(), values)
        })
        .collect();
    out.sort();
    out
}

fn promtool(tool: &std::path::Path, args: &[&str]) -> String {
    let out = Command::new(tool).args(args).output().expect("promtool");
    assert!(
        out.status.success(),
        "promtool {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf8")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_remote_writes_into_us_and_promtool_agrees() {
    let Some((prometheus, tool)) = peers() else {
        return;
    };
    lgtm_common::http_client::client::install_crypto_provider();
    let dir = tempfile::tempdir().expect("tempdir");
    let shutdown = CancellationToken::new();
    let ours = start(
        Config::from_args([
            "--config.file=".to_owned(),
            format!("--storage.tsdb.path={}", dir.path().join("ours").display()),
            "--web.listen-address=127.0.0.1:0".to_owned(),
            "--web.enable-remote-write-receiver".to_owned(),
        ])
        .expect("flags"),
        shutdown.clone(),
    )
    .await
    .expect("start ours");
    let ours_url = format!("http://{}", ours.addr);
    let peer_port = free_port();
    let peer_url = format!("http://127.0.0.1:{peer_port}");
    let config = dir.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: self\n    static_configs:\n      - targets: ['127.0.0.1:{peer_port}']\nremote_write:\n  - url: {ours_url}/api/v1/write\n    queue_config:\n      batch_send_deadline: 500ms\n      max_samples_per_send: 5000\n"
        ),
    )
    .expect("config");
    let _peer = Killed(
        Command::new(prometheus)
            .arg(format!("--config.file={}", config.display()))
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
    let client = reqwest::Client::new();
    // Wait until a few scrapes went through both.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let v = json(
            &client,
            &format!("{ours_url}/api/v1/query?query=count_over_time(up%5B1h%5D)"),
        )
        .await;
        if v["data"]["result"][0]["value"][1]
            .as_str()
            .and_then(|s| s.parse::<f64>().ok())
            .is_some_and(|n| n >= 5.0)
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no samples arrived from prometheus: {v}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    // Compare at a time both have fully: before the newest `up` sample we hold. Half a scrape
    // off the sample grid, so no sample sits on a range boundary: there Prometheus 2.42
    // (closed ranges) and 3.x (left-open ranges, which we follow) differ by design.
    let v = json(
        &client,
        &format!("{ours_url}/api/v1/query?query=timestamp(up)"),
    )
    .await;
    let newest: f64 = v["data"]["result"][0]["value"][1]
        .as_str()
        .expect("ts")
        .parse()
        .expect("f64");
    let at = newest - 1.5;

    for selector in [
        "up",
        "scrape_samples_scraped",
        "prometheus_http_requests_total",
        "go_goroutines",
    ] {
        let theirs = raw_samples(&client, &peer_url, selector, at).await;
        let ours_samples = raw_samples(&client, &ours_url, selector, at).await;
        assert!(!theirs.is_empty(), "{selector}: prometheus has no data");
        assert_eq!(ours_samples, theirs, "{selector}: samples differ");
    }

    let at_s = format!("{at}");
    for args in [
        vec!["query", "instant", "--time", &at_s, "SERVER", "up"],
        // rate() extrapolation of young counters differs between 2.42 and 3.x by design
        // (3.x applies the zero-point limit after the boundary threshold); these agree.
        vec![
            "query",
            "instant",
            "--time",
            &at_s,
            "SERVER",
            "sum by (job, code) (prometheus_http_requests_total)",
        ],
        vec![
            "query",
            "instant",
            "--time",
            &at_s,
            "SERVER",
            "max_over_time(scrape_duration_seconds[10s]) > 0",
        ],
        vec![
            "query",
            "instant",
            "--time",
            &at_s,
            "SERVER",
            "count by (__name__) ({job=\"self\", __name__=~\"go_.*\"})",
        ],
        vec!["query", "series", "--match", "up", "SERVER"],
        vec!["query", "labels", "SERVER", "job"],
    ] {
        let run = |server: &str| {
            let argv: Vec<&str> = args
                .iter()
                .map(|a| if *a == "SERVER" { server } else { a })
                .collect();
            promtool(&tool, &argv)
        };
        assert_eq!(run(&ours_url), run(&peer_url), "promtool {args:?}");
    }
    let start_s = format!("{}", at - 5.0);
    let range = |server: &str| {
        promtool(
            &tool,
            &[
                "query", "range", "--start", &start_s, "--end", &at_s, "--step", "1s", server, "up",
            ],
        )
    };
    assert_eq!(range(&ours_url), range(&peer_url), "promtool query range");
    shutdown.cancel();
}
