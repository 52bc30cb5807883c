//! Wiring: opens the store from a [`Config`], builds the HTTP server, runs the flush loop,
//! and shuts down cleanly. [`run`] is what `main.rs` and the all-in-one `lgtm` binary call;
//! [`LogStore::open`] + [`LogStore::http`] let tests and the conformance runner embed it.

use std::sync::Arc;
use std::time::Duration;

use lgtm_common::api::ErrorStyle;
use lgtm_common::clock::{SharedClock, SystemClock};
use lgtm_common::http::{
    CancellationToken, HttpServer, HttpServerBuilder, Readiness, ReadyEndpoint, RequestMetricsStyle,
};
use lgtm_common::metrics::Registry;
use lgtm_common::tenant::TenantConfig;
use lgtm_common::wal::{FsyncPolicy, WalOptions};

use crate::api::{self, AppState};
use crate::config::Config;
use crate::metrics::PushMetrics;
use crate::push::Pusher;
use crate::store::{Retention, RetentionRule, Store, StoreError, StoreOptions};

/// Errors starting or running the service.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The store could not be opened.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// The object store URL is unusable.
    #[error("object store: {0}")]
    ObjectStore(#[from] lgtm_common::objstore::Error),
    /// Binding or serving failed.
    #[error("http server: {0}")]
    Io(#[from] std::io::Error),
}

/// An opened log store: state for the HTTP API plus the config it came from.
#[derive(Debug, Clone)]
pub struct LogStore {
    /// Handler state.
    pub state: AppState,
    /// The configuration.
    pub config: Arc<Config>,
    /// Readiness flag (ready once the WAL is replayed).
    pub readiness: Readiness,
    /// Self-metrics registry.
    pub registry: Registry,
}

impl LogStore {
    /// Opens the WAL and the blocks described by `config`.
    pub async fn open(config: Config, clock: SharedClock) -> Result<LogStore, ServerError> {
        let objects = config.object_store_config()?.build()?;
        let ignored = config.ignored_keys();
        if !ignored.is_empty() {
            tracing::warn!(keys = %ignored.join(", "), "config keys accepted but ignored");
        }
        let limits = config.limits_config.clone();
        let (store, report) = Store::open(StoreOptions {
            wal_dir: config.wal_dir(),
            wal: WalOptions {
                fsync: FsyncPolicy::Always,
                ..WalOptions::default()
            },
            objects: objects.store().clone(),
            out_of_order_window_ns: config.ingester.max_chunk_age.0 / 2,
            max_streams_per_tenant: limits.max_streams(),
            clock: clock.clone(),
        })
        .await?;
        tracing::info!(
            replayed = report.replayed_entries,
            blocks = report.blocks,
            "log store opened"
        );
        let store = Arc::new(store);
        let registry = Registry::with_process_metrics();
        let pusher = Arc::new(Pusher::new(
            limits.clone(),
            store.clone(),
            clock.clone(),
            PushMetrics::new(&registry),
        ));
        let config_text = Arc::new(config.to_yaml());
        Ok(LogStore {
            state: AppState {
                store,
                pusher,
                limits: Arc::new(limits),
                clock,
                config_text,
                deletes_enabled: config.compactor.retention_enabled,
            },
            config: Arc::new(config),
            readiness: Readiness::ready(),
            registry,
        })
    }

    /// The HTTP server builder with Loki's routes, `/ready`, `/metrics` and tenancy.
    pub fn http(&self) -> HttpServerBuilder {
        let auth = self.config.auth_enabled;
        HttpServer::builder("log-store")
            .router(api::router(self.state.clone()))
            .registry(self.registry.clone())
            .readiness(self.readiness.clone())
            .ready_endpoint(Some(ReadyEndpoint::dskit()))
            .request_metrics(RequestMetricsStyle::Dskit {
                namespace: "loki".into(),
            })
            .error_style(ErrorStyle::Text)
            .body_limit(100 << 20)
            .tenant(TenantConfig::from_auth_enabled(
                auth,
                self.config.no_auth_tenant(),
            ))
            .require_tenant(auth)
    }

    /// Retention rules from `limits_config` (empty unless `compactor.retention_enabled`).
    pub fn retention(&self) -> Retention {
        let l = &self.config.limits_config;
        if !self.config.compactor.retention_enabled {
            return Retention::default();
        }
        let mut rules = Vec::new();
        for r in &l.retention_stream {
            match crate::logql::parse(&r.selector) {
                Ok(crate::logql::Expr::Log(e)) => rules.push(RetentionRule {
                    matchers: e.matchers,
                    priority: r.priority,
                    period_ns: r.period.as_nanos(),
                }),
                _ => {
                    tracing::warn!(selector = %r.selector, "ignoring retention_stream rule with an invalid selector")
                }
            }
        }
        Retention {
            default_ns: l.retention_period.as_nanos(),
            rules,
        }
    }

    /// Flushes heads to blocks every `max_chunk_age` (wall clock) or when a head grows past
    /// `head_max_bytes`, checking every `flush_check_period`, and compacts blocks (applying
    /// retention) every `compactor.compaction_interval`, until `shutdown`.
    pub async fn flush_loop(&self, shutdown: CancellationToken) {
        let ing = &self.config.ingester;
        let check = Duration::from_nanos(ing.flush_check_period.0.max(1_000_000_000) as u64);
        let max_age = Duration::from_nanos(ing.max_chunk_age.0.max(1) as u64);
        let mut last = tokio::time::Instant::now();
        let compact_every = Duration::from_nanos(
            self.config
                .compactor
                .compaction_interval
                .0
                .max(1_000_000_000) as u64,
        );
        let mut last_compact = tokio::time::Instant::now();
        let retention = self.retention();
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(check) => {}
            }
            let store = &self.state.store;
            let big = ing.head_max_bytes > 0 && store.head_bytes() as u64 >= ing.head_max_bytes;
            if big || last.elapsed() >= max_age {
                if let Err(e) = store.flush().await {
                    tracing::warn!(error = %e, "flush failed; data stays in the wal");
                }
                last = tokio::time::Instant::now();
            }
            if last_compact.elapsed() >= compact_every {
                let now = self.state.clock.now_ns();
                let cancel = self.config.compactor.delete_request_cancel_period.0;
                match store
                    .compact(&retention, self.config.compactor.min_blocks, cancel, now)
                    .await
                {
                    Ok(o) if o.blocks_in > 0 => tracing::info!(
                        blocks_in = o.blocks_in,
                        blocks_out = o.blocks_out,
                        expired = o.entries_expired,
                        deleted = o.entries_deleted,
                        "compaction done"
                    ),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "compaction failed"),
                }
                last_compact = tokio::time::Instant::now();
            }
        }
    }
}

/// Runs the log store until `shutdown` is cancelled.
pub async fn run(config: Config, shutdown: CancellationToken) -> Result<(), ServerError> {
    let addr = format!(
        "{}:{}",
        if config.server.http_listen_address.is_empty() {
            "0.0.0.0"
        } else {
            &config.server.http_listen_address
        },
        config.server.http_listen_port
    );
    let flush_on_shutdown = config.ingester.wal.flush_on_shutdown.unwrap_or(false);
    let ls = LogStore::open(config, SystemClock::shared()).await?;
    let server = ls.http().bind(&addr).await?;
    tracing::info!(addr = %server.local_addr(), "log-store listening");
    let flusher = {
        let ls = ls.clone();
        let token = shutdown.clone();
        tokio::spawn(async move { ls.flush_loop(token).await })
    };
    server.serve(shutdown).await?;
    let _ = flusher.await;
    if flush_on_shutdown && let Err(e) = ls.state.store.flush().await {
        tracing::warn!(error = %e, "flush on shutdown failed; data stays in the wal");
    }
    ls.state.store.sync().await?;
    Ok(())
}
