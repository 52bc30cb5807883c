//! Loki push: `logproto.PushRequest` (pkg/push/push.proto).

use crate::wire::*;
use lgtm_proto::logproto::{
    EntryAdapter, LabelPairAdapter, PushRequest, PushResponse, StreamAdapter,
};
use lgtm_proto::prost_types::Timestamp;
use lgtm_proto::{Bytes, Message};

/// One stream, one entry with a Timestamp and one structured-metadata pair, spelled out.
/// On the wire `labels` is a plain string and the timestamp a google.protobuf.Timestamp
/// (Loki's Go types hide both behind gogoproto custom types).
#[rustfmt::skip]
pub(crate) const PUSH_REQUEST: &[u8] = &[
    0x0a, 0x53,                 // PushRequest.streams (1, LEN), 83 bytes
      0x0a, 0x17,               //   StreamAdapter.labels (1, LEN), 23 bytes
        b'{', b'a', b'p', b'p', b'=', b'"', b'a', b'p', b'i', b'"', b',', b' ',
        b'e', b'n', b'v', b'=', b'"', b'p', b'r', b'o', b'd', b'"', b'}',
      0x12, 0x38,               //   StreamAdapter.entries (2, LEN), 56 bytes
        0x0a, 0x0b,             //     EntryAdapter.timestamp (1, LEN), 11 bytes
          0x08, 0x80, 0xe2, 0xcf, 0xaa, 0x06, // Timestamp.seconds (1, VARINT) 1700000000
          0x10, 0x95, 0x9a, 0xef, 0x3a,       // Timestamp.nanos (2, VARINT) 123456789
        0x12, 0x0b,             //     EntryAdapter.line (2, LEN), 11 bytes
          b'h', b'e', b'l', b'l', b'o', b' ', b'w', b'o', b'r', b'l', b'd',
        0x1a, 0x1c,             //     EntryAdapter.structuredMetadata (3, LEN), 28 bytes
          0x0a, 0x08,           //       LabelPairAdapter.name (1, LEN), 8 bytes
            b't', b'r', b'a', b'c', b'e', b'_', b'i', b'd',
          0x12, 0x10,           //       LabelPairAdapter.value (2, LEN), 16 bytes
            b'4', b'b', b'f', b'9', b'2', b'f', b'3', b'5',
            b'7', b'7', b'b', b'3', b'4', b'd', b'a', b'6',
];

pub(crate) fn push_request() -> PushRequest {
    PushRequest {
        streams: vec![StreamAdapter {
            labels: r#"{app="api", env="prod"}"#.into(),
            entries: vec![EntryAdapter {
                timestamp: Some(Timestamp {
                    seconds: 1_700_000_000,
                    nanos: 123_456_789,
                }),
                line: Bytes::from_static(b"hello world"),
                structured_metadata: vec![LabelPairAdapter {
                    name: "trace_id".into(),
                    value: "4bf92f3577b34da6".into(),
                }],
                parsed: vec![],
            }],
            hash: 0,
        }],
        format: String::new(),
    }
}

#[test]
fn decodes_push_request_with_structured_metadata() {
    let decoded = PushRequest::decode(PUSH_REQUEST).unwrap();
    assert_eq!(decoded, push_request());
}

#[test]
fn encodes_push_request_like_promtail() {
    assert_eq!(push_request().encode_to_vec(), PUSH_REQUEST);
}

/// The literal above agrees with the spec-built writer (guards the hand arithmetic).
#[test]
fn literal_matches_wire_writer() {
    let built = message(
        1,
        &[
            string(1, r#"{app="api", env="prod"}"#),
            message(
                2,
                &[
                    message(1, &[uint(1, 1_700_000_000), uint(2, 123_456_789)]),
                    string(2, "hello world"),
                    message(3, &[string(1, "trace_id"), string(2, "4bf92f3577b34da6")]),
                ],
            ),
        ],
    );
    assert_eq!(built, PUSH_REQUEST);
}

/// Entries before 1970 carry a negative `seconds` (int64, ten-byte varint) and positive nanos.
#[test]
fn negative_timestamp_seconds() {
    let bytes = message(
        1,
        &[message(
            2,
            &[message(1, &[int(1, -1), uint(2, 500_000_000)])],
        )],
    );
    let decoded = PushRequest::decode(bytes.as_slice()).unwrap();
    let ts = decoded.streams[0].entries[0].timestamp.unwrap();
    assert_eq!((ts.seconds, ts.nanos), (-1, 500_000_000));
    assert_eq!(decoded.encode_to_vec(), bytes);
}

/// Loki's internal fields (`hash`, `format`, `parsed`) keep their numbers too.
#[test]
fn internal_fields_keep_their_numbers() {
    let bytes = cat(&[
        message(
            1,
            &[
                string(1, "{a=\"b\"}"),
                message(
                    2,
                    &[
                        string(2, "x"),
                        message(4, &[string(1, "level"), string(2, "info")]), // parsed
                    ],
                ),
                uint(3, 0xdead_beef), // hash
            ],
        ),
        string(2, "otlp"), // format
    ]);
    let decoded = PushRequest::decode(bytes.as_slice()).unwrap();
    assert_eq!(decoded.format, "otlp");
    assert_eq!(decoded.streams[0].hash, 0xdead_beef);
    assert_eq!(decoded.streams[0].entries[0].parsed[0].name, "level");
    assert_eq!(decoded.encode_to_vec(), bytes);
}

/// Loki's Go decoder does not check UTF-8, so a line with invalid bytes (a Latin-1 file, binary
/// noise) is accepted and shown with U+FFFD; the whole push must not fail here either.
#[test]
fn line_with_invalid_utf8_is_accepted() {
    let bytes = message(
        1,
        &[
            string(1, "{job=\"x\"}"),
            message(2, &[bytes(2, b"before-\xff\xfe-after")]),
        ],
    );
    let decoded = PushRequest::decode(bytes.as_slice()).unwrap();
    let line = &decoded.streams[0].entries[0].line;
    assert_eq!(line.as_ref(), b"before-\xff\xfe-after");
    assert_eq!(
        String::from_utf8_lossy(line),
        "before-\u{fffd}\u{fffd}-after"
    );
    assert_eq!(decoded.encode_to_vec(), bytes);
}

#[test]
fn push_response_is_empty() {
    assert!(PushResponse {}.encode_to_vec().is_empty());
    assert_eq!(PushResponse::decode(&[][..]).unwrap(), PushResponse {});
}
