//! Column chunks: the block (on-disk) encoding of one series' samples, built once when a block
//! is written, so it can spend CPU looking for the cheapest exact representation instead of
//! appending sample by sample as the head's XOR chunks must.
//!
//! Layout (every integer a LEB128 varint, signed ones zigzag; the first timestamp is not
//! stored: the block index holds it as the chunk's minimum time):
//!
//! ```text
//! n                      sample count (≥ 1)
//! d1                     first timestamp delta            (n ≥ 2)
//! int-stream(n-2)        timestamp delta-of-deltas        (n ≥ 3)
//! kind                   0xff: Gorilla XOR values follow; otherwise transform << 5 | exponent
//!   integer kinds:  exceptions: count, then (position delta, 8 raw bytes LE) each
//!                   transform 0 (raw):   int-stream(n) of mantissas
//!                   transform 1 (delta): m0, int-stream(n-1) of deltas
//!                   transform 2 (dod):   m0, delta1 (n ≥ 2), int-stream(n-2) of dods
//!   Gorilla:        value-only XOR bit stream
//! ```
//!
//! A value `v` is stored as the integer mantissa `m` with `v == m / 10^exponent` bit for bit;
//! values that cannot be (NaN payloads such as staleness markers, ±Inf, -0.0) are stored raw
//! as exceptions, so one stale marker does not push a whole series to the XOR fallback.
//!
//! An int-stream is a mode byte then the integers: mode 0-64 is frame-of-reference bit packing
//! (`min`, common divisor `g` of the offsets, then every `(x - min) / g` in `mode` bits);
//! mode 0xff is zigzag varints (better when a few outliers would widen every packed value).
//! Arithmetic is wrapping throughout, so any `i64` timestamps round-trip.

use super::ChunkError;
use super::bstream::{BitReader, BitWriter};
use lgtm_common::varint::{put_uvarint, put_varint, read_uvarint, read_varint, uvarint_len};

/// Most samples one column chunk holds (a block splits longer series).
pub const MAX_SAMPLES: usize = 4096;
/// Kind byte of the Gorilla XOR fallback.
const KIND_XOR: u8 = 0xff;
/// Mode byte of a zigzag-varint int-stream.
const MODE_VARINT: u8 = 0xff;
/// Largest decimal exponent tried (powers of ten are exact in `f64` up to 10^22).
const MAX_EXPONENT: usize = 15;
/// Mantissas stay within the range where every integer is an exact `f64`.
const MAX_MANTISSA: f64 = 9_007_199_254_740_992.0; // 2^53
const POW10: [f64; MAX_EXPONENT + 1] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
];

fn corrupt(what: &'static str) -> ChunkError {
    ChunkError::Corrupt(what)
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// Byte reader over an encoded chunk.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Result<u8, ChunkError> {
        let b = *self.buf.get(self.pos).ok_or_else(|| corrupt("truncated"))?;
        self.pos += 1;
        Ok(b)
    }

    fn uvarint(&mut self) -> Result<u64, ChunkError> {
        read_uvarint(self.buf, &mut self.pos).ok_or_else(|| corrupt("truncated or overlong varint"))
    }

    fn varint(&mut self) -> Result<i64, ChunkError> {
        read_varint(self.buf, &mut self.pos).ok_or_else(|| corrupt("truncated or overlong varint"))
    }

    fn bytes(&mut self, n: usize) -> Result<&'a [u8], ChunkError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.buf.len())
            .ok_or_else(|| corrupt("truncated"))?;
        let out = &self.buf[self.pos..end];
        self.pos = end;
        Ok(out)
    }
}

/// Writes `xs` as an int-stream, picking whichever mode is smaller.
fn put_ints(out: &mut Vec<u8>, xs: &[i64]) {
    let Some(&min) = xs.iter().min() else {
        out.push(0);
        put_varint(out, 0);
        put_uvarint(out, 0);
        return;
    };
    let divisor = xs
        .iter()
        .fold(0u64, |g, &x| gcd(g, x.wrapping_sub(min) as u64));
    let max_offset = xs
        .iter()
        .map(|&x| (x.wrapping_sub(min) as u64) / divisor.max(1))
        .max()
        .unwrap_or(0);
    let width = 64 - max_offset.leading_zeros();
    let packed_len = 1
        + uvarint_len(zigzag(min))
        + uvarint_len(divisor)
        + (xs.len() * width as usize).div_ceil(8);
    let varint_len = 1 + xs.iter().map(|&x| uvarint_len(zigzag(x))).sum::<usize>();
    if varint_len < packed_len {
        out.push(MODE_VARINT);
        for &x in xs {
            put_varint(out, x);
        }
        return;
    }
    out.push(width as u8);
    put_varint(out, min);
    put_uvarint(out, divisor);
    if width > 0 {
        let mut bits = BitWriter::with_capacity((xs.len() * width as usize).div_ceil(8));
        for &x in xs {
            bits.write_bits((x.wrapping_sub(min) as u64) / divisor, width as u8);
        }
        out.extend_from_slice(bits.bytes());
    }
}

/// Reads an int-stream of `n` integers written by [`put_ints`].
fn get_ints(r: &mut Reader<'_>, n: usize, out: &mut Vec<i64>) -> Result<(), ChunkError> {
    let mode = r.byte()?;
    if mode == MODE_VARINT {
        for _ in 0..n {
            out.push(r.varint()?);
        }
        return Ok(());
    }
    if mode > 64 {
        return Err(corrupt("int-stream mode"));
    }
    let min = r.varint()?;
    let divisor = r.uvarint()?;
    if mode == 0 {
        out.extend(std::iter::repeat_n(min, n));
        return Ok(());
    }
    let len = n
        .checked_mul(usize::from(mode))
        .ok_or_else(|| corrupt("int-stream size"))?
        .div_ceil(8);
    let mut bits = BitReader::new(r.bytes(len)?);
    for _ in 0..n {
        let offset = bits
            .read_bits(mode)
            .map_err(|_| corrupt("int-stream bits"))?;
        out.push(min.wrapping_add(offset.wrapping_mul(divisor) as i64));
    }
    Ok(())
}

/// True for values the integer path cannot carry (stored raw as exceptions).
fn is_exception(v: f64) -> bool {
    !v.is_finite() || (v == 0.0 && v.is_sign_negative())
}

/// The smallest decimal exponent `e` with `round(v * 10^e) / 10^e == v` exactly.
fn exponent_of(v: f64) -> Option<usize> {
    (0..=MAX_EXPONENT).find(|&e| mantissa(v, e).is_some())
}

fn mantissa(v: f64, e: usize) -> Option<i64> {
    let m = (v * POW10[e]).round();
    (m.abs() < MAX_MANTISSA && (m / POW10[e]).to_bits() == v.to_bits()).then_some(m as i64)
}

/// Mantissas of every value at one exponent, exceptions replaced by their predecessor's (so
/// they cost nothing in delta transforms), with the exceptions' positions and bits.
type Scaled = (usize, Vec<i64>, Vec<(usize, u64)>);

fn scale(values: &[f64]) -> Option<Scaled> {
    let mut exponent = 0;
    for &v in values.iter().filter(|v| !is_exception(**v)) {
        exponent = exponent.max(exponent_of(v)?);
    }
    'exponent: for e in exponent..=MAX_EXPONENT {
        let mut ms = Vec::with_capacity(values.len());
        let mut exceptions = Vec::new();
        let mut prev = 0i64;
        for (i, &v) in values.iter().enumerate() {
            if is_exception(v) {
                exceptions.push((i, v.to_bits()));
                ms.push(prev);
                continue;
            }
            let Some(m) = mantissa(v, e) else {
                continue 'exponent;
            };
            ms.push(m);
            prev = m;
        }
        return Some((e, ms, exceptions));
    }
    None
}

fn deltas(xs: &[i64]) -> Vec<i64> {
    xs.windows(2).map(|w| w[1].wrapping_sub(w[0])).collect()
}

/// Appends the column encoding of `samples` (strictly increasing timestamps, at least one
/// sample, at most [`MAX_SAMPLES`]) to `out`.
pub fn encode(samples: &[(i64, f64)], out: &mut Vec<u8>) {
    let n = samples.len();
    put_uvarint(out, n as u64);
    let ts: Vec<i64> = samples.iter().map(|s| s.0).collect();
    let td = deltas(&ts);
    if let Some(&d1) = td.first() {
        put_varint(out, d1);
        if n >= 3 {
            put_ints(out, &deltas(&td));
        }
    }
    let values: Vec<f64> = samples.iter().map(|s| s.1).collect();
    match scale(&values) {
        Some((e, ms, exceptions)) => encode_scaled(out, e, &ms, &exceptions),
        None => {
            out.push(KIND_XOR);
            encode_xor(out, &values);
        }
    }
}

fn encode_scaled(out: &mut Vec<u8>, e: usize, ms: &[i64], exceptions: &[(usize, u64)]) {
    // Try each transform, keep the shortest.
    let mut best: Option<Vec<u8>> = None;
    for transform in 0u8..3 {
        let mut body = Vec::new();
        match transform {
            0 => put_ints(&mut body, ms),
            1 => {
                put_varint(&mut body, ms[0]);
                put_ints(&mut body, &deltas(ms));
            }
            _ => {
                put_varint(&mut body, ms[0]);
                let d = deltas(ms);
                if let Some(&d1) = d.first() {
                    put_varint(&mut body, d1);
                    put_ints(&mut body, &deltas(&d));
                }
            }
        }
        if best.as_ref().is_none_or(|b| body.len() < b.len() - 1) {
            let mut full = vec![transform << 5 | e as u8];
            full.extend_from_slice(&body);
            best = Some(full);
        }
    }
    let best = best.unwrap_or_default();
    out.push(best[0]);
    put_uvarint(out, exceptions.len() as u64);
    let mut last = 0;
    for &(at, bits) in exceptions {
        put_uvarint(out, (at - last) as u64);
        out.extend_from_slice(&bits.to_le_bytes());
        last = at;
    }
    out.extend_from_slice(&best[1..]);
}

/// Value-only Gorilla XOR: first value raw, then `0` (same), `10` (XOR fits the previous
/// window) or `11` + 5-bit leading zeros + 6-bit significant length (0 means 64).
fn encode_xor(out: &mut Vec<u8>, values: &[f64]) {
    let mut bits = BitWriter::with_capacity(values.len() * 4);
    let mut prev = 0u64;
    let (mut leading, mut trailing) = (u32::MAX, 0u32);
    for (i, v) in values.iter().enumerate() {
        let v = v.to_bits();
        if i == 0 {
            bits.write_bits(v, 64);
            prev = v;
            continue;
        }
        let x = v ^ prev;
        prev = v;
        if x == 0 {
            bits.write_bit(false);
            continue;
        }
        bits.write_bit(true);
        let (lz, tz) = (x.leading_zeros().min(31), x.trailing_zeros());
        if leading != u32::MAX && lz >= leading && tz >= trailing {
            bits.write_bit(false);
            bits.write_bits(x >> trailing, (64 - leading - trailing) as u8);
        } else {
            (leading, trailing) = (lz, tz);
            let sig = 64 - lz - tz;
            bits.write_bit(true);
            bits.write_bits(u64::from(lz), 5);
            bits.write_bits(u64::from(sig & 63), 6);
            bits.write_bits(x >> tz, sig as u8);
        }
    }
    out.extend_from_slice(bits.bytes());
}

fn decode_xor(buf: &[u8], n: usize, out: &mut Vec<f64>) -> Result<(), ChunkError> {
    let err = |_| corrupt("xor values");
    let mut bits = BitReader::new(buf);
    let mut prev = 0u64;
    let (mut leading, mut trailing) = (0u32, 0u32);
    for i in 0..n {
        if i == 0 {
            prev = bits.read_bits(64).map_err(err)?;
        } else if bits.read_bit().map_err(err)? {
            if bits.read_bit().map_err(err)? {
                leading = bits.read_bits(5).map_err(err)? as u32;
                let mut sig = bits.read_bits(6).map_err(err)? as u32;
                if sig == 0 {
                    sig = 64;
                }
                if leading + sig > 64 {
                    return Err(corrupt("xor window"));
                }
                trailing = 64 - leading - sig;
            }
            let sig = 64 - leading - trailing;
            let x = bits.read_bits(sig as u8).map_err(err)?;
            prev ^= x << trailing;
        }
        out.push(f64::from_bits(prev));
    }
    Ok(())
}

/// Decodes a chunk written by [`encode`] whose first timestamp is `t0`, appending its samples
/// to `out`.
pub fn decode(buf: &[u8], t0: i64, out: &mut Vec<(i64, f64)>) -> Result<(), ChunkError> {
    let mut r = Reader { buf, pos: 0 };
    let n = r.uvarint()? as usize;
    if n == 0 || n > MAX_SAMPLES {
        return Err(corrupt("sample count"));
    }
    let mut ts = Vec::with_capacity(n);
    ts.push(t0);
    if n >= 2 {
        let mut d = r.varint()?;
        let mut dods = Vec::with_capacity(n - 2);
        if n >= 3 {
            get_ints(&mut r, n - 2, &mut dods)?;
        }
        let mut t = t0.wrapping_add(d);
        ts.push(t);
        for dod in dods {
            d = d.wrapping_add(dod);
            t = t.wrapping_add(d);
            ts.push(t);
        }
    }
    let kind = r.byte()?;
    let mut values = Vec::with_capacity(n);
    if kind == KIND_XOR {
        decode_xor(&buf[r.pos..], n, &mut values)?;
    } else {
        let (transform, e) = (kind >> 5, usize::from(kind & 31));
        if e > MAX_EXPONENT {
            return Err(corrupt("exponent"));
        }
        let n_exceptions = r.uvarint()? as usize;
        if n_exceptions > n {
            return Err(corrupt("exception count"));
        }
        let mut exceptions = Vec::with_capacity(n_exceptions);
        let mut at = 0usize;
        for _ in 0..n_exceptions {
            at = at
                .checked_add(r.uvarint()? as usize)
                .filter(|&a| a < n)
                .ok_or_else(|| corrupt("exception position"))?;
            let raw = r.bytes(8)?;
            let mut le = [0u8; 8];
            le.copy_from_slice(raw);
            exceptions.push((at, u64::from_le_bytes(le)));
        }
        let mut ms = Vec::with_capacity(n);
        match transform {
            0 => get_ints(&mut r, n, &mut ms)?,
            1 => {
                let mut m = r.varint()?;
                ms.push(m);
                let mut ds = Vec::with_capacity(n - 1);
                get_ints(&mut r, n - 1, &mut ds)?;
                for d in ds {
                    m = m.wrapping_add(d);
                    ms.push(m);
                }
            }
            2 => {
                let mut m = r.varint()?;
                ms.push(m);
                if n >= 2 {
                    let mut d = r.varint()?;
                    m = m.wrapping_add(d);
                    ms.push(m);
                    let mut dods = Vec::with_capacity(n - 2);
                    get_ints(&mut r, n - 2, &mut dods)?;
                    for dod in dods {
                        d = d.wrapping_add(dod);
                        m = m.wrapping_add(d);
                        ms.push(m);
                    }
                }
            }
            _ => return Err(corrupt("value transform")),
        }
        let scale = POW10[e];
        values.extend(
            ms.iter()
                .map(|&m| if e == 0 { m as f64 } else { m as f64 / scale }),
        );
        for (at, bits) in exceptions {
            values[at] = f64::from_bits(bits);
        }
    }
    out.extend(ts.into_iter().zip(values));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn round_trip(samples: &[(i64, f64)]) -> usize {
        let mut buf = Vec::new();
        encode(samples, &mut buf);
        let mut back = Vec::new();
        decode(&buf, samples[0].0, &mut back).unwrap();
        assert_eq!(back.len(), samples.len());
        for (a, b) in back.iter().zip(samples) {
            assert_eq!(a.0, b.0);
            assert_eq!(a.1.to_bits(), b.1.to_bits(), "{} vs {}", a.1, b.1);
        }
        buf.len()
    }

    fn regular(values: impl IntoIterator<Item = f64>) -> Vec<(i64, f64)> {
        values
            .into_iter()
            .enumerate()
            .map(|(i, v)| (1_700_000_000_000 + i as i64 * 15_000, v))
            .collect()
    }

    #[test]
    fn constant_rate_counter_on_regular_scrapes_costs_almost_nothing() {
        let bytes = round_trip(&regular((0..480).map(|i| 1000.0 + 7.0 * i as f64)));
        assert!(bytes < 16, "{bytes}");
    }

    #[test]
    fn decimal_gauges_are_scaled_exactly() {
        // Values with two decimals: stored as mantissas / 100.
        let samples = regular((0..480).map(|i| ((i * 37) % 1000 + 25) as f64 / 100.0));
        let bytes = round_trip(&samples);
        // 10 bits of spread per sample, far under XOR's usual 5+ bytes.
        assert!(bytes < 480 * 10 / 8 + 16, "{bytes}");
    }

    #[test]
    fn special_values_round_trip_as_exceptions() {
        let stale = f64::from_bits(0x7ff0_0000_0000_0002);
        let samples = regular([
            1.0,
            2.0,
            stale,
            f64::INFINITY,
            -0.0,
            f64::NEG_INFINITY,
            f64::from_bits(0x7ff8_dead_beef_0001),
            0.0,
            5.0,
        ]);
        let bytes = round_trip(&samples);
        // Five exceptions at 9-10 bytes each plus small integers, not a 64-bit XOR stream.
        assert!(bytes < 5 * 10 + 24, "{bytes}");
    }

    #[test]
    fn irregular_floats_fall_back_to_xor() {
        let samples = regular((0..100).map(|i| (i as f64 * 0.1).sin() * 1e-3 + 1.0 / 3.0));
        let bytes = round_trip(&samples);
        assert!(bytes < 100 * 9, "{bytes}");
    }

    #[test]
    fn jittered_and_single_sample_timestamps() {
        round_trip(&[(42, 1.5)]);
        round_trip(&[(i64::MIN, 1.0), (i64::MAX, 2.0)]);
        round_trip(&[(-5, f64::MAX), (0, f64::MIN_POSITIVE), (7, f64::MIN)]);
        let jitter: Vec<(i64, f64)> = (0..200)
            .map(|i| (i * 15_000 + (i * 7919 % 13), i as f64))
            .collect();
        round_trip(&jitter);
    }

    #[test]
    fn truncated_chunks_are_errors_not_panics() {
        let samples = regular((0..50).map(|i| i as f64 * 1.5));
        let mut buf = Vec::new();
        encode(&samples, &mut buf);
        for cut in 0..buf.len() {
            let mut out = Vec::new();
            let _ = decode(&buf[..cut], 0, &mut out);
        }
        let mut out = Vec::new();
        assert!(decode(&[], 0, &mut out).is_err());
    }

    fn value() -> impl Strategy<Value = f64> {
        prop_oneof![
            any::<f64>(),
            any::<u64>().prop_map(f64::from_bits),
            (-1_000_000i64..1_000_000).prop_map(|m| m as f64),
            (-1_000_000i64..1_000_000, 0usize..6).prop_map(|(m, e)| m as f64 / POW10[e]),
            Just(f64::from_bits(0x7ff0_0000_0000_0002)),
            Just(f64::NAN),
            Just(-0.0),
            Just(f64::INFINITY),
            Just(f64::NEG_INFINITY),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]
        #[test]
        fn any_series_round_trips_bit_exactly(
            start in any::<i64>(),
            gaps in proptest::collection::vec(prop_oneof![Just(15_000i64), 1i64..100_000, 1i64..i64::MAX / 1024], 0..300),
            values in proptest::collection::vec(value(), 301),
            integers in any::<bool>(),
        ) {
            let mut t = start;
            let mut samples = vec![(t, values[0])];
            for (i, gap) in gaps.iter().enumerate() {
                t = t.wrapping_add(*gap);
                samples.push((t, if integers { (i * 3) as f64 } else { values[i + 1] }));
            }
            round_trip(&samples);
        }
    }
}
