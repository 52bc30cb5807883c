//! Command-line flags with the upstream's own parsing rules, so Helm charts and scripts written
//! for Loki/Tempo/Promtail (Go `flag`) or Prometheus/Alertmanager (kingpin) keep working.
//!
//! * [`FlagStyle::Go`]: `-name=value`, `--name=value`, `-name value`, `--name value`; a bool
//!   flag is `-name` or `-name=false` (never `-name false`: that `false` ends the flags, as in
//!   Go); parsing stops at the first non-flag argument or after `--`; `-h`/`-help`/`--help`
//!   ask for help unless defined; repeating a flag overwrites it (list flags append).
//! * [`FlagStyle::Kingpin`]: long flags take two dashes (`--name=value`, `--name value`); bools
//!   are `--name` / `--no-name` and do **not** take `=value` (`--flag=false` leaves `false` as a
//!   stray argument, an error); registered one-letter short flags (`-h`); a non-list flag
//!   given twice is an error.
//!
//! Errors use the upstream wording (`flag provided but not defined: -foo`,
//! `unknown long flag '--foo'`) and always name the flag.

mod parse;
#[cfg(test)]
mod tests;
mod usage;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use super::{Base2Bytes, ByteSize};
use crate::duration::{format_go_duration, format_prom_duration, go_quote};

/// Which upstream parser to imitate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlagStyle {
    /// Go's standard `flag` package (Loki, Tempo, Promtail, Mimir).
    Go,
    /// `alecthomas/kingpin` (Prometheus, Alertmanager, promtool, amtool).
    Kingpin,
}

/// The type of a flag, which decides its syntax and how its default is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlagKind {
    /// Free text.
    String,
    /// Boolean (takes no separate value argument).
    Bool,
    /// Signed integer (Go base-0 syntax in Go style: `0x10`, `1_000`).
    Int,
    /// Unsigned integer.
    Uint,
    /// 64-bit float.
    Float,
    /// Go `time.Duration` (`1.5h`).
    GoDuration,
    /// Prometheus `model.Duration` (`15d`).
    PromDuration,
    /// Repeatable text: each occurrence appends (`--cluster.peer=a --cluster.peer=b`).
    StringList,
    /// Comma-separated text list (dskit `StringSliceCSV`): each occurrence replaces the list.
    CsvList,
    /// Loki-style byte size (`flagext.ByteSize`, `10MB`).
    ByteSize,
    /// Prometheus-style byte size (`units.Base2Bytes`, `512MB`).
    Base2Bytes,
}

/// A parsed flag value.
#[derive(Debug, Clone, PartialEq)]
pub enum FlagValue {
    /// [`FlagKind::String`].
    String(String),
    /// [`FlagKind::Bool`].
    Bool(bool),
    /// [`FlagKind::Int`].
    Int(i64),
    /// [`FlagKind::Uint`].
    Uint(u64),
    /// [`FlagKind::Float`].
    Float(f64),
    /// [`FlagKind::GoDuration`], signed nanoseconds.
    GoDuration(i64),
    /// [`FlagKind::PromDuration`].
    PromDuration(Duration),
    /// [`FlagKind::StringList`] and [`FlagKind::CsvList`].
    List(Vec<String>),
    /// [`FlagKind::ByteSize`].
    ByteSize(ByteSize),
    /// [`FlagKind::Base2Bytes`].
    Base2Bytes(Base2Bytes),
}

impl FlagValue {
    /// The value as text, as Prometheus' `/api/v1/status/flags` and Go's `flag.Value.String()`
    /// show it (lists joined by commas).
    pub fn render(&self) -> String {
        match self {
            Self::String(s) => s.clone(),
            Self::Bool(b) => b.to_string(),
            Self::Int(i) => i.to_string(),
            Self::Uint(u) => u.to_string(),
            Self::Float(f) => f.to_string(),
            Self::GoDuration(ns) => format_go_duration(*ns),
            Self::PromDuration(d) => format_prom_duration(*d),
            Self::List(items) => items.join(","),
            Self::ByteSize(b) => b.to_string(),
            Self::Base2Bytes(b) => b.to_string(),
        }
    }

    /// Whether this is the kind's zero value (Go's usage omits such defaults).
    fn is_zero(&self) -> bool {
        match self {
            Self::String(s) => s.is_empty(),
            Self::Bool(b) => !b,
            Self::Int(i) => *i == 0,
            Self::Uint(u) => *u == 0,
            Self::Float(f) => *f == 0.0,
            Self::GoDuration(ns) => *ns == 0,
            Self::PromDuration(d) => d.is_zero(),
            Self::List(items) => items.is_empty(),
            Self::ByteSize(b) => b.0 == 0,
            Self::Base2Bytes(b) => b.0 == 0,
        }
    }

    /// The default as Go's `PrintDefaults` shows it (strings quoted).
    fn usage_default(&self) -> String {
        match self {
            Self::String(s) => go_quote(s),
            other => other.render(),
        }
    }
}

/// Why the command line was refused; texts follow the imitated parser.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FlagError {
    /// `-h`/`-help`/`--help` was given: the caller prints [`FlagError::usage`] and exits 0.
    #[error("flag: help requested")]
    Help(String),
    /// Go: an unregistered flag.
    #[error("flag provided but not defined: -{0}")]
    NotDefined(String),
    /// Go: `---x`, `-=x`.
    #[error("bad flag syntax: {0}")]
    BadSyntax(String),
    /// Go: a non-bool flag at the end of the line with no value.
    #[error("flag needs an argument: -{0}")]
    NeedsArgument(String),
    /// Go: `-flag=x` for a bool flag with a value `strconv.ParseBool` refuses.
    #[error("invalid boolean value {} for -{name}: parse error", go_quote(.value))]
    InvalidBool {
        /// Flag name.
        name: String,
        /// The value given.
        value: String,
    },
    /// A value the flag's type refuses (Go's wording; kingpin itself does not name the flag).
    #[error("invalid value {} for flag {prefix}{name}: {reason}", go_quote(.value))]
    InvalidValue {
        /// `-` (Go) or `--` (kingpin).
        prefix: &'static str,
        /// Flag name.
        name: String,
        /// The value given.
        value: String,
        /// The type's own error text.
        reason: String,
    },
    /// Kingpin: an unregistered `--long` flag.
    #[error("unknown long flag '--{0}'")]
    UnknownLong(String),
    /// Kingpin: an unregistered `-x` short flag.
    #[error("unknown short flag '-{0}'")]
    UnknownShort(String),
    /// Kingpin: a value-taking flag at the end or followed by another flag.
    #[error("expected argument for flag '--{0}'")]
    ExpectedArgument(String),
    /// Kingpin: a non-list flag given twice.
    #[error("flag '{0}' cannot be repeated")]
    Repeated(String),
    /// Kingpin: a positional argument where the program takes none.
    #[error("unexpected {0}")]
    Unexpected(String),
}

impl FlagError {
    /// For [`FlagError::Help`], the usage text to print.
    pub fn usage(&self) -> Option<&str> {
        match self {
            Self::Help(text) => Some(text),
            _ => None,
        }
    }
}

/// One registered flag.
#[derive(Debug, Clone)]
struct FlagDef {
    name: String,
    help: String,
    kind: FlagKind,
    default: FlagValue,
    short: Option<char>,
}

/// A set of flags for one program, with its values after [`FlagSet::parse`].
#[derive(Debug, Clone)]
pub struct FlagSet {
    program: String,
    style: FlagStyle,
    allow_positional: bool,
    defs: BTreeMap<String, FlagDef>,
    values: BTreeMap<String, FlagValue>,
    set: BTreeSet<String>,
}

impl FlagSet {
    /// An empty set for `program` (shown in usage) parsed in `style`. Go style returns
    /// positional arguments to the caller; kingpin style refuses them unless
    /// [`FlagSet::allow_positional`] is called.
    pub fn new(program: impl Into<String>, style: FlagStyle) -> Self {
        Self {
            program: program.into(),
            style,
            allow_positional: style == FlagStyle::Go,
            defs: BTreeMap::new(),
            values: BTreeMap::new(),
            set: BTreeSet::new(),
        }
    }

    /// Lets kingpin-style parsing return positional arguments instead of failing.
    pub fn allow_positional(&mut self) -> &mut Self {
        self.allow_positional = true;
        self
    }

    /// Registers a flag with a default value.
    ///
    /// # Panics
    /// When the name is registered twice or the default does not fit the kind: both are
    /// programming errors found at startup, as Go's `flag redefined` panic is.
    pub fn define(
        &mut self,
        name: &str,
        kind: FlagKind,
        default: FlagValue,
        help: &str,
    ) -> &mut Self {
        assert!(!self.defs.contains_key(name), "flag redefined: {name}");
        assert!(
            kind_matches(kind, &default),
            "flag {name}: default does not fit its kind"
        );
        self.values.insert(name.to_owned(), default.clone());
        self.defs.insert(
            name.to_owned(),
            FlagDef {
                name: name.to_owned(),
                help: help.to_owned(),
                kind,
                default,
                short: None,
            },
        );
        self
    }

    /// Gives a registered flag a one-letter kingpin short form (`-c`).
    ///
    /// # Panics
    /// When the flag is not registered (a programming error).
    pub fn short(&mut self, name: &str, letter: char) -> &mut Self {
        let def = self
            .defs
            .get_mut(name)
            .unwrap_or_else(|| panic!("short form for undefined flag {name}"));
        def.short = Some(letter);
        self
    }

    /// Registers a text flag.
    pub fn string(&mut self, name: &str, default: &str, help: &str) -> &mut Self {
        self.define(
            name,
            FlagKind::String,
            FlagValue::String(default.to_owned()),
            help,
        )
    }

    /// Registers a boolean flag.
    pub fn bool(&mut self, name: &str, default: bool, help: &str) -> &mut Self {
        self.define(name, FlagKind::Bool, FlagValue::Bool(default), help)
    }

    /// Registers a signed integer flag.
    pub fn int(&mut self, name: &str, default: i64, help: &str) -> &mut Self {
        self.define(name, FlagKind::Int, FlagValue::Int(default), help)
    }

    /// Registers an unsigned integer flag.
    pub fn uint(&mut self, name: &str, default: u64, help: &str) -> &mut Self {
        self.define(name, FlagKind::Uint, FlagValue::Uint(default), help)
    }

    /// Registers a float flag.
    pub fn float(&mut self, name: &str, default: f64, help: &str) -> &mut Self {
        self.define(name, FlagKind::Float, FlagValue::Float(default), help)
    }

    /// Registers a Go-duration flag (default in signed nanoseconds).
    pub fn go_duration(&mut self, name: &str, default_ns: i64, help: &str) -> &mut Self {
        self.define(
            name,
            FlagKind::GoDuration,
            FlagValue::GoDuration(default_ns),
            help,
        )
    }

    /// Registers a Prometheus-duration flag.
    pub fn prom_duration(&mut self, name: &str, default: Duration, help: &str) -> &mut Self {
        self.define(
            name,
            FlagKind::PromDuration,
            FlagValue::PromDuration(default),
            help,
        )
    }

    /// Registers a repeatable text flag (each occurrence appends; none given = `default`).
    pub fn string_list(&mut self, name: &str, default: &[&str], help: &str) -> &mut Self {
        let default = default.iter().map(|s| (*s).to_owned()).collect();
        self.define(name, FlagKind::StringList, FlagValue::List(default), help)
    }

    /// Registers a comma-separated list flag (each occurrence replaces the list).
    pub fn csv_list(&mut self, name: &str, default: &[&str], help: &str) -> &mut Self {
        let default = default.iter().map(|s| (*s).to_owned()).collect();
        self.define(name, FlagKind::CsvList, FlagValue::List(default), help)
    }

    /// Registers a Loki-style byte-size flag.
    pub fn byte_size(&mut self, name: &str, default: ByteSize, help: &str) -> &mut Self {
        self.define(name, FlagKind::ByteSize, FlagValue::ByteSize(default), help)
    }

    /// Registers a Prometheus-style byte-size flag.
    pub fn base2_bytes(&mut self, name: &str, default: Base2Bytes, help: &str) -> &mut Self {
        self.define(
            name,
            FlagKind::Base2Bytes,
            FlagValue::Base2Bytes(default),
            help,
        )
    }

    /// The parsing style.
    pub fn style(&self) -> FlagStyle {
        self.style
    }

    /// The current value of a flag (its default until parsed).
    pub fn value(&self, name: &str) -> Option<&FlagValue> {
        self.values.get(name)
    }

    /// Whether the flag was given on the command line (for defaults < file < flags).
    pub fn is_set(&self, name: &str) -> bool {
        self.set.contains(name)
    }

    /// Names of the flags given on the command line, sorted.
    pub fn set_flags(&self) -> impl Iterator<Item = &str> {
        self.set.iter().map(String::as_str)
    }

    /// Every flag's current value as text, sorted by name (Prometheus' `/status/flags`).
    pub fn rendered_values(&self) -> BTreeMap<String, String> {
        self.values
            .iter()
            .map(|(k, v)| (k.clone(), v.render()))
            .collect()
    }

    /// A text flag's value.
    pub fn get_str(&self, name: &str) -> Option<&str> {
        match self.values.get(name)? {
            FlagValue::String(s) => Some(s),
            _ => None,
        }
    }

    /// A boolean flag's value.
    pub fn get_bool(&self, name: &str) -> Option<bool> {
        match self.values.get(name)? {
            FlagValue::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// A signed integer flag's value.
    pub fn get_i64(&self, name: &str) -> Option<i64> {
        match self.values.get(name)? {
            FlagValue::Int(i) => Some(*i),
            _ => None,
        }
    }

    /// An unsigned integer flag's value.
    pub fn get_u64(&self, name: &str) -> Option<u64> {
        match self.values.get(name)? {
            FlagValue::Uint(u) => Some(*u),
            _ => None,
        }
    }

    /// A float flag's value.
    pub fn get_f64(&self, name: &str) -> Option<f64> {
        match self.values.get(name)? {
            FlagValue::Float(f) => Some(*f),
            _ => None,
        }
    }

    /// A duration flag's value (either duration kind) in signed nanoseconds.
    pub fn get_duration_ns(&self, name: &str) -> Option<i64> {
        match self.values.get(name)? {
            FlagValue::GoDuration(ns) => Some(*ns),
            FlagValue::PromDuration(d) => Some(i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)),
            _ => None,
        }
    }

    /// A duration flag's value as a std duration; `None` if negative or not a duration.
    pub fn get_duration(&self, name: &str) -> Option<Duration> {
        u64::try_from(self.get_duration_ns(name)?)
            .ok()
            .map(Duration::from_nanos)
    }

    /// A list flag's values.
    pub fn get_list(&self, name: &str) -> Option<&[String]> {
        match self.values.get(name)? {
            FlagValue::List(items) => Some(items),
            _ => None,
        }
    }

    /// A byte-size flag's value in bytes (either kind; negative Prometheus sizes read as 0).
    pub fn get_bytes(&self, name: &str) -> Option<u64> {
        match self.values.get(name)? {
            FlagValue::ByteSize(b) => Some(b.0),
            FlagValue::Base2Bytes(b) => Some(u64::try_from(b.0).unwrap_or(0)),
            _ => None,
        }
    }
}

fn kind_matches(kind: FlagKind, value: &FlagValue) -> bool {
    matches!(
        (kind, value),
        (FlagKind::String, FlagValue::String(_))
            | (FlagKind::Bool, FlagValue::Bool(_))
            | (FlagKind::Int, FlagValue::Int(_))
            | (FlagKind::Uint, FlagValue::Uint(_))
            | (FlagKind::Float, FlagValue::Float(_))
            | (FlagKind::GoDuration, FlagValue::GoDuration(_))
            | (FlagKind::PromDuration, FlagValue::PromDuration(_))
            | (FlagKind::StringList | FlagKind::CsvList, FlagValue::List(_))
            | (FlagKind::ByteSize, FlagValue::ByteSize(_))
            | (FlagKind::Base2Bytes, FlagValue::Base2Bytes(_))
    )
}
