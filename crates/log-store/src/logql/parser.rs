//! Recursive-descent LogQL parser following Loki's grammar (`syntax.y`).
//!
//! Syntax errors reproduce Loki's goyacc messages: `unexpected <token>`, plus
//! `expecting A or B` at the points where Loki's parser state allows at most four tokens.
//! Errors Loki raises while building the tree (bad regex in a matcher, invalid `regexp` or
//! `pattern` parser) stop the parse at once; errors Loki finds when validating the finished
//! tree (grouping not allowed, wrong unwrap use, empty-compatible selectors) are reported
//! only when the whole query is syntactically valid, as Loki does.

use lgtm_common::labels::{MatchOp, Matcher};

use super::ParseError;
use super::ast::*;
use super::lexer::{Kw, Tok, Token, tokenize};
use super::pipeline::{pattern, regexp_parser};
use super::regex_go;
use super::units::parse_go_float;

/// Loki rejects longer queries before parsing.
const MAX_INPUT_SIZE: usize = 5120;

const ERR_NO_MATCHER: &str = "queries require at least one regexp or equality matcher that does not have an empty-compatible value. For instance, app=~\".*\" does not meet this requirement, but app=~\".+\" will";

/// Parses and validates a LogQL query.
pub fn parse(input: &str) -> Result<Expr, ParseError> {
    if input.len() >= MAX_INPUT_SIZE {
        return Err(ParseError::semantic(format!(
            "input size too long ({} > {MAX_INPUT_SIZE})",
            input.len()
        )));
    }
    let toks = tokenize(input)?;
    let mut p = Parser {
        toks,
        pos: 0,
        deferred: Vec::new(),
        depth: 0,
    };
    let expr = p.parse_expr(0)?;
    if p.peek() != &Tok::Eof {
        return Err(p.unexpected(&[]));
    }
    if let Some(e) = p.deferred.into_iter().next() {
        return Err(e);
    }
    validate(&expr)?;
    Ok(expr)
}

/// Checks that every selector has a matcher that cannot match the empty string.
fn validate(expr: &Expr) -> Result<(), ParseError> {
    match expr {
        Expr::Log(l) => validate_matchers(&l.matchers),
        Expr::Sample(s) => validate_sample(s),
    }
}

fn validate_sample(s: &SampleExpr) -> Result<(), ParseError> {
    match s {
        SampleExpr::BinOp(b) => {
            validate_sample(&b.lhs)?;
            validate_sample(&b.rhs)
        }
        SampleExpr::Literal(_) | SampleExpr::Vector(_) => Ok(()),
        SampleExpr::VectorAggregation(v) => validate_sample(&v.expr),
        SampleExpr::RangeAggregation(r) => validate_matchers(&r.range.log.matchers),
        SampleExpr::LabelReplace(l) => validate_sample(&l.expr),
    }
}

fn validate_matchers(matchers: &[Matcher]) -> Result<(), ParseError> {
    if matchers.iter().all(Matcher::matches_empty) {
        return Err(ParseError::semantic(ERR_NO_MATCHER));
    }
    Ok(())
}

struct Parser {
    toks: Vec<Token>,
    pos: usize,
    deferred: Vec<ParseError>,
    /// Current nesting of expressions and label filters (bounded to protect the stack).
    depth: usize,
}

/// Deepest nesting accepted (Loki has no limit; 5 KiB queries cannot reasonably need more).
const MAX_NESTING: usize = 200;

type PResult<T> = Result<T, ParseError>;

fn binop_kind(t: &Tok) -> Option<BinOpKind> {
    Some(match t {
        Tok::Kw(Kw::Or) => BinOpKind::Or,
        Tok::Kw(Kw::And) => BinOpKind::And,
        Tok::Kw(Kw::Unless) => BinOpKind::Unless,
        Tok::Add => BinOpKind::Add,
        Tok::Sub => BinOpKind::Sub,
        Tok::Mul => BinOpKind::Mul,
        Tok::Div => BinOpKind::Div,
        Tok::Mod => BinOpKind::Mod,
        Tok::Pow => BinOpKind::Pow,
        Tok::CmpEq => BinOpKind::Eq,
        Tok::Neq => BinOpKind::Ne,
        Tok::Gt => BinOpKind::Gt,
        Tok::Gte => BinOpKind::Ge,
        Tok::Lt => BinOpKind::Lt,
        Tok::Lte => BinOpKind::Le,
        _ => return None,
    })
}

/// Go type name of a log expression, as Loki's binary-operation errors print it.
fn go_type_name(l: &LogExpr) -> &'static str {
    if l.stages.is_empty() {
        "*syntax.MatchersExpr"
    } else {
        "*syntax.PipelineExpr"
    }
}

impl Parser {
    fn peek(&self) -> &Tok {
        &self.toks[self.pos.min(self.toks.len() - 1)].tok
    }

    fn peek2(&self) -> &Tok {
        &self.toks[(self.pos + 1).min(self.toks.len() - 1)].tok
    }

    fn advance(&mut self) -> Tok {
        let t = self.toks[self.pos.min(self.toks.len() - 1)].tok.clone();
        if self.pos < self.toks.len() - 1 {
            self.pos += 1;
        }
        t
    }

    /// `syntax error: unexpected <current>[, expecting A or B]`.
    fn unexpected(&self, expected: &[&str]) -> ParseError {
        let t = &self.toks[self.pos.min(self.toks.len() - 1)];
        let mut msg = format!("syntax error: unexpected {}", t.tok.name());
        if !expected.is_empty() {
            msg.push_str(", expecting ");
            msg.push_str(&expected.join(" or "));
        }
        ParseError::new(msg, t.error_line(), t.col)
    }

    fn expect(&mut self, tok: &Tok, expected: &[&str]) -> PResult<()> {
        if self.peek() == tok {
            self.advance();
            Ok(())
        } else {
            Err(self.unexpected(expected))
        }
    }

    fn expect_ident(&mut self, expected: &[&str]) -> PResult<String> {
        match self.peek() {
            Tok::Ident(s) => {
                let s = s.clone();
                self.advance();
                Ok(s)
            }
            _ => Err(self.unexpected(expected)),
        }
    }

    fn expect_string(&mut self, expected: &[&str]) -> PResult<String> {
        match self.peek() {
            Tok::Str(s) => {
                let s = s.clone();
                self.advance();
                Ok(s)
            }
            _ => Err(self.unexpected(expected)),
        }
    }

    fn defer(&mut self, msg: String) {
        self.deferred.push(ParseError::semantic(msg));
    }

    // ---------------------------------------------------------------------------------
    // Expressions

    fn enter(&mut self) -> PResult<()> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            let t = &self.toks[self.pos.min(self.toks.len() - 1)];
            return Err(ParseError::new(
                "syntax error: expression nested too deeply",
                t.line,
                t.col,
            ));
        }
        Ok(())
    }

    fn parse_expr(&mut self, min_prec: u8) -> PResult<Expr> {
        self.enter()?;
        let r = self.parse_expr_inner(min_prec);
        self.depth -= 1;
        r
    }

    fn parse_expr_inner(&mut self, min_prec: u8) -> PResult<Expr> {
        let mut lhs = self.parse_unary()?;
        while let Some(op) = binop_kind(self.peek()) {
            let prec = op.precedence();
            if prec < min_prec {
                break;
            }
            self.advance();
            let opts = self.parse_binop_modifiers()?;
            let next_min = if op == BinOpKind::Pow { prec } else { prec + 1 };
            let rhs = self.parse_expr(next_min)?;
            lhs = Expr::Sample(self.make_binop(op, opts, lhs, rhs));
        }
        Ok(lhs)
    }

    fn make_binop(
        &mut self,
        op: BinOpKind,
        opts: BinOpOptions,
        lhs: Expr,
        rhs: Expr,
    ) -> SampleExpr {
        let lhs = match lhs {
            Expr::Sample(s) => s,
            Expr::Log(l) => {
                self.defer(format!(
                    "unexpected type for left leg of binary operation ({}): {}",
                    op.as_str(),
                    go_type_name(&l)
                ));
                SampleExpr::Vector(0.0)
            }
        };
        let rhs = match rhs {
            Expr::Sample(s) => s,
            Expr::Log(l) => {
                self.defer(format!(
                    "unexpected type for right leg of binary operation ({}): {}",
                    op.as_str(),
                    go_type_name(&l)
                ));
                SampleExpr::Vector(0.0)
            }
        };
        if op.is_set_op() {
            if let SampleExpr::Literal(v) = lhs {
                self.defer(format!(
                    "unexpected literal for left leg of logical/set binary operation ({}): {v:.6}",
                    op.as_str()
                ));
            } else if let SampleExpr::Literal(v) = rhs {
                self.defer(format!(
                    "unexpected literal for right leg of logical/set binary operation ({}): {v:.6}",
                    op.as_str()
                ));
            }
        }
        if let (SampleExpr::Literal(a), SampleExpr::Literal(b)) = (&lhs, &rhs) {
            return SampleExpr::Literal(op.apply(*a, *b));
        }
        SampleExpr::BinOp(BinOp {
            op,
            opts,
            lhs: Box::new(lhs),
            rhs: Box::new(rhs),
        })
    }

    fn parse_binop_modifiers(&mut self) -> PResult<BinOpOptions> {
        let mut o = BinOpOptions::default();
        if self.peek() == &Tok::Kw(Kw::Bool) {
            self.advance();
            o.return_bool = true;
        }
        let on = match self.peek() {
            Tok::Kw(Kw::On) => true,
            Tok::Kw(Kw::Ignoring) => false,
            _ => return Ok(o),
        };
        self.advance();
        o.on = on;
        self.expect(&Tok::OpenParen, &["("])?;
        o.matching_labels = self.parse_label_list_rest()?;
        let card = match self.peek() {
            Tok::Kw(Kw::GroupLeft) => Cardinality::ManyToOne,
            Tok::Kw(Kw::GroupRight) => Cardinality::OneToMany,
            _ => return Ok(o),
        };
        self.advance();
        o.card = card;
        if self.peek() == &Tok::OpenParen {
            self.advance();
            let labels = self.parse_label_list_rest()?;
            if !labels.is_empty() {
                o.include = Some(labels);
            }
        }
        Ok(o)
    }

    /// After `(`: `)` or `a, b)`.
    fn parse_label_list_rest(&mut self) -> PResult<Vec<String>> {
        let mut labels = Vec::new();
        if self.peek() == &Tok::CloseParen {
            self.advance();
            return Ok(labels);
        }
        labels.push(self.expect_ident(&["IDENTIFIER", ")"])?);
        loop {
            match self.peek() {
                Tok::CloseParen => {
                    self.advance();
                    return Ok(labels);
                }
                Tok::Comma => {
                    self.advance();
                    labels.push(self.expect_ident(&["IDENTIFIER"])?);
                }
                _ => return Err(self.unexpected(&[",", ")"])),
            }
        }
    }

    fn parse_grouping(&mut self) -> PResult<Option<Grouping>> {
        let without = match self.peek() {
            Tok::Kw(Kw::By) => false,
            Tok::Kw(Kw::Without) => true,
            _ => return Ok(None),
        };
        self.advance();
        self.expect(&Tok::OpenParen, &["("])?;
        let labels = self.parse_label_list_rest()?;
        Ok(Some(Grouping { without, labels }))
    }

    fn parse_unary(&mut self) -> PResult<Expr> {
        match self.peek().clone() {
            Tok::Add | Tok::Sub => {
                let neg = self.peek() == &Tok::Sub;
                self.advance();
                match self.peek().clone() {
                    Tok::Number(n) => {
                        self.advance();
                        let v = self.literal_value(&n);
                        Ok(Expr::Sample(SampleExpr::Literal(if neg { -v } else { v })))
                    }
                    _ => Err(self.unexpected(&["NUMBER"])),
                }
            }
            Tok::Number(n) => {
                self.advance();
                Ok(Expr::Sample(SampleExpr::Literal(self.literal_value(&n))))
            }
            Tok::OpenBrace => {
                let log = self.parse_log_expr(false)?;
                Ok(Expr::Log(log))
            }
            Tok::OpenParen => {
                self.advance();
                let e = self.parse_expr(0)?;
                self.expect(&Tok::CloseParen, &[])?;
                Ok(e)
            }
            Tok::Kw(Kw::RangeOp(op)) => self.parse_range_aggregation(op),
            Tok::Kw(Kw::VectorOp(op)) => self.parse_vector_aggregation(op),
            Tok::Kw(Kw::Vector) => {
                self.advance();
                self.expect(&Tok::OpenParen, &["("])?;
                let n = match self.peek().clone() {
                    Tok::Number(n) => n,
                    _ => return Err(self.unexpected(&["NUMBER"])),
                };
                self.advance();
                self.expect(&Tok::CloseParen, &[")"])?;
                let v = match parse_go_float(&n) {
                    Ok(v) => v,
                    Err(e) => {
                        self.defer(format!("unable to parse vectorExpr as a float: {e}"));
                        0.0
                    }
                };
                Ok(Expr::Sample(SampleExpr::Vector(v)))
            }
            Tok::Kw(Kw::LabelReplace) => self.parse_label_replace(),
            _ => Err(self.unexpected(&[])),
        }
    }

    fn literal_value(&mut self, text: &str) -> f64 {
        match parse_go_float(text) {
            Ok(v) => v,
            Err(e) => {
                self.defer(format!("unable to parse literal as a float: {e}"));
                0.0
            }
        }
    }

    /// A sample expression inside a function call; a log expression there is a syntax error
    /// at the token after it, as in Loki's grammar.
    fn parse_sample_arg(&mut self) -> PResult<SampleExpr> {
        match self.parse_expr(0)? {
            Expr::Sample(s) => Ok(s),
            Expr::Log(_) => Err(self.unexpected(&[])),
        }
    }

    fn parse_label_replace(&mut self) -> PResult<Expr> {
        self.advance();
        self.expect(&Tok::OpenParen, &["("])?;
        let inner = self.parse_sample_arg()?;
        self.expect(&Tok::Comma, &[])?;
        let dst = self.expect_string(&["STRING"])?;
        self.expect(&Tok::Comma, &[","])?;
        let replacement = self.expect_string(&["STRING"])?;
        self.expect(&Tok::Comma, &[","])?;
        let src = self.expect_string(&["STRING"])?;
        self.expect(&Tok::Comma, &[","])?;
        let regex = self.expect_string(&["STRING"])?;
        self.expect(&Tok::CloseParen, &[")"])?;
        if let Some(e) = regex_go::compile_error(&format!("^(?:{regex})$")) {
            self.defer(format!("invalid regex in label_replace: {e}"));
        }
        Ok(Expr::Sample(SampleExpr::LabelReplace(LabelReplace {
            expr: Box::new(inner),
            dst,
            replacement,
            src,
            regex,
        })))
    }

    fn parse_vector_aggregation(&mut self, name: &'static str) -> PResult<Expr> {
        self.advance();
        let op = VectorOp::from_name(name).unwrap_or(VectorOp::Sum);
        let before = self.parse_grouping()?;
        let expected: &[&str] = if before.is_some() {
            &["("]
        } else {
            &["(", "by", "without"]
        };
        self.expect(&Tok::OpenParen, expected)?;
        let mut param_text = None;
        if let (Tok::Number(n), Tok::Comma) = (self.peek().clone(), self.peek2().clone()) {
            self.advance();
            self.advance();
            param_text = Some(n);
        }
        let inner = self.parse_sample_arg()?;
        self.expect(&Tok::CloseParen, &[])?;
        let grouping = match before {
            Some(g) => Some(g),
            None => self.parse_grouping()?,
        };
        let mut param = None;
        if op.takes_param() {
            match &param_text {
                None => self.defer(format!("parameter required for operation {name}")),
                Some(t) => match t.parse::<i64>() {
                    Err(_) => self.defer(format!("invalid parameter {name}({t},")),
                    Ok(k) if k <= 0 => self.defer(format!(
                        "invalid parameter (must be greater than 0) {name}({t}"
                    )),
                    Ok(k) => {
                        if op == VectorOp::ApproxTopk && grouping.is_some() {
                            self.defer(format!("grouping not allowed for {name} aggregation"));
                        }
                        param = Some(k);
                    }
                },
            }
        } else if let Some(t) = &param_text {
            self.defer(format!("unsupported parameter for operation {name}({t},"));
        }
        let grouping = grouping.unwrap_or_default();
        if matches!(op, VectorOp::Sort | VectorOp::SortDesc) && !grouping.labels.is_empty() {
            self.defer("sort and sort_desc doesn't allow grouping by ".to_owned());
        }
        Ok(Expr::Sample(SampleExpr::VectorAggregation(
            VectorAggregation {
                op,
                param,
                expr: Box::new(inner),
                grouping,
            },
        )))
    }

    fn parse_range_aggregation(&mut self, name: &'static str) -> PResult<Expr> {
        self.advance();
        let op = RangeOp::from_name(name).unwrap_or(RangeOp::CountOverTime);
        self.expect(&Tok::OpenParen, &["("])?;
        let mut param_text = None;
        if let Tok::Number(n) = self.peek().clone() {
            self.advance();
            self.expect(&Tok::Comma, &[","])?;
            param_text = Some(n);
        } else if !matches!(self.peek(), Tok::OpenBrace | Tok::OpenParen) {
            return Err(self.unexpected(&["NUMBER", "{", "("]));
        }
        let range = self.parse_log_range(param_text.is_some())?;
        self.expect(&Tok::CloseParen, &[")"])?;
        let grouping = self.parse_grouping()?;
        let mut param = None;
        if let Some(t) = &param_text {
            if op != RangeOp::QuantileOverTime {
                self.defer(format!("parameter {t} not supported for operation {name}"));
            } else {
                match parse_go_float(t) {
                    Ok(v) => param = Some(v),
                    Err(e) => self.defer(format!("invalid parameter for operation {name}: {e}")),
                }
            }
        } else if op == RangeOp::QuantileOverTime {
            self.defer(format!("parameter required for operation {name}"));
        }
        if let Some(msg) = validate_range(op, grouping.is_some(), range.unwrap.is_some()) {
            self.defer(msg);
        }
        Ok(Expr::Sample(SampleExpr::RangeAggregation(
            RangeAggregation {
                op,
                param,
                range,
                grouping,
            },
        )))
    }

    /// The log range inside a range aggregation, in any of the orders Loki accepts:
    /// `sel [pipeline] [unwrap] [range] [offset]`, `sel [range] [offset] [pipeline] [unwrap]`,
    /// `(sel [pipeline] [unwrap]) [range] [offset]`, `(log range)`.
    fn parse_log_range(&mut self, after_comma: bool) -> PResult<LogRange> {
        match self.peek() {
            Tok::OpenParen => {
                self.advance();
                if self.peek() == &Tok::OpenParen {
                    let inner = self.parse_log_range(false)?;
                    self.expect(&Tok::CloseParen, &[")"])?;
                    return Ok(inner);
                }
                if self.peek() != &Tok::OpenBrace {
                    return Err(self.unexpected(&["{", "("]));
                }
                let matchers = self.parse_selector()?;
                let stages = self.parse_pipeline(true)?;
                let unwrap = self.parse_unwrap_opt()?;
                if matches!(self.peek(), Tok::Range(_)) {
                    let lr = self.finish_log_range(matchers, stages, unwrap)?;
                    self.expect(&Tok::CloseParen, &[")"])?;
                    return Ok(lr);
                }
                self.expect(&Tok::CloseParen, &[])?;
                let Tok::Range(range) = self.peek().clone() else {
                    return Err(self.unexpected(&["RANGE"]));
                };
                self.advance();
                let offset = self.parse_offset_opt()?;
                Ok(LogRange {
                    log: LogExpr { matchers, stages },
                    range,
                    offset,
                    unwrap,
                })
            }
            Tok::OpenBrace => {
                let matchers = self.parse_selector()?;
                let stages = self.parse_pipeline(true)?;
                let unwrap = self.parse_unwrap_opt()?;
                self.finish_log_range(matchers, stages, unwrap)
            }
            _ => Err(self.unexpected(if after_comma { &["{", "("] } else { &[] })),
        }
    }

    fn finish_log_range(
        &mut self,
        matchers: Vec<Matcher>,
        mut stages: Vec<Stage>,
        mut unwrap: Option<Unwrap>,
    ) -> PResult<LogRange> {
        let Tok::Range(range) = self.peek().clone() else {
            return Err(self.unexpected(&[]));
        };
        self.advance();
        let offset = self.parse_offset_opt()?;
        if stages.is_empty() && unwrap.is_none() {
            stages = self.parse_pipeline(true)?;
            unwrap = self.parse_unwrap_opt()?;
        }
        Ok(LogRange {
            log: LogExpr { matchers, stages },
            range,
            offset,
            unwrap,
        })
    }

    fn parse_offset_opt(&mut self) -> PResult<i64> {
        if self.peek() != &Tok::Kw(Kw::Offset) {
            return Ok(0);
        }
        self.advance();
        match self.peek().clone() {
            Tok::Duration(d) => {
                self.advance();
                Ok(d)
            }
            _ => Err(self.unexpected(&["DURATION"])),
        }
    }

    fn parse_unwrap_opt(&mut self) -> PResult<Option<Unwrap>> {
        if !(self.peek() == &Tok::Pipe && self.peek2() == &Tok::Kw(Kw::Unwrap)) {
            return Ok(None);
        }
        self.advance();
        self.advance();
        let conversion = match self.peek() {
            Tok::Kw(Kw::BytesConv) => Some(Conversion::Bytes),
            Tok::Kw(Kw::DurationConv) => Some(Conversion::Duration),
            Tok::Kw(Kw::DurationSecondsConv) => Some(Conversion::DurationSeconds),
            Tok::Ident(_) => None,
            _ => {
                return Err(self.unexpected(&[
                    "IDENTIFIER",
                    "BYTES_CONV",
                    "DURATION_CONV",
                    "DURATION_SECONDS_CONV",
                ]));
            }
        };
        let label = if conversion.is_some() {
            self.advance();
            self.expect(&Tok::OpenParen, &["("])?;
            let l = self.expect_ident(&["IDENTIFIER"])?;
            self.expect(&Tok::CloseParen, &[")"])?;
            l
        } else {
            self.expect_ident(&[])?
        };
        let mut post_filters = Vec::new();
        while self.peek() == &Tok::Pipe {
            self.advance();
            if !matches!(self.peek(), Tok::Ident(_) | Tok::OpenParen) {
                return Err(self.unexpected(&["IDENTIFIER", "("]));
            }
            post_filters.push(self.parse_label_filter()?);
        }
        Ok(Some(Unwrap {
            label,
            conversion,
            post_filters,
        }))
    }

    // ---------------------------------------------------------------------------------
    // Log expressions

    fn parse_log_expr(&mut self, allow_unwrap: bool) -> PResult<LogExpr> {
        let matchers = self.parse_selector()?;
        let stages = self.parse_pipeline(allow_unwrap)?;
        Ok(LogExpr { matchers, stages })
    }

    fn parse_selector(&mut self) -> PResult<Vec<Matcher>> {
        self.expect(&Tok::OpenBrace, &["{"])?;
        let mut matchers = Vec::new();
        if self.peek() == &Tok::CloseBrace {
            self.advance();
            return Ok(matchers);
        }
        if !matches!(self.peek(), Tok::Ident(_)) {
            return Err(self.unexpected(&["IDENTIFIER", "}"]));
        }
        loop {
            matchers.push(self.parse_matcher()?);
            match self.peek() {
                Tok::CloseBrace => {
                    self.advance();
                    return Ok(matchers);
                }
                Tok::Comma => {
                    self.advance();
                    if !matches!(self.peek(), Tok::Ident(_)) {
                        return Err(self.unexpected(&["IDENTIFIER"]));
                    }
                }
                _ => return Err(self.unexpected(&["}", ","])),
            }
        }
    }

    /// `name op "value"` (the identifier is the current token).
    fn parse_matcher(&mut self) -> PResult<Matcher> {
        let name = self.expect_ident(&["IDENTIFIER"])?;
        let op = match self.peek() {
            Tok::Eq => MatchOp::Equal,
            Tok::Neq => MatchOp::NotEqual,
            Tok::Re => MatchOp::Regex,
            Tok::Nre => MatchOp::NotRegex,
            _ => return Err(self.unexpected(&["=", "=~", "!~", "!="])),
        };
        self.advance();
        let value = self.expect_string(&["STRING"])?;
        new_matcher(op, name, value)
    }

    fn parse_pipeline(&mut self, allow_unwrap: bool) -> PResult<Vec<Stage>> {
        let mut stages = Vec::new();
        loop {
            let op = match self.peek() {
                Tok::PipeExact => LineFilterOp::Contains,
                Tok::Neq => LineFilterOp::NotContains,
                Tok::PipeMatch => LineFilterOp::Match,
                Tok::Nre => LineFilterOp::NotMatch,
                Tok::PipePattern => LineFilterOp::Pattern,
                Tok::Npa => LineFilterOp::NotPattern,
                Tok::Pipe => {
                    if allow_unwrap && self.peek2() == &Tok::Kw(Kw::Unwrap) {
                        return Ok(stages);
                    }
                    self.advance();
                    stages.push(self.parse_stage()?);
                    continue;
                }
                _ => return Ok(stages),
            };
            self.advance();
            self.parse_line_filter(op, &mut stages)?;
        }
    }

    fn parse_filter_value(&mut self) -> PResult<FilterValue> {
        match self.peek().clone() {
            Tok::Str(s) => {
                self.advance();
                Ok(FilterValue::Str(s))
            }
            Tok::Kw(Kw::Ip) => {
                self.advance();
                self.expect(&Tok::OpenParen, &["("])?;
                let s = self.expect_string(&["STRING"])?;
                self.expect(&Tok::CloseParen, &[")"])?;
                Ok(FilterValue::Ip(s))
            }
            _ => Err(self.unexpected(&["STRING", "ip"])),
        }
    }

    fn parse_line_filter(&mut self, op: LineFilterOp, stages: &mut Vec<Stage>) -> PResult<()> {
        let mut values = vec![self.parse_filter_value()?];
        while self.peek() == &Tok::Kw(Kw::Or) {
            self.advance();
            values.push(self.parse_filter_value()?);
        }
        if op.is_negative() {
            // `!= "a" or "b"` is `!= "a" != "b"`.
            for v in values {
                stages.push(Stage::LineFilter(LineFilter {
                    op,
                    values: vec![v],
                }));
            }
        } else {
            stages.push(Stage::LineFilter(LineFilter { op, values }));
        }
        Ok(())
    }

    /// A stage after `|`.
    fn parse_stage(&mut self) -> PResult<Stage> {
        match self.peek().clone() {
            Tok::Kw(Kw::Json) => {
                self.advance();
                Ok(Stage::Json(self.parse_extractions()?))
            }
            Tok::Kw(Kw::Logfmt) => {
                self.advance();
                let (mut strict, mut keep_empty) = (false, false);
                while let Tok::Flag(f) = self.peek().clone() {
                    self.advance();
                    if f == "--strict" {
                        strict = true;
                    } else {
                        keep_empty = true;
                    }
                }
                let params = self.parse_extractions()?;
                Ok(Stage::Logfmt {
                    strict,
                    keep_empty,
                    params,
                })
            }
            Tok::Kw(Kw::Regexp) => {
                self.advance();
                let re = self.expect_string(&["STRING"])?;
                if let Err(e) = regexp_parser::RegexpParser::new(&re) {
                    return Err(ParseError::semantic(format!("invalid regexp parser: {e}")));
                }
                Ok(Stage::Regexp(re))
            }
            Tok::Kw(Kw::Pattern) => {
                self.advance();
                let p = self.expect_string(&["STRING"])?;
                if let Err(e) = pattern::Pattern::new(&p) {
                    return Err(ParseError::semantic(format!("invalid pattern parser: {e}")));
                }
                Ok(Stage::Pattern(p))
            }
            Tok::Kw(Kw::Unpack) => {
                self.advance();
                Ok(Stage::Unpack)
            }
            Tok::Kw(Kw::LineFmt) => {
                self.advance();
                Ok(Stage::LineFormat(self.expect_string(&["STRING"])?))
            }
            Tok::Kw(Kw::LabelFmt) => {
                self.advance();
                let mut list = Vec::new();
                loop {
                    let name = self.expect_ident(&["IDENTIFIER"])?;
                    self.expect(&Tok::Eq, &["="])?;
                    let (value, rename) = match self.peek().clone() {
                        Tok::Ident(s) => (s, true),
                        Tok::Str(s) => (s, false),
                        _ => return Err(self.unexpected(&["IDENTIFIER", "STRING"])),
                    };
                    self.advance();
                    list.push(LabelFormat {
                        name,
                        value,
                        rename,
                    });
                    if self.peek() != &Tok::Comma {
                        return Ok(Stage::LabelFormat(list));
                    }
                    self.advance();
                }
            }
            Tok::Kw(Kw::Decolorize) => {
                self.advance();
                Ok(Stage::Decolorize)
            }
            Tok::Kw(Kw::Drop) | Tok::Kw(Kw::Keep) => {
                let drop = self.peek() == &Tok::Kw(Kw::Drop);
                self.advance();
                let mut list = Vec::new();
                loop {
                    if !matches!(self.peek(), Tok::Ident(_)) {
                        return Err(self.unexpected(&["IDENTIFIER"]));
                    }
                    if matches!(self.peek2(), Tok::Eq | Tok::Neq | Tok::Re | Tok::Nre) {
                        list.push(NamedMatcher::Matcher(self.parse_matcher()?));
                    } else {
                        list.push(NamedMatcher::Name(self.expect_ident(&[])?));
                    }
                    if self.peek() != &Tok::Comma {
                        break;
                    }
                    self.advance();
                }
                Ok(if drop {
                    Stage::Drop(list)
                } else {
                    Stage::Keep(list)
                })
            }
            Tok::Ident(_) | Tok::OpenParen => Ok(Stage::LabelFilter(self.parse_label_filter()?)),
            _ => Err(self.unexpected(&[])),
        }
    }

    /// `a, b="path"` after `json`/`logfmt` (possibly empty).
    fn parse_extractions(&mut self) -> PResult<Vec<LabelExtraction>> {
        let mut out = Vec::new();
        if !matches!(self.peek(), Tok::Ident(_)) {
            return Ok(out);
        }
        loop {
            let name = self.expect_ident(&["IDENTIFIER"])?;
            let expression = if self.peek() == &Tok::Eq {
                self.advance();
                self.expect_string(&["STRING"])?
            } else {
                name.clone()
            };
            out.push(LabelExtraction { name, expression });
            if self.peek() != &Tok::Comma {
                return Ok(out);
            }
            self.advance();
        }
    }

    // ---------------------------------------------------------------------------------
    // Label filters: `and` binds tighter than `or`; `,` and juxtaposition join the filter
    // before them with everything after it (Loki's grammar resolves those by shifting).

    fn parse_label_filter(&mut self) -> PResult<LabelFilter> {
        // Chunks separated by `,` or juxtaposition; each chunk is an `and`/`or` expression.
        let mut chunks = Vec::new();
        loop {
            let (tree, more) = self.parse_lf_chunk(0)?;
            chunks.push(tree);
            if !more {
                break;
            }
        }
        let mut acc: Option<LabelFilter> = None;
        for chunk in chunks.into_iter().rev() {
            acc = Some(match acc {
                None => chunk.into_filter(),
                Some(rest) => chunk.attach_last(rest).into_filter(),
            });
        }
        acc.ok_or_else(|| self.unexpected(&["IDENTIFIER", "("]))
    }

    /// Precedence climbing over primaries (`and` binds tighter than `or`); stops right after
    /// a primary followed by `,` or another filter, returning `true` then.
    fn parse_lf_chunk(&mut self, min_prec: u8) -> PResult<(LfTree, bool)> {
        let first = self.parse_lf_primary()?;
        if self.lf_chunk_ends()? {
            return Ok((LfTree::Leaf(first), true));
        }
        let mut lhs = LfTree::Leaf(first);
        loop {
            let (prec, is_and) = match self.peek() {
                Tok::Kw(Kw::Or) => (1, false),
                Tok::Kw(Kw::And) => (2, true),
                _ => return Ok((lhs, false)),
            };
            if prec < min_prec {
                return Ok((lhs, false));
            }
            self.advance();
            if !matches!(self.peek(), Tok::Ident(_) | Tok::OpenParen) {
                return Err(self.unexpected(&["IDENTIFIER", "("]));
            }
            let (rhs, ended) = self.parse_lf_chunk(prec + 1)?;
            lhs = if is_and {
                LfTree::And(Box::new(lhs), Box::new(rhs))
            } else {
                LfTree::Or(Box::new(lhs), Box::new(rhs))
            };
            if ended {
                return Ok((lhs, true));
            }
        }
    }

    /// After a primary: `,` (consumed) or the start of another filter ends the chunk.
    fn lf_chunk_ends(&mut self) -> PResult<bool> {
        match self.peek() {
            Tok::Comma => {
                self.advance();
                if !matches!(self.peek(), Tok::Ident(_) | Tok::OpenParen) {
                    return Err(self.unexpected(&["IDENTIFIER", "("]));
                }
                Ok(true)
            }
            Tok::Ident(_) | Tok::OpenParen => Ok(true),
            _ => Ok(false),
        }
    }

    fn parse_lf_primary(&mut self) -> PResult<LabelFilter> {
        if self.peek() == &Tok::OpenParen {
            self.advance();
            if !matches!(self.peek(), Tok::Ident(_) | Tok::OpenParen) {
                return Err(self.unexpected(&["IDENTIFIER", "("]));
            }
            self.enter()?;
            let inner = self.parse_label_filter();
            self.depth -= 1;
            let inner = inner?;
            self.expect(&Tok::CloseParen, &[])?;
            return Ok(inner);
        }
        let name = self.expect_ident(&["IDENTIFIER", "("])?;
        let tok = self.peek().clone();
        let cmp = match tok {
            Tok::Eq => Some(CmpOp::Eq),
            Tok::CmpEq => Some(CmpOp::Eq),
            Tok::Neq => Some(CmpOp::Ne),
            Tok::Gt => Some(CmpOp::Gt),
            Tok::Gte => Some(CmpOp::Ge),
            Tok::Lt => Some(CmpOp::Lt),
            Tok::Lte => Some(CmpOp::Le),
            Tok::Re | Tok::Nre => None,
            _ => return Err(self.unexpected(&[])),
        };
        self.advance();
        let Some(cmp) = cmp else {
            let value = self.expect_string(&["STRING"])?;
            let op = if tok == Tok::Re {
                MatchOp::Regex
            } else {
                MatchOp::NotRegex
            };
            return Ok(LabelFilter::Matcher(new_matcher(op, name, value)?));
        };
        let string_ok = matches!(tok, Tok::Eq | Tok::Neq);
        match self.peek().clone() {
            Tok::Str(s) if string_ok => {
                self.advance();
                let op = if tok == Tok::Eq {
                    MatchOp::Equal
                } else {
                    MatchOp::NotEqual
                };
                Ok(LabelFilter::Matcher(new_matcher(op, name, s)?))
            }
            Tok::Kw(Kw::Ip) if string_ok => {
                self.advance();
                self.expect(&Tok::OpenParen, &["("])?;
                let pattern = self.expect_string(&["STRING"])?;
                self.expect(&Tok::CloseParen, &[")"])?;
                Ok(LabelFilter::Ip {
                    name,
                    negate: tok == Tok::Neq,
                    pattern,
                })
            }
            Tok::Duration(d) => {
                self.advance();
                Ok(LabelFilter::Duration {
                    name,
                    op: cmp,
                    value: d,
                })
            }
            Tok::Bytes(b) => {
                self.advance();
                Ok(LabelFilter::Bytes {
                    name,
                    op: cmp,
                    value: b,
                })
            }
            Tok::Number(_) | Tok::Add | Tok::Sub => {
                let mut neg = false;
                if matches!(self.peek(), Tok::Add | Tok::Sub) {
                    neg = self.peek() == &Tok::Sub;
                    self.advance();
                }
                let Tok::Number(n) = self.peek().clone() else {
                    return Err(self.unexpected(&["NUMBER"]));
                };
                self.advance();
                // Loki ignores a literal that does not parse here (its value stays 0).
                let v = parse_go_float(&n).unwrap_or(0.0);
                Ok(LabelFilter::Number {
                    name,
                    op: cmp,
                    value: if neg { -v } else { v },
                })
            }
            _ => Err(self.unexpected(&[])),
        }
    }
}

/// Builds a matcher; a bad regex is reported with Go's message.
fn new_matcher(op: MatchOp, name: String, value: String) -> PResult<Matcher> {
    if matches!(op, MatchOp::Regex | MatchOp::NotRegex)
        && let Some(e) = regex_go::compile_error(&value)
    {
        return Err(ParseError::semantic(e));
    }
    Matcher::new(op, name, value).map_err(|e| ParseError::semantic(e.to_string()))
}

/// A label filter tree while parsing; leaves are whole primaries, so a `,` after a
/// parenthesised group attaches to the group.
enum LfTree {
    Leaf(LabelFilter),
    And(Box<LfTree>, Box<LfTree>),
    Or(Box<LfTree>, Box<LfTree>),
}

impl LfTree {
    /// Replaces the last primary `p` with `p and rest` (Loki's grammar shifts `,`).
    fn attach_last(self, rest: LabelFilter) -> LfTree {
        match self {
            LfTree::Leaf(p) => LfTree::Leaf(LabelFilter::And(Box::new(p), Box::new(rest))),
            LfTree::And(a, b) => LfTree::And(a, Box::new(b.attach_last(rest))),
            LfTree::Or(a, b) => LfTree::Or(a, Box::new(b.attach_last(rest))),
        }
    }

    fn into_filter(self) -> LabelFilter {
        match self {
            LfTree::Leaf(p) => p,
            LfTree::And(a, b) => {
                LabelFilter::And(Box::new(a.into_filter()), Box::new(b.into_filter()))
            }
            LfTree::Or(a, b) => {
                LabelFilter::Or(Box::new(a.into_filter()), Box::new(b.into_filter()))
            }
        }
    }
}

/// Loki's `RangeAggregationExpr.validate`.
fn validate_range(op: RangeOp, grouped: bool, unwrapped: bool) -> Option<String> {
    use RangeOp::*;
    let name = op.as_str();
    if grouped
        && !matches!(
            op,
            AvgOverTime
                | StddevOverTime
                | StdvarOverTime
                | QuantileOverTime
                | MaxOverTime
                | MinOverTime
                | FirstOverTime
                | LastOverTime
        )
    {
        return Some(format!("grouping not allowed for {name} aggregation"));
    }
    if unwrapped {
        return match op {
            AvgOverTime | SumOverTime | MaxOverTime | MinOverTime | StddevOverTime
            | StdvarOverTime | QuantileOverTime | Rate | RateCounter | AbsentOverTime
            | FirstOverTime | LastOverTime => None,
            _ => Some(format!("invalid aggregation {name} with unwrap")),
        };
    }
    match op {
        BytesOverTime | BytesRate | CountOverTime | Rate | AbsentOverTime => None,
        _ => Some(format!("invalid aggregation {name} without unwrap")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(q: &str) -> String {
        parse(q).unwrap_err().to_string()
    }

    #[test]
    fn loki_documented_errors() {
        assert_eq!(
            err(r#"{foo="bar""#),
            "parse error at line 1, col 11: syntax error: unexpected $end, expecting } or ,"
        );
        assert_eq!(
            err(r#"{foo="bar"} |~"#),
            "parse error at line 1, col 15: syntax error: unexpected $end, expecting STRING or ip"
        );
        assert_eq!(
            err(r#"{foo="bar"} "foo""#),
            "parse error at line 1, col 13: syntax error: unexpected STRING"
        );
        assert_eq!(
            err(r#"unk({ foo = "bar" }[5m])"#),
            "parse error at line 1, col 1: syntax error: unexpected IDENTIFIER"
        );
        assert_eq!(
            err("vector(abc)"),
            "parse error at line 1, col 8: syntax error: unexpected IDENTIFIER, expecting NUMBER"
        );
        assert_eq!(err(""), "parse error : syntax error: unexpected $end");
        // Tokens Loki's lexer finishes with `Scanner.Next` report line 0.
        assert_eq!(
            err(r#"min({ foo = "bar" }[5m])"#),
            "parse error at line 0, col 20: syntax error: unexpected RANGE"
        );
        assert_eq!(
            err(r#"label_replace(rate({ foo = "bar" }[5m]),"")"#),
            "parse error at line 1, col 43: syntax error: unexpected ), expecting ,"
        );
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let q = format!("{}1{}", "(".repeat(2000), ")".repeat(2000));
        assert!(q.len() < MAX_INPUT_SIZE);
        let e = parse(&q).unwrap_err().to_string();
        assert!(e.contains("nested too deeply"), "{e}");
        let q = format!(
            r#"{{a="b"}} | {}x="1"{}"#,
            "(".repeat(2000),
            ")".repeat(2000)
        );
        assert!(
            parse(&q)
                .unwrap_err()
                .to_string()
                .contains("nested too deeply")
        );
        // Long flat filter lists (right-nested internally) stay within the limit.
        let many: Vec<String> = (0..700).map(|i| format!("l{i}=1")).collect();
        let q = format!(r#"{{a="b"}} | {}"#, many.join(" "));
        assert!(q.len() < MAX_INPUT_SIZE, "{}", q.len());
        assert!(parse(&q).is_ok());
        // Ordinary nesting is fine.
        assert!(parse(&format!("{}1{}", "(".repeat(50), ")".repeat(50))).is_ok());
    }

    #[test]
    fn label_filter_grouping_follows_loki() {
        let q = r#"{a="b"} | x="1" or y="2" , z="3""#;
        let Expr::Log(l) = parse(q).unwrap() else {
            panic!()
        };
        assert_eq!(
            l.stages[0].to_string(),
            r#"| ( x="1" or ( y="2" , z="3" ) )"#
        );
        let q = r#"{a="b"} | x="1" and y="2" or z="3""#;
        let Expr::Log(l) = parse(q).unwrap() else {
            panic!()
        };
        assert_eq!(
            l.stages[0].to_string(),
            r#"| ( ( x="1" , y="2" ) or z="3" )"#
        );
    }

    #[test]
    fn literals_fold_and_pow_is_right_associative() {
        assert_eq!(parse("2 ^ 3 ^ 2").unwrap().to_string(), "512");
        assert_eq!(parse("1 + 2 * 3 - 4 / 2").unwrap().to_string(), "5");
        assert_eq!(parse("1 < bool 2").unwrap().to_string(), "1");
    }

    #[test]
    fn range_forms() {
        let a = parse(r#"rate({a="b"} |= "x" [5m])"#).unwrap();
        let b = parse(r#"rate({a="b"}[5m] |= "x")"#).unwrap();
        let c = parse(r#"rate(({a="b"} |= "x")[5m])"#).unwrap();
        assert_eq!(a, b);
        assert_eq!(a, c);
        assert_eq!(a.to_string(), r#"rate({a="b"} |= "x"[5m])"#);
    }
}
