//! Conversions LogQL shares with Go: durations (Prometheus and Go syntaxes), humanised byte
//! sizes, float parsing and Go's float/duration formatting. Loki's answers and error texts
//! depend on these exact rules, so they live in one place.

/// Nanoseconds per unit.
const NS: i64 = 1;
const US: i64 = 1_000;
const MS: i64 = 1_000_000;
const SEC: i64 = 1_000_000_000;
const MIN: i64 = 60 * SEC;
const HOUR: i64 = 60 * MIN;
const DAY: i64 = 24 * HOUR;
const WEEK: i64 = 7 * DAY;
const YEAR: i64 = 365 * DAY;

/// Parses a Prometheus duration (`1h30m`, `5m`, `1d`, `0`): units y w d h m s ms, each at
/// most once and in that order. Returns nanoseconds.
pub fn parse_prom_duration(s: &str) -> Result<i64, String> {
    if s.is_empty() {
        return Err("empty duration string".to_owned());
    }
    if s == "0" {
        return Ok(0);
    }
    let invalid = || format!("not a valid duration string: {}", go_quote(s));
    let units: [(&str, i64); 7] = [
        ("y", YEAR),
        ("w", WEEK),
        ("d", DAY),
        ("h", HOUR),
        ("m", MIN),
        ("s", SEC),
        ("ms", MS),
    ];
    let bytes = s.as_bytes();
    let mut pos = 0;
    let mut next_unit = 0;
    let mut total: i64 = 0;
    while pos < bytes.len() {
        let start = pos;
        while pos < bytes.len() && bytes[pos].is_ascii_digit() {
            pos += 1;
        }
        if start == pos {
            return Err(invalid());
        }
        let n: i64 = s[start..pos].parse().map_err(|_| invalid())?;
        let ustart = pos;
        while pos < bytes.len() && bytes[pos].is_ascii_alphabetic() {
            pos += 1;
        }
        let unit = &s[ustart..pos];
        let idx = units[next_unit..]
            .iter()
            .position(|(u, _)| *u == unit)
            .ok_or_else(invalid)?;
        let mult = units[next_unit + idx].1;
        next_unit += idx + 1;
        total = n
            .checked_mul(mult)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(invalid)?;
    }
    Ok(total)
}

/// Formats nanoseconds as Prometheus does (`model.Duration.String`): `1h30m`, `90d`, `0s`;
/// millisecond resolution.
pub fn format_prom_duration(ns: i64) -> String {
    let mut ms = ns / MS;
    if ms == 0 {
        return "0s".to_owned();
    }
    let mut out = String::new();
    if ms < 0 {
        out.push('-');
        ms = -ms;
    }
    let units: [(&str, i64, bool); 7] = [
        ("y", YEAR / MS, true),
        ("w", WEEK / MS, true),
        ("d", DAY / MS, false),
        ("h", HOUR / MS, false),
        ("m", MIN / MS, false),
        ("s", SEC / MS, false),
        ("ms", 1, false),
    ];
    for (unit, mult, exact) in units {
        if exact && ms % mult != 0 {
            continue;
        }
        let v = ms / mult;
        if v > 0 {
            out.push_str(&format!("{v}{unit}"));
            ms -= v * mult;
        }
    }
    out
}

/// Parses a Go duration (`time.ParseDuration`): `1.5s`, `-2h45m`, `300ms`, `10us`, `0`.
/// Error texts are Go's.
pub fn parse_go_duration(s: &str) -> Result<i64, String> {
    let quoted = go_quote(s);
    let invalid = || format!("time: invalid duration {quoted}");
    let mut rest = s;
    let mut neg = false;
    if let Some(r) = rest.strip_prefix('-') {
        neg = true;
        rest = r;
    } else if let Some(r) = rest.strip_prefix('+') {
        rest = r;
    }
    if rest == "0" {
        return Ok(0);
    }
    if rest.is_empty() {
        return Err(invalid());
    }
    let mut total: f64 = 0.0;
    while !rest.is_empty() {
        let b = rest.as_bytes();
        if !(b[0] == b'.' || b[0].is_ascii_digit()) {
            return Err(invalid());
        }
        let mut i = 0;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        let int_part = &rest[..i];
        let mut frac_part = "";
        if i < b.len() && b[i] == b'.' {
            let fs = i + 1;
            i += 1;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            frac_part = &rest[fs..i];
        }
        if int_part.is_empty() && frac_part.is_empty() {
            return Err(invalid());
        }
        let num: f64 = format!(
            "{}.{}",
            if int_part.is_empty() { "0" } else { int_part },
            if frac_part.is_empty() { "0" } else { frac_part }
        )
        .parse()
        .map_err(|_| invalid())?;
        rest = &rest[i..];
        let unit_len = rest
            .char_indices()
            .find(|(_, c)| *c == '.' || c.is_ascii_digit())
            .map_or(rest.len(), |(i, _)| i);
        let unit = &rest[..unit_len];
        if unit.is_empty() {
            return Err(format!("time: missing unit in duration {quoted}"));
        }
        let mult = match unit {
            "ns" => NS,
            "us" | "\u{b5}s" | "\u{3bc}s" => US,
            "ms" => MS,
            "s" => SEC,
            "m" => MIN,
            "h" => HOUR,
            _ => {
                return Err(format!(
                    "time: unknown unit {} in duration {quoted}",
                    go_quote(unit)
                ));
            }
        };
        total += num * mult as f64;
        if total > i64::MAX as f64 {
            return Err(invalid());
        }
        rest = &rest[unit_len..];
    }
    let v = total.round() as i64;
    Ok(if neg { -v } else { v })
}

/// Formats nanoseconds as Go's `time.Duration.String`: `1h0m0s`, `1.5s`, `250ms`, `0s`.
pub fn format_go_duration(ns: i64) -> String {
    if ns == 0 {
        return "0s".to_owned();
    }
    let neg = ns < 0;
    let mut u = ns.unsigned_abs();
    let mut out = String::new();
    if u < SEC as u64 {
        let (prec, unit) = if u < US as u64 {
            (0, "ns")
        } else if u < MS as u64 {
            (3, "µs")
        } else {
            (6, "ms")
        };
        out.push_str(&frac(u, prec));
        out.push_str(unit);
    } else {
        let secs = frac(u, 9);
        u /= SEC as u64;
        let mut parts = format!("{}{}s", u % 60, secs_fraction(&secs));
        u /= 60;
        if u > 0 {
            parts = format!("{}m{parts}", u % 60);
            u /= 60;
            if u > 0 {
                parts = format!("{u}h{parts}");
            }
        }
        out = parts;
    }
    if neg { format!("-{out}") } else { out }
}

/// `v / 10^prec` with the fraction printed without trailing zeros.
fn frac(v: u64, prec: u32) -> String {
    let p = 10u64.pow(prec);
    let int = v / p;
    let f = v % p;
    if f == 0 {
        return int.to_string();
    }
    let fs = format!("{:0width$}", f, width = prec as usize);
    format!("{int}.{}", fs.trim_end_matches('0'))
}

/// The fractional suffix (`.5`) of a `frac` result, or empty.
fn secs_fraction(s: &str) -> &str {
    s.find('.').map_or("", |i| &s[i..])
}

/// Parses a humanised byte size as `go-humanize.ParseBytes` does: `10B`, `1.5KB`, `12KiB`,
/// `2 MB`, `100` (bytes). Units are case-insensitive; kB = 1000, KiB = 1024.
pub fn parse_bytes(s: &str) -> Result<u64, String> {
    let mut last = 0;
    let mut has_comma = false;
    for (i, c) in s.char_indices() {
        if !(c.is_ascii_digit() || c == '.' || c == ',') {
            break;
        }
        if c == ',' {
            has_comma = true;
        }
        last = i + c.len_utf8();
    }
    let mut num = s[..last].to_owned();
    if has_comma {
        num = num.replace(',', "");
    }
    let f = parse_go_float(&num)?;
    let extra = s[last..].trim().to_lowercase();
    let mult: f64 = match extra.as_str() {
        "" | "b" => 1.0,
        "k" | "kb" => 1e3,
        "ki" | "kib" => 1024.0,
        "m" | "mb" => 1e6,
        "mi" | "mib" => 1024f64.powi(2),
        "g" | "gb" => 1e9,
        "gi" | "gib" => 1024f64.powi(3),
        "t" | "tb" => 1e12,
        "ti" | "tib" => 1024f64.powi(4),
        "p" | "pb" => 1e15,
        "pi" | "pib" => 1024f64.powi(5),
        "e" | "eb" => 1e18,
        "ei" | "eib" => 1024f64.powi(6),
        _ => return Err(format!("unhandled size name: {extra}")),
    };
    let v = f * mult;
    if v >= u64::MAX as f64 {
        return Err(format!("too large: {s}"));
    }
    Ok(v as u64)
}

/// Formats a byte count as `go-humanize.Bytes` does, without the space: `20MB`, `1.5kB`, `9B`.
pub fn format_bytes(b: u64) -> String {
    const SIZES: [&str; 7] = ["B", "kB", "MB", "GB", "TB", "PB", "EB"];
    if b < 10 {
        return format!("{b}B");
    }
    let f = b as f64;
    let e = (f.ln() / 1000f64.ln()).floor();
    let idx = (e as usize).min(SIZES.len() - 1);
    let val = (f / 1000f64.powf(e) * 10.0 + 0.5).floor() / 10.0;
    if val < 10.0 {
        format!("{val:.1}{}", SIZES[idx])
    } else {
        format!("{val:.0}{}", SIZES[idx])
    }
}

/// Parses a float as Go's `strconv.ParseFloat(s, 64)` (decimal, exponent, `Inf`, `NaN`).
pub fn parse_go_float(s: &str) -> Result<f64, String> {
    let err = || {
        format!(
            "strconv.ParseFloat: parsing {}: invalid syntax",
            go_quote(s)
        )
    };
    let t = s.strip_prefix(['+', '-']).unwrap_or(s);
    let lower = t.to_ascii_lowercase();
    let special = matches!(lower.as_str(), "inf" | "infinity" | "nan");
    if !special
        && !t
            .bytes()
            .all(|b| b.is_ascii_digit() || b"._eE+-".contains(&b))
    {
        return Err(err());
    }
    if t.contains('_') {
        return Err(err());
    }
    s.parse::<f64>().map_err(|_| err())
}

/// Formats a float as Go's `fmt.Sprint(f)` (`%v`, i.e. `%g` with shortest digits): exponent
/// form (`1e+06`) when the decimal exponent is < -4 or >= 6.
pub fn go_float_v(f: f64) -> String {
    if f.is_nan() {
        return "NaN".to_owned();
    }
    if f.is_infinite() {
        return if f > 0.0 { "+Inf" } else { "-Inf" }.to_owned();
    }
    if f == 0.0 {
        return if f.is_sign_negative() { "-0" } else { "0" }.to_owned();
    }
    // Shortest round-trip digits and decimal exponent.
    let sci = format!("{f:e}");
    let (mant, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if !(-4..6).contains(&exp) {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mant}e{sign}{:02}", exp.abs())
    } else {
        format!("{f}")
    }
}

/// Formats a float as Go's `strconv.FormatFloat(f, 'f', -1, 64)`.
pub fn go_float_f(f: f64) -> String {
    if f.is_nan() {
        return "NaN".to_owned();
    }
    if f.is_infinite() {
        return if f > 0.0 { "+Inf" } else { "-Inf" }.to_owned();
    }
    format!("{f}")
}

/// Quotes like Go's `strconv.Quote`: `"` and `\` escaped, control characters as escapes,
/// printable Unicode kept.
pub fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{07}' => out.push_str("\\a"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            '\u{0b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            // Not printable for Go: controls, non-ASCII spaces, common format characters.
            c if c.is_control()
                || (c.is_whitespace() && c != ' ')
                || matches!(c, '\u{ad}' | '\u{200b}'..='\u{200f}' | '\u{2060}'..='\u{2064}' | '\u{feff}') =>
            {
                if (c as u32) < 0x10000 {
                    out.push_str(&format!("\\u{:04x}", c as u32));
                } else {
                    out.push_str(&format!("\\U{:08x}", c as u32));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prom_durations() {
        assert_eq!(parse_prom_duration("1h30m"), Ok(90 * MIN));
        assert_eq!(parse_prom_duration("0"), Ok(0));
        assert_eq!(parse_prom_duration("1d"), Ok(DAY));
        assert!(parse_prom_duration("30m1h").is_err());
        assert_eq!(
            parse_prom_duration("abc").unwrap_err(),
            r#"not a valid duration string: "abc""#
        );
        assert_eq!(format_prom_duration(90 * MIN), "1h30m");
        assert_eq!(format_prom_duration(90 * DAY), "90d");
        assert_eq!(format_prom_duration(14 * DAY), "2w");
        assert_eq!(format_prom_duration(0), "0s");
        assert_eq!(format_prom_duration(1500 * MS), "1s500ms");
    }

    #[test]
    fn go_durations() {
        assert_eq!(parse_go_duration("1.5s"), Ok(1_500 * MS));
        assert_eq!(parse_go_duration("10us"), Ok(10 * US));
        assert_eq!(parse_go_duration("1m5s"), Ok(65 * SEC));
        assert_eq!(parse_go_duration("-2h"), Ok(-2 * HOUR));
        assert_eq!(
            parse_go_duration("n/a").unwrap_err(),
            r#"time: invalid duration "n/a""#
        );
        assert_eq!(
            parse_go_duration("12").unwrap_err(),
            r#"time: missing unit in duration "12""#
        );
        assert_eq!(
            parse_go_duration("1d").unwrap_err(),
            r#"time: unknown unit "d" in duration "1d""#
        );
        assert_eq!(format_go_duration(HOUR), "1h0m0s");
        assert_eq!(format_go_duration(MIN), "1m0s");
        assert_eq!(format_go_duration(1_500 * MS), "1.5s");
        assert_eq!(format_go_duration(250 * MS), "250ms");
        assert_eq!(format_go_duration(10 * US), "10µs");
        assert_eq!(format_go_duration(-90 * SEC), "-1m30s");
    }

    #[test]
    fn humanized_bytes() {
        assert_eq!(parse_bytes("10B"), Ok(10));
        assert_eq!(parse_bytes("1.5KB"), Ok(1500));
        assert_eq!(parse_bytes("12KiB"), Ok(12 * 1024));
        assert_eq!(parse_bytes("49.05MB"), Ok(49_050_000));
        assert!(parse_bytes("n/a").is_err());
        assert_eq!(format_bytes(20_000_000), "20MB");
        assert_eq!(format_bytes(1500), "1.5kB");
        assert_eq!(format_bytes(9), "9B");
        assert_eq!(format_bytes(1024), "1.0kB");
    }

    #[test]
    fn go_floats() {
        assert_eq!(go_float_v(1.0), "1");
        assert_eq!(go_float_v(0.5), "0.5");
        assert_eq!(go_float_v(1e6), "1e+06");
        assert_eq!(go_float_v(123456.0), "123456");
        assert_eq!(go_float_v(1e-5), "1e-05");
        assert_eq!(go_float_f(0.01), "0.01");
        assert!(parse_go_float("0x1F").is_err());
        assert_eq!(parse_go_float("1e-2"), Ok(0.01));
        assert_eq!(parse_go_float("-Inf"), Ok(f64::NEG_INFINITY));
        assert_eq!(go_quote("a\u{a0}b\u{200b}ż"), "\"a\\u00a0b\\u200bż\"");
    }
}
