//! The Prometheus configuration file (`prometheus.yml`), read unchanged.
//!
//! Structs mirror the upstream YAML and reject unknown keys as Prometheus does. Sections we
//! accept but do not act on yet (other service discoveries, `remote_read`, `tracing`) are
//! kept as raw YAML and listed by [`Config::ignored_sections`] so the server can say so once.

pub mod alerting;
pub mod scrape;

use std::collections::{BTreeMap, HashSet};

use lgtm_common::duration::PromDuration;
use lgtm_common::http_client::{HttpClientConfig, InlineHttpClient, deserialize_inline_vec};
use lgtm_common::labels::{Labels, is_valid_label_name};
use lgtm_common::relabel::RelabelConfig;
use serde::{Deserialize, Serialize};

pub use alerting::{AlertingConfig, AlertmanagerConfig};
pub use scrape::{FileSdConfig, KubernetesSdConfig, ScrapeConfig, StaticConfig};

/// A configuration that parses but breaks one of Prometheus' rules.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The YAML does not parse or has unknown keys.
    #[error("{0}")]
    Yaml(String),
    /// A semantic rule is broken; the message is Prometheus' own.
    #[error("{0}")]
    Invalid(String),
}

/// The whole file.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Defaults for every other section.
    #[serde(default)]
    pub global: GlobalConfig,
    /// Go runtime tuning; accepted, meaningless here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime: Option<serde_yaml_ng::Value>,
    /// Globs of rule files.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rule_files: Vec<String>,
    /// Globs of files holding more scrape configs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scrape_config_files: Vec<String>,
    /// Scrape jobs.
    #[serde(
        default,
        deserialize_with = "deserialize_inline_vec",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub scrape_configs: Vec<ScrapeConfig>,
    /// Where alerts go.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alerting: Option<AlertingConfig>,
    /// Remote write targets.
    #[serde(
        default,
        deserialize_with = "deserialize_inline_vec",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub remote_write: Vec<RemoteWriteConfig>,
    /// Remote read endpoints; accepted, not used yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_read: Option<serde_yaml_ng::Value>,
    /// Storage tuning.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage: Option<StorageConfig>,
    /// Tracing of the server itself; accepted, not used yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracing: Option<serde_yaml_ng::Value>,
    /// OTLP ingestion options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub otlp: Option<OtlpConfig>,
}

/// `global:`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GlobalConfig {
    /// Default scrape interval (1m).
    #[serde(default = "default_scrape_interval")]
    pub scrape_interval: PromDuration,
    /// Default scrape timeout (10s, capped at the interval).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scrape_timeout: Option<PromDuration>,
    /// Accepted scrape protocols, in preference order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scrape_protocols: Option<Vec<String>>,
    /// Rule evaluation interval (1m).
    #[serde(default = "default_evaluation_interval")]
    pub evaluation_interval: PromDuration,
    /// Delay applied to rule evaluation timestamps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule_query_offset: Option<PromDuration>,
    /// Labels added to alerts and to series sent to external systems.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub external_labels: BTreeMap<String, String>,
    /// Query log path; accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query_log_file: Option<String>,
    /// Scrape failure log path; accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scrape_failure_log_file: Option<String>,
    /// Default per-scrape body size limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_size_limit: Option<String>,
    /// Default per-scrape sample limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sample_limit: Option<u64>,
    /// Default per-scrape label count limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_limit: Option<u64>,
    /// Default label name length limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_name_length_limit: Option<u64>,
    /// Default label value length limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_value_length_limit: Option<u64>,
    /// Default target count limit per job.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_limit: Option<u64>,
    /// Dropped targets kept for the targets API.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_dropped_targets: Option<u64>,
    /// `utf8` or `legacy`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric_name_validation_scheme: Option<String>,
    /// How names are escaped for legacy consumers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric_name_escaping_scheme: Option<String>,
    /// Whether native histograms are scraped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scrape_native_histograms: Option<bool>,
    /// Convert classic histograms to native histograms with custom buckets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub convert_classic_histograms_to_nhcb: Option<bool>,
    /// Keep classic histograms alongside native ones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub always_scrape_classic_histograms: Option<bool>,
    /// Extra synthetic scrape series.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra_scrape_metrics: Option<bool>,
}

fn default_scrape_interval() -> PromDuration {
    PromDuration::from_millis(60_000)
}

fn default_evaluation_interval() -> PromDuration {
    PromDuration::from_millis(60_000)
}

/// Prometheus' default scrape timeout.
pub const DEFAULT_SCRAPE_TIMEOUT: PromDuration = PromDuration::from_millis(10_000);

impl Default for GlobalConfig {
    fn default() -> Self {
        Self {
            scrape_interval: default_scrape_interval(),
            scrape_timeout: None,
            scrape_protocols: None,
            evaluation_interval: default_evaluation_interval(),
            rule_query_offset: None,
            external_labels: BTreeMap::new(),
            query_log_file: None,
            scrape_failure_log_file: None,
            body_size_limit: None,
            sample_limit: None,
            label_limit: None,
            label_name_length_limit: None,
            label_value_length_limit: None,
            target_limit: None,
            keep_dropped_targets: None,
            metric_name_validation_scheme: None,
            metric_name_escaping_scheme: None,
            scrape_native_histograms: None,
            convert_classic_histograms_to_nhcb: None,
            always_scrape_classic_histograms: None,
            extra_scrape_metrics: None,
        }
    }
}

impl GlobalConfig {
    /// The effective default scrape timeout: 10s, or the interval when that is shorter.
    pub fn effective_scrape_timeout(&self) -> PromDuration {
        self.scrape_timeout
            .unwrap_or(DEFAULT_SCRAPE_TIMEOUT.min(self.scrape_interval))
    }

    /// External labels as a label set.
    pub fn external_labels(&self) -> Labels {
        Labels::from_pairs(
            self.external_labels
                .iter()
                .map(|(k, v)| (k.clone(), v.clone())),
        )
    }
}

/// `remote_write:` entries.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemoteWriteConfig {
    /// Receiver URL.
    pub url: String,
    /// Send timeout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_timeout: Option<PromDuration>,
    /// Extra headers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headers: Option<BTreeMap<String, String>>,
    /// Relabeling before sending.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub write_relabel_configs: Vec<RelabelConfig>,
    /// Queue name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Send exemplars.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_exemplars: Option<bool>,
    /// Send native histograms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_native_histograms: Option<bool>,
    /// `prometheus.WriteRequest` or `io.prometheus.write.v2.Request`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protobuf_message: Option<String>,
    /// Queue tuning.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_config: Option<serde_yaml_ng::Value>,
    /// Metadata sending.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata_config: Option<serde_yaml_ng::Value>,
    /// SigV4 signing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sigv4: Option<serde_yaml_ng::Value>,
    /// Azure AD auth.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub azuread: Option<serde_yaml_ng::Value>,
    /// Google IAM auth.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub google_iam: Option<serde_yaml_ng::Value>,
    /// Round-robin DNS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub round_robin_dns: Option<bool>,
    /// HTTP client settings (inlined in the YAML, as upstream).
    #[serde(skip)]
    pub http: HttpClientConfig,
}

impl InlineHttpClient for RemoteWriteConfig {
    fn set_http_client(&mut self, http: HttpClientConfig) {
        self.http = http;
    }
}

/// `storage:`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageConfig {
    /// TSDB tuning.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tsdb: Option<TsdbConfig>,
    /// Exemplar storage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exemplars: Option<ExemplarsConfig>,
}

/// `storage.tsdb:`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TsdbConfig {
    /// How far behind the newest sample out-of-order samples are still accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub out_of_order_time_window: Option<PromDuration>,
}

/// `storage.exemplars:`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExemplarsConfig {
    /// Total exemplars kept in memory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_exemplars: Option<u64>,
}

/// `otlp:`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OtlpConfig {
    /// Resource attributes promoted to labels.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub promote_resource_attributes: Vec<String>,
    /// Promote every resource attribute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promote_all_resource_attributes: Option<bool>,
    /// Attributes never promoted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ignore_resource_attributes: Vec<String>,
    /// Name translation strategy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub translation_strategy: Option<String>,
    /// Keep `service.*` attributes on `target_info`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_identifying_resource_attributes: Option<bool>,
    /// Convert histograms to NHCB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub convert_histograms_to_nhcb: Option<bool>,
    /// Promote scope metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promote_scope_metadata: Option<bool>,
    /// Prefix `key` to escaped label names starting with a single `_` (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_name_underscore_sanitization: Option<bool>,
    /// Keep runs of `_` in escaped label names (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_name_preserve_multiple_underscores: Option<bool>,
}

impl Config {
    /// Parses and validates a configuration text.
    pub fn from_yaml(text: &str) -> Result<Self, ConfigError> {
        let mut config: Config = if text.trim().is_empty() {
            Config::default()
        } else {
            serde_yaml_ng::from_str(text).map_err(|e| ConfigError::Yaml(e.to_string()))?
        };
        config.apply_defaults_and_validate()?;
        Ok(config)
    }

    /// Fills per-job settings from `global` and applies Prometheus' validation rules.
    pub fn apply_defaults_and_validate(&mut self) -> Result<(), ConfigError> {
        for name in self.global.external_labels.keys() {
            if !is_valid_label_name(name) {
                return Err(ConfigError::Invalid(format!(
                    "{name:?} is not a valid label name"
                )));
            }
        }
        if let Some(timeout) = self.global.scrape_timeout
            && timeout > self.global.scrape_interval
        {
            return Err(ConfigError::Invalid(
                "global scrape timeout greater than scrape interval".into(),
            ));
        }
        if let Some(otlp) = &mut self.otlp {
            otlp.validate()?;
        }
        let mut seen = HashSet::new();
        for job in &mut self.scrape_configs {
            if !seen.insert(job.job_name.clone()) {
                return Err(ConfigError::Invalid(format!(
                    "found multiple scrape configs with job name {:?}",
                    job.job_name
                )));
            }
            job.apply_defaults(&self.global)?;
        }
        for rw in &self.remote_write {
            if url::Url::parse(&rw.url).is_err() {
                return Err(ConfigError::Invalid(format!(
                    "invalid remote write url {:?}",
                    rw.url
                )));
            }
            rw.http
                .validate()
                .map_err(|e| ConfigError::Invalid(e.to_string()))?;
        }
        if let Some(alerting) = &self.alerting {
            alerting.validate()?;
        }
        Ok(())
    }

    /// Sections that parse but are not acted on yet, to be reported once at start-up.
    pub fn ignored_sections(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.remote_read.is_some() {
            out.push("remote_read".to_owned());
        }
        if self.tracing.is_some() {
            out.push("tracing".to_owned());
        }
        if !self.remote_write.is_empty() {
            out.push("remote_write".to_owned());
        }
        if !self.scrape_config_files.is_empty() {
            out.push("scrape_config_files".to_owned());
        }
        for job in &self.scrape_configs {
            for sd in job.unsupported_discoveries() {
                out.push(format!("scrape_configs[{}].{sd}", job.job_name));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests;
