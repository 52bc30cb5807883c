//! The notification log (`nflog`): per (group key, receiver, integration, index), what was
//! last notified and when. Dedup decisions read it; a snapshot in `--storage.path` makes a
//! restart neither re-send nor forget. Entries expire after `--data.retention`.
//!
//! Our snapshot is JSON (`nflog.json`), written at most once a second while dirty and at
//! shutdown; Alertmanager's protobuf snapshot is not read.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

/// Identity of one integration of one receiver for one group.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct EntryKey {
    /// Aggregation group key (`{}/{team="db"}:{alertname="X"}`).
    pub group_key: String,
    /// Receiver name.
    pub receiver: String,
    /// Integration name (`webhook`, `telegram`).
    pub integration: String,
    /// Index of the integration within the receiver.
    pub idx: u32,
}

/// What was last notified.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// When.
    pub timestamp: DateTime<Utc>,
    /// Hashes of the firing alerts notified (sorted).
    pub firing: Vec<u64>,
    /// Hashes of the resolved alerts notified (sorted).
    pub resolved: Vec<u64>,
    /// Dropped after this time.
    pub expires_at: DateTime<Utc>,
    /// Integration data kept across notifications (e.g. Telegram message ids).
    #[serde(default)]
    pub receiver_data: BTreeMap<String, serde_json::Value>,
}

#[derive(Serialize, Deserialize)]
struct Snapshot {
    entries: Vec<(EntryKey, Entry)>,
}

/// The log.
#[derive(Debug)]
pub struct NfLog {
    entries: Mutex<HashMap<EntryKey, Entry>>,
    dirty: Mutex<bool>,
    path: Option<PathBuf>,
    retention: chrono::Duration,
}

impl NfLog {
    /// Opens the log, reading `<dir>/nflog.json` when present.
    pub fn open(dir: Option<PathBuf>, retention: std::time::Duration) -> std::io::Result<Self> {
        let path = dir.map(|d| d.join("nflog.json"));
        let mut entries = HashMap::new();
        if let Some(p) = &path {
            match std::fs::read(p) {
                Ok(bytes) => {
                    let snap: Snapshot =
                        serde_json::from_slice(&bytes).map_err(std::io::Error::other)?;
                    entries.extend(snap.entries);
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        Ok(Self {
            entries: Mutex::new(entries),
            dirty: Mutex::new(false),
            path,
            retention: chrono::Duration::from_std(retention).unwrap_or(chrono::Duration::MAX),
        })
    }

    /// The entry for `key`, unless expired.
    pub fn get(&self, key: &EntryKey, now: DateTime<Utc>) -> Option<Entry> {
        self.entries
            .lock()
            .get(key)
            .filter(|e| e.expires_at > now)
            .cloned()
    }

    /// Records a successful notification.
    pub fn log(
        &self,
        key: EntryKey,
        mut firing: Vec<u64>,
        mut resolved: Vec<u64>,
        receiver_data: BTreeMap<String, serde_json::Value>,
        now: DateTime<Utc>,
    ) {
        firing.sort_unstable();
        resolved.sort_unstable();
        let expires_at = now
            .checked_add_signed(self.retention)
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
        self.entries.lock().insert(
            key,
            Entry {
                timestamp: now,
                firing,
                resolved,
                expires_at,
                receiver_data,
            },
        );
        *self.dirty.lock() = true;
    }

    /// Every entry, for replication to peers.
    pub fn entries(&self) -> Vec<(EntryKey, Entry)> {
        self.entries
            .lock()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// Merges entries from a peer: the newer timestamp wins; returns how many changed.
    pub fn merge(&self, incoming: Vec<(EntryKey, Entry)>) -> usize {
        let mut e = self.entries.lock();
        let mut changed = 0;
        for (k, v) in incoming {
            if e.get(&k).is_some_and(|cur| cur.timestamp >= v.timestamp) {
                continue;
            }
            e.insert(k, v);
            changed += 1;
        }
        drop(e);
        if changed > 0 {
            *self.dirty.lock() = true;
        }
        changed
    }

    /// Drops expired entries; returns how many.
    pub fn gc(&self, now: DateTime<Utc>) -> usize {
        let mut e = self.entries.lock();
        let before = e.len();
        e.retain(|_, v| v.expires_at > now);
        let n = before - e.len();
        if n > 0 {
            *self.dirty.lock() = true;
        }
        n
    }

    /// Something changed since the last snapshot.
    pub fn is_dirty(&self) -> bool {
        self.path.is_some() && *self.dirty.lock()
    }

    /// Writes the snapshot if something changed since the last one.
    pub fn persist_if_dirty(&self) -> std::io::Result<()> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        {
            let mut d = self.dirty.lock();
            if !*d {
                return Ok(());
            }
            *d = false;
        }
        let mut entries: Vec<(EntryKey, Entry)> = self
            .entries
            .lock()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        let bytes = serde_json::to_vec(&Snapshot { entries }).map_err(std::io::Error::other)?;
        let res = crate::persist::write_atomic(path, &bytes);
        if res.is_err() {
            *self.dirty.lock() = true;
        }
        res
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.lock().len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.entries.lock().is_empty()
    }
}

fn is_subset(sub: &[u64], sup: &[u64]) -> bool {
    sub.iter().all(|h| sup.binary_search(h).is_ok())
}

/// Why a notification is due (`DedupStage.needsUpdate`), or `None` when it is not.
pub fn needs_update(
    entry: Option<&Entry>,
    firing: &[u64],
    resolved: &[u64],
    send_resolved: bool,
    repeat: std::time::Duration,
    now: DateTime<Utc>,
) -> Option<&'static str> {
    let Some(entry) = entry else {
        return (!firing.is_empty()).then_some("first notification");
    };
    if !is_subset(firing, &entry.firing) {
        return Some(if entry.firing.is_empty() {
            "first notification"
        } else {
            "new alerts added"
        });
    }
    if firing.is_empty() {
        return (!entry.firing.is_empty()).then_some("all alerts resolved");
    }
    if send_resolved && !is_subset(resolved, &entry.resolved) {
        return Some("some alerts resolved");
    }
    let repeat = chrono::Duration::from_std(repeat).unwrap_or(chrono::Duration::MAX);
    now.checked_sub_signed(repeat)
        .is_some_and(|t| entry.timestamp < t)
        .then_some("repeat interval elapsed")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn dedup_decisions_follow_upstream() {
        let now = Utc::now();
        let rep = Duration::from_secs(3600);
        let e = |f: Vec<u64>, r: Vec<u64>, ago: i64| Entry {
            timestamp: now - chrono::Duration::seconds(ago),
            firing: f,
            resolved: r,
            expires_at: now + chrono::Duration::hours(1),
            receiver_data: BTreeMap::new(),
        };
        assert_eq!(
            needs_update(None, &[1], &[], true, rep, now),
            Some("first notification")
        );
        assert_eq!(needs_update(None, &[], &[1], true, rep, now), None);
        let last = e(vec![1], vec![], 10);
        assert_eq!(needs_update(Some(&last), &[1], &[], true, rep, now), None);
        assert_eq!(
            needs_update(Some(&last), &[1, 2], &[], true, rep, now),
            Some("new alerts added")
        );
        assert_eq!(
            needs_update(Some(&last), &[], &[1], false, rep, now),
            Some("all alerts resolved")
        );
        let two = e(vec![1, 2], vec![], 10);
        assert_eq!(
            needs_update(Some(&two), &[1], &[2], true, rep, now),
            Some("some alerts resolved")
        );
        assert_eq!(needs_update(Some(&two), &[1], &[2], false, rep, now), None);
        let old = e(vec![1], vec![], 3601);
        assert_eq!(
            needs_update(Some(&old), &[1], &[], true, rep, now),
            Some("repeat interval elapsed")
        );
        let cleared = e(vec![], vec![1], 10);
        assert_eq!(
            needs_update(Some(&cleared), &[1], &[], true, rep, now),
            Some("first notification")
        );
    }

    #[test]
    fn snapshot_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let now = Utc::now();
        let key = EntryKey {
            group_key: "{}:{}".into(),
            receiver: "r".into(),
            integration: "webhook".into(),
            idx: 0,
        };
        {
            let l = NfLog::open(Some(dir.path().into()), Duration::from_secs(60)).unwrap();
            l.log(key.clone(), vec![2, 1], vec![], BTreeMap::new(), now);
            l.persist_if_dirty().unwrap();
        }
        let l = NfLog::open(Some(dir.path().into()), Duration::from_secs(60)).unwrap();
        assert_eq!(l.get(&key, now).unwrap().firing, vec![1, 2]);
        assert!(l.get(&key, now + chrono::Duration::seconds(61)).is_none());
        assert_eq!(l.gc(now + chrono::Duration::seconds(61)), 1);
    }
}
