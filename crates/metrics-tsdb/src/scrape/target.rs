//! Turning discovered target groups into scrape targets, as Prometheus' `PopulateLabels` does:
//! job defaults, `relabel_configs`, the `instance` label, the scrape URL, and the dropping of
//! `__`-prefixed labels.

use std::collections::BTreeMap;

use lgtm_common::duration::{PromDuration, parse_prom_duration};
use lgtm_common::labels::{Label, Labels};
use lgtm_common::relabel;

use crate::config::ScrapeConfig;

/// Label holding the target's address.
pub const ADDRESS_LABEL: &str = "__address__";
/// Label holding the scheme.
pub const SCHEME_LABEL: &str = "__scheme__";
/// Label holding the metrics path.
pub const METRICS_PATH_LABEL: &str = "__metrics_path__";
/// Label holding the scrape interval.
pub const SCRAPE_INTERVAL_LABEL: &str = "__scrape_interval__";
/// Label holding the scrape timeout.
pub const SCRAPE_TIMEOUT_LABEL: &str = "__scrape_timeout__";
/// Prefix of labels that become URL parameters.
pub const PARAM_LABEL_PREFIX: &str = "__param_";

/// A group of targets sharing labels, as service discovery produces them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TargetGroup {
    /// Per-target labels (each has at least `__address__`).
    pub targets: Vec<Labels>,
    /// Labels shared by the group.
    pub labels: Labels,
    /// Where the group came from (for the targets API), e.g. `0` for the first static config.
    pub source: String,
}

/// A target ready to scrape.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// Labels attached to every scraped series (after relabeling, `__` labels removed).
    pub labels: Labels,
    /// Labels before relabeling, for `/api/v1/targets`' `discoveredLabels`.
    pub discovered_labels: Labels,
    /// The URL to scrape.
    pub url: String,
    /// Scrape interval for this target.
    pub interval: PromDuration,
    /// Scrape timeout for this target.
    pub timeout: PromDuration,
}

/// Why a discovered target does not become a scrape target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetOutcome {
    /// Relabeling dropped it (kept for the targets API's `droppedTargets`).
    Dropped {
        /// Labels before relabeling.
        discovered_labels: Labels,
    },
    /// The labels are unusable; the message is Prometheus' own.
    Invalid {
        /// Labels before relabeling.
        discovered_labels: Labels,
        /// What was wrong.
        reason: String,
    },
}

/// Builds the scrape targets of one job from its discovered groups.
pub fn targets_from_groups(
    config: &ScrapeConfig,
    groups: &[TargetGroup],
) -> (Vec<Target>, Vec<TargetOutcome>) {
    let mut targets = Vec::new();
    let mut others = Vec::new();
    for group in groups {
        for target_labels in &group.targets {
            let mut merged: Vec<Label> = group.labels.as_slice().to_vec();
            for label in target_labels.iter() {
                merged.retain(|l| l.name != label.name);
                merged.push(label.clone());
            }
            match populate(config, Labels::from_labels(merged)) {
                Ok(Some(target)) => targets.push(target),
                Ok(None) => {}
                Err(outcome) => others.push(outcome),
            }
        }
    }
    (targets, others)
}

fn populate(config: &ScrapeConfig, discovered: Labels) -> Result<Option<Target>, TargetOutcome> {
    let mut with_defaults: Vec<Label> = discovered.as_slice().to_vec();
    let mut set_default = |name: &str, value: String| {
        if !with_defaults.iter().any(|l| l.name == name) {
            with_defaults.push(Label::new(name, value));
        }
    };
    set_default("job", config.job_name.clone());
    set_default(SCRAPE_INTERVAL_LABEL, config.interval().to_string());
    set_default(SCRAPE_TIMEOUT_LABEL, config.timeout().to_string());
    set_default(
        METRICS_PATH_LABEL,
        config
            .metrics_path
            .clone()
            .unwrap_or_else(|| "/metrics".into()),
    );
    set_default(
        SCHEME_LABEL,
        config.scheme.clone().unwrap_or_else(|| "http".into()),
    );
    for (name, values) in &config.params {
        if let Some(first) = values.first() {
            set_default(&format!("{PARAM_LABEL_PREFIX}{name}"), first.clone());
        }
    }
    let preset = Labels::from_labels(with_defaults);
    let discovered_labels = preset.clone();
    let invalid = |reason: String| TargetOutcome::Invalid {
        discovered_labels: discovered_labels.clone(),
        reason,
    };
    let Some(relabeled) = relabel::process(&preset, &config.relabel_configs) else {
        return Err(TargetOutcome::Dropped {
            discovered_labels: discovered_labels.clone(),
        });
    };
    let Some(address) = relabeled.get(ADDRESS_LABEL).map(str::to_owned) else {
        return Err(invalid("no address".into()));
    };
    if address.contains('/') {
        return Err(invalid(format!("{address:?} is not a valid hostname")));
    }
    let interval_text = relabeled.get_or_empty(SCRAPE_INTERVAL_LABEL);
    let interval = parse_prom_duration(interval_text)
        .map(PromDuration)
        .map_err(|e| invalid(format!("error parsing scrape interval: {e}")))?;
    let timeout_text = relabeled.get_or_empty(SCRAPE_TIMEOUT_LABEL);
    let timeout = parse_prom_duration(timeout_text)
        .map(PromDuration)
        .map_err(|e| invalid(format!("error parsing scrape timeout: {e}")))?;
    if interval.get().is_zero() {
        return Err(invalid("scrape interval cannot be 0".into()));
    }
    if timeout.get().is_zero() {
        return Err(invalid("scrape timeout cannot be 0".into()));
    }
    if timeout > interval {
        return Err(invalid(format!(
            "scrape timeout cannot be greater than scrape interval ({timeout_text:?} > {interval_text:?})"
        )));
    }
    let scheme = relabeled.get_or_empty(SCHEME_LABEL).to_owned();
    let path = relabeled.get_or_empty(METRICS_PATH_LABEL).to_owned();
    let mut params: BTreeMap<String, Vec<String>> = config.params.clone();
    for label in relabeled.iter() {
        if let Some(name) = label.name.strip_prefix(PARAM_LABEL_PREFIX) {
            let values = params.entry(name.to_owned()).or_default();
            if values.is_empty() {
                values.push(label.value.clone());
            } else {
                values[0] = label.value.clone();
            }
        }
    }
    let mut url = format!("{scheme}://{address}{path}");
    let query: Vec<(String, String)> = params
        .iter()
        .flat_map(|(k, vs)| vs.iter().map(move |v| (k.clone(), v.clone())))
        .collect();
    if !query.is_empty() {
        url.push('?');
        url.push_str(&serde_urlencoded::to_string(&query).unwrap_or_default());
    }
    let mut public: Vec<Label> = relabeled
        .iter()
        .filter(|l| !l.name.starts_with("__"))
        .cloned()
        .collect();
    if !public.iter().any(|l| l.name == "instance") {
        public.push(Label::new("instance", address));
    }
    Ok(Some(Target {
        labels: Labels::from_labels(public),
        discovered_labels,
        url,
        interval,
        timeout,
    }))
}

/// Groups for `static_configs`: one group per entry, each target an `__address__`.
pub fn static_groups(config: &ScrapeConfig) -> Vec<TargetGroup> {
    config
        .static_configs
        .iter()
        .enumerate()
        .map(|(i, sc)| TargetGroup {
            targets: sc
                .targets
                .iter()
                .map(|t| Labels::from_pairs([(ADDRESS_LABEL, t.as_str())]))
                .collect(),
            labels: Labels::from_pairs(sc.labels.iter().map(|(k, v)| (k.as_str(), v.as_str()))),
            source: i.to_string(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn job(yaml: &str) -> ScrapeConfig {
        Config::from_yaml(yaml).unwrap().scrape_configs.remove(0)
    }

    #[test]
    fn static_targets_get_job_instance_and_url() {
        let config = job(
            "scrape_configs:\n- job_name: node\n  scrape_interval: 15s\n  static_configs:\n  - targets: ['n1:9100']\n    labels: {env: prod}\n",
        );
        let (targets, dropped) = targets_from_groups(&config, &static_groups(&config));
        assert!(dropped.is_empty());
        assert_eq!(targets.len(), 1);
        let t = &targets[0];
        assert_eq!(
            t.labels.to_string(),
            r#"{env="prod", instance="n1:9100", job="node"}"#
        );
        assert_eq!(t.url, "http://n1:9100/metrics");
        assert_eq!(t.interval.to_string(), "15s");
        assert_eq!(t.timeout.to_string(), "10s");
        assert_eq!(t.discovered_labels.get("__scheme__"), Some("http"));
    }

    #[test]
    fn relabeling_can_rewrite_address_params_and_drop() {
        let config = job(r#"
scrape_configs:
- job_name: blackbox
  metrics_path: /probe
  params:
    module: [http_2xx]
  static_configs:
  - targets: ['https://example.org', 'drop.me']
  relabel_configs:
  - source_labels: [__address__]
    regex: drop\.me
    action: drop
  - source_labels: [__address__]
    target_label: __param_target
  - source_labels: [__param_target]
    target_label: instance
  - target_label: __address__
    replacement: 127.0.0.1:9115
"#);
        let (targets, others) = targets_from_groups(&config, &static_groups(&config));
        assert_eq!(targets.len(), 1);
        assert_eq!(
            targets[0].url,
            "http://127.0.0.1:9115/probe?module=http_2xx&target=https%3A%2F%2Fexample.org"
        );
        assert_eq!(
            targets[0].labels.get("instance"),
            Some("https://example.org")
        );
        assert!(matches!(others[0], TargetOutcome::Dropped { .. }));
    }

    #[test]
    fn invalid_targets_are_reported() {
        let config = job(
            "scrape_configs:\n- job_name: a\n  static_configs:\n  - targets: ['h:1']\n  relabel_configs:\n  - target_label: __scrape_interval__\n    replacement: bogus\n",
        );
        let (targets, others) = targets_from_groups(&config, &static_groups(&config));
        assert!(targets.is_empty());
        match &others[0] {
            TargetOutcome::Invalid { reason, .. } => {
                assert!(
                    reason.starts_with("error parsing scrape interval"),
                    "{reason}"
                )
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}
