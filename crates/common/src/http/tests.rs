use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::response::Response;
use axum::routing::{get, post};
use http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tower::ServiceExt;

use super::*;
use crate::api::{BoundedBytes, ErrorStyle, Loki};
use crate::metrics::Registry;
use crate::tenant::{Tenant, TenantConfig};

async fn text(resp: Response) -> (StatusCode, http::HeaderMap, String) {
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (status, headers, String::from_utf8(bytes.to_vec()).unwrap())
}

fn service() -> Router {
    Router::new()
        .route(
            "/loki/api/v1/push",
            post(|b: BoundedBytes| async move { b.0.len().to_string() }),
        )
        .route("/loki/api/v1/label/{name}/values", get(|| async { "ok" }))
        .route("/who", get(|t: Tenant| async move { t.id() }))
        .route(
            "/lpush",
            post(|b: BoundedBytes<Loki>| async move { b.0.len().to_string() }),
        )
}

fn get_req(uri: &str) -> Request<Body> {
    Request::get(uri).body(Body::empty()).unwrap()
}

#[tokio::test]
async fn readiness_flag_drives_ready_endpoint() {
    let ready = Readiness::not_ready("Ingester not ready: waiting\n");
    let app = HttpServer::builder("log-store")
        .router(service())
        .readiness(ready.clone())
        .build_router();
    let (status, _, body) = text(app.clone().oneshot(get_req("/ready")).await.unwrap()).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body, "Ingester not ready: waiting\n");
    ready.set_ready();
    let (status, headers, body) = text(app.oneshot(get_req("/ready")).await.unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, "ready\n");
    assert_eq!(headers[header::CONTENT_TYPE], "text/plain; charset=utf-8");
}

#[tokio::test]
async fn prometheus_ready_and_healthy_texts() {
    let ready = Readiness::not_ready("replaying WAL");
    let app = HttpServer::builder("metrics-tsdb")
        .readiness(ready.clone())
        .ready_endpoint(Some(ReadyEndpoint::prometheus("Prometheus Server")))
        .build_router();
    let (status, _, body) = text(app.clone().oneshot(get_req("/-/ready")).await.unwrap()).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body, "Service Unavailable");
    let (status, _, body) = text(app.clone().oneshot(get_req("/-/healthy")).await.unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, "Prometheus Server is Healthy.\n");
    ready.set_ready();
    let (_, _, body) = text(app.clone().oneshot(get_req("/-/ready")).await.unwrap()).await;
    assert_eq!(body, "Prometheus Server is Ready.\n");
    let head = Request::head("/-/ready").body(Body::empty()).unwrap();
    let (status, _, body) = text(app.oneshot(head).await.unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, "");
}

#[tokio::test]
async fn api_routes_gated_on_readiness() {
    let ready = Readiness::not_ready("replaying WAL");
    let app = HttpServer::builder("metrics-tsdb")
        .router(Router::new().route("/api/v1/query", get(|| async { "{}" })))
        .readiness(ready.clone())
        .ready_endpoint(Some(ReadyEndpoint::prometheus("Prometheus Server")))
        .gate_on_readiness(true)
        .build_router();
    let (status, _, body) =
        text(app.clone().oneshot(get_req("/api/v1/query")).await.unwrap()).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body, "Service Unavailable");
    // Liveness and metrics are not gated.
    let (status, _, _) = text(app.clone().oneshot(get_req("/-/healthy")).await.unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, _) = text(app.clone().oneshot(get_req("/metrics")).await.unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    ready.set_ready();
    let (status, _, body) = text(app.oneshot(get_req("/api/v1/query")).await.unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, "{}");
}

#[tokio::test]
async fn unknown_path_is_go_not_found() {
    let app = HttpServer::builder("x").build_router();
    let (status, headers, body) = text(app.oneshot(get_req("/nope")).await.unwrap()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body, "404 page not found\n");
    assert_eq!(headers[header::CONTENT_TYPE], "text/plain; charset=utf-8");
}

#[tokio::test]
async fn body_limit_answers_413_in_style() {
    let app = HttpServer::builder("log-store")
        .router(service())
        .body_limit(16)
        .build_router();
    // Declared length over the limit: refused before the handler.
    let req = Request::post("/loki/api/v1/push")
        .header(header::CONTENT_LENGTH, "17")
        .body(Body::from(vec![b'x'; 17]))
        .unwrap();
    let (status, headers, body) = text(app.clone().oneshot(req).await.unwrap()).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(headers[header::CONTENT_TYPE], "application/json");
    assert_eq!(
        body,
        r#"{"status":"error","errorType":"payload_too_large","error":"message size too large than max (17 vs 16)"}"#
    );
    // Streamed body without a length: cut at the limit inside the extractor.
    let stream = futures::stream::iter(vec![
        Ok::<_, std::io::Error>(bytes::Bytes::from(vec![b'x'; 10])),
        Ok(bytes::Bytes::from(vec![b'y'; 10])),
    ]);
    let req = Request::post("/lpush")
        .body(Body::from_stream(stream))
        .unwrap();
    let (status, headers, _) = text(app.clone().oneshot(req).await.unwrap()).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(headers[header::CONTENT_TYPE], "text/plain; charset=utf-8");
    // At the limit: accepted, larger than axum's own 2 MiB default is checked below.
    let req = Request::post("/loki/api/v1/push")
        .body(Body::from(vec![b'x'; 16]))
        .unwrap();
    let (status, _, body) = text(app.oneshot(req).await.unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, "16");

    let app = HttpServer::builder("log-store")
        .router(service())
        .error_style(ErrorStyle::Text)
        .build_router();
    let req = Request::post("/loki/api/v1/push")
        .body(Body::from(vec![b'x'; 3 << 20]))
        .unwrap();
    let (status, _, body) = text(app.oneshot(req).await.unwrap()).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "axum's 2 MiB default must not apply"
    );
    assert_eq!(body, (3 << 20).to_string());
}

#[tokio::test]
async fn tenant_header_handling() {
    let app = HttpServer::builder("log-store")
        .router(service())
        .tenant(TenantConfig::multi())
        .require_tenant(true)
        .readiness(Readiness::ready())
        .build_router();
    let (status, _, body) = text(app.clone().oneshot(get_req("/who")).await.unwrap()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body, "no org id\n");
    let req = Request::get("/who")
        .header("X-Scope-OrgID", "team-a")
        .body(Body::empty())
        .unwrap();
    let (status, _, body) = text(app.clone().oneshot(req).await.unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, "team-a");
    // Readiness and metrics need no tenant.
    let (status, _, _) = text(app.clone().oneshot(get_req("/ready")).await.unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, _) = text(app.oneshot(get_req("/metrics")).await.unwrap()).await;
    assert_eq!(status, StatusCode::OK);

    // Single-tenant default: `fake`.
    let app = HttpServer::builder("log-store")
        .router(service())
        .build_router();
    let (_, _, body) = text(app.oneshot(get_req("/who")).await.unwrap()).await;
    assert_eq!(body, "fake");
}

#[tokio::test]
async fn dskit_request_metrics_are_exposed() {
    let registry = Registry::new();
    let app = HttpServer::builder("log-store")
        .router(service())
        .registry(registry.clone())
        .request_metrics(RequestMetricsStyle::Dskit {
            namespace: "loki".to_owned(),
        })
        .build_router();
    let _ = app
        .clone()
        .oneshot(get_req("/loki/api/v1/label/job/values"))
        .await
        .unwrap();
    let _ = app.clone().oneshot(get_req("/nope")).await.unwrap();
    let (status, headers, body) = text(app.oneshot(get_req("/metrics")).await.unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        headers[header::CONTENT_TYPE],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    assert!(
        body.contains("loki_request_duration_seconds_count{method=\"GET\",route=\"loki_api_v1_label_name_values\",status_code=\"200\",ws=\"false\"} 1\n"),
        "{body}"
    );
    assert!(
        body.contains("loki_request_duration_seconds_count{method=\"GET\",route=\"other\",status_code=\"404\",ws=\"false\"} 1\n"),
        "{body}"
    );
    assert!(
        body.contains("# TYPE loki_inflight_requests gauge\n"),
        "{body}"
    );
    // The in-flight gauge went back to 0 after the request.
    assert!(
        body.contains(
            "loki_inflight_requests{method=\"GET\",route=\"loki_api_v1_label_name_values\"} 0\n"
        ),
        "{body}"
    );
}

#[tokio::test]
async fn prometheus_request_metrics_are_exposed() {
    let registry = Registry::new();
    let app = HttpServer::builder("metrics-tsdb")
        .router(Router::new().route("/api/v1/query", get(|| async { "{}" })))
        .registry(registry.clone())
        .request_metrics(RequestMetricsStyle::Prometheus {
            prefix: "prometheus".to_owned(),
        })
        .build_router();
    let _ = app.clone().oneshot(get_req("/api/v1/query")).await.unwrap();
    let body = registry.encode_text().unwrap();
    assert!(
        body.contains("prometheus_http_requests_total{code=\"200\",handler=\"/api/v1/query\"} 1\n"),
        "{body}"
    );
    assert!(
        body.contains(
            "prometheus_http_request_duration_seconds_count{handler=\"/api/v1/query\"} 1\n"
        ),
        "{body}"
    );
    assert!(
        body.contains("prometheus_http_response_size_bytes_sum{handler=\"/api/v1/query\"} 2.0\n")
            || body
                .contains("prometheus_http_response_size_bytes_sum{handler=\"/api/v1/query\"} 2\n"),
        "{body}"
    );
}

#[test]
fn dskit_route_names() {
    assert_eq!(dskit_route_name("/loki/api/v1/push"), "loki_api_v1_push");
    assert_eq!(dskit_route_name("/api/prom/push"), "api_prom_push");
    assert_eq!(
        dskit_route_name("/loki/api/v1/label/{name}/values"),
        "loki_api_v1_label_name_values"
    );
    assert_eq!(dskit_route_name("/ready"), "ready");
    assert_eq!(
        dskit_route_name("/api/v2/search/tag/{tag}/values"),
        "api_v2_search_tag_tag_values"
    );
}

async fn raw_get(addr: std::net::SocketAddr, path: &str) -> std::io::Result<String> {
    let mut s = TcpStream::connect(addr).await?;
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes())
        .await?;
    let mut out = String::new();
    s.read_to_string(&mut out).await?;
    Ok(out)
}

#[tokio::test]
async fn graceful_shutdown_drains_in_flight_and_refuses_new() {
    let (started_tx, started_rx) = tokio::sync::oneshot::channel::<()>();
    let started_tx = std::sync::Arc::new(parking_lot::Mutex::new(Some(started_tx)));
    let slow = Router::new().route(
        "/slow",
        get(move || {
            let started_tx = started_tx.clone();
            async move {
                if let Some(tx) = started_tx.lock().take() {
                    let _ = tx.send(());
                }
                tokio::time::sleep(Duration::from_millis(400)).await;
                "slow done"
            }
        }),
    );
    let ready = Readiness::ready();
    let server = HttpServer::builder("test")
        .router(slow)
        .readiness(ready.clone())
        .drain_timeout(Duration::from_secs(5))
        .bind("127.0.0.1:0")
        .await
        .unwrap();
    let addr = server.local_addr();
    assert_ne!(addr.port(), 0);
    let token = CancellationToken::new();
    let serving = tokio::spawn(server.serve(token.clone()));

    let in_flight = tokio::spawn(raw_get(addr, "/slow"));
    started_rx.await.unwrap();
    token.cancel();

    // New connections are refused once the listener is closed.
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        match TcpStream::connect(addr).await {
            Err(_) => break,
            Ok(_) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(10)).await
            }
            Ok(_) => panic!("server still accepting after shutdown"),
        }
    }
    assert!(!ready.is_ready(), "shutdown turns the service not ready");

    let resp = in_flight.await.unwrap().unwrap();
    assert!(resp.starts_with("HTTP/1.1 200 OK"), "{resp}");
    assert!(resp.ends_with("slow done"), "{resp}");
    serving.await.unwrap().unwrap();
}

#[tokio::test]
async fn drain_deadline_bounds_shutdown() {
    let (started_tx, started_rx) = tokio::sync::oneshot::channel::<()>();
    let started_tx = std::sync::Arc::new(parking_lot::Mutex::new(Some(started_tx)));
    let stuck = Router::new().route(
        "/stuck",
        get(move || {
            let started_tx = started_tx.clone();
            async move {
                if let Some(tx) = started_tx.lock().take() {
                    let _ = tx.send(());
                }
                tokio::time::sleep(Duration::from_secs(30)).await;
                "never"
            }
        }),
    );
    let server = HttpServer::builder("test")
        .router(stuck)
        .drain_timeout(Duration::from_millis(200))
        .bind("127.0.0.1:0")
        .await
        .unwrap();
    let addr = server.local_addr();
    let token = CancellationToken::new();
    let serving = tokio::spawn(server.serve(token.clone()));
    let _client = tokio::spawn(raw_get(addr, "/stuck"));
    started_rx.await.unwrap();
    let t0 = Instant::now();
    token.cancel();
    tokio::time::timeout(Duration::from_secs(5), serving)
        .await
        .expect("serve returned after the drain deadline")
        .unwrap()
        .unwrap();
    let took = t0.elapsed();
    assert!(took >= Duration::from_millis(150), "{took:?}");
    assert!(took < Duration::from_secs(3), "{took:?}");
}

#[tokio::test]
async fn real_socket_serves_metrics_and_ready() {
    let registry = Registry::with_process_metrics();
    let server = HttpServer::builder("test")
        .registry(registry)
        .readiness(Readiness::ready())
        .bind("127.0.0.1:0")
        .await
        .unwrap();
    let addr = server.local_addr();
    let token = CancellationToken::new();
    let serving = tokio::spawn(server.serve(token.clone()));
    let ready = raw_get(addr, "/ready").await.unwrap();
    assert!(ready.starts_with("HTTP/1.1 200 OK"), "{ready}");
    assert!(ready.ends_with("\r\n\r\nready\n"), "{ready}");
    let metrics = raw_get(addr, "/metrics").await.unwrap();
    assert!(
        metrics.contains("content-type: text/plain; version=0.0.4; charset=utf-8"),
        "{metrics}"
    );
    if cfg!(target_os = "linux") {
        assert!(
            metrics.contains("\nprocess_resident_memory_bytes "),
            "{metrics}"
        );
    }
    token.cancel();
    serving.await.unwrap().unwrap();
}
