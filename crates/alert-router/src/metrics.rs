//! Self-metrics under Alertmanager's names, registered into the shared
//! `lgtm_common::metrics::Registry` the router is given (process metrics included).
//!
//! Counters are bumped where things happen; gauges (`alertmanager_alerts`,
//! `alertmanager_silences`, cluster position) are set from the stores at scrape time.

use std::sync::OnceLock;
use std::sync::atomic::AtomicU64;

use lgtm_common::metrics::Registry;
use lgtm_common::metrics::prometheus_client::metrics::counter::Counter;
use lgtm_common::metrics::prometheus_client::metrics::family::Family;
use lgtm_common::metrics::prometheus_client::metrics::gauge::Gauge;

use crate::notify::INTEGRATION_NAMES;

type Labels = Vec<(String, String)>;
type FloatGauge = Gauge<f64, AtomicU64>;

fn l(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// The router's metrics.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    notifications: Family<Labels, Counter>,
    notifications_failed: Family<Labels, Counter>,
    requests: Family<Labels, Counter>,
    requests_failed: Family<Labels, Counter>,
    received: Family<Labels, Counter>,
    invalid: Family<Labels, Counter>,
    alerts: Family<Labels, Gauge>,
    silences: Family<Labels, Gauge>,
    cluster_enabled: Gauge,
    peer_position: OnceLock<Gauge>,
    config_hash: FloatGauge,
    reload_success: Gauge,
    reload_timestamp: FloatGauge,
}

/// Gauge values sampled at scrape time.
#[derive(Debug, Default)]
pub struct Gauges {
    /// Alerts by state (`active`, `suppressed`, `unprocessed`).
    pub alerts: Vec<(&'static str, u64)>,
    /// Silences by state.
    pub silences: Vec<(&'static str, u64)>,
    /// This replica's cluster position, when clustered.
    pub peer_position: Option<usize>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new(Registry::with_process_metrics())
    }
}

impl Metrics {
    /// Registers every metric into `registry`.
    pub fn new(registry: Registry) -> Self {
        let r = &registry;
        let m = Self {
            notifications: r.counter_family(
                "alertmanager_notifications_total",
                "The total number of attempted notifications.",
            ),
            notifications_failed: r.counter_family(
                "alertmanager_notifications_failed_total",
                "The total number of failed notifications.",
            ),
            requests: r.counter_family(
                "alertmanager_notification_requests_total",
                "The total number of attempted notification requests.",
            ),
            requests_failed: r.counter_family(
                "alertmanager_notification_requests_failed_total",
                "The total number of failed notification requests.",
            ),
            received: r.counter_family(
                "alertmanager_alerts_received_total",
                "The total number of received alerts.",
            ),
            invalid: r.counter_family(
                "alertmanager_alerts_invalid_total",
                "The total number of received alerts that were invalid.",
            ),
            alerts: r.gauge_family("alertmanager_alerts", "How many alerts by state."),
            silences: r.gauge_family("alertmanager_silences", "How many silences by state."),
            cluster_enabled: r.gauge(
                "alertmanager_cluster_enabled",
                "Indicates whether the clustering is enabled or not.",
            ),
            peer_position: OnceLock::new(),
            config_hash: r.register(
                "alertmanager_config_hash",
                "Hash of the currently loaded alertmanager configuration.",
                FloatGauge::default(),
            ),
            reload_success: r.gauge(
                "alertmanager_config_last_reload_successful",
                "Whether the last configuration reload attempt was successful.",
            ),
            reload_timestamp: r.register(
                "alertmanager_config_last_reload_success_timestamp_seconds",
                "Timestamp of the last successful configuration reload.",
                FloatGauge::default(),
            ),
            registry: registry.clone(),
        };
        let build: Family<Labels, Gauge> = r.gauge_family(
            "alertmanager_build_info",
            "A metric with a constant '1' value labeled by version of the router.",
        );
        build
            .get_or_create(&l(&[
                ("version", env!("CARGO_PKG_VERSION")),
                ("implementation", "alert-router"),
            ]))
            .set(1);
        // Alertmanager exports every integration's counters from the start.
        for name in INTEGRATION_NAMES {
            let labels = l(&[("integration", name)]);
            for f in [
                &m.notifications,
                &m.notifications_failed,
                &m.requests,
                &m.requests_failed,
            ] {
                drop(f.get_or_create(&labels));
            }
        }
        for status in ["firing", "resolved"] {
            drop(
                m.received
                    .get_or_create(&l(&[("status", status), ("version", "v2")])),
            );
        }
        drop(m.invalid.get_or_create(&l(&[("version", "v2")])));
        m
    }

    fn bump(f: &Family<Labels, Counter>, integration: &str) {
        f.get_or_create(&l(&[("integration", integration)])).inc();
    }

    /// A notification was attempted (once per notification, before retries).
    pub fn notification(&self, integration: &str) {
        Self::bump(&self.notifications, integration);
    }

    /// A notification failed for good.
    pub fn notification_failed(&self, integration: &str) {
        Self::bump(&self.notifications_failed, integration);
    }

    /// One request to an integration.
    pub fn request(&self, integration: &str) {
        Self::bump(&self.requests, integration);
    }

    /// One failed request to an integration.
    pub fn request_failed(&self, integration: &str) {
        Self::bump(&self.requests_failed, integration);
    }

    /// Alerts received through the API.
    pub fn alerts_received(&self, firing: u64, resolved: u64) {
        self.received
            .get_or_create(&l(&[("status", "firing"), ("version", "v2")]))
            .inc_by(firing);
        self.received
            .get_or_create(&l(&[("status", "resolved"), ("version", "v2")]))
            .inc_by(resolved);
    }

    /// Alerts rejected by validation.
    pub fn alerts_invalid(&self, n: u64) {
        self.invalid
            .get_or_create(&l(&[("version", "v2")]))
            .inc_by(n);
    }

    /// Outcome of a configuration (re)load.
    pub fn reloaded(&self, ok: bool, at_unix: f64, hash: u64) {
        self.reload_success.set(i64::from(ok));
        if ok {
            self.reload_timestamp.set(at_unix);
            self.config_hash.set(hash as f64);
        }
    }

    /// The text exposition, gauges set from `g` first.
    pub fn render(&self, g: &Gauges) -> String {
        for (state, n) in &g.alerts {
            self.alerts
                .get_or_create(&l(&[("state", state)]))
                .set(*n as i64);
        }
        for (state, n) in &g.silences {
            self.silences
                .get_or_create(&l(&[("state", state)]))
                .set(*n as i64);
        }
        self.cluster_enabled
            .set(i64::from(g.peer_position.is_some()));
        if let Some(p) = g.peer_position {
            self.peer_position
                .get_or_init(|| {
                    self.registry.gauge(
                        "alertmanager_peer_position",
                        "Position the Alertmanager instance believes it's in.",
                    )
                })
                .set(p as i64);
        }
        self.registry.encode_text().unwrap_or_default()
    }
}
