use super::*;

fn err(yaml: &str) -> String {
    LoadedConfig::load_str(yaml, None).unwrap_err().to_string()
}

const RECEIVERS: &str = "receivers: [{name: a}]\n";

#[test]
fn reference_config_loads() {
    let text = include_str!("../../tests/it/data/am.yml");
    let c = LoadedConfig::load_str(text, None).unwrap();
    assert_eq!(c.receivers.len(), 3);
    assert_eq!(c.inhibit_rules.len(), 1);
    assert_eq!(c.global.resolve_timeout.to_string(), "5m");
    assert_eq!(c.global.telegram_api_url, "https://api.telegram.org");
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    // Secrets are masked in the text served by /api/v2/status.
    assert!(c.original.contains("<secret>"));
    assert!(!c.original.contains("TESTTOKEN"));
}

#[test]
fn alertmanager_validation_texts() {
    assert_eq!(err(RECEIVERS), "no routes provided");
    assert_eq!(
        err(&format!("route: {{group_wait: 1s}}\n{RECEIVERS}")),
        "root route must specify a default receiver"
    );
    assert_eq!(
        err(&format!(
            "route: {{receiver: a, matchers: [x=y]}}\n{RECEIVERS}"
        )),
        "root route must not have any matchers"
    );
    assert_eq!(
        err("route: {receiver: b}\nreceivers: [{name: a}]"),
        "undefined receiver \"b\" used in route"
    );
    assert_eq!(
        err("route: {receiver: a}\nreceivers: [{name: a}, {name: a}]"),
        "notification config name \"a\" is not unique"
    );
    assert_eq!(
        err("route: {receiver: a}\nreceivers: [{}]"),
        "missing name in receiver"
    );
    assert_eq!(
        err(&format!(
            "route: {{receiver: a, group_by: ['...', alertname]}}\n{RECEIVERS}"
        )),
        "cannot have wildcard group_by (`...`) and other other labels at the same time"
    );
    assert_eq!(
        err(&format!(
            "route: {{receiver: a, routes: [{{mute_time_intervals: [x]}}]}}\n{RECEIVERS}"
        )),
        "undefined time interval \"x\" used in route"
    );
    assert_eq!(
        err("route: {receiver: a}\nreceivers: [{name: a, telegram_configs: [{chat_id: 1}]}]"),
        "missing bot_token on telegram_config"
    );
    assert_eq!(
        err("route: {receiver: a}\nreceivers: [{name: a, telegram_configs: [{bot_token: x}]}]"),
        "missing chat_id on telegram_config"
    );
    assert_eq!(
        err(
            "route: {receiver: a}\nreceivers: [{name: a, telegram_configs: [{bot_token: x, chat_id: 1, parse_mode: Foo}]}]"
        ),
        "unknown parse_mode on telegram_config, must be Markdown, MarkdownV2, HTML or empty string"
    );
    assert_eq!(
        err("route: {receiver: a}\nreceivers: [{name: a, webhook_configs: [{}]}]"),
        "missing URL in webhook config"
    );
    assert_eq!(
        err(&format!(
            "route: {{receiver: a, group_interval: 0s}}\n{RECEIVERS}"
        )),
        "group_interval cannot be zero"
    );
    let e = err(&format!(
        "route: {{receiver: a, group_wait: 1.5s}}\n{RECEIVERS}"
    ));
    assert!(
        e.contains("duration \"1.5s\"") || e.contains("not a valid duration string"),
        "{e}"
    );
}

#[test]
fn unknown_fields_are_errors() {
    let e = err(&format!("route: {{receiver: a, bogus: 1}}\n{RECEIVERS}"));
    assert_eq!(
        e,
        "yaml: unmarshal errors:\n  line 1: field bogus not found in type config.plain"
    );
    let e = err(
        "route: {receiver: a}\nreceivers: [{name: a, telegram_configs: [{bot_token: x, chat_id: 1, nope: 2}]}]",
    );
    assert!(
        e.ends_with("field nope not found in type config.plain"),
        "{e}"
    );
}

#[test]
fn unsupported_integrations_are_reported() {
    let c = LoadedConfig::load_str(
        "route: {receiver: a}\nreceivers: [{name: a, slack_configs: [{channel: '#x'}], email_configs: [{to: x@y}]}]",
        None,
    )
    .unwrap();
    assert!(
        c.warnings
            .iter()
            .any(|w| w.starts_with("receiver a: slack_configs not supported")),
        "{:?}",
        c.warnings
    );
    assert!(
        c.warnings
            .iter()
            .any(|w| w.starts_with("receiver a: email_configs not supported"))
    );
}

#[test]
fn full_surface_parses() {
    let text = r#"
global:
  resolve_timeout: 1m
  http_config: {basic_auth: {username: u, password: p}}
  smtp_smarthost: 'localhost:25'
  telegram_api_url: http://127.0.0.1:1
route:
  receiver: a
  group_by: ['...']
  routes:
    - matchers: ['{team="db", env=~"prod|stage"}']
      match: {x: y}
      continue: true
      mute_time_intervals: [nights]
      active_time_intervals: [weekdays]
time_intervals:
  - name: nights
    time_intervals: [{times: [{start_time: '00:00', end_time: '06:00'}], location: UTC}]
mute_time_intervals:
  - name: weekdays
    time_intervals: [{weekdays: ['monday:friday'], days_of_month: ['1:5', '-3:-1'], months: ['1:3', 'may:august'], years: ['2020:2030']}]
inhibit_rules:
  - source_match: {severity: critical}
    target_match_re: {severity: 'warning|info'}
    equal: [instance]
receivers:
  - name: a
    webhook_configs:
      - {url: 'http://127.0.0.1:9/x', max_alerts: 10, send_resolved: false, http_config: {authorization: {credentials: t}}}
    telegram_configs:
      - {bot_token_file: /dev/null, chat_id: -100, message_thread_id: '{{ .CommonLabels.topic }}', parse_mode: '', disable_notifications: true}
templates: ['/nonexistent/*.tmpl']
"#;
    let c = LoadedConfig::load_str(text, None).unwrap();
    assert_eq!(c.time_intervals.len(), 2);
    assert_eq!(c.route.routes[0].matchers.len(), 3);
    assert!(c.route.opts.group_by_all);
}

#[test]
fn status_text_equals_alertmanagers_effective_config() {
    // `config.original` of Alertmanager 0.25 for tests/it/data/am.yml (captured).
    let c = LoadedConfig::load_str(include_str!("../../tests/it/data/am.yml"), None).unwrap();
    assert_eq!(
        c.original,
        include_str!("../../tests/it/data/am.status.yml")
    );
}
