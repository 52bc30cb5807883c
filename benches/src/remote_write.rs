//! The remote-write workload.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Result, bail};
use lgtm_common::http_client::client::reqwest;
use lgtm_proto::Message;
use lgtm_proto::prometheus as pb;

use crate::Args;
use crate::workload::fleet;

/// CPU seconds (user+system) and current/peak RSS bytes of a process, from `/proc`.
pub(crate) fn proc_usage(pid: u32) -> Option<(f64, u64, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb = |key: &str| -> u64 {
        status
            .lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    Some((ticks / 100.0, kb("VmRSS:") * 1024, kb("VmHWM:") * 1024))
}

pub(crate) async fn run(args: &Args) -> Result<()> {
    let url = args.required("url")?.to_owned();
    let series: usize = args.number("series", 100_000)?;
    let scrapes: u64 = args.number("scrapes", 20)?;
    let batch: usize = args.number("batch", 2000)?;
    let concurrency: usize = args.number("concurrency", 4)?;
    let pid: Option<u32> = args.get("pid").map(str::parse).transpose()?;
    // Scrape interval of the replayed fleet (15 s like a default Prometheus job; a longer
    // one loads a day of history in minutes).
    let interval_ms: i64 = args.number("interval-ms", 15_000)?;
    if interval_ms <= 0 {
        bail!("--interval-ms must be positive");
    }
    let models = Arc::new(fleet(series));
    let start_ms = args.number::<i64>("start-ms", {
        let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_millis() as i64;
        now - (scrapes as i64) * interval_ms
    })?;
    let client = reqwest::Client::new();
    let before = pid.and_then(proc_usage);
    let sent = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    for step in 0..scrapes {
        let t = start_ms + step as i64 * interval_ms;
        let mut tasks = tokio::task::JoinSet::new();
        let chunks: Vec<(usize, usize)> = (0..models.len())
            .step_by(batch)
            .map(|s| (s, (s + batch).min(models.len())))
            .collect();
        let semaphore = Arc::new(tokio::sync::Semaphore::new(concurrency));
        for (from, to) in chunks {
            let permit = semaphore.clone().acquire_owned().await?;
            let models = Arc::clone(&models);
            let client = client.clone();
            let url = url.clone();
            let sent = Arc::clone(&sent);
            tasks.spawn(async move {
                let _permit = permit;
                let request = pb::WriteRequest {
                    timeseries: models[from..to].iter().map(|m| m.sample(step, t)).collect(),
                    metadata: vec![],
                };
                let body = snap::raw::Encoder::new().compress_vec(&request.encode_to_vec())?;
                let response = client
                    .post(&url)
                    .header("Content-Type", "application/x-protobuf")
                    .header("Content-Encoding", "snappy")
                    .header("X-Prometheus-Remote-Write-Version", "0.1.0")
                    .body(body)
                    .timeout(Duration::from_secs(60))
                    .send()
                    .await?;
                if !response.status().is_success() {
                    bail!(
                        "{} answered {}: {}",
                        url,
                        response.status(),
                        response.text().await.unwrap_or_default()
                    );
                }
                sent.fetch_add((to - from) as u64, Ordering::Relaxed);
                Ok(())
            });
        }
        while let Some(result) = tasks.join_next().await {
            result??;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let samples = sent.load(Ordering::Relaxed);
    println!(
        "series={} scrapes={} samples={} seconds={:.3} samples_per_second={:.0}",
        models.len(),
        scrapes,
        samples,
        elapsed,
        samples as f64 / elapsed
    );
    if let (Some((cpu0, _, _)), Some((cpu1, rss, peak))) = (before, pid.and_then(proc_usage)) {
        let cpu = cpu1 - cpu0;
        println!(
            "target_cpu_seconds={cpu:.2} samples_per_cpu_second={:.0} rss_bytes={rss} peak_rss_bytes={peak} peak_rss_per_series={:.0}",
            samples as f64 / cpu.max(1e-9),
            peak as f64 / models.len() as f64
        );
    }
    Ok(())
}
