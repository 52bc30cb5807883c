//! Silences (`silence/silence.go`): create, update-in-place or replace, expire, match,
//! garbage-collect after `--data.retention`, and a snapshot in `--storage.path` so they
//! survive a restart.
//!
//! The snapshot is our own JSON file (`silences.json`), written atomically on every change;
//! Alertmanager's protobuf snapshot is not read.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Utc};
use lgtm_common::labels::{Labels, MatchOp, Matcher, is_valid_label_name};
use parking_lot::RwLock;
use serde::{Deserialize, Serialize};

/// A silence operation failed; messages are Alertmanager's.
#[derive(Debug, thiserror::Error)]
pub enum SilenceError {
    /// Unknown silence id.
    #[error("silence not found")]
    NotFound,
    /// The silence failed validation.
    #[error("silence invalid: {0}")]
    Invalid(String),
    /// The snapshot could not be written or read.
    #[error("silence snapshot {path}: {source}")]
    Snapshot {
        /// File.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
}

/// One matcher of a silence, in the API's shape.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SilenceMatcher {
    /// Label name.
    pub name: String,
    /// Value or regex.
    pub value: String,
    /// `=~` / `!~`.
    pub is_regex: bool,
    /// `=` / `=~` (false: `!=` / `!~`).
    pub is_equal: bool,
}

impl SilenceMatcher {
    fn op(&self) -> MatchOp {
        match (self.is_regex, self.is_equal) {
            (false, true) => MatchOp::Equal,
            (false, false) => MatchOp::NotEqual,
            (true, true) => MatchOp::Regex,
            (true, false) => MatchOp::NotRegex,
        }
    }

    fn compile(&self) -> Result<Matcher, String> {
        if !is_valid_label_name(&self.name) {
            return Err(format!("invalid label name {:?}", self.name));
        }
        Matcher::new(self.op(), &self.name, &self.value).map_err(|e| match e {
            lgtm_common::labels::MatcherError::InvalidRegex { value, reason, .. } => {
                format!("invalid regular expression {value:?}: {reason}")
            }
        })
    }
}

/// A silence.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Silence {
    /// UUID.
    pub id: String,
    /// All must match.
    pub matchers: Vec<SilenceMatcher>,
    /// Start.
    pub starts_at: DateTime<Utc>,
    /// End.
    pub ends_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// Author.
    pub created_by: String,
    /// Why.
    pub comment: String,
}

/// `pending`, `active` or `expired`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum SilenceState {
    /// Ended.
    Expired,
    /// Not started yet.
    Pending,
    /// In force.
    Active,
}

impl SilenceState {
    /// The API's word.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Expired => "expired",
            Self::Pending => "pending",
            Self::Active => "active",
        }
    }
}

impl Silence {
    /// State at `now` (`getState`).
    pub fn state(&self, now: DateTime<Utc>) -> SilenceState {
        if now < self.starts_at {
            SilenceState::Pending
        } else if now > self.ends_at {
            SilenceState::Expired
        } else {
            SilenceState::Active
        }
    }
}

#[derive(Debug, Clone)]
struct Stored {
    sil: Silence,
    matchers: Vec<Matcher>,
}

#[derive(Serialize, Deserialize)]
struct Snapshot {
    silences: Vec<Silence>,
}

/// The silence store.
#[derive(Debug)]
pub struct Silences {
    inner: RwLock<HashMap<String, Stored>>,
    path: Option<PathBuf>,
    retention: Duration,
}

fn validate(s: &Silence) -> Result<Vec<Matcher>, String> {
    if s.matchers.is_empty() {
        return Err("at least one matcher required".into());
    }
    let mut compiled = Vec::with_capacity(s.matchers.len());
    let mut all_match_empty = true;
    for (i, m) in s.matchers.iter().enumerate() {
        let c = m
            .compile()
            .map_err(|e| format!("invalid label matcher {i}: {e}"))?;
        all_match_empty &= c.matches("");
        compiled.push(c);
    }
    if all_match_empty {
        return Err("at least one matcher must not match the empty string".into());
    }
    if s.ends_at < s.starts_at {
        return Err("end time must not be before start time".into());
    }
    Ok(compiled)
}

/// A random (version 4) UUID.
pub fn new_uuid() -> String {
    let mut b = [0u8; 16];
    if getrandom::fill(&mut b).is_err() {
        // No OS randomness: fall back to time-derived bytes (still unique per process).
        let n = Utc::now().timestamp_nanos_opt().unwrap_or_default() as u128;
        b = n
            .wrapping_mul(0x9E37_79B9_7F4A_7C15_F39C_C060_5CED_C835)
            .to_le_bytes();
    }
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

impl Silences {
    /// Opens the store, loading `<dir>/silences.json` when a directory is given.
    pub fn open(dir: Option<PathBuf>, retention: Duration) -> Result<Self, SilenceError> {
        let path = dir.map(|d| d.join("silences.json"));
        let mut map = HashMap::new();
        if let Some(p) = &path {
            match std::fs::read(p) {
                Ok(bytes) => {
                    let snap: Snapshot =
                        serde_json::from_slice(&bytes).map_err(|e| SilenceError::Snapshot {
                            path: p.clone(),
                            source: std::io::Error::other(e),
                        })?;
                    for sil in snap.silences {
                        // Skip entries that no longer compile rather than refusing to start.
                        if let Ok(matchers) = validate(&sil) {
                            map.insert(sil.id.clone(), Stored { sil, matchers });
                        }
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(source) => {
                    return Err(SilenceError::Snapshot {
                        path: p.clone(),
                        source,
                    });
                }
            }
        }
        Ok(Self {
            inner: RwLock::new(map),
            path,
            retention,
        })
    }

    /// Creates or updates a silence (`Silences.Set`); returns its (possibly new) id.
    pub fn set(&self, mut sil: Silence, now: DateTime<Utc>) -> Result<String, SilenceError> {
        let mut map = self.inner.write();
        let prev = if sil.id.is_empty() {
            None
        } else {
            Some(map.get(&sil.id).ok_or(SilenceError::NotFound)?.sil.clone())
        };
        sil.updated_at = now;
        let matchers = validate(&sil).map_err(SilenceError::Invalid)?;
        if let Some(prev) = prev {
            if can_update(&prev, &sil, now) {
                let id = sil.id.clone();
                map.insert(id.clone(), Stored { sil, matchers });
                drop(map);
                self.persist()?;
                return Ok(id);
            }
            if prev.state(now) != SilenceState::Expired {
                expire_in(&mut map, &prev.id, now)?;
            }
        }
        sil.id = new_uuid();
        if sil.starts_at < now {
            sil.starts_at = now;
        }
        let id = sil.id.clone();
        map.insert(id.clone(), Stored { sil, matchers });
        drop(map);
        self.persist()?;
        Ok(id)
    }

    /// Expires a silence now (`Silences.Expire`).
    pub fn expire(&self, id: &str, now: DateTime<Utc>) -> Result<(), SilenceError> {
        expire_in(&mut self.inner.write(), id, now)?;
        self.persist()
    }

    /// One silence.
    pub fn get(&self, id: &str) -> Option<Silence> {
        self.inner.read().get(id).map(|s| s.sil.clone())
    }

    /// Every silence.
    pub fn list(&self) -> Vec<Silence> {
        self.inner.read().values().map(|s| s.sil.clone()).collect()
    }

    /// Ids of the active silences muting `labels`, sorted.
    pub fn silenced_by(&self, labels: &Labels, now: DateTime<Utc>) -> Vec<String> {
        let mut ids: Vec<String> = self
            .inner
            .read()
            .values()
            .filter(|s| s.sil.state(now) == SilenceState::Active)
            .filter(|s| lgtm_common::labels::matches_all(&s.matchers, labels))
            .map(|s| s.sil.id.clone())
            .collect();
        ids.sort();
        ids
    }

    /// Counts by state, for `alertmanager_silences`.
    pub fn count_by_state(&self, now: DateTime<Utc>) -> [(SilenceState, usize); 3] {
        let mut c = [
            (SilenceState::Active, 0),
            (SilenceState::Pending, 0),
            (SilenceState::Expired, 0),
        ];
        for s in self.inner.read().values() {
            let st = s.sil.state(now);
            if let Some(slot) = c.iter_mut().find(|(k, _)| *k == st) {
                slot.1 += 1;
            }
        }
        c
    }

    /// Drops silences that ended more than the retention ago; returns how many.
    pub fn gc(&self, now: DateTime<Utc>) -> Result<usize, SilenceError> {
        let retention = chrono::Duration::from_std(self.retention).unwrap_or(chrono::Duration::MAX);
        let removed = {
            let mut map = self.inner.write();
            let before = map.len();
            map.retain(|_, s| {
                s.sil
                    .ends_at
                    .checked_add_signed(retention)
                    .is_none_or(|exp| exp > now)
            });
            before - map.len()
        };
        if removed > 0 {
            self.persist()?;
        }
        Ok(removed)
    }

    /// Merges silences from a peer: the newer `updated_at` wins; returns how many changed.
    pub fn merge(&self, incoming: Vec<Silence>) -> Result<usize, SilenceError> {
        let mut changed = 0;
        {
            let mut map = self.inner.write();
            for sil in incoming {
                if map
                    .get(&sil.id)
                    .is_some_and(|s| s.sil.updated_at >= sil.updated_at)
                {
                    continue;
                }
                if let Ok(matchers) = validate(&sil) {
                    map.insert(sil.id.clone(), Stored { sil, matchers });
                    changed += 1;
                }
            }
        }
        if changed > 0 {
            self.persist()?;
        }
        Ok(changed)
    }

    /// Writes the snapshot (temporary file + rename).
    pub fn persist(&self) -> Result<(), SilenceError> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        let mut silences = self.list();
        silences.sort_by(|a, b| a.id.cmp(&b.id));
        let bytes =
            serde_json::to_vec(&Snapshot { silences }).map_err(|e| SilenceError::Snapshot {
                path: path.clone(),
                source: std::io::Error::other(e),
            })?;
        crate::persist::write_atomic(path, &bytes).map_err(|source| SilenceError::Snapshot {
            path: path.clone(),
            source,
        })
    }
}

fn can_update(a: &Silence, b: &Silence, now: DateTime<Utc>) -> bool {
    if a.matchers != b.matchers {
        return false;
    }
    match a.state(now) {
        // Compared at second precision: the API shows milliseconds, and Alertmanager 0.25
        // keeps the id when a client posts back what it read (observed).
        SilenceState::Active => {
            b.starts_at.timestamp() == a.starts_at.timestamp() && b.ends_at >= now
        }
        SilenceState::Pending => b.starts_at >= now,
        SilenceState::Expired => false,
    }
}

fn expire_in(
    map: &mut HashMap<String, Stored>,
    id: &str,
    now: DateTime<Utc>,
) -> Result<(), SilenceError> {
    let s = map.get_mut(id).ok_or(SilenceError::NotFound)?;
    match s.sil.state(now) {
        // Expiring an expired silence is a no-op (Alertmanager 0.25 answers 200).
        SilenceState::Expired => return Ok(()),
        SilenceState::Active => s.sil.ends_at = now,
        SilenceState::Pending => {
            s.sil.starts_at = now;
            s.sil.ends_at = now;
        }
    }
    s.sil.updated_at = now;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sil(matchers: &[(&str, &str, bool)], start: DateTime<Utc>, end: DateTime<Utc>) -> Silence {
        Silence {
            id: String::new(),
            matchers: matchers
                .iter()
                .map(|(n, v, re)| SilenceMatcher {
                    name: (*n).into(),
                    value: (*v).into(),
                    is_regex: *re,
                    is_equal: true,
                })
                .collect(),
            starts_at: start,
            ends_at: end,
            updated_at: start,
            created_by: "t".into(),
            comment: "c".into(),
        }
    }

    #[test]
    fn update_in_place_or_replace_as_upstream() {
        let now = Utc::now();
        let h = chrono::Duration::hours(1);
        let s = Silences::open(None, Duration::from_secs(3600)).unwrap();
        let id = s.set(sil(&[("a", "b", false)], now, now + h), now).unwrap();
        assert_eq!(id.len(), 36);
        // endsAt-only change keeps the id.
        let mut upd = s.get(&id).unwrap();
        upd.ends_at = now + h + h;
        assert_eq!(s.set(upd, now).unwrap(), id);
        // Matcher change: new id, old one expired.
        let mut upd = s.get(&id).unwrap();
        upd.matchers[0].value = "c".into();
        let later = now + chrono::Duration::seconds(1);
        let id2 = s.set(upd, later).unwrap();
        assert_ne!(id2, id);
        assert_eq!(s.get(&id).unwrap().ends_at, later);
        let labels = Labels::from_pairs([("a", "c")]);
        assert_eq!(s.silenced_by(&labels, later), vec![id2.clone()]);
        // Unknown id.
        let mut unknown = sil(&[("a", "b", false)], now, now + h);
        unknown.id = new_uuid();
        assert!(matches!(s.set(unknown, now), Err(SilenceError::NotFound)));
    }

    #[test]
    fn validation_texts() {
        let now = Utc::now();
        let s = Silences::open(None, Duration::from_secs(3600)).unwrap();
        let err = s
            .set(
                sil(&[("a", ".*", true)], now, now + chrono::Duration::hours(1)),
                now,
            )
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "silence invalid: at least one matcher must not match the empty string"
        );
        let err = s
            .set(
                sil(&[("0a", "x", false)], now, now + chrono::Duration::hours(1)),
                now,
            )
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "silence invalid: invalid label matcher 0: invalid label name \"0a\""
        );
    }

    #[test]
    fn snapshot_survives_restart_and_gc() {
        let dir = tempfile::tempdir().unwrap();
        let now = Utc::now();
        let ret = Duration::from_secs(3600);
        let id = {
            let s = Silences::open(Some(dir.path().into()), ret).unwrap();
            s.set(
                sil(
                    &[("a", "b", false)],
                    now,
                    now + chrono::Duration::minutes(10),
                ),
                now,
            )
            .unwrap()
        };
        let s = Silences::open(Some(dir.path().into()), ret).unwrap();
        assert_eq!(s.get(&id).unwrap().comment, "c");
        s.expire(&id, now).unwrap();
        // Expiring again is a no-op, as on Alertmanager 0.25 (observed: 200).
        s.expire(&id, now + chrono::Duration::seconds(1)).unwrap();
        assert_eq!(s.get(&id).unwrap().ends_at, now);
        assert_eq!(s.gc(now + chrono::Duration::minutes(59)).unwrap(), 0);
        assert_eq!(s.gc(now + chrono::Duration::minutes(61)).unwrap(), 1);
        let s = Silences::open(Some(dir.path().into()), ret).unwrap();
        assert!(s.list().is_empty());
    }
}
