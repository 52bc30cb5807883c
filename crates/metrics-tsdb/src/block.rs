//! Immutable blocks: a time range of every series, cut from the head, written as two files and
//! a `meta.json` (see `lgtm_common::blocks` for the catalogue and upload). The layout is
//! documented in `docs/metrics-tsdb.md` ("Block layout").
//!
//! Version 2 (written now):
//! * `chunks`: zstd frames back to back; each frame (about 64 KiB before compression) holds
//!   the column chunks ([`crate::chunk::column`]) of consecutive series in index order.
//! * `index`: magic `LTSI`, version byte `2`, the body's uncompressed length, the body
//!   compressed with zstd, then a CRC32C of everything before it. The body holds a
//!   front-coded symbol table, the block's base time, the series sorted by labels (labels
//!   shared with the previous series are counted, not repeated; the rest as symbol
//!   references; chunk references as `(min - base, max - min, length << 1 | starts a new
//!   frame)`, offsets implied by order), then the frame table `(compressed, raw length)`.
//!   Postings are rebuilt in memory on open.
//!
//! Version 1 (still read): Prometheus XOR chunks back to back in `chunks`; an uncompressed
//! index of symbols, series and `(min, max, offset, length)` chunk references.
//!
//! Every integer is a LEB128 varint (zigzag when signed).

// Catalogue, compaction and deletion parts (owned by the storage side, see docs).
pub mod compact;
pub mod meta;
pub mod tombstones;

use lgtm_common::varint::{put_uvarint, put_varint};
use std::collections::BTreeMap;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use lgtm_common::labels::{Label, Labels, Matcher};

use crate::chunk::XorIter;
use crate::chunk::column;
use crate::index::{Postings, SeriesRef};

/// Index file name.
pub const INDEX_FILE: &str = "index";
/// Chunks file name.
pub const CHUNKS_FILE: &str = "chunks";
const MAGIC: &[u8; 4] = b"LTSI";
/// Format written by [`write_block`].
const VERSION: u8 = 2;
/// The first format: XOR chunks, plain index.
const VERSION_XOR: u8 = 1;
/// Uncompressed bytes of column chunks per zstd frame (the unit a read decompresses).
const FRAME_BYTES: usize = 64 * 1024;
/// zstd level for frames and the index (blocks are written once, read many times).
const ZSTD_LEVEL: i32 = 9;

/// Errors reading or writing a block.
#[derive(Debug, thiserror::Error)]
pub enum BlockError {
    /// File I/O failed.
    #[error("block file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The index is damaged.
    #[error("corrupt block index {path}: {reason}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: &'static str,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> BlockError + '_ {
    move |source| BlockError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// A series with its `(timestamp ms, value)` samples, the unit blocks are written and read in.
pub type SeriesData = (Labels, Vec<(i64, f64)>);

/// What writing a block produced, for its `meta.json`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WrittenStats {
    /// Series written.
    pub series: u64,
    /// Samples written.
    pub samples: u64,
    /// Chunks written.
    pub chunks: u64,
    /// Bytes of both files.
    pub bytes: u64,
}

/// Writes `series` (sorted by labels, samples in time order) as a block into `dir`, in the
/// current format (version 2: column chunks in zstd frames, compressed index).
pub fn write_block<I>(dir: &Path, series: I) -> Result<WrittenStats, BlockError>
where
    I: IntoIterator<Item = SeriesData>,
{
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let mut entries: Vec<(Labels, Vec<(i64, f64)>)> = series
        .into_iter()
        .filter(|(_, samples)| !samples.is_empty())
        .collect();
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    let mut stats = WrittenStats::default();
    let mut symbols: BTreeMap<&str, u64> = BTreeMap::new();
    for (labels, _) in &entries {
        for label in labels.iter() {
            symbols.entry(label.name.as_str()).or_insert(0);
            symbols.entry(label.value.as_str()).or_insert(0);
        }
    }
    for (i, value) in symbols.values_mut().enumerate() {
        *value = i as u64;
    }
    let base = entries
        .iter()
        .filter_map(|(_, s)| s.first().map(|x| x.0))
        .min()
        .unwrap_or(0);

    // Index body: symbols (front-coded), base time, series; frame table appended at the end.
    let mut body = Vec::with_capacity(16 * entries.len() + 1024);
    put_uvarint(&mut body, symbols.len() as u64);
    let mut prev: &str = "";
    for symbol in symbols.keys() {
        let shared = prev
            .bytes()
            .zip(symbol.bytes())
            .take_while(|(a, b)| a == b)
            .count();
        put_uvarint(&mut body, shared as u64);
        put_uvarint(&mut body, (symbol.len() - shared) as u64);
        body.extend_from_slice(&symbol.as_bytes()[shared..]);
        prev = symbol;
    }
    put_varint(&mut body, base);
    put_uvarint(&mut body, entries.len() as u64);

    let mut chunks_file: Vec<u8> = Vec::new();
    let mut frames: Vec<(u64, u64)> = Vec::new();
    let mut frame: Vec<u8> = Vec::with_capacity(FRAME_BYTES + 4096);
    let mut prev_labels: Option<&Labels> = None;
    let flush = |frame: &mut Vec<u8>,
                 chunks_file: &mut Vec<u8>,
                 frames: &mut Vec<(u64, u64)>|
     -> Result<(), BlockError> {
        if frame.is_empty() {
            return Ok(());
        }
        let compressed =
            zstd::bulk::compress(frame, ZSTD_LEVEL).map_err(io(&dir.join(CHUNKS_FILE)))?;
        frames.push((compressed.len() as u64, frame.len() as u64));
        chunks_file.extend_from_slice(&compressed);
        frame.clear();
        Ok(())
    };
    for (labels, samples) in &entries {
        let shared = prev_labels.map_or(0, |p| {
            p.iter()
                .zip(labels.iter())
                .take_while(|(a, b)| a == b)
                .count()
        });
        put_uvarint(&mut body, shared as u64);
        put_uvarint(&mut body, (labels.len() - shared) as u64);
        for label in labels.iter().skip(shared) {
            put_uvarint(&mut body, symbols[label.name.as_str()]);
            put_uvarint(&mut body, symbols[label.value.as_str()]);
        }
        prev_labels = Some(labels);
        let parts = samples.chunks(column::MAX_SAMPLES);
        put_uvarint(&mut body, parts.len() as u64);
        for part in parts {
            let new_frame = frame.len() >= FRAME_BYTES;
            if new_frame {
                flush(&mut frame, &mut chunks_file, &mut frames)?;
            }
            let at = frame.len();
            column::encode(part, &mut frame);
            let (min, max) = (part[0].0, part[part.len() - 1].0);
            put_varint(&mut body, min.wrapping_sub(base));
            put_uvarint(&mut body, max.wrapping_sub(min) as u64);
            put_uvarint(
                &mut body,
                ((frame.len() - at) as u64) << 1 | u64::from(new_frame),
            );
            stats.samples += part.len() as u64;
            stats.chunks += 1;
        }
        stats.series += 1;
    }
    flush(&mut frame, &mut chunks_file, &mut frames)?;
    put_uvarint(&mut body, frames.len() as u64);
    for &(compressed, raw) in &frames {
        put_uvarint(&mut body, compressed);
        put_uvarint(&mut body, raw);
    }
    let index_path = dir.join(INDEX_FILE);
    let mut index = Vec::with_capacity(body.len() / 3 + 16);
    index.extend_from_slice(MAGIC);
    index.push(VERSION);
    put_uvarint(&mut index, body.len() as u64);
    index.extend_from_slice(&zstd::bulk::compress(&body, ZSTD_LEVEL).map_err(io(&index_path))?);
    let crc = crc32c::crc32c(&index);
    index.extend_from_slice(&crc.to_be_bytes());
    let chunks_path = dir.join(CHUNKS_FILE);
    std::fs::write(&chunks_path, &chunks_file).map_err(io(&chunks_path))?;
    std::fs::write(&index_path, &index).map_err(io(&index_path))?;
    for path in [&chunks_path, &index_path] {
        std::fs::File::open(path)
            .and_then(|f| f.sync_all())
            .map_err(io(path))?;
    }
    stats.bytes = (chunks_file.len() + index.len()) as u64;
    Ok(stats)
}

/// Where a chunk's bytes are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ChunkLoc {
    /// Version 1: an XOR chunk at `offset` in the chunks file.
    Xor { offset: u64, len: u64 },
    /// Version 2: a column chunk at `offset` inside decompressed frame `frame`.
    Column { frame: u32, offset: u32, len: u32 },
}

/// A chunk reference inside a block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ChunkRef {
    min: i64,
    max: i64,
    loc: ChunkLoc,
}

/// A zstd frame of the chunks file (version 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Frame {
    offset: u64,
    compressed: u64,
    raw: u64,
}

/// An opened block: series and postings in memory, chunk bytes read from disk on demand.
#[derive(Debug)]
pub struct BlockReader {
    dir: PathBuf,
    series: Vec<(Labels, Vec<ChunkRef>)>,
    postings: Postings,
    frames: Vec<Frame>,
    chunks: std::fs::File,
}

struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn uvarint(&mut self) -> Option<u64> {
        lgtm_common::varint::read_uvarint(self.buf, &mut self.pos)
    }

    fn varint(&mut self) -> Option<i64> {
        lgtm_common::varint::read_varint(self.buf, &mut self.pos)
    }

    fn bytes(&mut self, n: usize) -> Option<&[u8]> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.buf.len())?;
        let out = &self.buf[self.pos..end];
        self.pos = end;
        Some(out)
    }
}

/// What an index body decodes to.
type Parsed = (Vec<(Labels, Vec<ChunkRef>)>, Postings, Vec<Frame>);

/// Largest index body accepted (a sanity bound against a damaged length).
const MAX_INDEX_BODY: u64 = 1 << 34;

fn parse_v1(c: &mut Cursor<'_>) -> Result<Parsed, &'static str> {
    let n_symbols = c.uvarint().ok_or("symbol count")?;
    let mut symbols = Vec::with_capacity(n_symbols.min(1 << 20) as usize);
    for _ in 0..n_symbols {
        let len = c.uvarint().ok_or("symbol length")? as usize;
        let bytes = c.bytes(len).ok_or("symbol bytes")?;
        symbols.push(String::from_utf8(bytes.to_vec()).map_err(|_| "symbol utf-8")?);
    }
    let symbol = |r: u64| symbols.get(r as usize).cloned().ok_or("symbol reference");
    let n_series = c.uvarint().ok_or("series count")?;
    let mut series = Vec::with_capacity(n_series.min(1 << 24) as usize);
    let mut postings = Postings::default();
    for i in 0..n_series {
        let n_labels = c.uvarint().ok_or("label count")?;
        let mut labels = Vec::with_capacity(n_labels.min(256) as usize);
        for _ in 0..n_labels {
            let name = symbol(c.uvarint().ok_or("label name")?)?;
            let value = symbol(c.uvarint().ok_or("label value")?)?;
            labels.push(Label { name, value });
        }
        let labels = Labels::from_labels(labels);
        let n_chunks = c.uvarint().ok_or("chunk count")?;
        let mut refs = Vec::with_capacity(n_chunks.min(1 << 16) as usize);
        let mut prev_max = 0i64;
        for _ in 0..n_chunks {
            let min = prev_max.wrapping_add(c.varint().ok_or("chunk min")?);
            let max = min.wrapping_add(c.uvarint().ok_or("chunk max")? as i64);
            let offset = c.uvarint().ok_or("chunk offset")?;
            let len = c.uvarint().ok_or("chunk length")?;
            refs.push(ChunkRef {
                min,
                max,
                loc: ChunkLoc::Xor { offset, len },
            });
            prev_max = max;
        }
        postings.add(
            i as SeriesRef,
            labels.iter().map(|l| (l.name.as_str(), l.value.as_str())),
        );
        series.push((labels, refs));
    }
    Ok((series, postings, Vec::new()))
}

fn parse_v2(c: &mut Cursor<'_>) -> Result<Parsed, &'static str> {
    let n_symbols = c.uvarint().ok_or("symbol count")?;
    let mut symbols: Vec<String> = Vec::with_capacity(n_symbols.min(1 << 20) as usize);
    for _ in 0..n_symbols {
        let shared = c.uvarint().ok_or("symbol prefix")? as usize;
        let len = c.uvarint().ok_or("symbol length")? as usize;
        let suffix = c.bytes(len).ok_or("symbol bytes")?;
        let prefix = symbols
            .last()
            .and_then(|p| p.as_bytes().get(..shared))
            .or((shared == 0).then_some(&[][..]))
            .ok_or("symbol prefix")?;
        let mut bytes = Vec::with_capacity(shared + len);
        bytes.extend_from_slice(prefix);
        bytes.extend_from_slice(suffix);
        symbols.push(String::from_utf8(bytes).map_err(|_| "symbol utf-8")?);
    }
    let symbol = |r: u64| symbols.get(r as usize).cloned().ok_or("symbol reference");
    let base = c.varint().ok_or("base time")?;
    let n_series = c.uvarint().ok_or("series count")?;
    let mut series: Vec<(Labels, Vec<ChunkRef>)> =
        Vec::with_capacity(n_series.min(1 << 24) as usize);
    let mut postings = Postings::default();
    let (mut frame, mut offset) = (0u32, 0u32);
    let mut any_chunk = false;
    for i in 0..n_series {
        let shared = c.uvarint().ok_or("shared labels")? as usize;
        let n_labels = c.uvarint().ok_or("label count")?;
        let mut labels: Vec<Label> = match series.last() {
            Some((prev, _)) if shared <= prev.len() => prev.iter().take(shared).cloned().collect(),
            _ if shared == 0 => Vec::new(),
            _ => return Err("shared labels"),
        };
        for _ in 0..n_labels {
            let name = symbol(c.uvarint().ok_or("label name")?)?;
            let value = symbol(c.uvarint().ok_or("label value")?)?;
            labels.push(Label { name, value });
        }
        let labels = Labels::from_labels(labels);
        let n_chunks = c.uvarint().ok_or("chunk count")?;
        let mut refs = Vec::with_capacity(n_chunks.min(1 << 16) as usize);
        for _ in 0..n_chunks {
            let min = base.wrapping_add(c.varint().ok_or("chunk min")?);
            let max = min.wrapping_add(c.uvarint().ok_or("chunk max")? as i64);
            let packed = c.uvarint().ok_or("chunk length")?;
            if packed & 1 == 1 && any_chunk {
                frame = frame.checked_add(1).ok_or("frame number")?;
                offset = 0;
            }
            any_chunk = true;
            let len = u32::try_from(packed >> 1).map_err(|_| "chunk length")?;
            refs.push(ChunkRef {
                min,
                max,
                loc: ChunkLoc::Column { frame, offset, len },
            });
            offset = offset.checked_add(len).ok_or("chunk offset")?;
        }
        postings.add(
            i as SeriesRef,
            labels.iter().map(|l| (l.name.as_str(), l.value.as_str())),
        );
        series.push((labels, refs));
    }
    let n_frames = c.uvarint().ok_or("frame count")?;
    let mut frames = Vec::with_capacity(n_frames.min(1 << 24) as usize);
    let mut at = 0u64;
    for _ in 0..n_frames {
        let compressed = c.uvarint().ok_or("frame length")?;
        let raw = c.uvarint().ok_or("frame raw length")?;
        frames.push(Frame {
            offset: at,
            compressed,
            raw,
        });
        at = at.checked_add(compressed).ok_or("frame offset")?;
    }
    // Every chunk must lie inside its frame.
    for (_, refs) in &series {
        for r in refs {
            if let ChunkLoc::Column { frame, offset, len } = r.loc {
                let f = frames.get(frame as usize).ok_or("chunk frame")?;
                if u64::from(offset) + u64::from(len) > f.raw {
                    return Err("chunk outside its frame");
                }
            }
        }
    }
    Ok((series, postings, frames))
}

impl BlockReader {
    /// Opens a block directory (format version 1 or 2), verifying the index checksum.
    pub fn open(dir: &Path) -> Result<Self, BlockError> {
        let index_path = dir.join(INDEX_FILE);
        let data = std::fs::read(&index_path).map_err(io(&index_path))?;
        let corrupt = |reason| BlockError::Corrupt {
            path: index_path.clone(),
            reason,
        };
        if data.len() < MAGIC.len() + 1 + 4 || &data[..4] != MAGIC {
            return Err(corrupt("bad magic"));
        }
        let (body, crc) = data.split_at(data.len() - 4);
        if crc32c::crc32c(body).to_be_bytes() != crc {
            return Err(corrupt("checksum mismatch"));
        }
        let (series, postings, frames) = match body[4] {
            VERSION_XOR => parse_v1(&mut Cursor { buf: body, pos: 5 }).map_err(corrupt)?,
            VERSION => {
                let mut c = Cursor { buf: body, pos: 5 };
                let raw_len = c
                    .uvarint()
                    .filter(|&n| n <= MAX_INDEX_BODY)
                    .ok_or_else(|| corrupt("index length"))?;
                let plain = zstd::bulk::decompress(&body[c.pos..], raw_len as usize)
                    .map_err(|_| corrupt("index does not decompress"))?;
                parse_v2(&mut Cursor {
                    buf: &plain,
                    pos: 0,
                })
                .map_err(corrupt)?
            }
            _ => return Err(corrupt("unknown version")),
        };
        let chunks_path = dir.join(CHUNKS_FILE);
        let chunks = std::fs::File::open(&chunks_path).map_err(io(&chunks_path))?;
        Ok(Self {
            dir: dir.to_path_buf(),
            series,
            postings,
            frames,
            chunks,
        })
    }

    /// The block directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Number of series.
    pub fn num_series(&self) -> usize {
        self.series.len()
    }

    /// The block's postings (label names and values).
    pub fn postings(&self) -> &Postings {
        &self.postings
    }

    fn chunk_corrupt(&self) -> BlockError {
        BlockError::Corrupt {
            path: self.dir.join(CHUNKS_FILE),
            reason: "chunk does not decode",
        }
    }

    fn read_at(&self, offset: u64, len: u64) -> Result<Vec<u8>, BlockError> {
        let mut buf = vec![0u8; usize::try_from(len).map_err(|_| self.chunk_corrupt())?];
        self.chunks
            .read_exact_at(&mut buf, offset)
            .map_err(io(&self.dir.join(CHUNKS_FILE)))?;
        Ok(buf)
    }

    /// Decompresses frame `i`, reusing `cache` when it already holds it (series are read in
    /// index order, so consecutive chunks usually share a frame).
    fn frame<'c>(
        &self,
        i: u32,
        cache: &'c mut Option<(u32, Vec<u8>)>,
    ) -> Result<&'c [u8], BlockError> {
        if cache.as_ref().is_none_or(|(at, _)| *at != i) {
            let f = self
                .frames
                .get(i as usize)
                .ok_or_else(|| self.chunk_corrupt())?;
            let compressed = self.read_at(f.offset, f.compressed)?;
            let raw = zstd::bulk::decompress(&compressed, f.raw as usize)
                .map_err(|_| self.chunk_corrupt())?;
            *cache = Some((i, raw));
        }
        Ok(cache
            .as_ref()
            .map(|(_, b)| b.as_slice())
            .unwrap_or_default())
    }

    /// Series matching every matcher with their samples in `[mint, maxt]` (series without
    /// samples there are left out), in label order.
    pub fn select(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<SeriesData>, BlockError> {
        let mut out = Vec::new();
        let mut cache: Option<(u32, Vec<u8>)> = None;
        let mut decoded = Vec::new();
        for r in self.postings.select(matchers) {
            let Some((labels, refs)) = self.series.get(r as usize) else {
                continue;
            };
            let mut samples = Vec::new();
            for chunk in refs.iter().filter(|c| c.max >= mint && c.min <= maxt) {
                match chunk.loc {
                    ChunkLoc::Xor { offset, len } => {
                        let buf = self.read_at(offset, len)?;
                        for sample in XorIter::new(&buf) {
                            let (t, v) = sample.map_err(|_| self.chunk_corrupt())?;
                            if t >= mint && t <= maxt {
                                samples.push((t, v));
                            }
                        }
                    }
                    ChunkLoc::Column { frame, offset, len } => {
                        let bytes = self.frame(frame, &mut cache)?;
                        let (start, end) = (offset as usize, offset as usize + len as usize);
                        let buf = bytes.get(start..end).ok_or_else(|| self.chunk_corrupt())?;
                        decoded.clear();
                        column::decode(buf, chunk.min, &mut decoded)
                            .map_err(|_| self.chunk_corrupt())?;
                        samples.extend(
                            decoded
                                .iter()
                                .copied()
                                .filter(|&(t, _)| t >= mint && t <= maxt),
                        );
                    }
                }
            }
            if !samples.is_empty() {
                out.push((labels.clone(), samples));
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The version 1 writer, kept so tests can check that old blocks still read.
    fn write_block_v1<I>(dir: &Path, series: I) -> Result<WrittenStats, BlockError>
    where
        I: IntoIterator<Item = SeriesData>,
    {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let mut chunks_data: Vec<u8> = Vec::new();
        let mut symbols: BTreeMap<String, u64> = BTreeMap::new();
        type Refs = Vec<(i64, i64, u64, u64)>;
        let mut entries: Vec<(Labels, Refs)> = Vec::new();
        let mut stats = WrittenStats::default();
        for (labels, samples) in series {
            if samples.is_empty() {
                continue;
            }
            let mut refs: Refs = Vec::new();
            for part in samples.chunks(crate::head::DEFAULT_SAMPLES_PER_CHUNK) {
                let mut chunk = crate::chunk::XorChunk::new();
                for &(t, v) in part {
                    // Input comes from the head, already ordered and deduplicated.
                    if chunk.append(t, v).is_err() {
                        continue;
                    }
                }
                let (Some(min), Some(max)) = (chunk.min_time(), chunk.max_time()) else {
                    continue;
                };
                let offset = chunks_data.len() as u64;
                chunks_data.extend_from_slice(chunk.bytes());
                refs.push((min, max, offset, chunk.bytes().len() as u64));
                stats.samples += chunk.len() as u64;
                stats.chunks += 1;
            }
            for label in labels.iter() {
                symbols.entry(label.name.clone()).or_insert(0);
                symbols.entry(label.value.clone()).or_insert(0);
            }
            entries.push((labels, refs));
            stats.series += 1;
        }
        for (i, value) in symbols.values_mut().enumerate() {
            *value = i as u64;
        }
        let mut index = Vec::with_capacity(64 * entries.len());
        index.extend_from_slice(MAGIC);
        index.push(VERSION_XOR);
        put_uvarint(&mut index, symbols.len() as u64);
        for symbol in symbols.keys() {
            put_uvarint(&mut index, symbol.len() as u64);
            index.extend_from_slice(symbol.as_bytes());
        }
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        put_uvarint(&mut index, entries.len() as u64);
        for (labels, refs) in &entries {
            put_uvarint(&mut index, labels.len() as u64);
            for label in labels.iter() {
                put_uvarint(&mut index, symbols[&label.name]);
                put_uvarint(&mut index, symbols[&label.value]);
            }
            put_uvarint(&mut index, refs.len() as u64);
            let mut prev_max = 0i64;
            for &(min, max, offset, len) in refs {
                put_varint(&mut index, min.wrapping_sub(prev_max));
                put_uvarint(&mut index, max.wrapping_sub(min) as u64);
                put_uvarint(&mut index, offset);
                put_uvarint(&mut index, len);
                prev_max = max;
            }
        }
        let crc = crc32c::crc32c(&index);
        index.extend_from_slice(&crc.to_be_bytes());
        let chunks_path = dir.join(CHUNKS_FILE);
        std::fs::write(&chunks_path, &chunks_data).map_err(io(&chunks_path))?;
        let index_path = dir.join(INDEX_FILE);
        std::fs::write(&index_path, &index).map_err(io(&index_path))?;
        for path in [&chunks_path, &index_path] {
            std::fs::File::open(path)
                .and_then(|f| f.sync_all())
                .map_err(io(path))?;
        }
        stats.bytes = (chunks_data.len() + index.len()) as u64;
        Ok(stats)
    }

    use lgtm_common::labels::MatchOp;

    fn sample_series() -> Vec<(Labels, Vec<(i64, f64)>)> {
        (0..50)
            .map(|i| {
                (
                    Labels::from_pairs([
                        (
                            "__name__",
                            if i % 2 == 0 { "even" } else { "odd" }.to_owned(),
                        ),
                        ("i", i.to_string()),
                    ]),
                    (0..300)
                        .map(|s| (s * 15_000, (i * 1000 + s) as f64))
                        .collect(),
                )
            })
            .collect()
    }

    #[test]
    fn write_then_read_back_exactly() {
        let dir = tempfile::tempdir().unwrap();
        let input = sample_series();
        let stats = write_block(dir.path(), input.clone()).unwrap();
        assert_eq!(stats.series, 50);
        assert_eq!(stats.samples, 50 * 300);
        assert_eq!(stats.chunks, 50);
        let block = BlockReader::open(dir.path()).unwrap();
        let all = block
            .select(
                &[Matcher::new(MatchOp::Regex, "__name__", ".+").unwrap()],
                i64::MIN,
                i64::MAX,
            )
            .unwrap();
        let mut expected = input;
        expected.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(all, expected);
        let window = block
            .select(&[Matcher::equal("i", "7")], 15_000 * 100, 15_000 * 149)
            .unwrap();
        assert_eq!(window[0].1.len(), 50);
        assert_eq!(window[0].1[0], (1_500_000, 7100.0));
        let bytes_per_sample = stats.bytes as f64 / stats.samples as f64;
        // Constant-rate counters on regular scrapes: almost nothing but the index.
        assert!(bytes_per_sample < 0.1, "{bytes_per_sample}");
    }

    fn all(block: &BlockReader) -> Vec<SeriesData> {
        block
            .select(
                &[Matcher::new(MatchOp::Regex, "__name__", ".+").unwrap()],
                i64::MIN,
                i64::MAX,
            )
            .unwrap()
    }

    fn assert_bit_exact(got: &[SeriesData], want: &[SeriesData]) {
        assert_eq!(got.len(), want.len());
        for ((gl, gs), (wl, ws)) in got.iter().zip(want) {
            assert_eq!(gl, wl);
            assert_eq!(gs.len(), ws.len(), "{gl:?}");
            for (a, b) in gs.iter().zip(ws) {
                assert_eq!(a.0, b.0);
                assert_eq!(a.1.to_bits(), b.1.to_bits(), "{gl:?} at {}", a.0);
            }
        }
    }

    #[test]
    fn version_1_blocks_still_read() {
        let dir = tempfile::tempdir().unwrap();
        let input = sample_series();
        write_block_v1(dir.path(), input.clone()).unwrap();
        assert_eq!(std::fs::read(dir.path().join(INDEX_FILE)).unwrap()[4], 1);
        let block = BlockReader::open(dir.path()).unwrap();
        let mut expected = input;
        expected.sort_by(|a, b| a.0.cmp(&b.0));
        assert_bit_exact(&all(&block), &expected);
        let window = block
            .select(&[Matcher::equal("i", "7")], 15_000 * 100, 15_000 * 149)
            .unwrap();
        assert_eq!(window[0].1.len(), 50);
    }

    #[test]
    fn many_series_span_several_frames_and_read_back_exactly() {
        let dir = tempfile::tempdir().unwrap();
        let stale = f64::from_bits(0x7ff0_0000_0000_0002);
        let input: Vec<SeriesData> = (0..3000)
            .map(|i: i64| {
                let labels = Labels::from_pairs([
                    ("__name__", format!("metric_{}", i % 7)),
                    ("instance", format!("node-{}:9100", i / 7)),
                    ("job", "node".to_owned()),
                ]);
                let samples = (0..240)
                    .map(|s: i64| {
                        let t = 1_700_000_000_000 + s * 15_000 + (s * i) % 5;
                        let v = match i % 5 {
                            0 => (s * (i % 97 + 1) + (s * 7919 + i) % 13) as f64,
                            1 => ((s * 31 + i) % 1000) as f64 / 100.0,
                            2 => (s as f64 * 0.37 + i as f64).sin(),
                            3 if s == 239 => stale,
                            _ => 1e9 + (((s * 104_729 + i) % 4096) * 1024) as f64,
                        };
                        (t, v)
                    })
                    .collect();
                (labels, samples)
            })
            .collect();
        let stats = write_block(dir.path(), input.clone()).unwrap();
        assert_eq!(stats.samples, 3000 * 240);
        let block = BlockReader::open(dir.path()).unwrap();
        assert!(block.frames.len() > 3, "{}", block.frames.len());
        let mut expected = input;
        expected.sort_by(|a, b| a.0.cmp(&b.0));
        assert_bit_exact(&all(&block), &expected);
        // A selective read in the middle of the block.
        let one = block
            .select(
                &[
                    Matcher::equal("instance", "node-200:9100"),
                    Matcher::equal("__name__", "metric_3"),
                ],
                i64::MIN,
                i64::MAX,
            )
            .unwrap();
        assert_eq!(one.len(), 1);
        assert_eq!(one[0].1.last().unwrap().1.to_bits(), stale.to_bits());
    }

    #[test]
    fn long_series_are_split_into_several_chunks() {
        let dir = tempfile::tempdir().unwrap();
        let samples: Vec<(i64, f64)> = (0..10_000).map(|s| (s * 1000, s as f64 * 0.5)).collect();
        let input = vec![(Labels::from_pairs([("__name__", "x".to_owned())]), samples)];
        let stats = write_block(dir.path(), input.clone()).unwrap();
        assert_eq!(stats.chunks, 3);
        let block = BlockReader::open(dir.path()).unwrap();
        assert_bit_exact(&all(&block), &input);
        let window = block
            .select(&[Matcher::equal("__name__", "x")], 4_000_000, 4_200_000)
            .unwrap();
        assert_eq!(window[0].1.len(), 201);
        assert_eq!(window[0].1[0], (4_000_000, 2000.0));
    }

    #[test]
    fn damaged_chunk_frames_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        write_block(dir.path(), sample_series()).unwrap();
        let path = dir.path().join(CHUNKS_FILE);
        let data = std::fs::read(&path).unwrap();
        std::fs::write(&path, &data[..data.len() / 2]).unwrap();
        let block = BlockReader::open(dir.path()).unwrap();
        assert!(
            block
                .select(&[Matcher::equal("i", "3")], i64::MIN, i64::MAX)
                .is_err()
        );
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(24))]
        #[test]
        fn random_blocks_round_trip_bit_exactly(
            series in proptest::collection::vec(
                (
                    0u32..1000,
                    proptest::collection::vec(
                        (1i64..100_000, proptest::prelude::any::<u64>(), 0u8..4),
                        1..200,
                    ),
                ),
                1..20,
            ),
        ) {
            let dir = tempfile::tempdir().unwrap();
            let mut input: Vec<SeriesData> = series
                .into_iter()
                .map(|(id, points)| {
                    let mut t = 1_000_000;
                    let samples = points
                        .into_iter()
                        .map(|(gap, bits, kind)| {
                            t += gap;
                            let v = match kind {
                                0 => f64::from_bits(bits),
                                1 => (bits % 100_000) as f64,
                                2 => (bits % 100_000) as f64 / 1000.0,
                                _ => [f64::NAN, -0.0, f64::INFINITY, f64::from_bits(0x7ff0_0000_0000_0002)][bits as usize % 4],
                            };
                            (t, v)
                        })
                        .collect();
                    (Labels::from_pairs([("__name__", "m".to_owned()), ("id", id.to_string())]), samples)
                })
                .collect();
            input.sort_by(|a, b| a.0.cmp(&b.0));
            input.dedup_by(|a, b| a.0 == b.0);
            write_block(dir.path(), input.clone()).unwrap();
            let block = BlockReader::open(dir.path()).unwrap();
            assert_bit_exact(&all(&block), &input);
        }
    }

    /// The value model of `benches/src/workload.rs` (node-exporter-like: counters with noisy
    /// increments, histogram buckets, gauges wandering by multiples of 1 KiB).
    fn bench_like_series(nodes: u64, scrapes: u64, noise: fn(u64, u64) -> f64) -> Vec<SeriesData> {
        let families: [(&str, u8, u64); 9] = [
            ("node_cpu_seconds_total", 0, 16),
            ("node_memory_MemAvailable_bytes", 2, 1),
            ("node_filesystem_avail_bytes", 2, 6),
            ("node_network_receive_bytes_total", 0, 4),
            ("node_network_transmit_bytes_total", 0, 4),
            ("node_disk_io_time_seconds_total", 0, 4),
            ("node_load1", 2, 1),
            ("http_request_duration_seconds_bucket", 1, 12),
            ("http_requests_total", 0, 12),
        ];
        let mut out = Vec::new();
        for node in 0..nodes {
            for (family, kind, n) in families {
                for i in 0..n {
                    let mut pairs = vec![
                        ("__name__", family.to_owned()),
                        ("instance", format!("node-{node}:9100")),
                        ("job", "node".to_owned()),
                    ];
                    if kind == 1 {
                        pairs.push((
                            "le",
                            format!(
                                "{}",
                                [
                                    0.005,
                                    0.01,
                                    0.025,
                                    0.05,
                                    0.1,
                                    0.25,
                                    0.5,
                                    1.0,
                                    2.5,
                                    5.0,
                                    10.0,
                                    f64::INFINITY
                                ][i as usize]
                            ),
                        ));
                    } else if n > 1 {
                        pairs.push(("device", format!("dev{i}")));
                    }
                    let seed = node << 16 | i;
                    let samples = (0..scrapes)
                        .map(|step| {
                            let noise = noise(seed, step);
                            let v = match kind {
                                0 => (step * (1 + seed % 97)) as f64 + (noise % 13.0),
                                1 => (step * (1 + seed % 7)) as f64,
                                _ => {
                                    1.0e9 + (seed % 1000) as f64 * 1.0e6 + (noise % 4096.0) * 1024.0
                                }
                            };
                            (1_764_000_000_000 + step as i64 * 15_000, v)
                        })
                        .collect();
                    out.push((Labels::from_pairs(pairs), samples));
                }
            }
        }
        out
    }

    /// The benchmark's noise: a linear congruence in the step, so fairly predictable.
    fn bench_noise(seed: u64, step: u64) -> f64 {
        (seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(step.wrapping_mul(1442695040888963407))
            >> 40) as f64
    }

    /// Unpredictable noise (splitmix64): counters grow by truly random steps, gauges take
    /// random 12-bit values, the worst case for a delta encoding.
    fn random_noise(seed: u64, step: u64) -> f64 {
        let mut z = (seed << 20 ^ step).wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        ((z ^ (z >> 31)) >> 40) as f64
    }

    fn bytes_per_sample_of(input: Vec<SeriesData>) -> f64 {
        let dir = tempfile::tempdir().unwrap();
        let stats = write_block(dir.path(), input.clone()).unwrap();
        let index = std::fs::metadata(dir.path().join(INDEX_FILE))
            .unwrap()
            .len();
        let per_sample = stats.bytes as f64 / stats.samples as f64;
        eprintln!(
            "{} series, {} samples, {} bytes ({} index): {per_sample:.3} bytes/sample",
            stats.series, stats.samples, stats.bytes, index
        );
        let block = BlockReader::open(dir.path()).unwrap();
        let mut expected = input;
        expected.sort_by(|a, b| a.0.cmp(&b.0));
        assert_bit_exact(&all(&block), &expected);
        per_sample
    }

    #[test]
    fn node_exporter_like_workload_stays_under_the_target_bytes_per_sample() {
        let per_sample = bytes_per_sample_of(bench_like_series(50, 480, bench_noise));
        assert!(per_sample <= 0.8, "{per_sample}");
        // Same shapes with unpredictable noise: still under the target.
        let per_sample = bytes_per_sample_of(bench_like_series(50, 480, random_noise));
        assert!(per_sample <= 0.8, "{per_sample}");
    }

    #[test]
    fn damaged_index_is_detected() {
        let dir = tempfile::tempdir().unwrap();
        write_block(dir.path(), sample_series()).unwrap();
        let path = dir.path().join(INDEX_FILE);
        let mut data = std::fs::read(&path).unwrap();
        let middle = data.len() / 2;
        data[middle] ^= 0x10;
        std::fs::write(&path, &data).unwrap();
        assert!(matches!(
            BlockReader::open(dir.path()),
            Err(BlockError::Corrupt {
                reason: "checksum mismatch",
                ..
            })
        ));
    }
}
