//! The Alertmanager API workloads: alert ingestion, notification latency after `group_wait`,
//! and listing every alert.
//!
//! ```text
//! lgtm-bench alerts --url http://127.0.0.1:9093 --sink 127.0.0.1:9099 --mode post \
//!     [--alerts 200000] [--batch 100] [--concurrency 4] [--pid <server pid>]
//! lgtm-bench alerts --url ... --sink ... --mode notify [--groups 1000] [--per-group 10] \
//!     [--group-wait-ms 1000]
//! lgtm-bench alerts --url ... --sink ... --mode get [--alerts 30000] [--runs 20] [--pid ...]
//! ```
//!
//! Every mode runs an embedded webhook sink on `--sink` (the target's config points its webhook
//! receiver there, see `benches/compare-alerts.sh`): it stores the arrival instant and the raw
//! body and answers 200 at once, so the sink costs microseconds per notification and the
//! latency measured is the target's. Alerts are grouped by their `group` label; each mode uses
//! its own group names so a fresh target per mode gives comparable figures.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use axum::body::Bytes;
use lgtm_common::http_client::client::reqwest;

use crate::Args;
use crate::remote_write::proc_usage;

/// Webhook notifications as they arrived: arrival instant and raw body.
type Arrivals = Arc<Mutex<Vec<(Instant, Bytes)>>>;

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// One alert of the `postableAlerts` body: `startsAt`/`endsAt` left out so the target stamps
/// them (startsAt = receipt, endsAt = receipt + resolve_timeout), as Prometheus-less senders do.
fn alert_json(mode: &str, group: usize, index: usize) -> String {
    format!(
        concat!(
            r#"{{"labels":{{"alertname":"BenchAlert{mode}","group":"{mode}-{group}","instance":"host-{index}:9100","#,
            r#""job":"node","severity":"{severity}","bench":"{mode}"}},"#,
            r#""annotations":{{"summary":"instance host-{index} of group {group} is down","#,
            r#""runbook_url":"https://runbooks.example.org/bench"}},"#,
            r#""generatorURL":"http://prometheus.example.org/graph?g0.expr=up%3D%3D0"}}"#
        ),
        mode = mode,
        group = group,
        index = index,
        severity = if index.is_multiple_of(3) {
            "critical"
        } else {
            "warning"
        },
    )
}

/// Serialises `alerts` (group, index) pairs into JSON array bodies of `batch` alerts each.
fn bodies(mode: &str, alerts: &[(usize, usize)], batch: usize) -> Vec<(Vec<usize>, String)> {
    alerts
        .chunks(batch.max(1))
        .map(|chunk| {
            let parts: Vec<String> = chunk.iter().map(|&(g, i)| alert_json(mode, g, i)).collect();
            let groups = chunk.iter().map(|&(g, _)| g).collect();
            (groups, format!("[{}]", parts.join(",")))
        })
        .collect()
}

/// Starts the webhook sink on `addr`; every POST is recorded and answered 200 with no body.
async fn start_sink(addr: &str) -> Result<Arrivals> {
    let arrivals: Arrivals = Arc::new(Mutex::new(Vec::with_capacity(4096)));
    let recorder = Arc::clone(&arrivals);
    let app = axum::Router::new().fallback(move |body: Bytes| {
        let recorder = Arc::clone(&recorder);
        async move {
            let now = Instant::now();
            recorder
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push((now, body));
            ""
        }
    });
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding the webhook sink on {addr}"))?;
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            eprintln!("webhook sink stopped: {e}");
        }
    });
    Ok(arrivals)
}

/// Posts the bodies with `concurrency` requests in flight; returns each body's send instant.
async fn post_all(
    client: &reqwest::Client,
    url: &str,
    bodies: Vec<(Vec<usize>, String)>,
    concurrency: usize,
) -> Result<Vec<(Vec<usize>, Instant)>> {
    let semaphore = Arc::new(tokio::sync::Semaphore::new(concurrency.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    for (groups, body) in bodies {
        let permit = semaphore.clone().acquire_owned().await?;
        let client = client.clone();
        let url = url.to_owned();
        tasks.spawn(async move {
            let _permit = permit;
            let sent = Instant::now();
            let response = client
                .post(&url)
                .header("Content-Type", "application/json")
                .body(body)
                .timeout(Duration::from_secs(60))
                .send()
                .await?;
            if !response.status().is_success() {
                bail!(
                    "{url} answered {}: {}",
                    response.status(),
                    response.text().await.unwrap_or_default()
                );
            }
            Ok((groups, sent))
        });
    }
    let mut out = Vec::new();
    while let Some(result) = tasks.join_next().await {
        out.push(result??);
    }
    Ok(out)
}

pub(crate) async fn run(args: &Args) -> Result<()> {
    let base = args.required("url")?.trim_end_matches('/').to_owned();
    let sink = args.required("sink")?;
    let mode = args.get("mode").unwrap_or("post");
    let pid: Option<u32> = args.get("pid").map(str::parse).transpose()?;
    let arrivals = start_sink(sink).await?;
    let client = reqwest::Client::new();
    let url = format!("{base}/api/v2/alerts");
    match mode {
        "post" => post(args, &client, &url, pid).await,
        "notify" => notify(args, &client, &url, &arrivals).await,
        "get" => get(args, &client, &url, pid).await,
        other => bail!("unknown --mode {other:?} (post, notify, get)"),
    }
}

/// Ingestion: `--alerts` distinct alerts in 1k groups, `--batch` per request, as fast as the
/// target accepts them.
async fn post(args: &Args, client: &reqwest::Client, url: &str, pid: Option<u32>) -> Result<()> {
    let total: usize = args.number("alerts", 200_000)?;
    let batch: usize = args.number("batch", 100)?;
    let concurrency: usize = args.number("concurrency", 4)?;
    let groups: usize = args.number("groups", 1000)?;
    let alerts: Vec<(usize, usize)> = (0..total).map(|i| (i % groups.max(1), i)).collect();
    let bodies = bodies("post", &alerts, batch);
    let requests = bodies.len();
    let before = pid.and_then(proc_usage);
    let started = Instant::now();
    post_all(client, url, bodies, concurrency).await?;
    let elapsed = started.elapsed().as_secs_f64();
    println!(
        "mode=post alerts={total} batch={batch} requests={requests} concurrency={concurrency} seconds={elapsed:.3} alerts_per_second={:.0}",
        total as f64 / elapsed
    );
    if let (Some((cpu0, _, _)), Some((cpu1, rss, peak))) = (before, pid.and_then(proc_usage)) {
        let cpu = cpu1 - cpu0;
        println!(
            "target_cpu_seconds={cpu:.2} alerts_per_cpu_second={:.0} rss_bytes={rss} peak_rss_bytes={peak}",
            total as f64 / cpu.max(1e-9)
        );
    }
    Ok(())
}

/// Notification latency: `--groups` x `--per-group` alerts, each batch of `--batch` holding
/// whole groups; latency of a group = webhook arrival − (send of its first alert + group_wait).
async fn notify(
    args: &Args,
    client: &reqwest::Client,
    url: &str,
    arrivals: &Arrivals,
) -> Result<()> {
    let groups: usize = args.number("groups", 1000)?;
    let per_group: usize = args.number("per-group", 10)?;
    let batch: usize = args.number("batch", 100)?;
    let concurrency: usize = args.number("concurrency", 4)?;
    let group_wait = Duration::from_millis(args.number("group-wait-ms", 1000)?);
    let timeout = Duration::from_secs(args.number("timeout-s", 60)?);
    let alerts: Vec<(usize, usize)> = (0..groups * per_group)
        .map(|i| (i / per_group, i))
        .collect();
    let bodies = bodies("notify", &alerts, batch);
    let started = Instant::now();
    let sent = post_all(client, url, bodies, concurrency).await?;
    let post_seconds = started.elapsed().as_secs_f64();
    let mut first_post: Vec<Option<Instant>> = vec![None; groups];
    for (batch_groups, at) in &sent {
        for &g in batch_groups {
            let slot = &mut first_post[g];
            if slot.is_none_or(|t| *at < t) {
                *slot = Some(*at);
            }
        }
    }
    // Wait for one notification per group (or the timeout), then a little longer for strays.
    let wanted = groups;
    let deadline = Instant::now() + group_wait + timeout;
    let mut seen = std::collections::HashMap::<usize, (Instant, usize)>::new();
    let mut parsed = 0;
    loop {
        let snapshot: Vec<(Instant, Bytes)> = {
            let guard = arrivals.lock().unwrap_or_else(PoisonError::into_inner);
            guard[parsed..].to_vec()
        };
        parsed += snapshot.len();
        for (at, body) in snapshot {
            let value: serde_json::Value = serde_json::from_slice(&body).context("webhook body")?;
            let Some(group) = value["groupLabels"]["group"].as_str() else {
                continue;
            };
            let Some(index) = group
                .strip_prefix("notify-")
                .and_then(|g| g.parse::<usize>().ok())
            else {
                continue;
            };
            let count = value["alerts"].as_array().map_or(0, Vec::len);
            let entry = seen.entry(index).or_insert((at, 0));
            entry.0 = entry.0.min(at);
            entry.1 += count;
        }
        if seen.len() >= wanted || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut latencies: Vec<f64> = Vec::with_capacity(seen.len());
    let mut alerts_notified = 0;
    for (group, (at, count)) in &seen {
        alerts_notified += count;
        if let Some(Some(first)) = first_post.get(*group) {
            let due = *first + group_wait;
            let ms = if at >= &due {
                at.duration_since(due).as_secs_f64() * 1000.0
            } else {
                -(due.duration_since(*at).as_secs_f64() * 1000.0)
            };
            latencies.push(ms);
        }
    }
    latencies.sort_by(f64::total_cmp);
    println!(
        "mode=notify groups={groups} alerts={} post_seconds={post_seconds:.3} groups_notified={} alerts_notified={alerts_notified} webhook_posts={parsed}",
        groups * per_group,
        seen.len()
    );
    println!(
        "latency_past_group_wait_ms p50={:.1} p90={:.1} p99={:.1} max={:.1} min={:.1}",
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.9),
        percentile(&latencies, 0.99),
        latencies.last().copied().unwrap_or(0.0),
        latencies.first().copied().unwrap_or(0.0),
    );
    if seen.len() < wanted {
        bail!(
            "only {} of {wanted} groups were notified within {timeout:?} after group_wait",
            seen.len()
        );
    }
    Ok(())
}

/// Listing: `--alerts` alerts loaded, then `GET /api/v2/alerts` `--runs` times, each timed
/// until the whole body is read.
async fn get(args: &Args, client: &reqwest::Client, url: &str, pid: Option<u32>) -> Result<()> {
    let total: usize = args.number("alerts", 30_000)?;
    let runs: usize = args.number("runs", 20)?;
    let groups: usize = args.number("groups", 1000)?;
    let settle = Duration::from_millis(args.number("settle-ms", 3000)?);
    let alerts: Vec<(usize, usize)> = (0..total).map(|i| (i % groups.max(1), i)).collect();
    post_all(client, url, bodies("get", &alerts, 100), 4).await?;
    // Let the first group_wait notifications go out so they do not overlap the timed GETs.
    tokio::time::sleep(settle).await;
    let mut latencies = Vec::with_capacity(runs);
    let mut bytes = 0usize;
    let before = pid.and_then(proc_usage);
    let mut returned = 0usize;
    for run in 0..runs {
        let started = Instant::now();
        let response = client
            .get(url)
            .timeout(Duration::from_secs(120))
            .send()
            .await?;
        if !response.status().is_success() {
            bail!("{url} answered {}", response.status());
        }
        let body = response.bytes().await?;
        latencies.push(started.elapsed().as_secs_f64() * 1000.0);
        bytes = body.len();
        if run == 0 {
            let value: serde_json::Value = serde_json::from_slice(&body).context("alerts body")?;
            returned = value.as_array().map_or(0, Vec::len);
        }
    }
    let cpu = match (before, pid.and_then(proc_usage)) {
        (Some((cpu0, _, _)), Some((cpu1, _, _))) => format!(
            " target_cpu_ms_per_get={:.1}",
            (cpu1 - cpu0) * 1000.0 / runs.max(1) as f64
        ),
        _ => String::new(),
    };
    latencies.sort_by(f64::total_cmp);
    println!(
        "mode=get alerts={total} returned={returned} body_bytes={bytes} runs={runs} median_ms={:.1} p99_ms={:.1} min_ms={:.1}{cpu}",
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        latencies.first().copied().unwrap_or(0.0),
    );
    if returned != total {
        bail!("expected {total} alerts back, got {returned}");
    }
    Ok(())
}
