//! Go's `strconv.ParseFloat` / `strconv.ParseInt` acceptance rules and error texts, which the
//! upstream APIs apply to time and duration parameters and echo back in their errors.

use std::fmt;

/// What went wrong in a Go number conversion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumErrorKind {
    /// `invalid syntax`.
    Syntax,
    /// `value out of range`.
    Range,
}

/// Go's `*strconv.NumError`: `strconv.ParseInt: parsing "abc": invalid syntax`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoNumError {
    /// The Go function name (`ParseInt`, `ParseFloat`).
    pub func: &'static str,
    /// The input as given.
    pub input: String,
    /// Syntax or range.
    pub kind: NumErrorKind,
}

impl fmt::Display for GoNumError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.kind {
            NumErrorKind::Syntax => "invalid syntax",
            NumErrorKind::Range => "value out of range",
        };
        write!(
            f,
            "strconv.{}: parsing {}: {what}",
            self.func,
            crate::duration::go_quote(&self.input)
        )
    }
}

impl std::error::Error for GoNumError {}

/// Parses a float as Go's `strconv.ParseFloat(s, 64)` does for decimal input: optional sign,
/// digits with optional fraction and exponent, `inf`/`infinity`/`nan` in any case. Values too
/// large for f64 are a range error, as in Go. (Go's hexadecimal floats are not accepted.)
pub fn go_parse_float(s: &str) -> Result<f64, GoNumError> {
    let err = |kind| GoNumError {
        func: "ParseFloat",
        input: s.to_owned(),
        kind,
    };
    let unsigned = s.strip_prefix(['+', '-']).unwrap_or(s);
    let signed = unsigned.len() != s.len();
    let lower = unsigned.to_ascii_lowercase();
    // Go accepts a sign before `inf` but not before `nan`; Rust accepts both.
    if signed && lower == "nan" {
        return Err(err(NumErrorKind::Syntax));
    }
    // Rust accepts forms Go does not (none known for decimal input) and vice versa (hex);
    // restrict to the characters of a decimal float or a special word.
    let special = matches!(lower.as_str(), "inf" | "infinity" | "nan");
    if !special
        && !unsigned
            .bytes()
            .all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E' | b'+' | b'-'))
    {
        return Err(err(NumErrorKind::Syntax));
    }
    match s.parse::<f64>() {
        Ok(v) if v.is_infinite() && !special => Err(err(NumErrorKind::Range)),
        Ok(v) => Ok(v),
        Err(_) => Err(err(NumErrorKind::Syntax)),
    }
}

/// Parses a base-10 integer as Go's `strconv.ParseInt(s, 10, 64)`: optional sign, digits only.
pub fn go_parse_int(s: &str) -> Result<i64, GoNumError> {
    let err = |kind| GoNumError {
        func: "ParseInt",
        input: s.to_owned(),
        kind,
    };
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() {
        return Err(err(NumErrorKind::Syntax));
    }
    // Go reports the first problem met scanning left to right: a bad byte, or overflow.
    let mut magnitude: u128 = 0;
    for c in digits.bytes() {
        if !c.is_ascii_digit() {
            return Err(err(NumErrorKind::Syntax));
        }
        magnitude = magnitude * 10 + u128::from(c - b'0');
        if magnitude > u128::from(u64::MAX) {
            return Err(err(NumErrorKind::Range));
        }
    }
    let negative = s.starts_with('-');
    let value = if negative {
        -(magnitude as i128)
    } else {
        magnitude as i128
    };
    i64::try_from(value).map_err(|_| err(NumErrorKind::Range))
}
