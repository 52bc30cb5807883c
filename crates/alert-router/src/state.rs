//! The router's shared state: stores, the running configuration and its dispatcher, and
//! the operations the API and the background tasks perform on them.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use parking_lot::RwLock;
use tokio_util::sync::CancellationToken;

use crate::alert::{Alert, AlertStore};
use crate::clock::Clock;
use crate::config::{ConfigError, LoadedConfig};
use crate::dispatch::Dispatcher;
use crate::inhibit::Inhibitor;
use crate::metrics::{Gauges, Metrics};
use crate::nflog::NfLog;
use crate::notify::{HttpClient, IntegrationOptions, IntegrationSlot, build_receiver};
use crate::silence::Silences;

/// Everything derived from one configuration.
#[derive(Debug)]
pub struct Runtime {
    /// The configuration.
    pub config: LoadedConfig,
    /// Its inhibition rules with their source-alert index.
    pub inhibitor: Inhibitor,
    /// Its receivers' integrations.
    pub receivers: BTreeMap<String, Arc<Vec<IntegrationSlot>>>,
}

impl Runtime {
    /// Builds the runtime for `config`, indexing the stored alerts.
    pub fn new(config: LoadedConfig, alerts: &[Arc<Alert>], options: IntegrationOptions) -> Self {
        let inhibitor = Inhibitor::new(config.inhibit_rules.clone(), alerts);
        let receivers = config
            .receivers
            .iter()
            .map(|r| {
                (
                    r.name.clone(),
                    Arc::new(build_receiver(
                        r,
                        &config.global,
                        &config.templates,
                        options,
                    )),
                )
            })
            .collect();
        Self {
            config,
            inhibitor,
            receivers,
        }
    }
}

/// Checks every Telegram chat of a configuration with the Bot API (`getChat`).
pub async fn verify_telegram(
    config: &LoadedConfig,
    client: &HttpClient,
) -> Result<(), ConfigError> {
    for r in config
        .receivers
        .iter()
        .filter(|r| !r.telegram_configs.is_empty())
    {
        for slot in build_receiver(
            r,
            &config.global,
            &config.templates,
            IntegrationOptions::default(),
        ) {
            if let crate::notify::Integration::Telegram(t) = &slot.integration {
                t.verify_chat(client)
                    .await
                    .map_err(|e| ConfigError(format!("receiver {}: {e}", r.name)))?;
            }
        }
    }
    Ok(())
}

/// Shared state of a running router.
#[derive(Debug)]
pub struct Core {
    /// Wall clock (tokio-driven, so tests can pause it).
    pub clock: Clock,
    /// Alerts.
    pub alerts: AlertStore,
    /// Silences.
    pub silences: Silences,
    /// Notification log.
    pub nflog: NfLog,
    /// Counters.
    pub metrics: Metrics,
    /// Outgoing HTTP.
    pub client: HttpClient,
    /// `--web.external-url` without trailing slash.
    pub external_url: String,
    /// Path prefix of every route (`""` or `/prefix`).
    pub route_prefix: String,
    /// Process start.
    pub start_time: DateTime<Utc>,
    /// File to re-read on `/-/reload`; `None` when built from text.
    pub config_path: Option<PathBuf>,
    /// Integration switches beyond Alertmanager.
    pub options: IntegrationOptions,
    /// HA membership, when `--cluster.peer` is given.
    pub cluster: Option<Arc<crate::cluster::Cluster>>,
    dispatcher: RwLock<Arc<Dispatcher>>,
    shutdown: CancellationToken,
    reload_lock: parking_lot::Mutex<()>,
}

/// Parts needed to build a [`Core`].
#[derive(Debug)]
pub struct CoreParts {
    /// Loaded configuration.
    pub config: LoadedConfig,
    /// Its file, for reloads.
    pub config_path: Option<PathBuf>,
    /// `--storage.path` (`None`: nothing persisted).
    pub storage: Option<PathBuf>,
    /// `--data.retention`.
    pub retention: std::time::Duration,
    /// External URL.
    pub external_url: String,
    /// Route prefix.
    pub route_prefix: String,
    /// Outgoing HTTP (`None`: a real client).
    pub client: Option<HttpClient>,
    /// Integration switches beyond Alertmanager.
    pub options: IntegrationOptions,
    /// HA membership (`None`: single instance).
    pub cluster: Option<crate::cluster::ClusterSettings>,
    /// Registry for the self-metrics (`None`: a new one with process metrics); the `lgtm`
    /// binary passes its shared one.
    pub registry: Option<lgtm_common::metrics::Registry>,
}

impl Core {
    /// Builds the state and starts the dispatcher (needs a tokio runtime).
    pub fn start(parts: CoreParts, shutdown: CancellationToken) -> std::io::Result<Arc<Self>> {
        let clock = Clock::new();
        let silences = Silences::open(parts.storage.clone(), parts.retention)
            .map_err(std::io::Error::other)?;
        let nflog = NfLog::open(parts.storage, parts.retention)?;
        let metrics = match parts.registry {
            Some(r) => Metrics::new(r),
            None => Metrics::default(),
        };
        metrics.reloaded(true, clock.now().timestamp() as f64, parts.config.hash);
        let runtime = Arc::new(Runtime::new(parts.config, &[], parts.options));
        // The dispatcher needs the Arc<Core>; start with a placeholder and swap.
        let core = Arc::new(Self {
            start_time: clock.now(),
            clock,
            alerts: AlertStore::default(),
            silences,
            nflog,
            metrics,
            client: parts.client.unwrap_or_default(),
            external_url: parts.external_url,
            route_prefix: parts.route_prefix,
            config_path: parts.config_path,
            options: parts.options,
            cluster: parts
                .cluster
                .map(|c| Arc::new(crate::cluster::Cluster::new(c))),
            dispatcher: RwLock::new(Arc::new(Dispatcher::placeholder(runtime.clone()))),
            shutdown: shutdown.clone(),
            reload_lock: parking_lot::Mutex::new(()),
        });
        let d = Dispatcher::start(&core, runtime, &core.shutdown);
        *core.dispatcher.write() = d;
        for w in &core.runtime().config.warnings {
            tracing::warn!(warning = %w, "configuration");
        }
        Ok(core)
    }

    /// Tells the peers about a local change of silences or the notification log.
    pub fn cluster_changed(&self) {
        if let Some(c) = &self.cluster {
            c.changed();
        }
    }

    /// The positional wait of this replica before its dedup check.
    pub fn peer_wait(&self) -> std::time::Duration {
        self.cluster.as_ref().map(|c| c.wait()).unwrap_or_default()
    }

    /// The running configuration.
    pub fn runtime(&self) -> Arc<Runtime> {
        self.dispatcher.read().runtime().clone()
    }

    /// The running dispatcher.
    pub fn dispatcher(&self) -> Arc<Dispatcher> {
        self.dispatcher.read().clone()
    }

    /// Stores alerts and hands them to the inhibitor and the dispatcher.
    pub fn ingest(self: &Arc<Self>, alerts: Vec<Alert>) {
        let d = self.dispatcher.read();
        let stored = self.alerts.put(alerts, self.clock.now());
        d.runtime().inhibitor.observe(&stored);
        d.insert(self, &stored);
    }

    /// Re-reads the configuration file (and checks its Telegram chats); on error the running
    /// configuration stays.
    pub async fn reload(self: &Arc<Self>) -> Result<(), ConfigError> {
        let Some(path) = &self.config_path else {
            return Ok(());
        };
        let loaded = match LoadedConfig::load_file(path) {
            Ok(c) => verify_telegram(&c, &self.client).await.map(|()| c),
            Err(e) => Err(e),
        };
        match loaded {
            Ok(c) => {
                self.apply(c);
                Ok(())
            }
            Err(e) => {
                self.metrics.reloaded(false, 0.0, 0);
                tracing::error!(error = %e, "loading configuration file failed");
                Err(e)
            }
        }
    }

    /// Switches to a new configuration: new inhibitor, receivers and dispatcher; the
    /// notification log keeps already-notified groups from notifying again.
    pub fn apply(self: &Arc<Self>, config: LoadedConfig) {
        let _guard = self.reload_lock.lock();
        for w in &config.warnings {
            tracing::warn!(warning = %w, "configuration");
        }
        let hash = config.hash;
        let mut slot = self.dispatcher.write();
        let runtime = Arc::new(Runtime::new(config, &self.alerts.list(), self.options));
        let new = Dispatcher::start(self, runtime, &self.shutdown);
        let old = std::mem::replace(&mut *slot, new);
        old.stop();
        self.metrics
            .reloaded(true, self.clock.now().timestamp() as f64, hash);
        tracing::info!("configuration reloaded");
    }

    /// Periodic work: GC of alerts, silences and the notification log; nflog snapshots.
    pub fn maintenance(&self) {
        let now = self.clock.now();
        let dead = self.alerts.gc(now);
        if !dead.is_empty() {
            self.runtime().inhibitor.forget(&dead);
        }
        if let Err(e) = self.silences.gc(now) {
            tracing::error!(error = %e, "silence gc");
        }
        self.nflog.gc(now);
        self.persist();
    }

    /// Writes pending snapshots. On a multi-threaded runtime the write (an fsync, several
    /// milliseconds on a busy disk) leaves the worker thread first, so group flushes that are
    /// due meanwhile are not held up behind it.
    pub fn persist(&self) {
        if !self.nflog.is_dirty() {
            return;
        }
        let write = || {
            if let Err(e) = self.nflog.persist_if_dirty() {
                tracing::error!(error = %e, "writing the notification log snapshot");
            }
        };
        match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
            Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(write),
            _ => write(),
        }
    }

    /// Gauges for `/metrics`.
    pub fn gauges(&self) -> Gauges {
        let now = self.clock.now();
        let rt = self.runtime();
        let (mut active, mut suppressed) = (0, 0);
        for a in self.alerts.list() {
            if a.resolved_at(now) {
                continue;
            }
            if rt.inhibitor.inhibited_by(&a.labels, now).is_some()
                || !self.silences.silenced_by(&a.labels, now).is_empty()
            {
                suppressed += 1;
            } else {
                active += 1;
            }
        }
        Gauges {
            alerts: vec![
                ("active", active),
                ("suppressed", suppressed),
                ("unprocessed", 0),
            ],
            silences: self
                .silences
                .count_by_state(now)
                .iter()
                .map(|(s, n)| (s.as_str(), *n as u64))
                .collect(),
            peer_position: self.cluster.as_ref().map(|c| c.position()),
        }
    }
}
