//! Self-instrumentation: a metrics [`Registry`] handle that each service creates once and
//! passes to whatever registers metrics (no global registry), rendered at `/metrics` in the
//! Prometheus text exposition format 0.0.4 (or OpenMetrics 1.0 when the scraper asks for it).
//!
//! Built on the maintained `prometheus-client` crate, re-exported as [`prometheus_client`] so
//! every crate uses the same version for its metric types and label sets. Two conventions of
//! that crate are smoothed over here so names match the Go clients: counters are registered
//! without the `_total` suffix (the encoder appends it; [`Registry::register`] strips a
//! trailing `_total` for you), and the help text gets a final `.` appended (a help text that
//! already ends in `.` is not doubled).
//!
//! [`ProcessCollector`] adds the standard `process_*` metrics of client_golang, read from
//! `/proc` on each scrape (Linux only; elsewhere it reports nothing).

use std::fmt;
use std::sync::Arc;

use parking_lot::RwLock;
pub use prometheus_client;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::{Family, MetricConstructor};
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Metric;

/// `Content-Type` of the Prometheus text format 0.0.4.
pub const TEXT_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";
/// `Content-Type` of OpenMetrics text 1.0.0.
pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";
/// client_golang's `prometheus.DefBuckets`, the default of dskit's request histograms.
pub const DEFAULT_BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Builds histograms with fixed buckets inside a [`Family`] (a nameable constructor type, so
/// families can live in structs).
#[derive(Debug, Clone)]
pub struct Buckets(pub Arc<[f64]>);

impl Buckets {
    /// Constructor for these bucket upper bounds (`+Inf` is implicit).
    pub fn new(bounds: &[f64]) -> Self {
        Buckets(bounds.into())
    }
}

impl MetricConstructor<Histogram> for Buckets {
    fn new_metric(&self) -> Histogram {
        Histogram::new(self.0.iter().copied())
    }
}

/// A family of histograms sharing one bucket layout.
pub type HistogramFamily<L> = Family<L, Histogram, Buckets>;

/// A metric name registered twice in one [`Registry`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("metric {0:?} is already registered")]
pub struct DuplicateMetric(pub String);

/// The registry handle services pass around; cheap to clone, shared by all clones.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    inner: Arc<RwLock<prometheus_client::registry::Registry>>,
    names: Arc<parking_lot::Mutex<std::collections::HashSet<String>>>,
}

fn help_text(help: &str) -> &str {
    help.strip_suffix('.').unwrap_or(help)
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty registry with the standard `process_*` metrics registered.
    pub fn with_process_metrics() -> Self {
        let reg = Self::new();
        reg.register_collector(ProcessCollector);
        reg
    }

    /// Register any `prometheus-client` metric under `name` (a counter's `_total` suffix is
    /// stripped, the encoder adds it back).
    ///
    /// A name registered twice would make the exposition unparseable (Prometheus refuses a
    /// second `# TYPE` line), so the second registration is skipped with an error log and the
    /// returned metric is not exported; [`Registry::try_register`] reports it instead.
    pub fn register<M: Metric + Clone>(&self, name: &str, help: &str, metric: M) -> M {
        if let Err(err) = self.try_register(name, help, metric.clone()) {
            tracing::error!(error = %err, "metric not registered");
        }
        metric
    }

    /// Register `metric`, failing if `name` is already taken.
    pub fn try_register<M: Metric>(
        &self,
        name: &str,
        help: &str,
        metric: M,
    ) -> Result<(), DuplicateMetric> {
        let name = if metric.metric_type() == prometheus_client::metrics::MetricType::Counter {
            name.strip_suffix("_total").unwrap_or(name)
        } else {
            name
        };
        if !self.names.lock().insert(name.to_owned()) {
            return Err(DuplicateMetric(name.to_owned()));
        }
        self.inner.write().register(name, help_text(help), metric);
        Ok(())
    }

    /// Register a collector producing metrics on each scrape.
    pub fn register_collector<C: Collector>(&self, collector: C) {
        self.inner.write().register_collector(Box::new(collector));
    }

    /// A new counter registered as `name`.
    pub fn counter(&self, name: &str, help: &str) -> Counter {
        self.register(name, help, Counter::default())
    }

    /// A new gauge registered as `name`.
    pub fn gauge(&self, name: &str, help: &str) -> Gauge {
        self.register(name, help, Gauge::default())
    }

    /// A new histogram with `buckets`.
    pub fn histogram(&self, name: &str, help: &str, buckets: &[f64]) -> Histogram {
        self.register(name, help, Histogram::new(buckets.iter().copied()))
    }

    /// A new labelled counter family.
    pub fn counter_family<L>(&self, name: &str, help: &str) -> Family<L, Counter>
    where
        L: EncodeLabelSet + Clone + std::hash::Hash + Eq + fmt::Debug + Send + Sync + 'static,
    {
        self.register(name, help, Family::default())
    }

    /// A new labelled gauge family.
    pub fn gauge_family<L>(&self, name: &str, help: &str) -> Family<L, Gauge>
    where
        L: EncodeLabelSet + Clone + std::hash::Hash + Eq + fmt::Debug + Send + Sync + 'static,
    {
        self.register(name, help, Family::default())
    }

    /// A new labelled histogram family with `buckets`.
    pub fn histogram_family<L>(&self, name: &str, help: &str, buckets: &[f64]) -> HistogramFamily<L>
    where
        L: EncodeLabelSet + Clone + std::hash::Hash + Eq + fmt::Debug + Send + Sync + 'static,
    {
        self.register(
            name,
            help,
            Family::new_with_constructor(Buckets::new(buckets)),
        )
    }

    /// Render in the Prometheus text format 0.0.4.
    pub fn encode_text(&self) -> Result<String, fmt::Error> {
        let mut out = String::new();
        prometheus_client::encoding::prometheus_text::encode(&mut out, &self.inner.read())?;
        Ok(out)
    }

    /// Render in OpenMetrics text 1.0 (ends with `# EOF`).
    pub fn encode_openmetrics(&self) -> Result<String, fmt::Error> {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.inner.read())?;
        Ok(out)
    }

    /// Render for a scraper's `Accept` header: OpenMetrics if it lists
    /// `application/openmetrics-text`, else text 0.0.4. Returns `(content type, body)`.
    pub fn encode_for_accept(
        &self,
        accept: Option<&str>,
    ) -> Result<(&'static str, String), fmt::Error> {
        if accept.is_some_and(|a| a.contains("application/openmetrics-text")) {
            Ok((OPENMETRICS_CONTENT_TYPE, self.encode_openmetrics()?))
        } else {
            Ok((TEXT_CONTENT_TYPE, self.encode_text()?))
        }
    }
}

/// The standard `process_*` metrics of client_golang, read from `/proc/self` per scrape.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessCollector;

/// A snapshot of the process figures [`ProcessCollector`] reports.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ProcessStats {
    /// User + system CPU seconds.
    pub cpu_seconds: f64,
    /// Resident set size in bytes.
    pub resident_memory_bytes: u64,
    /// Virtual memory size in bytes.
    pub virtual_memory_bytes: u64,
    /// Process start time, seconds since the Unix epoch.
    pub start_time_seconds: f64,
    /// Open file descriptors, if readable.
    pub open_fds: Option<u64>,
    /// Soft limit on open file descriptors, if readable.
    pub max_fds: Option<u64>,
}

/// Clock ticks per second of `/proc` times (`USER_HZ`; 100 on every Linux ABI).
const USER_HZ: f64 = 100.0;

impl ProcessStats {
    /// Read the current process' figures from `/proc`; `None` where `/proc` is unavailable.
    pub fn read() -> Option<ProcessStats> {
        let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
        let status = std::fs::read_to_string("/proc/self/status").ok()?;
        let boot = std::fs::read_to_string("/proc/stat").ok()?;
        let mut stats = parse_proc(&stat, &status, &boot)?;
        stats.open_fds = std::fs::read_dir("/proc/self/fd")
            .ok()
            .map(|d| d.count() as u64);
        stats.max_fds = std::fs::read_to_string("/proc/self/limits")
            .ok()
            .and_then(|l| parse_max_fds(&l));
        Some(stats)
    }
}

fn parse_proc(stat: &str, status: &str, boot: &str) -> Option<ProcessStats> {
    // Fields after the command name (which may contain spaces and parentheses).
    let rest = &stat[stat.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // f[0] is field 3 (state): field N is f[N - 3].
    let field = |n: usize| f.get(n - 3).and_then(|v| v.parse::<u64>().ok());
    let utime = field(14)?;
    let stime = field(15)?;
    let start_ticks = field(22)?;
    let vsize = field(23)?;
    let rss_kb = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0);
    let btime = boot
        .lines()
        .find_map(|l| l.strip_prefix("btime "))
        .and_then(|v| v.trim().parse::<u64>().ok())?;
    Some(ProcessStats {
        cpu_seconds: (utime + stime) as f64 / USER_HZ,
        resident_memory_bytes: rss_kb * 1024,
        virtual_memory_bytes: vsize,
        start_time_seconds: btime as f64 + start_ticks as f64 / USER_HZ,
        open_fds: None,
        max_fds: None,
    })
}

fn parse_max_fds(limits: &str) -> Option<u64> {
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line["Max open files".len()..]
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

impl Collector for ProcessCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), fmt::Error> {
        let Some(s) = ProcessStats::read() else {
            return Ok(());
        };
        let cpu = ConstCounter::new(s.cpu_seconds);
        cpu.encode(encoder.encode_descriptor(
            "process_cpu_seconds",
            "Total user and system CPU time spent in seconds.",
            None,
            cpu.metric_type(),
        )?)?;
        let gauges: [(&str, &str, Option<f64>); 5] = [
            (
                "process_resident_memory_bytes",
                "Resident memory size in bytes.",
                Some(s.resident_memory_bytes as f64),
            ),
            (
                "process_virtual_memory_bytes",
                "Virtual memory size in bytes.",
                Some(s.virtual_memory_bytes as f64),
            ),
            (
                "process_start_time_seconds",
                "Start time of the process since unix epoch in seconds.",
                Some(s.start_time_seconds),
            ),
            (
                "process_open_fds",
                "Number of open file descriptors.",
                s.open_fds.map(|v| v as f64),
            ),
            (
                "process_max_fds",
                "Maximum number of open file descriptors.",
                s.max_fds.map(|v| v as f64),
            ),
        ];
        for (name, help, value) in gauges {
            if let Some(v) = value {
                let g = ConstGauge::new(v);
                g.encode(encoder.encode_descriptor(name, help, None, g.metric_type())?)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_format_matches_go_client_naming() {
        let reg = Registry::new();
        let c = reg.counter("lgtm_things_total", "Things seen.");
        c.inc_by(3);
        let g = reg.gauge("lgtm_queue_length", "Queue length");
        g.set(7);
        let fam = reg.counter_family::<Vec<(String, String)>>(
            "prometheus_http_requests_total",
            "Counter of HTTP requests.",
        );
        fam.get_or_create(&vec![
            ("code".to_owned(), "200".to_owned()),
            ("handler".to_owned(), "/api/v1/query".to_owned()),
        ])
        .inc();
        let out = reg.encode_text().unwrap();
        assert!(
            out.contains(
                "# HELP lgtm_things_total Things seen.\n# TYPE lgtm_things_total counter\nlgtm_things_total 3\n"
            ),
            "{out}"
        );
        assert!(
            out.contains("# HELP lgtm_queue_length Queue length.\n# TYPE lgtm_queue_length gauge\nlgtm_queue_length 7\n"),
            "{out}"
        );
        assert!(
            out.contains(
                "prometheus_http_requests_total{code=\"200\",handler=\"/api/v1/query\"} 1\n"
            ),
            "{out}"
        );
        assert!(!out.contains("# EOF"));
        assert!(!out.contains("_total_total"));
    }

    #[test]
    fn duplicate_names_are_refused() {
        let reg = Registry::new();
        reg.counter("dup_total", "first").inc();
        assert_eq!(
            reg.try_register("dup", "second", Counter::<u64>::default()),
            Err(DuplicateMetric("dup".to_owned()))
        );
        let again = reg.counter("dup_total", "third");
        again.inc_by(5);
        let out = reg.encode_text().unwrap();
        assert_eq!(out.matches("# TYPE dup_total counter").count(), 1, "{out}");
        assert!(out.contains("dup_total 1\n"), "{out}");
    }

    #[test]
    fn histogram_buckets_render() {
        let reg = Registry::new();
        let h = reg.histogram_family::<Vec<(String, String)>>(
            "loki_request_duration_seconds",
            "Time (in seconds) spent serving HTTP requests.",
            &DEFAULT_BUCKETS,
        );
        h.get_or_create(&vec![("route".to_owned(), "ready".to_owned())])
            .observe(0.02);
        let out = reg.encode_text().unwrap();
        assert!(out.contains("# TYPE loki_request_duration_seconds histogram\n"));
        assert!(
            out.contains("loki_request_duration_seconds_bucket{route=\"ready\",le=\"0.01\"} 0\n"),
            "{out}"
        );
        assert!(
            out.contains("loki_request_duration_seconds_bucket{route=\"ready\",le=\"0.025\"} 1\n"),
            "{out}"
        );
        assert!(
            out.contains("loki_request_duration_seconds_bucket{route=\"ready\",le=\"+Inf\"} 1\n"),
            "{out}"
        );
        assert!(
            out.contains("loki_request_duration_seconds_count{route=\"ready\"} 1\n"),
            "{out}"
        );
        assert!(out.contains("Time (in seconds) spent serving HTTP requests.\n"));
        assert!(!out.contains("requests..\n"));
    }

    #[test]
    fn openmetrics_on_request() {
        let reg = Registry::new();
        reg.counter("x_total", "X").inc();
        let (ct, body) = reg
            .encode_for_accept(Some(
                "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5",
            ))
            .unwrap();
        assert_eq!(ct, OPENMETRICS_CONTENT_TYPE);
        assert!(body.ends_with("# EOF\n"));
        let (ct, body) = reg.encode_for_accept(None).unwrap();
        assert_eq!(ct, TEXT_CONTENT_TYPE);
        assert!(body.contains("x_total 1\n"));
    }

    #[test]
    fn proc_parsing() {
        let stat = "4242 (my (weird) prog) S 1 4242 4242 0 -1 4194560 1000 0 0 0 250 130 0 0 20 0 8 0 123456 1048576000 5000 18446744073709551615";
        let status = "Name:\tx\nVmRSS:\t   20480 kB\nThreads:\t8\n";
        let boot = "cpu  1 2 3\nbtime 1700000000\nprocesses 10\n";
        let s = parse_proc(stat, status, boot).unwrap();
        assert_eq!(s.cpu_seconds, 3.8);
        assert_eq!(s.resident_memory_bytes, 20480 * 1024);
        assert_eq!(s.virtual_memory_bytes, 1_048_576_000);
        assert_eq!(s.start_time_seconds, 1_700_000_000.0 + 1234.56);
        let limits = "Limit                     Soft Limit           Hard Limit           Units     \nMax open files            1024                 524288               files     \n";
        assert_eq!(parse_max_fds(limits), Some(1024));
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn process_metrics_on_linux() {
        let reg = Registry::with_process_metrics();
        let out = reg.encode_text().unwrap();
        {
            for name in [
                "process_cpu_seconds_total ",
                "process_resident_memory_bytes ",
                "process_start_time_seconds ",
                "process_open_fds ",
                "process_max_fds ",
            ] {
                assert!(
                    out.contains(&format!("\n{name}")),
                    "{name} missing in\n{out}"
                );
            }
            assert!(out.contains("# TYPE process_cpu_seconds_total counter\n"));
            let rss: f64 = out
                .lines()
                .find_map(|l| l.strip_prefix("process_resident_memory_bytes "))
                .unwrap()
                .parse()
                .unwrap();
            assert!(rss > 1e6, "{rss}");
        }
    }
}
