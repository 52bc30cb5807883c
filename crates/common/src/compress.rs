//! Bounded decompression of request bodies.
//!
//! Push endpoints (Loki push, Prometheus remote write, OTLP) are decompression-bomb targets: a
//! few kilobytes can claim or produce gigabytes. Every function here takes the largest
//! decompressed size the caller accepts and fails *before* allocating more than that:
//!
//! - snappy block format (Prometheus remote write, Loki protobuf push): the decoded length is
//!   a varint at the start of the block; it is checked against the limit before any buffer is
//!   allocated;
//! - gzip (multi-member, as Go's `gzip.Reader`) and raw deflate (Loki `Content-Encoding:
//!   deflate`): streamed through a reader capped at `limit + 1` bytes.
//!
//! Error texts follow the upstreams: Loki's `message size too large than max (<size> vs
//! <limit>)` / `decompressed message size too large than max (…)` (413), Go snappy's `snappy:
//! corrupt input` (400, what Prometheus remote write answers), Loki's `Content-Encoding "<v>"
//! not supported` (400).

use std::io::Read;

use crate::error::{ErrorKind, HasErrorKind};

/// Why a body could not be decompressed.
#[derive(Debug, thiserror::Error)]
pub enum DecompressError {
    /// The compressed body is over its limit (before any decoding).
    #[error("message size too large than max ({size} vs {limit})")]
    MessageTooLarge {
        /// Body size in bytes.
        size: u64,
        /// The configured limit.
        limit: u64,
    },
    /// The decompressed body is, or claims to be, over its limit.
    #[error("decompressed message size too large than max ({size} vs {limit})")]
    DecompressedTooLarge {
        /// The claimed size (snappy header) or the bytes produced when decoding stopped.
        size: u64,
        /// The configured limit.
        limit: u64,
    },
    /// Not a valid snappy block (Go snappy's `ErrCorrupt` text).
    #[error("snappy: corrupt input")]
    SnappyCorrupt,
    /// Not a valid gzip stream.
    #[error("gzip: {0}")]
    Gzip(std::io::Error),
    /// Not a valid raw deflate stream.
    #[error("flate: {0}")]
    Deflate(std::io::Error),
    /// A `Content-Encoding` the endpoint does not take.
    #[error("Content-Encoding {0:?} not supported")]
    UnsupportedEncoding(String),
}

impl HasErrorKind for DecompressError {
    fn error_kind(&self) -> ErrorKind {
        match self {
            DecompressError::MessageTooLarge { .. }
            | DecompressError::DecompressedTooLarge { .. } => ErrorKind::PayloadTooLarge,
            _ => ErrorKind::BadData,
        }
    }
}

/// A body encoding, from the `Content-Encoding` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// No encoding (header absent, empty or `identity`).
    Identity,
    /// `gzip` (also `x-gzip`).
    Gzip,
    /// `deflate`, read as raw deflate as Loki does (`compress/flate`).
    Deflate,
    /// `snappy` block format.
    Snappy,
}

impl Encoding {
    /// Parse a `Content-Encoding` value; unknown values are Loki's 400
    /// `Content-Encoding "<value>" not supported`.
    pub fn from_header(value: Option<&str>) -> Result<Encoding, DecompressError> {
        let Some(raw) = value else {
            return Ok(Encoding::Identity);
        };
        match raw.trim().to_ascii_lowercase().as_str() {
            "" | "identity" => Ok(Encoding::Identity),
            "gzip" | "x-gzip" => Ok(Encoding::Gzip),
            "deflate" => Ok(Encoding::Deflate),
            "snappy" => Ok(Encoding::Snappy),
            _ => Err(DecompressError::UnsupportedEncoding(raw.to_owned())),
        }
    }
}

/// Check a compressed body against its own limit (Loki `max_recv_msg_size`).
pub fn check_message_size(body: &[u8], limit: usize) -> Result<(), DecompressError> {
    if body.len() > limit {
        return Err(DecompressError::MessageTooLarge {
            size: body.len() as u64,
            limit: limit as u64,
        });
    }
    Ok(())
}

/// Decode `input` in `encoding`, producing at most `limit` bytes.
pub fn decompress(
    encoding: Encoding,
    input: &[u8],
    limit: usize,
) -> Result<Vec<u8>, DecompressError> {
    match encoding {
        Encoding::Identity => {
            if input.len() > limit {
                return Err(DecompressError::DecompressedTooLarge {
                    size: input.len() as u64,
                    limit: limit as u64,
                });
            }
            Ok(input.to_vec())
        }
        Encoding::Gzip => gzip_decompress(input, limit),
        Encoding::Deflate => deflate_decompress(input, limit),
        Encoding::Snappy => snappy_decompress(input, limit),
    }
}

/// Decode a body according to its `Content-Encoding` header value, producing at most `limit`
/// bytes (the usual push-endpoint entry point).
pub fn decode_content(
    content_encoding: Option<&str>,
    body: &[u8],
    limit: usize,
) -> Result<Vec<u8>, DecompressError> {
    decompress(Encoding::from_header(content_encoding)?, body, limit)
}

/// The decoded length a snappy block claims, read from its varint header.
pub fn snappy_decoded_len(input: &[u8]) -> Result<usize, DecompressError> {
    snap::raw::decompress_len(input).map_err(|_| DecompressError::SnappyCorrupt)
}

/// Decode a snappy block, refusing before allocation if its header claims more than `limit`.
pub fn snappy_decompress(input: &[u8], limit: usize) -> Result<Vec<u8>, DecompressError> {
    let claimed = snappy_decoded_len(input)?;
    if claimed > limit {
        return Err(DecompressError::DecompressedTooLarge {
            size: claimed as u64,
            limit: limit as u64,
        });
    }
    let mut out = vec![0u8; claimed];
    let n = snap::raw::Decoder::new()
        .decompress(input, &mut out)
        .map_err(|_| DecompressError::SnappyCorrupt)?;
    out.truncate(n);
    Ok(out)
}

/// Decode a (possibly multi-member) gzip stream, producing at most `limit` bytes.
pub fn gzip_decompress(input: &[u8], limit: usize) -> Result<Vec<u8>, DecompressError> {
    read_capped(
        flate2::read::MultiGzDecoder::new(input),
        input.len(),
        limit,
        DecompressError::Gzip,
    )
}

/// Decode a raw deflate stream, producing at most `limit` bytes.
pub fn deflate_decompress(input: &[u8], limit: usize) -> Result<Vec<u8>, DecompressError> {
    read_capped(
        flate2::read::DeflateDecoder::new(input),
        input.len(),
        limit,
        DecompressError::Deflate,
    )
}

fn read_capped<R: Read>(
    reader: R,
    input_len: usize,
    limit: usize,
    wrap: fn(std::io::Error) -> DecompressError,
) -> Result<Vec<u8>, DecompressError> {
    // Start from a modest guess; growth is bounded by the `take` below.
    let mut out = Vec::with_capacity(input_len.saturating_mul(4).min(limit).min(1 << 20));
    let cap = (limit as u64).saturating_add(1);
    reader.take(cap).read_to_end(&mut out).map_err(wrap)?;
    if out.len() > limit {
        return Err(DecompressError::DecompressedTooLarge {
            size: out.len() as u64,
            limit: limit as u64,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use proptest::prelude::*;

    use super::*;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(data).unwrap();
        enc.finish().unwrap()
    }

    #[test]
    fn snappy_round_trip_within_limit() {
        let data = b"hello hello hello hello snappy".repeat(10);
        let enc = snap::raw::Encoder::new().compress_vec(&data).unwrap();
        assert_eq!(snappy_decompress(&enc, data.len()).unwrap(), data);
        let err = snappy_decompress(&enc, data.len() - 1).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "decompressed message size too large than max ({} vs {})",
                data.len(),
                data.len() - 1
            )
        );
        assert_eq!(err.error_kind(), ErrorKind::PayloadTooLarge);
    }

    #[test]
    fn snappy_bomb_header_is_refused_before_allocation() {
        // A 5-byte varint claiming ~4 GiB of output, followed by garbage.
        let mut bomb = Vec::new();
        let mut n: u64 = 0xFFFF_FFFF;
        while n >= 0x80 {
            bomb.push((n as u8) | 0x80);
            n >>= 7;
        }
        bomb.push(n as u8);
        bomb.extend_from_slice(&[0u8; 16]);
        assert_eq!(snappy_decoded_len(&bomb).unwrap(), 0xFFFF_FFFF);
        let err = snappy_decompress(&bomb, 10 << 20).unwrap_err();
        assert!(
            matches!(
                err,
                DecompressError::DecompressedTooLarge {
                    size: 0xFFFF_FFFF,
                    limit
                } if limit == 10 << 20
            ),
            "{err}"
        );
        assert_eq!(
            err.to_string(),
            "decompressed message size too large than max (4294967295 vs 10485760)"
        );
    }

    #[test]
    fn snappy_corrupt_input_uses_go_text() {
        let err = snappy_decompress(b"\xff\xff\xff\xff\xff\xff", 1 << 20).unwrap_err();
        assert_eq!(err.to_string(), "snappy: corrupt input");
        assert_eq!(err.error_kind(), ErrorKind::BadData);
        // A valid header with a truncated body.
        let err = snappy_decompress(&[10, 0x00], 1 << 20).unwrap_err();
        assert_eq!(err.to_string(), "snappy: corrupt input");
    }

    #[test]
    fn gzip_bomb_is_cut_at_the_limit() {
        // 64 MiB of zeros compresses to ~64 KiB.
        let zeros = vec![0u8; 64 << 20];
        let bomb = gzip(&zeros);
        assert!(bomb.len() < 1 << 20);
        let err = gzip_decompress(&bomb, 1 << 20).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "decompressed message size too large than max ({} vs {})",
                (1 << 20) + 1,
                1 << 20
            )
        );
        assert_eq!(gzip_decompress(&bomb, 64 << 20).unwrap().len(), 64 << 20);
    }

    #[test]
    fn gzip_multi_member_and_corrupt() {
        let mut two = gzip(b"abc");
        two.extend(gzip(b"def"));
        assert_eq!(gzip_decompress(&two, 100).unwrap(), b"abcdef");
        let err = gzip_decompress(b"not gzip at all", 100).unwrap_err();
        assert!(err.to_string().starts_with("gzip: "), "{err}");
        assert_eq!(err.error_kind(), ErrorKind::BadData);
    }

    #[test]
    fn deflate_round_trip() {
        let mut enc =
            flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(b"raw deflate body").unwrap();
        let data = enc.finish().unwrap();
        assert_eq!(
            decompress(Encoding::Deflate, &data, 100).unwrap(),
            b"raw deflate body"
        );
        assert!(decompress(Encoding::Deflate, &data, 3).is_err());
    }

    #[test]
    fn content_encoding_header() {
        assert_eq!(Encoding::from_header(None).unwrap(), Encoding::Identity);
        assert_eq!(Encoding::from_header(Some("")).unwrap(), Encoding::Identity);
        assert_eq!(Encoding::from_header(Some("GZIP")).unwrap(), Encoding::Gzip);
        assert_eq!(
            Encoding::from_header(Some("snappy")).unwrap(),
            Encoding::Snappy
        );
        assert_eq!(
            Encoding::from_header(Some("br")).unwrap_err().to_string(),
            r#"Content-Encoding "br" not supported"#
        );
    }

    #[test]
    fn decode_by_header() {
        let g = gzip(b"{\"streams\":[]}");
        assert_eq!(
            decode_content(Some("gzip"), &g, 100).unwrap(),
            b"{\"streams\":[]}"
        );
        assert_eq!(decode_content(None, b"raw", 100).unwrap(), b"raw");
        assert!(matches!(
            decode_content(Some("zstd"), b"x", 100),
            Err(DecompressError::UnsupportedEncoding(_))
        ));
    }

    #[test]
    fn message_size_check() {
        assert!(check_message_size(&[0; 10], 10).is_ok());
        assert_eq!(
            check_message_size(&[0; 11], 10).unwrap_err().to_string(),
            "message size too large than max (11 vs 10)"
        );
        assert!(decompress(Encoding::Identity, &[0; 11], 10).is_err());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn codecs_round_trip_or_refuse(data in proptest::collection::vec(any::<u8>(), 0..2048), limit in 0usize..3000) {
            let s = snap::raw::Encoder::new().compress_vec(&data).unwrap();
            let g = gzip(&data);
            for (enc, input) in [(Encoding::Snappy, &s), (Encoding::Gzip, &g)] {
                match decompress(enc, input, limit) {
                    Ok(out) => { prop_assert!(data.len() <= limit); prop_assert_eq!(&out, &data); }
                    Err(e) => { prop_assert!(data.len() > limit); prop_assert_eq!(e.error_kind(), ErrorKind::PayloadTooLarge); }
                }
            }
        }

        #[test]
        fn garbage_never_panics(data in proptest::collection::vec(any::<u8>(), 0..256)) {
            for enc in [Encoding::Snappy, Encoding::Gzip, Encoding::Deflate] {
                if let Ok(out) = decompress(enc, &data, 4096) {
                    prop_assert!(out.len() <= 4096);
                }
            }
        }
    }
}
