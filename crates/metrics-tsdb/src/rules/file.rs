//! Prometheus rule files with PromQL expressions: the shared model and validation of
//! [`lgtm_rules::file`] with PromQL's parser and Prometheus' template functions.

use std::path::Path;

use lgtm_rules::template::GoTemplates;

pub use lgtm_rules::file::{
    DuplicateRule, RuleConfig, RuleFile, RuleFileErrors, RuleGroupConfig, duplicate_rules,
    duplicate_rules_message,
};

use super::context::PromqlEvaluator;

/// Parses and validates a rule file's text; `file` names it in messages.
pub fn parse_rule_file(file: &str, text: &str) -> Result<RuleFile, RuleFileErrors> {
    lgtm_rules::file::parse_rule_file::<PromqlEvaluator>(file, text, &GoTemplates::checker())
}

/// Reads, parses and validates one rule file.
pub fn load_rule_file(path: &Path) -> Result<RuleFile, RuleFileErrors> {
    lgtm_rules::file::load_rule_file::<PromqlEvaluator>(path, &GoTemplates::checker())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn promql_errors_carry_positions_like_promtool() {
        // promtool 2.42 prints exactly this for the file.
        let text =
            "groups:\n  - name: g\n    rules:\n      - alert: Broken\n        expr: sum(up\n";
        let err = parse_rule_file("f.yml", text).unwrap_err().0;
        assert_eq!(
            err,
            [
                "f.yml: 5:15: group \"g\", rule 1, \"Broken\": could not parse expression: 1:7: parse error: unclosed left parenthesis"
            ]
        );
    }

    #[test]
    fn templates_are_checked_with_prometheus_functions() {
        let ok = "groups: [{name: g, rules: [{alert: A, expr: up, annotations: {s: '{{ $value | humanizePercentage }} {{ with query \"up\" }}{{ . | first | label \"job\" }}{{ end }}'}}]}]";
        parse_rule_file("f.yml", ok).unwrap();
        let bad = "groups: [{name: g, rules: [{alert: A, expr: up, labels: {s: '{{ nosuch }}'}}]}]";
        let err = parse_rule_file("f.yml", bad).unwrap_err().0;
        assert!(
            err[0].starts_with("f.yml: group \"g\", rule 1, \"A\": label \"s\": template: __alert_A:1: function \"nosuch\" not defined"),
            "{err:?}"
        );
    }
    #[test]
    fn mixed_block_and_flow_file_matches_promtool_line_for_line() {
        // Debian's promtool 2.42 prints these lines for this file (positions, PromQL parse
        // errors and all).
        let text = r#"---
# leading comment
groups:
  # a group
  - name: "quoted"
    interval: 30s
    rules:
      - "alert": Q1
        "expr": "sum(rate(x[5m])"
        labels:
          severity: page
      -   record: 'a b'
          expr: >
            sum(up)
            by (job
      - alert: Multi
        expr: |-
          up
          == 0 and
        annotations: {summary: "{{ $labels.x }}"}
  - {name: flowgroup, rules: [{record: ok:r, expr: "foo{"}]}
  - name: quoted
    rules:
    - alert: Dash
      expr: up ==
"#;
        let err = parse_rule_file("m.yml", text).unwrap_err().0;
        assert_eq!(
            err,
            [
                "m.yml: 9:17: group \"quoted\", rule 1, \"Q1\": could not parse expression: 1:16: parse error: unclosed left parenthesis",
                "m.yml: 13:17: group \"quoted\", rule 2, \"a b\": could not parse expression: 2:1: parse error: unclosed left parenthesis",
                "m.yml: 12:19: group \"quoted\", rule 2, \"a b\": invalid recording rule name: a b",
                "m.yml: 17:15: group \"quoted\", rule 3, \"Multi\": could not parse expression: 2:9: parse error: unexpected end of input",
                "m.yml: 21:52: group \"flowgroup\", rule 1, \"ok:r\": could not parse expression: 1:5: parse error: unexpected end of input inside braces",
                "m.yml: 22:5: groupname: \"quoted\" is repeated in the same file",
                "m.yml: 25:13: group \"quoted\", rule 1, \"Dash\": could not parse expression: 1:6: parse error: unexpected end of input",
            ]
        );
    }
}
