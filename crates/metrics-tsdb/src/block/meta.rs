//! A block's `meta.json` as Prometheus writes it: the shared catalogue's [`BlockMeta`] plus
//! the two fields only the TSDB uses, `compaction.parents` (the blocks a compaction or
//! tombstone cleanup replaced: after a crash between writing the new block and deleting them,
//! opening the store deletes them) and `stats.numTombstones`.

use std::path::Path;

use lgtm_common::blocks::{BlockId, BlockMeta, META_FILE};
use serde::{Deserialize, Serialize};

use super::BlockError;
use super::tombstones::write_atomically;

/// A parent of a compacted block (Prometheus' `BlockDesc`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlockDesc {
    /// The parent's id.
    pub ulid: BlockId,
    /// Its first timestamp.
    pub min_time: i64,
    /// Its exclusive end.
    pub max_time: i64,
}

/// `meta.json` of a TSDB block.
#[derive(Debug, Clone, PartialEq)]
pub struct TsdbMeta {
    /// The fields every block store shares.
    pub meta: BlockMeta,
    /// `compaction.parents`.
    pub parents: Vec<BlockDesc>,
    /// `stats.numTombstones`: deleted intervals recorded in the block's `tombstones` file.
    pub num_tombstones: u64,
}

fn json_err(path: &Path, e: serde_json::Error) -> BlockError {
    BlockError::Io {
        path: path.to_path_buf(),
        source: std::io::Error::other(e),
    }
}

impl TsdbMeta {
    /// Metadata of a block without parents or tombstones.
    pub fn new(meta: BlockMeta) -> Self {
        Self {
            meta,
            parents: Vec::new(),
            num_tombstones: 0,
        }
    }

    /// The JSON document, Prometheus' field names (`parents` and `numTombstones` omitted when
    /// empty, as its `omitempty` tags do).
    pub fn to_json(&self) -> Result<Vec<u8>, serde_json::Error> {
        let mut value = serde_json::to_value(&self.meta)?;
        if let Some(obj) = value.as_object_mut() {
            if !self.parents.is_empty() {
                let parents = serde_json::to_value(&self.parents)?;
                if let Some(c) = obj
                    .get_mut("compaction")
                    .and_then(serde_json::Value::as_object_mut)
                {
                    c.insert("parents".into(), parents);
                }
            }
            if self.num_tombstones > 0
                && let Some(stats) = obj
                    .get_mut("stats")
                    .and_then(serde_json::Value::as_object_mut)
            {
                stats.insert("numTombstones".into(), self.num_tombstones.into());
            }
        }
        serde_json::to_vec_pretty(&value)
    }

    /// Parses a `meta.json` document.
    pub fn from_json(bytes: &[u8]) -> Result<Self, serde_json::Error> {
        let mut value: serde_json::Value = serde_json::from_slice(bytes)?;
        let mut parents = Vec::new();
        let mut num_tombstones = 0;
        if let Some(obj) = value.as_object_mut() {
            if let Some(p) = obj
                .get_mut("compaction")
                .and_then(serde_json::Value::as_object_mut)
                .and_then(|c| c.remove("parents"))
            {
                parents = serde_json::from_value(p)?;
            }
            if let Some(n) = obj
                .get_mut("stats")
                .and_then(serde_json::Value::as_object_mut)
                .and_then(|s| s.remove("numTombstones"))
            {
                num_tombstones = serde_json::from_value(n)?;
            }
        }
        Ok(Self {
            meta: serde_json::from_value(value)?,
            parents,
            num_tombstones,
        })
    }

    /// Reads `<dir>/meta.json`.
    pub fn read(dir: &Path) -> Result<Self, BlockError> {
        let path = dir.join(META_FILE);
        let bytes = std::fs::read(&path).map_err(|source| BlockError::Io {
            path: path.clone(),
            source,
        })?;
        Self::from_json(&bytes).map_err(|e| json_err(&path, e))
    }

    /// Replaces `<dir>/meta.json` atomically.
    pub fn write(&self, dir: &Path) -> Result<(), BlockError> {
        let path = dir.join(META_FILE);
        let body = self.to_json().map_err(|e| json_err(&path, e))?;
        write_atomically(&path, &body)
    }

    /// This block as a parent of another.
    pub fn desc(&self) -> BlockDesc {
        BlockDesc {
            ulid: self.meta.ulid,
            min_time: self.meta.min_time,
            max_time: self.meta.max_time,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prometheus_fields_round_trip() {
        let a = BlockId::from_parts(1, 1);
        let b = BlockId::from_parts(2, 2);
        let c = BlockId::from_parts(3, 3);
        let mut meta = BlockMeta::new(c, 0, 7_200_000);
        meta.compaction.level = 2;
        meta.compaction.sources = vec![a, b];
        meta.stats.num_series = Some(3);
        let m = TsdbMeta {
            meta,
            parents: vec![
                BlockDesc {
                    ulid: a,
                    min_time: 0,
                    max_time: 3_600_000,
                },
                BlockDesc {
                    ulid: b,
                    min_time: 3_600_000,
                    max_time: 7_200_000,
                },
            ],
            num_tombstones: 4,
        };
        let json = m.to_json().unwrap();
        let value: serde_json::Value = serde_json::from_slice(&json).unwrap();
        assert_eq!(value["compaction"]["level"], 2);
        assert_eq!(value["compaction"]["parents"][1]["minTime"], 3_600_000);
        assert_eq!(value["compaction"]["parents"][0]["ulid"], a.to_string());
        assert_eq!(value["stats"]["numTombstones"], 4);
        assert_eq!(TsdbMeta::from_json(&json).unwrap(), m);
        // The shared catalogue still reads it (it ignores the extra fields).
        let shared: BlockMeta = serde_json::from_slice(&json).unwrap();
        assert_eq!(shared, m.meta);
        // Level-1 blocks have neither field.
        let plain = TsdbMeta::new(BlockMeta::new(a, 0, 1));
        let value: serde_json::Value = serde_json::from_slice(&plain.to_json().unwrap()).unwrap();
        assert!(value["compaction"].get("parents").is_none());
        assert!(value["stats"].get("numTombstones").is_none());
    }
}
