//! Gorilla-style XOR chunks for float samples, bit-compatible with Prometheus' `XOR` chunk
//! encoding so chunks can be handed to remote-read clients unchanged.
//!
//! Layout: a 2-byte big-endian sample count, then the first sample as a signed varint
//! timestamp and the raw 64-bit value, the second as an unsigned varint timestamp delta and an
//! XOR-encoded value, and every later one as a delta-of-delta timestamp in 1, 16, 20, 24 or 68
//! bits followed by the XOR of the value with its predecessor. Values are stored bit-exactly.

use super::ChunkError;
use super::bstream::{BitReader, BitWriter, EndOfStream};

/// Size of the sample-count header.
const HEADER_BYTES: usize = 2;
/// Most samples one chunk holds (the count must fit the header).
pub const MAX_SAMPLES: usize = u16::MAX as usize;
/// "No leading/trailing window yet".
const NO_WINDOW: u8 = 0xff;

/// An appendable XOR chunk.
#[derive(Debug, Clone)]
pub struct XorChunk {
    stream: BitWriter,
    num: u16,
    first_t: i64,
    t: i64,
    v: f64,
    t_delta: u64,
    leading: u8,
    trailing: u8,
}

impl Default for XorChunk {
    fn default() -> Self {
        Self::new()
    }
}

impl XorChunk {
    /// An empty chunk.
    pub fn new() -> Self {
        // Small to start: most head series hold a handful of samples between scrapes and cuts;
        // the buffer doubles as the chunk fills.
        let mut stream = BitWriter::with_capacity(32);
        stream.write_bits(0, 16);
        Self {
            stream,
            num: 0,
            first_t: 0,
            t: 0,
            v: 0.0,
            t_delta: 0,
            leading: NO_WINDOW,
            trailing: 0,
        }
    }

    /// Releases unused buffer capacity (called when the head closes a full chunk, which then
    /// stays in memory unchanged until it moves into a block).
    pub fn shrink_to_fit(&mut self) {
        self.stream.bytes_mut().shrink_to_fit();
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        usize::from(self.num)
    }

    /// True when no sample was appended.
    pub fn is_empty(&self) -> bool {
        self.num == 0
    }

    /// Timestamp of the first sample (ms), if any.
    pub fn min_time(&self) -> Option<i64> {
        (self.num > 0).then_some(self.first_t)
    }

    /// Timestamp of the last sample (ms), if any.
    pub fn max_time(&self) -> Option<i64> {
        (self.num > 0).then_some(self.t)
    }

    /// The encoded bytes (header included).
    pub fn bytes(&self) -> &[u8] {
        self.stream.bytes()
    }

    /// Appends a sample; timestamps must strictly increase.
    pub fn append(&mut self, t: i64, v: f64) -> Result<(), ChunkError> {
        if usize::from(self.num) >= MAX_SAMPLES {
            return Err(ChunkError::Full);
        }
        match self.num {
            0 => {
                self.stream.write_varint(t);
                self.stream.write_bits(v.to_bits(), 64);
                self.first_t = t;
            }
            1 => {
                if t <= self.t {
                    return Err(ChunkError::OutOfOrder { last: self.t, t });
                }
                let delta = t.wrapping_sub(self.t) as u64;
                self.stream.write_uvarint(delta);
                self.write_value(v);
                self.t_delta = delta;
            }
            _ => {
                if t <= self.t {
                    return Err(ChunkError::OutOfOrder { last: self.t, t });
                }
                let delta = t.wrapping_sub(self.t) as u64;
                let dod = delta.wrapping_sub(self.t_delta) as i64;
                self.write_dod(dod);
                self.write_value(v);
                self.t_delta = delta;
            }
        }
        self.t = t;
        self.v = v;
        self.num += 1;
        let count = self.num.to_be_bytes();
        let bytes = self.stream.bytes_mut();
        bytes[0] = count[0];
        bytes[1] = count[1];
        Ok(())
    }

    fn write_dod(&mut self, dod: i64) {
        let s = &mut self.stream;
        if dod == 0 {
            s.write_bit(false);
        } else if fits(dod, 14) {
            s.write_bits(0b10, 2);
            s.write_bits(dod as u64, 14);
        } else if fits(dod, 17) {
            s.write_bits(0b110, 3);
            s.write_bits(dod as u64, 17);
        } else if fits(dod, 20) {
            s.write_bits(0b1110, 4);
            s.write_bits(dod as u64, 20);
        } else {
            s.write_bits(0b1111, 4);
            s.write_bits(dod as u64, 64);
        }
    }

    fn write_value(&mut self, v: f64) {
        let delta = v.to_bits() ^ self.v.to_bits();
        let s = &mut self.stream;
        if delta == 0 {
            s.write_bit(false);
            return;
        }
        s.write_bit(true);
        let leading = (delta.leading_zeros() as u8).min(31);
        let trailing = delta.trailing_zeros() as u8;
        if self.leading != NO_WINDOW && leading >= self.leading && trailing >= self.trailing {
            s.write_bit(false);
            s.write_bits(delta >> self.trailing, 64 - self.leading - self.trailing);
            return;
        }
        self.leading = leading;
        self.trailing = trailing;
        s.write_bit(true);
        s.write_bits(u64::from(leading), 5);
        let significant = 64 - leading - trailing;
        // 64 significant bits are written as 0: six bits cannot hold 64.
        s.write_bits(u64::from(significant % 64), 6);
        s.write_bits(delta >> trailing, significant);
    }

    /// Iterates over the samples.
    pub fn iter(&self) -> XorIter<'_> {
        XorIter::new(self.bytes())
    }

    /// Rebuilds an appendable chunk from encoded bytes (e.g. after WAL replay or to continue a
    /// chunk loaded from disk), validating every sample.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ChunkError> {
        let mut chunk = Self::new();
        for sample in XorIter::new(bytes) {
            let (t, v) = sample?;
            chunk.append(t, v)?;
        }
        Ok(chunk)
    }

    /// Resumes appending to `bytes` as written by this encoder: cheaper than [`from_bytes`]
    /// for large chunks, as it only decodes to recover the appender state.
    ///
    /// [`from_bytes`]: XorChunk::from_bytes
    pub fn resume(bytes: Vec<u8>) -> Result<Self, ChunkError> {
        let mut iter = XorIter::new(&bytes);
        let mut last = None;
        for sample in iter.by_ref() {
            last = Some(sample?);
        }
        let state = iter.state();
        let bit_len = iter.bit_pos();
        let num = iter.total;
        let mut chunk = Self::new();
        let Some((t, v)) = last else {
            return Ok(chunk);
        };
        let used_bytes = bit_len.div_ceil(8);
        let mut bytes = bytes;
        bytes.truncate(used_bytes);
        let free = (used_bytes * 8 - bit_len) as u8;
        chunk.stream = BitWriter::from_parts(bytes, free);
        chunk.num = num;
        chunk.first_t = state.first_t;
        chunk.t = t;
        chunk.v = v;
        chunk.t_delta = state.t_delta;
        chunk.leading = state.leading;
        chunk.trailing = state.trailing;
        Ok(chunk)
    }

    /// Bits still unused in the last byte; exposed for size accounting.
    pub fn free_bits(&self) -> u8 {
        self.stream.free_bits()
    }
}

/// True when `x` is representable in the `nbits`-bit delta-of-delta bucket.
fn fits(x: i64, nbits: u8) -> bool {
    let half = 1i64 << (nbits - 1);
    -(half - 1) <= x && x <= half
}

/// Decoder state needed to resume appending.
#[derive(Debug, Clone, Copy)]
struct DecoderState {
    first_t: i64,
    t_delta: u64,
    leading: u8,
    trailing: u8,
}

/// Iterator over an encoded XOR chunk; yields an error (once) on corrupt input.
#[derive(Debug, Clone)]
pub struct XorIter<'a> {
    reader: BitReader<'a>,
    total: u16,
    read: u16,
    t: i64,
    v: f64,
    state: DecoderState,
    failed: bool,
}

impl<'a> XorIter<'a> {
    /// Iterates over `bytes`, header included.
    pub fn new(bytes: &'a [u8]) -> Self {
        let mut failed = false;
        let total = if bytes.len() >= HEADER_BYTES {
            u16::from_be_bytes([bytes[0], bytes[1]])
        } else {
            failed = true;
            0
        };
        let mut reader = BitReader::new(bytes);
        if bytes.len() >= HEADER_BYTES {
            // Cannot fail: two bytes are present.
            let _ = reader.read_bits(16);
        }
        Self {
            reader,
            total,
            read: 0,
            t: 0,
            v: 0.0,
            state: DecoderState {
                first_t: 0,
                t_delta: 0,
                leading: 0,
                trailing: 0,
            },
            failed,
        }
    }

    /// Number of samples the header announces.
    pub fn announced(&self) -> usize {
        usize::from(self.total)
    }

    fn state(&self) -> DecoderState {
        self.state
    }

    fn bit_pos(&self) -> usize {
        self.reader.position()
    }

    fn next_sample(&mut self) -> Result<(i64, f64), EndOfStream> {
        match self.read {
            0 => {
                self.t = self.reader.read_varint()?;
                self.v = f64::from_bits(self.reader.read_bits(64)?);
                self.state.first_t = self.t;
            }
            1 => {
                let delta = self.reader.read_uvarint()?;
                self.state.t_delta = delta;
                self.t = self.t.wrapping_add(delta as i64);
                self.read_value()?;
            }
            _ => {
                let dod = self.read_dod()?;
                self.state.t_delta = self.state.t_delta.wrapping_add(dod as u64);
                self.t = self.t.wrapping_add(self.state.t_delta as i64);
                self.read_value()?;
            }
        }
        self.read += 1;
        Ok((self.t, self.v))
    }

    fn read_dod(&mut self) -> Result<i64, EndOfStream> {
        let mut prefix = 0u8;
        for _ in 0..4 {
            if !self.reader.read_bit()? {
                break;
            }
            prefix += 1;
        }
        let size = match prefix {
            0 => return Ok(0),
            1 => 14,
            2 => 17,
            3 => 20,
            _ => return Ok(self.reader.read_bits(64)? as i64),
        };
        let bits = self.reader.read_bits(size)? as i64;
        Ok(if bits > (1 << (size - 1)) {
            bits - (1 << size)
        } else {
            bits
        })
    }

    fn read_value(&mut self) -> Result<(), EndOfStream> {
        if !self.reader.read_bit()? {
            return Ok(());
        }
        if self.reader.read_bit()? {
            self.state.leading = self.reader.read_bits(5)? as u8;
            let mut significant = self.reader.read_bits(6)? as u8;
            if significant == 0 {
                significant = 64;
            }
            self.state.trailing = 64u8.saturating_sub(self.state.leading + significant);
        }
        let significant = 64 - self.state.leading - self.state.trailing;
        let bits = self.reader.read_bits(significant)?;
        let delta = if self.state.trailing >= 64 {
            0
        } else {
            bits << self.state.trailing
        };
        self.v = f64::from_bits(self.v.to_bits() ^ delta);
        Ok(())
    }
}

impl Iterator for XorIter<'_> {
    type Item = Result<(i64, f64), ChunkError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            self.failed = false;
            self.total = 0;
            return Some(Err(ChunkError::Corrupt("chunk shorter than its header")));
        }
        if self.read >= self.total {
            return None;
        }
        match self.next_sample() {
            Ok(sample) => Some(Ok(sample)),
            Err(EndOfStream) => {
                self.total = 0;
                Some(Err(ChunkError::Corrupt(
                    "chunk ends before its last sample",
                )))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn round_trip(samples: &[(i64, f64)]) {
        let mut c = XorChunk::new();
        for &(t, v) in samples {
            c.append(t, v).unwrap();
        }
        let back: Vec<(i64, f64)> = c.iter().map(Result::unwrap).collect();
        assert_eq!(back.len(), samples.len());
        for (a, b) in back.iter().zip(samples) {
            assert_eq!(a.0, b.0);
            assert_eq!(a.1.to_bits(), b.1.to_bits(), "values must be bit-exact");
        }
    }

    #[test]
    fn regular_scrape_compresses_well() {
        // A counter scraped every 15s with small increments: the common case.
        let samples: Vec<(i64, f64)> = (0..120)
            .map(|i| (1_700_000_000_000 + i * 15_000, 1000.0 + (i * 3) as f64))
            .collect();
        round_trip(&samples);
        let mut c = XorChunk::new();
        for &(t, v) in &samples {
            c.append(t, v).unwrap();
        }
        let bytes_per_sample = c.bytes().len() as f64 / samples.len() as f64;
        assert!(bytes_per_sample < 2.5, "{bytes_per_sample}");
    }

    #[test]
    fn special_values_are_exact() {
        round_trip(&[
            (1, f64::NAN),
            (2, f64::INFINITY),
            (3, f64::NEG_INFINITY),
            (4, -0.0),
            (5, f64::from_bits(0x7ff0_0000_0000_0002)),
            (6, f64::MIN_POSITIVE),
            (7, f64::MAX),
            (i64::MAX / 2, 1.0),
        ]);
    }

    #[test]
    fn out_of_order_is_rejected() {
        let mut c = XorChunk::new();
        c.append(10, 1.0).unwrap();
        assert!(matches!(
            c.append(10, 2.0),
            Err(ChunkError::OutOfOrder { .. })
        ));
        c.append(20, 1.0).unwrap();
        assert!(matches!(
            c.append(5, 2.0),
            Err(ChunkError::OutOfOrder { .. })
        ));
        assert_eq!(c.len(), 2);
    }

    #[test]
    fn prometheus_layout_of_the_first_samples() {
        let mut c = XorChunk::new();
        c.append(1000, 1.0).unwrap();
        // Header: count 1; zig-zag varint of 1000 = 2000 = 0xd0 0x0f; raw bits of 1.0.
        assert_eq!(c.bytes(), &[0, 1, 0xd0, 0x0f, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0]);
        c.append(1015, 1.0).unwrap();
        // Count 2; uvarint delta 15; value unchanged: a single 0 bit.
        assert_eq!(&c.bytes()[..2], &[0, 2]);
        assert_eq!(&c.bytes()[12..], &[15, 0]);
    }

    #[test]
    fn truncated_chunks_report_corruption() {
        let mut c = XorChunk::new();
        for i in 0..50 {
            c.append(i * 1000 + (i % 7), (i as f64).sin()).unwrap();
        }
        let bytes = c.bytes();
        for cut in 0..bytes.len() {
            let results: Vec<_> = XorIter::new(&bytes[..cut]).collect();
            assert!(
                results.iter().any(Result::is_err) || results.len() == 50,
                "cut at {cut} not detected"
            );
        }
    }

    #[test]
    fn resume_continues_a_chunk() {
        let mut c = XorChunk::new();
        for i in 0..30 {
            c.append(i * 15_000, i as f64 * 0.5).unwrap();
        }
        let mut resumed = XorChunk::resume(c.bytes().to_vec()).unwrap();
        for i in 30..60 {
            c.append(i * 15_000, i as f64 * 0.5).unwrap();
            resumed.append(i * 15_000, i as f64 * 0.5).unwrap();
        }
        assert_eq!(c.bytes(), resumed.bytes());
    }

    proptest! {
        #[test]
        fn any_increasing_series_round_trips(
            start in -1_000_000_000_000i64..1_000_000_000_000,
            gaps in proptest::collection::vec(1i64..10_000_000_000, 0..300),
            values in proptest::collection::vec(any::<f64>(), 301),
        ) {
            let mut t = start;
            let mut samples = vec![(t, values[0])];
            for (i, gap) in gaps.iter().enumerate() {
                t += gap;
                samples.push((t, values[i + 1]));
            }
            round_trip(&samples);
        }
    }
}
