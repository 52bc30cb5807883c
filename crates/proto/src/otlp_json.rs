//! serde helpers for the OTLP/JSON encoding (feature `otlp-json`), referenced by the derives
//! that `build.rs` puts on the generated OTLP types.
//!
//! OTLP/JSON is the proto3 JSON mapping with the deviations of the OTLP specification ("JSON
//! Protobuf Encoding"): lowerCamelCase keys only, enums as integers, `traceId`/`spanId` (and
//! `parentSpanId`) as case-insensitive hex instead of base64, unknown keys ignored. From the
//! proto3 mapping itself: 64-bit integers are written as decimal strings and read from strings
//! or numbers, other `bytes` are base64, and doubles may be the strings `"NaN"`,
//! `"Infinity"` and `"-Infinity"`. Fields holding their default value are omitted on output.

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::ser::{SerializeSeq, Serializer};
use std::fmt;

/// `skip_serializing_if` for proto3 scalars: default values are not written.
pub(crate) fn is_default<T: Default + PartialEq>(v: &T) -> bool {
    *v == T::default()
}

/// Reads an integer written as a JSON number or a decimal string into `i128`, so one visitor
/// serves every 64-bit type.
struct IntVisitor;

impl Visitor<'_> for IntVisitor {
    type Value = i128;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an integer or a decimal string")
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<i128, E> {
        Ok(i128::from(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<i128, E> {
        Ok(i128::from(v))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<i128, E> {
        // proto3 JSON allows exponent notation for integers, e.g. 1e3.
        if v.fract() == 0.0 && v.abs() < 1.8e19 {
            Ok(v as i128)
        } else {
            Err(E::custom(format!("{v} is not an integer")))
        }
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<i128, E> {
        if let Ok(n) = v.parse::<i128>() {
            return Ok(n);
        }
        v.parse::<f64>()
            .map_err(|_| E::custom(format!("invalid integer string {v:?}")))
            .and_then(|f| self.visit_f64(f))
    }

    fn visit_unit<E: de::Error>(self) -> Result<i128, E> {
        Ok(0) // null means the default value
    }
}

fn int_in_range<T: TryFrom<i128>, E: de::Error>(v: i128) -> Result<T, E> {
    T::try_from(v).map_err(|_| E::custom(format!("integer {v} out of range")))
}

/// 64-bit signed integers (`int64`, `sfixed64`): string out, string or number in.
pub(crate) mod i64_str {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(v: &i64, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(v)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
        int_in_range(d.deserialize_any(IntVisitor)?)
    }
}

/// 64-bit unsigned integers (`uint64`, `fixed64`): string out, string or number in.
pub(crate) mod u64_str {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(v: &u64, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(v)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        int_in_range(d.deserialize_any(IntVisitor)?)
    }
}

/// Repeated `uint64`/`fixed64` (histogram bucket counts).
pub(crate) mod vec_u64_str {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(v: &[u64], s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(v.len()))?;
        for n in v {
            seq.serialize_element(&n.to_string())?;
        }
        seq.end()
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u64>, D::Error> {
        struct Seq;
        impl<'de> Visitor<'de> for Seq {
            type Value = Vec<u64>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an array of integers")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<u64>, A::Error> {
                let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
                while let Some(v) = seq.next_element::<U64>()? {
                    out.push(v.0);
                }
                Ok(out)
            }
            fn visit_unit<E: de::Error>(self) -> Result<Vec<u64>, E> {
                Ok(Vec::new())
            }
        }
        d.deserialize_any(Seq)
    }

    struct U64(u64);

    impl<'de> serde::Deserialize<'de> for U64 {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            super::u64_str::deserialize(d).map(U64)
        }
    }
}

/// Parses a double given as a number or as one of the proto3 JSON special strings.
struct F64Visitor;

impl Visitor<'_> for F64Visitor {
    type Value = f64;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a number, \"NaN\", \"Infinity\" or \"-Infinity\"")
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<f64, E> {
        Ok(v)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<f64, E> {
        Ok(v as f64)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<f64, E> {
        Ok(v as f64)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<f64, E> {
        match v {
            "NaN" => Ok(f64::NAN),
            "Infinity" => Ok(f64::INFINITY),
            "-Infinity" => Ok(f64::NEG_INFINITY),
            _ => v
                .parse::<f64>()
                .map_err(|_| E::custom(format!("invalid number string {v:?}"))),
        }
    }

    fn visit_unit<E: de::Error>(self) -> Result<f64, E> {
        Ok(0.0)
    }
}

fn serialize_f64<S: Serializer>(v: f64, s: S) -> Result<S::Ok, S::Error> {
    if v.is_nan() {
        s.serialize_str("NaN")
    } else if v.is_infinite() {
        s.serialize_str(if v > 0.0 { "Infinity" } else { "-Infinity" })
    } else {
        s.serialize_f64(v)
    }
}

/// `double` fields.
pub(crate) mod f64_num {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
        serialize_f64(*v, s)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        d.deserialize_any(F64Visitor)
    }
}

/// proto3 `optional double` fields (histogram sum/min/max).
pub(crate) mod opt_f64_num {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(v: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(v) => serialize_f64(*v, s),
            None => s.serialize_none(),
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
        struct Opt;
        impl<'de> Visitor<'de> for Opt {
            type Value = Option<f64>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number or null")
            }
            fn visit_unit<E: de::Error>(self) -> Result<Option<f64>, E> {
                Ok(None)
            }
            fn visit_none<E: de::Error>(self) -> Result<Option<f64>, E> {
                Ok(None)
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Option<f64>, D::Error> {
                d.deserialize_any(F64Visitor).map(Some)
            }
        }
        d.deserialize_option(Opt)
    }
}

/// Repeated `double` (explicit bucket bounds).
pub(crate) mod vec_f64_num {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(v: &[f64], s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(v.len()))?;
        for x in v {
            seq.serialize_element(&F64(*x))?;
        }
        seq.end()
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<f64>, D::Error> {
        let items: Vec<F64> = serde::Deserialize::deserialize(d)?;
        Ok(items.into_iter().map(|x| x.0).collect())
    }

    struct F64(f64);

    impl serde::Serialize for F64 {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            serialize_f64(self.0, s)
        }
    }

    impl<'de> serde::Deserialize<'de> for F64 {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_any(F64Visitor).map(F64)
        }
    }
}

/// Trace and span ids: lowercase hex out, case-insensitive hex in.
pub(crate) mod hex_id {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut out = String::with_capacity(v.len() * 2);
        for b in v {
            out.push(char::from(DIGITS[usize::from(b >> 4)]));
            out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
        }
        s.serialize_str(&out)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text: Option<std::borrow::Cow<'de, str>> = serde::Deserialize::deserialize(d)?;
        let text = text.unwrap_or_default();
        decode(text.as_bytes()).ok_or_else(|| de::Error::custom(format!("invalid hex id {text:?}")))
    }

    pub(crate) fn decode(text: &[u8]) -> Option<Vec<u8>> {
        if !text.len().is_multiple_of(2) {
            return None;
        }
        let nibble = |c: u8| match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            b'A'..=b'F' => Some(c - b'A' + 10),
            _ => None,
        };
        text.chunks_exact(2)
            .map(|pair| Some(nibble(pair[0])? << 4 | nibble(pair[1])?))
            .collect()
    }
}

/// Other `bytes` fields: standard base64 with padding out; standard or URL-safe, padded or
/// not, in (as the proto3 JSON mapping requires).
pub(crate) mod base64 {
    use super::*;

    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

    pub(crate) fn serialize<T: AsRef<[u8]>, S: Serializer>(v: &T, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&encode(v.as_ref()))
    }

    pub(crate) fn deserialize<'de, T: From<Vec<u8>>, D: Deserializer<'de>>(
        d: D,
    ) -> Result<T, D::Error> {
        let text: Option<std::borrow::Cow<'de, str>> = serde::Deserialize::deserialize(d)?;
        let text = text.unwrap_or_default();
        decode(text.as_bytes())
            .map(T::from)
            .ok_or_else(|| de::Error::custom("invalid base64 in bytes field"))
    }

    pub(crate) fn encode(data: &[u8]) -> String {
        let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
        for chunk in data.chunks(3) {
            let b = [
                chunk[0],
                *chunk.get(1).unwrap_or(&0),
                *chunk.get(2).unwrap_or(&0),
            ];
            let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
            for i in 0..4 {
                if i <= chunk.len() {
                    out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 0x3f) as usize]));
                } else {
                    out.push('=');
                }
            }
        }
        out
    }

    pub(crate) fn decode(text: &[u8]) -> Option<Vec<u8>> {
        let value = |c: u8| match c {
            b'A'..=b'Z' => Some(c - b'A'),
            b'a'..=b'z' => Some(c - b'a' + 26),
            b'0'..=b'9' => Some(c - b'0' + 52),
            b'+' | b'-' => Some(62),
            b'/' | b'_' => Some(63),
            _ => None,
        };
        let body = text
            .strip_suffix(b"==")
            .or_else(|| text.strip_suffix(b"="))
            .unwrap_or(text);
        if body.len() % 4 == 1 || (body.len() != text.len() && !text.len().is_multiple_of(4)) {
            return None;
        }
        let mut out = Vec::with_capacity(body.len() / 4 * 3 + 2);
        for chunk in body.chunks(4) {
            let mut n = 0u32;
            for (i, c) in chunk.iter().enumerate() {
                n |= u32::from(value(*c)?) << (18 - 6 * i);
            }
            let bytes = n.to_be_bytes();
            out.extend_from_slice(&bytes[1..chunk.len()]);
        }
        Some(out)
    }
}

/// `AnyValue` by hand: `{"stringValue": "x"}`, `{"intValue": "3"}`, ... with exactly the
/// rules of the derived types, but streaming (no buffering) and with errors for bad values.
mod any_value_impl {
    use super::*;
    use crate::otlp::common::v1::{AnyValue, ArrayValue, KeyValueList, any_value::Value};
    use serde::de::{IgnoredAny, MapAccess};
    use serde::ser::SerializeMap;
    use serde::{Deserialize, Serialize};

    impl Serialize for AnyValue {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            let mut map = s.serialize_map(Some(usize::from(self.value.is_some())))?;
            match &self.value {
                None => {}
                Some(Value::StringValue(v)) => map.serialize_entry("stringValue", v)?,
                Some(Value::BoolValue(v)) => map.serialize_entry("boolValue", v)?,
                Some(Value::IntValue(v)) => map.serialize_entry("intValue", &v.to_string())?,
                Some(Value::DoubleValue(v)) => map.serialize_entry("doubleValue", &Double(*v))?,
                Some(Value::ArrayValue(v)) => map.serialize_entry("arrayValue", v)?,
                Some(Value::KvlistValue(v)) => map.serialize_entry("kvlistValue", v)?,
                Some(Value::BytesValue(v)) => map.serialize_entry("bytesValue", &Base64Out(v))?,
            }
            map.end()
        }
    }

    impl<'de> Deserialize<'de> for AnyValue {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_map(AnyValueVisitor)
        }
    }

    struct AnyValueVisitor;

    impl<'de> Visitor<'de> for AnyValueVisitor {
        type Value = AnyValue;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an OTLP AnyValue object")
        }

        fn visit_unit<E: de::Error>(self) -> Result<AnyValue, E> {
            Ok(AnyValue::default())
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<AnyValue, A::Error> {
            let mut value = None;
            // Like protobuf, the last member of the oneof present wins; null means unset.
            while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                let next = match key.as_ref() {
                    "stringValue" => map.next_value::<Option<String>>()?.map(Value::StringValue),
                    "boolValue" => map.next_value::<Option<bool>>()?.map(Value::BoolValue),
                    "intValue" => map
                        .next_value::<Option<Int>>()?
                        .map(|v| Value::IntValue(v.0)),
                    "doubleValue" => map
                        .next_value::<Option<Double>>()?
                        .map(|v| Value::DoubleValue(v.0)),
                    "arrayValue" => map
                        .next_value::<Option<ArrayValue>>()?
                        .map(Value::ArrayValue),
                    "kvlistValue" => map
                        .next_value::<Option<KeyValueList>>()?
                        .map(Value::KvlistValue),
                    "bytesValue" => map
                        .next_value::<Option<Base64>>()?
                        .map(|v| Value::BytesValue(v.0.into())),
                    _ => {
                        map.next_value::<IgnoredAny>()?;
                        continue;
                    }
                };
                if next.is_some() {
                    value = next;
                }
            }
            Ok(AnyValue { value })
        }
    }

    struct Int(i64);

    impl<'de> Deserialize<'de> for Int {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            i64_str::deserialize(d).map(Int)
        }
    }

    struct Double(f64);

    impl Serialize for Double {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            serialize_f64(self.0, s)
        }
    }

    impl<'de> Deserialize<'de> for Double {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_any(F64Visitor).map(Double)
        }
    }

    struct Base64Out<'a>(&'a [u8]);

    impl Serialize for Base64Out<'_> {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            base64::serialize(&self.0, s)
        }
    }

    struct Base64(Vec<u8>);

    impl<'de> Deserialize<'de> for Base64 {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            base64::deserialize(d).map(Base64)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648_test_vectors() {
        let vectors: [(&str, &str); 7] = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (plain, encoded) in vectors {
            assert_eq!(base64::encode(plain.as_bytes()), encoded);
            assert_eq!(
                base64::decode(encoded.as_bytes()).unwrap(),
                plain.as_bytes()
            );
            let unpadded = encoded.trim_end_matches('=');
            assert_eq!(
                base64::decode(unpadded.as_bytes()).unwrap(),
                plain.as_bytes()
            );
        }
        // URL-safe alphabet.
        assert_eq!(base64::decode(b"-_8=").unwrap(), [0xfb, 0xff]);
        assert_eq!(base64::decode(b"+/8=").unwrap(), [0xfb, 0xff]);
        assert!(base64::decode(b"Zg=").is_none());
        assert!(base64::decode(b"Z").is_none());
        assert!(base64::decode(b"Zm9v!").is_none());
    }

    #[test]
    fn hex_is_case_insensitive() {
        assert_eq!(hex_id::decode(b"00fF").unwrap(), [0x00, 0xff]);
        assert!(hex_id::decode(b"abc").is_none());
        assert!(hex_id::decode(b"zz").is_none());
    }
}
