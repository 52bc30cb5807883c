//! PromQL syntax tree and its printer.
//!
//! The printer reproduces Prometheus' canonical formatting (`String()` of the Go nodes), which
//! `/api/v1/format_query` and `/api/v1/parse_query` return.

use std::fmt;

use lgtm_common::labels::{METRIC_NAME, MatchOp, Matcher};

use crate::value::{ValueType, fmt_duration_ms, fmt_float_f as fmt_go_float};

/// Byte range of a node in the query text, used for error and annotation positions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PosRange {
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}

/// A PromQL expression.
#[derive(Clone, Debug)]
pub enum Expr {
    /// A float literal (durations used as numbers are in seconds).
    Number {
        /// Value.
        val: f64,
        /// Where it was written.
        pos: PosRange,
        /// Written as a duration (`5m`): printed back as one.
        duration: bool,
    },
    /// A string literal.
    String {
        /// Value.
        val: String,
        /// Where it was written.
        pos: PosRange,
    },
    /// `( expr )`
    Paren {
        /// Inner expression.
        expr: Box<Expr>,
        /// Where it was written.
        pos: PosRange,
    },
    /// `-expr` / `+expr`
    Unary {
        /// True for `-`.
        neg: bool,
        /// Operand.
        expr: Box<Expr>,
        /// Where it was written.
        pos: PosRange,
    },
    /// A binary operation.
    Binary(Box<BinaryExpr>),
    /// An aggregation.
    Aggregate(Box<AggregateExpr>),
    /// A function call.
    Call(Box<Call>),
    /// An instant vector selector.
    Vector(Box<VectorSelector>),
    /// A range vector selector.
    Matrix(Box<MatrixSelector>),
    /// A subquery.
    Subquery(Box<SubqueryExpr>),
}

/// Binary operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinOp {
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
    /// `atan2`
    Atan2,
    /// `==`
    Eql,
    /// `!=`
    Neq,
    /// `>`
    Gtr,
    /// `<`
    Lss,
    /// `>=`
    Gte,
    /// `<=`
    Lte,
    /// `and`
    And,
    /// `or`
    Or,
    /// `unless`
    Unless,
    /// `</` (keep histogram observations below)
    TrimUpper,
    /// `>/` (keep histogram observations above)
    TrimLower,
}

impl BinOp {
    /// The operator as written.
    pub fn as_str(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Mod => "%",
            BinOp::Pow => "^",
            BinOp::Atan2 => "atan2",
            BinOp::Eql => "==",
            BinOp::Neq => "!=",
            BinOp::Gtr => ">",
            BinOp::Lss => "<",
            BinOp::Gte => ">=",
            BinOp::Lte => "<=",
            BinOp::And => "and",
            BinOp::Or => "or",
            BinOp::Unless => "unless",
            BinOp::TrimUpper => "</",
            BinOp::TrimLower => ">/",
        }
    }

    /// Comparison operators filter (or return 0/1 with `bool`).
    pub fn is_comparison(self) -> bool {
        matches!(
            self,
            BinOp::Eql | BinOp::Neq | BinOp::Gtr | BinOp::Lss | BinOp::Gte | BinOp::Lte
        )
    }

    /// Set operators work on label sets only.
    pub fn is_set(self) -> bool {
        matches!(self, BinOp::And | BinOp::Or | BinOp::Unless)
    }

    /// Binding strength: higher binds tighter.
    pub fn precedence(self) -> u8 {
        match self {
            BinOp::Or => 1,
            BinOp::And | BinOp::Unless => 2,
            BinOp::Eql | BinOp::Neq | BinOp::Gtr | BinOp::Lss | BinOp::Gte | BinOp::Lte => 3,
            BinOp::Add | BinOp::Sub => 4,
            BinOp::Mul
            | BinOp::Div
            | BinOp::Mod
            | BinOp::Atan2
            | BinOp::TrimUpper
            | BinOp::TrimLower => 5,
            BinOp::Pow => 6,
        }
    }

    /// `^` is the only right-associative operator.
    pub fn right_assoc(self) -> bool {
        self == BinOp::Pow
    }
}

/// How the two sides of a vector/vector operation are paired.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Card {
    /// Default for arithmetic and comparisons.
    OneToOne,
    /// `group_left`
    ManyToOne,
    /// `group_right`
    OneToMany,
    /// Set operators.
    ManyToMany,
}

/// `on`/`ignoring`/`group_*`/`fill*` modifiers of a binary operation.
#[derive(Clone, Debug, PartialEq)]
pub struct VectorMatching {
    /// Cardinality.
    pub card: Card,
    /// `on (...)` when true, `ignoring (...)` otherwise.
    pub on: bool,
    /// The labels of `on`/`ignoring`.
    pub labels: Vec<String>,
    /// Extra labels copied from the "one" side with `group_*`.
    pub include: Vec<String>,
    /// `fill_left` value (missing left side is filled with it).
    pub fill_left: Option<f64>,
    /// `fill_right` value.
    pub fill_right: Option<f64>,
}

impl VectorMatching {
    /// Default matching for a cardinality.
    pub fn new(card: Card) -> Self {
        Self {
            card,
            on: false,
            labels: Vec::new(),
            include: Vec::new(),
            fill_left: None,
            fill_right: None,
        }
    }
}

/// A binary operation.
#[derive(Clone, Debug)]
pub struct BinaryExpr {
    /// Operator.
    pub op: BinOp,
    /// Left operand.
    pub lhs: Expr,
    /// Right operand.
    pub rhs: Expr,
    /// `bool` modifier on comparisons.
    pub return_bool: bool,
    /// Matching; `None` when at least one side is a scalar.
    pub matching: Option<VectorMatching>,
    /// Where it was written.
    pub pos: PosRange,
}

/// Aggregation operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AggOp {
    /// sum
    Sum,
    /// avg
    Avg,
    /// count
    Count,
    /// min
    Min,
    /// max
    Max,
    /// group
    Group,
    /// stddev
    Stddev,
    /// stdvar
    Stdvar,
    /// topk
    Topk,
    /// bottomk
    Bottomk,
    /// count_values
    CountValues,
    /// quantile
    Quantile,
    /// limitk
    Limitk,
    /// limit_ratio
    LimitRatio,
}

impl AggOp {
    /// Looks up an aggregation by (case-insensitive) name.
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name.to_ascii_lowercase().as_str() {
            "sum" => AggOp::Sum,
            "avg" => AggOp::Avg,
            "count" => AggOp::Count,
            "min" => AggOp::Min,
            "max" => AggOp::Max,
            "group" => AggOp::Group,
            "stddev" => AggOp::Stddev,
            "stdvar" => AggOp::Stdvar,
            "topk" => AggOp::Topk,
            "bottomk" => AggOp::Bottomk,
            "count_values" => AggOp::CountValues,
            "quantile" => AggOp::Quantile,
            "limitk" => AggOp::Limitk,
            "limit_ratio" => AggOp::LimitRatio,
            _ => return None,
        })
    }

    /// Name as written.
    pub fn as_str(self) -> &'static str {
        match self {
            AggOp::Sum => "sum",
            AggOp::Avg => "avg",
            AggOp::Count => "count",
            AggOp::Min => "min",
            AggOp::Max => "max",
            AggOp::Group => "group",
            AggOp::Stddev => "stddev",
            AggOp::Stdvar => "stdvar",
            AggOp::Topk => "topk",
            AggOp::Bottomk => "bottomk",
            AggOp::CountValues => "count_values",
            AggOp::Quantile => "quantile",
            AggOp::Limitk => "limitk",
            AggOp::LimitRatio => "limit_ratio",
        }
    }

    /// Operators that take a parameter before the vector.
    pub fn has_param(self) -> bool {
        matches!(
            self,
            AggOp::Topk
                | AggOp::Bottomk
                | AggOp::CountValues
                | AggOp::Quantile
                | AggOp::Limitk
                | AggOp::LimitRatio
        )
    }
}

/// An aggregation.
#[derive(Clone, Debug)]
pub struct AggregateExpr {
    /// Operator.
    pub op: AggOp,
    /// Aggregated expression.
    pub expr: Expr,
    /// Parameter (`k`, `φ`, label name).
    pub param: Option<Expr>,
    /// `by`/`without` labels.
    pub grouping: Vec<String>,
    /// `without` when true.
    pub without: bool,
    /// Where it was written.
    pub pos: PosRange,
}

/// A function call.
#[derive(Clone, Debug)]
pub struct Call {
    /// Function name.
    pub func: String,
    /// Arguments.
    pub args: Vec<Expr>,
    /// Where it was written.
    pub pos: PosRange,
}

/// `@` modifier.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum AtModifier {
    /// A fixed time in milliseconds.
    Timestamp(i64),
    /// `@ start()`
    Start,
    /// `@ end()`
    End,
}

/// A duration that may be written as an expression (`[5m+1m]`, `offset step()`).
#[derive(Clone, Debug)]
pub enum DurationValue {
    /// A constant in milliseconds.
    Ms(i64),
    /// An expression, evaluated to seconds before the query runs.
    Expr(Box<Expr>),
}

impl DurationValue {
    /// The constant value; expressions must be resolved first (the engine does).
    pub fn ms(&self) -> i64 {
        match self {
            DurationValue::Ms(v) => *v,
            DurationValue::Expr(_) => 0,
        }
    }
}

/// `metric{a="b"}` with its modifiers.
#[derive(Clone, Debug)]
pub struct VectorSelector {
    /// Metric name, when written before the braces.
    pub name: Option<String>,
    /// All matchers, including the one on `__name__` derived from `name`.
    pub matchers: Vec<Matcher>,
    /// `offset`.
    pub offset: DurationValue,
    /// `@`.
    pub at: Option<AtModifier>,
    /// `anchored` modifier (extended range selectors).
    pub anchored: bool,
    /// `smoothed` modifier (extended range selectors).
    pub smoothed: bool,
    /// Where it was written.
    pub pos: PosRange,
}

/// `selector[range]`.
#[derive(Clone, Debug)]
pub struct MatrixSelector {
    /// The underlying selector (carries offset and `@`).
    pub vs: VectorSelector,
    /// Range.
    pub range: DurationValue,
    /// Where it was written.
    pub pos: PosRange,
}

/// `expr[range:step]`.
#[derive(Clone, Debug)]
pub struct SubqueryExpr {
    /// Inner expression.
    pub expr: Expr,
    /// Range.
    pub range: DurationValue,
    /// Step; `None` uses the engine default.
    pub step: Option<DurationValue>,
    /// `offset`.
    pub offset: DurationValue,
    /// `@`.
    pub at: Option<AtModifier>,
    /// Where it was written.
    pub pos: PosRange,
}

impl Expr {
    /// The node's position in the query text.
    pub fn pos(&self) -> PosRange {
        match self {
            Expr::Number { pos, .. }
            | Expr::String { pos, .. }
            | Expr::Paren { pos, .. }
            | Expr::Unary { pos, .. } => *pos,
            Expr::Binary(b) => b.pos,
            Expr::Aggregate(a) => a.pos,
            Expr::Call(c) => c.pos,
            Expr::Vector(v) => v.pos,
            Expr::Matrix(m) => m.pos,
            Expr::Subquery(s) => s.pos,
        }
    }

    /// The static type of the expression's result.
    pub fn value_type(&self) -> ValueType {
        match self {
            Expr::Number { .. } => ValueType::Scalar,
            Expr::String { .. } => ValueType::String,
            Expr::Paren { expr, .. } | Expr::Unary { expr, .. } => expr.value_type(),
            Expr::Binary(b) => {
                if b.lhs.value_type() == ValueType::Scalar
                    && b.rhs.value_type() == ValueType::Scalar
                {
                    ValueType::Scalar
                } else {
                    ValueType::Vector
                }
            }
            Expr::Aggregate(_) => ValueType::Vector,
            Expr::Call(c) => crate::functions::lookup(&c.func)
                .map(|f| f.ret)
                .unwrap_or(ValueType::Vector),
            Expr::Vector(_) => ValueType::Vector,
            Expr::Matrix(_) | Expr::Subquery(_) => ValueType::Matrix,
        }
    }

    /// Strips parentheses.
    pub fn unparen(&self) -> &Expr {
        match self {
            Expr::Paren { expr, .. } => expr.unparen(),
            e => e,
        }
    }
}

/// A label name as PromQL prints it: bare when it is a legacy name, quoted otherwise.
fn label_name(name: &str) -> String {
    if lgtm_common::labels::is_valid_label_name(name) {
        name.to_owned()
    } else {
        lgtm_common::labels::quote(name)
    }
}

fn join(labels: &[String]) -> String {
    labels
        .iter()
        .map(|l| label_name(l))
        .collect::<Vec<_>>()
        .join(", ")
}

fn write_duration(f: &mut fmt::Formatter<'_>, d: &DurationValue) -> fmt::Result {
    match d {
        DurationValue::Ms(ms) => f.write_str(&fmt_duration_ms(*ms)),
        DurationValue::Expr(e) => match e.as_ref() {
            Expr::Paren { .. } | Expr::Number { .. } | Expr::Call(_) => write!(f, "{e}"),
            Expr::Unary { .. } => write!(f, "{e}"),
            other => write!(f, "({other})"),
        },
    }
}

fn write_mods(
    f: &mut fmt::Formatter<'_>,
    at: &Option<AtModifier>,
    offset: &DurationValue,
) -> fmt::Result {
    match at {
        Some(AtModifier::Timestamp(ms)) => write!(f, " @ {:.3}", *ms as f64 / 1000.0)?,
        Some(AtModifier::Start) => f.write_str(" @ start()")?,
        Some(AtModifier::End) => f.write_str(" @ end()")?,
        None => {}
    }
    match offset {
        DurationValue::Ms(0) => Ok(()),
        DurationValue::Ms(ms) if *ms < 0 => write!(f, " offset -{}", fmt_duration_ms(-*ms)),
        d => {
            f.write_str(" offset ")?;
            write_duration(f, d)
        }
    }
}

impl VectorSelector {
    fn write_base(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut shown: Vec<&Matcher> = Vec::new();
        for m in &self.matchers {
            if let Some(name) = &self.name
                && m.name == METRIC_NAME
                && m.op == MatchOp::Equal
                && &m.value == name
            {
                continue;
            }
            shown.push(m);
        }
        let legacy_name = self
            .name
            .as_deref()
            .filter(|n| lgtm_common::labels::is_valid_metric_name(n));
        if let Some(name) = legacy_name {
            f.write_str(name)?;
            if shown.is_empty() {
                return Ok(());
            }
        }
        f.write_str("{")?;
        let mut first = true;
        if let (Some(name), None) = (&self.name, legacy_name) {
            f.write_str(&lgtm_common::labels::quote(name))?;
            first = false;
        }
        for m in shown {
            if !first {
                f.write_str(", ")?;
            }
            first = false;
            write!(
                f,
                "{}{}{}",
                label_name(&m.name),
                m.op,
                lgtm_common::labels::quote(&m.value)
            )?;
        }
        f.write_str("}")
    }

    fn write_extended(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.anchored {
            f.write_str(" anchored")?;
        }
        if self.smoothed {
            f.write_str(" smoothed")?;
        }
        Ok(())
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Number { val, duration, .. } => {
                if *duration && val.is_finite() && *val >= 0.0 {
                    f.write_str(&fmt_duration_ms((val * 1000.0).round() as i64))
                } else {
                    f.write_str(&fmt_go_float(*val))
                }
            }
            Expr::String { val, .. } => f.write_str(&lgtm_common::labels::quote(val)),
            Expr::Paren { expr, .. } => write!(f, "({expr})"),
            Expr::Unary { neg, expr, .. } => write!(f, "{}{expr}", if *neg { "-" } else { "+" }),
            Expr::Binary(b) => {
                write!(f, "{} {}", b.lhs, b.op.as_str())?;
                if b.return_bool {
                    f.write_str(" bool")?;
                }
                if let Some(m) = &b.matching {
                    let grouped = matches!(m.card, Card::ManyToOne | Card::OneToMany);
                    if !m.labels.is_empty() || m.on || grouped {
                        write!(
                            f,
                            " {} ({})",
                            if m.on { "on" } else { "ignoring" },
                            join(&m.labels)
                        )?;
                        match m.card {
                            Card::ManyToOne => write!(f, " group_left ({})", join(&m.include))?,
                            Card::OneToMany => write!(f, " group_right ({})", join(&m.include))?,
                            _ => {}
                        }
                    }
                    match (m.fill_left, m.fill_right) {
                        (Some(l), Some(r)) if l.to_bits() == r.to_bits() => {
                            write!(f, " fill ({})", fmt_go_float(l))?
                        }
                        (l, r) => {
                            if let Some(l) = l {
                                write!(f, " fill_left ({})", fmt_go_float(l))?;
                            }
                            if let Some(r) = r {
                                write!(f, " fill_right ({})", fmt_go_float(r))?;
                            }
                        }
                    }
                }
                write!(f, " {}", b.rhs)
            }
            Expr::Aggregate(a) => {
                f.write_str(a.op.as_str())?;
                if a.without {
                    write!(f, " without ({}) ", join(&a.grouping))?;
                } else if !a.grouping.is_empty() {
                    write!(f, " by ({}) ", join(&a.grouping))?;
                }
                f.write_str("(")?;
                if let Some(p) = &a.param {
                    write!(f, "{p}, ")?;
                }
                write!(f, "{})", a.expr)
            }
            Expr::Call(c) => {
                write!(f, "{}(", c.func)?;
                for (i, a) in c.args.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{a}")?;
                }
                f.write_str(")")
            }
            Expr::Vector(v) => {
                v.write_base(f)?;
                v.write_extended(f)?;
                write_mods(f, &v.at, &v.offset)
            }
            Expr::Matrix(m) => {
                m.vs.write_base(f)?;
                f.write_str("[")?;
                write_duration(f, &m.range)?;
                f.write_str("]")?;
                m.vs.write_extended(f)?;
                write_mods(f, &m.vs.at, &m.vs.offset)
            }
            Expr::Subquery(s) => {
                write!(f, "{}[", s.expr)?;
                write_duration(f, &s.range)?;
                f.write_str(":")?;
                if let Some(step) = &s.step {
                    write_duration(f, step)?;
                }
                f.write_str("]")?;
                write_mods(f, &s.at, &s.offset)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::parser::{ParserOptions, parse_with};

    /// Cases from Prometheus' `printer_test.go` (`TestExprString`).
    #[test]
    fn canonical_strings_match_prometheus() {
        let cases: &[(&str, &str)] = &[
            (
                r#"sum by() (task:errors:rate10s{job="s"})"#,
                r#"sum(task:errors:rate10s{job="s"})"#,
            ),
            (
                r#"sum by(code) (task:errors:rate10s{job="s"})"#,
                r#"sum by (code) (task:errors:rate10s{job="s"})"#,
            ),
            (
                r#"sum without() (task:errors:rate10s{job="s"})"#,
                r#"sum without () (task:errors:rate10s{job="s"})"#,
            ),
            (
                r#"sum by("foo.bar") (task:errors:rate10s{job="s"})"#,
                r#"sum by ("foo.bar") (task:errors:rate10s{job="s"})"#,
            ),
            (
                r#"topk(5, task:errors:rate10s{job="s"})"#,
                r#"topk(5, task:errors:rate10s{job="s"})"#,
            ),
            (
                r#"count_values("value", task:errors:rate10s{job="s"})"#,
                r#"count_values("value", task:errors:rate10s{job="s"})"#,
            ),
            ("a - on() c", "a - on () c"),
            (
                "a - on(b) group_left(x, y) c",
                "a - on (b) group_left (x, y) c",
            ),
            ("a - on(b) group_left c", "a - on (b) group_left () c"),
            ("a - on(b) group_left() (c)", "a - on (b) group_left () (c)"),
            ("a - ignoring(b) c", "a - ignoring (b) c"),
            ("a - ignoring() c", "a - c"),
            (
                "a - ignoring() group_left c",
                "a - ignoring () group_left () c",
            ),
            ("a + fill(-23) b", "a + fill (-23) b"),
            (
                "a + fill_left(-23) fill_right(42) b",
                "a + fill_left (-23) fill_right (42) b",
            ),
            (
                "a + on(b) group_left fill(-23) c",
                "a + on (b) group_left () fill (-23) c",
            ),
            ("up > bool 0", "up > bool 0"),
            ("a offset -7m", "a offset -7m"),
            (r#"a{c="d"}[5m] offset 1m"#, r#"a{c="d"}[5m] offset 1m"#),
            ("a[1h:5m] offset 1m", "a[1h:5m] offset 1m"),
            (r#"{__name__="a"}"#, r#"{__name__="a"}"#),
            ("a @ 10", "a @ 10.000"),
            ("a[1m] @ end()", "a[1m] @ end()"),
            (
                r#"a{b="c"}[5m] anchored @ start() offset 1m"#,
                r#"a{b="c"}[5m] anchored @ start() offset 1m"#,
            ),
            ("a smoothed", "a smoothed"),
        ];
        for (input, want) in cases {
            let e =
                parse_with(input, ParserOptions::all()).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(&e.to_string(), want, "printing {input}");
        }
    }
}
