//! A direct decoder for the common shape of remote-write 1.0 bodies: series with labels and
//! float samples only. It builds the store's label and sample vectors straight from the wire
//! bytes, without the intermediate protobuf structs (one allocation per string and one per
//! vector, sized up front). Anything else (exemplars, histograms, metadata, unknown fields,
//! malformed bytes) makes it give up, and the caller decodes the body with the generated code,
//! so results and error texts stay exactly those of the full decoder.

use lgtm_common::labels::Label;

/// Series as read from the wire: labels in sent order and `(timestamp, value)` samples.
pub(super) type RawSeries = (Vec<Label>, Vec<(i64, f64)>);

struct Wire<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Wire<'a> {
    fn done(&self) -> bool {
        self.pos >= self.buf.len()
    }

    fn varint(&mut self) -> Option<u64> {
        lgtm_common::varint::read_uvarint(self.buf, &mut self.pos)
    }

    fn bytes(&mut self) -> Option<&'a [u8]> {
        let len = usize::try_from(self.varint()?).ok()?;
        let end = self.pos.checked_add(len).filter(|&e| e <= self.buf.len())?;
        let out = &self.buf[self.pos..end];
        self.pos = end;
        Some(out)
    }

    fn fixed64(&mut self) -> Option<u64> {
        let end = self.pos.checked_add(8).filter(|&e| e <= self.buf.len())?;
        let mut le = [0u8; 8];
        le.copy_from_slice(&self.buf[self.pos..end]);
        self.pos = end;
        Some(u64::from_le_bytes(le))
    }

    /// Next `(field number, wire type)`.
    fn key(&mut self) -> Option<(u64, u8)> {
        let key = self.varint()?;
        let field = key >> 3;
        (field != 0).then_some((field, (key & 7) as u8))
    }
}

fn string(bytes: &[u8]) -> Option<String> {
    std::str::from_utf8(bytes).ok().map(str::to_owned)
}

fn label(buf: &[u8]) -> Option<Label> {
    let mut w = Wire { buf, pos: 0 };
    let (mut name, mut value) = (String::new(), String::new());
    while !w.done() {
        match w.key()? {
            (1, 2) => name = string(w.bytes()?)?,
            (2, 2) => value = string(w.bytes()?)?,
            _ => return None,
        }
    }
    Some(Label { name, value })
}

fn sample(buf: &[u8]) -> Option<(i64, f64)> {
    let mut w = Wire { buf, pos: 0 };
    let (mut t, mut v) = (0i64, 0f64);
    while !w.done() {
        match w.key()? {
            (1, 1) => v = f64::from_bits(w.fixed64()?),
            (2, 0) => t = w.varint()? as i64,
            _ => return None,
        }
    }
    Some((t, v))
}

fn series(buf: &[u8]) -> Option<RawSeries> {
    let mut w = Wire { buf, pos: 0 };
    let mut labels = Vec::with_capacity(8);
    let mut samples = Vec::with_capacity(1);
    while !w.done() {
        match w.key()? {
            (1, 2) => labels.push(label(w.bytes()?)?),
            (2, 2) => samples.push(sample(w.bytes()?)?),
            _ => return None,
        }
    }
    Some((labels, samples))
}

/// The series of a `prometheus.WriteRequest` holding only labels and float samples, or `None`
/// when the body has anything else or does not parse.
pub(super) fn decode(body: &[u8]) -> Option<Vec<RawSeries>> {
    let mut w = Wire { buf: body, pos: 0 };
    let mut out = Vec::with_capacity(body.len() / 128);
    while !w.done() {
        match w.key()? {
            (1, 2) => out.push(series(w.bytes()?)?),
            _ => return None,
        }
    }
    Some(out)
}
