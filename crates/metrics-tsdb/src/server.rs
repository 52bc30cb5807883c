//! Wiring of the service: Prometheus' command-line flags, the configuration file, the store,
//! the HTTP API, and `run(config, shutdown)` for the binary, the all-in-one `lgtm` and tests.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use lgtm_common::config::{FlagError, FlagSet, FlagStyle};
use lgtm_common::http::{
    CancellationToken, HttpServer, Readiness, ReadyEndpoint, RequestMetricsStyle,
};
use lgtm_common::metrics::Registry;
use lgtm_common::wal::FsyncPolicy;
use lgtm_promql::{Engine, EngineOptions};
use parking_lot::RwLock;

use crate::api::{self, ApiOptions, ApiState, ConfigReloader};
use crate::config::Config as PrometheusConfig;
use crate::db::{Db, DbError, DbOptions};
use crate::scrape::manager::ScrapeManager;

/// Errors that stop the service.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The configuration file cannot be used.
    #[error("couldn't load configuration (--config.file={path:?}): {message}")]
    Config {
        /// File named by `--config.file`.
        path: String,
        /// What was wrong.
        message: String,
    },
    /// The store failed to open.
    #[error("opening storage failed: {0}")]
    Storage(#[from] DbError),
    /// The listen address is unusable.
    #[error("error listening on {addr}: {source}")]
    Listen {
        /// Address from `--web.listen-address`.
        addr: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// A flag value is invalid.
    #[error("{0}")]
    Flag(String),
    /// The command line does not parse (or asks for help).
    #[error(transparent)]
    Flags(#[from] FlagError),
}

/// Everything the service needs to start.
#[derive(Debug, Clone)]
pub struct Config {
    /// `--config.file`; `None` runs with the default (empty) configuration.
    pub config_file: Option<PathBuf>,
    /// `--web.listen-address`.
    pub listen_address: String,
    /// `--web.external-url`.
    pub external_url: Option<String>,
    /// `--web.enable-lifecycle`.
    pub enable_lifecycle: bool,
    /// `--web.enable-admin-api`.
    pub enable_admin_api: bool,
    /// `--web.enable-remote-write-receiver`.
    pub enable_remote_write_receiver: bool,
    /// `--storage.tsdb.path`.
    pub tsdb_path: PathBuf,
    /// `--storage.tsdb.retention.time`; zero when only `--storage.tsdb.retention.size` is
    /// given, as in Prometheus (its 15d default applies only when neither is set).
    pub retention_time: Duration,
    /// `--storage.tsdb.retention.size` in bytes, 0 = none.
    pub retention_size: u64,
    /// `--ingester.max-global-series-per-user` (Mimir's name; 0 = no limit): series the
    /// store holds at most.
    pub max_series_per_tenant: usize,
    /// `--validation.max-label-names-per-series` (Mimir's name; 0 = no limit).
    pub max_labels_per_series: usize,
    /// `--storage.tsdb.min-block-duration` (Prometheus' hidden flag, 2h): the head's block
    /// range, the first compaction level.
    pub min_block_duration: Duration,
    /// `--storage.tsdb.max-block-duration` (hidden; unset: 10 % of the retention time, at most
    /// 31 days): the largest block compaction builds.
    pub max_block_duration: Option<Duration>,
    /// `--query.timeout`.
    pub query_timeout: Duration,
    /// `--query.max-samples`.
    pub query_max_samples: usize,
    /// `--query.lookback-delta`.
    pub lookback_delta: Duration,
    /// `--query.max-concurrency`.
    pub query_max_concurrency: usize,
    /// `--log.level`.
    pub log_level: String,
    /// `--log.format`.
    pub log_format: String,
    /// WAL durability (`--storage.tsdb.wal-fsync`: `always` or an interval).
    pub wal_fsync: FsyncPolicy,
    /// `--storage.object-store.url` (ours): where blocks are copied.
    pub object_store_url: Option<String>,
    /// Every flag with its value, for `/api/v1/status/flags`.
    pub flag_values: BTreeMap<String, String>,
    /// `--rules.alert.for-outage-tolerance`, `--rules.alert.for-grace-period`,
    /// `--rules.alert.resend-delay`.
    pub rules: crate::rules::RuleManagerOptions,
    /// `--alertmanager.notification-queue-capacity`.
    pub notification_queue_capacity: usize,
}

impl Default for Config {
    /// Prometheus' defaults (the flag defaults are constants that always convert).
    fn default() -> Self {
        Self::from_flag_set(&Self::flag_set()).expect("default flag values are valid")
    }
}

impl Config {
    /// Prometheus' flags, with its defaults.
    pub fn flag_set() -> FlagSet {
        let mut flags = FlagSet::new("metrics-tsdb", FlagStyle::Kingpin);
        flags
            .string("config.file", "prometheus.yml", "Prometheus configuration file path.")
            .string(
                "web.listen-address",
                "0.0.0.0:9090",
                "Address to listen on for UI, API, and telemetry.",
            )
            .string("web.external-url", "", "The URL under which Prometheus is externally reachable.")
            .string("web.route-prefix", "", "Prefix for the internal routes of web endpoints.")
            .bool("web.enable-lifecycle", false, "Enable shutdown and reload via HTTP request.")
            .bool("web.enable-admin-api", false, "Enable API endpoints for admin control actions.")
            .bool(
                "web.enable-remote-write-receiver",
                false,
                "Enable API endpoint accepting remote write requests.",
            )
            .bool("web.enable-otlp-receiver", false, "Enable API endpoint accepting OTLP write requests.")
            .string("storage.tsdb.path", "data/", "Base path for metrics storage.")
            .prom_duration(
                "storage.tsdb.retention.time",
                Duration::from_secs(15 * 86_400),
                "How long to retain samples in storage.",
            )
            .base2_bytes(
                "storage.tsdb.retention.size",
                lgtm_common::config::Base2Bytes(0),
                "Maximum number of bytes that can be stored for blocks.",
            )
            .prom_duration(
                "storage.tsdb.min-block-duration",
                Duration::from_secs(2 * 3600),
                "Minimum duration of a data block before being persisted.",
            )
            .prom_duration(
                "storage.tsdb.max-block-duration",
                Duration::ZERO,
                "Maximum duration compacted blocks may span. For use in testing. (Default: 10% of the retention period.)",
            )
            .int(
                "ingester.max-global-series-per-user",
                0,
                "The maximum number of in-memory series per tenant. 0 to disable.",
            )
            .int(
                "validation.max-label-names-per-series",
                0,
                "Maximum number of label names per series. 0 to disable.",
            )
            .string(
                "storage.object-store.url",
                "",
                "Object store finished blocks are copied to (s3://bucket/prefix?endpoint=..., file:///path); empty keeps blocks on local disk only.",
            )
            .string(
                "storage.tsdb.wal-fsync",
                "always",
                "When the WAL is fsynced: 'always' (before acknowledging) or a duration.",
            )
            .prom_duration("query.timeout", Duration::from_secs(120), "Maximum time a query may take before being aborted.")
            .int("query.max-samples", 50_000_000, "Maximum number of samples a single query can load into memory.")
            .prom_duration(
                "query.lookback-delta",
                Duration::from_secs(300),
                "The maximum lookback duration for retrieving metrics during expression evaluations.",
            )
            .int("query.max-concurrency", 20, "Maximum number of queries executed concurrently.")
            .string_list("enable-feature", &[], "Comma separated feature names to enable.")
            .prom_duration(
                "rules.alert.for-outage-tolerance",
                Duration::from_secs(3600),
                "Max time to tolerate prometheus outage for restoring \"for\" state of alert.",
            )
            .prom_duration(
                "rules.alert.for-grace-period",
                Duration::from_secs(600),
                "Minimum duration between alert and restored \"for\" state. This is maintained only for alerts with configured \"for\" time greater than grace period.",
            )
            .prom_duration(
                "rules.alert.resend-delay",
                Duration::from_secs(60),
                "Minimum amount of time to wait before resending an alert to Alertmanager.",
            )
            .int(
                "alertmanager.notification-queue-capacity",
                10_000,
                "The capacity of the queue for pending Alertmanager notifications.",
            )
            .string("log.level", "info", "Only log messages with the given severity or above.")
            .string("log.format", "logfmt", "Output format of log messages. One of: [logfmt, json]");
        flags
    }

    /// Parses Prometheus-style arguments (without the program name).
    pub fn from_args<I, S>(args: I) -> Result<Self, ServerError>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut flags = Self::flag_set();
        flags.parse(args.into_iter().map(Into::into).collect::<Vec<String>>())?;
        Self::from_flag_set(&flags)
    }

    /// Builds the config from parsed flags.
    pub fn from_flag_set(flags: &FlagSet) -> Result<Self, ServerError> {
        let text = |name: &str| flags.get_str(name).unwrap_or("").to_owned();
        let wal_fsync = match text("storage.tsdb.wal-fsync").as_str() {
            "always" | "" => FsyncPolicy::Always,
            other => FsyncPolicy::Interval(
                lgtm_common::duration::parse_prom_duration(other)
                    .map_err(|e| ServerError::Flag(format!("--storage.tsdb.wal-fsync: {e}")))?,
            ),
        };
        Ok(Self {
            // An empty `--config.file=` runs without a file (the embedded default).
            config_file: Some(PathBuf::from(text("config.file")))
                .filter(|p| !p.as_os_str().is_empty()),
            listen_address: text("web.listen-address"),
            external_url: Some(text("web.external-url")).filter(|s| !s.is_empty()),
            enable_lifecycle: flags.get_bool("web.enable-lifecycle").unwrap_or(false),
            enable_admin_api: flags.get_bool("web.enable-admin-api").unwrap_or(false),
            enable_remote_write_receiver: flags
                .get_bool("web.enable-remote-write-receiver")
                .unwrap_or(false),
            tsdb_path: PathBuf::from(text("storage.tsdb.path")),
            retention_time: if flags.is_set("storage.tsdb.retention.size")
                && !flags.is_set("storage.tsdb.retention.time")
            {
                Duration::ZERO
            } else {
                flags
                    .get_duration("storage.tsdb.retention.time")
                    .unwrap_or(Duration::from_secs(15 * 86_400))
            },
            retention_size: flags.get_bytes("storage.tsdb.retention.size").unwrap_or(0),
            max_series_per_tenant: flags
                .get_i64("ingester.max-global-series-per-user")
                .and_then(|v| usize::try_from(v).ok())
                .unwrap_or(0),
            max_labels_per_series: flags
                .get_i64("validation.max-label-names-per-series")
                .and_then(|v| usize::try_from(v).ok())
                .unwrap_or(0),
            min_block_duration: flags
                .get_duration("storage.tsdb.min-block-duration")
                .filter(|d| !d.is_zero())
                .unwrap_or(Duration::from_secs(2 * 3600)),
            max_block_duration: flags
                .get_duration("storage.tsdb.max-block-duration")
                .filter(|d| !d.is_zero()),
            query_timeout: flags
                .get_duration("query.timeout")
                .unwrap_or(Duration::from_secs(120)),
            query_max_samples: flags
                .get_i64("query.max-samples")
                .and_then(|v| usize::try_from(v).ok())
                .unwrap_or(50_000_000),
            lookback_delta: flags
                .get_duration("query.lookback-delta")
                .unwrap_or(Duration::from_secs(300)),
            query_max_concurrency: flags
                .get_i64("query.max-concurrency")
                .and_then(|v| usize::try_from(v).ok())
                .unwrap_or(20),
            log_level: text("log.level"),
            log_format: text("log.format"),
            wal_fsync,
            object_store_url: Some(text("storage.object-store.url")).filter(|s| !s.is_empty()),
            flag_values: flags.rendered_values(),
            rules: crate::rules::RuleManagerOptions {
                resend_delay: flags
                    .get_duration("rules.alert.resend-delay")
                    .unwrap_or(Duration::from_secs(60)),
                outage_tolerance: flags
                    .get_duration("rules.alert.for-outage-tolerance")
                    .unwrap_or(Duration::from_secs(3600)),
                grace_period: flags
                    .get_duration("rules.alert.for-grace-period")
                    .unwrap_or(Duration::from_secs(600)),
                ..crate::rules::RuleManagerOptions::default()
            },
            notification_queue_capacity: flags
                .get_i64("alertmanager.notification-queue-capacity")
                .and_then(|v| usize::try_from(v).ok())
                .unwrap_or(crate::notifier::DEFAULT_QUEUE_CAPACITY),
        })
    }
}

/// Loads and re-loads the configuration file and applies it to the scrape manager.
#[derive(Debug)]
struct FileConfig {
    path: Option<PathBuf>,
    current: RwLock<(PrometheusConfig, String)>,
    scrape: Arc<ScrapeManager>,
    rules: Option<Arc<crate::rules::RuleManager>>,
}

impl FileConfig {
    fn load(path: Option<&PathBuf>) -> Result<(PrometheusConfig, String), ServerError> {
        let Some(path) = path else {
            return Ok((PrometheusConfig::default(), String::new()));
        };
        let err = |message: String| ServerError::Config {
            path: path.display().to_string(),
            message,
        };
        let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
        let config = PrometheusConfig::from_yaml(&text).map_err(|e| err(e.to_string()))?;
        for section in config.ignored_sections() {
            tracing::warn!(
                section,
                "configuration section accepted but not supported yet"
            );
        }
        Ok((config, text))
    }
}

impl ConfigReloader for FileConfig {
    fn reload(&self) -> Result<(), String> {
        let loaded = Self::load(self.path.as_ref()).map_err(|e| e.to_string())?;
        if let Some(rules) = &self.rules {
            rules
                .notifier()
                .apply_config(&loaded.0)
                .map_err(|e| e.to_string())?;
            rules.update(&loaded.0).map_err(|e| e.to_string())?;
        }
        self.scrape.apply_config(&loaded.0);
        *self.current.write() = loaded;
        tracing::info!("completed loading of configuration file");
        Ok(())
    }

    fn config_yaml(&self) -> String {
        let current = self.current.read();
        serde_yaml_ng::to_string(&current.0).unwrap_or_else(|_| current.1.clone())
    }

    fn otlp_config(&self) -> Option<crate::config::OtlpConfig> {
        self.current.read().0.otlp.clone()
    }
}

/// How often file discovery re-reads its files: the shortest `refresh_interval` (5m default),
/// at least every second.
fn file_sd_refresh(config: &PrometheusConfig) -> Duration {
    config
        .scrape_configs
        .iter()
        .flat_map(|job| job.file_sd_configs.iter())
        .filter_map(|sd| sd.refresh_interval.map(|d| d.get()))
        .min()
        .unwrap_or(Duration::from_secs(300))
        .max(Duration::from_secs(1))
}

/// A started service: its address and the task serving it.
#[derive(Debug)]
pub struct Running {
    /// The bound HTTP address.
    pub addr: SocketAddr,
    /// Resolves when the server has stopped.
    pub task: tokio::task::JoinHandle<Result<(), ServerError>>,
}

/// Opens the store, binds the API and serves in the background until `shutdown`.
pub async fn start(config: Config, shutdown: CancellationToken) -> Result<Running, ServerError> {
    let loaded = FileConfig::load(config.config_file.as_ref())?;
    let mut db_options = DbOptions::new(&config.tsdb_path);
    db_options.wal.fsync = config.wal_fsync;
    db_options.retention_ms = config.retention_time.as_millis() as i64;
    db_options.retention_bytes = config.retention_size;
    db_options.head.max_series = config.max_series_per_tenant;
    db_options.max_labels_per_series = config.max_labels_per_series;
    db_options.block_range_ms = config.min_block_duration.as_millis() as i64;
    db_options.max_block_duration_ms = config
        .max_block_duration
        .map_or(0, |d| d.as_millis() as i64);
    // `storage.tsdb.out_of_order_time_window` from the config file (read at start).
    db_options.head.out_of_order_window_ms = loaded
        .0
        .storage
        .as_ref()
        .and_then(|s| s.tsdb.as_ref())
        .and_then(|t| t.out_of_order_time_window)
        .map_or(0, |d| d.as_millis());
    if let Some(url) = &config.object_store_url {
        let handle = lgtm_common::objstore::from_url(url)
            .map_err(|e| ServerError::Flag(format!("--storage.object-store.url: {e}")))?;
        db_options.object_store = Some(lgtm_common::blocks::BlockCatalog::from_handle(
            &handle, "blocks",
        ));
    }
    let db_options_for_open = db_options.clone();
    let (db, report) = tokio::task::spawn_blocking(move || Db::open(db_options_for_open))
        .await
        .map_err(|e| ServerError::Flag(e.to_string()))??;
    tracing::info!(
        series = report.series,
        samples = report.samples,
        damaged = report.wal.damage.is_some(),
        "WAL replay completed"
    );
    // Blocks the bucket has and the local disk lost come back before serving.
    match db.restore_from_object_store().await {
        Ok(0) => {}
        Ok(n) => tracing::info!(blocks = n, "blocks restored from the object store"),
        Err(e) => tracing::error!(error = %e, "restoring blocks from the object store failed"),
    }
    let engine = Engine::new(EngineOptions {
        lookback_delta_ms: config.lookback_delta.as_millis() as i64,
        max_samples: config.query_max_samples,
        timeout: config.query_timeout,
        ..EngineOptions::default()
    });
    let mut state = ApiState::new(
        Arc::new(db),
        engine,
        ApiOptions {
            enable_remote_write_receiver: config.enable_remote_write_receiver,
            enable_lifecycle: config.enable_lifecycle,
            enable_admin_api: config.enable_admin_api,
            query_timeout: config.query_timeout,
            max_concurrent_queries: config.query_max_concurrency,
            enable_otlp_receiver: config
                .flag_values
                .get("web.enable-otlp-receiver")
                .is_some_and(|v| v == "true"),
            otlp_native_delta_ingestion: config.flag_values.get("enable-feature").is_some_and(
                |v| {
                    v.split(',')
                        .any(|f| f.trim() == "otlp-native-delta-ingestion")
                },
            ),
            ..ApiOptions::default()
        },
    );
    state.flags = config.flag_values.clone();
    let max_exemplars = loaded
        .0
        .storage
        .as_ref()
        .and_then(|s| s.exemplars.as_ref())
        .and_then(|e| e.max_exemplars)
        .map_or(crate::exemplars::DEFAULT_MAX_EXEMPLARS, |n| n as usize);
    state.exemplars = Arc::new(crate::exemplars::ExemplarStore::new(max_exemplars));
    let scrape = ScrapeManager::new(
        Arc::clone(&state.db),
        Arc::clone(&state.metadata),
        Arc::clone(&state.exemplars),
        shutdown.clone(),
    );
    scrape.apply_config(&loaded.0);
    scrape.start_refresh(file_sd_refresh(&loaded.0));
    state.scrape = Some(Arc::clone(&scrape));
    let registry = Registry::with_process_metrics();
    state.db.metrics().register(&registry);
    let rules = start_rules(&config, &state, &loaded.0, &registry, &shutdown)?;
    state.rules = Some(Arc::clone(&rules));
    state.reloader = Some(Arc::new(FileConfig {
        current: RwLock::new(loaded),
        path: config.config_file.clone(),
        scrape,
        rules: Some(rules),
    }) as Arc<dyn ConfigReloader>);
    let state = Arc::new(state);
    spawn_sighup_reload(Arc::clone(&state), shutdown.clone());
    let readiness = Readiness::not_ready("starting");
    let server = HttpServer::builder("metrics-tsdb")
        .router(api::router(Arc::clone(&state)))
        .readiness(readiness.clone())
        .ready_endpoint(Some(ReadyEndpoint::prometheus("Prometheus Server")))
        .registry(registry)
        .request_metrics(RequestMetricsStyle::Prometheus {
            prefix: "prometheus".into(),
        })
        .bind(&config.listen_address)
        .await
        .map_err(|source| ServerError::Listen {
            addr: config.listen_address.clone(),
            source,
        })?;
    let addr = server.local_addr();
    readiness.set_ready();
    spawn_maintenance(
        Arc::clone(&state.db),
        maintenance_interval(config.min_block_duration),
        shutdown.clone(),
    );
    let db = Arc::clone(&state.db);
    let task = tokio::spawn(async move {
        let served = server.serve(shutdown).await;
        // Make interval-fsynced data durable before exiting.
        if let Err(e) = db.sync().await {
            tracing::warn!(error = %e, "final WAL sync failed");
        }
        served.map_err(|source| ServerError::Listen {
            addr: addr.to_string(),
            source,
        })
    });
    Ok(Running { addr, task })
}

/// Starts the notifier and the rule manager with the configuration's `alerting` and
/// `rule_files`; invalid rule files stop the start-up, as in Prometheus.
fn start_rules(
    config: &Config,
    state: &ApiState,
    loaded: &PrometheusConfig,
    registry: &Registry,
    shutdown: &CancellationToken,
) -> Result<Arc<crate::rules::RuleManager>, ServerError> {
    let config_err = |message: String| ServerError::Config {
        path: config
            .config_file
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
        message,
    };
    let notifier = crate::notifier::Notifier::new(
        config.notification_queue_capacity,
        crate::notifier::NotifierMetrics::register(registry),
    );
    notifier
        .apply_config(loaded)
        .map_err(|e| config_err(e.to_string()))?;
    notifier.spawn(shutdown.clone());
    let mut opts = config.rules.clone();
    opts.external_url = config.external_url.clone().unwrap_or_else(|| {
        let port = config.listen_address.rsplit(':').next().unwrap_or("9090");
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_owned())
            .unwrap_or_else(|_| "localhost".to_owned());
        format!("http://{host}:{port}")
    });
    opts.base_dir = config
        .config_file
        .as_ref()
        .and_then(|p| p.parent())
        .map(std::path::Path::to_path_buf);
    let rules = crate::rules::RuleManager::new(
        Arc::clone(&state.db),
        state.engine.clone(),
        notifier,
        lgtm_common::clock::SystemClock::shared(),
        opts,
        Some(registry),
        shutdown.clone(),
    );
    rules
        .update(loaded)
        .map_err(|e| config_err(e.to_string()))?;
    Ok(rules)
}

/// `SIGHUP` re-reads the configuration exactly as `POST /-/reload` does (without the
/// `--web.enable-lifecycle` gate, as in Prometheus).
fn spawn_sighup_reload(state: Arc<ApiState>, shutdown: CancellationToken) {
    let Ok(mut hangups) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
    else {
        tracing::warn!("cannot listen for SIGHUP; reload with POST /-/reload");
        return;
    };
    tokio::spawn(async move {
        loop {
            tokio::select! {
                () = shutdown.cancelled() => break,
                got = hangups.recv() => {
                    if got.is_none() {
                        break;
                    }
                    match crate::api::lifecycle::reload_config(&state).await {
                        Ok(()) => tracing::info!("configuration reloaded on SIGHUP"),
                        Err(e) => tracing::error!(error = %e, "error reloading config on SIGHUP"),
                    }
                }
            }
        }
    });
}

/// How often maintenance runs: once a minute as Prometheus' compaction loop, more often for
/// block ranges shorter than a few minutes (tests), never more than once a second.
fn maintenance_interval(block_range: Duration) -> Duration {
    (block_range / 4).clamp(Duration::from_secs(1), Duration::from_secs(60))
}

/// Cuts blocks, applies retention, compacts and mirrors blocks every `interval`.
fn spawn_maintenance(db: Arc<Db>, interval: Duration, shutdown: CancellationToken) {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = shutdown.cancelled() => break,
                _ = ticker.tick() => {
                    let now = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map_or(0, |d| d.as_millis() as i64);
                    match db.maintain(now).await {
                        Ok(report) if report != Default::default() => {
                            tracing::info!(?report, "storage maintenance");
                        }
                        Ok(_) => {}
                        Err(e) => tracing::error!(error = %e, "storage maintenance failed"),
                    }
                }
            }
        }
    });
}

/// Runs the service until `shutdown` is cancelled.
pub async fn run(config: Config, shutdown: CancellationToken) -> Result<(), ServerError> {
    let running = start(config, shutdown).await?;
    running
        .task
        .await
        .map_err(|e| ServerError::Flag(e.to_string()))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_prometheus_defaults() {
        let config = Config::default();
        assert_eq!(config.config_file, Some(PathBuf::from("prometheus.yml")));
        assert_eq!(config.listen_address, "0.0.0.0:9090");
        assert_eq!(config.tsdb_path, PathBuf::from("data/"));
        assert!(!config.enable_remote_write_receiver);
        assert_eq!(config.query_timeout, Duration::from_secs(120));
        assert_eq!(config.lookback_delta, Duration::from_secs(300));
        assert_eq!(config.flag_values["query.max-samples"], "50000000");
    }

    #[test]
    fn prometheus_flag_syntax() {
        let config = Config::from_args([
            "--config.file=/etc/prometheus/prometheus.yml",
            "--storage.tsdb.retention.time=30d",
            "--web.enable-lifecycle",
            "--query.timeout=30s",
        ])
        .unwrap();
        assert_eq!(config.retention_time, Duration::from_secs(30 * 86_400));
        assert!(config.enable_lifecycle);
        assert_eq!(config.query_timeout, Duration::from_secs(30));
        // kingpin: unknown flags and `=value` on bools are errors naming the flag.
        let err = Config::from_args(["--no-such-flag"])
            .unwrap_err()
            .to_string();
        assert_eq!(err, "unknown long flag '--no-such-flag'");
        assert!(Config::from_args(["--storage.tsdb.wal-fsync=bogus"]).is_err());
    }

    #[test]
    fn retention_and_limit_flags() {
        // Only a size: Prometheus turns time retention off (its 15d applies when neither is set).
        let size_only = Config::from_args(["--storage.tsdb.retention.size=512MB"]).unwrap();
        assert_eq!(size_only.retention_size, 512 << 20);
        assert_eq!(size_only.retention_time, Duration::ZERO);
        let both = Config::from_args([
            "--storage.tsdb.retention.size=1GB",
            "--storage.tsdb.retention.time=2d",
        ])
        .unwrap();
        assert_eq!(both.retention_size, 1 << 30);
        assert_eq!(both.retention_time, Duration::from_secs(2 * 86_400));
        let defaults = Config::default();
        assert_eq!(defaults.retention_time, Duration::from_secs(15 * 86_400));
        assert_eq!(
            (
                defaults.max_series_per_tenant,
                defaults.max_labels_per_series
            ),
            (0, 0)
        );
        assert_eq!(defaults.min_block_duration, Duration::from_secs(7200));
        assert_eq!(defaults.max_block_duration, None);
        assert_eq!(
            maintenance_interval(defaults.min_block_duration),
            Duration::from_secs(60)
        );
        assert_eq!(
            maintenance_interval(Duration::from_secs(10)),
            Duration::from_millis(2500)
        );
        assert_eq!(
            maintenance_interval(Duration::from_secs(2)),
            Duration::from_secs(1)
        );
        let limits = Config::from_args([
            "--ingester.max-global-series-per-user=150000",
            "--validation.max-label-names-per-series=30",
        ])
        .unwrap();
        assert_eq!(
            (limits.max_series_per_tenant, limits.max_labels_per_series),
            (150_000, 30)
        );
    }
}
