//! `| json`, `| json a="path"` and `| unpack`.
//!
//! A small streaming JSON scanner visits an object's fields in document order (keys and
//! raw values), as the Go `jsonparser` library Loki uses does, so labels keep Loki's values:
//! numbers as written, booleans as `true`/`false`, nested objects flattened with `_`,
//! arrays skipped, and the library's error texts in `__error_details__`.

use super::{Category, ERR_JSON, LabelsBuilder, Step, sanitize_label_key, set_parsed};
use crate::logql::ast::LabelExtraction;

const ERR_MALFORMED_OBJECT: &str = "Value looks like object, but can't find closing '}' symbol";
const ERR_MALFORMED_JSON: &str = "Malformed JSON error";
const ERR_MALFORMED_STRING: &str = "Value is string, but can't find closing '\"' symbol";
const ERR_MALFORMED_ARRAY: &str = "Value is array, but can't find closing ']' symbol";
const ERR_MALFORMED_VALUE: &str =
    "Value looks like Number/Boolean/None, but can't find its end: ',' or '}' symbol";
const ERR_UNKNOWN_VALUE: &str = "Unknown value type";

/// Kinds of JSON values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum JsonType {
    String,
    Number,
    Bool,
    Null,
    Object,
    Array,
}

/// A value as found in the text: for strings, the raw content between the quotes.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RawValue<'a> {
    pub(crate) ty: JsonType,
    pub(crate) raw: &'a str,
}

fn skip_ws(s: &[u8], mut i: usize) -> usize {
    while i < s.len() && matches!(s[i], b' ' | b'\t' | b'\n' | b'\r') {
        i += 1;
    }
    i
}

/// End (exclusive) of the string whose opening quote is at `i`.
fn string_end(s: &[u8], i: usize) -> Option<usize> {
    let mut j = i + 1;
    while j < s.len() {
        match s[j] {
            b'\\' => j += 2,
            b'"' => return Some(j + 1),
            _ => j += 1,
        }
    }
    None
}

/// End of a nested `{}`/`[]` block starting at `i`.
fn block_end(s: &[u8], i: usize) -> Option<usize> {
    let mut depth = 0i32;
    let mut j = i;
    while j < s.len() {
        match s[j] {
            b'"' => {
                j = string_end(s, j)?;
                continue;
            }
            b'{' | b'[' => depth += 1,
            b'}' | b']' => {
                depth -= 1;
                if depth == 0 {
                    return Some(j + 1);
                }
            }
            _ => {}
        }
        j += 1;
    }
    None
}

/// Reads one value at `i`: `(value, end)`.
fn read_value(text: &str, i: usize) -> Result<(RawValue<'_>, usize), &'static str> {
    let s = text.as_bytes();
    let Some(&c) = s.get(i) else {
        return Err(ERR_MALFORMED_JSON);
    };
    match c {
        b'"' => {
            let end = string_end(s, i).ok_or(ERR_MALFORMED_STRING)?;
            Ok((
                RawValue {
                    ty: JsonType::String,
                    raw: &text[i + 1..end - 1],
                },
                end,
            ))
        }
        b'{' | b'[' => {
            let end = block_end(s, i).ok_or(if c == b'{' {
                ERR_MALFORMED_OBJECT
            } else {
                ERR_MALFORMED_ARRAY
            })?;
            let ty = if c == b'{' {
                JsonType::Object
            } else {
                JsonType::Array
            };
            Ok((
                RawValue {
                    ty,
                    raw: &text[i..end],
                },
                end,
            ))
        }
        b't' | b'f' | b'n' | b'-' | b'0'..=b'9' => {
            let mut j = i;
            while j < s.len() && !matches!(s[j], b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r')
            {
                j += 1;
            }
            if j >= s.len() {
                return Err(ERR_MALFORMED_VALUE);
            }
            let raw = &text[i..j];
            let ty = match c {
                b't' if raw == "true" => JsonType::Bool,
                b'f' if raw == "false" => JsonType::Bool,
                b'n' if raw == "null" => JsonType::Null,
                b'-' | b'0'..=b'9' => JsonType::Number,
                _ => return Err(ERR_UNKNOWN_VALUE),
            };
            Ok((RawValue { ty, raw }, j))
        }
        _ => Err(ERR_UNKNOWN_VALUE),
    }
}

/// Visits the fields of the object in `text` (after leading whitespace) in order. Fields
/// seen before an error are visited; the error is returned after.
pub(crate) fn object_each<'a>(
    text: &'a str,
    f: &mut dyn FnMut(&'a str, RawValue<'a>) -> bool,
) -> Result<(), &'static str> {
    let s = text.as_bytes();
    let mut i = skip_ws(s, 0);
    if s.get(i) != Some(&b'{') {
        return Err(ERR_MALFORMED_OBJECT);
    }
    i = skip_ws(s, i + 1);
    if s.get(i) == Some(&b'}') {
        return Ok(());
    }
    loop {
        if s.get(i) != Some(&b'"') {
            return Err(ERR_MALFORMED_JSON);
        }
        let kend = string_end(s, i).ok_or(ERR_MALFORMED_JSON)?;
        let key = &text[i + 1..kend - 1];
        i = skip_ws(s, kend);
        if s.get(i) != Some(&b':') {
            return Err(ERR_MALFORMED_JSON);
        }
        i = skip_ws(s, i + 1);
        let (v, end) = read_value(text, i)?;
        if !f(key, v) {
            return Ok(());
        }
        i = skip_ws(s, end);
        match s.get(i) {
            Some(b',') => i = skip_ws(s, i + 1),
            Some(b'}') => return Ok(()),
            _ => return Err(ERR_MALFORMED_OBJECT),
        }
    }
}

/// Unescapes JSON string content; invalid escapes give an empty string (as Loki).
pub(crate) fn unescape(raw: &str) -> String {
    if !raw.contains('\\') {
        return raw.to_owned();
    }
    let quoted = format!("\"{raw}\"");
    parse_json_string(&quoted).unwrap_or_default()
}

fn parse_json_string(quoted: &str) -> Option<String> {
    let inner = &quoted[1..quoted.len() - 1];
    let mut out = String::with_capacity(inner.len());
    let mut it = inner.chars();
    while let Some(c) = it.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match it.next()? {
            '"' => out.push('"'),
            '\\' => out.push('\\'),
            '/' => out.push('/'),
            'b' => out.push('\u{08}'),
            'f' => out.push('\u{0c}'),
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            't' => out.push('\t'),
            'u' => {
                let hex: String = it.by_ref().take(4).collect();
                let mut cp = u32::from_str_radix(&hex, 16).ok()?;
                if (0xD800..0xDC00).contains(&cp) {
                    let rest = it.as_str();
                    if let Some(low) = rest.strip_prefix("\\u") {
                        let lo = u32::from_str_radix(low.get(..4)?, 16).ok()?;
                        if (0xDC00..0xE000).contains(&lo) {
                            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                            it = low[4..].chars();
                        }
                    }
                }
                out.push(char::from_u32(cp).unwrap_or('\u{fffd}'));
            }
            _ => return None,
        }
    }
    if out.contains('\u{fffd}') {
        return Some(String::new());
    }
    Some(out)
}

/// The label value Loki derives from a JSON value.
fn label_value(v: RawValue<'_>) -> String {
    match v.ty {
        JsonType::String => unescape(v.raw),
        JsonType::Number => v.raw.to_owned(),
        JsonType::Bool => v.raw.to_owned(),
        JsonType::Null | JsonType::Object | JsonType::Array => String::new(),
    }
}

/// `| json`: every field becomes a label.
#[derive(Debug)]
pub(crate) struct JsonParser;

/// Sets the labels of one object level, then its nested objects. `Ok(false)` when a label
/// filter applied at extraction drops the line.
/// Objects nested deeper than this are not flattened (bounds the recursion on hostile input).
const MAX_DEPTH: usize = 64;

fn walk_object(
    text: &str,
    prefix: &str,
    depth: usize,
    lbs: &mut LabelsBuilder,
) -> Result<bool, &'static str> {
    let mut items: Vec<(String, Option<String>, String)> = Vec::new();
    if lbs.all_required_extracted() {
        return Ok(true);
    }
    let res = object_each(text, &mut |key, v| {
        let name = if prefix.is_empty() {
            sanitize_label_key(key, true)
        } else {
            format!("{prefix}_{}", sanitize_label_key(key, false))
        };
        match v.ty {
            JsonType::String | JsonType::Number | JsonType::Bool => {
                if !name.is_empty() {
                    items.push((name, Some(label_value(v)), String::new()));
                }
            }
            JsonType::Object => items.push((name, None, v.raw.to_owned())),
            JsonType::Null | JsonType::Array => {}
        }
        true
    });
    for (name, value, raw) in items {
        if lbs.all_required_extracted() {
            // Loki stops parsing here, before any later syntax error.
            return Ok(true);
        }
        let keep = match value {
            Some(v) => set_parsed(lbs, &name, &v),
            None if depth < MAX_DEPTH => walk_object(&raw, &name, depth + 1, lbs)?,
            None => true,
        };
        if !keep {
            return Ok(false);
        }
    }
    res.map(|()| true)
}

impl Step for JsonParser {
    fn process(&self, _ts: i64, line: &mut String, lbs: &mut LabelsBuilder) -> bool {
        if lbs.extract_nothing() {
            return true;
        }
        match walk_object(line, "", 0, lbs) {
            Ok(keep) => keep,
            Err(e) => {
                lbs.add_error(ERR_JSON, e);
                true
            }
        }
    }
}

/// One step of a JSON path: a field or an array index.
#[derive(Clone, Debug, PartialEq)]
enum PathPart {
    Field(String),
    Index(usize),
}

/// Parses Loki's JSON expressions: `a.b`, `a[0]`, `["key with space"]`, `a.b[1].c`.
fn parse_path(expr: &str) -> Result<Vec<PathPart>, String> {
    let bad = || format!("cannot parse expression [{expr}]: syntax error");
    let mut out = Vec::new();
    let c: Vec<char> = expr.chars().collect();
    let mut i = 0;
    let mut expect_field = true;
    while i < c.len() {
        match c[i] {
            '.' => {
                i += 1;
                expect_field = true;
            }
            '[' => {
                i += 1;
                if i < c.len() && c[i] == '"' {
                    let mut s = String::new();
                    i += 1;
                    while i < c.len() && c[i] != '"' {
                        if c[i] == '\\' && i + 1 < c.len() {
                            i += 1;
                        }
                        s.push(c[i]);
                        i += 1;
                    }
                    i += 1;
                    out.push(PathPart::Field(s));
                } else {
                    let start = i;
                    while i < c.len() && c[i].is_ascii_digit() {
                        i += 1;
                    }
                    let n: usize = c[start..i]
                        .iter()
                        .collect::<String>()
                        .parse()
                        .map_err(|_| bad())?;
                    out.push(PathPart::Index(n));
                }
                if c.get(i) != Some(&']') {
                    return Err(bad());
                }
                i += 1;
                expect_field = false;
            }
            _ if expect_field => {
                let start = i;
                while i < c.len() && c[i] != '.' && c[i] != '[' {
                    i += 1;
                }
                out.push(PathPart::Field(c[start..i].iter().collect()));
                expect_field = false;
            }
            _ => return Err(bad()),
        }
    }
    if out.is_empty() {
        return Err(bad());
    }
    Ok(out)
}

/// Looks a path up in a JSON document.
fn lookup<'a>(text: &'a str, path: &[PathPart]) -> Option<RawValue<'a>> {
    let Some((first, rest)) = path.split_first() else {
        let s = text.as_bytes();
        let i = skip_ws(s, 0);
        return read_value_tail(text, i);
    };
    match first {
        PathPart::Field(name) => {
            let mut found = None;
            let _ = object_each(text, &mut |k, v| {
                if unescape(k) == *name {
                    found = Some(v);
                    return false;
                }
                true
            });
            let v = found?;
            if rest.is_empty() {
                Some(v)
            } else {
                lookup(v.raw, rest)
            }
        }
        PathPart::Index(n) => {
            let s = text.as_bytes();
            let mut i = skip_ws(s, 0);
            if s.get(i) != Some(&b'[') {
                return None;
            }
            i = skip_ws(s, i + 1);
            let mut idx = 0;
            loop {
                let (v, end) = read_value(text, i).ok()?;
                if idx == *n {
                    return if rest.is_empty() {
                        Some(v)
                    } else {
                        lookup(v.raw, rest)
                    };
                }
                idx += 1;
                i = skip_ws(s, end);
                match s.get(i) {
                    Some(b',') => i = skip_ws(s, i + 1),
                    _ => return None,
                }
            }
        }
    }
}

fn read_value_tail(text: &str, i: usize) -> Option<RawValue<'_>> {
    let padded_ok = read_value(text, i).ok().map(|(v, _)| v);
    padded_ok.or_else(|| {
        // A bare scalar at the end of the text.
        let raw = text[i..].trim_end();
        let ty = match raw {
            "true" | "false" => JsonType::Bool,
            "null" => JsonType::Null,
            _ if raw.parse::<f64>().is_ok() => JsonType::Number,
            _ => return None,
        };
        Some(RawValue { ty, raw })
    })
}

/// `| json a="path", b`: only the listed labels.
#[derive(Debug)]
pub(crate) struct JsonExpressionParser {
    exprs: Vec<(String, Vec<PathPart>)>,
}

impl JsonExpressionParser {
    pub(crate) fn new(params: &[LabelExtraction]) -> Result<Self, String> {
        let mut exprs = Vec::new();
        for p in params {
            let path = parse_path(&p.expression)?;
            if !lgtm_common::labels::is_valid_label_name(&p.name) {
                return Err(format!("invalid extracted label name '{}'", p.name));
            }
            exprs.push((p.name.clone(), path));
        }
        Ok(Self { exprs })
    }
}

impl Step for JsonExpressionParser {
    fn process(&self, _ts: i64, line: &mut String, lbs: &mut LabelsBuilder) -> bool {
        let start = line.trim_start().as_bytes().first().copied();
        if !matches!(start, Some(b'"' | b'{' | b'[')) {
            if !line.is_empty() {
                lbs.set_err(ERR_JSON);
            }
            return true;
        }
        // Loki scans an object only until every path's first key is found: a line cut short
        // after them is no error; arrays and strings are none either (the labels come out
        // empty).
        if start == Some(b'{') {
            let mut missing: Vec<&str> = self
                .exprs
                .iter()
                .filter_map(|(_, path)| match path.first() {
                    Some(PathPart::Field(name)) => Some(name.as_str()),
                    _ => None,
                })
                .collect();
            let scan = object_each(line, &mut |k, _| {
                let k = unescape(k);
                missing.retain(|m| *m != k);
                !missing.is_empty()
            });
            if let Err(e) = scan
                && !missing.is_empty()
            {
                lbs.add_error(ERR_JSON, e);
            }
        }
        for (name, path) in &self.exprs {
            let key = if lbs.base_has(name) {
                format!("{name}{}", super::DUPLICATE_SUFFIX)
            } else {
                name.clone()
            };
            let value = match lookup(line, path) {
                Some(v) if v.ty == JsonType::String => unescape(v.raw),
                Some(v) if v.ty == JsonType::Null => String::new(),
                Some(v) => v.raw.to_owned(),
                None => String::new(),
            };
            lbs.set(Category::Parsed, &key, &value);
        }
        true
    }
}

/// `| unpack`: Promtail `pack` output; string fields become labels and `_entry` the line.
#[derive(Debug)]
pub(crate) struct UnpackParser;

impl Step for UnpackParser {
    fn process(&self, _ts: i64, line: &mut String, lbs: &mut LabelsBuilder) -> bool {
        if line.is_empty() || lbs.extract_nothing() {
            return true;
        }
        if !line.starts_with('{') {
            lbs.add_error(ERR_JSON, "expecting json object(6), but it is not");
            return true;
        }
        let mut entry = None;
        let mut fields: Vec<(String, String)> = Vec::new();
        let res = object_each(line, &mut |k, v| {
            if v.ty == JsonType::String {
                if k == "_entry" {
                    entry = Some(unescape(v.raw));
                } else {
                    fields.push((k.to_owned(), unescape(v.raw)));
                }
            }
            true
        });
        if let Err(e) = res {
            lbs.add_error(ERR_JSON, e);
            return true;
        }
        if let Some(e) = entry {
            for (k, v) in fields {
                let _ = set_parsed(lbs, &k, &v);
            }
            *line = e;
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        assert_eq!(
            parse_path("user.roles[0]").unwrap(),
            vec![
                PathPart::Field("user".into()),
                PathPart::Field("roles".into()),
                PathPart::Index(0)
            ]
        );
        assert_eq!(
            parse_path(r#"["key with space"]"#).unwrap(),
            vec![PathPart::Field("key with space".into())]
        );
        let doc = r#"{"user":{"roles":["viewer","ops"],"n":1},"key with space":"yes"}"#;
        let p = parse_path("user.roles[1]").unwrap();
        assert_eq!(lookup(doc, &p).unwrap().raw, "ops");
        let p = parse_path("user").unwrap();
        assert_eq!(
            lookup(doc, &p).unwrap().raw,
            r#"{"roles":["viewer","ops"],"n":1}"#
        );
    }

    #[test]
    fn deep_nesting_is_bounded() {
        let deep = format!(
            "{}\"x\":1{}",
            "{\"a\":".repeat(100_000),
            "}".repeat(100_000)
        );
        let mut lbs = LabelsBuilder::default();
        let mut line = deep;
        assert!(JsonParser.process(0, &mut line, &mut lbs));
    }

    #[test]
    fn unescaping() {
        assert_eq!(unescape(r#"Krak\u00f3w"#), "Kraków");
        assert_eq!(unescape(r#"a\"b"#), "a\"b");
        assert_eq!(unescape(r#"\ud83d\ude00"#), "😀");
    }
}
