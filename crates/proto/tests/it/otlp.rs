//! OTLP v1: export requests/responses for logs, traces and metrics, and google.rpc.Status.

use crate::wire::*;
use lgtm_proto::Message;
use lgtm_proto::google::rpc::Status as RpcStatus;
use lgtm_proto::otlp::collector::logs::v1::{
    ExportLogsPartialSuccess, ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use lgtm_proto::otlp::collector::metrics::v1::ExportMetricsServiceRequest;
use lgtm_proto::otlp::collector::trace::v1::ExportTraceServiceRequest;
use lgtm_proto::otlp::common::v1::{
    AnyValue, ArrayValue, InstrumentationScope, KeyValue, any_value,
};
use lgtm_proto::otlp::logs::v1::{LogRecord, ResourceLogs, ScopeLogs, SeverityNumber};
use lgtm_proto::otlp::metrics::v1::{
    AggregationTemporality, HistogramDataPoint, NumberDataPoint, metric, number_data_point,
};
use lgtm_proto::otlp::resource::v1::Resource;
use lgtm_proto::otlp::trace::v1::{SpanFlags, span, status};

const TRACE_ID: [u8; 16] = [
    0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36,
];
const SPAN_ID: [u8; 8] = [0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7];
const T_NS: u64 = 1_700_000_000_123_456_789;

fn str_value(s: &str) -> Vec<u8> {
    string(1, s) // AnyValue.string_value
}

pub(crate) fn logs_request_bytes() -> Vec<u8> {
    message(
        1, // ExportLogsServiceRequest.resource_logs
        &[
            message(
                1, // ResourceLogs.resource
                &[message(
                    1, // Resource.attributes
                    &[
                        string(1, "service.name"),
                        message(2, &[str_value("checkout")]),
                    ],
                )],
            ),
            message(
                2, // ResourceLogs.scope_logs
                &[
                    message(1, &[string(1, "otel-go"), string(2, "1.30.0")]), // scope
                    message(
                        2, // log_records, fields in number order
                        &[
                            fixed64(1, T_NS),                             // time_unix_nano
                            uint(2, 9),                                   // severity_number INFO
                            string(3, "INFO"),                            // severity_text
                            message(5, &[str_value("payment accepted")]), // body
                            message(
                                6, // attributes: http.status_code = 200 (int_value)
                                &[string(1, "http.status_code"), message(2, &[int(3, 200)])],
                            ),
                            message(
                                6, // attributes: tags = ["a", true]
                                &[
                                    string(1, "tags"),
                                    message(
                                        2,
                                        &[message(
                                            5, // array_value
                                            &[
                                                message(1, &[str_value("a")]),
                                                message(1, &[uint(2, 1)]), // bool_value
                                            ],
                                        )],
                                    ),
                                ],
                            ),
                            fixed32(8, 1),              // flags: sampled
                            bytes(9, &TRACE_ID),        // trace_id
                            bytes(10, &SPAN_ID),        // span_id
                            fixed64(11, T_NS + 1_000),  // observed_time_unix_nano
                            string(12, "payment.done"), // event_name
                        ],
                    ),
                    string(3, "https://opentelemetry.io/schemas/1.26.0"), // schema_url
                ],
            ),
        ],
    )
}

fn kv(key: &str, value: any_value::Value) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(value) }),
    }
}

pub(crate) fn logs_request() -> ExportLogsServiceRequest {
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: Some(Resource {
                attributes: vec![kv(
                    "service.name",
                    any_value::Value::StringValue("checkout".into()),
                )],
                dropped_attributes_count: 0,
                entity_refs: vec![],
            }),
            scope_logs: vec![ScopeLogs {
                scope: Some(InstrumentationScope {
                    name: "otel-go".into(),
                    version: "1.30.0".into(),
                    attributes: vec![],
                    dropped_attributes_count: 0,
                }),
                log_records: vec![LogRecord {
                    time_unix_nano: T_NS,
                    observed_time_unix_nano: T_NS + 1_000,
                    severity_number: SeverityNumber::Info as i32,
                    severity_text: "INFO".into(),
                    body: Some(AnyValue {
                        value: Some(any_value::Value::StringValue("payment accepted".into())),
                    }),
                    attributes: vec![
                        kv("http.status_code", any_value::Value::IntValue(200)),
                        kv(
                            "tags",
                            any_value::Value::ArrayValue(ArrayValue {
                                values: vec![
                                    AnyValue {
                                        value: Some(any_value::Value::StringValue("a".into())),
                                    },
                                    AnyValue {
                                        value: Some(any_value::Value::BoolValue(true)),
                                    },
                                ],
                            }),
                        ),
                    ],
                    dropped_attributes_count: 0,
                    flags: 1,
                    trace_id: TRACE_ID.to_vec(),
                    span_id: SPAN_ID.to_vec(),
                    event_name: "payment.done".into(),
                }],
                schema_url: "https://opentelemetry.io/schemas/1.26.0".into(),
            }],
            schema_url: String::new(),
        }],
    }
}

#[test]
fn decodes_export_logs_request() {
    let decoded = ExportLogsServiceRequest::decode(logs_request_bytes().as_slice()).unwrap();
    assert_eq!(decoded, logs_request());
    let record = &decoded.resource_logs[0].scope_logs[0].log_records[0];
    assert_eq!(record.severity_number(), SeverityNumber::Info);
    assert_eq!(record.trace_id.len(), 16);
}

#[test]
fn encodes_export_logs_request_in_field_number_order() {
    // observed_time_unix_nano (11) is declared right after time_unix_nano (1) in the .proto
    // but must be written after span_id (10), as Go's runtime does.
    assert_eq!(logs_request().encode_to_vec(), logs_request_bytes());
}

#[test]
fn export_logs_partial_success_response() {
    let bytes = message(1, &[int(1, 2), string(2, "2 records too old")]);
    let decoded = ExportLogsServiceResponse::decode(bytes.as_slice()).unwrap();
    assert_eq!(
        decoded.partial_success,
        Some(ExportLogsPartialSuccess {
            rejected_log_records: 2,
            error_message: "2 records too old".into(),
        })
    );
    // Full success is the empty message.
    assert!(
        ExportLogsServiceResponse::default()
            .encode_to_vec()
            .is_empty()
    );
}

#[test]
fn decodes_span_with_flags_kind_events_links_and_status() {
    let span_bytes = message(
        2, // ScopeSpans.spans
        &[
            bytes(1, &TRACE_ID),
            bytes(2, &SPAN_ID),
            string(3, "vendor=1"),               // trace_state
            bytes(4, &[1, 2, 3, 4, 5, 6, 7, 8]), // parent_span_id
            string(5, "GET /pay"),
            uint(6, 2),                 // kind SERVER
            fixed64(7, T_NS),           // start
            fixed64(8, T_NS + 250_000), // end
            message(
                9,
                &[string(1, "http.route"), message(2, &[str_value("/pay")])],
            ),
            message(11, &[fixed64(1, T_NS + 10), string(2, "retry")]), // events
            message(
                13,
                &[bytes(1, &TRACE_ID), bytes(2, &[9; 8]), fixed32(6, 0x301)],
            ), // links
            message(15, &[string(2, "boom"), uint(3, 2)]),             // status ERROR
            fixed32(16, 0x301), // flags: sampled + has-is-remote + is-remote (key 0x85 0x01)
        ],
    );
    let bytes = message(1, &[message(2, &[span_bytes])]);
    let req = ExportTraceServiceRequest::decode(bytes.as_slice()).unwrap();
    let span = &req.resource_spans[0].scope_spans[0].spans[0];
    assert_eq!(span.trace_id, TRACE_ID);
    assert_eq!(span.parent_span_id, [1, 2, 3, 4, 5, 6, 7, 8]);
    assert_eq!(span.kind(), span::SpanKind::Server);
    assert_eq!(span.end_time_unix_nano - span.start_time_unix_nano, 250_000);
    assert_eq!(span.events[0].name, "retry");
    assert_eq!(span.links[0].flags, 0x301);
    let st = span.status.as_ref().unwrap();
    assert_eq!(
        (st.code(), st.message.as_str()),
        (status::StatusCode::Error, "boom")
    );
    assert_eq!(span.flags & SpanFlags::TraceFlagsMask as u32, 1);
    assert_ne!(span.flags & SpanFlags::ContextIsRemoteMask as u32, 0);
    assert_eq!(req.encode_to_vec(), bytes);
}

#[test]
fn decodes_metrics_sum_and_histogram() {
    let sum_metric = message(
        2, // ScopeMetrics.metrics
        &[
            string(1, "http.server.requests"),
            string(3, "{request}"),
            message(
                7, // sum
                &[
                    message(
                        1, // data_points
                        &[
                            fixed64(2, T_NS - 60_000_000_000), // start_time_unix_nano
                            fixed64(3, T_NS),
                            sfixed64(6, -3), // as_int (sfixed64: 8 bytes two's complement)
                            message(7, &[string(1, "method"), message(2, &[str_value("GET")])]),
                        ],
                    ),
                    uint(2, 2), // CUMULATIVE
                    uint(3, 1), // is_monotonic
                ],
            ),
        ],
    );
    let hist_metric = message(
        2,
        &[
            string(1, "http.server.duration"),
            message(
                9, // histogram
                &[
                    message(
                        1,
                        &[
                            fixed64(3, T_NS),
                            fixed64(4, 6),                 // count
                            double(5, 0.0), // sum: proto3 `optional`, so an explicit 0 is written
                            packed_fixed64(6, &[1, 2, 3]), // bucket_counts
                            packed_double(7, &[0.1, 1.0]), // explicit_bounds
                            message(
                                8, // exemplars
                                &[
                                    fixed64(2, T_NS),
                                    double(3, 0.07),
                                    bytes(4, &SPAN_ID),
                                    bytes(5, &TRACE_ID),
                                ],
                            ),
                            uint(10, 1),     // flags: no recorded value
                            double(12, 0.9), // max (min unset)
                        ],
                    ),
                    uint(2, 1), // DELTA
                ],
            ),
        ],
    );
    let bytes = message(1, &[message(2, &[sum_metric, hist_metric])]);
    let req = ExportMetricsServiceRequest::decode(bytes.as_slice()).unwrap();
    let metrics = &req.resource_metrics[0].scope_metrics[0].metrics;

    let Some(metric::Data::Sum(sum)) = &metrics[0].data else {
        panic!("expected a sum, got {:?}", metrics[0].data);
    };
    assert!(sum.is_monotonic);
    assert_eq!(
        sum.aggregation_temporality(),
        AggregationTemporality::Cumulative
    );
    let NumberDataPoint { value, .. } = &sum.data_points[0];
    assert_eq!(*value, Some(number_data_point::Value::AsInt(-3)));

    let Some(metric::Data::Histogram(hist)) = &metrics[1].data else {
        panic!("expected a histogram, got {:?}", metrics[1].data);
    };
    let HistogramDataPoint {
        count,
        sum,
        bucket_counts,
        explicit_bounds,
        min,
        max,
        flags,
        exemplars,
        ..
    } = &hist.data_points[0];
    assert_eq!(*count, 6);
    assert_eq!(*sum, Some(0.0));
    assert_eq!(bucket_counts, &[1, 2, 3]);
    assert_eq!(explicit_bounds, &[0.1, 1.0]);
    assert_eq!((*min, *max), (None, Some(0.9)));
    assert_eq!(*flags, 1);
    assert_eq!(exemplars[0].trace_id, TRACE_ID);
    assert_eq!(req.encode_to_vec(), bytes);
}

#[test]
fn rpc_status_error_body() {
    // What an OTLP/HTTP server returns with a 400: code 0 (unused), message set.
    let bytes = string(2, "bad request");
    let status = RpcStatus::decode(bytes.as_slice()).unwrap();
    assert_eq!(status.message, "bad request");
    assert_eq!(status.code, 0);
    assert_eq!(status.encode_to_vec(), bytes);
}
