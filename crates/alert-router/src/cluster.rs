//! High availability without UDP: replicas exchange their silences and notification log
//! over plain HTTP on the cluster port (`--cluster.listen-address`, TCP only, so it works
//! behind Istio's strict mTLS), merge newest-wins, and each waits `position ×
//! --cluster.peer-timeout` before deciding whether to notify (Alertmanager's positional
//! wait), so the first replica notifies and the others find its nflog entry.
//!
//! Membership is static: this replica (named by `--cluster.advertise-address`, else the
//! listen address) syncs with every `--cluster.peer` address. Positions come from the
//! *names* the replicas report in each exchange, not from the addresses, so peers may be
//! given as DNS names (a headless Service listing every pod, this one included) and all
//! replicas still compute the same order. A full state
//! exchange runs every second and right after every local change. Alerts themselves are not
//! replicated (as upstream: senders post to every replica).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::routing::post;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::nflog::{Entry, EntryKey};
use crate::notify::reqwest;
use crate::silence::Silence;
use crate::state::Core;

/// What replicas exchange.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct SyncState {
    /// Sender's name.
    pub from: String,
    /// All silences.
    pub silences: Vec<Silence>,
    /// All nflog entries.
    pub nflog: Vec<(EntryKey, Entry)>,
}

/// Cluster settings from the flags.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterSettings {
    /// Address to serve the sync endpoint on.
    pub listen: String,
    /// This replica's name (the address peers use).
    pub name: String,
    /// Peer addresses.
    pub peers: Vec<String>,
    /// Wait per position before notifying.
    pub peer_timeout: Duration,
    /// Longest wait for the first exchange with every peer before notifying anyway.
    pub settle_timeout: Duration,
}

/// A running cluster membership.
#[derive(Debug)]
pub struct Cluster {
    settings: ClusterSettings,
    started: tokio::time::Instant,
    wake: Notify,
    /// Per peer address: the name it answered with, `None` while unreachable.
    reachable: Mutex<BTreeMap<String, Option<String>>>,
    /// Names of replicas that called us.
    callers: Mutex<BTreeMap<String, ()>>,
}

impl Cluster {
    /// A membership for these settings.
    pub fn new(settings: ClusterSettings) -> Self {
        Self {
            settings,
            started: tokio::time::Instant::now(),
            wake: Notify::new(),
            reachable: Mutex::new(BTreeMap::new()),
            callers: Mutex::new(BTreeMap::new()),
        }
    }

    /// This replica's name.
    pub fn name(&self) -> &str {
        &self.settings.name
    }

    /// All members known by name (this replica, peers that answered or called), sorted.
    pub fn members(&self) -> Vec<String> {
        let mut m: Vec<String> = self.reachable.lock().values().flatten().cloned().collect();
        m.extend(self.callers.lock().keys().cloned());
        m.push(self.settings.name.clone());
        m.sort();
        m.dedup();
        m
    }

    /// Records the name a peer address answered with (`None`: unreachable).
    fn answered(&self, addr: &str, name: Option<String>) {
        self.reachable.lock().insert(addr.to_owned(), name);
    }

    /// Records a replica that called us.
    fn called_by(&self, name: &str) {
        if !name.is_empty() && name != self.settings.name {
            self.callers.lock().insert(name.to_owned(), ());
        }
    }

    /// Index of this replica among the sorted members.
    pub fn position(&self) -> usize {
        self.members()
            .iter()
            .position(|m| *m == self.settings.name)
            .unwrap_or(0)
    }

    /// How long this replica waits before its dedup check.
    pub fn wait(&self) -> Duration {
        self.settings.peer_timeout * self.position() as u32
    }

    /// Something changed locally: push it to the peers now.
    pub fn changed(&self) {
        self.wake.notify_one();
    }

    /// Waits until every peer answered a sync once, or the settle timeout passed since
    /// start-up (Alertmanager's gossip settle gate), so a restarted replica learns the
    /// peers' notification log before it notifies.
    pub async fn settled(&self) {
        let give_up = self.started + self.settings.settle_timeout;
        while self.status() != "ready" && tokio::time::Instant::now() < give_up {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// `ready` once every peer answered a sync, `settling` before.
    pub fn status(&self) -> &'static str {
        let r = self.reachable.lock();
        if self
            .settings
            .peers
            .iter()
            .all(|p| r.get(p).is_some_and(Option::is_some))
        {
            "ready"
        } else {
            "settling"
        }
    }
}

fn local_state(core: &Core, name: &str) -> SyncState {
    SyncState {
        from: name.to_owned(),
        silences: core.silences.list(),
        nflog: core.nflog.entries(),
    }
}

fn merge(core: &Core, state: SyncState) {
    if let Err(e) = core.silences.merge(state.silences) {
        tracing::error!(error = %e, "merging peer silences");
    }
    core.nflog.merge(state.nflog);
}

async fn sync_handler(
    State(core): State<Arc<Core>>,
    Json(state): Json<SyncState>,
) -> Json<SyncState> {
    if let Some(c) = &core.cluster {
        c.called_by(&state.from);
    }
    merge(&core, state);
    let name = core
        .cluster
        .as_ref()
        .map(|c| c.name().to_owned())
        .unwrap_or_default();
    Json(local_state(&core, &name))
}

/// Binds the cluster port, serves the sync endpoint and runs the exchange loop.
pub async fn start(core: Arc<Core>, shutdown: CancellationToken) -> std::io::Result<()> {
    let Some(cluster) = core.cluster.clone() else {
        return Ok(());
    };
    let listener = tokio::net::TcpListener::bind(&cluster.settings.listen).await?;
    let app = axum::Router::new()
        .route("/cluster/v1/sync", post(sync_handler))
        .layer(axum::extract::DefaultBodyLimit::max(
            crate::api::MAX_BODY_BYTES,
        ))
        .with_state(core.clone());
    let stop = shutdown.clone();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async move { stop.cancelled().await })
            .await;
    });
    lgtm_common::http_client::client::install_crypto_provider();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .map_err(std::io::Error::other)?;
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                _ = tick.tick() => {}
                () = cluster.wake.notified() => {}
            }
            for peer in &cluster.settings.peers {
                let state = local_state(&core, cluster.name());
                let url = format!("http://{peer}/cluster/v1/sync");
                let body = serde_json::to_vec(&state).unwrap_or_default();
                let req = client
                    .post(&url)
                    .header("content-type", "application/json")
                    .body(body);
                let answer = match req.send().await {
                    Ok(resp) if resp.status().is_success() => Ok(resp.bytes().await),
                    Ok(resp) => Err(Some(resp.status().as_u16())),
                    Err(e) => {
                        tracing::debug!(peer, error = %e, "cluster peer unreachable");
                        Err(None)
                    }
                };
                let name = match answer {
                    Ok(Ok(bytes)) => match serde_json::from_slice::<SyncState>(&bytes) {
                        Ok(theirs) => {
                            let name = theirs.from.clone();
                            merge(&core, theirs);
                            Some(name)
                        }
                        Err(e) => {
                            tracing::warn!(peer, error = %e, "cluster sync: bad answer");
                            None
                        }
                    },
                    Ok(Err(e)) => {
                        tracing::warn!(peer, error = %e, "cluster sync: reading the answer");
                        None
                    }
                    Err(Some(status)) => {
                        tracing::warn!(peer, status, "cluster sync refused");
                        None
                    }
                    Err(None) => None,
                };
                cluster.answered(peer, name);
            }
        }
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_the_same_on_every_replica() {
        let a = Cluster::new(ClusterSettings {
            listen: "0.0.0.0:9094".into(),
            name: "10.0.0.2:9094".into(),
            peers: vec!["am-0.am:9094".into(), "am-1.am:9094".into()],
            peer_timeout: Duration::from_secs(15),
            settle_timeout: Duration::from_secs(60),
        });
        assert_eq!(a.status(), "settling");
        assert_eq!(a.position(), 0, "alone until peers answer");
        // Peers given by DNS name answer with their advertised names; one of the listed
        // addresses may be this replica itself.
        a.answered("am-0.am:9094", Some("10.0.0.1:9094".into()));
        a.answered("am-1.am:9094", Some("10.0.0.2:9094".into()));
        a.called_by("10.0.0.3:9094");
        assert_eq!(a.position(), 1);
        assert_eq!(a.wait(), Duration::from_secs(15));
        assert_eq!(
            a.members(),
            ["10.0.0.1:9094", "10.0.0.2:9094", "10.0.0.3:9094"]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn settle_gate_waits_for_peers_or_the_timeout() {
        let c = Cluster::new(ClusterSettings {
            listen: "127.0.0.1:0".into(),
            name: "a:1".into(),
            peers: vec!["b:1".into()],
            peer_timeout: Duration::from_secs(1),
            settle_timeout: Duration::from_secs(30),
        });
        let t0 = tokio::time::Instant::now();
        c.settled().await;
        assert!(
            t0.elapsed() >= Duration::from_secs(30),
            "peer never answered: full timeout"
        );
        let c = Cluster::new(ClusterSettings {
            settle_timeout: Duration::from_secs(30),
            ..c.settings.clone()
        });
        c.answered("b:1", Some("b-name".into()));
        let t0 = tokio::time::Instant::now();
        c.settled().await;
        assert!(t0.elapsed() < Duration::from_secs(1), "ready at once");
        assert_eq!(c.status(), "ready");
    }
}
