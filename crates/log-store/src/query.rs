//! Query execution over the store: log queries (stream selection, pipeline, `direction`,
//! `limit`, `interval`) here, metric queries through the LogQL evaluator after the needed
//! entries are fetched from the store.

pub mod logs;
pub mod metric;
pub mod params;

use lgtm_common::error::{ErrorKind, HasErrorKind};

use crate::logql::ParseError;
use crate::logql::eval::EvalError;
use crate::store::StoreError;

/// Errors of a query, with Loki's texts; the kind decides the status.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// Parameter or query text problems (400).
    #[error("{0}")]
    BadRequest(String),
    /// The query does not parse (400).
    #[error("{0}")]
    Parse(#[from] ParseError),
    /// Evaluation failed on a client-fixable condition (400) or matching (500).
    #[error("{0}")]
    Eval(#[from] EvalError),
    /// Storage failed (500).
    #[error("{0}")]
    Store(#[from] StoreError),
}

impl HasErrorKind for QueryError {
    fn error_kind(&self) -> ErrorKind {
        match self {
            QueryError::BadRequest(_) | QueryError::Parse(_) => ErrorKind::BadData,
            QueryError::Eval(EvalError::Matching(_)) => ErrorKind::Internal,
            QueryError::Eval(_) => ErrorKind::BadData,
            QueryError::Store(_) => ErrorKind::Internal,
        }
    }
}

/// Query direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Oldest first.
    Forward,
    /// Newest first (Loki's default).
    Backward,
}
