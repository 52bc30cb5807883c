//! Runs Prometheus' PromQL test files (`*.test`) against our engine.
//!
//! Usage: `promql-conformance [--enable-feature=a,b] [--quiet] <folder>`. Without any
//! `--enable-feature` flag every experimental feature is on, as in upstream's own test
//! harness; with flags only the named ones are (`promql-experimental-functions`,
//! `promql-extended-range-selectors`, `promql-duration-expr`, `promql-binop-fill-modifiers`).
//! The last line is `N passed, N failed`.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, bail};
use lgtm_promql::ParserOptions;
use lgtm_promql::promqltest::{CaseResult, Outcome, RunOptions, run_dir};

fn main() -> anyhow::Result<()> {
    let mut dir: Option<PathBuf> = None;
    let mut features: Option<Vec<String>> = None;
    let mut quiet = false;
    for arg in std::env::args().skip(1) {
        if let Some(f) = arg.strip_prefix("--enable-feature=") {
            features
                .get_or_insert_with(Vec::new)
                .extend(f.split(',').map(str::to_owned));
        } else if arg == "--quiet" || arg == "-q" {
            quiet = true;
        } else if arg.starts_with('-') {
            bail!("unknown flag {arg}");
        } else {
            dir = Some(PathBuf::from(arg));
        }
    }
    let dir = dir.context("usage: promql-conformance [--enable-feature=...] <folder>")?;
    let mut opts = RunOptions::default();
    if let Some(fs) = features {
        let mut p = ParserOptions::default();
        for f in fs {
            match f.as_str() {
                "promql-experimental-functions" => p.experimental_functions = true,
                "promql-extended-range-selectors" => p.extended_range_selectors = true,
                "promql-duration-expr" => p.duration_expressions = true,
                "promql-binop-fill-modifiers" => p.binop_fill_modifiers = true,
                other => bail!("unknown feature {other}"),
            }
        }
        opts.parser = p;
    }
    let results = run_dir(&dir, &opts).with_context(|| format!("reading {}", dir.display()))?;
    match report(&results, quiet) {
        // A closed pipe (`| head`) is not an error worth a panic.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}

/// Prints failures, per-file counts, the skipped count and the final `N passed, N failed`.
fn report(results: &[CaseResult], quiet: bool) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    let mut per_file: BTreeMap<&str, (usize, usize, usize)> = BTreeMap::new();
    for r in results {
        let e = per_file.entry(r.file.as_str()).or_default();
        match &r.outcome {
            Outcome::Pass => e.0 += 1,
            Outcome::Fail(msg) => {
                e.1 += 1;
                if !quiet {
                    writeln!(out, "FAIL {}:{}: {}\n     {}", r.file, r.line, r.expr, msg)?;
                }
            }
            Outcome::Skip(why) => {
                e.2 += 1;
                if !quiet {
                    writeln!(out, "SKIP {}:{}: {}\n     {}", r.file, r.line, r.expr, why)?;
                }
            }
        }
    }
    writeln!(out)?;
    let (mut p, mut f, mut s) = (0, 0, 0);
    for (file, (fp, ff, fs)) in &per_file {
        writeln!(
            out,
            "{file:<28} {fp:>4} passed {ff:>4} failed {fs:>4} skipped"
        )?;
        p += fp;
        f += ff;
        s += fs;
    }
    writeln!(out, "{s} skipped")?;
    writeln!(out, "{p} passed, {f} failed")?;
    Ok(())
}
