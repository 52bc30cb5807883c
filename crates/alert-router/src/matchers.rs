//! Alertmanager's matcher syntax: `{foo="bar", baz=~"x.*"}`, lists of such strings in the
//! config, API `filter` values and amtool arguments.
//!
//! Two grammars exist upstream. The *classic* parser (Alertmanager ≤ 0.26, the only one in
//! 0.25) splits on commas outside quotes and reads each `name op value` with a regex. The
//! *UTF-8* parser (0.27+) is a real lexer: unquoted literals exclude whitespace and
//! ``{ } ! = ~ , \ " ' ` ``, quoted strings use Go escapes, the value is required. We run
//! 0.27's default "fallback" mode: UTF-8 first, classic if that fails, and report the classic
//! error when both fail (so 0.25's error texts come out, e.g. `bad matcher format: foo`).

use lgtm_common::labels::{MatchOp, Matcher};

/// A matcher string could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseError(pub String);

/// Builds a matcher as Alertmanager does: regexes anchored (`lgtm_common` anchors them).
pub fn new_matcher(op: MatchOp, name: &str, value: &str) -> Result<Matcher, ParseError> {
    Matcher::new(op, name, value).map_err(|e| ParseError(e.to_string()))
}

/// Parses a matcher list (`{a="b", c=~"d"}`, braces optional) in fallback mode.
pub fn parse_matchers(input: &str) -> Result<Vec<Matcher>, ParseError> {
    match utf8::parse(input) {
        Ok(ms) => Ok(ms),
        Err(utf8_err) => match classic::parse_matchers(input) {
            Ok(ms) => {
                tracing::debug!(input, error = %utf8_err, "matchers accepted by the classic parser only");
                Ok(ms)
            }
            Err(e) => Err(e),
        },
    }
}

/// Parses exactly one matcher (API `filter` values, amtool arguments) in fallback mode.
pub fn parse_matcher(input: &str) -> Result<Matcher, ParseError> {
    match utf8::parse(input) {
        Ok(mut ms) if ms.len() == 1 => Ok(ms.remove(0)),
        _ => classic::parse_matcher(input),
    }
}

/// Alertmanager's sort order for matcher sets: name, then value, then operator.
pub fn sort_matchers(ms: &mut [Matcher]) {
    ms.sort_by(|a, b| {
        a.name
            .cmp(&b.name)
            .then_with(|| a.value.cmp(&b.value))
            .then_with(|| op_rank(a.op).cmp(&op_rank(b.op)))
    });
}

fn op_rank(op: MatchOp) -> u8 {
    match op {
        MatchOp::Equal => 0,
        MatchOp::NotEqual => 1,
        MatchOp::Regex => 2,
        MatchOp::NotRegex => 3,
    }
}

/// `{a="b",c=~"d"}` as Alertmanager's `Matchers.String()` prints it (no space after the
/// comma): route keys, hence group keys, are built from it.
pub fn matchers_string(ms: &[Matcher]) -> String {
    let parts: Vec<String> = ms.iter().map(ToString::to_string).collect();
    format!("{{{}}}", parts.join(","))
}

mod classic {
    //! Alertmanager 0.25 `pkg/labels/parse.go`.
    use super::{ParseError, new_matcher};
    use lgtm_common::labels::{MatchOp, Matcher};
    use regex::Regex;
    use std::sync::LazyLock;

    static RE: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"^\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(=~|=|!=|!~)\s*((?s).*?)\s*$")
            .unwrap_or_else(|e| unreachable!("static regex: {e}"))
    });

    pub(super) fn parse_matchers(s: &str) -> Result<Vec<Matcher>, ParseError> {
        let s = s.strip_prefix('{').unwrap_or(s);
        let s = s.strip_suffix('}').unwrap_or(s);
        let mut tokens = Vec::new();
        let mut token = String::new();
        let (mut inside_quotes, mut escaped) = (false, false);
        for c in s.chars() {
            match c {
                ',' if !inside_quotes => {
                    tokens.push(std::mem::take(&mut token));
                    continue;
                }
                ',' => {}
                '"' => {
                    if escaped {
                        escaped = false;
                    } else {
                        inside_quotes = !inside_quotes;
                    }
                }
                '\\' => escaped = !escaped,
                _ => escaped = false,
            }
            token.push(c);
        }
        let last = token.trim();
        if !last.is_empty() {
            tokens.push(last.to_owned());
        }
        tokens.iter().map(|t| parse_matcher(t)).collect()
    }

    pub(super) fn parse_matcher(s: &str) -> Result<Matcher, ParseError> {
        let caps = RE
            .captures(s)
            .ok_or_else(|| ParseError(format!("bad matcher format: {s}")))?;
        let (name, op, raw) = (&caps[1], &caps[2], &caps[3]);
        let op = match op {
            "=" => MatchOp::Equal,
            "!=" => MatchOp::NotEqual,
            "=~" => MatchOp::Regex,
            _ => MatchOp::NotRegex,
        };
        let (body, mut expect_quote) = match raw.strip_prefix('"') {
            Some(rest) => (rest, true),
            None => (raw, false),
        };
        let unescaped_quote = || {
            ParseError(format!(
                "matcher value contains unescaped double quote: {raw}"
            ))
        };
        let mut value = String::with_capacity(body.len());
        let mut escaped = false;
        let mut chars = body.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            let is_last = i + c.len_utf8() == body.len();
            if escaped {
                escaped = false;
                match c {
                    'n' => value.push('\n'),
                    '"' | '\\' => value.push(c),
                    _ => {
                        value.push('\\');
                        value.push(c);
                    }
                }
                continue;
            }
            match c {
                '\\' if !is_last => escaped = true,
                '\\' => value.push('\\'),
                '"' => {
                    if !expect_quote || !is_last {
                        return Err(unescaped_quote());
                    }
                    expect_quote = false;
                }
                _ => value.push(c),
            }
            let _ = chars.peek();
        }
        if expect_quote {
            return Err(unescaped_quote());
        }
        new_matcher(op, name, &value)
    }
}

mod utf8 {
    //! Alertmanager 0.27+ `matcher/parse`: lexer + recursive descent.
    use super::{ParseError, new_matcher};
    use lgtm_common::labels::{MatchOp, Matcher};

    #[derive(Debug, Clone, PartialEq)]
    enum Tok {
        Open,
        Close,
        Comma,
        Op(MatchOp),
        Quoted(String),
        Unquoted(String),
    }

    fn is_reserved(c: char) -> bool {
        c.is_whitespace() || "{}!=~,\\\"'`".contains(c)
    }

    fn lex(input: &str) -> Result<Vec<(usize, Tok)>, ParseError> {
        let mut out = Vec::new();
        let mut it = input.char_indices().peekable();
        while let Some(&(pos, c)) = it.peek() {
            match c {
                c if c.is_whitespace() => {
                    it.next();
                }
                '{' => {
                    it.next();
                    out.push((pos, Tok::Open));
                }
                '}' => {
                    it.next();
                    out.push((pos, Tok::Close));
                }
                ',' => {
                    it.next();
                    out.push((pos, Tok::Comma));
                }
                '=' | '!' => {
                    it.next();
                    let tilde = matches!(it.peek(), Some((_, '~')));
                    let eq = matches!(it.peek(), Some((_, '=')));
                    let op = match (c, tilde, eq) {
                        ('=', true, _) => MatchOp::Regex,
                        ('=', false, _) => MatchOp::Equal,
                        ('!', true, _) => MatchOp::NotRegex,
                        ('!', _, true) => MatchOp::NotEqual,
                        _ => {
                            return Err(ParseError(format!(
                                "{pos}:{}: {c}: invalid input: expected one of '=~'",
                                pos + 1
                            )));
                        }
                    };
                    if tilde || (c == '!' && eq) {
                        it.next();
                    }
                    out.push((pos, Tok::Op(op)));
                }
                '"' => {
                    it.next();
                    let mut s = String::new();
                    let mut closed = false;
                    while let Some((_, c)) = it.next() {
                        match c {
                            '"' => {
                                closed = true;
                                break;
                            }
                            '\\' => match it.next() {
                                Some((_, 'n')) => s.push('\n'),
                                Some((_, 't')) => s.push('\t'),
                                Some((_, 'r')) => s.push('\r'),
                                Some((_, 'a')) => s.push('\u{07}'),
                                Some((_, 'b')) => s.push('\u{08}'),
                                Some((_, 'f')) => s.push('\u{0c}'),
                                Some((_, 'v')) => s.push('\u{0b}'),
                                Some((_, '\\')) => s.push('\\'),
                                Some((_, '"')) => s.push('"'),
                                Some((_, '\'')) => s.push('\''),
                                Some((p, kind @ ('x' | 'u' | 'U'))) => {
                                    let n = match kind {
                                        'x' => 2,
                                        'u' => 4,
                                        _ => 8,
                                    };
                                    let hex: String =
                                        (0..n).filter_map(|_| it.next().map(|(_, c)| c)).collect();
                                    let c = u32::from_str_radix(&hex, 16)
                                        .ok()
                                        .filter(|_| hex.len() == n)
                                        .and_then(char::from_u32)
                                        .ok_or_else(|| {
                                            ParseError(format!(
                                                "{p}:{}: invalid escape sequence \\{kind}{hex}",
                                                p + 1
                                            ))
                                        })?;
                                    s.push(c);
                                }
                                Some((p, other)) => {
                                    return Err(ParseError(format!(
                                        "{p}:{}: invalid escape sequence \\{other}",
                                        p + 1
                                    )));
                                }
                                None => break,
                            },
                            c => s.push(c),
                        }
                    }
                    if !closed {
                        return Err(ParseError(format!(
                            "{pos}:{}: {}: missing end \"",
                            input.len(),
                            &input[pos..]
                        )));
                    }
                    out.push((pos, Tok::Quoted(s)));
                }
                c if is_reserved(c) => {
                    return Err(ParseError(format!(
                        "{pos}:{}: {c}: invalid input",
                        pos + c.len_utf8()
                    )));
                }
                _ => {
                    let mut s = String::new();
                    while let Some(&(_, c)) = it.peek() {
                        if is_reserved(c) {
                            break;
                        }
                        s.push(c);
                        it.next();
                    }
                    out.push((pos, Tok::Unquoted(s)));
                }
            }
        }
        Ok(out)
    }

    pub(super) fn parse(input: &str) -> Result<Vec<Matcher>, ParseError> {
        let toks = lex(input)?;
        let end = input.len();
        let mut i = 0;
        let err = |pos: usize, what: &str| ParseError(format!("{pos}:{end}: {what}"));
        let open = matches!(toks.first(), Some((_, Tok::Open)));
        if open {
            i += 1;
        }
        let mut out = Vec::new();
        loop {
            match toks.get(i) {
                None if open => return Err(err(end, "missing closing '}'")),
                None => break,
                Some((_, Tok::Close)) if open => {
                    i += 1;
                    break;
                }
                Some(_) => {}
            }
            let name = match toks.get(i) {
                Some((_, Tok::Quoted(s) | Tok::Unquoted(s))) => s.clone(),
                Some((p, t)) => {
                    return Err(err(*p, &format!("unexpected {t:?}, expected label name")));
                }
                None => return Err(err(end, "unexpected end of input, expected label name")),
            };
            let op = match toks.get(i + 1) {
                Some((_, Tok::Op(op))) => *op,
                Some((p, _)) => {
                    return Err(err(
                        *p,
                        "expected an operator such as '=', '!=', '=~' or '!~'",
                    ));
                }
                None => return Err(err(end, "unexpected end of input, expected an operator")),
            };
            let value = match toks.get(i + 2) {
                Some((_, Tok::Quoted(s) | Tok::Unquoted(s))) => s.clone(),
                Some((p, _)) => return Err(err(*p, "expected a label value")),
                None => return Err(err(end, "unexpected end of input, expected label value")),
            };
            i += 3;
            out.push(new_matcher(op, &name, &value)?);
            match toks.get(i) {
                Some((_, Tok::Comma)) => i += 1,
                Some((_, Tok::Close)) if open => {}
                None if !open => {}
                Some((p, _)) => return Err(err(*p, "expected a comma or closing '}'")),
                None => return Err(err(end, "missing closing '}'")),
            }
        }
        if let Some((p, _)) = toks.get(i) {
            return Err(err(*p, "unexpected input after closing '}'"));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn show(ms: &[Matcher]) -> String {
        matchers_string(ms)
    }

    #[test]
    fn both_syntaxes() {
        let cases = [
            (r#"{foo="bar", baz=~"x.*"}"#, r#"{foo="bar",baz=~"x.*"}"#),
            (r#"foo=bar"#, r#"{foo="bar"}"#),
            (r#"{foo=bar,}"#, r#"{foo="bar"}"#),
            (r#"foo!~"a|b""#, r#"{foo!~"a|b"}"#),
            (r#"severity!="critical""#, r#"{severity!="critical"}"#),
            // Classic only: empty unquoted value and spaces inside an unquoted value.
            (r#"foo="#, r#"{foo=""}"#),
            (r#"foo=bar baz"#, r#"{foo="bar baz"}"#),
            // UTF-8 only: quoted names with any characters.
            (r#"{"service.name"="api"}"#, r#"{service.name="api"}"#),
            // Escapes.
            (r#"a="x\"y""#, r#"{a="x\"y"}"#),
            (r#"a="line\nbreak""#, r#"{a="line\nbreak"}"#),
            // A comma inside quotes is part of the value.
            (r#"a="1,2", b="3""#, r#"{a="1,2",b="3"}"#),
        ];
        for (input, want) in cases {
            let got = parse_matchers(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(show(&got), want, "{input}");
        }
    }

    #[test]
    fn classic_error_texts() {
        assert_eq!(
            parse_matcher("foo").unwrap_err().to_string(),
            "bad matcher format: foo"
        );
        assert_eq!(
            parse_matchers(r#"a="b"c""#).unwrap_err().to_string(),
            r#"matcher value contains unescaped double quote: "b"c""#
        );
        assert!(parse_matchers("a=~(").is_err());
    }

    #[test]
    fn regexes_are_anchored() {
        let m = parse_matcher("job=~no.e").unwrap();
        assert!(m.matches("node"));
        assert!(!m.matches("nodes"));
    }

    #[test]
    fn sorting_is_alertmanagers() {
        let mut ms = parse_matchers(r#"b="1", a!="2", a="2", a="1""#).unwrap();
        sort_matchers(&mut ms);
        assert_eq!(show(&ms), r#"{a="1",a="2",a!="2",b="1"}"#);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(200))]
        #[test]
        fn printed_matchers_parse_back(name in "[a-z_][a-z0-9_]{0,8}", value in "\\PC{0,12}", op in 0usize..2) {
            let op = [MatchOp::Equal, MatchOp::NotEqual][op];
            let m = new_matcher(op, &name, &value).unwrap();
            let back = parse_matchers(&matchers_string(std::slice::from_ref(&m))).unwrap();
            proptest::prop_assert_eq!(back, vec![m]);
        }
    }
}
