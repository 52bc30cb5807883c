//! Function maps: the functions (`{{ humanize . }}`) and per-type methods (`.Alerts.Firing`)
//! a template may call, plus argument helpers with Go's conversion rules and error texts.

pub mod alertmanager;
pub(crate) mod builtin;
pub(crate) mod loki;
pub(crate) mod prometheus;
pub(crate) mod strings;

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use crate::format::Stringer;
use crate::gotime::Time;
use crate::value::Value;

/// What a function sees besides its arguments: the execution environment.
#[derive(Clone, Copy)]
pub struct CallCtx<'a> {
    /// The per-execution environment (clock, Loki line, ...).
    pub env: &'a crate::Env<'a>,
    pub(crate) stringer: &'a dyn Stringer,
}

impl fmt::Debug for CallCtx<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallCtx").field("env", &self.env).finish()
    }
}

impl CallCtx<'_> {
    /// The time functions like `now` and `since` use: the injected clock, else the system
    /// clock.
    pub fn now(&self) -> Time {
        self.env
            .now
            .clone()
            .unwrap_or_else(|| Time::from_utc(chrono::Utc::now()))
    }

    /// `fmt.Sprint` of a value, honouring registered `String()` methods.
    pub fn sprint(&self, v: &Value) -> String {
        crate::format::sprint_value(v, self.stringer)
    }
}

/// A template function: arguments in, value or error message out. The message is wrapped by
/// the executor as `error calling NAME: MESSAGE`, as Go does.
pub type Func = Arc<dyn Fn(&CallCtx<'_>, &[Value]) -> Result<Value, String> + Send + Sync>;

/// A method on values of a named type: receiver, arguments.
pub type Method =
    Arc<dyn Fn(&CallCtx<'_>, &Value, &[Value]) -> Result<Value, String> + Send + Sync>;

/// How many arguments a function takes, checked before the call like Go's reflection call
/// does (`wrong number of args for round: want at least 2 got 1`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Arity {
    /// Not checked by the executor (the function checks itself).
    #[default]
    Any,
    /// Exactly this many.
    Exactly(usize),
    /// A variadic function with this many fixed parameters.
    AtLeast(usize),
}

/// Named functions and per-type methods; consumers build one from the provided sets
/// ([`crate::prometheus_funcs`], [`crate::alertmanager_funcs`], [`crate::loki_funcs`]) and
/// their own closures (e.g. Prometheus' `query`).
#[derive(Clone, Default)]
pub struct FuncMap {
    funcs: HashMap<String, (Func, Arity)>,
    methods: HashMap<String, HashMap<String, Method>>,
}

impl fmt::Debug for FuncMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names: Vec<&String> = self.funcs.keys().collect();
        names.sort();
        f.debug_struct("FuncMap").field("funcs", &names).finish()
    }
}

impl FuncMap {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// Add or replace a function.
    pub fn insert<F>(&mut self, name: &str, f: F) -> &mut Self
    where
        F: Fn(&CallCtx<'_>, &[Value]) -> Result<Value, String> + Send + Sync + 'static,
    {
        self.funcs
            .insert(name.to_string(), (Arc::new(f), Arity::Any));
        self
    }

    /// Add or replace a function taking exactly `n` arguments.
    pub fn insert_n<F>(&mut self, name: &str, n: usize, f: F) -> &mut Self
    where
        F: Fn(&CallCtx<'_>, &[Value]) -> Result<Value, String> + Send + Sync + 'static,
    {
        self.funcs
            .insert(name.to_string(), (Arc::new(f), Arity::Exactly(n)));
        self
    }

    /// Declare the arity of an existing function.
    pub fn set_arity(&mut self, name: &str, arity: Arity) -> &mut Self {
        if let Some(e) = self.funcs.get_mut(name) {
            e.1 = arity;
        }
        self
    }

    /// A function and its arity by name.
    pub fn get_with_arity(&self, name: &str) -> Option<(&Func, Arity)> {
        self.funcs.get(name).map(|(f, a)| (f, *a))
    }

    /// Add or replace a method callable as `.Name args...` on values whose Go type name
    /// (see [`Value::typed_list`], [`Value::object`], [`Value::with_type_name`]) is
    /// `type_name`. A method named `String` taking no arguments is also used when printing.
    pub fn add_method<F>(&mut self, type_name: &str, name: &str, f: F) -> &mut Self
    where
        F: Fn(&CallCtx<'_>, &Value, &[Value]) -> Result<Value, String> + Send + Sync + 'static,
    {
        self.methods
            .entry(type_name.to_string())
            .or_default()
            .insert(name.to_string(), Arc::new(f));
        self
    }

    /// Copy every function and method of `other` into this map (later wins).
    pub fn extend(&mut self, other: &FuncMap) -> &mut Self {
        for (k, v) in &other.funcs {
            self.funcs.insert(k.clone(), v.clone());
        }
        for (t, ms) in &other.methods {
            let e = self.methods.entry(t.clone()).or_default();
            for (k, v) in ms {
                e.insert(k.clone(), v.clone());
            }
        }
        self
    }

    /// A function by name.
    pub fn get(&self, name: &str) -> Option<&Func> {
        self.funcs.get(name).map(|(f, _)| f)
    }

    /// Whether a function exists.
    pub fn contains(&self, name: &str) -> bool {
        self.funcs.contains_key(name)
    }

    /// A method by type and name.
    pub fn method(&self, type_name: &str, name: &str) -> Option<&Method> {
        self.methods.get(type_name)?.get(name)
    }

    /// Function names, sorted.
    pub fn names(&self) -> Vec<String> {
        let mut v: Vec<String> = self.funcs.keys().cloned().collect();
        v.sort();
        v
    }
}

/// Go's "wrong number of args" message.
pub(crate) fn want_args(name: &str, args: &[Value], n: usize) -> Result<(), String> {
    if args.len() != n {
        return Err(format!(
            "wrong number of args for {name}: want {n} got {}",
            args.len()
        ));
    }
    Ok(())
}

/// Marks a "wrong type" failure of argument `i` so the executor can report it the way Go's
/// reflection call does (at the argument, without `error calling`).
pub(crate) fn type_err(i: usize, expected: &str, got: &Value) -> String {
    let got = if got.is_nil() {
        String::new()
    } else {
        got.type_name()
    };
    format!("{TYPE_ERR}{i}{TYPE_ERR}{expected}{TYPE_ERR}{got}")
}

/// Separator of [`type_err`] markers.
pub(crate) const TYPE_ERR: char = '\u{1}';

/// Decode a [`type_err`] marker: (argument index, expected type, actual type or "" for nil).
pub(crate) fn parse_type_err(e: &str) -> Option<(usize, &str, &str)> {
    let rest = e.strip_prefix(TYPE_ERR)?;
    let mut parts = rest.splitn(3, TYPE_ERR);
    let i = parts.next()?.parse().ok()?;
    Some((i, parts.next()?, parts.next()?))
}

/// A string argument; other types fail like Go's reflection call does.
pub(crate) fn arg_str(args: &[Value], i: usize) -> Result<&str, String> {
    match args.get(i) {
        Some(Value::String(s) | Value::Html(s)) => Ok(s),
        Some(v) => Err(type_err(i, "string", v)),
        None => Err("missing argument".into()),
    }
}

/// An int argument (Go `int` parameter): ints and uints; floats are rejected as Go does.
pub(crate) fn arg_int(args: &[Value], i: usize) -> Result<i64, String> {
    match args.get(i) {
        Some(Value::Int(n)) => Ok(*n),
        Some(Value::Uint(n)) => i64::try_from(*n).map_err(|_| "integer overflow".to_string()),
        Some(v) => Err(type_err(i, "int", v)),
        None => Err("missing argument".into()),
    }
}

/// A list of strings (Go `[]string`).
pub(crate) fn arg_str_list(args: &[Value], i: usize) -> Result<Vec<String>, String> {
    match args.get(i) {
        Some(Value::List(l)) => l
            .items
            .iter()
            .map(|v| match v {
                Value::String(s) | Value::Html(s) => Ok(s.clone()),
                other => Err(format!(
                    "wrong type for value; expected []string; got {}",
                    Value::list(vec![other.clone()]).type_name()
                )),
            })
            .collect(),
        Some(Value::Nil) => Ok(Vec::new()),
        Some(v) => Err(type_err(i, "[]string", v)),
        None => Err("missing argument".into()),
    }
}

/// A time argument.
pub(crate) fn arg_time(args: &[Value], i: usize) -> Result<Time, String> {
    match args.get(i) {
        Some(Value::Time(t)) => Ok(t.clone()),
        Some(v) => Err(type_err(i, "time.Time", v)),
        None => Err("missing argument".into()),
    }
}

/// Go's RE2 Perl classes `\d \w \s \b` are ASCII-only; Rust's are Unicode. Rewrite them to
/// their ASCII forms (outside classes `(?-u:\d)`, inside classes the explicit ranges).
pub(crate) fn go_perl_classes(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 8);
    let mut chars = pattern.chars().peekable();
    let mut in_class = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let Some(n) = chars.next() else {
                    out.push('\\');
                    break;
                };
                match (in_class, n) {
                    (false, 'd' | 'D' | 'w' | 'W' | 's' | 'S' | 'b' | 'B') => {
                        out.push_str("(?-u:\\");
                        out.push(n);
                        out.push(')');
                    }
                    (true, 'd') => out.push_str("0-9"),
                    (true, 'w') => out.push_str("0-9A-Za-z_"),
                    (true, 's') => out.push_str("\\t\\n\\x0C\\r "),
                    _ => {
                        out.push('\\');
                        out.push(n);
                    }
                }
            }
            '[' if !in_class => {
                in_class = true;
                out.push(c);
                // A leading ']' (after an optional '^') is literal.
                if chars.peek() == Some(&'^') {
                    out.push('^');
                    chars.next();
                }
                if chars.peek() == Some(&']') {
                    out.push(']');
                    chars.next();
                }
            }
            ']' if in_class => {
                in_class = false;
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

/// Compile a regular expression with Go's error text prefix. Go's functions compile on every
/// call; templates run per log line, so compiled patterns are memoised in a small per-thread
/// cache (pure memoisation: results are identical).
pub(crate) fn compile_regex(pattern: &str) -> Result<regex::Regex, String> {
    use std::cell::RefCell;
    const CAP: usize = 64;
    thread_local! {
        static CACHE: RefCell<HashMap<String, regex::Regex>> = RefCell::new(HashMap::new());
    }
    if let Some(re) = CACHE.with(|c| c.borrow().get(pattern).cloned()) {
        return Ok(re);
    }
    let re = regex::Regex::new(&go_perl_classes(pattern))
        .map_err(|e| format!("error parsing regexp: {e}"))?;
    CACHE.with(|c| {
        let mut c = c.borrow_mut();
        if c.len() >= CAP {
            c.clear();
        }
        c.insert(pattern.to_string(), re.clone());
    });
    Ok(re)
}
