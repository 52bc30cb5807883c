//! `role: endpointslice` (`discovery.k8s.io/v1`): one target per endpoint address and port,
//! with conditions, zone, topology and the service's and pod's metadata; uncovered container
//! ports of the pods become targets of their own, as for `endpoints`.

use super::endpoints::{SeenPods, add_pod_target_labels, resolve_pod};
use super::objects::EndpointSlice;
use super::service::service_labels;
use super::{
    LabelSet, META_PREFIX, NAMESPACE_LABEL, Snapshot, add_object_meta, group, join_host_port,
    sanitize_label_name,
};
use crate::scrape::target::{ADDRESS_LABEL, TargetGroup};

/// Label naming the service an EndpointSlice belongs to.
const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";

/// The group of one EndpointSlice.
pub fn build(eps: &EndpointSlice, snapshot: &Snapshot, attach_node: bool) -> TargetGroup {
    let m = |s: &str| format!("{META_PREFIX}endpointslice_{s}");
    let ns = &eps.metadata.namespace;
    let source = format!("endpointslice/{ns}/{}", eps.metadata.name);
    let mut labels = LabelSet::new();
    labels.insert(NAMESPACE_LABEL.into(), ns.clone());
    labels.insert(m("address_type"), eps.address_type.clone());
    add_object_meta(&mut labels, &eps.metadata, "endpointslice");
    if let Some(svc) = eps
        .metadata
        .labels
        .get(SERVICE_NAME_LABEL)
        .and_then(|name| snapshot.service(ns, name))
    {
        labels.extend(service_labels(svc));
    }

    let mut seen = SeenPods::default();
    let mut targets = Vec::new();
    for ep in &eps.endpoints {
        for port in &eps.ports {
            for addr in &ep.addresses {
                let mut t = LabelSet::new();
                let address = match port.port {
                    Some(p) => join_host_port(addr, p),
                    None => addr.clone(),
                };
                t.insert(ADDRESS_LABEL.into(), address);
                if let Some(name) = &port.name {
                    t.insert(m("port_name"), name.clone());
                }
                if let Some(protocol) = &port.protocol {
                    t.insert(m("port_protocol"), protocol.clone());
                }
                if let Some(p) = port.port {
                    t.insert(m("port"), p.to_string());
                }
                if let Some(app) = &port.app_protocol {
                    t.insert(m("port_app_protocol"), app.clone());
                }
                let c = &ep.conditions;
                for (name, value) in [
                    ("ready", c.ready),
                    ("serving", c.serving),
                    ("terminating", c.terminating),
                ] {
                    if let Some(v) = value {
                        t.insert(m(&format!("endpoint_conditions_{name}")), v.to_string());
                    }
                }
                if let Some(h) = &ep.hostname {
                    t.insert(m("endpoint_hostname"), h.clone());
                }
                if let Some(r) = &ep.target_ref {
                    t.insert(m("address_target_kind"), r.kind.clone());
                    t.insert(m("address_target_name"), r.name.clone());
                }
                if let Some(n) = &ep.node_name {
                    t.insert(m("endpoint_node_name"), n.clone());
                }
                if let Some(z) = &ep.zone {
                    t.insert(m("endpoint_zone"), z.clone());
                }
                for (k, v) in &ep.deprecated_topology {
                    let ln = sanitize_label_name(k);
                    t.insert(m(&format!("endpoint_topology_{ln}")), v.clone());
                    t.insert(m(&format!("endpoint_topology_present_{ln}")), "true".into());
                }
                if attach_node {
                    let node = match &ep.target_ref {
                        Some(r) if r.kind == "Node" => Some(r.name.as_str()),
                        _ => ep.node_name.as_deref(),
                    };
                    snapshot.add_node_labels(&mut t, node);
                }
                if let Some(pod) = resolve_pod(snapshot, ep.target_ref.as_ref()) {
                    seen.saw(pod, port.port);
                    // The container port's own protocol, as upstream does for slices.
                    let protocol = port
                        .port
                        .and_then(|p| {
                            pod.spec
                                .containers
                                .iter()
                                .flat_map(|c| c.ports.iter())
                                .find(|cp| cp.container_port == p)
                        })
                        .map(|cp| cp.protocol.clone())
                        .unwrap_or_default();
                    add_pod_target_labels(&mut t, pod, port.port, &protocol);
                }
                targets.push(t);
            }
        }
    }
    targets.extend(seen.uncovered_targets());
    group(source, labels, targets)
}
