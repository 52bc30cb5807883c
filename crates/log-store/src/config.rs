//! The Loki configuration file, in Loki's own YAML shape. Sections that apply to this
//! design are modelled (`server`, `auth_enabled`, `common`, `storage_config`,
//! `limits_config`, `ingester`); Loki-internal sections (`schema_config`, `memberlist`, ring
//! and kvstore settings, …) are accepted and reported once as ignored; keys that Loki does
//! not know are errors naming the key. Inside modelled sections, Loki keys we do not
//! implement are kept in `other` and reported as ignored.

mod limits;

use std::collections::BTreeMap;
use std::path::PathBuf;

use lgtm_common::duration::GoDuration;
use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};

pub use limits::{LimitsConfig, RetentionStream};

/// The whole file (Loki's `pkg/loki/loki.go` `Config`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// `-target` (only `all`-like values are meaningful here: one process does everything).
    pub target: Option<String>,
    /// `auth_enabled`: require `X-Scope-OrgID` (Loki's default is true).
    pub auth_enabled: bool,
    /// Tenant used when auth is disabled.
    pub no_auth_tenant: Option<String>,
    /// `server`: listen ports and logging.
    pub server: ServerConfig,
    /// `common`: path prefix and storage.
    pub common: CommonConfig,
    /// `storage_config`: filesystem directory.
    pub storage_config: StorageConfig,
    /// `limits_config`: ingestion and query limits.
    pub limits_config: LimitsConfig,
    /// `ingester`: flush settings and the WAL.
    pub ingester: IngesterConfig,
    /// `compactor`: block compaction and retention.
    pub compactor: CompactorConfig,
    /// Sections accepted for compatibility but not (yet) acted on.
    #[serde(flatten, skip_serializing)]
    pub ignored: IgnoredSections,
}

/// Loki sections accepted and ignored (their presence is logged once).
#[derive(Debug, Clone, Default, Deserialize)]
#[allow(missing_docs)]
pub struct IgnoredSections {
    pub lbac: Option<IgnoredAny>,
    pub http_prefix: Option<IgnoredAny>,
    pub ballast_bytes: Option<IgnoredAny>,
    pub internal_server: Option<IgnoredAny>,
    pub ui: Option<IgnoredAny>,
    pub distributor: Option<IgnoredAny>,
    pub querier: Option<IgnoredAny>,
    pub query_engine: Option<IgnoredAny>,
    pub query_scheduler: Option<IgnoredAny>,
    pub frontend: Option<IgnoredAny>,
    pub query_range: Option<IgnoredAny>,
    pub ruler: Option<IgnoredAny>,
    pub ruler_storage: Option<IgnoredAny>,
    pub ingester_client: Option<IgnoredAny>,
    pub pattern_ingester: Option<IgnoredAny>,
    pub index_gateway: Option<IgnoredAny>,
    pub bloom_build: Option<IgnoredAny>,
    pub bloom_gateway: Option<IgnoredAny>,
    pub chunk_store_config: Option<IgnoredAny>,
    pub schema_config: Option<IgnoredAny>,
    pub compactor_client: Option<IgnoredAny>,
    pub compactor_grpc_client: Option<IgnoredAny>,
    pub frontend_worker: Option<IgnoredAny>,
    pub memberlist: Option<IgnoredAny>,
    pub kafka_config: Option<IgnoredAny>,
    pub dataobj: Option<IgnoredAny>,
    pub ingest_limits: Option<IgnoredAny>,
    pub ingest_limits_frontend: Option<IgnoredAny>,
    pub ingest_limits_frontend_client: Option<IgnoredAny>,
    pub runtime_config: Option<IgnoredAny>,
    pub operational_config: Option<IgnoredAny>,
    pub tracing: Option<IgnoredAny>,
    pub analytics: Option<IgnoredAny>,
    pub profiling: Option<IgnoredAny>,
    pub tenant_limits_allow_publish: Option<IgnoredAny>,
    pub shutdown_delay: Option<IgnoredAny>,
    pub metrics_namespace: Option<IgnoredAny>,
}

impl IgnoredSections {
    /// Names of the ignored sections present in the file.
    pub fn present(&self) -> Vec<&'static str> {
        let all: [(&'static str, bool); 37] = [
            ("lbac", self.lbac.is_some()),
            ("http_prefix", self.http_prefix.is_some()),
            ("ballast_bytes", self.ballast_bytes.is_some()),
            ("internal_server", self.internal_server.is_some()),
            ("ui", self.ui.is_some()),
            ("distributor", self.distributor.is_some()),
            ("querier", self.querier.is_some()),
            ("query_engine", self.query_engine.is_some()),
            ("query_scheduler", self.query_scheduler.is_some()),
            ("frontend", self.frontend.is_some()),
            ("query_range", self.query_range.is_some()),
            ("ruler", self.ruler.is_some()),
            ("ruler_storage", self.ruler_storage.is_some()),
            ("ingester_client", self.ingester_client.is_some()),
            ("pattern_ingester", self.pattern_ingester.is_some()),
            ("index_gateway", self.index_gateway.is_some()),
            ("bloom_build", self.bloom_build.is_some()),
            ("bloom_gateway", self.bloom_gateway.is_some()),
            ("chunk_store_config", self.chunk_store_config.is_some()),
            ("schema_config", self.schema_config.is_some()),
            ("compactor_client", self.compactor_client.is_some()),
            (
                "compactor_grpc_client",
                self.compactor_grpc_client.is_some(),
            ),
            ("frontend_worker", self.frontend_worker.is_some()),
            ("memberlist", self.memberlist.is_some()),
            ("kafka_config", self.kafka_config.is_some()),
            ("dataobj", self.dataobj.is_some()),
            ("ingest_limits", self.ingest_limits.is_some()),
            (
                "ingest_limits_frontend",
                self.ingest_limits_frontend.is_some(),
            ),
            (
                "ingest_limits_frontend_client",
                self.ingest_limits_frontend_client.is_some(),
            ),
            ("runtime_config", self.runtime_config.is_some()),
            ("operational_config", self.operational_config.is_some()),
            ("tracing", self.tracing.is_some()),
            ("analytics", self.analytics.is_some()),
            ("profiling", self.profiling.is_some()),
            (
                "tenant_limits_allow_publish",
                self.tenant_limits_allow_publish.is_some(),
            ),
            ("shutdown_delay", self.shutdown_delay.is_some()),
            ("metrics_namespace", self.metrics_namespace.is_some()),
        ];
        all.into_iter()
            .filter(|(_, p)| *p)
            .map(|(n, _)| n)
            .collect()
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            target: None,
            auth_enabled: true,
            no_auth_tenant: None,
            server: ServerConfig::default(),
            common: CommonConfig::default(),
            storage_config: StorageConfig::default(),
            limits_config: LimitsConfig::default(),
            ingester: IngesterConfig::default(),
            compactor: CompactorConfig::default(),
            ignored: IgnoredSections::default(),
        }
    }
}

/// `server` (dskit): the keys we honour; the rest is kept and reported as ignored.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct ServerConfig {
    /// HTTP port (Loki default 3100).
    pub http_listen_port: u16,
    /// HTTP address ("" = all interfaces).
    pub http_listen_address: String,
    /// gRPC port (not served yet).
    pub grpc_listen_port: u16,
    /// gRPC address.
    pub grpc_listen_address: String,
    /// `debug|info|warn|error`.
    pub log_level: String,
    /// `logfmt|json`.
    pub log_format: String,
    /// Other dskit server keys (timeouts, TLS, …), ignored.
    #[serde(flatten, skip_serializing)]
    pub other: BTreeMap<String, IgnoredAny>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            http_listen_port: 3100,
            http_listen_address: String::new(),
            grpc_listen_port: 9095,
            grpc_listen_address: String::new(),
            log_level: "info".into(),
            log_format: "logfmt".into(),
            other: BTreeMap::new(),
        }
    }
}

/// `common`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct CommonConfig {
    /// Directory prefix for the WAL and the filesystem object store.
    pub path_prefix: Option<PathBuf>,
    /// `common.storage`.
    pub storage: CommonStorage,
    /// Ring, replication, instance address, …: ignored.
    #[serde(flatten, skip_serializing)]
    pub other: BTreeMap<String, IgnoredAny>,
}

/// `common.storage`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct CommonStorage {
    /// `filesystem: {chunks_directory, rules_directory}`.
    pub filesystem: Option<FilesystemStorage>,
    /// `object_store_url`: our extension, any `lgtm_common::objstore` URL (`s3://…`; masked
    /// in `/config` since it may carry credentials).
    #[serde(serialize_with = "mask")]
    pub object_store_url: Option<String>,
    /// `s3`: Loki's S3 settings (SeaweedFS, MinIO, AWS).
    pub s3: Option<S3Storage>,
    /// Other backends (`gcs`, `azure`, …): not supported yet, ignored with a warning.
    #[serde(flatten, skip_serializing)]
    pub other: BTreeMap<String, IgnoredAny>,
}

/// Loki's `s3_storage_config` keys we map onto the shared object store.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct S3Storage {
    /// `s3://key:secret@region/bucket` URL form.
    pub s3: Option<String>,
    /// `host:port` of an S3-compatible endpoint (SeaweedFS, MinIO).
    pub endpoint: Option<String>,
    /// Region.
    pub region: Option<String>,
    /// Bucket (Loki takes a comma list; the first is used).
    pub bucketnames: Option<String>,
    /// Access key id.
    pub access_key_id: Option<String>,
    /// Secret access key (masked in `/config`).
    #[serde(serialize_with = "mask")]
    pub secret_access_key: Option<String>,
    /// Session token (masked in `/config`).
    #[serde(serialize_with = "mask")]
    pub session_token: Option<String>,
    /// Plain HTTP to the endpoint.
    pub insecure: bool,
    /// Path-style addressing.
    pub s3forcepathstyle: bool,
    /// `http_config`, `sse`, `storage_class`, …: ignored.
    #[serde(flatten, skip_serializing)]
    pub other: BTreeMap<String, IgnoredAny>,
}

/// Writes secrets as Loki's `/config` does: `********` when set.
fn mask<S: serde::Serializer>(v: &Option<String>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(_) => s.serialize_str("********"),
        None => s.serialize_none(),
    }
}

/// `common.storage.filesystem`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct FilesystemStorage {
    /// Where chunks (our blocks) live.
    pub chunks_directory: Option<PathBuf>,
    /// Ruler rules (unused).
    pub rules_directory: Option<PathBuf>,
}

/// `storage_config`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct StorageConfig {
    /// `filesystem: {directory}`.
    pub filesystem: Option<StorageFilesystem>,
    /// Index/cache settings and other backends: ignored.
    #[serde(flatten, skip_serializing)]
    pub other: BTreeMap<String, IgnoredAny>,
}

/// `storage_config.filesystem`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct StorageFilesystem {
    /// Chunks directory.
    pub directory: Option<PathBuf>,
}

/// `ingester`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct IngesterConfig {
    /// Flush a head once its oldest data is this old (Loki `max_chunk_age`, 2h); half of it
    /// is the out-of-order window.
    pub max_chunk_age: GoDuration,
    /// Loki `chunk_idle_period` (30m): flush a head that received nothing for this long.
    pub chunk_idle_period: GoDuration,
    /// How often flush conditions are checked (30s).
    pub flush_check_period: GoDuration,
    /// Flush when a tenant's head holds this many line bytes (our knob; 0 = off).
    pub head_max_bytes: u64,
    /// `wal: {dir, enabled, flush_on_shutdown}`.
    pub wal: IngesterWal,
    /// Ring/lifecycler and chunk-encoding keys: ignored.
    #[serde(flatten, skip_serializing)]
    pub other: BTreeMap<String, IgnoredAny>,
}

impl Default for IngesterConfig {
    fn default() -> Self {
        IngesterConfig {
            max_chunk_age: GoDuration(2 * 3600 * 1_000_000_000),
            chunk_idle_period: GoDuration(30 * 60 * 1_000_000_000),
            flush_check_period: GoDuration(30 * 1_000_000_000),
            head_max_bytes: 512 << 20,
            wal: IngesterWal::default(),
            other: BTreeMap::new(),
        }
    }
}

/// `compactor`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct CompactorConfig {
    /// How often blocks are compacted and retention applied (Loki default 10m).
    pub compaction_interval: GoDuration,
    /// Apply `retention_period` / `retention_stream` (Loki default false).
    pub retention_enabled: bool,
    /// Compact a tenant once it has this many blocks (our knob).
    pub min_blocks: usize,
    /// Delete requests can be cancelled this long before they are applied (Loki: 24h).
    pub delete_request_cancel_period: GoDuration,
    /// Working directory, delete-request store, …: ignored.
    #[serde(flatten, skip_serializing)]
    pub other: BTreeMap<String, IgnoredAny>,
}

impl Default for CompactorConfig {
    fn default() -> Self {
        CompactorConfig {
            compaction_interval: GoDuration(10 * 60 * 1_000_000_000),
            retention_enabled: false,
            min_blocks: 8,
            delete_request_cancel_period: GoDuration(24 * 3600 * 1_000_000_000),
            other: BTreeMap::new(),
        }
    }
}

/// `ingester.wal`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct IngesterWal {
    /// WAL directory (default `<path_prefix>/wal`).
    pub dir: Option<PathBuf>,
    /// Loki's switch; the WAL is always on here (acknowledged data must survive a crash).
    pub enabled: Option<bool>,
    /// Flush heads to blocks on shutdown (Loki default false; we flush when true).
    pub flush_on_shutdown: Option<bool>,
    /// Other keys (checkpoint duration, replay memory ceiling): ignored.
    #[serde(flatten, skip_serializing)]
    pub other: BTreeMap<String, IgnoredAny>,
}

impl Config {
    /// Data directory: `common.path_prefix`, else `/tmp/loki` (Loki's local default).
    pub fn path_prefix(&self) -> PathBuf {
        self.common
            .path_prefix
            .clone()
            .unwrap_or_else(|| PathBuf::from("/tmp/loki"))
    }

    /// WAL directory.
    pub fn wal_dir(&self) -> PathBuf {
        self.ingester
            .wal
            .dir
            .clone()
            .unwrap_or_else(|| self.path_prefix().join("wal"))
    }

    /// The object store for blocks: `object_store_url`, else `common.storage.s3`, else the
    /// filesystem chunks directory.
    pub fn object_store_config(
        &self,
    ) -> Result<lgtm_common::objstore::ObjectStoreConfig, lgtm_common::objstore::Error> {
        use lgtm_common::objstore::{ObjectStoreConfig, S3Config};
        if self.common.storage.object_store_url.is_none()
            && let Some(s3) = &self.common.storage.s3
        {
            if let Some(url) = s3.s3.as_deref().filter(|u| !u.is_empty()) {
                return ObjectStoreConfig::from_url(url);
            }
            let scheme = if s3.insecure { "http" } else { "https" };
            return Ok(ObjectStoreConfig::S3(S3Config {
                bucket: s3
                    .bucketnames
                    .as_deref()
                    .unwrap_or_default()
                    .split(',')
                    .next()
                    .unwrap_or_default()
                    .trim()
                    .to_owned(),
                endpoint: s3.endpoint.as_ref().map(|e| {
                    if e.contains("://") {
                        e.clone()
                    } else {
                        format!("{scheme}://{e}")
                    }
                }),
                region: s3.region.clone(),
                access_key_id: s3.access_key_id.clone(),
                secret_access_key: s3.secret_access_key.clone(),
                session_token: s3.session_token.clone(),
                force_path_style: Some(s3.s3forcepathstyle || s3.endpoint.is_some()),
                allow_http: Some(s3.insecure),
                ..S3Config::default()
            }));
        }
        ObjectStoreConfig::from_url(&self.object_store_url())
    }

    /// Object store URL for blocks: `object_store_url`, else the filesystem chunks directory.
    pub fn object_store_url(&self) -> String {
        if let Some(u) = &self.common.storage.object_store_url {
            return u.clone();
        }
        let dir = self
            .common
            .storage
            .filesystem
            .as_ref()
            .and_then(|f| f.chunks_directory.clone())
            .or_else(|| {
                self.storage_config
                    .filesystem
                    .as_ref()
                    .and_then(|f| f.directory.clone())
            })
            .unwrap_or_else(|| self.path_prefix().join("chunks"));
        format!("file://{}", dir.display())
    }

    /// The tenant of unauthenticated requests.
    pub fn no_auth_tenant(&self) -> &str {
        self.no_auth_tenant.as_deref().unwrap_or("fake")
    }

    /// The effective configuration as YAML, secrets masked (`GET /config`).
    pub fn to_yaml(&self) -> String {
        serde_yaml_ng::to_string(self).unwrap_or_else(|e| format!("# cannot render config: {e}\n"))
    }

    /// Keys accepted but not acted on, as `section` or `section.key`, for one log line.
    pub fn ignored_keys(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .ignored
            .present()
            .into_iter()
            .map(String::from)
            .collect();
        let mut nested = |section: &str, m: &BTreeMap<String, IgnoredAny>| {
            out.extend(m.keys().map(|k| format!("{section}.{k}")));
        };
        nested("server", &self.server.other);
        nested("common", &self.common.other);
        nested("common.storage", &self.common.storage.other);
        if let Some(s3) = &self.common.storage.s3 {
            nested("common.storage.s3", &s3.other);
        }
        nested("storage_config", &self.storage_config.other);
        nested("ingester", &self.ingester.other);
        nested("ingester.wal", &self.ingester.wal.other);
        nested("compactor", &self.compactor.other);
        nested("limits_config", &self.limits_config.other);
        out
    }
}

#[cfg(test)]
mod tests;
