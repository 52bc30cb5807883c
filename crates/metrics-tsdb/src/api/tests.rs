use super::*;
use crate::db::{DbOptions, SeriesSamples};
use axum::body::Body;
use http::{Request, StatusCode};
use lgtm_common::labels::Labels;
use lgtm_proto::Message;
use lgtm_proto::prometheus as pb;
use tower::ServiceExt;

struct Fixture {
    state: Arc<ApiState>,
    _dir: tempfile::TempDir,
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = Db::open(DbOptions::new(dir.path())).unwrap();
    let db = Arc::new(db);
    let mut batch = Vec::new();
    for (job, base) in [("api", 10.0), ("node", 100.0)] {
        batch.push(SeriesSamples {
            labels: Labels::from_pairs([("__name__", "http_requests_total"), ("job", job)]),
            samples: (0..=10)
                .map(|i| (i * 15_000, base + i as f64 * 15.0))
                .collect(),
        });
    }
    batch.push(SeriesSamples {
        labels: Labels::from_pairs([("__name__", "up"), ("job", "api")]),
        samples: vec![(0, 1.0), (150_000, 1.0)],
    });
    db.append(&batch).await.unwrap();
    Fixture {
        state: Arc::new(ApiState::new(db, Engine::default(), ApiOptions::default())),
        _dir: dir,
    }
}

async fn call(state: &Arc<ApiState>, req: Request<Body>) -> (StatusCode, String) {
    let resp = router(Arc::clone(state)).oneshot(req).await.unwrap();
    let status = resp.status();
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, String::from_utf8(bytes.to_vec()).unwrap())
}

async fn get(state: &Arc<ApiState>, uri: &str) -> (StatusCode, String) {
    call(state, Request::get(uri).body(Body::empty()).unwrap()).await
}

#[tokio::test]
async fn instant_query_as_get_and_form_post() {
    let f = fixture().await;
    let (status, body) = get(&f.state, "/api/v1/query?query=up&time=150").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"__name__":"up","job":"api"},"value":[150,"1"]}]}}"#
    );
    // Grafana's health check: a form POST of 1+1.
    let req = Request::post("/api/v1/query")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from("query=1%2B1&time=4"))
        .unwrap();
    let (status, body) = call(&f.state, req).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        r#"{"status":"success","data":{"resultType":"scalar","result":[4,"2"]}}"#
    );
}

#[tokio::test]
async fn rate_and_sum_by_over_a_range() {
    let f = fixture().await;
    let (status, body) = get(
        &f.state,
        "/api/v1/query_range?query=sum%20by%20(job)%20(rate(http_requests_total%5B1m%5D))&start=60&end=120&step=30",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    let result = v["data"]["result"].as_array().unwrap();
    assert_eq!(result.len(), 2);
    assert_eq!(result[0]["metric"], serde_json::json!({"job": "api"}));
    // 15 per 15 s = 1 per second (up to the float rounding Prometheus' extrapolation has too).
    assert_eq!(result[0]["values"][0][0], serde_json::json!(60));
    let rate: f64 = result[0]["values"][0][1].as_str().unwrap().parse().unwrap();
    assert!((rate - 1.0).abs() < 1e-12, "{rate}");
    assert_eq!(result[0]["values"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn errors_use_prometheus_envelope_and_texts() {
    let f = fixture().await;
    let cases = [
        (
            "/api/v1/query?query=sum(",
            StatusCode::BAD_REQUEST,
            "bad_data",
            "invalid parameter \"query\": 1:5: parse error:",
        ),
        (
            "/api/v1/query?query=up&time=abc",
            StatusCode::BAD_REQUEST,
            "bad_data",
            "invalid parameter \"time\": Invalid time value for 'time': cannot parse \"abc\" to a valid timestamp",
        ),
        (
            "/api/v1/query_range?query=up&start=10&end=5&step=1",
            StatusCode::BAD_REQUEST,
            "bad_data",
            "invalid parameter \"end\": end timestamp must not be before start time",
        ),
        (
            "/api/v1/query_range?query=up&start=0&end=100000&step=1",
            StatusCode::BAD_REQUEST,
            "bad_data",
            "exceeded maximum resolution of 11,000 points per timeseries",
        ),
        (
            "/api/v1/query_range?query=up&start=0&end=10&step=0",
            StatusCode::BAD_REQUEST,
            "bad_data",
            "invalid parameter \"step\": zero or negative query resolution step widths are not accepted. Try a positive integer",
        ),
        (
            "/api/v1/query?query=up&timeout=1us",
            StatusCode::BAD_REQUEST,
            "bad_data",
            "invalid parameter \"timeout\": cannot parse \"1us\" to a valid duration",
        ),
        (
            "/api/v1/series",
            StatusCode::BAD_REQUEST,
            "bad_data",
            "no match[] parameter provided",
        ),
        (
            "/api/v1/query_range?query=up%5B5m%5D&start=0&end=10&step=1",
            StatusCode::BAD_REQUEST,
            "bad_data",
            "invalid expression type \"range vector\" for range query, must be Scalar or instant Vector",
        ),
        (
            "/api/v1/series?match[]=%7Bjob%3D%22%22%7D",
            StatusCode::BAD_REQUEST,
            "bad_data",
            "invalid parameter \"match[]\": match[] must contain at least one non-empty matcher",
        ),
        (
            "/api/v1/label/0bad/values",
            StatusCode::BAD_REQUEST,
            "bad_data",
            "invalid label name: \"0bad\"",
        ),
    ];
    for (uri, status, kind, message) in cases {
        let (got_status, body) = get(&f.state, uri).await;
        assert_eq!(got_status, status, "{uri}: {body}");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["status"], "error", "{uri}");
        assert_eq!(v["errorType"], kind, "{uri}");
        let error = v["error"].as_str().unwrap();
        assert!(error.starts_with(message), "{uri}: {error}");
    }
}

#[tokio::test]
async fn series_labels_and_values() {
    let f = fixture().await;
    let (_, body) = get(&f.state, "/api/v1/series?match[]=http_requests_total").await;
    assert_eq!(
        body,
        r#"{"status":"success","data":[{"__name__":"http_requests_total","job":"api"},{"__name__":"http_requests_total","job":"node"}]}"#
    );
    let (_, body) = get(&f.state, "/api/v1/labels").await;
    assert_eq!(body, r#"{"status":"success","data":["__name__","job"]}"#);
    let (_, body) = get(&f.state, "/api/v1/label/job/values?match[]=up").await;
    assert_eq!(body, r#"{"status":"success","data":["api"]}"#);
    let (_, body) = get(&f.state, "/api/v1/label/__name__/values?limit=1").await;
    assert_eq!(
        body,
        r#"{"status":"success","data":["http_requests_total"],"warnings":["results truncated due to limit"]}"#
    );
    // Series outside the time range are not returned.
    let (_, body) = get(&f.state, "/api/v1/series?match[]=up&start=200&end=300").await;
    assert_eq!(body, r#"{"status":"success","data":[]}"#);
}

fn write_request(samples: &[(i64, f64)], job: &str) -> Vec<u8> {
    let req = pb::WriteRequest {
        timeseries: vec![pb::TimeSeries {
            labels: vec![
                pb::Label {
                    name: "__name__".into(),
                    value: "written".into(),
                },
                pb::Label {
                    name: "job".into(),
                    value: job.into(),
                },
            ],
            samples: samples
                .iter()
                .map(|&(timestamp, value)| pb::Sample { value, timestamp })
                .collect(),
            ..Default::default()
        }],
        metadata: vec![pb::MetricMetadata {
            r#type: 2,
            metric_family_name: "written".into(),
            help: "a gauge".into(),
            unit: String::new(),
        }],
    };
    snap::raw::Encoder::new()
        .compress_vec(&req.encode_to_vec())
        .unwrap()
}

fn post_write(body: Vec<u8>, content_type: &str) -> Request<Body> {
    Request::post("/api/v1/write")
        .header("content-type", content_type)
        .header("content-encoding", "snappy")
        .header("x-prometheus-remote-write-version", "0.1.0")
        .body(Body::from(body))
        .unwrap()
}

#[tokio::test]
async fn remote_write_status_codes_and_read_back() {
    let f = fixture().await;
    let (status, body) = call(
        &f.state,
        post_write(
            write_request(&[(1000, 1.5), (2000, 2.5)], "rw"),
            "application/x-protobuf",
        ),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert!(body.is_empty());
    // Idempotent retry.
    let (status, _) = call(
        &f.state,
        post_write(
            write_request(&[(2000, 2.5)], "rw"),
            "application/x-protobuf",
        ),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    // Same timestamp, other value.
    let (status, body) = call(
        &f.state,
        post_write(
            write_request(&[(2000, 9.0)], "rw"),
            "application/x-protobuf",
        ),
    )
    .await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::BAD_REQUEST, "duplicate sample for timestamp\n")
    );
    // Older than the newest sample.
    let (status, body) = call(
        &f.state,
        post_write(
            write_request(&[(1500, 9.0)], "rw"),
            "application/x-protobuf",
        ),
    )
    .await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::BAD_REQUEST, "out of order sample\n")
    );
    // Not snappy.
    let (status, _) = call(
        &f.state,
        post_write(b"garbage".to_vec(), "application/x-protobuf"),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // Unknown message type: 415 so a 2.0 sender falls back.
    let (status, _) = call(
        &f.state,
        post_write(
            write_request(&[(3000, 1.0)], "rw"),
            "application/x-protobuf;proto=foo.Bar",
        ),
    )
    .await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);

    let (_, body) = get(&f.state, "/api/v1/query?query=written&time=2").await;
    assert!(body.contains(r#""value":[2,"2.5"]"#), "{body}");
    let (_, body) = get(&f.state, "/api/v1/metadata?metric=written").await;
    assert_eq!(
        body,
        r#"{"status":"success","data":{"written":[{"type":"gauge","help":"a gauge","unit":""}]}}"#
    );
}

#[tokio::test]
async fn remote_write_v2_answers_with_written_headers() {
    use lgtm_proto::prometheus::write::v2;
    let f = fixture().await;
    let req = v2::Request {
        symbols: vec!["".into(), "__name__".into(), "v2_metric".into()],
        timeseries: vec![v2::TimeSeries {
            labels_refs: vec![1, 2],
            samples: vec![v2::Sample {
                value: 7.0,
                timestamp: 1000,
                ..Default::default()
            }],
            ..Default::default()
        }],
    };
    let body = snap::raw::Encoder::new()
        .compress_vec(&req.encode_to_vec())
        .unwrap();
    let resp = router(Arc::clone(&f.state))
        .oneshot(post_write(
            body,
            "application/x-protobuf;proto=io.prometheus.write.v2.Request",
        ))
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        resp.headers()["x-prometheus-remote-write-samples-written"],
        "1"
    );
    assert_eq!(
        resp.headers()["x-prometheus-remote-write-histograms-written"],
        "0"
    );
}

#[tokio::test]
async fn management_and_status_endpoints() {
    let f = fixture().await;
    let (status, body) = call(
        &f.state,
        Request::post("/-/reload").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::FORBIDDEN, "Lifecycle API is not enabled.")
    );
    let (_, body) = get(&f.state, "/api/v1/status/buildinfo").await;
    assert!(
        !body.contains("features") && body.contains(r#""version":"#),
        "{body}"
    );
    let (_, body) = get(&f.state, "/api/v1/status/tsdb").await;
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["data"]["headStats"]["numSeries"], 3);
    assert_eq!(
        v["data"]["seriesCountByMetricName"][0],
        serde_json::json!({"name": "http_requests_total", "value": 2})
    );
    let (_, body) = get(
        &f.state,
        "/api/v1/format_query?query=sum(rate(x%5B5m%5D))by(job)",
    )
    .await;
    assert_eq!(
        body,
        r#"{"status":"success","data":"sum by (job) (rate(x[5m]))"}"#
    );
}

#[tokio::test]
async fn remote_read_samples_and_streamed_chunks() {
    let f = fixture().await;
    let query = pb::Query {
        start_timestamp_ms: 0,
        end_timestamp_ms: 60_000,
        matchers: vec![pb::LabelMatcher {
            r#type: pb::label_matcher::Type::Eq as i32,
            name: "job".into(),
            value: "api".into(),
        }],
        hints: None,
    };
    let read = |types: Vec<i32>| {
        let req = pb::ReadRequest {
            queries: vec![query.clone()],
            accepted_response_types: types,
        };
        Request::post("/api/v1/read")
            .header("content-type", "application/x-protobuf")
            .header("content-encoding", "snappy")
            .body(Body::from(
                snap::raw::Encoder::new()
                    .compress_vec(&req.encode_to_vec())
                    .unwrap(),
            ))
            .unwrap()
    };
    let resp = router(Arc::clone(&f.state))
        .oneshot(read(vec![]))
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap();
    let decoded = pb::ReadResponse::decode(
        snap::raw::Decoder::new()
            .decompress_vec(&bytes)
            .unwrap()
            .as_slice(),
    )
    .unwrap();
    let series = &decoded.results[0].timeseries;
    assert_eq!(series.len(), 2, "http_requests_total and up of job api");
    assert_eq!(series[0].samples.len(), 5, "samples 0..=60s at 15s");
    assert_eq!(series[0].samples[4].value, 70.0);

    let resp = router(Arc::clone(&f.state))
        .oneshot(read(vec![
            pb::read_request::ResponseType::StreamedXorChunks as i32,
        ]))
        .await
        .unwrap();
    assert_eq!(
        resp.headers()["content-type"],
        "application/x-streamed-protobuf; proto=prometheus.ChunkedReadResponse"
    );
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap();
    // First frame: uvarint length, message, CRC32C big endian.
    let (len, mut pos) = {
        let (mut v, mut shift, mut i) = (0usize, 0, 0);
        loop {
            let b = bytes[i];
            v |= usize::from(b & 0x7f) << shift;
            i += 1;
            if b & 0x80 == 0 {
                break (v, i);
            }
            shift += 7;
        }
    };
    let message = &bytes[pos..pos + len];
    pos += len;
    assert_eq!(&bytes[pos..pos + 4], &crc32c::crc32c(message).to_be_bytes());
    let frame = pb::ChunkedReadResponse::decode(message).unwrap();
    let chunk = &frame.chunked_series[0].chunks[0];
    assert_eq!(chunk.r#type, pb::chunk::Encoding::Xor as i32);
    let samples: Vec<(i64, f64)> = crate::chunk::XorIter::new(&chunk.data)
        .map(Result::unwrap)
        .collect();
    // Chunks are cut to the query's range (0..=60 s at 15 s resolution).
    assert_eq!(samples.len(), 5);
    assert_eq!(samples[0], (0, 10.0));
    assert_eq!((chunk.min_time_ms, chunk.max_time_ms), (0, 60_000));
}

#[tokio::test]
async fn federate_answers_the_newest_samples_in_text_format() {
    let f = fixture().await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    f.state
        .db
        .append(&[
            SeriesSamples {
                labels: Labels::from_pairs([("__name__", "fed"), ("path", "a\"b\\c")]),
                samples: vec![(now - 2000, 1.0), (now - 1000, 2.5)],
            },
            SeriesSamples {
                labels: Labels::from_pairs([("__name__", "fed"), ("path", "x")]),
                samples: vec![(now - 1000, f64::INFINITY)],
            },
        ])
        .await
        .unwrap();
    let (status, body) = get(&f.state, "/federate?match[]=fed").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        format!(
            "# TYPE fed untyped\nfed{{path=\"a\\\"b\\\\c\"}} 2.5 {}\nfed{{path=\"x\"}} +Inf {}\n",
            now - 1000,
            now - 1000
        )
    );
    // Old data (the fixture's 1970 samples) is outside the lookback window.
    let (_, body) = get(&f.state, "/federate?match[]=up").await;
    assert_eq!(body, "");
}

#[tokio::test]
async fn exemplars_from_remote_write_are_queryable() {
    let f = fixture().await;
    let req = pb::WriteRequest {
        timeseries: vec![pb::TimeSeries {
            labels: vec![
                pb::Label {
                    name: "__name__".into(),
                    value: "http_request_duration_seconds_bucket".into(),
                },
                pb::Label {
                    name: "le".into(),
                    value: "0.5".into(),
                },
            ],
            samples: vec![pb::Sample {
                value: 3.0,
                timestamp: 5000,
            }],
            exemplars: vec![pb::Exemplar {
                labels: vec![pb::Label {
                    name: "trace_id".into(),
                    value: "4bf92f3577b34da6".into(),
                }],
                value: 0.42,
                timestamp: 4500,
            }],
            histograms: vec![],
        }],
        metadata: vec![],
    };
    let body = snap::raw::Encoder::new()
        .compress_vec(&req.encode_to_vec())
        .unwrap();
    let (status, _) = call(&f.state, post_write(body, "application/x-protobuf")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = get(
        &f.state,
        "/api/v1/query_exemplars?query=histogram_quantile(0.9,%20rate(http_request_duration_seconds_bucket%5B5m%5D))&start=0&end=10",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        r#"{"status":"success","data":[{"seriesLabels":{"__name__":"http_request_duration_seconds_bucket","le":"0.5"},"exemplars":[{"labels":{"trace_id":"4bf92f3577b34da6"},"value":"0.42","timestamp":4.500}]}]}"#
    );
    let (_, body) = get(&f.state, "/api/v1/query_exemplars?query=up&start=0&end=10").await;
    assert_eq!(body, r#"{"status":"success","data":[]}"#);
}
