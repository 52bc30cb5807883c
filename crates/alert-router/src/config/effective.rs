//! The configuration as `/api/v2/status` shows it: Alertmanager re-marshals its effective
//! configuration (defaults filled in, Go struct field order, secrets as `<secret>`). We
//! rebuild that text from the file's YAML for the parts we model (global, route tree,
//! inhibit rules, webhook and Telegram receivers, templates) and copy the rest as written.

use serde_yaml_ng::{Mapping, Value};

use super::LoadedConfig;

fn s(v: &str) -> Value {
    Value::String(v.to_owned())
}

fn get<'a>(m: &'a Mapping, k: &str) -> Option<&'a Value> {
    m.get(k).filter(|v| !v.is_null())
}

/// Puts `key` from `src` into `out` when present (and not an empty list or map).
fn copy(out: &mut Mapping, src: &Mapping, key: &str) {
    if let Some(v) = get(src, key) {
        let empty = v.as_sequence().is_some_and(Vec::is_empty)
            || v.as_mapping().is_some_and(Mapping::is_empty);
        if !empty {
            out.insert(s(key), v.clone());
        }
    }
}

/// prometheus/common's `HTTPClientConfig` as marshalled: given fields, then the two defaults.
fn http_config(given: Option<&Value>) -> Value {
    let mut out = Mapping::new();
    let given = given
        .and_then(Value::as_mapping)
        .cloned()
        .unwrap_or_default();
    for k in [
        "basic_auth",
        "authorization",
        "oauth2",
        "bearer_token",
        "bearer_token_file",
        "tls_config",
        "proxy_url",
        "no_proxy",
        "proxy_from_environment",
        "proxy_connect_header",
    ] {
        copy(&mut out, &given, k);
    }
    out.insert(
        s("follow_redirects"),
        get(&given, "follow_redirects")
            .cloned()
            .unwrap_or(Value::Bool(true)),
    );
    out.insert(
        s("enable_http2"),
        get(&given, "enable_http2")
            .cloned()
            .unwrap_or(Value::Bool(true)),
    );
    copy(&mut out, &given, "http_headers");
    Value::Mapping(out)
}

fn global(raw: &Mapping, loaded: &LoadedConfig) -> Value {
    let g = get(raw, "global")
        .and_then(Value::as_mapping)
        .cloned()
        .unwrap_or_default();
    let mut out = Mapping::new();
    out.insert(
        s("resolve_timeout"),
        s(&loaded.global.resolve_timeout.to_string()),
    );
    out.insert(s("http_config"), http_config(get(&g, "http_config")));
    let defaults: [(&str, Option<Value>); 24] = [
        ("smtp_from", None),
        ("smtp_hello", Some(s("localhost"))),
        ("smtp_smarthost", None),
        ("smtp_auth_username", None),
        ("smtp_auth_password", None),
        ("smtp_auth_secret", None),
        ("smtp_auth_identity", None),
        ("smtp_require_tls", Some(Value::Bool(true))),
        ("slack_api_url", None),
        ("slack_api_url_file", None),
        (
            "pagerduty_url",
            Some(s("https://events.pagerduty.com/v2/enqueue")),
        ),
        ("opsgenie_api_url", Some(s("https://api.opsgenie.com/"))),
        ("opsgenie_api_key", None),
        ("opsgenie_api_key_file", None),
        (
            "wechat_api_url",
            Some(s("https://qyapi.weixin.qq.com/cgi-bin/")),
        ),
        ("wechat_api_secret", None),
        ("wechat_api_corp_id", None),
        (
            "victorops_api_url",
            Some(s(
                "https://alert.victorops.com/integrations/generic/20131114/alert/",
            )),
        ),
        ("victorops_api_key", None),
        ("telegram_api_url", Some(s(&loaded.global.telegram_api_url))),
        ("telegram_bot_token", None),
        ("telegram_bot_token_file", None),
        (
            "webex_api_url",
            Some(s("https://webexapis.com/v1/messages")),
        ),
        ("jira_api_url", None),
    ];
    for (k, default) in defaults {
        match (get(&g, k), default) {
            (Some(v), _) => {
                out.insert(s(k), v.clone());
            }
            (None, Some(d)) => {
                out.insert(s(k), d);
            }
            (None, None) => {}
        }
    }
    // Settings we do not model, as written.
    for (k, v) in &g {
        if !out.contains_key(k) {
            out.insert(k.clone(), v.clone());
        }
    }
    Value::Mapping(out)
}

fn route(r: &Mapping) -> Value {
    let mut out = Mapping::new();
    for k in [
        "receiver",
        "group_by",
        "match",
        "match_re",
        "matchers",
        "mute_time_intervals",
        "active_time_intervals",
    ] {
        copy(&mut out, r, k);
    }
    out.insert(
        s("continue"),
        get(r, "continue").cloned().unwrap_or(Value::Bool(false)),
    );
    if let Some(children) = get(r, "routes")
        .and_then(Value::as_sequence)
        .filter(|c| !c.is_empty())
    {
        let routes = children
            .iter()
            .filter_map(Value::as_mapping)
            .map(route)
            .collect();
        out.insert(s("routes"), Value::Sequence(routes));
    }
    for k in ["group_wait", "group_interval", "repeat_interval"] {
        copy(&mut out, r, k);
    }
    Value::Mapping(out)
}

fn inhibit(r: &Mapping) -> Value {
    let mut out = Mapping::new();
    for k in [
        "source_match",
        "source_match_re",
        "source_matchers",
        "target_match",
        "target_match_re",
        "target_matchers",
        "equal",
        "name",
    ] {
        copy(&mut out, r, k);
    }
    Value::Mapping(out)
}

fn webhook(w: &Mapping) -> Value {
    let mut out = Mapping::new();
    out.insert(
        s("send_resolved"),
        get(w, "send_resolved")
            .cloned()
            .unwrap_or(Value::Bool(true)),
    );
    out.insert(s("http_config"), http_config(get(w, "http_config")));
    copy(&mut out, w, "url");
    copy(&mut out, w, "url_file");
    out.insert(
        s("max_alerts"),
        get(w, "max_alerts").cloned().unwrap_or(Value::from(0)),
    );
    copy(&mut out, w, "timeout");
    Value::Mapping(out)
}

fn telegram(t: &Mapping, loaded: &LoadedConfig) -> Value {
    let mut out = Mapping::new();
    out.insert(
        s("send_resolved"),
        get(t, "send_resolved")
            .cloned()
            .unwrap_or(Value::Bool(true)),
    );
    out.insert(s("http_config"), http_config(get(t, "http_config")));
    out.insert(
        s("api_url"),
        get(t, "api_url")
            .cloned()
            .unwrap_or_else(|| s(&loaded.global.telegram_api_url)),
    );
    for k in [
        "bot_token",
        "bot_token_file",
        "chat_id",
        "chat_id_file",
        "message_thread_id",
    ] {
        copy(&mut out, t, k);
    }
    out.insert(
        s("message"),
        get(t, "message")
            .cloned()
            .unwrap_or_else(|| s(r#"{{ template "telegram.default.message" . }}"#)),
    );
    if get(t, "disable_notifications").and_then(Value::as_bool) == Some(true) {
        out.insert(s("disable_notifications"), Value::Bool(true));
    }
    out.insert(
        s("parse_mode"),
        get(t, "parse_mode").cloned().unwrap_or_else(|| s("HTML")),
    );
    Value::Mapping(out)
}

fn receiver(r: &Mapping, loaded: &LoadedConfig) -> Value {
    let mut out = Mapping::new();
    copy(&mut out, r, "name");
    for (k, v) in r {
        match k.as_str() {
            Some("name") => {}
            Some("webhook_configs") => {
                let list = v.as_sequence().map(|l| {
                    l.iter()
                        .filter_map(Value::as_mapping)
                        .map(webhook)
                        .collect()
                });
                out.insert(k.clone(), Value::Sequence(list.unwrap_or_default()));
            }
            Some("telegram_configs") => {
                let list = v.as_sequence().map(|l| {
                    l.iter()
                        .filter_map(Value::as_mapping)
                        .map(|t| telegram(t, loaded))
                        .collect()
                });
                out.insert(k.clone(), Value::Sequence(list.unwrap_or_default()));
            }
            _ => {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    Value::Mapping(out)
}

/// The effective configuration as a YAML value (secrets not yet masked).
pub(super) fn effective(raw: &Value, loaded: &LoadedConfig) -> Option<Value> {
    let raw = raw.as_mapping()?;
    let mut out = Mapping::new();
    out.insert(s("global"), global(raw, loaded));
    if let Some(r) = get(raw, "route").and_then(Value::as_mapping) {
        out.insert(s("route"), route(r));
    }
    if let Some(rules) = get(raw, "inhibit_rules")
        .and_then(Value::as_sequence)
        .filter(|r| !r.is_empty())
    {
        out.insert(
            s("inhibit_rules"),
            Value::Sequence(
                rules
                    .iter()
                    .filter_map(Value::as_mapping)
                    .map(inhibit)
                    .collect(),
            ),
        );
    }
    if let Some(rs) = get(raw, "receivers").and_then(Value::as_sequence) {
        out.insert(
            s("receivers"),
            Value::Sequence(
                rs.iter()
                    .filter_map(Value::as_mapping)
                    .map(|r| receiver(r, loaded))
                    .collect(),
            ),
        );
    }
    out.insert(
        s("templates"),
        get(raw, "templates")
            .cloned()
            .unwrap_or(Value::Sequence(Vec::new())),
    );
    for k in ["mute_time_intervals", "time_intervals"] {
        copy(&mut out, raw, k);
    }
    Some(Value::Mapping(out))
}
