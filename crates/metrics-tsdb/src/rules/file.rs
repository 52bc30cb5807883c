//! Prometheus rule files (`rulefmt`): the YAML model and its validation, with Prometheus'
//! error texts (`<file>: group "g", rule 2, "Name": could not parse expression: ...`).

use std::collections::BTreeMap;
use std::path::Path;

use lgtm_common::duration::PromDuration;
use lgtm_common::labels::{is_valid_label_name, is_valid_metric_name};
use lgtm_template::{FuncMap, PrometheusContext, check_alert_template, prometheus_funcs};
use serde::{Deserialize, Deserializer, Serialize};

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
    /// The PromQL expression.
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
    /// The rule's name: `record` or `alert`.
    pub fn name(&self) -> &str {
        if self.record.is_empty() {
            &self.alert
        } else {
            &self.record
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

/// A rule file that cannot be used; each entry is one Prometheus-style message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", .0.join("; "))]
pub struct RuleFileErrors(pub Vec<String>);

/// The function names known to rule templates (for parse-checking).
fn template_funcs() -> FuncMap {
    prometheus_funcs(PrometheusContext::default())
}

/// Parses and validates a rule file's text; `file` names it in messages.
pub fn parse_rule_file(file: &str, text: &str) -> Result<RuleFile, RuleFileErrors> {
    let parsed: RuleFile = if text.trim().is_empty() {
        RuleFile::default()
    } else {
        serde_yaml_ng::from_str(text).map_err(|e| RuleFileErrors(vec![format!("{file}: {e}")]))?
    };
    let errors = validate(&parsed);
    if errors.is_empty() {
        Ok(parsed)
    } else {
        Err(RuleFileErrors(
            errors.into_iter().map(|e| format!("{file}: {e}")).collect(),
        ))
    }
}

/// Reads, parses and validates one rule file.
pub fn load_rule_file(path: &Path) -> Result<RuleFile, RuleFileErrors> {
    let name = path.display().to_string();
    let text =
        std::fs::read_to_string(path).map_err(|e| RuleFileErrors(vec![format!("{name}: {e}")]))?;
    parse_rule_file(&name, &text)
}

/// Prometheus' `RuleGroups.Validate`: every problem, in file order.
pub fn validate(file: &RuleFile) -> Vec<String> {
    let funcs = template_funcs();
    let mut errors = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for group in &file.groups {
        if group.name.is_empty() {
            errors.push("Groupname must not be empty".to_owned());
        } else if !seen.insert(group.name.clone()) {
            errors.push(format!(
                "groupname: \"{}\" is repeated in the same file",
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
        for (i, rule) in group.rules.iter().enumerate() {
            for message in validate_rule(rule, &funcs) {
                errors.push(format!(
                    "group {:?}, rule {}, {:?}: {message}",
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
fn validate_rule(rule: &RuleConfig, funcs: &FuncMap) -> Vec<String> {
    let mut out = Vec::new();
    if !rule.record.is_empty() && !rule.alert.is_empty() {
        out.push("only one of 'record' and 'alert' must be set".to_owned());
    }
    if rule.record.is_empty() && rule.alert.is_empty() {
        out.push("one of 'record' or 'alert' must be set".to_owned());
    }
    if rule.expr.is_empty() {
        out.push("field 'expr' must be set in rule".to_owned());
    } else if let Err(e) = lgtm_promql::parse(&rule.expr) {
        out.push(format!("could not parse expression: {e}"));
    }
    if !rule.record.is_empty() {
        if !rule.annotations.is_empty() {
            out.push("invalid field 'annotations' in recording rule".to_owned());
        }
        if rule.for_.is_some_and(|d| !d.get().is_zero()) {
            out.push("invalid field 'for' in recording rule".to_owned());
        }
        if rule.keep_firing_for.is_some_and(|d| !d.get().is_zero()) {
            out.push("invalid field 'keep_firing_for' in recording rule".to_owned());
        }
        if !is_valid_metric_name(&rule.record) {
            out.push(format!("invalid recording rule name: {}", rule.record));
        }
    }
    for k in rule.labels.keys() {
        if !is_valid_label_name(k) || k == "__name__" {
            out.push(format!("invalid label name: {k}"));
        }
    }
    for k in rule.annotations.keys() {
        if !is_valid_label_name(k) {
            out.push(format!("invalid annotation name: {k}"));
        }
    }
    if !rule.alert.is_empty() {
        for (k, v) in &rule.labels {
            if let Err(e) = check_alert_template(funcs, &rule.alert, v) {
                out.push(format!("label {k:?}: {e}"));
            }
        }
        for (k, v) in &rule.annotations {
            if let Err(e) = check_alert_template(funcs, &rule.alert, v) {
                out.push(format!("annotation {k:?}: {e}"));
            }
        }
    }
    out
}

/// Rules with the same name and labels in one group (promtool's `duplicate-rules` lint).
pub fn duplicate_rules(file: &RuleFile) -> Vec<(String, BTreeMap<String, String>)> {
    let mut out = Vec::new();
    for group in &file.groups {
        let mut seen: Vec<(&str, &BTreeMap<String, String>)> = Vec::new();
        for rule in &group.rules {
            let key = (rule.name(), &rule.labels);
            if seen.contains(&key) {
                out.push((rule.name().to_owned(), rule.labels.clone()));
            } else {
                seen.push(key);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_prometheus_example() {
        let text = r#"
groups:
  - name: example
    interval: 30s
    limit: 10
    rules:
      - record: code:prometheus_http_requests_total:sum
        expr: sum by (code) (prometheus_http_requests_total)
      - alert: HighRequestLatency
        expr: job:request_latency_seconds:mean5m{job="myjob"} > 0.5
        for: 10m
        keep_firing_for: 5m
        labels:
          severity: page
        annotations:
          summary: "High latency on {{ $labels.instance }}: {{ $value | humanize }}"
"#;
        let file = parse_rule_file("r.yml", text).unwrap();
        assert_eq!(file.groups[0].rules.len(), 2);
        assert_eq!(
            file.groups[0].interval,
            Some(PromDuration::from_millis(30_000))
        );
        assert_eq!(
            file.groups[0].rules[1].for_,
            Some(PromDuration::from_millis(600_000))
        );
    }

    #[test]
    fn errors_name_file_group_and_rule() {
        let text = r#"
groups:
  - name: g
    rules:
      - alert: Ok
        expr: up == 0
      - alert: Broken
        expr: sum(up
      - record: "bad name"
        expr: up
        annotations: {a: b}
      - alert: BadTemplate
        expr: up
        annotations:
          summary: "{{ nosuchfunc }}"
  - name: g
    rules: []
"#;
        let err = parse_rule_file("f.yml", text).unwrap_err().0;
        assert!(
            err[0].starts_with(
                "f.yml: group \"g\", rule 2, \"Broken\": could not parse expression: "
            ),
            "{err:?}"
        );
        assert!(err.contains(&"f.yml: group \"g\", rule 3, \"bad name\": invalid field 'annotations' in recording rule".to_owned()), "{err:?}");
        assert!(
            err.contains(
                &"f.yml: group \"g\", rule 3, \"bad name\": invalid recording rule name: bad name"
                    .to_owned()
            ),
            "{err:?}"
        );
        assert!(
            err.iter().any(|e| e.starts_with(
                "f.yml: group \"g\", rule 4, \"BadTemplate\": annotation \"summary\": "
            ) && e.contains("function \"nosuchfunc\" not defined")),
            "{err:?}"
        );
        assert!(
            err.contains(&"f.yml: groupname: \"g\" is repeated in the same file".to_owned()),
            "{err:?}"
        );
    }

    #[test]
    fn rejects_unknown_fields_and_both_kinds() {
        let err = parse_rule_file(
            "f.yml",
            "groups: [{name: a, rules: [{alert: x, expr: up, bogus: 1}]}]",
        )
        .unwrap_err();
        assert!(err.to_string().contains("bogus"), "{err}");
        let err = parse_rule_file(
            "f.yml",
            "groups: [{name: a, rules: [{alert: x, record: y, expr: up}]}]",
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("only one of 'record' and 'alert' must be set"),
            "{err}"
        );
        let err = parse_rule_file("f.yml", "groups: [{name: a, rules: [{expr: up}]}]").unwrap_err();
        assert!(
            err.to_string()
                .contains("one of 'record' or 'alert' must be set"),
            "{err}"
        );
        let err = parse_rule_file(
            "f.yml",
            "groups: [{name: a, rules: [{record: x, expr: up, for: 5m}]}]",
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("invalid field 'for' in recording rule"),
            "{err}"
        );
    }

    #[test]
    fn duplicates_are_reported_not_rejected() {
        let text = "groups: [{name: a, rules: [{alert: x, expr: up}, {alert: x, expr: up == 0}]}]";
        let file = parse_rule_file("f.yml", text).unwrap();
        assert_eq!(duplicate_rules(&file).len(), 1);
    }
}
