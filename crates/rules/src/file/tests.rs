//! Rule file validation; expected messages are what Debian's promtool 2.42 prints for the
//! same files (`promtool check rules`).

use super::*;
use crate::template::GoTemplates;
use crate::testing::FakeEval;

fn parse(text: &str) -> Result<RuleFile, Vec<String>> {
    parse_rule_file::<FakeEval>("f.yml", text, &GoTemplates::checker()).map_err(|e| e.0)
}

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
    let file = parse(text).unwrap();
    assert_eq!(file.groups[0].rules.len(), 2);
    assert_eq!(
        file.groups[0].interval,
        Some(PromDuration::from_millis(30_000))
    );
    assert_eq!(file.groups[0].limit, 10);
    assert_eq!(
        file.groups[0].rules[1].for_,
        Some(PromDuration::from_millis(600_000))
    );
}

#[test]
fn errors_name_file_position_group_and_rule_like_promtool() {
    // promtool 2.42 on this file prints exactly these lines (in this order).
    let text = r#"groups:
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
    let err = parse(text).unwrap_err();
    assert_eq!(
        err,
        [
            "f.yml: 7:15: group \"g\", rule 2, \"Broken\": could not parse expression: 1:7: parse error: unclosed left parenthesis",
            "f.yml: 8:17: group \"g\", rule 3, \"bad name\": invalid field 'annotations' in recording rule",
            "f.yml: 8:17: group \"g\", rule 3, \"bad name\": invalid recording rule name: bad name",
            "f.yml: group \"g\", rule 4, \"BadTemplate\": annotation \"summary\": template: __alert_BadTemplate:1: function \"nosuchfunc\" not defined",
            "f.yml: 15:5: groupname: \"g\" is repeated in the same file",
        ]
    );
}

#[test]
fn record_and_alert_errors_point_at_both_nodes() {
    let text =
        "groups:\n- name: a\n  rules:\n  - alert: x\n    record: y\n    expr: up\n  - expr: up\n";
    let err = parse(text).unwrap_err();
    assert_eq!(
        err,
        [
            "f.yml: 5:13: 4:12: group \"a\", rule 1, \"x\": only one of 'record' and 'alert' must be set",
            "f.yml: 0:0: group \"a\", rule 2, \"\": one of 'record' or 'alert' must be set",
        ]
    );
}

#[test]
fn flow_style_positions_match_promtool() {
    // promtool 2.42 prints exactly this.
    let err = parse("groups: [{name: a, rules: [{alert: x, record: y, expr: up}]}]").unwrap_err();
    assert_eq!(
        err,
        [
            "f.yml: 1:47: 1:36: group \"a\", rule 1, \"x\": only one of 'record' and 'alert' must be set"
        ]
    );
    // Without usable positions (an alias), the message has none rather than a wrong one.
    let err =
        parse("groups: [{name: a, rules: [&r {alert: x, record: y, expr: up}]}]").unwrap_err();
    assert_eq!(
        err,
        ["f.yml: group \"a\", rule 1, \"x\": only one of 'record' and 'alert' must be set"]
    );
}

#[test]
fn rejects_unknown_fields_and_recording_rule_fields() {
    let err = parse("groups: [{name: a, rules: [{alert: x, expr: up, bogus: 1}]}]").unwrap_err();
    assert!(err[0].contains("bogus"), "{err:?}");
    let err = parse("groups: [{name: a, rules: [{record: x, expr: up, for: 5m}]}]").unwrap_err();
    assert!(
        err[0].ends_with("invalid field 'for' in recording rule"),
        "{err:?}"
    );
    let err =
        parse("groups: [{name: a, rules: [{alert: x, expr: up, labels: {0bad: v, __name__: y}}]}]")
            .unwrap_err();
    assert_eq!(
        err,
        [
            "f.yml: group \"a\", rule 1, \"x\": invalid label name: 0bad",
            "f.yml: group \"a\", rule 1, \"x\": invalid label name: __name__",
        ]
    );
    let err = parse("groups:\n- name: ''\n  rules: []\n- name: ''\n").unwrap_err();
    assert_eq!(
        err,
        [
            "f.yml: 2:3: Groupname must not be empty",
            "f.yml: 4:3: Groupname must not be empty",
            "f.yml: 4:3: groupname: \"\" is repeated in the same file",
        ]
    );
}

#[test]
fn empty_file_has_no_groups() {
    assert_eq!(parse("").unwrap(), RuleFile::default());
    assert_eq!(parse("# nothing\n").unwrap(), RuleFile::default());
}

#[test]
fn duplicates_are_linted_like_promtool() {
    // promtool 2.42: "lint error 2 duplicate rule(s) found." (A once although it appears three
    // times; r:x across groups), exit code 0 without --lint-fatal. Same name with other
    // labels (B) is not a duplicate.
    let text = r#"
groups:
  - name: g1
    rules:
      - record: r:x
        expr: up
      - alert: A
        expr: up == 0
      - alert: A
        expr: up == 0
      - alert: A
        expr: up == 1
      - alert: B
        expr: up == 0
        labels: {severity: warning}
      - alert: B
        expr: up == 0
        labels: {severity: critical}
  - name: g2
    rules:
      - record: r:x
        expr: up
"#;
    let file = parse(text).unwrap();
    let dups = duplicate_rules(&file);
    assert_eq!(
        dups.iter().map(|d| d.name.as_str()).collect::<Vec<_>>(),
        ["A", "r:x"]
    );
    assert_eq!(
        duplicate_rules_message(&dups),
        "lint error 2 duplicate rule(s) found.\nMetric: A\nLabel(s):\nMetric: r:x\nLabel(s):\nMight cause inconsistency while recording expressions"
    );
    let one = parse("groups: [{name: g, rules: [{alert: A, expr: up, labels: {severity: warning}}, {alert: A, expr: up, labels: {severity: warning}}]}]").unwrap();
    assert_eq!(
        duplicate_rules_message(&duplicate_rules(&one)),
        "lint error 1 duplicate rule(s) found.\nMetric: A\nLabel(s):\n\tseverity: warning\nMight cause inconsistency while recording expressions"
    );
}
