//! Pipeline tests, one group per stage family, with the examples of Loki's LogQL docs.

use std::collections::BTreeMap;

use lgtm_common::labels::Labels;

use super::{Pipeline, Processed};
use crate::logql::{Expr, parse, parse_and_compile};

fn run_with(
    query: &str,
    stream: &[(&str, &str)],
    md: &[(&str, &str)],
    line: &str,
) -> Option<Processed> {
    let Expr::Log(log) = parse(query).unwrap_or_else(|e| panic!("{query}: {e}")) else {
        panic!("{query} is not a log query")
    };
    let p = Pipeline::new(&log.stages).unwrap_or_else(|e| panic!("{query}: {e}"));
    p.process(
        &Labels::from_pairs(stream.iter().copied()),
        1_700_000_000_123_456_789,
        line,
        &Labels::from_pairs(md.iter().copied()),
    )
}

fn run(query: &str, line: &str) -> Option<Processed> {
    run_with(query, &[("app", "a")], &[], line)
}

fn labels(p: &Processed) -> BTreeMap<&str, &str> {
    p.labels
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

// --- line filters -------------------------------------------------------------------------

#[test]
fn line_filters_and_or_chains() {
    let q = r#"{app="a"} |= "error" != "timeout""#;
    assert!(run(q, "an error occurred").is_some());
    assert!(run(q, "error: timeout").is_none());
    assert!(run(q, "all good").is_none());
    let q = r#"{app="a"} |~ `status=5\d\d` or "panic""#;
    assert!(run(q, "status=503").is_some());
    assert!(run(q, "panic: boom").is_some());
    assert!(run(q, "status=200").is_none());
    // Negative `or` excludes every alternative.
    let q = r#"{app="a"} != "info" or "debug""#;
    assert!(run(q, "level=info").is_none());
    assert!(run(q, "level=debug").is_none());
    assert!(run(q, "level=warn").is_some());
    // Regex line filters are not anchored; `(?i)` works.
    assert!(run(r#"{app="a"} |~ "(?i)ERROR""#, "an error").is_some());
    // `\d` is ASCII only, as in Go.
    assert!(run(r#"{app="a"} |~ `^\d+$`"#, "١٢").is_none());
}

#[test]
fn pattern_and_ip_line_filters() {
    let q = r#"{app="a"} |> "<_> level=error <_>""#;
    assert!(run(q, "ts=1 level=error msg=x").is_some());
    assert!(run(q, "ts=1 level=info msg=x").is_none());
    assert!(
        run(
            r#"{app="a"} !> "<_> level=error <_>""#,
            "ts=1 level=info msg=x"
        )
        .is_some()
    );
    let q = r#"{app="a"} |= ip("192.168.4.5/16")"#;
    assert!(run(q, "request from 192.168.1.10 ok").is_some());
    assert!(run(q, "request from 10.0.0.1 ok").is_none());
    let q = r#"{app="a"} != ip("192.168.4.5-192.168.4.20")"#;
    assert!(run(q, "from 192.168.4.7").is_none());
    assert!(run(q, "from 192.168.4.21").is_some());
}

#[test]
fn line_filter_stage_errors_are_lokis() {
    assert_eq!(
        parse_and_compile(r#"{app="a"} |~ "([""#)
            .unwrap_err()
            .to_string(),
        "parse error : stage '|~ \"([\"' : error parsing regexp: missing closing ]: `[`"
    );
    assert_eq!(
        parse_and_compile(r#"{app="a"} |= ip("nonsense")"#)
            .unwrap_err()
            .to_string(),
        "parse error : stage '|= ip(\"nonsense\")' : ip: invalid pattern: \"nonsense\""
    );
}

// --- parsers ------------------------------------------------------------------------------

#[test]
fn json_flattens_nested_objects_and_skips_arrays() {
    // Loki docs: `| json` on a nested document.
    let line = r#"{"protocol":"HTTP/2.0","servers":["129.0.1.1","10.2.1.3"],"request":{"time":"6.032","method":"GET","host":"foo.grafana.net","size":"55","headers":{"Accept":"*/*","User-Agent":"curl/7.68.0"}},"response":{"status":401,"size":"228","latency_seconds":"6.031"}}"#;
    let p = run(r#"{app="a"} | json"#, line).unwrap();
    let l = labels(&p);
    assert_eq!(l["protocol"], "HTTP/2.0");
    assert_eq!(l["request_method"], "GET");
    assert_eq!(l["request_headers_User_Agent"], "curl/7.68.0");
    assert_eq!(l["response_status"], "401");
    assert!(!l.contains_key("servers"));
    assert_eq!(p.parsed.len(), 10);
}

#[test]
fn json_with_parameters_and_collisions() {
    let line = r#"{"app":"x","user":{"roles":["viewer","ops"],"name":"zoë"},"key with space":"yes","n":null}"#;
    let p = run(
        r#"{app="a"} | json first="user.roles[0]", name="user.name", k="[\"key with space\"]", missing="nope", roles="user.roles""#,
        line,
    )
    .unwrap();
    let l = labels(&p);
    assert_eq!(l["first"], "viewer");
    assert_eq!(l["name"], "zoë");
    assert_eq!(l["k"], "yes");
    assert_eq!(l["missing"], "");
    assert_eq!(l["roles"], r#"["viewer","ops"]"#);
    // A parsed name that is already a stream label gets `_extracted`.
    let p = run(r#"{app="a"} | json"#, line).unwrap();
    assert_eq!(labels(&p)["app"], "a");
    assert_eq!(labels(&p)["app_extracted"], "x");
}

#[test]
fn json_errors_keep_the_line() {
    let p = run(r#"{app="a"} | json"#, "not json").unwrap();
    assert_eq!(labels(&p)["__error__"], "JSONParserErr");
    assert_eq!(
        labels(&p)["__error_details__"],
        "Value looks like object, but can't find closing '}' symbol"
    );
    assert!(run(r#"{app="a"} | json | __error__="""#, "not json").is_none());
    let p = run(
        r#"{app="a"} | json | drop __error__, __error_details__"#,
        "not json",
    )
    .unwrap();
    assert!(!labels(&p).contains_key("__error__"));
}

#[test]
fn json_parameters_scan_only_until_their_keys_are_found() {
    // A line cut short after the wanted key parses (Loki's EachKey stops there) ...
    let cut = r#"{"level":"info","msg":"trunc"#;
    let p = run(r#"{app="a"} | json level"#, cut).unwrap();
    assert_eq!(labels(&p)["level"], "info");
    assert!(!labels(&p).contains_key("__error__"));
    // ... one still missing its key when the break comes is an error.
    let p = run(r#"{app="a"} | json level, code="status""#, cut).unwrap();
    assert_eq!(labels(&p)["__error__"], "JSONParserErr");
    // Valid JSON that is not an object yields empty labels, not an error.
    let p = run(r#"{app="a"} | json level"#, "[1,2,3]").unwrap();
    assert_eq!(labels(&p).get("level"), Some(&""));
    assert!(!labels(&p).contains_key("__error__"));
}

#[test]
fn logfmt_strict_and_keep_empty() {
    let line = r#"at=info method=GET path=/ host=grafana.net fwd="124.133.124.161" service=8ms status=200 dry_run"#;
    let p = run(r#"{app="a"} | logfmt"#, line).unwrap();
    let l = labels(&p);
    assert_eq!(l["fwd"], "124.133.124.161");
    assert_eq!(l["service"], "8ms");
    assert!(!l.contains_key("dry_run"));
    let p = run(r#"{app="a"} | logfmt --keep-empty"#, line).unwrap();
    assert_eq!(labels(&p)["dry_run"], "");
    let bad = r#"a=1 b="unterminated"#;
    let p = run(r#"{app="a"} | logfmt"#, bad).unwrap();
    assert!(!labels(&p).contains_key("__error__"));
    let p = run(r#"{app="a"} | logfmt --strict"#, bad).unwrap();
    assert_eq!(labels(&p)["__error__"], "LogfmtParserErr");
    assert_eq!(
        labels(&p)["__error_details__"],
        "logfmt syntax error at pos 20 : unterminated quoted value"
    );
    let p = run(r#"{app="a"} | logfmt m="method", s="status""#, line).unwrap();
    assert_eq!(labels(&p)["m"], "GET");
    assert_eq!(labels(&p)["s"], "200");
    assert!(!labels(&p).contains_key("path"));
}

#[test]
fn regexp_and_pattern_parsers() {
    let line = r#"POST /api/prom/api/v1/query_range (200) 1.5s"#;
    let p = run(
        r#"{app="a"} | regexp "(?P<method>\\w+) (?P<path>[\\w|/]+) \\((?P<status>\\d+?)\\) (?P<duration>.*)""#,
        line,
    )
    .unwrap();
    let l = labels(&p);
    assert_eq!(l["method"], "POST");
    assert_eq!(l["path"], "/api/prom/api/v1/query_range");
    assert_eq!(l["status"], "200");
    assert_eq!(l["duration"], "1.5s");
    let nginx = r#"0.191.12.2 - - [10/Jun/2021:09:14:29 +0000] "GET /api/plugins/versioncheck HTTP/1.1" 200 2 "-" "Go-http-client/2.0" "13.76.247.102, 34.120.177.193" "TLSv1.2" "US" """#;
    let p = run(
        r#"{app="a"} | pattern "<ip> - - <_> \"<method> <uri> <_>\" <status> <size> <_> \"<agent>\" <_>""#,
        nginx,
    )
    .unwrap();
    let l = labels(&p);
    assert_eq!(l["ip"], "0.191.12.2");
    assert_eq!(l["method"], "GET");
    assert_eq!(l["uri"], "/api/plugins/versioncheck");
    assert_eq!(l["status"], "200");
    assert_eq!(l["agent"], "Go-http-client/2.0");
}

#[test]
fn unpack_replaces_the_line() {
    let line = r#"{"container":"myapp","pod":"pod-3223f","_entry":"original log message"}"#;
    let p = run_with(
        r#"{app="a"} | unpack"#,
        &[("app", "a"), ("pod", "p")],
        &[],
        line,
    )
    .unwrap();
    assert_eq!(p.line, "original log message");
    assert_eq!(labels(&p)["container"], "myapp");
    assert_eq!(labels(&p)["pod_extracted"], "pod-3223f");
}

// --- label filters ------------------------------------------------------------------------

#[test]
fn label_filters_convert_and_combine() {
    let q = r#"{app="a"} | logfmt | duration >= 20ms or size == 20kB and method!~"2..""#;
    assert!(run(q, "duration=25ms size=1 method=GET").is_some());
    assert!(run(q, "duration=1ms size=20kB method=POST").is_some());
    assert!(run(q, "duration=1ms size=20kB method=200").is_none());
    assert!(run(q, "duration=1ms size=2kB method=GET").is_none());
    let q = r#"{app="a"} | logfmt | status >= 400, status < 500"#;
    assert!(run(q, "status=404").is_some());
    assert!(run(q, "status=500").is_none());
    // Absent label: dropped by numeric filters, matches `=""`.
    assert!(run(q, "x=1").is_none());
    assert!(run(r#"{app="a"} | logfmt | missing="""#, "x=1").is_some());
    // A value that does not convert keeps the line with LabelFilterErr.
    let p = run(r#"{app="a"} | logfmt | latency > 1s"#, "latency=n/a").unwrap();
    assert_eq!(labels(&p)["__error__"], "LabelFilterErr");
    assert_eq!(
        labels(&p)["__error_details__"],
        r#"time: invalid duration "n/a""#
    );
    let q = r#"{app="a"} | logfmt | addr = ip("10.0.0.0/8")"#;
    assert!(run(q, "addr=10.1.2.3").is_some());
    assert!(run(q, "addr=11.1.2.3").is_none());
}

// --- formatters ---------------------------------------------------------------------------

#[test]
fn line_and_label_format() {
    let line = r#"{"level":"error","status":503,"msg":"boom"}"#;
    let p = run(
        r#"{app="a"} | json | line_format "{{.level}} {{.status}} {{ __line__ | len }}""#,
        line,
    )
    .unwrap();
    assert_eq!(p.line, format!("error 503 {}", line.len()));
    let p = run(
        r#"{app="a"} | json | label_format lvl=level, code="{{.status}}-x""#,
        line,
    )
    .unwrap();
    let l = labels(&p);
    assert_eq!(l["lvl"], "error");
    assert!(!l.contains_key("level"));
    assert_eq!(l["code"], "503-x");
    assert_eq!(
        parse_and_compile(r#"{app="a"} | line_format "{{""#)
            .unwrap_err()
            .to_string(),
        "parse error : stage '| line_format \"{{\"' : invalid line template: template: line:1: unclosed action"
    );
    let p = run(
        r#"{app="a"} | json | line_format "{{ div .status 0 }}""#,
        line,
    )
    .unwrap();
    assert_eq!(labels(&p)["__error__"], "TemplateFormatErr");
    assert_eq!(p.line, line);
}

// --- drop / keep / decolorize ---------------------------------------------------------------

#[test]
fn drop_keep_and_decolorize() {
    let line = "level=info method=GET status=200";
    let p = run_with(
        r#"{app="a"} | logfmt | drop method, status="200""#,
        &[("app", "a")],
        &[],
        line,
    )
    .unwrap();
    assert_eq!(
        labels(&p).keys().copied().collect::<Vec<_>>(),
        ["app", "level"]
    );
    let p = run_with(
        r#"{app="a"} | logfmt | keep level, status!="200""#,
        &[("app", "a"), ("env", "prod")],
        &[("trace_id", "t1")],
        line,
    )
    .unwrap();
    assert_eq!(labels(&p).keys().copied().collect::<Vec<_>>(), ["level"]);
    let p = run(r#"{app="a"} | decolorize"#, "\u{1b}[31mERROR\u{1b}[0m done").unwrap();
    assert_eq!(p.line, "ERROR done");
    // Loki runs line filters before decolorize.
    assert!(
        run(
            r#"{app="a"} | decolorize |= "ERROR done""#,
            "\u{1b}[31mERROR\u{1b}[0m done"
        )
        .is_none()
    );
}

#[test]
fn structured_metadata_is_filterable_and_categorised() {
    let p = run_with(
        r#"{app="a"} | trace_id="t1" | logfmt"#,
        &[("app", "a")],
        &[("trace_id", "t1")],
        "trace_id=t2 x=1",
    )
    .unwrap();
    assert_eq!(p.stream.get("app").map(String::as_str), Some("a"));
    assert_eq!(
        p.structured_metadata.len(),
        0,
        "parsed replaces metadata of the same name"
    );
    assert_eq!(p.parsed.get("trace_id").map(String::as_str), Some("t2"));
    assert!(
        run_with(
            r#"{app="a"} | trace_id="t9""#,
            &[("app", "a")],
            &[("trace_id", "t1")],
            "x"
        )
        .is_none()
    );
}
