//! On-disk layout of WAL segments: the segment header, the record frame and segment file
//! names. Kept apart from the I/O so the encoding can be tested and evolved on its own.

use std::path::{Path, PathBuf};

/// First bytes of every segment file, so a stray file in the directory is never replayed.
pub(crate) const SEGMENT_MAGIC: [u8; 4] = *b"LWAL";
/// Version of the segment layout written by this code (byte 4 of the segment header).
pub(crate) const SEGMENT_VERSION: u8 = 1;
/// Length of the segment header: magic, version, three reserved zero bytes.
pub(crate) const SEGMENT_HEADER_LEN: u64 = 8;
/// Length of a record frame header: payload length (u32 LE), kind (u8), CRC32C (u32 LE).
pub(crate) const FRAME_HEADER_LEN: usize = 9;

/// The segment header bytes written at offset 0 of each new segment.
pub(crate) fn segment_header() -> [u8; SEGMENT_HEADER_LEN as usize] {
    let mut h = [0u8; SEGMENT_HEADER_LEN as usize];
    h[..4].copy_from_slice(&SEGMENT_MAGIC);
    h[4] = SEGMENT_VERSION;
    h
}

/// CRC32C over the length, the kind and the payload: a flipped bit anywhere in a frame,
/// including its length, is caught.
pub(crate) fn frame_crc(len: u32, kind: u8, payload: &[u8]) -> u32 {
    let mut head = [0u8; 5];
    head[..4].copy_from_slice(&len.to_le_bytes());
    head[4] = kind;
    crc32c::crc32c_append(crc32c::crc32c(&head), payload)
}

/// Appends one framed record to `out`. The caller has checked the kind and the length.
pub(crate) fn encode_frame(out: &mut Vec<u8>, kind: u8, payload: &[u8]) {
    let len = u32::try_from(payload.len()).unwrap_or(u32::MAX);
    out.reserve(FRAME_HEADER_LEN + payload.len());
    out.extend_from_slice(&len.to_le_bytes());
    out.push(kind);
    out.extend_from_slice(&frame_crc(len, kind, payload).to_le_bytes());
    out.extend_from_slice(payload);
}

/// A decoded frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FrameHeader {
    pub(crate) len: u32,
    pub(crate) kind: u8,
    pub(crate) crc: u32,
}

/// Splits the fixed frame header into its fields.
pub(crate) fn decode_frame_header(b: &[u8; FRAME_HEADER_LEN]) -> FrameHeader {
    FrameHeader {
        len: u32::from_le_bytes([b[0], b[1], b[2], b[3]]),
        kind: b[4],
        crc: u32::from_le_bytes([b[5], b[6], b[7], b[8]]),
    }
}

/// File name of segment `n`: zero-padded decimal so names sort like numbers.
pub(crate) fn segment_file_name(n: u64) -> String {
    format!("{n:08}")
}

/// Path of segment `n` inside `dir`.
pub(crate) fn segment_path(dir: &Path, n: u64) -> PathBuf {
    dir.join(segment_file_name(n))
}

/// Parses a segment file name; anything that is not all ASCII digits is not a segment.
pub(crate) fn parse_segment_file_name(name: &str) -> Option<u64> {
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    name.parse().ok()
}

/// Lists the segment numbers present in `dir`, ascending.
pub(crate) fn list_segments(dir: &Path) -> std::io::Result<Vec<u64>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if !entry.file_type()?.is_file() {
            continue;
        }
        if let Some(n) = entry.file_name().to_str().and_then(parse_segment_file_name) {
            out.push(n);
        }
    }
    out.sort_unstable();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_round_trips_and_crc_covers_length_and_kind() {
        let mut buf = Vec::new();
        encode_frame(&mut buf, 7, b"hello");
        assert_eq!(buf.len(), FRAME_HEADER_LEN + 5);
        let mut head = [0u8; FRAME_HEADER_LEN];
        head.copy_from_slice(&buf[..FRAME_HEADER_LEN]);
        let h = decode_frame_header(&head);
        assert_eq!((h.len, h.kind), (5, 7));
        assert_eq!(h.crc, frame_crc(5, 7, b"hello"));
        assert_ne!(h.crc, frame_crc(5, 8, b"hello"));
        assert_ne!(h.crc, frame_crc(6, 7, b"hello"));
    }

    #[test]
    fn segment_names_sort_numerically_and_reject_strays() {
        assert_eq!(segment_file_name(3), "00000003");
        assert_eq!(parse_segment_file_name("00000003"), Some(3));
        assert_eq!(
            parse_segment_file_name("123456789012"),
            Some(123_456_789_012)
        );
        assert_eq!(parse_segment_file_name("LOCK"), None);
        assert_eq!(parse_segment_file_name("00000003.tmp"), None);
        assert_eq!(parse_segment_file_name(""), None);
    }
}
