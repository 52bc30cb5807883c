//! Configuration loading shared by every service: YAML files in the upstream component's own
//! format, `${VAR}` expansion as Loki/Tempo/Promtail's `-config.expand-env` does it, Go-style
//! and kingpin-style command-line flags, and byte sizes in each upstream's syntax.
//!
//! Config structs mirror the upstream YAML with `#[serde(deny_unknown_fields)]`; a mistake comes
//! back as one line naming the file, line, column, key path and problem:
//! `loki.yaml:3:3: server: unknown field "foo", expected "http_listen_port" or "grpc_listen_port"`.

mod bytesize;
mod env;
pub mod flags;
#[cfg(test)]
mod tests;
mod yaml;

pub use bytesize::{Base2Bytes, ByteSize, ByteSizeError};
pub use env::{EnvError, EnvLookup, expand_env, expand_env_os};
pub use flags::{FlagError, FlagKind, FlagSet, FlagStyle, FlagValue};
pub use yaml::{
    first_existing_file, from_yaml_named, from_yaml_str, load_yaml_file, read_config_text,
    yaml11_bool, yaml11_bool_opt,
};

use std::path::PathBuf;

/// Why a configuration file could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{}: {source}", path.display())]
    Read {
        /// The file asked for.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// `${...}` expansion failed (drone/envsubst's `bad substitution`).
    #[error("{file}: {source}")]
    Env {
        /// File name (or `<string>` for inline text).
        file: String,
        /// What went wrong.
        source: EnvError,
    },
    /// The YAML is malformed or does not fit the config structure.
    #[error("{}", render_yaml_error(.file, *.line, *.column, .path, .message))]
    Yaml {
        /// File name (or `<string>` for inline text).
        file: String,
        /// 1-based line, when known.
        line: Option<usize>,
        /// 1-based column, when known.
        column: Option<usize>,
        /// Dotted path of the offending key (`server.http_listen_port`, `list[1].name`), empty
        /// at the top level.
        path: String,
        /// The problem, with field names in double quotes.
        message: String,
    },
}

/// `file:line:col: path: message`, leaving out what is unknown.
fn render_yaml_error(
    file: &str,
    line: Option<usize>,
    column: Option<usize>,
    path: &str,
    message: &str,
) -> String {
    let mut out = file.to_owned();
    if let Some(line) = line {
        out.push_str(&format!(":{line}"));
        if let Some(column) = column {
            out.push_str(&format!(":{column}"));
        }
    }
    out.push_str(": ");
    if !path.is_empty() {
        out.push_str(path);
        out.push_str(": ");
    }
    out.push_str(message);
    out
}
