//! Go's `time` package as templates see it: `time.Time` with its `String()` and reference-layout
//! `Format`/`Parse`, and `time.Duration` with its `String()` and `ParseDuration`.
//!
//! Zones: `UTC`, fixed offsets, and IANA names read from the system zoneinfo database (as Go's
//! `time.LoadLocation` does), see [`crate::zoneinfo`]. `Local` is treated as UTC.

use std::sync::Arc;

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, NaiveDateTime, TimeZone, Timelike, Utc};

/// A Go `time.Time`: an instant, the offset it is shown in, and the zone abbreviation.
#[derive(Clone, Debug, PartialEq)]
pub struct Time {
    dt: DateTime<FixedOffset>,
    zone: Arc<str>,
}

const NANOS_PER_SEC: i128 = 1_000_000_000;

impl From<DateTime<Utc>> for Time {
    fn from(dt: DateTime<Utc>) -> Self {
        Time::from_utc(dt)
    }
}

impl From<std::time::SystemTime> for Time {
    fn from(t: std::time::SystemTime) -> Self {
        let nanos = match t.duration_since(std::time::UNIX_EPOCH) {
            Ok(d) => i128::try_from(d.as_nanos()).unwrap_or(i128::MAX),
            Err(e) => -i128::try_from(e.duration().as_nanos()).unwrap_or(i128::MAX),
        };
        Time::from_unix_nanos(nanos)
    }
}

impl Default for Time {
    /// Go's zero time.
    fn default() -> Self {
        Time::zero()
    }
}

impl Time {
    /// A UTC time from Unix nanoseconds.
    pub fn from_unix_nanos(nanos: i128) -> Time {
        let secs = nanos.div_euclid(NANOS_PER_SEC);
        let sub = nanos.rem_euclid(NANOS_PER_SEC);
        let secs = i64::try_from(secs).unwrap_or(0);
        let dt = DateTime::<Utc>::from_timestamp(secs, u32::try_from(sub).unwrap_or(0))
            .unwrap_or_default();
        Time::from_utc(dt)
    }

    /// A UTC time from Unix seconds and nanoseconds.
    pub fn from_unix(secs: i64, nanos: i64) -> Time {
        Time::from_unix_nanos(i128::from(secs) * NANOS_PER_SEC + i128::from(nanos))
    }

    /// A UTC time from a chrono UTC timestamp.
    pub fn from_utc(dt: DateTime<Utc>) -> Time {
        Time {
            dt: dt.fixed_offset(),
            zone: Arc::from("UTC"),
        }
    }

    /// A time from a chrono timestamp with a fixed offset; the zone name is the offset
    /// (`+0200`), or `UTC` for a zero offset, as Go names zones it parsed from numeric offsets.
    pub fn from_fixed(dt: DateTime<FixedOffset>) -> Time {
        let off = dt.offset().local_minus_utc();
        let zone = if off == 0 {
            "UTC".to_string()
        } else {
            offset_name(off)
        };
        Time {
            dt,
            zone: Arc::from(zone),
        }
    }

    /// A time shown at `offset_secs` east of UTC with abbreviation `zone`.
    pub fn with_zone(&self, offset_secs: i32, zone: &str) -> Time {
        let off = FixedOffset::east_opt(offset_secs).unwrap_or_else(|| chrono::Offset::fix(&Utc));
        Time {
            dt: self.dt.with_timezone(&off),
            zone: Arc::from(zone),
        }
    }

    /// Go's zero time, `0001-01-01 00:00:00 +0000 UTC` (Alertmanager's `EndsAt` of a firing
    /// alert).
    pub fn zero() -> Time {
        let dt = NaiveDate::from_ymd_opt(1, 1, 1)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|n| n.and_utc())
            .unwrap_or_default();
        Time::from_utc(dt)
    }

    /// Parse RFC 3339 (with optional fractional seconds) like Go's `time.Parse(RFC3339Nano)`:
    /// `Z` and `+00:00` give UTC, other offsets an unnamed zone printed as `+0200`.
    pub fn parse_rfc3339(s: &str) -> Result<Time, ParseTimeError> {
        parse_layout("2006-01-02T15:04:05.999999999Z07:00", s, 0, "UTC")
    }

    /// Whether this is Go's zero time.
    pub fn is_zero(&self) -> bool {
        self.dt.timestamp() == Time::zero().dt.timestamp() && self.dt.nanosecond() == 0
    }

    /// The instant as chrono UTC.
    pub fn utc(&self) -> DateTime<Utc> {
        self.dt.with_timezone(&Utc)
    }

    /// This instant shown in UTC.
    pub fn to_utc(&self) -> Time {
        Time::from_utc(self.utc())
    }

    /// The instant with its display offset.
    pub fn datetime(&self) -> DateTime<FixedOffset> {
        self.dt
    }

    /// Zone abbreviation (`UTC`, `CET`, `+0200`).
    pub fn zone(&self) -> &str {
        &self.zone
    }

    /// Unix seconds.
    pub fn unix(&self) -> i64 {
        self.dt.timestamp()
    }

    /// Unix nanoseconds (wide enough for Go's zero time).
    pub fn unix_nanos(&self) -> i128 {
        i128::from(self.dt.timestamp()) * NANOS_PER_SEC
            + i128::from(self.dt.timestamp_subsec_nanos())
    }

    /// Add a Go duration.
    pub fn add(&self, nanos: i64) -> Time {
        Time {
            dt: self.dt + chrono::Duration::nanoseconds(nanos),
            zone: self.zone.clone(),
        }
    }

    /// `t - u` as a Go duration (saturating like Go's `Sub`).
    pub fn sub(&self, other: &Time) -> i64 {
        let d = self.unix_nanos() - other.unix_nanos();
        i64::try_from(d).unwrap_or(if d < 0 { i64::MIN } else { i64::MAX })
    }

    /// RFC 3339 with nanoseconds trimmed, as Go's JSON encoding writes times.
    pub fn to_rfc3339(&self) -> String {
        self.format("2006-01-02T15:04:05.999999999Z07:00")
    }

    /// Go's `Time.String()`: `2006-01-02 15:04:05.999999999 -0700 MST`.
    pub fn go_string(&self) -> String {
        self.format("2006-01-02 15:04:05.999999999 -0700 MST")
    }

    /// Go's `Time.Format` with a reference layout.
    pub fn format(&self, layout: &str) -> String {
        format_layout(self, layout)
    }
}

fn offset_name(off: i32) -> String {
    let sign = if off < 0 { '-' } else { '+' };
    let a = off.abs();
    let (h, m) = (a / 3600, (a % 3600) / 60);
    // Go prints an unnamed zone as -0700.
    format!("{sign}{h:02}{m:02}")
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Chunk {
    LongMonth,
    Month,
    NumMonth,
    ZeroMonth,
    LongWeekDay,
    WeekDay,
    Day,
    UnderDay,
    ZeroDay,
    UnderYearDay,
    ZeroYearDay,
    Hour,
    Hour12,
    ZeroHour12,
    Minute,
    ZeroMinute,
    Second,
    ZeroSecond,
    LongYear,
    Year,
    PM,
    Pm,
    TZ,
    Iso8601TZ,
    Iso8601SecondsTZ,
    Iso8601ShortTZ,
    Iso8601ColonTZ,
    Iso8601ColonSecondsTZ,
    NumTZ,
    NumSecondsTz,
    NumShortTZ,
    NumColonTZ,
    NumColonSecondsTZ,
    FracSecond0(usize),
    FracSecond9(usize),
}

/// Split a layout at its first standard chunk: (prefix, chunk, suffix), like Go's nextStdChunk.
fn next_chunk(layout: &str) -> (&str, Option<Chunk>, &str) {
    let b = layout.as_bytes();
    let starts = |i: usize, s: &str| layout[i..].starts_with(s);
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let found: Option<(Chunk, usize)> = match c {
            b'J' => {
                if starts(i, "January") {
                    Some((Chunk::LongMonth, 7))
                } else if starts(i, "Jan") {
                    Some((Chunk::Month, 3))
                } else {
                    None
                }
            }
            b'M' => {
                if starts(i, "Monday") {
                    Some((Chunk::LongWeekDay, 6))
                } else if starts(i, "Mon") {
                    Some((Chunk::WeekDay, 3))
                } else if starts(i, "MST") {
                    Some((Chunk::TZ, 3))
                } else {
                    None
                }
            }
            b'0' => {
                if i + 1 < b.len() && (b'1'..=b'6').contains(&b[i + 1]) {
                    let ch = match b[i + 1] {
                        b'1' => Chunk::ZeroMonth,
                        b'2' => Chunk::ZeroDay,
                        b'3' => Chunk::ZeroHour12,
                        b'4' => Chunk::ZeroMinute,
                        b'5' => Chunk::ZeroSecond,
                        _ => Chunk::Year,
                    };
                    Some((ch, 2))
                } else if starts(i, "002") {
                    Some((Chunk::ZeroYearDay, 3))
                } else {
                    None
                }
            }
            b'1' => {
                if starts(i, "15") {
                    Some((Chunk::Hour, 2))
                } else {
                    Some((Chunk::NumMonth, 1))
                }
            }
            b'2' => {
                if starts(i, "2006") {
                    Some((Chunk::LongYear, 4))
                } else {
                    Some((Chunk::Day, 1))
                }
            }
            b'_' => {
                if starts(i, "_2") {
                    if starts(i, "_2006") {
                        // "_" followed by a long year: the underscore is literal.
                        None
                    } else {
                        Some((Chunk::UnderDay, 2))
                    }
                } else if starts(i, "__2") {
                    Some((Chunk::UnderYearDay, 3))
                } else {
                    None
                }
            }
            b'3' => Some((Chunk::Hour12, 1)),
            b'4' => Some((Chunk::Minute, 1)),
            b'5' => Some((Chunk::Second, 1)),
            b'P' => {
                if starts(i, "PM") {
                    Some((Chunk::PM, 2))
                } else {
                    None
                }
            }
            b'p' => {
                if starts(i, "pm") {
                    Some((Chunk::Pm, 2))
                } else {
                    None
                }
            }
            b'-' => {
                if starts(i, "-070000") {
                    Some((Chunk::NumSecondsTz, 7))
                } else if starts(i, "-07:00:00") {
                    Some((Chunk::NumColonSecondsTZ, 9))
                } else if starts(i, "-0700") {
                    Some((Chunk::NumTZ, 5))
                } else if starts(i, "-07:00") {
                    Some((Chunk::NumColonTZ, 6))
                } else if starts(i, "-07") {
                    Some((Chunk::NumShortTZ, 3))
                } else {
                    None
                }
            }
            b'Z' => {
                if starts(i, "Z070000") {
                    Some((Chunk::Iso8601SecondsTZ, 7))
                } else if starts(i, "Z07:00:00") {
                    Some((Chunk::Iso8601ColonSecondsTZ, 9))
                } else if starts(i, "Z0700") {
                    Some((Chunk::Iso8601TZ, 5))
                } else if starts(i, "Z07:00") {
                    Some((Chunk::Iso8601ColonTZ, 6))
                } else if starts(i, "Z07") {
                    Some((Chunk::Iso8601ShortTZ, 3))
                } else {
                    None
                }
            }
            b'.' | b',' => {
                if i + 1 < b.len() && (b[i + 1] == b'0' || b[i + 1] == b'9') {
                    let ch = b[i + 1];
                    let mut j = i + 1;
                    while j < b.len() && b[j] == ch {
                        j += 1;
                    }
                    // Only a fractional second if not followed by another digit.
                    if j >= b.len() || !b[j].is_ascii_digit() {
                        let n = j - (i + 1);
                        let chunk = if ch == b'0' {
                            Chunk::FracSecond0(n)
                        } else {
                            Chunk::FracSecond9(n)
                        };
                        Some((chunk, j - i))
                    } else {
                        None
                    }
                } else {
                    None
                }
            }
            _ => None,
        };
        if let Some((chunk, len)) = found {
            return (&layout[..i], Some(chunk), &layout[i + len..]);
        }
        i += 1;
    }
    (layout, None, "")
}

const LONG_MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const LONG_DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

fn format_layout(t: &Time, layout: &str) -> String {
    let dt = t.dt;
    let mut out = String::with_capacity(layout.len() + 10);
    let mut rest = layout;
    loop {
        let (prefix, chunk, suffix) = next_chunk(rest);
        out.push_str(prefix);
        let Some(chunk) = chunk else { break };
        rest = suffix;
        let year = dt.year();
        let month0 = dt.month0() as usize;
        let hour = dt.hour();
        let off = dt.offset().local_minus_utc();
        match chunk {
            Chunk::LongMonth => out.push_str(LONG_MONTHS[month0]),
            Chunk::Month => out.push_str(&LONG_MONTHS[month0][..3]),
            Chunk::NumMonth => out.push_str(&dt.month().to_string()),
            Chunk::ZeroMonth => out.push_str(&format!("{:02}", dt.month())),
            Chunk::LongWeekDay => {
                out.push_str(LONG_DAYS[dt.weekday().num_days_from_sunday() as usize]);
            }
            Chunk::WeekDay => {
                out.push_str(&LONG_DAYS[dt.weekday().num_days_from_sunday() as usize][..3]);
            }
            Chunk::Day => out.push_str(&dt.day().to_string()),
            Chunk::UnderDay => out.push_str(&format!("{:>2}", dt.day())),
            Chunk::ZeroDay => out.push_str(&format!("{:02}", dt.day())),
            Chunk::UnderYearDay => out.push_str(&format!("{:>3}", dt.ordinal())),
            Chunk::ZeroYearDay => out.push_str(&format!("{:03}", dt.ordinal())),
            Chunk::Hour => out.push_str(&format!("{hour:02}")),
            Chunk::Hour12 | Chunk::ZeroHour12 => {
                let h = match hour % 12 {
                    0 => 12,
                    h => h,
                };
                if chunk == Chunk::Hour12 {
                    out.push_str(&h.to_string());
                } else {
                    out.push_str(&format!("{h:02}"));
                }
            }
            Chunk::Minute => out.push_str(&dt.minute().to_string()),
            Chunk::ZeroMinute => out.push_str(&format!("{:02}", dt.minute())),
            Chunk::Second => out.push_str(&dt.second().to_string()),
            Chunk::ZeroSecond => out.push_str(&format!("{:02}", dt.second())),
            Chunk::LongYear => out.push_str(&format!("{year:04}")),
            Chunk::Year => out.push_str(&format!("{:02}", year.rem_euclid(100))),
            Chunk::PM => out.push_str(if hour >= 12 { "PM" } else { "AM" }),
            Chunk::Pm => out.push_str(if hour >= 12 { "pm" } else { "am" }),
            Chunk::TZ => out.push_str(&t.zone),
            Chunk::Iso8601TZ
            | Chunk::Iso8601SecondsTZ
            | Chunk::Iso8601ShortTZ
            | Chunk::Iso8601ColonTZ
            | Chunk::Iso8601ColonSecondsTZ
                if off == 0 =>
            {
                out.push('Z');
            }
            Chunk::Iso8601TZ
            | Chunk::Iso8601SecondsTZ
            | Chunk::Iso8601ShortTZ
            | Chunk::Iso8601ColonTZ
            | Chunk::Iso8601ColonSecondsTZ
            | Chunk::NumTZ
            | Chunk::NumSecondsTz
            | Chunk::NumShortTZ
            | Chunk::NumColonTZ
            | Chunk::NumColonSecondsTZ => {
                let sign = if off < 0 { '-' } else { '+' };
                let a = off.abs();
                let (h, m, s) = (a / 3600, (a % 3600) / 60, a % 60);
                out.push(sign);
                out.push_str(&format!("{h:02}"));
                let colon = matches!(
                    chunk,
                    Chunk::Iso8601ColonTZ
                        | Chunk::Iso8601ColonSecondsTZ
                        | Chunk::NumColonTZ
                        | Chunk::NumColonSecondsTZ
                );
                let short = matches!(chunk, Chunk::Iso8601ShortTZ | Chunk::NumShortTZ);
                if !short {
                    if colon {
                        out.push(':');
                    }
                    out.push_str(&format!("{m:02}"));
                }
                if matches!(
                    chunk,
                    Chunk::Iso8601SecondsTZ
                        | Chunk::Iso8601ColonSecondsTZ
                        | Chunk::NumSecondsTz
                        | Chunk::NumColonSecondsTZ
                ) {
                    if colon {
                        out.push(':');
                    }
                    out.push_str(&format!("{s:02}"));
                }
            }
            Chunk::FracSecond0(n) => {
                let ns = format!("{:09}", dt.nanosecond() % 1_000_000_000);
                out.push('.');
                out.push_str(&ns[..n.min(9)]);
            }
            Chunk::FracSecond9(n) => {
                let ns = format!("{:09}", dt.nanosecond() % 1_000_000_000);
                let digits = ns[..n.min(9)].trim_end_matches('0');
                if !digits.is_empty() {
                    out.push('.');
                    out.push_str(digits);
                }
            }
        }
    }
    out
}

/// Why a Go layout parse failed (Go's `time.ParseError` text).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseTimeError(pub String);

/// Go's `time.Parse`/`ParseInLocation` for a reference layout. Times without a zone in the
/// layout are taken in `default_offset` (seconds east of UTC) named `default_zone`.
pub fn parse_layout(
    layout: &str,
    value: &str,
    default_offset: i32,
    default_zone: &str,
) -> Result<Time, ParseTimeError> {
    let err = || {
        ParseTimeError(format!(
            "parsing time {value:?} as {layout:?}: cannot parse {value:?} as {layout:?}"
        ))
    };
    let mut rest_layout = layout;
    let mut v = value;
    let (mut year, mut month, mut day, mut hour, mut min, mut sec, mut nsec) =
        (1i32, 1u32, 1u32, 0u32, 0u32, 0u32, 0u32);
    let mut pm: Option<bool> = None;
    let mut offset: Option<i32> = None;
    let mut zone_name: Option<String> = None;
    let take_digits = |v: &mut &str, min: usize, max: usize| -> Option<u32> {
        let n = v.bytes().take(max).take_while(u8::is_ascii_digit).count();
        if n < min {
            return None;
        }
        let num = v[..n].parse().ok();
        *v = &v[n..];
        num
    };
    loop {
        let (prefix, chunk, suffix) = next_chunk(rest_layout);
        v = v.strip_prefix(prefix).ok_or_else(err)?;
        let Some(chunk) = chunk else {
            if !v.is_empty() {
                return Err(ParseTimeError(format!(
                    "parsing time {value:?}: extra text: {v:?}"
                )));
            }
            break;
        };
        rest_layout = suffix;
        match chunk {
            Chunk::LongMonth | Chunk::Month => {
                let idx = LONG_MONTHS
                    .iter()
                    .position(|m| {
                        let name = if chunk == Chunk::Month { &m[..3] } else { m };
                        v.get(..name.len())
                            .is_some_and(|p| p.eq_ignore_ascii_case(name))
                    })
                    .ok_or_else(err)?;
                let len = if chunk == Chunk::Month {
                    3
                } else {
                    LONG_MONTHS[idx].len()
                };
                v = &v[len..];
                month = u32::try_from(idx + 1).unwrap_or(1);
            }
            Chunk::LongWeekDay | Chunk::WeekDay => {
                let idx = LONG_DAYS
                    .iter()
                    .position(|d| {
                        let name = if chunk == Chunk::WeekDay { &d[..3] } else { d };
                        v.get(..name.len())
                            .is_some_and(|p| p.eq_ignore_ascii_case(name))
                    })
                    .ok_or_else(err)?;
                let len = if chunk == Chunk::WeekDay {
                    3
                } else {
                    LONG_DAYS[idx].len()
                };
                v = &v[len..];
            }
            Chunk::NumMonth => month = take_digits(&mut v, 1, 2).ok_or_else(err)?,
            Chunk::ZeroMonth => month = take_digits(&mut v, 2, 2).ok_or_else(err)?,
            Chunk::Day => day = take_digits(&mut v, 1, 2).ok_or_else(err)?,
            Chunk::UnderDay => {
                v = v.strip_prefix(' ').unwrap_or(v);
                day = take_digits(&mut v, 1, 2).ok_or_else(err)?;
            }
            Chunk::ZeroDay => day = take_digits(&mut v, 2, 2).ok_or_else(err)?,
            Chunk::UnderYearDay | Chunk::ZeroYearDay => {
                v = v.trim_start_matches(' ');
                take_digits(&mut v, 1, 3).ok_or_else(err)?;
            }
            Chunk::Hour => hour = take_digits(&mut v, 2, 2).ok_or_else(err)?,
            Chunk::Hour12 => hour = take_digits(&mut v, 1, 2).ok_or_else(err)?,
            Chunk::ZeroHour12 => hour = take_digits(&mut v, 2, 2).ok_or_else(err)?,
            Chunk::Minute => min = take_digits(&mut v, 1, 2).ok_or_else(err)?,
            Chunk::ZeroMinute => min = take_digits(&mut v, 2, 2).ok_or_else(err)?,
            Chunk::Second | Chunk::ZeroSecond => {
                let least = if chunk == Chunk::ZeroSecond { 2 } else { 1 };
                sec = take_digits(&mut v, least, 2).ok_or_else(err)?;
                // Go accepts a fractional second after seconds even if the layout lacks it.
                if (v.starts_with('.') || v.starts_with(','))
                    && v.as_bytes().get(1).is_some_and(u8::is_ascii_digit)
                    && !matches!(
                        next_chunk(rest_layout).1,
                        Some(Chunk::FracSecond0(_) | Chunk::FracSecond9(_))
                    )
                {
                    let n = v[1..].bytes().take_while(u8::is_ascii_digit).count();
                    nsec = parse_frac(&v[1..=n]);
                    v = &v[n + 1..];
                }
            }
            Chunk::LongYear => {
                year = i32::try_from(take_digits(&mut v, 4, 4).ok_or_else(err)?).unwrap_or(1);
            }
            Chunk::Year => {
                let y = i32::try_from(take_digits(&mut v, 2, 2).ok_or_else(err)?).unwrap_or(0);
                year = if y >= 69 { 1900 + y } else { 2000 + y };
            }
            Chunk::PM | Chunk::Pm => {
                let p = v.get(..2).ok_or_else(err)?;
                pm = Some(match p.to_ascii_uppercase().as_str() {
                    "PM" => true,
                    "AM" => false,
                    _ => return Err(err()),
                });
                v = &v[2..];
            }
            Chunk::TZ => {
                if let Some(r) = v.strip_prefix("UTC") {
                    v = r;
                    offset = Some(0);
                    zone_name = Some("UTC".into());
                } else {
                    let n = v.bytes().take_while(u8::is_ascii_uppercase).count();
                    if n < 3 {
                        return Err(err());
                    }
                    zone_name = Some(v[..n].to_string());
                    v = &v[n..];
                }
            }
            Chunk::FracSecond0(n) => {
                let s = v.strip_prefix(['.', ',']).ok_or_else(err)?;
                if s.len() < n || !s.as_bytes()[..n].iter().all(u8::is_ascii_digit) {
                    return Err(err());
                }
                nsec = parse_frac(&s[..n]);
                v = &s[n..];
            }
            Chunk::FracSecond9(_) => {
                if let Some(s) = v.strip_prefix(['.', ',']) {
                    let n = s.bytes().take_while(u8::is_ascii_digit).count();
                    nsec = parse_frac(&s[..n]);
                    v = &s[n..];
                }
            }
            tz_chunk => {
                let iso = matches!(
                    tz_chunk,
                    Chunk::Iso8601TZ
                        | Chunk::Iso8601SecondsTZ
                        | Chunk::Iso8601ShortTZ
                        | Chunk::Iso8601ColonTZ
                        | Chunk::Iso8601ColonSecondsTZ
                );
                if iso && v.starts_with('Z') {
                    v = &v[1..];
                    offset = Some(0);
                    zone_name = Some("UTC".into());
                    continue;
                }
                let sign = match v.as_bytes().first() {
                    Some(b'+') => 1,
                    Some(b'-') => -1,
                    _ => return Err(err()),
                };
                v = &v[1..];
                let h = take_digits(&mut v, 2, 2).ok_or_else(err)?;
                let mut m = 0;
                let mut s = 0;
                let short = matches!(tz_chunk, Chunk::Iso8601ShortTZ | Chunk::NumShortTZ);
                let colon = matches!(
                    tz_chunk,
                    Chunk::Iso8601ColonTZ
                        | Chunk::Iso8601ColonSecondsTZ
                        | Chunk::NumColonTZ
                        | Chunk::NumColonSecondsTZ
                );
                let secs = matches!(
                    tz_chunk,
                    Chunk::Iso8601SecondsTZ
                        | Chunk::Iso8601ColonSecondsTZ
                        | Chunk::NumSecondsTz
                        | Chunk::NumColonSecondsTZ
                );
                if !short {
                    if colon {
                        v = v.strip_prefix(':').ok_or_else(err)?;
                    }
                    m = take_digits(&mut v, 2, 2).ok_or_else(err)?;
                }
                if secs {
                    if colon {
                        v = v.strip_prefix(':').ok_or_else(err)?;
                    }
                    s = take_digits(&mut v, 2, 2).ok_or_else(err)?;
                }
                let total = i32::try_from(h * 3600 + m * 60 + s).unwrap_or(0) * sign;
                offset = Some(total);
            }
        }
    }
    if let Some(pm) = pm {
        if pm && hour < 12 {
            hour += 12;
        } else if !pm && hour == 12 {
            hour = 0;
        }
    }
    let naive: NaiveDateTime = NaiveDate::from_ymd_opt(year, month, day)
        .and_then(|d| d.and_hms_nano_opt(hour, min, sec, nsec))
        .ok_or_else(|| ParseTimeError(format!("parsing time {value:?}: day out of range")))?;
    let (off, zone) = match (offset, zone_name) {
        (Some(o), Some(z)) => (o, z),
        (Some(o), None) => (o, if o == 0 { "UTC".into() } else { offset_name(o) }),
        (None, Some(z)) => (0, z),
        (None, None) => (default_offset, default_zone.to_string()),
    };
    let fixed = FixedOffset::east_opt(off).ok_or_else(err)?;
    let dt = fixed.from_local_datetime(&naive).single().ok_or_else(err)?;
    Ok(Time {
        dt,
        zone: Arc::from(zone),
    })
}

fn parse_frac(digits: &str) -> u32 {
    let mut s: String = digits.chars().take(9).collect();
    while s.len() < 9 {
        s.push('0');
    }
    s.parse().unwrap_or(0)
}

/// Go's `time.Duration.String()`: `1h2m3.5s`, `1.5ms`, `0s`.
pub fn duration_string(d: i64) -> String {
    if d == 0 {
        return "0s".into();
    }
    let neg = d < 0;
    let u = d.unsigned_abs();
    let mut out = String::new();
    if u < 1_000_000_000 {
        // Sub-second: use the largest unit.
        let (unit, scale) = if u < 1_000 {
            ("ns", 1u64)
        } else if u < 1_000_000 {
            ("µs", 1_000)
        } else {
            ("ms", 1_000_000)
        };
        out.push_str(&frac_string(u, scale));
        out.push_str(unit);
    } else {
        let secs_total = u / 1_000_000_000;
        let h = secs_total / 3600;
        let m = (secs_total % 3600) / 60;
        let s_part = u % 60_000_000_000;
        if h > 0 {
            out.push_str(&format!("{h}h"));
        }
        if h > 0 || m > 0 {
            out.push_str(&format!("{m}m"));
        }
        out.push_str(&frac_string(s_part, 1_000_000_000));
        out.push('s');
    }
    if neg { format!("-{out}") } else { out }
}

fn frac_string(v: u64, scale: u64) -> String {
    let whole = v / scale;
    let frac = v % scale;
    if frac == 0 {
        return whole.to_string();
    }
    let width = scale.to_string().len() - 1;
    let f = format!("{frac:0width$}");
    format!("{whole}.{}", f.trim_end_matches('0'))
}

/// Go's `time.ParseDuration` (`1h30m`, `-1.5s`, `300ms`, `2us`), returning nanoseconds.
pub fn parse_go_duration(s: &str) -> Result<i64, String> {
    let orig = s;
    let bad = || format!("time: invalid duration {orig:?}");
    let (neg, mut s) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if s == "0" {
        return Ok(0);
    }
    if s.is_empty() {
        return Err(bad());
    }
    let mut total: f64 = 0.0;
    while !s.is_empty() {
        let n = s
            .bytes()
            .take_while(|b| b.is_ascii_digit() || *b == b'.')
            .count();
        if n == 0 {
            return Err(bad());
        }
        let num: f64 = s[..n].parse().map_err(|_| bad())?;
        s = &s[n..];
        let u = s
            .bytes()
            .take_while(|b| !b.is_ascii_digit() && *b != b'.')
            .count();
        if u == 0 {
            return Err(format!("time: missing unit in duration {orig:?}"));
        }
        let unit = &s[..u];
        s = &s[u..];
        let scale = match unit {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return Err(format!("time: unknown unit {unit:?} in duration {orig:?}")),
        };
        total += num * scale;
    }
    if total > i64::MAX as f64 {
        return Err(bad());
    }
    let v = total.round() as i64;
    Ok(if neg { -v } else { v })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_time_string() {
        let t = Time::from_unix(1_500_000_000, 0);
        assert_eq!(t.go_string(), "2017-07-14 02:40:00 +0000 UTC");
        assert_eq!(Time::zero().go_string(), "0001-01-01 00:00:00 +0000 UTC");
        let t = Time::from_unix(1, 500_000_000);
        assert_eq!(t.go_string(), "1970-01-01 00:00:01.5 +0000 UTC");
    }

    #[test]
    fn layouts() {
        let t = Time::from_unix(1_700_000_000, 123_000_000);
        assert_eq!(
            t.format("2006-01-02T15:04:05Z07:00"),
            "2023-11-14T22:13:20Z"
        );
        assert_eq!(t.format("Jan _2 3:04PM"), "Nov 14 10:13PM");
        assert_eq!(
            t.format("Monday, 02-Jan-06 15:04:05.000 MST"),
            "Tuesday, 14-Nov-23 22:13:20.123 UTC"
        );
        let cet = t.with_zone(3600, "CET");
        assert_eq!(cet.format("15:04 -07:00 MST"), "23:13 +01:00 CET");
    }

    #[test]
    fn parse_layouts() {
        let t = parse_layout("2006-01-02", "2021-11-02", 0, "UTC").unwrap();
        assert_eq!(t.unix(), 1_635_811_200);
        let t = parse_layout(
            "2006-01-02T15:04:05Z07:00",
            "2021-11-02T10:00:00+02:00",
            0,
            "UTC",
        )
        .unwrap();
        assert_eq!(t.unix(), 1_635_840_000);
        assert_eq!(t.go_string(), "2021-11-02 10:00:00 +0200 +0200");
        assert!(parse_layout("2006-01-02", "2021/11/02", 0, "UTC").is_err());
        let t = Time::parse_rfc3339("2024-05-01T10:00:00.5+02:00").unwrap();
        assert_eq!(t.go_string(), "2024-05-01 10:00:00.5 +0200 +0200");
        assert_eq!(t.to_utc().go_string(), "2024-05-01 08:00:00.5 +0000 UTC");
        let t = Time::parse_rfc3339("2024-05-01T10:00:00Z").unwrap();
        assert_eq!(t.go_string(), "2024-05-01 10:00:00 +0000 UTC");
        assert_eq!(t.to_rfc3339(), "2024-05-01T10:00:00Z");
        assert!(Time::parse_rfc3339("2024-05-01").is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(duration_string(0), "0s");
        assert_eq!(duration_string(90 * 1_000_000_000), "1m30s");
        assert_eq!(duration_string(3_600_000_000_000), "1h0m0s");
        assert_eq!(duration_string(1_500_000), "1.5ms");
        assert_eq!(duration_string(-2_500_000_000), "-2.5s");
        assert_eq!(parse_go_duration("1h30m").unwrap(), 5_400_000_000_000);
        assert_eq!(parse_go_duration("-1.5s").unwrap(), -1_500_000_000);
        assert!(parse_go_duration("5").is_err());
    }
}
