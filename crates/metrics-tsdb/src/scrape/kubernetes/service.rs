//! `role: service`: one target per service port at `<name>.<namespace>.svc:<port>`.

use super::objects::Service;
use super::{LabelSet, META_PREFIX, NAMESPACE_LABEL, add_object_meta, group, join_host_port};
use crate::scrape::target::{ADDRESS_LABEL, TargetGroup};

/// Prometheus' `serviceLabels`: namespace and the service's meta labels.
pub fn service_labels(svc: &Service) -> LabelSet {
    let mut set = LabelSet::new();
    set.insert(NAMESPACE_LABEL.into(), svc.metadata.namespace.clone());
    add_object_meta(&mut set, &svc.metadata, "service");
    set
}

/// The group of one service.
pub fn build(svc: &Service) -> TargetGroup {
    let m = |s: &str| format!("{META_PREFIX}service_{s}");
    let source = format!("svc/{}/{}", svc.metadata.namespace, svc.metadata.name);
    let host = format!("{}.{}.svc", svc.metadata.name, svc.metadata.namespace);
    let targets = svc
        .spec
        .ports
        .iter()
        .map(|port| {
            let mut t = LabelSet::new();
            t.insert(ADDRESS_LABEL.into(), join_host_port(&host, port.port));
            t.insert(m("port_name"), port.name.clone());
            t.insert(m("port_number"), port.port.to_string());
            t.insert(m("port_protocol"), port.protocol.clone());
            t.insert(m("type"), svc.spec.kind.clone());
            if svc.spec.kind == "ExternalName" {
                t.insert(m("external_name"), svc.spec.external_name.clone());
            } else {
                t.insert(m("cluster_ip"), svc.spec.cluster_ip.clone());
            }
            if svc.spec.kind == "LoadBalancer" {
                t.insert(m("loadbalancer_ip"), svc.spec.load_balancer_ip.clone());
            }
            t
        })
        .collect();
    group(source, service_labels(svc), targets)
}
