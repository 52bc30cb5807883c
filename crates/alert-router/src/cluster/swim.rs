//! The SWIM membership loop: one task owns the [`foca`] instance, feeds it the packets that
//! arrive on the cluster port, fires its timers in order, hands its outgoing packets to a
//! [`Wire`] and turns its notifications into the member view of [`super::Cluster`].
//! foca does not care how packets travel: here each one is an HTTP request on the cluster
//! port (TCP, so it passes a service mesh), see [`super::transport`].

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::num::{NonZeroU32, NonZeroUsize};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use foca::{
    AccumulatingRuntime, Codec, Foca, Message, NoCustomBroadcast, OwnedNotification, PostcardCodec,
    Timer,
};
use rand::SeedableRng;
use rand::rngs::SmallRng;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::identity::PeerId;
use super::{Cluster, ClusterSettings};

/// Largest SWIM packet: HTTP has no datagram limit, so this only bounds memory; it also
/// caps what the swim endpoint accepts.
pub const MAX_PACKET: usize = 64 << 10;

/// What the membership loop is asked to do.
#[derive(Debug)]
pub enum Input {
    /// A SWIM packet received on the cluster port.
    Packet(Bytes),
    /// Join through this address (a resolved `--cluster.peer`).
    Announce(SocketAddr),
}

/// How SWIM packets leave this replica. Delivery is best effort, as for UDP: a packet may
/// be dropped, and SWIM tolerates it.
pub trait Wire: Send + Sync + 'static {
    /// Sends `packet` to the replica at `to`; the handle, when given, ends once the
    /// packet is delivered or given up (awaited only for the leave message at shutdown).
    fn send(&self, to: SocketAddr, packet: Bytes) -> Option<JoinHandle<()>>;
}

/// foca's settings from Alertmanager's flags (memberlist's LAN defaults at the defaults).
pub fn foca_config(s: &ClusterSettings) -> foca::Config {
    let size = NonZeroU32::new((s.peers.len() as u32 + 1).max(3)).unwrap_or(NonZeroU32::MIN);
    let mut c = foca::Config::new_lan(size);
    c.probe_period = s.probe_interval.max(Duration::from_millis(10));
    c.probe_rtt = s
        .probe_timeout
        .clamp(Duration::from_millis(5), c.probe_period);
    c.max_packet_size = NonZeroUsize::new(MAX_PACKET).unwrap_or(c.max_packet_size);
    c.remove_down_after = Some(s.reconnect_timeout.max(Duration::from_secs(1)));
    if let Some(g) = &mut c.periodic_gossip {
        g.frequency = s.gossip_interval.max(Duration::from_millis(10));
    }
    if let Some(a) = &mut c.periodic_announce_to_down_members {
        a.frequency = s.reconnect_interval.max(Duration::from_millis(100));
    }
    c
}

/// The loop's state.
pub struct Swim {
    foca: Foca<PeerId, PostcardCodec, SmallRng, NoCustomBroadcast>,
    runtime: AccumulatingRuntime<PeerId>,
    timers: BTreeMap<(Instant, u64), Timer<PeerId>>,
    seq: u64,
}

impl std::fmt::Debug for Swim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Swim")
            .field("identity", self.foca.identity())
            .field("members", &self.foca.num_members())
            .finish_non_exhaustive()
    }
}

impl Swim {
    /// A membership of one (this replica) with these settings.
    pub fn new(me: PeerId, config: foca::Config) -> Self {
        let mut seed = [0u8; 8];
        if getrandom::fill(&mut seed).is_err() {
            seed = super::identity::unix_millis().to_le_bytes();
        }
        let rng = SmallRng::seed_from_u64(u64::from_le_bytes(seed));
        Self {
            foca: Foca::new(me, config, rng, PostcardCodec),
            runtime: AccumulatingRuntime::new(),
            timers: BTreeMap::new(),
            seq: 0,
        }
    }

    /// Runs until `shutdown`, then leaves the cluster (the leave packets are awaited for at
    /// most `leave_timeout`).
    pub async fn run(
        mut self,
        cluster: Arc<Cluster>,
        mut inbox: mpsc::Receiver<Input>,
        wire: Arc<dyn Wire>,
        shutdown: CancellationToken,
        leave_timeout: Duration,
    ) {
        loop {
            let next = self.timers.first_key_value().map(|(k, _)| k.0);
            tokio::select! {
                () = shutdown.cancelled() => break,
                input = inbox.recv() => match input {
                    None => break,
                    Some(Input::Packet(p)) => self.packet(&p),
                    Some(Input::Announce(addr)) => {
                        if let Err(e) = self.foca.announce(PeerId::probe(addr), &mut self.runtime) {
                            tracing::debug!(%addr, error = %e, "cluster announce");
                        }
                    }
                },
                () = sleep_until(next), if next.is_some() => self.fire_timers(),
            }
            self.drain(&cluster, wire.as_ref());
        }
        if let Err(e) = self.foca.leave_cluster(&mut self.runtime) {
            tracing::debug!(error = %e, "cluster leave");
        }
        let mut pending = Vec::new();
        while let Some((to, data)) = self.runtime.to_send() {
            pending.extend(wire.send(to.addr, data));
        }
        let _ = tokio::time::timeout(leave_timeout, futures::future::join_all(pending)).await;
        cluster.view.lock().clear();
        tracing::info!("left the cluster");
    }

    /// Hands a received packet to foca. An announce addressed to another identity than
    /// ours is re-addressed to us: it reached our cluster port, so it is for us even when
    /// the sender knew us by another address (a Service IP, a name resolved differently).
    fn packet(&mut self, data: &[u8]) {
        let rewritten;
        let mut data = data;
        let mut rest = data;
        if let Ok(mut header) = Codec::<PeerId>::decode_header(&mut PostcardCodec, &mut rest)
            && header.message == Message::Announce
            && header.dst.addr != self.foca.identity().addr
            && rest.is_empty()
        {
            header.dst = self.foca.identity().clone();
            let mut buf = Vec::with_capacity(data.len() + 32);
            if Codec::<PeerId>::encode_header(&mut PostcardCodec, &header, &mut buf).is_ok() {
                rewritten = buf;
                data = &rewritten;
            }
        }
        if let Err(e) = self.foca.handle_data(data, &mut self.runtime) {
            tracing::debug!(error = %e, "cluster packet ignored");
        }
    }

    fn fire_timers(&mut self) {
        let now = Instant::now();
        while let Some(entry) = self.timers.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let timer = entry.remove();
            if let Err(e) = self.foca.handle_timer(timer, &mut self.runtime) {
                tracing::debug!(error = %e, "cluster timer");
            }
        }
    }

    /// Sends what foca produced, schedules its timers and applies its notifications.
    fn drain(&mut self, cluster: &Cluster, wire: &dyn Wire) {
        while let Some((to, data)) = self.runtime.to_send() {
            let _ = wire.send(to.addr, data);
        }
        let now = Instant::now();
        while let Some((after, timer)) = self.runtime.to_schedule() {
            self.seq += 1;
            self.timers.insert((now + after, self.seq), timer);
        }
        while let Some(n) = self.runtime.to_notify() {
            match n {
                OwnedNotification::MemberUp(id) => {
                    tracing::info!(peer = %id.name, addr = %id.addr, "cluster member up");
                    cluster.member_up(id);
                }
                OwnedNotification::MemberDown(id) => {
                    tracing::info!(peer = %id.name, addr = %id.addr, "cluster member down");
                    cluster.member_down(&id);
                }
                OwnedNotification::Rename(old, new) => {
                    tracing::info!(old = %old.name, new = %new.name, addr = %new.addr, "cluster member restarted");
                    cluster.member_renamed(&old, new);
                }
                OwnedNotification::Active => tracing::info!("joined the cluster"),
                OwnedNotification::Idle => tracing::info!("no other cluster member reachable"),
                OwnedNotification::Rejoin(id) => {
                    tracing::warn!(bump = id.bump, "declared down by the cluster; rejoined");
                }
                OwnedNotification::Defunct => {
                    tracing::warn!("declared down by the cluster");
                }
            }
        }
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use parking_lot::Mutex;

    use super::*;

    /// Packets between in-process members; a "killed" address swallows everything.
    #[derive(Default)]
    struct Net {
        inboxes: Mutex<HashMap<SocketAddr, mpsc::Sender<Input>>>,
        dead: Mutex<Vec<SocketAddr>>,
    }

    /// The network as seen by the member at `.1`.
    struct NetWire(Arc<Net>, SocketAddr);

    impl Wire for NetWire {
        fn send(&self, to: SocketAddr, packet: Bytes) -> Option<JoinHandle<()>> {
            let dead = self.0.dead.lock();
            if dead.contains(&to) || dead.contains(&self.1) {
                return None;
            }
            drop(dead);
            if let Some(tx) = self.0.inboxes.lock().get(&to) {
                let _ = tx.try_send(Input::Packet(packet));
            }
            None
        }
    }

    fn settings(n: usize) -> ClusterSettings {
        ClusterSettings {
            peers: vec!["x:1".into(); n],
            ..ClusterSettings::default()
        }
    }

    async fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
        for _ in 0..600 {
            if f() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("timed out waiting for {what}");
    }

    /// Starts one member on the fake network: its cluster view, its inbox and its stop token.
    fn spawn_member(
        net: &Arc<Net>,
        addr: SocketAddr,
        name: String,
        members: usize,
    ) -> (Arc<Cluster>, mpsc::Sender<Input>, CancellationToken) {
        let s = ClusterSettings {
            name,
            ..settings(members)
        };
        let cluster = Arc::new(Cluster::new(s.clone()));
        cluster.set_address(addr);
        let (tx, rx) = mpsc::channel(1024);
        net.inboxes.lock().insert(addr, tx.clone());
        let me = PeerId {
            addr,
            name: s.name.clone(),
            bump: 1,
        };
        let stop = CancellationToken::new();
        tokio::spawn(Swim::new(me, foca_config(&s)).run(
            cluster.clone(),
            rx,
            Arc::new(NetWire(net.clone(), addr)),
            stop.clone(),
            Duration::from_secs(1),
        ));
        (cluster, tx, stop)
    }

    /// Three members join through the first, see each other, agree on positions; one
    /// stops answering and the other two drop it and shift positions; a graceful leave
    /// is seen at once.
    #[tokio::test(start_paused = true)]
    async fn members_join_fail_and_leave() {
        let net = Arc::new(Net::default());
        let mut clusters = Vec::new();
        let mut stops = Vec::new();
        for i in 0..3u64 {
            let addr: SocketAddr = format!("10.0.0.{}:9094", i + 1).parse().unwrap();
            let (cluster, tx, stop) = spawn_member(&net, addr, format!("peer-{i}"), 2);
            if i > 0 {
                tx.send(Input::Announce("10.0.0.1:9094".parse().unwrap()))
                    .await
                    .unwrap();
            }
            clusters.push(cluster);
            stops.push(stop);
        }
        wait_for("three members everywhere", || {
            clusters.iter().all(|c| c.members().len() == 3)
        })
        .await;
        for (i, c) in clusters.iter().enumerate() {
            assert_eq!(c.members(), ["peer-0", "peer-1", "peer-2"]);
            assert_eq!(c.position(), i);
        }

        // peer-0 crashes: no leave, its address swallows packets.
        let t0 = Instant::now();
        net.dead.lock().push("10.0.0.1:9094".parse().unwrap());
        stops[0].cancel();
        wait_for("peer-0 declared down", || {
            clusters[1..].iter().all(|c| c.members().len() == 2)
        })
        .await;
        let detected = t0.elapsed();
        assert!(
            detected < Duration::from_secs(15),
            "failure detection took {detected:?}"
        );
        assert_eq!(clusters[1].position(), 0, "positions shift");
        assert_eq!(clusters[2].position(), 1);
        assert_eq!(clusters[2].members(), ["peer-1", "peer-2"]);

        // peer-1 leaves gracefully: peer-2 learns it from the leave message, well before
        // failure detection would.
        let t0 = Instant::now();
        stops[1].cancel();
        wait_for("peer-1 left", || clusters[2].members().len() == 1).await;
        assert!(
            t0.elapsed() < Duration::from_secs(2),
            "leave took {:?}",
            t0.elapsed()
        );
        assert_eq!(clusters[2].position(), 0);
    }

    /// An announce addressed by another address (a Service IP) is still accepted.
    #[tokio::test(start_paused = true)]
    async fn announce_through_another_address_is_accepted() {
        let net = Arc::new(Net::default());
        let mut clusters = Vec::new();
        let mut inboxes = Vec::new();
        for i in 0..2u64 {
            let addr: SocketAddr = format!("10.0.1.{}:9094", i + 1).parse().unwrap();
            let (cluster, tx, _stop) = spawn_member(&net, addr, format!("n{i}"), 1);
            clusters.push(cluster);
            inboxes.push(tx);
        }
        // "10.96.0.10" is a virtual IP that forwards to n0.
        let vip: SocketAddr = "10.96.0.10:9094".parse().unwrap();
        let n0 = net.inboxes.lock()[&"10.0.1.1:9094".parse::<SocketAddr>().unwrap()].clone();
        net.inboxes.lock().insert(vip, n0);
        inboxes[1].send(Input::Announce(vip)).await.unwrap();
        wait_for("joined through the VIP", || {
            clusters.iter().all(|c| c.members().len() == 2)
        })
        .await;
    }
}
