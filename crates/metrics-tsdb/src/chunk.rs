//! Compressed per-series sample chunks.

mod bstream;
pub mod column;
pub mod xor;

pub use xor::{XorChunk, XorIter};

/// A chunk could not be appended to or decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChunkError {
    /// A sample's timestamp is not after the chunk's last one.
    #[error("out of order sample: timestamp {t} is not after {last}")]
    OutOfOrder {
        /// Last timestamp in the chunk (ms).
        last: i64,
        /// Rejected timestamp (ms).
        t: i64,
    },
    /// The chunk holds the most samples its header can count.
    #[error("chunk is full")]
    Full,
    /// Encoded bytes are damaged.
    #[error("corrupt chunk: {0}")]
    Corrupt(&'static str),
}
