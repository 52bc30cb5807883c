//! Runs Prometheus' own PromQL test files (`shared/conformance/promql/*.test`) through our
//! engine, in process, and compares the failing `eval` blocks with the checked-in baseline
//! `tests/promql_conformance_known_failures.txt`.
//!
//! The test fails when a block fails that is not in the baseline (a regression) and when a
//! listed block now passes (so the list only shrinks: delete the line).

use std::collections::BTreeSet;
use std::path::PathBuf;

use lgtm_promql::promqltest::{Outcome, RunOptions, run_dir};

fn conformance_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance/promql")
}

fn baseline() -> BTreeSet<String> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/promql_conformance_known_failures.txt");
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_owned)
        .collect()
}

#[test]
fn promql_conformance_matches_baseline() {
    let dir = conformance_dir();
    if !dir.is_dir() {
        // The upstream test data lives outside the repository; without it there is nothing
        // to compare (CI checkouts carry it next to the repository).
        eprintln!("skipping: {} not found", dir.display());
        return;
    }
    let results = run_dir(&dir, &RunOptions::default()).expect("reading the conformance folder");
    assert!(
        results.len() > 2000,
        "expected the 2214 upstream eval blocks, found {}",
        results.len()
    );
    let known = baseline();
    let mut failing = BTreeSet::new();
    let mut new_failures = Vec::new();
    for r in &results {
        if let Outcome::Fail(msg) = &r.outcome {
            let key = format!("{}:{}", r.file, r.line);
            if !known.contains(&key) {
                new_failures.push(format!("{key}: {}\n    {msg}", r.expr));
            }
            failing.insert(key);
        }
    }
    let fixed: Vec<&String> = known.iter().filter(|k| !failing.contains(*k)).collect();
    let passed = results
        .iter()
        .filter(|r| r.outcome == Outcome::Pass)
        .count();
    eprintln!("{passed} passed, {} failed", failing.len());
    assert!(
        new_failures.is_empty(),
        "new PromQL conformance failures (not in the baseline):\n{}",
        new_failures.join("\n")
    );
    assert!(
        fixed.is_empty(),
        "these blocks pass now; remove them from tests/promql_conformance_known_failures.txt:\n{}",
        fixed
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    );
}
