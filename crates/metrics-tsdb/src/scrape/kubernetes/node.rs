//! `role: node`: one target per node at its preferred address and kubelet port, `instance`
//! set to the node name.

use super::objects::Node;
use super::{LabelSet, META_PREFIX, add_object_meta, group, join_host_port, sanitize_label_name};
use crate::scrape::target::{ADDRESS_LABEL, TargetGroup};

/// Address types in Prometheus' (and the kubelet's) order of preference.
const PREFERENCE: &[&str] = &[
    "InternalIP",
    "InternalDNS",
    "ExternalIP",
    "ExternalDNS",
    "LegacyHostIP",
    "Hostname",
];

/// The group of one node; `None` (logged) when it has no usable address, as Prometheus skips it.
pub fn build(node: &Node) -> Option<TargetGroup> {
    let source = format!("node/{}", node.metadata.name);
    let mut labels = LabelSet::new();
    labels.insert(
        format!("{META_PREFIX}node_provider_id"),
        node.spec.provider_id.clone(),
    );
    add_object_meta(&mut labels, &node.metadata, "node");
    let addresses = &node.status.addresses;
    let Some(address) = PREFERENCE
        .iter()
        .find_map(|kind| addresses.iter().find(|a| a.kind == *kind))
    else {
        tracing::warn!(
            node = node.metadata.name,
            "No node address found: host address unknown"
        );
        return None;
    };
    let mut target = LabelSet::new();
    target.insert(
        ADDRESS_LABEL.into(),
        join_host_port(
            &address.address,
            node.status.daemon_endpoints.kubelet_endpoint.port,
        ),
    );
    target.insert("instance".into(), node.metadata.name.clone());
    // The first address of each type.
    for a in addresses.iter().rev() {
        target.insert(
            sanitize_label_name(&format!("{META_PREFIX}node_address_{}", a.kind)),
            a.address.clone(),
        );
    }
    Some(group(source, labels, vec![target]))
}
