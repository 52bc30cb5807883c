//! serde for [`ObjectStoreConfig`]: a URL string, or a map of the same settings.
//!
//! ```yaml
//! storage: s3://lgtm/blocks?endpoint=http://127.0.0.1:8333
//! # or
//! storage:
//!   url: s3://lgtm/blocks?endpoint=http://127.0.0.1:8333
//!   secret_access_key: from-a-secret   # map fields override the url
//! # or
//! storage: { backend: file, path: /var/lib/lgtm }
//! ```

use std::path::PathBuf;

use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::parse::{check_endpoint, normalise_prefix, parse_duration, to_url};
use super::{Error, FileConfig, MemoryConfig, ObjectStoreConfig, Result, S3Config};

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Raw {
    url: Option<String>,
    backend: Option<String>,
    path: Option<PathBuf>,
    fsync: Option<bool>,
    bucket: Option<String>,
    prefix: Option<String>,
    endpoint: Option<String>,
    region: Option<String>,
    access_key_id: Option<String>,
    secret_access_key: Option<String>,
    session_token: Option<String>,
    force_path_style: Option<bool>,
    allow_http: Option<bool>,
    timeout: Option<String>,
    connect_timeout: Option<String>,
}

impl Raw {
    fn into_config(self) -> Result<ObjectStoreConfig> {
        let mut cfg = match (&self.url, self.backend.as_deref()) {
            (Some(url), backend) => {
                let cfg = ObjectStoreConfig::from_url(url)?;
                if let Some(b) = backend
                    && b != cfg.backend()
                {
                    return Err(Error::MissingBackend {
                        found: format!(", but backend {b:?} contradicts the url"),
                    });
                }
                cfg
            }
            (None, Some("file")) => ObjectStoreConfig::File(FileConfig {
                path: self.path.clone().ok_or(Error::MissingField {
                    backend: "file",
                    field: "path",
                })?,
                fsync: true,
            }),
            (None, Some("memory")) => ObjectStoreConfig::Memory(MemoryConfig::default()),
            (None, Some("s3")) => ObjectStoreConfig::S3(S3Config {
                bucket: self.bucket.clone().ok_or(Error::MissingField {
                    backend: "s3",
                    field: "bucket",
                })?,
                ..S3Config::default()
            }),
            (None, Some(other)) => {
                return Err(Error::MissingBackend {
                    found: format!(", found backend {other:?}"),
                });
            }
            (None, None) => {
                return Err(Error::MissingBackend {
                    found: String::new(),
                });
            }
        };
        self.overlay(&mut cfg)?;
        Ok(cfg)
    }

    /// Applies the explicit map fields on top of the URL or backend defaults.
    fn overlay(self, cfg: &mut ObjectStoreConfig) -> Result<()> {
        let backend = cfg.backend();
        let na = |field: &'static str| Error::FieldNotApplicable { field, backend };
        let s3_fields = [
            ("bucket", self.bucket.is_some()),
            ("endpoint", self.endpoint.is_some()),
            ("region", self.region.is_some()),
            ("access_key_id", self.access_key_id.is_some()),
            ("secret_access_key", self.secret_access_key.is_some()),
            ("session_token", self.session_token.is_some()),
            ("force_path_style", self.force_path_style.is_some()),
            ("allow_http", self.allow_http.is_some()),
            ("timeout", self.timeout.is_some()),
            ("connect_timeout", self.connect_timeout.is_some()),
        ];
        match cfg {
            ObjectStoreConfig::File(c) => {
                if let Some((f, _)) = s3_fields.iter().find(|(_, set)| *set) {
                    return Err(na(f));
                }
                if self.prefix.is_some() {
                    return Err(na("prefix"));
                }
                if let Some(p) = self.path {
                    c.path = p;
                }
                if let Some(f) = self.fsync {
                    c.fsync = f;
                }
            }
            ObjectStoreConfig::Memory(c) => {
                if let Some((f, _)) = s3_fields.iter().find(|(_, set)| *set) {
                    return Err(na(f));
                }
                if self.path.is_some() {
                    return Err(na("path"));
                }
                if self.fsync.is_some() {
                    return Err(na("fsync"));
                }
                if let Some(p) = self.prefix {
                    c.prefix = normalise_prefix(&p)?;
                }
            }
            ObjectStoreConfig::S3(c) => {
                if self.path.is_some() {
                    return Err(na("path"));
                }
                if self.fsync.is_some() {
                    return Err(na("fsync"));
                }
                if let Some(v) = self.bucket {
                    if v.is_empty() {
                        return Err(Error::MissingBucket);
                    }
                    c.bucket = v;
                }
                if let Some(v) = self.prefix {
                    c.prefix = normalise_prefix(&v)?;
                }
                if let Some(v) = self.endpoint {
                    c.endpoint = Some(check_endpoint("endpoint", v)?);
                }
                c.region = self.region.or(c.region.take());
                c.access_key_id = self.access_key_id.or(c.access_key_id.take());
                c.secret_access_key = self.secret_access_key.or(c.secret_access_key.take());
                c.session_token = self.session_token.or(c.session_token.take());
                c.force_path_style = self.force_path_style.or(c.force_path_style);
                c.allow_http = self.allow_http.or(c.allow_http);
                if let Some(v) = self.timeout {
                    c.timeout = Some(parse_duration("timeout", v)?);
                }
                if let Some(v) = self.connect_timeout {
                    c.connect_timeout = Some(parse_duration("connect_timeout", v)?);
                }
            }
        }
        Ok(())
    }
}

struct ConfigVisitor;

impl<'de> Visitor<'de> for ConfigVisitor {
    type Value = ObjectStoreConfig;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an object store url or a map with `url` or `backend`")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        ObjectStoreConfig::from_url(v).map_err(E::custom)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        let raw = Raw::deserialize(de::value::MapAccessDeserializer::new(map))?;
        raw.into_config().map_err(de::Error::custom)
    }
}

impl<'de> Deserialize<'de> for ObjectStoreConfig {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ConfigVisitor)
    }
}

impl Serialize for ObjectStoreConfig {
    /// Serialises as the URL with secrets redacted (for config dumps such as
    /// `/api/v1/status/config`); it does not round-trip secrets.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&to_url(self, true))
    }
}
