//! OTLP receiver tests: hand-built requests in both encodings, the translation of every
//! metric type, and the HTTP answers Prometheus gives.

use std::io::Write;
use std::sync::Arc;

use axum::body::Body;
use http::{Request, StatusCode};
use lgtm_promql::Engine;
use lgtm_proto::Message;
use lgtm_proto::otlp::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use lgtm_proto::otlp::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use lgtm_proto::otlp::metrics::v1::{
    ExponentialHistogram, ExponentialHistogramDataPoint, Gauge, Histogram, HistogramDataPoint,
    Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum, Summary, SummaryDataPoint, metric,
    number_data_point, summary_data_point,
};
use lgtm_proto::otlp::resource::v1::Resource;
use tower::ServiceExt;

use super::convert::{Settings, convert, format_float};
use super::names::TranslationStrategy;
use crate::api::{ApiOptions, ApiState, router};
use crate::config::OtlpConfig;
use crate::db::{Db, DbOptions};

const T_NS: u64 = 1_700_000_000_000_000_000;
const T_MS: i64 = 1_700_000_000_000;

fn kv(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.into())),
        }),
    }
}

fn number(value: f64, attrs: Vec<KeyValue>) -> NumberDataPoint {
    NumberDataPoint {
        attributes: attrs,
        time_unix_nano: T_NS,
        value: Some(number_data_point::Value::AsDouble(value)),
        ..Default::default()
    }
}

fn metric_of(name: &str, unit: &str, data: metric::Data) -> Metric {
    Metric {
        name: name.into(),
        description: format!("{name} help"),
        unit: unit.into(),
        data: Some(data),
        ..Default::default()
    }
}

fn request(resource: Vec<KeyValue>, metrics: Vec<Metric>) -> ExportMetricsServiceRequest {
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: Some(Resource {
                attributes: resource,
                ..Default::default()
            }),
            scope_metrics: vec![ScopeMetrics {
                scope: Some(InstrumentationScope {
                    name: "io.opentelemetry.runtime".into(),
                    version: "1.2.3".into(),
                    ..Default::default()
                }),
                metrics,
                schema_url: "https://opentelemetry.io/schemas/1.26.0".into(),
            }],
            ..Default::default()
        }],
    }
}

fn service_resource() -> Vec<KeyValue> {
    vec![
        kv("service.name", "checkout"),
        kv("service.namespace", "shop"),
        kv("service.instance.id", "pod-1"),
        kv("k8s.pod.name", "checkout-7d4b9"),
        kv("host.name", "node-a"),
    ]
}

fn all_types() -> ExportMetricsServiceRequest {
    request(
        service_resource(),
        vec![
            metric_of(
                "http.server.request.duration",
                "s",
                metric::Data::Histogram(Histogram {
                    aggregation_temporality: 2,
                    data_points: vec![HistogramDataPoint {
                        attributes: vec![kv("http.request.method", "GET")],
                        time_unix_nano: T_NS,
                        count: 10,
                        sum: Some(2.5),
                        explicit_bounds: vec![0.1, 0.5, 1.0],
                        bucket_counts: vec![4, 3, 2, 1],
                        ..Default::default()
                    }],
                }),
            ),
            metric_of(
                "system.cpu.time",
                "s",
                metric::Data::Sum(Sum {
                    aggregation_temporality: 2,
                    is_monotonic: true,
                    data_points: vec![number(12.5, vec![kv("cpu", "0")])],
                }),
            ),
            metric_of(
                "system.memory.utilization",
                "1",
                metric::Data::Gauge(Gauge {
                    data_points: vec![number(0.25, vec![])],
                }),
            ),
            metric_of(
                "queue.size",
                "{items}",
                metric::Data::Sum(Sum {
                    aggregation_temporality: 2,
                    is_monotonic: false,
                    data_points: vec![number(7.0, vec![])],
                }),
            ),
            metric_of(
                "rpc.latency",
                "ms",
                metric::Data::Summary(Summary {
                    data_points: vec![SummaryDataPoint {
                        time_unix_nano: T_NS,
                        count: 3,
                        sum: 30.0,
                        quantile_values: vec![
                            summary_data_point::ValueAtQuantile {
                                quantile: 0.5,
                                value: 9.0,
                            },
                            summary_data_point::ValueAtQuantile {
                                quantile: 0.99,
                                value: 12.0,
                            },
                        ],
                        ..Default::default()
                    }],
                }),
            ),
        ],
    )
}

fn rendered(series: &[crate::db::SeriesSamples]) -> Vec<String> {
    series
        .iter()
        .map(|s| {
            let values: Vec<String> = s.samples.iter().map(|(t, v)| format!("{v}@{t}")).collect();
            format!("{} {}", s.labels, values.join(","))
        })
        .collect()
}

#[test]
fn every_metric_type_is_translated() {
    let out = convert(&all_types(), &Settings::default());
    assert_eq!(out.rejected, 0, "{:?}", out.errors);
    let got = rendered(&out.series);
    let id = r#"instance="pod-1", job="shop/checkout""#;
    let want = [
        format!(
            r#"{{__name__="http_server_request_duration_seconds_bucket", http_request_method="GET", {id}, le="+Inf"}} 10@{T_MS}"#
        ),
        format!(
            r#"{{__name__="http_server_request_duration_seconds_bucket", http_request_method="GET", {id}, le="0.1"}} 4@{T_MS}"#
        ),
        format!(
            r#"{{__name__="http_server_request_duration_seconds_bucket", http_request_method="GET", {id}, le="0.5"}} 7@{T_MS}"#
        ),
        format!(
            r#"{{__name__="http_server_request_duration_seconds_bucket", http_request_method="GET", {id}, le="1"}} 9@{T_MS}"#
        ),
        format!(
            r#"{{__name__="http_server_request_duration_seconds_count", http_request_method="GET", {id}}} 10@{T_MS}"#
        ),
        format!(
            r#"{{__name__="http_server_request_duration_seconds_sum", http_request_method="GET", {id}}} 2.5@{T_MS}"#
        ),
        format!(r#"{{__name__="queue_size", {id}}} 7@{T_MS}"#),
        format!(r#"{{__name__="rpc_latency_milliseconds", {id}, quantile="0.5"}} 9@{T_MS}"#),
        format!(r#"{{__name__="rpc_latency_milliseconds", {id}, quantile="0.99"}} 12@{T_MS}"#),
        format!(r#"{{__name__="rpc_latency_milliseconds_count", {id}}} 3@{T_MS}"#),
        format!(r#"{{__name__="rpc_latency_milliseconds_sum", {id}}} 30@{T_MS}"#),
        format!(r#"{{__name__="system_cpu_time_seconds_total", cpu="0", {id}}} 12.5@{T_MS}"#),
        format!(r#"{{__name__="system_memory_utilization_ratio", {id}}} 0.25@{T_MS}"#),
        format!(
            r#"{{__name__="target_info", host_name="node-a", {id}, k8s_pod_name="checkout-7d4b9"}} 1@{T_MS}"#
        ),
    ];
    assert_eq!(got, want);
    let types: Vec<(&str, &str, &str)> = out
        .metadata
        .iter()
        .map(|m| (m.metric.as_str(), m.metric_type, m.unit.as_str()))
        .collect();
    assert!(types.contains(&("system_cpu_time_seconds_total", "counter", "seconds")));
    assert!(types.contains(&(
        "http_server_request_duration_seconds",
        "histogram",
        "seconds"
    )));
    assert!(types.contains(&("queue_size", "gauge", "")));
}

#[test]
fn promotion_scope_and_strategies() {
    let settings = Settings {
        promote_resource_attributes: vec!["k8s.pod.name".into()],
        promote_scope_metadata: true,
        ..Settings::default()
    };
    let req = request(
        service_resource(),
        vec![metric_of(
            "jobs.done",
            "",
            metric::Data::Sum(Sum {
                aggregation_temporality: 2,
                is_monotonic: true,
                // A point attribute wins over a promoted resource attribute of the same name.
                data_points: vec![number(1.0, vec![kv("host.name", "from-point")])],
            }),
        )],
    );
    let out = convert(&req, &settings);
    let labels = &out.series[0].labels;
    assert_eq!(labels.metric_name(), Some("jobs_done_total"));
    assert_eq!(labels.get("k8s_pod_name"), Some("checkout-7d4b9"));
    assert_eq!(labels.get("host_name"), Some("from-point"));
    assert_eq!(
        labels.get("otel_scope_name"),
        Some("io.opentelemetry.runtime")
    );
    assert_eq!(labels.get("otel_scope_version"), Some("1.2.3"));
    assert_eq!(
        labels.get("otel_scope_schema_url"),
        Some("https://opentelemetry.io/schemas/1.26.0")
    );
    // target_info still carries every non-identifying attribute.
    let info = &out.series[1].labels;
    assert_eq!(info.metric_name(), Some("target_info"));
    assert_eq!(info.get("k8s_pod_name"), Some("checkout-7d4b9"));
    assert!(info.get("service_name").is_none());

    let all = Settings {
        promote_all_resource_attributes: true,
        ignore_resource_attributes: vec!["host.name".into()],
        keep_identifying_resource_attributes: true,
        strategy: TranslationStrategy::UnderscoreEscapingWithoutSuffixes,
        ..Settings::default()
    };
    let out = convert(&req, &all);
    let labels = &out.series[0].labels;
    assert_eq!(labels.metric_name(), Some("jobs_done"));
    assert_eq!(labels.get("service_name"), Some("checkout"));
    assert_eq!(labels.get("host_name"), Some("from-point"));
    let info = &out.series[1].labels;
    assert_eq!(info.get("service_instance_id"), Some("pod-1"));

    // Only identifying attributes: no target_info.
    let bare = request(
        vec![kv("service.name", "api")],
        vec![metric_of(
            "g",
            "",
            metric::Data::Gauge(Gauge {
                data_points: vec![number(1.0, vec![])],
            }),
        )],
    );
    let out = convert(&bare, &Settings::default());
    assert_eq!(out.series.len(), 1);
    assert_eq!(
        out.series[0].labels.to_string(),
        r#"{__name__="g", job="api"}"#
    );
}

#[test]
fn colliding_attributes_join_and_flags() {
    let mut p = number(5.0, vec![kv("a.b", "x"), kv("a_b", "y"), kv("0code", "z")]);
    p.flags = 1; // no recorded value: a stale marker
    let req = request(
        vec![],
        vec![metric_of(
            "g",
            "",
            metric::Data::Gauge(Gauge {
                data_points: vec![p],
            }),
        )],
    );
    let out = convert(&req, &Settings::default());
    let s = &out.series[0];
    assert_eq!(s.labels.get("a_b"), Some("x;y"));
    assert_eq!(s.labels.get("key_0code"), Some("z"));
    assert!(crate::scrape::samples::is_stale_nan(s.samples[0].1));
}

#[test]
fn delta_and_exponential_histograms_are_rejected() {
    let delta = metric_of(
        "requests",
        "",
        metric::Data::Sum(Sum {
            aggregation_temporality: 1,
            is_monotonic: true,
            data_points: vec![number(1.0, vec![]), number(2.0, vec![kv("x", "1")])],
        }),
    );
    let expo = metric_of(
        "latency",
        "s",
        metric::Data::ExponentialHistogram(ExponentialHistogram {
            aggregation_temporality: 2,
            data_points: vec![ExponentialHistogramDataPoint {
                time_unix_nano: T_NS,
                count: 1,
                ..Default::default()
            }],
        }),
    );
    let ok = metric_of(
        "ok",
        "",
        metric::Data::Gauge(Gauge {
            data_points: vec![number(1.0, vec![])],
        }),
    );
    let req = request(vec![], vec![delta, expo, ok]);
    let out = convert(&req, &Settings::default());
    assert_eq!(out.rejected, 3);
    assert_eq!(out.series.len(), 1);
    assert!(
        out.errors[0].contains("invalid temporality and type combination for metric \"requests\"")
    );
    assert!(out.errors[1].contains("exponential histogram"));
    let allowed = convert(
        &req,
        &Settings {
            allow_delta: true,
            ..Settings::default()
        },
    );
    assert_eq!(allowed.rejected, 1);
    assert_eq!(allowed.series.len(), 3);
}

#[test]
fn float_formatting_matches_go() {
    assert_eq!(format_float(0.1), "0.1");
    assert_eq!(format_float(1.0), "1");
    assert_eq!(format_float(2.5e-7), "0.00000025");
    assert_eq!(format_float(1e21), "1000000000000000000000");
    assert_eq!(format_float(f64::INFINITY), "+Inf");
}

struct Fixture {
    state: Arc<ApiState>,
    _dir: tempfile::TempDir,
}

fn fixture(enabled: bool) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = Db::open(DbOptions::new(dir.path())).unwrap();
    let options = ApiOptions {
        enable_otlp_receiver: enabled,
        max_write_bytes: 1 << 20,
        ..ApiOptions::default()
    };
    Fixture {
        state: Arc::new(ApiState::new(Arc::new(db), Engine::default(), options)),
        _dir: dir,
    }
}

async fn post(
    state: &Arc<ApiState>,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> (StatusCode, Vec<u8>) {
    let mut req = Request::post("/api/v1/otlp/v1/metrics");
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = router(Arc::clone(state))
        .oneshot(req.body(Body::from(body)).unwrap())
        .await
        .unwrap();
    let status = resp.status();
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, bytes.to_vec())
}

async fn query(state: &Arc<ApiState>, q: &str) -> serde_json::Value {
    let uri = format!(
        "/api/v1/query?query={}&time=1700000000",
        q.replace('{', "%7B")
            .replace('}', "%7D")
            .replace('"', "%22")
            .replace(' ', "%20")
    );
    let resp = router(Arc::clone(state))
        .oneshot(Request::get(uri).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

#[tokio::test]
async fn protobuf_gzip_and_json_bodies_are_stored() {
    let f = fixture(true);
    let body = all_types().encode_to_vec();
    let (status, resp) = post(
        &f.state,
        &[
            ("content-type", "application/x-protobuf"),
            ("content-encoding", "gzip"),
        ],
        gzip(&body),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let decoded = ExportMetricsServiceResponse::decode(resp.as_slice()).unwrap();
    assert!(decoded.partial_success.is_none(), "{decoded:?}");
    let v = query(
        &f.state,
        r#"system_cpu_time_seconds_total{job="shop/checkout"}"#,
    )
    .await;
    assert_eq!(v["data"]["result"][0]["metric"]["cpu"], "0");
    assert_eq!(v["data"]["result"][0]["value"][1], "12.5");
    let v = query(
        &f.state,
        r#"http_server_request_duration_seconds_bucket{le="0.5"}"#,
    )
    .await;
    assert_eq!(v["data"]["result"][0]["value"][1], "7");
    let v = query(&f.state, "target_info").await;
    assert_eq!(
        v["data"]["result"][0]["metric"]["k8s_pod_name"],
        "checkout-7d4b9"
    );

    // The same kind of request in OTLP/JSON (what `otlphttp` with `encoding: json` sends).
    let json = serde_json::json!({
        "resourceMetrics": [{
            "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "web"}}]},
            "scopeMetrics": [{"metrics": [{
                "name": "http.requests",
                "sum": {
                    "aggregationTemporality": 2,
                    "isMonotonic": true,
                    "dataPoints": [{"asInt": "42", "timeUnixNano": T_NS.to_string(),
                                    "attributes": [{"key": "code", "value": {"intValue": "200"}}]}]
                }
            }]}]
        }]
    });
    let (status, resp) = post(
        &f.state,
        &[("content-type", "application/json")],
        serde_json::to_vec(&json).unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&resp));
    let v = query(&f.state, "http_requests_total").await;
    assert_eq!(v["data"]["result"][0]["metric"]["code"], "200");
    assert_eq!(v["data"]["result"][0]["metric"]["job"], "web");
    assert_eq!(v["data"]["result"][0]["value"][1], "42");
    let meta = f.state.metadata.read();
    assert_eq!(meta["http_requests_total"][0].metric_type, "counter");
}

#[tokio::test]
async fn partial_success_reports_rejected_points() {
    let f = fixture(true);
    let req = request(
        vec![],
        vec![metric_of(
            "d",
            "",
            metric::Data::Sum(Sum {
                aggregation_temporality: 1,
                is_monotonic: true,
                data_points: vec![number(1.0, vec![])],
            }),
        )],
    );
    let (status, resp) = post(
        &f.state,
        &[("content-type", "application/x-protobuf")],
        req.encode_to_vec(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let decoded = ExportMetricsServiceResponse::decode(resp.as_slice()).unwrap();
    let partial = decoded.partial_success.unwrap();
    assert_eq!(partial.rejected_data_points, 1);
    assert!(
        partial.error_message.contains("invalid temporality"),
        "{}",
        partial.error_message
    );
    let json = serde_json::to_vec(&req).unwrap();
    let (status, resp) = post(&f.state, &[("content-type", "application/json")], json).await;
    assert_eq!(status, StatusCode::OK);
    let v: serde_json::Value = serde_json::from_slice(&resp).unwrap();
    assert_eq!(v["partialSuccess"]["rejectedDataPoints"], "1");
}

#[tokio::test]
async fn bad_requests_and_disabled_receiver() {
    let f = fixture(true);
    let pb = [("content-type", "application/x-protobuf")];
    let text = |b: Vec<u8>| String::from_utf8(b).unwrap();
    let (status, body) = post(&f.state, &[("content-type", "text/plain")], vec![]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        text(body),
        "unsupported content type: text/plain, supported: [application/json, application/x-protobuf]\n"
    );
    let (status, body) = post(
        &f.state,
        &[
            ("content-type", "application/x-protobuf"),
            ("content-encoding", "snappy"),
        ],
        vec![],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(text(body).starts_with("unsupported compression: snappy."));
    let mut truncated = all_types().encode_to_vec();
    truncated.truncate(truncated.len() / 2);
    let (status, _) = post(&f.state, &pb, truncated).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = post(
        &f.state,
        &[
            ("content-type", "application/x-protobuf"),
            ("content-encoding", "gzip"),
        ],
        b"not gzip".to_vec(),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = post(
        &f.state,
        &[("content-type", "application/json")],
        b"{".to_vec(),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // A decompression bomb stops at the limit.
    let bomb = gzip(&vec![0u8; 4 << 20]);
    let (status, body) = post(
        &f.state,
        &[
            ("content-type", "application/x-protobuf"),
            ("content-encoding", "gzip"),
        ],
        bomb,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(text(body).contains("too large"));
    // Samples the store refuses (a duplicate timestamp with another value) are 400.
    let gauge = |v: f64| {
        request(
            vec![],
            vec![metric_of(
                "dup",
                "",
                metric::Data::Gauge(Gauge {
                    data_points: vec![number(v, vec![])],
                }),
            )],
        )
        .encode_to_vec()
    };
    assert_eq!(post(&f.state, &pb, gauge(1.0)).await.0, StatusCode::OK);
    assert_eq!(
        post(&f.state, &pb, gauge(2.0)).await.0,
        StatusCode::BAD_REQUEST
    );

    let off = fixture(false);
    let (status, _) = post(&off.state, &pb, all_types().encode_to_vec()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[test]
fn settings_from_the_config_block() {
    let config: OtlpConfig = serde_yaml_ng::from_str(
        "promote_resource_attributes: [k8s.namespace.name]\ntranslation_strategy: NoTranslation\n",
    )
    .unwrap();
    let s = super::settings(&config, false, 0);
    assert_eq!(s.strategy, TranslationStrategy::NoTranslation);
    assert_eq!(s.promote_resource_attributes, ["k8s.namespace.name"]);
}

/// The whole server: `--web.enable-otlp-receiver` turns the endpoint on and the config file's
/// `otlp:` block is applied.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_flag_and_config_block() {
    let dir = tempfile::tempdir().unwrap();
    let config_file = dir.path().join("prometheus.yml");
    std::fs::write(
        &config_file,
        "otlp:\n  promote_resource_attributes: [k8s.pod.name]\n  label_name_underscore_sanitization: true\n",
    )
    .unwrap();
    let start = |enable: bool, sub: &str| {
        let mut args = vec![
            format!("--config.file={}", config_file.display()),
            format!("--storage.tsdb.path={}", dir.path().join(sub).display()),
            "--web.listen-address=127.0.0.1:0".to_owned(),
        ];
        if enable {
            args.push("--web.enable-otlp-receiver".into());
        }
        crate::server::Config::from_args(args).unwrap()
    };
    lgtm_common::http_client::client::install_crypto_provider();
    let client = reqwest::Client::new();
    let body = all_types().encode_to_vec();

    let shutdown = lgtm_common::http::CancellationToken::new();
    let off = crate::server::start(start(false, "off"), shutdown.clone())
        .await
        .unwrap();
    let resp = client
        .post(format!("http://{}/api/v1/otlp/v1/metrics", off.addr))
        .header("content-type", "application/x-protobuf")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);

    let on = crate::server::start(start(true, "on"), shutdown.clone())
        .await
        .unwrap();
    let resp = client
        .post(format!("http://{}/api/v1/otlp/v1/metrics", on.addr))
        .header("content-type", "application/x-protobuf")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let v: serde_json::Value = client
        .get(format!(
            "http://{}/api/v1/query?query=system_cpu_time_seconds_total&time=1700000000",
            on.addr
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        v["data"]["result"][0]["metric"]["k8s_pod_name"], "checkout-7d4b9",
        "{v}"
    );
    shutdown.cancel();
    let _ = off.task.await;
    let _ = on.task.await;
}

#[test]
fn exemplars_follow_their_series_and_bucket() {
    use lgtm_proto::otlp::metrics::v1::{Exemplar as OtlpExemplar, exemplar};
    let ex = |v: f64| OtlpExemplar {
        time_unix_nano: T_NS,
        trace_id: vec![
            0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e,
            0x47, 0x36,
        ],
        span_id: vec![0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7],
        filtered_attributes: vec![kv("user.id", "42")],
        value: Some(exemplar::Value::AsDouble(v)),
    };
    let mut counter = number(3.0, vec![]);
    counter.exemplars = vec![ex(1.0)];
    let req = request(
        vec![kv("service.name", "api")],
        vec![
            metric_of(
                "hits",
                "",
                metric::Data::Sum(Sum {
                    aggregation_temporality: 2,
                    is_monotonic: true,
                    data_points: vec![counter],
                }),
            ),
            metric_of(
                "latency",
                "s",
                metric::Data::Histogram(Histogram {
                    aggregation_temporality: 2,
                    data_points: vec![HistogramDataPoint {
                        time_unix_nano: T_NS,
                        count: 3,
                        explicit_bounds: vec![0.1, 1.0],
                        bucket_counts: vec![1, 1, 1],
                        exemplars: vec![ex(0.5), ex(7.0)],
                        ..Default::default()
                    }],
                }),
            ),
        ],
    );
    let out = convert(&req, &Settings::default());
    // Through the handler they land in the exemplar store.
    let f = fixture(true);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (status, _) = rt.block_on(post(
        &f.state,
        &[("content-type", "application/x-protobuf")],
        req.encode_to_vec(),
    ));
    assert_eq!(status, StatusCode::OK);
    assert_eq!(f.state.exemplars.len(), 3);
    let got: Vec<String> = out
        .exemplars
        .iter()
        .map(|(s, e)| format!("{s} {} {}@{}", e.labels, e.value, e.timestamp))
        .collect();
    let ids =
        r#"span_id="00f067aa0ba902b7", trace_id="4bf92f3577b34da6a3ce929d0e0e4736", user_id="42""#;
    assert_eq!(
        got,
        [
            format!(r#"{{__name__="hits_total", job="api"}} {{{ids}}} 1@{T_MS}"#),
            format!(
                r#"{{__name__="latency_seconds_bucket", job="api", le="1"}} {{{ids}}} 0.5@{T_MS}"#
            ),
            format!(
                r#"{{__name__="latency_seconds_bucket", job="api", le="+Inf"}} {{{ids}}} 7@{T_MS}"#
            ),
        ]
    );
}

#[test]
fn target_info_spans_the_resource_points_every_half_lookback() {
    let mut late = number(2.0, vec![]);
    late.time_unix_nano = T_NS + 400_000_000_000;
    let req = request(
        service_resource(),
        vec![metric_of(
            "g",
            "",
            metric::Data::Gauge(Gauge {
                data_points: vec![number(1.0, vec![kv("a", "1")]), late],
            }),
        )],
    );
    let out = convert(&req, &Settings::default());
    let info = out
        .series
        .iter()
        .find(|s| s.labels.metric_name() == Some("target_info"))
        .unwrap();
    let times: Vec<i64> = info.samples.iter().map(|s| s.0 - T_MS).collect();
    assert_eq!(times, [0, 150_000, 300_000, 400_000]);
    let meta = out
        .metadata
        .iter()
        .find(|m| m.metric == "target_info")
        .unwrap();
    assert_eq!(
        (meta.metric_type, meta.help.as_str()),
        ("gauge", "Target metadata")
    );
    let short = convert(
        &req,
        &Settings {
            lookback_delta_ms: 60_000,
            ..Settings::default()
        },
    );
    let info = short
        .series
        .iter()
        .find(|s| s.labels.metric_name() == Some("target_info"))
        .unwrap();
    assert_eq!(
        info.samples.len(),
        15,
        "every 30s over 400s, plus the last point"
    );
}

#[test]
fn otlp_config_rules_match_prometheus() {
    let err = |yaml: &str| {
        crate::config::Config::from_yaml(&format!("otlp:\n{yaml}"))
            .unwrap_err()
            .to_string()
    };
    assert!(
        err("  promote_all_resource_attributes: true\n  promote_resource_attributes: [a]\n")
            .contains("'promote_all_resource_attributes' and 'promote_resource_attributes' cannot be configured simultaneously")
    );
    assert!(
        err("  ignore_resource_attributes: [a]\n").contains(
            "'ignore_resource_attributes' cannot be configured unless 'promote_all_resource_attributes' is true"
        )
    );
    let e = err("  promote_resource_attributes: [k8s.job.name, ' k8s.job.name ', '  ']\n");
    assert!(e.contains("invalid 'promote_resource_attributes'"), "{e}");
    assert!(
        e.contains("duplicated promoted OTel resource attribute \"k8s.job.name\""),
        "{e}"
    );
    assert!(e.contains("empty promoted OTel resource attribute"), "{e}");
    let e = err("  promote_all_resource_attributes: true\n  ignore_resource_attributes: ['']\n");
    assert!(
        e.contains("invalid 'ignore_resource_attributes': empty ignored OTel resource attribute"),
        "{e}"
    );
    assert!(
        err("  translation_strategy: Bogus\n")
            .contains("unsupported OTLP translation strategy \"Bogus\"")
    );
    // Names are trimmed.
    let ok = crate::config::Config::from_yaml(
        "otlp:\n  promote_resource_attributes: [' k8s.pod.name ']\n",
    )
    .unwrap();
    assert_eq!(
        ok.otlp.unwrap().promote_resource_attributes,
        ["k8s.pod.name"]
    );
}
