//! Errors, worded and positioned like Go's `text/template` so users recognise them.

/// A parse or execution failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The template text does not parse: `template: NAME:LINE: MESSAGE`.
    #[error("template: {name}:{line}: {message}")]
    Parse {
        /// Name the text was parsed as.
        name: String,
        /// 1-based line of the offending token.
        line: usize,
        /// Go's message (`function "foo" not defined`, `unexpected EOF`, ...).
        message: String,
    },
    /// Execution failed:
    /// `template: NAME:LINE:COL: executing "TEMPLATE" at <NODE>: MESSAGE`.
    #[error("template: {location}: executing {template:?} at <{context}>: {message}")]
    Exec {
        /// `parse-name:line:column` (column is the 0-based byte offset in the line, as Go's).
        location: String,
        /// The template being executed when it failed.
        template: String,
        /// The node that failed, as Go prints it.
        context: String,
        /// What went wrong (`map has no entry for key "Foo"`, `error calling humanize: ...`).
        message: String,
    },
    /// `execute` named a template that was never defined.
    #[error("template: no template {name:?} associated with template {set:?}")]
    NoTemplate {
        /// The requested template.
        name: String,
        /// The set's name.
        set: String,
    },
    /// The template exists but has no body (`{{define "x"}}{{end}}` never parsed, or empty).
    #[error("template: {name}: {name:?} is an incomplete or empty template")]
    Incomplete {
        /// The template name.
        name: String,
    },
}

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
