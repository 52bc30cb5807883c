//! LogQL: the query language of Loki, parsed and evaluated the way Loki 3.6 does.
//!
//! * [`parse`] turns a query into an [`ast::Expr`], with Loki's error texts and positions
//!   (`parse error at line 1, col 11: syntax error: unexpected $end, expecting } or ,`).
//! * [`ast::Expr`]'s `Display` is Loki's canonical form; [`ast::Expr::pretty`] is the
//!   `/loki/api/v1/format_query` output.
//! * [`pipeline::Pipeline`] runs a log query's stages over one entry (line filters, parsers,
//!   label filters, formatters, `drop`/`keep`/`decolorize`).
//! * [`select::select_logs`] runs a log query over in-memory streams (range, limit,
//!   direction, result grouping); [`eval::Evaluator`] runs metric queries over them.
//!
//! Everything is checked against the answers recorded from Loki 3.6 in
//! `../shared/conformance/loki` (see `corpus_tests.rs` and `docs/log-store.md`).

pub mod ast;
pub mod eval;
mod ip;
mod lexer;
mod parser;
pub mod pipeline;
mod regex_go;
pub mod select;
pub mod units;

#[cfg(test)]
mod corpus_tests;
#[cfg(test)]
mod prop_tests;

use std::fmt;

pub use ast::Expr;
pub use parser::parse;

/// Parses a query and builds every pipeline in it, as Loki does before running a query, so
/// stage errors (a bad regex in a line filter, a bad template) surface as
/// `parse error : stage '...' : ...`.
pub fn parse_and_compile(input: &str) -> Result<Expr, ParseError> {
    let expr = parse(input)?;
    for log in expr.log_exprs() {
        pipeline::Pipeline::new(&log.stages)?;
    }
    Ok(expr)
}

/// A query that does not parse or validate. Displays exactly as Loki's `ParseError`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct ParseError {
    /// Message after the position (`syntax error: unexpected ...`).
    pub msg: String,
    /// 1-based line, 0 for errors found after parsing.
    pub line: usize,
    /// 1-based column (characters), 0 for errors found after parsing.
    pub col: usize,
}

impl ParseError {
    /// An error at a position.
    pub fn new(msg: impl Into<String>, line: usize, col: usize) -> Self {
        Self {
            msg: msg.into(),
            line,
            col,
        }
    }

    /// An error without position (semantic checks), shown as `parse error : <msg>`.
    pub fn semantic(msg: impl Into<String>) -> Self {
        Self::new(msg, 0, 0)
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 && self.col == 0 {
            write!(f, "parse error : {}", self.msg)
        } else {
            write!(
                f,
                "parse error at line {}, col {}: {}",
                self.line, self.col, self.msg
            )
        }
    }
}
