//! Log query execution over in-memory streams: the entries of `[start, end)` that pass the
//! pipeline, `limit` of them in `direction` order, grouped into result streams the way
//! Loki's `streams` result shows them (with or without `categorize-labels`).

use std::collections::BTreeMap;

use lgtm_common::labels::matches_all;

use super::ParseError;
use super::ast::LogExpr;
use super::eval::Stream;
use super::pipeline::Pipeline;

/// Order of entries in a log query result.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Direction {
    /// Oldest first.
    Forward,
    /// Newest first (Loki's default).
    #[default]
    Backward,
}

/// One returned entry.
#[derive(Clone, Debug, PartialEq)]
pub struct ResultEntry {
    /// Unix nanoseconds.
    pub ts: i64,
    /// The line after the pipeline.
    pub line: String,
    /// Structured metadata (only filled with `categorize`).
    pub structured_metadata: BTreeMap<String, String>,
    /// Parsed labels (only filled with `categorize`).
    pub parsed: BTreeMap<String, String>,
}

/// One result stream: its labels and entries in the requested order.
#[derive(Clone, Debug, PartialEq)]
pub struct ResultStream {
    /// All labels (without `categorize`) or the indexed stream labels only (with it).
    pub labels: BTreeMap<String, String>,
    /// Entries.
    pub entries: Vec<ResultEntry>,
}

/// Runs a log query: entries with `start <= ts < end` of the streams the selector matches,
/// through the pipeline, the first `limit` in `direction` order, grouped by labels.
/// With `categorize`, streams are grouped by their indexed labels and each entry carries
/// its structured metadata and parsed labels (`X-Loki-Response-Encoding-Flags:
/// categorize-labels`).
pub fn select_logs(
    streams: &[Stream],
    log: &LogExpr,
    start: i64,
    end: i64,
    limit: usize,
    direction: Direction,
    categorize: bool,
) -> Result<Vec<ResultStream>, ParseError> {
    let pipeline = Pipeline::new(&log.stages)?;
    let mut kept = Vec::new();
    for s in streams {
        if !matches_all(&log.matchers, &s.labels) {
            continue;
        }
        let first = s.entries.partition_point(|e| e.ts < start);
        for e in &s.entries[first..] {
            if e.ts >= end {
                break;
            }
            if let Some(p) = pipeline.process(&s.labels, e.ts, &e.line, &e.metadata) {
                kept.push((e.ts, p));
            }
        }
    }
    kept.sort_by_key(|(ts, _)| *ts);
    if direction == Direction::Backward {
        kept.reverse();
    }
    kept.truncate(limit);
    let mut out: BTreeMap<Vec<(String, String)>, ResultStream> = BTreeMap::new();
    for (ts, p) in kept {
        let labels = if categorize { p.stream } else { p.labels };
        let key: Vec<(String, String)> =
            labels.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        let entry = if categorize {
            ResultEntry {
                ts,
                line: p.line,
                structured_metadata: p.structured_metadata,
                parsed: p.parsed,
            }
        } else {
            ResultEntry {
                ts,
                line: p.line,
                structured_metadata: BTreeMap::new(),
                parsed: BTreeMap::new(),
            }
        };
        out.entry(key)
            .or_insert_with(|| ResultStream {
                labels,
                entries: Vec::new(),
            })
            .entries
            .push(entry);
    }
    Ok(out.into_values().collect())
}
