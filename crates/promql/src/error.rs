//! The crate's error type. Messages follow Prometheus' texts, because the HTTP API returns
//! them verbatim to Grafana and users compare them with upstream.

/// Everything that can go wrong parsing or evaluating a query.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// Syntax or type error, with `line:col`.
    #[error("{pos}: parse error: {msg}")]
    Parse {
        /// `line:col` of the offending token.
        pos: String,
        /// Description.
        msg: String,
    },
    /// Evaluation failed (bad data, many-to-many matching, duplicate series, ...).
    #[error("{0}")]
    Eval(String),
    /// The max-samples limit was hit.
    #[error("query processing would load too many samples into memory in query execution")]
    TooManySamples,
    /// The query ran longer than its timeout.
    #[error("query timed out in {0}")]
    Timeout(&'static str),
    /// The query was cancelled by its caller.
    #[error("query was canceled in {0}")]
    Canceled(&'static str),
    /// The storage failed to answer a select.
    #[error("storage error: {0}")]
    Storage(String),
}

impl Error {
    /// True for errors the HTTP API reports as `bad_data` (the caller's query is wrong).
    pub fn is_bad_data(&self) -> bool {
        matches!(self, Error::Parse { .. })
    }

    /// True for errors reported as `execution`.
    pub fn is_execution(&self) -> bool {
        matches!(
            self,
            Error::Eval(_) | Error::TooManySamples | Error::Storage(_)
        )
    }
}

/// Result alias.
pub type Result<T, E = Error> = std::result::Result<T, E>;
