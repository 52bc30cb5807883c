use proptest::prelude::*;

use super::*;

fn prom_ms(s: &str) -> i64 {
    parse_prom_time_ms(s).unwrap()
}

fn loki_ns(s: &str) -> i64 {
    parse_loki_time_ns(s).unwrap()
}

#[test]
fn prom_time_float_seconds() {
    assert_eq!(prom_ms("1435781451.781"), 1_435_781_451_781);
    assert_eq!(prom_ms("1435781451"), 1_435_781_451_000);
    assert_eq!(prom_ms("0"), 0);
    assert_eq!(prom_ms("1e9"), 1_000_000_000_000);
    assert_eq!(prom_ms("+1.5"), 1_500);
    // The fraction is rounded to the millisecond.
    assert_eq!(prom_ms("1.0006"), 1_001);
    assert_eq!(prom_ms("1.0004"), 1_000);
    // Negative values normalise like time.Unix.
    assert_eq!(prom_ms("-1.5"), -1_500);
    assert_eq!(prom_ms("-0.001"), -1);
}

#[test]
fn prom_time_rfc3339() {
    assert_eq!(prom_ms("2015-07-01T20:10:51.781Z"), 1_435_781_451_781);
    assert_eq!(prom_ms("2015-07-01T20:10:51Z"), 1_435_781_451_000);
    assert_eq!(prom_ms("2015-07-01T22:10:51.781+02:00"), 1_435_781_451_781);
    assert_eq!(prom_ms("2015-07-01T18:10:51.781-02:00"), 1_435_781_451_781);
    // Sub-millisecond digits are truncated (timestamp.FromTime).
    assert_eq!(prom_ms("2015-07-01T20:10:51.781999999Z"), 1_435_781_451_781);
    assert_eq!(
        prom_ms("2015-07-01T20:10:51.7819999999999Z"),
        1_435_781_451_781
    );
    assert_eq!(prom_ms("1969-12-31T23:59:59.5Z"), -500);
    assert_eq!(prom_ms("2024-02-29T00:00:00Z"), 1_709_164_800_000);
    assert_eq!(
        parse_prom_time_ns("2015-07-01T20:10:51.123456789Z").unwrap(),
        1_435_781_451_123_456_789
    );
}

#[test]
fn prom_time_special_bounds() {
    assert_eq!(prom_ms(PROM_MIN_TIME_STR), PROM_MIN_TIME_MS);
    assert_eq!(prom_ms(PROM_MAX_TIME_STR), PROM_MAX_TIME_MS);
    assert_eq!(PROM_MIN_TIME_MS, -9_223_309_901_257_974_000);
    assert_eq!(PROM_MAX_TIME_MS, 9_223_309_901_257_974_999);
    // The constants are what Go prints for those instants.
    assert_eq!(
        format_rfc3339_parts(PROM_MIN_TIME_MS / 1000, 0),
        PROM_MIN_TIME_STR
    );
    assert_eq!(
        format_rfc3339_parts(PROM_MAX_TIME_MS / 1000, 999_999_999),
        PROM_MAX_TIME_STR
    );
    assert_eq!(parse_prom_time_ns(PROM_MIN_TIME_STR).unwrap(), i64::MIN);
    assert_eq!(parse_prom_time_ns(PROM_MAX_TIME_STR).unwrap(), i64::MAX);
}

#[test]
fn prom_time_errors() {
    let err = |s: &str| parse_prom_time_ms(s).unwrap_err().to_string();
    assert_eq!(err("abc"), r#"cannot parse "abc" to a valid timestamp"#);
    assert_eq!(err(""), r#"cannot parse "" to a valid timestamp"#);
    assert_eq!(err("NaN"), r#"cannot parse "NaN" to a valid timestamp"#);
    assert_eq!(err("Inf"), r#"cannot parse "Inf" to a valid timestamp"#);
    // Go's RFC 3339 parser is strict about these.
    for bad in [
        "2015-07-01t20:10:51Z",
        "2015-07-01T20:10:51z",
        "2015-07-01 20:10:51Z",
        "2015-07-01T20:10:51",
        "2015-7-01T20:10:51Z",
        "2015-02-29T20:10:51Z",
        "2015-07-01T24:00:00Z",
        "2015-07-01T20:10:60Z",
        "2015-07-01T20:10:51+0200",
        "2015-07-01T20:10:51.Z",
        "1435781451.781s",
    ] {
        assert_eq!(
            err(bad),
            format!("cannot parse \"{bad}\" to a valid timestamp"),
            "{bad}"
        );
    }
    // A comma works as the decimal separator, as in Go.
    assert_eq!(prom_ms("2015-07-01T20:10:51,5Z"), 1_435_781_451_500);
}

#[test]
fn loki_time_rules() {
    // RFC3339Nano first.
    assert_eq!(
        loki_ns("2015-07-01T20:10:51.123456789Z"),
        1_435_781_451_123_456_789
    );
    // Integers up to 10^10 are seconds, above are nanoseconds.
    assert_eq!(loki_ns("1435781451"), 1_435_781_451_000_000_000);
    // 10^10 seconds does not fit in i64 nanoseconds: saturate (Go wraps).
    assert_eq!(loki_ns("10000000000"), i64::MAX);
    assert_eq!(loki_ns("10000000001"), 10_000_000_001);
    assert_eq!(loki_ns("1435781451123456789"), 1_435_781_451_123_456_789);
    assert_eq!(loki_ns("0"), 0);
    assert_eq!(loki_ns("-5"), -5_000_000_000);
    // Floats: seconds rounded to the millisecond, or nanoseconds with the fraction dropped.
    assert_eq!(loki_ns("1435781451.781"), 1_435_781_451_781_000_000);
    assert_eq!(loki_ns("1435781451.7816"), 1_435_781_451_782_000_000);
    assert_eq!(loki_ns("1435781451123456789.5"), 1_435_781_451_123_456_768);
    let err = |s: &str| parse_loki_time_ns(s).unwrap_err().to_string();
    assert_eq!(
        err("abc"),
        r#"strconv.ParseInt: parsing "abc": invalid syntax"#
    );
    assert_eq!(
        err("1.2.3"),
        r#"strconv.ParseFloat: parsing "1.2.3": invalid syntax"#
    );
    assert_eq!(
        err("99999999999999999999"),
        r#"strconv.ParseInt: parsing "99999999999999999999": value out of range"#
    );
    assert_eq!(
        err("NaN."),
        r#"strconv.ParseFloat: parsing "NaN.": invalid syntax"#
    );
    assert_eq!(
        err("1e400."),
        r#"strconv.ParseFloat: parsing "1e400.": invalid syntax"#
    );
    assert_eq!(
        err("1.0e400"),
        r#"strconv.ParseFloat: parsing "1.0e400": value out of range"#
    );
    assert_eq!(
        err("1.0e300"),
        "floating point timestamp exceeds integer range"
    );
}

#[test]
fn prom_time_param_wraps_errors() {
    assert_eq!(parse_prom_time_param("time", None, 42).unwrap(), 42);
    assert_eq!(parse_prom_time_param("time", Some(""), 42).unwrap(), 42);
    assert_eq!(
        parse_prom_time_param("start", Some("1.5"), 0).unwrap(),
        1_500
    );
    assert_eq!(
        parse_prom_time_param("time", Some("abc"), 0)
            .unwrap_err()
            .to_string(),
        r#"Invalid time value for 'time': cannot parse "abc" to a valid timestamp"#
    );
}

#[test]
fn loki_bounds_defaults_and_errors() {
    let now = 1_700_000_000_000_000_000;
    let hour = LOKI_DEFAULT_SINCE_NS;
    assert_eq!(loki_bounds(now, "", "", "").unwrap(), (now - hour, now));
    assert_eq!(
        loki_bounds(now, "", "", "15m").unwrap(),
        (now - 900_000_000_000, now)
    );
    // `start` counts back from `end` when `end` is in the past, from now when in the future.
    let past = now - 10 * hour;
    assert_eq!(
        loki_bounds(now, "", &past.to_string(), "").unwrap(),
        (past - hour, past)
    );
    let future = now + 10 * hour;
    assert_eq!(
        loki_bounds(now, "", &future.to_string(), "").unwrap(),
        (now - hour, future)
    );
    assert_eq!(
        loki_bounds(now, "1", "2", "").unwrap(),
        (1_000_000_000, 2_000_000_000)
    );
    assert_eq!(
        loki_bounds(now, "", "x", "").unwrap_err().to_string(),
        r#"could not parse 'end' parameter: strconv.ParseInt: parsing "x": invalid syntax"#
    );
    assert_eq!(
        loki_bounds(now, "y", "", "").unwrap_err().to_string(),
        r#"could not parse 'start' parameter: strconv.ParseInt: parsing "y": invalid syntax"#
    );
    assert_eq!(
        loki_bounds(now, "", "", "1x").unwrap_err().to_string(),
        r#"could not parse 'since' parameter: unknown unit "x" in duration "1x""#
    );
}

#[test]
fn loki_nan_and_inf() {
    // "inf" has no dot, so Loki takes the integer path; with a dot it is not a Go float.
    assert!(matches!(
        parse_loki_time_ns("inf"),
        Err(TimeError::LokiNumber(_))
    ));
    assert_eq!(go_parse_float("inf").unwrap(), f64::INFINITY);
    assert_eq!(go_parse_float("-Infinity").unwrap(), f64::NEG_INFINITY);
    assert!(go_parse_float("+nan").is_err());
    assert!(go_parse_float("1_000").is_err());
    assert!(go_parse_float("0x10").is_err());
    assert_eq!(go_parse_float(".5").unwrap(), 0.5);
    assert_eq!(go_parse_float("5.").unwrap(), 5.0);
    assert_eq!(go_parse_int("+7").unwrap(), 7);
    assert_eq!(go_parse_int("-9223372036854775808").unwrap(), i64::MIN);
    assert_eq!(
        go_parse_int("9223372036854775808").unwrap_err().kind,
        NumErrorKind::Range
    );
    assert_eq!(go_parse_int("-").unwrap_err().kind, NumErrorKind::Syntax);
}

#[test]
fn prom_json_timestamps() {
    assert_eq!(format_prom_timestamp(1_435_781_451_781), "1435781451.781");
    assert_eq!(format_prom_timestamp(1_435_781_451_000), "1435781451");
    // Exactly three decimals when not whole: trailing zeros are kept.
    assert_eq!(format_prom_timestamp(1_435_781_451_780), "1435781451.780");
    assert_eq!(format_prom_timestamp(1_435_781_451_007), "1435781451.007");
    assert_eq!(format_prom_timestamp(0), "0");
    assert_eq!(format_prom_timestamp(-1_500), "-1.500");
    assert_eq!(format_prom_timestamp(-5), "-0.005");
    assert_eq!(format_prom_timestamp(i64::MIN), "-9223372036854775.808");
    let mut buf = String::from("[");
    write_prom_timestamp(&mut buf, 1_500);
    assert_eq!(buf, "[1.500");
}

#[test]
fn rfc3339_nano_printing() {
    assert_eq!(
        format_rfc3339_nano(1_435_781_451_781_000_000),
        "2015-07-01T20:10:51.781Z"
    );
    assert_eq!(
        format_rfc3339_nano(1_435_781_451_000_000_000),
        "2015-07-01T20:10:51Z"
    );
    assert_eq!(
        format_rfc3339_nano(1_435_781_451_000_000_010),
        "2015-07-01T20:10:51.00000001Z"
    );
    assert_eq!(format_rfc3339_nano(0), "1970-01-01T00:00:00Z");
    assert_eq!(format_rfc3339_nano(-1), "1969-12-31T23:59:59.999999999Z");
    assert_eq!(
        format_rfc3339_millis(1_709_164_800_120),
        "2024-02-29T00:00:00.12Z"
    );
    assert_eq!(
        format_rfc3339(1_435_781_451_781_000_000),
        "2015-07-01T20:10:51Z"
    );
    assert_eq!(format_rfc3339(-1), "1969-12-31T23:59:59Z");
    assert_eq!(
        format_go_time_string(1_435_781_451_781_000_000),
        "2015-07-01 20:10:51.781 +0000 UTC"
    );
    assert_eq!(format_go_time_string(0), "1970-01-01 00:00:00 +0000 UTC");
}

#[test]
fn range_checks_and_steps() {
    assert_eq!(
        check_prom_range(10, 5, 1_000_000_000)
            .unwrap_err()
            .to_string(),
        "end timestamp must not be before start time"
    );
    assert_eq!(
        check_prom_range(0, 10, 0).unwrap_err().to_string(),
        "zero or negative query resolution step widths are not accepted. Try a positive integer"
    );
    // 11,000 steps of 1s are allowed, 11,001 are not.
    assert!(check_prom_range(0, 11_000_000, 1_000_000_000).is_ok());
    assert_eq!(
        check_prom_range(0, 11_001_000, 1_000_000_000)
            .unwrap_err()
            .to_string(),
        "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)"
    );
    assert_eq!(TimeError::EndBeforeStart.prom_param(), Some("end"));
    assert_eq!(TimeError::StepNotPositive.prom_param(), Some("step"));
    assert_eq!(TimeError::TooManyPoints.prom_param(), None);
    assert!(check_prom_bounds(5, 5).is_ok());
    // Loki: same checks in nanoseconds, its own wording.
    assert_eq!(
        check_loki_bounds(10, 5).unwrap_err().to_string(),
        "end timestamp must not be before or equal to start time"
    );
    assert!(check_loki_bounds(5, 5).is_ok());
    assert_eq!(
        check_loki_step(0, 10, -1).unwrap_err().to_string(),
        "zero or negative query resolution step widths are not accepted. Try a positive integer"
    );
    assert!(check_loki_step(0, 11_000_000_000_000, 1_000_000_000).is_ok());
    assert_eq!(
        check_loki_step(0, 11_001_000_000_000, 1_000_000_000)
            .unwrap_err()
            .to_string(),
        "exceeded maximum resolution of 11,000 points per time series. Try increasing the value of the step parameter"
    );
    assert_eq!(step_count(0, 10, 5), 3);
    assert_eq!(step_count(0, 9, 5), 2);
    assert_eq!(step_count(10, 0, 5), 0);
    assert_eq!(
        step_timestamps(100, 120, 10).collect::<Vec<_>>(),
        vec![100, 110, 120]
    );
    assert_eq!(align_down(125, 10), 120);
    assert_eq!(align_down(-5, 10), -10);
    assert_eq!(align_up(121, 10), 130);
    assert_eq!(align_up(120, 10), 120);
    assert_eq!(align_up(-5, 10), 0);
    // One hour: 3600/250 = 14.4 → 14s; tiny ranges → 1s.
    assert_eq!(default_loki_step_secs(0, 3_600_000_000_000), 14);
    assert_eq!(default_loki_step_secs(0, 1_000_000_000), 1);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn rfc3339_round_trip(ns in any::<i64>()) {
        let text = format_rfc3339_nano(ns);
        prop_assert_eq!(parse_loki_time_ns(&text).unwrap(), ns, "{}", text);
    }

    #[test]
    fn prom_timestamp_text_parses_back(ms in -10_000_000_000_000i64..10_000_000_000_000) {
        let text = format_prom_timestamp(ms);
        prop_assert_eq!(parse_prom_time_ms(&text).unwrap(), ms, "{}", text);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Arbitrary input never panics.
    #[test]
    fn time_parsers_are_total(text in "[-+0-9.:TZeE,a-z]{0,36}") {
        let _ = parse_prom_time_ms(&text);
        let _ = parse_prom_time_ns(&text);
        let _ = parse_loki_time_ns(&text);
    }

    /// Any well-formed RFC 3339 date in Go's range parses and prints back (in UTC).
    #[test]
    fn rfc3339_fields_round_trip(
        year in 0u32..=9999, month in 1u32..=12, day in 1u32..=28,
        hour in 0u32..24, minute in 0u32..60, second in 0u32..60, nanos in 0u32..1_000_000_000,
    ) {
        let text = format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}.{nanos:09}Z");
        let (secs, ns) = parse_rfc3339(&text).unwrap();
        prop_assert_eq!(ns, nanos);
        let printed = format_rfc3339_parts(secs, ns);
        prop_assert_eq!(parse_rfc3339(&printed), Some((secs, ns)));
        prop_assert!(text.starts_with(&printed[..19]), "{} vs {}", text, printed);
    }
}
