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
        let text = format_prom_timestamp(self.0);
        let raw = RawValue::from_string(text).map_err(serde::ser::Error::custom)?;
        raw.serialize(serializer)
    }
}

/// `[ts, "value"]`.
struct Pair(i64, f64);

impl Serialize for Pair {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(2))?;
        seq.serialize_element(&Timestamp(self.0))?;
        seq.serialize_element(&fmt_float_f(self.1))?;
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
}
