//! `kubernetes_sd_configs`: targets from the Kubernetes API, with Prometheus' exact
//! `__meta_kubernetes_*` labels and `__address__` rules for the roles `node`, `pod`,
//! `service`, `endpoints`, `endpointslice` and `ingress`.
//!
//! Data flow: each configured discovery runs a background task ([`KubernetesDiscovery`]) that
//! LISTs the objects its role needs (paged, per namespace, with the configured label and field
//! selectors), turns the snapshot into target groups (`kubernetes/<role>.rs`), caches them and
//! wakes the scrape manager when they changed. It then WATCHes every listed path from the
//! list's `resourceVersion` and applies the events to its snapshot as an informer does,
//! rebuilding the groups at most every [`DEBOUNCE`]; it re-LISTs when a watch ends or fails,
//! and every [`RESYNC`] (every [`POLL`] when the server does not watch). The scrape manager
//! only ever reads the cache, so a slow or unreachable API server never blocks it; a failed
//! LIST keeps the last good result.

pub mod client;
pub mod endpoints;
pub mod endpointslice;
pub mod ingress;
pub mod kubeconfig;
pub mod node;
pub mod objects;
pub mod pod;
pub mod service;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use lgtm_common::http::CancellationToken;
use lgtm_common::labels::Labels;
use parking_lot::Mutex;
use tokio::sync::Notify;

use self::client::ApiClient;
use self::objects::{EndpointSlice, Endpoints, Ingress, Namespace, Node, ObjectMeta, Pod, Service};
use super::target::TargetGroup;
use crate::config::KubernetesSdConfig;

/// Prefix of every Kubernetes meta label.
pub const META_PREFIX: &str = "__meta_kubernetes_";
/// `__meta_kubernetes_namespace`.
pub const NAMESPACE_LABEL: &str = "__meta_kubernetes_namespace";
/// Value of `*_labelpresent_*` and `*_annotationpresent_*` labels.
const PRESENT: &str = "true";
/// Longest time between two LISTs while watching.
pub const RESYNC: Duration = Duration::from_secs(600);
/// Time between two LISTs when watching fails.
pub const POLL: Duration = Duration::from_secs(30);
/// How long WATCH events are gathered before the targets are rebuilt.
pub const DEBOUNCE: Duration = Duration::from_millis(200);

/// An unordered label set while a target is built (last write wins, as Go's map).
pub type LabelSet = BTreeMap<String, String>;

/// Why discovery could not talk to the API server.
#[derive(Debug, thiserror::Error)]
pub enum KubernetesError {
    /// No usable credentials or server address.
    #[error("kubernetes client configuration: {0}")]
    Config(String),
    /// A request failed or was refused.
    #[error("kubernetes API request {path}: {message}")]
    Request {
        /// The API path.
        path: String,
        /// What failed.
        message: String,
    },
}

/// Prometheus' `strutil.SanitizeLabelName`: every character outside `[a-zA-Z0-9_]` becomes `_`.
pub fn sanitize_label_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Prometheus' `addObjectMetaLabels`: `<role>_name`, labels and annotations with their
/// `*present_*` companions.
pub fn add_object_meta(set: &mut LabelSet, meta: &ObjectMeta, role: &str) {
    set.insert(format!("{META_PREFIX}{role}_name"), meta.name.clone());
    for (k, v) in &meta.labels {
        let ln = sanitize_label_name(k);
        set.insert(format!("{META_PREFIX}{role}_label_{ln}"), v.clone());
        set.insert(
            format!("{META_PREFIX}{role}_labelpresent_{ln}"),
            PRESENT.into(),
        );
    }
    for (k, v) in &meta.annotations {
        let ln = sanitize_label_name(k);
        set.insert(format!("{META_PREFIX}{role}_annotation_{ln}"), v.clone());
        set.insert(
            format!("{META_PREFIX}{role}_annotationpresent_{ln}"),
            PRESENT.into(),
        );
    }
}

/// Go's `net.JoinHostPort`: IPv6 hosts get brackets.
pub fn join_host_port(host: &str, port: impl std::fmt::Display) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

fn to_labels(set: LabelSet) -> Labels {
    Labels::from_pairs(set)
}

/// A group from a shared label set and per-target sets.
fn group(source: String, labels: LabelSet, targets: Vec<LabelSet>) -> TargetGroup {
    TargetGroup {
        targets: targets.into_iter().map(to_labels).collect(),
        labels: to_labels(labels),
        source,
    }
}

/// Objects of one kind by `namespace/name` (`/name` for cluster-scoped ones).
pub type Objects<T> = BTreeMap<String, T>;

/// The key of an object in [`Objects`].
pub fn object_key(meta: &ObjectMeta) -> String {
    format!("{}/{}", meta.namespace, meta.name)
}

/// Gives access to an object's metadata, for keying.
pub trait HasMeta {
    /// The object's metadata.
    fn meta(&self) -> &ObjectMeta;
}

macro_rules! has_meta {
    ($($t:ty),*) => {$(
        impl HasMeta for $t {
            fn meta(&self) -> &ObjectMeta {
                &self.metadata
            }
        }
    )*};
}
has_meta!(
    Pod,
    Node,
    Service,
    Endpoints,
    EndpointSlice,
    Ingress,
    Namespace
);

/// Keys a LIST result.
pub fn to_objects<T: HasMeta>(items: Vec<T>) -> Objects<T> {
    items
        .into_iter()
        .map(|o| (object_key(o.meta()), o))
        .collect()
}

fn apply_event<T: HasMeta + serde::de::DeserializeOwned>(
    map: &mut Objects<T>,
    kind: &str,
    object: serde_json::Value,
) -> Result<(), String> {
    let object: T = serde_json::from_value(object).map_err(|e| e.to_string())?;
    let key = object_key(object.meta());
    if kind == "DELETED" {
        map.remove(&key);
    } else {
        map.insert(key, object);
    }
    Ok(())
}

/// The objects discovery knows: a LIST result kept current by WATCH events.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// Pods.
    pub pods: Objects<Pod>,
    /// Nodes.
    pub nodes: Objects<Node>,
    /// Services.
    pub services: Objects<Service>,
    /// Endpoints.
    pub endpoints: Objects<Endpoints>,
    /// EndpointSlices.
    pub endpointslices: Objects<EndpointSlice>,
    /// Ingresses.
    pub ingresses: Objects<Ingress>,
    /// Namespaces (for `attach_metadata.namespace`).
    pub namespaces: Objects<Namespace>,
}

impl Snapshot {
    /// Applies one WATCH event (`ADDED`, `MODIFIED` or `DELETED`) to the objects of `resource`.
    pub fn apply(
        &mut self,
        resource: Resource,
        kind: &str,
        object: serde_json::Value,
    ) -> Result<(), String> {
        match resource {
            Resource::Pods => apply_event(&mut self.pods, kind, object),
            Resource::Nodes => apply_event(&mut self.nodes, kind, object),
            Resource::Services => apply_event(&mut self.services, kind, object),
            Resource::Endpoints => apply_event(&mut self.endpoints, kind, object),
            Resource::EndpointSlices => apply_event(&mut self.endpointslices, kind, object),
            Resource::Ingresses => apply_event(&mut self.ingresses, kind, object),
            Resource::Namespaces => apply_event(&mut self.namespaces, kind, object),
        }
    }

    fn pod(&self, namespace: &str, name: &str) -> Option<&Pod> {
        self.pods.get(&format!("{namespace}/{name}"))
    }

    fn service(&self, namespace: &str, name: &str) -> Option<&Service> {
        self.services.get(&format!("{namespace}/{name}"))
    }

    fn node(&self, name: &str) -> Option<&Node> {
        self.nodes.get(&format!("/{name}"))
    }

    /// Prometheus' `addNodeLabels`: the node's name, labels and annotations (when known).
    fn add_node_labels(&self, set: &mut LabelSet, node_name: Option<&str>) {
        if let Some(node) = node_name.and_then(|n| self.node(n)) {
            add_object_meta(set, &node.metadata, "node");
        }
    }
}

/// The resources a role reads, as `(kind, namespaced)`.
pub fn resources_for(config: &KubernetesSdConfig) -> Vec<Resource> {
    let attach_node = config.attach_metadata.as_ref().is_some_and(|a| a.node);
    let mut out = match config.role.as_str() {
        "node" => vec![Resource::Nodes],
        "pod" => vec![Resource::Pods],
        "service" => vec![Resource::Services],
        "endpoints" => vec![Resource::Endpoints, Resource::Services, Resource::Pods],
        "endpointslice" => vec![Resource::EndpointSlices, Resource::Services, Resource::Pods],
        "ingress" => vec![Resource::Ingresses],
        _ => Vec::new(),
    };
    if attach_node && matches!(config.role.as_str(), "pod" | "endpoints" | "endpointslice") {
        out.push(Resource::Nodes);
    }
    if attach_namespace(config) {
        out.push(Resource::Namespaces);
    }
    out
}

/// A kind of object discovery lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Resource {
    /// `v1/pods`.
    Pods,
    /// `v1/nodes` (cluster-scoped).
    Nodes,
    /// `v1/services`.
    Services,
    /// `v1/endpoints`.
    Endpoints,
    /// `discovery.k8s.io/v1/endpointslices`.
    EndpointSlices,
    /// `networking.k8s.io/v1/ingresses`.
    Ingresses,
    /// `v1/namespaces` (cluster-scoped).
    Namespaces,
}

impl Resource {
    /// API group path prefix and plural name.
    pub fn path_parts(self) -> (&'static str, &'static str) {
        match self {
            Resource::Pods => ("/api/v1", "pods"),
            Resource::Nodes => ("/api/v1", "nodes"),
            Resource::Services => ("/api/v1", "services"),
            Resource::Endpoints => ("/api/v1", "endpoints"),
            Resource::EndpointSlices => ("/apis/discovery.k8s.io/v1", "endpointslices"),
            Resource::Ingresses => ("/apis/networking.k8s.io/v1", "ingresses"),
            Resource::Namespaces => ("/api/v1", "namespaces"),
        }
    }

    /// Whether objects live in namespaces.
    pub fn namespaced(self) -> bool {
        !matches!(self, Resource::Nodes | Resource::Namespaces)
    }

    /// The role name its selectors are configured under.
    pub fn selector_role(self) -> &'static str {
        match self {
            Resource::Pods => "pod",
            Resource::Nodes => "node",
            Resource::Services => "service",
            Resource::Endpoints => "endpoints",
            Resource::EndpointSlices => "endpointslice",
            Resource::Ingresses => "ingress",
            // No selector role exists for namespaces.
            Resource::Namespaces => "",
        }
    }
}

/// Turns a snapshot into the role's target groups, sorted by source.
pub fn build_groups(config: &KubernetesSdConfig, snapshot: &Snapshot) -> Vec<TargetGroup> {
    let attach_node = config.attach_metadata.as_ref().is_some_and(|a| a.node);
    let mut groups: Vec<TargetGroup> = match config.role.as_str() {
        "node" => snapshot.nodes.values().filter_map(node::build).collect(),
        "pod" => snapshot
            .pods
            .values()
            .map(|p| pod::build(p, attach_node.then_some(snapshot)))
            .collect(),
        "service" => snapshot.services.values().map(service::build).collect(),
        "endpoints" => snapshot
            .endpoints
            .values()
            .map(|e| endpoints::build(e, snapshot, attach_node))
            .collect(),
        "endpointslice" => snapshot
            .endpointslices
            .values()
            .map(|e| endpointslice::build(e, snapshot, attach_node))
            .collect(),
        "ingress" => snapshot.ingresses.values().map(ingress::build).collect(),
        _ => Vec::new(),
    };
    if attach_namespace(config) {
        for g in &mut groups {
            let Some(ns) = g
                .labels
                .get(NAMESPACE_LABEL)
                .and_then(|n| snapshot.namespaces.get(&format!("/{n}")))
            else {
                continue;
            };
            let mut set: LabelSet = g
                .labels
                .iter()
                .map(|l| (l.name.clone(), l.value.clone()))
                .collect();
            add_namespace_meta(&mut set, &ns.metadata);
            g.labels = to_labels(set);
        }
    }
    groups.sort_by(|a, b| a.source.cmp(&b.source));
    groups
}

/// Whether namespace metadata is attached (`attach_metadata.namespace`, namespaced roles).
fn attach_namespace(config: &KubernetesSdConfig) -> bool {
    config.role != "node" && config.attach_metadata.as_ref().is_some_and(|a| a.namespace)
}

/// The namespace's labels and annotations (`__meta_kubernetes_namespace_label_*`, ...).
fn add_namespace_meta(set: &mut LabelSet, meta: &ObjectMeta) {
    for (k, v) in &meta.labels {
        let ln = sanitize_label_name(k);
        set.insert(format!("{META_PREFIX}namespace_label_{ln}"), v.clone());
        set.insert(
            format!("{META_PREFIX}namespace_labelpresent_{ln}"),
            PRESENT.into(),
        );
    }
    for (k, v) in &meta.annotations {
        let ln = sanitize_label_name(k);
        set.insert(format!("{META_PREFIX}namespace_annotation_{ln}"), v.clone());
        set.insert(
            format!("{META_PREFIX}namespace_annotationpresent_{ln}"),
            PRESENT.into(),
        );
    }
}

/// One running discovery: its cached groups and the token that stops its task.
#[derive(Debug)]
struct Running {
    /// The configuration it runs with (compared, secrets included, to detect changes).
    config: KubernetesSdConfig,
    groups: Arc<Mutex<Option<Vec<TargetGroup>>>>,
    cancel: CancellationToken,
}

/// Every Kubernetes discovery the scrape configuration asks for, each refreshed by its own
/// background task. Reading never waits on the network.
#[derive(Debug, Default)]
pub struct KubernetesDiscovery {
    running: HashMap<(String, usize), Running>,
    changed: Arc<Notify>,
}

impl Drop for KubernetesDiscovery {
    fn drop(&mut self) {
        for r in self.running.values() {
            r.cancel.cancel();
        }
    }
}

impl KubernetesDiscovery {
    /// Notified whenever a discovery's targets changed, so the manager re-syncs at once.
    pub fn changed(&self) -> Arc<Notify> {
        Arc::clone(&self.changed)
    }

    /// The last good groups of the `index`-th `kubernetes_sd_configs` entry of `job`, starting
    /// its discovery on first use (and restarting it when its configuration changed). Empty
    /// until the first LIST succeeded.
    pub fn groups(
        &mut self,
        job: &str,
        index: usize,
        config: &KubernetesSdConfig,
    ) -> Vec<TargetGroup> {
        // `Debug` hides secrets, so the HTTP client blocks are compared as well.
        let same = |c: &KubernetesSdConfig| {
            format!("{c:?}") == format!("{config:?}") && c.http == config.http
        };
        let id = (job.to_owned(), index);
        if self.running.get(&id).is_some_and(|r| !same(&r.config))
            && let Some(old) = self.running.remove(&id)
        {
            old.cancel.cancel();
        }
        if !self.running.contains_key(&id) {
            let Some(running) = self.start(job, config) else {
                return Vec::new();
            };
            self.running.insert(id.clone(), running);
        }
        self.running
            .get(&id)
            .and_then(|r| r.groups.lock().clone())
            .unwrap_or_default()
    }

    /// Stops discoveries of jobs (or entries) no longer configured.
    pub fn retain(&mut self, keep: impl Fn(&str, usize) -> bool) {
        self.running.retain(|(job, index), r| {
            let k = keep(job, *index);
            if !k {
                r.cancel.cancel();
            }
            k
        });
    }

    fn start(&self, job: &str, config: &KubernetesSdConfig) -> Option<Running> {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            tracing::error!(job, "kubernetes discovery needs a tokio runtime");
            return None;
        };
        let client = match ApiClient::from_config(config) {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(job, error = %e, "cannot create kubernetes discovery client");
                return None;
            }
        };
        let groups = Arc::new(Mutex::new(None));
        let cancel = CancellationToken::new();
        runtime.spawn(refresh_loop(
            client,
            config.clone(),
            Arc::clone(&groups),
            Arc::clone(&self.changed),
            cancel.clone(),
            job.to_owned(),
        ));
        Some(Running {
            config: config.clone(),
            groups,
            cancel,
        })
    }
}

/// Publishes the groups of `snapshot` when they differ from the cached ones.
fn publish(
    config: &KubernetesSdConfig,
    snapshot: &Snapshot,
    cache: &Mutex<Option<Vec<TargetGroup>>>,
    changed: &Notify,
) {
    let groups = build_groups(config, snapshot);
    let mut cached = cache.lock();
    if cached.as_ref() != Some(&groups) {
        *cached = Some(groups);
        changed.notify_one();
    }
}

/// Waits `d` unless cancelled first; false when cancelled.
async fn pause(d: Duration, cancel: &CancellationToken) -> bool {
    tokio::select! {
        () = cancel.cancelled() => false,
        () = tokio::time::sleep(d) => true,
    }
}

/// LIST everything, publish, then apply WATCH events as they come (publishing at most every
/// [`DEBOUNCE`]); re-LIST when a watch ends or fails and every [`RESYNC`].
async fn refresh_loop(
    client: ApiClient,
    config: KubernetesSdConfig,
    cache: Arc<Mutex<Option<Vec<TargetGroup>>>>,
    changed: Arc<Notify>,
    cancel: CancellationToken,
    job: String,
) {
    let resources = resources_for(&config);
    loop {
        let (mut snapshot, points) = match client.snapshot(&config, &resources).await {
            Ok(listed) => listed,
            Err(e) => {
                tracing::warn!(job, role = config.role, error = %e, "kubernetes discovery failed, keeping previous targets");
                if !pause(POLL, &cancel).await {
                    return;
                }
                continue;
            }
        };
        publish(&config, &snapshot, &cache, &changed);
        let (tx, mut rx) = tokio::sync::mpsc::channel(1024);
        let mut watches = tokio::task::JoinSet::new();
        for point in points {
            watches.spawn(client.clone().watch(point, RESYNC, tx.clone()));
        }
        drop(tx);
        let started = tokio::time::Instant::now();
        let resync = tokio::time::sleep(RESYNC);
        tokio::pin!(resync);
        let mut flush_at: Option<tokio::time::Instant> = None;
        let mut failed = false;
        loop {
            let flush = async {
                match flush_at {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                () = cancel.cancelled() => return,
                () = &mut resync => break,
                () = flush => {
                    publish(&config, &snapshot, &cache, &changed);
                    flush_at = None;
                }
                msg = rx.recv() => match msg {
                    Some(client::WatchMsg::Event { resource, kind, object }) => match kind.as_str() {
                        "ADDED" | "MODIFIED" | "DELETED" => {
                            if let Err(e) = snapshot.apply(resource, &kind, object) {
                                tracing::warn!(job, error = e, "undecodable kubernetes watch event");
                            }
                            flush_at.get_or_insert_with(|| tokio::time::Instant::now() + DEBOUNCE);
                        }
                        "BOOKMARK" => {}
                        // `ERROR` (e.g. 410 Gone: the version is too old): start over.
                        _ => break,
                    },
                    Some(client::WatchMsg::Ended(error)) => {
                        if let Some(e) = error {
                            tracing::debug!(job, error = %e, "kubernetes watch failed");
                            failed = true;
                        }
                        break;
                    }
                    None => break,
                },
            }
        }
        watches.abort_all();
        if flush_at.is_some() {
            publish(&config, &snapshot, &cache, &changed);
        }
        // A server that cannot watch is polled instead of hammered.
        let wait = if failed && started.elapsed() < POLL {
            POLL
        } else {
            Duration::from_secs(1)
        };
        if !pause(wait, &cancel).await {
            return;
        }
    }
}

#[cfg(test)]
mod tests;
