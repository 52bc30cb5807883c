//! Lexer for Go template text: splits text from `{{ }}` actions, applies `{{- ` / ` -}}`
//! whitespace trimming, drops comments, and tokenises action contents like Go's `lex.go`.

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    Text(String),
    LeftDelim,
    RightDelim,
    Ident(String),
    /// `.Name` without the dot.
    Field(String),
    /// `$name` including the `$` (`$` alone for the root).
    Variable(String),
    Dot,
    Number(String),
    /// A quoted or raw string: (source text, unquoted value).
    Str(String, String),
    Char(String),
    Bool(bool),
    Nil,
    Pipe,
    LParen,
    RParen,
    Declare,
    Assign,
    Comma,
    Space,
    Keyword(Kw),
    /// A lexing error (message); the parser reports it.
    Error(String),
    Eof,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kw {
    If,
    Else,
    End,
    Range,
    With,
    Define,
    Template,
    Block,
    Break,
    Continue,
}

impl Kw {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Kw::If => "if",
            Kw::Else => "else",
            Kw::End => "end",
            Kw::Range => "range",
            Kw::With => "with",
            Kw::Define => "define",
            Kw::Template => "template",
            Kw::Block => "block",
            Kw::Break => "break",
            Kw::Continue => "continue",
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Item {
    pub(crate) tok: Tok,
    pub(crate) pos: usize,
}

/// A lexing error: byte position and message.
#[derive(Debug)]
pub(crate) struct LexError {
    pub(crate) pos: usize,
    pub(crate) msg: String,
}

const LEFT: &str = "{{";
const RIGHT: &str = "}}";

fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n')
}

fn is_alnum(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

/// Tokenise `src`. A lexing error becomes a [`Tok::Error`] item followed by EOF, which the
/// parser reports as `unexpected <message> in <context>`, as Go's does.
pub(crate) fn lex(src: &str) -> Vec<Item> {
    let mut items = Vec::new();
    if let Err(e) = lex_into(src, &mut items) {
        items.push(Item {
            tok: Tok::Error(e.msg),
            pos: e.pos,
        });
        items.push(Item {
            tok: Tok::Eof,
            pos: src.len(),
        });
    }
    items
}

fn lex_into(src: &str, items: &mut Vec<Item>) -> Result<(), LexError> {
    let b = src.as_bytes();
    let mut pos = 0;
    let mut trim_next_text = false;
    while pos <= src.len() {
        // Text until the next left delimiter.
        let next = src[pos..].find(LEFT).map(|i| pos + i);
        let text_end = next.unwrap_or(src.len());
        let mut text = &src[pos..text_end];
        if trim_next_text {
            text = text.trim_start_matches(|c: char| c.is_ascii() && is_space(c as u8));
            trim_next_text = false;
        }
        let Some(ld) = next else {
            if !text.is_empty() {
                items.push(Item {
                    tok: Tok::Text(text.to_string()),
                    pos,
                });
            }
            break;
        };
        // Left trim marker: "{{- " (dash followed by a space character).
        let after = ld + LEFT.len();
        let left_trim =
            b.get(after) == Some(&b'-') && b.get(after + 1).is_some_and(|c| is_space(*c));
        if left_trim {
            text = text.trim_end_matches(|c: char| c.is_ascii() && is_space(c as u8));
        }
        if !text.is_empty() {
            items.push(Item {
                tok: Tok::Text(text.to_string()),
                pos,
            });
        }
        let mut p = if left_trim { after + 2 } else { after };
        // Comment?
        let comment_start = p;
        if src[comment_start..].starts_with("/*") {
            let Some(end) = src[comment_start + 2..].find("*/") else {
                return Err(LexError {
                    pos: ld,
                    msg: "unclosed comment".into(),
                });
            };
            p = comment_start + 2 + end + 2;
            // Must be followed by "}}" or " -}}".
            if src[p..].starts_with(RIGHT) {
                pos = p + RIGHT.len();
            } else if b.get(p).is_some_and(|c| is_space(*c)) && src[p + 1..].starts_with("-}}") {
                pos = p + 1 + 3;
                trim_next_text = true;
            } else {
                return Err(LexError {
                    pos: ld,
                    msg: "comment ends before closing delimiter".into(),
                });
            }
            continue;
        }
        items.push(Item {
            tok: Tok::LeftDelim,
            pos: ld,
        });
        let (np, trim) = lex_action(src, p, items)?;
        pos = np;
        trim_next_text = trim;
        if pos >= src.len() {
            break;
        }
    }
    items.push(Item {
        tok: Tok::Eof,
        pos: src.len(),
    });
    Ok(())
}

/// Lex inside an action starting at `p`; returns the position after the right delimiter and
/// whether it was a trimming one.
fn lex_action(src: &str, mut p: usize, items: &mut Vec<Item>) -> Result<(usize, bool), LexError> {
    let b = src.as_bytes();
    let mut paren_depth = 0i32;
    loop {
        // Right delimiter, possibly with trim marker.
        if b.get(p).is_some_and(|c| is_space(*c)) && src[p + 1..].starts_with("-}}") {
            if paren_depth > 0 {
                return Err(LexError {
                    pos: p,
                    msg: "unclosed left paren".into(),
                });
            }
            items.push(Item {
                tok: Tok::RightDelim,
                pos: p + 2,
            });
            return Ok((p + 4, true));
        }
        if src[p..].starts_with(RIGHT) {
            if paren_depth > 0 {
                return Err(LexError {
                    pos: p,
                    msg: "unclosed left paren".into(),
                });
            }
            items.push(Item {
                tok: Tok::RightDelim,
                pos: p,
            });
            return Ok((p + 2, false));
        }
        let Some(c) = src[p..].chars().next() else {
            return Err(LexError {
                pos: p,
                msg: "unclosed action".into(),
            });
        };
        let start = p;
        match c {
            ' ' | '\t' | '\r' | '\n' => {
                // Consume spaces, but stop before a " -}}" trim marker.
                while b.get(p).is_some_and(|c| is_space(*c)) {
                    if src[p + 1..].starts_with("-}}") {
                        break;
                    }
                    p += 1;
                }
                if p > start {
                    items.push(Item {
                        tok: Tok::Space,
                        pos: start,
                    });
                }
            }
            '=' => {
                items.push(Item {
                    tok: Tok::Assign,
                    pos: p,
                });
                p += 1;
            }
            ':' => {
                if b.get(p + 1) != Some(&b'=') {
                    return Err(LexError {
                        pos: p,
                        msg: "expected :=".into(),
                    });
                }
                items.push(Item {
                    tok: Tok::Declare,
                    pos: p,
                });
                p += 2;
            }
            '|' => {
                items.push(Item {
                    tok: Tok::Pipe,
                    pos: p,
                });
                p += 1;
            }
            ',' => {
                items.push(Item {
                    tok: Tok::Comma,
                    pos: p,
                });
                p += 1;
            }
            '(' => {
                paren_depth += 1;
                items.push(Item {
                    tok: Tok::LParen,
                    pos: p,
                });
                p += 1;
            }
            ')' => {
                paren_depth -= 1;
                if paren_depth < 0 {
                    return Err(LexError {
                        pos: p,
                        msg: "unexpected right paren".into(),
                    });
                }
                items.push(Item {
                    tok: Tok::RParen,
                    pos: p,
                });
                p += 1;
            }
            '"' => {
                let (end, val) = lex_quote(src, p)?;
                items.push(Item {
                    tok: Tok::Str(src[p..end].to_string(), val),
                    pos: p,
                });
                p = end;
            }
            '`' => {
                let Some(e) = src[p + 1..].find('`') else {
                    return Err(LexError {
                        pos: p,
                        msg: "unterminated raw quoted string".into(),
                    });
                };
                let end = p + 1 + e + 1;
                let val = src[p + 1..end - 1].replace('\r', "");
                items.push(Item {
                    tok: Tok::Str(src[p..end].to_string(), val),
                    pos: p,
                });
                p = end;
            }
            '\'' => {
                let mut q = p + 1;
                loop {
                    match b.get(q) {
                        None | Some(b'\n') => {
                            return Err(LexError {
                                pos: p,
                                msg: "unterminated character constant".into(),
                            });
                        }
                        Some(b'\\') => q += 2,
                        Some(b'\'') => break,
                        Some(_) => q += 1,
                    }
                }
                items.push(Item {
                    tok: Tok::Char(src[p..=q].to_string()),
                    pos: p,
                });
                p = q + 1;
            }
            '$' => {
                let n: usize = src[p + 1..]
                    .chars()
                    .take_while(|c| is_alnum(*c))
                    .map(char::len_utf8)
                    .sum();
                items.push(Item {
                    tok: Tok::Variable(src[p..p + 1 + n].to_string()),
                    pos: p,
                });
                p += 1 + n;
            }
            '.' if !b.get(p + 1).is_some_and(u8::is_ascii_digit) => {
                let n: usize = src[p + 1..]
                    .chars()
                    .take_while(|c| is_alnum(*c))
                    .map(char::len_utf8)
                    .sum();
                if n == 0 {
                    items.push(Item {
                        tok: Tok::Dot,
                        pos: p,
                    });
                } else {
                    items.push(Item {
                        tok: Tok::Field(src[p + 1..p + 1 + n].to_string()),
                        pos: p,
                    });
                }
                p += 1 + n;
            }
            '+' | '-' | '.' | '0'..='9' => {
                let end = scan_number(src, p);
                let next = src[end..].chars().next();
                if end == p || next.is_some_and(is_alnum) {
                    let bad_end = end + next.map_or(0, char::len_utf8);
                    return Err(LexError {
                        pos: p,
                        msg: format!("bad number syntax: {:?}", &src[p..bad_end.min(src.len())]),
                    });
                }
                items.push(Item {
                    tok: Tok::Number(src[p..end].to_string()),
                    pos: p,
                });
                p = end;
            }
            c if is_alnum(c) => {
                let n: usize = src[p..]
                    .chars()
                    .take_while(|c| is_alnum(*c))
                    .map(char::len_utf8)
                    .sum();
                let word = &src[p..p + n];
                let tok = match word {
                    "if" => Tok::Keyword(Kw::If),
                    "else" => Tok::Keyword(Kw::Else),
                    "end" => Tok::Keyword(Kw::End),
                    "range" => Tok::Keyword(Kw::Range),
                    "with" => Tok::Keyword(Kw::With),
                    "define" => Tok::Keyword(Kw::Define),
                    "template" => Tok::Keyword(Kw::Template),
                    "block" => Tok::Keyword(Kw::Block),
                    "break" => Tok::Keyword(Kw::Break),
                    "continue" => Tok::Keyword(Kw::Continue),
                    "true" => Tok::Bool(true),
                    "false" => Tok::Bool(false),
                    "nil" => Tok::Nil,
                    _ => Tok::Ident(word.to_string()),
                };
                // The word must end at a terminator.
                let after = src[p + n..].chars().next();
                if let Some(a) = after
                    && !(is_space(a as u8) && a.is_ascii()
                        || matches!(a, '.' | ',' | '|' | ':' | ')' | '(' | '=' | '}'))
                {
                    return Err(LexError {
                        pos: p + n,
                        msg: format!("bad character {}", go_rune_repr(a)),
                    });
                }
                items.push(Item { tok, pos: p });
                p += n;
            }
            c => {
                return Err(LexError {
                    pos: p,
                    msg: format!("unrecognized character in action: {}", go_rune_repr(c)),
                });
            }
        }
    }
}

/// Go's `%#U` of a rune: `U+0021 '!'`.
fn go_rune_repr(c: char) -> String {
    // Go shows the character only when strconv.IsPrint says it is printable.
    let printable = c == ' ' || !(c.is_control() || c.is_whitespace() || c == '\u{ad}');
    if printable {
        format!("U+{:04X} '{c}'", c as u32)
    } else {
        format!("U+{:04X}", c as u32)
    }
}

fn scan_number(src: &str, start: usize) -> usize {
    let b = src.as_bytes();
    let mut p = start;
    if matches!(b.get(p), Some(b'+' | b'-')) {
        p += 1;
    }
    let mut digits: &[u8] = b"0123456789_";
    let mut exp: &[u8] = b"eE";
    if b.get(p) == Some(&b'0') {
        match b.get(p + 1) {
            Some(b'x' | b'X') => {
                p += 2;
                digits = b"0123456789abcdefABCDEF_";
                exp = b"pP";
            }
            Some(b'o' | b'O') => {
                p += 2;
                digits = b"01234567_";
                exp = b"";
            }
            Some(b'b' | b'B') => {
                p += 2;
                digits = b"01_";
                exp = b"";
            }
            _ => {}
        }
    }
    while b.get(p).is_some_and(|c| digits.contains(c)) {
        p += 1;
    }
    if b.get(p) == Some(&b'.') {
        p += 1;
        while b.get(p).is_some_and(|c| digits.contains(c)) {
            p += 1;
        }
    }
    if !exp.is_empty() && b.get(p).is_some_and(|c| exp.contains(c)) {
        p += 1;
        if matches!(b.get(p), Some(b'+' | b'-')) {
            p += 1;
        }
        while b.get(p).is_some_and(|c| c.is_ascii_digit() || *c == b'_') {
            p += 1;
        }
    }
    if b.get(p) == Some(&b'i') {
        p += 1;
    }
    p
}

fn lex_quote(src: &str, start: usize) -> Result<(usize, String), LexError> {
    let b = src.as_bytes();
    let mut q = start + 1;
    loop {
        match b.get(q) {
            None | Some(b'\n') => {
                return Err(LexError {
                    pos: start,
                    msg: "unterminated quoted string".into(),
                });
            }
            Some(b'\\') => q += 2,
            Some(b'"') => break,
            Some(_) => q += 1,
        }
    }
    let end = q + 1;
    let val = unquote_body(&src[start + 1..q]).map_err(|msg| LexError { pos: start, msg })?;
    Ok((end, val))
}

/// Interpret Go escape sequences in the body of a quoted string or char literal.
pub(crate) fn unquote_body(s: &str) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    let bad = || "invalid syntax".to_string();
    let mut pending_bytes: Vec<u8> = Vec::new();
    let flush = |out: &mut String, pending: &mut Vec<u8>| {
        if !pending.is_empty() {
            out.push_str(&String::from_utf8_lossy(pending));
            pending.clear();
        }
    };
    while let Some(c) = chars.next() {
        if c != '\\' {
            flush(&mut out, &mut pending_bytes);
            out.push(c);
            continue;
        }
        let e = chars.next().ok_or_else(bad)?;
        match e {
            'n' => out.push('\n'),
            't' => out.push('\t'),
            'r' => out.push('\r'),
            'a' => out.push('\u{7}'),
            'b' => out.push('\u{8}'),
            'f' => out.push('\u{c}'),
            'v' => out.push('\u{b}'),
            '\\' => out.push('\\'),
            '"' => out.push('"'),
            '\'' => out.push('\''),
            'x' => {
                let h: String = chars.by_ref().take(2).collect();
                let v = u8::from_str_radix(&h, 16).map_err(|_| bad())?;
                pending_bytes.push(v);
                continue;
            }
            '0'..='7' => {
                let mut o = String::from(e);
                o.extend(chars.by_ref().take(2));
                let v = u8::from_str_radix(&o, 8).map_err(|_| bad())?;
                pending_bytes.push(v);
                continue;
            }
            'u' | 'U' => {
                let n = if e == 'u' { 4 } else { 8 };
                let h: String = chars.by_ref().take(n).collect();
                let v = u32::from_str_radix(&h, 16).map_err(|_| bad())?;
                out.push(char::from_u32(v).ok_or_else(bad)?);
            }
            _ => return Err(bad()),
        }
        flush(&mut out, &mut pending_bytes);
    }
    flush(&mut out, &mut pending_bytes);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<Tok> {
        lex(s).into_iter().map(|i| i.tok).collect()
    }

    #[test]
    fn trims_and_comments() {
        assert_eq!(
            toks("a  {{- .x -}}  b"),
            vec![
                Tok::Text("a".into()),
                Tok::LeftDelim,
                Tok::Field("x".into()),
                Tok::RightDelim,
                Tok::Text("b".into()),
                Tok::Eof
            ]
        );
        assert_eq!(
            toks("a {{/* c */}} b"),
            vec![Tok::Text("a ".into()), Tok::Text(" b".into()), Tok::Eof]
        );
        assert_eq!(
            toks("a {{- /* c */ -}} b"),
            vec![Tok::Text("a".into()), Tok::Text("b".into()), Tok::Eof]
        );
        // "{{-3}}" is the number -3, not a trim marker.
        assert_eq!(
            toks("{{-3}}"),
            vec![
                Tok::LeftDelim,
                Tok::Number("-3".into()),
                Tok::RightDelim,
                Tok::Eof
            ]
        );
    }

    #[test]
    fn strings_and_errors() {
        assert_eq!(
            toks(r#"{{"a\tb" `r\n`}}"#)[1],
            Tok::Str("\"a\\tb\"".into(), "a\tb".into())
        );
        let has_err = |s: &str| toks(s).iter().any(|t| matches!(t, Tok::Error(_)));
        assert!(has_err("{{ \"abc }}"));
        assert!(has_err("{{ .x "));
        assert!(has_err("{{/* x */ .y }}"));
    }
}
