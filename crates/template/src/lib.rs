//! Go's `text/template` (and the text-context part of `html/template`) in Rust, so the stack
//! renders the templates users already wrote for Alertmanager notifications, Prometheus
//! alerting-rule annotations and Loki's `line_format`/`label_format`, byte for byte.
//!
//! # Using it
//!
//! ```
//! use lgtm_template::{TemplateSet, Value, MissingKey, prometheus_funcs, PrometheusContext};
//!
//! let mut set = TemplateSet::new()
//!     .with_funcs(prometheus_funcs(PrometheusContext::default()))
//!     .with_missing_key(MissingKey::Zero);
//! set.parse("summary", "{{ $labels.instance }} is at {{ $value | humanize }}")
//!     .unwrap_err(); // `$labels` must be declared first, as in Prometheus:
//! let defs = "{{$labels := .Labels}}{{$value := .Value}}";
//! set.parse("summary", &format!("{defs}{{{{ $labels.instance }}}} is at {{{{ $value | humanize }}}}"))
//!     .unwrap();
//! let data = Value::object("struct", [
//!     ("Labels", Value::string_map([("instance", "db1")])),
//!     ("Value", Value::Float(1234567.0)),
//! ]);
//! assert_eq!(set.execute("summary", &data).unwrap(), "db1 is at 1.235M");
//! ```
//!
//!
//! Alertmanager's Telegram default, HTML-escaped as with `parse_mode: HTML`:
//!
//! ```
//! use lgtm_template::alertmanager::{default_template_set, Alert, Data};
//! use lgtm_template::{Env, Escape, Time};
//!
//! let set = default_template_set().unwrap();
//! let alert = Alert {
//!     status: "firing".into(),
//!     labels: [("alertname".to_string(), "NodeDown".to_string())].into(),
//!     annotations: [("summary".to_string(), "db1 <down>".to_string())].into(),
//!     starts_at: Time::from_unix(1_700_000_000, 0),
//!     ..Alert::default()
//! };
//! let data = Data::new("tg", Default::default(), vec![alert], "http://am:9093");
//! let env = Env { escape: Escape::Html, ..Env::default() };
//! let text = set
//!     .render_with(r#"{{ template "telegram.default.message" . }}"#, &data.to_value(), &env)
//!     .unwrap();
//! assert!(text.contains(" - summary = db1 &lt;down&gt;\n"));
//! ```
//!
//! Loki's `line_format`, parsed once and executed per entry:
//!
//! ```
//! use lgtm_template::{Env, MissingKey, TemplateSet, Value, loki_funcs};
//!
//! let mut set = TemplateSet::new().with_funcs(loki_funcs()).with_missing_key(MissingKey::Zero);
//! set.parse("line", "{{ .level | upper }} {{ __line__ | trunc 5 }}").unwrap();
//! let env = Env { line: Some("hello world"), timestamp_nanos: Some(0), ..Env::default() };
//! let out = set
//!     .execute_with("line", &Value::string_map([("level", "info")]), &env)
//!     .unwrap();
//! assert_eq!(out, "INFO hello");
//! ```
//!
//! * [`TemplateSet`] is Go's `*template.Template`: a namespace of named templates (the main
//!   text of each [`TemplateSet::parse`] plus its `{{define}}`s), a [`FuncMap`], and
//!   [`Options`] (`missingkey` mode, depth and output limits).
//! * [`TemplateSet::execute`] / [`TemplateSet::execute_with`] run a named template;
//!   [`TemplateSet::render`] parses and runs a one-off text against the set without changing
//!   it (Alertmanager's `ExecuteTextString`). [`Env`] carries per-execution inputs: the escape
//!   mode ([`Escape::Html`] is `html/template`'s text-context escaping, with `safeHtml`
//!   bypass), the clock, Loki's current line and timestamp, and extra functions.
//! * Data is a [`Value`]: nil, bool, int, uint, float, string, trusted HTML, list, map
//!   (`map[string]any`, `map[string]string`, or a struct whose missing fields are an error),
//!   `time.Time` and `time.Duration`. Build it with `From` impls, [`Value::map`],
//!   [`Value::string_map`], [`Value::object`], or from `serde_json::Value`.
//! * Methods on Go types (`.Alerts.Firing`, `.Labels.SortedPairs`, `.StartsAt.Format`) are
//!   functions registered per type name with [`FuncMap::add_method`] and looked up on lists
//!   and maps carrying that type name; `time.Time`/`time.Duration` methods are built in.
//! * Function sets: [`prometheus_funcs`], [`alertmanager_funcs`] (with the Alertmanager data
//!   model in [`alertmanager`] and its shipped default templates), [`loki_funcs`].
//!
//! Known gaps are listed in `docs/template.md` (notably: HTML mode tracks text, attribute and
//! URL contexts but escapes `<script>`/CSS contexts as HTML text).

mod ast;
mod error;
mod escape;
mod exec;
mod format;
mod funcs;
mod gotime;
mod htmlctx;
mod lex;
mod parse;
mod value;
mod zoneinfo;

use std::collections::HashMap;
use std::sync::Arc;

pub use error::{Error, Result};
pub use funcs::alertmanager::{self, alertmanager_funcs};
pub use funcs::loki::loki_funcs;
pub use funcs::prometheus::{
    ALERT_TEMPLATE_DEFS, AlertTemplateData, PrometheusContext, QueryFn, Sample,
    check_alert_template, expand_alert_template, prometheus_funcs,
};
pub use funcs::{Arity, CallCtx, Func, FuncMap, Method};
pub use gotime::{ParseTimeError, Time, duration_string, parse_go_duration, parse_layout};
pub use value::{List, Map, MapKind, Value};
pub use zoneinfo::{Location, load_location};

use ast::Tree;

/// Go's `missingkey` option: what reading an absent map key yields.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MissingKey {
    /// `missingkey=default`/`invalid`: `<no value>` when printed.
    #[default]
    Default,
    /// `missingkey=zero`: the element type's zero value (`""` for `map[string]string`).
    /// Prometheus, Alertmanager and Loki all execute with this.
    Zero,
    /// `missingkey=error`: execution stops with `map has no entry for key "x"`.
    Error,
}

/// How action output is escaped.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Escape {
    /// `text/template`: no escaping.
    #[default]
    Text,
    /// `html/template` in HTML text context: `< > & ' " +` and NUL are escaped, values from
    /// `safeHtml` (and other [`Value::Html`]) are written as they are, nil prints nothing.
    Html,
}

/// Set-wide execution options.
#[derive(Clone, Debug)]
pub struct Options {
    /// Missing map key behaviour.
    pub missing_key: MissingKey,
    /// Maximum `{{template}}` nesting (Go allows 100000; a lower bound protects the stack).
    pub max_depth: usize,
    /// Maximum output size of one execution, in bytes.
    pub max_output_bytes: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            missing_key: MissingKey::Default,
            max_depth: 200,
            max_output_bytes: 16 << 20,
        }
    }
}

/// Per-execution inputs that functions may read through [`CallCtx::env`].
#[derive(Clone, Default)]
pub struct Env<'a> {
    /// Output escaping for this execution.
    pub escape: Escape,
    /// The clock for `now`, `since`, ... (`None`: system clock).
    pub now: Option<Time>,
    /// Loki: the current log line (`__line__`).
    pub line: Option<&'a str>,
    /// Loki: the current entry's timestamp in Unix nanoseconds (`__timestamp__`).
    pub timestamp_nanos: Option<i64>,
    /// Functions that override the set's ones for this execution only (e.g. a `query` bound
    /// to the evaluation time). Their names must exist in the set at parse time.
    pub funcs: Option<&'a FuncMap>,
}

impl std::fmt::Debug for Env<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Env")
            .field("escape", &self.escape)
            .field("now", &self.now)
            .field("line", &self.line)
            .field("timestamp_nanos", &self.timestamp_nanos)
            .finish_non_exhaustive()
    }
}

/// A set of named templates sharing functions and options (Go's `*template.Template`).
#[derive(Clone, Debug, Default)]
pub struct TemplateSet {
    name: String,
    templates: HashMap<String, Arc<Tree>>,
    funcs: FuncMap,
    options: Options,
}

impl TemplateSet {
    /// An empty set with only Go's builtin functions and `missingkey=default`.
    pub fn new() -> Self {
        Self::default()
    }

    /// Add functions (and methods); later additions override earlier ones and builtins.
    pub fn with_funcs(mut self, funcs: FuncMap) -> Self {
        self.funcs.extend(&funcs);
        self
    }

    /// Add functions (and methods) in place.
    pub fn add_funcs(&mut self, funcs: &FuncMap) {
        self.funcs.extend(funcs);
    }

    /// Set the missing-key mode.
    pub fn with_missing_key(mut self, mode: MissingKey) -> Self {
        self.options.missing_key = mode;
        self
    }

    /// Replace all options.
    pub fn with_options(mut self, options: Options) -> Self {
        self.options = options;
        self
    }

    /// The current options.
    pub fn options(&self) -> &Options {
        &self.options
    }

    /// The functions registered on this set (without Go's builtins).
    pub fn funcs(&self) -> &FuncMap {
        &self.funcs
    }

    fn has_func(&self, extra: Option<&FuncMap>, name: &str) -> bool {
        self.funcs.contains(name)
            || name == "and"
            || name == "or"
            || funcs::builtin::builtins().contains(name)
            || extra.is_some_and(|f| f.contains(name))
    }

    fn parse_trees(
        &self,
        name: &str,
        text: &str,
        extra: Option<&FuncMap>,
    ) -> Result<parse::Parsed> {
        let has = |n: &str| self.has_func(extra, n);
        parse::parse(name, text, &has).map_err(|e| {
            let end = e.pos.min(text.len());
            let line = 1 + text.as_bytes()[..end]
                .iter()
                .filter(|b| **b == b'\n')
                .count();
            Error::Parse {
                name: name.to_string(),
                line,
                message: e.msg,
            }
        })
    }

    fn install(map: &mut HashMap<String, Arc<Tree>>, parsed: parse::Parsed) {
        for d in parsed.defines {
            Self::add_tree(map, d);
        }
        Self::add_tree(map, parsed.main);
    }

    /// Go's `associate`: an empty (whitespace-only) body does not replace an existing one.
    fn add_tree(map: &mut HashMap<String, Arc<Tree>>, tree: Tree) {
        if let Some(old) = map.get(&tree.name)
            && parse::is_empty_tree(&tree.root)
            && !old.root.is_empty()
        {
            return;
        }
        map.insert(tree.name.clone(), Arc::new(tree));
    }

    /// Parse `text` as template `name`, adding its `{{define}}`s to the set (later definitions
    /// replace earlier ones, as in Go). The first parse also names the set.
    pub fn parse(&mut self, name: &str, text: &str) -> Result<()> {
        let parsed = self.parse_trees(name, text, None)?;
        if self.name.is_empty() {
            self.name = name.to_string();
        }
        Self::install(&mut self.templates, parsed);
        Ok(())
    }

    /// Whether a template of this name exists.
    pub fn contains(&self, name: &str) -> bool {
        self.templates.contains_key(name)
    }

    /// The field names template `name` reads through `.field` chains (sorted, unique), like
    /// Loki's `RequiredLabelNames`. Fields reached through `{{template}}` calls are not
    /// followed.
    pub fn referenced_fields(&self, name: &str) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(t) = self.templates.get(name) {
            parse::field_names(&t.root, &mut out);
        }
        out.sort();
        out.dedup();
        out
    }

    /// The functions template `name` calls (sorted), e.g. to reject `query` where no engine
    /// is available.
    pub fn called_functions(&self, name: &str) -> Vec<String> {
        let mut set = std::collections::HashSet::new();
        if let Some(t) = self.templates.get(name) {
            parse::called_functions(&t.root, &mut set);
        }
        let mut out: Vec<String> = set.into_iter().collect();
        out.sort();
        out
    }

    /// Names of all templates, sorted.
    pub fn template_names(&self) -> Vec<String> {
        let mut v: Vec<String> = self.templates.keys().cloned().collect();
        v.sort();
        v
    }

    /// Execute template `name` with `data` as dot, in text mode with the system clock.
    pub fn execute(&self, name: &str, data: &Value) -> Result<String> {
        self.execute_with(name, data, &Env::default())
    }

    /// Execute template `name` with `data` and per-execution inputs.
    pub fn execute_with(&self, name: &str, data: &Value, env: &Env<'_>) -> Result<String> {
        let Some(tree) = self.templates.get(name) else {
            return Err(Error::NoTemplate {
                name: name.to_string(),
                set: self.name.clone(),
            });
        };
        let x = exec::Exec {
            templates: &self.templates,
            overlay: None,
            funcs: &self.funcs,
            builtins: funcs::builtin::builtins(),
            env,
            options: &self.options,
        };
        x.run(tree, data)
    }

    /// Parse `text` as a throwaway template (name `""`) that can call every template of the
    /// set, execute it, and leave the set unchanged: Alertmanager's `ExecuteTextString`.
    /// Empty text renders as empty without parsing.
    pub fn render(&self, text: &str, data: &Value) -> Result<String> {
        self.render_with(text, data, &Env::default())
    }

    /// [`TemplateSet::render`] with per-execution inputs (escape mode, clock, ...).
    pub fn render_with(&self, text: &str, data: &Value, env: &Env<'_>) -> Result<String> {
        if text.is_empty() {
            return Ok(String::new());
        }
        let parsed = self.parse_trees("", text, env.funcs)?;
        let mut overlay = HashMap::new();
        let main_name = parsed.main.name.clone();
        for d in parsed.defines {
            overlay.insert(d.name.clone(), Arc::new(d));
        }
        overlay.insert(main_name.clone(), Arc::new(parsed.main));
        let x = exec::Exec {
            templates: &self.templates,
            overlay: Some(&overlay),
            funcs: &self.funcs,
            builtins: funcs::builtin::builtins(),
            env,
            options: &self.options,
        };
        let Some(main) = overlay.get(&main_name) else {
            return Ok(String::new());
        };
        x.run(main, data)
    }

    /// Check that `text` parses against this set's functions, without keeping it
    /// (Prometheus' `ParseTest`, `promtool check rules`).
    pub fn check(&self, text: &str) -> Result<()> {
        self.parse_trees("", text, None).map(|_| ())
    }
}
