//! [`WalWriter`]: a [`Wal`] on its own thread behind a cloneable, async-friendly handle.
//!
//! Why a dedicated thread rather than `spawn_blocking` per append: the log file is owned by one
//! thread for the life of the log, every request queued while an fsync runs is written and
//! fsynced together with the next one (group commit: N concurrent appenders cost one fsync,
//! not N), and the interval fsync timer lives there without a runtime.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::task::{Context, Poll};
use std::thread::JoinHandle;

use parking_lot::Mutex;
use tokio::sync::oneshot;

use super::{Error, FsyncPolicy, Record, Result, Wal, WalPosition};

/// Most requests coalesced into one group commit.
const MAX_GROUP: usize = 4096;

enum Command {
    Append {
        records: Vec<Record>,
        reply: oneshot::Sender<Result<WalPosition>>,
    },
    Sync {
        reply: oneshot::Sender<Result<()>>,
    },
    Cut {
        reply: oneshot::Sender<Result<u64>>,
    },
    TruncateBefore {
        segment: u64,
        reply: oneshot::Sender<Result<usize>>,
    },
}

/// Counters of a [`WalWriter`], for tests and self-metrics.
#[derive(Debug, Default)]
pub struct WalStats {
    /// Append requests acknowledged successfully.
    pub appends: AtomicU64,
    /// Records written.
    pub records: AtomicU64,
    /// Group commits (one write, at most one fsync each).
    pub groups: AtomicU64,
    /// fsyncs of segment data.
    pub syncs: AtomicU64,
    /// Segment currently written (for a `…_wal_segment_current` gauge).
    pub current_segment: AtomicU64,
    /// Segment files deleted by `truncate_before`.
    pub truncated_segments: AtomicU64,
    /// Failed appends, syncs, cuts and truncations.
    pub failures: AtomicU64,
}

impl WalStats {
    fn observe(&self, wal: &Wal) {
        self.syncs.store(wal.sync_count(), Ordering::Relaxed);
        self.current_segment
            .store(wal.current_segment(), Ordering::Relaxed);
    }

    fn fail<T>(&self, r: &Result<T>) {
        if r.is_err() {
            self.failures.fetch_add(1, Ordering::Relaxed);
        }
    }
}

#[derive(Debug)]
struct Inner {
    tx: Mutex<Option<mpsc::Sender<Command>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
    stats: Arc<WalStats>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Closing the channel makes the thread fsync and exit; wait so the data is durable
        // when the last handle is gone.
        self.tx.lock().take();
        if let Some(t) = self.thread.lock().take()
            && t.join().is_err()
        {
            tracing::error!("wal writer thread panicked");
        }
    }
}

/// Cloneable handle to a WAL writer thread. Appends return once their records are durable
/// per the [`FsyncPolicy`]; dropping an append future does not cancel the write. The last
/// handle dropped fsyncs and joins the thread.
#[derive(Debug, Clone)]
pub struct WalWriter {
    inner: Arc<Inner>,
}

impl WalWriter {
    /// Moves `wal` onto a new thread named `wal-writer`.
    pub fn spawn(wal: Wal) -> Result<WalWriter> {
        let (tx, rx) = mpsc::channel();
        let stats = Arc::new(WalStats::default());
        stats.observe(&wal);
        let thread_stats = stats.clone();
        let dir = wal.dir().to_path_buf();
        let thread = std::thread::Builder::new()
            .name("wal-writer".into())
            .spawn(move || run(wal, rx, &thread_stats))
            .map_err(|e| Error::io(dir, e))?;
        Ok(WalWriter {
            inner: Arc::new(Inner {
                tx: Mutex::new(Some(tx)),
                thread: Mutex::new(Some(thread)),
                stats,
            }),
        })
    }

    /// Counters of this writer.
    pub fn stats(&self) -> &WalStats {
        &self.inner.stats
    }

    fn send(&self, cmd: Command) -> Result<()> {
        let guard = self.inner.tx.lock();
        let tx = guard.as_ref().ok_or(Error::Closed)?;
        tx.send(cmd).map_err(|_| Error::Closed)
    }

    /// Appends a batch; resolves once durable per the policy, with the position after it.
    /// The request is queued when the future is first polled: to fix the log order at call
    /// time (e.g. under the lock that orders an in-memory head), use [`WalWriter::enqueue`].
    pub async fn append(&self, records: Vec<Record>) -> Result<WalPosition> {
        self.enqueue(records)?.await
    }

    /// Queues a batch now and returns a future for its acknowledgement. Requests are written
    /// in the order they were queued, so a caller can queue under its own lock and wait for
    /// durability after releasing it.
    pub fn enqueue(&self, records: Vec<Record>) -> Result<PendingWal<WalPosition>> {
        let (reply, rx) = oneshot::channel();
        self.send(Command::Append { records, reply })?;
        Ok(PendingWal { rx })
    }

    /// Blocking form of [`WalWriter::append`], for non-async callers (panics inside a tokio
    /// runtime, like every blocking receive).
    pub fn append_blocking(&self, records: Vec<Record>) -> Result<WalPosition> {
        self.enqueue(records)?.wait_blocking()
    }

    /// Queues a segment cut now (ordered after every request queued before it); see
    /// [`Wal::cut_segment`].
    pub fn enqueue_cut(&self) -> Result<PendingWal<u64>> {
        let (reply, rx) = oneshot::channel();
        self.send(Command::Cut { reply })?;
        Ok(PendingWal { rx })
    }

    /// fsyncs everything appended so far.
    pub async fn sync(&self) -> Result<()> {
        let (reply, rx) = oneshot::channel();
        self.send(Command::Sync { reply })?;
        rx.await.map_err(|_| Error::Closed)?
    }

    /// Starts a new segment; see [`Wal::cut_segment`].
    pub async fn cut_segment(&self) -> Result<u64> {
        self.enqueue_cut()?.await
    }

    /// Deletes segments below `segment`; see [`Wal::truncate_before`].
    pub async fn truncate_before(&self, segment: u64) -> Result<usize> {
        let (reply, rx) = oneshot::channel();
        self.send(Command::TruncateBefore { segment, reply })?;
        rx.await.map_err(|_| Error::Closed)?
    }
}

/// A request already queued to the writer thread; resolves to its result. Dropping it does not
/// cancel the request.
#[derive(Debug)]
#[must_use = "the request is queued either way; await this to learn whether it is durable"]
pub struct PendingWal<T> {
    rx: oneshot::Receiver<Result<T>>,
}

impl<T> PendingWal<T> {
    /// Waits without a runtime (panics inside a tokio runtime, like every blocking receive).
    pub fn wait_blocking(self) -> Result<T> {
        self.rx.blocking_recv().map_err(|_| Error::Closed)?
    }
}

impl<T> Future for PendingWal<T> {
    type Output = Result<T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.rx)
            .poll(cx)
            .map(|r| r.unwrap_or(Err(Error::Closed)))
    }
}

/// Rebuilds an error for each waiter of a failed group commit (`io::Error` is not `Clone`).
fn share_error(e: &Error) -> Error {
    match e {
        Error::Io { path, source } => Error::Io {
            path: path.clone(),
            source: std::io::Error::new(source.kind(), source.to_string()),
        },
        other => Error::Poisoned {
            reason: other.to_string(),
        },
    }
}

fn run(mut wal: Wal, rx: mpsc::Receiver<Command>, stats: &WalStats) {
    let interval = match wal.options().fsync {
        FsyncPolicy::Always => None,
        FsyncPolicy::Interval(d) => Some(d),
    };
    let mut group: Vec<Command> = Vec::new();
    let mut waiting: Vec<(oneshot::Sender<Result<WalPosition>>, WalPosition, usize)> = Vec::new();
    loop {
        let first = match (interval, wal.dirty_since()) {
            (Some(d), Some(since)) => {
                let wait = (since + d).saturating_duration_since(std::time::Instant::now());
                match rx.recv_timeout(wait) {
                    Ok(c) => c,
                    Err(mpsc::RecvTimeoutError::Timeout) => {
                        background_sync(&mut wal, stats);
                        continue;
                    }
                    Err(mpsc::RecvTimeoutError::Disconnected) => break,
                }
            }
            _ => match rx.recv() {
                Ok(c) => c,
                Err(_) => break,
            },
        };
        group.push(first);
        while group.len() < MAX_GROUP {
            match rx.try_recv() {
                Ok(c) => group.push(c),
                Err(_) => break,
            }
        }
        stats.groups.fetch_add(1, Ordering::Relaxed);
        for cmd in group.drain(..) {
            match cmd {
                Command::Append { records, reply } => {
                    match wal.write(records.iter().map(|r| (r.kind, &r.data[..]))) {
                        Ok(pos) => waiting.push((reply, pos, records.len())),
                        Err(e) => {
                            stats.failures.fetch_add(1, Ordering::Relaxed);
                            let _ = reply.send(Err(e));
                        }
                    }
                }
                Command::Sync { reply } => {
                    commit(&mut wal, &mut waiting, stats);
                    let r = wal.sync();
                    stats.observe(&wal);
                    stats.fail(&r);
                    let _ = reply.send(r);
                }
                Command::Cut { reply } => {
                    commit(&mut wal, &mut waiting, stats);
                    let r = wal.cut_segment();
                    stats.observe(&wal);
                    stats.fail(&r);
                    let _ = reply.send(r);
                }
                Command::TruncateBefore { segment, reply } => {
                    commit(&mut wal, &mut waiting, stats);
                    let r = wal.truncate_before(segment);
                    if let Ok(n) = &r {
                        stats
                            .truncated_segments
                            .fetch_add(*n as u64, Ordering::Relaxed);
                    }
                    stats.fail(&r);
                    let _ = reply.send(r);
                }
            }
        }
        commit(&mut wal, &mut waiting, stats);
    }
    commit(&mut wal, &mut waiting, stats);
    if let Err(e) = wal.sync() {
        tracing::error!(dir = %wal.dir().display(), error = %e, "wal fsync on shutdown failed");
    }
}

/// Acknowledges the written appends, after one fsync under [`FsyncPolicy::Always`].
fn commit(
    wal: &mut Wal,
    waiting: &mut Vec<(oneshot::Sender<Result<WalPosition>>, WalPosition, usize)>,
    stats: &WalStats,
) {
    if waiting.is_empty() {
        return;
    }
    let synced = if wal.options().fsync == FsyncPolicy::Always {
        let r = wal.sync();
        stats.observe(wal);
        stats.fail(&r);
        r
    } else {
        // Interval: a write may still have rolled the segment.
        stats.observe(wal);
        Ok(())
    };
    for (reply, pos, n) in waiting.drain(..) {
        let r = match &synced {
            Ok(()) => {
                stats.appends.fetch_add(1, Ordering::Relaxed);
                stats.records.fetch_add(n as u64, Ordering::Relaxed);
                Ok(pos)
            }
            Err(e) => Err(share_error(e)),
        };
        let _ = reply.send(r);
    }
}

fn background_sync(wal: &mut Wal, stats: &WalStats) {
    if let Err(e) = wal.sync() {
        stats.failures.fetch_add(1, Ordering::Relaxed);
        tracing::error!(dir = %wal.dir().display(), error = %e, "wal background fsync failed");
    }
    stats.observe(wal);
}
