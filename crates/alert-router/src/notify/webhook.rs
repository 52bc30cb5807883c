//! The webhook integration: Alertmanager's payload version 4, `max_alerts` truncation,
//! retry on 5xx and network errors only (`notify/webhook/webhook.go`).

use chrono::{DateTime, Utc};
use lgtm_common::labels::{Label, Labels};
use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};

use super::{Data, HttpClient, NotifyCtx, NotifyError, Transport, build_transport};
use crate::alert::Alert;
use crate::config::{GlobalConfig, HttpConfig, WebhookConfig};
use crate::model::{go_rfc3339_nano, quote_meta};

/// `User-Agent` of our outgoing notifications.
pub const USER_AGENT: &str = concat!("alert-router/", env!("CARGO_PKG_VERSION"));

/// One webhook endpoint.
#[derive(Debug)]
pub struct Webhook {
    url: Option<String>,
    url_file: Option<String>,
    max_alerts: u64,
    http: HttpConfig,
    timeout: Option<std::time::Duration>,
    transport: Transport,
    /// Smooths bursts (many groups flushing in the same milliseconds): see [`IN_FLIGHT`].
    in_flight: tokio::sync::Semaphore,
}

/// Requests one webhook endpoint has in flight before a new one waits (at most
/// [`IN_FLIGHT_WAIT`]) for one to finish. When a thousand groups flush at once, unbounded
/// concurrency opens a connection per notification (the pool has no idle one yet) and the
/// connection set-up on both ends costs more than the notification; with a bound the pooled
/// keep-alive connections are reused. The wait is capped so that a slow receiver delays a
/// notification by at most [`IN_FLIGHT_WAIT`] and never by another request's timeout.
pub const IN_FLIGHT: usize = 32;

/// Longest wait for an in-flight slot; then the request goes out regardless.
pub const IN_FLIGHT_WAIT: std::time::Duration = std::time::Duration::from_millis(100);

/// The JSON body (`webhook.Message`).
#[derive(Debug, Serialize)]
pub struct Message<'a> {
    /// Template data, flattened.
    #[serde(flatten)]
    pub data: &'a Data,
    /// Always `"4"`.
    pub version: &'static str,
    /// Aggregation group key.
    #[serde(rename = "groupKey")]
    pub group_key: &'a str,
    /// Alerts dropped by `max_alerts`.
    #[serde(rename = "truncatedAlerts")]
    pub truncated_alerts: u64,
}

/// [`Message`] over borrowed alerts: same keys, same order, same values.
struct Body<'a> {
    receiver: String,
    alerts: &'a [Alert],
    now: DateTime<Utc>,
    group_labels: &'a Labels,
    external_url: &'a str,
    group_key: &'a str,
    truncated_alerts: u64,
}

impl Serialize for Body<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let any_firing = self.alerts.iter().any(|a| !a.resolved_at(self.now));
        let mut m = serializer.serialize_map(Some(10))?;
        m.serialize_entry("receiver", &self.receiver)?;
        m.serialize_entry("status", if any_firing { "firing" } else { "resolved" })?;
        m.serialize_entry(
            "alerts",
            &AlertList {
                alerts: self.alerts,
                now: self.now,
            },
        )?;
        m.serialize_entry("groupLabels", self.group_labels)?;
        m.serialize_entry("commonLabels", &CommonLabels(self.alerts))?;
        m.serialize_entry("commonAnnotations", &CommonAnnotations(self.alerts))?;
        m.serialize_entry("externalURL", self.external_url)?;
        m.serialize_entry("version", "4")?;
        m.serialize_entry("groupKey", self.group_key)?;
        m.serialize_entry("truncatedAlerts", &self.truncated_alerts)?;
        m.end()
    }
}

struct AlertList<'a> {
    alerts: &'a [Alert],
    now: DateTime<Utc>,
}

impl Serialize for AlertList<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.alerts.iter().map(|a| BodyAlert {
            alert: a,
            firing: !a.resolved_at(self.now),
        }))
    }
}

/// One alert as `template.Alert` serialises.
struct BodyAlert<'a> {
    alert: &'a Alert,
    firing: bool,
}

impl Serialize for BodyAlert<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let a = self.alert;
        let mut m = serializer.serialize_map(Some(7))?;
        m.serialize_entry("status", if self.firing { "firing" } else { "resolved" })?;
        m.serialize_entry("labels", &a.labels)?;
        m.serialize_entry("annotations", &a.annotations)?;
        m.serialize_entry("startsAt", &go_rfc3339_nano(&a.starts_at))?;
        m.serialize_entry("endsAt", &go_rfc3339_nano(&a.ends_at))?;
        m.serialize_entry("generatorURL", &a.generator_url)?;
        m.serialize_entry("fingerprint", &Hex16(a.fingerprint))?;
        m.end()
    }
}

/// A fingerprint as 16 lower-case hex digits, without an intermediate `String`.
struct Hex16(u64);

impl Serialize for Hex16 {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut buf = [0u8; 16];
        for (i, b) in buf.iter_mut().enumerate() {
            *b = DIGITS[((self.0 >> (60 - 4 * i)) & 0xf) as usize];
        }
        serializer.serialize_str(std::str::from_utf8(&buf).unwrap_or_default())
    }
}

/// Labels whose name and value every alert shares (`template.Data.CommonLabels`), in name
/// order.
struct CommonLabels<'a>(&'a [Alert]);

impl Serialize for CommonLabels<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let common: Vec<&Label> = match self.0.split_first() {
            Some((first, rest)) => first
                .labels
                .iter()
                .filter(|l| {
                    rest.iter()
                        .all(|a| a.labels.get(&l.name) == Some(l.value.as_str()))
                })
                .collect(),
            None => Vec::new(),
        };
        let mut m = serializer.serialize_map(Some(common.len()))?;
        for l in common {
            m.serialize_entry(&l.name, &l.value)?;
        }
        m.end()
    }
}

/// Annotations every alert shares (`template.Data.CommonAnnotations`).
struct CommonAnnotations<'a>(&'a [Alert]);

impl Serialize for CommonAnnotations<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let common: Vec<(&String, &String)> = match self.0.split_first() {
            Some((first, rest)) => first
                .annotations
                .iter()
                .filter(|(k, v)| rest.iter().all(|a| a.annotations.get(*k) == Some(*v)))
                .collect(),
            None => Vec::new(),
        };
        let mut m = serializer.serialize_map(Some(common.len()))?;
        for (k, v) in common {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

impl Webhook {
    /// Builds the sender, inheriting `global.http_config`.
    pub fn new(c: &WebhookConfig, global: &GlobalConfig) -> Self {
        let http = c
            .http_config
            .clone()
            .unwrap_or_else(|| global.http_config.clone());
        Self {
            url: c.url.clone(),
            url_file: c.url_file.clone(),
            max_alerts: c.max_alerts,
            transport: build_transport(&http, USER_AGENT),
            http,
            timeout: c.timeout.map(|d| d.get()).filter(|d| !d.is_zero()),
            in_flight: tokio::sync::Semaphore::new(IN_FLIGHT),
        }
    }

    /// The request body for `alerts`: the same bytes as serialising [`Message`] over
    /// [`Data::new`], written straight from the borrowed alerts (no copy of labels or
    /// annotations; this runs once per flush of every group).
    pub fn body(&self, ctx: &NotifyCtx, alerts: &[Alert]) -> Vec<u8> {
        let (alerts, truncated) = match self.max_alerts {
            0 => (alerts, 0),
            m if (alerts.len() as u64) > m => (&alerts[..m as usize], alerts.len() as u64 - m),
            _ => (alerts, 0),
        };
        let body = Body {
            receiver: quote_meta(&ctx.receiver),
            alerts,
            now: ctx.now,
            group_labels: &ctx.group_labels,
            external_url: &ctx.external_url,
            group_key: &ctx.group_key,
            truncated_alerts: truncated,
        };
        let mut out = Vec::with_capacity(512 + 512 * alerts.len());
        match serde_json::to_writer(&mut out, &body) {
            Ok(()) => out,
            Err(_) => Vec::new(),
        }
    }

    /// Sends once.
    pub async fn notify(
        &self,
        ctx: &NotifyCtx,
        alerts: &[Alert],
        client: &HttpClient,
    ) -> Result<(), NotifyError> {
        let url = match (&self.url, &self.url_file) {
            (Some(u), _) => u.clone(),
            (None, Some(f)) => std::fs::read_to_string(f)
                .map_err(|e| NotifyError::permanent(format!("read url_file: {e}")))?
                .trim()
                .to_owned(),
            (None, None) => return Err(NotifyError::permanent("webhook without url")),
        };
        let deadline = match self.timeout {
            Some(t) => ctx.deadline.min(tokio::time::Instant::now() + t),
            None => ctx.deadline,
        };
        let body = self.body(ctx, alerts);
        let _slot = tokio::time::timeout(IN_FLIGHT_WAIT, self.in_flight.acquire())
            .await
            .ok()
            .and_then(Result::ok);
        let resp = client
            .post_json(
                &self.transport,
                &url,
                body,
                &self.http,
                USER_AGENT,
                deadline,
            )
            .await?;
        match resp.status {
            200..=299 => Ok(()),
            s @ 500..=599 => Err(NotifyError::transient(format!(
                "unexpected status code {s}: {}",
                String::from_utf8_lossy(&resp.body)
            ))),
            s => Err(NotifyError::permanent(format!(
                "unexpected status code {s}: {}",
                String::from_utf8_lossy(&resp.body)
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{parse_time, zero_time};
    use std::collections::BTreeMap;

    #[test]
    fn payload_matches_alertmanager_shape() {
        let now = parse_time("2026-11-24T21:56:47Z").unwrap();
        let labels = Labels::from_pairs([
            ("alertname", "DiskFull"),
            ("instance", "db2"),
            ("severity", "warning"),
            ("team", "db"),
        ]);
        let a = Alert::new(
            labels.clone(),
            BTreeMap::from([("summary".to_owned(), "disk on db2 nearly full".to_owned())]),
            parse_time("2026-11-24T21:56:45.580229403Z").unwrap(),
            zero_time(),
            String::new(),
            now,
            false,
        );
        let ctx = NotifyCtx {
            group_key: r#"{}/{team="db"}:{alertname="DiskFull", instance="db2"}"#.into(),
            receiver: "team-hook".into(),
            group_labels: labels.keep(&["alertname", "instance"]),
            external_url: "http://vm:19093".into(),
            now,
            deadline: tokio::time::Instant::now(),
            reason: "first notification",
            receiver_data: BTreeMap::new(),
        };
        let w = Webhook::new(
            &WebhookConfig {
                url: Some("http://x".into()),
                ..Default::default()
            },
            &GlobalConfig::default(),
        );
        let body = String::from_utf8(w.body(&ctx, &[a])).unwrap();
        let want = concat!(
            r#"{"receiver":"team-hook","status":"firing","alerts":[{"status":"firing","labels":{"alertname":"DiskFull","instance":"db2","severity":"warning","team":"db"},"#,
            r#""annotations":{"summary":"disk on db2 nearly full"},"startsAt":"2026-11-24T21:56:45.580229403Z","endsAt":"0001-01-01T00:00:00Z","#,
            r#""generatorURL":"","fingerprint":"f40fc35cbb20e4c7"}],"groupLabels":{"alertname":"DiskFull","instance":"db2"},"#,
            r#""commonLabels":{"alertname":"DiskFull","instance":"db2","severity":"warning","team":"db"},"commonAnnotations":{"summary":"disk on db2 nearly full"},"#,
            r#""externalURL":"http://vm:19093","version":"4","groupKey":"{}/{team=\"db\"}:{alertname=\"DiskFull\", instance=\"db2\"}","truncatedAlerts":0}"#
        );
        assert_eq!(body, want);
    }

    #[test]
    fn streamed_body_equals_message_over_data() {
        let t = |s: &str| parse_time(s).unwrap();
        let now = t("2026-11-24T22:00:00Z");
        let mk = |inst: &str, sev: &str, summary: &str, ends: DateTime<Utc>| {
            Alert::new(
                Labels::from_pairs([
                    ("alertname", "DiskFull"),
                    ("instance", inst),
                    ("severity", sev),
                    ("team", "db"),
                ]),
                BTreeMap::from([
                    ("summary".to_owned(), summary.to_owned()),
                    ("runbook".to_owned(), "https://x/<a>&\"q\"".to_owned()),
                ]),
                t("2026-11-24T21:56:45.5802294Z"),
                ends,
                "http://prom/graph?g0.expr=up%3D%3D0".to_owned(),
                now,
                false,
            )
        };
        let alerts = [
            mk("db1", "warning", "one", zero_time()),
            mk("db2", "warning", "two", t("2026-11-24T21:59:00Z")),
            mk("db3", "critical", "one", zero_time()),
        ];
        let ctx = NotifyCtx {
            group_key: r#"{}:{team="db"}"#.into(),
            receiver: "team.hook(1)".into(),
            group_labels: Labels::from_pairs([("team", "db")]),
            external_url: "http://vm:19093".into(),
            now,
            deadline: tokio::time::Instant::now(),
            reason: "first notification",
            receiver_data: BTreeMap::new(),
        };
        for (max_alerts, subsets) in [(0u64, [0usize, 1, 2, 3]), (2, [0, 1, 2, 3])] {
            let w = Webhook::new(
                &WebhookConfig {
                    url: Some("http://x".into()),
                    max_alerts,
                    ..Default::default()
                },
                &GlobalConfig::default(),
            );
            for n in subsets {
                let given = &alerts[..n];
                let kept = match max_alerts {
                    0 => given,
                    m => &given[..given.len().min(m as usize)],
                };
                let data = Data::new(
                    &ctx.receiver,
                    &ctx.group_labels,
                    kept,
                    &ctx.external_url,
                    now,
                );
                let want = serde_json::to_vec(&Message {
                    data: &data,
                    version: "4",
                    group_key: &ctx.group_key,
                    truncated_alerts: (given.len() - kept.len()) as u64,
                })
                .unwrap();
                assert_eq!(
                    String::from_utf8(w.body(&ctx, given)).unwrap(),
                    String::from_utf8(want).unwrap(),
                    "max_alerts={max_alerts} alerts={n}"
                );
            }
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_full_in_flight_bound_delays_but_never_blocks() {
        let sent = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = sent.clone();
        let client = HttpClient::fake(std::sync::Arc::new(move |_req| {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            crate::notify::HttpResponse {
                status: 200,
                body: bytes::Bytes::new(),
            }
        }));
        let w = Webhook::new(
            &WebhookConfig {
                url: Some("http://x".into()),
                ..Default::default()
            },
            &GlobalConfig::default(),
        );
        let now = parse_time("2026-11-24T22:00:00Z").unwrap();
        let a = Alert::new(
            Labels::from_pairs([("alertname", "A")]),
            BTreeMap::new(),
            now,
            zero_time(),
            String::new(),
            now,
            false,
        );
        let ctx = NotifyCtx {
            group_key: "{}:{}".into(),
            receiver: "r".into(),
            group_labels: Labels::empty(),
            external_url: "http://am".into(),
            now,
            deadline: tokio::time::Instant::now() + std::time::Duration::from_secs(60),
            reason: "first notification",
            receiver_data: BTreeMap::new(),
        };
        // A free slot: sent at once.
        let start = tokio::time::Instant::now();
        w.notify(&ctx, std::slice::from_ref(&a), &client)
            .await
            .unwrap();
        assert_eq!(start.elapsed(), std::time::Duration::ZERO);
        // Every slot taken by requests that do not finish: sent after the capped wait.
        let held = w.in_flight.acquire_many(IN_FLIGHT as u32).await.unwrap();
        let start = tokio::time::Instant::now();
        w.notify(&ctx, std::slice::from_ref(&a), &client)
            .await
            .unwrap();
        assert_eq!(start.elapsed(), IN_FLIGHT_WAIT);
        assert_eq!(sent.load(std::sync::atomic::Ordering::SeqCst), 2);
        drop(held);
    }
}
