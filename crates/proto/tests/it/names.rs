//! Fully qualified message names: these appear on the wire in Content-Type parameters
//! (`proto=prometheus.WriteRequest`, `proto=io.prometheus.write.v2.Request`,
//! `proto=prometheus.ChunkedReadResponse`) and in gRPC method paths.

use lgtm_proto::Name;

#[test]
fn full_names_match_upstream_packages() {
    assert_eq!(
        lgtm_proto::prometheus::WriteRequest::full_name(),
        "prometheus.WriteRequest"
    );
    assert_eq!(
        lgtm_proto::prometheus::ChunkedReadResponse::full_name(),
        "prometheus.ChunkedReadResponse"
    );
    assert_eq!(
        lgtm_proto::prometheus::write::v2::Request::full_name(),
        "io.prometheus.write.v2.Request"
    );
    assert_eq!(
        lgtm_proto::logproto::PushRequest::full_name(),
        "logproto.PushRequest"
    );
    assert_eq!(
        lgtm_proto::otlp::collector::logs::v1::ExportLogsServiceRequest::full_name(),
        "opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest"
    );
    assert_eq!(
        lgtm_proto::otlp::collector::trace::v1::ExportTraceServiceRequest::full_name(),
        "opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest"
    );
    assert_eq!(
        lgtm_proto::otlp::collector::metrics::v1::ExportMetricsServiceRequest::full_name(),
        "opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest"
    );
    assert_eq!(
        lgtm_proto::google::rpc::Status::full_name(),
        "google.rpc.Status"
    );
}
