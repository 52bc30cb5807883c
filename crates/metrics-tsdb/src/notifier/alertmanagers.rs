//! One `alerting.alertmanagers` entry as a shared [`AlertmanagerSet`]: targets from
//! `static_configs` and `file_sd_configs` (re-read before each send), scheme, path prefix,
//! timeout, HTTP client block and relabeling.

use lgtm_common::labels::Labels;
use lgtm_rules::notifier::{
    AlertmanagerSet, AlertmanagerSettings, NotifierConfigError, TargetDiscovery,
};

use crate::config::AlertmanagerConfig;
use crate::config::scrape::{FileSdConfig, StaticConfig};

/// Targets of one entry: the static ones and those in `file_sd_configs` files.
#[derive(Debug, Clone)]
struct ConfigTargets {
    static_configs: Vec<StaticConfig>,
    file_sd_configs: Vec<FileSdConfig>,
}

impl TargetDiscovery for ConfigTargets {
    fn targets(&self) -> Vec<Labels> {
        let mut targets: Vec<Labels> = Vec::new();
        for sc in &self.static_configs {
            for target in &sc.targets {
                targets.push(Labels::from_pairs(
                    sc.labels
                        .iter()
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .chain([("__address__".to_owned(), target.clone())]),
                ));
            }
        }
        for sd in &self.file_sd_configs {
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
                                    pairs.extend(
                                        t.iter().map(|l| (l.name.clone(), l.value.clone())),
                                    );
                                    targets.push(Labels::from_pairs(pairs));
                                }
                            }
                        }
                        Err(e) => {
                            tracing::error!(error = %e, "alertmanager file discovery failed")
                        }
                    }
                }
            }
        }
        targets
    }

    fn is_dynamic(&self) -> bool {
        !self.file_sd_configs.is_empty()
    }
}

/// Builds the set for `config` (named `config-<index>`, as Prometheus names sets).
pub fn from_config(
    name: &str,
    config: &AlertmanagerConfig,
) -> Result<AlertmanagerSet, NotifierConfigError> {
    let settings = AlertmanagerSettings {
        scheme: config.scheme.clone().unwrap_or_else(|| "http".to_owned()),
        path_prefix: config.path_prefix.clone().unwrap_or_default(),
        timeout: config.timeout().get(),
        http: config.http.clone(),
        relabel_configs: config.relabel_configs.clone(),
        alert_relabel_configs: config.alert_relabel_configs.clone(),
        user_agent: concat!("metrics-tsdb/", env!("CARGO_PKG_VERSION")).to_owned(),
    };
    AlertmanagerSet::new(
        name,
        settings,
        Box::new(ConfigTargets {
            static_configs: config.static_configs.clone(),
            file_sd_configs: config.file_sd_configs.clone(),
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let set = from_config("config-0", &config).unwrap();
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
        let set = from_config("config-0", &config).unwrap();
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
