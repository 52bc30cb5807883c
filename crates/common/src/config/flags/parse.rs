//! The two parsing loops (Go `flag.FlagSet.parseOne`, kingpin's lexer and flag group) and
//! value conversion per kind.

use super::{FlagError, FlagKind, FlagSet, FlagStyle, FlagValue};
use crate::config::{Base2Bytes, ByteSize};
use crate::duration::{parse_go_duration, parse_prom_duration};
use crate::time::{GoNumError, NumErrorKind, go_parse_float};

impl FlagSet {
    /// Parses command-line arguments (without the program name) into this set's values and
    /// returns the positional arguments left over. `-h`/`--help` yield [`FlagError::Help`]
    /// with the usage text unless a flag of that name is registered.
    pub fn parse<I, S>(&mut self, args: I) -> Result<Vec<String>, FlagError>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let args: Vec<String> = args.into_iter().map(Into::into).collect();
        match self.style {
            FlagStyle::Go => self.parse_go(args),
            FlagStyle::Kingpin => self.parse_kingpin(args),
        }
    }

    fn parse_go(&mut self, args: Vec<String>) -> Result<Vec<String>, FlagError> {
        let mut i = 0;
        while i < args.len() {
            let arg = &args[i];
            if arg.len() < 2 || !arg.starts_with('-') {
                break;
            }
            let dashes = if arg.as_bytes()[1] == b'-' {
                if arg.len() == 2 {
                    // "--" ends the flags and is consumed.
                    i += 1;
                    break;
                }
                2
            } else {
                1
            };
            let body = &arg[dashes..];
            if body.starts_with('-') || body.starts_with('=') {
                return Err(FlagError::BadSyntax(arg.clone()));
            }
            i += 1;
            // The value starts after the first '=' (never the first character).
            let (name, inline) = match body[1..].find('=') {
                Some(at) => (&body[..=at], Some(&body[at + 2..])),
                None => (body, None),
            };
            let Some(kind) = self.defs.get(name).map(|d| d.kind) else {
                if name == "help" || name == "h" {
                    return Err(FlagError::Help(self.usage()));
                }
                return Err(FlagError::NotDefined(name.to_owned()));
            };
            let name = name.to_owned();
            if kind == FlagKind::Bool {
                let value = match inline {
                    Some(text) => parse_go_bool(text).ok_or_else(|| FlagError::InvalidBool {
                        name: name.clone(),
                        value: text.to_owned(),
                    })?,
                    None => true,
                };
                self.store(&name, FlagValue::Bool(value));
                continue;
            }
            let value = match inline {
                Some(text) => text.to_owned(),
                None if i < args.len() => {
                    i += 1;
                    args[i - 1].clone()
                }
                None => return Err(FlagError::NeedsArgument(name)),
            };
            self.assign(&name, kind, &value)?;
        }
        Ok(args[i..].to_vec())
    }

    fn parse_kingpin(&mut self, args: Vec<String>) -> Result<Vec<String>, FlagError> {
        let mut positional = Vec::new();
        let mut args_only = false;
        // Tokens still to read; short-flag clusters push their remainder back in front.
        let mut queue: std::collections::VecDeque<String> = args.into();
        while let Some(arg) = queue.pop_front() {
            if args_only {
                positional.push(arg);
                continue;
            }
            if arg == "--" {
                args_only = true;
                continue;
            }
            if let Some(body) = arg.strip_prefix("--") {
                let (token, inline) = match body.split_once('=') {
                    Some((n, v)) => (n, Some(v.to_owned())),
                    None => (body, None),
                };
                let (name, invert) = match self.defs.get(token) {
                    Some(_) => (token.to_owned(), false),
                    None => match token.strip_prefix("no-") {
                        Some(base) if self.defs.contains_key(base) => (base.to_owned(), true),
                        _ if token == "help" => return Err(FlagError::Help(self.usage())),
                        _ => return Err(FlagError::UnknownLong(token.to_owned())),
                    },
                };
                let kind = self.defs[&name].kind;
                if kind == FlagKind::Bool {
                    self.check_repeat(&name)?;
                    self.store(&name, FlagValue::Bool(!invert));
                    // Kingpin lexes `--flag=x` as the flag plus a separate argument `x`.
                    if let Some(stray) = inline {
                        positional.push(stray);
                    }
                    continue;
                }
                if invert {
                    return Err(FlagError::UnknownLong(token.to_owned()));
                }
                let value = match inline {
                    Some(v) => v,
                    None => match queue.front() {
                        Some(next) if !next.starts_with('-') => {
                            queue.pop_front().unwrap_or_default()
                        }
                        _ => return Err(FlagError::ExpectedArgument(token.to_owned())),
                    },
                };
                self.check_repeat(&name)?;
                self.assign(&name, kind, &value)?;
                continue;
            }
            if let Some(body) = arg.strip_prefix('-') {
                let mut chars = body.chars();
                let letter = chars.next();
                let rest = chars.as_str().to_owned();
                let def = letter.and_then(|c| self.defs.values().find(|d| d.short == Some(c)));
                let Some(def) = def else {
                    if letter == Some('h') {
                        return Err(FlagError::Help(self.usage()));
                    }
                    return Err(FlagError::UnknownShort(
                        letter.map(String::from).unwrap_or_default(),
                    ));
                };
                let (name, kind) = (def.name.clone(), def.kind);
                if kind == FlagKind::Bool {
                    self.check_repeat(&name)?;
                    self.store(&name, FlagValue::Bool(true));
                    if !rest.is_empty() {
                        queue.push_front(format!("-{rest}"));
                    }
                    continue;
                }
                let value = if !rest.is_empty() {
                    rest
                } else {
                    match queue.front() {
                        Some(next) if !next.starts_with('-') => {
                            queue.pop_front().unwrap_or_default()
                        }
                        _ => return Err(FlagError::ExpectedArgument(name)),
                    }
                };
                self.check_repeat(&name)?;
                self.assign(&name, kind, &value)?;
                continue;
            }
            positional.push(arg);
        }
        if !self.allow_positional
            && let Some(first) = positional.first()
        {
            return Err(FlagError::Unexpected(first.clone()));
        }
        Ok(positional)
    }

    fn check_repeat(&self, name: &str) -> Result<(), FlagError> {
        let cumulative = matches!(
            self.defs.get(name).map(|d| d.kind),
            Some(FlagKind::StringList)
        );
        if !cumulative && self.set.contains(name) {
            return Err(FlagError::Repeated(name.to_owned()));
        }
        Ok(())
    }

    fn store(&mut self, name: &str, value: FlagValue) {
        self.values.insert(name.to_owned(), value);
        self.set.insert(name.to_owned());
    }

    /// Converts and stores a value for a non-bool flag.
    fn assign(&mut self, name: &str, kind: FlagKind, raw: &str) -> Result<(), FlagError> {
        let go = self.style == FlagStyle::Go;
        let invalid = |reason: String| FlagError::InvalidValue {
            prefix: if go { "-" } else { "--" },
            name: name.to_owned(),
            value: raw.to_owned(),
            reason,
        };
        // Go's flag package reports its built-in types' failures as bare "parse error" /
        // "value out of range"; kingpin passes the conversion error through.
        let num_reason = |e: GoNumError| {
            if go {
                match e.kind {
                    NumErrorKind::Syntax => "parse error".to_owned(),
                    NumErrorKind::Range => "value out of range".to_owned(),
                }
            } else {
                e.to_string()
            }
        };
        let value = match kind {
            FlagKind::String => FlagValue::String(raw.to_owned()),
            FlagKind::Bool => FlagValue::Bool(
                parse_go_bool(raw).ok_or_else(|| invalid("parse error".to_owned()))?,
            ),
            FlagKind::Int => {
                FlagValue::Int(go_parse_int_base0(raw).map_err(|e| invalid(num_reason(e)))?)
            }
            FlagKind::Uint => {
                FlagValue::Uint(go_parse_uint_base0(raw).map_err(|e| invalid(num_reason(e)))?)
            }
            FlagKind::Float => {
                FlagValue::Float(go_parse_float(raw).map_err(|e| invalid(num_reason(e)))?)
            }
            FlagKind::GoDuration => FlagValue::GoDuration(parse_go_duration(raw).map_err(|e| {
                invalid(if go {
                    "parse error".to_owned()
                } else {
                    e.to_string()
                })
            })?),
            FlagKind::PromDuration => FlagValue::PromDuration(
                parse_prom_duration(raw).map_err(|e| invalid(e.to_string()))?,
            ),
            FlagKind::ByteSize => {
                FlagValue::ByteSize(ByteSize::parse(raw).map_err(|e| invalid(e.to_string()))?)
            }
            FlagKind::Base2Bytes => {
                FlagValue::Base2Bytes(Base2Bytes::parse(raw).map_err(|e| invalid(e.to_string()))?)
            }
            FlagKind::CsvList => FlagValue::List(raw.split(',').map(str::to_owned).collect()),
            FlagKind::StringList => {
                let mut items = match (self.set.contains(name), self.values.get(name)) {
                    (true, Some(FlagValue::List(items))) => items.clone(),
                    _ => Vec::new(),
                };
                items.push(raw.to_owned());
                FlagValue::List(items)
            }
        };
        self.store(name, value);
        Ok(())
    }
}

/// Go's `strconv.ParseBool`.
fn parse_go_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// Go's `strconv.ParseInt(s, 0, 64)`: sign, then `0x`/`0o`/`0b`/leading-`0` prefixes and `_`
/// digit separators.
fn go_parse_int_base0(s: &str) -> Result<i64, GoNumError> {
    let err = |kind| GoNumError {
        func: "ParseInt",
        input: s.to_owned(),
        kind,
    };
    let (negative, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let magnitude = parse_base0_digits(body).map_err(err)?;
    let value = if negative {
        -i128::from(magnitude)
    } else {
        i128::from(magnitude)
    };
    i64::try_from(value).map_err(|_| err(NumErrorKind::Range))
}

/// Go's `strconv.ParseUint(s, 0, 64)`.
fn go_parse_uint_base0(s: &str) -> Result<u64, GoNumError> {
    parse_base0_digits(s).map_err(|kind| GoNumError {
        func: "ParseUint",
        input: s.to_owned(),
        kind,
    })
}

fn parse_base0_digits(s: &str) -> Result<u64, NumErrorKind> {
    if s.is_empty() {
        return Err(NumErrorKind::Syntax);
    }
    let bytes = s.as_bytes();
    let (base, digits, prefixed) = if bytes[0] == b'0' && s.len() >= 3 {
        match bytes[1].to_ascii_lowercase() {
            b'x' => (16, &s[2..], true),
            b'o' => (8, &s[2..], true),
            b'b' => (2, &s[2..], true),
            _ => (8, &s[1..], true),
        }
    } else if bytes[0] == b'0' && s.len() == 2 {
        (8, &s[1..], true)
    } else {
        (10, s, false)
    };
    // Underscores only between digits, or right after a base prefix.
    if digits.contains("__") || digits.ends_with('_') || (!prefixed && digits.starts_with('_')) {
        return Err(NumErrorKind::Syntax);
    }
    let mut value: u128 = 0;
    let mut any = false;
    for c in digits.chars() {
        if c == '_' {
            continue;
        }
        let d = c.to_digit(base).ok_or(NumErrorKind::Syntax)?;
        any = true;
        value = value * u128::from(base) + u128::from(d);
        if value > u128::from(u64::MAX) {
            return Err(NumErrorKind::Range);
        }
    }
    if !(any || base == 8 && digits.is_empty()) {
        return Err(NumErrorKind::Syntax);
    }
    u64::try_from(value).map_err(|_| NumErrorKind::Range)
}
