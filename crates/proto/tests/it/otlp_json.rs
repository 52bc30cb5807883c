//! OTLP/JSON (feature `otlp-json`): the JSON Protobuf Encoding of the OTLP specification.

use crate::otlp::{logs_request, logs_request_bytes};
use lgtm_proto::Message;
use lgtm_proto::google::rpc::Status as RpcStatus;
use lgtm_proto::otlp::collector::logs::v1::{ExportLogsServiceRequest, ExportLogsServiceResponse};
use lgtm_proto::otlp::collector::metrics::v1::ExportMetricsServiceRequest;
use lgtm_proto::otlp::collector::trace::v1::ExportTraceServiceRequest;
use lgtm_proto::otlp::common::v1::any_value;
use lgtm_proto::otlp::metrics::v1::{metric, number_data_point};
use lgtm_proto::otlp::trace::v1::span;
use serde_json::json;

/// What an SDK sends to `POST /v1/logs` with `Content-Type: application/json`: ids in hex
/// (either case), 64-bit integers as strings or numbers, enums as integers, plus a key this
/// version does not know, which must be ignored.
const LOGS_JSON: &str = r#"{
  "resourceLogs": [{
    "resource": {
      "attributes": [{"key": "service.name", "value": {"stringValue": "checkout"}}]
    },
    "scopeLogs": [{
      "scope": {"name": "otel-go", "version": "1.30.0"},
      "logRecords": [{
        "timeUnixNano": "1700000000123456789",
        "observedTimeUnixNano": 1700000000123457789,
        "severityNumber": 9,
        "severityText": "INFO",
        "body": {"stringValue": "payment accepted"},
        "attributes": [
          {"key": "http.status_code", "value": {"intValue": "200"}},
          {"key": "tags", "value": {"arrayValue": {"values": [
            {"stringValue": "a"}, {"boolValue": true}
          ]}}}
        ],
        "flags": 1,
        "traceId": "4BF92F3577B34DA6A3CE929D0E0E4736",
        "spanId": "00f067aa0ba902b7",
        "eventName": "payment.done",
        "someFutureField": {"nested": [1, 2, 3]}
      }],
      "schemaUrl": "https://opentelemetry.io/schemas/1.26.0"
    }]
  }]
}"#;

#[test]
fn decodes_otlp_json_logs_into_the_same_message_as_protobuf() {
    let from_json: ExportLogsServiceRequest = serde_json::from_str(LOGS_JSON).unwrap();
    assert_eq!(from_json, logs_request());
    // And it re-encodes to the spec-built protobuf bytes.
    assert_eq!(from_json.encode_to_vec(), logs_request_bytes());
}

#[test]
fn encodes_otlp_json_canonically() {
    let value = serde_json::to_value(logs_request()).unwrap();
    let want = json!({
      "resourceLogs": [{
        "resource": {
          "attributes": [{"key": "service.name", "value": {"stringValue": "checkout"}}]
        },
        "scopeLogs": [{
          "scope": {"name": "otel-go", "version": "1.30.0"},
          "logRecords": [{
            "timeUnixNano": "1700000000123456789",
            "observedTimeUnixNano": "1700000000123457789",
            "severityNumber": 9,
            "severityText": "INFO",
            "body": {"stringValue": "payment accepted"},
            "attributes": [
              {"key": "http.status_code", "value": {"intValue": "200"}},
              {"key": "tags", "value": {"arrayValue": {"values": [
                {"stringValue": "a"}, {"boolValue": true}
              ]}}}
            ],
            "flags": 1,
            "traceId": "4bf92f3577b34da6a3ce929d0e0e4736",
            "spanId": "00f067aa0ba902b7",
            "eventName": "payment.done"
          }],
          "schemaUrl": "https://opentelemetry.io/schemas/1.26.0"
        }]
      }]
    });
    assert_eq!(value, want);
}

#[test]
fn decodes_trace_json() {
    let body = json!({
      "resourceSpans": [{
        "scopeSpans": [{
          "spans": [{
            "traceId": "5b8efff798038103d269b633813fc60c",
            "spanId": "eee19b7ec3c1b174",
            "parentSpanId": "eee19b7ec3c1b173",
            "name": "GET /pay",
            "kind": 2,
            "startTimeUnixNano": "1544712660000000000",
            "endTimeUnixNano": "1544712661000000000",
            "flags": 769,
            "attributes": [{"key": "payload", "value": {"bytesValue": "aGVsbG8="}}],
            "events": [{"timeUnixNano": "1544712660300000000", "name": "retry"}],
            "links": [{"traceId": "5b8efff798038103d269b633813fc60d", "spanId": "eee19b7ec3c1b175"}],
            "status": {"code": 2, "message": "boom"}
          }]
        }]
      }]
    });
    let req: ExportTraceServiceRequest = serde_json::from_value(body).unwrap();
    let span = &req.resource_spans[0].scope_spans[0].spans[0];
    assert_eq!(span.trace_id[..2], [0x5b, 0x8e]);
    assert_eq!(span.parent_span_id.len(), 8);
    assert_eq!(span.kind(), span::SpanKind::Server);
    assert_eq!(
        span.end_time_unix_nano - span.start_time_unix_nano,
        1_000_000_000
    );
    assert_eq!(span.flags, 0x301);
    assert_eq!(span.events[0].name, "retry");
    assert_eq!(span.links[0].span_id.last(), Some(&0x75));
    assert_eq!(span.status.as_ref().unwrap().message, "boom");
    let value = span.attributes[0]
        .value
        .as_ref()
        .unwrap()
        .value
        .as_ref()
        .unwrap();
    assert_eq!(
        *value,
        any_value::Value::BytesValue(lgtm_proto::Bytes::from_static(b"hello"))
    );
}

#[test]
fn decodes_metrics_json_with_special_numbers() {
    let body = json!({
      "resourceMetrics": [{
        "scopeMetrics": [{
          "metrics": [
            {
              "name": "requests",
              "sum": {
                "dataPoints": [{"asInt": "-3", "timeUnixNano": "1700000000000000000"}],
                "aggregationTemporality": 2,
                "isMonotonic": true
              }
            },
            {
              "name": "latency",
              "histogram": {
                "dataPoints": [{
                  "count": "6",
                  "sum": "NaN",
                  "bucketCounts": ["1", 2, "3"],
                  "explicitBounds": [0.1, "Infinity"],
                  "max": 0.9
                }],
                "aggregationTemporality": 1
              }
            },
            {
              "name": "sizes",
              "exponentialHistogram": {
                "dataPoints": [{
                  "scale": -2,
                  "zeroCount": "1",
                  "positive": {"offset": -1, "bucketCounts": ["4", "5"]}
                }]
              }
            }
          ]
        }]
      }]
    });
    let req: ExportMetricsServiceRequest = serde_json::from_value(body).unwrap();
    let metrics = &req.resource_metrics[0].scope_metrics[0].metrics;
    let Some(metric::Data::Sum(sum)) = &metrics[0].data else {
        panic!("expected a sum: {:?}", metrics[0].data);
    };
    assert!(sum.is_monotonic);
    assert_eq!(
        sum.data_points[0].value,
        Some(number_data_point::Value::AsInt(-3))
    );
    let Some(metric::Data::Histogram(hist)) = &metrics[1].data else {
        panic!("expected a histogram: {:?}", metrics[1].data);
    };
    let point = &hist.data_points[0];
    assert_eq!(point.count, 6);
    assert!(point.sum.unwrap().is_nan());
    assert_eq!(point.bucket_counts, [1, 2, 3]);
    assert_eq!(point.explicit_bounds, [0.1, f64::INFINITY]);
    assert_eq!((point.min, point.max), (None, Some(0.9)));
    let Some(metric::Data::ExponentialHistogram(exp)) = &metrics[2].data else {
        panic!("expected an exponential histogram: {:?}", metrics[2].data);
    };
    let point = &exp.data_points[0];
    assert_eq!((point.scale, point.zero_count), (-2, 1));
    let positive = point.positive.as_ref().unwrap();
    assert_eq!(
        (positive.offset, positive.bucket_counts.clone()),
        (-1, vec![4, 5])
    );

    // Writing it back uses the canonical forms.
    let out = serde_json::to_value(&req).unwrap();
    let hist_point =
        &out["resourceMetrics"][0]["scopeMetrics"][0]["metrics"][1]["histogram"]["dataPoints"][0];
    assert_eq!(hist_point["sum"], "NaN");
    assert_eq!(hist_point["bucketCounts"], json!(["1", "2", "3"]));
    assert_eq!(hist_point["explicitBounds"], json!([0.1, "Infinity"]));
    assert!(hist_point.get("min").is_none());
}

#[test]
fn rejects_what_the_spec_forbids() {
    // Enum names are not allowed in OTLP/JSON (integers only).
    let named_kind =
        json!({"resourceSpans": [{"scopeSpans": [{"spans": [{"kind": "SPAN_KIND_SERVER"}]}]}]});
    let err = serde_json::from_value::<ExportTraceServiceRequest>(named_kind).unwrap_err();
    assert!(err.to_string().contains("expected i32"), "{err}");
    // Ids are hex, not base64.
    let base64_id = json!({"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "W47/95gDgQPSabYzgT/GDA=="}]}]}]});
    let err = serde_json::from_value::<ExportTraceServiceRequest>(base64_id).unwrap_err();
    assert!(err.to_string().contains("invalid hex id"), "{err}");
    // A 64-bit field out of range.
    let negative_time =
        json!({"resourceLogs": [{"scopeLogs": [{"logRecords": [{"timeUnixNano": "-1"}]}]}]});
    let err = serde_json::from_value::<ExportLogsServiceRequest>(negative_time).unwrap_err();
    assert!(err.to_string().contains("out of range"), "{err}");
}

#[test]
fn any_value_edge_cases() {
    use lgtm_proto::otlp::common::v1::AnyValue;
    let parse = |s: &str| serde_json::from_str::<AnyValue>(s);
    // Empty object and null members mean "unset"; unknown keys are skipped.
    assert_eq!(parse("{}").unwrap().value, None);
    assert_eq!(parse(r#"{"stringValue": null}"#).unwrap().value, None);
    assert_eq!(
        parse(r#"{"x": [1, {"y": 2}], "intValue": 7}"#)
            .unwrap()
            .value,
        Some(any_value::Value::IntValue(7))
    );
    assert_eq!(
        parse(r#"{"doubleValue": "-Infinity"}"#).unwrap().value,
        Some(any_value::Value::DoubleValue(f64::NEG_INFINITY))
    );
    assert_eq!(
        parse(r#"{"kvlistValue": {"values": [{"key": "k", "value": {"boolValue": false}}]}}"#)
            .unwrap()
            .value
            .map(|v| matches!(v, any_value::Value::KvlistValue(l) if l.values[0].key == "k")),
        Some(true)
    );
    // A malformed value is an error, not silently dropped.
    assert!(parse(r#"{"intValue": "twelve"}"#).is_err());
    assert!(parse(r#"{"bytesValue": "***"}"#).is_err());
    // Output forms.
    let bytes = AnyValue {
        value: Some(any_value::Value::BytesValue(
            lgtm_proto::Bytes::from_static(b"hi!"),
        )),
    };
    assert_eq!(
        serde_json::to_string(&bytes).unwrap(),
        r#"{"bytesValue":"aGkh"}"#
    );
    let int = AnyValue {
        value: Some(any_value::Value::IntValue(-5)),
    };
    assert_eq!(serde_json::to_string(&int).unwrap(), r#"{"intValue":"-5"}"#);
    assert_eq!(serde_json::to_string(&AnyValue::default()).unwrap(), "{}");
}

#[test]
fn responses_and_error_status() {
    assert_eq!(
        serde_json::to_string(&ExportLogsServiceResponse::default()).unwrap(),
        "{}"
    );
    let status = RpcStatus {
        code: 3,
        message: "bad data".into(),
        details: vec![],
    };
    assert_eq!(
        serde_json::to_value(&status).unwrap(),
        json!({"code": 3, "message": "bad data"})
    );
    // The partial-success form Tempo/the collector answer with decodes as well.
    let resp: ExportLogsServiceResponse = serde_json::from_str(
        r#"{"partialSuccess":{"rejectedLogRecords":"2","errorMessage":"too old"}}"#,
    )
    .unwrap();
    assert_eq!(resp.partial_success.unwrap().rejected_log_records, 2);
}

mod round_trip {
    use lgtm_proto::Bytes;
    use lgtm_proto::otlp::common::v1::{AnyValue, ArrayValue, KeyValue, KeyValueList, any_value};
    use lgtm_proto::otlp::logs::v1::LogRecord;
    use proptest::collection::vec;
    use proptest::prelude::*;

    fn arb_any_value() -> impl Strategy<Value = AnyValue> {
        let leaf = prop_oneof![
            Just(None),
            "\\PC{0,8}".prop_map(|s| Some(any_value::Value::StringValue(s))),
            any::<bool>().prop_map(|b| Some(any_value::Value::BoolValue(b))),
            any::<i64>().prop_map(|i| Some(any_value::Value::IntValue(i))),
            // NaN never equals itself; finite and infinite values must round-trip exactly.
            prop_oneof![
                proptest::num::f64::NORMAL | proptest::num::f64::ZERO,
                Just(f64::INFINITY)
            ]
            .prop_map(|d| Some(any_value::Value::DoubleValue(d))),
            vec(any::<u8>(), 0..12)
                .prop_map(|b| Some(any_value::Value::BytesValue(Bytes::from(b)))),
        ]
        .prop_map(|value| AnyValue { value });
        leaf.prop_recursive(2, 12, 3, |inner| {
            prop_oneof![
                vec(inner.clone(), 0..3).prop_map(|values| AnyValue {
                    value: Some(any_value::Value::ArrayValue(ArrayValue { values })),
                }),
                vec(("[a-z.]{0,6}", inner), 0..3).prop_map(|pairs| AnyValue {
                    value: Some(any_value::Value::KvlistValue(KeyValueList {
                        values: pairs
                            .into_iter()
                            .map(|(key, v)| KeyValue {
                                key,
                                value: Some(v),
                            })
                            .collect(),
                    })),
                }),
            ]
        })
    }

    fn arb_log_record() -> impl Strategy<Value = LogRecord> {
        (
            (any::<u64>(), any::<u64>(), 0i32..25, "\\PC{0,6}"),
            (
                proptest::option::of(arb_any_value()),
                vec(("[a-z.]{0,6}", arb_any_value()), 0..3),
            ),
            (
                any::<u32>(),
                any::<u32>(),
                vec(any::<u8>(), 0..17),
                vec(any::<u8>(), 0..9),
            ),
            "\\PC{0,6}",
        )
            .prop_map(
                |(
                    (time_unix_nano, observed_time_unix_nano, severity_number, severity_text),
                    (body, attrs),
                    (dropped_attributes_count, flags, trace_id, span_id),
                    event_name,
                )| LogRecord {
                    time_unix_nano,
                    observed_time_unix_nano,
                    severity_number,
                    severity_text,
                    body,
                    attributes: attrs
                        .into_iter()
                        .map(|(key, v)| KeyValue {
                            key,
                            value: Some(v),
                        })
                        .collect(),
                    dropped_attributes_count,
                    flags,
                    trace_id,
                    span_id,
                    event_name,
                },
            )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(96))]

        #[test]
        fn log_records_round_trip_through_otlp_json(record in arb_log_record()) {
            let text = serde_json::to_string(&record).unwrap();
            let back: LogRecord = serde_json::from_str(&text).unwrap();
            prop_assert_eq!(back, record);
        }
    }
}
