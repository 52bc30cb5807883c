use axum::Router;
use axum::body::Body;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use serde::Deserialize;
use tower::ServiceExt;

use super::*;
use crate::error::{ErrorKind, HasErrorKind};

async fn body_of(resp: Response) -> (StatusCode, http::HeaderMap, String) {
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (status, headers, String::from_utf8(bytes.to_vec()).unwrap())
}

#[test]
fn success_envelope_field_order_and_omission() {
    #[derive(serde::Serialize)]
    #[serde(rename_all = "camelCase")]
    struct QueryData {
        result_type: &'static str,
        result: Vec<u8>,
    }
    let env = Envelope::success(QueryData {
        result_type: "vector",
        result: vec![],
    });
    assert_eq!(
        String::from_utf8(to_go_json(&env).unwrap()).unwrap(),
        r#"{"status":"success","data":{"resultType":"vector","result":[]}}"#
    );
    let env = Envelope::success(vec!["a"])
        .with_warnings(["w1".to_owned()])
        .with_infos(["i1".to_owned()]);
    assert_eq!(
        String::from_utf8(to_go_json(&env).unwrap()).unwrap(),
        r#"{"status":"success","data":["a"],"warnings":["w1"],"infos":["i1"]}"#
    );
    let env = Envelope::success(1)
        .with_warnings(["w".to_owned()])
        .with_order(FieldOrder::Loki);
    assert_eq!(
        String::from_utf8(to_go_json(&env).unwrap()).unwrap(),
        r#"{"status":"success","warnings":["w"],"data":1}"#
    );
    assert_eq!(
        String::from_utf8(to_go_json(&Envelope::<()>::empty()).unwrap()).unwrap(),
        r#"{"status":"success"}"#
    );
}

#[test]
fn go_json_escapes_html_like_encoding_json() {
    let s = "a<b>&c\u{2028}\u{2029}\"\\\n\u{1}é";
    assert_eq!(
        String::from_utf8(to_go_json(s).unwrap()).unwrap(),
        r#""a\u003cb\u003e\u0026c\u2028\u2029\"\\\n\u0001é""#
    );
}

#[tokio::test]
async fn prometheus_error_body_is_exact() {
    // Recorded from Prometheus 2.42 (see shared/reference/prometheus.md §1.1).
    let err = ApiError::<Prometheus>::invalid_param(
        "query",
        "1:5: parse error: unclosed left parenthesis",
    );
    let (status, headers, body) = body_of(err.into_response()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(headers[header::CONTENT_TYPE], "application/json");
    assert_eq!(
        body,
        r#"{"status":"error","errorType":"bad_data","error":"invalid parameter \"query\": 1:5: parse error: unclosed left parenthesis"}"#
    );

    let (status, _, body) = body_of(
        ApiError::<Prometheus>::new(
            ErrorKind::Timeout,
            "query timed out in expression evaluation",
        )
        .into_response(),
    )
    .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        body,
        r#"{"status":"error","errorType":"timeout","error":"query timed out in expression evaluation"}"#
    );

    let (status, _, body) =
        body_of(ApiError::<Prometheus>::unavailable("admin APIs disabled").into_response()).await;
    assert_eq!(status.as_u16(), 500);
    assert_eq!(
        body,
        r#"{"status":"error","errorType":"unavailable","error":"admin APIs disabled"}"#
    );

    let (status, _, _) =
        body_of(ApiError::<Prometheus>::new(ErrorKind::Canceled, "x").into_response()).await;
    assert_eq!(status.as_u16(), 499);

    let (_, _, body) = body_of(
        ApiError::<Prometheus>::execution("e")
            .with_data(serde_json::json!({"k":1}))
            .into_response(),
    )
    .await;
    assert_eq!(
        body,
        r#"{"status":"error","data":{"k":1},"errorType":"execution","error":"e"}"#
    );
}

#[tokio::test]
async fn loki_error_bodies_are_plain_text() {
    let (status, headers, body) = body_of(
        ApiError::<Loki>::bad_data("end timestamp must not be before or equal to start time")
            .into_response(),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(headers[header::CONTENT_TYPE], "text/plain; charset=utf-8");
    assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    assert_eq!(
        body,
        "end timestamp must not be before or equal to start time"
    );

    let (status, _, body) = body_of(
        ApiError::<Loki>::new(ErrorKind::Timeout, "context deadline exceeded").into_response(),
    )
    .await;
    assert_eq!(status, StatusCode::GATEWAY_TIMEOUT);
    assert_eq!(body, LOKI_DEADLINE_EXCEEDED);

    let (status, _, body) =
        body_of(ApiError::<Loki>::new(ErrorKind::Canceled, "context canceled").into_response())
            .await;
    assert_eq!(status.as_u16(), 499);
    assert_eq!(body, LOKI_CLIENT_CANCELED);

    let (status, _, body) =
        body_of(ApiError::<Text>::new(ErrorKind::Unauthorized, "no org id").into_response()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body, "no org id\n");
}

#[derive(Debug, thiserror::Error)]
enum SvcError {
    #[error("no such rule group {0:?}")]
    Missing(String),
    #[error("storage failed")]
    Storage,
}

impl HasErrorKind for SvcError {
    fn error_kind(&self) -> ErrorKind {
        match self {
            SvcError::Missing(_) => ErrorKind::NotFound,
            SvcError::Storage => ErrorKind::Internal,
        }
    }
}

async fn fails(flag: bool) -> Result<Envelope<u32>, ApiError> {
    if flag {
        Err(SvcError::Missing("g".into()))?;
    }
    Err(SvcError::Storage)?
}

#[tokio::test]
async fn service_errors_convert_with_question_mark() {
    let (status, _, body) = body_of(fails(true).await.into_response()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        body,
        r#"{"status":"error","errorType":"not_found","error":"no such rule group \"g\""}"#
    );
    let (status, _, _) = body_of(fails(false).await.into_response()).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
}

#[derive(Debug, Deserialize)]
struct Q {
    query: String,
}

fn router() -> Router {
    Router::new()
        .route(
            "/q",
            get(|Query(q, ..): Query<Q>| async move { Envelope::success(q.query) }),
        )
        .route(
            "/lq",
            get(|Query(q, ..): Query<Q, Loki>| async move { Envelope::success(q.query) }),
        )
        .route(
            "/j",
            post(|Json(v, ..): Json<serde_json::Value>| async move { Envelope::success(v) }),
        )
        .route("/p", get(params_handler).post(params_handler))
        .layer(axum::extract::DefaultBodyLimit::max(64))
}

async fn params_handler(p: Params) -> Envelope<serde_json::Value> {
    Envelope::success(serde_json::json!({
        "query": p.get("query"),
        "match": p.get_all("match[]").collect::<Vec<_>>(),
    }))
}

#[tokio::test]
async fn extractor_rejections_use_the_envelope() {
    let resp = router()
        .oneshot(Request::get("/q?nope=1").body(Body::empty()).unwrap())
        .await
        .unwrap();
    let (status, headers, body) = body_of(resp).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(headers[header::CONTENT_TYPE], "application/json");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["status"], "error");
    assert_eq!(v["errorType"], "bad_data");
    assert!(v["error"].as_str().unwrap().contains("query"), "{body}");

    let resp = router()
        .oneshot(Request::get("/lq?nope=1").body(Body::empty()).unwrap())
        .await
        .unwrap();
    let (status, headers, _) = body_of(resp).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(headers[header::CONTENT_TYPE], "text/plain; charset=utf-8");

    let resp = router()
        .oneshot(
            Request::post("/j")
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from("{not json"))
                .unwrap(),
        )
        .await
        .unwrap();
    let (status, _, body) = body_of(resp).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains(r#""errorType":"bad_data""#), "{body}");

    let resp = router()
        .oneshot(
            Request::post("/j")
                .header(header::CONTENT_TYPE, "text/plain")
                .body(Body::from("{}"))
                .unwrap(),
        )
        .await
        .unwrap();
    let (status, _, body) = body_of(resp).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(
        body.contains(r#""errorType":"unsupported_media_type""#),
        "{body}"
    );

    let big = format!("[{}1]", "1,".repeat(100));
    let resp = router()
        .oneshot(
            Request::post("/j")
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(big))
                .unwrap(),
        )
        .await
        .unwrap();
    let (status, _, body) = body_of(resp).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(
        body.contains(r#""errorType":"payload_too_large""#),
        "{body}"
    );
}

#[tokio::test]
async fn params_merge_form_body_before_query_string() {
    let resp = router()
        .oneshot(
            Request::post("/p?query=fromurl&match[]=c")
                .header(
                    header::CONTENT_TYPE,
                    "application/x-www-form-urlencoded; charset=utf-8",
                )
                .body(Body::from(
                    "query=up%7Bjob%3D%22a%22%7D&match[]=a&match%5B%5D=b",
                ))
                .unwrap(),
        )
        .await
        .unwrap();
    let (status, _, body) = body_of(resp).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        r#"{"status":"success","data":{"match":["a","b","c"],"query":"up{job=\"a\"}"}}"#
    );

    let resp = router()
        .oneshot(Request::get("/p?query=x+y").body(Body::empty()).unwrap())
        .await
        .unwrap();
    let (_, _, body) = body_of(resp).await;
    assert_eq!(
        body,
        r#"{"status":"success","data":{"match":[],"query":"x y"}}"#
    );

    let p = Params::<Prometheus>::from_urlencoded(b"a=&b=1");
    assert!(p.contains("a"));
    assert_eq!(p.get("a"), Some(""));
    assert_eq!(p.get_or_empty("zz"), "");
}

#[derive(Clone, Default)]
struct Capture(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Capture {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Capture {
    type Writer = Capture;
    fn make_writer(&'a self) -> Capture {
        self.clone()
    }
}

#[test]
fn client_errors_are_not_logged_server_errors_once() {
    let cap = Capture::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(cap.clone())
        .with_ansi(false)
        .finish();
    tracing::subscriber::with_default(subscriber, || {
        let _ = ApiError::<Prometheus>::bad_data("bad <input>").into_response();
        let _ = ApiError::<Loki>::new(ErrorKind::Canceled, "gone").into_response();
        let _ = ApiError::<Text>::new(ErrorKind::Unauthorized, "no org id").into_response();
    });
    assert!(cap.0.lock().unwrap().is_empty(), "client errors logged");
    let subscriber = tracing_subscriber::fmt()
        .with_writer(cap.clone())
        .with_ansi(false)
        .finish();
    tracing::subscriber::with_default(subscriber, || {
        let _ = ApiError::<Prometheus>::internal("disk on fire").into_response();
    });
    let out = String::from_utf8(cap.0.lock().unwrap().clone()).unwrap();
    assert_eq!(out.lines().count(), 1, "{out}");
    assert!(out.contains("ERROR"), "{out}");
    assert!(out.contains("disk on fire"), "{out}");
    assert!(out.contains("error_type=\"internal\""), "{out}");
}

#[tokio::test]
async fn error_messages_are_html_escaped_like_go() {
    let (_, _, body) = body_of(
        ApiError::<Prometheus>::bad_data("1:1: parse error: unexpected <EOF> & more")
            .into_response(),
    )
    .await;
    assert_eq!(
        body,
        r#"{"status":"error","errorType":"bad_data","error":"1:1: parse error: unexpected \u003cEOF\u003e \u0026 more"}"#
    );
}

#[tokio::test]
async fn envelope_content_type_override() {
    let (status, headers, body) = body_of(
        Envelope::success(["a"])
            .with_content_type("application/json; charset=UTF-8")
            .into_response(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        headers[header::CONTENT_TYPE],
        "application/json; charset=UTF-8"
    );
    assert_eq!(body, r#"{"status":"success","data":["a"]}"#);
    let (_, headers, _) = body_of(Envelope::success(1).into_response()).await;
    assert_eq!(headers[header::CONTENT_TYPE], "application/json");
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(128))]
    #[test]
    fn go_json_round_trips_and_never_emits_html(s in "\\PC*") {
        let bytes = to_go_json(&s).unwrap();
        let text = String::from_utf8(bytes).unwrap();
        proptest::prop_assert!(!text.contains('<') && !text.contains('>') && !text.contains('&'));
        let back: String = serde_json::from_str(&text).unwrap();
        proptest::prop_assert_eq!(back, s);
    }
}
