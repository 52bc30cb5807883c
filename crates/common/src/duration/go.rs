//! Go `time.ParseDuration` grammar and `Duration.String()` printing.

use super::DurationError;

/// 2^63: the magnitude of the most negative Go duration.
const LIMIT: u64 = 1 << 63;

/// Size in nanoseconds of each unit Go accepts.
fn unit_nanos(unit: &str) -> Option<u64> {
    Some(match unit {
        "ns" => 1,
        // U+00B5 micro sign and U+03BC Greek mu are both accepted.
        "us" | "\u{b5}s" | "\u{3bc}s" => 1_000,
        "ms" => 1_000_000,
        "s" => 1_000_000_000,
        "m" => 60_000_000_000,
        "h" => 3_600_000_000_000,
        _ => return None,
    })
}

/// Parses a Go duration: an optional sign, then one or more decimal numbers with optional
/// fraction and a unit (`300ms`, `-1.5h`, `2h45m`, `1µs`); units may repeat and come in any
/// order; a lone `0` needs no unit. Returns signed nanoseconds.
pub fn parse_go_duration(input: &str) -> Result<i64, DurationError> {
    let invalid = || DurationError::GoInvalid(input.to_owned());
    let mut s = input.as_bytes();
    let mut negative = false;
    if let Some(&c) = s.first()
        && (c == b'-' || c == b'+')
    {
        negative = c == b'-';
        s = &s[1..];
    }
    if s == b"0" {
        return Ok(0);
    }
    if s.is_empty() {
        return Err(invalid());
    }
    let mut total: u64 = 0;
    while !s.is_empty() {
        if !(s[0] == b'.' || s[0].is_ascii_digit()) {
            return Err(invalid());
        }
        // Integer part.
        let before = s.len();
        let mut whole: u64 = 0;
        while let Some(&c) = s.first() {
            if !c.is_ascii_digit() {
                break;
            }
            if whole > LIMIT / 10 {
                return Err(invalid());
            }
            whole = whole * 10 + u64::from(c - b'0');
            if whole > LIMIT {
                return Err(invalid());
            }
            s = &s[1..];
        }
        let has_whole = s.len() != before;
        // Fraction: digits beyond u64 precision are consumed but ignored, as Go does.
        let mut frac: u64 = 0;
        let mut scale: f64 = 1.0;
        let mut has_frac = false;
        if s.first() == Some(&b'.') {
            s = &s[1..];
            let before = s.len();
            let mut overflow = false;
            while let Some(&c) = s.first() {
                if !c.is_ascii_digit() {
                    break;
                }
                s = &s[1..];
                if overflow {
                    continue;
                }
                if frac > (LIMIT - 1) / 10 {
                    overflow = true;
                    continue;
                }
                let next = frac * 10 + u64::from(c - b'0');
                if next > LIMIT {
                    overflow = true;
                    continue;
                }
                frac = next;
                scale *= 10.0;
            }
            has_frac = s.len() != before;
        }
        if !has_whole && !has_frac {
            return Err(invalid());
        }
        // Unit: everything up to the next digit or dot.
        let unit_len = s
            .iter()
            .position(|&c| c == b'.' || c.is_ascii_digit())
            .unwrap_or(s.len());
        if unit_len == 0 {
            return Err(DurationError::GoMissingUnit(input.to_owned()));
        }
        let (unit_bytes, rest) = s.split_at(unit_len);
        s = rest;
        let unit = String::from_utf8_lossy(unit_bytes);
        let Some(unit_ns) = unit_nanos(&unit) else {
            return Err(DurationError::GoUnknownUnit {
                unit: unit.into_owned(),
                input: input.to_owned(),
            });
        };
        if whole > LIMIT / unit_ns {
            return Err(invalid());
        }
        let mut value = whole * unit_ns;
        if frac > 0 {
            // Go computes the fractional part in float64, nanosecond-exact up to hours.
            value += (frac as f64 * (unit_ns as f64 / scale)) as u64;
            if value > LIMIT {
                return Err(invalid());
            }
        }
        total += value;
        if total > LIMIT {
            return Err(invalid());
        }
    }
    if negative {
        // total <= 2^63 here, so the negation fits.
        return Ok((total as i128).wrapping_neg() as i64);
    }
    i64::try_from(total).map_err(|_| invalid())
}

/// Prints a duration as Go's `Duration.String()`: `1h30m0s`, `1.5s`, `500ms`, `1.5µs`,
/// `100ns`, `0s`; a leading `-` for negatives.
pub fn format_go_duration(nanos: i64) -> String {
    let negative = nanos < 0;
    let mut u = nanos.unsigned_abs();
    let mut out = String::new();
    if u < 1_000_000_000 {
        let (prec, unit) = match u {
            0 => return "0s".to_owned(),
            1..=999 => (0, "ns"),
            1_000..=999_999 => (3, "\u{b5}s"),
            _ => (6, "ms"),
        };
        let frac = fmt_frac(u, prec);
        u /= 10u64.pow(prec);
        out.push_str(&u.to_string());
        out.push_str(&frac);
        out.push_str(unit);
    } else {
        let frac = fmt_frac(u, 9);
        u /= 1_000_000_000;
        let secs = format!("{}{frac}s", u % 60);
        u /= 60;
        if u > 0 {
            let mins = u % 60;
            u /= 60;
            if u > 0 {
                out.push_str(&u.to_string());
                out.push('h');
            }
            out.push_str(&mins.to_string());
            out.push('m');
        }
        out.push_str(&secs);
    }
    if negative {
        out.insert(0, '-');
    }
    out
}

/// The fraction `v mod 10^prec` as `.ddd` with trailing zeros removed, or nothing when zero.
fn fmt_frac(v: u64, prec: u32) -> String {
    if prec == 0 {
        return String::new();
    }
    let frac = v % 10u64.pow(prec);
    if frac == 0 {
        return String::new();
    }
    let digits = format!("{frac:0width$}", width = prec as usize);
    format!(".{}", digits.trim_end_matches('0'))
}
