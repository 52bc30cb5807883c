//! Loki's query result encodings (`pkg/util/marshal/query.go`), written by hand so the key
//! order is Loki's: `{"status":"success","data":{"resultType":…[,"encodingFlags":…],
//! "result":…,"stats":{…}}}`. Strings go through Go's JSON escaping (`<`, `>`, `&`).

use std::collections::BTreeMap;

use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use lgtm_common::api::to_go_json_writer;
use lgtm_common::labels::Labels;
use lgtm_common::time::write_prom_timestamp;

use crate::logql::eval::MatrixSeries;
use crate::logql::units::go_float_f;
use crate::query::logs::{LogRow, LogStats};

/// Content type of Loki's query responses.
const JSON_UTF8: &str = "application/json; charset=UTF-8";

/// A 200 JSON response.
pub(crate) fn json_response(body: Vec<u8>) -> Response {
    let mut r = (StatusCode::OK, body).into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(JSON_UTF8));
    r
}

fn push_json<T: serde::Serialize + ?Sized>(out: &mut Vec<u8>, v: &T) {
    // Writing strings and maps of strings into a Vec cannot fail.
    let _ = to_go_json_writer(&mut *out, v);
}

fn push_map<'a>(out: &mut Vec<u8>, pairs: impl Iterator<Item = (&'a str, &'a str)>) {
    out.push(b'{');
    for (i, (k, v)) in pairs.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        push_json(out, k);
        out.push(b':');
        push_json(out, v);
    }
    out.push(b'}');
}

fn push_labels(out: &mut Vec<u8>, l: &Labels) {
    push_map(out, l.iter().map(|l| (l.name.as_str(), l.value.as_str())));
}

fn push_btree(out: &mut Vec<u8>, m: &BTreeMap<String, String>) {
    push_map(out, m.iter().map(|(k, v)| (k.as_str(), v.as_str())));
}

/// Sample value as Loki writes it: Go `FormatFloat(v, 'f', -1)`, `NaN`, `+Inf`, `-Inf`.
fn push_value(out: &mut Vec<u8>, ms: i64, v: f64) {
    let mut t = String::new();
    write_prom_timestamp(&mut t, ms);
    out.push(b'[');
    out.extend_from_slice(t.as_bytes());
    out.extend_from_slice(b",\"");
    let s = if v.is_nan() {
        "NaN".to_owned()
    } else if v == f64::INFINITY {
        "+Inf".to_owned()
    } else if v == f64::NEG_INFINITY {
        "-Inf".to_owned()
    } else {
        go_float_f(v)
    };
    out.extend_from_slice(s.as_bytes());
    out.extend_from_slice(b"\"]");
}

/// Query statistics worth reporting; the rest of Loki's `stats` tree is written as zeros.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Stats {
    pub(crate) log: LogStats,
    pub(crate) entries_returned: u64,
    pub(crate) exec_secs: f64,
}

/// Loki's full `stats` object (`pkg/logqlmodel/stats`), zero-filled except the summary.
fn push_stats(out: &mut Vec<u8>, s: &Stats) {
    let store = r#"{"totalChunksRef":0,"totalChunksDownloaded":0,"chunksDownloadTime":0,"queryReferencedStructuredMetadata":false,"queryUsedV2Engine":false,"chunk":{"headChunkBytes":0,"headChunkLines":0,"decompressedBytes":0,"decompressedLines":0,"compressedBytes":0,"totalDuplicates":0,"postFilterLines":0,"headChunkStructuredMetadataBytes":0,"decompressedStructuredMetadataBytes":0},"chunkRefsFetchTime":0,"congestionControlLatency":0,"pipelineWrapperFilteredLines":0,"dataobj":{"prePredicateDecompressedRows":0,"prePredicateDecompressedBytes":0,"prePredicateDecompressedStructuredMetadataBytes":0,"postPredicateRows":0,"postPredicateDecompressedBytes":0,"postPredicateStructuredMetadataBytes":0,"postFilterRows":0,"pagesScanned":0,"pagesDownloaded":0,"pagesDownloadedBytes":0,"pageBatches":0,"totalRowsAvailable":0,"totalPageDownloadTime":0,"wireBytesTransferred":0}}"#;
    let cache = r#"{"entriesFound":0,"entriesRequested":0,"entriesStored":0,"bytesReceived":0,"bytesSent":0,"requests":0,"downloadTime":0,"queryLengthServed":0}"#;
    let secs = s.exec_secs.max(0.0);
    let per_sec = |n: u64| {
        if secs > 0.0 {
            (n as f64 / secs) as u64
        } else {
            0
        }
    };
    let text = format!(
        concat!(
            r#"{{"summary":{{"bytesProcessedPerSecond":{bps},"linesProcessedPerSecond":{lps},"totalBytesProcessed":{bytes},"totalLinesProcessed":{lines},"execTime":{secs},"queueTime":0,"subqueries":0,"totalEntriesReturned":{ret},"splits":0,"shards":0,"totalPostFilterLines":{post},"totalStructuredMetadataBytesProcessed":{md}}},"#,
            r#""querier":{{"store":{store},"querierExecTime":0}},"#,
            r#""ingester":{{"totalReached":0,"totalChunksMatched":0,"totalBatches":0,"totalLinesSent":0,"store":{store}}},"#,
            r#""cache":{{"chunk":{cache},"index":{cache},"result":{cache},"statsResult":{cache},"volumeResult":{cache},"seriesResult":{cache},"labelResult":{cache},"instantMetricResult":{cache},"logResult":{cache},"taskResult":{cache}}},"#,
            r#""index":{{"totalChunks":0,"postFilterChunks":0,"shardsDuration":0,"usedBloomFilters":false,"totalStreams":0,"chunkRefsLookupTime":0,"bloomFilterTime":0}}}}"#
        ),
        bps = per_sec(s.log.bytes + s.log.metadata_bytes),
        lps = per_sec(s.log.lines),
        bytes = s.log.bytes + s.log.metadata_bytes,
        lines = s.log.lines,
        secs = secs,
        ret = s.entries_returned,
        post = s.log.post_filter,
        md = s.log.metadata_bytes,
        store = store,
        cache = cache,
    );
    out.extend_from_slice(text.as_bytes());
}

fn open(out: &mut Vec<u8>, result_type: &str, flags: bool) {
    out.extend_from_slice(b"{\"status\":\"success\",\"data\":{\"resultType\":");
    push_json(out, result_type);
    if flags {
        out.extend_from_slice(b",\"encodingFlags\":[\"categorize-labels\"]");
    }
    out.extend_from_slice(b",\"result\":");
}

fn close(out: &mut Vec<u8>, stats: &Stats) {
    out.extend_from_slice(b",\"stats\":");
    push_stats(out, stats);
    out.extend_from_slice(b"}}");
}

/// A `streams` result: rows grouped by their label set (all labels, or only the stream
/// labels with `categorize-labels`, where each entry gets its categories as a third element).
pub(crate) fn streams(rows: &[LogRow], categorize: bool, stats: &Stats) -> Vec<u8> {
    let mut groups: Vec<(&BTreeMap<String, String>, Vec<&LogRow>)> = Vec::new();
    let mut index: BTreeMap<&BTreeMap<String, String>, usize> = BTreeMap::new();
    for r in rows {
        let key = if categorize { &r.stream } else { &r.labels };
        match index.get(key) {
            Some(&i) => groups[i].1.push(r),
            None => {
                index.insert(key, groups.len());
                groups.push((key, vec![r]));
            }
        }
    }
    let mut out = Vec::with_capacity(rows.iter().map(|r| r.line.len() + 40).sum::<usize>() + 4096);
    open(&mut out, "streams", categorize);
    out.push(b'[');
    for (gi, (labels, rows)) in groups.iter().enumerate() {
        if gi > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"{\"stream\":");
        push_btree(&mut out, labels);
        out.extend_from_slice(b",\"values\":[");
        for (i, r) in rows.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(b"[\"");
            out.extend_from_slice(r.ts.to_string().as_bytes());
            out.extend_from_slice(b"\",");
            push_json(&mut out, r.line.as_str());
            if categorize {
                out.extend_from_slice(b",{");
                let mut first = true;
                if !r.structured_metadata.is_empty() {
                    out.extend_from_slice(b"\"structuredMetadata\":");
                    push_btree(&mut out, &r.structured_metadata);
                    first = false;
                }
                if !r.parsed.is_empty() {
                    if !first {
                        out.push(b',');
                    }
                    out.extend_from_slice(b"\"parsed\":");
                    push_btree(&mut out, &r.parsed);
                }
                out.push(b'}');
            }
            out.push(b']');
        }
        out.extend_from_slice(b"]}");
    }
    out.push(b']');
    close(&mut out, stats);
    out
}

/// A `matrix` result.
pub(crate) fn matrix(series: &[MatrixSeries], stats: &Stats) -> Vec<u8> {
    let mut out = Vec::with_capacity(4096);
    open(&mut out, "matrix", false);
    out.push(b'[');
    for (i, s) in series.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"{\"metric\":");
        push_labels(&mut out, &s.labels);
        out.extend_from_slice(b",\"values\":[");
        for (j, (t, v)) in s.points.iter().enumerate() {
            if j > 0 {
                out.push(b',');
            }
            push_value(&mut out, *t, *v);
        }
        out.extend_from_slice(b"]}");
    }
    out.push(b']');
    close(&mut out, stats);
    out
}

/// A `vector` result at `ms`.
pub(crate) fn vector(samples: &[(Labels, f64)], ms: i64, stats: &Stats) -> Vec<u8> {
    let mut out = Vec::with_capacity(1024);
    open(&mut out, "vector", false);
    out.push(b'[');
    for (i, (l, v)) in samples.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"{\"metric\":");
        push_labels(&mut out, l);
        out.extend_from_slice(b",\"value\":");
        push_value(&mut out, ms, *v);
        out.push(b'}');
    }
    out.push(b']');
    close(&mut out, stats);
    out
}

/// A `scalar` result whose timestamp is written as the given JSON integer (Loki's instant
/// scalars carry a wrapped value, see `api/query.rs`).
pub(crate) fn scalar(ts_number: i64, v: f64, stats: &Stats) -> Vec<u8> {
    let mut out = Vec::with_capacity(1024);
    open(&mut out, "scalar", false);
    // `push_value` prints ms as seconds; a whole number of seconds prints as is.
    push_value(&mut out, ts_number.saturating_mul(1000), v);
    close(&mut out, stats);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(ts: i64, line: &str, lbl: &[(&str, &str)], parsed: &[(&str, &str)]) -> LogRow {
        let m = |v: &[(&str, &str)]| {
            v.iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect::<BTreeMap<_, _>>()
        };
        let mut all = m(lbl);
        all.extend(m(parsed));
        LogRow {
            ts,
            line: line.into(),
            labels: all,
            stream: m(lbl),
            structured_metadata: BTreeMap::new(),
            parsed: m(parsed),
        }
    }

    #[test]
    fn streams_group_and_escape() {
        let rows = vec![
            row(3, "a<b", &[("app", "x")], &[]),
            row(2, "c", &[("app", "y")], &[]),
            row(1, "d", &[("app", "x")], &[("p", "1")]),
        ];
        let body = String::from_utf8(streams(&rows, false, &Stats::default())).unwrap();
        assert!(body.starts_with(r#"{"status":"success","data":{"resultType":"streams","result":[{"stream":{"app":"x"},"values":[["3","a\u003cb"]]},{"stream":{"app":"y"},"values":[["2","c"]]},{"stream":{"app":"x","p":"1"},"values":[["1","d"]]}],"stats":{"summary":"#), "{body}");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["data"]["stats"]["summary"]["totalEntriesReturned"], 0);
        let body = String::from_utf8(streams(&rows, true, &Stats::default())).unwrap();
        assert!(body.contains(r#""encodingFlags":["categorize-labels"],"result":[{"stream":{"app":"x"},"values":[["3","a\u003cb",{}],["1","d",{"parsed":{"p":"1"}}]]}"#), "{body}");
    }

    #[test]
    fn sample_values() {
        let mut out = Vec::new();
        push_value(&mut out, 1_772_323_200_500, 0.1 + 0.2);
        push_value(&mut out, 1_000, f64::INFINITY);
        push_value(&mut out, 1_000, f64::NAN);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#"[1772323200.500,"0.30000000000000004"][1,"+Inf"][1,"NaN"]"#
        );
    }
}
