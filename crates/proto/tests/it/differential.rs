//! Property tests: for arbitrary messages, prost's bytes equal those of an encoder written
//! directly from the wire spec (`wire` module) with the proto3 rules Go's runtimes apply
//! (fields in number order, defaults omitted, repeated scalars packed, set oneofs always
//! written), and decoding those bytes gives the message back.
//!
//! Floating-point zero is "default" when `v == 0.0`, so `-0.0` is omitted as gogoproto (used
//! by Prometheus and Loki) does; the sign of a zero sample is not preserved on the wire.

use crate::wire::*;
use lgtm_proto::Message;
use lgtm_proto::logproto::{EntryAdapter, LabelPairAdapter, PushRequest, StreamAdapter};
use lgtm_proto::prometheus::write::v2;
use lgtm_proto::prometheus::{
    BucketSpan, Exemplar, Histogram, Label, MetricMetadata, Sample, TimeSeries, WriteRequest,
    histogram,
};
use lgtm_proto::prost_types::Timestamp;
use proptest::collection::vec;
use proptest::prelude::*;

// proto3 implicit presence: skip default values.

fn opt_string(field: u32, v: &str) -> Vec<u8> {
    if v.is_empty() {
        vec![]
    } else {
        string(field, v)
    }
}

fn opt_uint(field: u32, v: u64) -> Vec<u8> {
    if v == 0 { vec![] } else { uint(field, v) }
}

fn opt_int(field: u32, v: i64) -> Vec<u8> {
    if v == 0 { vec![] } else { int(field, v) }
}

fn opt_sint(field: u32, v: i64) -> Vec<u8> {
    if v == 0 { vec![] } else { sint(field, v) }
}

fn opt_double(field: u32, v: f64) -> Vec<u8> {
    if v == 0.0 { vec![] } else { double(field, v) }
}

fn opt_packed_sint(field: u32, vs: &[i64]) -> Vec<u8> {
    if vs.is_empty() {
        vec![]
    } else {
        packed_sint(field, vs)
    }
}

fn opt_packed_double(field: u32, vs: &[f64]) -> Vec<u8> {
    if vs.is_empty() {
        vec![]
    } else {
        packed_double(field, vs)
    }
}

// Remote write 1.0, by hand.

fn hand_label(field: u32, l: &Label) -> Vec<u8> {
    message(field, &[opt_string(1, &l.name), opt_string(2, &l.value)])
}

fn hand_span(field: u32, s: &BucketSpan) -> Vec<u8> {
    message(
        field,
        &[
            opt_sint(1, i64::from(s.offset)),
            opt_uint(2, u64::from(s.length)),
        ],
    )
}

fn hand_histogram(h: &Histogram) -> Vec<u8> {
    let mut p = Vec::new();
    match h.count {
        Some(histogram::Count::CountInt(v)) => p.push(uint(1, v)),
        Some(histogram::Count::CountFloat(v)) => p.push(double(2, v)),
        None => {}
    }
    p.push(opt_double(3, h.sum));
    p.push(opt_sint(4, i64::from(h.schema)));
    p.push(opt_double(5, h.zero_threshold));
    match h.zero_count {
        Some(histogram::ZeroCount::ZeroCountInt(v)) => p.push(uint(6, v)),
        Some(histogram::ZeroCount::ZeroCountFloat(v)) => p.push(double(7, v)),
        None => {}
    }
    p.extend(h.negative_spans.iter().map(|s| hand_span(8, s)));
    p.push(opt_packed_sint(9, &h.negative_deltas));
    p.push(opt_packed_double(10, &h.negative_counts));
    p.extend(h.positive_spans.iter().map(|s| hand_span(11, s)));
    p.push(opt_packed_sint(12, &h.positive_deltas));
    p.push(opt_packed_double(13, &h.positive_counts));
    p.push(opt_uint(14, h.reset_hint as u64));
    p.push(opt_int(15, h.timestamp));
    p.push(opt_packed_double(16, &h.custom_values));
    message(4, &p)
}

fn hand_series(ts: &TimeSeries) -> Vec<u8> {
    let mut p = Vec::new();
    p.extend(ts.labels.iter().map(|l| hand_label(1, l)));
    p.extend(
        ts.samples
            .iter()
            .map(|s| message(2, &[opt_double(1, s.value), opt_int(2, s.timestamp)])),
    );
    p.extend(ts.exemplars.iter().map(|e| {
        let mut ep: Vec<Vec<u8>> = e.labels.iter().map(|l| hand_label(1, l)).collect();
        ep.push(opt_double(2, e.value));
        ep.push(opt_int(3, e.timestamp));
        message(3, &ep)
    }));
    p.extend(ts.histograms.iter().map(hand_histogram));
    message(1, &p)
}

fn hand_write_request(w: &WriteRequest) -> Vec<u8> {
    let mut p: Vec<Vec<u8>> = w.timeseries.iter().map(hand_series).collect();
    p.extend(w.metadata.iter().map(|m| {
        message(
            3,
            &[
                opt_uint(1, m.r#type as u64),
                opt_string(2, &m.metric_family_name),
                opt_string(4, &m.help),
                opt_string(5, &m.unit),
            ],
        )
    }));
    cat(&p)
}

// Loki push, by hand.

fn hand_push_request(r: &PushRequest) -> Vec<u8> {
    let mut p: Vec<Vec<u8>> = r
        .streams
        .iter()
        .map(|s| {
            let mut sp = vec![opt_string(1, &s.labels)];
            sp.extend(s.entries.iter().map(|e| {
                let mut ep = Vec::new();
                if let Some(ts) = &e.timestamp {
                    ep.push(message(
                        1,
                        &[opt_int(1, ts.seconds), opt_int(2, i64::from(ts.nanos))],
                    ));
                }
                if !e.line.is_empty() {
                    ep.push(bytes(2, &e.line));
                }
                ep.extend(
                    e.structured_metadata
                        .iter()
                        .map(|l| message(3, &[opt_string(1, &l.name), opt_string(2, &l.value)])),
                );
                message(2, &ep)
            }));
            sp.push(opt_uint(3, s.hash));
            message(1, &sp)
        })
        .collect();
    p.push(opt_string(2, &r.format));
    cat(&p)
}

// Remote write 2.0, by hand.

fn opt_packed_uint(field: u32, vs: &[u32]) -> Vec<u8> {
    let wide: Vec<u64> = vs.iter().map(|v| u64::from(*v)).collect();
    if wide.is_empty() {
        vec![]
    } else {
        packed_uint(field, &wide)
    }
}

fn hand_v2_histogram(h: &v2::Histogram) -> Vec<u8> {
    let mut p = Vec::new();
    match h.count {
        Some(v2::histogram::Count::CountInt(v)) => p.push(uint(1, v)),
        Some(v2::histogram::Count::CountFloat(v)) => p.push(double(2, v)),
        None => {}
    }
    p.push(opt_double(3, h.sum));
    p.push(opt_sint(4, i64::from(h.schema)));
    p.push(opt_double(5, h.zero_threshold));
    match h.zero_count {
        Some(v2::histogram::ZeroCount::ZeroCountInt(v)) => p.push(uint(6, v)),
        Some(v2::histogram::ZeroCount::ZeroCountFloat(v)) => p.push(double(7, v)),
        None => {}
    }
    let span = |field: u32, s: &v2::BucketSpan| {
        message(
            field,
            &[
                opt_sint(1, i64::from(s.offset)),
                opt_uint(2, u64::from(s.length)),
            ],
        )
    };
    p.extend(h.negative_spans.iter().map(|s| span(8, s)));
    p.push(opt_packed_sint(9, &h.negative_deltas));
    p.push(opt_packed_double(10, &h.negative_counts));
    p.extend(h.positive_spans.iter().map(|s| span(11, s)));
    p.push(opt_packed_sint(12, &h.positive_deltas));
    p.push(opt_packed_double(13, &h.positive_counts));
    p.push(opt_uint(14, h.reset_hint as u64));
    p.push(opt_int(15, h.timestamp));
    p.push(opt_packed_double(16, &h.custom_values));
    p.push(opt_int(17, h.start_timestamp));
    message(3, &p)
}

fn hand_v2_request(r: &v2::Request) -> Vec<u8> {
    // Unlike proto3 singular strings, every element of a repeated string is written, even "".
    let mut p: Vec<Vec<u8>> = r.symbols.iter().map(|s| string(4, s)).collect();
    p.extend(r.timeseries.iter().map(|ts| {
        let mut tp = vec![opt_packed_uint(1, &ts.labels_refs)];
        tp.extend(ts.samples.iter().map(|s| {
            message(
                2,
                &[
                    opt_double(1, s.value),
                    opt_int(2, s.timestamp),
                    opt_int(3, s.start_timestamp),
                ],
            )
        }));
        tp.extend(ts.histograms.iter().map(hand_v2_histogram));
        tp.extend(ts.exemplars.iter().map(|e| {
            message(
                4,
                &[
                    opt_packed_uint(1, &e.labels_refs),
                    opt_double(2, e.value),
                    opt_int(3, e.timestamp),
                ],
            )
        }));
        if let Some(m) = &ts.metadata {
            tp.push(message(
                5,
                &[
                    opt_uint(1, m.r#type as u64),
                    opt_uint(3, u64::from(m.help_ref)),
                    opt_uint(4, u64::from(m.unit_ref)),
                ],
            ));
        }
        tp.push(opt_int(6, ts.created_timestamp));
        message(5, &tp)
    }));
    cat(&p)
}

// Strategies.

fn arb_label() -> impl Strategy<Value = Label> {
    ("[a-z_]{0,6}", "\\PC{0,6}").prop_map(|(name, value)| Label { name, value })
}

fn arb_span() -> impl Strategy<Value = BucketSpan> {
    (any::<i32>(), any::<u32>()).prop_map(|(offset, length)| BucketSpan { offset, length })
}

fn arb_histogram() -> impl Strategy<Value = Histogram> {
    let count = prop_oneof![
        Just(None),
        any::<u64>().prop_map(|v| Some(histogram::Count::CountInt(v))),
        any::<f64>().prop_map(|v| Some(histogram::Count::CountFloat(v))),
    ];
    let zero_count = prop_oneof![
        Just(None),
        any::<u64>().prop_map(|v| Some(histogram::ZeroCount::ZeroCountInt(v))),
        any::<f64>().prop_map(|v| Some(histogram::ZeroCount::ZeroCountFloat(v))),
    ];
    (
        (count, any::<f64>(), -53i32..9, any::<f64>(), zero_count),
        (
            vec(arb_span(), 0..3),
            vec(any::<i64>(), 0..4),
            vec(any::<f64>(), 0..3),
        ),
        (
            vec(arb_span(), 0..3),
            vec(any::<i64>(), 0..4),
            vec(any::<f64>(), 0..3),
        ),
        (0i32..4, any::<i64>(), vec(any::<f64>(), 0..3)),
    )
        .prop_map(
            |(
                (count, sum, schema, zero_threshold, zero_count),
                (negative_spans, negative_deltas, negative_counts),
                (positive_spans, positive_deltas, positive_counts),
                (reset_hint, timestamp, custom_values),
            )| Histogram {
                count,
                sum,
                schema,
                zero_threshold,
                zero_count,
                negative_spans,
                negative_deltas,
                negative_counts,
                positive_spans,
                positive_deltas,
                positive_counts,
                reset_hint,
                timestamp,
                custom_values,
            },
        )
}

fn arb_series() -> impl Strategy<Value = TimeSeries> {
    let sample =
        (any::<f64>(), any::<i64>()).prop_map(|(value, timestamp)| Sample { value, timestamp });
    let exemplar = (vec(arb_label(), 0..2), any::<f64>(), any::<i64>()).prop_map(
        |(labels, value, timestamp)| Exemplar {
            labels,
            value,
            timestamp,
        },
    );
    (
        vec(arb_label(), 0..4),
        vec(sample, 0..3),
        vec(exemplar, 0..2),
        vec(arb_histogram(), 0..2),
    )
        .prop_map(|(labels, samples, exemplars, histograms)| TimeSeries {
            labels,
            samples,
            exemplars,
            histograms,
        })
}

fn arb_write_request() -> impl Strategy<Value = WriteRequest> {
    let metadata = (0i32..8, "[a-z_]{0,6}", "\\PC{0,8}", "[a-z]{0,4}").prop_map(
        |(r#type, metric_family_name, help, unit)| MetricMetadata {
            r#type,
            metric_family_name,
            help,
            unit,
        },
    );
    (vec(arb_series(), 0..4), vec(metadata, 0..2)).prop_map(|(timeseries, metadata)| WriteRequest {
        timeseries,
        metadata,
    })
}

fn arb_push_request() -> impl Strategy<Value = PushRequest> {
    let timestamp = proptest::option::of((any::<i64>(), 0i32..1_000_000_000))
        .prop_map(|ts| ts.map(|(seconds, nanos)| Timestamp { seconds, nanos }));
    let pair =
        ("[a-z_]{0,6}", "\\PC{0,6}").prop_map(|(name, value)| LabelPairAdapter { name, value });
    // Lines are raw bytes on our side (see push.proto), valid UTF-8 or not.
    let entry = (timestamp, vec(any::<u8>(), 0..16), vec(pair, 0..3)).prop_map(
        |(timestamp, line, structured_metadata)| EntryAdapter {
            timestamp,
            line: line.into(),
            structured_metadata,
            parsed: vec![],
        },
    );
    let stream =
        ("\\PC{0,16}", vec(entry, 0..3), any::<u64>()).prop_map(|(labels, entries, hash)| {
            StreamAdapter {
                labels,
                entries,
                hash,
            }
        });
    (vec(stream, 0..3), "[a-z]{0,4}").prop_map(|(streams, format)| PushRequest { streams, format })
}

fn arb_v2_request() -> impl Strategy<Value = v2::Request> {
    let count = prop_oneof![
        Just(None),
        any::<u64>().prop_map(|v| Some(v2::histogram::Count::CountInt(v))),
        any::<f64>().prop_map(|v| Some(v2::histogram::Count::CountFloat(v))),
    ];
    let span =
        (any::<i32>(), any::<u32>()).prop_map(|(offset, length)| v2::BucketSpan { offset, length });
    let histogram = (
        count,
        any::<f64>(),
        -53i32..9,
        vec(span, 0..3),
        vec(any::<i64>(), 0..4),
        vec(any::<f64>(), 0..3),
        0i32..4,
        any::<i64>(),
        any::<i64>(),
    )
        .prop_map(
            |(
                count,
                sum,
                schema,
                positive_spans,
                positive_deltas,
                custom_values,
                reset_hint,
                timestamp,
                start_timestamp,
            )| {
                v2::Histogram {
                    count,
                    sum,
                    schema,
                    positive_spans,
                    positive_deltas,
                    custom_values,
                    reset_hint,
                    timestamp,
                    start_timestamp,
                    ..Default::default()
                }
            },
        );
    let sample = (any::<f64>(), any::<i64>(), any::<i64>()).prop_map(
        |(value, timestamp, start_timestamp)| v2::Sample {
            value,
            timestamp,
            start_timestamp,
        },
    );
    let exemplar = (vec(any::<u32>(), 0..4), any::<f64>(), any::<i64>()).prop_map(
        |(labels_refs, value, timestamp)| v2::Exemplar {
            labels_refs,
            value,
            timestamp,
        },
    );
    let metadata = proptest::option::of((0i32..8, any::<u32>(), any::<u32>())).prop_map(|m| {
        m.map(|(r#type, help_ref, unit_ref)| v2::Metadata {
            r#type,
            help_ref,
            unit_ref,
        })
    });
    let series = (
        vec(any::<u32>(), 0..6),
        vec(sample, 0..3),
        vec(histogram, 0..2),
        vec(exemplar, 0..2),
        metadata,
        any::<i64>(),
    )
        .prop_map(
            |(labels_refs, samples, histograms, exemplars, metadata, created_timestamp)| {
                v2::TimeSeries {
                    labels_refs,
                    samples,
                    histograms,
                    exemplars,
                    metadata,
                    created_timestamp,
                }
            },
        );
    (vec("\\PC{0,6}", 0..6), vec(series, 0..3)).prop_map(|(symbols, timeseries)| v2::Request {
        symbols,
        timeseries,
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn write_request_matches_spec_encoder(req in arb_write_request()) {
        let hand = hand_write_request(&req);
        prop_assert_eq!(req.encode_to_vec(), hand.clone());
        let decoded = WriteRequest::decode(hand.as_slice()).unwrap();
        prop_assert_eq!(decoded.encode_to_vec(), hand);
    }

    #[test]
    fn v2_request_matches_spec_encoder(req in arb_v2_request()) {
        let hand = hand_v2_request(&req);
        prop_assert_eq!(req.encode_to_vec(), hand.clone());
        let decoded = v2::Request::decode(hand.as_slice()).unwrap();
        prop_assert_eq!(decoded.encode_to_vec(), hand);
    }

    #[test]
    fn push_request_matches_spec_encoder(req in arb_push_request()) {
        let hand = hand_push_request(&req);
        prop_assert_eq!(req.encode_to_vec(), hand.clone());
        prop_assert_eq!(PushRequest::decode(hand.as_slice()).unwrap(), req);
    }
}
