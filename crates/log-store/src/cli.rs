//! Loki's command line: `-config.file` (comma list, first existing file wins),
//! `-config.expand-env`, `-target`, `-server.http-listen-port`, `-log.level`,
//! `-log.format`, `-auth.enabled`, `-verify-config`. Precedence: defaults < file < flags.

use lgtm_common::config::{ConfigError, FlagError, FlagSet, FlagStyle, load_yaml_file};

use crate::config::Config;

/// Why the command line could not be turned into a config.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Bad flags, or `-help` (the usage text).
    #[error("{0}")]
    Flags(#[from] FlagError),
    /// The config file is unreadable or invalid.
    #[error("{0}")]
    Config(#[from] ConfigError),
    /// No file of the `-config.file` list exists.
    #[error("config file not found: {0}")]
    NotFound(String),
    /// `-target` names a module this binary does not run.
    #[error(
        "unsupported target {0:?}: log-store runs everything in one process (all, read, write, backend)"
    )]
    Target(String),
}

/// What the command line asks for besides running.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Serve.
    Run,
    /// `-verify-config`: the config loaded; exit.
    Verify,
    /// `-version`: print the version and exit.
    Version,
    /// `-list-targets`: print the targets and exit.
    ListTargets,
    /// `-health`: probe this URL and exit 0 when it answers 200.
    Health(String),
}

/// The parsed command line.
#[derive(Debug)]
pub struct Cli {
    /// The effective configuration.
    pub config: Config,
    /// What to do.
    pub action: Action,
}

/// Targets accepted by `-target` (one process runs them all).
pub const TARGETS: &[&str] = &["all", "read", "write", "backend"];

/// Parses Loki's flags and loads the config file.
pub fn from_args<I: IntoIterator<Item = String>>(args: I) -> Result<Cli, CliError> {
    let mut f = FlagSet::new("log-store", FlagStyle::Go);
    f.string(
        "config.file",
        "config.yaml,config/config.yaml",
        "configuration file to load (comma list; the first that exists is used)",
    )
    .bool(
        "config.expand-env",
        false,
        "expand ${VAR} and ${VAR:-default} in the config file",
    )
    .string(
        "target",
        "all",
        "modules to run (one process runs all of them)",
    )
    .int("server.http-listen-port", 3100, "HTTP listen port")
    .string("server.http-listen-address", "", "HTTP listen address")
    .string(
        "log.level",
        "info",
        "only log messages with the given severity or above: debug, info, warn, error",
    )
    .string(
        "log.format",
        "logfmt",
        "output log messages in the given format: logfmt, json",
    )
    .bool("auth.enabled", true, "require X-Scope-OrgID")
    .bool("verify-config", false, "verify the configuration and exit")
    .bool("version", false, "print the version and exit")
    .bool("list-targets", false, "list the available targets and exit")
    .bool(
        "health",
        false,
        "probe -health.url and exit 0 when it answers 200 (for images without curl)",
    )
    .string(
        "health.url",
        "http://localhost:3100/ready",
        "URL probed by -health",
    )
    .bool(
        "print-config-stderr",
        false,
        "print the effective config on stderr at start",
    );
    f.parse(args)?;
    let flag = |n: &str| f.get_bool(n).unwrap_or(false);
    let early = if flag("version") {
        Some(Action::Version)
    } else if flag("list-targets") {
        Some(Action::ListTargets)
    } else if flag("health") {
        Some(Action::Health(
            f.get_str("health.url").unwrap_or_default().to_owned(),
        ))
    } else {
        None
    };
    if let Some(action) = early {
        return Ok(Cli {
            config: Config::default(),
            action,
        });
    }
    let list = f.get_str("config.file").unwrap_or_default().to_owned();
    let expand = f.get_bool("config.expand-env").unwrap_or(false);
    let candidates: Vec<&str> = list
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    let found = candidates
        .iter()
        .find(|p| std::fs::metadata(p).is_ok_and(|m| m.is_file()));
    let mut config: Config = match found {
        Some(path) => load_yaml_file(path, expand)?,
        None if f.is_set("config.file") => return Err(CliError::NotFound(list)),
        None => Config::default(),
    };
    if f.is_set("target") || config.target.is_none() {
        config.target = f.get_str("target").map(str::to_owned);
    }
    if let Some(t) = &config.target {
        for part in t.split(',') {
            if !part.trim().is_empty() && !TARGETS.contains(&part.trim()) {
                return Err(CliError::Target(part.trim().to_owned()));
            }
        }
    }
    if f.is_set("server.http-listen-port") {
        config.server.http_listen_port =
            f.get_i64("server.http-listen-port").unwrap_or(3100) as u16;
    }
    if f.is_set("server.http-listen-address") {
        config.server.http_listen_address = f
            .get_str("server.http-listen-address")
            .unwrap_or_default()
            .to_owned();
    }
    if f.is_set("log.level") {
        config.server.log_level = f.get_str("log.level").unwrap_or("info").to_owned();
    }
    if f.is_set("log.format") {
        config.server.log_format = f.get_str("log.format").unwrap_or("logfmt").to_owned();
    }
    if f.is_set("auth.enabled") {
        config.auth_enabled = f.get_bool("auth.enabled").unwrap_or(true);
    }
    if flag("print-config-stderr") {
        eprintln!("{config:#?}");
    }
    Ok(Cli {
        config,
        action: if flag("verify-config") {
            Action::Verify
        } else {
            Action::Run
        },
    })
}

/// `-health`: a plain HTTP/1.1 GET of `url` (`http://host:port/path`); Ok when it answers 200.
pub async fn health_check(url: &str) -> Result<(), String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("unsupported health URL {url:?} (http:// only)"))?;
    let (hostport, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let addr = if hostport.contains(':') {
        hostport.to_owned()
    } else {
        format!("{hostport}:80")
    };
    let io = async {
        let mut s = tokio::net::TcpStream::connect(&addr).await?;
        s.write_all(
            format!("GET {path} HTTP/1.1\r\nHost: {hostport}\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        )
        .await?;
        let mut buf = Vec::new();
        s.read_to_end(&mut buf).await?;
        Ok::<_, std::io::Error>(buf)
    };
    let buf = tokio::time::timeout(std::time::Duration::from_secs(5), io)
        .await
        .map_err(|_| format!("health check of {url} timed out"))?
        .map_err(|e| format!("health check of {url} failed: {e}"))?;
    let status = String::from_utf8_lossy(&buf)
        .split_whitespace()
        .nth(1)
        .unwrap_or_default()
        .to_owned();
    if status == "200" {
        Ok(())
    } else {
        Err(format!("health check of {url} answered {status}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn flags_override_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("loki.yaml");
        std::fs::write(
            &path,
            "auth_enabled: false\nserver:\n  http_listen_port: ${PORT:-3200}\n  log_level: warn\n",
        )
        .unwrap();
        let p = path.display().to_string();
        let cli = from_args(args(&[
            &format!("-config.file={p}"),
            "-config.expand-env=true",
        ]))
        .unwrap();
        assert_eq!(cli.config.server.http_listen_port, 3200);
        assert!(!cli.config.auth_enabled);
        let cli = from_args(args(&[
            "-config.file",
            &p,
            "-config.expand-env",
            "-server.http-listen-port=4000",
            "-log.level=debug",
        ]))
        .unwrap();
        assert_eq!(cli.config.server.http_listen_port, 4000);
        assert_eq!(cli.config.server.log_level, "debug");
        assert!(matches!(
            from_args(args(&["-config.file=/nonexistent.yaml"])),
            Err(CliError::NotFound(_))
        ));
        assert!(matches!(
            from_args(args(&["-target=ingester"])),
            Err(CliError::Target(_))
        ));
        assert_eq!(
            from_args(args(&["-bogus"])).unwrap_err().to_string(),
            "flag provided but not defined: -bogus"
        );
        assert_eq!(
            from_args(args(&["-version"])).unwrap().action,
            Action::Version
        );
        assert_eq!(
            from_args(args(&["-health"])).unwrap().action,
            Action::Health("http://localhost:3100/ready".into())
        );
    }
}
