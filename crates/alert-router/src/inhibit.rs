//! Inhibition (`inhibit/inhibit.go`): a target alert is muted while a firing source alert
//! exists with equal values for every `equal` label; an alert matching both sides is not
//! inhibited by alerts that also match both sides.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use lgtm_common::labels::{Labels, Matcher, is_valid_label_name, matches_all};
use parking_lot::RwLock;

use crate::alert::Alert;
use crate::config::{ConfigError, InhibitRuleConfig, legacy_matchers, matcher_list};

/// One compiled rule.
#[derive(Clone, Debug)]
pub struct InhibitRule {
    /// Source side.
    pub source: Vec<Matcher>,
    /// Target side.
    pub target: Vec<Matcher>,
    /// Labels that must be equal.
    pub equal: Vec<String>,
}

impl InhibitRule {
    /// Compiles a rule of the file.
    pub fn build(c: &InhibitRuleConfig) -> Result<Self, ConfigError> {
        let mut source = legacy_matchers(&c.source_match, &c.source_match_re)?;
        source.extend(matcher_list(&c.source_matchers)?);
        let mut target = legacy_matchers(&c.target_match, &c.target_match_re)?;
        target.extend(matcher_list(&c.target_matchers)?);
        for e in &c.equal {
            if !is_valid_label_name(e) {
                return Err(format!("{e:?} is not a valid label name").into());
            }
        }
        Ok(Self {
            source,
            target,
            equal: c.equal.clone(),
        })
    }
}

/// Rules plus, per rule, the alerts currently matching its source side.
#[derive(Debug, Default)]
pub struct Inhibitor {
    rules: Vec<InhibitRule>,
    sources: Vec<RwLock<HashMap<u64, Arc<Alert>>>>,
}

impl Inhibitor {
    /// Builds the inhibitor and indexes the alerts already stored.
    pub fn new(rules: Vec<InhibitRule>, alerts: &[Arc<Alert>]) -> Self {
        let sources = rules.iter().map(|_| RwLock::new(HashMap::new())).collect();
        let ih = Self { rules, sources };
        ih.observe(alerts);
        ih
    }

    /// Records newly stored alerts.
    pub fn observe(&self, alerts: &[Arc<Alert>]) {
        for (rule, cache) in self.rules.iter().zip(&self.sources) {
            let mut cache = cache.write();
            for a in alerts {
                if matches_all(&rule.source, &a.labels) {
                    cache.insert(a.fingerprint, a.clone());
                } else {
                    cache.remove(&a.fingerprint);
                }
            }
        }
    }

    /// Forgets garbage-collected alerts.
    pub fn forget(&self, fps: &[u64]) {
        for cache in &self.sources {
            let mut cache = cache.write();
            for fp in fps {
                cache.remove(fp);
            }
        }
    }

    /// The fingerprint of an alert inhibiting `labels` at `now`, if any.
    pub fn inhibited_by(&self, labels: &Labels, now: DateTime<Utc>) -> Option<u64> {
        for (rule, cache) in self.rules.iter().zip(&self.sources) {
            if !matches_all(&rule.target, labels) {
                continue;
            }
            let two_sided = matches_all(&rule.source, labels);
            let cache = cache.read();
            let mut found: Vec<u64> = cache
                .values()
                .filter(|a| !a.resolved_at(now))
                .filter(|a| {
                    rule.equal
                        .iter()
                        .all(|n| a.labels.get_or_empty(n) == labels.get_or_empty(n))
                })
                .filter(|a| !(two_sided && matches_all(&rule.target, &a.labels)))
                .map(|a| a.fingerprint)
                .collect();
            // Deterministic choice where Alertmanager takes map order.
            found.sort_unstable();
            if let Some(fp) = found.first() {
                return Some(*fp);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn alert(pairs: &[(&str, &str)], now: DateTime<Utc>) -> Arc<Alert> {
        Arc::new(Alert::new(
            Labels::from_pairs(pairs.iter().copied()),
            BTreeMap::new(),
            now,
            now + chrono::Duration::minutes(5),
            String::new(),
            now,
            true,
        ))
    }

    fn rule(yaml: &str) -> InhibitRule {
        InhibitRule::build(&serde_yaml_ng::from_str(yaml).unwrap()).unwrap()
    }

    #[test]
    fn critical_inhibits_warning_on_same_instance() {
        let now = Utc::now();
        let r = rule(
            "{source_matchers: ['severity=\"critical\"'], target_matchers: ['severity=\"warning\"'], equal: [instance]}",
        );
        let src = alert(
            &[
                ("alertname", "NodeDown"),
                ("severity", "critical"),
                ("instance", "db1"),
            ],
            now,
        );
        let ih = Inhibitor::new(vec![r], std::slice::from_ref(&src));
        let t1 = Labels::from_pairs([
            ("alertname", "DiskFull"),
            ("severity", "warning"),
            ("instance", "db1"),
        ]);
        let t2 = t1.with("instance", "db2");
        assert_eq!(ih.inhibited_by(&t1, now), Some(src.fingerprint));
        assert_eq!(ih.inhibited_by(&t2, now), None);
        // Resolved sources no longer inhibit.
        assert_eq!(
            ih.inhibited_by(&t1, now + chrono::Duration::minutes(6)),
            None
        );
    }

    #[test]
    fn no_self_inhibition_for_two_sided_matches() {
        let now = Utc::now();
        let r = rule("{source_match: {a: x}, target_match_re: {a: 'x|y'}}");
        let a = alert(&[("a", "x"), ("n", "1")], now);
        let b = alert(&[("a", "x"), ("n", "2")], now);
        let ih = Inhibitor::new(vec![r], &[a.clone(), b]);
        assert_eq!(ih.inhibited_by(&a.labels, now), None);
        assert!(
            ih.inhibited_by(&Labels::from_pairs([("a", "y")]), now)
                .is_some()
        );
    }
}
