//! Record formats the TSDB writes to the shared write-ahead log.
//!
//! Two record kinds, as in Prometheus: a *series* record introduces series references with
//! their label sets, a *samples* record carries `(ref, t, v)` triples. Every integer is a
//! LEB128 varint; sample timestamps are deltas from the record's first timestamp; values are
//! raw IEEE-754 bits, so stale markers and NaN payloads survive replay exactly.

use lgtm_common::labels::{Label, Labels};
use lgtm_common::varint::{put_uvarint, put_varint};

use crate::index::SeriesRef;

/// Record kind byte of series records (format version 1).
pub const KIND_SERIES: u8 = 1;
/// Record kind byte of float samples records (format version 1).
pub const KIND_SAMPLES: u8 = 2;

/// A record could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("corrupt wal record: {0}")]
pub struct DecodeError(&'static str);

/// One float sample of a series.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RefSample {
    /// Series reference.
    pub series: SeriesRef,
    /// Timestamp in ms.
    pub t: i64,
    /// Value.
    pub v: f64,
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    put_uvarint(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

/// Encodes a series record.
pub fn encode_series(series: &[(SeriesRef, &Labels)]) -> Vec<u8> {
    let mut out = Vec::with_capacity(series.len() * 64);
    for (series_ref, labels) in series {
        put_uvarint(&mut out, *series_ref);
        put_uvarint(&mut out, labels.len() as u64);
        for label in labels.iter() {
            put_str(&mut out, &label.name);
            put_str(&mut out, &label.value);
        }
    }
    out
}

/// Encodes a samples record.
pub fn encode_samples(samples: &[RefSample]) -> Vec<u8> {
    let mut out = Vec::with_capacity(samples.len() * 12 + 8);
    let Some(first) = samples.first() else {
        return out;
    };
    put_varint(&mut out, first.t);
    for s in samples {
        put_uvarint(&mut out, s.series);
        put_varint(&mut out, s.t.wrapping_sub(first.t));
        out.extend_from_slice(&s.v.to_bits().to_le_bytes());
    }
    out
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn done(&self) -> bool {
        self.pos >= self.buf.len()
    }

    fn uvarint(&mut self) -> Result<u64, DecodeError> {
        lgtm_common::varint::read_uvarint(self.buf, &mut self.pos)
            .ok_or(DecodeError("truncated or overlong varint"))
    }

    fn varint(&mut self) -> Result<i64, DecodeError> {
        lgtm_common::varint::read_varint(self.buf, &mut self.pos)
            .ok_or(DecodeError("truncated or overlong varint"))
    }

    fn bytes(&mut self, n: usize) -> Result<&[u8], DecodeError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.buf.len())
            .ok_or(DecodeError("truncated bytes"))?;
        let out = &self.buf[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    fn string(&mut self) -> Result<String, DecodeError> {
        let len = usize::try_from(self.uvarint()?).map_err(|_| DecodeError("string too long"))?;
        let bytes = self.bytes(len)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| DecodeError("label is not utf-8"))
    }
}

/// Decodes a series record.
pub fn decode_series(buf: &[u8]) -> Result<Vec<(SeriesRef, Labels)>, DecodeError> {
    let mut r = Reader { buf, pos: 0 };
    let mut out = Vec::new();
    while !r.done() {
        let series_ref = r.uvarint()?;
        let n = r.uvarint()?;
        if n > buf.len() as u64 {
            return Err(DecodeError("label count exceeds record"));
        }
        let mut labels = Vec::with_capacity(n as usize);
        for _ in 0..n {
            let name = r.string()?;
            let value = r.string()?;
            labels.push(Label { name, value });
        }
        out.push((series_ref, Labels::from_labels(labels)));
    }
    Ok(out)
}

/// Decodes a samples record.
pub fn decode_samples(buf: &[u8]) -> Result<Vec<RefSample>, DecodeError> {
    let mut r = Reader { buf, pos: 0 };
    let mut out = Vec::new();
    if r.done() {
        return Ok(out);
    }
    let base = r.varint()?;
    if r.done() {
        return Err(DecodeError("samples record without samples"));
    }
    while !r.done() {
        let series = r.uvarint()?;
        let t = base.wrapping_add(r.varint()?);
        let mut bits = [0u8; 8];
        bits.copy_from_slice(r.bytes(8)?);
        out.push(RefSample {
            series,
            t,
            v: f64::from_bits(u64::from_le_bytes(bits)),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn series_round_trip() {
        let a = Labels::from_pairs([("__name__", "up"), ("job", "x")]);
        let b = Labels::from_pairs([("__name__", "m"), ("é", "ü")]);
        let buf = encode_series(&[(1, &a), (300, &b)]);
        assert_eq!(decode_series(&buf).unwrap(), vec![(1, a), (300, b)]);
    }

    #[test]
    fn damaged_records_are_errors_not_panics() {
        let a = Labels::from_pairs([("__name__", "up")]);
        let buf = encode_series(&[(1, &a)]);
        for cut in 1..buf.len() {
            assert!(decode_series(&buf[..cut]).is_err(), "cut {cut}");
        }
        let s = encode_samples(&[RefSample {
            series: 1,
            t: 5,
            v: 1.0,
        }]);
        for cut in 1..s.len() {
            assert!(decode_samples(&s[..cut]).is_err(), "cut {cut}");
        }
    }

    proptest! {
        #[test]
        fn samples_round_trip_bit_exact(raw in proptest::collection::vec((any::<u64>(), any::<i64>(), any::<u64>()), 0..50)) {
            let samples: Vec<RefSample> = raw
                .iter()
                .map(|&(series, t, bits)| RefSample { series, t, v: f64::from_bits(bits) })
                .collect();
            let back = decode_samples(&encode_samples(&samples)).unwrap();
            prop_assert_eq!(back.len(), samples.len());
            for (a, b) in back.iter().zip(&samples) {
                prop_assert_eq!(a.series, b.series);
                prop_assert_eq!(a.t, b.t);
                prop_assert_eq!(a.v.to_bits(), b.v.to_bits());
            }
        }
    }
}
