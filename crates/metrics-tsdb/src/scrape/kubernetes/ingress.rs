//! `role: ingress`: one target per rule host and path; the scheme is `https` when the host is
//! listed under `tls`.

use std::collections::BTreeSet;

use super::objects::Ingress;
use super::{LabelSet, META_PREFIX, NAMESPACE_LABEL, add_object_meta, group};
use crate::scrape::target::{ADDRESS_LABEL, TargetGroup};

/// The group of one ingress.
pub fn build(ingress: &Ingress) -> TargetGroup {
    let m = |s: &str| format!("{META_PREFIX}ingress_{s}");
    let source = format!(
        "ingress/{}/{}",
        ingress.metadata.namespace, ingress.metadata.name
    );
    let mut labels = LabelSet::new();
    add_object_meta(&mut labels, &ingress.metadata, "ingress");
    labels.insert(NAMESPACE_LABEL.into(), ingress.metadata.namespace.clone());
    if let Some(class) = &ingress.spec.ingress_class_name {
        labels.insert(m("class_name"), class.clone());
    }
    let tls: BTreeSet<&str> = ingress
        .spec
        .tls
        .iter()
        .flat_map(|t| t.hosts.iter().map(String::as_str))
        .collect();
    let mut targets = Vec::new();
    for rule in &ingress.spec.rules {
        let scheme = if tls.contains(rule.host.as_str()) {
            "https"
        } else {
            "http"
        };
        let paths: Vec<String> = match &rule.http {
            None => vec!["/".into()],
            Some(http) => http
                .paths
                .iter()
                .map(|p| {
                    if p.path.is_empty() {
                        "/".into()
                    } else {
                        p.path.clone()
                    }
                })
                .collect(),
        };
        for path in paths {
            let mut t = LabelSet::new();
            t.insert(ADDRESS_LABEL.into(), rule.host.clone());
            t.insert(m("scheme"), scheme.into());
            t.insert(m("host"), rule.host.clone());
            t.insert(m("path"), path);
            targets.push(t);
        }
    }
    group(source, labels, targets)
}
