//! Byte sizes in the two syntaxes the upstream configs and flags use. They differ, so there is
//! one type for each:
//!
//! * [`ByteSize`]: Loki/Tempo/Mimir `flagext.ByteSize` (dskit, built on `c2h5oh/datasize`):
//!   an integer and an optional unit, base 1024, case-insensitive (`512KB`, `1mb`, `10MiB`,
//!   `2 GB`, `1024`, `1kilobyte`), no fractions. Printed as `1MB`, `1536KB`, `0B`.
//! * [`Base2Bytes`]: Prometheus `--storage.tsdb.retention.size` (`alecthomas/units`
//!   `ParseBase2Bytes`): base 1024 with case-sensitive units `B KB MB GB TB PB EB` or
//!   `B KiB MiB GiB TiB PiB EiB` (not mixed), fractions and sums allowed (`1.5GB`, `1GB512MB`),
//!   a unit required except for a lone `0`. Printed as `512MiB`, `1KiB1B`.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::duration::{TWO_POW_63, go_quote, parse_scalar};

const KB: u64 = 1 << 10;
const MB: u64 = 1 << 20;
const GB: u64 = 1 << 30;
const TB: u64 = 1 << 40;
const PB: u64 = 1 << 50;
const EB: u64 = 1 << 60;

/// Why a byte size was refused; texts are the upstream libraries' own.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ByteSizeError {
    /// datasize: not `<digits>[unit]` (the input is shown upper-cased, as dskit passes it).
    #[error("strconv.UnmarshalText: parsing {}: invalid syntax", go_quote(.0))]
    Syntax(String),
    /// datasize: more than `u64::MAX` bytes.
    #[error("strconv.UnmarshalText: parsing {}: value out of range", go_quote(.0))]
    Range(String),
    /// alecthomas/units: malformed number.
    #[error("units: invalid {0}")]
    UnitsInvalid(String),
    /// alecthomas/units: unit not in the table.
    #[error("units: unknown unit {unit} in {input}")]
    UnitsUnknownUnit {
        /// The unit as written.
        unit: String,
        /// The whole input.
        input: String,
    },
    /// alecthomas/units: beyond the int64 range.
    #[error("units: overflow parsing unit")]
    UnitsOverflow,
}

/// Loki/dskit `flagext.ByteSize`: bytes, read from `1MB`-style text (base 1024).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ByteSize(pub u64);

impl ByteSize {
    /// The number of bytes.
    pub const fn bytes(self) -> u64 {
        self.0
    }

    /// Parses as dskit does: upper-case the text, then datasize's rules. An empty string is 0.
    pub fn parse(s: &str) -> Result<Self, ByteSizeError> {
        let upper = s.to_uppercase();
        let digits_end = upper
            .bytes()
            .position(|b| !b.is_ascii_digit())
            .unwrap_or(upper.len());
        if digits_end == 0 && !upper.is_empty() {
            return Err(ByteSizeError::Syntax(upper));
        }
        let mut value: u64 = 0;
        for b in upper[..digits_end].bytes() {
            value = value
                .checked_mul(10)
                .and_then(|v| v.checked_add(u64::from(b - b'0')))
                .ok_or_else(|| ByteSizeError::Range(upper.clone()))?;
        }
        let unit = upper[digits_end..].trim().to_lowercase();
        let mult = match unit.as_str() {
            "" | "b" | "byte" => 1,
            "k" | "kb" | "kib" | "kilo" | "kilobyte" | "kilobytes" => KB,
            "m" | "mb" | "mib" | "mega" | "megabyte" | "megabytes" => MB,
            "g" | "gb" | "gib" | "giga" | "gigabyte" | "gigabytes" => GB,
            "t" | "tb" | "tib" | "tera" | "terabyte" | "terabytes" => TB,
            "p" | "pb" | "pib" | "peta" | "petabyte" | "petabytes" => PB,
            "e" | "eb" | "eib" | "exa" | "exabyte" | "exabytes" => EB,
            _ => return Err(ByteSizeError::Syntax(upper)),
        };
        value
            .checked_mul(mult)
            .map(Self)
            .ok_or(ByteSizeError::Range(upper))
    }
}

impl fmt::Display for ByteSize {
    /// datasize's `String()`: the largest unit that divides the value exactly.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        if b == 0 {
            return f.write_str("0B");
        }
        for (mult, unit) in [
            (EB, "EB"),
            (PB, "PB"),
            (TB, "TB"),
            (GB, "GB"),
            (MB, "MB"),
            (KB, "KB"),
        ] {
            if b.is_multiple_of(mult) {
                return write!(f, "{}{unit}", b / mult);
            }
        }
        write!(f, "{b}B")
    }
}

impl std::str::FromStr for ByteSize {
    type Err = ByteSizeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for ByteSize {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        parse_scalar(deserializer, Self::parse)
    }
}

/// Prometheus `units.Base2Bytes`: bytes (signed, as upstream), read from `512MB` / `1.5GiB`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Base2Bytes(pub i64);

/// Unit tables tried in order: IEC spellings first, then the old `KB = 1024` spellings.
const IEC_UNITS: [(&str, i64); 7] = [
    ("B", 1),
    ("KiB", 1 << 10),
    ("MiB", 1 << 20),
    ("GiB", 1 << 30),
    ("TiB", 1 << 40),
    ("PiB", 1 << 50),
    ("EiB", 1 << 60),
];
const OLD_UNITS: [(&str, i64); 7] = [
    ("B", 1),
    ("KB", 1 << 10),
    ("MB", 1 << 20),
    ("GB", 1 << 30),
    ("TB", 1 << 40),
    ("PB", 1 << 50),
    ("EB", 1 << 60),
];

impl Base2Bytes {
    /// The number of bytes.
    pub const fn bytes(self) -> i64 {
        self.0
    }

    /// `units.ParseBase2Bytes`: try the `KiB` table, then the `KB` table; the error is the
    /// second attempt's.
    pub fn parse(s: &str) -> Result<Self, ByteSizeError> {
        parse_unit(s, &IEC_UNITS)
            .or_else(|_| parse_unit(s, &OLD_UNITS))
            .map(Self)
    }
}

/// `units.ParseUnit`: `[-+]?([0-9]*(\.[0-9]*)?[a-zA-Z]+)+`, summed in float64.
fn parse_unit(input: &str, units: &[(&str, i64)]) -> Result<i64, ByteSizeError> {
    let invalid = || ByteSizeError::UnitsInvalid(input.to_owned());
    let mut s = input;
    let mut negative = false;
    if let Some(rest) = s.strip_prefix(['-', '+']) {
        negative = s.starts_with('-');
        s = rest;
    }
    if s == "0" {
        return Ok(0);
    }
    if s.is_empty() {
        return Err(invalid());
    }
    let mut total = 0f64;
    while !s.is_empty() {
        let first = s.as_bytes()[0];
        if !(first == b'.' || first.is_ascii_digit()) {
            return Err(invalid());
        }
        let (whole, rest, whole_len) = leading_int(s).ok_or_else(invalid)?;
        s = rest;
        let mut value = whole as f64;
        let mut frac_len = 0;
        if let Some(rest) = s.strip_prefix('.') {
            let (frac, rest, len) = leading_int(rest).ok_or_else(invalid)?;
            value += frac as f64 / 10f64.powi(len as i32);
            frac_len = len;
            s = rest;
        }
        if whole_len == 0 && frac_len == 0 {
            return Err(invalid());
        }
        let unit_len = s
            .bytes()
            .position(|b| b == b'.' || b.is_ascii_digit())
            .unwrap_or(s.len());
        let (unit, rest) = s.split_at(unit_len);
        s = rest;
        let Some((_, mult)) = units.iter().find(|(name, _)| *name == unit) else {
            return Err(ByteSizeError::UnitsUnknownUnit {
                unit: unit.to_owned(),
                input: input.to_owned(),
            });
        };
        total += value * *mult as f64;
    }
    if negative {
        total = -total;
    }
    if !(-TWO_POW_63..TWO_POW_63).contains(&total) {
        return Err(ByteSizeError::UnitsOverflow);
    }
    Ok(total as i64)
}

/// Leading decimal digits: value, rest, digit count; `None` on overflow (as units does).
fn leading_int(s: &str) -> Option<(i64, &str, usize)> {
    let len = s.bytes().take_while(u8::is_ascii_digit).count();
    let mut x: i64 = 0;
    for b in s[..len].bytes() {
        if x >= (i64::MAX - 10) / 10 {
            return None;
        }
        x = x * 10 + i64::from(b - b'0');
    }
    Some((x, &s[len..], len))
}

impl fmt::Display for Base2Bytes {
    /// `units.ToString(n, 1024, "iB", "B")`: every non-zero 1024-digit with its unit, largest
    /// first (`1MiB1B`), `0B` for zero.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const PREFIXES: [&str; 7] = ["", "K", "M", "G", "T", "P", "E"];
        let mut n = self.0;
        let mut parts: Vec<String> = Vec::new();
        for (i, prefix) in PREFIXES.iter().enumerate() {
            if n % 1024 != 0 || (i == 0 && n == 0) {
                let suffix = if i == 0 { "B" } else { "iB" };
                parts.push(format!("{}{prefix}{suffix}", n % 1024));
            }
            n /= 1024;
            if n == 0 {
                break;
            }
        }
        parts.reverse();
        f.write_str(&parts.concat())
    }
}

impl std::str::FromStr for Base2Bytes {
    type Err = ByteSizeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for Base2Bytes {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Base2Bytes {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        parse_scalar(deserializer, Self::parse)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loki_byte_size_accepts_datasize_forms() {
        let b = |s: &str| ByteSize::parse(s).unwrap().bytes();
        assert_eq!(b("1MB"), 1 << 20);
        assert_eq!(b("1mb"), 1 << 20);
        assert_eq!(b("1Mb"), 1 << 20);
        assert_eq!(b("10MiB"), 10 << 20);
        assert_eq!(b("512KB"), 512 << 10);
        assert_eq!(b("1GB"), 1 << 30);
        assert_eq!(b("2 GB"), 2 << 30);
        assert_eq!(b("1024"), 1024);
        assert_eq!(b("7B"), 7);
        assert_eq!(b("3k"), 3 << 10);
        assert_eq!(b("1kilobyte"), 1024);
        assert_eq!(b("1EB"), 1 << 60);
        assert_eq!(b(""), 0);
        let e = |s: &str| ByteSize::parse(s).unwrap_err().to_string();
        assert_eq!(
            e("1.5MB"),
            r#"strconv.UnmarshalText: parsing "1.5MB": invalid syntax"#
        );
        assert_eq!(
            e("MB"),
            r#"strconv.UnmarshalText: parsing "MB": invalid syntax"#
        );
        assert_eq!(
            e("1xb"),
            r#"strconv.UnmarshalText: parsing "1XB": invalid syntax"#
        );
        assert_eq!(
            e("-1MB"),
            r#"strconv.UnmarshalText: parsing "-1MB": invalid syntax"#
        );
        assert_eq!(
            e("16EB"),
            r#"strconv.UnmarshalText: parsing "16EB": value out of range"#
        );
    }

    #[test]
    fn loki_byte_size_prints_like_datasize() {
        assert_eq!(ByteSize(0).to_string(), "0B");
        assert_eq!(ByteSize(1 << 20).to_string(), "1MB");
        assert_eq!(ByteSize(1536 << 10).to_string(), "1536KB");
        assert_eq!(ByteSize(3 << 30).to_string(), "3GB");
        assert_eq!(ByteSize(1000).to_string(), "1000B");
    }

    #[test]
    fn prometheus_base2_bytes() {
        let b = |s: &str| Base2Bytes::parse(s).unwrap().bytes();
        assert_eq!(b("512MB"), 512 << 20);
        assert_eq!(b("1KiB"), 1024);
        assert_eq!(b("1KB"), 1024);
        assert_eq!(b("1.5MB"), 1_572_864);
        assert_eq!(b("1.5MiB"), 1_572_864);
        assert_eq!(b("1MB1KB25B"), 1_049_625);
        assert_eq!(b("0B"), 0);
        assert_eq!(b("0"), 0);
        assert_eq!(b("1TB"), 1 << 40);
        let e = |s: &str| Base2Bytes::parse(s).unwrap_err().to_string();
        assert_eq!(e("1kB"), "units: unknown unit kB in 1kB");
        assert_eq!(e("1kiB"), "units: unknown unit kiB in 1kiB");
        assert_eq!(e("512"), "units: unknown unit  in 512");
        assert_eq!(e(""), "units: invalid ");
        assert_eq!(e("MB"), "units: invalid MB");
        assert_eq!(e("1MiB1KB"), "units: unknown unit MiB in 1MiB1KB");
        assert_eq!(e("9EB"), "units: overflow parsing unit");
    }

    #[test]
    fn prometheus_base2_bytes_prints_like_units() {
        assert_eq!(Base2Bytes(0).to_string(), "0B");
        assert_eq!(Base2Bytes(1025).to_string(), "1KiB1B");
        assert_eq!(Base2Bytes(1_048_577).to_string(), "1MiB1B");
        assert_eq!(Base2Bytes(512 << 20).to_string(), "512MiB");
        let round_trip = Base2Bytes::parse(&Base2Bytes(1_049_625).to_string()).unwrap();
        assert_eq!(round_trip, Base2Bytes(1_049_625));
    }

    #[test]
    fn serde_reads_strings_and_numbers() {
        #[derive(Deserialize, Serialize)]
        struct Limits {
            per_stream_rate_limit: ByteSize,
            retention_size: Base2Bytes,
        }
        let l: Limits =
            serde_yaml_ng::from_str("per_stream_rate_limit: 3MB\nretention_size: 1GB\n").unwrap();
        assert_eq!(l.per_stream_rate_limit.bytes(), 3 << 20);
        assert_eq!(l.retention_size.bytes(), 1 << 30);
        assert_eq!(
            serde_yaml_ng::to_string(&l).unwrap(),
            "per_stream_rate_limit: 3MB\nretention_size: 1GiB\n"
        );
        let l: Limits =
            serde_yaml_ng::from_str("per_stream_rate_limit: 1024\nretention_size: 0\n").unwrap();
        assert_eq!(l.per_stream_rate_limit.bytes(), 1024);
        assert_eq!(l.retention_size.bytes(), 0);
    }
}
