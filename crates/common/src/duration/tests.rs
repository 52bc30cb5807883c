use std::time::Duration;

use proptest::prelude::*;

use super::*;

const SEC: u64 = 1000;
const MIN: u64 = 60 * SEC;
const HOUR: u64 = 60 * MIN;
const DAY: u64 = 24 * HOUR;

fn prom_ms(s: &str) -> u64 {
    parse_prom_duration(s).unwrap().as_millis() as u64
}

fn prom_err(s: &str) -> String {
    parse_prom_duration(s).unwrap_err().to_string()
}

fn go_err(s: &str) -> String {
    parse_go_duration(s).unwrap_err().to_string()
}

#[test]
fn prom_parses_every_unit_in_order() {
    assert_eq!(prom_ms("0"), 0);
    assert_eq!(prom_ms("0s"), 0);
    assert_eq!(prom_ms("500ms"), 500);
    assert_eq!(prom_ms("5m"), 5 * MIN);
    assert_eq!(prom_ms("1h30m"), HOUR + 30 * MIN);
    assert_eq!(prom_ms("2d"), 2 * DAY);
    assert_eq!(prom_ms("1w"), 7 * DAY);
    assert_eq!(prom_ms("1y"), 365 * DAY);
    assert_eq!(
        prom_ms("1y2w3d4h5m6s7ms"),
        365 * DAY + 14 * DAY + 3 * DAY + 4 * HOUR + 5 * MIN + 6 * SEC + 7
    );
    // Counts may exceed the next unit: 90m is fine.
    assert_eq!(prom_ms("90m"), 90 * MIN);
    assert_eq!(prom_ms("007s"), 7 * SEC);
}

#[test]
fn prom_rejects_what_prometheus_rejects() {
    assert_eq!(prom_err(""), "empty duration string");
    assert_eq!(prom_err("1.5h"), r#"unknown unit "." in duration "1.5h""#);
    assert_eq!(prom_err("-1h"), r#"not a valid duration string: "-1h""#);
    assert_eq!(prom_err("+1h"), r#"not a valid duration string: "+1h""#);
    // Units out of order or repeated.
    assert_eq!(prom_err("30m1h"), r#"not a valid duration string: "30m1h""#);
    assert_eq!(prom_err("1h1h"), r#"not a valid duration string: "1h1h""#);
    assert_eq!(prom_err("1ms1s"), r#"not a valid duration string: "1ms1s""#);
    // Missing unit (only a bare "0" is allowed).
    assert_eq!(prom_err("5"), r#"not a valid duration string: "5""#);
    assert_eq!(prom_err("00"), r#"not a valid duration string: "00""#);
    assert_eq!(prom_err("h"), r#"not a valid duration string: "h""#);
    // Go-only units.
    assert_eq!(prom_err("1us"), r#"unknown unit "us" in duration "1us""#);
    assert_eq!(prom_err("1ns"), r#"unknown unit "ns" in duration "1ns""#);
    assert_eq!(prom_err("1M"), r#"unknown unit "M" in duration "1M""#);
    assert_eq!(prom_err(" 1h"), r#"not a valid duration string: " 1h""#);
    // Beyond ~292 years of nanoseconds.
    assert_eq!(prom_err("293y"), "duration out of range");
    assert_eq!(prom_ms("292y"), 292 * 365 * DAY);
    assert_eq!(
        prom_err("99999999999999999999s"),
        r#"not a valid duration string: "99999999999999999999s""#
    );
}

#[test]
fn prom_formats_like_prometheus() {
    let f = |ms: u64| format_prom_duration(Duration::from_millis(ms));
    assert_eq!(f(0), "0s");
    assert_eq!(f(5 * MIN), "5m");
    assert_eq!(f(HOUR + 30 * MIN), "1h30m");
    assert_eq!(f(500), "500ms");
    assert_eq!(f(DAY + 1), "1d1ms");
    // Years and weeks only when exact.
    assert_eq!(f(90 * DAY), "90d");
    assert_eq!(f(14 * DAY), "2w");
    assert_eq!(f(365 * DAY), "1y");
    assert_eq!(f(366 * DAY), "366d");
    assert_eq!(f(7 * DAY + HOUR), "7d1h");
    // Sub-millisecond parts are dropped.
    assert_eq!(format_prom_duration(Duration::from_micros(1500)), "1ms");
    assert_eq!(format_prom_duration(Duration::from_micros(999)), "0s");
}

#[test]
fn go_parses_like_time_parse_duration() {
    let ns = |s: &str| parse_go_duration(s).unwrap();
    assert_eq!(ns("0"), 0);
    assert_eq!(ns("+0"), 0);
    assert_eq!(ns("-0"), 0);
    assert_eq!(ns("1.5h"), 5_400_000_000_000);
    assert_eq!(ns("300ms"), 300_000_000);
    assert_eq!(ns("2h45m"), 9_900_000_000_000);
    assert_eq!(ns("-1.5h"), -5_400_000_000_000);
    assert_eq!(ns("+5s"), 5_000_000_000);
    assert_eq!(ns("1us"), 1_000);
    assert_eq!(ns("1\u{b5}s"), 1_000);
    assert_eq!(ns("1\u{3bc}s"), 1_000);
    assert_eq!(ns("7ns"), 7);
    assert_eq!(ns(".5s"), 500_000_000);
    assert_eq!(ns("1.s"), 1_000_000_000);
    // Repeats and any order are fine in Go.
    assert_eq!(ns("1s1h"), 3_601_000_000_000);
    assert_eq!(ns("1m1m"), 120_000_000_000);
    assert_eq!(ns("1.000000001s"), 1_000_000_001);
    assert_eq!(ns("0.3333333333333333333h"), 1_200_000_000_000);
    assert_eq!(ns("9223372036854775807ns"), i64::MAX);
    assert_eq!(ns("-9223372036854775808ns"), i64::MIN);
    assert_eq!(ns("2562047h47m16.854775807s"), i64::MAX);
}

#[test]
fn go_errors_match_go_text() {
    assert_eq!(go_err(""), r#"time: invalid duration """#);
    assert_eq!(go_err("-"), r#"time: invalid duration "-""#);
    assert_eq!(go_err("3"), r#"time: missing unit in duration "3""#);
    assert_eq!(go_err("1d"), r#"time: unknown unit "d" in duration "1d""#);
    assert_eq!(
        go_err("1hx"),
        r#"time: unknown unit "hx" in duration "1hx""#
    );
    assert_eq!(go_err(".s"), r#"time: invalid duration ".s""#);
    assert_eq!(go_err("s"), r#"time: invalid duration "s""#);
    assert_eq!(
        go_err("1 s"),
        r#"time: unknown unit " s" in duration "1 s""#
    );
    assert_eq!(
        go_err("9223372036854775808ns"),
        r#"time: invalid duration "9223372036854775808ns""#
    );
    assert_eq!(
        go_err("1\u{e9}"),
        r#"time: unknown unit "\xc3\xa9" in duration "1\xc3\xa9""#
    );
}

#[test]
fn go_formats_like_duration_string() {
    assert_eq!(format_go_duration(0), "0s");
    assert_eq!(format_go_duration(1), "1ns");
    assert_eq!(format_go_duration(1_100), "1.1\u{b5}s");
    assert_eq!(format_go_duration(2_200_000), "2.2ms");
    assert_eq!(format_go_duration(500_000_000), "500ms");
    assert_eq!(format_go_duration(1_500_000_000), "1.5s");
    assert_eq!(format_go_duration(60_000_000_000), "1m0s");
    assert_eq!(format_go_duration(5_400_000_000_000), "1h30m0s");
    assert_eq!(format_go_duration(3_600_000_000_000), "1h0m0s");
    assert_eq!(format_go_duration(72 * 3_600_000_000_000), "72h0m0s");
    assert_eq!(format_go_duration(-1_500_000_000), "-1.5s");
    assert_eq!(format_go_duration(i64::MAX), "2562047h47m16.854775807s");
    assert_eq!(format_go_duration(i64::MIN), "-2562047h47m16.854775808s");
    assert_eq!(format_go_duration(3_723_000_000_100), "1h2m3.0000001s");
}

#[test]
fn duration_or_seconds_parameter() {
    let ns = |s: &str| parse_duration_or_seconds(s).unwrap();
    assert_eq!(ns("15"), 15_000_000_000);
    assert_eq!(ns("0.5"), 500_000_000);
    assert_eq!(ns("1e3"), 1_000_000_000_000);
    assert_eq!(ns("5m"), 300_000_000_000);
    assert_eq!(ns("1h30m"), 5_400_000_000_000);
    assert_eq!(ns("-5"), -5_000_000_000);
    assert_eq!(ns("0.001"), 1_000_000);
    let err = |s: &str| parse_duration_or_seconds(s).unwrap_err().to_string();
    assert_eq!(err(""), r#"cannot parse "" to a valid duration"#);
    assert_eq!(err("1us"), r#"cannot parse "1us" to a valid duration"#);
    assert_eq!(err("abc"), r#"cannot parse "abc" to a valid duration"#);
    assert_eq!(err("NaN"), r#"cannot parse "NaN" to a valid duration"#);
    assert_eq!(
        err("1e10"),
        r#"cannot parse "1e10" to a valid duration. It overflows int64"#
    );
    assert_eq!(
        err("-Inf"),
        r#"cannot parse "-Inf" to a valid duration. It overflows int64"#
    );
}

#[test]
fn quoting_follows_go() {
    assert_eq!(go_quote("a\"b\\c"), r#""a\"b\\c""#);
    assert_eq!(go_quote("tab\there\n"), r#""tab\there\n""#);
    assert_eq!(go_quote("\u{1}"), r#""\x01""#);
    assert_eq!(go_quote("µs ü"), "\"µs ü\"");
    assert_eq!(go_quote("\u{200b}"), r#""\u200b""#);
    assert_eq!(go_time_quote("µ"), r#""\xc2\xb5""#);
}

#[derive(Debug, serde::Deserialize, serde::Serialize, PartialEq)]
struct Durations {
    prom: PromDuration,
    go: GoDuration,
}

#[test]
fn serde_newtypes_read_and_write_upstream_syntax() {
    let parsed: Durations = serde_yaml_ng::from_str("prom: 1h30m\ngo: 1.5h\n").unwrap();
    assert_eq!(parsed.prom.get(), Duration::from_secs(5400));
    assert_eq!(parsed.go.as_nanos(), 5_400_000_000_000);
    let written = serde_yaml_ng::to_string(&parsed).unwrap();
    assert_eq!(written, "prom: 1h30m\ngo: 1h30m0s\n");
    let zero: Durations = serde_yaml_ng::from_str("prom: 0\ngo: 0\n").unwrap();
    assert_eq!(zero.prom.get(), Duration::ZERO);
    assert_eq!(zero.go.as_nanos(), 0);
    let err = serde_yaml_ng::from_str::<Durations>("prom: 1.5h\ngo: 1s\n").unwrap_err();
    assert!(
        err.to_string()
            .contains(r#"unknown unit "." in duration "1.5h""#),
        "{err}"
    );
    // Go's yaml.v2 reads a bare integer into a time.Duration as nanoseconds.
    let ns: Durations = serde_yaml_ng::from_str("prom: 1h\ngo: 30\n").unwrap();
    assert_eq!(ns.go.as_nanos(), 30);
    let err = serde_yaml_ng::from_str::<Durations>("prom: 1h\ngo: 30x\n").unwrap_err();
    assert!(
        err.to_string()
            .contains(r#"time: unknown unit "x" in duration "30x""#),
        "{err}"
    );
    // Prometheus durations have no such escape hatch: `30` is refused, `0` accepted.
    let err = serde_yaml_ng::from_str::<Durations>("prom: 30\ngo: 1s\n").unwrap_err();
    assert!(
        err.to_string()
            .contains(r#"not a valid duration string: "30""#),
        "{err}"
    );
    let json = serde_json::to_string(&PromDuration::from_millis(90 * DAY)).unwrap();
    assert_eq!(json, r#""90d""#);
    assert_eq!(GoDuration(-1).to_std(), None);
    assert_eq!(GoDuration(1500).to_std(), Some(Duration::from_nanos(1500)));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn prom_format_parse_round_trip(ms in 0u64..=9_223_372_036_854) {
        let d = Duration::from_millis(ms);
        let text = format_prom_duration(d);
        prop_assert_eq!(parse_prom_duration(&text).unwrap(), d, "{}", text);
    }

    #[test]
    fn go_format_parse_round_trip(ns in any::<i64>()) {
        let text = format_go_duration(ns);
        prop_assert_eq!(parse_go_duration(&text).unwrap(), ns, "{}", text);
    }

    #[test]
    fn go_small_values_round_trip(ns in -10_000_000_000i64..10_000_000_000) {
        let text = format_go_duration(ns);
        prop_assert_eq!(parse_go_duration(&text).unwrap(), ns, "{}", text);
    }

    #[test]
    fn prom_accepts_only_ordered_integer_units(parts in proptest::collection::vec((0u64..100, 0usize..7), 1..5)) {
        const NAMES: [&str; 7] = ["y", "w", "d", "h", "m", "s", "ms"];
        let text: String = parts.iter().map(|(n, u)| format!("{n}{}", NAMES[*u])).collect();
        let ordered = parts.windows(2).all(|w| w[0].1 < w[1].1);
        prop_assert_eq!(parse_prom_duration(&text).is_ok(), ordered, "{}", text);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Arbitrary input never panics; whatever parses prints back to the same value.
    #[test]
    fn parsers_are_total(text in "[-+0-9.a-z\u{b5}\u{3bc} ]{0,16}") {
        if let Ok(ns) = parse_go_duration(&text) {
            prop_assert_eq!(parse_go_duration(&format_go_duration(ns)).unwrap(), ns);
        }
        if let Ok(d) = parse_prom_duration(&text) {
            prop_assert_eq!(parse_prom_duration(&format_prom_duration(d)).unwrap(), d);
        }
        let _ = parse_duration_or_seconds(&text);
    }
}
