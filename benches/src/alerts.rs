//! The Alertmanager API workloads: alert ingestion, notification latency after `group_wait`,
//! and listing every alert.
//!
//! ```text
//! lgtm-bench alerts --url http://127.0.0.1:9093 --sink 127.0.0.1:9099 --mode post \
//!     [--alerts 200000] [--batch 100] [--concurrency 4] [--pid <server pid>]
//! lgtm-bench alerts --url ... --sink ... --mode notify [--groups 1000] [--per-group 10] \
//!     [--group-wait-ms 1000] [--pid <server pid>]
//! lgtm-bench alerts --url ... --sink ... --mode get [--alerts 30000] [--runs 20] [--pid ...]
//! ```
//!
//! Every mode runs an embedded webhook sink on `--sink` (the target's config points its webhook
//! receiver there, see `benches/compare-alerts.sh`): it stores the arrival instant (monotonic
//! and wall clock) and the raw body and answers 200 at once, so the sink costs microseconds per
//! notification and the latency measured is the target's. Bodies are parsed only after the
//! last notification arrived, so the benchmark takes no CPU from the target during the burst.
//! Alerts are grouped by their `group` label; each mode uses its own group names so a fresh
//! target per mode gives comparable figures.
//!
//! Notification latency "past `group_wait`" is measured per group from the moment its
//! `group_wait` expires. Both Alertmanager and alert-router start a group's timer when the
//! group is created, right after the API stamped the alerts' `startsAt` with its receipt time
//! (the bench leaves `startsAt` out), so the group is due at `min(startsAt) + group_wait`,
//! read from the notification itself; latency = sink arrival (wall clock, same host) − that.
//! Whatever the server spends between stamping and arming the timer counts against it.
//! The older client-side figure (arrival − (send of the batch + `group_wait`)) is printed too:
//! it also charges the request's transfer and queueing, so it favours the faster ingester.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use axum::body::Bytes;
use lgtm_common::http_client::client::reqwest;

use crate::Args;
use crate::remote_write::proc_usage;

/// One webhook notification as it arrived.
struct Arrival {
    /// Monotonic arrival instant.
    at: Instant,
    /// Wall-clock arrival, nanoseconds since the epoch (compared with the server's `startsAt`).
    wall_ns: i128,
    /// Raw body.
    body: Bytes,
}

/// Webhook notifications in arrival order.
type Arrivals = Arc<Mutex<Vec<Arrival>>>;

fn wall_ns() -> i128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i128)
}

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
            let arrival = Arrival {
                at: Instant::now(),
                wall_ns: wall_ns(),
                body,
            };
            recorder
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(arrival);
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
        "notify" => notify(args, &client, &url, &arrivals, pid).await,
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
/// whole groups; latency of a group = webhook arrival − (earliest server-stamped `startsAt` of
/// its alerts + group_wait), see the module documentation.
async fn notify(
    args: &Args,
    client: &reqwest::Client,
    url: &str,
    arrivals: &Arrivals,
    pid: Option<u32>,
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
    let cpu_before = pid.and_then(proc_usage);
    let mut first_post: Vec<Option<Instant>> = vec![None; groups];
    for (batch_groups, at) in &sent {
        for &g in batch_groups {
            let slot = &mut first_post[g];
            if slot.is_none_or(|t| *at < t) {
                *slot = Some(*at);
            }
        }
    }
    // Wait for one notification per group (or the timeout). Only the count is read while
    // waiting: parsing during the burst would take CPU from the target.
    let deadline = Instant::now() + group_wait + timeout;
    let mut seen = std::collections::HashMap::<usize, GroupSeen>::new();
    let mut parsed = 0;
    loop {
        let arrived = arrivals
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len();
        let done = Instant::now() > deadline;
        if arrived - parsed + seen.len() < groups && !done {
            tokio::time::sleep(Duration::from_millis(20)).await;
            continue;
        }
        let snapshot: Vec<(Instant, i128, Bytes)> = {
            let guard = arrivals.lock().unwrap_or_else(PoisonError::into_inner);
            guard[parsed..]
                .iter()
                .map(|a| (a.at, a.wall_ns, a.body.clone()))
                .collect()
        };
        parsed += snapshot.len();
        for (at, wall, body) in snapshot {
            let value: serde_json::Value = serde_json::from_slice(&body).context("webhook body")?;
            let Some(index) = value["groupLabels"]["group"]
                .as_str()
                .and_then(|g| g.strip_prefix("notify-"))
                .and_then(|g| g.parse::<usize>().ok())
            else {
                continue;
            };
            let list = value["alerts"].as_array().map_or(&[][..], Vec::as_slice);
            let starts = list
                .iter()
                .filter_map(|a| a["startsAt"].as_str())
                .filter_map(lgtm_common::time::parse_rfc3339)
                .map(|(s, n)| i128::from(s) * 1_000_000_000 + i128::from(n))
                .min();
            let entry = seen.entry(index).or_insert(GroupSeen {
                at,
                wall,
                starts,
                alerts: 0,
            });
            if at < entry.at {
                entry.at = at;
                entry.wall = wall;
            }
            entry.starts = match (entry.starts, starts) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            entry.alerts += list.len();
        }
        if seen.len() >= groups || done {
            break;
        }
    }
    let cpu = match (cpu_before, pid.and_then(proc_usage)) {
        (Some((cpu0, _, _)), Some((cpu1, _, _))) => {
            format!(" target_cpu_ms_after_posting={:.1}", (cpu1 - cpu0) * 1000.0)
        }
        _ => String::new(),
    };
    let wait_ns = group_wait.as_nanos() as i128;
    let mut server: Vec<f64> = Vec::with_capacity(seen.len());
    let mut client_side: Vec<f64> = Vec::with_capacity(seen.len());
    let mut alerts_notified = 0;
    let (mut first_arrival, mut last_arrival) = (None::<Instant>, None::<Instant>);
    for (group, g) in &seen {
        alerts_notified += g.alerts;
        first_arrival = Some(first_arrival.map_or(g.at, |t| t.min(g.at)));
        last_arrival = Some(last_arrival.map_or(g.at, |t| t.max(g.at)));
        if let Some(starts) = g.starts {
            server.push((g.wall - (starts + wait_ns)) as f64 / 1e6);
        }
        if let Some(Some(first)) = first_post.get(*group) {
            let due = *first + group_wait;
            client_side.push(signed_ms(g.at, due));
        }
    }
    server.sort_by(f64::total_cmp);
    client_side.sort_by(f64::total_cmp);
    let spread = match (first_arrival, last_arrival) {
        (Some(a), Some(b)) => b.duration_since(a).as_secs_f64() * 1000.0,
        _ => 0.0,
    };
    println!(
        "mode=notify groups={groups} alerts={} post_seconds={post_seconds:.3} groups_notified={} alerts_notified={alerts_notified} webhook_posts={parsed} arrival_spread_ms={spread:.1}{cpu}",
        groups * per_group,
        seen.len()
    );
    println!(
        "latency_past_group_wait_ms (from server startsAt) {}",
        summary(&server)
    );
    println!(
        "latency_past_send_plus_group_wait_ms (from client send) {}",
        summary(&client_side)
    );
    if seen.len() < groups {
        bail!(
            "only {} of {groups} groups were notified within {timeout:?} after group_wait",
            seen.len()
        );
    }
    if server.len() < groups {
        bail!(
            "{} notifications had no parsable startsAt",
            groups - server.len()
        );
    }
    Ok(())
}

/// What the sink saw of one group.
struct GroupSeen {
    /// First arrival, monotonic.
    at: Instant,
    /// First arrival, wall clock (ns since the epoch).
    wall: i128,
    /// Earliest `startsAt` of its alerts (ns since the epoch).
    starts: Option<i128>,
    /// Alerts received.
    alerts: usize,
}

/// `at − due` in milliseconds, negative when early.
fn signed_ms(at: Instant, due: Instant) -> f64 {
    if at >= due {
        at.duration_since(due).as_secs_f64() * 1000.0
    } else {
        -(due.duration_since(at).as_secs_f64() * 1000.0)
    }
}

/// `p50=.. p90=.. p99=.. max=.. min=..` of sorted latencies.
fn summary(sorted: &[f64]) -> String {
    format!(
        "p50={:.1} p90={:.1} p99={:.1} max={:.1} min={:.1}",
        percentile(sorted, 0.5),
        percentile(sorted, 0.9),
        percentile(sorted, 0.99),
        sorted.last().copied().unwrap_or(0.0),
        sorted.first().copied().unwrap_or(0.0),
    )
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
