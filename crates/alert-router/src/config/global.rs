//! The `global` section.

use serde::{Deserialize, Serialize};
use serde_yaml_ng::Value;

use super::http::HttpConfig;
use lgtm_common::duration::PromDuration;

/// Default of `global.telegram_api_url`.
pub const DEFAULT_TELEGRAM_API_URL: &str = "https://api.telegram.org";

macro_rules! global_config {
    ($($field:ident),* $(,)?) => {
        /// `global`: defaults shared by receivers, and `resolve_timeout`. Settings of
        /// integrations we do not implement are accepted (so the file loads unchanged) and
        /// kept as raw values.
        #[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
        #[serde(deny_unknown_fields)]
        pub struct GlobalConfig {
            /// How long an alert without `endsAt` stays firing without being re-sent (5m).
            #[serde(default = "default_resolve_timeout")]
            pub resolve_timeout: PromDuration,
            /// HTTP client defaults for every integration.
            #[serde(default)]
            pub http_config: HttpConfig,
            /// Telegram Bot API base URL.
            #[serde(default = "default_telegram_api_url")]
            pub telegram_api_url: String,
            /// Default bot token (Alertmanager 0.31+).
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub telegram_bot_token: Option<String>,
            /// Default bot token file (Alertmanager 0.31+).
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub telegram_bot_token_file: Option<String>,
            $(
                #[allow(missing_docs)]
                #[serde(default, skip_serializing_if = "Option::is_none")]
                pub $field: Option<Value>,
            )*
        }

        impl Default for GlobalConfig {
            fn default() -> Self {
                Self {
                    resolve_timeout: default_resolve_timeout(),
                    http_config: HttpConfig::default(),
                    telegram_api_url: default_telegram_api_url(),
                    telegram_bot_token: None,
                    telegram_bot_token_file: None,
                    $($field: None,)*
                }
            }
        }
    };
}

global_config!(
    smtp_from,
    smtp_hello,
    smtp_smarthost,
    smtp_auth_username,
    smtp_auth_password,
    smtp_auth_password_file,
    smtp_auth_secret,
    smtp_auth_secret_file,
    smtp_auth_identity,
    smtp_require_tls,
    smtp_tls_config,
    smtp_force_implicit_tls,
    slack_api_url,
    slack_api_url_file,
    slack_app_token,
    slack_app_token_file,
    slack_app_url,
    victorops_api_key,
    victorops_api_key_file,
    victorops_api_url,
    pagerduty_url,
    opsgenie_api_key,
    opsgenie_api_key_file,
    opsgenie_api_url,
    rocketchat_api_url,
    rocketchat_token,
    rocketchat_token_file,
    rocketchat_token_id,
    rocketchat_token_id_file,
    wechat_api_url,
    wechat_api_secret,
    wechat_api_secret_file,
    wechat_api_corp_id,
    webex_api_url,
    jira_api_url,
    mattermost_webhook_url,
    mattermost_webhook_url_file,
);

fn default_resolve_timeout() -> PromDuration {
    PromDuration(std::time::Duration::from_secs(300))
}

fn default_telegram_api_url() -> String {
    DEFAULT_TELEGRAM_API_URL.to_owned()
}
