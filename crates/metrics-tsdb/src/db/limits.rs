//! Why a sample was refused, with the upstream's texts: Prometheus' append errors, and for the
//! per-tenant limits Prometheus lacks, Mimir's (`-ingester.max-global-series-per-user`,
//! `-validation.max-label-names-per-series`), which remote-write senders and operators know.
//! Also the `prometheus_tsdb_*` storage metrics.

use lgtm_common::labels::Labels;
use lgtm_common::metrics::Registry;
use lgtm_common::metrics::prometheus_client::metrics::counter::Counter;
use lgtm_common::metrics::prometheus_client::metrics::gauge::Gauge;

use super::LoadedBlock;
use crate::head::AppendError;

/// A refused sample or series.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    /// Prometheus' append rules (out of order, duplicate, out of bounds, ...).
    #[error(transparent)]
    Append(AppendError),
    /// The store holds as many series as `--ingester.max-global-series-per-user` allows.
    #[error(
        "per-user series limit of {limit} exceeded (err-mimir-max-series-per-user). To adjust the related per-tenant limit, configure -ingester.max-global-series-per-user, or contact your service administrator."
    )]
    SeriesLimit {
        /// The configured limit.
        limit: usize,
    },
    /// The series has more labels than `--validation.max-label-names-per-series` allows.
    #[error(
        "received a series whose number of labels exceeds the limit (actual: {actual}, limit: {limit}) series: '{series}' (err-mimir-max-label-names-per-series). To adjust the related per-tenant limit, configure -validation.max-label-names-per-series, or contact your service administrator."
    )]
    TooManyLabels {
        /// Labels of the series (metric name included).
        actual: usize,
        /// The configured limit.
        limit: usize,
        /// The series as Mimir prints it (`name{a="b", ...}`, cut at 200 characters).
        series: String,
    },
}

impl From<AppendError> for Rejection {
    fn from(e: AppendError) -> Self {
        match e {
            AppendError::SeriesLimit { limit } => Rejection::SeriesLimit { limit },
            other => Rejection::Append(other),
        }
    }
}

/// The series as Go's `model.Metric.String()` prints it: the metric name, then the other
/// labels in braces; Mimir cuts it at 200 characters and appends `…` when it did.
fn mimir_series(labels: &Labels) -> String {
    let name = labels.metric_name().unwrap_or("");
    let rest: Vec<String> = labels
        .iter()
        .filter(|l| l.name != "__name__")
        .map(|l| format!("{}={}", l.name, lgtm_common::labels::quote(&l.value)))
        .collect();
    let full = if rest.is_empty() {
        if name.is_empty() {
            "{}".to_owned()
        } else {
            name.to_owned()
        }
    } else {
        format!("{name}{{{}}}", rest.join(", "))
    };
    if full.chars().count() > 200 {
        let mut cut: String = full.chars().take(200).collect();
        cut.push('…');
        cut
    } else {
        full
    }
}

/// Refuses a series with more labels than `limit` (0 = no limit), as Mimir's distributor.
pub(super) fn check_labels(labels: &Labels, limit: usize) -> Result<(), Rejection> {
    if limit > 0 && labels.len() > limit {
        return Err(Rejection::TooManyLabels {
            actual: labels.len(),
            limit,
            series: mimir_series(labels),
        });
    }
    Ok(())
}

/// Storage metrics under Prometheus' names.
#[derive(Debug, Clone, Default)]
pub struct DbMetrics {
    /// `prometheus_tsdb_compactions_total`.
    pub compactions: Counter,
    /// `prometheus_tsdb_compactions_failed_total`.
    pub compactions_failed: Counter,
    /// `prometheus_tsdb_size_retentions_total`.
    pub size_retentions: Counter,
    /// `prometheus_tsdb_time_retentions_total`.
    pub time_retentions: Counter,
    /// `prometheus_tsdb_blocks_loaded`.
    pub blocks_loaded: Gauge,
    /// `prometheus_tsdb_storage_blocks_bytes`.
    pub blocks_bytes: Gauge,
    /// `prometheus_tsdb_retention_limit_bytes`.
    pub retention_limit_bytes: Gauge,
}

impl DbMetrics {
    /// Registers every metric (with Prometheus' help texts) for `/metrics`.
    pub fn register(&self, registry: &Registry) {
        registry.register(
            "prometheus_tsdb_compactions_total",
            "Total number of compactions that were executed for the partition",
            self.compactions.clone(),
        );
        registry.register(
            "prometheus_tsdb_compactions_failed_total",
            "Total number of compactions that failed for the partition",
            self.compactions_failed.clone(),
        );
        registry.register(
            "prometheus_tsdb_size_retentions_total",
            "The number of times that blocks were deleted because the maximum number of bytes was exceeded",
            self.size_retentions.clone(),
        );
        registry.register(
            "prometheus_tsdb_time_retentions_total",
            "The number of times that blocks were deleted because the maximum time limit was exceeded",
            self.time_retentions.clone(),
        );
        registry.register(
            "prometheus_tsdb_blocks_loaded",
            "Number of currently loaded data blocks",
            self.blocks_loaded.clone(),
        );
        registry.register(
            "prometheus_tsdb_storage_blocks_bytes",
            "The number of bytes that are currently used for local storage by all blocks",
            self.blocks_bytes.clone(),
        );
        registry.register(
            "prometheus_tsdb_retention_limit_bytes",
            "Max number of bytes to be retained in the tsdb blocks, configured 0 means disabled",
            self.retention_limit_bytes.clone(),
        );
    }

    pub(super) fn set_blocks(&self, blocks: &[std::sync::Arc<LoadedBlock>], limit: u64) {
        self.blocks_loaded.set(blocks.len() as i64);
        self.blocks_bytes
            .set(blocks.iter().map(|b| b.size_bytes() as i64).sum());
        self.retention_limit_bytes
            .set(i64::try_from(limit).unwrap_or(i64::MAX));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mimir_texts() {
        let labels = Labels::from_pairs([("__name__", "up"), ("job", "a"), ("zone", "x\"y")]);
        assert_eq!(check_labels(&labels, 3), Ok(()));
        assert_eq!(check_labels(&labels, 0), Ok(()));
        let err = check_labels(&labels, 2).unwrap_err();
        assert_eq!(
            err.to_string(),
            "received a series whose number of labels exceeds the limit (actual: 3, limit: 2) series: 'up{job=\"a\", zone=\"x\\\"y\"}' (err-mimir-max-label-names-per-series). To adjust the related per-tenant limit, configure -validation.max-label-names-per-series, or contact your service administrator."
        );
        assert_eq!(
            Rejection::from(AppendError::SeriesLimit { limit: 7 }).to_string(),
            "per-user series limit of 7 exceeded (err-mimir-max-series-per-user). To adjust the related per-tenant limit, configure -ingester.max-global-series-per-user, or contact your service administrator."
        );
        assert_eq!(
            Rejection::from(AppendError::OutOfOrder).to_string(),
            "out of order sample"
        );
        let long = Labels::from_pairs([("__name__", "m"), ("v", "x".repeat(300).as_str())]);
        let Rejection::TooManyLabels { series, .. } = check_labels(&long, 1).unwrap_err() else {
            panic!("wrong variant");
        };
        assert_eq!(series.chars().count(), 201);
        assert!(series.ends_with("xx…"));
    }
}
