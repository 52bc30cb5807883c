//! gRPC stubs (feature `grpc`): method paths and service names clients call by name, driven
//! in-process through the generated tower services with hand-framed gRPC messages.

use crate::loki::{PUSH_REQUEST, push_request};
use http_body_util::{BodyExt, Full};
use lgtm_proto::logproto::pusher_client::PusherClient;
use lgtm_proto::logproto::pusher_server::{Pusher, PusherServer};
use lgtm_proto::logproto::{PushRequest, PushResponse};
use lgtm_proto::{Bytes, tonic};
use std::sync::{Arc, Mutex};
use tower::ServiceExt;

#[derive(Debug, Default, Clone)]
struct Capture(Arc<Mutex<Vec<PushRequest>>>);

#[tonic::async_trait]
impl Pusher for Capture {
    async fn push(
        &self,
        request: tonic::Request<PushRequest>,
    ) -> Result<tonic::Response<PushResponse>, tonic::Status> {
        self.0.lock().unwrap().push(request.into_inner());
        Ok(tonic::Response::new(PushResponse {}))
    }
}

/// gRPC length-prefixed message: compressed flag (0), 4-byte big-endian length, payload.
fn grpc_frame(payload: &[u8]) -> Bytes {
    let mut out = vec![0u8];
    out.extend((payload.len() as u32).to_be_bytes());
    out.extend_from_slice(payload);
    out.into()
}

fn grpc_post(path: &str, payload: &[u8]) -> http::Request<Full<Bytes>> {
    http::Request::post(path)
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .body(Full::new(grpc_frame(payload)))
        .unwrap()
}

#[tokio::test]
async fn pusher_server_answers_logproto_pusher_push() {
    let capture = Capture::default();
    let response = PusherServer::new(capture.clone())
        .oneshot(grpc_post("/logproto.Pusher/Push", PUSH_REQUEST))
        .await
        .unwrap();
    assert_eq!(response.status(), http::StatusCode::OK);
    let body = response.into_body().collect().await.unwrap();
    let trailers = body.trailers().cloned().unwrap_or_default();
    assert_eq!(trailers.get("grpc-status").unwrap(), "0");
    // One frame holding the empty PushResponse.
    assert_eq!(body.to_bytes().as_ref(), [0, 0, 0, 0, 0]);
    assert_eq!(*capture.0.lock().unwrap(), [push_request()]);
}

#[tokio::test]
async fn unknown_method_is_unimplemented() {
    let response = PusherServer::new(Capture::default())
        .oneshot(grpc_post("/logproto.Pusher/Tail", &[]))
        .await
        .unwrap();
    let grpc_status = response.headers().get("grpc-status").unwrap();
    assert_eq!(grpc_status, "12"); // UNIMPLEMENTED
}

#[tokio::test]
async fn client_and_server_talk_in_process() {
    let capture = Capture::default();
    let mut client = PusherClient::new(PusherServer::new(capture.clone()));
    let reply = client.push(push_request()).await.unwrap();
    assert_eq!(reply.into_inner(), PushResponse {});
    assert_eq!(*capture.0.lock().unwrap(), [push_request()]);
}

#[test]
fn service_names_match_upstream() {
    use lgtm_proto::otlp::collector;
    assert_eq!(
        lgtm_proto::logproto::pusher_server::SERVICE_NAME,
        "logproto.Pusher"
    );
    assert_eq!(
        collector::logs::v1::logs_service_server::SERVICE_NAME,
        "opentelemetry.proto.collector.logs.v1.LogsService"
    );
    assert_eq!(
        collector::metrics::v1::metrics_service_server::SERVICE_NAME,
        "opentelemetry.proto.collector.metrics.v1.MetricsService"
    );
    assert_eq!(
        collector::trace::v1::trace_service_server::SERVICE_NAME,
        "opentelemetry.proto.collector.trace.v1.TraceService"
    );
}
