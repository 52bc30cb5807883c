//! Decoding of Prometheus remote-write requests (protocol 1.0 `prometheus.WriteRequest` and
//! 2.0 `io.prometheus.write.v2.Request`) into store batches, with the validation and the
//! status codes senders rely on: 400 is never retried, so it is kept for bodies that can never
//! succeed; 415 tells a 2.0 sender to fall back to 1.0.

use lgtm_common::labels::{Label, Labels, METRIC_NAME};
use lgtm_proto::Message;
use lgtm_proto::prometheus as v1;
use lgtm_proto::prometheus::write::v2;

use crate::db::SeriesSamples;

mod fast_v1;

/// Which protobuf message a request carries, chosen by its `Content-Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteProtocol {
    /// `prometheus.WriteRequest` (remote write 1.0).
    V1,
    /// `io.prometheus.write.v2.Request` (remote write 2.0).
    V2,
}

/// A request that can never succeed as sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WriteError {
    /// Unsupported `Content-Type` or `Content-Encoding` (415).
    #[error("{0}")]
    Unsupported(String),
    /// Malformed body or invalid series (400).
    #[error("{0}")]
    Invalid(String),
}

impl WriteProtocol {
    /// Picks the protocol from `Content-Type` as the 2.0 spec requires; a missing header or a
    /// plain `application/x-protobuf` means 1.0, as 1.0 senders send it.
    pub fn from_content_type(content_type: Option<&str>) -> Result<Self, WriteError> {
        let Some(ct) = content_type else {
            return Ok(WriteProtocol::V1);
        };
        let mut parts = ct.split(';').map(str::trim);
        let media = parts.next().unwrap_or("").to_ascii_lowercase();
        if media != "application/x-protobuf" {
            return Err(WriteError::Unsupported(format!(
                "unsupported content type {ct:?}, expected application/x-protobuf"
            )));
        }
        for param in parts {
            if let Some(proto) = param.strip_prefix("proto=") {
                return match proto.trim_matches('"') {
                    "prometheus.WriteRequest" => Ok(WriteProtocol::V1),
                    "io.prometheus.write.v2.Request" => Ok(WriteProtocol::V2),
                    other => Err(WriteError::Unsupported(format!(
                        "unknown remote write protobuf message {other}, supported: prometheus.WriteRequest, io.prometheus.write.v2.Request"
                    ))),
                };
            }
        }
        Ok(WriteProtocol::V1)
    }
}

/// An exemplar carried by a request.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodedExemplar {
    /// Series the exemplar belongs to.
    pub series: Labels,
    /// Exemplar labels (e.g. `trace_id`).
    pub labels: Labels,
    /// Exemplar value.
    pub value: f64,
    /// Timestamp in ms.
    pub timestamp: i64,
}

/// Metric metadata carried by a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodedMetadata {
    /// Metric family name.
    pub metric: String,
    /// Prometheus' type name (`counter`, `gauge`, ...).
    pub metric_type: &'static str,
    /// Help text.
    pub help: String,
    /// Unit.
    pub unit: String,
}

/// A decoded request.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DecodedWrite {
    /// Float samples per series.
    pub series: Vec<SeriesSamples>,
    /// Exemplars.
    pub exemplars: Vec<DecodedExemplar>,
    /// Native histogram samples seen (not stored yet).
    pub histograms: usize,
    /// Metadata entries.
    pub metadata: Vec<DecodedMetadata>,
}

fn metric_type_name(t: i32) -> &'static str {
    match t {
        1 => "counter",
        2 => "gauge",
        3 => "histogram",
        4 => "gaugehistogram",
        5 => "summary",
        6 => "info",
        7 => "stateset",
        _ => "unknown",
    }
}

/// Validates a series' labels the way Prometheus' receivers do.
fn validate_labels(labels: Vec<Label>) -> Result<Labels, WriteError> {
    // Senders send labels sorted and unique (the spec requires it): accept those in one pass
    // without sorting or allocating again.
    let canonical = labels.windows(2).all(|w| w[0].name < w[1].name)
        && labels
            .iter()
            .all(|l| !l.name.is_empty() && !l.value.is_empty());
    if canonical {
        let set = Labels::from_sorted_unchecked(labels);
        if set.metric_name().is_none() {
            return Err(WriteError::Invalid(format!(
                "invalid metric name for series {set}: empty metric name"
            )));
        }
        return Ok(set);
    }
    let mut names: Vec<&str> = labels.iter().map(|l| l.name.as_str()).collect();
    names.sort_unstable();
    if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
        return Err(WriteError::Invalid(format!(
            "invalid labels for series: duplicate label name {:?}",
            w[0]
        )));
    }
    if labels.iter().any(|l| l.name.is_empty()) {
        return Err(WriteError::Invalid(
            "invalid labels for series: empty label name".into(),
        ));
    }
    let set = Labels::from_labels(labels);
    if set.metric_name().is_none_or(str::is_empty) {
        return Err(WriteError::Invalid(format!(
            "invalid metric name for series {set}: empty metric name"
        )));
    }
    Ok(set)
}

/// Decodes a (decompressed) 1.0 body.
pub fn decode_v1(body: &[u8]) -> Result<DecodedWrite, WriteError> {
    // Bodies of labels and samples only (what Prometheus sends between metadata rounds) go
    // through the direct decoder; everything else through the generated one.
    if let Some(raw) = fast_v1::decode(body) {
        let mut out = DecodedWrite::default();
        out.series.reserve(raw.len());
        for (labels, samples) in raw {
            let labels = validate_labels(labels)?;
            if !samples.is_empty() {
                out.series.push(SeriesSamples { labels, samples });
            }
        }
        return Ok(out);
    }
    decode_v1_generated(body)
}

/// Decodes a 1.0 body with the generated protobuf code (any shape).
fn decode_v1_generated(body: &[u8]) -> Result<DecodedWrite, WriteError> {
    let request = v1::WriteRequest::decode(body)
        .map_err(|e| WriteError::Invalid(format!("failed to decode write request: {e}")))?;
    let mut out = DecodedWrite::default();
    for ts in request.timeseries {
        let labels = validate_labels(
            ts.labels
                .into_iter()
                .map(|l| Label {
                    name: l.name,
                    value: l.value,
                })
                .collect(),
        )?;
        out.histograms += ts.histograms.len();
        for ex in ts.exemplars {
            out.exemplars.push(DecodedExemplar {
                series: labels.clone(),
                labels: Labels::from_pairs(ex.labels.into_iter().map(|l| (l.name, l.value))),
                value: ex.value,
                timestamp: ex.timestamp,
            });
        }
        if !ts.samples.is_empty() {
            out.series.push(SeriesSamples {
                labels,
                samples: ts.samples.iter().map(|s| (s.timestamp, s.value)).collect(),
            });
        }
    }
    for m in request.metadata {
        out.metadata.push(DecodedMetadata {
            metric: m.metric_family_name,
            metric_type: metric_type_name(m.r#type),
            help: m.help,
            unit: m.unit,
        });
    }
    Ok(out)
}

/// Decodes a (decompressed) 2.0 body, resolving symbol references.
pub fn decode_v2(body: &[u8]) -> Result<DecodedWrite, WriteError> {
    let request = v2::Request::decode(body)
        .map_err(|e| WriteError::Invalid(format!("failed to decode write request: {e}")))?;
    let symbols = &request.symbols;
    if symbols.first().is_some_and(|s| !s.is_empty()) {
        return Err(WriteError::Invalid(
            "symbols table must start with an empty string".into(),
        ));
    }
    let symbol = |r: u32| -> Result<&str, WriteError> {
        symbols.get(r as usize).map(String::as_str).ok_or_else(|| {
            WriteError::Invalid(format!(
                "symbol reference {r} out of range (symbols table has {} entries)",
                symbols.len()
            ))
        })
    };
    let pairs = |refs: &[u32]| -> Result<Vec<Label>, WriteError> {
        if !refs.len().is_multiple_of(2) {
            return Err(WriteError::Invalid(format!(
                "odd number of label references: {}",
                refs.len()
            )));
        }
        refs.chunks(2)
            .map(|p| Ok(Label::new(symbol(p[0])?, symbol(p[1])?)))
            .collect()
    };
    let mut out = DecodedWrite::default();
    for ts in request.timeseries {
        let labels = validate_labels(pairs(&ts.labels_refs)?)?;
        out.histograms += ts.histograms.len();
        for ex in &ts.exemplars {
            out.exemplars.push(DecodedExemplar {
                series: labels.clone(),
                labels: Labels::from_labels(pairs(&ex.labels_refs)?),
                value: ex.value,
                timestamp: ex.timestamp,
            });
        }
        if let Some(meta) = &ts.metadata {
            let metric = labels.get(METRIC_NAME).unwrap_or("").to_owned();
            out.metadata.push(DecodedMetadata {
                metric,
                metric_type: metric_type_name(meta.r#type),
                help: symbol(meta.help_ref)?.to_owned(),
                unit: symbol(meta.unit_ref)?.to_owned(),
            });
        }
        if !ts.samples.is_empty() {
            out.series.push(SeriesSamples {
                labels,
                samples: ts.samples.iter().map(|s| (s.timestamp, s.value)).collect(),
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn label(name: &str, value: &str) -> v1::Label {
        v1::Label {
            name: name.into(),
            value: value.into(),
        }
    }

    #[test]
    fn protocol_from_content_type() {
        assert_eq!(
            WriteProtocol::from_content_type(None),
            Ok(WriteProtocol::V1)
        );
        assert_eq!(
            WriteProtocol::from_content_type(Some("application/x-protobuf")),
            Ok(WriteProtocol::V1)
        );
        assert_eq!(
            WriteProtocol::from_content_type(Some(
                "application/x-protobuf;proto=io.prometheus.write.v2.Request"
            )),
            Ok(WriteProtocol::V2)
        );
        assert!(matches!(
            WriteProtocol::from_content_type(Some("application/json")),
            Err(WriteError::Unsupported(_))
        ));
        assert!(matches!(
            WriteProtocol::from_content_type(Some("application/x-protobuf;proto=foo.Bar")),
            Err(WriteError::Unsupported(_))
        ));
    }

    #[test]
    fn v1_round_trip_with_unsorted_labels_exemplars_and_metadata() {
        let request = v1::WriteRequest {
            timeseries: vec![v1::TimeSeries {
                labels: vec![label("job", "a"), label("__name__", "up")],
                samples: vec![v1::Sample {
                    value: 1.0,
                    timestamp: 1000,
                }],
                exemplars: vec![v1::Exemplar {
                    labels: vec![label("trace_id", "abc")],
                    value: 1.0,
                    timestamp: 1000,
                }],
                histograms: vec![],
            }],
            metadata: vec![v1::MetricMetadata {
                r#type: 1,
                metric_family_name: "up".into(),
                help: "h".into(),
                unit: String::new(),
            }],
        };
        let decoded = decode_v1(&request.encode_to_vec()).unwrap();
        assert_eq!(decoded.series.len(), 1);
        assert_eq!(
            decoded.series[0].labels.to_string(),
            r#"{__name__="up", job="a"}"#
        );
        assert_eq!(decoded.series[0].samples, vec![(1000, 1.0)]);
        assert_eq!(decoded.exemplars[0].labels.get("trace_id"), Some("abc"));
        assert_eq!(decoded.metadata[0].metric_type, "counter");
    }

    #[test]
    fn v1_rejects_bad_series() {
        for labels in [
            vec![
                label("__name__", "up"),
                label("job", "a"),
                label("job", "b"),
            ],
            vec![label("job", "a")],
            vec![label("__name__", "up"), label("", "x")],
        ] {
            let request = v1::WriteRequest {
                timeseries: vec![v1::TimeSeries {
                    labels,
                    samples: vec![v1::Sample {
                        value: 1.0,
                        timestamp: 1,
                    }],
                    ..Default::default()
                }],
                ..Default::default()
            };
            assert!(matches!(
                decode_v1(&request.encode_to_vec()),
                Err(WriteError::Invalid(_))
            ));
        }
        assert!(matches!(
            decode_v1(b"\xff\xff\xff"),
            Err(WriteError::Invalid(_))
        ));
    }

    #[test]
    fn v2_resolves_symbols_and_checks_references() {
        let request = v2::Request {
            symbols: vec![
                "".into(),
                "__name__".into(),
                "up".into(),
                "job".into(),
                "a".into(),
                "help text".into(),
            ],
            timeseries: vec![v2::TimeSeries {
                labels_refs: vec![1, 2, 3, 4],
                samples: vec![v2::Sample {
                    value: 2.0,
                    timestamp: 5,
                    ..Default::default()
                }],
                metadata: Some(v2::Metadata {
                    r#type: 2,
                    help_ref: 5,
                    unit_ref: 0,
                }),
                ..Default::default()
            }],
        };
        let decoded = decode_v2(&request.encode_to_vec()).unwrap();
        assert_eq!(
            decoded.series[0].labels.to_string(),
            r#"{__name__="up", job="a"}"#
        );
        assert_eq!(decoded.series[0].samples, vec![(5, 2.0)]);
        assert_eq!(decoded.metadata[0].help, "help text");
        assert_eq!(decoded.metadata[0].metric_type, "gauge");

        let mut bad = request.clone();
        bad.timeseries[0].labels_refs = vec![1, 99];
        assert!(
            matches!(decode_v2(&bad.encode_to_vec()), Err(WriteError::Invalid(m)) if m.contains("out of range"))
        );
        let mut odd = request;
        odd.timeseries[0].labels_refs = vec![1, 2, 3];
        assert!(matches!(
            decode_v2(&odd.encode_to_vec()),
            Err(WriteError::Invalid(_))
        ));
    }

    fn arb_request() -> impl proptest::strategy::Strategy<Value = v1::WriteRequest> {
        use proptest::prelude::*;
        let name = prop_oneof![
            Just("__name__".to_owned()),
            Just("job".to_owned()),
            Just(String::new()),
            "[a-z_]{1,6}",
        ];
        let value = prop_oneof![Just(String::new()), "[a-z0-9:.]{1,8}", "\\PC{0,4}"];
        let labels = proptest::collection::vec((name, value), 0..5);
        let samples = proptest::collection::vec((any::<i64>(), any::<u64>()), 0..4);
        let exemplars = proptest::collection::vec((any::<i64>(), any::<f64>()), 0..2);
        let series = proptest::collection::vec((labels, samples, exemplars), 0..6);
        (series, any::<bool>()).prop_map(|(series, metadata)| v1::WriteRequest {
            timeseries: series
                .into_iter()
                .map(|(labels, samples, exemplars)| v1::TimeSeries {
                    labels: labels.iter().map(|(n, v)| label(n, v)).collect(),
                    samples: samples
                        .into_iter()
                        .map(|(t, bits)| v1::Sample {
                            value: f64::from_bits(bits),
                            timestamp: t,
                        })
                        .collect(),
                    exemplars: exemplars
                        .into_iter()
                        .map(|(t, v)| v1::Exemplar {
                            labels: vec![label("trace_id", "abc")],
                            value: v,
                            timestamp: t,
                        })
                        .collect(),
                    ..Default::default()
                })
                .collect(),
            metadata: if metadata {
                vec![v1::MetricMetadata {
                    metric_family_name: "m".into(),
                    help: "h".into(),
                    ..Default::default()
                }]
            } else {
                Vec::new()
            },
        })
    }

    /// Compares decoded writes, NaN sample values by their bits.
    fn same(a: &Result<DecodedWrite, WriteError>, b: &Result<DecodedWrite, WriteError>) -> bool {
        match (a, b) {
            (Ok(a), Ok(b)) => {
                a.series.len() == b.series.len()
                    && a.series.iter().zip(&b.series).all(|(x, y)| {
                        x.labels == y.labels
                            && x.samples.len() == y.samples.len()
                            && x.samples
                                .iter()
                                .zip(&y.samples)
                                .all(|(p, q)| p.0 == q.0 && p.1.to_bits() == q.1.to_bits())
                    })
                    && a.exemplars.len() == b.exemplars.len()
                    && a.metadata == b.metadata
                    && a.histograms == b.histograms
            }
            (Err(a), Err(b)) => a == b,
            _ => false,
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(300))]
        #[test]
        fn direct_v1_decoder_agrees_with_the_generated_one(
            request in arb_request(),
            cut in proptest::prelude::any::<proptest::sample::Index>(),
            flip in proptest::prelude::any::<(proptest::sample::Index, u8)>(),
        ) {
            let body = request.encode_to_vec();
            proptest::prop_assert!(same(&decode_v1(&body), &decode_v1_generated(&body)));
            // Damaged bodies: truncated, or one byte changed.
            let truncated = &body[..cut.index(body.len() + 1)];
            proptest::prop_assert!(same(&decode_v1(truncated), &decode_v1_generated(truncated)));
            if !body.is_empty() {
                let mut changed = body.clone();
                changed[flip.0.index(body.len())] ^= flip.1 | 1;
                proptest::prop_assert!(same(&decode_v1(&changed), &decode_v1_generated(&changed)));
            }
        }
    }

    #[test]
    fn plain_bodies_take_the_direct_decoder() {
        let request = v1::WriteRequest {
            timeseries: vec![v1::TimeSeries {
                labels: vec![label("__name__", "up"), label("job", "node")],
                samples: vec![v1::Sample {
                    value: 1.5,
                    timestamp: -7,
                }],
                ..Default::default()
            }],
            ..Default::default()
        };
        let raw = fast_v1::decode(&request.encode_to_vec()).unwrap();
        assert_eq!(raw[0].1, vec![(-7, 1.5)]);
        assert_eq!(raw[0].0[1].value, "node");
        let with_metadata = v1::WriteRequest {
            metadata: vec![v1::MetricMetadata::default()],
            ..request
        };
        assert!(fast_v1::decode(&with_metadata.encode_to_vec()).is_none());
    }
}
