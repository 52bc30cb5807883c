//! Variable-length integers as Go's `encoding/binary` writes them (LEB128, zig-zag for signed
//! values): the WAL records, block indexes, chunk columns, tombstones and protobuf fields of
//! every store use them, so one encoder and one bounds-checked decoder serve them all.

/// Appends `v` as an unsigned varint (1 to 10 bytes).
#[inline]
pub fn put_uvarint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Appends `v` zig-zag encoded, so small negative numbers stay short.
#[inline]
pub fn put_varint(out: &mut Vec<u8>, v: i64) {
    put_uvarint(out, ((v << 1) ^ (v >> 63)) as u64);
}

/// How many bytes [`put_uvarint`] writes for `v`.
#[inline]
pub fn uvarint_len(v: u64) -> usize {
    (64 - (v | 1).leading_zeros() as usize).div_ceil(7)
}

/// Reads an unsigned varint at `*pos` and advances past it; `None` when the input ends
/// inside it or it overflows 64 bits (Go's rule: a tenth byte may only carry the top bit).
/// Decoding damaged or hostile bytes must never panic, so callers map `None` to their error.
#[inline]
pub fn read_uvarint(buf: &[u8], pos: &mut usize) -> Option<u64> {
    let mut out = 0u64;
    let mut at = *pos;
    for shift in (0..64).step_by(7) {
        let byte = *buf.get(at)?;
        at += 1;
        if byte < 0x80 {
            if shift == 63 && byte > 1 {
                return None;
            }
            *pos = at;
            return Some(out | u64::from(byte) << shift);
        }
        out |= u64::from(byte & 0x7f) << shift;
    }
    None
}

/// Reads a zig-zag varint at `*pos` (see [`read_uvarint`]).
#[inline]
pub fn read_varint(buf: &[u8], pos: &mut usize) -> Option<i64> {
    let u = read_uvarint(buf, pos)?;
    Some(((u >> 1) as i64) ^ -((u & 1) as i64))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn go_encodings() {
        // Values and bytes from Go's encoding/binary.
        let cases: [(u64, &[u8]); 5] = [
            (0, &[0x00]),
            (1, &[0x01]),
            (127, &[0x7f]),
            (128, &[0x80, 0x01]),
            (
                u64::MAX,
                &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01],
            ),
        ];
        for (v, bytes) in cases {
            let mut out = Vec::new();
            put_uvarint(&mut out, v);
            assert_eq!(out, bytes);
            assert_eq!(uvarint_len(v), bytes.len());
        }
        let mut out = Vec::new();
        put_varint(&mut out, -1);
        put_varint(&mut out, 1);
        assert_eq!(out, [0x01, 0x02]);
    }

    #[test]
    fn truncated_and_overflowing_input_is_refused_without_moving() {
        let mut pos = 0;
        assert_eq!(read_uvarint(&[0x80, 0x80], &mut pos), None);
        assert_eq!(pos, 0);
        let too_big = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02];
        assert_eq!(read_uvarint(&too_big, &mut pos), None);
        let eleven = [0x80; 11];
        assert_eq!(read_uvarint(&eleven, &mut pos), None);
        assert_eq!(read_uvarint(&[], &mut pos), None);
    }

    proptest! {
        #[test]
        fn round_trip(values in proptest::collection::vec(any::<i64>(), 0..50)) {
            let mut buf = Vec::new();
            for &v in &values {
                put_varint(&mut buf, v);
                put_uvarint(&mut buf, v as u64);
            }
            let mut pos = 0;
            for &v in &values {
                prop_assert_eq!(read_varint(&buf, &mut pos), Some(v));
                prop_assert_eq!(read_uvarint(&buf, &mut pos), Some(v as u64));
            }
            prop_assert_eq!(pos, buf.len());
        }
    }
}
