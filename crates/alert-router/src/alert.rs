//! Alerts and the in-memory alert store (`types.Alert`, `provider/mem`).
//!
//! Alerts are keyed by their label fingerprint; a re-sent alert merges with the stored one
//! as Alertmanager's `Alert.Merge` does (earliest `startsAt`, an explicit `endsAt` beats a
//! timeout one), which is what de-duplicates identical alerts from several Prometheus
//! replicas.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use lgtm_common::labels::Labels;
use parking_lot::RwLock;

use crate::model::fingerprint;

/// One alert as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct Alert {
    /// Identifying labels.
    pub labels: Labels,
    /// Annotations (empty values kept, as Alertmanager keeps them).
    pub annotations: BTreeMap<String, String>,
    /// Start of the alert.
    pub starts_at: DateTime<Utc>,
    /// End of the alert; in the future while firing.
    pub ends_at: DateTime<Utc>,
    /// Link back to the rule.
    pub generator_url: String,
    /// When the router last received it.
    pub updated_at: DateTime<Utc>,
    /// `endsAt` was computed from `resolve_timeout`, not sent by the client.
    pub timeout: bool,
    /// Alertmanager fingerprint of `labels`.
    pub fingerprint: u64,
}

impl Alert {
    /// Builds an alert, computing its fingerprint.
    pub fn new(
        labels: Labels,
        annotations: BTreeMap<String, String>,
        starts_at: DateTime<Utc>,
        ends_at: DateTime<Utc>,
        generator_url: String,
        updated_at: DateTime<Utc>,
        timeout: bool,
    ) -> Self {
        let fingerprint = fingerprint(&labels);
        Self {
            labels,
            annotations,
            starts_at,
            ends_at,
            generator_url,
            updated_at,
            timeout,
            fingerprint,
        }
    }

    /// `Alert.ResolvedAt`: has an end time at or before `t`.
    pub fn resolved_at(&self, t: DateTime<Utc>) -> bool {
        self.ends_at <= t && !ends_unset(&self.ends_at)
    }

    /// `Alert.Merge`: combines a stored alert with a newly received one.
    pub fn merge(&self, o: &Alert, now: DateTime<Utc>) -> Alert {
        if o.updated_at < self.updated_at {
            return o.merge(self, now);
        }
        let mut res = o.clone();
        if self.starts_at < o.starts_at {
            res.starts_at = self.starts_at;
        }
        if o.resolved_at(now) {
            if self.resolved_at(now) && self.ends_at > o.ends_at {
                res.ends_at = self.ends_at;
            }
        } else if self.ends_at > o.ends_at && !self.timeout {
            res.ends_at = self.ends_at;
        }
        res
    }
}

/// Unix seconds of Go's zero `time.Time` (`0001-01-01T00:00:00Z`).
const GO_ZERO_UNIX: i64 = -62_135_596_800;

/// [`crate::model::is_zero_time`] without building the zero time: this runs several times per alert and
/// flush.
fn ends_unset(t: &DateTime<Utc>) -> bool {
    (t.timestamp(), t.timestamp_subsec_nanos()) <= (GO_ZERO_UNIX, 0)
}

/// `types.AlertSlice` order: by `job`, then `instance`, then the label sets.
pub fn alert_order(a: &Alert, b: &Alert) -> Ordering {
    for key in ["job", "instance"] {
        match (a.labels.get(key), b.labels.get(key)) {
            (None, None) => continue,
            (None, Some(_)) => return Ordering::Greater,
            (Some(_), None) => return Ordering::Less,
            (Some(x), Some(y)) if x != y => return x.cmp(y),
            _ => {}
        }
    }
    labels_before(&a.labels, &b.labels)
}

/// `model.LabelSet.Before` as an ordering.
pub fn labels_before(a: &Labels, b: &Labels) -> Ordering {
    if a.len() != b.len() {
        return a.len().cmp(&b.len());
    }
    let mut names: Vec<&str> = a.iter().chain(b.iter()).map(|l| l.name.as_str()).collect();
    names.sort_unstable();
    for n in names {
        match (a.get(n), b.get(n)) {
            (None, _) => return Ordering::Less,
            (_, None) => return Ordering::Greater,
            (Some(x), Some(y)) if x != y => return x.cmp(y),
            _ => {}
        }
    }
    Ordering::Equal
}

/// All alerts by fingerprint.
#[derive(Debug, Default)]
pub struct AlertStore {
    alerts: RwLock<HashMap<u64, Arc<Alert>>>,
}

impl AlertStore {
    /// Stores alerts, merging with overlapping stored ones (`mem.Alerts.Put`); returns what
    /// was stored.
    pub fn put(&self, alerts: Vec<Alert>, now: DateTime<Utc>) -> Vec<Arc<Alert>> {
        let mut map = self.alerts.write();
        let mut out = Vec::with_capacity(alerts.len());
        for mut alert in alerts {
            if let Some(old) = map.get(&alert.fingerprint) {
                let overlap = (alert.ends_at > old.starts_at && alert.ends_at < old.ends_at)
                    || (alert.starts_at > old.starts_at && alert.starts_at < old.ends_at);
                if overlap {
                    alert = old.merge(&alert, now);
                }
            }
            let alert = Arc::new(alert);
            map.insert(alert.fingerprint, alert.clone());
            out.push(alert);
        }
        out
    }

    /// Every stored alert (resolved ones included until GC).
    pub fn list(&self) -> Vec<Arc<Alert>> {
        self.alerts.read().values().cloned().collect()
    }

    /// The alert with this fingerprint.
    pub fn get(&self, fp: u64) -> Option<Arc<Alert>> {
        self.alerts.read().get(&fp).cloned()
    }

    /// Number of stored alerts.
    pub fn len(&self) -> usize {
        self.alerts.read().len()
    }

    /// True when nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.alerts.read().is_empty()
    }

    /// Drops alerts resolved before `now` (`--alerts.gc-interval`); returns their fingerprints.
    pub fn gc(&self, now: DateTime<Utc>) -> Vec<u64> {
        let mut map = self.alerts.write();
        let dead: Vec<u64> = map
            .values()
            .filter(|a| a.resolved_at(now))
            .map(|a| a.fingerprint)
            .collect();
        for fp in &dead {
            map.remove(fp);
        }
        dead
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{is_zero_time, parse_time};

    fn alert(start: &str, end: &str, updated: &str, timeout: bool) -> Alert {
        Alert::new(
            Labels::from_pairs([("alertname", "A")]),
            BTreeMap::new(),
            parse_time(start).unwrap(),
            parse_time(end).unwrap(),
            String::new(),
            parse_time(updated).unwrap(),
            timeout,
        )
    }

    #[test]
    fn merge_keeps_earliest_start_and_explicit_end() {
        let now = parse_time("2026-01-01T00:10:00Z").unwrap();
        let a = alert(
            "2026-01-01T00:00:00Z",
            "2026-01-01T01:00:00Z",
            "2026-01-01T00:01:00Z",
            false,
        );
        let b = alert(
            "2026-01-01T00:05:00Z",
            "2026-01-01T00:15:00Z",
            "2026-01-01T00:06:00Z",
            true,
        );
        let m = a.merge(&b, now);
        assert_eq!(m.starts_at, a.starts_at);
        assert_eq!(
            m.ends_at, a.ends_at,
            "explicit later endsAt wins over a timeout"
        );
        // Replica dedup: the same alert twice yields one stored alert.
        let store = AlertStore::default();
        store.put(vec![a.clone()], now);
        store.put(vec![b], now);
        assert_eq!(store.len(), 1);
        assert_eq!(store.list()[0].starts_at, a.starts_at);
    }

    #[test]
    fn order_is_job_instance_then_labels() {
        let mk = |pairs: &[(&str, &str)]| {
            Alert::new(
                Labels::from_pairs(pairs.iter().copied()),
                BTreeMap::new(),
                Utc::now(),
                Utc::now(),
                String::new(),
                Utc::now(),
                false,
            )
        };
        let mut v = [
            mk(&[("a", "1")]),
            mk(&[("instance", "b")]),
            mk(&[("instance", "a"), ("x", "1")]),
            mk(&[("job", "z")]),
        ];
        v.sort_by(alert_order);
        let names: Vec<String> = v.iter().map(|a| a.labels.to_string()).collect();
        assert_eq!(
            names,
            [
                r#"{job="z"}"#,
                r#"{instance="a", x="1"}"#,
                r#"{instance="b"}"#,
                r#"{a="1"}"#
            ]
        );
    }

    #[test]
    fn unset_end_matches_go_zero_time() {
        let zero = crate::model::zero_time();
        assert!(ends_unset(&zero) && is_zero_time(&zero));
        let later = zero + chrono::Duration::nanoseconds(1);
        assert!(!ends_unset(&later) && !is_zero_time(&later));
        let earlier = zero - chrono::Duration::seconds(1);
        assert_eq!(ends_unset(&earlier), is_zero_time(&earlier));
        let a = alert(
            "2026-01-01T00:00:00Z",
            "0001-01-01T00:00:00Z",
            "2026-01-01T00:00:00Z",
            false,
        );
        assert!(!a.resolved_at(parse_time("2026-01-02T00:00:00Z").unwrap()));
        let b = alert(
            "2026-01-01T00:00:00Z",
            "2026-01-01T00:05:00Z",
            "2026-01-01T00:00:00Z",
            false,
        );
        assert!(!b.resolved_at(parse_time("2026-01-01T00:04:59Z").unwrap()));
        assert!(b.resolved_at(parse_time("2026-01-01T00:05:00Z").unwrap()));
    }
}
