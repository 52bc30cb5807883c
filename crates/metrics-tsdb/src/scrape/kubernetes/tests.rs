//! Tests of Kubernetes discovery against a fake API server (axum on loopback) serving canned
//! `v1` and `discovery.k8s.io/v1` lists, with label selectors, namespaces and WATCH.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, Uri};
use axum::response::IntoResponse;
use parking_lot::Mutex;
use serde_json::{Value, json};

use super::client::{ApiClient, Connection};
use super::*;
use crate::config::{Config, ScrapeConfig};
use crate::scrape::discovery::{FileDiscovery, discover};
use crate::scrape::target::targets_from_groups;

/// A request the fake saw: path, query, `Authorization`.
type Seen = (String, BTreeMap<String, String>, Option<String>);

#[derive(Default)]
struct Fake {
    objects: Mutex<BTreeMap<&'static str, Vec<Value>>>,
    requests: Mutex<Vec<Seen>>,
    /// Answer every request with 503.
    down: std::sync::atomic::AtomicBool,
    /// Open WATCH streams: the plural watched and the sender of its lines.
    watchers: Mutex<Vec<(&'static str, tokio::sync::mpsc::UnboundedSender<String>)>>,
}

impl Fake {
    /// Sends a WATCH event to every open watch of `plural`.
    fn emit(&self, plural: &str, event: Value) {
        let line = format!("{event}\n");
        self.watchers
            .lock()
            .retain(|(p, tx)| *p != plural || tx.send(line.clone()).is_ok());
    }

    fn lists_of(&self, plural: &str) -> usize {
        self.requests
            .lock()
            .iter()
            .filter(|r| r.0.ends_with(plural) && !r.1.contains_key("watch"))
            .count()
    }

    async fn wait_for_watch(&self, plural: &str) {
        for _ in 0..200 {
            if self.watchers.lock().iter().any(|(p, _)| *p == plural) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("no watch of {plural}");
    }
}

fn plural_of(path: &str) -> Option<(&'static str, Option<String>)> {
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    let plural = match *parts.last()? {
        "pods" => "pods",
        "nodes" => "nodes",
        "services" => "services",
        "endpoints" => "endpoints",
        "endpointslices" => "endpointslices",
        "ingresses" => "ingresses",
        "namespaces" => "namespaces",
        _ => return None,
    };
    let ns = parts
        .iter()
        .position(|p| *p == "namespaces")
        .and_then(|i| parts.get(i + 1))
        .map(|s| (*s).to_owned());
    Some((plural, ns))
}

fn selected(obj: &Value, selector: Option<&String>) -> bool {
    let Some(selector) = selector else {
        return true;
    };
    selector.split(',').all(|term| {
        let (k, v) = term.split_once('=').unwrap_or((term, ""));
        obj["metadata"]["labels"][k].as_str() == Some(v)
    })
}

async fn handle(
    State(fake): State<Arc<Fake>>,
    uri: Uri,
    headers: HeaderMap,
    Query(query): Query<BTreeMap<String, String>>,
) -> axum::response::Response {
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    fake.requests
        .lock()
        .push((uri.path().to_owned(), query.clone(), auth.clone()));
    if fake.down.load(std::sync::atomic::Ordering::SeqCst) {
        return (axum::http::StatusCode::SERVICE_UNAVAILABLE, "down").into_response();
    }
    if auth.as_deref() == Some("Bearer forbidden") {
        let status = json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "Forbidden", "code": 403,
            "message": "pods is forbidden: User \"system:serviceaccount:monitoring:prometheus\" cannot list resource \"pods\" in API group \"\" at the cluster scope"});
        return (axum::http::StatusCode::FORBIDDEN, axum::Json(status)).into_response();
    }
    let Some((plural, ns)) = plural_of(uri.path()) else {
        return (axum::http::StatusCode::NOT_FOUND, "404 page not found").into_response();
    };
    if query.get("watch").map(String::as_str) == Some("1") {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<String>();
        fake.watchers.lock().push((plural, tx));
        let lines = futures::stream::unfold(rx, |mut rx| async move {
            let line = rx.recv().await?;
            Some((Ok::<_, std::io::Error>(line), rx))
        });
        return axum::body::Body::from_stream(lines).into_response();
    }
    let items: Vec<Value> = fake
        .objects
        .lock()
        .get(plural)
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|o| {
            ns.as_deref()
                .is_none_or(|ns| o["metadata"]["namespace"] == ns)
        })
        .filter(|o| selected(o, query.get("labelSelector")))
        .collect();
    axum::Json(json!({"kind": "List", "apiVersion": "v1", "metadata": {"resourceVersion": "42"}, "items": items}))
        .into_response()
}

async fn fake_server() -> (Arc<Fake>, String) {
    let fake = Arc::new(Fake::default());
    {
        let mut o = fake.objects.lock();
        o.insert("pods", vec![pod_web(), pod_pending(), pod_other_ns()]);
        o.insert("nodes", vec![node_a()]);
        o.insert("services", vec![service_web()]);
        o.insert("endpoints", vec![endpoints_web()]);
        o.insert("endpointslices", vec![slice_web()]);
        o.insert("ingresses", vec![ingress_web()]);
        o.insert(
            "namespaces",
            vec![json!({"metadata": {"name": "default", "labels": {"team": "web", "kubernetes.io/metadata.name": "default"}, "annotations": {"owner": "platform"}}})],
        );
    }
    let app = Router::new().fallback(handle).with_state(Arc::clone(&fake));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (fake, format!("http://{addr}"))
}

fn pod_web() -> Value {
    json!({
        "metadata": {
            "name": "web-7d4b9", "namespace": "default", "uid": "uid-web",
            "labels": {"app": "web", "app.kubernetes.io/name": "web"},
            "annotations": {"prometheus.io/scrape": "true", "prometheus.io/port": "8080"},
            "ownerReferences": [
                {"kind": "Other", "name": "x"},
                {"kind": "ReplicaSet", "name": "web-rs", "controller": true}
            ]
        },
        "spec": {
            "nodeName": "node-a",
            "containers": [
                {"name": "app", "image": "web:1", "ports": [
                    {"name": "http", "containerPort": 8080, "protocol": "TCP"},
                    {"name": "metrics", "containerPort": 9090, "protocol": "TCP"}
                ]},
                {"name": "sidecar", "image": "envoy:1"}
            ],
            "initContainers": [{"name": "init", "image": "busybox"}]
        },
        "status": {
            "phase": "Running", "podIP": "10.1.0.5", "hostIP": "192.168.1.10",
            "conditions": [{"type": "Initialized", "status": "True"}, {"type": "Ready", "status": "True"}],
            "containerStatuses": [{"name": "app", "containerID": "containerd://abc"}]
        }
    })
}

fn pod_pending() -> Value {
    json!({
        "metadata": {"name": "pending", "namespace": "default", "uid": "uid-p"},
        "spec": {"containers": [{"name": "c", "image": "i"}]},
        "status": {"phase": "Pending"}
    })
}

fn pod_other_ns() -> Value {
    json!({
        "metadata": {"name": "db-0", "namespace": "data", "uid": "uid-db", "labels": {"app": "db"}},
        "spec": {"nodeName": "node-a", "containers": [
            {"name": "db", "image": "pg", "ports": [{"containerPort": 5432, "protocol": "TCP"}]},
            {"name": "exporter", "image": "pg-exporter"}
        ]},
        "status": {"phase": "Running", "podIP": "fd00::5", "podIPs": [{"ip": "fd00::5"}, {"ip": "10.1.0.7"}, {"ip": "10.1.0.8"}],
                   "conditions": [{"type": "Ready", "status": "False"}]}
    })
}

fn node_a() -> Value {
    json!({
        "metadata": {"name": "node-a", "labels": {"kubernetes.io/hostname": "node-a"}, "annotations": {"note": "x"}},
        "spec": {"providerID": "aws:///eu-west-1a/i-123"},
        "status": {
            "addresses": [
                {"type": "Hostname", "address": "node-a.local"},
                {"type": "ExternalIP", "address": "203.0.113.7"},
                {"type": "InternalIP", "address": "192.168.1.10"},
                {"type": "InternalIP", "address": "192.168.1.11"}
            ],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}}
        }
    })
}

fn service_web() -> Value {
    json!({
        "metadata": {"name": "web", "namespace": "default", "labels": {"tier": "front"}, "annotations": {"prometheus.io/probe": "true"}},
        "spec": {"type": "ClusterIP", "clusterIP": "10.96.0.20", "ports": [
            {"name": "http", "port": 80, "protocol": "TCP", "targetPort": 8080}
        ]}
    })
}

fn endpoints_web() -> Value {
    json!({
        "metadata": {"name": "web", "namespace": "default", "labels": {"tier": "front"}},
        "subsets": [{
            "addresses": [{"ip": "10.1.0.5", "nodeName": "node-a", "targetRef": {"kind": "Pod", "name": "web-7d4b9", "namespace": "default"}}],
            "notReadyAddresses": [{"ip": "10.1.0.9", "hostname": "web-1"}],
            "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}]
        }]
    })
}

fn slice_web() -> Value {
    json!({
        "metadata": {"name": "web-abcde", "namespace": "default", "labels": {"kubernetes.io/service-name": "web", "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io"}},
        "addressType": "IPv4",
        "endpoints": [{
            "addresses": ["10.1.0.5"],
            "conditions": {"ready": true, "serving": true, "terminating": false},
            "targetRef": {"kind": "Pod", "name": "web-7d4b9", "namespace": "default"},
            "nodeName": "node-a", "zone": "eu-west-1a"
        }],
        "ports": [{"name": "http", "port": 8080, "protocol": "TCP", "appProtocol": "http"}]
    })
}

fn ingress_web() -> Value {
    json!({
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {
            "ingressClassName": "nginx",
            "tls": [{"hosts": ["secure.example.com"]}],
            "rules": [
                {"host": "secure.example.com", "http": {"paths": [{"path": "/api"}, {"path": ""}]}},
                {"host": "plain.example.com"}
            ]
        }
    })
}

fn sd(yaml: &str) -> KubernetesSdConfig {
    let text = format!(
        "scrape_configs:\n- job_name: k\n  kubernetes_sd_configs:\n  - {}\n",
        yaml.replace('\n', "\n    ")
    );
    Config::from_yaml(&text).unwrap().scrape_configs[0].kubernetes_sd_configs[0].clone()
}

async fn groups_for(server: &str, config: &KubernetesSdConfig) -> Vec<TargetGroup> {
    let connection = Connection {
        server: server.to_owned(),
        http: config.http.clone(),
        own_namespace: Some("default".into()),
    };
    let client = ApiClient::new(connection, config).unwrap();
    let (snapshot, _) = client
        .snapshot(config, &resources_for(config))
        .await
        .unwrap();
    build_groups(config, &snapshot)
}

async fn groups_for_err(server: &str, config: &KubernetesSdConfig) -> String {
    let connection = Connection {
        server: server.to_owned(),
        http: config.http.clone(),
        own_namespace: None,
    };
    let client = ApiClient::new(connection, config).unwrap();
    client
        .snapshot(config, &resources_for(config))
        .await
        .unwrap_err()
        .to_string()
}

/// Group labels merged with each target's labels, as the scrape manager sees them.
fn merged(group: &TargetGroup) -> Vec<BTreeMap<String, String>> {
    group
        .targets
        .iter()
        .map(|t| {
            let mut m: BTreeMap<String, String> = group
                .labels
                .iter()
                .map(|l| (l.name.clone(), l.value.clone()))
                .collect();
            m.extend(t.iter().map(|l| (l.name.clone(), l.value.clone())));
            m
        })
        .collect()
}

#[tokio::test]
async fn pod_role_targets_per_container_port() {
    let (fake, server) = fake_server().await;
    let config = sd(
        "role: pod\napi_server: SERVER\nauthorization: {credentials: tok3n}"
            .replace("SERVER", &server)
            .as_str(),
    );
    let groups = groups_for(&server, &config).await;
    let sources: Vec<&str> = groups.iter().map(|g| g.source.as_str()).collect();
    assert_eq!(
        sources,
        [
            "pod/data/db-0",
            "pod/default/pending",
            "pod/default/web-7d4b9"
        ]
    );
    // A pod without an IP has an empty group.
    assert!(groups[1].targets.is_empty() && groups[1].labels.is_empty());
    let web = &groups[2];
    let l = &web.labels;
    assert_eq!(l.get("__meta_kubernetes_namespace"), Some("default"));
    assert_eq!(l.get("__meta_kubernetes_pod_name"), Some("web-7d4b9"));
    assert_eq!(l.get("__meta_kubernetes_pod_ip"), Some("10.1.0.5"));
    assert_eq!(l.get("__meta_kubernetes_pod_ready"), Some("true"));
    assert_eq!(l.get("__meta_kubernetes_pod_phase"), Some("Running"));
    assert_eq!(l.get("__meta_kubernetes_pod_node_name"), Some("node-a"));
    assert_eq!(l.get("__meta_kubernetes_pod_host_ip"), Some("192.168.1.10"));
    assert_eq!(l.get("__meta_kubernetes_pod_uid"), Some("uid-web"));
    assert_eq!(
        l.get("__meta_kubernetes_pod_controller_kind"),
        Some("ReplicaSet")
    );
    assert_eq!(
        l.get("__meta_kubernetes_pod_controller_name"),
        Some("web-rs")
    );
    assert_eq!(
        l.get("__meta_kubernetes_pod_label_app_kubernetes_io_name"),
        Some("web")
    );
    assert_eq!(
        l.get("__meta_kubernetes_pod_labelpresent_app_kubernetes_io_name"),
        Some("true")
    );
    assert_eq!(
        l.get("__meta_kubernetes_pod_annotation_prometheus_io_scrape"),
        Some("true")
    );
    assert_eq!(
        l.get("__meta_kubernetes_pod_annotationpresent_prometheus_io_port"),
        Some("true")
    );
    assert!(
        l.get("__meta_kubernetes_node_name").is_none(),
        "no node metadata unless attached"
    );

    let addrs: Vec<&str> = web
        .targets
        .iter()
        .map(|t| t.get("__address__").unwrap())
        .collect();
    assert_eq!(
        addrs,
        ["10.1.0.5:8080", "10.1.0.5:9090", "10.1.0.5", "10.1.0.5"]
    );
    let t0 = &web.targets[0];
    assert_eq!(t0.get("__meta_kubernetes_pod_container_name"), Some("app"));
    assert_eq!(
        t0.get("__meta_kubernetes_pod_container_port_name"),
        Some("http")
    );
    assert_eq!(
        t0.get("__meta_kubernetes_pod_container_port_number"),
        Some("8080")
    );
    assert_eq!(
        t0.get("__meta_kubernetes_pod_container_port_protocol"),
        Some("TCP")
    );
    assert_eq!(
        t0.get("__meta_kubernetes_pod_container_id"),
        Some("containerd://abc")
    );
    assert_eq!(
        t0.get("__meta_kubernetes_pod_container_image"),
        Some("web:1")
    );
    assert_eq!(
        t0.get("__meta_kubernetes_pod_container_init"),
        Some("false")
    );
    assert_eq!(
        web.targets[2].get("__meta_kubernetes_pod_container_name"),
        Some("sidecar")
    );
    assert!(
        web.targets[2]
            .get("__meta_kubernetes_pod_container_port_number")
            .is_none()
    );
    assert_eq!(
        web.targets[3].get("__meta_kubernetes_pod_container_name"),
        Some("init")
    );
    assert_eq!(
        web.targets[3].get("__meta_kubernetes_pod_container_init"),
        Some("true")
    );
    // IPv6 pod IPs get brackets; a false Ready condition reads "false".
    assert_eq!(
        groups[0].targets[0].get("__address__"),
        Some("[fd00::5]:5432")
    );
    assert_eq!(
        groups[0].labels.get("__meta_kubernetes_pod_ready"),
        Some("false")
    );

    let requests = fake.requests.lock();
    assert!(
        requests
            .iter()
            .all(|(_, _, auth)| auth.as_deref() == Some("Bearer tok3n"))
    );
    assert_eq!(requests[0].0, "/api/v1/pods");
    assert_eq!(requests[0].1.get("limit").map(String::as_str), Some("500"));
}

#[tokio::test]
async fn namespaces_selectors_and_attached_node_metadata() {
    let (fake, server) = fake_server().await;
    // In-cluster configuration (no `api_server`), where `own_namespace` is allowed; the
    // connection is the fake's, with the namespace the service account would have.
    let config = sd(
        "role: pod\nnamespaces: {own_namespace: true, names: [data]}\nselectors:\n- {role: pod, label: app=web, field: status.phase=Running}\nattach_metadata: {node: true}",
    );
    let groups = groups_for(&server, &config).await;
    assert_eq!(groups.len(), 1, "db-0 is filtered by the label selector");
    let l = &groups[0].labels;
    assert_eq!(l.get("__meta_kubernetes_node_name"), Some("node-a"));
    assert_eq!(
        l.get("__meta_kubernetes_node_label_kubernetes_io_hostname"),
        Some("node-a")
    );
    let requests = fake.requests.lock();
    let paths: Vec<&str> = requests.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(
        paths,
        [
            "/api/v1/namespaces/data/pods",
            "/api/v1/namespaces/default/pods",
            "/api/v1/nodes"
        ]
    );
    assert_eq!(
        requests[0].1.get("labelSelector").map(String::as_str),
        Some("app=web")
    );
    assert_eq!(
        requests[0].1.get("fieldSelector").map(String::as_str),
        Some("status.phase=Running")
    );
    assert!(!requests[2].1.contains_key("labelSelector"));
}

#[tokio::test]
async fn node_role_prefers_internal_ip_and_sets_instance() {
    let (_fake, server) = fake_server().await;
    let groups = groups_for(&server, &sd(&format!("role: node\napi_server: {server}"))).await;
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0].source, "node/node-a");
    let l = &groups[0].labels;
    assert_eq!(l.get("__meta_kubernetes_node_name"), Some("node-a"));
    assert_eq!(
        l.get("__meta_kubernetes_node_provider_id"),
        Some("aws:///eu-west-1a/i-123")
    );
    assert_eq!(l.get("__meta_kubernetes_node_annotation_note"), Some("x"));
    assert!(l.get("__meta_kubernetes_namespace").is_none());
    let t = &groups[0].targets[0];
    assert_eq!(t.get("__address__"), Some("192.168.1.10:10250"));
    assert_eq!(t.get("instance"), Some("node-a"));
    assert_eq!(
        t.get("__meta_kubernetes_node_address_InternalIP"),
        Some("192.168.1.10")
    );
    assert_eq!(
        t.get("__meta_kubernetes_node_address_ExternalIP"),
        Some("203.0.113.7")
    );
    assert_eq!(
        t.get("__meta_kubernetes_node_address_Hostname"),
        Some("node-a.local")
    );
}

#[tokio::test]
async fn service_role_targets_per_port() {
    let (_fake, server) = fake_server().await;
    let groups = groups_for(
        &server,
        &sd(&format!("role: service\napi_server: {server}")),
    )
    .await;
    assert_eq!(groups[0].source, "svc/default/web");
    let t = &merged(&groups[0])[0];
    assert_eq!(t["__address__"], "web.default.svc:80");
    assert_eq!(t["__meta_kubernetes_namespace"], "default");
    assert_eq!(t["__meta_kubernetes_service_name"], "web");
    assert_eq!(t["__meta_kubernetes_service_port_name"], "http");
    assert_eq!(t["__meta_kubernetes_service_port_number"], "80");
    assert_eq!(t["__meta_kubernetes_service_port_protocol"], "TCP");
    assert_eq!(t["__meta_kubernetes_service_cluster_ip"], "10.96.0.20");
    assert_eq!(t["__meta_kubernetes_service_type"], "ClusterIP");
    assert_eq!(t["__meta_kubernetes_service_label_tier"], "front");
    assert_eq!(
        t["__meta_kubernetes_service_annotation_prometheus_io_probe"],
        "true"
    );
    assert!(!t.contains_key("__meta_kubernetes_service_external_name"));
}

#[tokio::test]
async fn endpoints_role_joins_service_and_pod_metadata() {
    let (_fake, server) = fake_server().await;
    let groups = groups_for(
        &server,
        &sd(&format!("role: endpoints\napi_server: {server}")),
    )
    .await;
    assert_eq!(groups[0].source, "endpoints/default/web");
    let targets = merged(&groups[0]);
    let addrs: Vec<&str> = targets.iter().map(|t| t["__address__"].as_str()).collect();
    // Ready pod address, not-ready address, then the pod's uncovered container port.
    assert_eq!(addrs, ["10.1.0.5:8080", "10.1.0.9:8080", "10.1.0.5:9090"]);
    let ready = &targets[0];
    assert_eq!(ready["__meta_kubernetes_endpoints_name"], "web");
    assert_eq!(ready["__meta_kubernetes_endpoints_label_tier"], "front");
    assert_eq!(ready["__meta_kubernetes_service_name"], "web");
    assert_eq!(ready["__meta_kubernetes_endpoint_ready"], "true");
    assert_eq!(ready["__meta_kubernetes_endpoint_port_name"], "http");
    assert_eq!(ready["__meta_kubernetes_endpoint_port_protocol"], "TCP");
    assert_eq!(ready["__meta_kubernetes_endpoint_node_name"], "node-a");
    assert_eq!(
        ready["__meta_kubernetes_endpoint_address_target_kind"],
        "Pod"
    );
    assert_eq!(
        ready["__meta_kubernetes_endpoint_address_target_name"],
        "web-7d4b9"
    );
    assert_eq!(ready["__meta_kubernetes_pod_name"], "web-7d4b9");
    assert_eq!(ready["__meta_kubernetes_pod_container_name"], "app");
    assert_eq!(ready["__meta_kubernetes_pod_container_port_name"], "http");
    assert_eq!(ready["__meta_kubernetes_pod_container_port_number"], "8080");
    let not_ready = &targets[1];
    assert_eq!(not_ready["__meta_kubernetes_endpoint_ready"], "false");
    assert_eq!(not_ready["__meta_kubernetes_endpoint_hostname"], "web-1");
    assert!(!not_ready.contains_key("__meta_kubernetes_pod_name"));
    let extra = &targets[2];
    assert_eq!(
        extra["__meta_kubernetes_pod_container_port_name"],
        "metrics"
    );
    assert_eq!(extra["__meta_kubernetes_pod_name"], "web-7d4b9");
    assert!(!extra.contains_key("__meta_kubernetes_endpoint_ready"));
}

#[tokio::test]
async fn endpointslice_role_labels() {
    let (fake, server) = fake_server().await;
    let groups = groups_for(
        &server,
        &sd(&format!("role: endpointslice\napi_server: {server}")),
    )
    .await;
    assert_eq!(groups[0].source, "endpointslice/default/web-abcde");
    let targets = merged(&groups[0]);
    assert_eq!(
        targets.len(),
        2,
        "slice endpoint plus the uncovered metrics port"
    );
    let t = &targets[0];
    assert_eq!(t["__address__"], "10.1.0.5:8080");
    assert_eq!(t["__meta_kubernetes_endpointslice_name"], "web-abcde");
    assert_eq!(t["__meta_kubernetes_endpointslice_address_type"], "IPv4");
    assert_eq!(t["__meta_kubernetes_endpointslice_port"], "8080");
    assert_eq!(t["__meta_kubernetes_endpointslice_port_name"], "http");
    assert_eq!(t["__meta_kubernetes_endpointslice_port_protocol"], "TCP");
    assert_eq!(
        t["__meta_kubernetes_endpointslice_port_app_protocol"],
        "http"
    );
    assert_eq!(
        t["__meta_kubernetes_endpointslice_endpoint_conditions_ready"],
        "true"
    );
    assert_eq!(
        t["__meta_kubernetes_endpointslice_endpoint_conditions_serving"],
        "true"
    );
    assert_eq!(
        t["__meta_kubernetes_endpointslice_endpoint_conditions_terminating"],
        "false"
    );
    assert_eq!(
        t["__meta_kubernetes_endpointslice_endpoint_zone"],
        "eu-west-1a"
    );
    assert_eq!(
        t["__meta_kubernetes_endpointslice_endpoint_node_name"],
        "node-a"
    );
    assert_eq!(
        t["__meta_kubernetes_endpointslice_address_target_kind"],
        "Pod"
    );
    assert_eq!(
        t["__meta_kubernetes_endpointslice_label_kubernetes_io_service_name"],
        "web"
    );
    assert_eq!(t["__meta_kubernetes_service_name"], "web");
    assert_eq!(t["__meta_kubernetes_pod_container_name"], "app");
    assert_eq!(targets[1]["__address__"], "10.1.0.5:9090");
    assert!(
        fake.requests
            .lock()
            .iter()
            .any(|r| r.0 == "/apis/discovery.k8s.io/v1/endpointslices")
    );
}

#[tokio::test]
async fn ingress_role_targets_per_host_and_path() {
    let (_fake, server) = fake_server().await;
    let groups = groups_for(
        &server,
        &sd(&format!("role: ingress\napi_server: {server}")),
    )
    .await;
    let targets = merged(&groups[0]);
    let got: Vec<(&str, &str, &str)> = targets
        .iter()
        .map(|t| {
            (
                t["__address__"].as_str(),
                t["__meta_kubernetes_ingress_scheme"].as_str(),
                t["__meta_kubernetes_ingress_path"].as_str(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("secure.example.com", "https", "/api"),
            ("secure.example.com", "https", "/"),
            ("plain.example.com", "http", "/")
        ]
    );
    assert_eq!(targets[0]["__meta_kubernetes_ingress_class_name"], "nginx");
    assert_eq!(targets[0]["__meta_kubernetes_ingress_name"], "web");
}

#[test]
fn in_cluster_credentials() {
    let dir = tempfile::tempdir().unwrap();
    let env = |k: &str| match k {
        "KUBERNETES_SERVICE_HOST" => Some("10.96.0.1".to_owned()),
        "KUBERNETES_SERVICE_PORT" => Some("443".to_owned()),
        _ => None,
    };
    // No token file: a clear error.
    let err = Connection::in_cluster(env, dir.path()).unwrap_err();
    assert!(err.to_string().contains("token"), "{err}");
    std::fs::write(dir.path().join("token"), "sa-token\n").unwrap();
    std::fs::write(dir.path().join("namespace"), "monitoring").unwrap();
    let conn = Connection::in_cluster(env, dir.path()).unwrap();
    assert_eq!(conn.server, "https://10.96.0.1:443");
    assert_eq!(conn.own_namespace.as_deref(), Some("monitoring"));
    assert_eq!(
        conn.http.authorization_header().unwrap().as_deref(),
        Some("Bearer sa-token")
    );
    // A rotated token is picked up on the next request.
    std::fs::write(dir.path().join("token"), "rotated").unwrap();
    assert_eq!(
        conn.http.authorization_header().unwrap().as_deref(),
        Some("Bearer rotated")
    );
    let missing = Connection::in_cluster(|_| None, dir.path()).unwrap_err();
    assert!(
        missing.to_string().contains("KUBERNETES_SERVICE_HOST"),
        "{missing}"
    );
}

#[tokio::test]
async fn kubeconfig_file_is_used() {
    let (fake, server) = fake_server().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kubeconfig");
    std::fs::write(
        &path,
        format!(
            "current-context: c\nclusters:\n- name: k\n  cluster: {{server: \"{server}\"}}\ncontexts:\n- name: c\n  context: {{cluster: k, user: u, namespace: default}}\nusers:\n- name: u\n  user: {{token: from-kubeconfig}}\n"
        ),
    )
    .unwrap();
    let config = sd(&format!(
        "role: service\nkubeconfig_file: {}\nnamespaces: {{names: [default]}}",
        path.display()
    ));
    let client = ApiClient::from_config(&config).unwrap();
    let (snapshot, _) = client
        .snapshot(&config, &resources_for(&config))
        .await
        .unwrap();
    assert_eq!(snapshot.services.len(), 1);
    let requests = fake.requests.lock();
    assert_eq!(requests[0].0, "/api/v1/namespaces/default/services");
    assert_eq!(requests[0].2.as_deref(), Some("Bearer from-kubeconfig"));
}

#[tokio::test]
async fn errors_name_the_path_and_status() {
    let (_fake, server) = fake_server().await;
    let config = sd(&format!("role: pod\napi_server: {server}"));
    let unreachable = ApiClient::new(
        Connection {
            server: "http://127.0.0.1:1".into(),
            http: Default::default(),
            own_namespace: None,
        },
        &config,
    )
    .unwrap();
    let err = unreachable
        .snapshot(&config, &resources_for(&config))
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("kubernetes API request /api/v1/pods:"),
        "{err}"
    );
    // RBAC refusals name the status and carry the API server's message.
    let forbidden = sd(&format!(
        "role: pod\napi_server: {server}\nauthorization: {{credentials: forbidden}}"
    ));
    let err = groups_for_err(&server, &forbidden).await;
    assert!(err.contains("/api/v1/pods"), "{err}");
    assert!(err.contains("403 Forbidden"), "{err}");
    assert!(err.contains("cannot list resource"), "{err}");
    let config = sd("role: pod\nnamespaces: {own_namespace: true}");
    let err = ApiClient::new(
        Connection {
            server: "http://x".into(),
            http: Default::default(),
            own_namespace: None,
        },
        &config,
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("could not determine the pod's namespace"),
        "{err}"
    );
}

fn job(yaml: &str) -> ScrapeConfig {
    Config::from_yaml(yaml).unwrap().scrape_configs.remove(0)
}

#[tokio::test]
async fn discovery_feeds_the_scrape_manager_and_follows_watch_events() {
    let (fake, server) = fake_server().await;
    // The Helm chart's idiom: keep annotated pods, take the port from the annotation.
    let config = job(&format!(
        r#"
scrape_configs:
- job_name: kubernetes-pods
  kubernetes_sd_configs:
  - role: pod
    api_server: {server}
  relabel_configs:
  - source_labels: [__meta_kubernetes_pod_annotation_prometheus_io_scrape]
    action: keep
    regex: "true"
  - source_labels: [__address__, __meta_kubernetes_pod_annotation_prometheus_io_port]
    action: replace
    regex: ([^:]+)(?::\d+)?;(\d+)
    replacement: $1:$2
    target_label: __address__
  - source_labels: [__meta_kubernetes_pod_container_name]
    action: keep
    regex: app
  - action: labelmap
    regex: __meta_kubernetes_pod_label_(.+)
  - source_labels: [__meta_kubernetes_namespace]
    target_label: namespace
"#
    ));
    let mut files = FileDiscovery::default();
    let changed = files.kubernetes.changed();
    // The first call starts the discovery and does not wait for it.
    assert!(discover(&config, &mut files).is_empty());
    tokio::time::timeout(Duration::from_secs(10), changed.notified())
        .await
        .expect("discovery publishes its first result");
    let groups = discover(&config, &mut files);
    let (targets, _dropped) = targets_from_groups(&config, &groups);
    let urls: Vec<&str> = targets.iter().map(|t| t.url.as_str()).collect();
    assert_eq!(
        urls,
        [
            "http://10.1.0.5:8080/metrics",
            "http://10.1.0.5:8080/metrics"
        ]
    );
    assert_eq!(
        targets[0].labels.to_string(),
        r#"{app="web", app_kubernetes_io_name="web", instance="10.1.0.5:8080", job="kubernetes-pods", namespace="default"}"#
    );

    // Watch events update the targets without another LIST, as an informer does.
    fake.wait_for_watch("pods").await;
    let lists = fake.lists_of("pods");
    let mut new_pod = pod_web();
    new_pod["metadata"]["name"] = json!("web-second");
    new_pod["status"]["podIP"] = json!("10.1.0.6");
    fake.emit("pods", json!({"type": "ADDED", "object": new_pod}));
    let instances = |files: &mut FileDiscovery| {
        let groups = discover(&config, files);
        let (targets, _) = targets_from_groups(&config, &groups);
        let mut out: Vec<String> = targets
            .iter()
            .filter_map(|t| t.labels.get("instance").map(str::to_owned))
            .collect();
        out.dedup();
        out
    };
    let wait = |what: &'static str| {
        let changed = Arc::clone(&changed);
        async move {
            tokio::time::timeout(Duration::from_secs(10), changed.notified())
                .await
                .expect(what)
        }
    };
    wait("an ADDED event publishes").await;
    assert_eq!(instances(&mut files), ["10.1.0.5:8080", "10.1.0.6:8080"]);
    fake.emit("pods", json!({"type": "DELETED", "object": pod_web()}));
    wait("a DELETED event publishes").await;
    assert_eq!(instances(&mut files), ["10.1.0.6:8080"]);
    assert_eq!(
        fake.lists_of("pods"),
        lists,
        "events are applied without a LIST"
    );
    let watches: Vec<BTreeMap<String, String>> = fake
        .requests
        .lock()
        .iter()
        .filter(|r| r.1.contains_key("watch"))
        .map(|r| r.1.clone())
        .collect();
    assert!(
        watches
            .iter()
            .all(|q| q["resourceVersion"] == "42" && q["allowWatchBookmarks"] == "true"),
        "{watches:?}"
    );

    // An ERROR event (410 Gone) starts over with a LIST, which the fake answers with web only.
    fake.emit(
        "pods",
        json!({"type": "ERROR", "object": {"kind": "Status", "code": 410, "reason": "Expired"}}),
    );
    wait("a re-LIST publishes").await;
    assert_eq!(instances(&mut files), ["10.1.0.5:8080"]);
    assert_eq!(fake.lists_of("pods"), lists + 1);

    // The API server refuses from now on: the last good targets stay.
    fake.down.store(true, std::sync::atomic::Ordering::SeqCst);
    fake.watchers.lock().clear();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(instances(&mut files), ["10.1.0.5:8080"]);
    // Removing the job stops its discovery.
    files.kubernetes.retain(|_, _| false);
}

/// The whole server: a scrape job with `kubernetes_sd_configs` finds a pod through the fake
/// API server, scrapes it, and `/api/v1/targets` shows the pod's meta labels.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_scrapes_pods_found_through_the_api_server() {
    let (fake, server) = fake_server().await;
    // The "pod": a metrics endpoint on loopback.
    let app = Router::new().route(
        "/metrics",
        axum::routing::get(|| async {
            "# TYPE demo_requests_total counter\ndemo_requests_total 7\n"
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let pod_port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let mut pod = pod_web();
    pod["status"]["podIP"] = json!("127.0.0.1");
    pod["spec"]["containers"] = json!([{"name": "app", "image": "demo", "ports": [{"name": "metrics", "containerPort": pod_port, "protocol": "TCP"}]}]);
    pod["spec"]["initContainers"] = json!([]);
    fake.objects.lock().insert("pods", vec![pod]);

    let dir = tempfile::tempdir().unwrap();
    let config_file = dir.path().join("prometheus.yml");
    std::fs::write(
        &config_file,
        format!(
            "scrape_configs:\n- job_name: kubernetes-pods\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  kubernetes_sd_configs:\n  - role: pod\n    api_server: {server}\n  relabel_configs:\n  - source_labels: [__meta_kubernetes_pod_name]\n    target_label: pod\n"
        ),
    )
    .unwrap();
    let config = crate::server::Config::from_args([
        format!("--config.file={}", config_file.display()),
        format!("--storage.tsdb.path={}", dir.path().join("data").display()),
        "--web.listen-address=127.0.0.1:0".to_owned(),
    ])
    .unwrap();
    let shutdown = lgtm_common::http::CancellationToken::new();
    let running = crate::server::start(config, shutdown.clone())
        .await
        .unwrap();
    let base = format!("http://{}", running.addr);
    lgtm_common::http_client::client::install_crypto_provider();
    let client = reqwest::Client::new();
    let mut target = Value::Null;
    for _ in 0..100 {
        let body: Value = client
            .get(format!("{base}/api/v1/targets"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        target = body["data"]["activeTargets"][0].clone();
        if target["health"] == "up" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(target["health"], "up", "{target}");
    assert_eq!(
        target["scrapeUrl"],
        format!("http://127.0.0.1:{pod_port}/metrics")
    );
    assert_eq!(target["labels"]["pod"], "web-7d4b9");
    assert_eq!(
        target["discoveredLabels"]["__meta_kubernetes_pod_container_port_name"],
        "metrics"
    );
    assert_eq!(
        target["discoveredLabels"]["__meta_kubernetes_namespace"],
        "default"
    );
    let body: Value = client
        .get(format!("{base}/api/v1/query?query=demo_requests_total"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["data"]["result"][0]["value"][1], "7", "{body}");
    assert_eq!(body["data"]["result"][0]["metric"]["pod"], "web-7d4b9");
    shutdown.cancel();
    let _ = running.task.await;
}

#[test]
fn config_rules_match_prometheus() {
    let err = |yaml: &str| {
        let text = format!(
            "scrape_configs:\n- job_name: k\n  kubernetes_sd_configs:\n  - {}\n",
            yaml.replace('\n', "\n    ")
        );
        Config::from_yaml(&text).unwrap_err().to_string()
    };
    let cases = [
        ("role: pods", "unknown Kubernetes SD role \"pods\""),
        (
            "role: pod\napi_server: http://a\nkubeconfig_file: /k",
            "cannot use 'kubeconfig_file' and 'api_server' simultaneously",
        ),
        (
            "role: pod\nkubeconfig_file: /k\nbearer_token: x",
            "cannot use a custom HTTP client configuration together with 'kubeconfig_file'",
        ),
        (
            "role: pod\nbearer_token: x",
            "to use custom HTTP client configuration please provide the 'api_server' URL explicitly",
        ),
        (
            "role: pod\napi_server: http://a\nnamespaces: {own_namespace: true}",
            "cannot use 'api_server' and 'namespaces.own_namespace' simultaneously",
        ),
        (
            "role: pod\nkubeconfig_file: /k\nnamespaces: {own_namespace: true}",
            "cannot use 'kubeconfig_file' and 'namespaces.own_namespace' simultaneously",
        ),
        (
            "role: pod\nselectors: [{role: pod}, {role: pod}]",
            "duplicated selector role: pod",
        ),
        (
            "role: pod\nselectors: [{role: node}]",
            "pod role supports only pod selectors",
        ),
        (
            "role: endpoints\nselectors: [{role: node}]",
            "endpoints role supports only pod, service, endpoints selectors",
        ),
    ];
    for (yaml, want) in cases {
        let got = err(yaml);
        assert!(got.contains(want), "{yaml}: {got}");
    }
    // The Helm chart's usual shapes are fine.
    sd(
        "role: endpointslice\nselectors: [{role: pod, label: a=b}, {role: service}, {role: endpointslice}]",
    );
    sd(
        "role: node\napi_server: https://k:6443\nbearer_token_file: /t\ntls_config: {insecure_skip_verify: true}",
    );
}

#[tokio::test]
async fn dual_stack_pods_and_namespace_metadata() {
    let (fake, server) = fake_server().await;
    let config = sd(&format!(
        "role: pod\napi_server: {server}\nattach_metadata: {{namespace: true}}"
    ));
    let groups = groups_for(&server, &config).await;
    let db = &groups[0];
    assert_eq!(db.labels.get("__meta_kubernetes_pod_ipv6"), Some("fd00::5"));
    assert_eq!(
        db.labels.get("__meta_kubernetes_pod_ipv4"),
        Some("10.1.0.7")
    );
    assert_eq!(db.targets[1].get("__address__"), Some("[fd00::5]"));
    // Namespace `data` is not listed: no namespace metadata, the rest is unchanged.
    assert!(
        db.labels
            .get("__meta_kubernetes_namespace_label_team")
            .is_none()
    );
    let web = &groups[2].labels;
    assert_eq!(
        web.get("__meta_kubernetes_namespace_label_team"),
        Some("web")
    );
    assert_eq!(
        web.get("__meta_kubernetes_namespace_labelpresent_team"),
        Some("true")
    );
    assert_eq!(
        web.get("__meta_kubernetes_namespace_label_kubernetes_io_metadata_name"),
        Some("default")
    );
    assert_eq!(
        web.get("__meta_kubernetes_namespace_annotation_owner"),
        Some("platform")
    );
    assert_eq!(
        web.get("__meta_kubernetes_namespace_annotationpresent_owner"),
        Some("true")
    );
    assert!(
        fake.requests
            .lock()
            .iter()
            .any(|r| r.0 == "/api/v1/namespaces")
    );
    // Without the option nothing is attached and namespaces are not listed.
    let (fake, server) = fake_server().await;
    let plain = groups_for(
        &server,
        &sd(&format!("role: service\napi_server: {server}")),
    )
    .await;
    assert!(
        plain[0]
            .labels
            .get("__meta_kubernetes_namespace_label_team")
            .is_none()
    );
    assert!(
        !fake
            .requests
            .lock()
            .iter()
            .any(|r| r.0 == "/api/v1/namespaces")
    );
}

#[tokio::test]
async fn a_changed_secret_restarts_the_discovery() {
    let (fake, server) = fake_server().await;
    let mut discovery = KubernetesDiscovery::default();
    let changed = discovery.changed();
    let with = |token: &str| {
        sd(&format!(
            "role: node\napi_server: {server}\nauthorization: {{credentials: {token}}}"
        ))
    };
    assert!(discovery.groups("j", 0, &with("one")).is_empty());
    tokio::time::timeout(Duration::from_secs(10), changed.notified())
        .await
        .unwrap();
    assert_eq!(discovery.groups("j", 0, &with("one")).len(), 1);
    // Same configuration: the running discovery is kept (no new LIST).
    let lists = fake.lists_of("nodes");
    assert_eq!(discovery.groups("j", 0, &with("one")).len(), 1);
    // `Debug` shows both tokens as `<secret>`, yet the new one is used.
    discovery.groups("j", 0, &with("two"));
    for _ in 0..500 {
        if fake
            .requests
            .lock()
            .iter()
            .any(|r| r.2.as_deref() == Some("Bearer two"))
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(
        fake.requests
            .lock()
            .iter()
            .any(|r| r.2.as_deref() == Some("Bearer two"))
    );
    assert_eq!(fake.lists_of("nodes"), lists + 1);
}
