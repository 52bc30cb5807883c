//! Recursive-descent PromQL parser with Prometheus' precedence rules, type checks and error
//! texts (`1:5: parse error: ...`).

use lgtm_common::labels::{METRIC_NAME, MatchOp, Matcher};

use crate::ast::{
    AggOp, AggregateExpr, AtModifier, BinOp, BinaryExpr, Call, Card, DurationValue, Expr,
    MatrixSelector, PosRange, SubqueryExpr, VectorMatching, VectorSelector,
};
use crate::error::{Error, Result};
use crate::functions;
use crate::lexer::{Tok, Token, lex, position};
use crate::value::ValueType;

/// Parser switches for experimental syntax.
#[derive(Clone, Copy, Debug, Default)]
pub struct ParserOptions {
    /// Allow experimental functions (`limitk`, `sort_by_label`, `mad_over_time`, ...).
    pub experimental_functions: bool,
    /// Allow `anchored` / `smoothed` range selector modifiers.
    pub extended_range_selectors: bool,
    /// Allow arithmetic in durations and `step()`/`range()`.
    pub duration_expressions: bool,
    /// Allow `fill()`, `fill_left()`, `fill_right()` binary modifiers.
    pub binop_fill_modifiers: bool,
}

impl ParserOptions {
    /// Everything enabled (what the upstream test suite uses).
    pub fn all() -> Self {
        Self {
            experimental_functions: true,
            extended_range_selectors: true,
            duration_expressions: true,
            binop_fill_modifiers: true,
        }
    }
}

/// Parses a query with default (stable-only) options.
pub fn parse(input: &str) -> Result<Expr> {
    parse_with(input, ParserOptions::default())
}

/// Parses a query.
pub fn parse_with(input: &str, opts: ParserOptions) -> Result<Expr> {
    parse_inner(input, opts, false)
}

/// `allow_empty_selector`: accept `{a=""}` (series API `match[]`, whose own check reports it
/// with the API's wording instead of the parser's).
fn parse_inner(input: &str, opts: ParserOptions, allow_empty_selector: bool) -> Result<Expr> {
    let tokens = lex(input)?;
    let mut p = Parser {
        input,
        tokens,
        i: 0,
        opts,
        info_selector: allow_empty_selector,
    };
    if matches!(p.peek(), Tok::Eof) {
        return Err(p.err_at(0, "no expression found in input"));
    }
    let expr = p.expr(0)?;
    if !matches!(p.peek(), Tok::Eof) {
        let t = p.cur().clone();
        return Err(p.unexpected(&t, ""));
    }
    p.check(&expr)?;
    Ok(expr)
}

/// Parses a series selector like `up{job="x"}` (used by `/api/v1/series` `match[]`). Like
/// Prometheus' `ParseMetricSelector`, it does not require a non-empty matcher: callers check.
pub fn parse_selector(input: &str) -> Result<Vec<Matcher>> {
    match parse_inner(input, ParserOptions::default(), true)? {
        Expr::Vector(v) => Ok(v.matchers),
        _ => Err(Error::Parse {
            pos: "1:1".into(),
            msg: "only vector selectors are allowed".into(),
        }),
    }
}

struct Parser<'a> {
    input: &'a str,
    tokens: Vec<Token>,
    i: usize,
    opts: ParserOptions,
    /// Parsing the label selector of `info()`, which may match the empty string.
    info_selector: bool,
}

fn ident_is(t: &Tok, kw: &str) -> bool {
    matches!(t, Tok::Ident(s) if s.eq_ignore_ascii_case(kw))
}

impl<'a> Parser<'a> {
    fn cur(&self) -> &Token {
        &self.tokens[self.i.min(self.tokens.len() - 1)]
    }
    fn peek(&self) -> &Tok {
        &self.cur().tok
    }
    fn peek_at(&self, n: usize) -> &Tok {
        &self.tokens[(self.i + n).min(self.tokens.len() - 1)].tok
    }
    fn next(&mut self) -> Token {
        let t = self.cur().clone();
        if self.i < self.tokens.len() - 1 {
            self.i += 1;
        }
        t
    }
    fn prev_end(&self) -> usize {
        if self.i == 0 {
            0
        } else {
            self.tokens[self.i - 1].end
        }
    }
    fn err_at(&self, at: usize, msg: impl Into<String>) -> Error {
        Error::Parse {
            pos: position(self.input, at),
            msg: msg.into(),
        }
    }
    fn unexpected(&self, t: &Token, ctx: &str) -> Error {
        let what = t.tok.describe();
        let msg = if ctx.is_empty() {
            format!("unexpected {what}")
        } else {
            format!("unexpected {what} in {ctx}")
        };
        self.err_at(t.start, msg)
    }
    fn expect(&mut self, tok: Tok, ctx: &str) -> Result<Token> {
        if *self.peek() == tok {
            Ok(self.next())
        } else {
            let t = self.cur().clone();
            let mut e = self.unexpected(&t, ctx);
            if let Error::Parse { msg, .. } = &mut e {
                msg.push_str(&format!(", expected {}", tok.describe()));
            }
            Err(e)
        }
    }

    fn binop(&self) -> Option<BinOp> {
        Some(match self.peek() {
            Tok::Add => BinOp::Add,
            Tok::Sub => BinOp::Sub,
            Tok::Mul => BinOp::Mul,
            Tok::Div => BinOp::Div,
            Tok::Mod => BinOp::Mod,
            Tok::Pow => BinOp::Pow,
            Tok::Eql => BinOp::Eql,
            Tok::Neq => BinOp::Neq,
            Tok::Gtr => BinOp::Gtr,
            Tok::Lss => BinOp::Lss,
            Tok::Gte => BinOp::Gte,
            Tok::Lte => BinOp::Lte,
            Tok::TrimUpper => BinOp::TrimUpper,
            Tok::TrimLower => BinOp::TrimLower,
            Tok::Ident(s) => match s.to_ascii_lowercase().as_str() {
                "and" => BinOp::And,
                "or" => BinOp::Or,
                "unless" => BinOp::Unless,
                "atan2" => BinOp::Atan2,
                _ => return None,
            },
            _ => return None,
        })
    }

    fn expr(&mut self, min_prec: u8) -> Result<Expr> {
        let mut lhs = self.unary()?;
        while let Some(op) = self.binop() {
            let prec = op.precedence();
            if prec < min_prec {
                break;
            }
            self.next();
            let mut return_bool = false;
            if ident_is(self.peek(), "bool") {
                self.next();
                return_bool = true;
            }
            let mut matching = VectorMatching::new(if op.is_set() {
                Card::ManyToMany
            } else {
                Card::OneToOne
            });
            let mut explicit_matching = false;
            if ident_is(self.peek(), "on") || ident_is(self.peek(), "ignoring") {
                matching.on = ident_is(self.peek(), "on");
                self.next();
                matching.labels = self.label_list()?;
                explicit_matching = true;
                if ident_is(self.peek(), "group_left") || ident_is(self.peek(), "group_right") {
                    let left = ident_is(self.peek(), "group_left");
                    let t = self.next();
                    if op.is_set() {
                        return Err(self.err_at(
                            t.start,
                            format!("no grouping allowed for \"{}\" operation", op.as_str()),
                        ));
                    }
                    matching.card = if left {
                        Card::ManyToOne
                    } else {
                        Card::OneToMany
                    };
                    if *self.peek() == Tok::LParen {
                        matching.include = self.label_list()?;
                    }
                    for l in &matching.include {
                        if matching.on && matching.labels.contains(l) {
                            return Err(self.err_at(
                                t.start,
                                format!(
                                    "label \"{l}\" must not occur in ON and GROUP clause at once"
                                ),
                            ));
                        }
                    }
                }
            }
            loop {
                let which = match self.peek() {
                    Tok::Ident(s) if s.eq_ignore_ascii_case("fill") => 0,
                    Tok::Ident(s) if s.eq_ignore_ascii_case("fill_left") => 1,
                    Tok::Ident(s) if s.eq_ignore_ascii_case("fill_right") => 2,
                    _ => break,
                };
                if *self.peek_at(1) != Tok::LParen {
                    break;
                }
                let t = self.next();
                if !self.opts.binop_fill_modifiers {
                    return Err(self.err_at(
                        t.start,
                        "binop fill modifiers are experimental and not enabled",
                    ));
                }
                self.expect(Tok::LParen, "fill modifier")?;
                let neg = if *self.peek() == Tok::Sub {
                    self.next();
                    true
                } else {
                    if *self.peek() == Tok::Add {
                        self.next();
                    }
                    false
                };
                let v = match self.next().tok {
                    Tok::Number(v, _) => {
                        if neg {
                            -v
                        } else {
                            v
                        }
                    }
                    _ => return Err(self.err_at(t.start, "invalid fill value")),
                };
                self.expect(Tok::RParen, "fill modifier")?;
                if which != 2 {
                    matching.fill_left = Some(v);
                }
                if which != 1 {
                    matching.fill_right = Some(v);
                }
                explicit_matching = true;
            }
            let _ = explicit_matching;
            let next_min = if op.right_assoc() { prec } else { prec + 1 };
            let rhs = self.expr(next_min)?;
            let start = lhs.pos().start;
            let end = rhs.pos().end;
            lhs = Expr::Binary(Box::new(BinaryExpr {
                op,
                lhs,
                rhs,
                return_bool,
                matching: Some(matching),
                pos: PosRange { start, end },
            }));
        }
        Ok(lhs)
    }

    fn unary(&mut self) -> Result<Expr> {
        match self.peek() {
            Tok::Add | Tok::Sub => {
                let t = self.next();
                let neg = t.tok == Tok::Sub;
                let operand = self.expr(6)?;
                let end = operand.pos().end;
                let pos = PosRange {
                    start: t.start,
                    end,
                };
                if let Expr::Number { val, duration, .. } = operand {
                    return Ok(Expr::Number {
                        val: if neg { -val } else { val },
                        pos,
                        duration,
                    });
                }
                Ok(Expr::Unary {
                    neg,
                    expr: Box::new(operand),
                    pos,
                })
            }
            _ => {
                let e = self.primary()?;
                self.postfix(e)
            }
        }
    }

    fn postfix(&mut self, mut e: Expr) -> Result<Expr> {
        loop {
            match self.peek().clone() {
                Tok::LBracket => {
                    let lb = self.next();
                    let range = self.duration_value("range")?;
                    if *self.peek() == Tok::Colon {
                        self.next();
                        let step = if *self.peek() == Tok::RBracket {
                            None
                        } else {
                            Some(self.duration_value("subquery step")?)
                        };
                        let rb = self.expect(Tok::RBracket, "subquery selector")?;
                        if e.value_type() != ValueType::Vector {
                            return Err(self.err_at(
                                lb.start,
                                format!(
                                    "subquery is only allowed on instant vector, got {} instead",
                                    e.value_type().describe()
                                ),
                            ));
                        }
                        let start = e.pos().start;
                        e = Expr::Subquery(Box::new(SubqueryExpr {
                            expr: e,
                            range,
                            step,
                            offset: DurationValue::Ms(0),
                            at: None,
                            pos: PosRange { start, end: rb.end },
                        }));
                    } else {
                        let rb = self.expect(Tok::RBracket, "matrix selector")?;
                        match e {
                            Expr::Vector(vs)
                                if vs.at.is_none()
                                    && matches!(vs.offset, DurationValue::Ms(0))
                                    && !vs.anchored
                                    && !vs.smoothed =>
                            {
                                let start = vs.pos.start;
                                e = Expr::Matrix(Box::new(MatrixSelector {
                                    vs: *vs,
                                    range,
                                    pos: PosRange { start, end: rb.end },
                                }));
                            }
                            Expr::Vector(_) => {
                                return Err(self.err_at(
                                    lb.start,
                                    "no offset or @ modifiers allowed before range",
                                ));
                            }
                            _ => {
                                return Err(self.err_at(
                                    e.pos().start,
                                    "ranges only allowed for vector selectors",
                                ));
                            }
                        }
                    }
                }
                Tok::Ident(s) if s.eq_ignore_ascii_case("offset") => {
                    let t = self.next();
                    let neg = if *self.peek() == Tok::Sub {
                        self.next();
                        true
                    } else {
                        if *self.peek() == Tok::Add {
                            self.next();
                        }
                        false
                    };
                    let mut d = self.duration_atom("offset")?;
                    if neg {
                        d = match d {
                            DurationValue::Ms(ms) => DurationValue::Ms(-ms),
                            DurationValue::Expr(x) => {
                                let pos = x.pos();
                                DurationValue::Expr(Box::new(Expr::Unary {
                                    neg: true,
                                    expr: x,
                                    pos,
                                }))
                            }
                        };
                    }
                    let end = self.prev_end();
                    let slot = match &mut e {
                        Expr::Vector(v) => { v.pos.end = end; &mut v.offset }
                        Expr::Matrix(m) => { m.pos.end = end; &mut m.vs.offset }
                        Expr::Subquery(s) => { s.pos.end = end; &mut s.offset }
                        _ => return Err(self.err_at(t.start, "offset modifier must be preceded by an instant vector selector or range vector selector or a subquery")),
                    };
                    if !matches!(slot, DurationValue::Ms(0)) {
                        return Err(self.err_at(t.start, "offset may not be set multiple times"));
                    }
                    *slot = d;
                }
                Tok::At => {
                    let t = self.next();
                    let at = match self.peek().clone() {
                        Tok::Ident(s)
                            if (s.eq_ignore_ascii_case("start")
                                || s.eq_ignore_ascii_case("end"))
                                && *self.peek_at(1) == Tok::LParen =>
                        {
                            self.next();
                            self.next();
                            self.expect(Tok::RParen, "@ modifier")?;
                            if s.eq_ignore_ascii_case("start") {
                                AtModifier::Start
                            } else {
                                AtModifier::End
                            }
                        }
                        _ => {
                            let neg = match self.peek() {
                                Tok::Sub => {
                                    self.next();
                                    true
                                }
                                Tok::Add => {
                                    self.next();
                                    false
                                }
                                _ => false,
                            };
                            let nt = self.next();
                            match nt.tok {
                                Tok::Number(v, _) => {
                                    let v = if neg { -v } else { v };
                                    if !v.is_finite() || (v * 1000.0).abs() > 9.2e18 {
                                        return Err(self.err_at(
                                            nt.start,
                                            format!("timestamp out of bounds for @ modifier: {v}"),
                                        ));
                                    }
                                    AtModifier::Timestamp((v * 1000.0).round() as i64)
                                }
                                _ => return Err(self.unexpected(&nt, "@ modifier")),
                            }
                        }
                    };
                    let end = self.prev_end();
                    let slot = match &mut e {
                        Expr::Vector(v) => { v.pos.end = end; &mut v.at }
                        Expr::Matrix(m) => { m.pos.end = end; &mut m.vs.at }
                        Expr::Subquery(s) => { s.pos.end = end; &mut s.at }
                        _ => return Err(self.err_at(t.start, "@ modifier must be preceded by an instant vector selector or range vector selector or a subquery")),
                    };
                    if slot.is_some() {
                        return Err(
                            self.err_at(t.start, "@ <timestamp> may not be set multiple times")
                        );
                    }
                    *slot = Some(at);
                }
                Tok::Ident(s) if (s == "anchored" || s == "smoothed") => {
                    let t = self.next();
                    if !self.opts.extended_range_selectors {
                        return Err(self.err_at(
                            t.start,
                            format!("the '{s}' modifier is experimental and not enabled"),
                        ));
                    }
                    let vs = match &mut e {
                        Expr::Vector(v) => v.as_mut(),
                        Expr::Matrix(m) => &mut m.vs,
                        _ => return Err(self.err_at(t.start, format!("{s} modifier must be preceded by an instant vector selector or range vector selector"))),
                    };
                    if s == "anchored" {
                        vs.anchored = true
                    } else {
                        vs.smoothed = true
                    }
                    if vs.anchored && vs.smoothed {
                        return Err(self.err_at(
                            t.start,
                            "anchored and smoothed modifiers cannot be used together",
                        ));
                    }
                }
                _ => return Ok(e),
            }
        }
    }

    /// A duration inside brackets: a constant or (with duration expressions) an expression.
    fn duration_value(&mut self, ctx: &str) -> Result<DurationValue> {
        let start = self.cur().start;
        if let Tok::Number(v, is_dur) = *self.peek()
            && matches!(self.peek_at(1), Tok::Colon | Tok::RBracket)
        {
            let t = self.next();
            if !is_dur && !self.opts.duration_expressions && ctx == "range" {
                let _ = t;
            }
            return self.const_duration(v, start, ctx);
        }
        let e = self.expr(0)?;
        if !self.opts.duration_expressions {
            return Err(self.err_at(start, format!("unexpected expression in {ctx}; experimental duration expressions are not enabled")));
        }
        self.fold_duration(e, start, ctx)
    }

    fn duration_atom(&mut self, ctx: &str) -> Result<DurationValue> {
        let start = self.cur().start;
        match self.peek().clone() {
            Tok::Number(v, _) => {
                self.next();
                self.const_duration(v, start, ctx)
            }
            Tok::LParen | Tok::Ident(_) if self.opts.duration_expressions => {
                let e = self.primary()?;
                self.fold_duration(e, start, ctx)
            }
            Tok::LParen | Tok::Ident(_) => Err(self.err_at(
                start,
                format!("unexpected expression in {ctx}; experimental duration expressions are not enabled"),
            )),
            _ => {
                let t = self.cur().clone();
                Err(self.unexpected(&t, ctx))
            }
        }
    }

    fn const_duration(&self, secs: f64, start: usize, ctx: &str) -> Result<DurationValue> {
        let ms = (secs * 1000.0).round();
        if !ms.is_finite() || ms.abs() > 9.2e18 {
            return Err(self.err_at(
                start,
                format!("duration out of range: {}", crate::value::fmt_float_f(secs)),
            ));
        }
        if (ctx == "range" || ctx == "subquery step") && ms <= 0.0 {
            return Err(self.err_at(start, "duration must be greater than 0"));
        }
        Ok(DurationValue::Ms(ms as i64))
    }

    fn fold_duration(&self, e: Expr, start: usize, ctx: &str) -> Result<DurationValue> {
        if e.value_type() != ValueType::Scalar {
            return Err(self.err_at(
                start,
                format!(
                    "expected type scalar in {ctx}, got {}",
                    e.value_type().describe()
                ),
            ));
        }
        match crate::engine::const_fold(&e) {
            Some(v) => self.const_duration(v, start, ctx),
            None => Ok(DurationValue::Expr(Box::new(e))),
        }
    }

    fn label_list(&mut self) -> Result<Vec<String>> {
        self.expect(Tok::LParen, "grouping opts")?;
        let mut out = Vec::new();
        loop {
            match self.peek().clone() {
                Tok::RParen => {
                    self.next();
                    return Ok(out);
                }
                Tok::Ident(s) => {
                    self.next();
                    out.push(s);
                }
                Tok::Str(s) => {
                    self.next();
                    out.push(s);
                }
                _ => {
                    let t = self.cur().clone();
                    let mut e = self.unexpected(&t, "grouping opts");
                    if let Error::Parse { msg, .. } = &mut e {
                        msg.push_str(", expected label");
                    }
                    return Err(e);
                }
            }
            match self.peek() {
                Tok::Comma => {
                    self.next();
                }
                Tok::RParen => {}
                _ => {
                    let t = self.cur().clone();
                    let mut e = self.unexpected(&t, "grouping opts");
                    if let Error::Parse { msg, .. } = &mut e {
                        msg.push_str(", expected \",\" or \")\"");
                    }
                    return Err(e);
                }
            }
        }
    }

    fn primary(&mut self) -> Result<Expr> {
        let t = self.cur().clone();
        match t.tok.clone() {
            Tok::Number(val, duration) => {
                self.next();
                Ok(Expr::Number {
                    val,
                    pos: PosRange {
                        start: t.start,
                        end: t.end,
                    },
                    duration,
                })
            }
            Tok::Str(val) => {
                self.next();
                Ok(Expr::String {
                    val,
                    pos: PosRange {
                        start: t.start,
                        end: t.end,
                    },
                })
            }
            Tok::LParen => {
                self.next();
                let e = self.expr(0)?;
                let rp = self.expect(Tok::RParen, "paren expression")?;
                Ok(Expr::Paren {
                    expr: Box::new(e),
                    pos: PosRange {
                        start: t.start,
                        end: rp.end,
                    },
                })
            }
            Tok::LBrace => self.selector(None, t.start),
            Tok::Ident(name) => {
                let next = self.peek_at(1).clone();
                if let Some(op) = AggOp::from_name(&name)
                    && (next == Tok::LParen || ident_is(&next, "by") || ident_is(&next, "without"))
                {
                    return self.aggregate(op, t.start);
                }
                if next == Tok::LParen {
                    return self.call(name, t.start);
                }
                if matches!(
                    name.to_ascii_lowercase().as_str(),
                    "by" | "without"
                        | "on"
                        | "ignoring"
                        | "group_left"
                        | "group_right"
                        | "bool"
                        | "offset"
                        | "and"
                        | "or"
                        | "unless"
                        | "atan2"
                ) {
                    return Err(self.unexpected(&t, ""));
                }
                self.next();
                self.selector(Some(name), t.start)
            }
            Tok::Eof => Err(self.err_at(t.start, "unexpected end of input")),
            _ => Err(self.unexpected(&t, "")),
        }
    }

    fn selector(&mut self, name: Option<String>, start: usize) -> Result<Expr> {
        let mut matchers = Vec::new();
        let mut name = name;
        let mut end = self.prev_end();
        if *self.peek() == Tok::LBrace {
            self.next();
            loop {
                let t = self.cur().clone();
                match t.tok.clone() {
                    Tok::RBrace => {
                        self.next();
                        break;
                    }
                    Tok::Ident(l) | Tok::Str(l) => {
                        self.next();
                        let is_str = matches!(t.tok, Tok::Str(_));
                        let op = match self.peek() {
                            Tok::Assign => MatchOp::Equal,
                            Tok::Neq => MatchOp::NotEqual,
                            Tok::EqlRegex => MatchOp::Regex,
                            Tok::NeqRegex => MatchOp::NotRegex,
                            Tok::Comma | Tok::RBrace if is_str => {
                                if name.is_some() {
                                    return Err(
                                        self.err_at(t.start, "metric name must not be set twice")
                                    );
                                }
                                name = Some(l);
                                if *self.peek() == Tok::Comma {
                                    self.next();
                                }
                                continue;
                            }
                            _ => {
                                let t2 = self.cur().clone();
                                let mut e = self.unexpected(&t2, "label matching");
                                if let Error::Parse { msg, .. } = &mut e {
                                    msg.push_str(", expected label matching operator");
                                }
                                return Err(e);
                            }
                        };
                        self.next();
                        let vt = self.next();
                        let Tok::Str(v) = vt.tok.clone() else {
                            let mut e = self.unexpected(&vt, "label matching");
                            if let Error::Parse { msg, .. } = &mut e {
                                msg.push_str(", expected string");
                            }
                            return Err(e);
                        };
                        let m = Matcher::new(op, l.clone(), v).map_err(|e| {
                            let msg = match e {
                                lgtm_common::labels::MatcherError::InvalidRegex {
                                    reason, ..
                                } => {
                                    format!("invalid regular expression: {reason}")
                                }
                            };
                            self.err_at(t.start, msg)
                        })?;
                        matchers.push(m);
                        match self.peek() {
                            Tok::Comma => {
                                self.next();
                            }
                            Tok::RBrace => {}
                            _ => {
                                let t2 = self.cur().clone();
                                let mut e = self.unexpected(&t2, "label matching");
                                if let Error::Parse { msg, .. } = &mut e {
                                    msg.push_str(", expected \",\" or \"}\"");
                                }
                                return Err(e);
                            }
                        }
                    }
                    _ => {
                        let mut e = self.unexpected(&t, "label matching");
                        if let Error::Parse { msg, .. } = &mut e {
                            msg.push_str(", expected label matching operator");
                        }
                        return Err(e);
                    }
                }
            }
            end = self.prev_end();
        }
        // As in Prometheus, the name matcher goes after the explicit ones.
        if let Some(n) = &name {
            matchers.push(Matcher::equal(METRIC_NAME, n.clone()));
        }
        if name.is_none() && !self.info_selector && matchers.iter().all(|m| m.matches_empty()) {
            return Err(self.err_at(
                start,
                "vector selector must contain at least one non-empty matcher",
            ));
        }
        let names: Vec<&Matcher> = matchers
            .iter()
            .filter(|m| m.name == METRIC_NAME && m.op == MatchOp::Equal)
            .collect();
        if names.len() > 1 {
            return Err(self.err_at(
                start,
                format!(
                    "metric name must not be set twice: {} or {}",
                    lgtm_common::labels::quote(&names[0].value),
                    lgtm_common::labels::quote(&names[1].value)
                ),
            ));
        }
        Ok(Expr::Vector(Box::new(VectorSelector {
            name,
            matchers,
            offset: DurationValue::Ms(0),
            at: None,
            anchored: false,
            smoothed: false,
            pos: PosRange { start, end },
        })))
    }

    fn aggregate(&mut self, op: AggOp, start: usize) -> Result<Expr> {
        self.next();
        let mut grouping = Vec::new();
        let mut without = false;
        let mut have_grouping = false;
        if ident_is(self.peek(), "by") || ident_is(self.peek(), "without") {
            without = ident_is(self.peek(), "without");
            self.next();
            grouping = self.label_list()?;
            have_grouping = true;
        }
        self.expect(Tok::LParen, "aggregation")?;
        let mut args = Vec::new();
        if *self.peek() != Tok::RParen {
            loop {
                args.push(self.expr(0)?);
                if *self.peek() == Tok::Comma {
                    self.next();
                    if *self.peek() == Tok::RParen {
                        break;
                    }
                } else {
                    break;
                }
            }
        }
        let rp = self.expect(Tok::RParen, "aggregation")?;
        let mut end = rp.end;
        if !have_grouping && (ident_is(self.peek(), "by") || ident_is(self.peek(), "without")) {
            without = ident_is(self.peek(), "without");
            self.next();
            grouping = self.label_list()?;
            end = self.prev_end();
        }
        let want = if op.has_param() { 2 } else { 1 };
        if args.len() != want {
            return Err(self.err_at(start, format!("wrong number of arguments for aggregate expression provided, expected {want}, got {}", args.len())));
        }
        let expr = args
            .pop()
            .ok_or_else(|| self.err_at(start, "missing aggregation argument"))?;
        let param = args.pop();
        if matches!(op, AggOp::Limitk | AggOp::LimitRatio) && !self.opts.experimental_functions {
            return Err(self.err_at(start, "limitk() and limit_ratio() are experimental and must be enabled with --enable-feature=promql-experimental-functions"));
        }
        Ok(Expr::Aggregate(Box::new(AggregateExpr {
            op,
            expr,
            param,
            grouping,
            without,
            pos: PosRange { start, end },
        })))
    }

    fn call(&mut self, name: String, start: usize) -> Result<Expr> {
        let Some(def) = functions::lookup(&name) else {
            return Err(self.err_at(start, format!("unknown function with name \"{name}\"")));
        };
        if def.experimental && !self.opts.experimental_functions {
            return Err(self.err_at(start, format!("function \"{name}\" is not enabled")));
        }
        self.next();
        self.expect(Tok::LParen, "function call")?;
        let mut args = Vec::new();
        if *self.peek() != Tok::RParen {
            loop {
                self.info_selector = def.name == "info" && args.len() == 1;
                let arg = self.expr(0);
                self.info_selector = false;
                args.push(arg?);
                if *self.peek() == Tok::Comma {
                    self.next();
                } else {
                    break;
                }
            }
        }
        let rp = self.expect(Tok::RParen, "function call")?;
        Ok(Expr::Call(Box::new(Call {
            func: def.name.to_owned(),
            args,
            pos: PosRange { start, end: rp.end },
        })))
    }

    /// Type checks (Prometheus' `checkAST`).
    fn check(&self, e: &Expr) -> Result<()> {
        match e {
            Expr::Number { .. } | Expr::String { .. } => Ok(()),
            Expr::Paren { expr, .. } => self.check(expr),
            Expr::Unary { expr, pos, .. } => {
                self.check(expr)?;
                match expr.value_type() {
                    ValueType::Scalar | ValueType::Vector => Ok(()),
                    _ => Err(self.err_at(pos.start, "unary expression only allowed on expressions of type scalar or instant vector")),
                }
            }
            Expr::Binary(b) => {
                self.check(&b.lhs)?;
                self.check(&b.rhs)?;
                let (lt, rt) = (b.lhs.value_type(), b.rhs.value_type());
                let both_vec = lt == ValueType::Vector && rt == ValueType::Vector;
                if b.return_bool && !b.op.is_comparison() {
                    return Err(self.err_at(
                        b.pos.start,
                        "bool modifier can only be used on comparison operators",
                    ));
                }
                if b.op.is_comparison()
                    && lt == ValueType::Scalar
                    && rt == ValueType::Scalar
                    && !b.return_bool
                {
                    return Err(self.err_at(
                        b.pos.start,
                        "comparisons between scalars must use BOOL modifier",
                    ));
                }
                for t in [lt, rt] {
                    if t != ValueType::Scalar && t != ValueType::Vector {
                        return Err(self.err_at(
                            b.pos.start,
                            "binary expression must contain only scalar and instant vector types",
                        ));
                    }
                }
                if let Some(m) = &b.matching
                    && !both_vec
                    && (m.on || !m.labels.is_empty() || !m.include.is_empty())
                {
                    return Err(self.err_at(
                        b.pos.start,
                        "vector matching only allowed between instant vectors",
                    ));
                }
                if b.op.is_set() && !both_vec {
                    let side = if lt == ValueType::Scalar {
                        "left"
                    } else {
                        "right"
                    };
                    let _ = side;
                    return Err(self.err_at(
                        b.pos.start,
                        format!(
                            "set operator \"{}\" not allowed in binary scalar expression",
                            b.op.as_str()
                        ),
                    ));
                }
                Ok(())
            }
            Expr::Aggregate(a) => {
                self.check(&a.expr)?;
                if a.expr.value_type() != ValueType::Vector {
                    return Err(self.err_at(
                        a.expr.pos().start,
                        format!(
                            "expected type instant vector in aggregation expression, got {}",
                            a.expr.value_type().describe()
                        ),
                    ));
                }
                if let Some(p) = &a.param {
                    self.check(p)?;
                    let want = if a.op == AggOp::CountValues {
                        ValueType::String
                    } else {
                        ValueType::Scalar
                    };
                    if p.value_type() != want {
                        return Err(self.err_at(
                            p.pos().start,
                            format!(
                                "expected type {} in aggregation parameter, got {}",
                                want.describe(),
                                p.value_type().describe()
                            ),
                        ));
                    }
                }
                Ok(())
            }
            Expr::Call(c) => {
                let Some(def) = functions::lookup(&c.func) else {
                    return Err(self.err_at(
                        c.pos.start,
                        format!("unknown function with name \"{}\"", c.func),
                    ));
                };
                let n = c.args.len();
                let fixed = def.args.len();
                if def.variadic == 0 && n != fixed {
                    return Err(self.err_at(
                        c.pos.end,
                        format!(
                            "expected {fixed} argument(s) in call to \"{}\", got {n}",
                            def.name
                        ),
                    ));
                }
                if def.variadic != 0 {
                    let min = fixed - 1;
                    if n < min {
                        return Err(self.err_at(
                            c.pos.end,
                            format!(
                                "expected at least {min} argument(s) in call to \"{}\", got {n}",
                                def.name
                            ),
                        ));
                    }
                    if def.variadic > 0 {
                        let max = min + def.variadic as usize;
                        if n > max {
                            return Err(self.err_at(
                                c.pos.end,
                                format!(
                                    "expected at most {max} argument(s) in call to \"{}\", got {n}",
                                    def.name
                                ),
                            ));
                        }
                    }
                }
                for (i, a) in c.args.iter().enumerate() {
                    self.check(a)?;
                    let want = def.args[i.min(fixed.saturating_sub(1))];
                    let got = a.value_type();
                    if got != want {
                        return Err(self.err_at(
                            a.pos().start,
                            format!(
                                "expected type {} in call to function \"{}\", got {}",
                                want.describe(),
                                def.name,
                                got.describe()
                            ),
                        ));
                    }
                }
                Ok(())
            }
            Expr::Vector(_) | Expr::Matrix(_) => Ok(()),
            Expr::Subquery(s) => self.check(&s.expr),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(q: &str) -> String {
        parse_with(q, ParserOptions::all()).unwrap().to_string()
    }

    #[test]
    fn canonical_printing() {
        assert_eq!(
            round_trip("sum(rate(foo{a='b'}[5m])) by (job)"),
            r#"sum by (job) (rate(foo{a="b"}[5m]))"#
        );
        assert_eq!(
            round_trip("a + on(b) group_left(c) d"),
            "a + on (b) group_left (c) d"
        );
        assert_eq!(round_trip("foo offset 5m @ 100"), "foo @ 100.000 offset 5m");
        assert_eq!(round_trip("x[1h:5m]"), "x[1h:5m]");
        assert_eq!(round_trip("topk(3, x)"), "topk(3, x)");
        assert_eq!(round_trip("-1"), "-1");
    }

    #[test]
    fn precedence() {
        assert_eq!(round_trip("1 + 2 * 3"), "1 + 2 * 3");
        let e = parse("a - b - c").unwrap();
        let Expr::Binary(b) = e else { panic!() };
        assert!(matches!(b.lhs, Expr::Binary(_)));
        let e = parse("2 ^ 3 ^ 2").unwrap();
        let Expr::Binary(b) = e else { panic!() };
        assert!(matches!(b.rhs, Expr::Binary(_)));
    }

    #[test]
    fn errors_have_positions() {
        let e = parse("foo{").unwrap_err().to_string();
        assert!(
            e.starts_with("1:5: parse error: unexpected end of input"),
            "{e}"
        );
        let e = parse("rate(foo)").unwrap_err().to_string();
        assert_eq!(
            e,
            "1:6: parse error: expected type range vector in call to function \"rate\", got instant vector"
        );
        let e = parse("{}").unwrap_err().to_string();
        assert!(e.contains("at least one non-empty matcher"), "{e}");
    }
}

#[cfg(test)]
mod more_tests {
    use super::*;

    fn p(q: &str) -> String {
        parse_with(q, ParserOptions::all())
            .map(|e| e.to_string())
            .unwrap_or_else(|e| format!("ERR {e}"))
    }

    #[test]
    fn everyday_queries_round_trip() {
        for (q, want) in [
            ("sum(x)by(y)", "sum by (y) (x)"),
            ("sum without(a)(x)", "sum without (a) (x)"),
            ("x[5m:]", "x[5m:]"),
            ("rate(x[5m])[30m:1m]", "rate(x[5m])[30m:1m]"),
            ("x - - 1", "x - -1"),
            ("1 - -1", "1 - -1"),
            ("2 ^ -1", "2 ^ -1"),
            (
                "foo and bar or baz unless qux",
                "foo and bar or baz unless qux",
            ),
            (r#"{"my.metric", a="b",}"#, r#"{"my.metric", a="b"}"#),
            ("x # comment", "x"),
            ("max by (a) (x) > bool 1", "max by (a) (x) > bool 1"),
            (
                r#"count_values without (x) ("v", y)"#,
                r#"count_values without (x) ("v", y)"#,
            ),
            (
                "histogram_quantile(0.95, sum by (le) (rate(x_bucket[5m])))",
                "histogram_quantile(0.95, sum by (le) (rate(x_bucket[5m])))",
            ),
            (
                "time() - process_start_time_seconds",
                "time() - process_start_time_seconds",
            ),
            ("x offset 1d", "x offset 1d"),
            ("1e3", "1000"),
            ("0x10", "16"),
            ("-Inf", "-Inf"),
        ] {
            assert_eq!(p(q), want, "{q}");
        }
    }

    #[test]
    fn precedence_of_unary_minus_and_pow() {
        // -a ^ b is -(a ^ b); -a * b is (-a) * b.
        let Expr::Unary { expr, .. } = parse("-a ^ b").unwrap() else {
            panic!()
        };
        assert!(matches!(*expr, Expr::Binary(_)));
        let Expr::Binary(b) = parse("-a * b").unwrap() else {
            panic!()
        };
        assert!(matches!(b.lhs, Expr::Unary { .. }));
    }

    #[test]
    fn type_errors() {
        assert_eq!(
            p("1 == 1"),
            "ERR 1:1: parse error: comparisons between scalars must use BOOL modifier"
        );
        assert_eq!(
            p(r#"1 and 1"#),
            r#"ERR 1:1: parse error: set operator "and" not allowed in binary scalar expression"#
        );
        assert_eq!(
            p("x[5m] + 1"),
            "ERR 1:1: parse error: binary expression must contain only scalar and instant vector types"
        );
        assert_eq!(
            p("foo bar"),
            r#"ERR 1:5: parse error: unexpected identifier "bar""#
        );
        assert_eq!(
            p("sum(rate(x[5m]), 1)"),
            "ERR 1:1: parse error: wrong number of arguments for aggregate expression provided, expected 1, got 2"
        );
    }
}
