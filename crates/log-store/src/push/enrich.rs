//! Loki 3's ingest-time enrichment: the `service_name` stream label and the
//! `detected_level` structured metadata (`pkg/loghttp/push/push.go`,
//! `pkg/distributor/field_detection.go`). Checked against every entry of the conformance
//! data set whose level Loki recorded.

use crate::logql::pipeline::json::{JsonType, object_each};
use crate::logql::pipeline::logfmt::Decoder;

/// `service_name`.
pub(crate) const SERVICE_NAME: &str = "service_name";
/// `detected_level`.
pub(crate) const DETECTED_LEVEL: &str = "detected_level";
/// Value when no candidate label exists.
const SERVICE_UNKNOWN: &str = "unknown_service";

/// Loki's default level fields.
pub(crate) const DEFAULT_LEVEL_FIELDS: &[&str] = &[
    "level",
    "LEVEL",
    "Level",
    "log.level",
    "severity",
    "SEVERITY",
    "Severity",
    "SeverityText",
    "lvl",
    "LVL",
    "Lvl",
    "severity_text",
    "Severity_Text",
    "SEVERITY_TEXT",
];

/// Adds `service_name` (first non-empty candidate, else `unknown_service`) unless present
/// or discovery is off (empty list). `labels` is sorted by name.
pub(crate) fn add_service_name(labels: &mut Vec<(String, String)>, candidates: &[String]) {
    if candidates.is_empty() || labels.iter().any(|(n, _)| n == SERVICE_NAME) {
        return;
    }
    let value = candidates
        .iter()
        .find_map(|c| {
            labels
                .iter()
                .find(|(n, v)| n == c && !v.is_empty())
                .map(|(_, v)| v.clone())
        })
        .unwrap_or_else(|| SERVICE_UNKNOWN.to_owned());
    let pos = labels.partition_point(|(n, _)| n.as_str() < SERVICE_NAME);
    labels.insert(pos, (SERVICE_NAME.to_owned(), value));
}

/// Known level spellings to Loki's normalised names.
fn known_level(v: &str) -> Option<&'static str> {
    let eq = |s: &str| v.eq_ignore_ascii_case(s);
    Some(if eq("trace") || eq("trc") {
        "trace"
    } else if eq("debug") || eq("dbg") {
        "debug"
    } else if eq("info") || eq("inf") || eq("information") {
        "info"
    } else if eq("warn") || eq("wrn") || eq("warning") {
        "warn"
    } else if eq("error") || eq("err") {
        "error"
    } else if eq("critical") {
        "critical"
    } else if eq("fatal") {
        "fatal"
    } else {
        return None;
    })
}

/// Normalises a level value; unknown values are kept verbatim.
pub(crate) fn normalize_level(v: &str) -> String {
    known_level(v).map_or_else(|| v.to_owned(), str::to_owned)
}

/// The `detected_level` of an entry: a level label of the stream, then of the structured
/// metadata, then OTLP `severity_number`, then the line.
pub(crate) fn detect_level(
    stream: &[(String, String)],
    metadata: &[(String, String)],
    line: &str,
    fields: &[&str],
) -> String {
    for f in fields {
        if let Some((_, v)) = stream.iter().find(|(n, _)| n == f) {
            return normalize_level(v);
        }
    }
    for f in fields {
        if let Some((_, v)) = metadata.iter().find(|(n, _)| n == f) {
            return normalize_level(v);
        }
    }
    if let Some((_, v)) = metadata.iter().find(|(n, _)| n == "severity_number")
        && !v.is_empty()
    {
        return match v.parse::<i64>() {
            Err(_) => "info",
            Ok(0) => "unknown",
            Ok(n) if n <= 4 => "trace",
            Ok(n) if n <= 8 => "debug",
            Ok(n) if n <= 12 => "info",
            Ok(n) if n <= 16 => "warn",
            Ok(n) if n <= 20 => "error",
            Ok(n) if n <= 24 => "fatal",
            Ok(_) => "unknown",
        }
        .to_owned();
    }
    level_from_line(line, fields).to_owned()
}

fn is_json(line: &str) -> bool {
    let t = line.trim();
    t.starts_with('{') && t.ends_with('}')
}

fn level_from_line(line: &str, fields: &[&str]) -> &'static str {
    let value = if is_json(line) {
        json_level(line, fields, 0)
    } else if line.contains('=') {
        logfmt_level(line, fields)
    } else {
        return level_from_text(line);
    };
    value
        .and_then(|v| known_level(&v))
        .unwrap_or_else(|| level_from_text(line))
}

/// First string value of an allowed key, searching nested objects up to depth 2.
fn json_level(text: &str, fields: &[&str], depth: usize) -> Option<String> {
    if depth >= 2 {
        return None;
    }
    let mut found = None;
    let _ = object_each(text, &mut |key, v| {
        match v.ty {
            JsonType::String if fields.contains(&key) => {
                found = Some(v.raw.to_owned());
                return false;
            }
            JsonType::Object => {
                if let Some(x) = json_level(v.raw, fields, depth + 1) {
                    found = Some(x);
                    return false;
                }
            }
            _ => {}
        }
        true
    });
    found
}

/// Value of the allowed key with the lowest position in `fields` (case-insensitive keys).
fn logfmt_level(line: &str, fields: &[&str]) -> Option<String> {
    let mut d = Decoder::new(line);
    let mut best = fields.len();
    let mut res = None;
    while !d.eol() {
        match d.scan() {
            Ok(Some(pair)) => {
                for (x, f) in fields.iter().enumerate() {
                    if x < best && pair.key.eq_ignore_ascii_case(f) {
                        best = x;
                        res = Some(pair.value.clone().unwrap_or_default());
                        if x == 0 {
                            return res;
                        }
                    }
                }
            }
            Ok(None) => break,
            Err(()) => {}
        }
    }
    res
}

/// Loki's substring fallback, in its order (info, error, warn, critical, debug).
fn level_from_text(log: &str) -> &'static str {
    let any = |ps: &[&str]| ps.iter().any(|p| log.contains(p));
    if any(&["info", "INFO"]) {
        "info"
    } else if any(&["err:", "ERR:", "[err]", "[ERR]", "[error]", "[ERROR]"]) {
        "error"
    } else if any(&["warn:", "WARN:", "[warn]", "[WARN]", "warning", "WARNING"]) {
        "warn"
    } else if any(&["critical:", "CRITICAL:", "[critical]", "[CRITICAL]"]) {
        "critical"
    } else if any(&["debug", "DEBUG"]) {
        "debug"
    } else {
        "unknown"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lvl(line: &str) -> String {
        detect_level(&[], &[], line, DEFAULT_LEVEL_FIELDS)
    }

    #[test]
    fn levels_from_lines() {
        assert_eq!(lvl(r#"{"ts":"x","level":"WARN","msg":"m"}"#), "warn");
        assert_eq!(lvl(r#"{"ctx":{"severity":"error"}}"#), "error");
        assert_eq!(lvl(r#"{"level":5,"msg":"x"}"#), "unknown");
        assert_eq!(lvl("ts=1 lvl=dbg msg=x level=info"), "info");
        assert_eq!(lvl("ts=1 lvl=dbg msg=x"), "debug");
        assert_eq!(lvl("\u{1b}[36mDEBUG\u{1b}[0m task=deploy"), "debug");
        assert_eq!(lvl("[ERROR] 192.168.2.126:30946 SERVFAIL"), "error");
        assert_eq!(lvl("GET /x 200 information"), "info");
        assert_eq!(lvl("POST /api completed in 45ms status=404"), "unknown");
        assert_eq!(lvl("a warning here"), "warn");
    }

    #[test]
    fn labels_and_metadata_win_over_the_line() {
        let stream = vec![("level".to_owned(), "Err".to_owned())];
        assert_eq!(
            detect_level(&stream, &[], "info", DEFAULT_LEVEL_FIELDS),
            "error"
        );
        let md = vec![("severity_number".to_owned(), "17".to_owned())];
        assert_eq!(
            detect_level(&[], &md, "info", DEFAULT_LEVEL_FIELDS),
            "error"
        );
        let md = vec![("lvl".to_owned(), "custom".to_owned())];
        assert_eq!(
            detect_level(&[], &md, "info", DEFAULT_LEVEL_FIELDS),
            "custom"
        );
    }

    #[test]
    fn service_name_from_candidates() {
        let cands: Vec<String> = ["service", "app", "container"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let mut l = vec![
            ("app".to_owned(), "api".to_owned()),
            ("container".to_owned(), "c".to_owned()),
        ];
        add_service_name(&mut l, &cands);
        assert_eq!(l[2], ("service_name".to_owned(), "api".to_owned()));
        let mut l = vec![("zone".to_owned(), "x".to_owned())];
        add_service_name(&mut l, &cands);
        assert_eq!(
            l[0],
            ("service_name".to_owned(), "unknown_service".to_owned())
        );
        let mut l = vec![("service_name".to_owned(), "keep".to_owned())];
        add_service_name(&mut l, &cands);
        assert_eq!(l.len(), 1);
    }
}
