//! The log workloads: `logs-push` ships the generated pod logs as Promtail does
//! (protobuf `logproto.PushRequest`, snappy block compressed, `Content-Type:
//! application/x-protobuf`, batches of about 1 MB, one sender per node), and `logs-query`
//! runs the issue's four scanning queries over the whole time range and reports what each
//! cost the server (CPU-seconds from `/proc` when `--pid` is given) against the raw bytes the
//! server says it processed (`stats.summary.totalBytesProcessed`).

use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use lgtm_common::http_client::client::reqwest;
use lgtm_proto::Message;
use lgtm_proto::logproto;

use crate::Args;
use crate::logs_workload::{Generator, needle, topology};
use crate::remote_write::proc_usage;

/// `256MB`, `1.5G`, `1048576`: a byte count with an optional decimal suffix.
fn parse_bytes(s: &str) -> Result<u64> {
    let s = s.trim();
    let (num, mult) = match s.char_indices().find(|(_, c)| c.is_ascii_alphabetic()) {
        Some((i, _)) => {
            let unit = s[i..].to_ascii_uppercase();
            let unit = unit.strip_suffix('B').unwrap_or(&unit);
            let (unit, base) = match unit.strip_suffix('I') {
                Some(u) => (u, 1024u64),
                None => (unit, 1000u64),
            };
            let mult: u64 = match unit {
                "" => 1,
                "K" => base,
                "M" => base * base,
                "G" => base * base * base,
                _ => bail!("unknown size unit in {s:?}"),
            };
            (&s[..i], mult)
        }
        None => (s, 1),
    };
    let v: f64 = num.trim().parse().with_context(|| format!("size {s:?}"))?;
    Ok((v * mult as f64) as u64)
}

fn now_ns() -> Result<i64> {
    Ok(SystemTime::now().duration_since(UNIX_EPOCH)?.as_nanos() as i64)
}

/// Options shared by both subcommands, so `logs-query` rebuilds what `logs-push` sent.
struct Shape {
    seed: u64,
    streams: usize,
    nodes: usize,
    span_ns: i64,
    start_ns: i64,
}

impl Shape {
    fn from_args(args: &Args) -> Result<Self> {
        let span_s: i64 = args.number("span", 3600)?;
        let span_ns = span_s * 1_000_000_000;
        Ok(Shape {
            seed: args.number("seed", 1)?,
            streams: args.number("streams", 1000)?,
            nodes: args.number("concurrency", 4)?,
            span_ns,
            // Ends a minute ago by default, inside every reject-old/too-new window.
            start_ns: args.number("start-ns", now_ns()? - span_ns - 60_000_000_000)?,
        })
    }
}

fn encode(batch: &mut HashMap<usize, Vec<logproto::EntryAdapter>>, labels: &[String]) -> Vec<u8> {
    let mut streams: Vec<logproto::StreamAdapter> = batch
        .drain()
        .map(|(i, entries)| logproto::StreamAdapter {
            labels: labels[i].clone(),
            entries,
            hash: 0,
        })
        .collect();
    streams.sort_by(|a, b| a.labels.cmp(&b.labels));
    let req = logproto::PushRequest {
        streams,
        format: String::new(),
    };
    snap::raw::Encoder::new()
        .compress_vec(&req.encode_to_vec())
        .unwrap_or_default()
}

/// `logs-push`: generates and sends `--bytes` of raw lines.
pub(crate) async fn push(args: &Args) -> Result<()> {
    let base = args.required("url")?.trim_end_matches('/').to_owned();
    let url = format!("{base}/loki/api/v1/push");
    let target = parse_bytes(args.get("bytes").unwrap_or("256MB"))?;
    let batch_bytes = parse_bytes(args.get("batch-bytes").unwrap_or("1MiB"))? as usize;
    let tenant = args.get("tenant").map(str::to_owned);
    let pid: Option<u32> = args.get("pid").map(str::parse).transpose()?;
    let shape = Shape::from_args(args)?;
    let nodes = shape.nodes.max(1);
    println!(
        "start_ns={} end_ns={} seed={} streams={} senders={nodes} target_bytes={target}",
        shape.start_ns,
        shape.start_ns + shape.span_ns,
        shape.seed,
        shape.streams
    );

    // One bounded queue per node: the generator blocks when a sender falls behind.
    let mut queues = Vec::with_capacity(nodes);
    let mut receivers = Vec::with_capacity(nodes);
    for _ in 0..nodes {
        let (tx, rx) = tokio::sync::mpsc::channel::<Vec<u8>>(2);
        queues.push(tx);
        receivers.push(rx);
    }
    let (seed, n_streams, start_ns, span_ns) =
        (shape.seed, shape.streams, shape.start_ns, shape.span_ns);
    let generator = std::thread::spawn(move || -> (u64, u64, u64) {
        let mut g = Generator::new(seed, n_streams, nodes, target, start_ns, span_ns);
        let labels: Vec<String> = g.topo.streams.iter().map(|s| s.labels.clone()).collect();
        let node_of: Vec<usize> = g.topo.streams.iter().map(|s| s.node).collect();
        let mut batches: Vec<HashMap<usize, Vec<logproto::EntryAdapter>>> =
            (0..nodes).map(|_| HashMap::new()).collect();
        let mut sizes = vec![0usize; nodes];
        let (mut lines, mut bytes, mut sent) = (0u64, 0u64, 0u64);
        let ship = |node: usize,
                    batch: &mut HashMap<usize, Vec<logproto::EntryAdapter>>,
                    sent: &mut u64|
         -> bool {
            *sent += 1;
            queues[node].blocking_send(encode(batch, &labels)).is_ok()
        };
        while let Some(l) = g.next_line() {
            let node = node_of[l.stream];
            lines += 1;
            bytes += l.line.len() as u64;
            sizes[node] += l.line.len();
            batches[node]
                .entry(l.stream)
                .or_default()
                .push(logproto::EntryAdapter {
                    timestamp: Some(lgtm_proto::prost_types::Timestamp {
                        seconds: l.ts.div_euclid(1_000_000_000),
                        nanos: l.ts.rem_euclid(1_000_000_000) as i32,
                    }),
                    line: l.line.into_bytes().into(),
                    structured_metadata: Vec::new(),
                    parsed: Vec::new(),
                });
            if sizes[node] >= batch_bytes {
                sizes[node] = 0;
                if !ship(node, &mut batches[node], &mut sent) {
                    return (lines, bytes, sent);
                }
            }
        }
        for (node, batch) in batches.iter_mut().enumerate() {
            if !batch.is_empty() {
                ship(node, batch, &mut sent);
            }
        }
        (lines, bytes, sent)
    });

    let client = reqwest::Client::new();
    let before = pid.and_then(proc_usage);
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for mut rx in receivers {
        let client = client.clone();
        let url = url.clone();
        let tenant = tenant.clone();
        tasks.spawn(async move {
            while let Some(body) = rx.recv().await {
                let mut req = client
                    .post(&url)
                    .header("Content-Type", "application/x-protobuf")
                    .header("User-Agent", "lgtm-bench (promtail protocol)")
                    .timeout(Duration::from_secs(120))
                    .body(body);
                if let Some(t) = &tenant {
                    req = req.header("X-Scope-OrgID", t);
                }
                let response = req.send().await?;
                if !response.status().is_success() {
                    bail!(
                        "{url} answered {}: {}",
                        response.status(),
                        response.text().await.unwrap_or_default()
                    );
                }
            }
            Ok(())
        });
    }
    while let Some(r) = tasks.join_next().await {
        r??;
    }
    let (lines, bytes, batches) = generator
        .join()
        .map_err(|_| anyhow::anyhow!("generator thread panicked"))?;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "lines={lines} raw_bytes={bytes} batches={batches} wall_seconds={secs:.2} raw_mb_per_second={:.1}",
        bytes as f64 / 1e6 / secs
    );
    if let (Some((c0, _, _)), Some((c1, rss, peak))) = (before, pid.and_then(proc_usage)) {
        let cpu = c1 - c0;
        println!(
            "target_cpu_seconds={cpu:.2} raw_mb_per_cpu_second={:.1} rss_bytes={rss} peak_rss_bytes={peak} peak_rss_per_raw_byte={:.3}",
            bytes as f64 / 1e6 / cpu.max(1e-9),
            peak as f64 / bytes.max(1) as f64
        );
    }
    Ok(())
}

/// `logs-dump --dir <dir>`: writes the generated lines of each stream to its own file
/// (newline separated), so compressors can be compared on the bare lines per stream (what
/// the issue's "gzip-6 of the bare lines per stream" figure means).
pub(crate) fn dump(args: &Args) -> Result<()> {
    use std::io::Write as _;
    let dir = std::path::PathBuf::from(args.required("dir")?);
    let target = parse_bytes(args.get("bytes").unwrap_or("256MB"))?;
    let shape = Shape::from_args(args)?;
    std::fs::create_dir_all(&dir)?;
    let mut g = Generator::new(
        shape.seed,
        shape.streams,
        shape.nodes,
        target,
        shape.start_ns,
        shape.span_ns,
    );
    let mut files: HashMap<usize, std::io::BufWriter<std::fs::File>> = HashMap::new();
    let (mut lines, mut bytes) = (0u64, 0u64);
    while let Some(l) = g.next_line() {
        let f = match files.entry(l.stream) {
            std::collections::hash_map::Entry::Occupied(o) => o.into_mut(),
            std::collections::hash_map::Entry::Vacant(v) => v.insert(std::io::BufWriter::new(
                std::fs::File::create(dir.join(format!("stream-{:04}.log", l.stream)))?,
            )),
        };
        f.write_all(l.line.as_bytes())?;
        f.write_all(b"\n")?;
        lines += 1;
        bytes += l.line.len() as u64;
    }
    for f in files.values_mut() {
        f.flush()?;
    }
    println!(
        "lines={lines} raw_bytes={bytes} streams_written={}",
        files.len()
    );
    Ok(())
}

/// What a query answer says about its cost and size.
struct Answer {
    bytes: u64,
    lines: u64,
    results: u64,
}

fn read_answer(v: &serde_json::Value) -> Answer {
    let summary = &v["data"]["stats"]["summary"];
    let data = &v["data"]["result"];
    let results = match v["data"]["resultType"].as_str() {
        Some("streams") => data.as_array().map_or(0, |a| {
            a.iter()
                .map(|s| s["values"].as_array().map_or(0, Vec::len))
                .sum::<usize>()
        }) as u64,
        Some("vector") => data
            .as_array()
            .and_then(|a| a.first())
            .and_then(|s| s["value"][1].as_str())
            .and_then(|x| x.parse::<f64>().ok())
            .unwrap_or(0.0) as u64,
        _ => 0,
    };
    Answer {
        bytes: summary["totalBytesProcessed"].as_u64().unwrap_or(0),
        lines: summary["totalLinesProcessed"].as_u64().unwrap_or(0),
        results,
    }
}

/// `logs-query`: the scanning queries over the data `logs-push` wrote with the same options.
pub(crate) async fn query(args: &Args) -> Result<()> {
    let base = args.required("url")?.trim_end_matches('/').to_owned();
    let shape = Shape::from_args(args)?;
    let runs: usize = args.number("runs", 3)?;
    let limit: usize = args.number("limit", 100)?;
    let raw_bytes: u64 = args.number("raw-bytes", 0)?;
    let pid: Option<u32> = args.get("pid").map(str::parse).transpose()?;
    let tenant = args.get("tenant").map(str::to_owned);
    let only = args.get("only").map(str::to_owned);
    let start = shape.start_ns;
    let end = shape.start_ns + shape.span_ns + 1_000_000_000;
    let topo = topology(shape.seed, shape.streams, shape.nodes);
    let json_apps = topo.json_apps.join("|");
    let span_s = (end - start) / 1_000_000_000 + 1;
    let all = r#"{namespace=~".+"}"#;
    let queries: Vec<(&str, String, bool)> = vec![
        (
            "rare_filter",
            format!("{all} |= \"{}\"", needle(shape.seed)),
            false,
        ),
        (
            "regexp_filter",
            format!("{all} |~ `(status=|\"status\":)5\\d\\d`"),
            false,
        ),
        (
            "json_filter",
            format!("{{app=~\"{json_apps}\", container!=\"istio-proxy\"}} | json | status >= 500"),
            false,
        ),
        (
            "label_count",
            format!("sum(count_over_time({all}[{span_s}s]))"),
            true,
        ),
        (
            "label_select",
            format!("{{namespace=\"{}\"}}", topo.streams[0].namespace),
            false,
        ),
    ];
    let client = reqwest::Client::new();
    for (name, q, instant) in &queries {
        if only
            .as_deref()
            .is_some_and(|o| !o.split(',').any(|x| x == *name))
        {
            continue;
        }
        let mut walls = Vec::new();
        let mut cpu_total = 0.0;
        let mut last = Answer {
            bytes: 0,
            lines: 0,
            results: 0,
        };
        for _ in 0..runs {
            let params = if *instant {
                url::form_urlencoded::Serializer::new(String::new())
                    .append_pair("query", q)
                    .append_pair("time", &end.to_string())
                    .finish()
            } else {
                url::form_urlencoded::Serializer::new(String::new())
                    .append_pair("query", q)
                    .append_pair("start", &start.to_string())
                    .append_pair("end", &end.to_string())
                    .append_pair("limit", &limit.to_string())
                    .append_pair("direction", "backward")
                    .finish()
            };
            let path = if *instant { "query" } else { "query_range" };
            let before = pid.and_then(proc_usage);
            let started = Instant::now();
            let mut req = client
                .get(format!("{base}/loki/api/v1/{path}?{params}"))
                .timeout(Duration::from_secs(600));
            if let Some(t) = &tenant {
                req = req.header("X-Scope-OrgID", t);
            }
            let response = req.send().await?;
            let status = response.status();
            let body = response.bytes().await?;
            if !status.is_success() {
                bail!("{name}: {status} {}", String::from_utf8_lossy(&body));
            }
            walls.push(started.elapsed().as_secs_f64());
            if let (Some((c0, _, _)), Some((c1, _, _))) = (before, pid.and_then(proc_usage)) {
                cpu_total += c1 - c0;
            }
            last = read_answer(&serde_json::from_slice(&body)?);
        }
        walls.sort_by(f64::total_cmp);
        let wall = walls.get(walls.len() / 2).copied().unwrap_or(0.0);
        let cpu = cpu_total / runs.max(1) as f64;
        // Metric queries may not report bytes; the count query reads every raw byte.
        let scanned = if last.bytes == 0 && *instant {
            raw_bytes
        } else {
            last.bytes
        };
        let mut line = format!(
            "query={name} runs={runs} median_wall_ms={:.1} server_bytes={} server_lines={} results={}",
            wall * 1e3,
            last.bytes,
            last.lines,
            last.results
        );
        if pid.is_some() {
            line.push_str(&format!(
                " cpu_seconds_per_run={cpu:.3} scanned_gb_per_cpu_second={:.3}",
                scanned as f64 / 1e9 / cpu.max(1e-9)
            ));
        }
        println!("{line}");
        println!("  {q}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_bytes("256MB").unwrap(), 256_000_000);
        assert_eq!(parse_bytes("1.5G").unwrap(), 1_500_000_000);
        assert_eq!(parse_bytes("1048576").unwrap(), 1_048_576);
        assert_eq!(parse_bytes("1MiB").unwrap(), 1 << 20);
        assert!(parse_bytes("3X").is_err());
    }
}
