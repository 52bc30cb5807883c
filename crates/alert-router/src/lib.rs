//! `alert-router`: a drop-in replacement for Prometheus Alertmanager.
//!
//! It reads Alertmanager's configuration file unchanged, serves the API v2 that Prometheus,
//! Grafana and amtool use, routes, groups, inhibits and silences alerts with Alertmanager's
//! semantics, and delivers to webhook and Telegram receivers. Embedding: build a
//! [`Config`] (flags) and call [`run`]; tests use [`start`] + [`router`].

pub mod alert;
pub mod api;
pub mod clock;
pub mod cluster;
pub mod config;
pub mod dispatch;
pub mod flags;
pub mod inhibit;
pub mod matchers;
pub mod metrics;
pub mod model;
pub mod nflog;
pub mod notify;
mod persist;
pub mod route;
pub mod silence;
pub mod state;
pub mod timeinterval;
pub mod tool;

use std::sync::Arc;

pub use api::router;
pub use flags::Config;
pub use state::Core;

use tokio_util::sync::CancellationToken;

/// Why the router could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad flags.
    #[error(transparent)]
    Flags(#[from] flags::FlagError),
    /// The configuration file is invalid.
    #[error("loading configuration file failed: {0}")]
    Config(#[from] config::ConfigError),
    /// Storage or socket trouble.
    #[error("{context}: {source}")]
    Io {
        /// What we were doing.
        context: String,
        /// Cause.
        source: std::io::Error,
    },
}

/// Crate result.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Loads the configuration file and builds the running state (dispatcher and background
/// maintenance included, stopped by `shutdown`). `port` is the bound port, used for the
/// default external URL.
pub fn start(config: &Config, port: u16, shutdown: CancellationToken) -> Result<Arc<Core>> {
    let loaded = config::LoadedConfig::load_file(&config.config_file)?;
    let (external_url, route_prefix) = config.urls(port)?;
    let cluster_settings = config.cluster_settings();
    match &cluster_settings {
        Some(c) => {
            tracing::info!(name = %c.name, peers = ?c.peers, "HA replication on (HTTP over the cluster port)");
        }
        None => tracing::info!("no --cluster.peer: running as a single instance"),
    }
    for f in &config.ignored {
        tracing::info!(flag = %f, "flag accepted without effect");
    }
    std::fs::create_dir_all(&config.storage_path).map_err(|source| Error::Io {
        context: format!("creating {}", config.storage_path.display()),
        source,
    })?;
    let core = Core::start(
        state::CoreParts {
            config: loaded,
            config_path: Some(config.config_file.clone()),
            storage: Some(config.storage_path.clone()),
            retention: config.data_retention,
            external_url,
            route_prefix,
            client: None,
            options: notify::IntegrationOptions {
                telegram_edit_messages: config.telegram_edit_messages,
                telegram_silence_buttons: config.telegram_silence_buttons,
            },
            cluster: cluster_settings,
            registry: None,
        },
        shutdown.clone(),
    )
    .map_err(|source| Error::Io {
        context: "opening storage".into(),
        source,
    })?;
    if config.telegram_silence_buttons {
        tokio::spawn(notify::telegram::buttons::poll(
            core.clone(),
            core.client.clone(),
            std::time::Duration::from_secs(2),
            shutdown.clone(),
        ));
    }
    spawn_maintenance(core.clone(), config, shutdown);
    Ok(core)
}

fn spawn_maintenance(core: Arc<Core>, config: &Config, shutdown: CancellationToken) {
    let maint = config
        .maintenance_interval
        .max(std::time::Duration::from_secs(1));
    let gc = config
        .alerts_gc_interval
        .max(std::time::Duration::from_secs(1));
    tokio::spawn(async move {
        let mut snapshot = tokio::time::interval(std::time::Duration::from_secs(1));
        let mut maintenance = tokio::time::interval(maint);
        let mut alerts_gc = tokio::time::interval(gc);
        loop {
            tokio::select! {
                () = shutdown.cancelled() => {
                    core.persist();
                    return;
                }
                _ = snapshot.tick() => core.persist(),
                _ = maintenance.tick() => core.maintenance(),
                _ = alerts_gc.tick() => {
                    let dead = core.alerts.gc(core.clock.now());
                    core.runtime().inhibitor.forget(&dead);
                }
            }
        }
    });
}

/// Runs the router until `shutdown` is cancelled: binds `--web.listen-address`, serves the
/// API, reloads on SIGHUP, and writes the snapshots on the way out.
pub async fn run(config: Config, shutdown: CancellationToken) -> Result<()> {
    let bind = config.bind_address();
    let listener = tokio::net::TcpListener::bind(&bind)
        .await
        .map_err(|source| Error::Io {
            context: format!("listening on {bind}"),
            source,
        })?;
    serve(config, listener, shutdown).await
}

/// [`run`] on an already bound listener (tests bind `127.0.0.1:0` and read the port).
pub async fn serve(
    config: Config,
    listener: tokio::net::TcpListener,
    shutdown: CancellationToken,
) -> Result<()> {
    let bind = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_else(|_| config.bind_address());
    let port = listener.local_addr().map(|a| a.port()).unwrap_or(9093);
    let core = start(&config, port, shutdown.clone())?;
    if let Err(source) = cluster::start(core.clone(), shutdown.clone()).await {
        shutdown.cancel();
        return Err(Error::Io {
            context: "starting the cluster listener".into(),
            source,
        });
    }
    if let Err(e) = state::verify_telegram(&core.runtime().config, &core.client).await {
        shutdown.cancel();
        return Err(Error::Config(e));
    }
    tracing::info!(address = %bind, external_url = %core.external_url, "listening");
    #[cfg(unix)]
    {
        let core = core.clone();
        let shutdown = shutdown.clone();
        tokio::spawn(async move {
            let Ok(mut hup) =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
            else {
                return;
            };
            loop {
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    _ = hup.recv() => { let _ = Box::pin(core.reload()).await; }
                }
            }
        });
    }
    let app = router(core.clone());
    let stop = shutdown.clone();
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(async move { stop.cancelled().await })
        .await;
    shutdown.cancel();
    if let Some(c) = &core.cluster {
        c.stopped().await;
    }
    core.persist();
    served.map_err(|source| Error::Io {
        context: "serving HTTP".into(),
        source,
    })
}
