//! The LogQL syntax tree and its two printers: [`std::fmt::Display`] writes Loki's canonical
//! one-line form (`Expr.String()`), [`Expr::pretty`] the indented form `/format_query` returns.
//!
//! Printing then parsing gives the same tree back (tested over the conformance corpus).

use std::fmt::{self, Display, Write as _};

use lgtm_common::labels::Matcher;

use super::units::{
    format_bytes, format_go_duration, format_prom_duration, go_float_f, go_float_v, go_quote,
    parse_bytes,
};

/// A whole query: a log query (streams) or a metric query (samples).
#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    /// `{selector} | pipeline`.
    Log(LogExpr),
    /// Range/vector aggregations, binary operations, literals, `vector()`, `label_replace`.
    Sample(SampleExpr),
}

/// A stream selector with its pipeline.
#[derive(Clone, Debug, PartialEq)]
pub struct LogExpr {
    /// Stream matchers (`{app="x", env=~"p.*"}`).
    pub matchers: Vec<Matcher>,
    /// Pipeline stages in query order.
    pub stages: Vec<Stage>,
}

/// One pipeline stage.
#[derive(Clone, Debug, PartialEq)]
pub enum Stage {
    /// `|= "x"`, `!~ "re"`, `|> "<_> pat"`, `|= ip("10.0.0.0/8")`, with `or` alternatives.
    LineFilter(LineFilter),
    /// `| logfmt [--strict] [--keep-empty] [a, b="c"]`.
    Logfmt {
        /// Stop at the first malformed pair and set `__error__`.
        strict: bool,
        /// Keep standalone keys as empty labels.
        keep_empty: bool,
        /// Only these labels when non-empty.
        params: Vec<LabelExtraction>,
    },
    /// `| json` or `| json a="path", b`.
    Json(Vec<LabelExtraction>),
    /// `| regexp "re"` (named groups become labels).
    Regexp(String),
    /// `| pattern "<a> <_>"`.
    Pattern(String),
    /// `| unpack`.
    Unpack,
    /// `| <label filter>`.
    LabelFilter(LabelFilter),
    /// `| line_format "template"`.
    LineFormat(String),
    /// `| label_format a=b, c="template"`.
    LabelFormat(Vec<LabelFormat>),
    /// `| decolorize`.
    Decolorize,
    /// `| drop a, b="v"`.
    Drop(Vec<NamedMatcher>),
    /// `| keep a, b="v"`.
    Keep(Vec<NamedMatcher>),
}

/// Line filter operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineFilterOp {
    /// `|=`
    Contains,
    /// `!=`
    NotContains,
    /// `|~`
    Match,
    /// `!~`
    NotMatch,
    /// `|>`
    Pattern,
    /// `!>`
    NotPattern,
}

impl LineFilterOp {
    /// The operator as written.
    pub fn as_str(self) -> &'static str {
        match self {
            LineFilterOp::Contains => "|=",
            LineFilterOp::NotContains => "!=",
            LineFilterOp::Match => "|~",
            LineFilterOp::NotMatch => "!~",
            LineFilterOp::Pattern => "|>",
            LineFilterOp::NotPattern => "!>",
        }
    }

    /// True for the negative operators (`!=`, `!~`, `!>`).
    pub fn is_negative(self) -> bool {
        matches!(
            self,
            LineFilterOp::NotContains | LineFilterOp::NotMatch | LineFilterOp::NotPattern
        )
    }
}

/// The operand of a line filter.
#[derive(Clone, Debug, PartialEq)]
pub enum FilterValue {
    /// A string (substring, regex or pattern depending on the operator).
    Str(String),
    /// `ip("cidr|range|addr")`.
    Ip(String),
}

/// A line filter: an operator and one or more alternatives joined by `or`.
///
/// Negative operators with `or` are split at parse time into separate filters, as Loki does
/// (`!= "a" or "b"` means `!= "a" != "b"`), so `values` has one entry for them.
#[derive(Clone, Debug, PartialEq)]
pub struct LineFilter {
    /// The operator.
    pub op: LineFilterOp,
    /// Alternatives (`or`); at least one.
    pub values: Vec<FilterValue>,
}

/// `name` or `name="expression"` in `json`/`logfmt` parameters.
#[derive(Clone, Debug, PartialEq)]
pub struct LabelExtraction {
    /// Label to create.
    pub name: String,
    /// JSON path or logfmt key (equals `name` for the bare form).
    pub expression: String,
}

/// One `label_format` assignment.
#[derive(Clone, Debug, PartialEq)]
pub struct LabelFormat {
    /// Target label.
    pub name: String,
    /// Source label (rename) or template source.
    pub value: String,
    /// True for `a=b` (rename), false for `a="template"`.
    pub rename: bool,
}

/// An entry of `drop`/`keep`: a bare name or a matcher.
#[derive(Clone, Debug, PartialEq)]
pub enum NamedMatcher {
    /// Bare label name.
    Name(String),
    /// `name op "value"`.
    Matcher(Matcher),
}

/// Comparison operators of number/duration/bytes label filters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CmpOp {
    /// `==` (also written `=`)
    Eq,
    /// `!=`
    Ne,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `<`
    Lt,
    /// `<=`
    Le,
}

impl CmpOp {
    /// The operator as Loki prints it.
    pub fn as_str(self) -> &'static str {
        match self {
            CmpOp::Eq => "==",
            CmpOp::Ne => "!=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
        }
    }

    /// Applies the comparison.
    pub fn compare<T: PartialOrd>(self, a: T, b: T) -> bool {
        match self {
            CmpOp::Eq => a == b,
            CmpOp::Ne => a != b,
            CmpOp::Gt => a > b,
            CmpOp::Ge => a >= b,
            CmpOp::Lt => a < b,
            CmpOp::Le => a <= b,
        }
    }
}

/// A label filter predicate.
#[derive(Clone, Debug, PartialEq)]
pub enum LabelFilter {
    /// String comparison (`=`, `!=`, `=~`, `!~`); the only one that can test `__error__`.
    Matcher(Matcher),
    /// `name op 1.5`.
    Number {
        /// Label.
        name: String,
        /// Comparison.
        op: CmpOp,
        /// Right-hand side.
        value: f64,
    },
    /// `name op 250ms` (nanoseconds).
    Duration {
        /// Label.
        name: String,
        /// Comparison.
        op: CmpOp,
        /// Right-hand side in nanoseconds.
        value: i64,
    },
    /// `name op 20MB` (bytes).
    Bytes {
        /// Label.
        name: String,
        /// Comparison.
        op: CmpOp,
        /// Right-hand side in bytes.
        value: u64,
    },
    /// `name = ip("...")` / `name != ip("...")`.
    Ip {
        /// Label.
        name: String,
        /// True for `!=`.
        negate: bool,
        /// CIDR, range or address.
        pattern: String,
    },
    /// `a and b`, `a, b`, `a b`.
    And(Box<LabelFilter>, Box<LabelFilter>),
    /// `a or b`.
    Or(Box<LabelFilter>, Box<LabelFilter>),
}

/// Metric expressions.
#[derive(Clone, Debug, PartialEq)]
pub enum SampleExpr {
    /// `rate(...)`, `sum_over_time(...)`, ...
    RangeAggregation(RangeAggregation),
    /// `sum by (x) (...)`, `topk(3, ...)`, ...
    VectorAggregation(VectorAggregation),
    /// `a + b`, `a / on (x) group_left b`, ...
    BinOp(BinOp),
    /// A number.
    Literal(f64),
    /// `vector(1)`.
    Vector(f64),
    /// `label_replace(expr, "dst", "replacement", "src", "regex")`.
    LabelReplace(LabelReplace),
}

/// Range aggregation functions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RangeOp {
    /// `count_over_time`
    CountOverTime,
    /// `rate`
    Rate,
    /// `rate_counter`
    RateCounter,
    /// `bytes_over_time`
    BytesOverTime,
    /// `bytes_rate`
    BytesRate,
    /// `avg_over_time`
    AvgOverTime,
    /// `sum_over_time`
    SumOverTime,
    /// `min_over_time`
    MinOverTime,
    /// `max_over_time`
    MaxOverTime,
    /// `stdvar_over_time`
    StdvarOverTime,
    /// `stddev_over_time`
    StddevOverTime,
    /// `quantile_over_time`
    QuantileOverTime,
    /// `first_over_time`
    FirstOverTime,
    /// `last_over_time`
    LastOverTime,
    /// `absent_over_time`
    AbsentOverTime,
}

impl RangeOp {
    /// All operations, for name lookups.
    pub const ALL: [RangeOp; 15] = [
        RangeOp::CountOverTime,
        RangeOp::Rate,
        RangeOp::RateCounter,
        RangeOp::BytesOverTime,
        RangeOp::BytesRate,
        RangeOp::AvgOverTime,
        RangeOp::SumOverTime,
        RangeOp::MinOverTime,
        RangeOp::MaxOverTime,
        RangeOp::StdvarOverTime,
        RangeOp::StddevOverTime,
        RangeOp::QuantileOverTime,
        RangeOp::FirstOverTime,
        RangeOp::LastOverTime,
        RangeOp::AbsentOverTime,
    ];

    /// The function name.
    pub fn as_str(self) -> &'static str {
        match self {
            RangeOp::CountOverTime => "count_over_time",
            RangeOp::Rate => "rate",
            RangeOp::RateCounter => "rate_counter",
            RangeOp::BytesOverTime => "bytes_over_time",
            RangeOp::BytesRate => "bytes_rate",
            RangeOp::AvgOverTime => "avg_over_time",
            RangeOp::SumOverTime => "sum_over_time",
            RangeOp::MinOverTime => "min_over_time",
            RangeOp::MaxOverTime => "max_over_time",
            RangeOp::StdvarOverTime => "stdvar_over_time",
            RangeOp::StddevOverTime => "stddev_over_time",
            RangeOp::QuantileOverTime => "quantile_over_time",
            RangeOp::FirstOverTime => "first_over_time",
            RangeOp::LastOverTime => "last_over_time",
            RangeOp::AbsentOverTime => "absent_over_time",
        }
    }

    /// Looks an operation up by name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.as_str() == name)
    }
}

/// Unwrap conversions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Conversion {
    /// `bytes(x)`
    Bytes,
    /// `duration(x)` (seconds)
    Duration,
    /// `duration_seconds(x)`
    DurationSeconds,
}

impl Conversion {
    /// The function name.
    pub fn as_str(self) -> &'static str {
        match self {
            Conversion::Bytes => "bytes",
            Conversion::Duration => "duration",
            Conversion::DurationSeconds => "duration_seconds",
        }
    }
}

/// `| unwrap [conv(]label[)] [| label filter ...]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Unwrap {
    /// Label whose value becomes the sample.
    pub label: String,
    /// Optional conversion.
    pub conversion: Option<Conversion>,
    /// Label filters after the unwrap.
    pub post_filters: Vec<LabelFilter>,
}

/// A log range: `<log expr> [| unwrap ...] [range] [offset d]`.
#[derive(Clone, Debug, PartialEq)]
pub struct LogRange {
    /// Selector and pipeline.
    pub log: LogExpr,
    /// Range in nanoseconds.
    pub range: i64,
    /// Offset in nanoseconds (0 = none).
    pub offset: i64,
    /// Unwrap clause.
    pub unwrap: Option<Unwrap>,
}

/// `by (...)` / `without (...)`.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Grouping {
    /// True for `without`.
    pub without: bool,
    /// Label names.
    pub labels: Vec<String>,
}

/// `op([param,] log_range) [grouping]`.
#[derive(Clone, Debug, PartialEq)]
pub struct RangeAggregation {
    /// Function.
    pub op: RangeOp,
    /// φ of `quantile_over_time`.
    pub param: Option<f64>,
    /// Input.
    pub range: LogRange,
    /// Optional grouping (only for some functions).
    pub grouping: Option<Grouping>,
}

/// Vector aggregation operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VectorOp {
    /// `sum`
    Sum,
    /// `avg`
    Avg,
    /// `max`
    Max,
    /// `min`
    Min,
    /// `count`
    Count,
    /// `stddev`
    Stddev,
    /// `stdvar`
    Stdvar,
    /// `bottomk`
    Bottomk,
    /// `topk`
    Topk,
    /// `sort`
    Sort,
    /// `sort_desc`
    SortDesc,
    /// `approx_topk`
    ApproxTopk,
}

impl VectorOp {
    /// All operators.
    pub const ALL: [VectorOp; 12] = [
        VectorOp::Sum,
        VectorOp::Avg,
        VectorOp::Max,
        VectorOp::Min,
        VectorOp::Count,
        VectorOp::Stddev,
        VectorOp::Stdvar,
        VectorOp::Bottomk,
        VectorOp::Topk,
        VectorOp::Sort,
        VectorOp::SortDesc,
        VectorOp::ApproxTopk,
    ];

    /// The operator name.
    pub fn as_str(self) -> &'static str {
        match self {
            VectorOp::Sum => "sum",
            VectorOp::Avg => "avg",
            VectorOp::Max => "max",
            VectorOp::Min => "min",
            VectorOp::Count => "count",
            VectorOp::Stddev => "stddev",
            VectorOp::Stdvar => "stdvar",
            VectorOp::Bottomk => "bottomk",
            VectorOp::Topk => "topk",
            VectorOp::Sort => "sort",
            VectorOp::SortDesc => "sort_desc",
            VectorOp::ApproxTopk => "approx_topk",
        }
    }

    /// Looks an operator up by name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.as_str() == name)
    }

    /// True for the operators taking a `k` parameter.
    pub fn takes_param(self) -> bool {
        matches!(
            self,
            VectorOp::Topk | VectorOp::Bottomk | VectorOp::ApproxTopk
        )
    }
}

/// `op [grouping] ([k,] expr) [grouping]`.
#[derive(Clone, Debug, PartialEq)]
pub struct VectorAggregation {
    /// Operator.
    pub op: VectorOp,
    /// `k` of `topk`/`bottomk`/`approx_topk`.
    pub param: Option<i64>,
    /// Input.
    pub expr: Box<SampleExpr>,
    /// Grouping; `by ()` (the default) aggregates everything.
    pub grouping: Grouping,
}

/// Binary operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinOpKind {
    /// `or`
    Or,
    /// `and`
    And,
    /// `unless`
    Unless,
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
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `<`
    Lt,
    /// `<=`
    Le,
}

impl BinOpKind {
    /// The operator as written.
    pub fn as_str(self) -> &'static str {
        match self {
            BinOpKind::Or => "or",
            BinOpKind::And => "and",
            BinOpKind::Unless => "unless",
            BinOpKind::Add => "+",
            BinOpKind::Sub => "-",
            BinOpKind::Mul => "*",
            BinOpKind::Div => "/",
            BinOpKind::Mod => "%",
            BinOpKind::Pow => "^",
            BinOpKind::Eq => "==",
            BinOpKind::Ne => "!=",
            BinOpKind::Gt => ">",
            BinOpKind::Ge => ">=",
            BinOpKind::Lt => "<",
            BinOpKind::Le => "<=",
        }
    }

    /// Binding strength (higher binds tighter), as in Loki's grammar.
    pub fn precedence(self) -> u8 {
        match self {
            BinOpKind::Or => 1,
            BinOpKind::And | BinOpKind::Unless => 2,
            BinOpKind::Eq
            | BinOpKind::Ne
            | BinOpKind::Gt
            | BinOpKind::Ge
            | BinOpKind::Lt
            | BinOpKind::Le => 3,
            BinOpKind::Add | BinOpKind::Sub => 4,
            BinOpKind::Mul | BinOpKind::Div | BinOpKind::Mod => 5,
            BinOpKind::Pow => 6,
        }
    }

    /// True for `and`, `or`, `unless`.
    pub fn is_set_op(self) -> bool {
        matches!(self, BinOpKind::Or | BinOpKind::And | BinOpKind::Unless)
    }

    /// True for comparison operators.
    pub fn is_comparison(self) -> bool {
        matches!(
            self,
            BinOpKind::Eq
                | BinOpKind::Ne
                | BinOpKind::Gt
                | BinOpKind::Ge
                | BinOpKind::Lt
                | BinOpKind::Le
        )
    }

    /// Applies the operator to two numbers (comparisons give 0/1), as Loki folds literals.
    pub fn apply(self, a: f64, b: f64) -> f64 {
        let flag = |c: bool| if c { 1.0 } else { 0.0 };
        match self {
            BinOpKind::Add => a + b,
            BinOpKind::Sub => a - b,
            BinOpKind::Mul => a * b,
            BinOpKind::Div => {
                if b == 0.0 {
                    f64::NAN
                } else {
                    a / b
                }
            }
            BinOpKind::Mod => {
                if b == 0.0 {
                    f64::NAN
                } else {
                    a % b
                }
            }
            BinOpKind::Pow => a.powf(b),
            BinOpKind::Eq => flag(a == b),
            BinOpKind::Ne => flag(a != b),
            BinOpKind::Gt => flag(a > b),
            BinOpKind::Ge => flag(a >= b),
            BinOpKind::Lt => flag(a < b),
            BinOpKind::Le => flag(a <= b),
            BinOpKind::Or | BinOpKind::And | BinOpKind::Unless => f64::NAN,
        }
    }
}

/// Matching cardinality.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Cardinality {
    /// Default.
    #[default]
    OneToOne,
    /// `group_left`
    ManyToOne,
    /// `group_right`
    OneToMany,
}

/// `bool`, `on`/`ignoring`, `group_left`/`group_right`.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct BinOpOptions {
    /// `bool` modifier.
    pub return_bool: bool,
    /// True for `on (...)`.
    pub on: bool,
    /// Labels of `on`/`ignoring`.
    pub matching_labels: Vec<String>,
    /// Cardinality.
    pub card: Cardinality,
    /// Labels in `group_x (...)`; `None` when written without a list.
    pub include: Option<Vec<String>>,
}

/// A binary operation.
#[derive(Clone, Debug, PartialEq)]
pub struct BinOp {
    /// Operator.
    pub op: BinOpKind,
    /// Modifiers.
    pub opts: BinOpOptions,
    /// Left operand.
    pub lhs: Box<SampleExpr>,
    /// Right operand.
    pub rhs: Box<SampleExpr>,
}

/// `label_replace(...)`.
#[derive(Clone, Debug, PartialEq)]
pub struct LabelReplace {
    /// Input.
    pub expr: Box<SampleExpr>,
    /// Destination label.
    pub dst: String,
    /// Replacement template (`$1`).
    pub replacement: String,
    /// Source label.
    pub src: String,
    /// Regex (anchored at evaluation).
    pub regex: String,
}

// ---------------------------------------------------------------------------------------
// Canonical printer (Loki's String()).

fn write_matchers(f: &mut fmt::Formatter<'_>, matchers: &[Matcher]) -> fmt::Result {
    f.write_char('{')?;
    for (i, m) in matchers.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        write_matcher(f, m)?;
    }
    f.write_char('}')
}

fn write_matcher(f: &mut impl fmt::Write, m: &Matcher) -> fmt::Result {
    write!(f, "{}{}{}", m.name, m.op, go_quote(&m.value))
}

impl Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Log(l) => l.fmt(f),
            Expr::Sample(s) => s.fmt(f),
        }
    }
}

impl Display for LogExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_matchers(f, &self.matchers)?;
        for s in &self.stages {
            write!(f, " {s}")?;
        }
        Ok(())
    }
}

impl Display for FilterValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FilterValue::Str(s) => f.write_str(&go_quote(s)),
            FilterValue::Ip(s) => write!(f, "ip({})", go_quote(s)),
        }
    }
}

impl Display for LineFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.op.as_str())?;
        for (i, v) in self.values.iter().enumerate() {
            if i > 0 {
                f.write_str(" or")?;
            }
            write!(f, " {v}")?;
        }
        Ok(())
    }
}

fn write_extractions(f: &mut fmt::Formatter<'_>, params: &[LabelExtraction]) -> fmt::Result {
    for (i, p) in params.iter().enumerate() {
        if i > 0 {
            f.write_char(',')?;
        }
        write!(f, "{}={}", p.name, go_quote(&p.expression))?;
    }
    Ok(())
}

fn write_named(f: &mut fmt::Formatter<'_>, list: &[NamedMatcher]) -> fmt::Result {
    for (i, m) in list.iter().enumerate() {
        if i > 0 {
            f.write_char(',')?;
        }
        match m {
            NamedMatcher::Name(n) => f.write_str(n)?,
            NamedMatcher::Matcher(m) => write_matcher(f, m)?,
        }
    }
    Ok(())
}

impl Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Stage::LineFilter(l) => l.fmt(f),
            Stage::Logfmt {
                strict,
                keep_empty,
                params,
            } => {
                f.write_str("| logfmt")?;
                if params.is_empty() {
                    if *strict {
                        f.write_str(" --strict")?;
                    }
                    if *keep_empty {
                        f.write_str(" --keep-empty")?;
                    }
                    return Ok(());
                }
                f.write_char(' ')?;
                if *strict {
                    f.write_str("--strict ")?;
                }
                if *keep_empty {
                    f.write_str("--keep-empty ")?;
                }
                write_extractions(f, params)
            }
            Stage::Json(params) => {
                if params.is_empty() {
                    return f.write_str("| json");
                }
                f.write_str("| json ")?;
                write_extractions(f, params)
            }
            Stage::Regexp(re) => write!(f, "| regexp {}", go_quote(re)),
            Stage::Pattern(p) => write!(f, "| pattern {}", go_quote(p)),
            Stage::Unpack => f.write_str("| unpack"),
            Stage::LabelFilter(lf) => write!(f, "| {lf}"),
            Stage::LineFormat(t) => write!(f, "| line_format {}", go_quote(t)),
            Stage::LabelFormat(list) => {
                f.write_str("| label_format ")?;
                for (i, l) in list.iter().enumerate() {
                    if i > 0 {
                        f.write_char(',')?;
                    }
                    if l.rename {
                        write!(f, "{}={}", l.name, l.value)?;
                    } else {
                        write!(f, "{}={}", l.name, go_quote(&l.value))?;
                    }
                }
                Ok(())
            }
            Stage::Decolorize => f.write_str("| decolorize"),
            Stage::Drop(list) => {
                f.write_str("| drop ")?;
                write_named(f, list)
            }
            Stage::Keep(list) => {
                f.write_str("| keep ")?;
                write_named(f, list)
            }
        }
    }
}

/// Bytes as Loki prints them (humanised), unless that would change the value: then exact.
fn bytes_literal(v: u64) -> String {
    let h = format_bytes(v);
    if parse_bytes(&h) == Ok(v) {
        h
    } else {
        format!("{v}B")
    }
}

impl Display for LabelFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LabelFilter::Matcher(m) => write_matcher(f, m),
            LabelFilter::Number { name, op, value } => {
                write!(f, "{name}{}{}", op.as_str(), go_float_f(*value))
            }
            LabelFilter::Duration { name, op, value } => {
                write!(f, "{name}{}{}", op.as_str(), format_go_duration(*value))
            }
            LabelFilter::Bytes { name, op, value } => {
                write!(f, "{name}{}{}", op.as_str(), bytes_literal(*value))
            }
            LabelFilter::Ip {
                name,
                negate,
                pattern,
            } => {
                let op = if *negate { "!=" } else { "=" };
                write!(f, "{name}{op}ip({})", go_quote(pattern))
            }
            LabelFilter::And(a, b) => write!(f, "( {a} , {b} )"),
            LabelFilter::Or(a, b) => write!(f, "( {a} or {b} )"),
        }
    }
}

impl Display for Unwrap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.conversion {
            Some(c) => write!(f, " | unwrap {}({})", c.as_str(), self.label)?,
            None => write!(f, " | unwrap {}", self.label)?,
        }
        for pf in &self.post_filters {
            write!(f, " | {pf}")?;
        }
        Ok(())
    }
}

impl Display for LogRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.log.fmt(f)?;
        if let Some(u) = &self.unwrap {
            u.fmt(f)?;
        }
        write!(f, "[{}]", format_prom_duration(self.range))?;
        if self.offset != 0 {
            write!(f, " offset {}", format_prom_duration(self.offset))?;
        }
        Ok(())
    }
}

impl Display for Grouping {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kw = if self.without { "without" } else { "by" };
        write!(f, " {kw} ({})", self.labels.join(","))
    }
}

impl Grouping {
    /// `by ()`: aggregates everything into one series.
    pub fn is_singleton(&self) -> bool {
        !self.without && self.labels.is_empty()
    }

    fn pretty(&self) -> String {
        let mut s = String::new();
        if self.without {
            s.push_str(" without");
        } else if !self.labels.is_empty() {
            s.push_str(" by");
        }
        if !self.labels.is_empty() {
            s.push_str(&format!(" ({})", self.labels.join(", ")));
        }
        s
    }
}

impl Display for SampleExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SampleExpr::RangeAggregation(r) => {
                write!(f, "{}(", r.op.as_str())?;
                if let Some(p) = r.param {
                    write!(f, "{},", go_float_f(p))?;
                }
                write!(f, "{})", r.range)?;
                if let Some(g) = &r.grouping {
                    g.fmt(f)?;
                }
                Ok(())
            }
            SampleExpr::VectorAggregation(v) => {
                f.write_str(v.op.as_str())?;
                if !v.grouping.is_singleton() {
                    v.grouping.fmt(f)?;
                }
                f.write_char('(')?;
                if let Some(p) = v.param {
                    write!(f, "{p},")?;
                }
                write!(f, "{})", v.expr)
            }
            SampleExpr::BinOp(b) => write!(f, "({} {} {})", b.lhs, binop_string(b), b.rhs),
            SampleExpr::Literal(v) => f.write_str(&go_float_v(*v)),
            SampleExpr::Vector(v) => write!(f, "vector({v:.6})"),
            SampleExpr::LabelReplace(l) => write!(
                f,
                "label_replace({},{},{},{},{})",
                l.expr,
                go_quote(&l.dst),
                go_quote(&l.replacement),
                go_quote(&l.src),
                go_quote(&l.regex)
            ),
        }
    }
}

/// The operator with its modifiers as `String()` writes it.
fn binop_string(b: &BinOp) -> String {
    let mut op = b.op.as_str().to_owned();
    let o = &b.opts;
    if o.return_bool {
        op.push_str(" bool");
    }
    let mut group = match o.card {
        Cardinality::OneToOne => String::new(),
        Cardinality::ManyToOne => "group_left".to_owned(),
        Cardinality::OneToMany => "group_right".to_owned(),
    };
    if let Some(inc) = &o.include {
        group = format!("{group} ({})", inc.join(","));
    }
    if o.on || !o.matching_labels.is_empty() {
        let kw = if o.on { "on" } else { "ignoring" };
        op = format!("{op} {kw} ({}) {group}", o.matching_labels.join(","));
    }
    op
}

/// The operator with its modifiers as the pretty printer writes it.
fn binop_pretty(b: &BinOp) -> String {
    let mut op = b.op.as_str().to_owned();
    let o = &b.opts;
    if o.return_bool {
        op.push_str(" bool");
    }
    let mut group = match o.card {
        Cardinality::OneToOne => String::new(),
        Cardinality::ManyToOne => "group_left".to_owned(),
        Cardinality::OneToMany => "group_right".to_owned(),
    };
    if let Some(inc) = o.include.as_ref().filter(|i| !i.is_empty()) {
        group = format!("{group} ({})", inc.join(", "));
    }
    if !o.matching_labels.is_empty() {
        let kw = if o.on { "on" } else { "ignoring" };
        op = format!("{op} {kw} ({}) {group}", o.matching_labels.join(", "));
    }
    op
}

// ---------------------------------------------------------------------------------------
// Pretty printer (Loki's Prettify, used by /format_query).

const MAX_CHARS_PER_LINE: usize = 100;

fn indent(level: usize) -> String {
    "  ".repeat(level)
}

fn needs_split(s: &str, width: usize) -> bool {
    s.len() > width
}

impl Expr {
    /// Loki's `/format_query` output: the canonical form, split over indented lines where a
    /// part is longer than 100 characters.
    pub fn pretty(&self) -> String {
        self.pretty_width(MAX_CHARS_PER_LINE)
    }

    /// [`Expr::pretty`] with another line width than Loki's 100 characters.
    pub fn pretty_width(&self, width: usize) -> String {
        match self {
            Expr::Log(l) => l.pretty(0, width),
            Expr::Sample(s) => s.pretty(0, width),
        }
    }
}

impl LogExpr {
    fn pretty(&self, level: usize, width: usize) -> String {
        let whole = self.to_string();
        if self.stages.is_empty() || !needs_split(&whole, width) {
            return indent(level) + &whole;
        }
        let mut sel = String::new();
        let _ = write_matchers_to(&mut sel, &self.matchers);
        let mut s = format!("{}{sel}", indent(level));
        let inner = indent(level + 1);
        let mut i = 0;
        while i < self.stages.len() {
            s.push('\n');
            let st = &self.stages[i];
            if let Stage::LineFilter(_) = st {
                // Consecutive line filters are one stage in Loki's tree.
                let mut group = Vec::new();
                while let Some(Stage::LineFilter(l)) = self.stages.get(i) {
                    group.push(l.to_string());
                    i += 1;
                }
                let joined = group.join(" ");
                if needs_split(&joined, width) {
                    let lines: Vec<String> = group.iter().map(|g| format!("{inner}{g}")).collect();
                    s.push_str(&lines.join("\n"));
                } else {
                    s.push_str(&inner);
                    s.push_str(&joined);
                }
                continue;
            }
            if !matches!(st, Stage::Decolorize) {
                s.push_str(&inner);
            }
            s.push_str(&st.to_string());
            i += 1;
        }
        s
    }
}

fn write_matchers_to(out: &mut String, matchers: &[Matcher]) -> fmt::Result {
    out.push('{');
    for (i, m) in matchers.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        write_matcher(out, m)?;
    }
    out.push('}');
    Ok(())
}

impl LogRange {
    fn pretty(&self, level: usize, width: usize) -> String {
        let mut s = self.log.pretty(level, width);
        if let Some(u) = &self.unwrap {
            s.push('\n');
            let l = level + 1;
            s.push_str(&indent(l));
            match u.conversion {
                Some(c) => s.push_str(&format!("| unwrap {}({})", c.as_str(), u.label)),
                None => s.push_str(&format!("| unwrap {}", u.label)),
            }
            for pf in &u.post_filters {
                s.push_str(&format!("\n{}| {pf}", indent(l)));
            }
        }
        s.push_str(&format!(" [{}]", format_prom_duration(self.range)));
        if self.offset != 0 {
            s.push_str(&format!(" offset {}", format_prom_duration(self.offset)));
        }
        s
    }
}

impl SampleExpr {
    fn pretty(&self, level: usize, width: usize) -> String {
        let whole = self.to_string();
        let pad = indent(level);
        if !needs_split(&whole, width) {
            return pad + &whole;
        }
        match self {
            SampleExpr::RangeAggregation(r) => {
                let mut s = format!("{pad}{}(\n", r.op.as_str());
                if let Some(p) = r.param {
                    s.push_str(&format!("{}{},\n", indent(level + 1), go_float_v(p)));
                }
                s.push_str(&r.range.pretty(level + 1, width));
                s.push_str(&format!("\n{pad})"));
                if let Some(g) = &r.grouping {
                    s.push_str(&g.pretty());
                }
                s
            }
            SampleExpr::VectorAggregation(v) => {
                let left = v.expr.pretty(level + 1, width);
                let mut params = Vec::new();
                if let Some(p) = v.param {
                    params.push(format!("{}{p}", indent(level + 1)));
                }
                params.push(left);
                let mut s = format!("{pad}{}{}(\n", v.op.as_str(), v.grouping.pretty());
                let n = params.len();
                for (i, p) in params.into_iter().enumerate() {
                    s.push_str(&p);
                    if i + 1 < n {
                        s.push(',');
                    }
                    s.push('\n');
                }
                s.push_str(&pad);
                s.push(')');
                s
            }
            SampleExpr::BinOp(b) => {
                let mut s = b.lhs.pretty(level + 1, width);
                s.push('\n');
                s.push_str(&format!("{pad}{}\n", binop_pretty(b)));
                s.push_str(&b.rhs.pretty(level + 1, width));
                s
            }
            SampleExpr::LabelReplace(l) => {
                let inner = indent(level + 1);
                let params = [
                    l.expr.pretty(level + 1, width),
                    format!("{inner}{}", go_quote(&l.dst)),
                    format!("{inner}{}", go_quote(&l.replacement)),
                    format!("{inner}{}", go_quote(&l.src)),
                    format!("{inner}{}", go_quote(&l.regex)),
                ];
                let mut s = format!("{pad}label_replace(\n");
                s.push_str(&params.join(",\n"));
                s.push_str(&format!("\n{pad})"));
                s
            }
            SampleExpr::Literal(_) | SampleExpr::Vector(_) => pad + &whole,
        }
    }
}

impl Expr {
    /// Every log expression in the query (the query itself, or each range aggregation's).
    pub fn log_exprs(&self) -> Vec<&LogExpr> {
        fn walk<'a>(s: &'a SampleExpr, out: &mut Vec<&'a LogExpr>) {
            match s {
                SampleExpr::RangeAggregation(r) => out.push(&r.range.log),
                SampleExpr::VectorAggregation(v) => walk(&v.expr, out),
                SampleExpr::BinOp(b) => {
                    walk(&b.lhs, out);
                    walk(&b.rhs, out);
                }
                SampleExpr::LabelReplace(l) => walk(&l.expr, out),
                SampleExpr::Literal(_) | SampleExpr::Vector(_) => {}
            }
        }
        let mut out = Vec::new();
        match self {
            Expr::Log(l) => out.push(l),
            Expr::Sample(s) => walk(s, &mut out),
        }
        out
    }
}

impl LogExpr {
    /// True when the pipeline can drop lines (a line filter other than an empty `|=`/`|~`,
    /// or a label filter), which lets storage skip work.
    pub fn has_filter(&self) -> bool {
        self.stages.iter().any(|s| match s {
            Stage::LabelFilter(_) => true,
            Stage::LineFilter(l) => {
                !(matches!(l.op, LineFilterOp::Contains | LineFilterOp::Match)
                    && l.values
                        .iter()
                        .all(|v| matches!(v, FilterValue::Str(s) if s.is_empty())))
            }
            _ => false,
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::logql::parse;

    /// Loki's own prettifier examples (its test uses a 20-character width).
    #[test]
    fn lokis_prettify_examples() {
        let cases = [
            (
                r#"{job="loki", instance="localhost"}"#,
                r#"{job="loki", instance="localhost"}"#,
            ),
            (
                r#"{job="loki", instance="localhost"}|logfmt|level="error" "#,
                "{job=\"loki\", instance=\"localhost\"}\n  | logfmt\n  | level=\"error\"",
            ),
            (
                r#"count_over_time({job="loki", instance="localhost"}|logfmt[1m])"#,
                "count_over_time(\n  {job=\"loki\", instance=\"localhost\"}\n    | logfmt [1m]\n)",
            ),
            (
                r#"count_over_time({job="loki", instance="localhost"}|= "error" != "memcached" |= ip("192.168.0.1") |logfmt[1m])"#,
                "count_over_time(\n  {job=\"loki\", instance=\"localhost\"}\n    |= \"error\"\n    != \"memcached\"\n    |= ip(\"192.168.0.1\")\n    | logfmt [1m]\n)",
            ),
        ];
        for (input, want) in cases {
            assert_eq!(parse(input).unwrap().pretty_width(20), want, "{input}");
        }
    }

    #[test]
    fn canonical_forms() {
        let p = |q: &str| parse(q).unwrap().to_string();
        assert_eq!(
            p(r#"sum by(a,b)(rate({x="y"}[5m]))"#),
            r#"sum by (a,b)(rate({x="y"}[5m]))"#
        );
        assert_eq!(p(r#"{x="y"} | l > 1.5s"#), r#"{x="y"} | l>1.5s"#);
        assert_eq!(p(r#"{x="y"} | l > 20MB"#), r#"{x="y"} | l>20MB"#);
        assert_eq!(p(r#"{x="y"} | l > 1KiB"#), r#"{x="y"} | l>1024B"#);
        assert_eq!(p(r#"{x="y"} | l = 1e-2"#), r#"{x="y"} | l==0.01"#);
        assert_eq!(p("vector(2) * 3"), "(vector(2.000000) * 3)");
        assert_eq!(p("1e6"), "1e+06");
        assert_eq!(
            p(r#"quantile_over_time(0.99, {x="y"} | unwrap d [1h] offset 90m) by (a)"#),
            r#"quantile_over_time(0.99,{x="y"} | unwrap d[1h] offset 1h30m) by (a)"#
        );
    }
}
