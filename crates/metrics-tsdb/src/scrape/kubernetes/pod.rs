//! `role: pod`: one target per container port, or per container without ports (address is
//! the pod IP alone), init containers included and marked; pods without an IP yield an empty
//! group.

use super::objects::{Container, ContainerStatus, Pod};
use super::{
    LabelSet, META_PREFIX, NAMESPACE_LABEL, Snapshot, add_object_meta, group, join_host_port,
};
use crate::scrape::target::{ADDRESS_LABEL, TargetGroup};

/// `__meta_kubernetes_pod_container_name`.
pub const CONTAINER_NAME: &str = "__meta_kubernetes_pod_container_name";
/// `__meta_kubernetes_pod_container_image`.
pub const CONTAINER_IMAGE: &str = "__meta_kubernetes_pod_container_image";
/// `__meta_kubernetes_pod_container_port_name`.
pub const CONTAINER_PORT_NAME: &str = "__meta_kubernetes_pod_container_port_name";
/// `__meta_kubernetes_pod_container_port_number`.
pub const CONTAINER_PORT_NUMBER: &str = "__meta_kubernetes_pod_container_port_number";
/// `__meta_kubernetes_pod_container_port_protocol`.
pub const CONTAINER_PORT_PROTOCOL: &str = "__meta_kubernetes_pod_container_port_protocol";

/// Prometheus' `podLabels`: the pod's own meta labels (no namespace, no container).
pub fn pod_labels(pod: &Pod) -> LabelSet {
    let mut set = LabelSet::new();
    let m = |s: &str| format!("{META_PREFIX}pod_{s}");
    set.insert(m("ip"), pod.status.pod_ip.clone());
    set.insert(m("ready"), ready(pod));
    set.insert(m("phase"), pod.status.phase.clone());
    set.insert(m("node_name"), pod.spec.node_name.clone());
    set.insert(m("host_ip"), pod.status.host_ip.clone());
    set.insert(m("uid"), pod.metadata.uid.clone());
    // The first IPv4 and the first IPv6 address of a dual-stack pod.
    for ip in &pod.status.pod_ips {
        let label = match ip.ip.parse::<std::net::IpAddr>() {
            Ok(std::net::IpAddr::V4(_)) => m("ipv4"),
            Ok(std::net::IpAddr::V6(_)) => m("ipv6"),
            Err(_) => continue,
        };
        set.entry(label).or_insert_with(|| ip.ip.clone());
    }
    add_object_meta(&mut set, &pod.metadata, "pod");
    if let Some(owner) = pod
        .metadata
        .owner_references
        .iter()
        .find(|o| o.controller == Some(true))
    {
        if !owner.kind.is_empty() {
            set.insert(m("controller_kind"), owner.kind.clone());
        }
        if !owner.name.is_empty() {
            set.insert(m("controller_name"), owner.name.clone());
        }
    }
    set
}

/// `true`/`false`/`unknown` from the `Ready` condition.
fn ready(pod: &Pod) -> String {
    pod.status
        .conditions
        .iter()
        .find(|c| c.kind == "Ready")
        .map_or_else(|| "unknown".to_owned(), |c| c.status.to_lowercase())
}

fn container_id(statuses: &[ContainerStatus], name: &str) -> String {
    statuses
        .iter()
        .find(|s| s.name == name)
        .map(|s| s.container_id.clone())
        .unwrap_or_default()
}

/// Source of a pod's group: `pod/<namespace>/<name>`.
pub fn source(pod: &Pod) -> String {
    format!("pod/{}/{}", pod.metadata.namespace, pod.metadata.name)
}

/// The group of one pod; `nodes` is given when node metadata is attached.
pub fn build(pod: &Pod, nodes: Option<&Snapshot>) -> TargetGroup {
    let ip = &pod.status.pod_ip;
    if ip.is_empty() {
        return group(source(pod), LabelSet::new(), Vec::new());
    }
    let mut labels = pod_labels(pod);
    labels.insert(NAMESPACE_LABEL.into(), pod.metadata.namespace.clone());
    if let Some(snapshot) = nodes {
        snapshot.add_node_labels(&mut labels, Some(&pod.spec.node_name));
    }
    let all = pod
        .spec
        .containers
        .iter()
        .map(|c| (c, false))
        .chain(pod.spec.init_containers.iter().map(|c| (c, true)));
    let mut targets = Vec::new();
    for (c, is_init) in all {
        let statuses = if is_init {
            &pod.status.init_container_statuses
        } else {
            &pod.status.container_statuses
        };
        let base = |address: String| -> LabelSet {
            container_base(c, address, container_id(statuses, &c.name), is_init)
        };
        if c.ports.is_empty() {
            // Without a port an IPv6 address still needs its brackets (RFC 3986).
            let address = match ip.parse::<std::net::IpAddr>() {
                Ok(std::net::IpAddr::V6(v6)) => format!("[{v6}]"),
                _ => ip.clone(),
            };
            targets.push(base(address));
            continue;
        }
        for port in &c.ports {
            let number = port.container_port.to_string();
            let mut t = base(join_host_port(ip, &number));
            t.insert(CONTAINER_PORT_NUMBER.into(), number);
            t.insert(CONTAINER_PORT_NAME.into(), port.name.clone());
            t.insert(CONTAINER_PORT_PROTOCOL.into(), port.protocol.clone());
            targets.push(t);
        }
    }
    group(source(pod), labels, targets)
}

fn container_base(c: &Container, address: String, id: String, is_init: bool) -> LabelSet {
    LabelSet::from([
        (ADDRESS_LABEL.to_owned(), address),
        (CONTAINER_NAME.to_owned(), c.name.clone()),
        (format!("{META_PREFIX}pod_container_id"), id),
        (CONTAINER_IMAGE.to_owned(), c.image.clone()),
        (
            format!("{META_PREFIX}pod_container_init"),
            is_init.to_string(),
        ),
    ])
}
