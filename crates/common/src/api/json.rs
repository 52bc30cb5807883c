//! JSON output escaped like Go's `encoding/json` (and jsoniter's standard-library mode, which
//! Prometheus and Loki use): `<`, `>`, `&`, U+2028 and U+2029 become `\u003c`, `\u003e`,
//! `\u0026`, `\u2028`, `\u2029`. serde_json leaves them raw; clients comparing bodies byte for
//! byte (and snapshot tests against recorded upstream answers) see the difference.

use std::io;

use serde::Serialize;
use serde_json::ser::{CompactFormatter, Formatter};

/// A compact serde_json formatter with Go's HTML-safe string escaping.
#[derive(Debug, Clone, Copy, Default)]
pub struct GoJsonFormatter;

impl Formatter for GoJsonFormatter {
    fn write_string_fragment<W>(&mut self, writer: &mut W, fragment: &str) -> io::Result<()>
    where
        W: ?Sized + io::Write,
    {
        let bytes = fragment.as_bytes();
        let mut start = 0;
        for (i, ch) in fragment.char_indices() {
            let escape: Option<&[u8]> = match ch {
                '<' => Some(b"\\u003c"),
                '>' => Some(b"\\u003e"),
                '&' => Some(b"\\u0026"),
                '\u{2028}' => Some(b"\\u2028"),
                '\u{2029}' => Some(b"\\u2029"),
                _ => None,
            };
            if let Some(esc) = escape {
                writer.write_all(&bytes[start..i])?;
                writer.write_all(esc)?;
                start = i + ch.len_utf8();
            }
        }
        writer.write_all(&bytes[start..])
    }

    fn write_f64<W>(&mut self, writer: &mut W, value: f64) -> io::Result<()>
    where
        W: ?Sized + io::Write,
    {
        CompactFormatter.write_f64(writer, value)
    }
}

/// Serialize `value` to JSON bytes escaped as Go's `encoding/json` does.
pub fn to_go_json<T: Serialize + ?Sized>(value: &T) -> serde_json::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(128);
    to_go_json_writer(&mut out, value)?;
    Ok(out)
}

/// Serialize `value` into `writer` with Go's escaping (for streaming large results).
pub fn to_go_json_writer<W: io::Write, T: Serialize + ?Sized>(
    writer: W,
    value: &T,
) -> serde_json::Result<()> {
    let mut ser = serde_json::Serializer::with_formatter(writer, GoJsonFormatter);
    value.serialize(&mut ser)
}
