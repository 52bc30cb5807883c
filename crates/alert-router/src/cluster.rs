//! High availability without UDP. Alertmanager's design, carried over TCP only so it works
//! behind Istio's strict mTLS: every replica serves one HTTP port
//! (`--cluster.listen-address`) on which
//!
//! * membership runs the SWIM protocol of the maintained [`foca`] crate (join through the
//!   `--cluster.peer` addresses, failure detection by direct and indirect probes, a leave
//!   message on shutdown); foca is transport-agnostic, each of its packets is one HTTP
//!   request here ([`transport`]);
//! * silences and the notification log travel as JSON: a full push-pull with a member when
//!   it comes up and every `--cluster.pushpull-interval`, and the recent changes pushed to
//!   every member right after a local change ([`sync`]); merge is newest-wins;
//! * the members, ordered by name, give each replica its position, and a replica at
//!   position *n* waits *n* × `--cluster.peer-timeout` before its dedup check, so the first
//!   replica notifies and the others find its nflog entry (the positional wait);
//! * a replica notifies only once settled: membership stable and a full exchange done with
//!   every member, or `--cluster.settle-timeout` passed.
//!
//! Alerts themselves are not replicated (as upstream: senders post to every replica).

pub mod identity;
pub mod swim;
pub mod sync;
pub mod transport;

use std::collections::{BTreeMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::{Notify, mpsc, watch};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use identity::PeerId;

use crate::state::Core;

/// Cluster settings from the `--cluster.*` flags (Alertmanager's names and defaults).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterSettings {
    /// `--cluster.listen-address`: where the cluster port is bound.
    pub listen: String,
    /// `--cluster.advertise-address`: the address peers reach this replica at (an IP or
    /// a name resolved at start-up); default: the listen address, or this host's address
    /// when listening on all interfaces.
    pub advertise: Option<String>,
    /// This replica's name (`--cluster.peer-name`, else a ULID made at start-up).
    pub name: String,
    /// `--cluster.peer`: addresses to join through, `host:port`; a name may resolve to
    /// several addresses (a headless Service), this replica's own included.
    pub peers: Vec<String>,
    /// `--cluster.peer-timeout` (15s): positional wait per position.
    pub peer_timeout: Duration,
    /// `--cluster.settle-timeout` (1m): longest wait for the cluster to settle.
    pub settle_timeout: Duration,
    /// `--cluster.gossip-interval` (200ms): SWIM gossip period; ×10 is the settle poll.
    pub gossip_interval: Duration,
    /// `--cluster.pushpull-interval` (1m): full state exchange with every member.
    pub pushpull_interval: Duration,
    /// `--cluster.tcp-timeout` (10s): connect and full-exchange timeout.
    pub tcp_timeout: Duration,
    /// `--cluster.probe-timeout` (500ms): SWIM probe round trip.
    pub probe_timeout: Duration,
    /// `--cluster.probe-interval` (1s): SWIM probe period.
    pub probe_interval: Duration,
    /// `--cluster.reconnect-interval` (10s): re-resolving `--cluster.peer` and
    /// re-announcing to lost members.
    pub reconnect_interval: Duration,
    /// `--cluster.reconnect-timeout` (6h): how long a lost member is remembered.
    pub reconnect_timeout: Duration,
    /// `--cluster.label`: when set, packets and exchanges of another label are refused.
    pub label: Option<String>,
}

impl Default for ClusterSettings {
    fn default() -> Self {
        Self {
            listen: "0.0.0.0:9094".into(),
            advertise: None,
            name: String::new(),
            peers: Vec::new(),
            peer_timeout: Duration::from_secs(15),
            settle_timeout: Duration::from_secs(60),
            gossip_interval: Duration::from_millis(200),
            pushpull_interval: Duration::from_secs(60),
            tcp_timeout: Duration::from_secs(10),
            probe_timeout: Duration::from_millis(500),
            probe_interval: Duration::from_secs(1),
            reconnect_interval: Duration::from_secs(10),
            reconnect_timeout: Duration::from_secs(6 * 3600),
            label: None,
        }
    }
}

/// A member as `/api/v2/status` lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerInfo {
    /// Its name.
    pub name: String,
    /// Its cluster address.
    pub address: String,
}

/// This replica's view of the cluster, shared by the dispatcher (position, settle gate),
/// the API (status) and the background tasks.
#[derive(Debug)]
pub struct Cluster {
    settings: ClusterSettings,
    started: tokio::time::Instant,
    /// A local silence or notification-log change to push.
    wake: Notify,
    address: OnceLock<SocketAddr>,
    /// Active members other than this replica, by address.
    view: Mutex<BTreeMap<SocketAddr, PeerId>>,
    /// Names of members a full state exchange was done with.
    synced: Mutex<HashSet<String>>,
    ready: watch::Sender<bool>,
    up_tx: mpsc::UnboundedSender<PeerId>,
    up_rx: Mutex<Option<mpsc::UnboundedReceiver<PeerId>>>,
    swim_task: Mutex<Option<JoinHandle<()>>>,
}

impl Cluster {
    /// A membership of one for these settings; [`start`] joins the others.
    pub fn new(settings: ClusterSettings) -> Self {
        let (up_tx, up_rx) = mpsc::unbounded_channel();
        Self {
            settings,
            started: tokio::time::Instant::now(),
            wake: Notify::new(),
            address: OnceLock::new(),
            view: Mutex::new(BTreeMap::new()),
            synced: Mutex::new(HashSet::new()),
            ready: watch::Sender::new(false),
            up_tx,
            up_rx: Mutex::new(Some(up_rx)),
            swim_task: Mutex::new(None),
        }
    }

    /// The settings it runs with.
    pub fn settings(&self) -> &ClusterSettings {
        &self.settings
    }

    /// This replica's name.
    pub fn name(&self) -> &str {
        &self.settings.name
    }

    /// This replica's advertised cluster address, once started.
    pub fn address(&self) -> Option<SocketAddr> {
        self.address.get().copied()
    }

    fn set_address(&self, addr: SocketAddr) {
        let _ = self.address.set(addr);
    }

    /// Names of the active members, this replica included, sorted (Alertmanager's order).
    pub fn members(&self) -> Vec<String> {
        let mut m: Vec<String> = self.view.lock().values().map(|p| p.name.clone()).collect();
        m.push(self.settings.name.clone());
        m.sort();
        m.dedup();
        m
    }

    /// The active members with their addresses, sorted by name, this replica included.
    pub fn peers(&self) -> Vec<PeerInfo> {
        let mut p: Vec<PeerInfo> = self
            .view
            .lock()
            .values()
            .map(|p| PeerInfo {
                name: p.name.clone(),
                address: p.addr.to_string(),
            })
            .collect();
        p.push(PeerInfo {
            name: self.settings.name.clone(),
            address: self
                .address()
                .map_or_else(|| self.settings.listen.clone(), |a| a.to_string()),
        });
        p.sort_by(|a, b| a.name.cmp(&b.name));
        p
    }

    /// Addresses of the active members other than this replica.
    pub fn peer_addresses(&self) -> Vec<SocketAddr> {
        self.view.lock().keys().copied().collect()
    }

    /// Index of this replica among the sorted member names.
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

    /// Something changed locally (a silence, a notification): push it to the peers now.
    pub fn changed(&self) {
        self.wake.notify_one();
    }

    /// Waits until the cluster settled, or `--cluster.settle-timeout` passed since
    /// start-up (Alertmanager's gossip settle gate), so a restarted replica learns the
    /// peers' notification log before it notifies.
    pub async fn settled(&self) {
        let mut rx = self.ready.subscribe();
        let deadline = self.started + self.settings.settle_timeout;
        let _ = tokio::time::timeout_at(deadline, rx.wait_for(|r| *r)).await;
    }

    /// `ready` once settled, `settling` before.
    pub fn status(&self) -> &'static str {
        if *self.ready.borrow() {
            "ready"
        } else {
            "settling"
        }
    }

    /// Waits for the membership task to end (after shutdown: the leave message sent).
    pub async fn stopped(&self) {
        let task = self.swim_task.lock().take();
        if let Some(t) = task {
            let _ = t.await;
        }
    }

    fn member_up(&self, id: PeerId) {
        self.view.lock().insert(id.addr, id.clone());
        let _ = self.up_tx.send(id);
    }

    fn member_down(&self, id: &PeerId) {
        let mut v = self.view.lock();
        if v.get(&id.addr) == Some(id) {
            v.remove(&id.addr);
        }
        drop(v);
        self.synced.lock().remove(&id.name);
    }

    /// A restarted replica replaced its predecessor at the same address: foca reports no
    /// "up" when both are alive, so the full exchange is started here.
    fn member_renamed(&self, old: &PeerId, new: PeerId) {
        let mut v = self.view.lock();
        let active = v.get(&old.addr) == Some(old);
        if active {
            v.insert(new.addr, new.clone());
        }
        drop(v);
        self.synced.lock().remove(&old.name);
        if active {
            let _ = self.up_tx.send(new);
        }
    }

    /// A full exchange with `name` completed (either side started it).
    fn synced_with(&self, name: &str) {
        self.synced.lock().insert(name.to_owned());
    }

    fn all_synced(&self) -> bool {
        let synced = self.synced.lock();
        self.view.lock().values().all(|p| synced.contains(&p.name))
    }
}

/// Alertmanager's settle rule: poll the member count every 10 × gossip interval; settled
/// after three polls in a row saw the same count (here: and a full exchange done with
/// every member); the settle timeout cuts it short.
async fn settle(cluster: Arc<Cluster>, shutdown: CancellationToken) {
    const OKAY_REQUIRED: u32 = 3;
    let interval = cluster.settings.gossip_interval * 10;
    let deadline = cluster.started + cluster.settings.settle_timeout;
    let (mut previous, mut okay) = (0usize, 0u32);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep_until(deadline) => {
                tracing::warn!(members = cluster.members().len(), "cluster not settled within --cluster.settle-timeout; notifying anyway");
                break;
            }
            () = tokio::time::sleep(interval) => {}
        }
        if okay >= OKAY_REQUIRED {
            tracing::info!(
                members = previous,
                elapsed = ?cluster.started.elapsed(),
                "cluster settled"
            );
            break;
        }
        let n = cluster.members().len();
        if n == previous && cluster.all_synced() {
            okay += 1;
        } else {
            okay = 0;
        }
        previous = n;
    }
    cluster.ready.send_replace(true);
}

/// Binds the cluster port and starts membership, state exchange, the join loop and the
/// settle gate (nothing when clustering is off).
pub async fn start(core: Arc<Core>, shutdown: CancellationToken) -> std::io::Result<()> {
    let Some(cluster) = core.cluster.clone() else {
        return Ok(());
    };
    let s = cluster.settings.clone();
    let listener = tokio::net::TcpListener::bind(&s.listen).await?;
    let bound = listener.local_addr()?;
    let address = transport::advertise_address(s.advertise.as_deref(), bound).await?;
    cluster.set_address(address);
    tracing::info!(name = %s.name, %address, listen = %bound, peers = ?s.peers, "cluster: SWIM membership over HTTP on the cluster port");

    let (inbox_tx, inbox_rx) = mpsc::channel(1024);
    let client = transport::client(&s)?;
    let server_stop = CancellationToken::new();
    transport::serve(
        listener,
        transport::ServerState {
            core: core.clone(),
            inbox: inbox_tx.clone(),
            label: s.label.clone(),
        },
        server_stop.clone(),
    );

    let me = PeerId {
        addr: address,
        name: s.name.clone(),
        bump: identity::unix_millis(),
    };
    let wire = Arc::new(transport::HttpWire::new(
        client.clone(),
        s.label.clone(),
        s.probe_interval.max(Duration::from_secs(1)),
    ));
    let swim_stop = CancellationToken::new();
    let task = tokio::spawn(swim::Swim::new(me, swim::foca_config(&s)).run(
        cluster.clone(),
        inbox_rx,
        wire,
        swim_stop.clone(),
        Duration::from_secs(2),
    ));
    // On shutdown: leave first (the cluster port still answers meanwhile), then close it.
    let on_shutdown = shutdown.clone();
    *cluster.swim_task.lock() = Some(tokio::spawn(async move {
        on_shutdown.cancelled().await;
        swim_stop.cancel();
        let _ = task.await;
        server_stop.cancel();
    }));
    let up = cluster.up_rx.lock().take();
    if let Some(up) = up {
        tokio::spawn(sync::run(
            core.clone(),
            cluster.clone(),
            client,
            up,
            shutdown.clone(),
        ));
    }
    tokio::spawn(sync::join_loop(cluster.clone(), inbox_tx, shutdown.clone()));
    tokio::spawn(settle(cluster, shutdown));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(addr: &str, name: &str) -> PeerId {
        PeerId {
            addr: addr.parse().unwrap(),
            name: name.into(),
            bump: 1,
        }
    }

    #[test]
    fn positions_follow_sorted_names() {
        let a = Cluster::new(ClusterSettings {
            name: "01HB".into(),
            peers: vec!["am-0.am:9094".into(), "am-1.am:9094".into()],
            ..ClusterSettings::default()
        });
        assert_eq!(a.status(), "settling");
        assert_eq!(a.position(), 0, "alone until members come up");
        a.member_up(id("10.0.0.1:9094", "01HA"));
        a.member_up(id("10.0.0.3:9094", "01HC"));
        assert_eq!(a.members(), ["01HA", "01HB", "01HC"]);
        assert_eq!(a.position(), 1);
        assert_eq!(a.wait(), Duration::from_secs(15));
        a.set_address("10.0.0.2:9094".parse().unwrap());
        assert_eq!(
            a.peers()
                .iter()
                .map(|p| (p.name.as_str(), p.address.as_str()))
                .collect::<Vec<_>>(),
            [
                ("01HA", "10.0.0.1:9094"),
                ("01HB", "10.0.0.2:9094"),
                ("01HC", "10.0.0.3:9094")
            ]
        );
        // The first member fails: positions shift.
        a.member_down(&id("10.0.0.1:9094", "01HA"));
        assert_eq!(a.position(), 0);
        assert_eq!(a.wait(), Duration::ZERO);
        // A stale "down" for a replaced identity does not remove the new one.
        a.member_renamed(
            &id("10.0.0.3:9094", "01HC"),
            PeerId {
                bump: 2,
                ..id("10.0.0.3:9094", "01HZ")
            },
        );
        a.member_down(&id("10.0.0.3:9094", "01HC"));
        assert_eq!(a.members(), ["01HB", "01HZ"]);
    }

    #[tokio::test(start_paused = true)]
    async fn settle_gate_waits_for_stable_synced_membership_or_the_timeout() {
        // Nobody ever answers: ready at the settle timeout.
        let c = Arc::new(Cluster::new(ClusterSettings {
            name: "a".into(),
            settle_timeout: Duration::from_secs(30),
            ..ClusterSettings::default()
        }));
        c.member_up(id("10.0.0.9:9094", "b"));
        tokio::spawn(settle(c.clone(), CancellationToken::new()));
        let t0 = tokio::time::Instant::now();
        c.settled().await;
        assert!(
            t0.elapsed() >= Duration::from_secs(30),
            "{:?}",
            t0.elapsed()
        );
        tokio::task::yield_now().await;
        assert_eq!(c.status(), "ready");

        // Member synced and stable: ready after the stable polls (4 × 2s), long before
        // the timeout.
        let c = Arc::new(Cluster::new(ClusterSettings {
            name: "a".into(),
            settle_timeout: Duration::from_secs(60),
            ..ClusterSettings::default()
        }));
        c.member_up(id("10.0.0.9:9094", "b"));
        c.synced_with("b");
        tokio::spawn(settle(c.clone(), CancellationToken::new()));
        let t0 = tokio::time::Instant::now();
        c.settled().await;
        let took = t0.elapsed();
        assert!(
            took >= Duration::from_secs(8) && took < Duration::from_secs(11),
            "{took:?}"
        );
        assert_eq!(c.status(), "ready");
    }
}
