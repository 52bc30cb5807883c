//! The Alertmanager notifier (`notifier/notifier.go`): alerts from the rule manager get the
//! external labels and `alert_relabel_configs`, wait in a bounded queue (oldest dropped and
//! counted when full), and go out in batches of at most 64 as `POST /api/v2/alerts` to every
//! configured Alertmanager in parallel; a batch counts as delivered when any one accepts it.
//! Callers turn their own configuration into [`NotifierSettings`].

pub mod alertmanagers;

use std::collections::VecDeque;
use std::sync::Arc;

use lgtm_common::http::CancellationToken;
use lgtm_common::labels::Labels;
use lgtm_common::metrics::Registry;
use lgtm_common::metrics::prometheus_client::metrics::counter::Counter;
use lgtm_common::metrics::prometheus_client::metrics::family::Family;
use lgtm_common::metrics::prometheus_client::metrics::gauge::Gauge;
use lgtm_common::relabel::RelabelConfig;
use lgtm_common::time::format_rfc3339;
use parking_lot::{Mutex, RwLock};
use serde::Serialize;

pub use alertmanagers::{
    AlertmanagerSet, AlertmanagerSettings, NotifierConfigError, SendError, StaticTargets,
    TargetDiscovery,
};

use crate::group::NotifyAlert;

/// Largest number of alerts in one request (`maxBatchSize`).
pub const MAX_BATCH_SIZE: usize = 64;

/// Default `--alertmanager.notification-queue-capacity`.
pub const DEFAULT_QUEUE_CAPACITY: usize = 10_000;

/// The JSON body element of `POST /api/v2/alerts` (`models.PostableAlert`, Go field order).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PostableAlert {
    /// Annotations.
    pub annotations: std::collections::BTreeMap<String, String>,
    /// RFC 3339 end time.
    #[serde(rename = "endsAt")]
    pub ends_at: String,
    /// RFC 3339 start time.
    #[serde(rename = "startsAt")]
    pub starts_at: String,
    /// Link to the expression.
    #[serde(rename = "generatorURL")]
    pub generator_url: String,
    /// Labels.
    pub labels: Labels,
}

impl PostableAlert {
    fn from_alert(a: &NotifyAlert) -> Self {
        Self {
            annotations: a.annotations.clone(),
            ends_at: if a.ends_at > 0 {
                format_millis(a.ends_at)
            } else {
                "0001-01-01T00:00:00.000Z".to_owned()
            },
            starts_at: format_millis(a.starts_at),
            generator_url: a.generator_url.clone(),
            labels: a.labels.clone(),
        }
    }
}

/// RFC 3339 with exactly three fraction digits (`strfmt.DateTime`, what Prometheus sends).
fn format_millis(ms: i64) -> String {
    let secs = format_rfc3339(ms.div_euclid(1000).saturating_mul(1_000_000_000));
    let base = secs.strip_suffix('Z').unwrap_or(&secs);
    format!("{base}.{:03}Z", ms.rem_euclid(1000))
}

type AmLabels = Vec<(String, String)>;

/// The notifier's own metrics, named as Prometheus names them.
#[derive(Debug, Clone, Default)]
pub struct NotifierMetrics {
    /// `prometheus_notifications_dropped_total`.
    pub dropped: Counter,
    /// `prometheus_notifications_queue_length`.
    pub queue_length: Gauge,
    /// `prometheus_notifications_queue_capacity`.
    pub queue_capacity: Gauge,
    /// `prometheus_notifications_sent_total{alertmanager}`.
    pub sent: Family<AmLabels, Counter>,
    /// `prometheus_notifications_errors_total{alertmanager}`.
    pub errors: Family<AmLabels, Counter>,
    /// `prometheus_notifications_alertmanagers_discovered`.
    pub discovered: Gauge,
}

impl NotifierMetrics {
    /// Registers every metric in `registry` under Prometheus' names.
    pub fn register(registry: &Registry) -> Self {
        Self::register_prefixed(registry, "prometheus")
    }

    /// Registers every metric as `<prefix>_notifications_...` (Loki's ruler has its own).
    pub fn register_prefixed(registry: &Registry, prefix: &str) -> Self {
        let n = |s: &str| format!("{prefix}_{s}");
        Self {
            dropped: registry.counter(
                &n("notifications_dropped_total"),
                "Total number of alerts dropped due to errors when sending to Alertmanager.",
            ),
            queue_length: registry.gauge(
                &n("notifications_queue_length"),
                "The number of alert notifications in the queue.",
            ),
            queue_capacity: registry.gauge(
                &n("notifications_queue_capacity"),
                "The capacity of the alert notifications queue.",
            ),
            sent: registry.register(
                &n("notifications_sent_total"),
                "Total number of alerts sent.",
                Family::default(),
            ),
            errors: registry.register(
                &n("notifications_errors_total"),
                "Total number of sent alerts affected by errors.",
                Family::default(),
            ),
            discovered: registry.gauge(
                &n("notifications_alertmanagers_discovered"),
                "The number of alertmanagers discovered and active.",
            ),
        }
    }
}

/// Where and how alerts are sent; replaced as a whole on reload.
#[derive(Debug, Default)]
pub struct NotifierSettings {
    /// `global.external_labels`, added to alerts that lack them.
    pub external_labels: Labels,
    /// `alerting.alert_relabel_configs`, applied to every alert.
    pub relabel: Vec<RelabelConfig>,
    /// The Alertmanager sets (`alerting.alertmanagers`).
    pub sets: Vec<Arc<AlertmanagerSet>>,
}

/// Queues alerts and delivers them to Alertmanagers.
#[derive(Debug)]
pub struct Notifier {
    capacity: usize,
    queue: Mutex<VecDeque<PostableAlert>>,
    more: tokio::sync::Notify,
    settings: RwLock<NotifierSettings>,
    metrics: NotifierMetrics,
}

impl Notifier {
    /// A notifier with an empty configuration (it sends nowhere until configured).
    pub fn new(capacity: usize, metrics: NotifierMetrics) -> Arc<Self> {
        metrics.queue_capacity.set(capacity as i64);
        Arc::new(Self {
            capacity: capacity.max(1),
            queue: Mutex::new(VecDeque::new()),
            more: tokio::sync::Notify::new(),
            settings: RwLock::new(NotifierSettings::default()),
            metrics,
        })
    }

    /// Replaces where and how alerts are sent.
    pub fn apply(&self, settings: NotifierSettings) {
        let discovered: usize = settings.sets.iter().map(|s| s.urls().len()).sum();
        self.metrics.discovered.set(discovered as i64);
        *self.settings.write() = settings;
    }

    /// The Alertmanager URLs alerts go to (`/api/v1/alertmanagers`).
    pub fn alertmanager_urls(&self) -> Vec<String> {
        self.settings
            .read()
            .sets
            .iter()
            .flat_map(|s| s.urls())
            .collect()
    }

    /// The dropped alerts counter.
    pub fn dropped(&self) -> u64 {
        self.metrics.dropped.get()
    }

    /// Alerts waiting to be sent.
    pub fn queue_len(&self) -> usize {
        self.queue.lock().len()
    }

    /// Adds external labels (where the alert lacks them), applies `alert_relabel_configs`
    /// and enqueues; when the queue overflows the oldest alerts are dropped and counted.
    pub fn send(&self, alerts: Vec<NotifyAlert>) {
        if alerts.is_empty() {
            return;
        }
        let mut prepared: Vec<PostableAlert> = {
            let settings = self.settings.read();
            alerts
                .iter()
                .filter_map(|a| {
                    let mut labels = a.labels.clone();
                    for l in settings.external_labels.iter() {
                        if labels.get(&l.name).is_none_or(str::is_empty) {
                            labels = labels.with(&l.name, &l.value);
                        }
                    }
                    let labels = lgtm_common::relabel::process(&labels, &settings.relabel)?;
                    if labels.is_empty() {
                        return None;
                    }
                    Some(PostableAlert::from_alert(&NotifyAlert {
                        labels,
                        ..a.clone()
                    }))
                })
                .collect()
        };
        let mut queue = self.queue.lock();
        if prepared.len() > self.capacity {
            let excess = prepared.len() - self.capacity;
            prepared.drain(..excess);
            self.metrics.dropped.inc_by(excess as u64);
        }
        let overflow = (queue.len() + prepared.len()).saturating_sub(self.capacity);
        if overflow > 0 {
            queue.drain(..overflow);
            self.metrics.dropped.inc_by(overflow as u64);
            tracing::warn!(
                dropped = overflow,
                "alert notification queue full, dropping alerts"
            );
        }
        queue.extend(prepared);
        self.metrics.queue_length.set(queue.len() as i64);
        drop(queue);
        self.more.notify_one();
    }

    /// Takes up to [`MAX_BATCH_SIZE`] queued alerts (the sender loop's step; tests call it).
    pub fn next_batch(&self) -> Vec<PostableAlert> {
        let mut queue = self.queue.lock();
        let n = queue.len().min(MAX_BATCH_SIZE);
        let batch: Vec<PostableAlert> = queue.drain(..n).collect();
        self.metrics.queue_length.set(queue.len() as i64);
        batch
    }

    /// Sends one batch to every Alertmanager; true when at least one accepted it.
    pub async fn send_all(&self, batch: &[PostableAlert]) -> bool {
        let sets = self.settings.read().sets.clone();
        if sets.is_empty() {
            return true;
        }
        let mut tasks = tokio::task::JoinSet::new();
        for set in sets {
            set.refresh();
            let alerts = set.relabel_alerts(batch);
            if alerts.is_empty() {
                continue;
            }
            let body = match serde_json::to_vec(&alerts) {
                Ok(body) => Arc::new(body),
                Err(e) => {
                    tracing::error!(error = %e, "encoding alerts failed");
                    continue;
                }
            };
            for url in set.urls() {
                let (set, body, metrics) =
                    (Arc::clone(&set), Arc::clone(&body), self.metrics.clone());
                let count = alerts.len() as u64;
                tasks.spawn(async move {
                    let am = vec![("alertmanager".to_owned(), url.clone())];
                    match set.post(&url, body.to_vec()).await {
                        Ok(()) => {
                            metrics.sent.get_or_create(&am).inc_by(count);
                            true
                        }
                        Err(e) => {
                            tracing::error!(alertmanager = %url, count, error = %e, "error sending alerts");
                            metrics.errors.get_or_create(&am).inc_by(count);
                            false
                        }
                    }
                });
            }
        }
        let mut any = false;
        let mut attempted = false;
        while let Some(done) = tasks.join_next().await {
            attempted = true;
            any |= done.unwrap_or(false);
        }
        any || !attempted
    }

    /// Delivers queued alerts until `shutdown`, then drains what is left once.
    pub fn spawn(self: &Arc<Self>, shutdown: CancellationToken) -> tokio::task::JoinHandle<()> {
        let me = Arc::clone(self);
        tokio::spawn(async move {
            loop {
                let batch = me.next_batch();
                if batch.is_empty() {
                    tokio::select! {
                        () = shutdown.cancelled() => break,
                        () = me.more.notified() => continue,
                    }
                }
                if !me.send_all(&batch).await {
                    me.metrics.dropped.inc_by(batch.len() as u64);
                }
            }
            loop {
                let batch = me.next_batch();
                if batch.is_empty() {
                    break;
                }
                if !me.send_all(&batch).await {
                    me.metrics.dropped.inc_by(batch.len() as u64);
                }
            }
        })
    }
}

#[cfg(test)]
mod tests;
