//! Label sets and label matchers with Prometheus semantics.
//!
//! Every store identifies a series or stream by its label set, and every query language selects
//! them with matchers. Keeping one definition means a fingerprint computed at ingest equals the
//! one computed at query time, in every service.

use std::borrow::Borrow;
use std::fmt;
use std::sync::Arc;

use regex::Regex;
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The label that holds a metric's name.
pub const METRIC_NAME: &str = "__name__";

/// Separator byte used when hashing label sets: it cannot occur in valid UTF-8, so
/// `{a="bc"}` and `{ab="c"}` hash differently.
const HASH_SEPARATOR: u8 = 0xff;

/// One name/value pair.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Label {
    /// Label name.
    pub name: String,
    /// Label value; never empty inside a [`Labels`].
    pub value: String,
}

impl Label {
    /// Builds a label from anything string-like.
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            value: value.into(),
        }
    }
}

/// A label set: sorted by name, one value per name, no empty values.
///
/// Prometheus treats a label with an empty value as absent, so such labels are dropped on
/// construction; when a name appears twice the last value wins (as `labels.Builder` does).
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Labels(Vec<Label>);

/// Hashes as the 64-bit fingerprint: one xxHash pass instead of SipHash over every string,
/// which matters for the per-step `HashMap<Labels, _>` grouping in query evaluation. Equal
/// label sets have equal fingerprints, so this agrees with `Eq`.
impl std::hash::Hash for Labels {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write_u64(self.fingerprint());
    }
}

impl Labels {
    /// The empty label set.
    pub const fn empty() -> Self {
        Self(Vec::new())
    }

    /// Builds a label set from pairs in any order.
    pub fn from_pairs<N, V, I>(pairs: I) -> Self
    where
        N: Into<String>,
        V: Into<String>,
        I: IntoIterator<Item = (N, V)>,
    {
        Self::from_labels(pairs.into_iter().map(|(n, v)| Label::new(n, v)).collect())
    }

    /// Builds a label set from labels in any order (sorts, deduplicates, drops empty values).
    pub fn from_labels(mut labels: Vec<Label>) -> Self {
        // A stable sort keeps insertion order among equal names, so "last wins" below holds.
        labels.sort_by(|a, b| a.name.cmp(&b.name));
        let mut out: Vec<Label> = Vec::with_capacity(labels.len());
        for label in labels {
            match out.last_mut() {
                Some(last) if last.name == label.name => *last = label,
                _ => out.push(label),
            }
        }
        out.retain(|l| !l.value.is_empty());
        Self(out)
    }

    /// Wraps labels that the caller guarantees are already sorted, unique and non-empty.
    ///
    /// Used on hot paths (decoding our own storage formats) where sorting again is waste.
    /// Debug builds verify the invariant.
    pub fn from_sorted_unchecked(labels: Vec<Label>) -> Self {
        debug_assert!(
            labels.windows(2).all(|w| w[0].name < w[1].name),
            "labels not sorted or not unique"
        );
        Self(labels)
    }

    /// Number of labels.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when the set has no label.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The labels in name order.
    pub fn iter(&self) -> std::slice::Iter<'_, Label> {
        self.0.iter()
    }

    /// The labels as a slice, in name order.
    pub fn as_slice(&self) -> &[Label] {
        &self.0
    }

    /// Consumes the set into its sorted labels.
    pub fn into_vec(self) -> Vec<Label> {
        self.0
    }

    /// The value of `name`, if present.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .binary_search_by(|l| l.name.as_str().cmp(name))
            .ok()
            .map(|i| self.0[i].value.as_str())
    }

    /// The value of `name`, or `""` when absent (matchers see absent labels as empty).
    pub fn get_or_empty(&self, name: &str) -> &str {
        self.get(name).unwrap_or("")
    }

    /// True when `name` is present.
    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// The metric name (`__name__`), if any.
    pub fn metric_name(&self) -> Option<&str> {
        self.get(METRIC_NAME)
    }

    /// A copy with `name` set to `value` (removed when `value` is empty).
    pub fn with(&self, name: &str, value: &str) -> Self {
        let mut labels = self.0.clone();
        match labels.binary_search_by(|l| l.name.as_str().cmp(name)) {
            Ok(i) if value.is_empty() => {
                labels.remove(i);
            }
            Ok(i) => labels[i].value = value.to_owned(),
            Err(_) if value.is_empty() => {}
            Err(i) => labels.insert(i, Label::new(name, value)),
        }
        Self(labels)
    }

    /// A copy without the given names.
    pub fn without<S: Borrow<str>>(&self, names: &[S]) -> Self {
        Self(
            self.0
                .iter()
                .filter(|l| !names.iter().any(|n| n.borrow() == l.name))
                .cloned()
                .collect(),
        )
    }

    /// A copy with only the given names.
    pub fn keep<S: Borrow<str>>(&self, names: &[S]) -> Self {
        Self(
            self.0
                .iter()
                .filter(|l| names.iter().any(|n| n.borrow() == l.name))
                .cloned()
                .collect(),
        )
    }

    /// A copy without `__name__`, as most PromQL functions and operators return.
    pub fn without_metric_name(&self) -> Self {
        self.without(&[METRIC_NAME])
    }

    /// Stable 64-bit fingerprint of the whole set (xxHash64 over `name 0xff value 0xff ...`).
    ///
    /// Stable across processes and releases: it may be persisted in indexes.
    pub fn fingerprint(&self) -> u64 {
        hash_labels(self.0.iter())
    }

    /// Fingerprint of only the labels named in `names` (for `by (...)` / `on (...)` grouping).
    pub fn fingerprint_for<S: Borrow<str>>(&self, names: &[S]) -> u64 {
        hash_labels(
            self.0
                .iter()
                .filter(|l| names.iter().any(|n| n.borrow() == l.name)),
        )
    }

    /// Fingerprint of the labels not in `names` and not `__name__` (for `without (...)` /
    /// `ignoring (...)` grouping).
    pub fn fingerprint_without<S: Borrow<str>>(&self, names: &[S]) -> u64 {
        hash_labels(
            self.0
                .iter()
                .filter(|l| l.name != METRIC_NAME && !names.iter().any(|n| n.borrow() == l.name)),
        )
    }
}

fn hash_labels<'a>(labels: impl Iterator<Item = &'a Label>) -> u64 {
    let mut hasher = xxhash_rust::xxh64::Xxh64::new(0);
    for label in labels {
        hasher.update(label.name.as_bytes());
        hasher.update(&[HASH_SEPARATOR]);
        hasher.update(label.value.as_bytes());
        hasher.update(&[HASH_SEPARATOR]);
    }
    hasher.digest()
}

impl fmt::Debug for Labels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Prometheus' own rendering: `{a="1", b="2"}` with Go-style quoting of values.
impl fmt::Display for Labels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("{")?;
        for (i, label) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{}={}", label.name, quote(&label.value))?;
        }
        f.write_str("}")
    }
}

/// Go's `strconv.Quote`, the quoting Prometheus uses for label values in text output.
pub use crate::duration::go_quote as quote;

impl<'a> IntoIterator for &'a Labels {
    type Item = &'a Label;
    type IntoIter = std::slice::Iter<'a, Label>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl FromIterator<Label> for Labels {
    fn from_iter<T: IntoIterator<Item = Label>>(iter: T) -> Self {
        Self::from_labels(iter.into_iter().collect())
    }
}

/// Serialises as a JSON object in name order, the shape every upstream API uses.
impl Serialize for Labels {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for label in &self.0 {
            map.serialize_entry(&label.name, &label.value)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Labels {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let map = std::collections::BTreeMap::<String, String>::deserialize(deserializer)?;
        Ok(Self::from_pairs(map))
    }
}

/// True for a name valid under Prometheus' legacy (pre-UTF-8) rules: `[a-zA-Z_][a-zA-Z0-9_]*`.
pub fn is_valid_label_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    match bytes.next() {
        Some(b) if b.is_ascii_alphabetic() || b == b'_' => {}
        _ => return false,
    }
    bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// True for a metric name valid under the legacy rules: `[a-zA-Z_:][a-zA-Z0-9_:]*`.
pub fn is_valid_metric_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    match bytes.next() {
        Some(b) if b.is_ascii_alphabetic() || b == b'_' || b == b':' => {}
        _ => return false,
    }
    bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b':')
}

/// The comparison a matcher applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MatchOp {
    /// `=`
    Equal,
    /// `!=`
    NotEqual,
    /// `=~`
    Regex,
    /// `!~`
    NotRegex,
}

impl MatchOp {
    /// The operator as written in PromQL and LogQL.
    pub fn as_str(self) -> &'static str {
        match self {
            MatchOp::Equal => "=",
            MatchOp::NotEqual => "!=",
            MatchOp::Regex => "=~",
            MatchOp::NotRegex => "!~",
        }
    }
}

impl fmt::Display for MatchOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A matcher could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MatcherError {
    /// The regular expression does not compile.
    #[error("invalid regular expression {value:?} for label {name:?}: {reason}")]
    InvalidRegex {
        /// Label name.
        name: String,
        /// The expression as given.
        value: String,
        /// The compiler's message.
        reason: String,
    },
}

/// A label matcher: `name op "value"`.
///
/// Regexes are fully anchored (`^(?s:value)$`), as in Prometheus and Loki. A matcher that
/// matches the empty string also matches series that lack the label.
#[derive(Clone)]
pub struct Matcher {
    /// Label name.
    pub name: String,
    /// Comparison.
    pub op: MatchOp,
    /// Value or regular expression source, as written.
    pub value: String,
    regex: Option<Arc<FastRegex>>,
}

impl Matcher {
    /// Builds a matcher, compiling the regex for `=~` and `!~`.
    pub fn new(
        op: MatchOp,
        name: impl Into<String>,
        value: impl Into<String>,
    ) -> Result<Self, MatcherError> {
        let name = name.into();
        let value = value.into();
        let regex = match op {
            MatchOp::Regex | MatchOp::NotRegex => {
                Some(Arc::new(FastRegex::new(&value).map_err(|e| {
                    MatcherError::InvalidRegex {
                        name: name.clone(),
                        value: value.clone(),
                        reason: e.to_string(),
                    }
                })?))
            }
            MatchOp::Equal | MatchOp::NotEqual => None,
        };
        Ok(Self {
            name,
            op,
            value,
            regex,
        })
    }

    /// `name="value"`.
    pub fn equal(name: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            op: MatchOp::Equal,
            value: value.into(),
            regex: None,
        }
    }

    /// True when the label value `value` (`""` when absent) satisfies the matcher.
    pub fn matches(&self, value: &str) -> bool {
        match self.op {
            MatchOp::Equal => self.value == value,
            MatchOp::NotEqual => self.value != value,
            MatchOp::Regex => self.regex.as_ref().is_some_and(|r| r.is_match(value)),
            MatchOp::NotRegex => !self.regex.as_ref().is_some_and(|r| r.is_match(value)),
        }
    }

    /// True when the label set satisfies the matcher (absent labels count as empty).
    pub fn matches_labels(&self, labels: &Labels) -> bool {
        self.matches(labels.get_or_empty(&self.name))
    }

    /// True when the matcher accepts the empty value, i.e. also selects series without the
    /// label. Index lookups need this to know whether postings alone can answer.
    pub fn matches_empty(&self) -> bool {
        self.matches("")
    }

    /// For `=~` matchers over a plain alternation of literals (`a|b|c`), the literals; an
    /// index can answer these by direct lookups instead of scanning every value.
    pub fn set_matches(&self) -> Option<&[String]> {
        match (&self.op, &self.regex) {
            (MatchOp::Regex, Some(r)) => r.literals.as_deref(),
            _ => None,
        }
    }
}

impl fmt::Debug for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}{}", self.name, self.op, quote(&self.value))
    }
}

impl PartialEq for Matcher {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.op == other.op && self.value == other.value
    }
}

impl Eq for Matcher {}

impl std::hash::Hash for Matcher {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.name.hash(state);
        self.op.hash(state);
        self.value.hash(state);
    }
}

/// True when every matcher accepts the label set.
pub fn matches_all(matchers: &[Matcher], labels: &Labels) -> bool {
    matchers.iter().all(|m| m.matches_labels(labels))
}

/// A fully anchored regex with a fast path for alternations of literals.
#[derive(Debug)]
struct FastRegex {
    regex: Regex,
    /// Set when the source is `lit1|lit2|...` with no metacharacters.
    literals: Option<Vec<String>>,
}

impl FastRegex {
    fn new(source: &str) -> Result<Self, regex::Error> {
        let regex = Regex::new(&format!("^(?s:{source})$"))?;
        let literals = literal_alternation(source);
        Ok(Self { regex, literals })
    }

    fn is_match(&self, value: &str) -> bool {
        match &self.literals {
            Some(set) => set.iter().any(|l| l == value),
            None => self.regex.is_match(value),
        }
    }
}

/// `a|b|c` with only plain characters: the alternatives; otherwise `None`.
fn literal_alternation(source: &str) -> Option<Vec<String>> {
    const META: &[char] = &[
        '\\', '.', '+', '*', '?', '(', ')', '[', ']', '{', '}', '^', '$',
    ];
    if source.contains(META) {
        return None;
    }
    Some(source.split('|').map(str::to_owned).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_sorted_deduplicated_and_drop_empty_values() {
        let l = Labels::from_pairs([("b", "2"), ("a", "1"), ("b", "3"), ("c", "")]);
        assert_eq!(l.to_string(), r#"{a="1", b="3"}"#);
        assert_eq!(l.get("b"), Some("3"));
        assert_eq!(l.get("c"), None);
        assert_eq!(l.get_or_empty("c"), "");
    }

    #[test]
    fn fingerprint_is_stable_and_separates_boundaries() {
        let a = Labels::from_pairs([("a", "bc")]);
        let b = Labels::from_pairs([("ab", "c")]);
        assert_ne!(a.fingerprint(), b.fingerprint());
        // Pinned value: the fingerprint may be persisted, so it must never change.
        let pinned = Labels::from_pairs([("__name__", "up"), ("job", "node")]).fingerprint();
        let mut h = xxhash_rust::xxh64::Xxh64::new(0);
        h.update(b"__name__\xffup\xffjob\xffnode\xff");
        assert_eq!(pinned, h.digest());
        // Order of construction does not matter.
        assert_eq!(
            Labels::from_pairs([("x", "1"), ("y", "2")]).fingerprint(),
            Labels::from_pairs([("y", "2"), ("x", "1")]).fingerprint()
        );
    }

    #[test]
    fn grouping_fingerprints() {
        let l = Labels::from_pairs([("__name__", "m"), ("a", "1"), ("b", "2")]);
        let only_a = Labels::from_pairs([("a", "1")]);
        assert_eq!(l.fingerprint_for(&["a"]), only_a.fingerprint());
        assert_eq!(l.fingerprint_without(&["b"]), only_a.fingerprint());
    }

    #[test]
    fn with_and_without() {
        let l = Labels::from_pairs([("a", "1"), ("c", "3")]);
        assert_eq!(l.with("b", "2").to_string(), r#"{a="1", b="2", c="3"}"#);
        assert_eq!(l.with("a", "").to_string(), r#"{c="3"}"#);
        assert_eq!(l.without(&["a"]).to_string(), r#"{c="3"}"#);
        assert_eq!(l.keep(&["a"]).to_string(), r#"{a="1"}"#);
    }

    #[test]
    fn json_shape_is_an_object() {
        let l = Labels::from_pairs([("job", "x"), ("__name__", "up")]);
        assert_eq!(
            serde_json::to_string(&l).unwrap(),
            r#"{"__name__":"up","job":"x"}"#
        );
        let back: Labels = serde_json::from_str(r#"{"job":"x","__name__":"up"}"#).unwrap();
        assert_eq!(back, l);
    }

    #[test]
    fn regex_matchers_are_fully_anchored() {
        let m = Matcher::new(MatchOp::Regex, "job", "no.e").unwrap();
        assert!(m.matches("node"));
        assert!(!m.matches("a_node"));
        assert!(!m.matches("nodes"));
        let dot_all = Matcher::new(MatchOp::Regex, "x", "a.b").unwrap();
        assert!(dot_all.matches("a\nb"));
        let nre = Matcher::new(MatchOp::NotRegex, "job", "node|api").unwrap();
        assert!(!nre.matches("api"));
        assert!(nre.matches("apis"));
        assert_eq!(
            Matcher::new(MatchOp::Regex, "x", "a|b")
                .unwrap()
                .set_matches(),
            Some(&["a".to_owned(), "b".to_owned()][..])
        );
    }

    #[test]
    fn empty_value_rules() {
        let labels = Labels::from_pairs([("job", "node")]);
        // A matcher accepting "" selects series without the label.
        assert!(Matcher::equal("env", "").matches_labels(&labels));
        assert!(
            Matcher::new(MatchOp::Regex, "env", "|prod")
                .unwrap()
                .matches_labels(&labels)
        );
        assert!(
            !Matcher::new(MatchOp::Regex, "env", ".+")
                .unwrap()
                .matches_labels(&labels)
        );
        assert!(
            !Matcher::new(MatchOp::NotEqual, "job", "node")
                .unwrap()
                .matches_labels(&labels)
        );
        assert!(
            Matcher::new(MatchOp::NotEqual, "env", "prod")
                .unwrap()
                .matches_labels(&labels)
        );
        assert!(Matcher::equal("env", "").matches_empty());
    }

    #[test]
    fn bad_regex_names_the_label() {
        let err = Matcher::new(MatchOp::Regex, "job", "(").unwrap_err();
        assert!(err.to_string().contains("\"job\""), "{err}");
    }

    #[test]
    fn name_validation() {
        assert!(is_valid_label_name("_a1"));
        assert!(!is_valid_label_name("1a"));
        assert!(!is_valid_label_name("a-b"));
        assert!(!is_valid_label_name(""));
        assert!(is_valid_metric_name("a:b_c"));
        assert!(!is_valid_label_name("a:b"));
    }

    #[test]
    fn go_quoting() {
        assert_eq!(quote("a\"b\\c\nd\u{1}"), r#""a\"b\\c\nd\x01""#);
    }
}
