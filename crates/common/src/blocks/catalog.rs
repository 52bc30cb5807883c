//! [`BlockCatalog`]: list, read, upload, download and delete blocks under a prefix.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures::{StreamExt, TryStreamExt};
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload, WriteMultipart};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{BlockFile, BlockId, BlockMeta, Error, META_FILE, Result};

/// Files up to this size are uploaded in one request; larger ones in parts of this size
/// (above S3's 5 MiB minimum part).
const PART_SIZE: usize = 8 * 1024 * 1024;
/// Concurrent part uploads and meta.json reads.
const CONCURRENCY: usize = 8;

/// What [`BlockCatalog::list`] found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BlockListing {
    /// Complete blocks, ordered by `(min_time, ulid)`.
    pub blocks: Vec<BlockMeta>,
    /// Block directories without `meta.json`: uploads in progress or interrupted (a
    /// compactor may delete them once old enough).
    pub partial: Vec<BlockId>,
    /// Block directories whose `meta.json` is unreadable, with the reason.
    pub invalid: Vec<(BlockId, String)>,
}

/// The blocks stored under one prefix of an object store.
#[derive(Debug, Clone)]
pub struct BlockCatalog {
    store: Arc<dyn ObjectStore>,
    prefix: ObjectPath,
}

fn store_err(op: &'static str, path: &ObjectPath) -> impl FnOnce(object_store::Error) -> Error {
    let path = path.to_string();
    move |source| Error::Store { op, path, source }
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> Error {
    let path = path.to_path_buf();
    move |source| Error::Io { path, source }
}

impl BlockCatalog {
    /// A catalogue of the blocks below `prefix` (empty: the store's root) of `store`.
    pub fn new(store: Arc<dyn ObjectStore>, prefix: impl Into<ObjectPath>) -> Self {
        BlockCatalog {
            store,
            prefix: prefix.into(),
        }
    }

    /// A catalogue below `sub` (e.g. `"blocks"`, or a tenant id) of a built object store
    /// handle's prefix.
    pub fn from_handle(handle: &crate::objstore::ObjectStoreHandle, sub: &str) -> Self {
        let prefix = sub
            .split('/')
            .filter(|s| !s.is_empty())
            .fold(ObjectPath::default(), |p, s| p.join(s));
        Self::new(handle.store().clone(), prefix)
    }

    /// The store the catalogue reads and writes.
    pub fn store(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }

    /// Directory of block `id`.
    pub fn block_dir(&self, id: BlockId) -> ObjectPath {
        self.prefix.clone().join(id.to_string())
    }

    fn meta_path(&self, id: BlockId) -> ObjectPath {
        self.block_dir(id).join(META_FILE)
    }

    fn object_path(&self, id: BlockId, rel: &str) -> ObjectPath {
        rel.split('/')
            .filter(|s| !s.is_empty())
            .fold(self.block_dir(id), |p, s| p.join(s))
    }

    /// Lists the blocks: complete ones with their metadata, plus partial and invalid ones.
    /// Directories whose names are not block ids are ignored.
    pub async fn list(&self) -> Result<BlockListing> {
        let prefix = (!self.prefix.as_ref().is_empty()).then_some(&self.prefix);
        let res = self
            .store
            .list_with_delimiter(prefix)
            .await
            .map_err(store_err("list", &self.prefix))?;
        let ids: Vec<BlockId> = res
            .common_prefixes
            .iter()
            .filter_map(|p| p.filename().and_then(|n| n.parse().ok()))
            .collect();
        let results: Vec<(BlockId, Result<BlockMeta>)> = futures::stream::iter(ids)
            .map(|id| async move { (id, self.meta(id).await) })
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
        let mut listing = BlockListing::default();
        for (id, r) in results {
            match r {
                Ok(meta) => listing.blocks.push(meta),
                Err(Error::NotFound(_)) => listing.partial.push(id),
                Err(e @ (Error::InvalidMeta { .. } | Error::IdMismatch { .. })) => {
                    tracing::warn!(block = %id, error = %e, "skipping block with invalid meta.json");
                    listing.invalid.push((id, e.to_string()));
                }
                Err(e) => return Err(e),
            }
        }
        listing.blocks.sort_by_key(|b| (b.min_time, b.ulid));
        listing.partial.sort();
        listing.invalid.sort_by_key(|(id, _)| *id);
        Ok(listing)
    }

    /// Reads the metadata of block `id`; [`Error::NotFound`] when it has no `meta.json`.
    pub async fn meta(&self, id: BlockId) -> Result<BlockMeta> {
        let path = self.meta_path(id);
        let bytes = match self.store.get(&path).await {
            Ok(r) => r.bytes().await.map_err(store_err("read", &path))?,
            Err(object_store::Error::NotFound { .. }) => return Err(Error::NotFound(id)),
            Err(e) => return Err(store_err("get", &path)(e)),
        };
        let meta: BlockMeta =
            serde_json::from_slice(&bytes).map_err(|source| Error::InvalidMeta {
                id: id.to_string(),
                source,
            })?;
        if meta.ulid != id {
            return Err(Error::IdMismatch {
                dir: id.to_string(),
                ulid: meta.ulid,
            });
        }
        Ok(meta)
    }

    /// Uploads the files of the local directory `dir` as block `meta.ulid`, then its
    /// `meta.json` (last, so the block appears complete or not at all). A `meta.json` in `dir`
    /// is not uploaded: `meta` is, with `files` listing the uploaded files and
    /// `stats.num_bytes` their total size unless already set. Returns the written metadata.
    pub async fn upload_dir(&self, dir: &Path, meta: &BlockMeta) -> Result<BlockMeta> {
        let root = dir.to_path_buf();
        let files = tokio::task::spawn_blocking(move || walk(&root))
            .await
            .map_err(|e| Error::Io {
                path: dir.to_path_buf(),
                source: std::io::Error::other(e),
            })??;
        let mut written = Vec::with_capacity(files.len());
        for (rel, local, size) in files {
            if rel == META_FILE {
                continue;
            }
            let dest = self.object_path(meta.ulid, &rel);
            upload_file(self.store.as_ref(), &dest, &local, size).await?;
            written.push(BlockFile {
                rel_path: rel,
                size_bytes: size,
            });
        }
        let mut meta = meta.clone();
        meta.stats.num_bytes = meta
            .stats
            .num_bytes
            .or(Some(written.iter().map(|f| f.size_bytes).sum()));
        meta.files = written;
        self.put_meta(&meta).await?;
        tracing::debug!(block = %meta.ulid, files = meta.files.len(), "block uploaded");
        Ok(meta)
    }

    /// Uploads a block built in memory: each `(relative path, bytes)` file, then `meta.json`
    /// last, with `files` and (unless set) `stats.num_bytes` filled in. Returns the written
    /// metadata.
    pub async fn upload_files(
        &self,
        meta: &BlockMeta,
        files: Vec<(String, bytes::Bytes)>,
    ) -> Result<BlockMeta> {
        let mut written = Vec::with_capacity(files.len());
        for (rel, data) in files {
            let rel = rel.trim_matches('/').to_string();
            if rel == META_FILE {
                continue;
            }
            let dest = self.object_path(meta.ulid, &rel);
            let size = data.len() as u64;
            self.store
                .put(&dest, PutPayload::from(data))
                .await
                .map_err(store_err("put", &dest))?;
            written.push(BlockFile {
                rel_path: rel,
                size_bytes: size,
            });
        }
        let mut meta = meta.clone();
        meta.stats.num_bytes = meta
            .stats
            .num_bytes
            .or(Some(written.iter().map(|f| f.size_bytes).sum()));
        meta.files = written;
        self.put_meta(&meta).await?;
        Ok(meta)
    }

    /// Reads one file of a block whole.
    pub async fn read_file(&self, id: BlockId, rel: &str) -> Result<bytes::Bytes> {
        let path = self.object_path(id, rel);
        self.store
            .get(&path)
            .await
            .map_err(store_err("get", &path))?
            .bytes()
            .await
            .map_err(store_err("read", &path))
    }

    /// Writes (or replaces) the `meta.json` of a block.
    pub async fn put_meta(&self, meta: &BlockMeta) -> Result<()> {
        let path = self.meta_path(meta.ulid);
        let body = serde_json::to_vec_pretty(meta).map_err(|source| Error::InvalidMeta {
            id: meta.ulid.to_string(),
            source,
        })?;
        self.store
            .put(&path, PutPayload::from(body))
            .await
            .map_err(store_err("put", &path))?;
        Ok(())
    }

    /// Downloads block `id` into the local directory `dir` (created if needed), its files
    /// first and `meta.json` last. Returns the metadata.
    pub async fn download_dir(&self, id: BlockId, dir: &Path) -> Result<BlockMeta> {
        let meta = self.meta(id).await?;
        for f in &meta.files {
            let mut local = dir.to_path_buf();
            for part in f
                .rel_path
                .split('/')
                .filter(|s| !s.is_empty() && *s != "..")
            {
                local.push(part);
            }
            if let Some(parent) = local.parent() {
                tokio::fs::create_dir_all(parent)
                    .await
                    .map_err(io_err(parent))?;
            }
            let src = self.object_path(id, &f.rel_path);
            let mut stream = self
                .store
                .get(&src)
                .await
                .map_err(store_err("get", &src))?
                .into_stream();
            let mut out = tokio::fs::File::create(&local)
                .await
                .map_err(io_err(&local))?;
            while let Some(chunk) = stream.try_next().await.map_err(store_err("read", &src))? {
                out.write_all(&chunk).await.map_err(io_err(&local))?;
            }
            out.flush().await.map_err(io_err(&local))?;
        }
        tokio::fs::create_dir_all(dir).await.map_err(io_err(dir))?;
        let meta_local = dir.join(META_FILE);
        let body = serde_json::to_vec_pretty(&meta).map_err(|source| Error::InvalidMeta {
            id: id.to_string(),
            source,
        })?;
        tokio::fs::write(&meta_local, body)
            .await
            .map_err(io_err(&meta_local))?;
        Ok(meta)
    }

    /// Deletes block `id`: `meta.json` first (the block disappears from listings at once),
    /// then every other object under its directory. Deleting a missing block is not an error.
    pub async fn delete(&self, id: BlockId) -> Result<()> {
        let meta = self.meta_path(id);
        match self.store.delete(&meta).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => return Err(store_err("delete", &meta)(e)),
        }
        let dir = self.block_dir(id);
        let objects: Vec<ObjectPath> = self
            .store
            .list(Some(&dir))
            .map_ok(|m| m.location)
            .try_collect()
            .await
            .map_err(store_err("list", &dir))?;
        for path in objects {
            match self.store.delete(&path).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(store_err("delete", &path)(e)),
            }
        }
        tracing::debug!(block = %id, "block deleted");
        Ok(())
    }
}

impl BlockCatalog {
    /// Retention: deletes every complete block whose data ends at or before `cutoff_ms`
    /// (its exclusive `max_time` is `<= cutoff_ms`), returning the deleted ids.
    pub async fn delete_before(&self, cutoff_ms: i64) -> Result<Vec<BlockId>> {
        let listing = self.list().await?;
        let mut deleted = Vec::new();
        for b in listing.blocks.iter().filter(|b| b.max_time <= cutoff_ms) {
            self.delete(b.ulid).await?;
            deleted.push(b.ulid);
        }
        if !deleted.is_empty() {
            tracing::info!(
                count = deleted.len(),
                cutoff_ms,
                "blocks deleted by retention"
            );
        }
        Ok(deleted)
    }
}

/// Every regular file below `root`: (relative `/` path, local path, size), sorted.
fn walk(root: &Path) -> Result<Vec<(String, PathBuf, u64)>> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).map_err(io_err(&dir))? {
            let entry = entry.map_err(io_err(&dir))?;
            let path = entry.path();
            let ft = entry.file_type().map_err(io_err(&path))?;
            if ft.is_dir() {
                stack.push(path);
            } else if ft.is_file() {
                let size = entry.metadata().map_err(io_err(&path))?.len();
                let rel = path
                    .strip_prefix(root)
                    .map_err(|e| Error::Io {
                        path: path.clone(),
                        source: std::io::Error::other(e),
                    })?
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect::<Vec<_>>()
                    .join("/");
                out.push((rel, path, size));
            }
        }
    }
    out.sort();
    Ok(out)
}

async fn upload_file(
    store: &dyn ObjectStore,
    dest: &ObjectPath,
    local: &Path,
    size: u64,
) -> Result<()> {
    if size <= PART_SIZE as u64 {
        let data = tokio::fs::read(local).await.map_err(io_err(local))?;
        store
            .put(dest, PutPayload::from(data))
            .await
            .map_err(store_err("put", dest))?;
        return Ok(());
    }
    let upload = store
        .put_multipart(dest)
        .await
        .map_err(store_err("put_multipart", dest))?;
    let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_SIZE);
    let result = async {
        let mut file = tokio::fs::File::open(local).await.map_err(io_err(local))?;
        let mut buf = vec![0u8; PART_SIZE];
        loop {
            let n = file.read(&mut buf).await.map_err(io_err(local))?;
            if n == 0 {
                break;
            }
            writer
                .wait_for_capacity(CONCURRENCY)
                .await
                .map_err(store_err("put_part", dest))?;
            writer.write(&buf[..n]);
        }
        Ok::<(), Error>(())
    }
    .await;
    match result {
        Ok(()) => {
            writer.finish().await.map_err(store_err("complete", dest))?;
            Ok(())
        }
        Err(e) => {
            if let Err(abort) = writer.abort().await {
                tracing::warn!(path = %dest, error = %abort, "aborting multipart upload failed");
            }
            Err(e)
        }
    }
}
