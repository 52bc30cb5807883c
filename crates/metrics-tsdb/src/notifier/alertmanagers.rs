//! One `alerting.alertmanagers` entry: its URLs (static targets after `relabel_configs`), its
//! HTTP client (TLS, auth, timeout) and its own `alert_relabel_configs`.

use std::time::Duration;

use lgtm_common::http_client::client::{self, reqwest};
use lgtm_common::labels::Labels;
use parking_lot::RwLock;

use super::PostableAlert;
use crate::config::AlertmanagerConfig;

/// An `alertmanagers` entry that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum NotifierConfigError {
    /// The HTTP client cannot be built (bad certificate, proxy, ...).
    #[error("alertmanager config {name}: {message}")]
    Client {
        /// `config-<index>`, as Prometheus names sets.
        name: String,
        /// What was wrong.
        message: String,
    },
}

/// A send to one Alertmanager failed.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// Transport error or timeout.
    #[error("{0}")]
    Http(String),
    /// Non-2xx answer.
    #[error("bad response status {0}")]
    Status(String),
    /// The authorization file cannot be read.
    #[error("reading credentials: {0}")]
    Credentials(std::io::Error),
}

/// A set of Alertmanagers sharing one configuration.
#[derive(Debug)]
pub struct AlertmanagerSet {
    name: String,
    urls: RwLock<Vec<String>>,
    client: reqwest::Client,
    config: AlertmanagerConfig,
    timeout: Duration,
}

/// `path.Join("/", prefix, "/api/v2/alerts")`.
fn alerts_path(prefix: &str) -> String {
    let mut parts: Vec<&str> = prefix
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    parts.extend(["api", "v2", "alerts"]);
    format!("/{}", parts.join("/"))
}

/// Target label sets (static and file discovery) turned into endpoint URLs after
/// `relabel_configs`, as Prometheus builds Alertmanager URLs.
fn resolve_urls(config: &AlertmanagerConfig) -> Vec<String> {
    let scheme = config.scheme.clone().unwrap_or_else(|| "http".to_owned());
    let path = alerts_path(config.path_prefix.as_deref().unwrap_or(""));
    let mut targets: Vec<Labels> = Vec::new();
    for sc in &config.static_configs {
        for target in &sc.targets {
            targets.push(Labels::from_pairs(
                sc.labels
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .chain([("__address__".to_owned(), target.clone())]),
            ));
        }
    }
    for sd in &config.file_sd_configs {
        for pattern in &sd.files {
            let Ok(files) = lgtm_common::glob::glob_files(pattern) else {
                tracing::error!(pattern, "invalid file_sd pattern for alertmanagers");
                continue;
            };
            for file in files {
                match crate::scrape::discovery::read_target_file(&file) {
                    Ok(groups) => {
                        for g in groups {
                            for t in g.targets {
                                let mut pairs: Vec<(String, String)> = g
                                    .labels
                                    .iter()
                                    .map(|l| (l.name.clone(), l.value.clone()))
                                    .collect();
                                pairs.extend(t.iter().map(|l| (l.name.clone(), l.value.clone())));
                                targets.push(Labels::from_pairs(pairs));
                            }
                        }
                    }
                    Err(e) => tracing::error!(error = %e, "alertmanager file discovery failed"),
                }
            }
        }
    }
    let mut urls = Vec::new();
    for target in targets {
        let mut labels = target
            .with("__scheme__", &scheme)
            .with("__alerts_path__", &path);
        if !config.relabel_configs.is_empty() {
            match lgtm_common::relabel::process(&labels, &config.relabel_configs) {
                Some(l) => labels = l,
                None => continue,
            }
        }
        let address = labels.get_or_empty("__address__");
        if address.is_empty() {
            continue;
        }
        urls.push(format!(
            "{}://{}{}",
            labels.get("__scheme__").unwrap_or("http"),
            address,
            labels.get("__alerts_path__").unwrap_or(&path)
        ));
    }
    urls
}

impl AlertmanagerSet {
    /// Builds the set from its configuration.
    pub fn from_config(
        name: &str,
        config: &AlertmanagerConfig,
    ) -> Result<Self, NotifierConfigError> {
        let client = client::build(
            &config.http,
            concat!("metrics-tsdb/", env!("CARGO_PKG_VERSION")),
        )
        .map_err(|e| NotifierConfigError::Client {
            name: name.to_owned(),
            message: e.to_string(),
        })?;
        let urls = resolve_urls(config);
        Ok(Self {
            name: name.to_owned(),
            urls: RwLock::new(urls),
            client,
            config: config.clone(),
            timeout: config.timeout().get(),
        })
    }

    /// Re-reads `file_sd_configs` (static targets do not change); called before each send.
    pub fn refresh(&self) {
        if !self.config.file_sd_configs.is_empty() {
            *self.urls.write() = resolve_urls(&self.config);
        }
    }

    /// `config-<index>`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Endpoint URLs (`…/api/v2/alerts`).
    pub fn urls(&self) -> Vec<String> {
        self.urls.read().clone()
    }

    /// This set's `alert_relabel_configs` applied to a batch.
    pub fn relabel_alerts(&self, batch: &[PostableAlert]) -> Vec<PostableAlert> {
        if self.config.alert_relabel_configs.is_empty() {
            return batch.to_vec();
        }
        batch
            .iter()
            .filter_map(|a| {
                let labels =
                    lgtm_common::relabel::process(&a.labels, &self.config.alert_relabel_configs)?;
                (!labels.is_empty()).then(|| PostableAlert {
                    labels,
                    ..a.clone()
                })
            })
            .collect()
    }

    /// One `POST` with the configured timeout and credentials.
    pub async fn post(&self, url: &str, body: Vec<u8>) -> Result<(), SendError> {
        let mut request = self
            .client
            .post(url)
            .timeout(self.timeout)
            .header("Content-Type", "application/json")
            .body(body);
        if let Some(auth) = self
            .config
            .http
            .authorization_header()
            .map_err(SendError::Credentials)?
        {
            request = request.header("Authorization", auth);
        }
        let response = request
            .send()
            .await
            .map_err(|e| SendError::Http(e.to_string()))?;
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else {
            Err(SendError::Status(status.to_string()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_prefix_is_joined_like_go() {
        assert_eq!(alerts_path(""), "/api/v2/alerts");
        assert_eq!(alerts_path("/am/"), "/am/api/v2/alerts");
        assert_eq!(alerts_path("am"), "/am/api/v2/alerts");
    }

    #[test]
    fn static_targets_become_urls_after_relabeling() {
        let yaml = r#"
scheme: https
path_prefix: /prefix
static_configs:
  - targets: ["am1:9093", "am2:9093"]
relabel_configs:
  - source_labels: [__address__]
    regex: am2.*
    action: drop
"#;
        let config: AlertmanagerConfig = serde_yaml_ng::from_str(yaml).unwrap();
        let set = AlertmanagerSet::from_config("config-0", &config).unwrap();
        assert_eq!(set.urls(), ["https://am1:9093/prefix/api/v2/alerts"]);
    }

    #[test]
    fn file_discovered_alertmanagers_are_reread() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("am.json");
        std::fs::write(
            &file,
            r#"[{"targets": ["am1:9093"], "labels": {"dc": "x"}}]"#,
        )
        .unwrap();
        let yaml = format!(
            "file_sd_configs: [{{files: ['{}']}}]\nrelabel_configs: [{{source_labels: [dc], regex: x, target_label: __alerts_path__, replacement: /x/api/v2/alerts}}]\n",
            dir.path().join("*.json").display()
        );
        let config: AlertmanagerConfig = serde_yaml_ng::from_str(&yaml).unwrap();
        let set = AlertmanagerSet::from_config("config-0", &config).unwrap();
        assert_eq!(set.urls(), ["http://am1:9093/x/api/v2/alerts"]);
        std::fs::write(&file, r#"[{"targets": ["am2:9093", "am3:9093"]}]"#).unwrap();
        set.refresh();
        assert_eq!(
            set.urls(),
            [
                "http://am2:9093/api/v2/alerts",
                "http://am3:9093/api/v2/alerts"
            ]
        );
    }
}
