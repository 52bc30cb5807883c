//! Log queries: every selected stream's entries in `[start, end)` run through the pipeline;
//! the kept entries are merged across streams in `direction` order, thinned by `interval`
//! (first entry, then the next one at least `interval` later, over all streams as Loki's
//! engine does) and cut at `limit`.

use std::collections::BTreeMap;

use super::Direction;
use crate::logql::pipeline::Pipeline;
use crate::store::StreamEntries;

/// One returned entry with its label categories.
#[derive(Debug, Clone)]
pub struct LogRow {
    /// Unix ns.
    pub ts: i64,
    /// Line after the pipeline.
    pub line: String,
    /// Stream, structured metadata and parsed labels merged.
    pub labels: BTreeMap<String, String>,
    /// Indexed stream labels.
    pub stream: BTreeMap<String, String>,
    /// Structured metadata.
    pub structured_metadata: BTreeMap<String, String>,
    /// Parsed labels.
    pub parsed: BTreeMap<String, String>,
}

/// Counters for the `stats` block.
#[derive(Debug, Default, Clone, Copy)]
pub struct LogStats {
    /// Lines read.
    pub lines: u64,
    /// Line bytes read.
    pub bytes: u64,
    /// Structured metadata bytes read.
    pub metadata_bytes: u64,
    /// Lines kept by the pipeline.
    pub post_filter: u64,
}

/// Runs the pipeline and selects the entries to return, in `direction` order.
pub fn run(
    streams: &[StreamEntries],
    pipeline: &Pipeline,
    limit: usize,
    direction: Direction,
    interval: i64,
) -> (Vec<LogRow>, LogStats) {
    let mut stats = LogStats::default();
    let mut rows: Vec<LogRow> = Vec::new();
    for s in streams {
        // What the store looked at, including lines its line pre-filter dropped.
        stats.lines += s.scanned.lines;
        stats.bytes += s.scanned.bytes;
        stats.metadata_bytes += s.scanned.metadata_bytes;
        let mut kept = 0usize;
        let mut visit = |e: &crate::store::Entry| -> bool {
            if let Some(p) = pipeline.process(&s.labels, e.ts, &e.line, &e.metadata) {
                stats.post_filter += 1;
                rows.push(LogRow {
                    ts: e.ts,
                    line: p.line,
                    labels: p.labels,
                    stream: p.stream,
                    structured_metadata: p.structured_metadata,
                    parsed: p.parsed,
                });
                kept += 1;
            }
            // Without an interval, no stream can contribute more than `limit` entries.
            interval > 0 || kept < limit
        };
        match direction {
            Direction::Forward => {
                for e in &s.entries {
                    if !visit(e) {
                        break;
                    }
                }
            }
            Direction::Backward => {
                for e in s.entries.iter().rev() {
                    if !visit(e) {
                        break;
                    }
                }
            }
        }
    }
    match direction {
        Direction::Forward => {
            rows.sort_by(|a, b| a.ts.cmp(&b.ts).then_with(|| a.labels.cmp(&b.labels)))
        }
        Direction::Backward => {
            rows.sort_by(|a, b| b.ts.cmp(&a.ts).then_with(|| a.labels.cmp(&b.labels)))
        }
    }
    if interval > 0 {
        let mut last: Option<i64> = None;
        rows.retain(|r| {
            let keep = match (last, direction) {
                (None, _) => true,
                (Some(l), Direction::Forward) => r.ts >= l.saturating_add(interval),
                (Some(l), Direction::Backward) => r.ts <= l.saturating_sub(interval),
            };
            if keep {
                last = Some(r.ts);
            }
            keep
        });
    }
    rows.truncate(limit);
    (rows, stats)
}
