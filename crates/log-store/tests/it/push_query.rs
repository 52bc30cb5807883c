//! Pushes as Promtail (protobuf + snappy) and python-logging-loki (JSON) do, then reads
//! everything back through `query_range`, `labels`, `series` and `index/stats`.

use axum::Router;
use axum::body::Body;
use http::Request;
use http_body_util::BodyExt;
use lgtm_common::clock::SystemClock;
use lgtm_proto::logproto::{EntryAdapter, LabelPairAdapter, PushRequest, StreamAdapter};
use log_store::config::Config;
use log_store::server::LogStore;
use prost::Message;
use serde_json::{Value, json};
use tower::ServiceExt;

async fn store(auth: bool) -> (Router, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config {
        auth_enabled: auth,
        ..Config::default()
    };
    config.common.path_prefix = Some(dir.path().to_path_buf());
    let ls = LogStore::open(config, SystemClock::shared()).await.unwrap();
    (ls.http().build_router(), dir)
}

async fn call(r: &Router, req: Request<Body>) -> (u16, Vec<u8>) {
    let resp = r.clone().oneshot(req).await.unwrap();
    let status = resp.status().as_u16();
    (
        status,
        resp.into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec(),
    )
}

async fn get(r: &Router, uri: &str, tenant: Option<&str>) -> (u16, Value) {
    let mut b = Request::get(uri);
    if let Some(t) = tenant {
        b = b.header("X-Scope-OrgID", t);
    }
    let (s, body) = call(r, b.body(Body::empty()).unwrap()).await;
    (
        s,
        serde_json::from_slice(&body)
            .unwrap_or(Value::String(String::from_utf8_lossy(&body).into())),
    )
}

fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as i64
}

fn promtail_body(base: i64) -> Vec<u8> {
    let req = PushRequest {
        streams: vec![StreamAdapter {
            labels: r#"{filename="/var/log/syslog", job="varlogs"}"#.into(),
            entries: (0..5)
                .map(|i| EntryAdapter {
                    timestamp: Some(lgtm_proto::prost_types::Timestamp {
                        seconds: (base + i) / 1_000_000_000,
                        nanos: ((base + i) % 1_000_000_000) as i32,
                    }),
                    line: format!("line {i} level=warn <&>").into(),
                    structured_metadata: if i == 0 {
                        vec![LabelPairAdapter {
                            name: "trace_id".into(),
                            value: "0242ac120002".into(),
                        }]
                    } else {
                        vec![]
                    },
                    parsed: vec![],
                })
                .collect(),
            hash: 0,
        }],
        format: String::new(),
    };
    snap::raw::Encoder::new()
        .compress_vec(&req.encode_to_vec())
        .unwrap()
}

#[tokio::test]
async fn promtail_protobuf_push_reads_back_exactly() {
    let (r, _d) = store(false).await;
    let base = now_ns() - 60_000_000_000;
    let req = Request::post("/loki/api/v1/push")
        .header("Content-Type", "application/x-protobuf")
        .header("User-Agent", "promtail/3.6.0")
        .body(Body::from(promtail_body(base)))
        .unwrap();
    let (status, body) = call(&r, req).await;
    assert_eq!((status, body.as_slice()), (204, &b""[..]));
    let uri = format!(
        "/loki/api/v1/query_range?query=%7Bjob%3D%22varlogs%22%7D&start={}&end={}&direction=forward",
        base,
        base + 10
    );
    let (status, v) = get(&r, &uri, None).await;
    assert_eq!(status, 200, "{v}");
    let result = v["data"]["result"].as_array().unwrap();
    assert_eq!(
        result.len(),
        2,
        "metadata splits streams without categorize-labels: {v}"
    );
    let with_trace = result
        .iter()
        .find(|s| s["stream"].get("trace_id").is_some())
        .unwrap();
    assert_eq!(
        with_trace["stream"],
        json!({"filename":"/var/log/syslog","job":"varlogs","service_name":"varlogs","detected_level":"warn","trace_id":"0242ac120002"})
    );
    assert_eq!(
        with_trace["values"],
        json!([[base.to_string(), "line 0 level=warn <&>"]])
    );
    let other = result
        .iter()
        .find(|s| s["stream"].get("trace_id").is_none())
        .unwrap();
    let lines: Vec<&str> = other["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v[1].as_str().unwrap())
        .collect();
    assert_eq!(
        lines,
        [
            "line 1 level=warn <&>",
            "line 2 level=warn <&>",
            "line 3 level=warn <&>",
            "line 4 level=warn <&>"
        ]
    );
    // The raw body escapes <, >, & as Loki's Go encoder does.
    let (_, raw) = call(&r, Request::get(&uri).body(Body::empty()).unwrap()).await;
    assert!(
        String::from_utf8(raw)
            .unwrap()
            .contains(r"\u003c\u0026\u003e")
    );
}

#[tokio::test]
async fn python_logging_loki_json_push_and_metadata_endpoints() {
    let (r, _d) = store(false).await;
    let t = now_ns() - 1_000_000_000;
    let body = json!({"streams":[{"stream":{"application":"shop","logger":"root","severity":"error"},
        "values":[[t.to_string(),"something failed"]]}]});
    let req = Request::post("/loki/api/v1/push")
        .header("Content-Type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    assert_eq!(call(&r, req).await.0, 204);
    let (s, v) = get(&r, "/loki/api/v1/labels", None).await;
    assert_eq!(s, 200);
    assert_eq!(
        v,
        json!({"status":"success","data":["application","logger","service_name","severity"]})
    );
    let (_, v) = get(&r, "/loki/api/v1/label/service_name/values", None).await;
    assert_eq!(v["data"], json!(["shop"]));
    let (_, v) = get(&r, "/loki/api/v1/label/nope/values", None).await;
    assert_eq!(v, json!({"status":"success"}));
    let (_, v) = get(
        &r,
        "/loki/api/v1/series?match[]=%7Bapplication%3D%22shop%22%7D",
        None,
    )
    .await;
    assert_eq!(
        v["data"],
        json!([{"application":"shop","logger":"root","service_name":"shop","severity":"error"}])
    );
    let (_, v) = get(
        &r,
        "/loki/api/v1/index/stats?query=%7Bapplication%3D%22shop%22%7D",
        None,
    )
    .await;
    assert_eq!(v, json!({"streams":1,"chunks":1,"bytes":16,"entries":1}));
    let uri = format!(
        "/loki/api/v1/query_range?query=%7Bapplication%3D%22shop%22%7D&start={}&end={}",
        t - 10,
        t + 10
    );
    let (_, v) = get(&r, &uri, None).await;
    assert_eq!(v["data"]["result"][0]["stream"]["detected_level"], "error");
    let (s, v) = get(&r, "/loki/api/v1/query?query=vector(1)%2Bvector(1)", None).await;
    assert_eq!(s, 200);
    assert_eq!(v["data"]["result"][0]["value"][1], "2");
    let (s, v) = get(&r, "/loki/api/v1/status/buildinfo", None).await;
    assert_eq!(s, 200);
    assert!(v["version"].as_str().unwrap().starts_with("3."));
    let (s, v) = get(&r, "/ready", None).await;
    assert_eq!((s, v), (200, Value::String("ready\n".into())));
}

#[tokio::test]
async fn tenants_are_required_and_isolated_with_auth() {
    let (r, _d) = store(true).await;
    let t = now_ns() - 1_000_000_000;
    let body =
        json!({"streams":[{"stream":{"app":"a"},"values":[[t.to_string(),"x"]]}]}).to_string();
    let req = Request::post("/loki/api/v1/push")
        .header("Content-Type", "application/json")
        .body(Body::from(body.clone()))
        .unwrap();
    assert_eq!(call(&r, req).await, (401, b"no org id\n".to_vec()));
    let req = Request::post("/loki/api/v1/push")
        .header("Content-Type", "application/json")
        .header("X-Scope-OrgID", "team-a")
        .body(Body::from(body))
        .unwrap();
    assert_eq!(call(&r, req).await.0, 204);
    let (_, a) = get(&r, "/loki/api/v1/label/app/values", Some("team-a")).await;
    let (_, b) = get(&r, "/loki/api/v1/label/app/values", Some("team-b")).await;
    assert_eq!(a["data"], json!(["a"]));
    assert_eq!(b, json!({"status":"success"}));
}

#[tokio::test]
async fn push_errors_are_plain_text() {
    let (r, _d) = store(false).await;
    let req = Request::post("/loki/api/v1/push")
        .header("Content-Type", "application/x-protobuf")
        .body(Body::from(&b"not snappy"[..]))
        .unwrap();
    let (s, body) = call(&r, req).await;
    assert_eq!(s, 400);
    assert!(body.ends_with(b"\n"));
    let old = now_ns() - 30 * 24 * 3_600_000_000_000;
    let body =
        json!({"streams":[{"stream":{"app":"a"},"values":[[old.to_string(),"x"]]}]}).to_string();
    let req = Request::post("/loki/api/v1/push")
        .header("Content-Type", "application/json")
        .body(Body::from(body))
        .unwrap();
    let (s, body) = call(&r, req).await;
    assert_eq!(s, 400);
    let text = String::from_utf8(body).unwrap();
    assert!(
        text.starts_with(
            "entry for stream '{app=\"a\", service_name=\"a\"}' has timestamp too old: "
        ),
        "{text}"
    );
    let (_, metrics) = call(&r, Request::get("/metrics").body(Body::empty()).unwrap()).await;
    let metrics = String::from_utf8(metrics).unwrap();
    assert!(
        metrics.contains(
            "loki_discarded_samples_total{reason=\"greater_than_max_sample_age\",tenant=\"fake\"} 1"
        ),
        "{metrics}"
    );
}

#[tokio::test]
async fn otlp_json_logs_become_streams_with_metadata() {
    let (r, _d) = store(false).await;
    let t = now_ns() - 1_000_000_000;
    let body = json!({"resourceLogs":[{"resource":{"attributes":[
            {"key":"service.name","value":{"stringValue":"checkout"}},
            {"key":"k8s.namespace.name","value":{"stringValue":"prod"}},
            {"key":"host.name","value":{"stringValue":"node-1"}}]},
        "scopeLogs":[{"scope":{"name":"app.logger"},"logRecords":[{
            "timeUnixNano": t.to_string(), "severityNumber": 17, "severityText": "ERROR",
            "body":{"stringValue":"payment failed"},
            "traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174"}]}]}]});
    let req = Request::post("/otlp/v1/logs")
        .header("Content-Type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    let (s, b) = call(&r, req).await;
    assert_eq!(s, 204, "{}", String::from_utf8_lossy(&b));
    let uri = format!(
        "/loki/api/v1/query_range?query=%7Bservice_name%3D%22checkout%22%7D&start={}&end={}",
        t - 1,
        t + 1
    );
    let (_, v) = get(&r, &uri, None).await;
    assert_eq!(
        v["data"]["result"][0]["stream"],
        json!({"service_name":"checkout","k8s_namespace_name":"prod","host_name":"node-1",
               "scope_name":"app.logger","severity_number":"17","severity_text":"ERROR",
               "trace_id":"5b8efff798038103d269b633813fc60c","span_id":"eee19b7ec3c1b174",
               "detected_level":"error"})
    );
    assert_eq!(v["data"]["result"][0]["values"][0][1], "payment failed");
    // Errors are google.rpc.Status protobufs.
    let req = Request::post("/otlp/v1/logs")
        .header("Content-Type", "text/plain")
        .body(Body::from("x"))
        .unwrap();
    let (s, b) = call(&r, req).await;
    assert_eq!(s, 400);
    let status = <lgtm_proto::google::rpc::Status as Message>::decode(b.as_slice()).unwrap();
    assert_eq!(status.message, "content type: text/plain is not supported");
}
