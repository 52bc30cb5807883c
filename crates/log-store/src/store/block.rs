//! Immutable blocks on the object store. A block holds one tenant's flushed head:
//!
//! ```text
//! <tenant>/<ulid>/chunks      concatenated chunks (see `chunk.rs`)
//! <tenant>/<ulid>/index.json  streams (labels + chunk refs with time bounds), postings
//! <tenant>/<ulid>/meta.json   lgtm-common block meta, written last
//! ```
//!
//! The index is loaded into memory when the block is opened; a query uses the postings of
//! its equality matchers to find candidate streams, checks every matcher on them and reads
//! only the byte ranges of chunks overlapping its time range.

use std::collections::BTreeMap;
use std::sync::Arc;

use lgtm_common::blocks::{BlockCatalog, BlockFile, BlockId, BlockMeta, BlockStats};
use lgtm_common::labels::{Label, Labels, MatchOp, Matcher, matches_all};
use lgtm_common::objstore::{ObjectPath, ObjectStore, ObjectStoreExt};
use object_store::PutPayload;
use serde::{Deserialize, Serialize};

use super::head::StreamData;
use super::{Entry, LineTest, ScanStats, StoreError, chunk};

/// File names inside a block directory.
const CHUNKS_FILE: &str = "chunks";
const INDEX_FILE: &str = "index.json";
/// Format tag stored in `meta.json`.
const FORMAT: &str = "lgtm-logs-v1";
/// Raw bytes per chunk before a stream's entries are split into another chunk.
const CHUNK_TARGET_RAW: usize = 2 << 20;

/// A chunk reference inside the index.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ChunkRef {
    pub(crate) offset: u64,
    pub(crate) len: u64,
    pub(crate) min_ts: i64,
    pub(crate) max_ts: i64,
    pub(crate) entries: u64,
    pub(crate) raw_bytes: u64,
    pub(crate) line_bytes: u64,
}

/// One stream of the index.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct IndexStream {
    pub(crate) labels: BTreeMap<String, String>,
    pub(crate) chunks: Vec<ChunkRef>,
}

/// The per-block label index.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct BlockIndex {
    pub(crate) streams: Vec<IndexStream>,
    /// label name → value → stream positions in `streams`.
    pub(crate) postings: BTreeMap<String, BTreeMap<String, Vec<u32>>>,
}

/// A block opened for queries.
#[derive(Debug)]
pub(crate) struct LoadedBlock {
    pub(crate) tenant: String,
    pub(crate) meta: BlockMeta,
    pub(crate) min_ns: i64,
    pub(crate) max_ns: i64,
    pub(crate) index: BlockIndex,
    pub(crate) labels: Vec<Labels>,
    pub(crate) dir: ObjectPath,
}

fn os_err(op: &'static str, path: &ObjectPath) -> impl FnOnce(object_store::Error) -> StoreError {
    let path = path.to_string();
    move |e| StoreError::ObjectStore(format!("{op} {path}: {e}"))
}

fn to_labels(m: &BTreeMap<String, String>) -> Labels {
    Labels::from_labels(
        m.iter()
            .map(|(k, v)| Label::new(k.clone(), v.clone()))
            .collect(),
    )
}

impl LoadedBlock {
    fn new(tenant: String, meta: BlockMeta, index: BlockIndex, dir: ObjectPath) -> Self {
        let min_ns = meta
            .extra
            .get("minTimeNs")
            .and_then(|v| v.as_i64())
            .unwrap_or(meta.min_time * 1_000_000);
        let max_ns = meta
            .extra
            .get("maxTimeNs")
            .and_then(|v| v.as_i64())
            .unwrap_or(meta.max_time * 1_000_000);
        let labels = index.streams.iter().map(|s| to_labels(&s.labels)).collect();
        LoadedBlock {
            tenant,
            meta,
            min_ns,
            max_ns,
            index,
            labels,
            dir,
        }
    }

    /// Whether the block holds data in `[start, end)`.
    pub(crate) fn overlaps(&self, start: i64, end: i64) -> bool {
        self.min_ns < end && start <= self.max_ns
    }

    /// Stream positions matching the matchers (postings first, then every matcher).
    pub(crate) fn matching(&self, matchers: &[Matcher]) -> Vec<usize> {
        let mut candidates: Option<Vec<u32>> = None;
        for m in matchers {
            if m.op != MatchOp::Equal || m.value.is_empty() {
                continue;
            }
            let list = self
                .index
                .postings
                .get(&m.name)
                .and_then(|v| v.get(&m.value))
                .cloned()
                .unwrap_or_default();
            candidates = Some(match candidates {
                None => list,
                Some(c) => c
                    .into_iter()
                    .filter(|x| list.binary_search(x).is_ok())
                    .collect(),
            });
        }
        let all: Vec<usize> = match candidates {
            Some(c) => c.into_iter().map(|x| x as usize).collect(),
            None => (0..self.labels.len()).collect(),
        };
        all.into_iter()
            .filter(|&i| self.labels.get(i).is_some_and(|l| matches_all(matchers, l)))
            .collect()
    }

    /// Reads stream `i`'s entries in `[start, end)`.
    pub(crate) async fn read_stream(
        &self,
        store: &Arc<dyn ObjectStore>,
        i: usize,
        start: i64,
        end: i64,
    ) -> Result<Vec<Entry>, StoreError> {
        self.read_stream_filtered(store, i, start, end, None, &mut ScanStats::default())
            .await
    }

    /// Reads stream `i`'s entries in `[start, end)` whose line passes `test`, counting every
    /// entry in range into `stats`.
    pub(crate) async fn read_stream_filtered(
        &self,
        store: &Arc<dyn ObjectStore>,
        i: usize,
        start: i64,
        end: i64,
        test: Option<&dyn LineTest>,
        stats: &mut ScanStats,
    ) -> Result<Vec<Entry>, StoreError> {
        let Some(s) = self.index.streams.get(i) else {
            return Ok(Vec::new());
        };
        let path = self.dir.clone().join(CHUNKS_FILE);
        let mut out = Vec::new();
        for c in &s.chunks {
            if c.max_ts < start || c.min_ts >= end {
                continue;
            }
            let bytes = store
                .get_range(&path, c.offset..c.offset + c.len)
                .await
                .map_err(os_err("read", &path))?;
            out.extend(chunk::decode_range(&bytes, start, end, test, stats)?);
        }
        Ok(out)
    }
}

/// Deletes a block's objects (meta first, so it disappears atomically for readers).
pub(crate) async fn delete(
    store: &Arc<dyn ObjectStore>,
    tenant: &str,
    id: BlockId,
) -> Result<(), StoreError> {
    BlockCatalog::new(store.clone(), ObjectPath::from(tenant))
        .delete(id)
        .await
        .map_err(|e| StoreError::ObjectStore(e.to_string()))
}

/// What a block is written from: sorted entries (compaction) or a flushed head stream.
pub(crate) trait StreamSource {
    /// True when there is nothing to write.
    fn is_empty(&self) -> bool;
    /// The entries, sorted, without exact duplicates.
    fn load(&self) -> Result<std::borrow::Cow<'_, [Entry]>, StoreError>;
}

impl StreamSource for Vec<Entry> {
    fn is_empty(&self) -> bool {
        self.as_slice().is_empty()
    }

    fn load(&self) -> Result<std::borrow::Cow<'_, [Entry]>, StoreError> {
        Ok(std::borrow::Cow::Borrowed(self))
    }
}

impl StreamSource for StreamData {
    fn is_empty(&self) -> bool {
        StreamData::is_empty(self)
    }

    fn load(&self) -> Result<std::borrow::Cow<'_, [Entry]>, StoreError> {
        Ok(std::borrow::Cow::Owned(self.all_entries()?))
    }
}

/// Writes one block for `tenant` from its streams and returns it opened; streams are
/// decoded one at a time, so a head flush never holds its whole raw data at once.
/// `lineage` is `(level, sources)` for compacted blocks, `None` for a level-1 block.
pub(crate) async fn write<S: StreamSource>(
    store: &Arc<dyn ObjectStore>,
    tenant: &str,
    streams: &[(Labels, S)],
    now_ms: u64,
    lineage: Option<(u32, Vec<BlockId>)>,
) -> Result<LoadedBlock, StoreError> {
    let id = BlockId::generate(now_ms).map_err(|e| StoreError::ObjectStore(e.to_string()))?;
    let mut chunks_file: Vec<u8> = Vec::new();
    let mut index = BlockIndex::default();
    let (mut min_ns, mut max_ns) = (i64::MAX, i64::MIN);
    let mut total_entries = 0u64;
    let mut sorted: Vec<&(Labels, S)> = streams.iter().filter(|s| !s.1.is_empty()).collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    for (pos, (labels, source)) in sorted.into_iter().enumerate() {
        let entries = source.load()?;
        let mut refs = Vec::new();
        let mut startix = 0;
        while startix < entries.len() {
            let mut endix = startix;
            let mut raw = 0;
            while endix < entries.len() && (endix == startix || raw < CHUNK_TARGET_RAW) {
                raw += entries[endix].line.len();
                endix += 1;
            }
            let part = &entries[startix..endix];
            let (bytes, raw_bytes) = chunk::encode(part)?;
            let (lo, hi) = (part[0].ts, part[part.len() - 1].ts);
            min_ns = min_ns.min(lo);
            max_ns = max_ns.max(hi);
            refs.push(ChunkRef {
                offset: chunks_file.len() as u64,
                len: bytes.len() as u64,
                min_ts: lo,
                max_ts: hi,
                entries: part.len() as u64,
                raw_bytes: raw_bytes as u64,
                line_bytes: raw as u64,
            });
            total_entries += part.len() as u64;
            chunks_file.extend_from_slice(&bytes);
            startix = endix;
        }
        for l in labels {
            index
                .postings
                .entry(l.name.clone())
                .or_default()
                .entry(l.value.clone())
                .or_default()
                .push(pos as u32);
        }
        index.streams.push(IndexStream {
            labels: labels
                .iter()
                .map(|l| (l.name.clone(), l.value.clone()))
                .collect(),
            chunks: refs,
        });
    }
    let catalog = BlockCatalog::new(store.clone(), ObjectPath::from(tenant));
    let dir = catalog.block_dir(id);
    let index_bytes = serde_json::to_vec(&index).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let chunks_path = dir.clone().join(CHUNKS_FILE);
    let index_path = dir.clone().join(INDEX_FILE);
    let files = vec![
        BlockFile {
            rel_path: CHUNKS_FILE.into(),
            size_bytes: chunks_file.len() as u64,
        },
        BlockFile {
            rel_path: INDEX_FILE.into(),
            size_bytes: index_bytes.len() as u64,
        },
    ];
    let num_bytes = (chunks_file.len() + index_bytes.len()) as u64;
    store
        .put(&chunks_path, PutPayload::from(chunks_file))
        .await
        .map_err(os_err("put", &chunks_path))?;
    store
        .put(&index_path, PutPayload::from(index_bytes))
        .await
        .map_err(os_err("put", &index_path))?;
    let mut meta = BlockMeta::new(
        id,
        min_ns.div_euclid(1_000_000),
        max_ns.div_euclid(1_000_000) + 1,
    );
    meta.stats = BlockStats {
        num_series: Some(index.streams.len() as u64),
        num_chunks: Some(index.streams.iter().map(|s| s.chunks.len() as u64).sum()),
        num_entries: Some(total_entries),
        num_bytes: Some(num_bytes),
        ..BlockStats::default()
    };
    meta.files = files;
    if let Some((level, sources)) = lineage {
        meta.compaction.level = level;
        meta.compaction.sources = sources;
    }
    meta.extra.insert("tenant".into(), tenant.into());
    meta.extra.insert("format".into(), FORMAT.into());
    meta.extra.insert("minTimeNs".into(), min_ns.into());
    meta.extra.insert("maxTimeNs".into(), max_ns.into());
    catalog
        .put_meta(&meta)
        .await
        .map_err(|e| StoreError::ObjectStore(e.to_string()))?;
    Ok(LoadedBlock::new(tenant.to_owned(), meta, index, dir))
}

/// Opens every complete block of every tenant under the store's root.
pub(crate) async fn load_all(store: &Arc<dyn ObjectStore>) -> Result<Vec<LoadedBlock>, StoreError> {
    let root = store
        .list_with_delimiter(None)
        .await
        .map_err(|e| StoreError::ObjectStore(format!("list: {e}")))?;
    let mut out = Vec::new();
    for p in root.common_prefixes {
        let Some(tenant) = p.filename().map(str::to_owned) else {
            continue;
        };
        let catalog = BlockCatalog::new(store.clone(), p.clone());
        let listing = catalog
            .list()
            .await
            .map_err(|e| StoreError::ObjectStore(e.to_string()))?;
        for meta in listing.blocks {
            if meta.extra.get("format").and_then(|v| v.as_str()) != Some(FORMAT) {
                continue;
            }
            let dir = catalog.block_dir(meta.ulid);
            let index_path = dir.clone().join(INDEX_FILE);
            let bytes = store
                .get(&index_path)
                .await
                .map_err(os_err("get", &index_path))?
                .bytes()
                .await
                .map_err(os_err("read", &index_path))?;
            let index: BlockIndex = serde_json::from_slice(&bytes)
                .map_err(|e| StoreError::Corrupt(format!("{index_path}: {e}")))?;
            out.push(LoadedBlock::new(tenant.clone(), meta, index, dir));
        }
    }
    Ok(out)
}
