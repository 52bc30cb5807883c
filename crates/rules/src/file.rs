//! Prometheus rule files (`rulefmt`): the YAML model and its validation, with rulefmt's error
//! texts and yaml.v3 positions (`<file>: 7:15: group "g", rule 2, "Name": could not parse
//! expression: ...`). The expression check comes from the [`Evaluator`], so Loki's ruler
//! validates LogQL with the same code.

pub mod position;

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use lgtm_common::duration::PromDuration;
use lgtm_common::labels::{is_valid_label_name, is_valid_metric_name};
use serde::{Deserialize, Deserializer, Serialize};

use crate::eval::{Evaluator, TemplateExpander};
use position::{GroupPositions, Pos, RulePositions};

/// A rule file (`groups:`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleFile {
    /// The groups, evaluated independently.
    #[serde(default)]
    pub groups: Vec<RuleGroupConfig>,
}

/// One group of a rule file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleGroupConfig {
    /// Unique within the file.
    #[serde(default, deserialize_with = "scalar_string")]
    pub name: String,
    /// Evaluation interval; `global.evaluation_interval` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<PromDuration>,
    /// Evaluation delay (Prometheus 3); `global.rule_query_offset` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query_offset: Option<PromDuration>,
    /// Maximum series of a recording rule / alerts of an alerting rule (0 = none).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub limit: i64,
    /// Labels added to every rule of the group (Prometheus 3); rule labels win.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// The rules, evaluated in order.
    #[serde(default)]
    pub rules: Vec<RuleConfig>,
}

fn is_zero(v: &i64) -> bool {
    *v == 0
}

/// One recording or alerting rule.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleConfig {
    /// Name of the recorded series (recording rule).
    #[serde(
        default,
        deserialize_with = "scalar_string",
        skip_serializing_if = "String::is_empty"
    )]
    pub record: String,
    /// Name of the alert (alerting rule).
    #[serde(
        default,
        deserialize_with = "scalar_string",
        skip_serializing_if = "String::is_empty"
    )]
    pub alert: String,
    /// The expression.
    #[serde(default, deserialize_with = "scalar_string")]
    pub expr: String,
    /// How long the expression must hold before the alert fires.
    #[serde(default, rename = "for", skip_serializing_if = "Option::is_none")]
    pub for_: Option<PromDuration>,
    /// How long the alert keeps firing after the expression stopped returning it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_firing_for: Option<PromDuration>,
    /// Labels added (templated for alerting rules).
    #[serde(
        default,
        deserialize_with = "scalar_map",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub labels: BTreeMap<String, String>,
    /// Annotations (alerting rules, templated).
    #[serde(
        default,
        deserialize_with = "scalar_map",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub annotations: BTreeMap<String, String>,
}

impl RuleConfig {
    /// The rule's name: `alert` when set, else `record` (rulefmt's choice in messages).
    pub fn name(&self) -> &str {
        if self.alert.is_empty() {
            &self.record
        } else {
            &self.alert
        }
    }
}

/// YAML scalars (strings, numbers, booleans) read as text, as Go's yaml does for strings.
fn scalar_to_string(v: serde_yaml_ng::Value) -> Option<String> {
    match v {
        serde_yaml_ng::Value::String(s) => Some(s),
        serde_yaml_ng::Value::Number(n) => Some(n.to_string()),
        serde_yaml_ng::Value::Bool(b) => Some(b.to_string()),
        serde_yaml_ng::Value::Null => Some(String::new()),
        _ => None,
    }
}

fn scalar_string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let v = serde_yaml_ng::Value::deserialize(d)?;
    scalar_to_string(v).ok_or_else(|| serde::de::Error::custom("expected a string"))
}

fn scalar_map<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<String, String>, D::Error> {
    let v: Option<BTreeMap<String, serde_yaml_ng::Value>> = Option::deserialize(d)?;
    let mut out = BTreeMap::new();
    for (k, v) in v.unwrap_or_default() {
        let s = scalar_to_string(v).ok_or_else(|| serde::de::Error::custom("expected a string"))?;
        out.insert(k, s);
    }
    Ok(out)
}

/// A rule file that cannot be used; each entry is one Prometheus-style message naming the
/// file, position, group and rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", .0.join("; "))]
pub struct RuleFileErrors(pub Vec<String>);

/// Parses and validates a rule file's text; `file` names it in messages.
pub fn parse_rule_file<E: Evaluator>(
    file: &str,
    text: &str,
    templates: &dyn TemplateExpander,
) -> Result<RuleFile, RuleFileErrors> {
    let parsed: RuleFile = if text.trim().is_empty() {
        RuleFile::default()
    } else {
        serde_yaml_ng::from_str(text).map_err(|e| RuleFileErrors(vec![format!("{file}: {e}")]))?
    };
    let positions = position::locate(text);
    let errors = validate::<E>(&parsed, positions.as_deref(), templates);
    if errors.is_empty() {
        Ok(parsed)
    } else {
        Err(RuleFileErrors(
            errors.into_iter().map(|e| format!("{file}: {e}")).collect(),
        ))
    }
}

/// Reads, parses and validates one rule file.
pub fn load_rule_file<E: Evaluator>(
    path: &Path,
    templates: &dyn TemplateExpander,
) -> Result<RuleFile, RuleFileErrors> {
    let name = path.display().to_string();
    let text =
        std::fs::read_to_string(path).map_err(|e| RuleFileErrors(vec![format!("{name}: {e}")]))?;
    parse_rule_file::<E>(&name, &text, templates)
}

/// Where a rule message points: none, one node, or two (`record` and `alert`).
enum At {
    None,
    One(Option<Pos>),
    Two(Option<Pos>, Option<Pos>),
}

/// `L:C: ` (or `L:C: L:C: `) when positions are known; an absent node prints as `0:0`.
fn prefix(at: &At, known: bool) -> String {
    let p = |pos: &Option<Pos>| pos.unwrap_or_default().to_string();
    match at {
        _ if !known => String::new(),
        At::None => String::new(),
        At::One(a) => format!("{}: ", p(a)),
        At::Two(a, b) => format!("{}: {}: ", p(a), p(b)),
    }
}

/// Prometheus' `RuleGroups.Validate`: every problem, in file order, without the file name.
/// `positions` (from [`position::locate`]) adds yaml.v3's `line:col` where rulefmt has them.
pub fn validate<E: Evaluator>(
    file: &RuleFile,
    positions: Option<&[GroupPositions]>,
    templates: &dyn TemplateExpander,
) -> Vec<String> {
    let mut errors = Vec::new();
    let mut seen = HashSet::new();
    for (j, group) in file.groups.iter().enumerate() {
        let gpos = positions.and_then(|p| p.get(j));
        let at = gpos.map(|g| format!("{}: ", g.node)).unwrap_or_default();
        if group.name.is_empty() {
            errors.push(format!("{at}Groupname must not be empty"));
        }
        if !seen.insert(group.name.clone()) {
            errors.push(format!(
                "{at}groupname: \"{}\" is repeated in the same file",
                group.name
            ));
        }
        for (k, v) in &group.labels {
            if !is_valid_label_name(k) || k == "__name__" {
                errors.push(format!("invalid label name: {k}"));
            }
            if v.is_empty() {
                errors.push(format!("invalid label value: {v}"));
            }
        }
        let rule_positions = gpos.and_then(|g| g.rules.as_ref());
        for (i, rule) in group.rules.iter().enumerate() {
            let rpos = rule_positions.and_then(|r| r.get(i));
            let known = rpos.is_some();
            let rpos = rpos.cloned().unwrap_or_default();
            for (at, message) in validate_rule::<E>(rule, &rpos, templates) {
                errors.push(format!(
                    "{}group {:?}, rule {}, {:?}: {message}",
                    prefix(&at, known),
                    group.name,
                    i + 1,
                    rule.name()
                ));
            }
        }
    }
    errors
}

/// Prometheus' `RuleNode.Validate` plus template parse checks.
fn validate_rule<E: Evaluator>(
    rule: &RuleConfig,
    pos: &RulePositions,
    templates: &dyn TemplateExpander,
) -> Vec<(At, String)> {
    let mut out = Vec::new();
    let both = || At::Two(pos.record, pos.alert);
    let record = || At::One(pos.record);
    if !rule.record.is_empty() && !rule.alert.is_empty() {
        out.push((
            both(),
            "only one of 'record' and 'alert' must be set".to_owned(),
        ));
    }
    if rule.record.is_empty() && rule.alert.is_empty() {
        // Prometheus 2.42 points at the (absent) `record` node only.
        out.push((
            record(),
            "one of 'record' or 'alert' must be set".to_owned(),
        ));
    }
    if rule.expr.is_empty() {
        out.push((
            At::One(pos.expr),
            "field 'expr' must be set in rule".to_owned(),
        ));
    } else if let Err(e) = E::parse(&rule.expr) {
        out.push((
            At::One(pos.expr),
            format!("could not parse expression: {e}"),
        ));
    }
    if !rule.record.is_empty() {
        if !rule.annotations.is_empty() {
            out.push((
                record(),
                "invalid field 'annotations' in recording rule".to_owned(),
            ));
        }
        if rule.for_.is_some_and(|d| !d.get().is_zero()) {
            out.push((record(), "invalid field 'for' in recording rule".to_owned()));
        }
        if rule.keep_firing_for.is_some_and(|d| !d.get().is_zero()) {
            out.push((
                record(),
                "invalid field 'keep_firing_for' in recording rule".to_owned(),
            ));
        }
        if !is_valid_metric_name(&rule.record) {
            out.push((
                record(),
                format!("invalid recording rule name: {}", rule.record),
            ));
        }
    }
    for k in rule.labels.keys() {
        if !is_valid_label_name(k) || k == "__name__" {
            out.push((At::None, format!("invalid label name: {k}")));
        }
    }
    for k in rule.annotations.keys() {
        if !is_valid_label_name(k) {
            out.push((At::None, format!("invalid annotation name: {k}")));
        }
    }
    if !rule.alert.is_empty() {
        for (k, v) in &rule.labels {
            if let Err(e) = templates.check(&rule.alert, v) {
                out.push((At::None, format!("label {k:?}: {e}")));
            }
        }
        for (k, v) in &rule.annotations {
            if let Err(e) = templates.check(&rule.alert, v) {
                out.push((At::None, format!("annotation {k:?}: {e}")));
            }
        }
    }
    out
}

/// A rule that appears more than once with the same name and labels.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct DuplicateRule {
    /// `record` or `alert`.
    pub name: String,
    /// The rule's own labels.
    pub labels: BTreeMap<String, String>,
}

/// promtool's `duplicate-rules` lint (`checkDuplicates`): rules of the whole file with equal
/// name and labels, each reported once, sorted by name then labels. Prometheus itself loads
/// such files; promtool reports them as a lint error but exits 0 unless `--lint-fatal`.
pub fn duplicate_rules(file: &RuleFile) -> Vec<DuplicateRule> {
    let mut all: Vec<DuplicateRule> = file
        .groups
        .iter()
        .flat_map(|g| &g.rules)
        .map(|r| DuplicateRule {
            name: r.name().to_owned(),
            labels: r.labels.clone(),
        })
        .collect();
    all.sort();
    let mut out: Vec<DuplicateRule> = Vec::new();
    for pair in all.windows(2) {
        if pair[0] == pair[1] && out.last() != Some(&pair[1]) {
            out.push(pair[1].clone());
        }
    }
    out
}

/// promtool's lint text for [`duplicate_rules`] (printed after `  FAILED:`).
pub fn duplicate_rules_message(dups: &[DuplicateRule]) -> String {
    let mut s = format!("lint error {} duplicate rule(s) found.\n", dups.len());
    for d in dups {
        s.push_str(&format!("Metric: {}\nLabel(s):\n", d.name));
        for (k, v) in &d.labels {
            s.push_str(&format!("\t{k}: {v}\n"));
        }
    }
    s.push_str("Might cause inconsistency while recording expressions");
    s
}

#[cfg(test)]
mod tests;
