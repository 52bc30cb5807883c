//! `inhibit_rules` as written in the file.

use std::collections::BTreeMap;

use serde::Deserialize;

/// One inhibition rule: while a firing alert matches the source side, alerts matching the
/// target side with equal `equal` labels are muted.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InhibitRuleConfig {
    /// Rule name (0.30+), informational.
    #[serde(default)]
    pub name: Option<String>,
    /// Deprecated equality matchers for the source side.
    #[serde(default)]
    pub source_match: BTreeMap<String, String>,
    /// Deprecated regex matchers for the source side.
    #[serde(default)]
    pub source_match_re: BTreeMap<String, String>,
    /// Source side matchers.
    #[serde(default)]
    pub source_matchers: Vec<String>,
    /// Deprecated equality matchers for the target side.
    #[serde(default)]
    pub target_match: BTreeMap<String, String>,
    /// Deprecated regex matchers for the target side.
    #[serde(default)]
    pub target_match_re: BTreeMap<String, String>,
    /// Target side matchers.
    #[serde(default)]
    pub target_matchers: Vec<String>,
    /// Labels that must be equal on source and target.
    #[serde(default)]
    pub equal: Vec<String>,
}
