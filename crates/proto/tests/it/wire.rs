//! A tiny protobuf wire-format writer built from the encoding spec, used to produce expected
//! bytes without going through prost.

/// Wire type 0: varint (int32/64, uint32/64, sint32/64, bool, enum).
const VARINT: u32 = 0;
/// Wire type 1: 8 little-endian bytes (fixed64, sfixed64, double).
const I64: u32 = 1;
/// Wire type 2: length-delimited (string, bytes, messages, packed repeated).
const LEN: u32 = 2;
/// Wire type 5: 4 little-endian bytes (fixed32, sfixed32, float).
const I32: u32 = 5;

/// Base-128 varint: 7 bits per byte, least significant group first, MSB = continuation.
pub(crate) fn varint(mut v: u64) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let low = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(low);
            return out;
        }
        out.push(low | 0x80);
    }
}

/// ZigZag mapping used by sint32/sint64: 0->0, -1->1, 1->2, -2->3, ...
pub(crate) fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

/// Field key: `(field_number << 3) | wire_type`, as a varint.
pub(crate) fn key(field: u32, wire_type: u32) -> Vec<u8> {
    varint(u64::from((field << 3) | wire_type))
}

/// Concatenates already encoded fields into one message body.
pub(crate) fn cat(parts: &[Vec<u8>]) -> Vec<u8> {
    parts.concat()
}

/// uint32/uint64/enum/bool field.
pub(crate) fn uint(field: u32, v: u64) -> Vec<u8> {
    cat(&[key(field, VARINT), varint(v)])
}

/// int32/int64 field: negative values are sign-extended to 64 bits (always 10 bytes).
pub(crate) fn int(field: u32, v: i64) -> Vec<u8> {
    uint(field, v as u64)
}

/// sint32/sint64 field (ZigZag).
pub(crate) fn sint(field: u32, v: i64) -> Vec<u8> {
    uint(field, zigzag(v))
}

/// double field.
pub(crate) fn double(field: u32, v: f64) -> Vec<u8> {
    cat(&[key(field, I64), v.to_le_bytes().to_vec()])
}

/// fixed64 field.
pub(crate) fn fixed64(field: u32, v: u64) -> Vec<u8> {
    cat(&[key(field, I64), v.to_le_bytes().to_vec()])
}

/// sfixed64 field.
pub(crate) fn sfixed64(field: u32, v: i64) -> Vec<u8> {
    cat(&[key(field, I64), v.to_le_bytes().to_vec()])
}

/// fixed32 field.
pub(crate) fn fixed32(field: u32, v: u32) -> Vec<u8> {
    cat(&[key(field, I32), v.to_le_bytes().to_vec()])
}

/// bytes field (also the framing of strings, messages and packed runs).
pub(crate) fn bytes(field: u32, v: &[u8]) -> Vec<u8> {
    cat(&[key(field, LEN), varint(v.len() as u64), v.to_vec()])
}

/// string field.
pub(crate) fn string(field: u32, v: &str) -> Vec<u8> {
    bytes(field, v.as_bytes())
}

/// Embedded message field made of the given encoded fields.
pub(crate) fn message(field: u32, parts: &[Vec<u8>]) -> Vec<u8> {
    bytes(field, &cat(parts))
}

/// Packed repeated uint32/uint64/enum.
pub(crate) fn packed_uint(field: u32, vs: &[u64]) -> Vec<u8> {
    let body: Vec<u8> = vs.iter().flat_map(|v| varint(*v)).collect();
    bytes(field, &body)
}

/// Packed repeated sint64.
pub(crate) fn packed_sint(field: u32, vs: &[i64]) -> Vec<u8> {
    let body: Vec<u8> = vs.iter().flat_map(|v| varint(zigzag(*v))).collect();
    bytes(field, &body)
}

/// Packed repeated double.
pub(crate) fn packed_double(field: u32, vs: &[f64]) -> Vec<u8> {
    let body: Vec<u8> = vs.iter().flat_map(|v| v.to_le_bytes()).collect();
    bytes(field, &body)
}

/// Packed repeated fixed64.
pub(crate) fn packed_fixed64(field: u32, vs: &[u64]) -> Vec<u8> {
    let body: Vec<u8> = vs.iter().flat_map(|v| v.to_le_bytes()).collect();
    bytes(field, &body)
}

// The writer itself, pinned to the worked examples of the encoding guide.

#[test]
fn varint_examples_from_the_spec() {
    assert_eq!(varint(1), [0x01]);
    assert_eq!(varint(150), [0x96, 0x01]);
    assert_eq!(varint(300), [0xac, 0x02]);
    // int32 -2 is sign-extended to ten bytes.
    assert_eq!(
        varint(-2i64 as u64),
        [0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]
    );
}

#[test]
fn zigzag_table_from_the_spec() {
    assert_eq!(zigzag(0), 0);
    assert_eq!(zigzag(-1), 1);
    assert_eq!(zigzag(1), 2);
    assert_eq!(zigzag(-2), 3);
    assert_eq!(zigzag(0x7fff_ffff), 0xffff_fffe);
    assert_eq!(zigzag(-0x8000_0000), 0xffff_ffff);
}

#[test]
fn field_examples_from_the_spec() {
    // `message Test1 { int32 a = 1; }` with a = 150.
    assert_eq!(uint(1, 150), [0x08, 0x96, 0x01]);
    // `message Test2 { string b = 2; }` with b = "testing".
    assert_eq!(
        string(2, "testing"),
        [0x12, 0x07, 0x74, 0x65, 0x73, 0x74, 0x69, 0x6e, 0x67]
    );
    // `message Test3 { Test1 c = 3; }` with c.a = 150.
    assert_eq!(message(3, &[uint(1, 150)]), [0x1a, 0x03, 0x08, 0x96, 0x01]);
    // `message Test5 { repeated int32 f = 6 [packed = true]; }` with f = [3, 270, 86942].
    assert_eq!(
        packed_uint(6, &[3, 270, 86942]),
        [0x32, 0x06, 0x03, 0x8e, 0x02, 0x9e, 0xa7, 0x05]
    );
    // double 1.0 in field 1: key 0x09, then IEEE-754 little-endian.
    assert_eq!(double(1, 1.0), [0x09, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f]);
    // A field number above 15 needs a two-byte key: (16 << 3) | 5 = 133 = 0x85 0x01.
    assert_eq!(fixed32(16, 1), [0x85, 0x01, 0x01, 0x00, 0x00, 0x00]);
}
