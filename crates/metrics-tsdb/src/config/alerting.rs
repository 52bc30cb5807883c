//! `alerting:`: where firing alerts are sent.

use lgtm_common::duration::PromDuration;
use lgtm_common::http_client::{HttpClientConfig, InlineHttpClient, deserialize_inline_vec};
use lgtm_common::relabel::RelabelConfig;
use serde::{Deserialize, Serialize};

use super::ConfigError;
use super::scrape::{FileSdConfig, KubernetesSdConfig, StaticConfig};

/// `alerting:`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertingConfig {
    /// Relabeling applied to every alert before sending (after external labels).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alert_relabel_configs: Vec<RelabelConfig>,
    /// Alertmanager endpoints.
    #[serde(
        default,
        deserialize_with = "deserialize_inline_vec",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub alertmanagers: Vec<AlertmanagerConfig>,
}

impl AlertingConfig {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        for am in &self.alertmanagers {
            match am.api_version.as_deref().unwrap_or("v2") {
                "v2" => {}
                other => {
                    return Err(ConfigError::Invalid(format!(
                        "expected Alertmanager api version to be one of [v2] but got {other}"
                    )));
                }
            }
            match am.scheme.as_deref().unwrap_or("http") {
                "http" | "https" => {}
                other => {
                    return Err(ConfigError::Invalid(format!(
                        "invalid Alertmanager scheme {other:?}"
                    )));
                }
            }
        }
        Ok(())
    }
}

/// One `alertmanagers:` entry.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertmanagerConfig {
    /// `http` or `https`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheme: Option<String>,
    /// Prefix of the API path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_prefix: Option<String>,
    /// Per-request timeout (10s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<PromDuration>,
    /// Only `v2` is supported, as in Prometheus 3.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// Fixed Alertmanagers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub static_configs: Vec<StaticConfig>,
    /// Alertmanagers from files.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub file_sd_configs: Vec<FileSdConfig>,
    /// Alertmanagers from the Kubernetes API.
    #[serde(
        default,
        deserialize_with = "deserialize_inline_vec",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub kubernetes_sd_configs: Vec<KubernetesSdConfig>,
    /// DNS discovery: accepted, not supported yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns_sd_configs: Option<serde_yaml_ng::Value>,
    /// Consul discovery: accepted, not supported yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consul_sd_configs: Option<serde_yaml_ng::Value>,
    /// Relabeling of discovered Alertmanagers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub relabel_configs: Vec<RelabelConfig>,
    /// Relabeling of alerts sent to this Alertmanager set.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alert_relabel_configs: Vec<RelabelConfig>,
    /// SigV4 signing: accepted, not supported yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sigv4: Option<serde_yaml_ng::Value>,
    /// HTTP client settings (inlined in the YAML, as upstream).
    #[serde(skip)]
    pub http: HttpClientConfig,
}

impl InlineHttpClient for AlertmanagerConfig {
    fn set_http_client(&mut self, http: HttpClientConfig) {
        self.http = http;
    }
}

impl AlertmanagerConfig {
    /// Request timeout (10s by default).
    pub fn timeout(&self) -> PromDuration {
        self.timeout.unwrap_or(PromDuration::from_millis(10_000))
    }
}
