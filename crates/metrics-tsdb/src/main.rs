//! `metrics-tsdb`: takes Prometheus' flags and serves until SIGTERM/SIGINT.

use lgtm_common::config::FlagError;
use lgtm_common::http::cancel_on_signal;
use lgtm_common::telemetry::{LogFormat, LogLevel, init_logging};
use metrics_tsdb::server::{Config, ServerError, run};

/// mimalloc: small-allocation heavy ingest spent half its CPU in glibc malloc (measured with
/// perf, see docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let config = match Config::from_args(std::env::args().skip(1)) {
        Ok(config) => config,
        Err(ServerError::Flags(FlagError::Help(usage))) => {
            eprintln!("{usage}");
            return std::process::ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("metrics-tsdb: error: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let logging = config
        .log_level
        .parse::<LogLevel>()
        .and_then(|level| Ok((level, config.log_format.parse::<LogFormat>()?)))
        .and_then(|(level, format)| init_logging(level, format));
    let _logging = match logging {
        Ok(guard) => guard,
        Err(e) => {
            eprintln!("metrics-tsdb: error: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    match run(config, cancel_on_signal()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "metrics-tsdb stopped");
            eprintln!("metrics-tsdb: error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
