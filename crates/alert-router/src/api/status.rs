//! `/api/v2/status` and `/api/v2/receivers`.

use std::sync::Arc;

use axum::extract::State;
use axum::response::Response;
use serde::Serialize;

use super::error::ok_json;
use crate::model::api_time;
use crate::state::Core;

/// The version amtool and Grafana are told; the router speaks 0.25's API.
pub(super) const COMPAT_VERSION: &str = "0.25.0";

#[derive(Serialize)]
struct Status {
    cluster: Cluster,
    config: ConfigText,
    uptime: String,
    #[serde(rename = "versionInfo")]
    version_info: VersionInfo,
}

#[derive(Serialize)]
struct Cluster {
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    peers: Vec<Peer>,
    status: &'static str,
}

#[derive(Serialize)]
struct Peer {
    address: String,
    name: String,
}

#[derive(Serialize)]
struct ConfigText {
    original: String,
}

#[derive(Serialize)]
struct VersionInfo {
    branch: &'static str,
    #[serde(rename = "buildDate")]
    build_date: &'static str,
    #[serde(rename = "buildUser")]
    build_user: &'static str,
    #[serde(rename = "goVersion")]
    go_version: &'static str,
    revision: &'static str,
    version: &'static str,
}

/// `GET /api/v2/status`.
pub(super) async fn get_status(State(core): State<Arc<Core>>) -> Response {
    let rt = core.runtime();
    ok_json(&Status {
        cluster: match &core.cluster {
            None => Cluster {
                name: None,
                peers: Vec::new(),
                status: "disabled",
            },
            Some(c) => Cluster {
                name: Some(c.name().to_owned()),
                peers: c
                    .peers()
                    .into_iter()
                    .map(|p| Peer {
                        address: p.address,
                        name: p.name,
                    })
                    .collect(),
                status: c.status(),
            },
        },
        config: ConfigText {
            original: rt.config.original.clone(),
        },
        uptime: api_time(&core.start_time),
        version_info: VersionInfo {
            branch: "alert-router",
            build_date: "",
            build_user: "",
            go_version: "none (alert-router is written in Rust)",
            revision: env!("CARGO_PKG_VERSION"),
            version: COMPAT_VERSION,
        },
    })
}

#[derive(Serialize)]
struct Receiver {
    name: String,
}

/// `GET /api/v2/receivers`, in configuration order.
pub(super) async fn get_receivers(State(core): State<Arc<Core>>) -> Response {
    let rt = core.runtime();
    let out: Vec<Receiver> = rt
        .config
        .receivers
        .iter()
        .map(|r| Receiver {
            name: r.name.clone(),
        })
        .collect();
    ok_json(&out)
}
