//! `lgtm`: the all-in-one binary (see the library docs).

use lgtm::{LgtmError, plan_from_args, run};
use lgtm_common::config::FlagError;
use lgtm_common::http::cancel_on_signal;
use lgtm_common::telemetry::{LogFormat, LogLevel, init_logging};

/// mimalloc, as in the component binaries: ingest is small-allocation heavy.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let plan = match plan_from_args(std::env::args().skip(1)) {
        Ok(plan) => plan,
        Err(LgtmError::Flags(FlagError::Help(usage))) => {
            eprintln!("{usage}");
            return std::process::ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("lgtm: error: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let _logging = match plan
        .log_level
        .parse::<LogLevel>()
        .and_then(|level| init_logging(level, LogFormat::Logfmt))
    {
        Ok(guard) => guard,
        Err(e) => {
            eprintln!("lgtm: error: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    match run(plan, cancel_on_signal()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("lgtm: error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
