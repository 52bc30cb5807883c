//! Wire-compatibility tests for `lgtm-proto`.
//!
//! Expected bytes are assembled independently of prost, straight from the protobuf encoding
//! spec (<https://protobuf.dev/programming-guides/encoding/>) by the small `wire` module, whose
//! own tests pin it to the spec's worked examples. Each message test both decodes the
//! hand-built bytes and checks that our encoder reproduces them byte for byte (Go's protobuf
//! runtime, which every upstream sender uses, writes fields in field-number order, packs
//! repeated scalars and omits proto3 defaults, as assembled here).

mod differential;
#[cfg(feature = "grpc")]
mod grpc;
mod loki;
mod names;
mod otlp;
#[cfg(feature = "otlp-json")]
mod otlp_json;
mod prometheus_v1;
mod prometheus_v2;
mod remote_read;
mod scrape;
mod snappy;
mod wire;
