//! The synthetic fleet: node-exporter-like series with realistic value patterns.

use lgtm_proto::prometheus as pb;

/// Metric families per node and how many series each has.
const FAMILIES: &[(&str, Kind, usize)] = &[
    ("node_cpu_seconds_total", Kind::Counter, 16),
    ("node_memory_MemAvailable_bytes", Kind::Gauge, 1),
    ("node_filesystem_avail_bytes", Kind::Gauge, 6),
    ("node_network_receive_bytes_total", Kind::Counter, 4),
    ("node_network_transmit_bytes_total", Kind::Counter, 4),
    ("node_disk_io_time_seconds_total", Kind::Counter, 4),
    ("node_load1", Kind::Gauge, 1),
    ("http_request_duration_seconds_bucket", Kind::Bucket, 12),
    ("http_requests_total", Kind::Counter, 12),
];

#[derive(Clone, Copy)]
enum Kind {
    Counter,
    Gauge,
    Bucket,
}

/// Series per simulated node.
pub(crate) fn series_per_node() -> usize {
    FAMILIES.iter().map(|f| f.2).sum()
}

/// One series' identity and value model.
pub(crate) struct SeriesModel {
    labels: Vec<pb::Label>,
    kind: Kind,
    seed: u64,
}

fn label(name: &str, value: impl Into<String>) -> pb::Label {
    pb::Label {
        name: name.into(),
        value: value.into(),
    }
}

/// Builds `count` series (rounded up to whole nodes).
pub(crate) fn fleet(count: usize) -> Vec<SeriesModel> {
    let nodes = count.div_ceil(series_per_node());
    let mut out = Vec::with_capacity(nodes * series_per_node());
    for node in 0..nodes {
        for (family, kind, n) in FAMILIES {
            for i in 0..*n {
                let mut labels = vec![
                    label("__name__", *family),
                    label("instance", format!("node-{node}:9100")),
                    label("job", "node"),
                ];
                match kind {
                    Kind::Bucket => {
                        let les = [
                            "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5",
                            "5", "10", "+Inf",
                        ];
                        labels.push(label("le", les[i % les.len()]));
                    }
                    _ if *n > 1 => labels.push(label("device", format!("dev{i}"))),
                    _ => {}
                }
                labels.sort_by(|a, b| a.name.cmp(&b.name));
                out.push(SeriesModel {
                    labels,
                    kind: *kind,
                    seed: (node as u64) << 16 | i as u64,
                });
            }
        }
    }
    out.truncate(count.max(1));
    out
}

impl SeriesModel {
    /// The value at scrape `step` (counters grow by varying increments, gauges wander).
    pub(crate) fn value(&self, step: u64) -> f64 {
        let noise = (self
            .seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(step.wrapping_mul(1442695040888963407))
            >> 40) as f64;
        match self.kind {
            Kind::Counter => (step * (1 + self.seed % 97)) as f64 + (noise % 13.0),
            Kind::Bucket => (step * (1 + self.seed % 7)) as f64,
            Kind::Gauge => 1.0e9 + (self.seed % 1000) as f64 * 1.0e6 + (noise % 4096.0) * 1024.0,
        }
    }

    /// Protobuf time series with one sample.
    pub(crate) fn sample(&self, step: u64, timestamp_ms: i64) -> pb::TimeSeries {
        pb::TimeSeries {
            labels: self.labels.clone(),
            samples: vec![pb::Sample {
                value: self.value(step),
                timestamp: timestamp_ms,
            }],
            ..Default::default()
        }
    }
}
