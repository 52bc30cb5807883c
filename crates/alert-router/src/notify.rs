//! Notification integrations and what they share: the template data model
//! (`template.Data`), the HTTP client, errors and the retry policy (`notify/retry_stage.go`).

pub mod telegram;
pub mod webhook;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, Utc};
pub use lgtm_common::http_client::client::reqwest;
use lgtm_common::labels::Labels;
use serde::Serialize;

use crate::alert::Alert;
use crate::config::{GlobalConfig, HttpConfig, ReceiverConfig};
use crate::model::{go_rfc3339_nano, quote_meta};

/// A failed delivery attempt.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct NotifyError {
    /// Worth retrying (5xx, network errors, 429).
    pub retry: bool,
    /// Server-requested wait before the next attempt (Telegram `retry_after`).
    pub retry_after: Option<Duration>,
    /// What went wrong.
    pub message: String,
}

impl NotifyError {
    /// A permanent failure.
    pub fn permanent(message: impl Into<String>) -> Self {
        Self {
            retry: false,
            retry_after: None,
            message: message.into(),
        }
    }

    /// A failure worth retrying.
    pub fn transient(message: impl Into<String>) -> Self {
        Self {
            retry: true,
            retry_after: None,
            message: message.into(),
        }
    }
}

/// One alert in notification data (`template.Alert`; the webhook payload's alert shape).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct DataAlert {
    /// `firing` or `resolved`.
    pub status: &'static str,
    /// Labels.
    pub labels: Labels,
    /// Annotations.
    pub annotations: BTreeMap<String, String>,
    /// Go RFC 3339 with nanoseconds.
    #[serde(rename = "startsAt")]
    pub starts_at: String,
    /// Zero time (`0001-01-01T00:00:00Z`) while firing.
    #[serde(rename = "endsAt")]
    pub ends_at: String,
    /// Link to the rule.
    #[serde(rename = "generatorURL")]
    pub generator_url: String,
    /// 16 hex digits.
    pub fingerprint: String,
}

/// Notification data (`template.Data`).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Data {
    /// Receiver name, regexp-quoted as Alertmanager does.
    pub receiver: String,
    /// `firing` if any alert fires, else `resolved`.
    pub status: &'static str,
    /// The alerts.
    pub alerts: Vec<DataAlert>,
    /// Grouping labels.
    #[serde(rename = "groupLabels")]
    pub group_labels: Labels,
    /// Labels equal across all alerts.
    #[serde(rename = "commonLabels")]
    pub common_labels: Labels,
    /// Annotations equal across all alerts.
    #[serde(rename = "commonAnnotations")]
    pub common_annotations: BTreeMap<String, String>,
    /// `--web.external-url`.
    #[serde(rename = "externalURL")]
    pub external_url: String,
}

impl Data {
    /// Builds the data for a batch of alerts (firing ones already carry a zero `endsAt`).
    pub fn new(
        receiver: &str,
        group_labels: &Labels,
        alerts: &[Alert],
        external_url: &str,
        now: DateTime<Utc>,
    ) -> Self {
        let mut data_alerts = Vec::with_capacity(alerts.len());
        let mut any_firing = false;
        for a in alerts {
            let firing = !a.resolved_at(now);
            any_firing |= firing;
            data_alerts.push(DataAlert {
                status: if firing { "firing" } else { "resolved" },
                labels: a.labels.clone(),
                annotations: a.annotations.clone(),
                starts_at: go_rfc3339_nano(&a.starts_at),
                ends_at: go_rfc3339_nano(&a.ends_at),
                generator_url: a.generator_url.clone(),
                fingerprint: crate::model::fingerprint_hex(a.fingerprint),
            });
        }
        let (mut common_labels, mut common_annotations) = match alerts.first() {
            Some(a) => (a.labels.clone(), a.annotations.clone()),
            None => (Labels::empty(), BTreeMap::new()),
        };
        for a in alerts.iter().skip(1) {
            let keep: Vec<String> = common_labels
                .iter()
                .filter(|l| a.labels.get(&l.name) == Some(l.value.as_str()))
                .map(|l| l.name.clone())
                .collect();
            common_labels = common_labels.keep(&keep);
            common_annotations.retain(|k, v| a.annotations.get(k) == Some(v));
        }
        Self {
            receiver: quote_meta(receiver),
            status: if any_firing { "firing" } else { "resolved" },
            alerts: data_alerts,
            group_labels: group_labels.clone(),
            common_labels,
            common_annotations,
            external_url: external_url.to_owned(),
        }
    }

    /// Firing alerts.
    pub fn firing(&self) -> impl Iterator<Item = &DataAlert> {
        self.alerts.iter().filter(|a| a.status == "firing")
    }

    /// Resolved alerts.
    pub fn resolved(&self) -> impl Iterator<Item = &DataAlert> {
        self.alerts.iter().filter(|a| a.status == "resolved")
    }
}

/// The data notification templates execute against (`lgtm_template`'s Alertmanager model).
pub fn template_data(d: &Data, alerts: &[Alert]) -> lgtm_template::alertmanager::Data {
    use lgtm_template::Time;
    let map = |l: &Labels| {
        l.iter()
            .map(|l| (l.name.clone(), l.value.clone()))
            .collect()
    };
    lgtm_template::alertmanager::Data {
        receiver: d.receiver.clone(),
        status: d.status.to_owned(),
        alerts: alerts
            .iter()
            .zip(&d.alerts)
            .map(|(a, da)| lgtm_template::alertmanager::Alert {
                status: da.status.to_owned(),
                labels: map(&a.labels),
                annotations: a.annotations.clone(),
                starts_at: Time::from(a.starts_at),
                ends_at: if crate::model::is_zero_time(&a.ends_at) {
                    Time::zero()
                } else {
                    Time::from(a.ends_at)
                },
                generator_url: a.generator_url.clone(),
                fingerprint: da.fingerprint.clone(),
            })
            .collect(),
        group_labels: map(&d.group_labels),
        common_labels: map(&d.common_labels),
        common_annotations: d.common_annotations.clone(),
        external_url: d.external_url.clone(),
    }
}

/// What every integration is told about the notification.
#[derive(Clone, Debug)]
pub struct NotifyCtx {
    /// Aggregation group key.
    pub group_key: String,
    /// Receiver name.
    pub receiver: String,
    /// Group labels.
    pub group_labels: Labels,
    /// `--web.external-url`.
    pub external_url: String,
    /// Notification time.
    pub now: DateTime<Utc>,
    /// Give up after this instant.
    pub deadline: tokio::time::Instant,
    /// Why this notification is sent (`first notification`, `new alerts added`, ...).
    pub reason: &'static str,
    /// The integration's data from this group's last notification (nflog `receiver_data`).
    pub receiver_data: BTreeMap<String, serde_json::Value>,
}

/// Behaviour switches of integrations that go beyond Alertmanager (opt-in by flag, so the
/// configuration file stays Alertmanager's).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IntegrationOptions {
    /// `--telegram.edit-messages`: edit a group's Telegram message when it changes or
    /// resolves instead of posting a new one.
    pub telegram_edit_messages: bool,
    /// `--telegram.silence-buttons`: "silence 1h / 24h" buttons under firing Telegram
    /// notifications, answered by polling `getUpdates`.
    pub telegram_silence_buttons: bool,
}

/// A built client for one integration (TLS, proxy and redirect settings of its
/// `http_config`), or why it could not be built.
pub type Transport = Result<reqwest::Client, String>;

/// Builds the client of one integration.
pub fn build_transport(http: &HttpConfig, user_agent: &str) -> Transport {
    lgtm_common::http_client::client::build(http, user_agent).map_err(|e| e.to_string())
}

/// How requests leave the process: real clients, or an in-process fake so that tests on
/// paused tokio time involve no socket.
#[derive(Clone, Default)]
pub struct HttpClient {
    fake: Option<FakeHandler>,
}

/// A request seen by a fake transport.
#[derive(Debug, Clone)]
pub struct FakeRequest {
    /// Full URL.
    pub url: String,
    /// Headers (lowercase names).
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Bytes,
}

/// Answers requests in tests.
pub type FakeHandler = Arc<dyn Fn(FakeRequest) -> HttpResponse + Send + Sync>;

impl std::fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.fake.is_some() {
            "HttpClient(fake)"
        } else {
            "HttpClient(real)"
        })
    }
}

/// A response: status and body.
#[derive(Debug)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// Body bytes.
    pub body: Bytes,
}

impl HttpClient {
    /// A client whose requests are answered in-process by `handler`.
    pub fn fake(handler: FakeHandler) -> Self {
        Self {
            fake: Some(handler),
        }
    }

    /// POSTs a JSON body with the auth of `http`, bounded by `deadline`.
    pub async fn post_json(
        &self,
        transport: &Transport,
        url: &str,
        body: Vec<u8>,
        http: &HttpConfig,
        user_agent: &str,
        deadline: tokio::time::Instant,
    ) -> Result<HttpResponse, NotifyError> {
        let auth = http
            .authorization_header()
            .map_err(|e| NotifyError::permanent(format!("reading credentials: {e}")))?;
        let mut headers: Vec<(String, String)> = vec![
            ("content-type".to_owned(), "application/json".to_owned()),
            ("user-agent".to_owned(), user_agent.to_owned()),
        ];
        if let Some(v) = auth {
            headers.push(("authorization".to_owned(), v));
        }
        if let Some(serde_yaml_ng::Value::Mapping(m)) = &http.http_headers {
            for (k, v) in m {
                let (Some(k), Some(vals)) =
                    (k.as_str(), v.get("values").and_then(|v| v.as_sequence()))
                else {
                    continue;
                };
                for val in vals.iter().filter_map(|v| v.as_str()) {
                    headers.push((k.to_ascii_lowercase(), val.to_owned()));
                }
            }
        }
        if let Some(handler) = &self.fake {
            return Ok(handler(FakeRequest {
                url: url.to_owned(),
                headers,
                body: Bytes::from(body),
            }));
        }
        let client = transport
            .as_ref()
            .map_err(|e| NotifyError::permanent(e.clone()))?;
        let mut req = client.post(url).body(body);
        for (k, v) in &headers {
            req = req.header(k.as_str(), v.as_str());
        }
        let fut = async {
            let resp = req
                .send()
                .await
                .map_err(|e| NotifyError::transient(format!("POST {url}: {e}")))?;
            let status = resp.status().as_u16();
            let body = resp
                .bytes()
                .await
                .map_err(|e| NotifyError::transient(format!("reading response of {url}: {e}")))?;
            Ok(HttpResponse { status, body })
        };
        match tokio::time::timeout_at(deadline, fut).await {
            Ok(r) => r,
            Err(_) => Err(NotifyError::permanent(format!(
                "POST {url}: context deadline exceeded"
            ))),
        }
    }
}

/// One `*_configs` entry of a receiver, ready to send.
#[derive(Debug)]
pub enum Integration {
    /// `webhook_configs`.
    Webhook(webhook::Webhook),
    /// `telegram_configs`.
    Telegram(telegram::Telegram),
    /// A kind we do not implement: every notification fails and is counted.
    Unsupported(&'static str),
}

/// An integration with its identity in the notification log.
#[derive(Debug)]
pub struct IntegrationSlot {
    /// `webhook`, `telegram`, `slack`...
    pub name: &'static str,
    /// Index among the receiver's integrations of the same kind (as Alertmanager counts).
    pub idx: u32,
    /// Whether resolved alerts are sent.
    pub send_resolved: bool,
    /// The sender.
    pub integration: Integration,
}

impl IntegrationSlot {
    /// Delivers `alerts` once (no retry); returns the receiver data to keep in the nflog.
    pub async fn notify(
        &self,
        ctx: &NotifyCtx,
        alerts: &[Alert],
        client: &HttpClient,
    ) -> Result<BTreeMap<String, serde_json::Value>, NotifyError> {
        match &self.integration {
            Integration::Webhook(w) => w
                .notify(ctx, alerts, client)
                .await
                .map(|()| ctx.receiver_data.clone()),
            Integration::Telegram(t) => t.notify(ctx, alerts, client).await,
            Integration::Unsupported(kind) => Err(NotifyError::permanent(format!(
                "receiver {}: {kind} not supported by alert-router",
                ctx.receiver
            ))),
        }
    }
}

/// Builds the integrations of a receiver (Alertmanager's `BuildReceiverIntegrations`).
pub fn build_receiver(
    r: &ReceiverConfig,
    global: &GlobalConfig,
    templates: &Arc<lgtm_template::TemplateSet>,
    options: IntegrationOptions,
) -> Vec<IntegrationSlot> {
    let mut out = Vec::new();
    for (i, w) in r.webhook_configs.iter().enumerate() {
        out.push(IntegrationSlot {
            name: "webhook",
            idx: i as u32,
            send_resolved: w.send_resolved.unwrap_or(true),
            integration: Integration::Webhook(webhook::Webhook::new(w, global)),
        });
    }
    for (i, t) in r.telegram_configs.iter().enumerate() {
        out.push(IntegrationSlot {
            name: "telegram",
            idx: i as u32,
            send_resolved: t.send_resolved.unwrap_or(true),
            integration: Integration::Telegram(
                telegram::Telegram::new(t, global, templates.clone())
                    .with_edits(options.telegram_edit_messages)
                    .with_buttons(options.telegram_silence_buttons),
            ),
        });
    }
    for (kind, n) in r.unsupported() {
        let name = kind.trim_end_matches("_configs");
        let name: &'static str = UNSUPPORTED_NAMES
            .iter()
            .find(|k| **k == name)
            .copied()
            .unwrap_or("unsupported");
        for i in 0..n {
            out.push(IntegrationSlot {
                name,
                idx: i as u32,
                send_resolved: false,
                integration: Integration::Unsupported(kind),
            });
        }
    }
    out
}

/// Integration names Alertmanager registers metrics for.
pub const INTEGRATION_NAMES: &[&str] = &[
    "discord",
    "email",
    "jira",
    "mattermost",
    "msteams",
    "msteamsv2",
    "opsgenie",
    "pagerduty",
    "pushover",
    "rocketchat",
    "slack",
    "sns",
    "telegram",
    "victorops",
    "webex",
    "webhook",
    "wechat",
];

const UNSUPPORTED_NAMES: &[&str] = &[
    "email",
    "discord",
    "jira",
    "mattermost",
    "msteams",
    "msteamsv2",
    "opsgenie",
    "pagerduty",
    "incidentio",
    "pushover",
    "rocketchat",
    "slack",
    "sns",
    "victorops",
    "webex",
    "wechat",
];

/// Exponential backoff as cenkalti/backoff's defaults: 500 ms, ×1.5, ±50 % jitter, ≤ 60 s.
pub fn backoff(attempt: u32) -> Duration {
    let base = 0.5 * 1.5f64.powi(attempt.min(30) as i32);
    let base = base.min(60.0);
    let mut r = [0u8; 2];
    let jitter = if getrandom::fill(&mut r).is_ok() {
        f64::from(u16::from_le_bytes(r)) / f64::from(u16::MAX)
    } else {
        0.5
    };
    Duration::from_secs_f64(base * (0.5 + jitter))
}

/// Shared, cheaply clonable receivers of one configuration.
pub type Receivers = Arc<BTreeMap<String, Arc<Vec<IntegrationSlot>>>>;
