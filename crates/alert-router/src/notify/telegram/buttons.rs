//! Inline "silence" buttons (opt-in, `--telegram.silence-buttons`): firing notifications
//! carry `Silence 1h` / `Silence 24h` buttons whose `callback_data` is a short key of the
//! group; a poller reads `getUpdates`, looks the key up in the notification log's
//! `receiver_data` (which holds the labels to silence, and is replicated in HA), creates a
//! real silence, and answers the callback. Only presses from the configured chat count, and
//! in HA only the replica at position 0 polls.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::notify::{HttpClient, Integration};
use crate::silence::{Silence, SilenceMatcher};
use crate::state::Core;

/// Durations offered, as (button label, callback suffix, length).
pub const CHOICES: [(&str, &str, u64); 2] =
    [("Silence 1h", "1h", 3600), ("Silence 24h", "24h", 86400)];

/// 16 hex digits identifying a (group, receiver): fits Telegram's 64-byte callback data.
pub fn silence_key(group_key: &str, receiver: &str) -> String {
    let mut h = xxhash_rust::xxh64::Xxh64::new(0);
    h.update(group_key.as_bytes());
    h.update(&[0xff]);
    h.update(receiver.as_bytes());
    format!("{:016x}", h.digest())
}

/// The `reply_markup` JSON with the buttons for `key`.
pub fn keyboard(key: &str) -> String {
    let row: Vec<Value> = CHOICES
        .iter()
        .map(|(text, dur, _)| serde_json::json!({"text": text, "callback_data": format!("s:{key}:{dur}")}))
        .collect();
    serde_json::json!({ "inline_keyboard": [row] }).to_string()
}

#[derive(Debug, Deserialize)]
struct Updates {
    #[serde(default)]
    result: Vec<Update>,
}

#[derive(Debug, Deserialize)]
struct Update {
    update_id: i64,
    #[serde(default)]
    callback_query: Option<Callback>,
}

#[derive(Debug, Deserialize)]
struct Callback {
    id: String,
    #[serde(default)]
    from: Option<User>,
    #[serde(default)]
    message: Option<CallbackMessage>,
    #[serde(default)]
    data: Option<String>,
}

#[derive(Debug, Deserialize)]
struct User {
    id: i64,
    #[serde(default)]
    username: Option<String>,
}

#[derive(Debug, Deserialize)]
struct CallbackMessage {
    chat: Chat,
}

#[derive(Debug, Deserialize)]
struct Chat {
    id: i64,
}

/// Creates the silence a callback asks for; returns the text to answer with.
fn handle(core: &Core, chat: i64, cb: &Callback) -> String {
    if cb.message.as_ref().map(|m| m.chat.id) != Some(chat) {
        return "Not allowed from this chat".into();
    }
    let Some((key, dur)) = cb.data.as_deref().and_then(|d| {
        let mut it = d.splitn(3, ':');
        (it.next() == Some("s")).then_some(())?;
        Some((it.next()?.to_owned(), it.next()?.to_owned()))
    }) else {
        return "Unknown button".into();
    };
    let Some((_, _, secs)) = CHOICES.iter().find(|(_, d, _)| *d == dur) else {
        return "Unknown duration".into();
    };
    let labels: Option<BTreeMap<String, String>> =
        core.nflog.entries().into_iter().find_map(|(_, e)| {
            (e.receiver_data.get("silence_key").and_then(Value::as_str) == Some(key.as_str()))
                .then(|| {
                    serde_json::from_value(e.receiver_data.get("silence_labels")?.clone()).ok()
                })
                .flatten()
        });
    let Some(labels) = labels.filter(|l| !l.is_empty()) else {
        return "This alert group is no longer known".into();
    };
    let now = core.clock.now();
    let who = match &cb.from {
        Some(User {
            username: Some(u), ..
        }) => format!("telegram:@{u}"),
        Some(User { id, .. }) => format!("telegram:{id}"),
        None => "telegram".into(),
    };
    let sil = Silence {
        id: String::new(),
        matchers: labels
            .into_iter()
            .map(|(name, value)| SilenceMatcher {
                name,
                value,
                is_regex: false,
                is_equal: true,
            })
            .collect(),
        starts_at: now,
        ends_at: now + chrono::Duration::seconds(*secs as i64),
        updated_at: now,
        created_by: who,
        comment: "silenced from Telegram".into(),
    };
    match core.silences.set(sil, now) {
        Ok(id) => {
            core.cluster_changed();
            format!("Silenced for {dur} ({id})")
        }
        Err(e) => format!("Could not silence: {e}"),
    }
}

/// Polls every bot with buttons enabled, every `interval`, until `shutdown`.
pub async fn poll(
    core: Arc<Core>,
    client: HttpClient,
    interval: Duration,
    shutdown: CancellationToken,
) {
    let mut offsets: HashMap<String, i64> = HashMap::new();
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(interval) => {}
        }
        if core.cluster.as_ref().is_some_and(|c| c.position() != 0) {
            continue;
        }
        let rt = core.runtime();
        let mut seen = std::collections::HashSet::new();
        for slots in rt.receivers.values() {
            for slot in slots.iter() {
                let Integration::Telegram(t) = &slot.integration else {
                    continue;
                };
                let Some((api, token, chat)) = t.bot() else {
                    continue;
                };
                let base = format!("{}/bot{token}", api.trim_end_matches('/'));
                if !seen.insert((base.clone(), chat)) {
                    continue;
                }
                let (transport, http) = t.transport();
                let offset = offsets.get(&base).copied().unwrap_or(0);
                let body = serde_json::json!({"offset": offset, "timeout": 0, "allowed_updates": ["callback_query"]});
                let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
                let resp = client
                    .post_json(
                        transport,
                        &format!("{base}/getUpdates"),
                        body.to_string().into_bytes(),
                        http,
                        super::USER_AGENT,
                        deadline,
                    )
                    .await;
                let Ok(resp) = resp else { continue };
                let Ok(updates) = serde_json::from_slice::<Updates>(&resp.body) else {
                    continue;
                };
                for u in updates.result {
                    offsets.insert(base.clone(), u.update_id + 1);
                    let Some(cb) = u.callback_query else { continue };
                    let text = handle(&core, chat, &cb);
                    tracing::info!(callback = %cb.id, answer = %text, "telegram silence button");
                    let answer = serde_json::json!({"callback_query_id": cb.id, "text": text});
                    let _ = client
                        .post_json(
                            transport,
                            &format!("{base}/answerCallbackQuery"),
                            answer.to_string().into_bytes(),
                            http,
                            super::USER_AGENT,
                            deadline,
                        )
                        .await;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callback_data_fits_telegram_limits() {
        let key = silence_key("{}/{team=\"db\"}:{alertname=\"DiskFull\"}", "tg");
        assert_eq!(key.len(), 16);
        let kb: Value = serde_json::from_str(&keyboard(&key)).unwrap();
        for b in kb["inline_keyboard"][0].as_array().unwrap() {
            assert!(b["callback_data"].as_str().unwrap().len() <= 64);
        }
    }
}
