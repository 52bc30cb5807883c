//! Prometheus relabeling (`relabel_configs`, `metric_relabel_configs`,
//! `alert_relabel_configs`, and Promtail's `relabel_configs`), with the upstream's defaults,
//! validation messages and semantics for every action.

use std::fmt;

use regex::Regex;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::labels::{Label, Labels, is_valid_label_name};

/// What a relabel step does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Action {
    /// Regex replacement into `target_label` (the default).
    #[default]
    Replace,
    /// Drop the set unless the joined source values match.
    Keep,
    /// Drop the set if the joined source values match.
    Drop,
    /// Drop the set unless the joined source values equal `target_label`'s value.
    KeepEqual,
    /// Drop the set if the joined source values equal `target_label`'s value.
    DropEqual,
    /// Set `target_label` to the MD5-based hash of the joined values modulo `modulus`.
    HashMod,
    /// Copy labels whose names match to names built from `replacement`.
    LabelMap,
    /// Remove labels whose names match.
    LabelDrop,
    /// Remove labels whose names do not match.
    LabelKeep,
    /// Set `target_label` to the lower-cased joined values.
    Lowercase,
    /// Set `target_label` to the upper-cased joined values.
    Uppercase,
}

impl Action {
    /// The name used in configuration files.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Replace => "replace",
            Action::Keep => "keep",
            Action::Drop => "drop",
            Action::KeepEqual => "keepequal",
            Action::DropEqual => "dropequal",
            Action::HashMod => "hashmod",
            Action::LabelMap => "labelmap",
            Action::LabelDrop => "labeldrop",
            Action::LabelKeep => "labelkeep",
            Action::Lowercase => "lowercase",
            Action::Uppercase => "uppercase",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Some(match s.to_ascii_lowercase().as_str() {
            "replace" => Action::Replace,
            "keep" => Action::Keep,
            "drop" => Action::Drop,
            "keepequal" => Action::KeepEqual,
            "dropequal" => Action::DropEqual,
            "hashmod" => Action::HashMod,
            "labelmap" => Action::LabelMap,
            "labeldrop" => Action::LabelDrop,
            "labelkeep" => Action::LabelKeep,
            "lowercase" => Action::Lowercase,
            "uppercase" => Action::Uppercase,
            _ => return None,
        })
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A relabel configuration is invalid. Messages are Prometheus' own.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RelabelError {
    /// Unknown `action`.
    #[error("unknown relabel action {0:?}")]
    UnknownAction(String),
    /// `regex` does not compile.
    #[error("error parsing regexp: {0}")]
    Regex(String),
    /// Any other rule of `Validate()`.
    #[error("{0}")]
    Invalid(String),
}

const DEFAULT_SEPARATOR: &str = ";";
const DEFAULT_REGEX: &str = "(.*)";
const DEFAULT_REPLACEMENT: &str = "$1";

/// One relabel step, validated and with its regex compiled.
#[derive(Debug, Clone)]
pub struct RelabelConfig {
    /// Labels whose values are joined with `separator`.
    pub source_labels: Vec<String>,
    /// Joins source values.
    pub separator: String,
    /// Source of the (fully anchored) regex.
    pub regex_source: String,
    regex: Regex,
    /// Modulus for `hashmod`.
    pub modulus: u64,
    /// Label written by replace, hashmod, lowercase, uppercase; compared by keepequal/dropequal.
    pub target_label: String,
    /// Replacement pattern with `$1`, `${name}` references.
    pub replacement: String,
    /// The step's action.
    pub action: Action,
}

/// The YAML shape, before defaults and validation.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct RawRelabelConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    source_labels: Option<Vec<String>>,
    #[serde(
        default,
        deserialize_with = "opt_scalar_string",
        skip_serializing_if = "Option::is_none"
    )]
    separator: Option<String>,
    #[serde(
        default,
        deserialize_with = "opt_scalar_string",
        skip_serializing_if = "Option::is_none"
    )]
    regex: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    modulus: Option<u64>,
    #[serde(
        default,
        deserialize_with = "opt_scalar_string",
        skip_serializing_if = "Option::is_none"
    )]
    target_label: Option<String>,
    #[serde(
        default,
        deserialize_with = "opt_scalar_string",
        skip_serializing_if = "Option::is_none"
    )]
    replacement: Option<String>,
    #[serde(
        default,
        deserialize_with = "opt_scalar_string",
        skip_serializing_if = "Option::is_none"
    )]
    action: Option<String>,
}

/// Go's YAML decoder fills a string field from any scalar (`regex: true`, `replacement: 1`),
/// and Prometheus configs rely on it; serde would reject the bool.
fn opt_scalar_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let value = Option::<serde_yaml_ng::Value>::deserialize(d)?;
    match value {
        None | Some(serde_yaml_ng::Value::Null) => Ok(None),
        Some(serde_yaml_ng::Value::String(s)) => Ok(Some(s)),
        Some(serde_yaml_ng::Value::Bool(b)) => Ok(Some(b.to_string())),
        Some(serde_yaml_ng::Value::Number(n)) => Ok(Some(n.to_string())),
        Some(other) => Err(serde::de::Error::custom(format!(
            "expected a string, got {other:?}"
        ))),
    }
}

impl RelabelConfig {
    /// A `replace` step with all defaults, to be adjusted by the builder methods.
    pub fn new(action: Action) -> Self {
        Self {
            source_labels: Vec::new(),
            separator: DEFAULT_SEPARATOR.to_owned(),
            regex_source: DEFAULT_REGEX.to_owned(),
            regex: anchored(DEFAULT_REGEX).expect("the default relabel regex compiles"),
            modulus: 0,
            target_label: String::new(),
            replacement: DEFAULT_REPLACEMENT.to_owned(),
            action,
        }
    }

    fn from_raw(raw: RawRelabelConfig) -> Result<Self, RelabelError> {
        let action = match raw.action.as_deref() {
            None => Action::Replace,
            Some("") => {
                return Err(RelabelError::Invalid(
                    "relabel action cannot be empty".into(),
                ));
            }
            Some(a) => Action::parse(a).ok_or_else(|| RelabelError::UnknownAction(a.to_owned()))?,
        };
        let regex_source = raw.regex.unwrap_or_else(|| DEFAULT_REGEX.to_owned());
        let regex = anchored(&regex_source).map_err(|e| RelabelError::Regex(e.to_string()))?;
        let source_labels_set = raw.source_labels.is_some();
        let config = Self {
            source_labels: raw.source_labels.unwrap_or_default(),
            separator: raw
                .separator
                .unwrap_or_else(|| DEFAULT_SEPARATOR.to_owned()),
            regex_source,
            regex,
            modulus: raw.modulus.unwrap_or(0),
            target_label: raw.target_label.unwrap_or_default(),
            replacement: raw
                .replacement
                .unwrap_or_else(|| DEFAULT_REPLACEMENT.to_owned()),
            action,
        };
        config.validate(source_labels_set)?;
        Ok(config)
    }

    fn validate(&self, source_labels_set: bool) -> Result<(), RelabelError> {
        let invalid = |m: String| Err(RelabelError::Invalid(m));
        let a = self.action;
        if self.modulus == 0 && a == Action::HashMod {
            return invalid("relabel configuration for hashmod requires non-zero modulus".into());
        }
        let needs_target = matches!(
            a,
            Action::Replace
                | Action::HashMod
                | Action::Lowercase
                | Action::Uppercase
                | Action::KeepEqual
                | Action::DropEqual
        );
        if needs_target && self.target_label.is_empty() {
            return invalid(format!(
                "relabel configuration for {a} action requires 'target_label' value"
            ));
        }
        let bad_target = || {
            format!(
                "{:?} is invalid 'target_label' for {a} action",
                self.target_label
            )
        };
        if a == Action::Replace {
            let ok = if self.target_label.contains('$') {
                is_relabel_target(&self.target_label)
            } else {
                is_valid_label_name(&self.target_label)
            };
            if !ok {
                return invalid(bad_target());
            }
        }
        let simple = matches!(
            a,
            Action::Lowercase | Action::Uppercase | Action::KeepEqual | Action::DropEqual
        );
        if simple && !is_valid_label_name(&self.target_label) {
            return invalid(bad_target());
        }
        if simple && self.replacement != DEFAULT_REPLACEMENT {
            return invalid(format!("'replacement' can not be set for {a} action"));
        }
        if a == Action::LabelMap && !is_relabel_target(&self.replacement) {
            return invalid(format!(
                "{:?} is invalid 'replacement' for {a} action",
                self.replacement
            ));
        }
        if a == Action::HashMod && !is_valid_label_name(&self.target_label) {
            return invalid(bad_target());
        }
        if matches!(a, Action::KeepEqual | Action::DropEqual)
            && (self.regex_source != DEFAULT_REGEX
                || self.modulus != 0
                || self.separator != DEFAULT_SEPARATOR
                || self.replacement != DEFAULT_REPLACEMENT)
        {
            return invalid(format!(
                "{a} action requires only 'source_labels' and `target_label`, and no other fields"
            ));
        }
        if matches!(a, Action::LabelDrop | Action::LabelKeep)
            && (source_labels_set
                || !self.target_label.is_empty()
                || self.modulus != 0
                || self.separator != DEFAULT_SEPARATOR
                || self.replacement != DEFAULT_REPLACEMENT)
        {
            return invalid(format!(
                "{a} action requires only 'regex', and no other fields"
            ));
        }
        Ok(())
    }

    /// Builder: source labels.
    pub fn with_source_labels<S: Into<String>>(
        mut self,
        names: impl IntoIterator<Item = S>,
    ) -> Self {
        self.source_labels = names.into_iter().map(Into::into).collect();
        self
    }

    /// Builder: regex (anchored on use).
    pub fn with_regex(mut self, source: &str) -> Result<Self, RelabelError> {
        self.regex = anchored(source).map_err(|e| RelabelError::Regex(e.to_string()))?;
        self.regex_source = source.to_owned();
        Ok(self)
    }

    /// Builder: target label.
    pub fn with_target_label(mut self, name: impl Into<String>) -> Self {
        self.target_label = name.into();
        self
    }

    /// Builder: replacement.
    pub fn with_replacement(mut self, replacement: impl Into<String>) -> Self {
        self.replacement = replacement.into();
        self
    }

    /// Builder: modulus.
    pub fn with_modulus(mut self, modulus: u64) -> Self {
        self.modulus = modulus;
        self
    }
}

impl<'de> Deserialize<'de> for RelabelConfig {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = RawRelabelConfig::deserialize(deserializer)?;
        Self::from_raw(raw).map_err(serde::de::Error::custom)
    }
}

impl Serialize for RelabelConfig {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        RawRelabelConfig {
            source_labels: (!self.source_labels.is_empty()).then(|| self.source_labels.clone()),
            separator: Some(self.separator.clone()),
            regex: Some(self.regex_source.clone()),
            modulus: (self.modulus != 0).then_some(self.modulus),
            target_label: (!self.target_label.is_empty()).then(|| self.target_label.clone()),
            replacement: Some(self.replacement.clone()),
            action: Some(self.action.as_str().to_owned()),
        }
        .serialize(serializer)
    }
}

fn anchored(source: &str) -> Result<Regex, regex::Error> {
    // Prometheus 3 lets `.` match `\n` in relabel regexes.
    Regex::new(&format!("^(?s:{source})$"))
}

/// `target_label`/`replacement` with `$` references: letters, `_`, `$name`, `${name}`.
fn is_relabel_target(s: &str) -> bool {
    static PATTERN: std::sync::OnceLock<Option<Regex>> = std::sync::OnceLock::new();
    PATTERN
        .get_or_init(|| Regex::new(r"^(?:(?:[a-zA-Z_]|\$(?:\{\w+\}|\w+))+\w*)+$").ok())
        .as_ref()
        .is_some_and(|re| re.is_match(s))
}

/// Applies the steps in order; `None` when a step drops the label set.
pub fn process(labels: &Labels, configs: &[RelabelConfig]) -> Option<Labels> {
    let mut current: Vec<Label> = labels.as_slice().to_vec();
    for config in configs {
        if !apply(config, &mut current) {
            return None;
        }
    }
    Some(Labels::from_labels(current))
}

fn get<'a>(labels: &'a [Label], name: &str) -> &'a str {
    labels
        .iter()
        .find(|l| l.name == name)
        .map_or("", |l| l.value.as_str())
}

fn set(labels: &mut Vec<Label>, name: &str, value: String) {
    if value.is_empty() {
        labels.retain(|l| l.name != name);
        return;
    }
    match labels.iter_mut().find(|l| l.name == name) {
        Some(l) => l.value = value,
        None => labels.push(Label::new(name, value)),
    }
}

fn apply(config: &RelabelConfig, labels: &mut Vec<Label>) -> bool {
    let value = config
        .source_labels
        .iter()
        .map(|n| get(labels, n))
        .collect::<Vec<_>>()
        .join(&config.separator);
    match config.action {
        Action::Drop => return !config.regex.is_match(&value),
        Action::Keep => return config.regex.is_match(&value),
        Action::DropEqual => return get(labels, &config.target_label) != value,
        Action::KeepEqual => return get(labels, &config.target_label) == value,
        Action::Replace => {
            if value.is_empty()
                && config.regex_source == DEFAULT_REGEX
                && !config.target_label.contains('$')
                && !config.replacement.contains('$')
            {
                set(labels, &config.target_label, config.replacement.clone());
                return true;
            }
            let Some(caps) = config.regex.captures(&value) else {
                return true;
            };
            let mut target = String::new();
            caps.expand(&config.target_label, &mut target);
            if !is_valid_label_name(&target) {
                return true;
            }
            let mut result = String::new();
            caps.expand(&config.replacement, &mut result);
            set(labels, &target, result);
        }
        Action::Lowercase => set(labels, &config.target_label, value.to_lowercase()),
        Action::Uppercase => set(labels, &config.target_label, value.to_uppercase()),
        Action::HashMod => {
            let digest = md5::compute(value.as_bytes());
            let mut tail = [0u8; 8];
            tail.copy_from_slice(&digest.0[8..]);
            let modulus = u64::from_be_bytes(tail) % config.modulus.max(1);
            set(labels, &config.target_label, modulus.to_string());
        }
        Action::LabelMap => {
            let snapshot = labels.clone();
            for label in &snapshot {
                if config.regex.is_match(&label.name) {
                    let name = config
                        .regex
                        .replace_all(&label.name, config.replacement.as_str())
                        .into_owned();
                    set(labels, &name, label.value.clone());
                }
            }
        }
        Action::LabelDrop => labels.retain(|l| !config.regex.is_match(&l.name)),
        Action::LabelKeep => labels.retain(|l| config.regex.is_match(&l.name)),
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(yaml: &str) -> Result<Vec<RelabelConfig>, String> {
        serde_yaml_ng::from_str(yaml).map_err(|e| e.to_string())
    }

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        Labels::from_pairs(pairs.iter().copied())
    }

    #[test]
    fn replace_with_defaults_and_references() {
        let cfg = parse(
            r#"
- source_labels: [__address__]
  regex: '([^:]+):\d+'
  target_label: host
- source_labels: [a, b]
  separator: '-'
  target_label: joined
- source_labels: [missing]
  target_label: x
  replacement: fixed
"#,
        )
        .unwrap();
        let out = process(
            &labels(&[("__address__", "node1:9100"), ("a", "1"), ("b", "2")]),
            &cfg,
        )
        .unwrap();
        assert_eq!(out.get("host"), Some("node1"));
        assert_eq!(out.get("joined"), Some("1-2"));
        assert_eq!(out.get("x"), Some("fixed"));
    }

    #[test]
    fn replace_without_match_leaves_labels_and_empty_result_deletes() {
        let cfg = parse(
            r#"
- source_labels: [job]
  regex: 'nomatch'
  target_label: job
  replacement: changed
- source_labels: [env]
  regex: 'dev'
  target_label: env
  replacement: ''
"#,
        )
        .unwrap();
        let out = process(&labels(&[("job", "api"), ("env", "dev")]), &cfg).unwrap();
        assert_eq!(out.get("job"), Some("api"));
        assert_eq!(out.get("env"), None);
    }

    #[test]
    fn keep_drop_and_equal_variants() {
        let keep = parse("- source_labels: [job]\n  regex: 'api|web'\n  action: keep").unwrap();
        assert!(process(&labels(&[("job", "api")]), &keep).is_some());
        assert!(process(&labels(&[("job", "apis")]), &keep).is_none());
        let drop = parse("- source_labels: [job]\n  regex: 'api'\n  action: Drop").unwrap();
        assert!(process(&labels(&[("job", "api")]), &drop).is_none());
        let keepequal =
            parse("- source_labels: [a]\n  target_label: b\n  action: keepequal").unwrap();
        assert!(process(&labels(&[("a", "1"), ("b", "1")]), &keepequal).is_some());
        assert!(process(&labels(&[("a", "1"), ("b", "2")]), &keepequal).is_none());
        let dropequal =
            parse("- source_labels: [a]\n  target_label: b\n  action: dropequal").unwrap();
        assert!(process(&labels(&[("a", "1"), ("b", "1")]), &dropequal).is_none());
    }

    #[test]
    fn hashmod_matches_prometheus() {
        // md5("node1:9100") last 8 bytes, big endian, mod 10; computed independently:
        let digest = md5::compute(b"node1:9100");
        let expected = u64::from_be_bytes(digest.0[8..].try_into().unwrap()) % 10;
        let cfg = parse(
            "- source_labels: [__address__]\n  modulus: 10\n  target_label: shard\n  action: hashmod",
        )
        .unwrap();
        let out = process(&labels(&[("__address__", "node1:9100")]), &cfg).unwrap();
        assert_eq!(out.get("shard"), Some(expected.to_string().as_str()));
        // md5 of the empty string is d41d8cd98f00b204e9800998ecf8427e: tail 0xe9800998ecf8427e.
        let empty = process(&labels(&[]), &cfg).unwrap();
        assert_eq!(
            empty.get("shard"),
            Some((0xe980_0998_ecf8_427e_u64 % 10).to_string().as_str())
        );
    }

    #[test]
    fn labelmap_labeldrop_labelkeep_and_case() {
        let cfg = parse(
            r#"
- regex: '__meta_kubernetes_pod_label_(.+)'
  action: labelmap
- regex: '__meta_.*'
  action: labeldrop
- source_labels: [app]
  target_label: app_upper
  action: uppercase
"#,
        )
        .unwrap();
        let out = process(
            &labels(&[
                ("__meta_kubernetes_pod_label_app", "web"),
                ("__meta_kubernetes_namespace", "ns"),
                ("job", "x"),
            ]),
            &cfg,
        )
        .unwrap();
        assert_eq!(out.to_string(), r#"{app="web", app_upper="WEB", job="x"}"#);
        let keep = parse("- regex: 'job|app'\n  action: labelkeep").unwrap();
        let out = process(&labels(&[("job", "x"), ("other", "y")]), &keep).unwrap();
        assert_eq!(out.to_string(), r#"{job="x"}"#);
    }

    #[test]
    fn validation_messages_are_prometheus_ones() {
        let cases = [
            (
                "- action: replace\n  source_labels: [a]",
                "relabel configuration for replace action requires 'target_label' value",
            ),
            (
                "- action: hashmod\n  target_label: x",
                "relabel configuration for hashmod requires non-zero modulus",
            ),
            ("- action: foo", "unknown relabel action \"foo\""),
            (
                "- action: replace\n  target_label: '0bad'",
                "\"0bad\" is invalid 'target_label' for replace action",
            ),
            (
                "- action: labeldrop\n  regex: x\n  source_labels: [a]",
                "labeldrop action requires only 'regex', and no other fields",
            ),
            (
                "- action: lowercase\n  target_label: x\n  replacement: y",
                "'replacement' can not be set for lowercase action",
            ),
            ("- action: keep\n  regex: '('", "error parsing regexp"),
            (
                "- action: replace\n  target_label: x\n  foo: 1",
                "unknown field `foo`",
            ),
        ];
        for (yaml, want) in cases {
            let err = parse(yaml).unwrap_err();
            assert!(err.contains(want), "{yaml}: got {err}");
        }
        // A `$` reference in target_label is allowed for replace.
        assert!(
            parse(
                "- action: replace\n  regex: '(.*)'\n  source_labels: [a]\n  target_label: 'x_${1}'"
            )
            .is_ok()
        );
    }

    #[test]
    fn regex_is_anchored() {
        let cfg = parse("- source_labels: [job]\n  regex: 'api'\n  action: keep").unwrap();
        assert!(process(&labels(&[("job", "my-api")]), &cfg).is_none());
    }
}
