//! Snappy as remote-write and Loki senders use it: the raw *block* format (no stream framing).

use crate::prometheus_v1::{full_write_request, full_write_request_bytes};
use crate::wire::varint;
use lgtm_proto::Message;
use lgtm_proto::prometheus::WriteRequest;

/// A snappy block made only of literal elements, per the snappy format description:
/// preamble = uncompressed length as a varint; literal tag low bits 00, with the length - 1
/// in the upper six bits when < 60, else 60/61 followed by 1/2 little-endian length bytes.
fn literal_snappy_block(data: &[u8]) -> Vec<u8> {
    let mut out = varint(data.len() as u64);
    for chunk in data.chunks(65_536) {
        let n = chunk.len() - 1;
        if n < 60 {
            out.push((n as u8) << 2);
        } else if n < 256 {
            out.extend([60 << 2, n as u8]);
        } else {
            out.extend([61 << 2, (n & 0xff) as u8, (n >> 8) as u8]);
        }
        out.extend_from_slice(chunk);
    }
    out
}

#[test]
fn round_trips_write_request_through_snappy_block_format() {
    let body = full_write_request().encode_to_vec();
    let compressed = snap::raw::Encoder::new().compress_vec(&body).unwrap();
    // Block format starts with the uncompressed length, not the 0xff "sNaPpY" stream header.
    assert_eq!(compressed[..2], varint(body.len() as u64)[..2]);
    assert_ne!(compressed[0], 0xff);
    assert_eq!(snap::raw::decompress_len(&compressed).unwrap(), body.len());
    let decompressed = snap::raw::Decoder::new()
        .decompress_vec(&compressed)
        .unwrap();
    assert_eq!(
        WriteRequest::decode(decompressed.as_slice()).unwrap(),
        full_write_request()
    );
}

#[test]
fn decodes_hand_built_snappy_block() {
    let body = full_write_request_bytes();
    assert!(
        body.len() > 256,
        "exercise the two-byte literal length form"
    );
    let block = literal_snappy_block(&body);
    let decompressed = snap::raw::Decoder::new().decompress_vec(&block).unwrap();
    assert_eq!(
        WriteRequest::decode(decompressed.as_slice()).unwrap(),
        full_write_request()
    );
}

#[test]
fn framed_snappy_is_not_a_valid_block() {
    let body = full_write_request().encode_to_vec();
    let mut framed = Vec::new();
    {
        use std::io::Write;
        let mut w = snap::write::FrameEncoder::new(&mut framed);
        w.write_all(&body).unwrap();
        w.flush().unwrap();
    }
    assert_eq!(&framed[..10], b"\xff\x06\x00\x00sNaPpY");
    assert!(snap::raw::Decoder::new().decompress_vec(&framed).is_err());
}
