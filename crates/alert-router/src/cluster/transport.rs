//! The cluster port: plain HTTP/1.1 over TCP (one port, so a service mesh proxies and
//! encrypts it like any other), serving
//!
//! * `POST /cluster/v1/swim`: one SWIM packet (`application/octet-stream`), answered 202
//!   before it is processed, like a datagram;
//! * `POST /cluster/v1/sync`: a full state exchange (JSON [`super::sync::SyncState`] in
//!   both directions);
//! * `POST /cluster/v1/push`: recent changes from a peer (JSON, answered 204).
//!
//! With `--cluster.label`, every request carries it in `x-cluster-label` and requests of
//! another label are refused with 403.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::swim::{Input, MAX_PACKET, Wire};
use super::sync::{self, SyncState};
use super::{Cluster, ClusterSettings};
use crate::notify::reqwest;
use crate::state::Core;

/// Header carrying `--cluster.label`.
pub const LABEL_HEADER: &str = "x-cluster-label";

/// Path of SWIM packets.
pub const SWIM_PATH: &str = "/cluster/v1/swim";
/// Path of full state exchanges.
pub const SYNC_PATH: &str = "/cluster/v1/sync";
/// Path of pushed changes.
pub const PUSH_PATH: &str = "/cluster/v1/push";

/// What the cluster port's handlers need.
#[derive(Clone, Debug)]
pub struct ServerState {
    /// The replica (stores and cluster view).
    pub core: Arc<Core>,
    /// Where SWIM packets go.
    pub inbox: mpsc::Sender<Input>,
    /// `--cluster.label`.
    pub label: Option<String>,
}

impl ServerState {
    fn cluster(&self) -> Option<&Arc<Cluster>> {
        self.core.cluster.as_ref()
    }

    fn label_ok(&self, headers: &HeaderMap) -> bool {
        label_matches(self.label.as_deref(), headers)
    }
}

/// True when the request carries our `--cluster.label` (none when we have none).
fn label_matches(ours: Option<&str>, headers: &HeaderMap) -> bool {
    let theirs = headers.get(LABEL_HEADER).and_then(|v| v.to_str().ok());
    theirs.unwrap_or("") == ours.unwrap_or("")
}

fn refused() -> Response {
    (StatusCode::FORBIDDEN, "cluster label mismatch\n").into_response()
}

async fn swim_handler(State(st): State<ServerState>, headers: HeaderMap, body: Bytes) -> Response {
    if !st.label_ok(&headers) {
        return refused();
    }
    if body.len() > MAX_PACKET {
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    }
    // Like a datagram: dropped when the membership loop is behind.
    match st.inbox.try_send(Input::Packet(body)) {
        Ok(()) => StatusCode::ACCEPTED.into_response(),
        Err(_) => StatusCode::SERVICE_UNAVAILABLE.into_response(),
    }
}

async fn sync_handler(
    State(st): State<ServerState>,
    headers: HeaderMap,
    Json(theirs): Json<SyncState>,
) -> Response {
    if !st.label_ok(&headers) {
        return refused();
    }
    let Some(cluster) = st.cluster() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let from = theirs.from.clone();
    sync::merge(&st.core, theirs);
    cluster.synced_with(&from);
    Json(sync::full_state(&st.core, cluster.name())).into_response()
}

async fn push_handler(
    State(st): State<ServerState>,
    headers: HeaderMap,
    Json(theirs): Json<SyncState>,
) -> Response {
    if !st.label_ok(&headers) {
        return refused();
    }
    sync::merge(&st.core, theirs);
    StatusCode::NO_CONTENT.into_response()
}

/// Serves the cluster port on `listener` until `stop`.
pub fn serve(listener: tokio::net::TcpListener, state: ServerState, stop: CancellationToken) {
    let app = axum::Router::new()
        .route(SWIM_PATH, post(swim_handler))
        .route(SYNC_PATH, post(sync_handler))
        .route(PUSH_PATH, post(push_handler))
        .layer(axum::extract::DefaultBodyLimit::max(
            crate::api::MAX_BODY_BYTES,
        ))
        .with_state(state);
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app)
            .with_graceful_shutdown(async move { stop.cancelled().await })
            .await
        {
            tracing::error!(error = %e, "cluster port stopped");
        }
    });
}

/// The HTTP client for packets and exchanges (plain HTTP; a mesh adds mTLS).
pub fn client(s: &ClusterSettings) -> std::io::Result<reqwest::Client> {
    lgtm_common::http_client::client::install_crypto_provider();
    reqwest::Client::builder()
        .connect_timeout(s.tcp_timeout)
        .timeout(s.tcp_timeout.max(Duration::from_secs(1)))
        .pool_idle_timeout(Duration::from_secs(90))
        .build()
        .map_err(std::io::Error::other)
}

/// Adds the label header when a label is set.
pub fn labelled(req: reqwest::RequestBuilder, label: Option<&str>) -> reqwest::RequestBuilder {
    match label {
        Some(l) => req.header(LABEL_HEADER, l),
        None => req,
    }
}

/// Sends SWIM packets as HTTP requests, at most [`HttpWire::MAX_IN_FLIGHT`] at a time (more
/// are dropped, as a full socket buffer drops datagrams).
#[derive(Debug)]
pub struct HttpWire {
    client: reqwest::Client,
    label: Option<String>,
    timeout: Duration,
    in_flight: Arc<Semaphore>,
}

impl HttpWire {
    /// Most packets in flight at once.
    pub const MAX_IN_FLIGHT: usize = 256;

    /// A wire with this client; a packet not delivered within `timeout` is given up.
    pub fn new(client: reqwest::Client, label: Option<String>, timeout: Duration) -> Self {
        Self {
            client,
            label,
            timeout,
            in_flight: Arc::new(Semaphore::new(Self::MAX_IN_FLIGHT)),
        }
    }
}

impl Wire for HttpWire {
    fn send(&self, to: SocketAddr, packet: Bytes) -> Option<JoinHandle<()>> {
        let permit = self.in_flight.clone().try_acquire_owned().ok()?;
        let req = labelled(
            self.client.post(format!("http://{to}{SWIM_PATH}")),
            self.label.as_deref(),
        )
        .header("content-type", "application/octet-stream")
        .timeout(self.timeout)
        .body(packet);
        Some(tokio::spawn(async move {
            if let Err(e) = req.send().await {
                tracing::trace!(%to, error = %e, "swim packet not delivered");
            }
            drop(permit);
        }))
    }
}

/// Resolves `host:port` entries (names may resolve to several addresses), skipping the
/// ones that do not resolve now (they are retried on the next round).
pub async fn resolve(entries: &[String]) -> Vec<SocketAddr> {
    let mut out = Vec::new();
    for e in entries {
        match tokio::net::lookup_host(e.as_str()).await {
            Ok(addrs) => out.extend(addrs),
            Err(err) => {
                tracing::debug!(peer = %e, error = %err, "cluster peer does not resolve (yet)")
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// The address peers reach this replica at: `--cluster.advertise-address` (resolved if a
/// name), else the bound address, or when bound to all interfaces the address this host's
/// name resolves to (the pod IP in Kubernetes), else loopback.
pub async fn advertise_address(
    advertise: Option<&str>,
    bound: SocketAddr,
) -> std::io::Result<SocketAddr> {
    if let Some(a) = advertise {
        if let Ok(sa) = a.parse::<SocketAddr>() {
            return Ok(sa);
        }
        return tokio::net::lookup_host(a).await?.next().ok_or_else(|| {
            std::io::Error::other(format!(
                "--cluster.advertise-address {a:?} does not resolve"
            ))
        });
    }
    if !bound.ip().is_unspecified() {
        return Ok(bound);
    }
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_default();
    if !host.is_empty()
        && let Ok(addrs) = tokio::net::lookup_host((host.as_str(), bound.port())).await
    {
        let addrs: Vec<SocketAddr> = addrs.collect();
        let pick = addrs
            .iter()
            .find(|a| a.is_ipv4() && !a.ip().is_loopback())
            .or_else(|| addrs.iter().find(|a| !a.ip().is_loopback()));
        if let Some(a) = pick {
            return Ok(*a);
        }
    }
    let fallback = SocketAddr::new(IpAddr::from([127, 0, 0, 1]), bound.port());
    tracing::warn!(address = %fallback, "cannot tell this host's address; set --cluster.advertise-address");
    Ok(fallback)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_label_must_match() {
        let mut h = HeaderMap::new();
        assert!(label_matches(None, &h));
        assert!(!label_matches(Some("prod"), &h));
        h.insert(LABEL_HEADER, "prod".parse().unwrap());
        assert!(label_matches(Some("prod"), &h));
        assert!(!label_matches(Some("staging"), &h));
        assert!(!label_matches(None, &h));
        lgtm_common::http_client::client::install_crypto_provider();
        let req = labelled(
            reqwest::Client::new().post("http://127.0.0.1:1/"),
            Some("prod"),
        )
        .build()
        .unwrap();
        assert!(label_matches(Some("prod"), req.headers()));
    }

    #[tokio::test]
    async fn advertise_address_rules() {
        let bound: SocketAddr = "127.0.0.1:9094".parse().unwrap();
        assert_eq!(advertise_address(None, bound).await.unwrap(), bound);
        assert_eq!(
            advertise_address(Some("10.1.2.3:9000"), bound)
                .await
                .unwrap(),
            "10.1.2.3:9000".parse().unwrap()
        );
        let by_name = advertise_address(Some("localhost:9000"), bound)
            .await
            .unwrap();
        assert!(by_name.ip().is_loopback() && by_name.port() == 9000);
        let any = advertise_address(None, "0.0.0.0:9094".parse().unwrap())
            .await
            .unwrap();
        assert!(!any.ip().is_unspecified() && any.port() == 9094, "{any}");
    }

    #[tokio::test]
    async fn peers_resolve_to_every_address_and_unresolvable_ones_wait() {
        let got = resolve(&[
            "localhost:9094".into(),
            "127.0.0.2:9094".into(),
            "127.0.0.2:9094".into(),
            "no-such-host.invalid:9094".into(),
        ])
        .await;
        assert!(got.contains(&"127.0.0.1:9094".parse().unwrap()), "{got:?}");
        assert!(got.contains(&"127.0.0.2:9094".parse().unwrap()));
        assert_eq!(
            got.iter().filter(|a| a.port() == 9094).count(),
            got.len(),
            "{got:?}"
        );
        assert_eq!(
            got.iter()
                .filter(|a| **a == "127.0.0.2:9094".parse::<SocketAddr>().unwrap())
                .count(),
            1,
            "deduplicated"
        );
    }
}
