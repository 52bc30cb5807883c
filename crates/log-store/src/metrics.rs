//! Self-metrics of the log store, under Loki's names so existing dashboards and alerts keep
//! working: received and discarded lines/bytes per tenant (with Loki's discard reasons).

use lgtm_common::metrics::Registry;
use lgtm_common::metrics::prometheus_client::metrics::counter::Counter;
use lgtm_common::metrics::prometheus_client::metrics::family::Family;

type Labels = Vec<(String, String)>;

/// Push-path counters.
#[derive(Debug, Clone)]
pub struct PushMetrics {
    lines_received: Family<Labels, Counter>,
    bytes_received: Family<Labels, Counter>,
    discarded_samples: Family<Labels, Counter>,
    discarded_bytes: Family<Labels, Counter>,
}

impl PushMetrics {
    /// Registers the counters in `registry`.
    pub fn new(registry: &Registry) -> Self {
        PushMetrics {
            lines_received: registry.counter_family(
                "loki_distributor_lines_received",
                "The total number of lines received per tenant",
            ),
            bytes_received: registry.counter_family(
                "loki_distributor_bytes_received",
                "The total number of uncompressed bytes received per tenant",
            ),
            discarded_samples: registry.counter_family(
                "loki_discarded_samples",
                "The total number of samples that were discarded",
            ),
            discarded_bytes: registry.counter_family(
                "loki_discarded_bytes",
                "The total number of bytes that were discarded",
            ),
        }
    }

    /// Lines accepted for `tenant`.
    pub fn received(&self, tenant: &str, lines: u64, bytes: u64) {
        let l = vec![("tenant".to_owned(), tenant.to_owned())];
        self.lines_received.get_or_create(&l).inc_by(lines);
        self.bytes_received.get_or_create(&l).inc_by(bytes);
    }

    /// Lines refused for `reason` (Loki's reason names: `line_too_long`, `rate_limited`, …).
    pub fn discarded(&self, tenant: &str, reason: &str, lines: u64, bytes: u64) {
        let l = vec![
            ("reason".to_owned(), reason.to_owned()),
            ("tenant".to_owned(), tenant.to_owned()),
        ];
        self.discarded_samples.get_or_create(&l).inc_by(lines);
        self.discarded_bytes.get_or_create(&l).inc_by(bytes);
    }
}
