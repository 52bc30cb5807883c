//! Immutable blocks: a time range of every series, cut from the head, written as two files and
//! a `meta.json` (see `lgtm_common::blocks` for the catalogue and upload).
//!
//! * `chunks`: XOR chunks (Prometheus' encoding) back to back.
//! * `index`: magic `LTSI`, version byte, then a symbol table (every distinct label string
//!   once), then the series sorted by labels, each as label symbol references and its chunk
//!   references `(min_time, max_time, offset, length)` into `chunks`, then a CRC32C of
//!   everything before it. Postings are rebuilt in memory on open (cheap, and no second
//!   on-disk structure to keep consistent).
//!
//! Every integer is a LEB128 varint; times are deltas where that shrinks them.

use std::collections::BTreeMap;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use lgtm_common::labels::{Label, Labels, Matcher};

use crate::chunk::{XorChunk, XorIter};
use crate::head::DEFAULT_SAMPLES_PER_CHUNK;
use crate::index::{Postings, SeriesRef};

/// Index file name.
pub const INDEX_FILE: &str = "index";
/// Chunks file name.
pub const CHUNKS_FILE: &str = "chunks";
const MAGIC: &[u8; 4] = b"LTSI";
const VERSION: u8 = 1;

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

fn put_uvarint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_varint(out: &mut Vec<u8>, v: i64) {
    put_uvarint(out, ((v << 1) ^ (v >> 63)) as u64);
}

/// A series with its `(timestamp ms, value)` samples, the unit blocks are written and read in.
pub type SeriesData = (Labels, Vec<(i64, f64)>);

/// A series' chunk references `(min_time, max_time, offset, length)` while writing.
type ChunkRefs = Vec<(i64, i64, u64, u64)>;

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

/// Writes `series` (sorted by labels, samples in time order) as a block into `dir`.
pub fn write_block<I>(dir: &Path, series: I) -> Result<WrittenStats, BlockError>
where
    I: IntoIterator<Item = SeriesData>,
{
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let mut chunks_data: Vec<u8> = Vec::new();
    let mut symbols: BTreeMap<String, u64> = BTreeMap::new();
    let mut entries: Vec<(Labels, ChunkRefs)> = Vec::new();
    let mut stats = WrittenStats::default();
    for (labels, samples) in series {
        if samples.is_empty() {
            continue;
        }
        let mut refs = Vec::new();
        for part in samples.chunks(DEFAULT_SAMPLES_PER_CHUNK) {
            let mut chunk = XorChunk::new();
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
    index.push(VERSION);
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

/// A chunk reference inside a block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ChunkRef {
    min: i64,
    max: i64,
    offset: u64,
    len: u64,
}

/// An opened block: series and postings in memory, chunk bytes read from disk on demand.
#[derive(Debug)]
pub struct BlockReader {
    dir: PathBuf,
    series: Vec<(Labels, Vec<ChunkRef>)>,
    postings: Postings,
    chunks: std::fs::File,
}

struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn uvarint(&mut self) -> Option<u64> {
        let mut out = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = *self.buf.get(self.pos)?;
            self.pos += 1;
            out |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Some(out);
            }
        }
        None
    }

    fn varint(&mut self) -> Option<i64> {
        let u = self.uvarint()?;
        Some(((u >> 1) as i64) ^ -((u & 1) as i64))
    }

    fn bytes(&mut self, n: usize) -> Option<&[u8]> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.buf.len())?;
        let out = &self.buf[self.pos..end];
        self.pos = end;
        Some(out)
    }
}

impl BlockReader {
    /// Opens a block directory, verifying the index checksum.
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
        if body[4] != VERSION {
            return Err(corrupt("unknown version"));
        }
        let mut c = Cursor { buf: body, pos: 5 };
        let n_symbols = c.uvarint().ok_or_else(|| corrupt("symbol count"))?;
        let mut symbols = Vec::with_capacity(n_symbols.min(1 << 20) as usize);
        for _ in 0..n_symbols {
            let len = c.uvarint().ok_or_else(|| corrupt("symbol length"))? as usize;
            let bytes = c.bytes(len).ok_or_else(|| corrupt("symbol bytes"))?;
            symbols.push(String::from_utf8(bytes.to_vec()).map_err(|_| corrupt("symbol utf-8"))?);
        }
        let symbol = |r: u64| {
            symbols
                .get(r as usize)
                .cloned()
                .ok_or_else(|| corrupt("symbol reference"))
        };
        let n_series = c.uvarint().ok_or_else(|| corrupt("series count"))?;
        let mut series = Vec::with_capacity(n_series.min(1 << 24) as usize);
        let mut postings = Postings::default();
        for i in 0..n_series {
            let n_labels = c.uvarint().ok_or_else(|| corrupt("label count"))?;
            let mut labels = Vec::with_capacity(n_labels.min(256) as usize);
            for _ in 0..n_labels {
                let name = symbol(c.uvarint().ok_or_else(|| corrupt("label name"))?)?;
                let value = symbol(c.uvarint().ok_or_else(|| corrupt("label value"))?)?;
                labels.push(Label { name, value });
            }
            let labels = Labels::from_labels(labels);
            let n_chunks = c.uvarint().ok_or_else(|| corrupt("chunk count"))?;
            let mut refs = Vec::with_capacity(n_chunks.min(1 << 16) as usize);
            let mut prev_max = 0i64;
            for _ in 0..n_chunks {
                let min = prev_max.wrapping_add(c.varint().ok_or_else(|| corrupt("chunk min"))?);
                let max = min.wrapping_add(c.uvarint().ok_or_else(|| corrupt("chunk max"))? as i64);
                let offset = c.uvarint().ok_or_else(|| corrupt("chunk offset"))?;
                let len = c.uvarint().ok_or_else(|| corrupt("chunk length"))?;
                refs.push(ChunkRef {
                    min,
                    max,
                    offset,
                    len,
                });
                prev_max = max;
            }
            postings.add(
                i as SeriesRef,
                labels.iter().map(|l| (l.name.as_str(), l.value.as_str())),
            );
            series.push((labels, refs));
        }
        let chunks_path = dir.join(CHUNKS_FILE);
        let chunks = std::fs::File::open(&chunks_path).map_err(io(&chunks_path))?;
        Ok(Self {
            dir: dir.to_path_buf(),
            series,
            postings,
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

    /// Series matching every matcher with their samples in `[mint, maxt]` (series without
    /// samples there are left out), in label order.
    pub fn select(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<SeriesData>, BlockError> {
        let mut out = Vec::new();
        for r in self.postings.select(matchers) {
            let Some((labels, refs)) = self.series.get(r as usize) else {
                continue;
            };
            let mut samples = Vec::new();
            for chunk in refs.iter().filter(|c| c.max >= mint && c.min <= maxt) {
                let mut buf = vec![0u8; chunk.len as usize];
                self.chunks
                    .read_exact_at(&mut buf, chunk.offset)
                    .map_err(io(&self.dir.join(CHUNKS_FILE)))?;
                for sample in XorIter::new(&buf) {
                    let (t, v) = sample.map_err(|_| BlockError::Corrupt {
                        path: self.dir.join(CHUNKS_FILE),
                        reason: "chunk does not decode",
                    })?;
                    if t >= mint && t <= maxt {
                        samples.push((t, v));
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
        assert_eq!(stats.chunks, 50 * 3);
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
        assert!(bytes_per_sample < 3.0, "{bytes_per_sample}");
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
