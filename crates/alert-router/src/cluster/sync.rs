//! Replication of silences and the notification log between members, and joining.
//!
//! * Full push-pull ([`pushpull`]): both sides send everything and merge newest-wins
//!   (`updatedAt` for silences, the entry timestamp for the nflog). Done with a member as
//!   soon as SWIM reports it up (so a late joiner gets the existing silences at once) and
//!   with every member every `--cluster.pushpull-interval`.
//! * Push of recent changes: after a local change ([`super::Cluster::changed`]), the
//!   silences and nflog entries changed since the previous push (with a little overlap)
//!   go to every member, at most once per `--cluster.gossip-interval`.
//! * Join loop ([`join_loop`]): the `--cluster.peer` entries are resolved again and every
//!   address that is not a live member is announced to, every second until a first member
//!   is found, then every `--cluster.reconnect-interval` (a pod restarted with a new IP, a
//!   partition that healed, a name that did not resolve at start-up).

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::Cluster;
use super::identity::PeerId;
use super::swim::Input;
use super::transport::{self, PUSH_PATH, SYNC_PATH};
use crate::nflog::{Entry, EntryKey};
use crate::notify::reqwest;
use crate::silence::Silence;
use crate::state::Core;

/// What replicas exchange.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct SyncState {
    /// Sender's name.
    pub from: String,
    /// Silences (all of them, or those changed recently).
    pub silences: Vec<Silence>,
    /// Notification log entries (all of them, or those changed recently).
    pub nflog: Vec<(EntryKey, Entry)>,
}

/// Everything this replica holds.
pub fn full_state(core: &Core, name: &str) -> SyncState {
    SyncState {
        from: name.to_owned(),
        silences: core.silences.list(),
        nflog: core.nflog.entries(),
    }
}

/// What changed at or after `since`.
pub fn changes_since(core: &Core, name: &str, since: DateTime<Utc>) -> SyncState {
    let mut s = full_state(core, name);
    s.silences.retain(|x| x.updated_at >= since);
    s.nflog.retain(|(_, e)| e.timestamp >= since);
    s
}

/// Merges a peer's state into ours (newest wins); true when something changed.
pub fn merge(core: &Core, state: SyncState) -> bool {
    let silences = match core.silences.merge(state.silences) {
        Ok(n) => n,
        Err(e) => {
            tracing::error!(error = %e, "merging peer silences");
            0
        }
    };
    let entries = core.nflog.merge(state.nflog);
    if silences + entries > 0 {
        tracing::debug!(from = %state.from, silences, entries, "merged peer state");
    }
    silences + entries > 0
}

/// A full exchange with the member at `addr`.
pub async fn pushpull(
    core: &Core,
    cluster: &Cluster,
    client: &reqwest::Client,
    addr: SocketAddr,
) -> Result<(), String> {
    let body = serde_json::to_vec(&full_state(core, cluster.name())).map_err(|e| e.to_string())?;
    let req = transport::labelled(
        client.post(format!("http://{addr}{SYNC_PATH}")),
        cluster.settings().label.as_deref(),
    )
    .header("content-type", "application/json")
    .body(body);
    let resp = req.send().await.map_err(|e| e.to_string())?;
    if !resp.status().is_success() {
        return Err(format!("status {}", resp.status()));
    }
    let bytes = resp.bytes().await.map_err(|e| e.to_string())?;
    let theirs: SyncState = serde_json::from_slice(&bytes).map_err(|e| e.to_string())?;
    let from = theirs.from.clone();
    merge(core, theirs);
    cluster.synced_with(&from);
    Ok(())
}

async fn push(
    client: &reqwest::Client,
    label: Option<&str>,
    addr: SocketAddr,
    body: Vec<u8>,
) -> Result<(), String> {
    let resp = transport::labelled(client.post(format!("http://{addr}{PUSH_PATH}")), label)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if resp.status().is_success() {
        Ok(())
    } else {
        Err(format!("status {}", resp.status()))
    }
}

fn spawn_pushpull(
    core: &Arc<Core>,
    cluster: &Arc<Cluster>,
    client: &reqwest::Client,
    addr: SocketAddr,
) {
    let (core, cluster, client) = (core.clone(), cluster.clone(), client.clone());
    tokio::spawn(async move {
        if let Err(e) = pushpull(&core, &cluster, &client, addr).await {
            tracing::warn!(peer = %addr, error = %e, "cluster state exchange failed");
        }
    });
}

/// Runs the exchanges until `shutdown`.
pub async fn run(
    core: Arc<Core>,
    cluster: Arc<Cluster>,
    client: reqwest::Client,
    mut up: mpsc::UnboundedReceiver<PeerId>,
    shutdown: CancellationToken,
) {
    let s = cluster.settings().clone();
    let mut full = tokio::time::interval_at(
        tokio::time::Instant::now() + s.pushpull_interval,
        s.pushpull_interval.max(Duration::from_millis(100)),
    );
    full.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // Entries stamped up to this long before a push are sent again by the next one, so a
    // change recorded while a push was being collected is not missed.
    let overlap = chrono::Duration::seconds(2);
    let mut since = core.clock.now() - overlap;
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            Some(id) = up.recv() => spawn_pushpull(&core, &cluster, &client, id.addr),
            _ = full.tick() => {
                for addr in cluster.peer_addresses() {
                    spawn_pushpull(&core, &cluster, &client, addr);
                }
            }
            () = cluster.wake.notified() => {
                let now = core.clock.now();
                let changes = changes_since(&core, cluster.name(), since);
                since = now - overlap;
                if changes.silences.is_empty() && changes.nflog.is_empty() {
                    continue;
                }
                let Ok(body) = serde_json::to_vec(&changes) else { continue };
                let pushes = cluster.peer_addresses().into_iter().map(|addr| {
                    let (client, body, label) = (client.clone(), body.clone(), s.label.clone());
                    async move {
                        if let Err(e) = push(&client, label.as_deref(), addr, body).await {
                            // The next push-pull repairs it.
                            tracing::warn!(peer = %addr, error = %e, "cluster push failed");
                        }
                    }
                });
                futures::future::join_all(pushes).await;
                // Coalesce bursts (a thousand groups notifying at once) into one push per
                // gossip interval.
                tokio::time::sleep(s.gossip_interval).await;
            }
        }
    }
}

/// Announces to every resolved `--cluster.peer` address that is not a live member (nor
/// this replica), until `shutdown`.
pub async fn join_loop(
    cluster: Arc<Cluster>,
    inbox: mpsc::Sender<Input>,
    shutdown: CancellationToken,
) {
    let s = cluster.settings().clone();
    loop {
        let me = cluster.address();
        let live: HashSet<SocketAddr> = cluster.peer_addresses().into_iter().collect();
        let found_any = !live.is_empty();
        for addr in transport::resolve(&s.peers).await {
            if Some(addr) == me || live.contains(&addr) {
                continue;
            }
            if inbox.send(Input::Announce(addr)).await.is_err() {
                return;
            }
        }
        let pause = if found_any {
            s.reconnect_interval
        } else {
            Duration::from_secs(1).min(s.reconnect_interval)
        };
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(pause.max(Duration::from_millis(100))) => {}
        }
    }
}
