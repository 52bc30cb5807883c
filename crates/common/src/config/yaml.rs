//! YAML config files through `serde_yaml_ng`, with errors that name file, line, column and key.

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};

use super::ConfigError;
use super::env::{EnvLookup, expand_env};

/// Name used in errors for config text that did not come from a file.
const INLINE_NAME: &str = "<string>";

/// Reads and parses a YAML config file into `T`. With `expand_env`, `${VAR}` references are
/// replaced first, as Loki/Tempo/Promtail's `-config.expand-env=true` does (Prometheus and
/// Alertmanager have no such flag: pass `false`). An empty file, or one holding only comments
/// or `null`, yields `T`'s defaults when `T` has them, as Go's yaml.v2 leaves a struct as is.
pub fn load_yaml_file<T: DeserializeOwned>(
    path: impl AsRef<Path>,
    expand_env: bool,
) -> Result<T, ConfigError> {
    let path = path.as_ref();
    let text = read_config_text(path, expand_env)?;
    parse(&path.display().to_string(), &text)
}

/// Reads a config file and, with `expand_env`, expands `${VAR}` from the process environment.
/// For services that must keep the text they loaded (Alertmanager reports it in its status).
pub fn read_config_text(path: impl AsRef<Path>, expand_env: bool) -> Result<String, ConfigError> {
    let path = path.as_ref();
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    if !expand_env {
        return Ok(text);
    }
    super::env::expand_env_os(&text).map_err(|source| ConfigError::Env {
        file: path.display().to_string(),
        source,
    })
}

/// Picks the config file from a comma-separated list as Loki's `-config.file` does (default
/// `config.yaml,config/config.yaml`): the first entry that exists. `None` when none does.
pub fn first_existing_file(list: &str) -> Option<PathBuf> {
    list.split(',')
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .find(|p| std::fs::metadata(p).is_ok())
}

/// Parses YAML config text given inline (tests, `--config.yaml`-style flags); errors name it
/// `<string>`. No environment expansion.
pub fn from_yaml_str<T: DeserializeOwned>(text: &str) -> Result<T, ConfigError> {
    parse(INLINE_NAME, text)
}

/// Parses YAML config text under a given name, optionally expanding `${VAR}` through `lookup`
/// first (unset variables read as empty, as upstream). Lets tests exercise expansion without
/// touching the process environment.
pub fn from_yaml_named<T: DeserializeOwned>(
    name: &str,
    text: &str,
    lookup: Option<EnvLookup<'_>>,
) -> Result<T, ConfigError> {
    match lookup {
        None => parse(name, text),
        Some(lookup) => {
            let expanded = expand_env(text, lookup).map_err(|source| ConfigError::Env {
                file: name.to_owned(),
                source,
            })?;
            parse(name, &expanded)
        }
    }
}

fn parse<T: DeserializeOwned>(name: &str, text: &str) -> Result<T, ConfigError> {
    match serde_yaml_ng::from_str::<T>(text) {
        Ok(value) => Ok(value),
        Err(err) => {
            // An empty or null document means "all defaults" upstream.
            if err.to_string().starts_with("invalid type: unit value")
                && matches!(
                    serde_yaml_ng::from_str::<serde_yaml_ng::Value>(text),
                    Ok(serde_yaml_ng::Value::Null)
                )
                && let Ok(value) = serde_yaml_ng::from_str::<T>("{}")
            {
                return Ok(value);
            }
            Err(yaml_error(name, text, &err))
        }
    }
}

/// Turns a serde_yaml_ng error into one line: location from the error, the key path split off
/// the front of the message, the `at line … column …` tail removed, backticks made quotes.
fn yaml_error(name: &str, text: &str, err: &serde_yaml_ng::Error) -> ConfigError {
    let mut message = err.to_string();
    if let Some((head, tail)) = message.rsplit_once(" at line ")
        && tail.split_once(" column ").is_some_and(|(l, c)| {
            l.bytes().all(|b| b.is_ascii_digit()) && c.bytes().all(|b| b.is_ascii_digit())
        })
    {
        message = head.to_owned();
    }
    let mut path = String::new();
    // serde_yaml_ng prefixes nested errors with the path: `server.port: invalid type ...`.
    if let Some((head, rest)) = message.split_once(": ")
        && !head.is_empty()
        && !head.contains(' ')
        && !head.contains('`')
    {
        path = head.to_owned();
        message = rest.to_owned();
    }
    let mut line = err.location().map(|l| l.line());
    let mut column = err.location().map(|l| l.column());
    // Duplicate top-level keys are reported at the document start: find the repeat.
    if path.is_empty()
        && let Some(key) = message
            .strip_prefix("duplicate field `")
            .and_then(|rest| rest.strip_suffix('`'))
        && let Some(found) = nth_top_level_key(text, key, 2)
    {
        line = Some(found);
        column = Some(1);
    }
    ConfigError::Yaml {
        file: name.to_owned(),
        line,
        column,
        path,
        message: message.replace('`', "\""),
    }
}

/// 1-based line of the `n`th top-level occurrence of `key:`.
fn nth_top_level_key(text: &str, key: &str, n: usize) -> Option<usize> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| {
            l.strip_prefix(key)
                .is_some_and(|rest| rest.trim_start().starts_with(':'))
        })
        .nth(n - 1)
        .map(|(i, _)| i + 1)
}

/// `deserialize_with` helper for booleans as Go's yaml.v2 (YAML 1.1) reads them: besides
/// `true`/`false` it accepts `yes/no`, `on/off`, `y/n` in lower, title or upper case. Prometheus,
/// Alertmanager and Loki all parse their files with yaml.v2, so existing files use these.
pub fn yaml11_bool<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Bool(bool),
        Text(String),
    }
    match Raw::deserialize(deserializer)? {
        Raw::Bool(b) => Ok(b),
        Raw::Text(s) => match s.as_str() {
            "y" | "Y" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" | "true" | "True" | "TRUE" => {
                Ok(true)
            }
            "n" | "N" | "no" | "No" | "NO" | "off" | "Off" | "OFF" | "false" | "False"
            | "FALSE" => Ok(false),
            other => Err(serde::de::Error::custom(format!(
                "invalid value {}, expected a boolean",
                crate::duration::go_quote(other)
            ))),
        },
    }
}

/// [`yaml11_bool`] for `Option<bool>` fields (with `#[serde(default)]`).
pub fn yaml11_bool_opt<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<bool>, D::Error> {
    yaml11_bool(deserializer).map(Some)
}
