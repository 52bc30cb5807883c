//! Storage of the log store: a write-ahead log and an in-memory head per tenant and stream,
//! flushed to immutable blocks on the object store (see `docs/log-store.md`).
//!
//! Write path ([`Store::append`]): entries are applied to the head and their WAL record is
//! enqueued under one lock, so the log order is the head order; the call returns once the
//! record is durable, and only then does the push handler acknowledge. [`Store::open`]
//! replays the WAL into the head.
//!
//! Flush ([`Store::flush`]): under the same lock the WAL is cut to a new segment and every
//! tenant's head entries are moved into a frozen snapshot (still queried); each snapshot is
//! written as one block; once every snapshot is uploaded, WAL segments before the cut are
//! deleted. A failed upload keeps the snapshot in memory and in the WAL and is retried on the
//! next flush, so ingestion continues while the object store is away.
//!
//! Read path ([`Store::select`]): head, frozen snapshots and blocks are merged per stream,
//! sorted by timestamp, and exact duplicates (same timestamp and line) are dropped — these
//! can appear after a crash between a block upload and the WAL truncation.

mod block;
mod chunk;
mod codec;
mod compact;
mod deletes;
mod head;
mod wal_record;

use std::collections::HashMap;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use lgtm_common::clock::SharedClock;
use lgtm_common::error::{ErrorKind, HasErrorKind};
use lgtm_common::labels::{Labels, Matcher};
use lgtm_common::objstore::ObjectStore;
use lgtm_common::wal::{self, Record, ReplayReport, Wal, WalOptions, WalWriter};
use parking_lot::{Mutex, RwLock};

use block::LoadedBlock;
pub use compact::{CompactOutcome, Retention, RetentionRule};
use deletes::ActiveDelete;
pub use deletes::DeleteRequest;
use head::{Reject, StreamData, TenantHead};
pub(crate) use wal_record::WalStream;

/// Errors of the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The write-ahead log failed.
    #[error("wal: {0}")]
    Wal(#[from] wal::Error),
    /// The object store failed.
    #[error("object store: {0}")]
    ObjectStore(String),
    /// Stored data does not decode.
    #[error("corrupt data: {0}")]
    Corrupt(String),
}

impl HasErrorKind for StoreError {
    fn error_kind(&self) -> ErrorKind {
        ErrorKind::Internal
    }
}

/// One log entry: timestamp (Unix ns), line and structured metadata. Cheap to clone.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// Unix nanoseconds.
    pub ts: i64,
    /// The log line.
    pub line: Arc<str>,
    /// Structured metadata (sorted by name).
    pub metadata: Arc<Labels>,
}

impl Entry {
    /// Builds an entry.
    pub fn new(ts: i64, line: &str, metadata: Labels) -> Self {
        Entry {
            ts,
            line: Arc::from(line),
            metadata: Arc::new(metadata),
        }
    }
}

/// One stream's entries as returned by [`Store::select`]: sorted ascending by timestamp.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamEntries {
    /// Stream labels.
    pub labels: Labels,
    /// Entries, ascending.
    pub entries: Vec<Entry>,
    /// Every entry the select looked at, before a line pre-filter dropped some (the
    /// `stats` block reports these).
    pub scanned: ScanStats,
}

/// Entries a select looked at: what a query "processed" in Loki's `stats` block.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ScanStats {
    /// Entries.
    pub lines: u64,
    /// Line bytes.
    pub bytes: u64,
    /// Structured metadata bytes (names and values).
    pub metadata_bytes: u64,
}

impl ScanStats {
    fn add(&mut self, e: &Entry) {
        self.lines += 1;
        self.bytes += e.line.len() as u64;
        self.metadata_bytes += e
            .metadata
            .iter()
            .map(|l| (l.name.len() + l.value.len()) as u64)
            .sum::<u64>();
    }

    fn merge(&mut self, o: ScanStats) {
        self.lines += o.lines;
        self.bytes += o.bytes;
        self.metadata_bytes += o.metadata_bytes;
    }
}

/// A test on bare lines that a select applies while decoding, so lines a query's leading
/// line filters drop are never copied out of their chunks.
pub trait LineTest: Sync {
    /// True when the line must be kept.
    fn keep(&self, line: &str) -> bool;

    /// Substrings every kept line contains: a chunk whose lines lack one is skipped whole.
    fn required(&self) -> &[String] {
        &[]
    }
}

/// A stream to append, already validated.
#[derive(Debug, Clone)]
pub struct AppendStream {
    /// Stream labels.
    pub labels: Labels,
    /// Entries in push order.
    pub entries: Vec<Entry>,
}

/// An entry the store refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppendRejection {
    /// Creating the stream would exceed the tenant's stream limit.
    StreamLimit {
        /// The stream's labels.
        labels: Labels,
    },
    /// Entries older than the stream's out-of-order window: `(ts, oldest acceptable)`.
    TooFarBehind {
        /// The stream's labels.
        labels: Labels,
        /// Refused entries: `(entry ts, oldest acceptable ts)`.
        entries: Vec<(i64, i64)>,
        /// Entries of the stream in the request.
        total: usize,
    },
}

/// What an append stored.
#[derive(Debug, Default)]
pub struct AppendOutcome {
    /// Entries written.
    pub written: usize,
    /// Exact duplicates dropped silently.
    pub duplicates: usize,
    /// Refusals, per stream.
    pub rejections: Vec<AppendRejection>,
}

/// Tuning and placement of the store.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// WAL directory.
    pub wal_dir: PathBuf,
    /// WAL options (fsync policy).
    pub wal: WalOptions,
    /// Block storage.
    pub objects: Arc<dyn ObjectStore>,
    /// Entries older than a stream's newest minus this are refused (Loki: max_chunk_age / 2).
    pub out_of_order_window_ns: i64,
    /// Streams per tenant (0 = unlimited).
    pub max_streams_per_tenant: usize,
    /// Clock for block ids.
    pub clock: SharedClock,
}

/// What [`Store::open`] found.
#[derive(Debug, Default)]
pub struct OpenReport {
    /// WAL replay report.
    pub wal: ReplayReport,
    /// Entries replayed into the head.
    pub replayed_entries: usize,
    /// Blocks opened.
    pub blocks: usize,
}

#[derive(Debug)]
struct Frozen {
    tenant: String,
    streams: Vec<(Labels, StreamData)>,
}

/// The log store: WAL, heads, frozen snapshots being flushed, and blocks.
#[derive(Debug)]
pub struct Store {
    opts: StoreOptions,
    wal: WalWriter,
    append_lock: Mutex<()>,
    flush_lock: tokio::sync::Mutex<()>,
    tenants: RwLock<HashMap<String, Arc<TenantHead>>>,
    frozen: RwLock<Vec<Arc<Frozen>>>,
    blocks: RwLock<Vec<Arc<LoadedBlock>>>,
    deletes: RwLock<Vec<Arc<ActiveDelete>>>,
    /// False when the stored delete requests could not be read at open (retried on use).
    deletes_loaded: std::sync::atomic::AtomicBool,
}

/// Starts a future and polls it once so its synchronous part (sending to the WAL thread)
/// runs now; the rest is awaited later, outside any lock.
fn start<F: Future>(f: F) -> Result<F::Output, Pin<Box<F>>> {
    let mut f = Box::pin(f);
    let mut cx = Context::from_waker(std::task::Waker::noop());
    match f.as_mut().poll(&mut cx) {
        Poll::Ready(v) => Ok(v),
        Poll::Pending => Err(f),
    }
}

async fn finish<F: Future>(started: Result<F::Output, Pin<Box<F>>>) -> F::Output {
    match started {
        Ok(v) => v,
        Err(f) => f.await,
    }
}

impl Store {
    /// Opens the WAL (replaying it into the head) and the blocks on the object store.
    pub async fn open(opts: StoreOptions) -> Result<(Store, OpenReport), StoreError> {
        let tenants: RwLock<HashMap<String, Arc<TenantHead>>> = RwLock::new(HashMap::new());
        let mut replayed = 0usize;
        let mut bad_records = 0usize;
        let wal_dir = opts.wal_dir.clone();
        let wal_opts = opts.wal.clone();
        let (wal, report) = {
            let tenants = &tenants;
            let replayed = &mut replayed;
            let bad = &mut bad_records;
            Wal::open_replaying(&wal_dir, wal_opts, 0, move |rec| {
                if rec.kind != wal_record::KIND_ENTRIES {
                    *bad += 1;
                    return;
                }
                match wal_record::decode(&rec.data) {
                    Ok((tenant, streams)) => {
                        let head = tenants.write().entry(tenant).or_default().clone();
                        for s in streams {
                            if let Some(ms) = head.get_or_create(&s.labels, 0) {
                                let mut d = ms.data.write();
                                for e in s.entries {
                                    if d.push(e, i64::MAX).unwrap_or(false) {
                                        *replayed += 1;
                                    }
                                }
                            }
                        }
                    }
                    Err(_) => *bad += 1,
                }
            })?
        };
        if bad_records > 0 {
            tracing::warn!(records = bad_records, "skipped undecodable wal records");
        }
        if let Some(d) = &report.damage {
            tracing::warn!(segment = d.segment, offset = d.offset, reason = %d.reason, "wal damage repaired on open");
        }
        let blocks = block::load_all(&opts.objects).await?;
        let n_blocks = blocks.len();
        let (active, deletes_loaded) = match load_deletes(&opts.objects).await {
            Ok(a) => (a, true),
            Err(e) => {
                tracing::warn!(error = %e, "delete requests unavailable; will retry");
                (Vec::new(), false)
            }
        };
        let store = Store {
            wal: WalWriter::spawn(wal)?,
            opts,
            append_lock: Mutex::new(()),
            flush_lock: tokio::sync::Mutex::new(()),
            tenants,
            frozen: RwLock::new(Vec::new()),
            blocks: RwLock::new(blocks.into_iter().map(Arc::new).collect()),
            deletes: RwLock::new(active),
            deletes_loaded: std::sync::atomic::AtomicBool::new(deletes_loaded),
        };
        Ok((
            store,
            OpenReport {
                wal: report,
                replayed_entries: replayed,
                blocks: n_blocks,
            },
        ))
    }

    fn head(&self, tenant: &str) -> Arc<TenantHead> {
        if let Some(h) = self.tenants.read().get(tenant) {
            return h.clone();
        }
        self.tenants
            .write()
            .entry(tenant.to_owned())
            .or_default()
            .clone()
    }

    /// Appends validated streams; returns once the stored entries are durable.
    pub async fn append(
        &self,
        tenant: &str,
        streams: Vec<AppendStream>,
    ) -> Result<AppendOutcome, StoreError> {
        let head = self.head(tenant);
        let mut outcome = AppendOutcome::default();
        let started = {
            let _order = self.append_lock.lock();
            let mut logged: Vec<WalStream> = Vec::new();
            for s in streams {
                let Some(ms) = head.get_or_create(&s.labels, self.opts.max_streams_per_tenant)
                else {
                    outcome
                        .rejections
                        .push(AppendRejection::StreamLimit { labels: s.labels });
                    continue;
                };
                let total = s.entries.len();
                let mut stored = Vec::with_capacity(total);
                let mut behind = Vec::new();
                {
                    let mut d = ms.data.write();
                    for e in s.entries {
                        match d.push(e.clone(), self.opts.out_of_order_window_ns) {
                            Ok(true) => stored.push(e),
                            Ok(false) => outcome.duplicates += 1,
                            Err(Reject::TooFarBehind(ts, oldest)) => behind.push((ts, oldest)),
                        }
                    }
                }
                outcome.written += stored.len();
                if !behind.is_empty() {
                    outcome.rejections.push(AppendRejection::TooFarBehind {
                        labels: s.labels.clone(),
                        entries: behind,
                        total,
                    });
                }
                if !stored.is_empty() {
                    logged.push(WalStream {
                        labels: s.labels,
                        entries: stored,
                    });
                }
            }
            if logged.is_empty() {
                None
            } else {
                let rec = Record::new(
                    wal_record::KIND_ENTRIES,
                    wal_record::encode(tenant, &logged),
                );
                Some(start(self.wal.append(vec![rec])))
            }
        };
        if let Some(started) = started {
            finish(started).await?;
        }
        Ok(outcome)
    }

    /// Entries of streams matching `matchers` with `start <= ts < end`, merged across head,
    /// frozen snapshots and blocks, ascending, exact duplicates removed.
    pub async fn select(
        &self,
        tenant: &str,
        matchers: &[Matcher],
        start: i64,
        end: i64,
    ) -> Result<Vec<StreamEntries>, StoreError> {
        self.select_keep(tenant, matchers, start, end, Keep::All)
            .await
    }

    /// [`Store::select`] keeping only the oldest or newest `n` entries of each stream: what a
    /// log query without filters and with `limit = n` can return, without copying the rest.
    pub async fn select_keep(
        &self,
        tenant: &str,
        matchers: &[Matcher],
        start: i64,
        end: i64,
        keep: Keep,
    ) -> Result<Vec<StreamEntries>, StoreError> {
        self.select_filtered(tenant, matchers, start, end, keep, None)
            .await
    }

    /// [`Store::select_keep`] returning only entries whose line passes `test` (each
    /// stream's `scanned` still counts every entry looked at).
    pub async fn select_filtered(
        &self,
        tenant: &str,
        matchers: &[Matcher],
        start: i64,
        end: i64,
        keep: Keep,
        test: Option<&dyn LineTest>,
    ) -> Result<Vec<StreamEntries>, StoreError> {
        let deletes = self.deletes.read().clone();
        // Deleted entries are removed after merging, so cutting earlier could return fewer.
        let keep = if deletes.iter().any(|d| d.req.tenant == tenant) {
            Keep::All
        } else {
            keep
        };
        let mut by_stream: HashMap<Labels, (Vec<Vec<Entry>>, ScanStats)> = HashMap::new();
        /// Adds one source's parts of a stream; streams with nothing scanned stay out.
        fn gather(
            by_stream: &mut HashMap<Labels, (Vec<Vec<Entry>>, ScanStats)>,
            labels: &Labels,
            parts: impl IntoIterator<Item = Vec<Entry>>,
            stats: ScanStats,
        ) {
            if stats.lines > 0 {
                let slot = by_stream.entry(labels.clone()).or_default();
                slot.0.extend(parts);
                slot.1.merge(stats);
            }
        }
        if let Some(head) = self.tenants.read().get(tenant).cloned() {
            for s in head.matching(matchers) {
                let d = s.data.read();
                let mut stats = ScanStats::default();
                let parts = d.data.parts(start, end, keep, test, &mut stats)?;
                gather(&mut by_stream, &s.labels, parts, stats);
            }
        }
        let frozen: Vec<Arc<Frozen>> = self
            .frozen
            .read()
            .iter()
            .filter(|f| f.tenant == tenant)
            .cloned()
            .collect();
        for f in frozen {
            for (labels, data) in &f.streams {
                if !lgtm_common::labels::matches_all(matchers, labels) {
                    continue;
                }
                let mut stats = ScanStats::default();
                let parts = data.parts(start, end, keep, test, &mut stats)?;
                gather(&mut by_stream, labels, parts, stats);
            }
        }
        let blocks: Vec<Arc<LoadedBlock>> = self
            .blocks
            .read()
            .iter()
            .filter(|b| b.tenant == tenant && b.overlaps(start, end))
            .cloned()
            .collect();
        for b in blocks {
            for i in b.matching(matchers) {
                let mut stats = ScanStats::default();
                let mut entries = b
                    .read_stream_filtered(&self.opts.objects, i, start, end, test, &mut stats)
                    .await?;
                keep.truncate(&mut entries);
                let parts = (!entries.is_empty()).then_some(entries);
                gather(&mut by_stream, &b.labels[i], parts, stats);
            }
        }
        let mut out: Vec<StreamEntries> = by_stream
            .into_iter()
            .map(|(labels, (parts, scanned))| {
                let mut entries = merge(parts);
                deletes::filter(&deletes, tenant, &labels, &mut entries);
                keep.truncate(&mut entries);
                StreamEntries {
                    labels,
                    entries,
                    scanned,
                }
            })
            .filter(|s| !s.entries.is_empty() || (test.is_some() && s.scanned.lines > 0))
            .collect();
        out.sort_by(|a, b| a.labels.cmp(&b.labels));
        Ok(out)
    }

    /// Label sets of streams matching `matchers` holding data in `[start, end)`.
    pub async fn series(
        &self,
        tenant: &str,
        matchers: &[Matcher],
        start: i64,
        end: i64,
    ) -> Vec<Labels> {
        self.stream_stats(tenant, matchers, start, end)
            .into_iter()
            .map(|(l, _)| l)
            .collect()
    }

    /// Per matching stream with data in `[start, end)`: chunks (head counts as one), entries
    /// and line bytes, from the index and head without reading chunks.
    pub fn stream_stats(
        &self,
        tenant: &str,
        matchers: &[Matcher],
        start: i64,
        end: i64,
    ) -> Vec<(Labels, StreamStats)> {
        let mut acc: HashMap<Labels, StreamStats> = HashMap::new();
        let mut add = |labels: &Labels, data: &StreamData| {
            let (n, bytes) = match data.count_range(start, end) {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(error = %e, "undecodable head chunk skipped in stats");
                    return;
                }
            };
            if n > 0 {
                let s = acc.entry(labels.clone()).or_default();
                s.chunks += 1;
                s.entries += n;
                s.bytes += bytes;
            }
        };
        if let Some(head) = self.tenants.read().get(tenant).cloned() {
            for s in head.matching(matchers) {
                add(&s.labels, &s.data.read().data);
            }
        }
        for f in self.frozen.read().iter().filter(|f| f.tenant == tenant) {
            for (labels, data) in &f.streams {
                if lgtm_common::labels::matches_all(matchers, labels) {
                    add(labels, data);
                }
            }
        }
        for b in self
            .blocks
            .read()
            .iter()
            .filter(|b| b.tenant == tenant && b.overlaps(start, end))
        {
            for i in b.matching(matchers) {
                for c in &b.index.streams[i].chunks {
                    if c.max_ts < start || c.min_ts >= end {
                        continue;
                    }
                    let s = acc.entry(b.labels[i].clone()).or_default();
                    s.chunks += 1;
                    s.entries += c.entries;
                    s.bytes += c.line_bytes;
                }
            }
        }
        let mut out: Vec<_> = acc.into_iter().collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    /// Bytes of lines in the heads of all tenants.
    pub fn head_bytes(&self) -> usize {
        self.tenants.read().values().map(|h| h.bytes()).sum()
    }

    /// Oldest timestamp in any head.
    pub fn head_oldest(&self) -> Option<i64> {
        self.tenants
            .read()
            .values()
            .filter_map(|h| h.oldest())
            .min()
    }

    /// Number of blocks opened.
    pub fn block_count(&self) -> usize {
        self.blocks.read().len()
    }

    /// Cuts the heads into blocks on the object store (see the module docs). Returns the
    /// number of blocks written.
    pub async fn flush(&self) -> Result<usize, StoreError> {
        let _one = self.flush_lock.lock().await;
        let cut = {
            let _order = self.append_lock.lock();
            let tenants: Vec<(String, Arc<TenantHead>)> = self
                .tenants
                .read()
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            let mut frozen = self.frozen.write();
            let mut any = false;
            for (tenant, head) in tenants {
                let streams = head.take_all();
                if !streams.is_empty() {
                    any = true;
                    frozen.push(Arc::new(Frozen { tenant, streams }));
                }
            }
            any.then(|| start(self.wal.cut_segment()))
        };
        let cut_segment = match cut {
            Some(c) => Some(finish(c).await?),
            None => None,
        };
        let pending: Vec<Arc<Frozen>> = self.frozen.read().clone();
        let mut written = 0;
        let mut failed = false;
        for f in pending {
            match block::write(
                &self.opts.objects,
                &f.tenant,
                &f.streams,
                self.opts.clock.now_ms().max(0) as u64,
                None,
            )
            .await
            {
                Ok(b) => {
                    tracing::info!(tenant = %f.tenant, block = %b.meta.ulid, streams = b.index.streams.len(), "block flushed");
                    let mut blocks = self.blocks.write();
                    let mut frozen = self.frozen.write();
                    blocks.push(Arc::new(b));
                    frozen.retain(|x| !Arc::ptr_eq(x, &f));
                    written += 1;
                }
                Err(e) => {
                    tracing::warn!(tenant = %f.tenant, error = %e, "block flush failed; will retry");
                    failed = true;
                }
            }
        }
        if !failed && let Some(seg) = cut_segment {
            self.wal.truncate_before(seg).await?;
        }
        if failed {
            return Err(StoreError::ObjectStore(
                "some blocks could not be flushed".into(),
            ));
        }
        Ok(written)
    }

    /// Registers a delete request (its entries disappear from queries at once). The query
    /// must be a selector with line filters only; the error is the parse/validation text.
    pub async fn add_delete(&self, req: DeleteRequest) -> Result<(), DeleteError> {
        self.ensure_deletes_loaded().await?;
        let active = Arc::new(ActiveDelete::new(req).map_err(DeleteError::Invalid)?);
        let all: Vec<DeleteRequest> = {
            let mut d = self.deletes.write();
            d.push(active);
            d.iter().map(|x| x.req.clone()).collect()
        };
        deletes::save(&self.opts.objects, &all).await?;
        Ok(())
    }

    /// Reads the stored delete requests if that failed at open, so a save never drops them.
    async fn ensure_deletes_loaded(&self) -> Result<(), StoreError> {
        use std::sync::atomic::Ordering;
        if self.deletes_loaded.load(Ordering::Acquire) {
            return Ok(());
        }
        let loaded = load_deletes(&self.opts.objects).await?;
        let mut d = self.deletes.write();
        if !self.deletes_loaded.swap(true, Ordering::AcqRel) {
            let mut merged = loaded;
            merged.extend(d.drain(..));
            *d = merged;
        }
        Ok(())
    }

    /// Delete requests of a tenant, oldest first.
    pub fn delete_requests(&self, tenant: &str) -> Vec<DeleteRequest> {
        let mut v: Vec<DeleteRequest> = self
            .deletes
            .read()
            .iter()
            .filter(|d| d.req.tenant == tenant)
            .map(|d| d.req.clone())
            .collect();
        v.sort_by_key(|r| r.created_ns);
        v
    }

    /// Cancels a request that has not been processed (`force` is accepted as Loki does
    /// for partially processed requests; processed ones cannot be cancelled).
    pub async fn cancel_delete(&self, tenant: &str, id: &str) -> Result<(), DeleteError> {
        self.ensure_deletes_loaded().await?;
        let all: Vec<DeleteRequest> = {
            let mut d = self.deletes.write();
            let Some(pos) = d
                .iter()
                .position(|x| x.req.tenant == tenant && x.req.request_id == id)
            else {
                return Err(DeleteError::NotFound);
            };
            if d[pos].req.status != "received" {
                return Err(DeleteError::Processed);
            }
            d.remove(pos);
            d.iter().map(|x| x.req.clone()).collect()
        };
        deletes::save(&self.opts.objects, &all).await?;
        Ok(())
    }

    /// fsyncs the WAL.
    pub async fn sync(&self) -> Result<(), StoreError> {
        self.wal.sync().await?;
        Ok(())
    }
}

/// Errors of the delete-request API.
#[derive(Debug, thiserror::Error)]
pub enum DeleteError {
    /// The query is not a selector with line filters.
    #[error("{0}")]
    Invalid(String),
    /// No such request.
    #[error("could not find delete request with given id")]
    NotFound,
    /// Already processed.
    #[error("deletion of request which is in process or already processed is not allowed")]
    Processed,
    /// Storing the requests failed.
    #[error("{0}")]
    Store(#[from] StoreError),
}

impl HasErrorKind for DeleteError {
    fn error_kind(&self) -> ErrorKind {
        match self {
            DeleteError::Invalid(_) | DeleteError::Processed => ErrorKind::BadData,
            DeleteError::NotFound => ErrorKind::NotFound,
            DeleteError::Store(_) => ErrorKind::Internal,
        }
    }
}

/// Which entries of each stream [`Store::select_keep`] returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    /// Every entry in range.
    All,
    /// The oldest `n`.
    Oldest(usize),
    /// The newest `n`.
    Newest(usize),
}

impl Keep {
    fn cut(self, s: &[Entry]) -> &[Entry] {
        match self {
            Keep::All => s,
            Keep::Oldest(n) => &s[..n.min(s.len())],
            Keep::Newest(n) => &s[s.len().saturating_sub(n)..],
        }
    }

    fn truncate(self, v: &mut Vec<Entry>) {
        match self {
            Keep::All => {}
            Keep::Oldest(n) => v.truncate(n),
            Keep::Newest(n) => {
                let drop = v.len().saturating_sub(n);
                v.drain(..drop);
            }
        }
    }
}

/// Counts of one stream for `/index/stats` and `/index/volume`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StreamStats {
    /// Chunks (a head or frozen stream counts as one).
    pub chunks: u64,
    /// Entries.
    pub entries: u64,
    /// Line bytes.
    pub bytes: u64,
}

/// Reads and compiles the stored delete requests (undecodable ones are skipped).
async fn load_deletes(
    objects: &Arc<dyn ObjectStore>,
) -> Result<Vec<Arc<ActiveDelete>>, StoreError> {
    let mut active = Vec::new();
    for req in deletes::load(objects).await? {
        let id = req.request_id.clone();
        match ActiveDelete::new(req) {
            Ok(d) => active.push(Arc::new(d)),
            Err(e) => tracing::warn!(request = %id, error = %e, "skipping stored delete request"),
        }
    }
    Ok(active)
}

/// Merges sorted parts into one ascending list without exact duplicates.
fn merge(mut parts: Vec<Vec<Entry>>) -> Vec<Entry> {
    parts.retain(|p| !p.is_empty());
    if parts.len() == 1 {
        return parts.pop().unwrap_or_default();
    }
    // Parts that follow each other in time (the usual case: sealed head chunks, blocks cut
    // by time) are concatenated; only overlapping ones need sorting.
    parts.sort_by_key(|p| p.first().map(|e| e.ts));
    let ordered = parts
        .windows(2)
        .all(|w| w[0].last().map(|e| e.ts) < w[1].first().map(|e| e.ts));
    let mut all: Vec<Entry> = parts.into_iter().flatten().collect();
    if ordered {
        return all;
    }
    all.sort_by_key(|e| e.ts);
    let mut out: Vec<Entry> = Vec::with_capacity(all.len());
    for e in all {
        let dup = out
            .iter()
            .rev()
            .take_while(|x| x.ts == e.ts)
            .any(|x| x.line == e.line);
        if !dup {
            out.push(e);
        }
    }
    out
}

#[cfg(test)]
mod tests;
