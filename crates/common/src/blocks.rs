//! Block catalogue: immutable blocks in object storage, each a directory named by its
//! [`BlockId`] holding its files and a `meta.json` ([`BlockMeta`]) written last, so a block
//! is visible exactly when it is complete. Shared by the metrics, log and trace stores for
//! listing, uploading, deleting and picking the blocks a query's time range needs.
//!
//! Layout under the catalogue prefix: `<ulid>/meta.json`, `<ulid>/<relative file paths>`.
//! `meta.json` follows Prometheus' field names (`ulid`, `minTime`, `maxTime`, `stats`,
//! `compaction.level`, `compaction.sources`, `version`), with the time range half-open
//! `[minTime, maxTime)` in milliseconds as in Prometheus.

mod catalog;
mod id;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

pub use catalog::{BlockCatalog, BlockListing};
pub use id::BlockId;

/// File name of a block's metadata, written last on upload and deleted first.
pub const META_FILE: &str = "meta.json";

/// Errors of the block catalogue.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Text that is not a 26-character ULID.
    #[error("invalid block id {0:?}")]
    InvalidBlockId(String),
    /// The OS random source failed.
    #[error("cannot generate a block id: {0}")]
    Random(String),
    /// An object store call failed.
    #[error("object store {op} {path}: {source}")]
    Store {
        /// The operation.
        op: &'static str,
        /// The object path.
        path: String,
        /// The store's error.
        #[source]
        source: object_store::Error,
    },
    /// A local file operation failed.
    #[error("local block file {path}: {source}")]
    Io {
        /// The local path.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A `meta.json` that does not parse.
    #[error("invalid meta.json of block {id}: {source}")]
    InvalidMeta {
        /// The block directory name.
        id: String,
        /// The parse error.
        #[source]
        source: serde_json::Error,
    },
    /// A `meta.json` whose `ulid` differs from its directory name.
    #[error("meta.json in directory {dir} names block {ulid}")]
    IdMismatch {
        /// The directory name.
        dir: String,
        /// The id inside meta.json.
        ulid: BlockId,
    },
    /// A block whose `meta.json` does not exist.
    #[error("block {0} not found")]
    NotFound(BlockId),
}

/// Result alias of the block catalogue.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Current `meta.json` layout version.
pub const META_VERSION: u32 = 1;

/// The `meta.json` of a block.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlockMeta {
    /// The block's id (also its directory name).
    pub ulid: BlockId,
    /// First timestamp covered, ms since the epoch, inclusive.
    pub min_time: i64,
    /// End of the covered range, ms since the epoch, exclusive.
    pub max_time: i64,
    /// Counts describing the content.
    #[serde(default)]
    pub stats: BlockStats,
    /// Compaction lineage.
    #[serde(default)]
    pub compaction: BlockCompaction,
    /// Layout version of this file.
    #[serde(default = "default_version")]
    pub version: u32,
    /// Files of the block, relative to its directory (filled on upload; excludes meta.json).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<BlockFile>,
    /// Store-specific fields (tenant, schema, bloom parameters…), kept verbatim.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

fn default_version() -> u32 {
    META_VERSION
}

/// Content counts; each store fills the ones it has.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlockStats {
    /// Series (metrics) or streams (logs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub num_series: Option<u64>,
    /// Samples (metrics).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub num_samples: Option<u64>,
    /// Chunks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub num_chunks: Option<u64>,
    /// Log entries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub num_entries: Option<u64>,
    /// Traces.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub num_traces: Option<u64>,
    /// Spans.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub num_spans: Option<u64>,
    /// Total bytes of the block's files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub num_bytes: Option<u64>,
}

/// Compaction lineage, as in Prometheus.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlockCompaction {
    /// 1 for a block cut from the head; one more than the highest input when compacted.
    pub level: u32,
    /// The level-1 blocks whose data this block holds (itself for a level-1 block).
    #[serde(default)]
    pub sources: Vec<BlockId>,
}

impl Default for BlockCompaction {
    fn default() -> Self {
        BlockCompaction {
            level: 1,
            sources: Vec::new(),
        }
    }
}

/// One file of a block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlockFile {
    /// Path relative to the block directory, `/`-separated.
    pub rel_path: String,
    /// Size in bytes.
    pub size_bytes: u64,
}

impl BlockMeta {
    /// Metadata of a new level-1 block covering `[min_time, max_time)`.
    pub fn new(ulid: BlockId, min_time: i64, max_time: i64) -> Self {
        BlockMeta {
            ulid,
            min_time,
            max_time,
            stats: BlockStats::default(),
            compaction: BlockCompaction {
                level: 1,
                sources: vec![ulid],
            },
            version: META_VERSION,
            files: Vec::new(),
            extra: BTreeMap::new(),
        }
    }

    /// Whether the block holds data in the inclusive query range `[start, end]` (ms).
    pub fn overlaps(&self, start: i64, end: i64) -> bool {
        self.min_time <= end && start < self.max_time
    }
}

/// The blocks needed for the inclusive query range `[start, end]`, ordered by min time.
pub fn select_overlapping(blocks: &[BlockMeta], start: i64, end: i64) -> Vec<&BlockMeta> {
    let mut out: Vec<&BlockMeta> = blocks.iter().filter(|b| b.overlaps(start, end)).collect();
    out.sort_by_key(|b| (b.min_time, b.ulid));
    out
}
