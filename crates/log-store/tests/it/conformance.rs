//! Replays `../shared/conformance/loki` in process. The known-failures list may only
//! shrink: a new failure fails the test, and so does a listed case that now passes.

use std::collections::BTreeMap;
use std::path::PathBuf;

use log_store::conformance;

fn conformance_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance/loki");
    std::fs::metadata(dir.join("cases.jsonl")).ok().map(|_| dir)
}

fn known_failures() -> BTreeMap<String, String> {
    include_str!("conformance_known_failures.txt")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| match l.split_once('#') {
            Some((id, reason)) => (id.trim().to_owned(), reason.trim().to_owned()),
            None => (l.to_owned(), String::new()),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_cases_match_the_known_failures_list() {
    let Some(dir) = conformance_dir() else {
        panic!("conformance data not found next to the work tree (../shared/conformance/loki)");
    };
    let data = tempfile::tempdir().unwrap();
    let (router, store) = conformance::start(&dir, data.path()).await.unwrap();
    let cases = conformance::load_cases(&dir).unwrap();
    assert_eq!(cases.len(), 336);
    let known = known_failures();
    // First from the head (WAL + memory), then again after the head is flushed to blocks.
    check(
        &conformance::run_cases(&router, &cases).await,
        &known,
        "head",
    );
    assert_eq!(store.state.store.flush().await.unwrap(), 1);
    assert_eq!(store.state.store.head_bytes(), 0);
    check(
        &conformance::run_cases(&router, &cases).await,
        &known,
        "blocks",
    );
    // Block size on disk against the raw line bytes of the data set.
    let raw: u64 = std::fs::read_to_string(dir.join("data.jsonl"))
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["line"]
                .as_str()
                .unwrap()
                .len() as u64
        })
        .sum();
    let on_disk = dir_size(&data.path().join("chunks"));
    eprintln!(
        "raw line bytes {raw}, block bytes {on_disk}, ratio {:.2}",
        raw as f64 / on_disk as f64
    );
    assert!(
        on_disk > 0 && on_disk < raw / 2,
        "blocks should at least halve the raw size"
    );
}

fn dir_size(p: &std::path::Path) -> u64 {
    std::fs::read_dir(p)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| {
                    let m = e.metadata().unwrap();
                    if m.is_dir() {
                        dir_size(&e.path())
                    } else {
                        m.len()
                    }
                })
                .sum()
        })
        .unwrap_or(0)
}

fn check(report: &conformance::Report, known: &BTreeMap<String, String>, phase: &str) {
    let mut problems = Vec::new();
    for (id, reason) in &report.failed {
        if !known.contains_key(id) {
            problems.push(format!("{phase}: new failure {id}: {reason}"));
        }
    }
    for id in &report.passed {
        if known.contains_key(id) {
            problems.push(format!(
                "{phase}: {id} now passes: remove it from conformance_known_failures.txt"
            ));
        }
    }
    eprintln!(
        "{phase}: {} passed, {} failed",
        report.passed.len(),
        report.failed.len()
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
