//! `absent()` and `absent_over_time()`: the labels of the series reported as absent.

use lgtm_common::labels::{Labels, METRIC_NAME, MatchOp};

use crate::ast::VectorSelector;

/// Labels `absent()` reports: the equality matchers of the selector (not the name).
pub fn absent_labels(vs: &VectorSelector) -> Labels {
    let mut pairs: Vec<(String, String)> = Vec::new();
    let mut dup: Vec<String> = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    for m in &vs.matchers {
        if m.name == METRIC_NAME {
            continue;
        }
        if seen.contains(&m.name.as_str()) {
            dup.push(m.name.clone());
        }
        seen.push(&m.name);
        if m.op == MatchOp::Equal {
            pairs.push((m.name.clone(), m.value.clone()));
        }
    }
    pairs.retain(|(n, _)| !dup.contains(n));
    Labels::from_pairs(pairs)
}
