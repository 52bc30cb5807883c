//! The dashboard-query workload over the data `remote-write` produced.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Result, bail};
use lgtm_common::http_client::client::reqwest;

use crate::Args;

/// Dashboard-style queries: rates, aggregations, quantiles, topk, regex selectors.
const QUERIES: &[(&str, &str)] = &[
    ("rate_cpu", "rate(node_cpu_seconds_total[5m])"),
    (
        "sum_by_instance",
        "sum by (instance) (rate(node_network_receive_bytes_total[5m]))",
    ),
    (
        "histogram_quantile",
        "histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))",
    ),
    ("topk", "topk(10, node_load1)"),
    (
        "regex_selector",
        "count(node_filesystem_avail_bytes{instance=~\"node-1.*\"})",
    ),
    ("sum_all", "sum(node_memory_MemAvailable_bytes)"),
];

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

pub(crate) async fn run(args: &Args) -> Result<()> {
    let base = args.required("url")?.trim_end_matches('/').to_owned();
    let runs: usize = args.number("runs", 20)?;
    let end: f64 = args.number(
        "time",
        SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs_f64(),
    )?;
    let window: f64 = args.number("range", 3600.0)?;
    let client = reqwest::Client::new();
    for (name, query) in QUERIES {
        let mut latencies = Vec::with_capacity(runs);
        for _ in 0..runs {
            let started = Instant::now();
            let params = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("query", query)
                .append_pair("start", &format!("{}", end - window))
                .append_pair("end", &format!("{end}"))
                .append_pair("step", "60")
                .finish();
            let response = client
                .get(format!("{base}/api/v1/query_range?{params}"))
                .timeout(Duration::from_secs(120))
                .send()
                .await?;
            if !response.status().is_success() {
                bail!(
                    "{name}: {} {}",
                    response.status(),
                    response.text().await.unwrap_or_default()
                );
            }
            let _ = response.bytes().await?;
            latencies.push(started.elapsed().as_secs_f64() * 1000.0);
        }
        latencies.sort_by(f64::total_cmp);
        println!(
            "query={name} runs={runs} median_ms={:.2} p99_ms={:.2}",
            percentile(&latencies, 0.5),
            percentile(&latencies, 0.99)
        );
    }
    Ok(())
}
