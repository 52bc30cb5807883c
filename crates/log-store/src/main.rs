//! `log-store`: takes Loki's flags and config file and serves until SIGTERM/SIGINT.

use lgtm_common::http::cancel_on_signal;
use lgtm_common::telemetry::{LogFormat, LogLevel, init_logging};
use log_store::cli::{Action, CliError, TARGETS, from_args, health_check};

/// mimalloc, as in every binary of the stack: glibc malloc took about 30% of notification
/// CPU in the alert-router benchmark (see docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = match from_args(std::env::args().skip(1)) {
        Ok(cli) => cli,
        Err(CliError::Flags(lgtm_common::config::FlagError::Help(usage))) => {
            eprintln!("{usage}");
            return std::process::ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("log-store: error: {e}");
            return std::process::ExitCode::from(1);
        }
    };
    match &cli.action {
        Action::Run => {}
        Action::Verify => {
            eprintln!("config is valid");
            return std::process::ExitCode::SUCCESS;
        }
        Action::Version => {
            eprintln!(
                "log-store, version {} (Loki API 3.6)",
                env!("CARGO_PKG_VERSION")
            );
            return std::process::ExitCode::SUCCESS;
        }
        Action::ListTargets => {
            for t in TARGETS {
                eprintln!("{t}");
            }
            return std::process::ExitCode::SUCCESS;
        }
        Action::Health(url) => {
            return match health_check(url).await {
                Ok(()) => {
                    eprintln!("Loki is healthy");
                    std::process::ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("{e}");
                    std::process::ExitCode::FAILURE
                }
            };
        }
    }
    let server = &cli.config.server;
    let logging = server
        .log_level
        .parse::<LogLevel>()
        .and_then(|level| Ok((level, server.log_format.parse::<LogFormat>()?)))
        .and_then(|(level, format)| init_logging(level, format));
    let _logging = match logging {
        Ok(guard) => guard,
        Err(e) => {
            eprintln!("log-store: error: {e}");
            return std::process::ExitCode::from(1);
        }
    };
    match log_store::server::run(cli.config, cancel_on_signal()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "log-store stopped");
            eprintln!("log-store: error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
