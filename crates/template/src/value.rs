//! The dynamic value model templates execute against.
//!
//! Go templates walk arbitrary Go values through reflection; here every value a template can
//! see is a [`Value`]. Maps come in three kinds so the Go behaviours users rely on carry over:
//! `map[string]any` ([`MapKind::Any`]), `map[string]string` ([`MapKind::Strings`], whose missing
//! keys read as `""` under `missingkey=zero`) and structs ([`MapKind::Struct`], whose missing
//! fields are an error). Lists and maps may carry a Go type name so methods registered for that
//! type (see [`crate::FuncMap::add_method`]) can be called as `.Alerts.Firing`.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use crate::gotime::Time;

/// A value a template can read, compare, print and pass to functions.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum Value {
    /// Go's nil / an invalid (missing) value; prints as `<no value>` in an action.
    #[default]
    Nil,
    /// A Go `bool`.
    Bool(bool),
    /// A signed integer (Go `int`, `int64`, ...).
    Int(i64),
    /// An unsigned integer (Go `uint64`, e.g. sprig's `bytes`).
    Uint(u64),
    /// A Go `float64`.
    Float(f64),
    /// A Go `string`.
    String(String),
    /// Go's `html/template.HTML`: trusted markup that HTML mode does not escape (`safeHtml`).
    Html(String),
    /// A slice, optionally of a named Go type that has methods.
    List(Arc<List>),
    /// A map with string keys or a struct.
    Map(Arc<Map>),
    /// A Go `time.Time`.
    Time(Time),
    /// A Go `time.Duration` in nanoseconds.
    Duration(i64),
}

/// A slice value; `type_name` selects the methods callable on it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct List {
    /// The elements in order.
    pub items: Vec<Value>,
    /// Go type name used for method lookup (e.g. `template.Alerts`), if any.
    pub type_name: Option<Arc<str>>,
}

/// How a map answers a key it does not hold, mirroring the Go type it stands for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MapKind {
    /// `map[string]any`: a missing key is `<no value>`.
    #[default]
    Any,
    /// `map[string]string`: a missing key is `<no value>`, or `""` with `missingkey=zero`.
    Strings,
    /// A Go struct: a missing field is an execution error (`can't evaluate field X in type T`).
    Struct,
}

/// A map with string keys (iterated in sorted key order, as Go does) or a struct.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Map {
    /// Entries (or struct fields) by key.
    pub entries: BTreeMap<String, Value>,
    /// Which Go type this map mirrors.
    pub kind: MapKind,
    /// Go type name used for method lookup and error messages (e.g. `template.KV`).
    pub type_name: Option<Arc<str>>,
    /// Struct fields in declaration order, for printing `{a b}` like Go (empty: sorted).
    pub field_order: Vec<String>,
}

impl Map {
    /// Entries in Go's print order: declaration order for structs built with
    /// [`Value::object`], key order otherwise.
    pub fn ordered(&self) -> Vec<(&String, &Value)> {
        if self.field_order.len() == self.entries.len() {
            let ordered: Vec<(&String, &Value)> = self
                .field_order
                .iter()
                .filter_map(|k| self.entries.get_key_value(k))
                .collect();
            if ordered.len() == self.entries.len() {
                return ordered;
            }
        }
        self.entries.iter().collect()
    }
}

impl Value {
    /// Build a plain list (`[]any`).
    pub fn list<I, V>(items: I) -> Value
    where
        I: IntoIterator<Item = V>,
        V: Into<Value>,
    {
        Value::List(Arc::new(List {
            items: items.into_iter().map(Into::into).collect(),
            type_name: None,
        }))
    }

    /// Build a list of a named Go type whose registered methods become callable.
    pub fn typed_list<I, V>(type_name: &str, items: I) -> Value
    where
        I: IntoIterator<Item = V>,
        V: Into<Value>,
    {
        Value::List(Arc::new(List {
            items: items.into_iter().map(Into::into).collect(),
            type_name: Some(Arc::from(type_name)),
        }))
    }

    /// Build a `map[string]any`.
    pub fn map<I, K, V>(entries: I) -> Value
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<Value>,
    {
        Value::map_of_kind(MapKind::Any, None, entries)
    }

    /// Build a `map[string]string` (label sets, Loki's label map, Alertmanager's `KV`).
    pub fn string_map<I, K, V>(entries: I) -> Value
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        Value::map_of_kind(
            MapKind::Strings,
            None,
            entries
                .into_iter()
                .map(|(k, v)| (k.into(), Value::String(v.into()))),
        )
    }

    /// Build a struct value: fields by name, missing fields are an error when read.
    pub fn object<I, K, V>(type_name: &str, fields: I) -> Value
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<Value>,
    {
        Value::map_of_kind(MapKind::Struct, Some(type_name), fields)
    }

    /// Build a map of any kind, optionally naming its Go type (for methods).
    pub fn map_of_kind<I, K, V>(kind: MapKind, type_name: Option<&str>, entries: I) -> Value
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<Value>,
    {
        let pairs: Vec<(String, Value)> = entries
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        let field_order = if kind == MapKind::Struct {
            pairs.iter().map(|(k, _)| k.clone()).collect()
        } else {
            Vec::new()
        };
        Value::Map(Arc::new(Map {
            entries: pairs.into_iter().collect(),
            kind,
            type_name: type_name.map(Arc::from),
            field_order,
        }))
    }

    /// Return this list or map with a Go type name attached (other values are unchanged).
    pub fn with_type_name(self, type_name: &str) -> Value {
        match self {
            Value::List(l) => Value::List(Arc::new(List {
                items: l.items.clone(),
                type_name: Some(Arc::from(type_name)),
            })),
            Value::Map(m) => Value::Map(Arc::new(Map {
                entries: m.entries.clone(),
                kind: m.kind,
                type_name: Some(Arc::from(type_name)),
                field_order: m.field_order.clone(),
            })),
            other => other,
        }
    }

    /// Go's truthiness: false, 0, nil, and empty strings, lists and maps are false.
    pub fn is_true(&self) -> bool {
        match self {
            Value::Nil => false,
            Value::Bool(b) => *b,
            Value::Int(i) => *i != 0,
            Value::Uint(u) => *u != 0,
            Value::Float(f) => *f != 0.0,
            Value::String(s) | Value::Html(s) => !s.is_empty(),
            Value::List(l) => !l.items.is_empty(),
            Value::Map(m) => m.kind == MapKind::Struct || !m.entries.is_empty(),
            Value::Time(_) => true,
            Value::Duration(d) => *d != 0,
        }
    }

    /// The Go type name used in error messages (`string`, `int`, `map[string]string`, ...).
    pub fn type_name(&self) -> String {
        match self {
            Value::Nil => "nil".into(),
            Value::Bool(_) => "bool".into(),
            Value::Int(_) => "int".into(),
            Value::Uint(_) => "uint64".into(),
            Value::Float(_) => "float64".into(),
            Value::String(_) => "string".into(),
            Value::Html(_) => "template.HTML".into(),
            Value::List(l) => l
                .type_name
                .as_deref()
                .map_or_else(|| "[]interface {}".into(), str::to_string),
            Value::Map(m) => match (&m.type_name, m.kind) {
                (Some(t), _) => t.to_string(),
                (None, MapKind::Strings) => "map[string]string".into(),
                (None, MapKind::Any) => "map[string]interface {}".into(),
                (None, MapKind::Struct) => "struct".into(),
            },
            Value::Time(_) => "time.Time".into(),
            Value::Duration(_) => "time.Duration".into(),
        }
    }

    /// The Go type name whose registered methods apply to this value, if any.
    pub fn method_type(&self) -> Option<&str> {
        match self {
            Value::List(l) => l.type_name.as_deref(),
            Value::Map(m) => m.type_name.as_deref(),
            _ => None,
        }
    }

    /// The string inside a `String` or `Html` value.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) | Value::Html(s) => Some(s),
            _ => None,
        }
    }

    /// Whether this is nil.
    pub fn is_nil(&self) -> bool {
        matches!(self, Value::Nil)
    }

    /// Convert to JSON (times as RFC 3339, durations as nanoseconds, like Go's encoding/json).
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match self {
            Value::Nil => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Int(i) => J::from(*i),
            Value::Uint(u) => J::from(*u),
            Value::Float(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
            Value::String(s) | Value::Html(s) => J::String(s.clone()),
            Value::List(l) => J::Array(l.items.iter().map(Value::to_json).collect()),
            Value::Map(m) => J::Object(
                m.entries
                    .iter()
                    .map(|(k, v)| (k.clone(), v.to_json()))
                    .collect(),
            ),
            Value::Time(t) => J::String(t.to_rfc3339()),
            Value::Duration(d) => J::from(*d),
        }
    }
}

impl From<serde_json::Value> for Value {
    /// JSON numbers become float64 (as Go's `json.Unmarshal` into `any` does), objects
    /// `map[string]any`.
    fn from(v: serde_json::Value) -> Self {
        use serde_json::Value as J;
        match v {
            J::Null => Value::Nil,
            J::Bool(b) => Value::Bool(b),
            J::Number(n) => Value::Float(n.as_f64().unwrap_or(0.0)),
            J::String(s) => Value::String(s),
            J::Array(a) => Value::list(a.into_iter().map(Value::from)),
            J::Object(o) => Value::map(o.into_iter().map(|(k, v)| (k, Value::from(v)))),
        }
    }
}

impl From<&serde_json::Value> for Value {
    fn from(v: &serde_json::Value) -> Self {
        Value::from(v.clone())
    }
}

impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Bool(v)
    }
}
impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}
impl From<i32> for Value {
    fn from(v: i32) -> Self {
        Value::Int(i64::from(v))
    }
}
impl From<usize> for Value {
    fn from(v: usize) -> Self {
        Value::Int(i64::try_from(v).unwrap_or(i64::MAX))
    }
}
impl From<u64> for Value {
    fn from(v: u64) -> Self {
        Value::Uint(v)
    }
}
impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Value::Float(v)
    }
}
impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::String(v)
    }
}
impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::String(v.to_string())
    }
}
impl From<&String> for Value {
    fn from(v: &String) -> Self {
        Value::String(v.clone())
    }
}
impl From<Time> for Value {
    fn from(v: Time) -> Self {
        Value::Time(v)
    }
}
impl<V: Into<Value>> From<Vec<V>> for Value {
    fn from(v: Vec<V>) -> Self {
        Value::list(v)
    }
}
impl<V: Into<Value>> From<Option<V>> for Value {
    fn from(v: Option<V>) -> Self {
        v.map_or(Value::Nil, Into::into)
    }
}
impl<K: Into<String>, V: Into<Value>> From<BTreeMap<K, V>> for Value {
    fn from(v: BTreeMap<K, V>) -> Self {
        Value::map(v)
    }
}
impl<K: Into<String>, V: Into<Value>> From<std::collections::HashMap<K, V>> for Value {
    fn from(v: std::collections::HashMap<K, V>) -> Self {
        Value::map(v)
    }
}

impl fmt::Display for Value {
    /// Formats like Go's `fmt.Sprint` of the value (no `String()` methods applied).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::format::sprint_value(
            self,
            &crate::format::NoStringer,
        ))
    }
}
