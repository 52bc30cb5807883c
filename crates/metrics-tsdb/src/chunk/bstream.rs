//! Bit-level writer and reader for the compressed chunk encodings.

/// Appends bits most-significant first into a byte vector.
#[derive(Debug, Clone, Default)]
pub(crate) struct BitWriter {
    bytes: Vec<u8>,
    /// Bits still free in the last byte (0 means a new byte is needed).
    free: u8,
}

impl BitWriter {
    pub(crate) fn with_capacity(bytes: usize) -> Self {
        Self {
            bytes: Vec::with_capacity(bytes),
            free: 0,
        }
    }

    /// Resumes writing after `bytes` whose last byte has `free` unused low bits.
    pub(crate) fn from_parts(bytes: Vec<u8>, free: u8) -> Self {
        Self { bytes, free }
    }

    pub(crate) fn write_bit(&mut self, bit: bool) {
        if self.free == 0 {
            self.bytes.push(0);
            self.free = 8;
        }
        self.free -= 1;
        if bit && let Some(last) = self.bytes.last_mut() {
            *last |= 1 << self.free;
        }
    }

    /// Writes the low `nbits` bits of `value`, most significant first.
    pub(crate) fn write_bits(&mut self, value: u64, mut nbits: u8) {
        debug_assert!(nbits <= 64);
        while nbits > 0 {
            if self.free == 0 {
                self.bytes.push(0);
                self.free = 8;
            }
            let take = nbits.min(self.free);
            let shift = nbits - take;
            let chunk = ((value >> shift) & ((1u64 << take) - 1)) as u8;
            self.free -= take;
            if let Some(last) = self.bytes.last_mut() {
                *last |= chunk << self.free;
            }
            nbits -= take;
        }
    }

    pub(crate) fn write_byte(&mut self, byte: u8) {
        self.write_bits(u64::from(byte), 8);
    }

    pub(crate) fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    pub(crate) fn free_bits(&self) -> u8 {
        self.free
    }

    pub(crate) fn bytes_mut(&mut self) -> &mut Vec<u8> {
        &mut self.bytes
    }
}

/// Reads bits written by [`BitWriter`]. Running past the end is an error, never a panic,
/// because chunks come from disk and object storage.
#[derive(Debug, Clone)]
pub(crate) struct BitReader<'a> {
    bytes: &'a [u8],
    /// Position in bits from the start.
    pos: usize,
}

/// The stream ended before the expected bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct EndOfStream;

impl<'a> BitReader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, pos: 0 }
    }

    /// Position in bits from the start of the stream.
    pub(crate) fn position(&self) -> usize {
        self.pos
    }

    pub(crate) fn read_bit(&mut self) -> Result<bool, EndOfStream> {
        let byte = *self.bytes.get(self.pos / 8).ok_or(EndOfStream)?;
        let bit = (byte >> (7 - (self.pos % 8))) & 1 == 1;
        self.pos += 1;
        Ok(bit)
    }

    pub(crate) fn read_bits(&mut self, mut nbits: u8) -> Result<u64, EndOfStream> {
        debug_assert!(nbits <= 64);
        if self.pos + usize::from(nbits) > self.bytes.len() * 8 {
            return Err(EndOfStream);
        }
        let mut out = 0u64;
        while nbits > 0 {
            let byte = self.bytes[self.pos / 8];
            let offset = (self.pos % 8) as u8;
            let available = 8 - offset;
            let take = nbits.min(available);
            let bits = (byte >> (available - take)) & (((1u16 << take) - 1) as u8);
            out = (out << take) | u64::from(bits);
            self.pos += usize::from(take);
            nbits -= take;
        }
        Ok(out)
    }

    pub(crate) fn read_byte(&mut self) -> Result<u8, EndOfStream> {
        Ok(self.read_bits(8)? as u8)
    }

    /// Reads an unsigned LEB128 varint aligned or not.
    pub(crate) fn read_uvarint(&mut self) -> Result<u64, EndOfStream> {
        let mut out = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = self.read_byte()?;
            out |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(out);
            }
        }
        Err(EndOfStream)
    }

    pub(crate) fn read_varint(&mut self) -> Result<i64, EndOfStream> {
        let u = self.read_uvarint()?;
        Ok(((u >> 1) as i64) ^ -((u & 1) as i64))
    }
}

impl BitWriter {
    pub(crate) fn write_uvarint(&mut self, mut value: u64) {
        while value >= 0x80 {
            self.write_byte((value as u8) | 0x80);
            value >>= 7;
        }
        self.write_byte(value as u8);
    }

    pub(crate) fn write_varint(&mut self, value: i64) {
        self.write_uvarint(((value << 1) ^ (value >> 63)) as u64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn bits_round_trip(items in proptest::collection::vec((any::<u64>(), 1u8..=64), 0..200)) {
            let mut w = BitWriter::default();
            for (v, n) in &items {
                w.write_bits(*v, *n);
            }
            let mut r = BitReader::new(w.bytes());
            for (v, n) in &items {
                let mask = if *n == 64 { u64::MAX } else { (1u64 << n) - 1 };
                prop_assert_eq!(r.read_bits(*n).unwrap(), v & mask);
            }
        }

        #[test]
        fn varints_round_trip(items in proptest::collection::vec(any::<i64>(), 0..100), lead in 0u8..8) {
            let mut w = BitWriter::default();
            w.write_bits(0, lead);
            for v in &items {
                w.write_varint(*v);
            }
            let mut r = BitReader::new(w.bytes());
            r.read_bits(lead).unwrap();
            for v in &items {
                prop_assert_eq!(r.read_varint().unwrap(), *v);
            }
        }
    }

    #[test]
    fn reading_past_the_end_is_an_error() {
        let mut r = BitReader::new(&[0xff]);
        assert_eq!(r.read_bits(8), Ok(0xff));
        assert_eq!(r.read_bit(), Err(EndOfStream));
        assert_eq!(
            BitReader::new(&[0x80, 0x80]).read_uvarint(),
            Err(EndOfStream)
        );
    }
}
