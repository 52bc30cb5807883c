use axum::body::Body;
use http::Request;
use http_body_util::BodyExt;
use lgtm_common::clock::SystemClock;
use tower::ServiceExt;

use crate::config::Config;
use crate::server::LogStore;

async fn call(uri: &str) -> (u16, String) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config {
        auth_enabled: false,
        ..Config::default()
    };
    config.common.path_prefix = Some(dir.path().to_path_buf());
    let ls = LogStore::open(config, SystemClock::shared()).await.unwrap();
    let resp = ls
        .http()
        .build_router()
        .oneshot(Request::get(uri).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8(body.to_vec()).unwrap())
}

#[tokio::test]
async fn query_errors_are_plain_text_without_newline() {
    let (s, body) = call("/loki/api/v1/query_range?query=%7Bapp%3D%22a%22&start=1&end=2").await;
    assert_eq!(s, 400);
    assert_eq!(
        body,
        "parse error at line 1, col 9: syntax error: unexpected $end, expecting } or ,"
    );
    let (s, body) = call("/loki/api/v1/query?query=%7Bapp%3D%22a%22%7D").await;
    assert_eq!(s, 400);
    assert_eq!(
        body,
        "log queries are not supported as an instant query type, please change your query to a range query type"
    );
    let (s, body) =
        call("/loki/api/v1/query_range?query=%7Bapp%3D%22a%22%7D&start=0&end=3000000").await;
    assert_eq!(s, 400);
    assert_eq!(
        body,
        "the query time range exceeds the limit (query length: 833h20m0s, limit: 721h0m0s)"
    );
}

#[tokio::test]
async fn format_query_shapes() {
    let (s, body) = call("/loki/api/v1/format_query?query=%7Bapp%3D%22a%22%7D%7C%3D%22x%22").await;
    assert_eq!(
        (s, body.as_str()),
        (
            200,
            "{\"status\":\"success\",\"data\":\"{app=\\\"a\\\"} |= \\\"x\\\"\"}\n"
        )
    );
    let (s, body) = call("/loki/api/v1/format_query?query=%7B%7D").await;
    assert_eq!(s, 400);
    assert!(
        body.starts_with("{\"status\":\"invalid-query\",\"error\":\"parse error : queries require"),
        "{body}"
    );
}

#[tokio::test]
async fn empty_results_keep_loki_shapes() {
    let (s, body) = call("/loki/api/v1/query_range?query=%7Bapp%3D%22a%22%7D&start=1&end=2").await;
    assert_eq!(s, 200);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["data"]["result"], serde_json::json!([]));
    assert_eq!(v["data"]["resultType"], "streams");
    assert!(v["data"]["stats"]["summary"].is_object());
    let (_, body) = call("/loki/api/v1/series?start=1&end=2").await;
    assert_eq!(body, "{\"status\":\"success\",\"data\":[]}");
    let (_, body) = call("/loki/api/v1/index/stats?query=%7Bapp%3D%22a%22%7D&start=1&end=2").await;
    assert_eq!(
        body,
        "{\"streams\":0,\"chunks\":0,\"bytes\":0,\"entries\":0}"
    );
}
