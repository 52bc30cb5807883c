//! `lgtm`: runs any subset of the stack's components in one process from one config file, the
//! way Loki's `-target=all` runs its modules. Each component is embedded through its library's
//! `run(config, shutdown)`; only components that exist are offered as targets.
//!
//! The config file has one section per component holding that component's *upstream* flags
//! (the `args` a Helm chart would pass), so nothing new has to be learnt:
//!
//! ```yaml
//! target: all
//! data_dir: ./data
//! metrics_tsdb:
//!   args: ["--config.file=deploy/prometheus.yml", "--web.listen-address=127.0.0.1:9090"]
//! ```
//!
//! Without a file every component starts on embedded defaults: loopback addresses on the
//! upstream ports and storage under `./data`.

use std::path::{Path, PathBuf};

use lgtm_common::config::{FlagError, FlagSet, FlagStyle};
use lgtm_common::http::CancellationToken;
use serde::Deserialize;

/// A component `lgtm` can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Component {
    /// The Alertmanager replacement (started first: the others send it alerts).
    AlertRouter,
    /// The Prometheus replacement.
    MetricsTsdb,
    /// The Loki replacement.
    LogStore,
}

impl Component {
    /// Every component that exists, in start order.
    pub const ALL: &'static [Component] = &[
        Component::AlertRouter,
        Component::MetricsTsdb,
        Component::LogStore,
    ];

    /// The name used in `-target`.
    pub fn name(self) -> &'static str {
        match self {
            Component::AlertRouter => "alert-router",
            Component::MetricsTsdb => "metrics-tsdb",
            Component::LogStore => "log-store",
        }
    }

    fn parse(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|c| c.name() == name)
    }

    /// Upstream flags that make the embedded defaults: loopback, upstream port, `data_dir`.
    fn default_args(self, data_dir: &Path) -> Vec<(String, String)> {
        match self {
            Component::LogStore => vec![(
                "config.file".into(),
                data_dir.join("loki.yaml").display().to_string(),
            )],
            Component::AlertRouter => vec![
                ("web.listen-address".into(), "127.0.0.1:9093".into()),
                (
                    "storage.path".into(),
                    data_dir.join("alertmanager").display().to_string(),
                ),
                (
                    "config.file".into(),
                    data_dir.join("alertmanager.yml").display().to_string(),
                ),
            ],
            Component::MetricsTsdb => vec![
                ("web.listen-address".into(), "127.0.0.1:9090".into()),
                (
                    "storage.tsdb.path".into(),
                    data_dir.join("metrics").display().to_string(),
                ),
                ("config.file".into(), String::new()),
                ("web.enable-remote-write-receiver".into(), String::new()),
                ("web.enable-lifecycle".into(), String::new()),
            ],
        }
    }
}

/// Errors of the all-in-one binary.
#[derive(Debug, thiserror::Error)]
pub enum LgtmError {
    /// Bad command line (or help requested).
    #[error(transparent)]
    Flags(#[from] FlagError),
    /// The config file cannot be used.
    #[error("{0}")]
    Config(String),
    /// `-target` names something that is not built.
    #[error("unknown target {name:?} (available: all, {available})")]
    UnknownTarget {
        /// The name given.
        name: String,
        /// What exists.
        available: String,
    },
    /// A component failed.
    #[error("{component}: {message}")]
    Component {
        /// Which one.
        component: &'static str,
        /// Its error.
        message: String,
    },
}

/// One component's section of the config file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComponentSection {
    /// The component's upstream flags, e.g. `--config.file=prometheus.yml`.
    #[serde(default)]
    pub args: Vec<String>,
}

/// The `lgtm` config file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// Components to run (`all` or a comma-separated list); `-target` overrides it.
    #[serde(default)]
    pub target: Option<String>,
    /// Root of every component's local storage (default `./data`).
    #[serde(default)]
    pub data_dir: Option<PathBuf>,
    /// `metrics-tsdb` section.
    #[serde(default)]
    pub metrics_tsdb: Option<ComponentSection>,
    /// `alert-router` section.
    #[serde(default)]
    pub alert_router: Option<ComponentSection>,
    /// `log-store` section.
    #[serde(default)]
    pub log_store: Option<ComponentSection>,
}

/// What to run, resolved from flags and the file.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Components with the full argument list each gets.
    pub components: Vec<(Component, Vec<String>)>,
    /// `-log.level`.
    pub log_level: String,
    /// Root of local storage.
    pub data_dir: PathBuf,
}

/// The Loki configuration `log-store` gets when none is given: single tenant, loopback, data
/// under `<data_dir>/logs` (`{data}` is replaced).
pub const DEFAULT_LOKI_CONFIG: &str = "# Written by lgtm: the embedded default. Replace with your Loki configuration.\nauth_enabled: false\nserver:\n  http_listen_address: 127.0.0.1\n  http_listen_port: 3100\ncommon:\n  path_prefix: {data}\n  storage:\n    filesystem:\n      chunks_directory: {data}/chunks\n      rules_directory: {data}/rules\n";

/// The configuration `alert-router` gets when none is given: one receiver that notifies
/// nobody, so alerts are accepted, grouped and visible in the API and amtool.
pub const DEFAULT_ALERTMANAGER_CONFIG: &str = "# Written by lgtm: the embedded default. Replace with your Alertmanager configuration.\nroute:\n  receiver: default\nreceivers:\n  - name: default\n";

/// `lgtm`'s own flags (Go style, as Loki's).
pub fn flag_set() -> FlagSet {
    let mut flags = FlagSet::new("lgtm", FlagStyle::Go);
    flags
        .string("config.file", "", "Configuration file to load (optional).")
        .bool(
            "config.expand-env",
            false,
            "Expand ${VAR} references in the config file.",
        )
        .string(
            "target",
            "",
            "Comma-separated components to run, or 'all' (default: all).",
        )
        .string(
            "data.dir",
            "",
            "Root directory of local storage (default ./data).",
        )
        .string(
            "log.level",
            "info",
            "Only log messages with the given severity or above.",
        );
    flags
}

/// Resolves the plan from command-line arguments (without the program name).
pub fn plan_from_args<I, S>(args: I) -> Result<Plan, LgtmError>
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    let mut flags = flag_set();
    let rest = flags.parse(args.into_iter().map(Into::into).collect::<Vec<String>>())?;
    if let Some(extra) = rest.first() {
        return Err(LgtmError::Config(format!("unexpected argument {extra:?}")));
    }
    let file: FileConfig = match flags.get_str("config.file").filter(|s| !s.is_empty()) {
        Some(path) => lgtm_common::config::load_yaml_file(
            path,
            flags.get_bool("config.expand-env").unwrap_or(false),
        )
        .map_err(|e| LgtmError::Config(e.to_string()))?,
        None => FileConfig::default(),
    };
    let target = flags
        .get_str("target")
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .or(file.target.clone())
        .unwrap_or_else(|| "all".into());
    let data_dir = flags
        .get_str("data.dir")
        .filter(|s| !s.is_empty())
        .map(PathBuf::from)
        .or(file.data_dir.clone())
        .unwrap_or_else(|| PathBuf::from("data"));
    let mut components = Vec::new();
    for component in resolve_targets(&target)? {
        let section = match component {
            Component::MetricsTsdb => file.metrics_tsdb.clone().unwrap_or_default(),
            Component::AlertRouter => file.alert_router.clone().unwrap_or_default(),
            Component::LogStore => file.log_store.clone().unwrap_or_default(),
        };
        components.push((component, merge_args(component, &data_dir, &section.args)));
    }
    Ok(Plan {
        components,
        log_level: flags.get_str("log.level").unwrap_or("info").to_owned(),
        data_dir,
    })
}

fn resolve_targets(target: &str) -> Result<Vec<Component>, LgtmError> {
    let mut out = Vec::new();
    for name in target.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        if name == "all" {
            out.extend_from_slice(Component::ALL);
            continue;
        }
        out.push(Component::parse(name).ok_or_else(|| {
            LgtmError::UnknownTarget {
                name: name.to_owned(),
                available: Component::ALL
                    .iter()
                    .map(|c| c.name())
                    .collect::<Vec<_>>()
                    .join(", "),
            }
        })?);
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// Default flags first, skipping every flag the user's `args` set themselves.
fn merge_args(component: Component, data_dir: &Path, user: &[String]) -> Vec<String> {
    let user_sets = |name: &str| {
        user.iter().any(|arg| {
            let bare = arg.trim_start_matches('-');
            bare == name || bare.starts_with(&format!("{name}=")) || bare == format!("no-{name}")
        })
    };
    let mut args: Vec<String> = component
        .default_args(data_dir)
        .into_iter()
        .filter(|(name, _)| !user_sets(name))
        .map(|(name, value)| {
            if value.is_empty() && name.starts_with("web.enable") {
                format!("--{name}")
            } else {
                format!("--{name}={value}")
            }
        })
        .collect();
    args.extend(user.iter().cloned());
    args
}

/// Starts every planned component and waits until `shutdown` or the first failure.
pub async fn run(plan: Plan, shutdown: CancellationToken) -> Result<(), LgtmError> {
    let mut tasks = tokio::task::JoinSet::new();
    for (component, args) in plan.components.clone() {
        let token = shutdown.child_token();
        match component {
            Component::LogStore => {
                let default_file = plan.data_dir.join("loki.yaml");
                let uses_default = args.iter().any(|a| {
                    a.trim_start_matches('-') == format!("config.file={}", default_file.display())
                });
                if uses_default && !default_file.exists() {
                    let text = DEFAULT_LOKI_CONFIG
                        .replace("{data}", &plan.data_dir.join("logs").display().to_string());
                    std::fs::create_dir_all(&plan.data_dir)
                        .and_then(|()| std::fs::write(&default_file, text))
                        .map_err(|e| LgtmError::Component {
                            component: component.name(),
                            message: format!("writing {}: {e}", default_file.display()),
                        })?;
                }
                let cli = log_store::cli::from_args(args).map_err(|e| LgtmError::Component {
                    component: component.name(),
                    message: e.to_string(),
                })?;
                tasks.spawn(async move {
                    let result = log_store::run(cli.config, token)
                        .await
                        .map_err(|e| e.to_string());
                    (component, result)
                });
                tracing::info!(component = component.name(), "component started");
            }
            Component::AlertRouter => {
                let config =
                    alert_router::Config::from_args(args).map_err(|e| LgtmError::Component {
                        component: component.name(),
                        message: e.to_string(),
                    })?;
                let default_file = plan.data_dir.join("alertmanager.yml");
                if config.config_file == default_file && !default_file.exists() {
                    std::fs::create_dir_all(&plan.data_dir)
                        .and_then(|()| std::fs::write(&default_file, DEFAULT_ALERTMANAGER_CONFIG))
                        .map_err(|e| LgtmError::Component {
                            component: component.name(),
                            message: format!("writing {}: {e}", default_file.display()),
                        })?;
                }
                tasks.spawn(async move {
                    let result = alert_router::run(config, token)
                        .await
                        .map_err(|e| e.to_string());
                    (component, result)
                });
                tracing::info!(component = component.name(), "component started");
            }
            Component::MetricsTsdb => {
                let config = metrics_tsdb::server::Config::from_args(args).map_err(|e| {
                    LgtmError::Component {
                        component: component.name(),
                        message: e.to_string(),
                    }
                })?;
                let running = metrics_tsdb::server::start(config, token)
                    .await
                    .map_err(|e| LgtmError::Component {
                        component: component.name(),
                        message: e.to_string(),
                    })?;
                tracing::info!(component = component.name(), addr = %running.addr, "component started");
                tasks.spawn(async move {
                    let result = match running.task.await {
                        Ok(r) => r.map_err(|e| e.to_string()),
                        Err(e) => Err(e.to_string()),
                    };
                    (component, result)
                });
            }
        }
    }
    let mut first_error = None;
    while let Some(joined) = tasks.join_next().await {
        let (component, result) = joined.map_err(|e| LgtmError::Config(e.to_string()))?;
        if let Err(message) = result {
            // One component failing stops the others, as Loki's module manager does.
            shutdown.cancel();
            first_error.get_or_insert(LgtmError::Component {
                component: component.name(),
                message,
            });
        }
    }
    first_error.map_or(Ok(()), Err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_run_everything_on_loopback_under_data() {
        let plan = plan_from_args(Vec::<String>::new()).unwrap();
        assert_eq!(plan.components.len(), Component::ALL.len());
        let (component, args) = &plan.components[1];
        assert_eq!(*component, Component::MetricsTsdb);
        assert!(args.contains(&"--web.listen-address=127.0.0.1:9090".to_owned()));
        assert!(args.contains(&"--storage.tsdb.path=data/metrics".to_owned()));
        // Every component's merged defaults parse as that component's own flags.
        metrics_tsdb::server::Config::from_args(args.clone()).unwrap();
        let (component, args) = &plan.components[0];
        assert_eq!(*component, Component::AlertRouter);
        let config = alert_router::Config::from_args(args.clone()).unwrap();
        assert_eq!(config.listen_address, "127.0.0.1:9093");
        assert_eq!(config.config_file, PathBuf::from("data/alertmanager.yml"));
    }

    #[test]
    fn user_args_override_defaults_and_flags_take_both_dash_styles() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lgtm.yaml");
        std::fs::write(
            &path,
            "data_dir: /var/lib/lgtm\nmetrics_tsdb:\n  args: ['--web.listen-address=127.0.0.1:19090']\n",
        )
        .unwrap();
        for flag in ["-config.file", "--config.file"] {
            let plan = plan_from_args([
                format!("{flag}={}", path.display()),
                "-target=metrics-tsdb".into(),
            ])
            .unwrap();
            let args = &plan.components[0].1;
            assert!(args.contains(&"--web.listen-address=127.0.0.1:19090".to_owned()));
            assert!(!args.contains(&"--web.listen-address=127.0.0.1:9090".to_owned()));
            assert!(args.contains(&"--storage.tsdb.path=/var/lib/lgtm/metrics".to_owned()));
            // The merged list must parse as the component's own flags (no repeats).
            metrics_tsdb::server::Config::from_args(args.clone()).unwrap();
        }
    }

    #[test]
    fn unknown_targets_and_keys_are_clear_errors() {
        let err = plan_from_args(["-target=trace-store"])
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "unknown target \"trace-store\" (available: all, alert-router, metrics-tsdb, log-store)"
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.yaml");
        std::fs::write(&path, "metrics_tsdb:\n  argz: []\n").unwrap();
        let err = plan_from_args([format!("-config.file={}", path.display())])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("bad.yaml:2:3") && err.contains("unknown field \"argz\""),
            "{err}"
        );
    }
}
