//! `| logfmt [--strict] [--keep-empty] [a, b="key"]`, with Loki's decoder rules and error
//! texts (`logfmt syntax error at pos 179 : unterminated quoted value`).

use super::{
    Category, DUPLICATE_SUFFIX, ERR_LOGFMT, LabelsBuilder, Step, sanitize_label_key, set_parsed,
};
use crate::logql::ast::LabelExtraction;

/// One decoded pair; `value` is `None` for `key` and `key=`.
#[derive(Debug, PartialEq)]
pub(crate) struct Pair {
    pub(crate) key: String,
    pub(crate) value: Option<String>,
}

/// Loki's logfmt decoder over one line.
pub(crate) struct Decoder<'a> {
    line: &'a [u8],
    text: &'a str,
    pos: usize,
    /// First syntax error.
    pub(crate) err: Option<String>,
}

impl<'a> Decoder<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        Self {
            line: text.as_bytes(),
            text,
            pos: 0,
            err: None,
        }
    }

    pub(crate) fn eol(&self) -> bool {
        self.pos >= self.line.len()
    }

    fn syntax_error(&mut self, msg: &str) {
        self.err = Some(format!(
            "logfmt syntax error at pos {} : {msg}",
            self.pos + 1
        ));
    }

    fn unexpected(&mut self, c: u8) {
        let shown = match c {
            b'"' => "'\"'".to_owned(),
            b'=' => "'='".to_owned(),
            c => format!("'{}'", c as char),
        };
        self.syntax_error(&format!("unexpected {shown}"));
    }

    fn skip_value(&mut self) {
        while self.pos < self.line.len() && self.line[self.pos] > b' ' {
            self.pos += 1;
        }
    }

    /// Scans the next pair: `Ok(Some(pair))`, `Ok(None)` at the end, `Err(())` for a bad
    /// pair (the error is recorded, scanning may continue).
    pub(crate) fn scan(&mut self) -> Result<Option<Pair>, ()> {
        let l = self.line;
        while self.pos < l.len() && l[self.pos] <= b' ' {
            self.pos += 1;
        }
        if self.pos >= l.len() {
            return Ok(None);
        }
        let start = self.pos;
        while self.pos < l.len() {
            let c = l[self.pos];
            if c == b'=' {
                if self.pos == start {
                    self.unexpected(c);
                    self.skip_value();
                    return Err(());
                }
                let key = self.text[start..self.pos].to_owned();
                return self.scan_value(key);
            }
            if c == b'"' {
                self.unexpected(c);
                self.skip_value();
                return Err(());
            }
            if c <= b' ' {
                break;
            }
            self.pos += 1;
        }
        Ok(Some(Pair {
            key: self.text[start..self.pos].to_owned(),
            value: None,
        }))
    }

    fn scan_value(&mut self, key: String) -> Result<Option<Pair>, ()> {
        let l = self.line;
        self.pos += 1;
        if self.pos >= l.len() || l[self.pos] <= b' ' {
            return Ok(Some(Pair { key, value: None }));
        }
        if l[self.pos] == b'"' {
            let start = self.pos;
            let mut esc = false;
            let mut has_esc = false;
            let mut p = self.pos + 1;
            while p < l.len() {
                let c = l[p];
                if esc {
                    esc = false;
                } else if c == b'\\' {
                    esc = true;
                    has_esc = true;
                } else if c == b'"' {
                    self.pos = p + 1;
                    let inner = &self.text[start + 1..p];
                    let value = if has_esc {
                        match unquote(inner) {
                            Some(v) => v,
                            None => {
                                self.syntax_error("invalid quoted value");
                                return Err(());
                            }
                        }
                    } else {
                        inner.to_owned()
                    };
                    let value = if value.is_empty() { None } else { Some(value) };
                    return Ok(Some(Pair { key, value }));
                }
                p += 1;
            }
            self.pos = l.len();
            self.syntax_error("unterminated quoted value");
            return Err(());
        }
        let start = self.pos;
        while self.pos < l.len() {
            let c = l[self.pos];
            if c == b'=' || c == b'"' {
                self.unexpected(c);
                self.skip_value();
                return Err(());
            }
            if c <= b' ' {
                break;
            }
            self.pos += 1;
        }
        Ok(Some(Pair {
            key,
            value: Some(self.text[start..self.pos].to_owned()),
        }))
    }
}

/// JSON-style unquoting of a logfmt quoted value's content.
fn unquote(inner: &str) -> Option<String> {
    let s = super::json::unescape(inner);
    if s.is_empty() && !inner.is_empty() {
        return None;
    }
    Some(s)
}

/// `| logfmt` (all keys, or only the listed ones).
#[derive(Debug)]
pub(crate) struct LogfmtParser {
    strict: bool,
    keep_empty: bool,
    /// `(label, key)` when parameters are given.
    params: Vec<(String, String)>,
}

impl LogfmtParser {
    pub(crate) fn new(
        strict: bool,
        keep_empty: bool,
        params: &[LabelExtraction],
    ) -> Result<Self, String> {
        let mut out = Vec::new();
        for p in params {
            if !lgtm_common::labels::is_valid_label_name(&p.name) {
                return Err(format!("invalid extracted label name '{}'", p.name));
            }
            out.push((p.name.clone(), p.expression.clone()));
        }
        Ok(Self {
            strict,
            keep_empty,
            params: out,
        })
    }
}

impl Step for LogfmtParser {
    fn process(&self, _ts: i64, line: &mut String, lbs: &mut LabelsBuilder) -> bool {
        if self.params.is_empty() && lbs.extract_nothing() {
            return true;
        }
        if !self.params.is_empty() {
            for (id, _) in &self.params {
                if !lbs.base_has(id) && lbs.get(id).is_none() {
                    lbs.set(Category::Parsed, id, "");
                }
            }
        }
        let mut dec = Decoder::new(line);
        while !dec.eol() {
            let pair = match dec.scan() {
                Ok(Some(p)) => p,
                Ok(None) => break,
                Err(()) => {
                    if self.strict {
                        break;
                    }
                    continue;
                }
            };
            let key = sanitize_label_key(&pair.key, true);
            if key.is_empty() {
                continue;
            }
            let value = pair.value.unwrap_or_default();
            if value.contains('\u{fffd}') {
                continue;
            }
            if self.params.is_empty() {
                if value.is_empty() && !self.keep_empty {
                    continue;
                }
                if !set_parsed(lbs, &key, &value) {
                    return false;
                }
                if lbs.all_required_extracted() {
                    // Loki stops parsing once it has every label it needs.
                    return true;
                }
            } else if let Some((id, _)) = self.params.iter().find(|(_, k)| *k == key) {
                let name = if lbs.base_has(id) {
                    format!("{id}{DUPLICATE_SUFFIX}")
                } else {
                    id.clone()
                };
                lbs.set(Category::Parsed, &name, &value);
            }
        }
        if self.strict
            && let Some(e) = &dec.err
        {
            lbs.add_error(ERR_LOGFMT, e);
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(s: &str) -> Vec<(String, Option<String>)> {
        let mut d = Decoder::new(s);
        let mut out = Vec::new();
        while !d.eol() {
            match d.scan() {
                Ok(Some(p)) => out.push((p.key, p.value)),
                Ok(None) => break,
                Err(()) => {}
            }
        }
        out
    }

    #[test]
    fn decoding() {
        assert_eq!(
            pairs(r#"a=1 b="x y" c= d e="q\"t""#),
            vec![
                ("a".into(), Some("1".into())),
                ("b".into(), Some("x y".into())),
                ("c".into(), None),
                ("d".into(), None),
                ("e".into(), Some("q\"t".into())),
            ]
        );
        let mut d = Decoder::new(r#"a=1 broken="unterminated"#);
        while !d.eol() {
            let _ = d.scan();
        }
        assert_eq!(
            d.err.as_deref(),
            Some("logfmt syntax error at pos 25 : unterminated quoted value")
        );
    }
}
