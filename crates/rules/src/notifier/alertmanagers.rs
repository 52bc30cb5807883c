//! One `alerting.alertmanagers` entry: its URLs (discovered targets after
//! `relabel_configs`), its HTTP client (TLS, auth, timeout) and its own
//! `alert_relabel_configs`. Discovery is the caller's ([`TargetDiscovery`]): Prometheus reads
//! static and file targets, Loki's ruler its `alertmanager_url` list.

use std::fmt::Debug;
use std::time::Duration;

use lgtm_common::http_client::HttpClientConfig;
use lgtm_common::http_client::client::{self, reqwest};
use lgtm_common::labels::Labels;
use lgtm_common::relabel::RelabelConfig;
use parking_lot::RwLock;

use super::PostableAlert;

/// Where an Alertmanager set's targets come from.
pub trait TargetDiscovery: Send + Sync + Debug {
    /// Target label sets, each with `__address__` (plus any meta labels for relabeling).
    fn targets(&self) -> Vec<Labels>;

    /// True when targets can change (file discovery): they are re-read before each send.
    fn is_dynamic(&self) -> bool {
        false
    }
}

/// A fixed list of `host:port` targets.
#[derive(Debug, Clone, Default)]
pub struct StaticTargets(pub Vec<Labels>);

impl TargetDiscovery for StaticTargets {
    fn targets(&self) -> Vec<Labels> {
        self.0.clone()
    }
}

/// How to reach one set of Alertmanagers (one `alertmanagers:` entry).
#[derive(Debug, Clone)]
pub struct AlertmanagerSettings {
    /// `http` or `https`.
    pub scheme: String,
    /// Prefix of the API path.
    pub path_prefix: String,
    /// Per-request timeout.
    pub timeout: Duration,
    /// TLS, auth, proxy.
    pub http: HttpClientConfig,
    /// Relabeling of discovered targets.
    pub relabel_configs: Vec<RelabelConfig>,
    /// Relabeling of the alerts sent to this set.
    pub alert_relabel_configs: Vec<RelabelConfig>,
    /// `User-Agent` of requests.
    pub user_agent: String,
}

impl Default for AlertmanagerSettings {
    fn default() -> Self {
        Self {
            scheme: "http".to_owned(),
            path_prefix: String::new(),
            timeout: Duration::from_secs(10),
            http: HttpClientConfig::default(),
            relabel_configs: Vec::new(),
            alert_relabel_configs: Vec::new(),
            user_agent: concat!("lgtm-rules/", env!("CARGO_PKG_VERSION")).to_owned(),
        }
    }
}

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
    settings: AlertmanagerSettings,
    discovery: Box<dyn TargetDiscovery>,
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

/// Target label sets turned into endpoint URLs after `relabel_configs`, as Prometheus
/// builds Alertmanager URLs.
fn resolve_urls(settings: &AlertmanagerSettings, targets: Vec<Labels>) -> Vec<String> {
    let path = alerts_path(&settings.path_prefix);
    let mut urls = Vec::new();
    for target in targets {
        let mut labels = target
            .with("__scheme__", &settings.scheme)
            .with("__alerts_path__", &path);
        if !settings.relabel_configs.is_empty() {
            match lgtm_common::relabel::process(&labels, &settings.relabel_configs) {
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
    /// Builds the set; `name` is `config-<index>` in Prometheus.
    pub fn new(
        name: &str,
        settings: AlertmanagerSettings,
        discovery: Box<dyn TargetDiscovery>,
    ) -> Result<Self, NotifierConfigError> {
        let client = client::build(&settings.http, &settings.user_agent).map_err(|e| {
            NotifierConfigError::Client {
                name: name.to_owned(),
                message: e.to_string(),
            }
        })?;
        let urls = resolve_urls(&settings, discovery.targets());
        Ok(Self {
            name: name.to_owned(),
            urls: RwLock::new(urls),
            client,
            settings,
            discovery,
        })
    }

    /// Re-reads dynamic targets (static ones do not change); called before each send.
    pub fn refresh(&self) {
        if self.discovery.is_dynamic() {
            *self.urls.write() = resolve_urls(&self.settings, self.discovery.targets());
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
        if self.settings.alert_relabel_configs.is_empty() {
            return batch.to_vec();
        }
        batch
            .iter()
            .filter_map(|a| {
                let labels =
                    lgtm_common::relabel::process(&a.labels, &self.settings.alert_relabel_configs)?;
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
            .timeout(self.settings.timeout)
            .header("Content-Type", "application/json")
            .body(body);
        if let Some(auth) = self
            .settings
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

    fn target(addr: &str) -> Labels {
        Labels::from_pairs([("__address__", addr)])
    }

    #[test]
    fn targets_become_urls_after_relabeling() {
        let settings = AlertmanagerSettings {
            scheme: "https".to_owned(),
            path_prefix: "/prefix".to_owned(),
            relabel_configs: vec![
                RelabelConfig::new(lgtm_common::relabel::Action::Drop)
                    .with_source_labels(["__address__"])
                    .with_regex("am2.*")
                    .unwrap(),
            ],
            ..AlertmanagerSettings::default()
        };
        let set = AlertmanagerSet::new(
            "config-0",
            settings,
            Box::new(StaticTargets(vec![target("am1:9093"), target("am2:9093")])),
        )
        .unwrap();
        assert_eq!(set.urls(), ["https://am1:9093/prefix/api/v2/alerts"]);
    }

    #[derive(Debug, Default)]
    struct Changing(parking_lot::Mutex<Vec<Labels>>);

    impl TargetDiscovery for std::sync::Arc<Changing> {
        fn targets(&self) -> Vec<Labels> {
            self.0.lock().clone()
        }
        fn is_dynamic(&self) -> bool {
            true
        }
    }

    #[test]
    fn dynamic_targets_are_reread_on_refresh() {
        let d = std::sync::Arc::new(Changing::default());
        *d.0.lock() = vec![target("am1:9093")];
        let set = AlertmanagerSet::new(
            "config-0",
            AlertmanagerSettings::default(),
            Box::new(std::sync::Arc::clone(&d)),
        )
        .unwrap();
        assert_eq!(set.urls(), ["http://am1:9093/api/v2/alerts"]);
        *d.0.lock() = vec![target("am2:9093"), target("am3:9093")];
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
