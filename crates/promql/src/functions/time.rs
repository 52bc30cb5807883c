//! Calendar functions (`hour`, `day_of_week`, ...) over sample values read as Unix seconds.

use chrono::{DateTime, Datelike, Timelike};

/// Applies a calendar function to a Unix timestamp in seconds (UTC).
pub fn calendar(func: &str, secs: f64) -> Option<f64> {
    if !secs.is_finite() {
        return Some(f64::NAN);
    }
    let t = DateTime::from_timestamp(secs.trunc() as i64, 0)?;
    Some(match func {
        "minute" => t.minute() as f64,
        "hour" => t.hour() as f64,
        "day_of_month" => t.day() as f64,
        "day_of_week" => t.weekday().num_days_from_sunday() as f64,
        "day_of_year" => t.ordinal() as f64,
        "month" => t.month() as f64,
        "year" => t.year() as f64,
        "days_in_month" => {
            let (y, m) = (t.year(), t.month());
            let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
            let first_next = chrono::NaiveDate::from_ymd_opt(ny, nm, 1)?;
            let first = chrono::NaiveDate::from_ymd_opt(y, m, 1)?;
            (first_next - first).num_days() as f64
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar_fields() {
        // 2024-02-29T13:45:00Z
        let t = 1_709_214_300.0;
        assert_eq!(calendar("year", t), Some(2024.0));
        assert_eq!(calendar("month", t), Some(2.0));
        assert_eq!(calendar("days_in_month", t), Some(29.0));
        assert_eq!(calendar("hour", t), Some(13.0));
        assert_eq!(calendar("day_of_week", t), Some(4.0));
    }
}
