//! OTLP/HTTP logs (`POST /otlp/v1/logs`) mapped to Loki streams as Loki 3 does by default
//! (`pkg/loghttp/push/otlp.go`): the listed resource attributes become stream labels, every
//! other attribute (resource, scope, log record) becomes structured metadata, the body becomes
//! the line, and the record's severity, trace/span ids, flags and event name are kept as
//! structured metadata.

use std::collections::BTreeMap;

use lgtm_common::compress::{self, Encoding};
use lgtm_proto::otlp::collector::logs::v1::ExportLogsServiceRequest;
use lgtm_proto::otlp::common::v1::{AnyValue, KeyValue, any_value};
use prost::Message;

use super::decode::{DecodeError, RawEntry, RawStream};

/// Loki's default resource attributes promoted to index labels.
const INDEX_LABEL_ATTRIBUTES: &[&str] = &[
    "service.name",
    "service.namespace",
    "service.instance.id",
    "deployment.environment",
    "deployment.environment.name",
    "cloud.region",
    "cloud.availability_zone",
    "k8s.cluster.name",
    "k8s.namespace.name",
    "k8s.pod.name",
    "k8s.container.name",
    "container.name",
    "k8s.replicaset.name",
    "k8s.deployment.name",
    "k8s.statefulset.name",
    "k8s.daemonset.name",
    "k8s.cronjob.name",
    "k8s.job.name",
];

/// The Prometheus OTLP translator's label namer: characters outside `[a-zA-Z0-9_]` become
/// `_`, runs of `_` collapse, a leading digit gets `key_`; `__` prefixes are kept.
pub(crate) fn label_name(key: &str) -> String {
    if key.starts_with("__") {
        return key.to_owned();
    }
    let mut out = String::with_capacity(key.len() + 4);
    for c in key.chars() {
        let c = if c.is_ascii_alphanumeric() || c == '_' {
            c
        } else {
            '_'
        };
        if c == '_' && out.ends_with('_') {
            continue;
        }
        out.push(c);
    }
    if out.as_bytes().first().is_some_and(u8::is_ascii_digit) {
        out.insert_str(0, "key_");
    }
    out
}

fn json_of(v: &AnyValue) -> serde_json::Value {
    use any_value::Value as V;
    match &v.value {
        None => serde_json::Value::Null,
        Some(V::StringValue(s)) => s.clone().into(),
        Some(V::BoolValue(b)) => (*b).into(),
        Some(V::IntValue(i)) => (*i).into(),
        Some(V::DoubleValue(d)) => {
            serde_json::Number::from_f64(*d).map_or(serde_json::Value::Null, Into::into)
        }
        Some(V::BytesValue(b)) => lgtm_common::encoding::base64_encode(b).into(),
        Some(V::ArrayValue(a)) => a.values.iter().map(json_of).collect::<Vec<_>>().into(),
        Some(V::KvlistValue(m)) => m
            .values
            .iter()
            .map(|kv| {
                (
                    kv.key.clone(),
                    kv.value.as_ref().map_or(serde_json::Value::Null, json_of),
                )
            })
            .collect::<serde_json::Map<_, _>>()
            .into(),
    }
}

/// pcommon `Value.AsString`.
fn as_string(v: &AnyValue) -> String {
    use any_value::Value as V;
    match &v.value {
        None => String::new(),
        Some(V::StringValue(s)) => s.clone(),
        Some(V::BoolValue(b)) => b.to_string(),
        Some(V::IntValue(i)) => i.to_string(),
        Some(V::DoubleValue(d)) => crate::logql::units::go_float_f(*d),
        Some(V::BytesValue(b)) => lgtm_common::encoding::base64_encode(b),
        Some(V::ArrayValue(_) | V::KvlistValue(_)) => json_of(v).to_string(),
    }
}

/// Attributes flattened (`parent_child` for maps) into `(label name, value)`.
fn flatten(attrs: &[KeyValue], prefix: &str, out: &mut Vec<(String, String)>) {
    for kv in attrs {
        let name = if prefix.is_empty() {
            kv.key.clone()
        } else {
            format!("{prefix}_{}", kv.key)
        };
        match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
            Some(any_value::Value::KvlistValue(m)) => flatten(&m.values, &name, out),
            _ => out.push((
                label_name(&name),
                kv.value.as_ref().map(as_string).unwrap_or_default(),
            )),
        }
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Decodes an OTLP/HTTP logs body into streams.
pub(crate) fn decode(
    content_type: Option<&str>,
    content_encoding: Option<&str>,
    body: &[u8],
    max: usize,
    now_ns: i64,
) -> Result<Vec<RawStream>, DecodeError> {
    let encoding = match content_encoding.map(str::trim).unwrap_or("") {
        "" => Encoding::Identity,
        "gzip" => Encoding::Gzip,
        other => {
            return Err(DecodeError::Bad(format!(
                "unsupported content encoding {other}: only gzip, lz4 and zstd are supported"
            )));
        }
    };
    let body = compress::decompress(encoding, body, max)?;
    let ct = content_type
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim();
    let req: ExportLogsServiceRequest = match ct {
        "application/x-protobuf" => ExportLogsServiceRequest::decode(body.as_slice())
            .map_err(|e| DecodeError::Bad(e.to_string()))?,
        "application/json" => {
            serde_json::from_slice(&body).map_err(|e| DecodeError::Bad(e.to_string()))?
        }
        other => {
            return Err(DecodeError::Bad(format!(
                "content type: {other} is not supported"
            )));
        }
    };
    let mut streams: BTreeMap<Vec<(String, String)>, Vec<RawEntry>> = BTreeMap::new();
    for rl in req.resource_logs {
        let attrs = rl.resource.map(|r| r.attributes).unwrap_or_default();
        let mut labels = Vec::new();
        let mut resource_md = Vec::new();
        for kv in &attrs {
            if INDEX_LABEL_ATTRIBUTES.contains(&kv.key.as_str()) {
                flatten(std::slice::from_ref(kv), "", &mut labels);
            } else {
                flatten(std::slice::from_ref(kv), "", &mut resource_md);
            }
        }
        labels.retain(|(_, v)| !v.is_empty());
        if !labels.iter().any(|(n, _)| n == "service_name") {
            labels.push(("service_name".into(), "unknown_service".into()));
        }
        labels.sort();
        labels.dedup_by(|a, b| a.0 == b.0);
        let entries = streams.entry(labels).or_default();
        for sl in rl.scope_logs {
            let mut scope_md = Vec::new();
            if let Some(scope) = &sl.scope {
                flatten(&scope.attributes, "", &mut scope_md);
                if !scope.name.is_empty() {
                    scope_md.push(("scope_name".into(), scope.name.clone()));
                }
                if !scope.version.is_empty() {
                    scope_md.push(("scope_version".into(), scope.version.clone()));
                }
                if scope.dropped_attributes_count != 0 {
                    scope_md.push((
                        "scope_dropped_attributes_count".into(),
                        scope.dropped_attributes_count.to_string(),
                    ));
                }
            }
            for r in sl.log_records {
                let mut md = resource_md.clone();
                md.extend(scope_md.iter().cloned());
                flatten(&r.attributes, "", &mut md);
                let ts = if r.time_unix_nano != 0 {
                    r.time_unix_nano as i64
                } else if r.observed_time_unix_nano != 0 {
                    r.observed_time_unix_nano as i64
                } else {
                    now_ns
                };
                if r.time_unix_nano != 0 && r.observed_time_unix_nano != 0 {
                    md.push((
                        "observed_timestamp".into(),
                        r.observed_time_unix_nano.to_string(),
                    ));
                }
                if r.severity_number != 0 {
                    md.push(("severity_number".into(), r.severity_number.to_string()));
                }
                if !r.severity_text.is_empty() {
                    md.push(("severity_text".into(), r.severity_text.clone()));
                }
                if !r.trace_id.is_empty() {
                    md.push(("trace_id".into(), hex(&r.trace_id)));
                }
                if !r.span_id.is_empty() {
                    md.push(("span_id".into(), hex(&r.span_id)));
                }
                if r.flags != 0 {
                    md.push(("flags".into(), r.flags.to_string()));
                }
                if r.dropped_attributes_count != 0 {
                    md.push((
                        "dropped_attributes_count".into(),
                        r.dropped_attributes_count.to_string(),
                    ));
                }
                if !r.event_name.is_empty() {
                    md.push(("event_name".into(), r.event_name.clone()));
                }
                md.retain(|(_, v)| !v.is_empty());
                entries.push(RawEntry {
                    ts,
                    line: r.body.as_ref().map(as_string).unwrap_or_default(),
                    metadata: md,
                });
            }
        }
    }
    Ok(streams
        .into_iter()
        .filter(|(_, e)| !e.is_empty())
        .map(|(labels, entries)| RawStream { labels, entries })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use lgtm_proto::otlp::common::v1::InstrumentationScope;
    use lgtm_proto::otlp::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
    use lgtm_proto::otlp::resource::v1::Resource;

    fn kv(k: &str, v: any_value::Value) -> KeyValue {
        KeyValue {
            key: k.into(),
            value: Some(AnyValue { value: Some(v) }),
        }
    }

    #[test]
    fn names() {
        assert_eq!(label_name("service.name"), "service_name");
        assert_eq!(label_name("k8s..pod/name"), "k8s_pod_name");
        assert_eq!(label_name("123x"), "key_123x");
        assert_eq!(label_name("__keep.me"), "__keep.me");
    }

    #[test]
    fn maps_resources_scopes_and_records() {
        let s = |x: &str| any_value::Value::StringValue(x.into());
        let req = ExportLogsServiceRequest {
            resource_logs: vec![ResourceLogs {
                resource: Some(Resource {
                    attributes: vec![
                        kv("service.name", s("checkout")),
                        kv("k8s.pod.name", s("p-1")),
                        kv("host.name", s("node-a")),
                    ],
                    ..Default::default()
                }),
                scope_logs: vec![ScopeLogs {
                    scope: Some(InstrumentationScope {
                        name: "lib".into(),
                        ..Default::default()
                    }),
                    log_records: vec![LogRecord {
                        time_unix_nano: 5,
                        severity_number: 17,
                        severity_text: "ERROR".into(),
                        body: Some(AnyValue {
                            value: Some(s("boom")),
                        }),
                        attributes: vec![kv("http.status", any_value::Value::IntValue(500))],
                        trace_id: vec![0xab; 16],
                        ..Default::default()
                    }],
                    ..Default::default()
                }],
                ..Default::default()
            }],
        };
        let body = req.encode_to_vec();
        let got = decode(Some("application/x-protobuf"), None, &body, 1 << 20, 99).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(
            got[0].labels,
            vec![
                ("k8s_pod_name".into(), "p-1".into()),
                ("service_name".into(), "checkout".into())
            ]
        );
        let e = &got[0].entries[0];
        assert_eq!((e.ts, e.line.as_str()), (5, "boom"));
        let md: BTreeMap<_, _> = e.metadata.iter().cloned().collect();
        assert_eq!(md["host_name"], "node-a");
        assert_eq!(md["scope_name"], "lib");
        assert_eq!(md["http_status"], "500");
        assert_eq!(md["severity_number"], "17");
        assert_eq!(md["trace_id"], "ab".repeat(16));
        let err = decode(Some("text/plain"), None, &body, 1 << 20, 0).unwrap_err();
        assert_eq!(err.to_string(), "content type: text/plain is not supported");
    }
}
