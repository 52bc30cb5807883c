//! Loki `line_format`/`label_format` functions; examples from Loki's template-functions docs
//! and the Go/sprig semantics they inherit.

use lgtm_template::{Env, MissingKey, TemplateSet, Time, Value, loki_funcs};

fn set(text: &str) -> TemplateSet {
    let mut s = TemplateSet::new()
        .with_funcs(loki_funcs())
        .with_missing_key(MissingKey::Zero);
    s.parse("line", text).unwrap();
    s
}

fn labels() -> Value {
    Value::string_map([
        ("path", "/api/v1 push"),
        ("request_method", "POST"),
        ("status", "503"),
        ("a", "7"),
        ("b", "5"),
        ("dur", "1m30s"),
        ("size", "1.5 KiB"),
        ("json", r#"{"foo": 55, "bar": {"baz": "x"}}"#),
    ])
}

fn r(text: &str) -> String {
    let env = Env {
        line: Some("level=error msg=\"boom\""),
        timestamp_nanos: Some(1_679_577_215_123_456_789),
        now: Some(Time::from_unix(1_700_000_000, 0)),
        ..Env::default()
    };
    match set(text).execute_with("line", &labels(), &env) {
        Ok(s) => s,
        Err(e) => panic!("{text}: {e}"),
    }
}

#[test]
fn doc_pipeline_example() {
    assert_eq!(
        r(r#"{{ .path | replace " " "_" | trunc 5 | upper }}"#),
        "/API/"
    );
    assert_eq!(r("{{ .request_method | ToLower }}"), "post");
    assert_eq!(
        r(r#"{{ if and (contains "he" "hello") (contains "llo" "hello") }}yes{{end}}"#),
        "yes"
    );
    assert_eq!(
        r("[{{ .missing }}]"),
        "[]",
        "missing labels are empty (missingkey=zero)"
    );
}

#[test]
fn line_and_timestamp() {
    assert_eq!(r("{{ __line__ | lower }}"), "level=error msg=\"boom\"");
    assert_eq!(r("{{ __timestamp__ | unixEpoch }}"), "1679577215");
    assert_eq!(r("{{ __timestamp__ | unixEpochMillis }}"), "1679577215123");
    assert_eq!(
        r("{{ __timestamp__ | unixEpochNanos }}"),
        "1679577215123456789"
    );
    assert_eq!(
        r(r#"{{ __timestamp__ | date "2006-01-02T15:04:05.00Z07:00" }}"#),
        "2023-03-23T13:13:35.12Z"
    );
    assert_eq!(
        r("{{ __timestamp__ }}"),
        "2023-03-23 13:13:35.123456789 +0000 UTC"
    );
}

#[test]
fn string_functions() {
    assert_eq!(
        r(r#"{{ trunc 5 "hello world" }}|{{ trunc -5 "hello world" }}"#),
        "hello|world"
    );
    assert_eq!(r(r#"{{ substr 0 5 "hello world" }}"#), "hello");
    assert_eq!(
        r(r#"{{ indent 4 "hello\nworld" }}"#),
        "    hello\n    world"
    );
    assert_eq!(r(r#"{{ nindent 2 "x" }}"#), "\n  x");
    assert_eq!(r(r#"{{ repeat 3 "hello" }}"#), "hellohellohello");
    assert_eq!(
        r(r#"{{ hasPrefix "/api" .path }} {{ hasSuffix "push" .path }}"#),
        "true true"
    );
    assert_eq!(
        r(
            r#"[{{ trim "  x  " }}] {{ trimAll "$" "$5.00$" }} {{ trimPrefix "-" "-x" }} {{ trimSuffix "-" "x-" }}"#
        ),
        "[x] 5.00 x x"
    );
    assert_eq!(r(r#"{{ title "hello world" }}"#), "Hello World");
    assert_eq!(
        r(
            r#"{{ alignLeft 5 "hello world" }}|{{ alignRight 5 "hello world" }}|{{ alignLeft 7 "abc" }}|"#
        ),
        "hello|world|abc    |"
    );
    assert_eq!(
        r(r#"{{ Replace "aaa" "a" "b" 2 }} {{ TrimSpace " x " }} {{ Trim "xxhixx" "x" }}"#),
        "bba x hi"
    );
    assert_eq!(
        r(r#"{{ b64enc "hello" }} {{ b64dec "aGVsbG8=" }}"#),
        "aGVsbG8= hello"
    );
    assert_eq!(
        r(r#"{{ urlencode "a b&c" }} {{ urldecode "a+b%26c" }}"#),
        "a+b%26c a b&c"
    );
}

#[test]
fn regex_functions_follow_go_regexp() {
    // Go's regexp ReplaceAllString documentation examples.
    assert_eq!(
        r(r#"{{ regexReplaceAll "a(x*)b" "-ab-axxb-" "T" }}"#),
        "-T-T-"
    );
    assert_eq!(
        r(r#"{{ regexReplaceAll "a(x*)b" "-ab-axxb-" "$1" }}"#),
        "--xx-"
    );
    assert_eq!(
        r(r#"{{ regexReplaceAll "a(x*)b" "-ab-axxb-" "$1W" }}"#),
        "---"
    );
    assert_eq!(
        r(r#"{{ regexReplaceAll "a(x*)b" "-ab-axxb-" "${1}W" }}"#),
        "-W-xxW-"
    );
    assert_eq!(
        r(r#"{{ regexReplaceAllLiteral "a(x*)b" "-ab-axxb-" "${1}" }}"#),
        "-${1}-${1}-"
    );
    assert_eq!(r(r#"{{ count "a|b" "abcab" }}"#), "4");
}

#[test]
fn math_functions() {
    assert_eq!(
        r("{{ add 3 2 5 }} {{ sub 5 2 }} {{ mul 2 3 4 }} {{ div 8 4 }} {{ mod 10 3 }}"),
        "10 3 24 2 1"
    );
    assert_eq!(
        r("{{ add .a .b }} {{ sub .a .b }}"),
        "12 2",
        "label strings are converted"
    );
    assert_eq!(
        r(
            "{{ addf 3.5 2 }} {{ addf 1.1 2.2 }} {{ subf 5.5 2 1.5 }} {{ mulf 1.5 2 2 }} {{ divf 10 2 4 }}"
        ),
        "5.5 3.3 2 6 1.25"
    );
    assert_eq!(
        r("{{ max 1 7 3 }} {{ min 4 2 9 }} {{ maxf 1 2.5 2 }} {{ minf 1.5 0.5 }}"),
        "7 2 2.5 0.5"
    );
    assert_eq!(
        r("{{ ceil 123.001 }} {{ floor 123.9999 }} {{ round 123.555555 3 }} {{ round 123.5 0 }}"),
        "124 123 123.556 124"
    );
    assert_eq!(
        r(r#"{{ int "42" }} {{ float64 "2.5" }} {{ int 3.9 }}"#),
        "42 2.5 3"
    );
    let e = set("{{ div 1 0 }}")
        .execute("line", &labels())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("error calling div: runtime error: integer divide by zero"),
        "{e}"
    );
}

#[test]
fn conversions_and_json() {
    assert_eq!(
        r("{{ .dur | duration }} {{ duration_seconds \"1.5h\" }}"),
        "90 5400"
    );
    assert_eq!(r("{{ .size | bytes }} {{ bytes \"1 KB\" }}"), "1536 1000");
    assert_eq!(r(r#"{{ fromJson "{\"foo\": 55}" }}"#), "map[foo:55]");
    assert_eq!(r("{{ (fromJson .json).bar.baz }}"), "x");
    assert_eq!(
        r(r#"{{ default "-" .missing }} {{ default "-" .status }}"#),
        "- 503"
    );
    assert_eq!(
        r(r#"{{ unixToTime "1679577215" | unixEpoch }}"#),
        "1679577215"
    );
    assert_eq!(
        r(r#"{{ unixToTime "1679577215123" | unixEpochMillis }}"#),
        "1679577215123"
    );
    assert_eq!(r(r#"{{ unixToTime "19440" | unixEpoch }}"#), "1679616000");
    let e = set(r#"{{ unixToTime "123" }}"#)
        .execute("line", &labels())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("unable to parse time '123' length '3' did not match any expected formats"),
        "{e}"
    );
}

#[test]
fn dates() {
    assert_eq!(r(r#"{{ date "2006-01-02" now }}"#), "2023-11-14");
    assert_eq!(
        r(r#"{{ toDate "2006-01-02" "2021-11-02" | unixEpoch }}"#),
        "1635811200"
    );
    assert_eq!(r(r#"{{ (toDate "2006-01-02" "bad").IsZero }}"#), "true");
    assert_eq!(
        r(r#"{{ toDateInZone "2006-01-02" "UTC" "2021-11-02" | unixEpoch }}"#),
        "1635811200"
    );
    if lgtm_template::load_location("Europe/Berlin").is_ok() {
        // Midnight in Berlin (CET, +1) is 23:00 UTC the day before.
        assert_eq!(
            r(r#"{{ toDateInZone "2006-01-02" "Europe/Berlin" "2021-11-02" | unixEpoch }}"#),
            "1635807600"
        );
    }
    assert_eq!(
        r(r#"{{ (toDateInZone "2006-01-02" "Nowhere/X" "2021-11-02").Unix }}"#),
        "1635811200"
    );
}

#[test]
fn label_format_example() {
    // From the PR that added the date functions: seconds since a label's date.
    let mut s = TemplateSet::new()
        .with_funcs(loki_funcs())
        .with_missing_key(MissingKey::Zero);
    s.parse(
        "label",
        r#"{{ unixEpoch (toDate "2006-01-02" .createDate) }}"#,
    )
    .unwrap();
    let out = s
        .execute("label", &Value::string_map([("createDate", "2021-11-01")]))
        .unwrap();
    assert_eq!(out, "1635724800");
}

#[test]
fn regex_classes_are_ascii_like_go() {
    // Go's \d and \w do not match non-ASCII digits and letters.
    assert_eq!(r(r##"{{ regexReplaceAll "\\d" "a1٣" "#" }}"##), "a#٣");
    assert_eq!(r(r##"{{ regexReplaceAll "[\\d]+" "12٣" "#" }}"##), "#٣");
    assert_eq!(r(r#"{{ regexReplaceAll "\\w+" "héllo" "X" }}"#), "XéX");
    assert_eq!(r(r#"{{ count "\\s" "a b\tc" }}"#), "2");
}
