//! IANA time zones for `tz`, `toDateInZone` and friends, read from the system zoneinfo
//! database (TZif files under `/usr/share/zoneinfo` or `$ZONEINFO`), as Go's
//! `time.LoadLocation` does on Linux.

use std::sync::Arc;

use crate::gotime::Time;

/// A loaded zone: transitions and their (offset, abbreviation).
#[derive(Debug, Clone)]
pub struct Location {
    name: Arc<str>,
    transitions: Vec<(i64, usize)>,
    types: Vec<(i32, String)>,
    /// Type used before the first transition.
    initial: usize,
}

impl Location {
    /// UTC.
    pub fn utc() -> Location {
        Location {
            name: Arc::from("UTC"),
            transitions: Vec::new(),
            types: vec![(0, "UTC".into())],
            initial: 0,
        }
    }

    /// The zone's name (`Europe/Berlin`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Offset (seconds east of UTC) and abbreviation in effect at Unix second `t`.
    pub fn lookup(&self, t: i64) -> (i32, &str) {
        let idx = match self.transitions.partition_point(|(at, _)| *at <= t) {
            0 => self.initial,
            n => self.transitions[n - 1].1,
        };
        let (off, abbr) = &self.types[idx.min(self.types.len() - 1)];
        (*off, abbr)
    }

    /// Show `t` in this zone.
    pub fn apply(&self, t: &Time) -> Time {
        let (off, abbr) = self.lookup(t.unix());
        t.with_zone(off, abbr)
    }
}

fn be32(b: &[u8], i: usize) -> Option<i64> {
    let s = b.get(i..i + 4)?;
    Some(i64::from(i32::from_be_bytes([s[0], s[1], s[2], s[3]])))
}

fn be64(b: &[u8], i: usize) -> Option<i64> {
    let s = b.get(i..i + 8)?;
    let mut a = [0u8; 8];
    a.copy_from_slice(s);
    Some(i64::from_be_bytes(a))
}

fn parse_tzif(name: &str, data: &[u8]) -> Option<Location> {
    if data.get(0..4)? != b"TZif" {
        return None;
    }
    let version = *data.get(4)?;
    let counts = |base: usize| -> Option<[usize; 6]> {
        let mut c = [0usize; 6];
        for (k, slot) in c.iter_mut().enumerate() {
            *slot = usize::try_from(be32(data, base + 20 + k * 4)?).ok()?;
        }
        Some(c)
    };
    // [isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt]
    let c1 = counts(0)?;
    let v1_len = c1[3] * 4 + c1[3] + c1[4] * 6 + c1[5] + c1[2] * 8 + c1[1] + c1[0];
    let (base, c, tsize) = if version >= b'2' {
        let b2 = 44 + v1_len;
        (b2, counts(b2)?, 8usize)
    } else {
        (0, c1, 4usize)
    };
    let [_, _, _, timecnt, typecnt, charcnt] = c;
    let mut p = base + 44;
    // Counts come from the file: bound the reservations by its size before the reads check them.
    let mut times = Vec::with_capacity(timecnt.min(data.len() / tsize));
    for k in 0..timecnt {
        let t = if tsize == 8 {
            be64(data, p + k * 8)?
        } else {
            be32(data, p + k * 4)?
        };
        times.push(t);
    }
    p += timecnt * tsize;
    let idxs = data.get(p..p + timecnt)?.to_vec();
    p += timecnt;
    let mut raw_types = Vec::with_capacity(typecnt.min(data.len() / 6));
    for k in 0..typecnt {
        let off = i32::try_from(be32(data, p + k * 6)?).ok()?;
        let isdst = *data.get(p + k * 6 + 4)?;
        let ai = usize::from(*data.get(p + k * 6 + 5)?);
        raw_types.push((off, isdst, ai));
    }
    p += typecnt * 6;
    let chars = data.get(p..p + charcnt)?;
    let types: Vec<(i32, String)> = raw_types
        .iter()
        .map(|(off, _, ai)| {
            let s = chars.get(*ai..).unwrap_or(&[]);
            let end = s.iter().position(|b| *b == 0).unwrap_or(s.len());
            (*off, String::from_utf8_lossy(&s[..end]).into_owned())
        })
        .collect();
    if types.is_empty() {
        return None;
    }
    // Go: before the first transition use the first non-DST type.
    let initial = raw_types.iter().position(|t| t.1 == 0).unwrap_or(0);
    let transitions = times
        .into_iter()
        .zip(idxs)
        .map(|(t, i)| (t, usize::from(i)))
        .collect();
    Some(Location {
        name: Arc::from(name),
        transitions,
        types,
        initial,
    })
}

/// Go's `time.LoadLocation`: `""`/`UTC` is UTC, `Local` is treated as UTC, others are read
/// from the zoneinfo database. The error text matches Go's.
pub fn load_location(name: &str) -> Result<Location, String> {
    if name.is_empty() || name == "UTC" || name == "Local" {
        return Ok(Location::utc());
    }
    let bad = || format!("unknown time zone {name}");
    if name.contains("..") || name.starts_with('/') || name.contains('\\') {
        return Err(bad());
    }
    let mut dirs: Vec<String> = Vec::new();
    if let Ok(z) = std::env::var("ZONEINFO") {
        dirs.push(z);
    }
    dirs.extend(
        [
            "/usr/share/zoneinfo",
            "/usr/share/lib/zoneinfo",
            "/usr/lib/locale/TZ",
        ]
        .iter()
        .map(|s| s.to_string()),
    );
    for d in dirs {
        let path = std::path::Path::new(&d).join(name);
        // Zone files are small; cap the read.
        if let Ok(meta) = std::fs::metadata(&path)
            && meta.is_file()
            && meta.len() < 1 << 20
            && let Ok(data) = std::fs::read(&path)
            && let Some(loc) = parse_tzif(name, &data)
        {
            return Ok(loc);
        }
    }
    Err(bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn berlin_if_available() {
        let Ok(loc) = load_location("Europe/Berlin") else {
            // Skipping is only right when the machine has no zoneinfo database at all.
            assert!(
                std::fs::metadata("/usr/share/zoneinfo/Europe/Berlin").is_err(),
                "the system has Europe/Berlin but load_location failed"
            );
            return;
        };
        // 2024-01-15 12:00 UTC is CET (+1), 2024-07-15 is CEST (+2).
        let winter = loc.apply(&Time::from_unix(1_705_320_000, 0));
        assert_eq!(winter.go_string(), "2024-01-15 13:00:00 +0100 CET");
        let summer = loc.apply(&Time::from_unix(1_721_044_800, 0));
        assert_eq!(summer.go_string(), "2024-07-15 14:00:00 +0200 CEST");
        assert!(load_location("Nowhere/Atlantis").is_err());
        assert!(load_location("../etc/passwd").is_err());
    }
}
