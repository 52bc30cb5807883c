//! `receivers`: webhook and Telegram typed, every other integration accepted raw and
//! reported.

use serde::Deserialize;
use serde_yaml_ng::Value;

use super::http::HttpConfig;
use lgtm_common::duration::PromDuration;

macro_rules! receiver_config {
    ($($field:ident),* $(,)?) => {
        /// A named receiver: a list of integrations per kind.
        #[derive(Clone, Debug, Default, PartialEq, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct ReceiverConfig {
            /// Unique name referenced by routes.
            #[serde(default)]
            pub name: String,
            /// Receiver labels (0.33+), informational.
            #[serde(default)]
            pub labels: Option<Value>,
            /// Webhook integrations.
            #[serde(default)]
            pub webhook_configs: Vec<WebhookConfig>,
            /// Telegram integrations.
            #[serde(default)]
            pub telegram_configs: Vec<TelegramConfig>,
            $(
                #[allow(missing_docs)]
                #[serde(default)]
                pub $field: Option<Value>,
            )*
        }

        impl ReceiverConfig {
            /// Integration kinds present in the file that this router cannot deliver to.
            pub fn unsupported(&self) -> Vec<(&'static str, usize)> {
                let mut out = Vec::new();
                $(
                    if let Some(v) = &self.$field {
                        let n = v.as_sequence().map_or(1, Vec::len);
                        if n > 0 {
                            out.push((stringify!($field), n));
                        }
                    }
                )*
                out
            }
        }
    };
}

receiver_config!(
    email_configs,
    discord_configs,
    jira_configs,
    mattermost_configs,
    msteams_configs,
    msteamsv2_configs,
    opsgenie_configs,
    pagerduty_configs,
    incidentio_configs,
    pushover_configs,
    rocketchat_configs,
    slack_configs,
    sns_configs,
    victorops_configs,
    webex_configs,
    wechat_configs,
);

/// `webhook_configs` entry.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// Send resolved notifications (default true).
    #[serde(default)]
    pub send_resolved: Option<bool>,
    /// HTTP client settings; `global.http_config` when absent.
    #[serde(default)]
    pub http_config: Option<HttpConfig>,
    /// Endpoint.
    #[serde(default)]
    pub url: Option<String>,
    /// Endpoint read from a file at each send.
    #[serde(default)]
    pub url_file: Option<String>,
    /// Send at most this many alerts (0 = all); the rest is counted in `truncatedAlerts`.
    #[serde(default)]
    pub max_alerts: u64,
    /// Request timeout (0.28+); bounded by the group's notification deadline anyway.
    #[serde(default)]
    pub timeout: Option<PromDuration>,
}

/// `telegram_configs` entry (every field of Alertmanager 0.34).
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelegramConfig {
    /// Send resolved notifications (default true).
    #[serde(default)]
    pub send_resolved: Option<bool>,
    /// HTTP client settings; `global.http_config` when absent.
    #[serde(default)]
    pub http_config: Option<HttpConfig>,
    /// Bot API base; `global.telegram_api_url` when absent.
    #[serde(default)]
    pub api_url: Option<String>,
    /// Bot token (secret).
    #[serde(default)]
    pub bot_token: Option<String>,
    /// Bot token read from a file at each send.
    #[serde(default)]
    pub bot_token_file: Option<String>,
    /// Target chat.
    #[serde(default)]
    pub chat_id: Option<i64>,
    /// Target chat read from a file (0.31+).
    #[serde(default)]
    pub chat_id_file: Option<String>,
    /// Forum topic: a number, or a template over the group's data (our extension).
    #[serde(default)]
    pub message_thread_id: Option<Value>,
    /// Message template.
    #[serde(default)]
    pub message: Option<String>,
    /// Send silently.
    #[serde(default)]
    pub disable_notifications: bool,
    /// `HTML` (default), `MarkdownV2`, `Markdown` or `""` (plain text).
    #[serde(default)]
    pub parse_mode: Option<String>,
}
