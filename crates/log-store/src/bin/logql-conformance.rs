//! `logql-conformance <folder>`: replays the recorded Loki cases against an in-process
//! log store and prints each failure and a last line `N passed, N failed`.

#![allow(clippy::print_stdout)]

use std::path::PathBuf;

use anyhow::Context as _;
use log_store::conformance;

#[tokio::main]
async fn main() -> anyhow::Result<std::process::ExitCode> {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(
        args.next()
            .context("usage: logql-conformance <conformance folder> [case-id-prefix]")?,
    );
    let filter = args.next();
    let data = tempfile_dir()?;
    let (router, _store) = conformance::start(&dir, &data).await?;
    let mut cases = conformance::load_cases(&dir)?;
    if let Some(f) = &filter {
        cases.retain(|c| c.id.starts_with(f.as_str()));
    }
    let report = conformance::run_cases(&router, &cases).await;
    for (id, reason) in &report.failed {
        println!("FAIL {id}: {reason}");
    }
    println!(
        "{} passed, {} failed",
        report.passed.len(),
        report.failed.len()
    );
    let _ = std::fs::remove_dir_all(&data);
    Ok(if report.failed.is_empty() {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::FAILURE
    })
}

fn tempfile_dir() -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("logql-conformance-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}
