//! The scrape workload: many node-exporter-like `/metrics` endpoints on loopback ports and a
//! `prometheus.yml` that lists them, so metrics-tsdb and Prometheus scrape the same fleet in
//! one run (`benches/compare-scrape.sh`).
//!
//! Each target exposes text format 0.0.4 with `# HELP`/`# TYPE` lines: counters (CPU, network,
//! disk, interrupts), gauges (memory, filesystems, load), untyped netstat values, a summary and
//! request-latency histograms. Every request advances the target's step, so every scrape sees
//! new values (counters grow by irregular increments, gauges wander, histogram buckets stay
//! cumulative). The server stops by itself after `--duration` seconds.

use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{Context, Result};
use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

use crate::Args;

/// What kind of value a series carries.
#[derive(Clone, Copy)]
enum Kind {
    Counter,
    Gauge,
    /// Bucket `index` of `of` (cumulative; the last one is `+Inf`).
    Bucket {
        index: u32,
        of: u32,
    },
    /// A histogram's or summary's `_sum`.
    Sum,
    /// A histogram's or summary's `_count`.
    Count,
    /// A summary quantile (a gauge-like value).
    Quantile,
}

/// One series line without its value: `name{labels}`.
struct Series {
    prefix: String,
    kind: Kind,
    seed: u64,
}

/// A metric family: its metadata lines and its series.
struct Family {
    header: String,
    series: Vec<Series>,
}

struct FamilyBuilder {
    family: Family,
    seed: u64,
}

impl FamilyBuilder {
    fn new(name: &str, help: &str, type_name: &str, seed: u64) -> Self {
        Self {
            family: Family {
                header: format!("# HELP {name} {help}\n# TYPE {name} {type_name}\n"),
                series: Vec::new(),
            },
            seed,
        }
    }

    fn push(&mut self, name: &str, labels: &[(&str, &str)], kind: Kind) {
        self.seed = self.seed.wrapping_mul(6364136223846793005).wrapping_add(1);
        let seed = self.seed >> 11;
        self.push_seeded(name, labels, kind, seed);
    }

    /// Series of one histogram or summary share `seed`, so their values agree.
    fn push_seeded(&mut self, name: &str, labels: &[(&str, &str)], kind: Kind, seed: u64) {
        let mut prefix = name.to_owned();
        if !labels.is_empty() {
            prefix.push('{');
            for (i, (n, v)) in labels.iter().enumerate() {
                if i > 0 {
                    prefix.push(',');
                }
                let _ = write!(prefix, "{n}=\"{v}\"");
            }
            prefix.push('}');
        }
        self.family.series.push(Series { prefix, kind, seed });
    }
}

const CPU_MODES: &[&str] = &[
    "idle", "iowait", "irq", "nice", "softirq", "steal", "system", "user",
];
const BUCKETS: &[&str] = &[
    "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf",
];

/// The families of one target: about 880 fixed series plus `handlers` latency histograms of
/// 14 series each (so `--series 1500` gives ~44 handlers).
fn families(node: usize, handlers: usize) -> Vec<Family> {
    let seed = (node as u64 + 1) << 20;
    let mut out = Vec::new();
    let mut cpu = FamilyBuilder::new(
        "node_cpu_seconds_total",
        "Seconds the CPUs spent in each mode.",
        "counter",
        seed + 1,
    );
    for c in 0..16 {
        for mode in CPU_MODES {
            cpu.push(
                "node_cpu_seconds_total",
                &[("cpu", &c.to_string()), ("mode", mode)],
                Kind::Counter,
            );
        }
    }
    out.push(cpu.family);
    for (name, help) in [
        (
            "node_network_receive_bytes_total",
            "Network device statistic receive_bytes.",
        ),
        (
            "node_network_transmit_bytes_total",
            "Network device statistic transmit_bytes.",
        ),
        (
            "node_network_receive_packets_total",
            "Network device statistic receive_packets.",
        ),
        (
            "node_network_transmit_packets_total",
            "Network device statistic transmit_packets.",
        ),
        (
            "node_network_receive_errs_total",
            "Network device statistic receive_errs.",
        ),
        (
            "node_network_transmit_errs_total",
            "Network device statistic transmit_errs.",
        ),
        (
            "node_network_receive_drop_total",
            "Network device statistic receive_drop.",
        ),
        (
            "node_network_transmit_drop_total",
            "Network device statistic transmit_drop.",
        ),
    ] {
        let mut f = FamilyBuilder::new(name, help, "counter", seed + 2 + name.len() as u64);
        for d in 0..8 {
            f.push(name, &[("device", &format!("eth{d}"))], Kind::Counter);
        }
        out.push(f.family);
    }
    for (name, help) in [
        (
            "node_disk_read_bytes_total",
            "The total number of bytes read successfully.",
        ),
        (
            "node_disk_written_bytes_total",
            "The total number of bytes written successfully.",
        ),
        (
            "node_disk_reads_completed_total",
            "The total number of reads completed successfully.",
        ),
        (
            "node_disk_writes_completed_total",
            "The total number of writes completed successfully.",
        ),
        (
            "node_disk_io_time_seconds_total",
            "Total seconds spent doing I/Os.",
        ),
        (
            "node_disk_read_time_seconds_total",
            "The total number of seconds spent by all reads.",
        ),
        (
            "node_disk_write_time_seconds_total",
            "This is the total number of seconds spent by all writes.",
        ),
    ] {
        let mut f = FamilyBuilder::new(name, help, "counter", seed + 3 + name.len() as u64);
        for d in 0..16u8 {
            let device = format!("sd{}", char::from(b'a' + d));
            f.push(name, &[("device", &device)], Kind::Counter);
        }
        out.push(f.family);
    }
    let mut interrupts = FamilyBuilder::new(
        "node_interrupts_total",
        "Interrupt details.",
        "counter",
        seed + 4,
    );
    for c in 0..16 {
        for i in 0..20 {
            interrupts.push(
                "node_interrupts_total",
                &[
                    ("cpu", &c.to_string()),
                    ("devices", &format!("pci-{i}")),
                    ("type", &format!("IR-{i}")),
                ],
                Kind::Counter,
            );
        }
    }
    out.push(interrupts.family);
    for (name, help) in [
        (
            "node_filesystem_avail_bytes",
            "Filesystem space available to non-root users in bytes.",
        ),
        (
            "node_filesystem_free_bytes",
            "Filesystem free space in bytes.",
        ),
        ("node_filesystem_size_bytes", "Filesystem size in bytes."),
        ("node_filesystem_files", "Filesystem total file nodes."),
        (
            "node_filesystem_files_free",
            "Filesystem total free file nodes.",
        ),
        ("node_filesystem_readonly", "Filesystem read-only status."),
    ] {
        let mut f = FamilyBuilder::new(name, help, "gauge", seed + 5 + name.len() as u64);
        for m in 0..20 {
            f.push(
                name,
                &[
                    ("device", &format!("/dev/nvme0n1p{m}")),
                    ("fstype", if m % 3 == 0 { "ext4" } else { "xfs" }),
                    ("mountpoint", &format!("/mnt/volume-{m}")),
                ],
                Kind::Gauge,
            );
        }
        out.push(f.family);
    }
    for m in 0..40 {
        let name = format!("node_memory_Field{m}_bytes");
        let mut f = FamilyBuilder::new(
            &name,
            &format!("Memory information field Field{m}_bytes."),
            "gauge",
            seed + 6 + m,
        );
        f.push(&name, &[], Kind::Gauge);
        out.push(f.family);
    }
    for name in ["node_load1", "node_load5", "node_load15"] {
        let mut f = FamilyBuilder::new(name, "Load average.", "gauge", seed + 7);
        f.push(name, &[], Kind::Gauge);
        out.push(f.family);
    }
    for m in 0..60 {
        let name = format!("node_netstat_Tcp_Field{m}");
        let mut f = FamilyBuilder::new(
            &name,
            &format!("Statistic TcpField{m}."),
            "untyped",
            seed + 8 + m,
        );
        f.push(&name, &[], Kind::Counter);
        out.push(f.family);
    }
    let mut gc = FamilyBuilder::new(
        "go_gc_duration_seconds",
        "A summary of the pause duration of garbage collection cycles.",
        "summary",
        seed + 9,
    );
    for q in ["0", "0.25", "0.5", "0.75", "1"] {
        gc.push("go_gc_duration_seconds", &[("quantile", q)], Kind::Quantile);
    }
    gc.push_seeded("go_gc_duration_seconds_sum", &[], Kind::Sum, seed);
    gc.push_seeded("go_gc_duration_seconds_count", &[], Kind::Count, seed);
    out.push(gc.family);
    let mut http = FamilyBuilder::new(
        "http_request_duration_seconds",
        "Latency of HTTP requests.",
        "histogram",
        seed + 10,
    );
    for h in 0..handlers {
        let handler = format!("/api/v1/handler{h}");
        let method = if h % 4 == 0 { "POST" } else { "GET" };
        let group = seed ^ (h as u64 * 7919);
        for (i, le) in BUCKETS.iter().enumerate() {
            http.push_seeded(
                "http_request_duration_seconds_bucket",
                &[("handler", &handler), ("method", method), ("le", le)],
                Kind::Bucket {
                    index: i as u32,
                    of: BUCKETS.len() as u32,
                },
                group,
            );
        }
        http.push_seeded(
            "http_request_duration_seconds_sum",
            &[("handler", &handler), ("method", method)],
            Kind::Sum,
            group,
        );
        http.push_seeded(
            "http_request_duration_seconds_count",
            &[("handler", &handler), ("method", method)],
            Kind::Count,
            group,
        );
    }
    out.push(http.family);
    out
}

/// Series of one target without histograms.
fn fixed_series() -> usize {
    families(0, 0).iter().map(|f| f.series.len()).sum()
}

fn noise(seed: u64, step: u64) -> u64 {
    seed.wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(step.wrapping_mul(0xBF58_476D_1CE4_E5B9))
        >> 44
}

/// Writes the value of `series` at `step`.
fn write_value(out: &mut String, series: &Series, step: u64) {
    // One histogram's (or summary's) series share a seed, so buckets, sum and count agree.
    let count = |seed: u64| step * (1 + seed % 50) + step / 3;
    let _ = match series.kind {
        Kind::Counter => {
            let base = step * (1 + series.seed % 997) + noise(series.seed, step) % 17;
            if series.seed.is_multiple_of(3) {
                // Seconds-like counters carry fractions.
                write!(out, "{}", base as f64 * 0.01)
            } else {
                write!(out, "{base}")
            }
        }
        Kind::Gauge => {
            let v = 1.0e9
                + (series.seed % 1000) as f64 * 1.0e6
                + (noise(series.seed, step) % 4096) as f64 * 4096.0;
            write!(out, "{v:e}")
        }
        Kind::Quantile => {
            write!(
                out,
                "{}",
                (noise(series.seed, step) % 10_000) as f64 * 1.0e-7
            )
        }
        Kind::Bucket { index, of } => {
            let total = count(series.seed);
            write!(out, "{}", total * u64::from(index + 1) / u64::from(of))
        }
        Kind::Sum => write!(out, "{}", count(series.seed) as f64 * 0.137),
        Kind::Count => write!(out, "{}", count(series.seed)),
    };
}

struct Target {
    families: Vec<Family>,
    steps: AtomicU64,
    size_hint: AtomicU64,
}

impl Target {
    fn body(&self) -> String {
        let step = self.steps.fetch_add(1, Ordering::Relaxed) + 1;
        let mut out = String::with_capacity(self.size_hint.load(Ordering::Relaxed) as usize);
        for family in &self.families {
            out.push_str(&family.header);
            for series in &family.series {
                out.push_str(&series.prefix);
                out.push(' ');
                write_value(&mut out, series, step);
                out.push('\n');
            }
        }
        self.size_hint
            .store(out.len() as u64 + 64, Ordering::Relaxed);
        out
    }
}

async fn metrics(State(target): State<Arc<Target>>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        target.body(),
    )
}

/// `prometheus.yml` with one job listing every target.
fn config_text(ports: &[u16], interval: &str) -> String {
    let mut out = format!(
        "global:\n  scrape_interval: {interval}\n  scrape_timeout: {interval}\nscrape_configs:\n  - job_name: node\n    static_configs:\n      - targets:\n"
    );
    for port in ports {
        let _ = writeln!(out, "          - 127.0.0.1:{port}");
    }
    out
}

pub(crate) async fn run(args: &Args) -> Result<()> {
    let targets: usize = args.number("targets", 100)?;
    let series: usize = args.number("series", 1500)?;
    let base_port: u16 = args.number("base-port", 21000)?;
    let interval = args.get("interval").unwrap_or("2s").to_owned();
    let duration: u64 = args.number("duration", 300)?;
    let config = args.required("config")?.to_owned();
    let handlers = series.saturating_sub(fixed_series()).div_ceil(14).max(1);
    let mut ports = Vec::with_capacity(targets);
    let mut total_series = 0;
    let mut servers = tokio::task::JoinSet::new();
    for node in 0..targets {
        let port = base_port
            .checked_add(u16::try_from(node)?)
            .context("port range overflows")?;
        let target = Arc::new(Target {
            families: families(node, handlers),
            steps: AtomicU64::new(0),
            size_hint: AtomicU64::new(0),
        });
        total_series += target
            .families
            .iter()
            .map(|f| f.series.len())
            .sum::<usize>();
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .with_context(|| format!("binding 127.0.0.1:{port}"))?;
        let app = Router::new()
            .route("/metrics", get(metrics))
            .with_state(target);
        servers.spawn(async move { axum::serve(listener, app).await });
        ports.push(port);
    }
    std::fs::write(&config, config_text(&ports, &interval))
        .with_context(|| format!("writing {config}"))?;
    println!(
        "serving {targets} targets on 127.0.0.1:{base_port}.. ({total_series} series, {} per target), config {config}, stopping in {duration} s",
        total_series / targets.max(1)
    );
    tokio::select! {
        () = tokio::time::sleep(Duration::from_secs(duration)) => {}
        Some(joined) = servers.join_next() => {
            joined??;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_stay_cumulative_and_values_change() {
        let target = Target {
            families: families(3, 2),
            steps: AtomicU64::new(0),
            size_hint: AtomicU64::new(0),
        };
        let first = target.body();
        let second = target.body();
        assert_ne!(first, second);
        let buckets: Vec<f64> = second
            .lines()
            .filter(|l| {
                l.starts_with("http_request_duration_seconds_bucket{handler=\"/api/v1/handler0\"")
            })
            .map(|l| l.rsplit(' ').next().unwrap().parse().unwrap())
            .collect();
        assert_eq!(buckets.len(), BUCKETS.len());
        assert!(buckets.windows(2).all(|w| w[0] <= w[1]), "{buckets:?}");
        let count: f64 = second
            .lines()
            .find(|l| {
                l.starts_with("http_request_duration_seconds_count{handler=\"/api/v1/handler0\"")
            })
            .and_then(|l| l.rsplit(' ').next())
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(buckets.last().copied(), Some(count));
    }
}
