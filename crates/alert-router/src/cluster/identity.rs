//! Who a replica is in the SWIM membership: the address peers reach it at (its
//! `--cluster.advertise-address`), its name (`--cluster.peer-name`, else a ULID made at
//! start-up as Alertmanager does) and a start-up stamp so that a restarted replica at the
//! same address supersedes its previous incarnation.

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

/// A replica's identity as carried in every SWIM packet.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PeerId {
    /// Where the replica's cluster port is reached (also foca's conflict key: one member
    /// per address).
    pub addr: SocketAddr,
    /// Name used for ordering (positional wait) and shown by `/api/v2/status`.
    pub name: String,
    /// Start-up time in milliseconds, bumped on every rejoin: the larger one wins an
    /// address conflict, so a restarted replica replaces its dead predecessor.
    pub bump: u64,
}

impl PeerId {
    /// An identity to announce to when only the address is known (a `--cluster.peer`
    /// entry): the receiver accepts announces for any identity at its address.
    pub fn probe(addr: SocketAddr) -> Self {
        Self {
            addr,
            name: String::new(),
            bump: 0,
        }
    }
}

impl foca::Identity for PeerId {
    type Addr = SocketAddr;

    fn renew(&self) -> Option<Self> {
        Some(Self {
            bump: self.bump.wrapping_add(1),
            ..self.clone()
        })
    }

    fn addr(&self) -> SocketAddr {
        self.addr
    }

    fn win_addr_conflict(&self, adversary: &Self) -> bool {
        self.bump > adversary.bump
    }
}

const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// A new ULID (26 characters, Crockford base32: 48-bit millisecond time then 80 random
/// bits), the kind of peer name Alertmanager generates when `--cluster.peer-name` is unset.
/// Names sort by start time, so a replica started later takes a later position.
pub fn new_peer_name(unix_millis: u64) -> String {
    let mut random = [0u8; 10];
    if getrandom::fill(&mut random).is_err() {
        // No entropy source: mix the clock and the process id instead (uniqueness is
        // what matters here, not unpredictability).
        let seed = xxhash_rust::xxh3::xxh3_64(
            &[
                unix_millis.to_le_bytes(),
                u64::from(std::process::id()).to_le_bytes(),
            ]
            .concat(),
        );
        random[..8].copy_from_slice(&seed.to_le_bytes());
    }
    let mut value: u128 = u128::from(unix_millis & 0xFFFF_FFFF_FFFF) << 80;
    for (i, b) in random.iter().enumerate() {
        value |= u128::from(*b) << (8 * (9 - i));
    }
    (0..26)
        .rev()
        .map(|i| CROCKFORD[((value >> (5 * i)) & 31) as usize] as char)
        .collect()
}

/// Milliseconds since the Unix epoch, for stamps and names.
pub fn unix_millis() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use foca::Identity;

    use super::*;

    #[test]
    fn ulid_names_sort_by_time_and_are_unique() {
        let a = new_peer_name(1_700_000_000_000);
        let b = new_peer_name(1_700_000_000_000);
        let c = new_peer_name(1_700_000_000_001);
        assert_eq!(a.len(), 26);
        assert!(a.bytes().all(|x| CROCKFORD.contains(&x)), "{a}");
        assert_ne!(a, b, "random part differs");
        assert_eq!(a[..10], b[..10], "same millisecond, same time prefix");
        assert!(c > a && c > b, "later start sorts later: {a} {b} {c}");
        // The time part decodes back (ULID layout: first 10 characters are the time).
        let t = a[..10].bytes().fold(0u64, |acc, ch| {
            acc * 32 + CROCKFORD.iter().position(|x| *x == ch).unwrap() as u64
        });
        assert_eq!(t, 1_700_000_000_000);
    }

    #[test]
    fn a_restarted_replica_wins_its_address() {
        let addr: SocketAddr = "10.0.0.1:9094".parse().unwrap();
        let old = PeerId {
            addr,
            name: "A".into(),
            bump: 5,
        };
        let new = PeerId {
            addr,
            name: "B".into(),
            bump: 9,
        };
        assert!(new.win_addr_conflict(&old));
        assert!(!old.win_addr_conflict(&new));
        let renewed = old.renew().unwrap();
        assert_eq!((renewed.bump, renewed.name.as_str()), (6, "A"));
        assert_eq!(PeerId::probe(addr).addr(), addr);
    }
}
