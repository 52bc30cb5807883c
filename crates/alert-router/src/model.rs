//! Alertmanager's data model helpers: label-set fingerprints (FNV-64a, as
//! `prometheus/common/model.LabelSet.Fingerprint`), Go time formatting and regexp quoting.

use chrono::{DateTime, SecondsFormat, Utc};
use lgtm_common::labels::Labels;

const FNV_OFFSET: u64 = 14695981039346656037;
const FNV_PRIME: u64 = 1099511628211;
const SEP: u8 = 0xff;

/// Alertmanager's alert fingerprint: FNV-64a over `name 0xff value 0xff` in name order.
///
/// The API shows it as 16 hex digits and the webhook payload carries it, so it must equal
/// Alertmanager's for the same labels.
pub fn fingerprint(labels: &Labels) -> u64 {
    if labels.is_empty() {
        // model.emptyLabelSignature
        return FNV_OFFSET;
    }
    let mut h = FNV_OFFSET;
    for l in labels {
        for b in l
            .name
            .bytes()
            .chain([SEP])
            .chain(l.value.bytes())
            .chain([SEP])
        {
            h ^= u64::from(b);
            h = h.wrapping_mul(FNV_PRIME);
        }
    }
    h
}

/// A fingerprint as the API prints it.
pub fn fingerprint_hex(fp: u64) -> String {
    format!("{fp:016x}")
}

/// Go's zero `time.Time`, which Alertmanager uses for "unset".
pub fn zero_time() -> DateTime<Utc> {
    go_zero()
}

fn go_zero() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("0001-01-01T00:00:00Z")
        .map(|d| d.with_timezone(&Utc))
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// True for Go's zero time (or anything at or before it).
pub fn is_zero_time(t: &DateTime<Utc>) -> bool {
    *t <= go_zero()
}

/// Go's `time.RFC3339Nano` rendering (trailing fractional zeros trimmed), which is what
/// `encoding/json` writes for `time.Time` in webhook payloads.
pub fn go_rfc3339_nano(t: &DateTime<Utc>) -> String {
    let s = t.to_rfc3339_opts(SecondsFormat::Nanos, true);
    // "...SS.nnnnnnnnnZ": trim zeros of the fraction, and the dot if nothing remains.
    match s.rfind('.') {
        Some(dot) => {
            let frac = s[dot + 1..s.len() - 1].trim_end_matches('0');
            if frac.is_empty() {
                format!("{}Z", &s[..dot])
            } else {
                format!("{}.{}Z", &s[..dot], frac)
            }
        }
        None => s,
    }
}

/// go-openapi's `strfmt.DateTime` rendering (millisecond precision), used by the API v2.
pub fn api_time(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Go's `regexp.QuoteMeta`: Alertmanager puts the receiver name through it for templates
/// and the webhook payload.
pub fn quote_meta(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Parses a timestamp as go-openapi does for `date-time` (RFC 3339, fraction optional).
pub fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_matches_alertmanager() {
        // Values observed from Alertmanager 0.25 (reference §1.2 / §2.6).
        let l = Labels::from_pairs([
            ("alertname", "NodeDown"),
            ("instance", "db1"),
            ("severity", "critical"),
        ]);
        assert_eq!(fingerprint_hex(fingerprint(&l)), "1fab455b4289563c");
    }

    #[test]
    fn go_time_rendering() {
        let t = parse_time("2026-11-24T21:56:45.580229400Z").unwrap();
        assert_eq!(go_rfc3339_nano(&t), "2026-11-24T21:56:45.5802294Z");
        let t = parse_time("2026-11-24T21:56:45Z").unwrap();
        assert_eq!(go_rfc3339_nano(&t), "2026-11-24T21:56:45Z");
        assert_eq!(go_rfc3339_nano(&zero_time()), "0001-01-01T00:00:00Z");
        assert!(is_zero_time(
            &parse_time("0001-01-01T00:00:00.000Z").unwrap()
        ));
        assert_eq!(api_time(&t), "2026-11-24T21:56:45.000Z");
    }

    #[test]
    fn quote_meta_like_go() {
        assert_eq!(quote_meta("team-hook"), "team-hook");
        assert_eq!(quote_meta("a.b(c)"), "a\\.b\\(c\\)");
    }
}
