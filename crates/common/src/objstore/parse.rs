//! URL ⇄ [`ObjectStoreConfig`].

use std::collections::HashSet;
use std::path::PathBuf;

use url::Url;

use super::{Error, FileConfig, MemoryConfig, ObjectStoreConfig, Result, S3Config};

const FILE_KEYS: &str = "fsync";
const MEMORY_KEYS: &str = "(none)";
const S3_KEYS: &str = "endpoint, region, force_path_style, access_key_id, secret_access_key, \
                       session_token, allow_http, timeout, connect_timeout";

pub(super) fn parse_url(input: &str) -> Result<ObjectStoreConfig> {
    let input = input.trim();
    if input.is_empty() {
        return Err(Error::EmptyUrl);
    }
    if !input.contains("://") {
        return Ok(ObjectStoreConfig::File(FileConfig {
            path: PathBuf::from(input),
            fsync: true,
        }));
    }
    let url = Url::parse(input).map_err(Error::InvalidUrl)?;
    match url.scheme() {
        "file" => parse_file(&url),
        "memory" => parse_memory(&url),
        "s3" | "s3a" => parse_s3(&url),
        other => Err(Error::UnknownScheme {
            scheme: other.to_string(),
        }),
    }
}

/// Query pairs, refusing repeated keys.
fn query(url: &Url) -> Result<Vec<(String, String)>> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for (k, v) in url.query_pairs() {
        if !seen.insert(k.to_string()) {
            return Err(Error::DuplicateQueryKey { key: k.to_string() });
        }
        out.push((k.into_owned(), v.into_owned()));
    }
    Ok(out)
}

pub(super) fn parse_bool(key: &str, value: &str) -> Result<bool> {
    match value.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" => Ok(false),
        _ => Err(Error::BadQueryValue {
            key: key.to_string(),
            value: value.to_string(),
            expected: "true or false",
        }),
    }
}

fn no_userinfo(url: &Url, scheme: &'static str) -> Result<()> {
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Error::UnexpectedUrlPart {
            scheme,
            part: "credentials before the host (use query keys)",
        });
    }
    if url.fragment().is_some() {
        return Err(Error::UnexpectedUrlPart {
            scheme,
            part: "a fragment",
        });
    }
    Ok(())
}

fn parse_file(url: &Url) -> Result<ObjectStoreConfig> {
    no_userinfo(url, "file")?;
    match url.host_str() {
        None | Some("") | Some("localhost") => {}
        Some(_) => {
            return Err(Error::UnexpectedUrlPart {
                scheme: "file",
                part: "a host (write file:///absolute/path)",
            });
        }
    }
    let path = url.to_file_path().map_err(|()| Error::UnexpectedUrlPart {
        scheme: "file",
        part: "a non-absolute path",
    })?;
    let mut cfg = FileConfig { path, fsync: true };
    for (k, v) in query(url)? {
        match k.as_str() {
            "fsync" => cfg.fsync = parse_bool(&k, &v)?,
            _ => {
                return Err(Error::UnknownQueryKey {
                    scheme: "file",
                    key: k,
                    expected: FILE_KEYS,
                });
            }
        }
    }
    Ok(ObjectStoreConfig::File(cfg))
}

/// Normalises a prefix: no leading/trailing `/`, and a valid object path.
pub(super) fn normalise_prefix(raw: &str) -> Result<String> {
    let trimmed = raw.trim_matches('/');
    if trimmed.is_empty() {
        return Ok(String::new());
    }
    object_store::path::Path::parse(trimmed).map_err(|e| Error::BadPrefix {
        prefix: raw.to_string(),
        reason: e.to_string(),
    })?;
    Ok(trimmed.to_string())
}

/// The URL path as a normalised prefix: percent-decoded, validated, no outer `/`.
fn url_prefix(raw: &str) -> Result<String> {
    let path = object_store::path::Path::from_url_path(raw).map_err(|e| Error::BadPrefix {
        prefix: raw.to_string(),
        reason: e.to_string(),
    })?;
    Ok(path.to_string())
}

fn parse_memory(url: &Url) -> Result<ObjectStoreConfig> {
    no_userinfo(url, "memory")?;
    if url.port().is_some() {
        return Err(Error::UnexpectedUrlPart {
            scheme: "memory",
            part: "a port",
        });
    }
    if let Some((k, _)) = query(url)?.into_iter().next() {
        return Err(Error::UnknownQueryKey {
            scheme: "memory",
            key: k,
            expected: MEMORY_KEYS,
        });
    }
    let raw = format!("{}{}", url.host_str().unwrap_or(""), url.path());
    Ok(ObjectStoreConfig::Memory(MemoryConfig {
        prefix: url_prefix(&raw)?,
    }))
}

fn parse_s3(url: &Url) -> Result<ObjectStoreConfig> {
    no_userinfo(url, "s3")?;
    let bucket = url.host_str().unwrap_or("");
    if bucket.is_empty() {
        return Err(Error::MissingBucket);
    }
    if url.port().is_some() {
        return Err(Error::UnexpectedUrlPart {
            scheme: "s3",
            part: "a port (put the server in ?endpoint=)",
        });
    }
    let mut cfg = S3Config {
        bucket: bucket.to_string(),
        prefix: url_prefix(url.path())?,
        ..S3Config::default()
    };
    for (k, v) in query(url)? {
        match k.as_str() {
            "endpoint" => cfg.endpoint = Some(check_endpoint(&k, v)?),
            "region" => cfg.region = Some(v),
            "force_path_style" => cfg.force_path_style = Some(parse_bool(&k, &v)?),
            "allow_http" => cfg.allow_http = Some(parse_bool(&k, &v)?),
            "access_key_id" => cfg.access_key_id = Some(v),
            "secret_access_key" => cfg.secret_access_key = Some(v),
            "session_token" => cfg.session_token = Some(v),
            "timeout" => cfg.timeout = Some(parse_duration(&k, v)?),
            "connect_timeout" => cfg.connect_timeout = Some(parse_duration(&k, v)?),
            _ => {
                return Err(Error::UnknownQueryKey {
                    scheme: "s3",
                    key: k,
                    expected: S3_KEYS,
                });
            }
        }
    }
    Ok(ObjectStoreConfig::S3(cfg))
}

/// A positive duration in Prometheus syntax (`30s`, `2m`, `1h30m`).
pub(super) fn parse_duration(key: &str, value: String) -> Result<std::time::Duration> {
    match value.parse::<crate::duration::PromDuration>() {
        Ok(d) if !d.get().is_zero() => Ok(d.get()),
        _ => Err(Error::BadQueryValue {
            key: key.to_string(),
            value,
            expected: "a positive duration such as 30s or 2m",
        }),
    }
}

pub(super) fn check_endpoint(key: &str, value: String) -> Result<String> {
    match Url::parse(&value) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => Ok(value),
        _ => Err(Error::BadQueryValue {
            key: key.to_string(),
            value,
            expected: "an http:// or https:// url",
        }),
    }
}

/// The URL form of a config; `redact` hides the secret key and session token.
pub(super) fn to_url(cfg: &ObjectStoreConfig, redact: bool) -> String {
    let enc = |s: &str| -> String { url::form_urlencoded::byte_serialize(s.as_bytes()).collect() };
    match cfg {
        ObjectStoreConfig::File(c) => {
            let base = match Url::from_file_path(&c.path) {
                Ok(u) => u.to_string(),
                Err(()) => c.path.display().to_string(),
            };
            if c.fsync {
                base
            } else {
                format!("{base}?fsync=false")
            }
        }
        ObjectStoreConfig::Memory(c) => format!("memory://{}", c.prefix),
        ObjectStoreConfig::S3(c) => {
            let mut s = format!("s3://{}", c.bucket);
            if !c.prefix.is_empty() {
                s.push('/');
                s.push_str(&c.prefix);
            }
            let secret = |v: &String| {
                if redact {
                    "<secret>".to_string()
                } else {
                    v.clone()
                }
            };
            let pairs: Vec<(&str, Option<String>)> = vec![
                ("endpoint", c.endpoint.clone()),
                ("region", c.region.clone()),
                (
                    "force_path_style",
                    c.force_path_style.map(|b| b.to_string()),
                ),
                ("allow_http", c.allow_http.map(|b| b.to_string())),
                ("access_key_id", c.access_key_id.clone()),
                (
                    "secret_access_key",
                    c.secret_access_key.as_ref().map(secret),
                ),
                ("session_token", c.session_token.as_ref().map(secret)),
                ("timeout", c.timeout.map(|d| format!("{}ms", d.as_millis()))),
                (
                    "connect_timeout",
                    c.connect_timeout.map(|d| format!("{}ms", d.as_millis())),
                ),
            ];
            let mut sep = '?';
            for (k, v) in pairs {
                if let Some(v) = v {
                    s.push(sep);
                    s.push_str(k);
                    s.push('=');
                    s.push_str(&enc(&v));
                    sep = '&';
                }
            }
            s
        }
    }
}
