//! Object storage from a URL: one place that turns `file:///var/lib/lgtm`, `memory://` or
//! `s3://bucket/prefix?endpoint=…` into an [`ObjectStore`] scoped to a prefix, so every store
//! (metrics, logs, traces) reads and writes blocks the same way on a laptop, in tests and on
//! SeaweedFS/MinIO/AWS.
//!
//! URL forms:
//! - `file:///abs/path` or a bare path (`/abs/path`, `./rel`): the embedded default. The
//!   directory is created if missing; writes are fsynced (`?fsync=false` to turn that off).
//! - `memory://` or `memory://some/prefix`: a fresh in-memory store per build, for tests.
//! - `s3://bucket/optional/prefix?endpoint=http://127.0.0.1:8333&region=us-east-1&
//!   force_path_style=true&access_key_id=…&secret_access_key=…&session_token=…&allow_http=true&
//!   timeout=2m&connect_timeout=5s` (durations in Prometheus syntax).
//!   Settings missing from the URL come from the standard `AWS_*` environment variables
//!   (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_REGION`,
//!   `AWS_ENDPOINT`, `AWS_ALLOW_HTTP`, …). An `http://` endpoint implies `allow_http`. Query
//!   values are form-decoded: write `+` in a secret as `%2B`. Needs the `s3` feature.
//!
//! In YAML a service takes either the URL string or a map with the same keys plus `backend`
//! (`file`, `memory`, `s3`) or `url` (see [`ObjectStoreConfig`]'s `Deserialize`).

mod build;
mod config_serde;
mod parse;

#[cfg(all(feature = "s3", any(test, feature = "test-util")))]
pub mod testing;

#[cfg(test)]
mod tests;

use std::path::PathBuf;
use std::sync::Arc;

pub use object_store::path::Path as ObjectPath;
pub use object_store::{ObjectStore, ObjectStoreExt};

/// Errors building an object store; each names the offending part of the URL or config.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The URL or path is empty.
    #[error("object store url is empty")]
    EmptyUrl,
    /// The text is not a URL.
    #[error("object store url is not a valid url: {0}")]
    InvalidUrl(#[source] url::ParseError),
    /// The scheme is not one we serve.
    #[error("unknown object store scheme {scheme:?} (expected file, memory or s3)")]
    UnknownScheme {
        /// The scheme found.
        scheme: String,
    },
    /// `s3://` without a bucket.
    #[error("s3 url has no bucket (expected s3://bucket/prefix)")]
    MissingBucket,
    /// A query key the scheme does not know.
    #[error("unknown query key {key:?} in {scheme} url (expected one of: {expected})")]
    UnknownQueryKey {
        /// The URL scheme.
        scheme: &'static str,
        /// The unknown key.
        key: String,
        /// The keys the scheme accepts.
        expected: &'static str,
    },
    /// A query key given twice.
    #[error("query key {key:?} given more than once")]
    DuplicateQueryKey {
        /// The repeated key.
        key: String,
    },
    /// A query value that does not parse.
    #[error("query key {key:?} has invalid value {value:?}: expected {expected}")]
    BadQueryValue {
        /// The key.
        key: String,
        /// The value found.
        value: String,
        /// What was expected.
        expected: &'static str,
    },
    /// A part of the URL the scheme does not allow (a host on `file://`, a port on `s3://`…).
    #[error("{scheme} url must not have {part}")]
    UnexpectedUrlPart {
        /// The URL scheme.
        scheme: &'static str,
        /// The part that should not be there.
        part: &'static str,
    },
    /// The prefix is not a valid object path.
    #[error("invalid object store prefix {prefix:?}: {reason}")]
    BadPrefix {
        /// The prefix given.
        prefix: String,
        /// Why it was rejected.
        reason: String,
    },
    /// A structured config field that the chosen backend does not use.
    #[error("field {field:?} does not apply to the {backend} backend")]
    FieldNotApplicable {
        /// The field.
        field: &'static str,
        /// The backend.
        backend: &'static str,
    },
    /// A structured config without `url` or `backend`, or with an unknown backend.
    #[error("object store config needs `url` or `backend` (file, memory, s3){found}")]
    MissingBackend {
        /// Extra detail on what was found instead.
        found: String,
    },
    /// A structured config missing a field its backend needs.
    #[error("object store config for the {backend} backend needs field {field:?}")]
    MissingField {
        /// The backend.
        backend: &'static str,
        /// The missing field.
        field: &'static str,
    },
    /// `s3://` asked for in a build without the `s3` feature.
    #[error("s3 object storage is not compiled in (enable the s3 feature of lgtm-common)")]
    S3Disabled,
    /// The local directory of a `file://` store could not be created.
    #[error("cannot create object store directory {path}: {source}")]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The object_store builder refused the configuration.
    #[error("cannot build the {backend} object store: {source}")]
    Build {
        /// The backend.
        backend: &'static str,
        /// The builder's error.
        #[source]
        source: object_store::Error,
    },
}

/// Result alias of the object storage module.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Which object store to use and where in it: the typed form of an object store URL.
/// Parse with [`ObjectStoreConfig::from_url`] or deserialize from YAML; build with
/// [`ObjectStoreConfig::build`]. `Debug`, `Display` and `Serialize` hide the secret key.
#[derive(Clone, PartialEq, Eq)]
pub enum ObjectStoreConfig {
    /// A local directory.
    File(FileConfig),
    /// A fresh in-memory store (tests).
    Memory(MemoryConfig),
    /// An S3-compatible bucket.
    S3(S3Config),
}

/// Settings of a local-directory store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileConfig {
    /// Root directory; objects live below it.
    pub path: PathBuf,
    /// fsync written files and their directories (default true: uploaded blocks must survive
    /// a crash once the WAL that produced them is truncated).
    pub fsync: bool,
}

/// Settings of an in-memory store.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MemoryConfig {
    /// Prefix inside the store (rarely useful, kept for symmetry with s3).
    pub prefix: String,
}

/// Settings of an S3-compatible store. Unset options fall back to `AWS_*` variables.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct S3Config {
    /// Bucket name.
    pub bucket: String,
    /// Prefix inside the bucket, without leading or trailing `/` (empty: the whole bucket).
    pub prefix: String,
    /// Endpoint URL for SeaweedFS/MinIO; unset for AWS.
    pub endpoint: Option<String>,
    /// Region (`us-east-1` when unset everywhere).
    pub region: Option<String>,
    /// Access key id.
    pub access_key_id: Option<String>,
    /// Secret access key.
    pub secret_access_key: Option<String>,
    /// Session token for temporary credentials.
    pub session_token: Option<String>,
    /// Path-style requests (`endpoint/bucket/key`, the default and what SeaweedFS and MinIO
    /// expect) rather than virtual-hosted (`bucket.endpoint/key`).
    pub force_path_style: Option<bool>,
    /// Allow plain `http://` endpoints (implied by an `http://` endpoint).
    pub allow_http: Option<bool>,
    /// Whole-request timeout (object_store's default: 30 s); raise it for big single puts
    /// over slow links.
    pub timeout: Option<std::time::Duration>,
    /// Connection timeout (object_store's default: 5 s).
    pub connect_timeout: Option<std::time::Duration>,
}

impl std::fmt::Debug for S3Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Config")
            .field("bucket", &self.bucket)
            .field("prefix", &self.prefix)
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .field(
                "secret_access_key",
                &self.secret_access_key.as_ref().map(|_| "<secret>"),
            )
            .field(
                "session_token",
                &self.session_token.as_ref().map(|_| "<secret>"),
            )
            .field("force_path_style", &self.force_path_style)
            .field("allow_http", &self.allow_http)
            .field("timeout", &self.timeout)
            .field("connect_timeout", &self.connect_timeout)
            .finish()
    }
}

impl std::fmt::Debug for ObjectStoreConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ObjectStoreConfig::File(c) => f.debug_tuple("File").field(c).finish(),
            ObjectStoreConfig::Memory(c) => f.debug_tuple("Memory").field(c).finish(),
            ObjectStoreConfig::S3(c) => f.debug_tuple("S3").field(c).finish(),
        }
    }
}

impl ObjectStoreConfig {
    /// Parses an object store URL or bare path.
    pub fn from_url(url: &str) -> Result<Self> {
        parse::parse_url(url)
    }

    /// Name of the backend (`file`, `memory`, `s3`), for logs and errors.
    pub fn backend(&self) -> &'static str {
        match self {
            ObjectStoreConfig::File(_) => "file",
            ObjectStoreConfig::Memory(_) => "memory",
            ObjectStoreConfig::S3(_) => "s3",
        }
    }

    /// The prefix inside the store that the handle is scoped to (empty for `file`, whose
    /// path is the root).
    pub fn prefix(&self) -> &str {
        match self {
            ObjectStoreConfig::File(_) => "",
            ObjectStoreConfig::Memory(c) => &c.prefix,
            ObjectStoreConfig::S3(c) => &c.prefix,
        }
    }

    /// Builds the store (creating a `file` directory if needed). Does no network I/O: a bad
    /// endpoint or credential shows on first use.
    pub fn build(&self) -> Result<ObjectStoreHandle> {
        build::build(self)
    }
}

impl std::str::FromStr for ObjectStoreConfig {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Self::from_url(s)
    }
}

impl std::fmt::Display for ObjectStoreConfig {
    /// The URL form, with the secret key and session token replaced by `<secret>`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&parse::to_url(self, true))
    }
}

/// A built object store: the store scoped to the configured prefix, ready for relative paths
/// such as `blocks/01H…/meta.json`.
#[derive(Debug, Clone)]
pub struct ObjectStoreHandle {
    store: Arc<dyn ObjectStore>,
    root: Arc<dyn ObjectStore>,
    prefix: ObjectPath,
    config: ObjectStoreConfig,
}

impl ObjectStoreHandle {
    /// The store, with every path relative to the prefix.
    pub fn store(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }

    /// The unscoped store (the whole bucket or directory).
    pub fn root(&self) -> &Arc<dyn ObjectStore> {
        &self.root
    }

    /// The prefix applied by [`ObjectStoreHandle::store`].
    pub fn prefix(&self) -> &ObjectPath {
        &self.prefix
    }

    /// The configuration this handle was built from.
    pub fn config(&self) -> &ObjectStoreConfig {
        &self.config
    }

    /// A handle on the same store scoped one level deeper, e.g. to a tenant's directory:
    /// `sub` (`a/b`, no `.`/`..`/empty parts) is appended to the prefix.
    pub fn scoped(&self, sub: &str) -> Result<ObjectStoreHandle> {
        let sub = parse::normalise_prefix(sub)?;
        let prefix = ObjectPath::parse(sub.as_str())
            .map(|p| {
                p.parts()
                    .fold(self.prefix.clone(), |acc, part| acc.join(part))
            })
            .map_err(|e| Error::BadPrefix {
                prefix: sub.clone(),
                reason: e.to_string(),
            })?;
        let store: Arc<dyn ObjectStore> = if prefix.as_ref().is_empty() {
            self.root.clone()
        } else {
            Arc::new(object_store::prefix::PrefixStore::new(
                self.root.clone(),
                prefix.clone(),
            ))
        };
        Ok(ObjectStoreHandle {
            store,
            root: self.root.clone(),
            prefix,
            config: self.config.clone(),
        })
    }
}

/// Parses and builds in one step: the usual call at service start-up.
pub fn from_url(url: &str) -> Result<ObjectStoreHandle> {
    ObjectStoreConfig::from_url(url)?.build()
}
