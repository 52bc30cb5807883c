//! The webhook integration: Alertmanager's payload version 4, `max_alerts` truncation,
//! retry on 5xx and network errors only (`notify/webhook/webhook.go`).

use serde::Serialize;

use super::{Data, HttpClient, NotifyCtx, NotifyError, Transport, build_transport};
use crate::alert::Alert;
use crate::config::{GlobalConfig, HttpConfig, WebhookConfig};

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
}

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
        }
    }

    /// The request body for `alerts`.
    pub fn body(&self, ctx: &NotifyCtx, alerts: &[Alert]) -> Vec<u8> {
        let (alerts, truncated) = match self.max_alerts {
            0 => (alerts, 0),
            m if (alerts.len() as u64) > m => (&alerts[..m as usize], alerts.len() as u64 - m),
            _ => (alerts, 0),
        };
        let data = Data::new(
            &ctx.receiver,
            &ctx.group_labels,
            alerts,
            &ctx.external_url,
            ctx.now,
        );
        let msg = Message {
            data: &data,
            version: "4",
            group_key: &ctx.group_key,
            truncated_alerts: truncated,
        };
        serde_json::to_vec(&msg).unwrap_or_default()
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
        let resp = client
            .post_json(
                &self.transport,
                &url,
                self.body(ctx, alerts),
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
    use lgtm_common::labels::Labels;
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
}
