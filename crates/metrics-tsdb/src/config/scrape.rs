//! `scrape_configs:` entries and the service discoveries that feed them.

use std::collections::BTreeMap;

use lgtm_common::duration::PromDuration;
use lgtm_common::http_client::{HttpClientConfig, InlineHttpClient, deserialize_inline_vec};
use lgtm_common::relabel::RelabelConfig;
use serde::{Deserialize, Serialize};

use super::{ConfigError, GlobalConfig};

/// One scrape job.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScrapeConfig {
    /// Job name, the `job` label of its targets.
    pub job_name: String,
    /// Scrape interval; `global.scrape_interval` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scrape_interval: Option<PromDuration>,
    /// Scrape timeout; `global.scrape_timeout` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scrape_timeout: Option<PromDuration>,
    /// Accepted protocols in preference order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scrape_protocols: Option<Vec<String>>,
    /// Protocol used when the target sends no or an unknown content type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback_scrape_protocol: Option<String>,
    /// Scrape native histograms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scrape_native_histograms: Option<bool>,
    /// Also keep classic histograms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub always_scrape_classic_histograms: Option<bool>,
    /// Convert classic histograms to NHCB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub convert_classic_histograms_to_nhcb: Option<bool>,
    /// Let scraped labels win over target labels.
    #[serde(default)]
    pub honor_labels: bool,
    /// Use timestamps the target exposes (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub honor_timestamps: Option<bool>,
    /// Stale markers for samples with explicit timestamps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub track_timestamps_staleness: Option<bool>,
    /// `http` or `https`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheme: Option<String>,
    /// URL query parameters.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub params: BTreeMap<String, Vec<String>>,
    /// Path of the metrics endpoint (`/metrics`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics_path: Option<String>,
    /// Ask for gzip.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_compression: Option<bool>,
    /// Largest uncompressed body accepted (`0` = none), e.g. `10MB`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_size_limit: Option<String>,
    /// Most samples per scrape after relabeling (`0` = none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sample_limit: Option<u64>,
    /// Most labels per sample.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_limit: Option<u64>,
    /// Longest label name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_name_length_limit: Option<u64>,
    /// Longest label value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_value_length_limit: Option<u64>,
    /// Most targets after relabeling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_limit: Option<u64>,
    /// Dropped targets kept for the targets API.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_dropped_targets: Option<u64>,
    /// Native histogram bucket limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub native_histogram_bucket_limit: Option<u64>,
    /// Native histogram minimum bucket growth factor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub native_histogram_min_bucket_factor: Option<f64>,
    /// `utf8` or `legacy`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric_name_validation_scheme: Option<String>,
    /// Escaping for legacy consumers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric_name_escaping_scheme: Option<String>,
    /// Extra synthetic scrape series.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra_scrape_metrics: Option<bool>,
    /// Fixed targets.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub static_configs: Vec<StaticConfig>,
    /// Targets from files.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub file_sd_configs: Vec<FileSdConfig>,
    /// Targets from the Kubernetes API.
    #[serde(
        default,
        deserialize_with = "deserialize_inline_vec",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub kubernetes_sd_configs: Vec<KubernetesSdConfig>,
    /// `azure_sd_configs`: accepted, not supported yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub azure_sd_configs: Option<serde_yaml_ng::Value>,
    /// `consul_sd_configs`: accepted, not supported yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consul_sd_configs: Option<serde_yaml_ng::Value>,
    /// `digitalocean_sd_configs`: accepted, not supported yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digitalocean_sd_configs: Option<serde_yaml_ng::Value>,
    /// `docker_sd_configs`: accepted, not supported yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub docker_sd_configs: Option<serde_yaml_ng::Value>,
    /// `dockerswarm_sd_configs`: accepted, not supported yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dockerswarm_sd_configs: Option<serde_yaml_ng::Value>,
    /// `dns_sd_configs`: accepted, not supported yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns_sd_configs: Option<serde_yaml_ng::Value>,
    /// `ec2_sd_configs`: accepted, not supported yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ec2_sd_configs: Option<serde_yaml_ng::Value>,
    /// `eureka_sd_configs`: accepted, not supported yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eureka_sd_configs: Option<serde_yaml_ng::Value>,
    /// `gce_sd_configs`: accepted, not supported yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gce_sd_configs: Option<serde_yaml_ng::Value>,
    /// `hetzner_sd_configs`: accepted, not supported yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hetzner_sd_configs: Option<serde_yaml_ng::Value>,
    /// `http_sd_configs`: accepted, not supported yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_sd_configs: Option<serde_yaml_ng::Value>,
    /// `ionos_sd_configs`: accepted, not supported yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ionos_sd_configs: Option<serde_yaml_ng::Value>,
    /// `kuma_sd_configs`: accepted, not supported yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kuma_sd_configs: Option<serde_yaml_ng::Value>,
    /// `lightsail_sd_configs`: accepted, not supported yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lightsail_sd_configs: Option<serde_yaml_ng::Value>,
    /// `linode_sd_configs`: accepted, not supported yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub linode_sd_configs: Option<serde_yaml_ng::Value>,
    /// `marathon_sd_configs`: accepted, not supported yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub marathon_sd_configs: Option<serde_yaml_ng::Value>,
    /// `nerve_sd_configs`: accepted, not supported yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nerve_sd_configs: Option<serde_yaml_ng::Value>,
    /// `nomad_sd_configs`: accepted, not supported yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nomad_sd_configs: Option<serde_yaml_ng::Value>,
    /// `openstack_sd_configs`: accepted, not supported yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub openstack_sd_configs: Option<serde_yaml_ng::Value>,
    /// `ovhcloud_sd_configs`: accepted, not supported yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ovhcloud_sd_configs: Option<serde_yaml_ng::Value>,
    /// `puppetdb_sd_configs`: accepted, not supported yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub puppetdb_sd_configs: Option<serde_yaml_ng::Value>,
    /// `scaleway_sd_configs`: accepted, not supported yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scaleway_sd_configs: Option<serde_yaml_ng::Value>,
    /// `serverset_sd_configs`: accepted, not supported yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serverset_sd_configs: Option<serde_yaml_ng::Value>,
    /// `triton_sd_configs`: accepted, not supported yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub triton_sd_configs: Option<serde_yaml_ng::Value>,
    /// `uyuni_sd_configs`: accepted, not supported yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uyuni_sd_configs: Option<serde_yaml_ng::Value>,
    /// `vultr_sd_configs`: accepted, not supported yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vultr_sd_configs: Option<serde_yaml_ng::Value>,
    /// `stackit_sd_configs`: accepted, not supported yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stackit_sd_configs: Option<serde_yaml_ng::Value>,
    /// Target relabeling.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub relabel_configs: Vec<RelabelConfig>,
    /// Sample relabeling, the last step before storage.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub metric_relabel_configs: Vec<RelabelConfig>,
    /// HTTP client settings (inlined in the YAML, as upstream).
    #[serde(skip)]
    pub http: HttpClientConfig,
}

impl InlineHttpClient for ScrapeConfig {
    fn set_http_client(&mut self, http: HttpClientConfig) {
        self.http = http;
    }
}

impl ScrapeConfig {
    /// Fills unset values from `global` and checks Prometheus' rules for a job.
    pub fn apply_defaults(&mut self, global: &GlobalConfig) -> Result<(), ConfigError> {
        if self.job_name.is_empty() {
            return Err(ConfigError::Invalid("job_name is empty".into()));
        }
        let interval = *self.scrape_interval.get_or_insert(global.scrape_interval);
        let timeout = *self.scrape_timeout.get_or_insert_with(|| {
            global
                .scrape_timeout
                .unwrap_or(super::DEFAULT_SCRAPE_TIMEOUT)
                .min(interval)
        });
        if timeout > interval {
            return Err(ConfigError::Invalid(format!(
                "scrape timeout greater than scrape interval for scrape config with job name {:?}",
                self.job_name
            )));
        }
        match self
            .scheme
            .get_or_insert_with(|| "http".to_owned())
            .as_str()
        {
            "http" | "https" => {}
            other => {
                return Err(ConfigError::Invalid(format!(
                    "invalid scheme {other:?} for scrape config with job name {:?}",
                    self.job_name
                )));
            }
        }
        self.metrics_path
            .get_or_insert_with(|| "/metrics".to_owned());
        self.honor_timestamps.get_or_insert(true);
        if self.sample_limit.is_none() {
            self.sample_limit = global.sample_limit;
        }
        if self.label_limit.is_none() {
            self.label_limit = global.label_limit;
        }
        if self.label_name_length_limit.is_none() {
            self.label_name_length_limit = global.label_name_length_limit;
        }
        if self.label_value_length_limit.is_none() {
            self.label_value_length_limit = global.label_value_length_limit;
        }
        if self.target_limit.is_none() {
            self.target_limit = global.target_limit;
        }
        if self.body_size_limit.is_none() {
            self.body_size_limit = global.body_size_limit.clone();
        }
        for sd in &mut self.file_sd_configs {
            sd.validate()?;
        }
        for sd in &self.kubernetes_sd_configs {
            sd.validate()?;
        }
        Ok(())
    }

    /// Effective interval (after [`apply_defaults`](Self::apply_defaults)).
    pub fn interval(&self) -> PromDuration {
        self.scrape_interval.unwrap_or_default()
    }

    /// Effective timeout (after [`apply_defaults`](Self::apply_defaults)).
    pub fn timeout(&self) -> PromDuration {
        self.scrape_timeout.unwrap_or_default()
    }

    /// Names of service discoveries present in the file that we do not run.
    pub fn unsupported_discoveries(&self) -> Vec<&'static str> {
        [
            ("azure_sd_configs", self.azure_sd_configs.is_some()),
            ("consul_sd_configs", self.consul_sd_configs.is_some()),
            (
                "digitalocean_sd_configs",
                self.digitalocean_sd_configs.is_some(),
            ),
            ("docker_sd_configs", self.docker_sd_configs.is_some()),
            (
                "dockerswarm_sd_configs",
                self.dockerswarm_sd_configs.is_some(),
            ),
            ("dns_sd_configs", self.dns_sd_configs.is_some()),
            ("ec2_sd_configs", self.ec2_sd_configs.is_some()),
            ("eureka_sd_configs", self.eureka_sd_configs.is_some()),
            ("gce_sd_configs", self.gce_sd_configs.is_some()),
            ("hetzner_sd_configs", self.hetzner_sd_configs.is_some()),
            ("http_sd_configs", self.http_sd_configs.is_some()),
            ("ionos_sd_configs", self.ionos_sd_configs.is_some()),
            ("kuma_sd_configs", self.kuma_sd_configs.is_some()),
            ("lightsail_sd_configs", self.lightsail_sd_configs.is_some()),
            ("linode_sd_configs", self.linode_sd_configs.is_some()),
            ("marathon_sd_configs", self.marathon_sd_configs.is_some()),
            ("nerve_sd_configs", self.nerve_sd_configs.is_some()),
            ("nomad_sd_configs", self.nomad_sd_configs.is_some()),
            ("openstack_sd_configs", self.openstack_sd_configs.is_some()),
            ("ovhcloud_sd_configs", self.ovhcloud_sd_configs.is_some()),
            ("puppetdb_sd_configs", self.puppetdb_sd_configs.is_some()),
            ("scaleway_sd_configs", self.scaleway_sd_configs.is_some()),
            ("serverset_sd_configs", self.serverset_sd_configs.is_some()),
            ("triton_sd_configs", self.triton_sd_configs.is_some()),
            ("uyuni_sd_configs", self.uyuni_sd_configs.is_some()),
            ("vultr_sd_configs", self.vultr_sd_configs.is_some()),
            ("stackit_sd_configs", self.stackit_sd_configs.is_some()),
        ]
        .into_iter()
        .filter_map(|(name, present)| present.then_some(name))
        .collect()
    }
}

/// `static_configs:` entries.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaticConfig {
    /// `host:port` addresses.
    #[serde(default)]
    pub targets: Vec<String>,
    /// Labels added to every target.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

/// `file_sd_configs:` entries.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSdConfig {
    /// Globs of `.json`, `.yml` or `.yaml` files.
    pub files: Vec<String>,
    /// Re-read period (5m).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_interval: Option<PromDuration>,
}

impl FileSdConfig {
    fn validate(&mut self) -> Result<(), ConfigError> {
        for pattern in &self.files {
            let file_name = pattern.rsplit('/').next().unwrap_or(pattern);
            let ok_ext = [".json", ".yml", ".yaml"]
                .iter()
                .any(|ext| pattern.ends_with(ext));
            if !ok_ext {
                return Err(ConfigError::Invalid(format!(
                    "path name {pattern:?} is not valid for file discovery"
                )));
            }
            let dir = &pattern[..pattern.len() - file_name.len()];
            if dir.contains('*') {
                return Err(ConfigError::Invalid(format!(
                    "path name {pattern:?} is not valid for file discovery"
                )));
            }
        }
        self.refresh_interval
            .get_or_insert(PromDuration::from_millis(5 * 60_000));
        Ok(())
    }
}

/// `kubernetes_sd_configs:` entries.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KubernetesSdConfig {
    /// `node`, `pod`, `service`, `endpoints`, `endpointslice` or `ingress`.
    pub role: String,
    /// API server URL; in-cluster configuration when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_server: Option<String>,
    /// kubeconfig file instead of in-cluster credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubeconfig_file: Option<String>,
    /// Namespaces to watch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespaces: Option<NamespaceDiscovery>,
    /// Label and field selectors per role.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub selectors: Vec<KubernetesSelector>,
    /// Extra metadata attached to targets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attach_metadata: Option<AttachMetadata>,
    /// HTTP client settings (inlined in the YAML, as upstream).
    #[serde(skip)]
    pub http: HttpClientConfig,
}

impl InlineHttpClient for KubernetesSdConfig {
    fn set_http_client(&mut self, http: HttpClientConfig) {
        self.http = http;
    }
}

/// The roles Kubernetes discovery supports.
pub const KUBERNETES_ROLES: &[&str] = &[
    "node",
    "pod",
    "service",
    "endpoints",
    "endpointslice",
    "ingress",
];

impl KubernetesSdConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        if !KUBERNETES_ROLES.contains(&self.role.as_str()) {
            return Err(ConfigError::Invalid(format!(
                "unknown Kubernetes SD role {:?}",
                self.role
            )));
        }
        if self.api_server.is_some() && self.kubeconfig_file.is_some() {
            return Err(ConfigError::Invalid(
                "cannot use 'kubeconfig_file' and 'api_server' simultaneously".into(),
            ));
        }
        // Prometheus' remaining `SDConfig.UnmarshalYAML` rules, in its order.
        let invalid = |m: &str| Err(ConfigError::Invalid(m.to_owned()));
        let custom_http = self.http != HttpClientConfig::default();
        let own_namespace = self.namespaces.as_ref().is_some_and(|n| n.own_namespace);
        if self.kubeconfig_file.is_some() && custom_http {
            return invalid(
                "cannot use a custom HTTP client configuration together with 'kubeconfig_file'",
            );
        }
        if self.api_server.is_none() && custom_http {
            return invalid(
                "to use custom HTTP client configuration please provide the 'api_server' URL explicitly",
            );
        }
        if self.api_server.is_some() && own_namespace {
            return invalid(
                "cannot use 'api_server' and 'namespaces.own_namespace' simultaneously",
            );
        }
        if self.kubeconfig_file.is_some() && own_namespace {
            return invalid(
                "cannot use 'kubeconfig_file' and 'namespaces.own_namespace' simultaneously",
            );
        }
        let allowed: &[&str] = match self.role.as_str() {
            "endpointslice" => &["pod", "service", "endpointslice"],
            "endpoints" => &["pod", "service", "endpoints"],
            other => std::slice::from_ref(
                KUBERNETES_ROLES
                    .iter()
                    .find(|r| **r == other)
                    .unwrap_or(&""),
            ),
        };
        let mut seen: Vec<&str> = Vec::new();
        for selector in &self.selectors {
            if !KUBERNETES_ROLES.contains(&selector.role.as_str()) {
                return Err(ConfigError::Invalid(format!(
                    "unknown Kubernetes SD role {:?}",
                    selector.role
                )));
            }
            if seen.contains(&selector.role.as_str()) {
                return Err(ConfigError::Invalid(format!(
                    "duplicated selector role: {}",
                    selector.role
                )));
            }
            seen.push(&selector.role);
            if !allowed.contains(&selector.role.as_str()) {
                return Err(ConfigError::Invalid(format!(
                    "{} role supports only {} selectors",
                    self.role,
                    allowed.join(", ")
                )));
            }
        }
        Ok(())
    }
}

/// `namespaces:` of Kubernetes discovery.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NamespaceDiscovery {
    /// Watch the namespace the server runs in.
    #[serde(default)]
    pub own_namespace: bool,
    /// Namespaces by name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub names: Vec<String>,
}

/// `selectors:` of Kubernetes discovery.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KubernetesSelector {
    /// Role the selector applies to.
    pub role: String,
    /// Label selector.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Field selector.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// `attach_metadata:` of Kubernetes discovery.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttachMetadata {
    /// Attach node metadata to pod targets.
    #[serde(default)]
    pub node: bool,
    /// Attach namespace metadata.
    #[serde(default)]
    pub namespace: bool,
    /// Attach deployment metadata.
    #[serde(default)]
    pub deployment: bool,
    /// Attach job metadata.
    #[serde(default)]
    pub job: bool,
    /// Attach cronjob metadata.
    #[serde(default)]
    pub cronjob: bool,
}
