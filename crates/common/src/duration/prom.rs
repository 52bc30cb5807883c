//! Prometheus `model.Duration` grammar and printing (prometheus/common `model/time.go`).

use std::time::Duration;

use super::DurationError;

/// Units in the only order Prometheus accepts them, with their size in milliseconds.
const UNITS: [(&str, u64); 7] = [
    ("y", 365 * 24 * 3_600_000),
    ("w", 7 * 24 * 3_600_000),
    ("d", 24 * 3_600_000),
    ("h", 3_600_000),
    ("m", 60_000),
    ("s", 1_000),
    ("ms", 1),
];

/// Largest duration Go can hold, in nanoseconds.
const MAX_NANOS: u128 = i64::MAX as u128;

/// Parses a Prometheus duration: `0`, or one or more `<digits><unit>` with units among
/// `y w d h m s ms`, each at most once and in that order (`1h30m`, `2d`, `500ms`).
/// `y` is 365 days, `w` 7 days, `d` 24 hours.
pub fn parse_prom_duration(input: &str) -> Result<Duration, DurationError> {
    match input {
        "0" => return Ok(Duration::ZERO),
        "" => return Err(DurationError::PromEmpty),
        _ => {}
    }
    let invalid = || DurationError::PromInvalid(input.to_owned());
    let bytes = input.as_bytes();
    let mut pos = 0;
    let mut total_ms: u128 = 0;
    // Index into UNITS of the last unit seen; the next one must come strictly later.
    let mut last_unit: Option<usize> = None;
    while pos < bytes.len() {
        let digits_start = pos;
        while pos < bytes.len() && bytes[pos].is_ascii_digit() {
            pos += 1;
        }
        if pos == digits_start {
            return Err(invalid());
        }
        // Go's ParseUint fails beyond u64: Prometheus reports that as an invalid string.
        let count: u64 = input[digits_start..pos].parse().map_err(|_| invalid())?;
        let unit_start = pos;
        while pos < bytes.len() && !bytes[pos].is_ascii_digit() {
            pos += 1;
        }
        if pos == unit_start {
            return Err(invalid());
        }
        let unit = &input[unit_start..pos];
        let Some(index) = UNITS.iter().position(|(name, _)| *name == unit) else {
            return Err(DurationError::PromUnknownUnit {
                unit: unit.to_owned(),
                input: input.to_owned(),
            });
        };
        if last_unit.is_some_and(|last| index <= last) {
            return Err(invalid());
        }
        last_unit = Some(index);
        let unit_ms = UNITS[index].1;
        total_ms += u128::from(count) * u128::from(unit_ms);
        if total_ms * 1_000_000 > MAX_NANOS {
            return Err(DurationError::PromOutOfRange);
        }
    }
    // total_ms * 1e6 <= i64::MAX, so the conversion cannot fail.
    Ok(Duration::from_millis(
        u64::try_from(total_ms).map_err(|_| DurationError::PromOutOfRange)?,
    ))
}

/// Prints a duration as Prometheus does: largest units first, years and weeks only when they
/// divide the value exactly (`90d`, not `12w6d`), sub-millisecond parts dropped, zero as `0s`.
pub fn format_prom_duration(d: Duration) -> String {
    let mut ms = d.as_millis();
    if ms == 0 {
        return "0s".to_owned();
    }
    let mut out = String::new();
    for (index, (unit, mult)) in UNITS.iter().enumerate() {
        let mult = u128::from(*mult);
        // y and w are "exact" units: only used when nothing would be left over.
        if index < 2 && !ms.is_multiple_of(mult) {
            continue;
        }
        let count = ms / mult;
        if count > 0 {
            out.push_str(&count.to_string());
            out.push_str(unit);
            ms -= count * mult;
        }
    }
    out
}
