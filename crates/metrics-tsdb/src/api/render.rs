//! Prometheus' JSON encoding of query results: `resultType`/`result`, sample pairs as
//! `[<unix seconds>, "<value>"]` with timestamps written exactly as Prometheus writes them
//! (`1435781451.780`), values as Go's `FormatFloat(v, 'f', -1, 64)` strings (`"NaN"`,
//! `"+Inf"`), and native histograms as objects with string counts and bucket quadruples.

use lgtm_common::labels::Labels;
use lgtm_common::time::format_prom_timestamp;
use lgtm_promql::histogram::FloatHistogram;
use lgtm_promql::value::{Value, fmt_float_f};
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};
use serde_json::value::RawValue;

/// A timestamp in ms, written as a bare JSON number in Prometheus' format.
#[derive(Debug, Clone, Copy)]
pub struct Timestamp(pub i64);

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let ms = self.0;
        // Fast paths for large results (a raw fragment costs an allocation and a parse):
        // whole seconds are integers, and three significant decimals print exactly as the
        // shortest round-trip float while the value is far from f64's precision limit.
        if ms % 1000 == 0 {
            return serializer.serialize_i64(ms / 1000);
        }
        if ms % 10 != 0 && ms.unsigned_abs() < 1 << 50 {
            return serializer.serialize_f64(ms as f64 / 1000.0);
        }
        let text = format_prom_timestamp(ms);
        let raw = RawValue::from_string(text).map_err(serde::ser::Error::custom)?;
        raw.serialize(serializer)
    }
}

/// A sample value as Go's `FormatFloat(v, 'f', -1, 64)` string, written without an
/// intermediate `String`.
struct ValueText(f64);

impl std::fmt::Display for ValueText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let v = self.0;
        if v.is_nan() {
            f.write_str("NaN")
        } else if v.is_infinite() {
            f.write_str(if v > 0.0 { "+Inf" } else { "-Inf" })
        } else {
            write!(f, "{v}")
        }
    }
}

impl Serialize for ValueText {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// `[ts, "value"]`.
struct Pair(i64, f64);

impl Serialize for Pair {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(2))?;
        seq.serialize_element(&Timestamp(self.0))?;
        seq.serialize_element(&ValueText(self.1))?;
        seq.end()
    }
}

/// `[ts, {histogram}]`.
struct HistogramPair<'a>(i64, &'a FloatHistogram);

impl Serialize for HistogramPair<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(2))?;
        seq.serialize_element(&Timestamp(self.0))?;
        seq.serialize_element(&HistogramJson(self.1))?;
        seq.end()
    }
}

/// `{"count":"..","sum":"..","buckets":[[boundaries, "lower", "upper", "count"], ...]}`.
struct HistogramJson<'a>(&'a FloatHistogram);

impl Serialize for HistogramJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let h = self.0;
        // Boundary rules: 0 open left, 1 open right, 3 closed both (the zero bucket).
        let custom = h.uses_custom_buckets();
        let buckets: Vec<(u8, f64, f64, f64)> = h
            .buckets()
            .into_iter()
            .filter(|b| b.count != 0.0)
            .map(|b| {
                let rule = if custom {
                    0
                } else if b.lower == -h.zero_threshold && b.upper == h.zero_threshold {
                    3
                } else if b.upper <= 0.0 {
                    1
                } else {
                    0
                };
                (rule, b.lower, b.upper, b.count)
            })
            .collect();
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("count", &fmt_float_f(h.count))?;
        map.serialize_entry("sum", &fmt_float_f(h.sum))?;
        if !buckets.is_empty() {
            let rendered: Vec<(u8, String, String, String)> = buckets
                .into_iter()
                .map(|(b, lo, hi, c)| (b, fmt_float_f(lo), fmt_float_f(hi), fmt_float_f(c)))
                .collect();
            map.serialize_entry("buckets", &rendered)?;
        }
        map.end()
    }
}

/// A query result in the API's `data` shape.
#[derive(Debug)]
pub struct QueryData<'a>(pub &'a Value);

struct VectorElement<'a> {
    labels: &'a Labels,
    t: i64,
    f: f64,
    h: Option<&'a FloatHistogram>,
}

impl Serialize for VectorElement<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(2))?;
        map.serialize_entry("metric", self.labels)?;
        match self.h {
            Some(h) => map.serialize_entry("histogram", &HistogramPair(self.t, h))?,
            None => map.serialize_entry("value", &Pair(self.t, self.f))?,
        }
        map.end()
    }
}

struct MatrixElement<'a>(&'a lgtm_promql::value::Series);

impl Serialize for MatrixElement<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let s = self.0;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("metric", &s.labels)?;
        if !s.floats.is_empty() {
            let values: Vec<Pair> = s.floats.iter().map(|p| Pair(p.t, p.f)).collect();
            map.serialize_entry("values", &values)?;
        }
        if !s.histograms.is_empty() {
            let values: Vec<HistogramPair<'_>> = s
                .histograms
                .iter()
                .map(|p| HistogramPair(p.t, &p.h))
                .collect();
            map.serialize_entry("histograms", &values)?;
        }
        map.end()
    }
}

impl Serialize for QueryData<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(2))?;
        map.serialize_entry("resultType", self.0.value_type().api_name())?;
        match self.0 {
            Value::Scalar { t, v } => map.serialize_entry("result", &Pair(*t, *v))?,
            Value::String { t, v } => {
                map.serialize_entry("result", &(Timestamp(*t), v.as_str()))?;
            }
            Value::Vector(samples) => {
                let elements: Vec<VectorElement<'_>> = samples
                    .iter()
                    .map(|s| VectorElement {
                        labels: &s.labels,
                        t: s.t,
                        f: s.f,
                        h: s.h.as_deref(),
                    })
                    .collect();
                map.serialize_entry("result", &elements)?;
            }
            Value::Matrix(series) => {
                let elements: Vec<MatrixElement<'_>> = series.iter().map(MatrixElement).collect();
                map.serialize_entry("result", &elements)?;
            }
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lgtm_promql::value::{FPoint, Sample, Series};

    fn json(v: &Value) -> String {
        String::from_utf8(lgtm_common::api::to_go_json(&QueryData(v)).unwrap()).unwrap()
    }

    #[test]
    fn vector_scalar_and_matrix_shapes() {
        let labels = Labels::from_pairs([("__name__", "up"), ("job", "<a&b>")]);
        let v = Value::Vector(vec![Sample::float(labels.clone(), 1_435_781_451_780, 1.0)]);
        assert_eq!(
            json(&v),
            r#"{"resultType":"vector","result":[{"metric":{"__name__":"up","job":"\u003ca\u0026b\u003e"},"value":[1435781451.780,"1"]}]}"#
        );
        let s = Value::Scalar {
            t: 2000,
            v: f64::NAN,
        };
        assert_eq!(json(&s), r#"{"resultType":"scalar","result":[2,"NaN"]}"#);
        let mut series = Series::new(labels);
        series.floats = vec![
            FPoint {
                t: 1000,
                f: f64::INFINITY,
            },
            FPoint { t: 1001, f: -0.5 },
        ];
        let m = Value::Matrix(vec![series]);
        assert_eq!(
            json(&m),
            r#"{"resultType":"matrix","result":[{"metric":{"__name__":"up","job":"\u003ca\u0026b\u003e"},"values":[[1,"+Inf"],[1.001,"-0.5"]]}]}"#
        );
        let st = Value::String {
            t: 5,
            v: "x".into(),
        };
        assert_eq!(json(&st), r#"{"resultType":"string","result":[0.005,"x"]}"#);
    }

    #[test]
    fn fast_timestamp_and_value_paths_match_the_exact_formatters() {
        // Every millisecond around today's timestamps and zero, and random ones of every
        // magnitude up to 2^62.
        let mut cases: Vec<i64> = (0..20_000).map(|i| 1_764_000_000_000 + i).collect();
        cases.extend(-3_000..3_000);
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for bits in 1..63 {
            for _ in 0..200 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let v = (x >> (64 - bits)) as i64;
                cases.extend([v, -v]);
            }
        }
        for ms in cases {
            let text =
                String::from_utf8(lgtm_common::api::to_go_json(&Timestamp(ms)).unwrap()).unwrap();
            assert_eq!(text, format_prom_timestamp(ms), "{ms}");
        }
        for v in [
            0.0,
            -0.0,
            1.0,
            -0.5,
            0.1,
            1e-7,
            123456789.125,
            1e21,
            5e-324,
            f64::MAX,
            f64::NAN,
            f64::INFINITY,
            -f64::INFINITY,
        ] {
            let text =
                String::from_utf8(lgtm_common::api::to_go_json(&ValueText(v)).unwrap()).unwrap();
            assert_eq!(text, format!("\"{}\"", fmt_float_f(v)), "{v}");
        }
    }
}
