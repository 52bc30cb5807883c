//! [`BlockId`]: a ULID (48-bit millisecond timestamp + 80 random bits, Crockford base32), the
//! block naming scheme of Prometheus, Thanos and Mimir, so ids sort by creation time.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::Error;

const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const LEN: usize = 26;

/// Identifier of an immutable block; its text form is the block's directory name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BlockId(u128);

impl BlockId {
    /// Builds an id from a creation time (ms since the epoch, low 48 bits kept) and 80 bits
    /// of randomness (higher bits ignored).
    pub fn from_parts(timestamp_ms: u64, random: u128) -> Self {
        let ts = u128::from(timestamp_ms & ((1 << 48) - 1));
        BlockId((ts << 80) | (random & ((1u128 << 80) - 1)))
    }

    /// A new id for a block created at `now_ms` (pass the injected clock's time), with
    /// random bits from the OS.
    pub fn generate(now_ms: u64) -> Result<Self, Error> {
        let mut r = [0u8; 16];
        getrandom::fill(&mut r).map_err(|e| Error::Random(e.to_string()))?;
        Ok(Self::from_parts(now_ms, u128::from_le_bytes(r)))
    }

    /// Creation time in ms since the epoch.
    pub fn timestamp_ms(&self) -> u64 {
        (self.0 >> 80) as u64
    }

    /// The raw 128-bit value.
    pub fn as_u128(&self) -> u128 {
        self.0
    }
}

impl fmt::Display for BlockId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = [0u8; LEN];
        let mut v = self.0;
        for slot in out.iter_mut().rev() {
            *slot = ALPHABET[(v & 31) as usize];
            v >>= 5;
        }
        // The alphabet is ASCII, so this cannot fail.
        f.write_str(std::str::from_utf8(&out).map_err(|_| fmt::Error)?)
    }
}

fn decode_char(c: u8) -> Option<u8> {
    let c = c.to_ascii_uppercase();
    match c {
        b'O' => Some(0),
        b'I' | b'L' => Some(1),
        _ => ALPHABET.iter().position(|&a| a == c).map(|p| p as u8),
    }
}

impl FromStr for BlockId {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        let bad = || Error::InvalidBlockId(s.to_string());
        if s.len() != LEN {
            return Err(bad());
        }
        let bytes = s.as_bytes();
        // 26 chars carry 130 bits: the first may only be 0..=7.
        if decode_char(bytes[0]).ok_or_else(bad)? > 7 {
            return Err(bad());
        }
        let mut v: u128 = 0;
        for &c in bytes {
            v = (v << 5) | u128::from(decode_char(c).ok_or_else(bad)?);
        }
        Ok(BlockId(v))
    }
}

impl Serialize for BlockId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for BlockId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = std::borrow::Cow::<str>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}
