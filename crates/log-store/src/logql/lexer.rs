//! LogQL lexer: turns a query into tokens with Loki's rules (Go `text/scanner` literals,
//! keywords recognised case-insensitively, function names only when followed by `(` or a
//! `by`/`without` clause, durations/bytes glued to numbers, `--strict` style flags, `[range]`).
//!
//! Positions are 1-based line and column (characters), as Loki reports them in errors.

use super::ParseError;
use super::units::{parse_bytes, parse_go_duration, parse_prom_duration};

/// A token kind. Names (see [`Tok::name`]) are the ones Loki's parser prints in errors.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Tok {
    Eof,
    Ident(String),
    Str(String),
    Number(String),
    Duration(i64),
    Bytes(u64),
    Range(i64),
    Flag(String),
    // punctuation
    Comma,
    Dot,
    OpenBrace,
    CloseBrace,
    CloseBracket,
    OpenParen,
    CloseParen,
    Eq,
    Neq,
    Re,
    Nre,
    Npa,
    PipeExact,
    PipeMatch,
    PipePattern,
    Pipe,
    CmpEq,
    Gt,
    Gte,
    Lt,
    Lte,
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Pow,
    // keywords
    Kw(Kw),
}

/// Keywords and function names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kw {
    By,
    Without,
    Bool,
    On,
    Ignoring,
    GroupLeft,
    GroupRight,
    Offset,
    Or,
    And,
    Unless,
    Json,
    Logfmt,
    Regexp,
    Unpack,
    Pattern,
    LineFmt,
    LabelFmt,
    Decolorize,
    Drop,
    Keep,
    Unwrap,
    Variants,
    Of,
    Ip,
    LabelReplace,
    Vector,
    BytesConv,
    DurationConv,
    DurationSecondsConv,
    /// A range aggregation function (`rate`, `count_over_time`, ...).
    RangeOp(&'static str),
    /// A vector aggregation function (`sum`, `topk`, ...).
    VectorOp(&'static str),
}

impl Tok {
    /// The token's name in Loki's syntax errors (`IDENTIFIER`, `$end`, `)`, `SUM`, ...).
    pub(crate) fn name(&self) -> String {
        let s = match self {
            Tok::Eof => "$end",
            Tok::Ident(_) => "IDENTIFIER",
            Tok::Str(_) => "STRING",
            Tok::Number(_) => "NUMBER",
            Tok::Duration(_) => "DURATION",
            Tok::Bytes(_) => "BYTES",
            Tok::Range(_) => "RANGE",
            Tok::Flag(_) => "PARSER_FLAG",
            Tok::Comma => ",",
            Tok::Dot => ".",
            Tok::OpenBrace => "{",
            Tok::CloseBrace => "}",
            Tok::CloseBracket => "]",
            Tok::OpenParen => "(",
            Tok::CloseParen => ")",
            Tok::Eq => "=",
            Tok::Neq => "!=",
            Tok::Re => "=~",
            Tok::Nre => "!~",
            Tok::Npa => "!>",
            Tok::PipeExact => "|=",
            Tok::PipeMatch => "|~",
            Tok::PipePattern => "|>",
            Tok::Pipe => "|",
            Tok::CmpEq => "==",
            Tok::Gt => ">",
            Tok::Gte => ">=",
            Tok::Lt => "<",
            Tok::Lte => "<=",
            Tok::Add => "+",
            Tok::Sub => "-",
            Tok::Mul => "*",
            Tok::Div => "/",
            Tok::Mod => "%",
            Tok::Pow => "^",
            Tok::Kw(k) => return k.name(),
        };
        s.to_owned()
    }
}

impl Kw {
    fn name(&self) -> String {
        match self {
            Kw::By => "by".into(),
            Kw::Without => "without".into(),
            Kw::Bool => "bool".into(),
            Kw::On => "on".into(),
            Kw::Ignoring => "ignoring".into(),
            Kw::GroupLeft => "group_left".into(),
            Kw::GroupRight => "group_right".into(),
            Kw::Offset => "offset".into(),
            Kw::Or => "or".into(),
            Kw::And => "and".into(),
            Kw::Unless => "unless".into(),
            Kw::Json => "json".into(),
            Kw::Logfmt => "logfmt".into(),
            Kw::Regexp => "regexp".into(),
            Kw::Unpack => "unpack".into(),
            Kw::Pattern => "pattern".into(),
            Kw::LineFmt => "line_format".into(),
            Kw::LabelFmt => "label_format".into(),
            Kw::Decolorize => "decolorize".into(),
            Kw::Drop => "drop".into(),
            Kw::Keep => "keep".into(),
            Kw::Unwrap => "unwrap".into(),
            Kw::Variants => "variants".into(),
            Kw::Of => "of".into(),
            Kw::Ip => "ip".into(),
            Kw::LabelReplace => "label_replace".into(),
            Kw::Vector => "VECTOR".into(),
            Kw::BytesConv => "BYTES_CONV".into(),
            Kw::DurationConv => "DURATION_CONV".into(),
            Kw::DurationSecondsConv => "DURATION_SECONDS_CONV".into(),
            Kw::RangeOp(op) | Kw::VectorOp(op) => op.to_uppercase(),
        }
    }
}

/// A token with the position of its first character.
#[derive(Clone, Debug)]
pub(crate) struct Token {
    pub(crate) tok: Tok,
    pub(crate) line: usize,
    pub(crate) col: usize,
    /// Loki's lexer read this token's tail with `Scanner.Next`, which resets the scanner's
    /// line to 0: errors reported at this token say `line 0` (two-character operators,
    /// ranges, durations, byte sizes, flags).
    pub(crate) line_reset: bool,
}

impl Token {
    /// The line Loki reports for an error at this token.
    pub(crate) fn error_line(&self) -> usize {
        if self.line_reset { 0 } else { self.line }
    }
}

const RANGE_OPS: &[&str] = &[
    "count_over_time",
    "rate",
    "rate_counter",
    "bytes_over_time",
    "bytes_rate",
    "avg_over_time",
    "sum_over_time",
    "min_over_time",
    "max_over_time",
    "stdvar_over_time",
    "stddev_over_time",
    "quantile_over_time",
    "first_over_time",
    "last_over_time",
    "absent_over_time",
];

const VECTOR_OPS: &[&str] = &[
    "sum",
    "avg",
    "max",
    "min",
    "count",
    "stddev",
    "stdvar",
    "bottomk",
    "topk",
    "sort",
    "sort_desc",
    "approx_topk",
];

/// Words that are function tokens only when a `(` (or `by (`/`without (`) follows.
fn function_token(lower: &str) -> Option<Kw> {
    if let Some(op) = RANGE_OPS.iter().find(|o| **o == lower) {
        return Some(Kw::RangeOp(op));
    }
    if let Some(op) = VECTOR_OPS.iter().find(|o| **o == lower) {
        return Some(Kw::VectorOp(op));
    }
    Some(match lower {
        "vector" => Kw::Vector,
        "label_replace" => Kw::LabelReplace,
        "bytes" => Kw::BytesConv,
        "duration" => Kw::DurationConv,
        "duration_seconds" => Kw::DurationSecondsConv,
        "ip" => Kw::Ip,
        _ => return None,
    })
}

/// Words that are always keywords.
fn keyword(lower: &str) -> Option<Kw> {
    Some(match lower {
        "by" => Kw::By,
        "without" => Kw::Without,
        "bool" => Kw::Bool,
        "on" => Kw::On,
        "ignoring" => Kw::Ignoring,
        "group_left" => Kw::GroupLeft,
        "group_right" => Kw::GroupRight,
        "offset" => Kw::Offset,
        "or" => Kw::Or,
        "and" => Kw::And,
        "unless" => Kw::Unless,
        "json" => Kw::Json,
        "logfmt" => Kw::Logfmt,
        "regexp" => Kw::Regexp,
        "unpack" => Kw::Unpack,
        "pattern" => Kw::Pattern,
        "line_format" => Kw::LineFmt,
        "label_format" => Kw::LabelFmt,
        "decolorize" => Kw::Decolorize,
        "drop" => Kw::Drop,
        "keep" => Kw::Keep,
        "unwrap" => Kw::Unwrap,
        "variants" => Kw::Variants,
        "of" => Kw::Of,
        "label_replace" => Kw::LabelReplace,
        "ip" => Kw::Ip,
        _ => return None,
    })
}

/// Splits `input` into tokens, ending with [`Tok::Eof`]. The first lexical error (bad
/// string literal, bad range) is returned with Loki's position and message.
pub(crate) fn tokenize(input: &str) -> Result<Vec<Token>, ParseError> {
    let mut lx = Lexer {
        chars: input.chars().collect(),
        pos: 0,
        line: 1,
        col: 1,
    };
    let mut out = Vec::new();
    loop {
        let t = lx.next_token()?;
        let eof = t.tok == Tok::Eof;
        out.push(t);
        if eof {
            return Ok(out);
        }
    }
}

struct Lexer {
    chars: Vec<char>,
    pos: usize,
    line: usize,
    col: usize,
}

impl Lexer {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn peek_at(&self, off: usize) -> Option<char> {
        self.chars.get(self.pos + off).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.chars.get(self.pos).copied()?;
        self.pos += 1;
        if c == '\n' {
            self.line += 1;
            self.col = 1;
        } else {
            self.col += 1;
        }
        Some(c)
    }

    fn skip_space_and_comments(&mut self) {
        loop {
            match self.peek() {
                Some(c) if c.is_whitespace() => {
                    self.bump();
                }
                Some('#') => {
                    while let Some(c) = self.peek() {
                        if c == '\n' {
                            break;
                        }
                        self.bump();
                    }
                }
                _ => return,
            }
        }
    }

    /// True when, after optional spaces, `(` follows, or `by`/`without` then `(`.
    fn is_function_at(&self, mut p: usize) -> bool {
        let skip = |mut p: usize| {
            while self.chars.get(p).is_some_and(|c| c.is_whitespace()) {
                p += 1;
            }
            p
        };
        p = skip(p);
        if self.chars.get(p) == Some(&'(') {
            return true;
        }
        for word in ["by", "without"] {
            let n = word.len();
            let s: String = self.chars.iter().skip(p).take(n).collect();
            if s.eq_ignore_ascii_case(word) {
                let q = skip(p + n);
                return self.chars.get(q) == Some(&'(');
            }
        }
        false
    }

    fn next_token(&mut self) -> Result<Token, ParseError> {
        self.skip_space_and_comments();
        let (line, col) = if self.chars.is_empty() {
            (0, 0)
        } else {
            (self.line, self.col)
        };
        let mk = |tok: Tok| {
            let line_reset = matches!(
                tok,
                Tok::Duration(_)
                    | Tok::Bytes(_)
                    | Tok::Range(_)
                    | Tok::Flag(_)
                    | Tok::Neq
                    | Tok::Re
                    | Tok::Nre
                    | Tok::Npa
                    | Tok::PipeExact
                    | Tok::PipeMatch
                    | Tok::PipePattern
                    | Tok::CmpEq
                    | Tok::Gte
                    | Tok::Lte
            );
            Token {
                tok,
                line,
                col,
                line_reset,
            }
        };
        let err = |msg: String| ParseError::new(msg, line, col);
        let Some(c) = self.peek() else {
            return Ok(mk(Tok::Eof));
        };
        if c.is_alphabetic() || c == '_' {
            let start = self.pos;
            while self.peek().is_some_and(|c| c.is_alphanumeric() || c == '_') {
                self.bump();
            }
            let text: String = self.chars[start..self.pos].iter().collect();
            let lower = text.to_lowercase();
            if let Some(kw) = function_token(&lower) {
                if self.is_function_at(self.pos) {
                    return Ok(mk(Tok::Kw(kw)));
                }
                return Ok(mk(Tok::Ident(text)));
            }
            if let Some(kw) = keyword(&lower) {
                return Ok(mk(Tok::Kw(kw)));
            }
            return Ok(mk(Tok::Ident(text)));
        }
        if c.is_ascii_digit() || (c == '.' && self.peek_at(1).is_some_and(|d| d.is_ascii_digit())) {
            let text = self.scan_number();
            if let Some(d) = self.try_suffix(&text, true) {
                return Ok(mk(Tok::Duration(d as i64)));
            }
            if let Some(b) = self.try_suffix(&text, false) {
                return Ok(mk(Tok::Bytes(b)));
            }
            return Ok(mk(Tok::Number(text)));
        }
        match c {
            '"' | '`' => {
                let s = self.scan_string(c).map_err(err)?;
                return Ok(mk(Tok::Str(s)));
            }
            '[' => {
                self.bump();
                let mut body = String::new();
                while let Some(ch) = self.bump() {
                    if ch == ']' {
                        return match parse_prom_duration(&body) {
                            Ok(d) => Ok(mk(Tok::Range(d))),
                            Err(e) => Err(ParseError::new(e, 0, col)),
                        };
                    }
                    body.push(ch);
                }
                return Err(ParseError::new("missing closing ']' in duration", 0, col));
            }
            '-' => {
                if self.peek_at(1) == Some('-') {
                    let mut n = 1;
                    while self
                        .peek_at(n)
                        .is_some_and(|c| c.is_alphabetic() || c == '-')
                    {
                        n += 1;
                    }
                    let flag: String = self.chars[self.pos..self.pos + n].iter().collect();
                    if flag == "--strict" || flag == "--keep-empty" {
                        for _ in 0..n {
                            self.bump();
                        }
                        return Ok(mk(Tok::Flag(flag)));
                    }
                }
                // Negative durations: `-5m`.
                let save = (self.pos, self.line, self.col);
                self.bump();
                if let Some(d) = self.try_suffix("-", true) {
                    return Ok(mk(Tok::Duration(d as i64)));
                }
                (self.pos, self.line, self.col) = save;
            }
            _ => {}
        }
        self.bump();
        let next = self.peek();
        let two = |a: char, b: char| c == a && next == Some(b);
        let tok = if two('!', '=') {
            Tok::Neq
        } else if two('=', '~') {
            Tok::Re
        } else if two('!', '~') {
            Tok::Nre
        } else if two('!', '>') {
            Tok::Npa
        } else if two('|', '=') {
            Tok::PipeExact
        } else if two('|', '~') {
            Tok::PipeMatch
        } else if two('|', '>') {
            Tok::PipePattern
        } else if two('=', '=') {
            Tok::CmpEq
        } else if two('>', '=') {
            Tok::Gte
        } else if two('<', '=') {
            Tok::Lte
        } else {
            let single = match c {
                ',' => Tok::Comma,
                '.' => Tok::Dot,
                '{' => Tok::OpenBrace,
                '}' => Tok::CloseBrace,
                '(' => Tok::OpenParen,
                ')' => Tok::CloseParen,
                ']' => Tok::CloseBracket,
                '=' => Tok::Eq,
                '|' => Tok::Pipe,
                '>' => Tok::Gt,
                '<' => Tok::Lt,
                '+' => Tok::Add,
                '-' => Tok::Sub,
                '*' => Tok::Mul,
                '/' => Tok::Div,
                '%' => Tok::Mod,
                '^' => Tok::Pow,
                other => Tok::Ident(other.to_string()),
            };
            return Ok(mk(single));
        };
        self.bump();
        Ok(mk(tok))
    }

    /// Scans a Go number literal (decimal/hex int, float with fraction and exponent).
    fn scan_number(&mut self) -> String {
        let start = self.pos;
        if self.peek() == Some('0') && matches!(self.peek_at(1), Some('x' | 'X')) {
            self.bump();
            self.bump();
            while self
                .peek()
                .is_some_and(|c| c.is_ascii_hexdigit() || c == '_')
            {
                self.bump();
            }
        } else {
            while self.peek().is_some_and(|c| c.is_ascii_digit() || c == '_') {
                self.bump();
            }
            if self.peek() == Some('.') {
                self.bump();
                while self.peek().is_some_and(|c| c.is_ascii_digit() || c == '_') {
                    self.bump();
                }
            }
            if matches!(self.peek(), Some('e' | 'E')) {
                let save = (self.pos, self.line, self.col);
                self.bump();
                if matches!(self.peek(), Some('+' | '-')) {
                    self.bump();
                }
                if self.peek().is_some_and(|c| c.is_ascii_digit()) {
                    while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                        self.bump();
                    }
                } else {
                    (self.pos, self.line, self.col) = save;
                }
            }
        }
        self.chars[start..self.pos].iter().collect()
    }

    /// Loki's `tryScanDuration`/`tryScanBytes`: glue the following unit characters to the
    /// number when the whole forms a valid duration (or byte size); consume them only then.
    fn try_suffix(&mut self, number: &str, duration: bool) -> Option<u64> {
        let mut n = 0;
        while let Some(c) = self.peek_at(n) {
            if c.is_whitespace() {
                break;
            }
            let ok = c.is_numeric()
                || c == '.'
                || if duration {
                    matches!(c, 'n' | 'u' | 'µ' | 'm' | 's' | 'h' | 'd' | 'w' | 'y')
                } else {
                    matches!(c, 'B' | 'i' | 'k' | 'K' | 'M' | 'G' | 'T' | 'P')
                };
            if !ok {
                break;
            }
            n += 1;
        }
        if n == 0 {
            return None;
        }
        let text: String = number
            .chars()
            .chain(self.chars[self.pos..self.pos + n].iter().copied())
            .collect();
        let value = if duration {
            let d = parse_prom_duration(&text)
                .ok()
                .or_else(|| parse_go_duration(&text).ok())?;
            d as u64
        } else {
            parse_bytes(&text).ok()?
        };
        for _ in 0..n {
            self.bump();
        }
        Some(value)
    }

    /// Scans a `"..."` (Go escapes) or `` `...` `` (raw) string. Errors are Go scanner texts.
    fn scan_string(&mut self, quote: char) -> Result<String, String> {
        self.bump();
        let mut out = String::new();
        let mut first_err: Option<String> = None;
        loop {
            let Some(c) = self.bump() else {
                return Err("literal not terminated".to_owned());
            };
            if c == quote {
                break;
            }
            if quote == '"' && c == '\n' {
                return Err("literal not terminated".to_owned());
            }
            if quote == '"' && c == '\\' {
                match self.scan_escape(quote) {
                    Ok(ch) => out.push(ch),
                    Err(e) => {
                        first_err.get_or_insert(e);
                    }
                }
                continue;
            }
            out.push(c);
        }
        match first_err {
            Some(e) => Err(e),
            None => Ok(out),
        }
    }

    fn scan_escape(&mut self, quote: char) -> Result<char, String> {
        let bad = || "invalid char escape".to_owned();
        let Some(c) = self.peek() else {
            return Err("literal not terminated".to_owned());
        };
        let simple = match c {
            'a' => Some('\u{07}'),
            'b' => Some('\u{08}'),
            'f' => Some('\u{0c}'),
            'n' => Some('\n'),
            'r' => Some('\r'),
            't' => Some('\t'),
            'v' => Some('\u{0b}'),
            '\\' => Some('\\'),
            c if c == quote => Some(c),
            _ => None,
        };
        if let Some(ch) = simple {
            self.bump();
            return Ok(ch);
        }
        let (count, radix) = match c {
            '0'..='7' => (3, 8),
            'x' => (2, 16),
            'u' => (4, 16),
            'U' => (8, 16),
            _ => return Err(bad()),
        };
        if radix == 16 {
            self.bump();
        }
        let mut v: u32 = 0;
        for _ in 0..count {
            match self.peek().and_then(|d| d.to_digit(radix)) {
                Some(d) => {
                    v = v * radix + d;
                    self.bump();
                }
                None => return Err(bad()),
            }
        }
        char::from_u32(v).ok_or_else(|| "escape sequence is invalid Unicode code point".to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<Tok> {
        tokenize(s).unwrap().into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn functions_need_parentheses() {
        assert_eq!(
            toks("rate(x) rate"),
            vec![
                Tok::Kw(Kw::RangeOp("rate")),
                Tok::OpenParen,
                Tok::Ident("x".into()),
                Tok::CloseParen,
                Tok::Ident("rate".into()),
                Tok::Eof
            ]
        );
        assert_eq!(toks("SUM by (a)")[0], Tok::Kw(Kw::VectorOp("sum")));
    }

    #[test]
    fn durations_bytes_and_flags() {
        assert_eq!(
            toks("5m 1.5KB 10us --strict -5m 5 1e-2"),
            vec![
                Tok::Duration(300_000_000_000),
                Tok::Bytes(1500),
                Tok::Duration(10_000),
                Tok::Flag("--strict".into()),
                Tok::Duration(-300_000_000_000),
                Tok::Number("5".into()),
                Tok::Number("1e-2".into()),
                Tok::Eof
            ]
        );
        assert_eq!(toks("[5m]")[0], Tok::Range(300_000_000_000));
    }

    #[test]
    fn strings_and_errors() {
        assert_eq!(
            toks(r#""a\"b\n" `\d`"#)[..2],
            [Tok::Str("a\"b\n".into()), Tok::Str("\\d".into())]
        );
        let e = tokenize(r#"{app="api}"#).unwrap_err();
        assert_eq!(
            e.to_string(),
            "parse error at line 1, col 6: literal not terminated"
        );
        let e = tokenize(r#"x "\d""#).unwrap_err();
        assert_eq!(
            e.to_string(),
            "parse error at line 1, col 3: invalid char escape"
        );
    }

    #[test]
    fn eof_positions() {
        let t = tokenize("").unwrap();
        assert_eq!((t[0].line, t[0].col), (0, 0));
        let t = tokenize("ab").unwrap();
        assert_eq!((t[1].line, t[1].col), (1, 3));
    }

    #[test]
    fn range_errors_report_line_zero_like_loki() {
        let e = tokenize(r#"rate({ foo = "bar" }[5minutes])"#).unwrap_err();
        assert_eq!(
            e.to_string(),
            r#"parse error at line 0, col 21: not a valid duration string: "5minutes""#
        );
        let e = tokenize(r#"rate({ foo = "bar" }[5)"#).unwrap_err();
        assert_eq!(
            e.to_string(),
            "parse error at line 0, col 21: missing closing ']' in duration"
        );
    }
}
