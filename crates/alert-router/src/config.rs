//! Alertmanager's configuration file, read unchanged.
//!
//! The YAML is strict (`deny_unknown_fields` everywhere, as Alertmanager's loader is), and the
//! validation errors are worded as Alertmanager words them. Integrations we do not deliver to
//! (email, Slack, PagerDuty, ...) load, and are listed in [`LoadedConfig::warnings`]: they are
//! logged at every load and every notification routed to them fails visibly in
//! `alertmanager_notifications_failed_total`.

mod effective;
pub mod global;
pub mod http;
pub mod inhibit;
pub mod receiver;
pub mod route;
pub mod time_interval;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_yaml_ng::Value;

pub use global::GlobalConfig;
pub use http::HttpConfig;
pub use inhibit::InhibitRuleConfig;
pub use receiver::{ReceiverConfig, TelegramConfig, WebhookConfig};
pub use route::RouteConfig;
pub use time_interval::TimeIntervalsConfig;

use crate::inhibit::InhibitRule;
use crate::route::Route;
use crate::timeinterval::TimeInterval;

/// The configuration could not be loaded; the message is Alertmanager's where it has one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

impl From<String> for ConfigError {
    fn from(s: String) -> Self {
        Self(s)
    }
}

impl From<&str> for ConfigError {
    fn from(s: &str) -> Self {
        Self(s.to_owned())
    }
}

/// The whole file.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// Global settings.
    #[serde(default)]
    pub global: Option<GlobalConfig>,
    /// Root of the routing tree.
    #[serde(default)]
    pub route: Option<RouteConfig>,
    /// Inhibition rules.
    #[serde(default)]
    pub inhibit_rules: Vec<InhibitRuleConfig>,
    /// Receivers.
    #[serde(default)]
    pub receivers: Vec<ReceiverConfig>,
    /// Template file globs.
    #[serde(default)]
    pub templates: Vec<String>,
    /// Named time intervals.
    #[serde(default)]
    pub time_intervals: Vec<TimeIntervalsConfig>,
    /// Deprecated name of `time_intervals`.
    #[serde(default)]
    pub mute_time_intervals: Vec<TimeIntervalsConfig>,
}

/// A validated configuration, compiled for use.
#[derive(Debug)]
pub struct LoadedConfig {
    /// The file as parsed.
    pub file: FileConfig,
    /// The effective global section (defaults filled in).
    pub global: GlobalConfig,
    /// The compiled routing tree.
    pub route: Route,
    /// Compiled inhibition rules.
    pub inhibit_rules: Vec<InhibitRule>,
    /// Compiled time intervals by name.
    pub time_intervals: HashMap<String, Vec<TimeInterval>>,
    /// Receivers by name, in file order.
    pub receivers: Vec<ReceiverConfig>,
    /// Template files found by the `templates` globs.
    pub template_files: Vec<PathBuf>,
    /// Alertmanager's default templates plus the user's template files, parsed.
    pub templates: std::sync::Arc<lgtm_template::TemplateSet>,
    /// Things that load but will not work as configured (unsupported integrations...).
    pub warnings: Vec<String>,
    /// The configuration text served by `/api/v2/status`: the file with secrets masked.
    pub original: String,
    /// Hash of the raw text (`alertmanager_config_hash`).
    pub hash: u64,
}

impl LoadedConfig {
    /// Reads and validates a file; template globs are resolved relative to its directory.
    pub fn load_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError(format!("open {}: {e}", path.display())))?;
        Self::load_str(&text, path.parent())
    }

    /// Parses and validates configuration text.
    pub fn load_str(text: &str, base_dir: Option<&Path>) -> Result<Self, ConfigError> {
        let file: FileConfig =
            serde_yaml_ng::from_str(text).map_err(|e| ConfigError(go_yaml_error(&e)))?;
        let mut warnings = Vec::new();
        let global = file.global.clone().unwrap_or_default();
        http::validate_http(&global.http_config, &mut warnings, "global").map_err(ConfigError)?;

        // Receivers: unique names, integration checks.
        let mut names = HashSet::new();
        for r in &file.receivers {
            if r.name.is_empty() {
                return Err("missing name in receiver".into());
            }
            if !names.insert(r.name.as_str()) {
                return Err(format!("notification config name {:?} is not unique", r.name).into());
            }
            validate_receiver(r, &global, &mut warnings)?;
        }

        // Time intervals.
        let mut time_intervals = HashMap::new();
        for ti in file.time_intervals.iter().chain(&file.mute_time_intervals) {
            if time_intervals.contains_key(&ti.name) {
                return Err(format!("time interval {:?} is not unique", ti.name).into());
            }
            let compiled = ti
                .time_intervals
                .iter()
                .map(TimeInterval::compile)
                .collect::<Result<Vec<_>, _>>()
                .map_err(ConfigError)?;
            time_intervals.insert(ti.name.clone(), compiled);
        }

        let root = file.route.as_ref().ok_or("no routes provided")?;
        if root.receiver.as_deref().unwrap_or("").is_empty() {
            return Err("root route must specify a default receiver".into());
        }
        if !root.match_eq.is_empty() || !root.match_re.is_empty() || !root.matchers.is_empty() {
            return Err("root route must not have any matchers".into());
        }
        if !root.mute_time_intervals.is_empty() {
            return Err("root route must not have any mute time intervals".into());
        }
        if !root.active_time_intervals.is_empty() {
            return Err("root route must not have any active time intervals".into());
        }
        check_route_refs(root, &names, &time_intervals)?;
        let route = Route::build(root)?;

        let inhibit_rules = file
            .inhibit_rules
            .iter()
            .map(InhibitRule::build)
            .collect::<Result<Vec<_>, _>>()?;

        let template_files = resolve_templates(&file.templates, base_dir)?;
        let templates = parse_templates(&template_files)?;
        check_receiver_templates(&file.receivers, &templates)?;

        let mut loaded = Self {
            receivers: file.receivers.clone(),
            global,
            route,
            inhibit_rules,
            time_intervals,
            template_files,
            templates,
            warnings,
            original: String::new(),
            hash: fnv_text(text),
            file,
        };
        loaded.original = serde_yaml_ng::from_str::<Value>(text)
            .ok()
            .and_then(|raw| effective::effective(&raw, &loaded))
            .and_then(|v| serde_yaml_ng::to_string(&v).ok())
            .map_or_else(|| masked_original(text), |t| masked_original(&t));
        Ok(loaded)
    }

    /// The receiver called `name`.
    pub fn receiver(&self, name: &str) -> Option<&ReceiverConfig> {
        self.receivers.iter().find(|r| r.name == name)
    }
}

/// YAML errors in go-yaml's words where the shape is the same: an unknown field reads
/// `yaml: unmarshal errors:\n  line N: field X not found in type config.plain`, as
/// Alertmanager prints it; other errors keep serde's explanation after go-yaml's prefix.
fn go_yaml_error(e: &serde_yaml_ng::Error) -> String {
    let msg = e.to_string();
    let unknown = msg
        .split_once("unknown field `")
        .and_then(|(_, rest)| rest.split_once('`'))
        .map(|(name, _)| name.to_owned());
    match (unknown, e.location()) {
        (Some(name), Some(loc)) => format!(
            "yaml: unmarshal errors:\n  line {}: field {name} not found in type config.plain",
            loc.line()
        ),
        _ => format!("yaml: unmarshal errors: {msg}"),
    }
}

fn check_route_refs(
    r: &RouteConfig,
    receivers: &HashSet<&str>,
    intervals: &HashMap<String, Vec<TimeInterval>>,
) -> Result<(), ConfigError> {
    if let Some(name) = r.receiver.as_deref()
        && !name.is_empty()
        && !receivers.contains(name)
    {
        return Err(format!("undefined receiver {name:?} used in route").into());
    }
    for ti in r.mute_time_intervals.iter().chain(&r.active_time_intervals) {
        if !intervals.contains_key(ti) {
            return Err(format!("undefined time interval {ti:?} used in route").into());
        }
    }
    r.routes
        .iter()
        .try_for_each(|c| check_route_refs(c, receivers, intervals))
}

fn validate_url(u: &str) -> Result<(), ConfigError> {
    let parsed = url::Url::parse(u).map_err(|e| ConfigError(format!("parse {u:?}: {e}")))?;
    match parsed.scheme() {
        "http" | "https" => Ok(()),
        s => Err(format!("unsupported scheme {s:?} for URL").into()),
    }
}

fn validate_receiver(
    r: &ReceiverConfig,
    global: &GlobalConfig,
    warnings: &mut Vec<String>,
) -> Result<(), ConfigError> {
    for w in &r.webhook_configs {
        match (&w.url, &w.url_file) {
            // Alertmanager 0.25's text (0.26+ says "one of url or url_file must be configured").
            (None, None) => return Err("missing URL in webhook config".into()),
            (Some(_), Some(_)) => {
                return Err("at most one of url & url_file must be configured".into());
            }
            (Some(u), None) => validate_url(u)?,
            (None, Some(_)) => {}
        }
        if let Some(h) = &w.http_config {
            http::validate_http(
                h,
                warnings,
                &format!("receiver {}: webhook_configs", r.name),
            )
            .map_err(ConfigError)?;
        }
    }
    for t in &r.telegram_configs {
        let token = t.bot_token.is_some() || global.telegram_bot_token.is_some();
        let token_file = t.bot_token_file.is_some() || global.telegram_bot_token_file.is_some();
        if t.bot_token.is_some() && t.bot_token_file.is_some() {
            return Err("at most one of bot_token & bot_token_file must be configured".into());
        }
        if !token && !token_file {
            return Err("missing bot_token on telegram_config".into());
        }
        if t.chat_id.is_some() && t.chat_id_file.is_some() {
            return Err("at most one of chat_id & chat_id_file must be configured".into());
        }
        if t.chat_id.unwrap_or(0) == 0 && t.chat_id_file.is_none() {
            return Err("missing chat_id on telegram_config".into());
        }
        if let Some(mode) = &t.parse_mode
            && !matches!(mode.as_str(), "" | "Markdown" | "MarkdownV2" | "HTML")
        {
            return Err(
                "unknown parse_mode on telegram_config, must be Markdown, MarkdownV2, HTML or empty string"
                    .into(),
            );
        }
        if let Some(api) = &t.api_url {
            validate_url(api)?;
        }
        match &t.message_thread_id {
            None | Some(Value::Number(_)) => {}
            Some(Value::String(s)) if s.contains("{{") || s.trim().parse::<i64>().is_ok() => {}
            Some(other) => {
                return Err(format!(
                    "invalid message_thread_id on telegram_config: {other:?} is neither a number nor a template"
                )
                .into());
            }
        }
        if let Some(h) = &t.http_config {
            http::validate_http(
                h,
                warnings,
                &format!("receiver {}: telegram_configs", r.name),
            )
            .map_err(ConfigError)?;
        }
    }
    for (kind, n) in r.unsupported() {
        warnings.push(format!(
            "receiver {}: {kind} not supported ({n} integration(s) will fail every notification)",
            r.name
        ));
    }
    Ok(())
}

/// Resolves `templates` globs (Go `filepath.Glob`), relative to the config file.
fn resolve_templates(globs: &[String], base: Option<&Path>) -> Result<Vec<PathBuf>, ConfigError> {
    let mut out = Vec::new();
    for g in globs {
        let pattern = match base {
            Some(b) if Path::new(g).is_relative() => b.join(g).to_string_lossy().into_owned(),
            _ => g.clone(),
        };
        out.extend(
            lgtm_common::glob::glob_files(&pattern).map_err(|e| ConfigError(e.to_string()))?,
        );
    }
    Ok(out)
}

/// Parses the default templates, then the user's files in order (later definitions win).
fn parse_templates(
    files: &[PathBuf],
) -> Result<std::sync::Arc<lgtm_template::TemplateSet>, ConfigError> {
    let mut set = lgtm_template::alertmanager::default_template_set()
        .map_err(|e| ConfigError(format!("failed to parse default templates: {e}")))?;
    for f in files {
        let text = std::fs::read_to_string(f).map_err(|e| {
            ConfigError(format!(
                "failed to parse templates: read {}: {e}",
                f.display()
            ))
        })?;
        let name = f
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        set.parse(&name, &text)
            .map_err(|e| ConfigError(format!("failed to parse templates: {e}")))?;
    }
    Ok(std::sync::Arc::new(set))
}

/// Telegram `message` and templated `message_thread_id` must parse at load, not at 3 a.m.
fn check_receiver_templates(
    receivers: &[ReceiverConfig],
    set: &lgtm_template::TemplateSet,
) -> Result<(), ConfigError> {
    for r in receivers {
        for t in &r.telegram_configs {
            let thread = match &t.message_thread_id {
                Some(Value::String(s)) => Some(s.as_str()),
                _ => None,
            };
            for text in t.message.as_deref().into_iter().chain(thread) {
                set.clone().parse("check", text).map_err(|e| {
                    ConfigError(format!(
                        "receiver {}: telegram_configs: invalid template {text:?}: {e}",
                        r.name
                    ))
                })?;
            }
        }
    }
    Ok(())
}

/// Keys whose values Alertmanager prints as `<secret>`.
const SECRET_KEYS: &[&str] = &[
    "bot_token",
    "password",
    "credentials",
    "bearer_token",
    "smtp_auth_password",
    "smtp_auth_secret",
    "auth_password",
    "auth_secret",
    "api_key",
    "api_secret",
    "routing_key",
    "service_key",
    "token",
    "user_key",
    "client_secret",
    "opsgenie_api_key",
    "victorops_api_key",
    "wechat_api_secret",
    "slack_api_url",
    "telegram_bot_token",
    "rocketchat_token",
    "rocketchat_token_id",
];

/// The configuration text for `/api/v2/status`: the file re-emitted with secrets masked.
///
/// Alertmanager re-marshals its effective config (defaults filled in); we re-emit the
/// file's own YAML, which amtool parses the same way.
pub fn masked_original(text: &str) -> String {
    fn mask(v: &mut Value) {
        match v {
            Value::Mapping(m) => {
                for (k, val) in m.iter_mut() {
                    let secret = k.as_str().is_some_and(|k| SECRET_KEYS.contains(&k));
                    if secret && !val.is_null() {
                        *val = Value::String("<secret>".into());
                    } else {
                        mask(val);
                    }
                }
            }
            Value::Sequence(s) => s.iter_mut().for_each(mask),
            _ => {}
        }
    }
    match serde_yaml_ng::from_str::<Value>(text) {
        Ok(mut v) => {
            mask(&mut v);
            serde_yaml_ng::to_string(&v).unwrap_or_default()
        }
        Err(_) => String::new(),
    }
}

fn fnv_text(text: &str) -> u64 {
    text.bytes().fold(14695981039346656037u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(1099511628211)
    })
}

/// Label maps of the legacy `match` / `match_re` forms, checked for valid names.
pub(crate) fn legacy_matchers(
    eq: &BTreeMap<String, String>,
    re: &BTreeMap<String, String>,
) -> Result<Vec<lgtm_common::labels::Matcher>, ConfigError> {
    use lgtm_common::labels::{MatchOp, is_valid_label_name};
    let mut out = Vec::new();
    for (k, v) in eq {
        if !is_valid_label_name(k) {
            return Err(format!("invalid label name {k:?}").into());
        }
        out.push(lgtm_common::labels::Matcher::equal(k, v));
    }
    for (k, v) in re {
        if !is_valid_label_name(k) {
            return Err(format!("invalid label name {k:?}").into());
        }
        let anchored = format!("^(?:{v})$");
        let m = crate::matchers::new_matcher(MatchOp::Regex, k, &anchored)
            .map_err(|e| ConfigError(e.to_string()))?;
        out.push(m);
    }
    Ok(out)
}

/// Parses a `matchers:` list (each entry may hold several matchers).
pub(crate) fn matcher_list(
    lines: &[String],
) -> Result<Vec<lgtm_common::labels::Matcher>, ConfigError> {
    let mut out = Vec::new();
    for line in lines {
        out.extend(crate::matchers::parse_matchers(line).map_err(|e| ConfigError(e.to_string()))?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
