//! The Alertmanager notifier of `metrics-tsdb`: the shared [`lgtm_rules::Notifier`] (queue,
//! drop counting, external labels, `alert_relabel_configs`, API v2 client), configured from
//! Prometheus' `alerting:` block and `global.external_labels`.

pub mod alertmanagers;

use std::ops::Deref;
use std::sync::Arc;

use lgtm_common::http::CancellationToken;

pub use lgtm_rules::notifier::{
    AlertmanagerSet, DEFAULT_QUEUE_CAPACITY, MAX_BATCH_SIZE, NotifierConfigError, NotifierMetrics,
    NotifierSettings, PostableAlert,
};

use crate::config::Config as PrometheusConfig;

/// Queues alerts and delivers them to the configured Alertmanagers.
#[derive(Debug)]
pub struct Notifier(Arc<lgtm_rules::Notifier>);

impl Notifier {
    /// A notifier with an empty configuration (it sends nowhere until configured).
    pub fn new(capacity: usize, metrics: NotifierMetrics) -> Arc<Self> {
        Arc::new(Self(lgtm_rules::Notifier::new(capacity, metrics)))
    }

    /// Applies `alerting:` and `global.external_labels`; on error the running settings stay.
    pub fn apply_config(&self, config: &PrometheusConfig) -> Result<(), NotifierConfigError> {
        let mut settings = NotifierSettings {
            external_labels: config.global.external_labels(),
            ..NotifierSettings::default()
        };
        if let Some(alerting) = &config.alerting {
            settings.relabel = alerting.alert_relabel_configs.clone();
            for (i, am) in alerting.alertmanagers.iter().enumerate() {
                settings.sets.push(Arc::new(alertmanagers::from_config(
                    &format!("config-{i}"),
                    am,
                )?));
            }
        }
        self.0.apply(settings);
        Ok(())
    }

    /// Delivers queued alerts until `shutdown`, then drains what is left once.
    pub fn spawn(&self, shutdown: CancellationToken) -> tokio::task::JoinHandle<()> {
        self.0.spawn(shutdown)
    }

    /// The shared notifier the rule manager hands alerts to.
    pub fn shared(&self) -> &Arc<lgtm_rules::Notifier> {
        &self.0
    }
}

impl Deref for Notifier {
    type Target = lgtm_rules::Notifier;

    fn deref(&self) -> &lgtm_rules::Notifier {
        &self.0
    }
}

#[cfg(test)]
mod tests;
