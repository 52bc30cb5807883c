//! The protobuf messages the stack speaks on the wire: Prometheus remote write 1.0/2.0 and
//! remote read, the Prometheus protobuf scrape format, Loki push (`logproto`), OTLP
//! logs/metrics/traces and `google.rpc.Status`.
//!
//! The `.proto` sources live in the top-level `proto/` folder and are compiled at build time
//! by protox + prost-build (no system `protoc`, no generated code in the tree). Package,
//! message and field numbers match the upstream definitions exactly; see `docs/common.md`.
//!
//! Bodies on the HTTP push paths are snappy *block* format; this crate only models the
//! protobuf layer and leaves (bounded) decompression to the callers.
//!
//! Feature `grpc` (off by default) adds tonic client/server stubs for `logproto.Pusher` and
//! the OTLP `LogsService`/`MetricsService`/`TraceService` (modules `*_client`/`*_server` next
//! to the messages). Feature `otlp-json` adds serde impls for the OTLP messages in the
//! OTLP/JSON encoding (hex ids, 64-bit integers as strings, enums as integers).

/// Zero-copy buffer used for large `bytes` fields (e.g. remote-read chunk data).
pub use bytes::Bytes;
/// prost itself and its traits, so callers need not pin a matching prost version.
pub use prost::{self, Message, Name};
/// Well-known types (`Timestamp` in Loki entries, `Any` in `google.rpc.Status`).
pub use prost_types;
/// The tonic version the `grpc` stubs are generated for (implement the server traits with
/// `#[tonic::async_trait]`).
#[cfg(feature = "grpc")]
pub use tonic;

#[cfg(feature = "otlp-json")]
mod otlp_json;

/// Includes the prost output for one protobuf package from `OUT_DIR`.
macro_rules! include_package {
    ($package:literal) => {
        include!(concat!(env!("OUT_DIR"), "/", $package, ".rs"));
    };
}

/// Prometheus remote write 1.0 (`prometheus.WriteRequest`) and remote read messages.
pub mod prometheus {
    include_package!("prometheus");

    /// Protobuf scrape format (`io.prometheus.client.MetricFamily`, length-delimited stream).
    pub mod client {
        include_package!("io.prometheus.client");
    }

    /// Prometheus remote write 2.0 (`io.prometheus.write.v2.Request`).
    pub mod write {
        /// Version 2.0 of the remote write protocol (string-interned labels).
        pub mod v2 {
            include_package!("io.prometheus.write.v2");
        }
    }
}

/// Loki's push API (`logproto.PushRequest`, gRPC `logproto.Pusher/Push`).
pub mod logproto {
    include_package!("logproto");
}

/// OpenTelemetry protocol (package `opentelemetry.proto.*`): data model and export services.
pub mod otlp {
    /// Attribute values, key/values and instrumentation scopes.
    pub mod common {
        /// OTLP v1 common types.
        pub mod v1 {
            include_package!("opentelemetry.proto.common.v1");
        }
    }

    /// The resource (service/pod/host) that emitted the telemetry.
    pub mod resource {
        /// OTLP v1 resource.
        pub mod v1 {
            include_package!("opentelemetry.proto.resource.v1");
        }
    }

    /// Metrics data model.
    pub mod metrics {
        /// OTLP v1 metrics.
        pub mod v1 {
            include_package!("opentelemetry.proto.metrics.v1");
        }
    }

    /// Logs data model.
    pub mod logs {
        /// OTLP v1 logs.
        pub mod v1 {
            include_package!("opentelemetry.proto.logs.v1");
        }
    }

    /// Traces data model.
    pub mod trace {
        /// OTLP v1 traces.
        pub mod v1 {
            include_package!("opentelemetry.proto.trace.v1");
        }
    }

    /// Export requests/responses of the OTLP gRPC services and OTLP/HTTP bodies.
    pub mod collector {
        /// `LogsService/Export` messages.
        pub mod logs {
            /// OTLP v1 logs export.
            pub mod v1 {
                include_package!("opentelemetry.proto.collector.logs.v1");
            }
        }

        /// `MetricsService/Export` messages.
        pub mod metrics {
            /// OTLP v1 metrics export.
            pub mod v1 {
                include_package!("opentelemetry.proto.collector.metrics.v1");
            }
        }

        /// `TraceService/Export` messages.
        pub mod trace {
            /// OTLP v1 trace export.
            pub mod v1 {
                include_package!("opentelemetry.proto.collector.trace.v1");
            }
        }
    }
}

/// Canonical path `opentelemetry::proto::...` for generated code of other packages (Tempo's
/// `tempopb` imports OTLP traces) that refers to OTLP types through `super::opentelemetry`.
#[doc(hidden)]
pub mod opentelemetry {
    pub use super::otlp as proto;
}

/// `google.rpc.Status`: the error body of OTLP/HTTP responses.
pub mod google {
    /// Google RPC types.
    pub mod rpc {
        include_package!("google.rpc");
    }
}
