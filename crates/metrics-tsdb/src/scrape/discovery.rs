//! Service discovery that needs no cluster: `static_configs` and `file_sd_configs`.
//!
//! File discovery reads JSON or YAML lists of `{targets, labels}` from the files matching each
//! glob, adds `__meta_filepath`, and is re-read every `refresh_interval` by the manager. A file
//! that fails to parse keeps its previous targets, as Prometheus does.

use std::collections::BTreeMap;
use std::path::Path;

use lgtm_common::glob::glob_files;
use lgtm_common::labels::Labels;
use serde::Deserialize;

use super::target::{ADDRESS_LABEL, TargetGroup, static_groups};
use crate::config::{FileSdConfig, ScrapeConfig};

/// Label carrying the file a target came from.
pub const META_FILEPATH: &str = "__meta_filepath";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileGroup {
    #[serde(default)]
    targets: Vec<String>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
}

/// A target file could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("error reading file {path:?}: {message}")]
pub struct FileSdError {
    /// The file.
    pub path: String,
    /// What was wrong.
    pub message: String,
}

/// Reads one target file.
pub fn read_target_file(path: &Path) -> Result<Vec<TargetGroup>, FileSdError> {
    let err = |message: String| FileSdError {
        path: path.display().to_string(),
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
    let is_json = path.extension().is_some_and(|e| e == "json");
    let groups: Vec<FileGroup> = if is_json {
        serde_json::from_str(&text).map_err(|e| err(e.to_string()))?
    } else if text.trim().is_empty() {
        Vec::new()
    } else {
        serde_yaml_ng::from_str(&text).map_err(|e| err(e.to_string()))?
    };
    let file = path.display().to_string();
    Ok(groups
        .into_iter()
        .enumerate()
        .map(|(i, g)| {
            let mut labels: Vec<(String, String)> = g.labels.into_iter().collect();
            labels.push((META_FILEPATH.to_owned(), file.clone()));
            TargetGroup {
                targets: g
                    .targets
                    .iter()
                    .map(|t| Labels::from_pairs([(ADDRESS_LABEL, t.as_str())]))
                    .collect(),
                labels: Labels::from_pairs(labels),
                source: format!("{file}:{i}"),
            }
        })
        .collect())
}

/// Caches file contents so a broken file keeps its last good targets.
#[derive(Debug, Default)]
pub struct FileDiscovery {
    last_good: BTreeMap<String, Vec<TargetGroup>>,
    /// Running `kubernetes_sd_configs` discoveries (they refresh in the background).
    pub kubernetes: super::kubernetes::KubernetesDiscovery,
}

impl FileDiscovery {
    /// Groups from every file matching `config`'s globs.
    pub fn groups(&mut self, config: &FileSdConfig) -> Vec<TargetGroup> {
        let mut out = Vec::new();
        for pattern in &config.files {
            let files = match glob_files(pattern) {
                Ok(files) => files,
                Err(e) => {
                    tracing::error!(pattern, error = %e, "invalid file_sd pattern");
                    continue;
                }
            };
            for file in files {
                let key = file.display().to_string();
                match read_target_file(&file) {
                    Ok(groups) => {
                        self.last_good.insert(key, groups.clone());
                        out.extend(groups);
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "file service discovery failed");
                        if let Some(previous) = self.last_good.get(&key) {
                            out.extend(previous.iter().cloned());
                        }
                    }
                }
            }
        }
        out
    }
}

/// Every group a job's static and file discoveries produce now.
pub fn discover(job: &ScrapeConfig, files: &mut FileDiscovery) -> Vec<TargetGroup> {
    let mut groups = static_groups(job);
    for sd in &job.file_sd_configs {
        groups.extend(files.groups(sd));
    }
    for (i, sd) in job.kubernetes_sd_configs.iter().enumerate() {
        groups.extend(files.kubernetes.groups(&job.job_name, i, sd));
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_and_yaml_target_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("a.json"),
            r#"[{"targets": ["h1:9100", "h2:9100"], "labels": {"env": "prod"}}]"#,
        )
        .unwrap();
        std::fs::write(dir.path().join("b.yml"), "- targets: ['h3:9100']\n").unwrap();
        let sd = FileSdConfig {
            files: vec![
                format!("{}/*.json", dir.path().display()),
                format!("{}/*.yml", dir.path().display()),
            ],
            refresh_interval: None,
        };
        let mut discovery = FileDiscovery::default();
        let groups = discovery.groups(&sd);
        assert_eq!(groups.len(), 2);
        assert_eq!(groups[0].targets.len(), 2);
        assert_eq!(groups[0].labels.get("env"), Some("prod"));
        assert!(
            groups[0]
                .labels
                .get(META_FILEPATH)
                .unwrap()
                .ends_with("a.json")
        );
        assert_eq!(groups[1].targets[0].get(ADDRESS_LABEL), Some("h3:9100"));

        // A broken file keeps its previous targets.
        std::fs::write(dir.path().join("a.json"), "{not json").unwrap();
        let groups = discovery.groups(&sd);
        assert_eq!(groups[0].targets.len(), 2);
    }
}
