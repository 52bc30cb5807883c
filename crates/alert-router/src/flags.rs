//! Command-line flags with Alertmanager's names and defaults (kingpin style: `--name=value`,
//! `--name value`, `--flag` / `--no-flag` for booleans).

use std::path::PathBuf;
use std::time::Duration;

use lgtm_common::duration::PromDuration;

/// Runtime configuration of the router: its flags (the file is loaded by [`crate::run`]).
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// `--config.file` (`alertmanager.yml`).
    pub config_file: PathBuf,
    /// `--storage.path` (`data/`).
    pub storage_path: PathBuf,
    /// `--web.listen-address` (`:9093`).
    pub listen_address: String,
    /// `--web.external-url` (default `http://<hostname>:<port>`).
    pub external_url: Option<String>,
    /// `--web.route-prefix` (default: the external URL's path).
    pub route_prefix: Option<String>,
    /// `--data.retention` (120h): silences and notification log entries.
    pub data_retention: Duration,
    /// `--data.maintenance-interval` (15m).
    pub maintenance_interval: Duration,
    /// `--alerts.gc-interval` (30m).
    pub alerts_gc_interval: Duration,
    /// `--log.level` (`info`).
    pub log_level: String,
    /// `--log.format` (`logfmt`; `json` supported).
    pub log_format: String,
    /// `--cluster.listen-address` (`0.0.0.0:9094`; used only when peers are given).
    pub cluster_listen_address: Option<String>,
    /// `--cluster.advertise-address`: this replica's name as its peers address it.
    pub cluster_advertise_address: Option<String>,
    /// `--cluster.peer` (repeatable): enables HA replication with these replicas.
    pub cluster_peers: Vec<String>,
    /// `--cluster.peer-timeout` (15s): positional wait per replica.
    pub cluster_peer_timeout: Duration,
    /// `--cluster.settle-timeout` (1m): longest wait for the peers before notifying.
    pub cluster_settle_timeout: Duration,
    /// `--cluster.peer-name`: this replica's name (default: a ULID made at start-up).
    pub cluster_peer_name: Option<String>,
    /// `--cluster.gossip-interval` (200ms): SWIM gossip period.
    pub cluster_gossip_interval: Duration,
    /// `--cluster.pushpull-interval` (1m): full state exchange period.
    pub cluster_pushpull_interval: Duration,
    /// `--cluster.tcp-timeout` (10s): connect and full-exchange timeout.
    pub cluster_tcp_timeout: Duration,
    /// `--cluster.probe-timeout` (500ms): SWIM probe round trip.
    pub cluster_probe_timeout: Duration,
    /// `--cluster.probe-interval` (1s): SWIM probe period.
    pub cluster_probe_interval: Duration,
    /// `--cluster.reconnect-interval` (10s): re-join period for lost peers.
    pub cluster_reconnect_interval: Duration,
    /// `--cluster.reconnect-timeout` (6h): how long a lost peer is remembered.
    pub cluster_reconnect_timeout: Duration,
    /// `--cluster.label`: refuse cluster traffic of another label.
    pub cluster_label: Option<String>,
    /// `--telegram.edit-messages` (ours, off by default): edit a group's Telegram message
    /// when the group changes or resolves instead of posting a new one.
    pub telegram_edit_messages: bool,
    /// `--telegram.silence-buttons` (ours, off by default): "silence 1h / 24h" buttons under
    /// firing Telegram notifications.
    pub telegram_silence_buttons: bool,
    /// Flags accepted for compatibility but without effect, as given.
    pub ignored: Vec<String>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            config_file: PathBuf::from("alertmanager.yml"),
            storage_path: PathBuf::from("data/"),
            listen_address: ":9093".into(),
            external_url: None,
            route_prefix: None,
            data_retention: Duration::from_secs(120 * 3600),
            maintenance_interval: Duration::from_secs(15 * 60),
            alerts_gc_interval: Duration::from_secs(30 * 60),
            log_level: "info".into(),
            log_format: "logfmt".into(),
            cluster_listen_address: Some("0.0.0.0:9094".into()),
            cluster_advertise_address: None,
            cluster_peers: Vec::new(),
            cluster_peer_timeout: Duration::from_secs(15),
            cluster_settle_timeout: Duration::from_secs(60),
            cluster_peer_name: None,
            cluster_gossip_interval: Duration::from_millis(200),
            cluster_pushpull_interval: Duration::from_secs(60),
            cluster_tcp_timeout: Duration::from_secs(10),
            cluster_probe_timeout: Duration::from_millis(500),
            cluster_probe_interval: Duration::from_secs(1),
            cluster_reconnect_interval: Duration::from_secs(10),
            cluster_reconnect_timeout: Duration::from_secs(6 * 3600),
            cluster_label: None,
            telegram_edit_messages: false,
            telegram_silence_buttons: false,
            ignored: Vec::new(),
        }
    }
}

/// A flag problem, or a request for help/version.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FlagError {
    /// Unknown flag.
    #[error("unknown long flag '{0}'")]
    Unknown(String),
    /// Missing value.
    #[error("expected argument for flag '{0}'")]
    MissingValue(String),
    /// Bad value.
    #[error("invalid value {value:?} for flag '{flag}': {reason}")]
    Invalid {
        /// Flag.
        flag: String,
        /// Value.
        value: String,
        /// Why.
        reason: String,
    },
    /// `--help`.
    #[error("help requested")]
    Help,
    /// `--version`.
    #[error("version requested")]
    Version,
}

/// Flags accepted and ignored (UI, limits we do not implement; cluster TLS is the mesh's
/// job, peers are re-resolved in the background rather than within a timeout).
const IGNORED_VALUE_FLAGS: &[&str] = &[
    "cluster.tls-config",
    "cluster.peers-resolve-timeout",
    "web.config.file",
    "web.get-concurrency",
    "web.timeout",
    "web.systemd-socket",
    "enable-feature",
    "silences.max-silences",
    "silences.max-silence-size-bytes",
    "alerts.per-alert-size-limit",
    "dispatch.maintenance-interval",
    "auto-gomemlimit.ratio",
    "auto-gomaxprocs",
];
const IGNORED_BOOL_FLAGS: &[&str] = &[
    "cluster.allow-insecure-public-advertise-address",
    "cluster.allow-insecure-public-advertise-address-discovery",
    "web.systemd-socket",
    "auto-gomemlimit",
];

fn duration(flag: &str, v: &str) -> Result<Duration, FlagError> {
    v.parse::<PromDuration>()
        .map(PromDuration::get)
        .map_err(|e| FlagError::Invalid {
            flag: flag.into(),
            value: v.into(),
            reason: e.to_string(),
        })
}

impl Config {
    /// Parses Alertmanager-style arguments (without the program name).
    pub fn from_args<I: IntoIterator<Item = String>>(args: I) -> Result<Self, FlagError> {
        let mut c = Self::default();
        let mut it = args.into_iter().peekable();
        while let Some(arg) = it.next() {
            let Some(flag) = arg.strip_prefix("--") else {
                return Err(FlagError::Unknown(arg));
            };
            let (name, inline) = match flag.split_once('=') {
                Some((n, v)) => (n.to_owned(), Some(v.to_owned())),
                None => (flag.to_owned(), None),
            };
            match name.as_str() {
                "help" | "help-long" | "help-man" => return Err(FlagError::Help),
                "version" => return Err(FlagError::Version),
                "telegram.edit-messages" => {
                    c.telegram_edit_messages = inline.as_deref().is_none_or(|v| v == "true");
                    continue;
                }
                "no-telegram.edit-messages" => {
                    c.telegram_edit_messages = false;
                    continue;
                }
                "telegram.silence-buttons" => {
                    c.telegram_silence_buttons = inline.as_deref().is_none_or(|v| v == "true");
                    continue;
                }
                "no-telegram.silence-buttons" => {
                    c.telegram_silence_buttons = false;
                    continue;
                }
                n if IGNORED_BOOL_FLAGS.contains(&n)
                    || n.strip_prefix("no-")
                        .is_some_and(|b| IGNORED_BOOL_FLAGS.contains(&b)) =>
                {
                    c.ignored.push(arg.clone());
                    continue;
                }
                _ => {}
            }
            let mut value = || -> Result<String, FlagError> {
                match &inline {
                    Some(v) => Ok(v.clone()),
                    None => it
                        .next()
                        .ok_or_else(|| FlagError::MissingValue(name.clone())),
                }
            };
            match name.as_str() {
                "config.file" => c.config_file = value()?.into(),
                "storage.path" => c.storage_path = value()?.into(),
                "web.listen-address" => c.listen_address = value()?,
                "web.external-url" => c.external_url = Some(value()?).filter(|s| !s.is_empty()),
                "web.route-prefix" => c.route_prefix = Some(value()?),
                "data.retention" => c.data_retention = duration(&name, &value()?)?,
                "data.maintenance-interval" => c.maintenance_interval = duration(&name, &value()?)?,
                "alerts.gc-interval" => c.alerts_gc_interval = duration(&name, &value()?)?,
                "log.level" => {
                    let v = value()?;
                    if !matches!(v.as_str(), "debug" | "info" | "warn" | "error") {
                        return Err(FlagError::Invalid {
                            flag: name,
                            value: v,
                            reason: "must be one of debug, info, warn, error".into(),
                        });
                    }
                    c.log_level = v;
                }
                "log.format" => c.log_format = value()?,
                "cluster.listen-address" => {
                    c.cluster_listen_address = Some(value()?).filter(|s| !s.is_empty())
                }
                "cluster.peer" => c.cluster_peers.push(value()?),
                "cluster.advertise-address" => {
                    c.cluster_advertise_address = Some(value()?).filter(|s| !s.is_empty());
                }
                "cluster.peer-timeout" => c.cluster_peer_timeout = duration(&name, &value()?)?,
                "cluster.settle-timeout" => c.cluster_settle_timeout = duration(&name, &value()?)?,
                "cluster.peer-name" => {
                    c.cluster_peer_name = Some(value()?).filter(|s| !s.is_empty())
                }
                "cluster.gossip-interval" => {
                    c.cluster_gossip_interval = duration(&name, &value()?)?
                }
                "cluster.pushpull-interval" => {
                    c.cluster_pushpull_interval = duration(&name, &value()?)?
                }
                "cluster.tcp-timeout" => c.cluster_tcp_timeout = duration(&name, &value()?)?,
                "cluster.probe-timeout" => c.cluster_probe_timeout = duration(&name, &value()?)?,
                "cluster.probe-interval" => c.cluster_probe_interval = duration(&name, &value()?)?,
                "cluster.reconnect-interval" => {
                    c.cluster_reconnect_interval = duration(&name, &value()?)?
                }
                "cluster.reconnect-timeout" => {
                    c.cluster_reconnect_timeout = duration(&name, &value()?)?
                }
                "cluster.label" => c.cluster_label = Some(value()?).filter(|s| !s.is_empty()),
                n if IGNORED_VALUE_FLAGS.contains(&n) => {
                    let v = value()?;
                    c.ignored.push(format!("--{n}={v}"));
                }
                _ => return Err(FlagError::Unknown(name)),
            }
        }
        Ok(c)
    }

    /// HA settings when clustering is on: a listen address and at least one peer. Without
    /// `--cluster.peer-name` the name is a new ULID, so each call names a new replica.
    pub fn cluster_settings(&self) -> Option<crate::cluster::ClusterSettings> {
        let listen = self.cluster_listen_address.clone()?;
        if self.cluster_peers.is_empty() {
            return None;
        }
        let host_port = |a: &str| match a.strip_prefix(':') {
            Some(port) => format!("0.0.0.0:{port}"),
            None => a.to_owned(),
        };
        Some(crate::cluster::ClusterSettings {
            listen: host_port(&listen),
            advertise: self.cluster_advertise_address.clone(),
            name: self.cluster_peer_name.clone().unwrap_or_else(|| {
                crate::cluster::identity::new_peer_name(crate::cluster::identity::unix_millis())
            }),
            peers: self
                .cluster_peers
                .iter()
                .map(|p| p.trim().to_owned())
                .filter(|p| !p.is_empty())
                .collect(),
            peer_timeout: self.cluster_peer_timeout,
            settle_timeout: self.cluster_settle_timeout,
            gossip_interval: self.cluster_gossip_interval,
            pushpull_interval: self.cluster_pushpull_interval,
            tcp_timeout: self.cluster_tcp_timeout,
            probe_timeout: self.cluster_probe_timeout,
            probe_interval: self.cluster_probe_interval,
            reconnect_interval: self.cluster_reconnect_interval,
            reconnect_timeout: self.cluster_reconnect_timeout,
            label: self.cluster_label.clone(),
        })
    }

    /// The socket address to bind (`:9093` → `0.0.0.0:9093`).
    pub fn bind_address(&self) -> String {
        match self.listen_address.strip_prefix(':') {
            Some(port) => format!("0.0.0.0:{port}"),
            None => self.listen_address.clone(),
        }
    }

    /// The external URL (without trailing slash) and the route prefix (`""` or `/x`),
    /// as Alertmanager derives them; `port` is the bound port.
    pub fn urls(&self, port: u16) -> Result<(String, String), FlagError> {
        let raw = match &self.external_url {
            Some(u) => u.clone(),
            None => {
                let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
                    .map(|h| h.trim().to_owned())
                    .unwrap_or_else(|_| "localhost".into());
                format!("http://{host}:{port}/")
            }
        };
        let mut u = url::Url::parse(&raw).map_err(|e| FlagError::Invalid {
            flag: "web.external-url".into(),
            value: raw.clone(),
            reason: e.to_string(),
        })?;
        let path = u.path().trim_end_matches('/').to_owned();
        u.set_path(&path);
        let external = u.as_str().trim_end_matches('/').to_owned();
        let prefix = self.route_prefix.clone().unwrap_or(path);
        let prefix = prefix.trim_matches('/');
        let prefix = if prefix.is_empty() {
            String::new()
        } else {
            format!("/{prefix}")
        };
        Ok((external, prefix))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Config, FlagError> {
        Config::from_args(args.iter().map(|s| (*s).to_owned()))
    }

    #[test]
    fn alertmanager_flags() {
        let c = parse(&[
            "--config.file=am.yml",
            "--storage.path",
            "/tmp/x",
            "--web.listen-address=127.0.0.1:0",
            "--web.external-url=http://am.example:9093/am/",
            "--data.retention=24h",
            "--cluster.listen-address=",
            "--cluster.peer=a:9094",
            "--cluster.peer-timeout=4s",
            "--log.level=debug",
        ])
        .unwrap();
        assert_eq!(c.config_file, PathBuf::from("am.yml"));
        assert_eq!(c.storage_path, PathBuf::from("/tmp/x"));
        assert_eq!(c.data_retention, Duration::from_secs(86400));
        assert_eq!(c.cluster_listen_address, None);
        assert_eq!(c.cluster_peers, ["a:9094"]);
        assert_eq!(c.cluster_settings(), None, "empty listen address: HA off");
        assert_eq!(
            c.urls(0).unwrap(),
            ("http://am.example:9093/am".into(), "/am".into())
        );
        assert_eq!(
            parse(&["--bogus=1"]),
            Err(FlagError::Unknown("bogus".into()))
        );
        assert!(matches!(
            parse(&["--data.retention=1.5h"]),
            Err(FlagError::Invalid { .. })
        ));
        let d = parse(&[]).unwrap();
        assert_eq!(d.bind_address(), "0.0.0.0:9093");
        assert_eq!(
            parse(&["--web.route-prefix=/x/"])
                .unwrap()
                .urls(9093)
                .unwrap()
                .1,
            "/x"
        );
    }

    #[test]
    fn cluster_flags() {
        let c = parse(&[
            "--cluster.listen-address=:9094",
            "--cluster.advertise-address=10.0.0.7:9094",
            "--cluster.peer=am-0.am:9094",
            "--cluster.peer",
            "am-1.am:9094",
            "--cluster.peer-name=am-0",
            "--cluster.peer-timeout=5s",
            "--cluster.settle-timeout=30s",
            "--cluster.gossip-interval=100ms",
            "--cluster.pushpull-interval=2m",
            "--cluster.tcp-timeout=3s",
            "--cluster.probe-timeout=250ms",
            "--cluster.probe-interval=2s",
            "--cluster.reconnect-interval=20s",
            "--cluster.reconnect-timeout=1h",
            "--cluster.label=prod",
            "--cluster.tls-config=tls.yml",
            "--cluster.allow-insecure-public-advertise-address-discovery",
        ])
        .unwrap();
        let s = c.cluster_settings().unwrap();
        assert_eq!(s.listen, "0.0.0.0:9094");
        assert_eq!(s.advertise.as_deref(), Some("10.0.0.7:9094"));
        assert_eq!(s.name, "am-0");
        assert_eq!(s.peers, ["am-0.am:9094", "am-1.am:9094"]);
        assert_eq!(s.peer_timeout, Duration::from_secs(5));
        assert_eq!(s.settle_timeout, Duration::from_secs(30));
        assert_eq!(s.gossip_interval, Duration::from_millis(100));
        assert_eq!(s.pushpull_interval, Duration::from_secs(120));
        assert_eq!(s.tcp_timeout, Duration::from_secs(3));
        assert_eq!(s.probe_timeout, Duration::from_millis(250));
        assert_eq!(s.probe_interval, Duration::from_secs(2));
        assert_eq!(s.reconnect_interval, Duration::from_secs(20));
        assert_eq!(s.reconnect_timeout, Duration::from_secs(3600));
        assert_eq!(s.label.as_deref(), Some("prod"));
        assert_eq!(c.ignored.len(), 2, "{:?}", c.ignored);
        // Alertmanager's defaults, and a generated ULID name per call without a peer name.
        let d = parse(&["--cluster.peer=x:9094"]).unwrap();
        let s = d.cluster_settings().unwrap();
        assert_eq!(
            (
                s.peer_timeout,
                s.settle_timeout,
                s.gossip_interval,
                s.pushpull_interval
            ),
            (
                Duration::from_secs(15),
                Duration::from_secs(60),
                Duration::from_millis(200),
                Duration::from_secs(60)
            )
        );
        assert_eq!(
            (s.probe_interval, s.probe_timeout, s.tcp_timeout),
            (
                Duration::from_secs(1),
                Duration::from_millis(500),
                Duration::from_secs(10)
            )
        );
        assert_eq!(s.name.len(), 26);
        assert_ne!(s.name, d.cluster_settings().unwrap().name);
        assert_eq!(
            parse(&[]).unwrap().cluster_settings(),
            None,
            "no peer: HA off"
        );
    }
}
