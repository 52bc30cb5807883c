//! `${VAR}` expansion with the rules of `github.com/drone/envsubst`, the library behind Loki's,
//! Tempo's and Promtail's `-config.expand-env=true`.
//!
//! * Only `${...}` is expanded; a bare `$VAR` is left as written.
//! * Unset variables expand to the empty string; no error.
//! * `${VAR:-default}`, `${VAR:=default}`, `${VAR=default}` (and `:?`, `:+`, which envsubst treats
//!   the same way) use the default when the variable is unset *or empty*; defaults may nest
//!   `${...}`. Note `${VAR-default}` is a variable named `VAR-default` (`-` is a name character).
//! * `${#VAR}` length, `${VAR^}`/`${VAR^^}`/`${VAR,}`/`${VAR,,}` case, `${VAR:pos}`/
//!   `${VAR:pos:len}` substring, `${VAR#glob}`/`##`/`%`/`%%` trimming, `${VAR/from/to}` with
//!   `//`, `/#`, `/%` replacement.
//! * Escapes, everywhere outside `${...}`: `$$` becomes `$`; `\\` becomes `\` and `\/` becomes
//!   `/` (Loki's docs warn that regexes need doubled backslashes under expand-env).
//! * A malformed `${...}` (unclosed, bad name) fails with `bad substitution`.

use crate::glob::glob_match;

/// Why expansion failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvError {
    /// envsubst's `ErrBadSubstitution`.
    #[error("bad substitution")]
    BadSubstitution,
}

/// Reads an environment variable by name (`None` = unset); lets tests supply variables
/// without touching the process environment.
pub type EnvLookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// Expands `${...}` in `text`, reading variables through `lookup`.
pub fn expand_env(text: &str, lookup: EnvLookup<'_>) -> Result<String, EnvError> {
    let mut parser = Parser {
        chars: text.chars().collect(),
        pos: 0,
    };
    let nodes = parser.parse_any()?;
    let mut out = String::with_capacity(text.len());
    for node in &nodes {
        eval(node, lookup, &mut out);
    }
    Ok(out)
}

/// Expands `${...}` from the process environment, as `envsubst.EvalEnv` does.
pub fn expand_env_os(text: &str) -> Result<String, EnvError> {
    expand_env(text, &|name| std::env::var(name).ok())
}

/// A parsed piece of the input.
#[derive(Debug)]
enum Node {
    Text(String),
    Func {
        /// Operator (`""` plain, `:-`, `=`, `#`, `##`, `:`, `/`, `^^`, ...).
        op: String,
        /// Variable name.
        param: String,
        args: Vec<Node>,
    },
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
}

/// Accept predicate: the character and its 1-based index in the token being scanned.
type Accept = fn(char, usize) -> bool;

fn accept_any(_: char, _: usize) -> bool {
    true
}

fn accept_ident(c: char, _: usize) -> bool {
    c.is_alphanumeric() || c == '_' || c == '-'
}

fn accept_not_closing(c: char, _: usize) -> bool {
    c != '}'
}

fn reject_colon_close(c: char, _: usize) -> bool {
    c != ':' && c != '}'
}

fn accept_not_slash(c: char, _: usize) -> bool {
    c != '/'
}

impl Parser {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn at_lbrack(&self) -> bool {
        self.peek() == Some('$') && self.chars.get(self.pos + 1) == Some(&'{')
    }

    /// If an escape starts here (`$$`, `\\`, `\/`), the character it stands for.
    fn escaped(&self) -> Option<char> {
        let next = self.chars.get(self.pos + 1).copied();
        match (self.peek(), next) {
            (Some('$'), Some('$')) => Some('$'),
            (Some('\\'), Some(c @ ('\\' | '/'))) => Some(c),
            _ => None,
        }
    }

    /// Scans a run of accepted characters, stopping before `${` when `lbrack` is set and
    /// resolving escapes when `escape` is set. `None` when the first character is refused.
    fn scan(&mut self, accept: Accept, lbrack: bool, escape: bool) -> Option<String> {
        let mut out = String::new();
        let mut index = 0;
        while let Some(c) = self.peek() {
            if lbrack && self.at_lbrack() {
                break;
            }
            index += 1;
            if escape && let Some(e) = self.escaped() {
                out.push(e);
                self.pos += 2;
                continue;
            }
            if !accept(c, index) {
                break;
            }
            out.push(c);
            self.pos += 1;
        }
        (!out.is_empty()).then_some(out)
    }

    /// Consumes an operator made of characters accepted by `accept`.
    fn scan_op(&mut self, accept: Accept) -> Option<String> {
        let mut out = String::new();
        while let Some(c) = self.peek() {
            if !accept(c, out.chars().count() + 1) {
                break;
            }
            out.push(c);
            self.pos += 1;
        }
        (!out.is_empty()).then_some(out)
    }

    fn expect_close(&mut self) -> Result<(), EnvError> {
        if self.peek() == Some('}') {
            self.pos += 1;
            Ok(())
        } else {
            Err(EnvError::BadSubstitution)
        }
    }

    fn parse_any(&mut self) -> Result<Vec<Node>, EnvError> {
        let mut nodes = Vec::new();
        while self.peek().is_some() {
            if self.at_lbrack() {
                self.pos += 2;
                nodes.push(self.parse_func()?);
            } else if let Some(text) = self.scan(accept_any, true, true) {
                nodes.push(Node::Text(text));
            } else {
                return Err(EnvError::BadSubstitution);
            }
        }
        Ok(nodes)
    }

    /// Parses after `${`.
    fn parse_func(&mut self) -> Result<Node, EnvError> {
        if self.peek() == Some('#') {
            self.pos += 1;
            let param = self
                .scan(accept_ident, false, false)
                .ok_or(EnvError::BadSubstitution)?;
            self.expect_close()?;
            return Ok(Node::Func {
                op: "#".to_owned(),
                param,
                args: Vec::new(),
            });
        }
        let param = self
            .scan(accept_ident, false, false)
            .ok_or(EnvError::BadSubstitution)?;
        match self.peek() {
            Some(':') => {
                let after = self.chars.get(self.pos + 1).copied();
                if matches!(after, Some('=' | '-' | '?' | '+')) {
                    self.parse_default(param)
                } else {
                    self.parse_substr(param)
                }
            }
            Some('=') => self.parse_default(param),
            Some(',' | '^') => {
                let op = self
                    .scan_op(|c, i| (c == ',' || c == '^') && i < 3)
                    .ok_or(EnvError::BadSubstitution)?;
                self.expect_close()?;
                Ok(Node::Func {
                    op,
                    param,
                    args: Vec::new(),
                })
            }
            Some('/') => self.parse_replace(param),
            Some('#') => self.parse_remove(param, |c, i| c == '#' && i < 3),
            Some('%') => self.parse_remove(param, |c, i| c == '%' && i < 3),
            _ => {
                self.expect_close()?;
                Ok(Node::Func {
                    op: String::new(),
                    param,
                    args: Vec::new(),
                })
            }
        }
    }

    /// One argument: a nested `${...}` or a run of accepted text.
    fn parse_param(&mut self, accept: Accept, escape: bool) -> Result<Node, EnvError> {
        if self.at_lbrack() {
            self.pos += 2;
            return self.parse_func();
        }
        self.scan(accept, true, escape)
            .map(Node::Text)
            .ok_or(EnvError::BadSubstitution)
    }

    fn parse_default(&mut self, param: String) -> Result<Node, EnvError> {
        let op = if self.peek() == Some('=') {
            self.pos += 1;
            "=".to_owned()
        } else {
            let op: String = self.chars[self.pos..self.pos + 2].iter().collect();
            self.pos += 2;
            op
        };
        let mut args = Vec::new();
        loop {
            if self.peek() == Some('}') {
                self.pos += 1;
                return Ok(Node::Func { op, param, args });
            }
            if self.peek().is_none() {
                return Err(EnvError::BadSubstitution);
            }
            args.push(self.parse_param(accept_not_closing, false)?);
        }
    }

    fn parse_substr(&mut self, param: String) -> Result<Node, EnvError> {
        self.pos += 1; // the ':'
        let mut args = vec![self.parse_param(reject_colon_close, false)?];
        match self.peek() {
            Some('}') => {
                self.pos += 1;
                return Ok(Node::Func {
                    op: ":".to_owned(),
                    param,
                    args,
                });
            }
            Some(':') => {
                while self.peek() == Some(':') {
                    self.pos += 1;
                }
            }
            _ => return Err(EnvError::BadSubstitution),
        }
        args.push(self.parse_param(accept_not_closing, false)?);
        self.expect_close()?;
        Ok(Node::Func {
            op: ":".to_owned(),
            param,
            args,
        })
    }

    fn parse_remove(&mut self, param: String, accept: Accept) -> Result<Node, EnvError> {
        let op = self.scan_op(accept).ok_or(EnvError::BadSubstitution)?;
        let args = vec![self.parse_param(accept_not_closing, false)?];
        self.expect_close()?;
        Ok(Node::Func { op, param, args })
    }

    fn parse_replace(&mut self, param: String) -> Result<Node, EnvError> {
        let op = self
            .scan_op(|c, i| (i == 1 && c == '/') || (i == 2 && matches!(c, '/' | '#' | '%')))
            .ok_or(EnvError::BadSubstitution)?;
        let mut args = vec![self.parse_param(accept_not_slash, true)?];
        if self.peek() != Some('/') {
            return Err(EnvError::BadSubstitution);
        }
        while self.peek() == Some('/') {
            self.pos += 1;
        }
        if self.peek() == Some('}') {
            self.pos += 1;
            return Ok(Node::Func { op, param, args });
        }
        args.push(self.parse_param(accept_not_closing, true)?);
        self.expect_close()?;
        Ok(Node::Func { op, param, args })
    }
}

fn eval(node: &Node, lookup: EnvLookup<'_>, out: &mut String) {
    match node {
        Node::Text(text) => out.push_str(text),
        Node::Func { op, param, args } => {
            let args: Vec<String> = args
                .iter()
                .map(|a| {
                    let mut s = String::new();
                    eval(a, lookup, &mut s);
                    s
                })
                .collect();
            let value = lookup(param).unwrap_or_default();
            out.push_str(&apply(op, value, &args));
        }
    }
}

/// envsubst's `lookupFunc` table applied to a variable's value.
fn apply(op: &str, value: String, args: &[String]) -> String {
    match op {
        "," => map_first(&value, |c| c.to_lowercase().collect()),
        ",," => value.to_lowercase(),
        "^" => map_first(&value, |c| c.to_uppercase().collect()),
        "^^" => value.to_uppercase(),
        "#" if args.is_empty() => value.len().to_string(),
        "#" => trim_shortest(&value, &args[0]),
        "##" => trim_longest(&value, &args[0]),
        "%" => reverse(&trim_shortest(&reverse(&value), &reverse(&args[0]))),
        "%%" => reverse(&trim_longest(&reverse(&value), &reverse(&args[0]))),
        ":" => substr(value, args),
        "/#" => match args {
            [from, to] if value.starts_with(from.as_str()) => value.replacen(from.as_str(), to, 1),
            _ => value,
        },
        "/%" => match args {
            [from, to] if value.ends_with(from.as_str()) => {
                format!("{}{to}", &value[..value.len() - from.len()])
            }
            _ => value,
        },
        "/" => match args {
            [] => value,
            [from] => value.replacen(from.as_str(), "", 1),
            [from, to, ..] => value.replacen(from.as_str(), to, 1),
        },
        "//" => match args {
            [] => value,
            [from] => value.replace(from.as_str(), ""),
            [from, to, ..] => value.replace(from.as_str(), to),
        },
        // Plain `${VAR}` and every default-style operator.
        _ => {
            if value.is_empty() && !args.is_empty() {
                args.concat()
            } else {
                value
            }
        }
    }
}

fn map_first(s: &str, f: impl Fn(char) -> String) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => f(c) + chars.as_str(),
        None => String::new(),
    }
}

fn reverse(s: &str) -> String {
    s.chars().rev().collect()
}

/// `${VAR:pos}` / `${VAR:pos:len}` on bytes, as Go slices strings; unparsable numbers leave the
/// value unchanged, as bash does.
fn substr(value: String, args: &[String]) -> String {
    let Some(Ok(mut pos)) = args.first().map(|a| go_atoi(a)) else {
        return value;
    };
    let len = value.len() as i64;
    if pos < 0 {
        pos = (len + pos).max(0);
    }
    let bytes = value.as_bytes();
    let slice = |from: i64, to: i64| {
        String::from_utf8_lossy(&bytes[from as usize..to as usize]).into_owned()
    };
    match args.get(1) {
        None => {
            if pos < len {
                slice(pos, len)
            } else {
                String::new()
            }
        }
        Some(length) => {
            let Ok(length) = go_atoi(length) else {
                return value;
            };
            if pos.saturating_add(length) >= len {
                if pos < len {
                    slice(pos, len)
                } else {
                    String::new()
                }
            } else if length < 0 {
                String::new()
            } else {
                slice(pos, pos + length)
            }
        }
    }
}

/// Go's `strconv.Atoi`: optional sign and decimal digits.
fn go_atoi(s: &str) -> Result<i64, ()> {
    crate::time::go_parse_int(s).map_err(|_| ())
}

/// Removes the shortest non-empty prefix matching the glob.
fn trim_shortest(s: &str, pattern: &str) -> String {
    let mut shortest: Option<usize> = None;
    for end in prefix_ends(s) {
        match glob_match(pattern, &s[..end]) {
            Err(_) => return s.to_owned(),
            Ok(true) => shortest = Some(end),
            Ok(false) => {}
        }
    }
    match shortest {
        Some(end) => s[end..].to_owned(),
        None => s.to_owned(),
    }
}

/// Removes the longest prefix matching the glob.
fn trim_longest(s: &str, pattern: &str) -> String {
    for end in prefix_ends(s) {
        match glob_match(pattern, &s[..end]) {
            Err(_) => return s.to_owned(),
            Ok(true) => return s[end..].to_owned(),
            Ok(false) => {}
        }
    }
    s.to_owned()
}

/// Ends of the non-empty prefixes of `s`, longest first.
fn prefix_ends(s: &str) -> impl Iterator<Item = usize> + '_ {
    let mut ends: Vec<usize> = s.char_indices().map(|(i, c)| i + c.len_utf8()).collect();
    ends.reverse();
    ends.into_iter()
}
