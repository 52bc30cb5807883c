//! RFC 3339 exactly as Go's `time.Parse(time.RFC3339Nano, s)` accepts it, and Go's
//! RFC3339Nano printing in UTC.

use std::fmt::Write as _;

const SECS_PER_DAY: i64 = 86_400;

/// Parses `2015-07-01T20:10:51.781Z` or `2015-07-01T22:10:51+02:00` as Go's
/// `time.Parse(time.RFC3339Nano, ..)` does: four-digit year, two-digit fields, an upper-case
/// `T` and `Z`, an optional fraction of any length after `.` or `,` (digits past the ninth are
/// dropped), a `Z` or `±hh:mm` offset. Returns unix seconds and nanoseconds (`0..1e9`).
pub fn parse_rfc3339(s: &str) -> Option<(i64, u32)> {
    let b = s.as_bytes();
    if b.len() < 20 {
        return None;
    }
    let year = digits(&b[0..4])?;
    let month = digits(&b[5..7])?;
    let day = digits(&b[8..10])?;
    let hour = digits(&b[11..13])?;
    let minute = digits(&b[14..16])?;
    let second = digits(&b[17..19])?;
    if b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return None;
    }
    let mut rest = &b[19..];
    let mut nanos: u32 = 0;
    if rest.len() >= 2 && (rest[0] == b'.' || rest[0] == b',') && rest[1].is_ascii_digit() {
        let count = rest[1..].iter().take_while(|c| c.is_ascii_digit()).count();
        for (i, c) in rest[1..=count].iter().enumerate() {
            if i < 9 {
                nanos = nanos * 10 + u32::from(c - b'0');
            }
        }
        for _ in count..9 {
            nanos *= 10;
        }
        rest = &rest[1 + count..];
    }
    let offset_secs: i64 = match rest {
        [b'Z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let oh = digits(&[*h1, *h2])?;
            let om = digits(&[*m1, *m2])?;
            if oh > 23 || om > 59 {
                return None;
            }
            let off = i64::from(oh * 3600 + om * 60);
            if *sign == b'-' { -off } else { off }
        }
        _ => return None,
    };
    let days = days_from_civil(i64::from(year), month, day);
    let secs =
        days * SECS_PER_DAY + i64::from(hour) * 3600 + i64::from(minute) * 60 + i64::from(second)
            - offset_secs;
    Some((secs, nanos))
}

/// Prints unix seconds + nanoseconds as Go's `t.UTC().Format(time.RFC3339Nano)`: trailing
/// zeros of the fraction trimmed, no fraction when whole, `Z` suffix; years outside 0..=9999
/// print with a sign or more digits, as Go does for Prometheus' min/max times.
pub fn format_rfc3339_parts(secs: i64, nanos: u32) -> String {
    let mut out = String::with_capacity(32);
    write_date_time(&mut out, secs, 'T');
    write_fraction(&mut out, nanos);
    out.push('Z');
    out
}

/// Go's `time.RFC3339` (whole seconds, fraction dropped) of a unix-nanosecond timestamp in UTC,
/// the format of Loki's validation messages (`timestamp too old: 2024-01-02T03:04:05Z`).
pub fn format_rfc3339(unix_nanos: i64) -> String {
    format_rfc3339_parts(unix_nanos.div_euclid(1_000_000_000), 0)
}

/// Go's `time.Time.String()` for a UTC time (`2024-01-02 03:04:05.5 +0000 UTC`), which Loki puts
/// in its out-of-order errors (`entry with timestamp … ignored`).
pub fn format_go_time_string(unix_nanos: i64) -> String {
    let mut out = String::with_capacity(40);
    write_date_time(&mut out, unix_nanos.div_euclid(1_000_000_000), ' ');
    write_fraction(&mut out, unix_nanos.rem_euclid(1_000_000_000) as u32);
    out.push_str(" +0000 UTC");
    out
}

/// `YYYY-MM-DD<sep>hh:mm:ss` in UTC; years outside 0..=9999 as Go prints them.
fn write_date_time(out: &mut String, secs: i64, sep: char) {
    let days = secs.div_euclid(SECS_PER_DAY);
    let sod = secs.rem_euclid(SECS_PER_DAY);
    let (year, month, day) = civil_from_days(days);
    if year < 0 {
        let _ = write!(out, "-{:04}", year.unsigned_abs());
    } else {
        let _ = write!(out, "{year:04}");
    }
    let _ = write!(
        out,
        "-{month:02}-{day:02}{sep}{:02}:{:02}:{:02}",
        sod / 3600,
        sod % 3600 / 60,
        sod % 60
    );
}

/// `.fffffffff` with trailing zeros trimmed; nothing for a whole second.
fn write_fraction(out: &mut String, nanos: u32) {
    if nanos > 0 {
        let frac = format!("{nanos:09}");
        out.push('.');
        out.push_str(frac.trim_end_matches('0'));
    }
}

/// RFC3339Nano (Go's printing) of a unix-nanosecond timestamp, as Loki writes times.
pub fn format_rfc3339_nano(unix_nanos: i64) -> String {
    format_rfc3339_parts(
        unix_nanos.div_euclid(1_000_000_000),
        unix_nanos.rem_euclid(1_000_000_000) as u32,
    )
}

/// RFC3339Nano (Go's printing) of a unix-millisecond timestamp, as Prometheus and Alertmanager
/// write `time.Time` values in JSON.
pub fn format_rfc3339_millis(unix_millis: i64) -> String {
    format_rfc3339_parts(
        unix_millis.div_euclid(1000),
        (unix_millis.rem_euclid(1000) as u32) * 1_000_000,
    )
}

/// Two to four ASCII digits as a number.
fn digits(b: &[u8]) -> Option<u32> {
    b.iter().try_fold(0u32, |acc, c| {
        c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
    })
}

fn is_leap(year: u32) -> bool {
    year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400))
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Inverse of [`days_from_civil`].
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}
