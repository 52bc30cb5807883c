//! Robustness: mutated expressions taken from the upstream PromQL test files must never panic
//! the parser, the printer or the engine (they may fail with an error).

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use lgtm_common::labels::Labels;
use lgtm_promql::engine::{Engine, EngineOptions};
use lgtm_promql::parser::{ParserOptions, parse_with};
use lgtm_promql::storage::MemStorage;
use lgtm_promql::value::FloatHistogram;
use proptest::prelude::*;

fn corpus() -> &'static Vec<String> {
    static CORPUS: OnceLock<Vec<String>> = OnceLock::new();
    CORPUS.get_or_init(|| {
        let dir =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance/promql");
        let mut out = Vec::new();
        if let Ok(entries) = std::fs::read_dir(&dir) {
            for e in entries.flatten() {
                let Ok(text) = std::fs::read_to_string(e.path()) else {
                    continue;
                };
                for line in text.lines() {
                    let line = line.trim();
                    if let Some(rest) = line.strip_prefix("eval instant at ") {
                        if let Some((_, expr)) = rest.split_once(' ') {
                            out.push(expr.to_owned());
                        }
                    } else if line.starts_with("eval range from ")
                        && let Some(idx) = line.find(" step ")
                        && let Some((_, expr)) = line[idx + 6..].split_once(' ')
                    {
                        out.push(expr.to_owned());
                    }
                }
            }
        }
        // A small built-in corpus so the test is meaningful without the upstream files.
        out.extend(
            [
                "sum by (job) (rate(http_requests_total[5m]))",
                "histogram_quantile(0.9, sum by (le) (rate(h_bucket[5m])))",
                "a + on(b) group_left(c) d",
                "max_over_time(x[1h:5m] offset 1m @ 100)",
                "label_replace(up, \"a\", \"$1\", \"job\", \"(.*)\")",
                "topk(3, -x) or vector(1) unless y",
                "h </ 2 * 3",
            ]
            .map(str::to_owned),
        );
        out
    })
}

fn storage() -> &'static MemStorage {
    static S: OnceLock<MemStorage> = OnceLock::new();
    S.get_or_init(|| {
        let s = MemStorage::new();
        for (i, name) in ["http_requests_total", "x", "y", "up", "h_bucket", "metric"]
            .iter()
            .enumerate()
        {
            for job in ["a", "b"] {
                let l = Labels::from_pairs([("__name__", *name), ("job", job), ("le", "1")]);
                for t in 0..20 {
                    s.add_float(&l, t * 60_000, (t as f64) * (i as f64 + 1.0));
                }
            }
        }
        let mut h = FloatHistogram {
            count: 4.0,
            sum: 5.0,
            ..Default::default()
        };
        h.set_positive(&[(0, 1.0), (1, 2.0), (2, 1.0)]);
        let hl = Labels::from_pairs([("__name__", "h"), ("job", "a")]);
        for t in 0..20 {
            s.add_histogram(&hl, t * 60_000, h.clone());
        }
        s
    })
}

#[derive(Debug, Clone)]
enum Mutation {
    Delete(usize),
    Insert(usize, char),
    Truncate(usize),
    Swap(usize, usize),
    Duplicate(usize, usize),
}

fn mutate(s: &str, muts: &[Mutation]) -> String {
    let mut chars: Vec<char> = s.chars().collect();
    for m in muts {
        let n = chars.len().max(1);
        match *m {
            Mutation::Delete(i) if !chars.is_empty() => {
                chars.remove(i % chars.len());
            }
            Mutation::Insert(i, c) => chars.insert(i % (chars.len() + 1), c),
            Mutation::Truncate(i) => chars.truncate(i % n),
            Mutation::Swap(a, b) if !chars.is_empty() => {
                let (a, b) = (a % chars.len(), b % chars.len());
                chars.swap(a, b);
            }
            Mutation::Duplicate(a, len) if !chars.is_empty() => {
                let a = a % chars.len();
                let end = (a + len % 8).min(chars.len());
                let piece: Vec<char> = chars[a..end].to_vec();
                for (k, c) in piece.into_iter().enumerate() {
                    chars.insert(end + k, c);
                }
            }
            _ => {}
        }
    }
    chars.into_iter().collect()
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let interesting = prop::sample::select(vec![
        '(', ')', '[', ']', '{', '}', ':', '@', ',', '"', '-', '+', '*', '/', '^', '%', '=', '!',
        '~', '<', '>', ' ', '0', '9', 'm', 's', 'e', 'x',
    ]);
    prop_oneof![
        any::<usize>().prop_map(Mutation::Delete),
        (any::<usize>(), interesting).prop_map(|(i, c)| Mutation::Insert(i, c)),
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::Swap(a, b)),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::Duplicate(a, b)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn mutated_expressions_never_panic(idx in any::<usize>(), muts in prop::collection::vec(mutation(), 0..4), t in -100i64..2000) {
        let exprs = corpus();
        let src = &exprs[idx % exprs.len()];
        let q = mutate(src, &muts);
        let Ok(expr) = parse_with(&q, ParserOptions::all()) else { return Ok(()) };
        // The printer's output must parse again.
        let printed = expr.to_string();
        let reparsed = parse_with(&printed, ParserOptions::all());
        prop_assert!(reparsed.is_ok(), "{q:?} printed as {printed:?} does not parse");
        // Printing is a fixed point: the canonical form prints as itself.
        if let Ok(again) = reparsed {
            prop_assert_eq!(again.to_string(), printed.clone(), "{:?} is not canonical", q);
        }
        let engine = Engine::new(EngineOptions {
            timeout: Duration::from_millis(300),
            max_samples: 50_000,
            ..EngineOptions::default()
        });
        let ts = t * 1000;
        let _ = engine.instant_query(storage(), &q, &expr, ts, None);
        let _ = engine.range_query(storage(), &q, &expr, ts - 120_000, ts, 60_000, None);
    }
}

#[test]
fn extreme_durations_and_timestamps_do_not_panic() {
    let engine = Engine::new(EngineOptions {
        timeout: Duration::from_millis(300),
        max_samples: 50_000,
        ..EngineOptions::default()
    });
    for q in [
        "x offset 9999999999999y",
        "x offset -9999999999999y",
        "rate(x[9999999999999y])",
        "x @ 9223372036854775",
        "x @ -9223372036854775",
        "max_over_time(x[100000y:1ms])",
        "sum_over_time(x[1ms:9999999y])",
        "round(x, 0)",
        "x % 0 + x ^ 1e308",
        "topk(9e300, x)",
        "quantile(NaN, x)",
        "histogram_quantile(0.5, h) + histogram_fraction(-Inf, Inf, h)",
        "h / 0 * 0",
    ] {
        let expr = match parse_with(q, ParserOptions::all()) {
            Ok(e) => e,
            Err(_) => continue,
        };
        let _ = engine.instant_query(storage(), q, &expr, 600_000, None);
        let _ = engine.range_query(storage(), q, &expr, 0, 600_000, 60_000, None);
    }
}
