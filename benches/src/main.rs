//! `lgtm-bench`: load generators for peer comparisons (see `docs/benchmarks.md`).
//!
//! ```text
//! lgtm-bench remote-write --url http://127.0.0.1:9090/api/v1/write --series 100000 \
//!     --scrapes 20 --batch 2000 --concurrency 4 [--pid <server pid>]
//! lgtm-bench queries --url http://127.0.0.1:9090 --runs 20 [--time <unix seconds>]
//! lgtm-bench compare-queries --ours http://127.0.0.1:19090 --peer http://127.0.0.1:19091 \
//!     --time <unix seconds> [--runs 30] [--ours-pid P --peer-pid P]
//! lgtm-bench alerts --url http://127.0.0.1:9093 --sink 127.0.0.1:9099 --mode post|notify|get
//! lgtm-bench logs-push --url http://127.0.0.1:3100 --bytes 300MB [--seed 1 --streams 1000 \
//!     --concurrency 4 --span 3600 --start-ns <ns> --pid <server pid>]
//! lgtm-bench logs-query --url http://127.0.0.1:3100 --start-ns <ns> [--runs 3 --pid <pid>]
//! lgtm-bench logs-dump --dir /tmp/lines --bytes 60MB   (bare lines, one file per stream)
//! lgtm-bench scrape-targets --targets 100 --series 1500 --interval 2s --config prometheus.yml
//! ```
//!
//! `remote-write` replays a node-exporter-like fleet (counters, gauges, histogram buckets at a
//! 15 s resolution) as fast as the target accepts it and prints samples/s, and with `--pid`
//! the target's CPU seconds and peak RSS from `/proc`, so samples per CPU-second can be
//! compared. `queries` times a fixed set of dashboard queries over the data it wrote and
//! prints median and p99 latency per query. `compare-queries` runs a longer dashboard set
//! against two servers at once, checks their answers are equal, and times them alternately.

#![allow(clippy::print_stdout)]

mod alerts;
mod logs;
mod logs_workload;
mod queries;
mod query_compare;
mod remote_write;
mod scrape_targets;
mod workload;

use anyhow::{Context, Result, bail};

/// `--name value` / `--name=value` options of a subcommand.
pub(crate) struct Args(Vec<(String, String)>);

impl Args {
    fn parse(raw: &[String]) -> Result<Self> {
        let mut out = Vec::new();
        let mut iter = raw.iter();
        while let Some(arg) = iter.next() {
            let Some(name) = arg.strip_prefix("--") else {
                bail!("unexpected argument {arg:?}");
            };
            match name.split_once('=') {
                Some((n, v)) => out.push((n.to_owned(), v.to_owned())),
                None => {
                    let value = iter
                        .next()
                        .with_context(|| format!("--{name} needs a value"))?;
                    out.push((name.to_owned(), value.clone()));
                }
            }
        }
        Ok(Self(out))
    }

    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub(crate) fn required(&self, name: &str) -> Result<&str> {
        self.get(name)
            .with_context(|| format!("--{name} is required"))
    }

    pub(crate) fn number<T: std::str::FromStr>(&self, name: &str, default: T) -> Result<T>
    where
        T::Err: std::fmt::Display,
    {
        match self.get(name) {
            None => Ok(default),
            Some(v) => v.parse().map_err(|e| anyhow::anyhow!("--{name}={v}: {e}")),
        }
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    let raw: Vec<String> = std::env::args().skip(1).collect();
    let Some((command, rest)) = raw.split_first() else {
        bail!(
            "usage: lgtm-bench <remote-write|queries|compare-queries|alerts|scrape-targets> [--options]"
        );
    };
    lgtm_common::http_client::client::install_crypto_provider();
    let args = Args::parse(rest)?;
    match command.as_str() {
        "alerts" => alerts::run(&args).await,
        "remote-write" => remote_write::run(&args).await,
        "queries" => queries::run(&args).await,
        "logs-push" => logs::push(&args).await,
        "logs-query" => logs::query(&args).await,
        "logs-dump" => logs::dump(&args),
        "compare-queries" => query_compare::run(&args).await,
        "scrape-targets" => scrape_targets::run(&args).await,
        other => bail!(
            "unknown workload {other:?} (remote-write, queries, compare-queries, alerts, scrape-targets)"
        ),
    }
}
