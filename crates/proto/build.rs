//! Compiles `proto/**/*.proto` with protox (pure Rust, no system `protoc`) into a
//! `FileDescriptorSet` and hands it to prost-build, which writes one Rust file per protobuf
//! package into `OUT_DIR` (`prometheus.rs`, `logproto.rs`, `opentelemetry.proto.logs.v1.rs`, ...).
//! With the `grpc` feature, tonic client/server stubs for the `service` blocks are generated
//! into the same files.

use std::path::PathBuf;

/// Every `.proto` file we compile, relative to the top-level `proto/` folder.
/// Adding a file is one line here (plus a module line in `src/lib.rs` for a new package).
const PROTOS: &[&str] = &[
    "google/rpc/status.proto",
    "loki/push.proto",
    "opentelemetry/proto/collector/logs/v1/logs_service.proto",
    "opentelemetry/proto/collector/metrics/v1/metrics_service.proto",
    "opentelemetry/proto/collector/trace/v1/trace_service.proto",
    "opentelemetry/proto/common/v1/common.proto",
    "opentelemetry/proto/logs/v1/logs.proto",
    "opentelemetry/proto/metrics/v1/metrics.proto",
    "opentelemetry/proto/resource/v1/resource.proto",
    "opentelemetry/proto/trace/v1/trace.proto",
    "prometheus/io/prometheus/client/metrics.proto",
    "prometheus/io/prometheus/write/v2/types.proto",
    "prometheus/remote.proto",
    "prometheus/types.proto",
];

/// Fields that can be large and benefit from zero-copy `bytes::Bytes` slices of the input.
const BYTES_FIELDS: &[&str] = &[
    ".prometheus.Chunk.data",
    ".logproto.EntryAdapter.line",
    ".opentelemetry.proto.common.v1.AnyValue.bytes_value",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?).join("../../proto");
    println!("cargo:rerun-if-changed={}", root.display());
    for file in PROTOS {
        println!("cargo:rerun-if-changed={}", root.join(file).display());
    }

    // protox resolves google/protobuf/*.proto (Timestamp, Any) from its built-in copies.
    let fds = protox::compile(PROTOS, [&root])?;

    let mut config = prost_build::Config::new();
    config.bytes(BYTES_FIELDS);
    // `prost::Name` gives full names such as "prometheus.WriteRequest" for content negotiation.
    config.enable_type_names();
    #[cfg(feature = "grpc")]
    config.service_generator(
        // Transport-agnostic stubs: clients wrap any tonic `GrpcService` (e.g. a Channel the
        // caller builds with tonic's `transport` feature); servers are tower services.
        tonic_prost_build::configure()
            .build_transport(false)
            .service_generator(),
    );
    #[cfg(feature = "otlp-json")]
    otlp_json::configure(&mut config, &fds);
    config.compile_fds(fds)?;
    Ok(())
}

/// serde derives for the OTLP/JSON encoding, chosen per field from the descriptors.
///
/// Field and oneof matchers are written without the leading dot (prost-build "suffix" paths):
/// a dotted path would also match everything below it by prefix, e.g. a oneof's variants.
#[cfg(feature = "otlp-json")]
mod otlp_json {
    use prost_types::field_descriptor_proto::{Label, Type};
    use prost_types::{DescriptorProto, FileDescriptorSet};

    const DERIVE: &str = "#[derive(serde::Serialize, serde::Deserialize)]";

    /// Messages with hand-written impls in `src/otlp_json.rs` (the hot `AnyValue`, whose
    /// oneof would otherwise need `#[serde(flatten)]`, which buffers every value and turns a
    /// malformed value into "unset" instead of an error).
    const MANUAL: &[&str] = &["opentelemetry.proto.common.v1.AnyValue"];

    pub(super) fn configure(config: &mut prost_build::Config, fds: &FileDescriptorSet) {
        for file in &fds.file {
            let package = file.package();
            if package.starts_with("opentelemetry.proto") {
                for message in &file.message_type {
                    walk(config, package, message);
                }
            }
        }
        // OTLP/HTTP error bodies follow the request's encoding; `details` (Any) is left out.
        config.message_attribute(
            ".google.rpc.Status",
            format!("{DERIVE}\n#[serde(rename_all = \"camelCase\", default)]"),
        );
        config.field_attribute("google.rpc.Status.details", "#[serde(skip)]");
        config.field_attribute(
            "google.rpc.Status.code",
            "#[serde(skip_serializing_if = \"crate::otlp_json::is_default\")]",
        );
        config.field_attribute(
            "google.rpc.Status.message",
            "#[serde(skip_serializing_if = \"String::is_empty\")]",
        );
    }

    fn walk(config: &mut prost_build::Config, parent: &str, message: &DescriptorProto) {
        let path = format!("{parent}.{}", message.name());
        if MANUAL.contains(&path.as_str()) {
            return;
        }
        config.message_attribute(
            &path,
            format!("{DERIVE}\n#[serde(rename_all = \"camelCase\", default)]"),
        );
        for nested in &message.nested_type {
            walk(config, &path, nested);
        }
        for (index, oneof) in message.oneof_decl.iter().enumerate() {
            let synthetic = message
                .field
                .iter()
                .filter(|f| f.oneof_index == Some(index as i32))
                .all(|f| f.proto3_optional());
            if synthetic {
                continue;
            }
            let oneof_path = format!("{path}.{}", oneof.name());
            config.enum_attribute(
                &oneof_path,
                format!("{DERIVE}\n#[serde(rename_all = \"camelCase\")]"),
            );
            config.field_attribute(&oneof_path, "#[serde(flatten)]");
        }
        for field in &message.field {
            let in_oneof = field.oneof_index.is_some() && !field.proto3_optional();
            let field_path = if in_oneof {
                let oneof = &message.oneof_decl[field.oneof_index.unwrap_or_default() as usize];
                format!("{path}.{}.{}", oneof.name(), field.name())
            } else {
                format!("{path}.{}", field.name())
            };
            let repeated = field.label() == Label::Repeated;
            let mut attrs = Vec::new();
            if !in_oneof {
                let skip = if repeated {
                    "Vec::is_empty"
                } else if field.proto3_optional() || field.r#type() == Type::Message {
                    "Option::is_none"
                } else {
                    "crate::otlp_json::is_default"
                };
                attrs.push(format!("skip_serializing_if = \"{skip}\""));
            }
            let with = match (field.r#type(), repeated) {
                (Type::Int64 | Type::Sfixed64 | Type::Sint64, false) => Some("i64_str"),
                (Type::Uint64 | Type::Fixed64, false) => Some("u64_str"),
                (Type::Uint64 | Type::Fixed64, true) => Some("vec_u64_str"),
                (Type::Double, false) if field.proto3_optional() => Some("opt_f64_num"),
                (Type::Double, false) => Some("f64_num"),
                (Type::Double, true) => Some("vec_f64_num"),
                (Type::Bytes, false)
                    if matches!(field.name(), "trace_id" | "span_id" | "parent_span_id") =>
                {
                    Some("hex_id")
                }
                (Type::Bytes, false) => Some("base64"),
                (Type::Int64 | Type::Sfixed64 | Type::Sint64 | Type::Bytes, true) => {
                    panic!(
                        "otlp-json: no helper for repeated {:?} field {field_path}",
                        field.r#type()
                    )
                }
                _ => None,
            };
            if let Some(with) = with {
                attrs.push(format!("with = \"crate::otlp_json::{with}\""));
            }
            if !attrs.is_empty() {
                config.field_attribute(&field_path, format!("#[serde({})]", attrs.join(", ")));
            }
        }
    }
}
