//! The Telegram integration: the `sendMessage` request Alertmanager 0.25 sends (JSON, every
//! value a string, HTML by default), made reliable: correct escaping per parse mode, a
//! plain-text resend when Telegram still answers `can't parse entities`, splitting at the
//! 4096-character limit instead of truncating, `retry_after` honoured on 429 and backoff
//! on 5xx, each part retried on its own so no part is sent twice.

pub mod buttons;
pub mod format;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use lgtm_template::{Env, Escape, TemplateSet};

use serde_yaml_ng::Value;

use self::format::{ParseMode, default_message, split, to_plain};
use super::{Data, HttpClient, NotifyCtx, NotifyError, Transport, backoff, build_transport};
use crate::alert::Alert;
use crate::config::{GlobalConfig, HttpConfig, TelegramConfig};

/// `User-Agent` Alertmanager's Telegram client sends.
pub const USER_AGENT: &str = "Go-http-client/1.1";

/// `message_thread_id`: fixed, or from the group's labels.
#[derive(Clone, Debug, PartialEq)]
pub enum ThreadId {
    /// A topic id.
    Fixed(i64),
    /// A Go template over the notification data (e.g. `{{ .CommonLabels.topic }}`).
    Template(String),
}

/// One Telegram chat.
#[derive(Debug)]
pub struct Telegram {
    api_url: String,
    bot_token: Option<String>,
    bot_token_file: Option<String>,
    chat_id: Option<i64>,
    chat_id_file: Option<String>,
    thread: Option<ThreadId>,
    mode: ParseMode,
    disable_notifications: bool,
    http: HttpConfig,
    transport: Transport,
    message: Option<String>,
    templates: Arc<TemplateSet>,
    /// Edit the group's previous message(s) instead of posting new ones.
    edit_messages: bool,
    /// Offer "silence 1h / 24h" buttons under firing notifications.
    silence_buttons: bool,
    /// When the next message to this chat may leave (per-chat pacing).
    next_send: tokio::sync::Mutex<Option<tokio::time::Instant>>,
}

/// Minimum gap between two messages to one chat (Telegram's published guidance is about one
/// message a second per chat); a 429 `retry_after` still wins.
pub const PER_CHAT_INTERVAL: Duration = Duration::from_secs(1);

impl Telegram {
    /// Builds the sender, inheriting global defaults.
    pub fn new(c: &TelegramConfig, global: &GlobalConfig, templates: Arc<TemplateSet>) -> Self {
        let thread = match &c.message_thread_id {
            Some(Value::Number(n)) => n.as_i64().map(ThreadId::Fixed),
            Some(Value::String(s)) => match s.trim().parse::<i64>() {
                Ok(n) => Some(ThreadId::Fixed(n)),
                Err(_) => Some(ThreadId::Template(s.clone())),
            },
            _ => None,
        };
        let http = c
            .http_config
            .clone()
            .unwrap_or_else(|| global.http_config.clone());
        Self {
            transport: build_transport(&http, USER_AGENT),
            api_url: c
                .api_url
                .clone()
                .unwrap_or_else(|| global.telegram_api_url.clone()),
            bot_token: c
                .bot_token
                .clone()
                .or_else(|| global.telegram_bot_token.clone()),
            bot_token_file: c
                .bot_token_file
                .clone()
                .or_else(|| global.telegram_bot_token_file.clone()),
            chat_id: c.chat_id,
            chat_id_file: c.chat_id_file.clone(),
            thread,
            mode: ParseMode::from_config(c.parse_mode.as_deref()),
            disable_notifications: c.disable_notifications,
            http,
            message: c.message.clone(),
            templates,
            next_send: tokio::sync::Mutex::new(None),
            edit_messages: false,
            silence_buttons: false,
        }
    }

    /// Turns the silence buttons on (`--telegram.silence-buttons`).
    pub fn with_buttons(mut self, on: bool) -> Self {
        self.silence_buttons = on;
        self
    }

    /// The bot behind this integration, for the callback poller: (`api_url`, token, chat).
    pub fn bot(&self) -> Option<(String, String, i64)> {
        if !self.silence_buttons {
            return None;
        }
        Some((self.api_url.clone(), self.token().ok()?, self.chat().ok()?))
    }

    /// The transport and HTTP settings of this integration (for the callback poller).
    pub fn transport(&self) -> (&Transport, &HttpConfig) {
        (&self.transport, &self.http)
    }

    /// Turns edit-instead-of-post on (`--telegram.edit-messages`).
    pub fn with_edits(mut self, on: bool) -> Self {
        self.edit_messages = on;
        self
    }

    fn token(&self) -> Result<String, NotifyError> {
        match (&self.bot_token, &self.bot_token_file) {
            (Some(t), _) => Ok(t.clone()),
            (None, Some(f)) => std::fs::read_to_string(f)
                .map(|s| s.trim().to_owned())
                .map_err(|e| NotifyError::permanent(format!("read bot_token_file: {e}"))),
            (None, None) => Err(NotifyError::permanent("missing bot_token")),
        }
    }

    fn chat(&self) -> Result<i64, NotifyError> {
        match (self.chat_id, &self.chat_id_file) {
            (Some(c), _) => Ok(c),
            (None, Some(f)) => std::fs::read_to_string(f)
                .map_err(|e| NotifyError::permanent(format!("read chat_id_file: {e}")))?
                .trim()
                .parse()
                .map_err(|e| NotifyError::permanent(format!("chat_id_file: {e}"))),
            (None, None) => Err(NotifyError::permanent("missing chat_id")),
        }
    }

    /// The messages to send for this notification (one unless the text is too long).
    ///
    /// The default message is rendered natively (byte-identical to Alertmanager's in HTML
    /// mode, escaped for MarkdownV2) so that it can be split at alert boundaries; a custom
    /// `message` goes through the Go template engine (`html/template` escaping in HTML mode)
    /// and is split at line boundaries.
    pub fn messages(&self, ctx: &NotifyCtx, alerts: &[Alert]) -> Result<Vec<String>, NotifyError> {
        let data = Data::new(
            &ctx.receiver,
            &ctx.group_labels,
            alerts,
            &ctx.external_url,
            ctx.now,
        );
        let (text, bounds) = match &self.message {
            None => default_message(&data, self.mode),
            Some(tmpl) => {
                let env = Env {
                    escape: if self.mode == ParseMode::Html {
                        Escape::Html
                    } else {
                        Escape::Text
                    },
                    ..Env::default()
                };
                let value = super::template_data(&data, alerts).to_value();
                let text = self
                    .templates
                    .render_with(tmpl, &value, &env)
                    .map_err(|e| {
                        NotifyError::permanent(format!("telegram: rendering message template: {e}"))
                    })?;
                (text, Vec::new())
            }
        };
        Ok(split(&text, &bounds, self.mode))
    }

    fn thread_id(&self, data: &Data, alerts: &[Alert]) -> Result<Option<String>, NotifyError> {
        match &self.thread {
            None => Ok(None),
            Some(ThreadId::Fixed(n)) => Ok(Some(n.to_string())),
            Some(ThreadId::Template(t)) => {
                let value = super::template_data(data, alerts).to_value();
                let out = self.templates.render(t, &value).map_err(|e| {
                    NotifyError::permanent(format!("telegram: rendering message_thread_id: {e}"))
                })?;
                let out = out.trim();
                if out.is_empty() {
                    return Ok(None);
                }
                out.parse::<i64>()
                    .map(|n| Some(n.to_string()))
                    .map_err(|_| {
                        NotifyError::permanent(format!(
                            "telegram: message_thread_id template gave {out:?}, not a number"
                        ))
                    })
            }
        }
    }

    /// The JSON body of one `editMessageText` (same conventions as `sendMessage`).
    pub fn edit_body(
        &self,
        chat: i64,
        message_id: i64,
        text: &str,
        mode: ParseMode,
        markup: Option<&str>,
    ) -> Vec<u8> {
        let mut m: BTreeMap<&str, String> = BTreeMap::new();
        if let Some(markup) = markup {
            m.insert("reply_markup", markup.to_owned());
        }
        m.insert("chat_id", chat.to_string());
        m.insert("message_id", message_id.to_string());
        m.insert("text", text.to_owned());
        m.insert("disable_web_page_preview", "true".into());
        if let Some(p) = mode.api_value() {
            m.insert("parse_mode", p.into());
        }
        serde_json::to_vec(&m).unwrap_or_default()
    }

    /// Asks the Bot API whether the bot can reach the chat (`getChat`) and, for a fixed
    /// `message_thread_id`, the topic (`sendChatAction`, the only read-like call that names a
    /// topic: the topic shows "typing…" for a few seconds), so a wrong chat, topic or token
    /// fails at load instead of at the first alert. Only Telegram's own refusals are errors;
    /// an unreachable API is logged and accepted (offline start-up must work). Templated
    /// topics depend on the alerts and are checked when they are rendered.
    pub async fn verify_chat(&self, client: &HttpClient) -> Result<(), String> {
        let (Ok(token), Ok(chat)) = (self.token(), self.chat()) else {
            return Ok(());
        };
        let chat_id = chat.to_string();
        self.verify_call(
            client,
            &token,
            "getChat",
            BTreeMap::from([("chat_id", chat_id.clone())]),
        )
        .await
        .map_err(|e| format!("telegram chat {chat}: {e}"))?;
        if let Some(ThreadId::Fixed(topic)) = &self.thread {
            let body = BTreeMap::from([
                ("action", "typing".to_owned()),
                ("chat_id", chat_id),
                ("message_thread_id", topic.to_string()),
            ]);
            self.verify_call(client, &token, "sendChatAction", body)
                .await
                .map_err(|e| format!("telegram chat {chat} topic {topic}: {e}"))?;
        }
        Ok(())
    }

    /// One verification call: `Err` only when Telegram itself refuses (400/401/403/404).
    async fn verify_call(
        &self,
        client: &HttpClient,
        token: &str,
        method: &str,
        body: BTreeMap<&str, String>,
    ) -> Result<(), String> {
        let url = format!("{}/bot{token}/{method}", self.api_url.trim_end_matches('/'));
        let body = serde_json::to_vec(&body).unwrap_or_default();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        match client
            .post_json(
                &self.transport,
                &url,
                body,
                &self.http,
                USER_AGENT,
                deadline,
            )
            .await
        {
            Ok(resp) if (200..300).contains(&resp.status) => Ok(()),
            Ok(resp) if matches!(resp.status, 400 | 401 | 403 | 404) => {
                let api: ApiError = serde_json::from_slice(&resp.body).unwrap_or_default();
                let desc = api
                    .description
                    .unwrap_or_else(|| String::from_utf8_lossy(&resp.body).into_owned());
                Err(format!("{} {desc}", resp.status))
            }
            Ok(resp) => {
                tracing::warn!(
                    method,
                    status = resp.status,
                    "telegram verification inconclusive; chat not verified"
                );
                Ok(())
            }
            Err(e) => {
                tracing::warn!(method, error = %e, "telegram API unreachable; chat not verified");
                Ok(())
            }
        }
    }

    /// The JSON body of one `sendMessage` (keys sorted, values strings, as telebot sends).
    pub fn request_body(
        &self,
        chat: i64,
        thread: Option<&str>,
        text: &str,
        mode: ParseMode,
        markup: Option<&str>,
    ) -> Vec<u8> {
        let mut m: BTreeMap<&str, String> = BTreeMap::new();
        if let Some(markup) = markup {
            m.insert("reply_markup", markup.to_owned());
        }
        m.insert("chat_id", chat.to_string());
        m.insert("text", text.to_owned());
        m.insert("disable_web_page_preview", "true".into());
        if let Some(p) = mode.api_value() {
            m.insert("parse_mode", p.into());
        }
        if self.disable_notifications {
            m.insert("disable_notification", "true".into());
        }
        if let Some(t) = thread {
            m.insert("message_thread_id", t.to_owned());
        }
        serde_json::to_vec(&m).unwrap_or_default()
    }

    /// Sends every part, each retried on its own until the deadline; returns the message
    /// ids for the notification log. With edits on, a group that already has messages (and
    /// the same number of parts) gets them edited instead.
    pub async fn notify(
        &self,
        ctx: &NotifyCtx,
        alerts: &[Alert],
        client: &HttpClient,
    ) -> Result<BTreeMap<String, serde_json::Value>, NotifyError> {
        let token = self.token()?;
        let chat = self.chat()?;
        let data = Data::new(
            &ctx.receiver,
            &ctx.group_labels,
            alerts,
            &ctx.external_url,
            ctx.now,
        );
        let thread = self.thread_id(&data, alerts)?;
        let base = format!("{}/bot{token}", self.api_url.trim_end_matches('/'));
        let parts = self.messages(ctx, alerts)?;
        let previous: Vec<i64> = if self.edit_messages
            && ctx.reason != "first notification"
            && ctx
                .receiver_data
                .get("chat_id")
                .and_then(serde_json::Value::as_i64)
                == Some(chat)
        {
            ctx.receiver_data
                .get("message_ids")
                .and_then(serde_json::Value::as_array)
                .map(|ids| ids.iter().filter_map(serde_json::Value::as_i64).collect())
                .unwrap_or_default()
        } else {
            Vec::new()
        };
        let edit = !previous.is_empty() && previous.len() == parts.len();
        let firing = data.status == "firing";
        let key = buttons::silence_key(&ctx.group_key, &ctx.receiver);
        let markup = (self.silence_buttons && firing).then(|| buttons::keyboard(&key));
        let mut ids = Vec::with_capacity(parts.len());
        for (i, part) in parts.iter().enumerate() {
            let target = if edit { previous.get(i).copied() } else { None };
            let last = i + 1 == parts.len();
            let id = self
                .send_part(
                    &base,
                    chat,
                    thread.as_deref(),
                    part,
                    target,
                    markup.as_deref().filter(|_| last),
                    ctx,
                    client,
                )
                .await?;
            ids.push(id.or(target).unwrap_or_default());
        }
        let mut out = BTreeMap::from([
            ("chat_id".to_owned(), serde_json::Value::from(chat)),
            ("message_ids".to_owned(), serde_json::Value::from(ids)),
        ]);
        if self.silence_buttons {
            // What a button press silences: the group labels, else the common labels.
            let labels = if data.group_labels.is_empty() {
                &data.common_labels
            } else {
                &data.group_labels
            };
            out.insert("silence_key".to_owned(), serde_json::Value::from(key));
            out.insert(
                "silence_labels".to_owned(),
                serde_json::to_value(labels).unwrap_or_default(),
            );
        }
        Ok(out)
    }

    #[allow(clippy::too_many_arguments)]
    async fn send_part(
        &self,
        base: &str,
        chat: i64,
        thread: Option<&str>,
        text: &str,
        mut edit: Option<i64>,
        markup: Option<&str>,
        ctx: &NotifyCtx,
        client: &HttpClient,
    ) -> Result<Option<i64>, NotifyError> {
        let mut mode = self.mode;
        let mut body_text = text.to_owned();
        let mut attempt = 0u32;
        // One message at a time per chat, at most one per PER_CHAT_INTERVAL.
        let mut next_send = self.next_send.lock().await;
        loop {
            if let Some(at) = *next_send
                && at > tokio::time::Instant::now()
            {
                if at > ctx.deadline {
                    return Err(NotifyError::permanent(
                        "telegram: chat busy until after the deadline",
                    ));
                }
                tokio::time::sleep_until(at).await;
            }
            *next_send = Some(tokio::time::Instant::now() + PER_CHAT_INTERVAL);
            let (url, body) = match edit {
                Some(id) => (
                    format!("{base}/editMessageText"),
                    self.edit_body(chat, id, &body_text, mode, markup),
                ),
                None => (
                    format!("{base}/sendMessage"),
                    self.request_body(chat, thread, &body_text, mode, markup),
                ),
            };
            let result = client
                .post_json(
                    &self.transport,
                    &url,
                    body,
                    &self.http,
                    USER_AGENT,
                    ctx.deadline,
                )
                .await;
            let err = match result {
                Ok(resp) if (200..300).contains(&resp.status) => {
                    let ok: ApiOk = serde_json::from_slice(&resp.body).unwrap_or_default();
                    return Ok(ok.result.and_then(|r| r.message_id));
                }
                Ok(resp) => {
                    let api: ApiError = serde_json::from_slice(&resp.body).unwrap_or_default();
                    let desc = api
                        .description
                        .unwrap_or_else(|| String::from_utf8_lossy(&resp.body).into_owned());
                    if resp.status == 400
                        && desc.contains("can't parse entities")
                        && mode != ParseMode::Plain
                    {
                        tracing::warn!(receiver = %ctx.receiver, error = %desc, "telegram rejected the markup; resending as plain text");
                        body_text = to_plain(&body_text, mode);
                        mode = ParseMode::Plain;
                        continue;
                    }
                    if resp.status == 400 && desc.contains("message is not modified") {
                        return Ok(edit);
                    }
                    if resp.status == 400
                        && edit.is_some()
                        && desc.contains("message to edit not found")
                    {
                        // Deleted by someone: post a new message instead.
                        edit = None;
                        continue;
                    }
                    let retry_after = api
                        .parameters
                        .and_then(|p| p.retry_after)
                        .map(Duration::from_secs);
                    let retry = resp.status == 429 || resp.status >= 500;
                    NotifyError {
                        retry,
                        retry_after,
                        message: format!("telegram: {} {desc}", resp.status),
                    }
                }
                Err(e) => e,
            };
            if !err.retry {
                return Err(err);
            }
            let wait = err.retry_after.unwrap_or_else(|| backoff(attempt));
            attempt += 1;
            if tokio::time::Instant::now() + wait > ctx.deadline {
                return Err(NotifyError::permanent(format!(
                    "{} (giving up: deadline)",
                    err.message
                )));
            }
            tracing::debug!(receiver = %ctx.receiver, wait_ms = wait.as_millis() as u64, error = %err.message, "telegram: retrying");
            tokio::time::sleep(wait).await;
        }
    }
}

#[derive(Debug, Default, serde::Deserialize)]
struct ApiOk {
    #[serde(default)]
    result: Option<ApiMessage>,
}

#[derive(Debug, Default, serde::Deserialize)]
struct ApiMessage {
    #[serde(default)]
    message_id: Option<i64>,
}

#[derive(Debug, Default, serde::Deserialize)]
struct ApiError {
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    parameters: Option<ApiParams>,
}

#[derive(Debug, Default, serde::Deserialize)]
struct ApiParams {
    #[serde(default)]
    retry_after: Option<u64>,
}
