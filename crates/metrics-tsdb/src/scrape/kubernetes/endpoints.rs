//! `role: endpoints`: one target per address and port of every subset (ready and not ready),
//! enriched with the backing service's and pod's metadata; container ports of those pods that
//! no endpoint port covers become targets of their own.

use super::objects::{EndpointAddress, EndpointPort, Endpoints, Pod};
use super::pod::{
    CONTAINER_IMAGE, CONTAINER_NAME, CONTAINER_PORT_NAME, CONTAINER_PORT_NUMBER,
    CONTAINER_PORT_PROTOCOL, pod_labels,
};
use super::service::service_labels;
use super::{
    LabelSet, META_PREFIX, NAMESPACE_LABEL, Snapshot, add_object_meta, group, join_host_port,
};
use crate::scrape::target::{ADDRESS_LABEL, TargetGroup};

/// Pods an endpoints object pointed at, with the ports already turned into targets.
#[derive(Debug, Default)]
pub(super) struct SeenPods<'a> {
    entries: Vec<(&'a Pod, Vec<i32>)>,
}

impl<'a> SeenPods<'a> {
    /// Records that `pod` got a target for `port`.
    pub(super) fn saw(&mut self, pod: &'a Pod, port: Option<i32>) {
        let idx = match self.entries.iter().position(|(p, _)| std::ptr::eq(*p, pod)) {
            Some(i) => i,
            None => {
                self.entries.push((pod, Vec::new()));
                self.entries.len() - 1
            }
        };
        if let Some(port) = port {
            self.entries[idx].1.push(port);
        }
    }

    /// Targets for every container port of a seen pod that no endpoint port covered.
    pub(super) fn uncovered_targets(&self) -> Vec<LabelSet> {
        let mut out = Vec::new();
        for (pod, seen) in &self.entries {
            let ip = &pod.status.pod_ip;
            if ip.is_empty() {
                continue;
            }
            for c in &pod.spec.containers {
                for cport in &c.ports {
                    if seen.contains(&cport.container_port) {
                        continue;
                    }
                    let number = cport.container_port.to_string();
                    let mut t = LabelSet::new();
                    t.insert(ADDRESS_LABEL.into(), join_host_port(ip, &number));
                    t.insert(CONTAINER_NAME.into(), c.name.clone());
                    t.insert(CONTAINER_IMAGE.into(), c.image.clone());
                    t.insert(CONTAINER_PORT_NAME.into(), cport.name.clone());
                    t.insert(CONTAINER_PORT_NUMBER.into(), number);
                    t.insert(CONTAINER_PORT_PROTOCOL.into(), cport.protocol.clone());
                    t.extend(pod_labels(pod));
                    out.push(t);
                }
            }
        }
        out
    }
}

/// Adds pod labels and the labels of the container port matching `port` (if any).
pub(super) fn add_pod_target_labels(
    target: &mut LabelSet,
    pod: &Pod,
    port: Option<i32>,
    protocol: &str,
) {
    target.extend(pod_labels(pod));
    let Some(port) = port else { return };
    for c in &pod.spec.containers {
        if let Some(cport) = c.ports.iter().find(|p| p.container_port == port) {
            target.insert(CONTAINER_NAME.into(), c.name.clone());
            target.insert(CONTAINER_IMAGE.into(), c.image.clone());
            target.insert(CONTAINER_PORT_NAME.into(), cport.name.clone());
            target.insert(CONTAINER_PORT_NUMBER.into(), port.to_string());
            target.insert(CONTAINER_PORT_PROTOCOL.into(), protocol.to_owned());
            break;
        }
    }
}

/// The pod an object reference names, when it is a pod we listed.
pub(super) fn resolve_pod<'a>(
    snapshot: &'a Snapshot,
    target_ref: Option<&super::objects::ObjectReference>,
) -> Option<&'a Pod> {
    let r = target_ref.filter(|r| r.kind == "Pod")?;
    snapshot.pod(&r.namespace, &r.name)
}

/// The group of one endpoints object.
pub fn build(eps: &Endpoints, snapshot: &Snapshot, attach_node: bool) -> TargetGroup {
    let m = |s: &str| format!("{META_PREFIX}endpoint_{s}");
    let ns = &eps.metadata.namespace;
    let source = format!("endpoints/{ns}/{}", eps.metadata.name);
    let mut labels = LabelSet::new();
    labels.insert(NAMESPACE_LABEL.into(), ns.clone());
    if let Some(svc) = snapshot.service(ns, &eps.metadata.name) {
        labels.extend(service_labels(svc));
    }
    add_object_meta(&mut labels, &eps.metadata, "endpoints");

    let mut seen = SeenPods::default();
    let mut targets = Vec::new();
    let mut add = |addr: &EndpointAddress, port: &EndpointPort, ready: &str| {
        let number = port.port.unwrap_or(0);
        let protocol = port.protocol.clone().unwrap_or_default();
        let mut t = LabelSet::new();
        t.insert(ADDRESS_LABEL.into(), join_host_port(&addr.ip, number));
        t.insert(m("port_name"), port.name.clone().unwrap_or_default());
        t.insert(m("port_protocol"), protocol.clone());
        t.insert(m("ready"), ready.into());
        if let Some(r) = &addr.target_ref {
            t.insert(m("address_target_kind"), r.kind.clone());
            t.insert(m("address_target_name"), r.name.clone());
        }
        if let Some(node) = &addr.node_name {
            t.insert(m("node_name"), node.clone());
        }
        if !addr.hostname.is_empty() {
            t.insert(m("hostname"), addr.hostname.clone());
        }
        if attach_node {
            let node = addr.node_name.as_deref().or_else(|| {
                addr.target_ref
                    .as_ref()
                    .filter(|r| r.kind == "Node")
                    .map(|r| r.name.as_str())
            });
            snapshot.add_node_labels(&mut t, node);
        }
        if let Some(pod) = resolve_pod(snapshot, addr.target_ref.as_ref()) {
            seen.saw(pod, Some(number));
            add_pod_target_labels(&mut t, pod, Some(number), &protocol);
        }
        targets.push(t);
    };
    for subset in &eps.subsets {
        for port in &subset.ports {
            for addr in &subset.addresses {
                add(addr, port, "true");
            }
            for addr in &subset.not_ready_addresses {
                add(addr, port, "false");
            }
        }
    }
    targets.extend(seen.uncovered_targets());
    group(source, labels, targets)
}
