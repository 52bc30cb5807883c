//! Little binary helpers shared by the WAL records and the chunk format: LEB128 varints,
//! zig-zag signed varints and length-prefixed strings, with a bounds-checked reader.

use super::StoreError;

pub(crate) use lgtm_common::varint::{put_uvarint, put_varint};

/// Appends a length-prefixed byte string.
pub(crate) fn put_bytes(buf: &mut Vec<u8>, b: &[u8]) {
    put_uvarint(buf, b.len() as u64);
    buf.extend_from_slice(b);
}

/// Reads values written by the `put_*` functions; every read is bounds checked.
#[derive(Debug)]
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    what: &'static str,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8], what: &'static str) -> Self {
        Reader { buf, pos: 0, what }
    }

    fn corrupt(&self, why: &str) -> StoreError {
        StoreError::Corrupt(format!("{}: {why} at byte {}", self.what, self.pos))
    }

    /// Bytes not read yet.
    pub(crate) fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.pos >= self.buf.len()
    }

    pub(crate) fn uvarint(&mut self) -> Result<u64, StoreError> {
        lgtm_common::varint::read_uvarint(self.buf, &mut self.pos)
            .ok_or_else(|| self.corrupt("truncated or overlong varint"))
    }

    pub(crate) fn varint(&mut self) -> Result<i64, StoreError> {
        lgtm_common::varint::read_varint(self.buf, &mut self.pos)
            .ok_or_else(|| self.corrupt("truncated or overlong varint"))
    }

    /// A count that must be plausible for the remaining bytes (each item takes ≥ 1 byte).
    pub(crate) fn count(&mut self) -> Result<usize, StoreError> {
        let n = self.uvarint()?;
        if n > (self.buf.len() - self.pos) as u64 + 1 {
            return Err(self.corrupt("count larger than the remaining data"));
        }
        Ok(n as usize)
    }

    pub(crate) fn bytes(&mut self) -> Result<&'a [u8], StoreError> {
        let n = self.uvarint()?;
        let n = usize::try_from(n).map_err(|_| self.corrupt("length overflow"))?;
        self.take(n)
    }

    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], StoreError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.buf.len())
            .ok_or_else(|| self.corrupt("truncated data"))?;
        let out = &self.buf[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    pub(crate) fn str(&mut self) -> Result<&'a str, StoreError> {
        let b = self.bytes()?;
        std::str::from_utf8(b).map_err(|_| self.corrupt("invalid utf-8"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_round_trip() {
        let mut buf = Vec::new();
        let vals = [0i64, 1, -1, 63, -64, 1 << 40, i64::MAX, i64::MIN];
        for v in vals {
            put_varint(&mut buf, v);
        }
        put_bytes(&mut buf, "żółw".as_bytes());
        let mut r = Reader::new(&buf, "test");
        for v in vals {
            assert_eq!(r.varint().unwrap(), v);
        }
        assert_eq!(r.str().unwrap(), "żółw");
        assert!(r.is_empty());
        assert!(r.uvarint().is_err());
    }

    #[test]
    fn truncated_string_is_an_error() {
        let mut buf = Vec::new();
        put_bytes(&mut buf, b"hello");
        buf.truncate(3);
        assert!(Reader::new(&buf, "t").bytes().is_err());
    }
}
