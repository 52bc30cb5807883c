//! Compiled `time_intervals` and the "is this instant inside" test
//! (`timeinterval/timeinterval.go`): within a field any range matches, all present fields
//! must match, times are `[start, end)`, other ranges inclusive, negative days of month
//! count from the end of the month.

use chrono::{DateTime, Datelike, FixedOffset, Offset, TimeZone, Timelike, Utc};

use crate::config::time_interval::TimeIntervalConfig;

/// One compiled interval.
#[derive(Clone, Debug, PartialEq)]
pub struct TimeInterval {
    times: Vec<(u32, u32)>,
    weekdays: Vec<(u32, u32)>,
    days_of_month: Vec<(i32, i32)>,
    months: Vec<(u32, u32)>,
    years: Vec<(i32, i32)>,
    location: Location,
}

#[derive(Clone, Debug, PartialEq)]
enum Location {
    Utc,
    Local,
    Zone(tzif::Zone),
}

const WEEKDAYS: [&str; 7] = [
    "sunday",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
];
const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

fn split_range(s: &str) -> (&str, &str) {
    match s.split_once(':') {
        Some((a, b)) => (a, b),
        None => (s, s),
    }
}

fn parse_minutes(s: &str) -> Result<u32, String> {
    let bad = || format!("couldn't parse timestamp {s}, invalid format");
    if s == "24:00" {
        return Ok(1440);
    }
    let (h, m) = s.split_once(':').ok_or_else(bad)?;
    if h.len() != 2 || m.len() != 2 {
        return Err(bad());
    }
    let (h, m): (u32, u32) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if h > 23 || m > 59 {
        return Err(bad());
    }
    Ok(h * 60 + m)
}

fn named(s: &str, names: &[&str], offset: u32, what: &str) -> Result<u32, String> {
    let lower = s.to_ascii_lowercase();
    if let Some(i) = names.iter().position(|n| *n == lower) {
        return Ok(i as u32 + offset);
    }
    if offset == 1
        && let Ok(n) = s.parse::<u32>()
        && (1..=12).contains(&n)
    {
        return Ok(n);
    }
    Err(format!("{s} is not a valid {what}"))
}

impl TimeInterval {
    /// Validates and compiles one interval of the file.
    pub fn compile(c: &TimeIntervalConfig) -> Result<Self, String> {
        let mut times = Vec::new();
        for t in &c.times {
            let (s, e) = (parse_minutes(&t.start_time)?, parse_minutes(&t.end_time)?);
            if s >= e {
                return Err("start time cannot be equal or greater than end time".into());
            }
            times.push((s, e));
        }
        let mut weekdays = Vec::new();
        for w in &c.weekdays {
            let (a, b) = split_range(w);
            let (a, b) = (
                named(a, &WEEKDAYS, 0, "weekday")?,
                named(b, &WEEKDAYS, 0, "weekday")?,
            );
            if a > b {
                return Err("start day cannot be before end day".into());
            }
            weekdays.push((a, b));
        }
        let mut days_of_month = Vec::new();
        for d in &c.days_of_month {
            let (a, b) = split_range(d);
            let parse = |x: &str| -> Result<i32, String> {
                let n: i32 = x
                    .parse()
                    .map_err(|_| format!("{x} is not a valid day of the month"))?;
                if n == 0 || !(-31..=31).contains(&n) {
                    return Err(format!("{n} is not a valid day of the month: out of range"));
                }
                Ok(n)
            };
            let (a, b) = (parse(a)?, parse(b)?);
            if (a > 0 && b > 0 && a > b) || (a < 0 && b < 0 && a > b) {
                return Err("start day cannot be before end day".into());
            }
            if a < 0 && b > 0 {
                return Err("end day must be negative if start day is negative".into());
            }
            days_of_month.push((a, b));
        }
        let mut months = Vec::new();
        for m in &c.months {
            let (a, b) = split_range(m);
            let (a, b) = (
                named(a, &MONTHS, 1, "month")?,
                named(b, &MONTHS, 1, "month")?,
            );
            if a > b {
                return Err("end month cannot be before start month".into());
            }
            months.push((a, b));
        }
        let mut years = Vec::new();
        for y in &c.years {
            let (a, b) = split_range(y);
            let p = |x: &str| {
                x.parse::<i32>()
                    .map_err(|_| format!("{x} is not a valid year"))
            };
            let (a, b) = (p(a)?, p(b)?);
            if a > b {
                return Err("end year cannot be before start year".into());
            }
            years.push((a, b));
        }
        let location = match c.location.as_deref() {
            None | Some("UTC") | Some("") => Location::Utc,
            Some("Local") => Location::Local,
            Some(name) => Location::Zone(tzif::Zone::load(name)?),
        };
        Ok(Self {
            times,
            weekdays,
            days_of_month,
            months,
            years,
            location,
        })
    }

    /// True when `t` lies inside this interval.
    pub fn contains(&self, t: DateTime<Utc>) -> bool {
        let offset = match &self.location {
            Location::Utc => 0,
            Location::Local => chrono::Local
                .offset_from_utc_datetime(&t.naive_utc())
                .local_minus_utc(),
            Location::Zone(z) => z.offset_at(t.timestamp()),
        };
        let local = t.with_timezone(&FixedOffset::east_opt(offset).unwrap_or_else(|| Utc.fix()));
        let minute = local.hour() * 60 + local.minute();
        if !self.times.is_empty() && !self.times.iter().any(|&(s, e)| minute >= s && minute < e) {
            return false;
        }
        if !self.days_of_month.is_empty() {
            let dim = days_in_month(local.year(), local.month()) as i32;
            let day = local.day() as i32;
            let inside = self.days_of_month.iter().any(|&(b, e)| {
                let b = if b < 0 { dim + b + 1 } else { b };
                let e = if e < 0 { dim + e + 1 } else { e };
                if b > dim {
                    return false;
                }
                let (b, e) = (b.clamp(-dim, dim), e.clamp(-dim, dim));
                day >= b && day <= e
            });
            if !inside {
                return false;
            }
        }
        let month = local.month();
        if !self.months.is_empty() && !self.months.iter().any(|&(a, b)| month >= a && month <= b) {
            return false;
        }
        let wd = local.weekday().num_days_from_sunday();
        if !self.weekdays.is_empty() && !self.weekdays.iter().any(|&(a, b)| wd >= a && wd <= b) {
            return false;
        }
        let y = local.year();
        if !self.years.is_empty() && !self.years.iter().any(|&(a, b)| y >= a && y <= b) {
            return false;
        }
        true
    }
}

/// True when any of the intervals contains `t`.
pub fn any_contains(intervals: &[TimeInterval], t: DateTime<Utc>) -> bool {
    intervals.iter().any(|i| i.contains(t))
}

fn days_in_month(year: i32, month: u32) -> u32 {
    let (ny, nm) = if month == 12 {
        (year + 1, 1)
    } else {
        (year, month + 1)
    };
    chrono::NaiveDate::from_ymd_opt(ny, nm, 1)
        .and_then(|d| d.pred_opt())
        .map_or(31, |d| d.day())
}

mod tzif {
    //! Just enough of the TZif format (RFC 8536) to find the UTC offset of an instant, read
    //! from the system zoneinfo database as Go's `time.LoadLocation` does.

    #[derive(Clone, Debug, PartialEq)]
    pub(super) struct Zone {
        transitions: Vec<(i64, i32)>,
        initial: i32,
    }

    impl Zone {
        pub(super) fn load(name: &str) -> Result<Self, String> {
            if name.contains("..") || name.starts_with('/') {
                return Err(format!("unknown time zone {name}"));
            }
            let dirs = [
                "/usr/share/zoneinfo",
                "/usr/lib/zoneinfo",
                "/usr/share/lib/zoneinfo",
            ];
            for d in dirs {
                if let Ok(bytes) = std::fs::read(format!("{d}/{name}")) {
                    return Self::parse(&bytes).ok_or_else(|| format!("unknown time zone {name}"));
                }
            }
            Err(format!("unknown time zone {name}"))
        }

        fn parse(b: &[u8]) -> Option<Self> {
            let be32 = |o: usize| -> Option<u32> {
                Some(u32::from_be_bytes(b.get(o..o + 4)?.try_into().ok()?))
            };
            if b.get(0..4)? != b"TZif" {
                return None;
            }
            let version = *b.get(4)?;
            let counts = |base: usize| -> Option<[usize; 6]> {
                let mut c = [0usize; 6];
                for (i, v) in c.iter_mut().enumerate() {
                    *v = be32(base + 20 + 4 * i)? as usize;
                }
                Some(c)
            };
            let [isut, isstd, leap, timecnt, typecnt, charcnt] = counts(0)?;
            let (base, tsize) = if version >= b'2' {
                let v1 = 44 + timecnt * 5 + typecnt * 6 + charcnt + leap * 8 + isstd + isut;
                (v1, 8usize)
            } else {
                (0, 4usize)
            };
            let [_, _, _, timecnt, typecnt, _] = counts(base)?;
            let data = base + 44;
            let mut times = Vec::with_capacity(timecnt);
            for i in 0..timecnt {
                let o = data + i * tsize;
                let t = if tsize == 8 {
                    i64::from_be_bytes(b.get(o..o + 8)?.try_into().ok()?)
                } else {
                    i64::from(be32(o)? as i32)
                };
                times.push(t);
            }
            let idx_base = data + timecnt * tsize;
            let type_base = idx_base + timecnt;
            let mut offsets = Vec::with_capacity(typecnt);
            for i in 0..typecnt {
                offsets.push(be32(type_base + i * 6)? as i32);
            }
            let mut transitions = Vec::with_capacity(timecnt);
            for (i, t) in times.into_iter().enumerate() {
                let ty = *b.get(idx_base + i)? as usize;
                transitions.push((t, *offsets.get(ty)?));
            }
            Some(Self {
                transitions,
                initial: *offsets.first()?,
            })
        }

        pub(super) fn offset_at(&self, unix: i64) -> i32 {
            match self.transitions.partition_point(|(t, _)| *t <= unix) {
                0 => self.initial,
                i => self.transitions[i - 1].1,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::time_interval::TimeRangeConfig;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn business_hours() {
        let ti = TimeInterval::compile(&TimeIntervalConfig {
            times: vec![TimeRangeConfig {
                start_time: "09:00".into(),
                end_time: "17:00".into(),
            }],
            weekdays: vec!["monday:friday".into()],
            ..Default::default()
        })
        .unwrap();
        assert!(ti.contains(at("2026-11-25T09:00:00Z"))); // Wednesday
        assert!(!ti.contains(at("2026-11-25T17:00:00Z")), "end is exclusive");
        assert!(!ti.contains(at("2026-11-28T10:00:00Z")), "Saturday");
    }

    #[test]
    fn negative_days_and_months() {
        let ti = TimeInterval::compile(&TimeIntervalConfig {
            days_of_month: vec!["-3:-1".into()],
            months: vec!["february".into()],
            ..Default::default()
        })
        .unwrap();
        assert!(ti.contains(at("2026-02-26T00:00:00Z")));
        assert!(!ti.contains(at("2026-02-25T23:59:00Z")));
        assert!(!ti.contains(at("2026-03-30T00:00:00Z")));
    }

    #[test]
    fn errors_and_zones() {
        let bad = TimeIntervalConfig {
            times: vec![TimeRangeConfig {
                start_time: "10:00".into(),
                end_time: "09:00".into(),
            }],
            ..Default::default()
        };
        assert!(
            TimeInterval::compile(&bad)
                .unwrap_err()
                .contains("start time")
        );
        let bad = TimeIntervalConfig {
            weekdays: vec!["funday".into()],
            ..Default::default()
        };
        assert_eq!(
            TimeInterval::compile(&bad).unwrap_err(),
            "funday is not a valid weekday"
        );
        if std::fs::metadata("/usr/share/zoneinfo/Europe/Paris").is_ok() {
            let ti = TimeInterval::compile(&TimeIntervalConfig {
                times: vec![TimeRangeConfig {
                    start_time: "09:00".into(),
                    end_time: "10:00".into(),
                }],
                location: Some("Europe/Paris".into()),
                ..Default::default()
            })
            .unwrap();
            // 08:30 UTC in winter is 09:30 in Paris; in summer 10:30.
            assert!(ti.contains(at("2026-01-15T08:30:00Z")));
            assert!(!ti.contains(at("2026-07-15T08:30:00Z")));
        }
    }
}
