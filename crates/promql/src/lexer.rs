//! Tokeniser for PromQL: turns the query text into tokens with byte positions, so the parser
//! can report errors as `line:col` the way Prometheus does.

use crate::error::{Error, Result};

/// One token kind.
#[derive(Clone, Debug, PartialEq)]
pub enum Tok {
    /// Identifier or keyword (keywords are resolved by the parser, since most are contextual).
    Ident(String),
    /// Number literal (durations are given as seconds with `is_duration`).
    Number(f64, bool),
    /// String literal, already unescaped.
    Str(String),
    /// `(`
    LParen,
    /// `)`
    RParen,
    /// `{`
    LBrace,
    /// `}`
    RBrace,
    /// `[`
    LBracket,
    /// `]`
    RBracket,
    /// `,`
    Comma,
    /// `:`
    Colon,
    /// `@`
    At,
    /// `=`
    Assign,
    /// `==`
    Eql,
    /// `!=`
    Neq,
    /// `=~`
    EqlRegex,
    /// `!~`
    NeqRegex,
    /// `<`
    Lss,
    /// `<=`
    Lte,
    /// `>`
    Gtr,
    /// `>=`
    Gte,
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
    /// `%`
    Mod,
    /// `^`
    Pow,
    /// `</` histogram trim (upper)
    TrimUpper,
    /// `>/` histogram trim (lower)
    TrimLower,
    /// End of input.
    Eof,
}

impl Tok {
    /// Human description used in parse errors, mirroring Prometheus' item descriptions.
    pub fn describe(&self) -> String {
        match self {
            Tok::Ident(s) => {
                let lower = s.to_ascii_lowercase();
                match lower.as_str() {
                    "sum" | "avg" | "count" | "min" | "max" | "group" | "stddev" | "stdvar"
                    | "topk" | "bottomk" | "count_values" | "quantile" | "limitk"
                    | "limit_ratio" => format!("aggregation \"{s}\""),
                    "by" | "without" | "on" | "ignoring" | "group_left" | "group_right"
                    | "bool" | "offset" | "start" | "end" => lower.clone(),
                    "and" | "or" | "unless" | "atan2" => format!("<op:{lower}>"),
                    _ => format!("identifier \"{s}\""),
                }
            }
            Tok::Number(_, true) => "duration".into(),
            Tok::Number(..) => "number".into(),
            Tok::Str(_) => "string".into(),
            Tok::LParen => "\"(\"".into(),
            Tok::RParen => "\")\"".into(),
            Tok::LBrace => "\"{\"".into(),
            Tok::RBrace => "\"}\"".into(),
            Tok::LBracket => "\"[\"".into(),
            Tok::RBracket => "\"]\"".into(),
            Tok::Comma => "\",\"".into(),
            Tok::Colon => "\":\"".into(),
            Tok::At => "\"@\"".into(),
            Tok::Assign => "\"=\"".into(),
            Tok::Eql => "\"==\"".into(),
            Tok::Neq => "\"!=\"".into(),
            Tok::EqlRegex => "\"=~\"".into(),
            Tok::NeqRegex => "\"!~\"".into(),
            Tok::Lss => "\"<\"".into(),
            Tok::Lte => "\"<=\"".into(),
            Tok::Gtr => "\">\"".into(),
            Tok::Gte => "\">=\"".into(),
            Tok::Add => "\"+\"".into(),
            Tok::Sub => "\"-\"".into(),
            Tok::Mul => "\"*\"".into(),
            Tok::Div => "\"/\"".into(),
            Tok::Mod => "\"%\"".into(),
            Tok::Pow => "\"^\"".into(),
            Tok::TrimUpper => "\"</\"".into(),
            Tok::TrimLower => "\">/\"".into(),
            Tok::Eof => "end of input".into(),
        }
    }
}

/// A token and the byte offset where it starts and ends.
#[derive(Clone, Debug, PartialEq)]
pub struct Token {
    /// Kind and payload.
    pub tok: Tok,
    /// Byte offset of the first character.
    pub start: usize,
    /// Byte offset after the last character.
    pub end: usize,
}

/// First code point of the private-use range that stands for raw (non-UTF-8) bytes written
/// as `\xNN` escapes in string literals.
const RAW_BYTE_BASE: u32 = 0x10_FF00;

/// The placeholder character for a raw byte `\xNN` (NN >= 0x80).
pub fn raw_byte(b: u8) -> char {
    char::from_u32(RAW_BYTE_BASE + b as u32).unwrap_or('\u{fffd}')
}

/// True when `s` holds bytes that are not valid UTF-8 in the original query.
pub fn has_raw_bytes(s: &str) -> bool {
    s.chars()
        .any(|c| (RAW_BYTE_BASE + 0x80..=RAW_BYTE_BASE + 0xff).contains(&(c as u32)))
}

/// Go's `%q` of a string that may hold raw-byte placeholders (shown as `\xNN`).
pub fn quote_raw(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        let u = c as u32;
        if (RAW_BYTE_BASE + 0x80..=RAW_BYTE_BASE + 0xff).contains(&u) {
            out.push_str(&format!("\\x{:02x}", u - RAW_BYTE_BASE));
        } else {
            let q = lgtm_common::labels::quote(c.encode_utf8(&mut [0; 4]));
            out.push_str(&q[1..q.len() - 1]);
        }
    }
    out.push('"');
    out
}

/// Formats a byte offset as Prometheus' `line:col` (1-based).
pub fn position(input: &str, offset: usize) -> String {
    let mut offset = offset.min(input.len());
    while !input.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &input[..offset];
    let line = before.matches('\n').count() + 1;
    let col = match before.rfind('\n') {
        Some(i) => offset - i,
        None => offset + 1,
    };
    format!("{line}:{col}")
}

fn parse_err(input: &str, at: usize, msg: impl Into<String>) -> Error {
    Error::Parse {
        pos: position(input, at),
        msg: msg.into(),
    }
}

/// Tokenises the whole input.
pub fn lex(input: &str) -> Result<Vec<Token>> {
    let bytes = input.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    // Lexer state as in Prometheus: inside `{...}`, open parentheses and brackets.
    let mut in_braces = false;
    let mut parens = 0usize;
    let mut brackets = false;
    while i < bytes.len() {
        let c = bytes[i];
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        if c == b'#' {
            while i < bytes.len() && bytes[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        let start = i;
        let ch = input[i..].chars().next().unwrap_or(' ');
        if in_braces {
            let ok = ch.is_alphanumeric()
                || matches!(ch, '_' | ',' | '"' | '\'' | '`' | '=' | '!' | '}');
            if !ok {
                return Err(parse_err(
                    input,
                    i,
                    format!("unexpected character inside braces: {ch:?}"),
                ));
            }
            if ch == '!' && !matches!(bytes.get(i + 1), Some(b'=' | b'~')) {
                let next = input[i + 1..]
                    .chars()
                    .next()
                    .map(|c| format!("{c:?}"))
                    .unwrap_or_else(|| "end of input".into());
                return Err(parse_err(
                    input,
                    i,
                    format!("unexpected character after '!' inside braces: {next}"),
                ));
            }
        } else {
            match ch {
                '}' => return Err(parse_err(input, i, "unexpected character: '}'")),
                ')' if parens == 0 => {
                    return Err(parse_err(input, i, "unexpected right parenthesis ')'"));
                }
                ']' if !brackets => {
                    return Err(parse_err(input, i, "unexpected right bracket ']'"));
                }
                '[' if brackets => return Err(parse_err(input, i, "unexpected left bracket '['")),
                _ => {}
            }
        }
        match ch {
            '{' if !in_braces => in_braces = true,
            '}' => in_braces = false,
            '(' => parens += 1,
            ')' => parens = parens.saturating_sub(1),
            '[' => brackets = true,
            ']' => brackets = false,
            _ => {}
        }
        let two = input.get(i..i + 2).unwrap_or("");
        let (tok, len) = match two {
            "==" => (Tok::Eql, 2),
            "!=" => (Tok::Neq, 2),
            "=~" => (Tok::EqlRegex, 2),
            "!~" => (Tok::NeqRegex, 2),
            "<=" => (Tok::Lte, 2),
            ">=" => (Tok::Gte, 2),
            "</" => (Tok::TrimUpper, 2),
            ">/" => (Tok::TrimLower, 2),
            _ => match c {
                b'(' => (Tok::LParen, 1),
                b')' => (Tok::RParen, 1),
                b'{' => (Tok::LBrace, 1),
                b'}' => (Tok::RBrace, 1),
                b'[' => (Tok::LBracket, 1),
                b']' => (Tok::RBracket, 1),
                b',' => (Tok::Comma, 1),
                b':' => (Tok::Colon, 1),
                b'@' => (Tok::At, 1),
                b'=' => (Tok::Assign, 1),
                b'<' => (Tok::Lss, 1),
                b'>' => (Tok::Gtr, 1),
                b'+' => (Tok::Add, 1),
                b'-' => (Tok::Sub, 1),
                b'*' => (Tok::Mul, 1),
                b'/' => (Tok::Div, 1),
                b'%' => (Tok::Mod, 1),
                b'^' => (Tok::Pow, 1),
                b'"' | b'\'' | b'`' => {
                    let (s, len) = lex_string(input, i)?;
                    (Tok::Str(s), len)
                }
                b'0'..=b'9' | b'.' => {
                    let (tok, len) = lex_number(input, i)?;
                    (tok, len)
                }
                c if c.is_ascii_alphabetic() || c == b'_' => {
                    let mut j = i;
                    while j < bytes.len()
                        && (bytes[j].is_ascii_alphanumeric()
                            || bytes[j] == b'_'
                            || (bytes[j] == b':' && !in_braces))
                    {
                        j += 1;
                    }
                    let word = &input[i..j];
                    let lower = word.to_ascii_lowercase();
                    if lower == "inf" || lower == "nan" {
                        let v = if lower == "inf" {
                            f64::INFINITY
                        } else {
                            f64::NAN
                        };
                        (Tok::Number(v, false), j - i)
                    } else {
                        (Tok::Ident(word.to_owned()), j - i)
                    }
                }
                _ => {
                    let ch = input[i..].chars().next().unwrap_or(' ');
                    return Err(parse_err(input, i, format!("unexpected character: {ch:?}")));
                }
            },
        };
        i += len;
        out.push(Token { tok, start, end: i });
    }
    if in_braces {
        return Err(parse_err(
            input,
            input.len(),
            "unexpected end of input inside braces",
        ));
    }
    if brackets {
        return Err(parse_err(input, input.len(), "unclosed left bracket"));
    }
    if parens > 0 {
        return Err(parse_err(input, input.len(), "unclosed left parenthesis"));
    }
    out.push(Token {
        tok: Tok::Eof,
        start: input.len(),
        end: input.len(),
    });
    Ok(out)
}

fn lex_string(input: &str, start: usize) -> Result<(String, usize)> {
    let quote = input.as_bytes()[start] as char;
    let mut out = String::new();
    let mut chars = input[start + 1..].char_indices();
    while let Some((off, c)) = chars.next() {
        if c == quote {
            return Ok((out, off + 2));
        }
        if quote == '`' {
            out.push(c);
            continue;
        }
        if c == '\n' {
            return Err(parse_err(input, start, "unterminated quoted string"));
        }
        if c != '\\' {
            out.push(c);
            continue;
        }
        let Some((_, e)) = chars.next() else { break };
        match e {
            'a' => out.push('\u{07}'),
            'b' => out.push('\u{08}'),
            'f' => out.push('\u{0c}'),
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            't' => out.push('\t'),
            'v' => out.push('\u{0b}'),
            '\\' => out.push('\\'),
            '"' | '\'' => out.push(e),
            'x' | 'u' | 'U' => {
                let n = match e {
                    'x' => 2,
                    'u' => 4,
                    _ => 8,
                };
                let mut hex = String::new();
                for _ in 0..n {
                    match chars.next() {
                        Some((_, h)) => hex.push(h),
                        None => return Err(parse_err(input, start, "unterminated quoted string")),
                    }
                }
                let v = u32::from_str_radix(&hex, 16).map_err(|_| {
                    parse_err(input, start, format!("invalid escape sequence \\{e}{hex}"))
                })?;
                if e == 'x' {
                    // Raw byte: only ASCII keeps the string valid UTF-8; other bytes are
                    // kept as private-use placeholders (see `raw_byte`) so that label-name
                    // validation can reject them and messages can show them as Go does.
                    out.push(if v < 0x80 {
                        char::from_u32(v).unwrap_or('\u{fffd}')
                    } else {
                        raw_byte(v as u8)
                    });
                } else {
                    out.push(
                        char::from_u32(v)
                            .ok_or_else(|| parse_err(input, start, "invalid unicode escape"))?,
                    );
                }
            }
            '0'..='7' => {
                let mut oct = String::from(e);
                for _ in 0..2 {
                    if let Some((_, h)) = chars.next() {
                        oct.push(h);
                    }
                }
                let v = u32::from_str_radix(&oct, 8)
                    .map_err(|_| parse_err(input, start, "invalid octal escape"))?;
                out.push(char::from_u32(v).unwrap_or('\u{fffd}'));
            }
            other => {
                return Err(parse_err(
                    input,
                    start,
                    format!("unknown escape sequence {other:?}"),
                ));
            }
        }
    }
    Err(parse_err(input, start, "unterminated quoted string"))
}

/// Units Prometheus durations accept, longest first for matching.
const UNITS: &[(&str, f64)] = &[
    ("ms", 0.001),
    ("s", 1.0),
    ("m", 60.0),
    ("h", 3600.0),
    ("d", 86400.0),
    ("w", 604800.0),
    ("y", 31536000.0),
];

fn lex_number(input: &str, start: usize) -> Result<(Tok, usize)> {
    let bytes = input.as_bytes();
    let mut j = start;
    // Hexadecimal.
    if input[start..].starts_with("0x") || input[start..].starts_with("0X") {
        j += 2;
        while j < bytes.len() && bytes[j].is_ascii_hexdigit() {
            j += 1;
        }
        let v = i64::from_str_radix(&input[start + 2..j], 16)
            .map_err(|_| parse_err(input, start, "bad number"))?;
        return Ok((Tok::Number(v as f64, false), j - start));
    }
    // Try a duration first: (digits unit)+
    if let Some((secs, len)) = lex_duration(input, start) {
        return Ok((Tok::Number(secs, true), len));
    }
    while j < bytes.len() && (bytes[j].is_ascii_digit() || bytes[j] == b'.' || bytes[j] == b'_') {
        j += 1;
    }
    if j < bytes.len() && (bytes[j] == b'e' || bytes[j] == b'E') {
        let mut k = j + 1;
        if k < bytes.len() && (bytes[k] == b'+' || bytes[k] == b'-') {
            k += 1;
        }
        if k < bytes.len() && bytes[k].is_ascii_digit() {
            while k < bytes.len() && bytes[k].is_ascii_digit() {
                k += 1;
            }
            j = k;
        }
    }
    let text: String = input[start..j].chars().filter(|c| *c != '_').collect();
    if j < bytes.len() && (bytes[j].is_ascii_alphabetic() || bytes[j] == b'_') {
        let mut k = j;
        while k < bytes.len() && (bytes[k].is_ascii_alphanumeric() || bytes[k] == b'_') {
            k += 1;
        }
        return Err(parse_err(
            input,
            start,
            format!("bad number or duration syntax: \"{}\"", &input[start..k]),
        ));
    }
    let v: f64 = text.parse().map_err(|_| {
        parse_err(
            input,
            start,
            format!("bad number syntax: \"{}\"", &input[start..j]),
        )
    })?;
    Ok((Tok::Number(v, false), j - start))
}

/// Parses `1h30m`-style durations; returns seconds and length.
pub fn lex_duration(input: &str, start: usize) -> Option<(f64, usize)> {
    let bytes = input.as_bytes();
    let mut j = start;
    let mut total = 0.0;
    let mut any = false;
    loop {
        let ds = j;
        while j < bytes.len() && bytes[j].is_ascii_digit() {
            j += 1;
        }
        if j == ds {
            break;
        }
        let digits: f64 = input[ds..j].parse().ok()?;
        let rest = &input[j..];
        let matched = UNITS.iter().find(|(u, _)| rest.starts_with(u));
        match matched {
            Some((u, mult)) => {
                total += digits * mult;
                j += u.len();
                any = true;
            }
            None => {
                if any {
                    return None;
                }
                break;
            }
        }
    }
    if !any {
        return None;
    }
    if j < bytes.len() && (bytes[j].is_ascii_alphanumeric() || bytes[j] == b'_' || bytes[j] == b'.')
    {
        return None;
    }
    Some((total, j - start))
}

/// Parses a standalone Prometheus duration string into milliseconds.
pub fn parse_duration_ms(s: &str) -> Option<i64> {
    let (secs, len) = lex_duration(s, 0)?;
    (len == s.len()).then(|| (secs * 1000.0).round() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_numbers() {
        let toks = lex("rate(x[1h30m]) + 1.5e3 - 0x10").unwrap();
        assert!(toks.iter().any(|t| t.tok == Tok::Number(5400.0, true)));
        assert!(toks.iter().any(|t| t.tok == Tok::Number(1500.0, false)));
        assert!(toks.iter().any(|t| t.tok == Tok::Number(16.0, false)));
        assert_eq!(parse_duration_ms("5m"), Some(300_000));
        assert_eq!(parse_duration_ms("100ms"), Some(100));
        assert_eq!(parse_duration_ms("5x"), None);
    }

    #[test]
    fn raw_bytes_are_kept_for_messages() {
        let toks = lex(r#""a\xc5z""#).unwrap();
        let Tok::Str(s) = &toks[0].tok else { panic!() };
        assert!(has_raw_bytes(s));
        assert_eq!(quote_raw(s), r#""a\xc5z""#);
        assert_eq!(quote_raw("a\"b"), r#""a\"b""#);
    }

    #[test]
    fn lexer_errors_match_prometheus() {
        let err = |q: &str| lex(q).unwrap_err().to_string();
        assert_eq!(
            err("github_stars{"),
            "1:14: parse error: unexpected end of input inside braces"
        );
        assert_eq!(err("foo}"), "1:4: parse error: unexpected character: '}'");
        assert_eq!(err("$$$"), "1:1: parse error: unexpected character: '$'");
        assert_eq!(
            err(r#"some_metric{a:b="b"}"#),
            "1:14: parse error: unexpected character inside braces: ':'"
        );
        assert_eq!(
            err(r#"foo{a*"b"}"#),
            "1:6: parse error: unexpected character inside braces: '*'"
        );
        assert_eq!(err("sum(x"), "1:6: parse error: unclosed left parenthesis");
        assert_eq!(err("x[5m"), "1:5: parse error: unclosed left bracket");
    }

    #[test]
    fn positions_are_line_col() {
        assert_eq!(position("abc\ndef", 5), "2:2");
        assert_eq!(position("abc", 0), "1:1");
    }
}
