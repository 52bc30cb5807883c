//! `alert-router` binary: parse Alertmanager's flags, set up logging, run until SIGINT/SIGTERM.

use alert_router::flags::FlagError;
use tokio_util::sync::CancellationToken;

/// mimalloc, as in every binary of the stack: glibc malloc took about 30% of notification
/// CPU in the alert-router benchmark (see docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = match alert_router::Config::from_args(std::env::args().skip(1)) {
        Ok(c) => c,
        Err(FlagError::Help) => {
            eprintln!(
                "usage: alert-router [--config.file=alertmanager.yml] [--storage.path=data/] [--web.listen-address=:9093] [--web.external-url=URL] [--web.route-prefix=PATH] [--data.retention=120h] [--log.level=info] [--cluster.* accepted]"
            );
            return Ok(());
        }
        Err(FlagError::Version) => {
            eprintln!(
                "alert-router {} (Alertmanager 0.25 API)",
                env!("CARGO_PKG_VERSION")
            );
            return Ok(());
        }
        Err(e) => anyhow::bail!("{e}"),
    };
    let filter =
        tracing_subscriber::EnvFilter::new(format!("alert_router={0},{0}", config.log_level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    if config.log_format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
    let shutdown = CancellationToken::new();
    let s = shutdown.clone();
    tokio::spawn(async move {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        {
            if let Ok(mut term) =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            {
                tokio::select! { _ = ctrl_c => {}, _ = term.recv() => {} }
            } else {
                let _ = ctrl_c.await;
            }
        }
        #[cfg(not(unix))]
        let _ = ctrl_c.await;
        s.cancel();
    });
    alert_router::run(config, shutdown).await?;
    Ok(())
}
