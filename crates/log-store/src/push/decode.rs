//! Push bodies: snappy-compressed `logproto.PushRequest` (any content type but JSON) and
//! Loki's JSON v1 shape, after the `Content-Encoding` (gzip, deflate) is undone within the
//! decompressed-size limit.

use std::collections::BTreeMap;

use lgtm_common::compress::{self, DecompressError, Encoding};
use lgtm_proto::logproto;
use prost::Message;
use serde::Deserialize;
use serde_json::value::RawValue;

use super::labels::parse_labels;

/// One decoded entry.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RawEntry {
    pub(crate) ts: i64,
    pub(crate) line: String,
    pub(crate) metadata: Vec<(String, String)>,
}

/// One decoded stream: sorted labels (duplicates kept) and entries.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RawStream {
    pub(crate) labels: Vec<(String, String)>,
    pub(crate) entries: Vec<RawEntry>,
}

/// Why a body could not be decoded.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DecodeError {
    /// Size limits (413).
    #[error("{0}")]
    TooLarge(String),
    /// Anything else (400).
    #[error("{0}")]
    Bad(String),
}

impl From<DecompressError> for DecodeError {
    fn from(e: DecompressError) -> Self {
        use lgtm_common::error::HasErrorKind;
        if e.error_kind() == lgtm_common::error::ErrorKind::PayloadTooLarge {
            DecodeError::TooLarge(format!("request body too large: {e}"))
        } else {
            DecodeError::Bad(e.to_string())
        }
    }
}

/// Decodes a push body given its `Content-Type` and `Content-Encoding` headers.
pub(crate) fn decode(
    content_type: Option<&str>,
    content_encoding: Option<&str>,
    body: &[u8],
    max_decompressed: usize,
) -> Result<Vec<RawStream>, DecodeError> {
    let encoding = Encoding::from_header(content_encoding)?;
    let media = content_type
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if media.is_empty() {
        return Err(DecodeError::Bad("mime: no media type".into()));
    }
    // Snappy as content encoding is ignored: protobuf bodies are snappy anyway.
    let encoding = if matches!(encoding, Encoding::Snappy) {
        Encoding::Identity
    } else {
        encoding
    };
    let body = compress::decompress(encoding, body, max_decompressed)?;
    if media == "application/json" {
        decode_json(&body)
    } else {
        let raw = compress::snappy_decompress(&body, max_decompressed)?;
        decode_proto(&raw)
    }
}

fn parse_err(e: String) -> DecodeError {
    DecodeError::Bad(format!("couldn't parse labels: {e}"))
}

fn decode_proto(raw: &[u8]) -> Result<Vec<RawStream>, DecodeError> {
    let req =
        logproto::PushRequest::decode(raw).map_err(|e| DecodeError::Bad(format!("proto: {e}")))?;
    let mut out = Vec::with_capacity(req.streams.len());
    for s in req.streams {
        let labels = parse_labels(&s.labels).map_err(parse_err)?;
        let entries = s
            .entries
            .into_iter()
            .map(|e| {
                let ts = e.timestamp.map_or(0, |t| {
                    t.seconds
                        .saturating_mul(1_000_000_000)
                        .saturating_add(i64::from(t.nanos))
                });
                RawEntry {
                    ts,
                    line: String::from_utf8(e.line.to_vec())
                        .unwrap_or_else(|err| String::from_utf8_lossy(err.as_bytes()).into_owned()),
                    metadata: e
                        .structured_metadata
                        .into_iter()
                        .map(|p| (p.name, p.value))
                        .collect(),
                }
            })
            .collect();
        out.push(RawStream { labels, entries });
    }
    Ok(out)
}

#[derive(Deserialize)]
struct JsonPush<'a> {
    #[serde(borrow, default)]
    streams: Vec<JsonStream<'a>>,
}

#[derive(Deserialize)]
struct JsonStream<'a> {
    #[serde(default)]
    stream: BTreeMap<String, serde_json::Value>,
    #[serde(borrow, default)]
    values: Vec<Vec<&'a RawValue>>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum JsonMeta {
    Categorized {
        #[serde(rename = "structuredMetadata")]
        structured_metadata: BTreeMap<String, String>,
    },
    Flat(BTreeMap<String, String>),
}

fn decode_json(body: &[u8]) -> Result<Vec<RawStream>, DecodeError> {
    let req: JsonPush<'_> =
        serde_json::from_slice(body).map_err(|e| DecodeError::Bad(e.to_string()))?;
    let mut out = Vec::with_capacity(req.streams.len());
    for s in req.streams {
        let mut labels = Vec::with_capacity(s.stream.len());
        for (k, v) in s.stream {
            let v = match v {
                serde_json::Value::String(s) => s,
                serde_json::Value::Number(n) => n.to_string(),
                other => {
                    return Err(DecodeError::Bad(format!(
                        "invalid value for label {k}: {other}"
                    )));
                }
            };
            if !v.is_empty() {
                labels.push((k, v));
            }
        }
        let mut entries = Vec::with_capacity(s.values.len());
        for v in s.values {
            if v.len() < 2 || v.len() > 3 {
                return Err(DecodeError::Bad(
                    "Value array must have 2 or 3 elements".into(),
                ));
            }
            let ts: String = serde_json::from_str(v[0].get()).map_err(|_| {
                DecodeError::Bad(format!(
                    "Value timestamp must be a string holding nanoseconds, got {}",
                    v[0].get()
                ))
            })?;
            let ts: i64 = ts.parse().map_err(|_| {
                DecodeError::Bad(format!("strconv.ParseInt: parsing {ts:?}: invalid syntax"))
            })?;
            let line: String = serde_json::from_str(v[1].get())
                .map_err(|_| DecodeError::Bad("Value line must be a string".into()))?;
            let metadata = match v.get(2) {
                None => Vec::new(),
                Some(m) => match serde_json::from_str::<JsonMeta>(m.get())
                    .map_err(|e| DecodeError::Bad(format!("invalid structured metadata: {e}")))?
                {
                    JsonMeta::Categorized {
                        structured_metadata,
                    } => structured_metadata.into_iter().collect(),
                    JsonMeta::Flat(m) => m.into_iter().collect(),
                },
            };
            entries.push(RawEntry { ts, line, metadata });
        }
        out.push(RawStream { labels, entries });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use lgtm_proto::logproto::{EntryAdapter, LabelPairAdapter, PushRequest, StreamAdapter};

    #[test]
    fn protobuf_snappy_with_metadata() {
        let req = PushRequest {
            streams: vec![StreamAdapter {
                labels: r#"{job="varlogs", app="x"}"#.into(),
                entries: vec![EntryAdapter {
                    timestamp: Some(prost_types_ts(1_700_000_000, 5)),
                    line: "hello".into(),
                    structured_metadata: vec![LabelPairAdapter {
                        name: "trace_id".into(),
                        value: "abc".into(),
                    }],
                    parsed: vec![],
                }],
                hash: 0,
            }],
            format: String::new(),
        };
        let body = snap::raw::Encoder::new()
            .compress_vec(&req.encode_to_vec())
            .unwrap();
        let got = decode(Some("application/x-protobuf"), None, &body, 1 << 20).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].labels[0], ("app".to_owned(), "x".to_owned()));
        assert_eq!(got[0].entries[0].ts, 1_700_000_000_000_000_005);
        assert_eq!(
            got[0].entries[0].metadata,
            vec![("trace_id".to_owned(), "abc".to_owned())]
        );
        // Not snappy → 400 with Go's text.
        let err = decode(Some("application/x-protobuf"), None, b"garbage!", 1 << 20).unwrap_err();
        assert!(matches!(err, DecodeError::Bad(_)));
        // Bad labels fail the whole request.
        let mut bad = req.clone();
        bad.streams[0].labels = "{a=b}".into();
        let body = snap::raw::Encoder::new()
            .compress_vec(&bad.encode_to_vec())
            .unwrap();
        let err = decode(Some("application/x-protobuf"), None, &body, 1 << 20).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("couldn't parse labels: 1:4: parse error"),
            "{err}"
        );
    }

    fn prost_types_ts(seconds: i64, nanos: i32) -> lgtm_proto::prost_types::Timestamp {
        lgtm_proto::prost_types::Timestamp { seconds, nanos }
    }

    #[test]
    fn json_with_gzip_and_metadata() {
        let json = br#"{"streams":[{"stream":{"app":"api","n":5},"values":[["1700000000000000000","GET /"],["1700000000000000001","x",{"trace_id":"t"}],["1700000000000000002","y",{"structuredMetadata":{"u":"1"},"parsed":{"p":"2"}}]]}]}"#;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        std::io::Write::write_all(&mut gz, json).unwrap();
        let body = gz.finish().unwrap();
        let got = decode(
            Some("application/json; charset=utf-8"),
            Some("gzip"),
            &body,
            1 << 20,
        )
        .unwrap();
        assert_eq!(
            got[0].labels,
            vec![("app".into(), "api".into()), ("n".into(), "5".into())]
        );
        assert_eq!(got[0].entries.len(), 3);
        assert_eq!(
            got[0].entries[1].metadata,
            vec![("trace_id".into(), "t".into())]
        );
        assert_eq!(got[0].entries[2].metadata, vec![("u".into(), "1".into())]);
        let err = decode(
            Some("application/json"),
            None,
            br#"{"streams":[{"stream":{"a":"b"},"values":[[1,"x"]]}]}"#,
            1 << 20,
        );
        assert!(err.is_err());
        let err = decode(Some("application/json"), Some("br"), b"{}", 1 << 20).unwrap_err();
        assert_eq!(err.to_string(), "Content-Encoding \"br\" not supported");
        assert_eq!(
            decode(None, None, b"", 10).unwrap_err().to_string(),
            "mime: no media type"
        );
    }
}
