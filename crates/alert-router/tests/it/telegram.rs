//! The Telegram receiver against fake Bot APIs: the exact request of Alertmanager 0.25,
//! 429 `retry_after`, 5xx backoff, the plain-text fallback, splitting, a fuzzer of label
//! values against a markup-checking fake, and a burst of 500 alerts.

use std::time::Duration;

use alert_router::notify::{FakeRequest, HttpClient, HttpResponse};
use parking_lot::Mutex;
use proptest::prelude::*;
use serde_json::Value;
use std::sync::Arc;
use tokio::time::{Instant, sleep};

use crate::common::{Recorder, call, core_with, post_alerts};

fn config(extra: &str) -> String {
    format!(
        r#"
route:
  receiver: tg
  group_by: [alertname]
  group_wait: 2s
  group_interval: 5m
receivers:
  - name: tg
    telegram_configs:
      - {{api_url: "http://127.0.0.1:18082", bot_token: "123456:TESTTOKEN", chat_id: -1001234567890{extra}}}
"#
    )
}

#[tokio::test(start_paused = true)]
async fn request_is_alertmanagers() {
    let rec = Recorder::default();
    let (core, _t) = core_with(&config(""), Some(rec.client()), None);
    post_alerts(&core, r#"[{"labels":{"alertname":"NodeDown","instance":"db1","severity":"critical"},"annotations":{"summary":"db1 <down> & out"}}]"#).await;
    sleep(Duration::from_secs(3)).await;
    let reqs = rec.requests.lock().clone();
    assert_eq!(reqs.len(), 1);
    let r = &reqs[0].1;
    assert_eq!(
        r.url,
        "http://127.0.0.1:18082/bot123456:TESTTOKEN/sendMessage"
    );
    assert!(
        r.headers
            .contains(&("user-agent".into(), "Go-http-client/1.1".into()))
    );
    assert_eq!(
        String::from_utf8_lossy(&r.body),
        r#"{"chat_id":"-1001234567890","disable_web_page_preview":"true","parse_mode":"HTML","text":"\n\nAlerts Firing:\nLabels:\n - alertname = NodeDown\n - instance = db1\n - severity = critical\nAnnotations:\n - summary = db1 &lt;down&gt; &amp; out\nSource: \n\n\n\n"}"#
    );
}

#[tokio::test(start_paused = true)]
async fn plain_mode_silent_and_thread_from_labels() {
    let rec = Recorder::default();
    let (core, _t) = core_with(
        &config(
            r#", parse_mode: "", disable_notifications: true, message_thread_id: "{{ .CommonLabels.topic }}""#,
        ),
        Some(rec.client()),
        None,
    );
    post_alerts(&core, r#"[{"labels":{"alertname":"A","topic":"42"}}]"#).await;
    sleep(Duration::from_secs(3)).await;
    let v = &rec.bodies()[0];
    assert!(v.get("parse_mode").is_none());
    assert_eq!(v["disable_notification"], "true");
    assert_eq!(v["message_thread_id"], "42");
}

#[tokio::test(start_paused = true)]
async fn honours_retry_after_and_backs_off_on_5xx() {
    let rec = Recorder::default();
    rec.responses.lock().push_back((
        429,
        r#"{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 3","parameters":{"retry_after":3}}"#.into(),
    ));
    rec.responses.lock().push_back((
        502,
        r#"{"ok":false,"error_code":502,"description":"Bad Gateway"}"#.into(),
    ));
    let (core, _t) = core_with(&config(""), Some(rec.client()), None);
    post_alerts(&core, r#"[{"labels":{"alertname":"A"}}]"#).await;
    sleep(Duration::from_secs(30)).await;
    let times: Vec<Instant> = rec.requests.lock().iter().map(|(t, _)| *t).collect();
    assert_eq!(times.len(), 3, "429, 502, then delivered");
    assert!(
        times[1] - times[0] >= Duration::from_secs(3),
        "waited retry_after"
    );
    assert!(times[2] > times[1]);
    let (_, m) = call(&core, "GET", "/metrics", None).await;
    assert!(m.contains("alertmanager_notifications_total{integration=\"telegram\"} 1"));
    assert!(m.contains("alertmanager_notifications_failed_total{integration=\"telegram\"} 0"));
}

#[tokio::test(start_paused = true)]
async fn entity_errors_fall_back_to_plain_text() {
    let rec = Recorder::default();
    rec.responses.lock().push_back((
        400,
        r#"{"ok":false,"error_code":400,"description":"Bad Request: can't parse entities: Unsupported start tag \"down\" at byte offset 10"}"#.into(),
    ));
    let (core, _t) = core_with(&config(""), Some(rec.client()), None);
    post_alerts(
        &core,
        r#"[{"labels":{"alertname":"A"},"annotations":{"summary":"x <down> & y"}}]"#,
    )
    .await;
    sleep(Duration::from_secs(5)).await;
    let b = rec.bodies();
    assert_eq!(b.len(), 2);
    assert_eq!(b[0]["parse_mode"], "HTML");
    assert!(b[1].get("parse_mode").is_none());
    assert!(
        b[1]["text"]
            .as_str()
            .unwrap()
            .contains(" - summary = x <down> & y\n")
    );
}

/// A fake Bot API that checks what real Telegram checks: message length after entity
/// parsing, HTML tags and entities, MarkdownV2 reserved characters; answers 400 like
/// Telegram, and 429 every `every_429`-th call.
#[derive(Clone, Default)]
struct StrictBot {
    delivered: Arc<Mutex<Vec<String>>>,
    calls: Arc<Mutex<u64>>,
    every_429: u64,
}

fn html_ok(s: &str) -> Result<usize, String> {
    let allowed = [
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "code",
        "pre",
        "a",
        "tg-spoiler",
        "span",
        "blockquote",
    ];
    let mut stack: Vec<String> = Vec::new();
    let mut len = 0;
    let mut rest = s;
    while let Some(c) = rest.chars().next() {
        match c {
            '<' => {
                let end = rest.find('>').ok_or("Unclosed start tag")?;
                let tag = &rest[1..end];
                if let Some(name) = tag.strip_prefix('/') {
                    if stack.pop().as_deref() != Some(name) {
                        return Err(format!("Unmatched end tag {name}"));
                    }
                } else {
                    let name = tag.split_whitespace().next().unwrap_or("");
                    if !allowed.contains(&name) {
                        return Err(format!("Unsupported start tag \"{name}\""));
                    }
                    stack.push(name.to_owned());
                }
                rest = &rest[end + 1..];
            }
            '&' => {
                let end = rest.find(';').ok_or("Unclosed entity")?;
                let ent = &rest[1..end];
                let ok = matches!(ent, "lt" | "gt" | "amp" | "quot")
                    || ent
                        .strip_prefix('#')
                        .is_some_and(|n| n.parse::<u32>().is_ok());
                if !ok {
                    return Err(format!("Unsupported entity {ent}"));
                }
                len += 1;
                rest = &rest[end + 1..];
            }
            '>' => return Err("Unexpected >".into()),
            c => {
                len += c.len_utf16();
                rest = &rest[c.len_utf8()..];
            }
        }
    }
    if !stack.is_empty() {
        return Err("Can't find end tag".into());
    }
    Ok(len)
}

fn markdown_v2_ok(s: &str) -> Result<usize, String> {
    let mut len = 0;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            chars.next().ok_or("trailing backslash")?;
            len += 1;
        } else if "_*[]()~`>#+-=|{}.!".contains(c) {
            return Err(format!(
                "Character '{c}' is reserved and must be escaped with the preceding '\\'"
            ));
        } else {
            len += c.len_utf16();
        }
    }
    Ok(len)
}

impl StrictBot {
    fn client(&self) -> HttpClient {
        let me = self.clone();
        HttpClient::fake(Arc::new(move |req: FakeRequest| {
            let mut calls = me.calls.lock();
            *calls += 1;
            if me.every_429 > 0 && (*calls).is_multiple_of(me.every_429) {
                return HttpResponse {
                    status: 429,
                    body: r#"{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 1","parameters":{"retry_after":1}}"#.into(),
                };
            }
            let v: Value = serde_json::from_slice(&req.body).unwrap();
            let text = v["text"].as_str().unwrap().to_owned();
            let checked = match v.get("parse_mode").and_then(Value::as_str) {
                Some("HTML") => html_ok(&text),
                Some("MarkdownV2") => markdown_v2_ok(&text),
                _ => Ok(text.encode_utf16().count()),
            };
            match checked {
                Err(e) => HttpResponse {
                    status: 400,
                    body: format!(r#"{{"ok":false,"error_code":400,"description":"Bad Request: can't parse entities: {e}"}}"#).into(),
                },
                Ok(n) if n > 4096 => HttpResponse {
                    status: 400,
                    body: r#"{"ok":false,"error_code":400,"description":"Bad Request: message is too long"}"#.into(),
                },
                Ok(_) => {
                    me.delivered.lock().push(text);
                    HttpResponse { status: 200, body: r#"{"ok":true,"result":{"message_id":1}}"#.into() }
                }
            }
        }))
    }
}

fn fuzz_once(values: &[String], mode: &str) -> (usize, Vec<String>) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .unwrap();
    rt.block_on(async {
        let bot = StrictBot::default();
        let (core, _t) = core_with(&config(&format!(", parse_mode: {mode}")), Some(bot.client()), None);
        let alerts: Vec<Value> = values
            .iter()
            .enumerate()
            .map(|(i, v)| serde_json::json!({"labels": {"alertname": "Fuzz", "idx": i.to_string(), "value": v}, "annotations": {"summary": v}}))
            .collect();
        post_alerts(&core, &serde_json::to_string(&alerts).unwrap()).await;
        sleep(Duration::from_secs(5)).await;
        let delivered = bot.delivered.lock().clone();
        (*bot.calls.lock() as usize, delivered)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn fuzzed_label_values_are_always_delivered(values in proptest::collection::vec("[a-z<>&\"'_*.\\-=()\\[\\]!#+|{}~`\\\\ ]{1,12}", 1..6), markdown in any::<bool>()) {
        let mode = if markdown { "MarkdownV2" } else { "HTML" };
        let (calls, delivered) = fuzz_once(&values, mode);
        // Correct escaping: every message accepted on the first try.
        prop_assert_eq!(calls, 1);
        prop_assert_eq!(delivered.len(), 1);
        for (i, _) in values.iter().enumerate() {
            let idx = format!("idx {} {}", if markdown { "\\=" } else { "=" }, i);
            prop_assert!(delivered[0].contains(&idx), "alert {} missing", i);
        }
    }
}

#[tokio::test(start_paused = true)]
async fn burst_of_500_alerts_loses_none() {
    let bot = StrictBot {
        every_429: 3,
        ..Default::default()
    };
    let (core, _t) = core_with(&config(""), Some(bot.client()), None);
    let alerts: Vec<Value> = (0..500)
        .map(|i| serde_json::json!({"labels": {"alertname": "Burst", "instance": format!("host-{i:03}"), "severity": "warning"}, "annotations": {"summary": format!("disk <{i}> & more")}}))
        .collect();
    post_alerts(&core, &serde_json::to_string(&alerts).unwrap()).await;
    sleep(Duration::from_secs(120)).await;
    let delivered = bot.delivered.lock().clone();
    assert!(delivered.len() > 1, "split into several messages");
    let all = delivered.join("");
    for i in 0..500 {
        assert!(
            all.contains(&format!(" - instance = host-{i:03}\n")),
            "alert {i} lost"
        );
    }
    let n = delivered.len();
    for (i, m) in delivered.iter().enumerate() {
        assert!(
            m.starts_with(&format!("({}/{n})\n", i + 1)),
            "numbered parts in order"
        );
    }
    let (_, m) = call(&core, "GET", "/metrics", None).await;
    assert!(m.contains("alertmanager_notifications_failed_total{integration=\"telegram\"} 0"));
}

#[tokio::test(start_paused = true)]
async fn custom_message_templates_and_template_files() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("tg.tmpl"),
        r#"{{ define "tg.title" }}[{{ .Status | toUpper }}] {{ .GroupLabels.SortedPairs.Values | join " " }}{{ end }}"#,
    )
    .unwrap();
    let yaml = format!(
        r#"
route: {{receiver: tg, group_wait: 2s, group_by: [alertname]}}
templates: ['{}/*.tmpl']
receivers:
  - name: tg
    telegram_configs:
      - api_url: "http://127.0.0.1:18082"
        bot_token: "123456:TESTTOKEN"
        chat_id: -1001234567890
        message: '{{{{ template "tg.title" . }}}}: <b>{{{{ .CommonAnnotations.summary }}}}</b> {{{{ safeHtml "<i>x</i>" }}}}'
"#,
        dir.path().display()
    );
    let rec = Recorder::default();
    let (core, _t) = core_with(&yaml, Some(rec.client()), None);
    post_alerts(
        &core,
        r#"[{"labels":{"alertname":"Hi"},"annotations":{"summary":"hi <there> & co"}}]"#,
    )
    .await;
    sleep(Duration::from_secs(3)).await;
    // Observed from Alertmanager 0.25 for the same template (reference §4.4).
    assert_eq!(
        rec.bodies()[0]["text"],
        "[FIRING] Hi: <b>hi &lt;there&gt; &amp; co</b> <i>x</i>"
    );
}

#[test]
fn bad_templates_fail_at_load() {
    let e =
        alert_router::config::LoadedConfig::load_str(&config(r#", message: '{{ .Nope '"#), None)
            .unwrap_err();
    assert!(e.to_string().contains("invalid template"), "{e}");
    let e = alert_router::config::LoadedConfig::load_str(
        &config(r#", message_thread_id: '{{ if }}'"#),
        None,
    )
    .unwrap_err();
    assert!(e.to_string().contains("invalid template"), "{e}");
}

#[tokio::test(start_paused = true)]
async fn messages_to_one_chat_are_paced() {
    let rec = Recorder::default();
    let (core, _t) = core_with(&config(""), Some(rec.client()), None);
    post_alerts(&core, r#"[{"labels":{"alertname":"A"}},{"labels":{"alertname":"B"}},{"labels":{"alertname":"C"}}]"#).await;
    sleep(Duration::from_secs(10)).await;
    let times: Vec<Instant> = rec.requests.lock().iter().map(|(t, _)| *t).collect();
    assert_eq!(times.len(), 3, "three groups, three messages");
    for w in times.windows(2) {
        assert!(w[1] - w[0] >= alert_router::notify::telegram::PER_CHAT_INTERVAL);
    }
}

#[tokio::test]
async fn unknown_chats_fail_at_load() {
    let loaded = alert_router::config::LoadedConfig::load_str(&config(""), None).unwrap();
    let refuse = HttpClient::fake(Arc::new(|req: FakeRequest| {
        assert!(req.url.ends_with("/bot123456:TESTTOKEN/getChat"));
        assert_eq!(
            String::from_utf8_lossy(&req.body),
            r#"{"chat_id":"-1001234567890"}"#
        );
        HttpResponse {
            status: 400,
            body: r#"{"ok":false,"error_code":400,"description":"Bad Request: chat not found"}"#
                .into(),
        }
    }));
    let err = alert_router::state::verify_telegram(&loaded, &refuse)
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "receiver tg: telegram chat -1001234567890: 400 Bad Request: chat not found"
    );
    let accept = HttpClient::fake(Arc::new(|_| HttpResponse {
        status: 200,
        body: r#"{"ok":true,"result":{"id":-1001234567890,"type":"supergroup"}}"#.into(),
    }));
    alert_router::state::verify_telegram(&loaded, &accept)
        .await
        .unwrap();
    // An unreachable API does not block start-up.
    let down = HttpClient::fake(Arc::new(|_| HttpResponse {
        status: 502,
        body: "".into(),
    }));
    alert_router::state::verify_telegram(&loaded, &down)
        .await
        .unwrap();
}

#[tokio::test]
async fn unknown_topics_fail_at_load() {
    let loaded =
        alert_router::config::LoadedConfig::load_str(&config(", message_thread_id: 7"), None)
            .unwrap();
    let calls = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&calls);
    let no_topic = HttpClient::fake(Arc::new(move |req: FakeRequest| {
        let body = String::from_utf8_lossy(&req.body).into_owned();
        seen.lock().push((req.url.clone(), body));
        if req.url.ends_with("/getChat") {
            HttpResponse {
                status: 200,
                body: r#"{"ok":true,"result":{"id":-1001234567890,"type":"supergroup","is_forum":true}}"#.into(),
            }
        } else {
            HttpResponse {
                status: 400,
                body: r#"{"ok":false,"error_code":400,"description":"Bad Request: message thread not found"}"#.into(),
            }
        }
    }));
    let err = alert_router::state::verify_telegram(&loaded, &no_topic)
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "receiver tg: telegram chat -1001234567890 topic 7: 400 Bad Request: message thread not found"
    );
    let calls = calls.lock().clone();
    assert_eq!(calls.len(), 2);
    assert!(calls[1].0.ends_with("/bot123456:TESTTOKEN/sendChatAction"));
    assert_eq!(
        calls[1].1,
        r#"{"action":"typing","chat_id":"-1001234567890","message_thread_id":"7"}"#
    );
    // A topic Telegram accepts passes.
    let accept = HttpClient::fake(Arc::new(|_| HttpResponse {
        status: 200,
        body: r#"{"ok":true,"result":true}"#.into(),
    }));
    alert_router::state::verify_telegram(&loaded, &accept)
        .await
        .unwrap();
}

#[tokio::test(start_paused = true)]
async fn edit_messages_when_the_group_changes_and_resolves() {
    let dir = tempfile::tempdir().unwrap();
    let rec = Recorder::default();
    let ok = |id: i64| {
        (
            200,
            format!(
                r#"{{"ok":true,"result":{{"message_id":{id},"chat":{{"id":-1001234567890}}}}}}"#
            ),
        )
    };
    rec.responses.lock().extend([ok(77), ok(77), ok(78)]);
    let options = alert_router::notify::IntegrationOptions {
        telegram_edit_messages: true,
        ..Default::default()
    };
    let yaml = config("").replace("group_interval: 5m", "group_interval: 1m");
    let (core, token) = crate::common::core_with_options(
        &yaml,
        Some(rec.client()),
        Some(dir.path().into()),
        options,
    );
    post_alerts(
        &core,
        r#"[{"labels":{"alertname":"E","instance":"a"},"endsAt":"2099-01-01T00:00:00Z"}]"#,
    )
    .await;
    sleep(Duration::from_secs(3)).await;
    core.persist();
    token.cancel();
    // Restart: the message id comes back from the notification log.
    let (core, _t) = crate::common::core_with_options(
        &yaml,
        Some(rec.client()),
        Some(dir.path().into()),
        options,
    );
    let now = core.clock.now().to_rfc3339();
    post_alerts(
        &core,
        &format!(r#"[{{"labels":{{"alertname":"E","instance":"a"}},"startsAt":"{now}","endsAt":"{now}"}}]"#),
    )
    .await;
    sleep(Duration::from_secs(61)).await;
    // Fires again later: a new message.
    post_alerts(
        &core,
        r#"[{"labels":{"alertname":"E","instance":"a"},"endsAt":"2099-01-01T00:00:00Z"}]"#,
    )
    .await;
    sleep(Duration::from_secs(120)).await;
    let reqs: Vec<(String, Value)> = rec
        .requests
        .lock()
        .iter()
        .map(|(_, r)| {
            (
                r.url.rsplit('/').next().unwrap().to_owned(),
                serde_json::from_slice(&r.body).unwrap(),
            )
        })
        .collect();
    let methods: Vec<&str> = reqs.iter().map(|(m, _)| m.as_str()).collect();
    assert_eq!(
        methods,
        ["sendMessage", "editMessageText", "sendMessage"],
        "{reqs:?}"
    );
    assert_eq!(reqs[1].1["message_id"], "77");
    assert_eq!(reqs[1].1["chat_id"], "-1001234567890");
    assert!(
        reqs[1].1["text"]
            .as_str()
            .unwrap()
            .contains("Alerts Resolved:")
    );
    assert!(
        reqs[2].1["text"]
            .as_str()
            .unwrap()
            .contains("Alerts Firing:")
    );
}

#[tokio::test(start_paused = true)]
async fn silence_buttons_create_real_silences() {
    #[derive(Default)]
    struct Bot {
        calls: Vec<(String, Value)>,
        pending: Vec<Value>,
    }
    let bot: Arc<Mutex<Bot>> = Arc::default();
    let b = bot.clone();
    let client = HttpClient::fake(Arc::new(move |req: FakeRequest| {
        let method = req.url.rsplit('/').next().unwrap().to_owned();
        let body: Value = serde_json::from_slice(&req.body).unwrap();
        let mut bot = b.lock();
        bot.calls.push((method.clone(), body));
        let answer = match method.as_str() {
            "getUpdates" => {
                serde_json::json!({"ok": true, "result": std::mem::take(&mut bot.pending)})
            }
            _ => serde_json::json!({"ok": true, "result": {"message_id": 1}}),
        };
        HttpResponse {
            status: 200,
            body: answer.to_string().into(),
        }
    }));
    let options = alert_router::notify::IntegrationOptions {
        telegram_silence_buttons: true,
        ..Default::default()
    };
    let (core, token) =
        crate::common::core_with_options(&config(""), Some(client.clone()), None, options);
    tokio::spawn(alert_router::notify::telegram::buttons::poll(
        core.clone(),
        client,
        Duration::from_secs(2),
        token.clone(),
    ));
    post_alerts(&core, r#"[{"labels":{"alertname":"Btn","instance":"a"}}]"#).await;
    sleep(Duration::from_secs(3)).await;
    let sent = bot
        .lock()
        .calls
        .iter()
        .find(|(m, _)| m == "sendMessage")
        .unwrap()
        .1
        .clone();
    let markup: Value = serde_json::from_str(sent["reply_markup"].as_str().unwrap()).unwrap();
    let data = markup["inline_keyboard"][0][0]["callback_data"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(data.starts_with("s:") && data.ends_with(":1h"), "{data}");
    let press = |id: &str, chat: i64| {
        serde_json::json!({"update_id": 10, "callback_query": {"id": id, "from": {"id": 7, "username": "alice"},
            "message": {"message_id": 1, "chat": {"id": chat}}, "data": data}})
    };
    // A press from another chat is refused.
    bot.lock().pending.push(press("cb0", 42));
    sleep(Duration::from_secs(3)).await;
    assert_eq!(
        call(&core, "GET", "/api/v2/silences", None).await.1.trim(),
        "[]"
    );
    bot.lock().pending.push(press("cb1", -1001234567890));
    sleep(Duration::from_secs(3)).await;
    let (_, b) = call(&core, "GET", "/api/v2/silences", None).await;
    let sils: Vec<Value> = serde_json::from_str(&b).unwrap();
    assert_eq!(sils.len(), 1, "{b}");
    assert_eq!(sils[0]["createdBy"], "telegram:@alice");
    assert_eq!(
        sils[0]["matchers"],
        serde_json::json!([{"isEqual":true,"isRegex":false,"name":"alertname","value":"Btn"}])
    );
    let answers: Vec<Value> = bot
        .lock()
        .calls
        .iter()
        .filter(|(m, _)| m == "answerCallbackQuery")
        .map(|(_, v)| v.clone())
        .collect();
    assert_eq!(answers.len(), 2);
    assert_eq!(answers[0]["text"], "Not allowed from this chat");
    assert!(
        answers[1]["text"]
            .as_str()
            .unwrap()
            .starts_with("Silenced for 1h (")
    );
    token.cancel();
}

#[tokio::test(start_paused = true)]
async fn secrets_and_urls_from_files() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("token"), "999:FROMFILE\n").unwrap();
    std::fs::write(dir.path().join("chat"), "-42\n").unwrap();
    std::fs::write(dir.path().join("url"), "http://127.0.0.1:9/from-file\n").unwrap();
    let d = dir.path().display();
    let yaml = format!(
        r#"
route: {{receiver: r, group_wait: 1s}}
receivers:
  - name: r
    telegram_configs: [{{api_url: 'http://127.0.0.1:9', bot_token_file: '{d}/token', chat_id_file: '{d}/chat'}}]
    webhook_configs: [{{url_file: '{d}/url'}}]
"#
    );
    let rec = Recorder::default();
    let (core, _t) = core_with(&yaml, Some(rec.client()), None);
    post_alerts(&core, r#"[{"labels":{"alertname":"F"}}]"#).await;
    sleep(Duration::from_secs(2)).await;
    let mut urls: Vec<String> = rec
        .requests
        .lock()
        .iter()
        .map(|(_, r)| r.url.clone())
        .collect();
    urls.sort();
    assert_eq!(
        urls,
        [
            "http://127.0.0.1:9/bot999:FROMFILE/sendMessage",
            "http://127.0.0.1:9/from-file"
        ]
    );
    let tg = rec
        .bodies()
        .into_iter()
        .find(|b| b.get("chat_id").is_some())
        .unwrap();
    assert_eq!(tg["chat_id"], "-42");
}
