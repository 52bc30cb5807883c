//! The side-by-side query workload: the same dashboard queries against two Prometheus-API
//! servers holding the same data, with the answers checked equal before any timing.
//!
//! Each query is first run once against both servers and the JSON results compared (same
//! series, same timestamps, values equal within a relative 1e-9, `NaN` equal to `NaN`), so a
//! ratio over wrong answers cannot be reported as a win. Timed runs then alternate between
//! the two servers, so load from other processes on the machine hits both alike; with
//! `--ours-pid`/`--peer-pid` the servers' CPU time per query (from `/proc`) is reported too.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use lgtm_common::http_client::client::reqwest;
use serde_json::Value as Json;

use crate::Args;
use crate::remote_write::proc_usage;

/// How a query is sent.
#[derive(Clone, Copy)]
enum Shape {
    /// `/api/v1/query` at the end time.
    Instant,
    /// `/api/v1/query_range` over the last `range` seconds with `step` seconds.
    Range { range: u32, step: u32 },
}

const H1: Shape = Shape::Range {
    range: 3600,
    step: 30,
};
const H24: Shape = Shape::Range {
    range: 86_400,
    step: 300,
};
const INSTANT: Shape = Shape::Instant;

/// Dashboard-style queries over the `remote-write` fleet: rates, aggregations, quantiles over
/// short and long windows, topk, regex selectors over every series, long `*_over_time`.
const CASES: &[(&str, Shape, &str)] = &[
    ("rate_cpu", H1, "rate(node_cpu_seconds_total[5m])"),
    (
        "irate_net",
        H1,
        "irate(node_network_receive_bytes_total[5m])",
    ),
    (
        "sum_by_rate",
        H1,
        "sum by (instance) (rate(node_network_receive_bytes_total[5m]))",
    ),
    (
        "hq_5m",
        H1,
        "histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))",
    ),
    (
        "hq_1h_by_instance",
        H1,
        "histogram_quantile(0.9, sum by (le, instance) (rate(http_request_duration_seconds_bucket[1h])))",
    ),
    (
        "topk_rate",
        H1,
        "topk(10, rate(node_cpu_seconds_total[5m]))",
    ),
    (
        "regex_rate",
        H1,
        "sum by (instance) (rate(node_cpu_seconds_total{instance=~\"node-1.*|node-2.*\", device!~\"dev1[0-5]\"}[5m]))",
    ),
    ("count_by_all", H1, "count by (__name__) ({job=~\"no.*\"})"),
    (
        "sum_by_rate",
        H24,
        "sum by (instance) (rate(node_network_receive_bytes_total[5m]))",
    ),
    (
        "hq_5m",
        H24,
        "histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))",
    ),
    (
        "hq_1h",
        H24,
        "histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket[1h])))",
    ),
    ("topk_gauge", H24, "topk(5, node_load1)"),
    (
        "regex_count",
        H24,
        "count by (instance) (node_filesystem_avail_bytes{instance=~\"node-1.*|node-2.*\"})",
    ),
    ("sum_gauge", H24, "sum(node_memory_MemAvailable_bytes)"),
    ("avg_over_24h", H24, "avg(avg_over_time(node_load1[24h]))"),
    ("rate_cpu", INSTANT, "rate(node_cpu_seconds_total[5m])"),
    (
        "regex_count_by",
        INSTANT,
        "count by (instance) ({__name__=~\"node_.+\", instance=~\"node-1.*\"})",
    ),
    ("count_all", INSTANT, "count({__name__=~\".+\"})"),
    (
        "avg_over_24h",
        INSTANT,
        "avg_over_time(node_memory_MemAvailable_bytes[24h])",
    ),
    (
        "hq_1h_by_instance",
        INSTANT,
        "histogram_quantile(0.5, sum by (le, instance) (rate(http_request_duration_seconds_bucket[1h])))",
    ),
    (
        "topk_max_24h",
        INSTANT,
        "topk(10, max_over_time(node_load1[24h]))",
    ),
];

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn shape_name(shape: Shape) -> String {
    match shape {
        Shape::Instant => "instant".into(),
        Shape::Range { range, step } => format!("range {}h/{}s", range / 3600, step),
    }
}

fn request_path(shape: Shape, query: &str, end: i64) -> String {
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    form.append_pair("query", query);
    match shape {
        Shape::Instant => {
            form.append_pair("time", &end.to_string());
            format!("/api/v1/query?{}", form.finish())
        }
        Shape::Range { range, step } => {
            form.append_pair("start", &(end - i64::from(range)).to_string())
                .append_pair("end", &end.to_string())
                .append_pair("step", &step.to_string());
            format!("/api/v1/query_range?{}", form.finish())
        }
    }
}

async fn fetch(client: &reqwest::Client, url: &str) -> Result<Vec<u8>> {
    let response = client
        .get(url)
        .timeout(Duration::from_secs(300))
        .send()
        .await?;
    let status = response.status();
    let body = response.bytes().await?;
    if !status.is_success() {
        bail!("{url}: {status} {}", String::from_utf8_lossy(&body));
    }
    Ok(body.to_vec())
}

/// Series of one answer by rendered label set, each with its `(t, v)` points.
type SeriesMap = BTreeMap<String, Vec<(f64, f64)>>;

fn sample_value(v: &Json) -> Option<(f64, f64)> {
    let pair = v.as_array()?;
    let t = pair.first()?.as_f64()?;
    let raw = pair.get(1)?.as_str()?;
    let f = match raw {
        "NaN" => f64::NAN,
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        other => other.parse().ok()?,
    };
    Some((t, f))
}

fn close(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || a == b || (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1e-300)
}

/// Series of a result, by rendered label set, each with its `(t, v)` points.
fn series_of(body: &[u8]) -> Result<(String, SeriesMap)> {
    let json: Json = serde_json::from_slice(body)?;
    let data = json.get("data").context("no data")?;
    let kind = data
        .get("resultType")
        .and_then(Json::as_str)
        .context("no resultType")?
        .to_owned();
    let mut out = BTreeMap::new();
    match data.get("result") {
        Some(Json::Array(items)) if kind == "matrix" || kind == "vector" => {
            for item in items {
                let metric = item.get("metric").cloned().unwrap_or(Json::Null);
                let key = serde_json::to_string(&metric)?;
                let mut points = Vec::new();
                if let Some(v) = item.get("value") {
                    points.push(sample_value(v).context("bad sample")?);
                }
                if let Some(Json::Array(vs)) = item.get("values") {
                    for v in vs {
                        points.push(sample_value(v).context("bad sample")?);
                    }
                }
                if out.insert(key.clone(), points).is_some() {
                    bail!("duplicate series {key}");
                }
            }
        }
        Some(scalar) => {
            out.insert(
                String::new(),
                vec![sample_value(scalar).context("bad scalar")?],
            );
        }
        None => bail!("no result"),
    }
    Ok((kind, out))
}

/// `topk`/`bottomk` may pick either of two series with equal values (Prometheus' heap order
/// is not specified), so for them each timestamp's multiset of values is compared instead of
/// series identities.
fn compare_ties(os: &SeriesMap, ps: &SeriesMap) -> Result<(usize, usize), String> {
    let by_time = |m: &SeriesMap| {
        let mut out: BTreeMap<i64, Vec<f64>> = BTreeMap::new();
        for points in m.values() {
            for (t, v) in points {
                out.entry((t * 1000.0).round() as i64).or_default().push(*v);
            }
        }
        for vs in out.values_mut() {
            vs.sort_by(f64::total_cmp);
        }
        out
    };
    let (a, b) = (by_time(os), by_time(ps));
    if a.len() != b.len() {
        return Err(format!("{} vs {} timestamps", a.len(), b.len()));
    }
    let mut points = 0;
    for ((ta, va), (tb, vb)) in a.iter().zip(&b) {
        if ta != tb || va.len() != vb.len() || va.iter().zip(vb).any(|(x, y)| !close(*x, *y)) {
            return Err(format!("at {ta}: {va:?} vs {tb}: {vb:?}"));
        }
        points += va.len();
    }
    Ok((os.len().max(ps.len()), points))
}

/// Compares two answers; `Ok((series, points))` when equal, else the first difference.
fn compare(ours: &[u8], peer: &[u8], ties: bool) -> Result<(usize, usize), String> {
    let (ok, os) = series_of(ours).map_err(|e| format!("ours: {e}"))?;
    let (pk, ps) = series_of(peer).map_err(|e| format!("peer: {e}"))?;
    if ok != pk {
        return Err(format!("resultType {ok} vs {pk}"));
    }
    if ties {
        return compare_ties(&os, &ps);
    }
    if os.len() != ps.len() {
        let only_ours = os.keys().find(|k| !ps.contains_key(*k));
        let only_peer = ps.keys().find(|k| !os.contains_key(*k));
        return Err(format!(
            "{} vs {} series (only ours: {only_ours:?}, only peer: {only_peer:?})",
            os.len(),
            ps.len()
        ));
    }
    let mut points = 0;
    for (key, a) in &os {
        let Some(b) = ps.get(key) else {
            return Err(format!("series {key} missing from the peer"));
        };
        if a.len() != b.len() {
            return Err(format!("{key}: {} vs {} points", a.len(), b.len()));
        }
        for (x, y) in a.iter().zip(b) {
            if x.0 != y.0 || !close(x.1, y.1) {
                return Err(format!("{key}: {x:?} vs {y:?}"));
            }
        }
        points += a.len();
    }
    Ok((os.len(), points))
}

/// One server under test.
struct Target {
    base: String,
    pid: Option<u32>,
}

impl Target {
    fn cpu(&self) -> Option<f64> {
        self.pid.and_then(proc_usage).map(|u| u.0)
    }
}

/// Latencies (ms) and summed server CPU seconds of one side.
#[derive(Default)]
struct Timings {
    latencies: Vec<f64>,
    cpu: f64,
}

impl Timings {
    async fn run(&mut self, client: &reqwest::Client, target: &Target, path: &str) -> Result<()> {
        let cpu0 = target.cpu();
        let started = Instant::now();
        let body = fetch(client, &format!("{}{path}", target.base)).await?;
        self.latencies
            .push(started.elapsed().as_secs_f64() * 1000.0);
        drop(body);
        if let (Some(a), Some(b)) = (cpu0, target.cpu()) {
            self.cpu += b - a;
        }
        Ok(())
    }

    fn summary(&mut self) -> (f64, f64) {
        self.latencies.sort_by(f64::total_cmp);
        (
            percentile(&self.latencies, 0.5),
            percentile(&self.latencies, 0.99),
        )
    }
}

pub(crate) async fn run(args: &Args) -> Result<()> {
    let ours = Target {
        base: args.required("ours")?.trim_end_matches('/').to_owned(),
        pid: args.get("ours-pid").map(str::parse).transpose()?,
    };
    let peer = Target {
        base: args.required("peer")?.trim_end_matches('/').to_owned(),
        pid: args.get("peer-pid").map(str::parse).transpose()?,
    };
    let end: i64 = args.required("time")?.parse()?;
    let runs: usize = args.number("runs", 30)?;
    let min_runs: usize = args.number("min-runs", 10)?;
    let budget = Duration::from_secs_f64(args.number("budget-s", 60.0)?);
    let only = args.get("only").map(str::to_owned);
    let client = reqwest::Client::new();
    let mut table = Vec::new();
    let mut failures = 0;
    for (name, shape, query) in CASES {
        let label = format!("{name} ({})", shape_name(*shape));
        if only.as_ref().is_some_and(|o| !label.contains(o.as_str())) {
            continue;
        }
        let path = request_path(*shape, query, end);
        // Warm-up and correctness check.
        let a = fetch(&client, &format!("{}{path}", ours.base)).await?;
        let b = fetch(&client, &format!("{}{path}", peer.base)).await?;
        let ties = query.starts_with("topk(") || query.starts_with("bottomk(");
        let check = match compare(&a, &b, ties) {
            Ok((_, points)) if ties => {
                format!("same values per step (ties either way): {points} points")
            }
            Ok((series, points)) => format!("same: {series} series, {points} points"),
            Err(diff) => {
                failures += 1;
                format!("DIFFERENT: {diff}")
            }
        };
        let (mut to, mut tp) = (Timings::default(), Timings::default());
        let started = Instant::now();
        for i in 0..runs {
            // Alternate which side goes first so neither always follows the other's work.
            if i % 2 == 0 {
                to.run(&client, &ours, &path).await?;
                tp.run(&client, &peer, &path).await?;
            } else {
                tp.run(&client, &peer, &path).await?;
                to.run(&client, &ours, &path).await?;
            }
            if i + 1 >= min_runs && started.elapsed() > budget {
                break;
            }
        }
        let n = to.latencies.len();
        let (om, op) = to.summary();
        let (pm, pp) = tp.summary();
        let cpu = match (ours.pid, peer.pid) {
            (Some(_), Some(_)) => format!(
                " ours_cpu_ms={:.1} peer_cpu_ms={:.1}",
                to.cpu * 1000.0 / n as f64,
                tp.cpu * 1000.0 / n as f64
            ),
            _ => String::new(),
        };
        println!(
            "query={label:?} runs={n} ours_median_ms={om:.2} ours_p99_ms={op:.2} peer_median_ms={pm:.2} peer_p99_ms={pp:.2} median_ratio={:.2} p99_ratio={:.2}{cpu} check={check:?}",
            pm / om,
            pp / op
        );
        table.push(format!(
            "| `{query}` | {} | {n} | {om:.1} / {op:.1} | {pm:.1} / {pp:.1} | {:.2} | {:.2} |{} {check} |",
            shape_name(*shape),
            pm / om,
            pp / op,
            if ours.pid.is_some() && peer.pid.is_some() {
                format!(
                    " {:.1} / {:.1} |",
                    to.cpu * 1000.0 / n as f64,
                    tp.cpu * 1000.0 / n as f64
                )
            } else {
                String::new()
            }
        ));
    }
    println!();
    println!(
        "| query | kind | runs | ours median / p99 (ms) | Prometheus median / p99 (ms) | median ratio | p99 ratio |{} answers |",
        if ours.pid.is_some() && peer.pid.is_some() {
            " server CPU ms per query, ours / Prometheus |"
        } else {
            ""
        }
    );
    println!(
        "|---|---|---:|---|---|---:|---:|{}---|",
        if ours.pid.is_some() && peer.pid.is_some() {
            "---|"
        } else {
            ""
        }
    );
    for row in table {
        println!("{row}");
    }
    if failures > 0 {
        bail!("{failures} queries answered differently");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_answers_pass_and_differences_are_named() {
        let a = br#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"a":"1"},"values":[[10,"1.5"],[20,"NaN"]]}]}}"#;
        let b = br#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"a":"1"},"values":[[10,"1.5000000000000002"],[20,"NaN"]]}]}}"#;
        assert_eq!(compare(a, b, false), Ok((1, 2)));
        let c = br#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"a":"1"},"values":[[10,"1.6"],[20,"NaN"]]}]}}"#;
        assert!(compare(a, c, false).unwrap_err().contains("1.6"));
        let d = br#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"a":"2"},"values":[[10,"1.5"],[20,"NaN"]]}]}}"#;
        assert!(compare(a, d, false).unwrap_err().contains("missing"));
        // Tied series: either may be picked, the values per step must match.
        assert_eq!(compare(a, d, true), Ok((1, 2)));
        assert!(compare(a, c, true).is_err());
        let s = br#"{"status":"success","data":{"resultType":"scalar","result":[10,"2"]}}"#;
        assert_eq!(compare(s, s, false), Ok((1, 1)));
    }

    #[test]
    fn percentiles_take_the_rank() {
        let v = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(percentile(&v, 0.5), 2.0);
        assert_eq!(percentile(&v, 0.99), 4.0);
    }
}
