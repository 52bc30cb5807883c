use std::time::Duration;

use proptest::prelude::*;

use super::format::{FRAME_HEADER_LEN, SEGMENT_HEADER_LEN, list_segments, segment_path};
use super::*;

fn opts(max_segment_size: u64) -> WalOptions {
    WalOptions {
        max_segment_size,
        max_record_size: 1 << 20,
        // Interval keeps the tests fast; Drop fsyncs anyway.
        fsync: FsyncPolicy::Interval(Duration::from_secs(3600)),
    }
}

/// Deterministic pseudo-random payload of `len` bytes.
fn payload(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn replay_all(dir: &std::path::Path) -> (Vec<ReplayedRecord>, ReplayReport) {
    let mut out = Vec::new();
    let report = WalReader::open(dir, 0)
        .unwrap()
        .for_each_record(|r| out.push(r))
        .unwrap();
    (out, report)
}

fn frame_end(r: &ReplayedRecord) -> u64 {
    r.offset + FRAME_HEADER_LEN as u64 + r.data.len() as u64
}

#[test]
fn append_then_replay_returns_records_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let (mut wal, report) = Wal::open(dir.path(), WalOptions::default()).unwrap();
    assert_eq!(report.records, 0);
    assert!(report.damage.is_none());
    wal.append(&[Record::new(1, "a"), Record::new(2, "")])
        .unwrap();
    let pos = wal.append_slice(255, b"ccc").unwrap();
    assert_eq!(pos.segment, 0);
    assert_eq!(
        pos.offset,
        SEGMENT_HEADER_LEN + 3 * FRAME_HEADER_LEN as u64 + 4
    );
    assert!(wal.sync_count() >= 2, "Always policy fsyncs each append");
    drop(wal);
    let (recs, report) = replay_all(dir.path());
    let got: Vec<(u8, &[u8])> = recs.iter().map(|r| (r.kind, &r.data[..])).collect();
    assert_eq!(got, vec![(1, &b"a"[..]), (2, &b""[..]), (255, &b"ccc"[..])]);
    assert_eq!(report.records, 3);
    assert_eq!(report.end, Some(pos));
    assert!(report.damage.is_none());
}

#[test]
fn invalid_records_reject_the_whole_batch() {
    let dir = tempfile::tempdir().unwrap();
    let (mut wal, _) = Wal::open(dir.path(), opts(4096)).unwrap();
    let before = wal.position();
    assert!(matches!(
        wal.append(&[Record::new(1, "ok"), Record::new(0, "x")]),
        Err(Error::ReservedKind)
    ));
    let big = vec![0u8; (1 << 20) + 1];
    assert!(matches!(
        wal.append(&[Record::new(1, big)]),
        Err(Error::RecordTooLarge { .. })
    ));
    assert_eq!(wal.position(), before);
    drop(wal);
    assert_eq!(replay_all(dir.path()).0.len(), 0);
}

#[test]
fn segments_roll_over_at_the_size_limit() {
    let dir = tempfile::tempdir().unwrap();
    let max = 200;
    let (mut wal, _) = Wal::open(dir.path(), opts(max)).unwrap();
    for i in 0..20u8 {
        // 9 + 41 = 50-byte frames: three fit after the 8-byte header.
        wal.append(&[Record::new(1, vec![i; 41])]).unwrap();
    }
    // A record bigger than a segment gets a segment of its own.
    wal.append(&[Record::new(2, vec![7u8; 1000])]).unwrap();
    wal.append(&[Record::new(3, "after")]).unwrap();
    drop(wal);
    let segs = list_segments(dir.path()).unwrap();
    assert_eq!(segs, (0..=8).collect::<Vec<_>>());
    for &n in &segs[..6] {
        let len = std::fs::metadata(segment_path(dir.path(), n))
            .unwrap()
            .len();
        assert!(len <= max, "segment {n} is {len} bytes");
    }
    let (recs, report) = replay_all(dir.path());
    assert_eq!(recs.len(), 22);
    assert_eq!(report.segments, segs);
    for (i, r) in recs[..20].iter().enumerate() {
        assert_eq!(r.segment, i as u64 / 3);
        assert_eq!(r.data, vec![i as u8; 41]);
    }
    assert_eq!((recs[20].segment, recs[20].offset), (7, SEGMENT_HEADER_LEN));
    assert_eq!((recs[21].segment, recs[21].kind), (8, 3));
}

#[test]
fn cut_segment_and_truncate_before() {
    let dir = tempfile::tempdir().unwrap();
    let (mut wal, _) = Wal::open(dir.path(), opts(1 << 20)).unwrap();
    wal.append(&[Record::new(1, "s0")]).unwrap();
    assert_eq!(wal.cut_segment().unwrap(), 1);
    // Cutting an empty segment keeps it.
    assert_eq!(wal.cut_segment().unwrap(), 1);
    wal.append(&[Record::new(1, "s1")]).unwrap();
    assert_eq!(wal.cut_segment().unwrap(), 2);
    wal.append(&[Record::new(1, "s2")]).unwrap();
    assert_eq!(list_segments(dir.path()).unwrap(), vec![0, 1, 2]);

    assert_eq!(wal.truncate_before(2).unwrap(), 2);
    assert_eq!(list_segments(dir.path()).unwrap(), vec![2]);
    // Never deletes the segment being written.
    assert_eq!(wal.truncate_before(100).unwrap(), 0);
    assert_eq!(list_segments(dir.path()).unwrap(), vec![2]);
    drop(wal);

    let (recs, report) = replay_all(dir.path());
    assert_eq!(recs.len(), 1);
    assert_eq!((recs[0].segment, &recs[0].data[..]), (2, &b"s2"[..]));
    assert!(report.damage.is_none());

    // Reopen continues in the last segment, and replay can start at a given segment.
    let (mut wal, report) = Wal::open(dir.path(), opts(1 << 20)).unwrap();
    assert_eq!(report.records, 1);
    assert_eq!(wal.current_segment(), 2);
    wal.cut_segment().unwrap();
    wal.append(&[Record::new(1, "s3")]).unwrap();
    drop(wal);
    let from3: Vec<_> = WalReader::open(dir.path(), 3)
        .unwrap()
        .map(|r| r.unwrap().data)
        .collect();
    assert_eq!(from3, vec![b"s3".to_vec()]);
}

#[test]
fn second_writer_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (_wal, _) = Wal::open(dir.path(), opts(4096)).unwrap();
    assert!(matches!(
        Wal::open(dir.path(), opts(4096)),
        Err(Error::Locked { .. })
    ));
}

#[test]
fn empty_segment_file_from_a_crash_is_a_torn_tail() {
    let dir = tempfile::tempdir().unwrap();
    let (mut wal, _) = Wal::open(dir.path(), opts(4096)).unwrap();
    wal.append(&[Record::new(1, "kept")]).unwrap();
    drop(wal);
    std::fs::File::create(segment_path(dir.path(), 1)).unwrap();
    let (recs, report) = replay_all(dir.path());
    assert_eq!(recs.len(), 1);
    let damage = report.damage.unwrap();
    assert_eq!(damage.segment, 1);
    assert_eq!(damage.reason, DamageReason::ShortSegmentHeader { len: 0 });
    assert!(damage.is_torn_tail());

    let (mut wal, _) = Wal::open(dir.path(), opts(4096)).unwrap();
    assert_eq!(wal.current_segment(), 1);
    wal.append(&[Record::new(1, "new")]).unwrap();
    drop(wal);
    let (recs, report) = replay_all(dir.path());
    assert_eq!(recs.len(), 2);
    assert!(report.damage.is_none());
}

#[test]
fn zero_filled_tail_after_power_loss_is_a_torn_tail() {
    let dir = tempfile::tempdir().unwrap();
    let (mut wal, _) = Wal::open(dir.path(), opts(1 << 20)).unwrap();
    wal.append(&[Record::new(1, "a"), Record::new(1, "b")])
        .unwrap();
    let end = wal.position();
    drop(wal);
    let path = segment_path(dir.path(), 0);
    let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    f.set_len(end.offset + 100_000).unwrap();
    drop(f);

    let (recs, report) = replay_all(dir.path());
    assert_eq!(recs.len(), 2);
    let damage = report.damage.unwrap();
    assert_eq!(damage.reason, DamageReason::ZeroedTail { len: 100_000 });
    assert_eq!(damage.offset, end.offset);
    assert!(damage.is_torn_tail());

    // Zeros followed by data are not a benign tail.
    let mut bytes = std::fs::read(&path).unwrap();
    *bytes.last_mut().unwrap() = 1;
    std::fs::write(&path, &bytes).unwrap();
    let (recs, report) = replay_all(dir.path());
    assert_eq!(recs.len(), 2);
    assert_eq!(report.damage.unwrap().reason, DamageReason::ReservedKind);

    let (mut wal, _) = Wal::open(dir.path(), opts(1 << 20)).unwrap();
    assert_eq!(wal.position(), end);
    wal.append(&[Record::new(1, "c")]).unwrap();
    drop(wal);
    let (recs, report) = replay_all(dir.path());
    assert_eq!(recs.len(), 3);
    assert!(report.damage.is_none());
}

#[test]
fn missing_middle_segment_stops_replay_and_reopen_drops_what_follows() {
    let dir = tempfile::tempdir().unwrap();
    let (mut wal, _) = Wal::open(dir.path(), opts(4096)).unwrap();
    for i in 0..3 {
        wal.append(&[Record::new(1, format!("r{i}"))]).unwrap();
        wal.cut_segment().unwrap();
    }
    drop(wal);
    std::fs::remove_file(segment_path(dir.path(), 1)).unwrap();
    let (recs, report) = replay_all(dir.path());
    assert_eq!(recs.len(), 1);
    let damage = report.damage.unwrap();
    assert_eq!(
        (damage.segment, &damage.reason),
        (1, &DamageReason::MissingSegment)
    );
    assert_eq!(damage.unread_segments, vec![2, 3]);
    assert!(!damage.is_torn_tail());

    let (mut wal, _) = Wal::open(dir.path(), opts(4096)).unwrap();
    assert_eq!(list_segments(dir.path()).unwrap(), vec![0]);
    wal.append(&[Record::new(1, "after")]).unwrap();
    drop(wal);
    let (recs, report) = replay_all(dir.path());
    assert_eq!(recs.len(), 2);
    assert!(report.damage.is_none());
}

#[test]
fn open_replaying_hands_records_from_the_given_segment() {
    let dir = tempfile::tempdir().unwrap();
    let (mut wal, _) = Wal::open(dir.path(), opts(4096)).unwrap();
    wal.append(&[Record::new(1, "old")]).unwrap();
    wal.cut_segment().unwrap();
    wal.append(&[Record::new(1, "new")]).unwrap();
    drop(wal);
    let mut seen = Vec::new();
    let (_wal, report) =
        Wal::open_replaying(dir.path(), opts(4096), 1, |r| seen.push(r.data)).unwrap();
    assert_eq!(seen, vec![b"new".to_vec()]);
    assert_eq!(report.records, 1);
    assert_eq!(report.segments, vec![1]);
}

#[test]
fn open_replaying_past_the_last_segment_starts_that_segment() {
    let dir = tempfile::tempdir().unwrap();
    let (mut wal, _) = Wal::open(dir.path(), opts(4096)).unwrap();
    wal.append(&[Record::new(1, "old")]).unwrap();
    drop(wal);
    let (mut wal, report) = Wal::open_replaying(dir.path(), opts(4096), 5, |_| {}).unwrap();
    assert_eq!(report.records, 0);
    assert_eq!(wal.current_segment(), 5);
    wal.append(&[Record::new(1, "new")]).unwrap();
    drop(wal);
    let got: Vec<_> = WalReader::open(dir.path(), 5)
        .unwrap()
        .map(|r| r.unwrap().data)
        .collect();
    assert_eq!(got, vec![b"new".to_vec()]);
}

#[test]
fn checkpoint_then_truncate_then_recover() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(latest_checkpoint(dir.path()).unwrap(), None);
    let (mut wal, _) = Wal::open(dir.path(), opts(4096)).unwrap();
    // Segment 0: a "series" record (kind 1) and "samples" (kind 2).
    wal.append(&[Record::new(1, "series-a"), Record::new(2, "s0")])
        .unwrap();
    let n = wal.cut_segment().unwrap();
    assert_eq!(n, 1);
    wal.append(&[Record::new(2, "s1")]).unwrap();
    // The live state at the cut: only the series survives into the checkpoint.
    let cp = write_checkpoint(dir.path(), n, vec![Record::new(1, "series-a")]).unwrap();
    assert_eq!(cp.upto, 1);
    assert_eq!(cp.path, dir.path().join("checkpoint.00000001"));
    // Crash before truncate_before(n): segment 0 is still there.
    drop(wal);

    let mut seen = Vec::new();
    let (mut wal, report) = Wal::recover(dir.path(), opts(4096), |r| seen.push(r.data)).unwrap();
    assert_eq!(seen, vec![b"series-a".to_vec(), b"s1".to_vec()]);
    let (cp_seen, cp_report) = report.checkpoint.unwrap();
    assert_eq!(cp_seen, cp);
    assert_eq!(cp_report.records, 1);
    assert_eq!(report.wal.records, 1);
    assert_eq!(
        list_segments(dir.path()).unwrap(),
        vec![1],
        "recovery truncated"
    );

    // A newer checkpoint replaces the older; the same `upto` again keeps the existing one.
    let n2 = wal.cut_segment().unwrap();
    let cp2 = write_checkpoint(
        dir.path(),
        n2,
        vec![Record::new(1, "series-a"), Record::new(1, "series-b")],
    )
    .unwrap();
    wal.truncate_before(n2).unwrap();
    assert_eq!(latest_checkpoint(dir.path()).unwrap(), Some(cp2.clone()));
    assert!(
        std::fs::metadata(&cp.path).is_err(),
        "older checkpoint deleted"
    );
    let again = write_checkpoint(dir.path(), n2, vec![Record::new(1, "other")]).unwrap();
    assert_eq!(again, cp2);
    let kept: Vec<_> = cp2.reader().unwrap().map(|r| r.unwrap().data).collect();
    assert_eq!(kept, vec![b"series-a".to_vec(), b"series-b".to_vec()]);
    wal.append(&[Record::new(2, "s2")]).unwrap();
    drop(wal);

    // A crash while writing a checkpoint leaves a .tmp directory: ignored, then removed.
    std::fs::create_dir(dir.path().join("checkpoint.00000009.tmp")).unwrap();
    let mut seen = Vec::new();
    let (_wal, _) = Wal::recover(dir.path(), opts(4096), |r| seen.push(r.data)).unwrap();
    assert_eq!(
        seen,
        vec![b"series-a".to_vec(), b"series-b".to_vec(), b"s2".to_vec()]
    );
    assert!(std::fs::metadata(dir.path().join("checkpoint.00000009.tmp")).is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writer_thread_group_commits_concurrent_appends() {
    let dir = tempfile::tempdir().unwrap();
    let (wal, _) = Wal::open(
        dir.path(),
        WalOptions {
            max_segment_size: 64 * 1024,
            ..WalOptions::default()
        },
    )
    .unwrap();
    let writer = WalWriter::spawn(wal).unwrap();
    let mut tasks = Vec::new();
    for t in 0..8u8 {
        let w = writer.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..50u32 {
                let data = format!("{t}:{i}");
                w.append(vec![Record::new(t + 1, data)]).await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let stats = writer.stats();
    assert_eq!(
        stats.appends.load(std::sync::atomic::Ordering::Relaxed),
        400
    );
    assert_eq!(
        stats.records.load(std::sync::atomic::Ordering::Relaxed),
        400
    );
    let syncs = stats.syncs.load(std::sync::atomic::Ordering::Relaxed);
    let groups = stats.groups.load(std::sync::atomic::Ordering::Relaxed);
    // Always: every acknowledged group was fsynced, and one fsync covers a whole group.
    assert!(
        syncs >= 1 && syncs <= groups,
        "syncs {syncs}, groups {groups}"
    );
    let seg = writer.cut_segment().await.unwrap();
    assert_eq!(seg, 1);
    writer.append(vec![Record::new(9, "last")]).await.unwrap();
    assert_eq!(writer.truncate_before(1).await.unwrap(), 1);
    let stats = writer.stats();
    assert_eq!(
        stats
            .current_segment
            .load(std::sync::atomic::Ordering::Relaxed),
        1
    );
    assert_eq!(
        stats
            .truncated_segments
            .load(std::sync::atomic::Ordering::Relaxed),
        1
    );
    assert!(matches!(
        writer.append(vec![Record::new(0, "bad")]).await,
        Err(Error::ReservedKind)
    ));
    assert_eq!(stats.failures.load(std::sync::atomic::Ordering::Relaxed), 1);
    drop(writer);

    let (recs, report) = replay_all(dir.path());
    assert!(report.damage.is_none());
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0].data, b"last");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enqueue_fixes_the_order_at_call_time() {
    let dir = tempfile::tempdir().unwrap();
    let (wal, _) = Wal::open(dir.path(), WalOptions::default()).unwrap();
    let writer = WalWriter::spawn(wal).unwrap();
    // Queued in this order, awaited in the reverse order.
    let a = writer.enqueue(vec![Record::new(1, "a")]).unwrap();
    let cut = writer.enqueue_cut().unwrap();
    let b = writer.enqueue(vec![Record::new(1, "b")]).unwrap();
    let pos_b = b.await.unwrap();
    let seg = cut.await.unwrap();
    let pos_a = a.await.unwrap();
    assert_eq!((pos_a.segment, seg, pos_b.segment), (0, 1, 1));
    // An un-awaited request is still written.
    drop(writer.enqueue(vec![Record::new(1, "c")]).unwrap());
    writer.sync().await.unwrap();
    drop(writer);
    let (recs, _) = replay_all(dir.path());
    let got: Vec<(u64, &[u8])> = recs.iter().map(|r| (r.segment, &r.data[..])).collect();
    assert_eq!(got, vec![(0, &b"a"[..]), (1, &b"b"[..]), (1, &b"c"[..])]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interval_policy_syncs_in_the_background() {
    let dir = tempfile::tempdir().unwrap();
    let (wal, _) = Wal::open(
        dir.path(),
        WalOptions {
            fsync: FsyncPolicy::Interval(Duration::from_millis(20)),
            ..WalOptions::default()
        },
    )
    .unwrap();
    let writer = WalWriter::spawn(wal).unwrap();
    writer.append(vec![Record::new(1, "x")]).await.unwrap();
    // The append is acknowledged before any fsync; the timer fsyncs soon after.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while writer
        .stats()
        .syncs
        .load(std::sync::atomic::Ordering::Relaxed)
        == 0
    {
        assert!(std::time::Instant::now() < deadline, "no background fsync");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // Readable by a concurrent reader without any close: the data is in the kernel.
    let (recs, _) = replay_all(dir.path());
    assert_eq!(recs.len(), 1);
}

#[derive(Debug, Clone)]
enum Harm {
    /// Truncate the last segment file at `sel % (len + 1)`.
    Truncate { sel: u64 },
    /// Flip bit `bit` of byte `byte % len` in segment `seg % count`.
    Flip { seg: u64, byte: u64, bit: u8 },
}

fn harm_strategy() -> impl Strategy<Value = Harm> {
    prop_oneof![
        any::<u64>().prop_map(|sel| Harm::Truncate { sel }),
        (any::<u64>(), any::<u64>(), 0u8..8).prop_map(|(seg, byte, bit)| Harm::Flip {
            seg,
            byte,
            bit
        }),
    ]
}

fn record_strategy() -> impl Strategy<Value = (u8, usize, u64)> {
    let size = prop_oneof![0usize..64, 0usize..4096, 0usize..100_000];
    (1u8..=255, size, any::<u64>())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, ..ProptestConfig::default() })]

    #[test]
    fn replay_returns_exactly_the_records_before_the_damage(
        specs in prop::collection::vec(record_strategy(), 1..14),
        batch in 1usize..5,
        segment_size in 4096u64..200_000,
        harm in harm_strategy(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let written: Vec<Record> = specs
            .iter()
            .map(|&(kind, len, seed)| Record::new(kind, payload(seed, len)))
            .collect();
        let (mut wal, _) = Wal::open(dir.path(), opts(segment_size)).unwrap();
        for chunk in written.chunks(batch) {
            wal.append(chunk).unwrap();
        }
        drop(wal);

        let (clean, report) = replay_all(dir.path());
        prop_assert!(report.damage.is_none());
        prop_assert_eq!(clean.len(), written.len());
        for (r, w) in clean.iter().zip(&written) {
            prop_assert_eq!(r.kind, w.kind);
            prop_assert_eq!(&r.data[..], &w.data[..]);
        }

        let segs = list_segments(dir.path()).unwrap();
        // Records that must survive: everything strictly before the damaged byte.
        let expected: Vec<&ReplayedRecord> = match harm {
            Harm::Truncate { sel } => {
                let last = *segs.last().unwrap();
                let path = segment_path(dir.path(), last);
                let len = std::fs::metadata(&path).unwrap().len();
                let cut = sel % (len + 1);
                let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
                f.set_len(cut).unwrap();
                clean
                    .iter()
                    .filter(|r| r.segment < last || frame_end(r) <= cut)
                    .collect()
            }
            Harm::Flip { seg, byte, bit } => {
                let n = segs[(seg % segs.len() as u64) as usize];
                let path = segment_path(dir.path(), n);
                let mut bytes = std::fs::read(&path).unwrap();
                let at = byte % bytes.len() as u64;
                bytes[at as usize] ^= 1 << bit;
                std::fs::write(&path, &bytes).unwrap();
                clean
                    .iter()
                    .filter(|r| r.segment < n || (r.segment == n && frame_end(r) <= at))
                    .collect()
            }
        };

        let (damaged, report) = replay_all(dir.path());
        prop_assert_eq!(damaged.len(), expected.len());
        for (got, want) in damaged.iter().zip(&expected) {
            prop_assert_eq!(got, *want);
        }
        prop_assert_eq!(report.records, expected.len() as u64);
        if matches!(harm, Harm::Flip { .. }) {
            prop_assert!(report.damage.is_some(), "a flipped bit must be detected");
        }

        // Reopening repairs the tail; new appends follow the surviving records.
        let (mut wal, reopen_report) = Wal::open(dir.path(), opts(segment_size)).unwrap();
        prop_assert_eq!(reopen_report.records, expected.len() as u64);
        wal.append(&[Record::new(42, "after-1"), Record::new(43, vec![5u8; 3000])]).unwrap();
        drop(wal);
        let (after, report) = replay_all(dir.path());
        prop_assert!(report.damage.is_none(), "damage after repair: {:?}", report.damage);
        prop_assert_eq!(after.len(), expected.len() + 2);
        for (got, want) in after.iter().zip(&expected) {
            prop_assert_eq!(got, *want);
        }
        prop_assert_eq!(&after[expected.len()].data[..], b"after-1");
        prop_assert_eq!(after[expected.len() + 1].kind, 43);
    }
}

const CRASH_DIR_ENV: &str = "LGTM_WAL_CRASH_CHILD_DIR";
const CRASH_POLICY_ENV: &str = "LGTM_WAL_CRASH_CHILD_POLICY";

fn crash_record(i: u32) -> Vec<u8> {
    let mut data = i.to_le_bytes().to_vec();
    data.extend(payload(u64::from(i), (i as usize * 7919) % 20_000));
    data
}

/// Child process of `acknowledged_appends_survive_kill_9`: appends numbered records forever,
/// printing `ack N` once append N returned.
#[test]
#[ignore = "runs only as the child process of acknowledged_appends_survive_kill_9"]
fn crash_child() {
    use std::io::Write;
    let Ok(dir) = std::env::var(CRASH_DIR_ENV) else {
        return;
    };
    let fsync = match std::env::var(CRASH_POLICY_ENV).as_deref() {
        Ok("always") => FsyncPolicy::Always,
        _ => FsyncPolicy::Interval(Duration::from_secs(3600)),
    };
    let (wal, _) = Wal::open(
        &dir,
        WalOptions {
            max_segment_size: 256 * 1024,
            max_record_size: 1 << 20,
            fsync,
        },
    )
    .unwrap();
    let writer = WalWriter::spawn(wal).unwrap();
    let mut out = std::io::stdout().lock();
    for i in 0.. {
        writer
            .append_blocking(vec![Record::new(1, crash_record(i))])
            .unwrap();
        writeln!(out, "ack {i}").unwrap();
        out.flush().unwrap();
    }
}

#[test]
fn acknowledged_appends_survive_kill_9() {
    use std::io::BufRead;
    for policy in ["always", "interval"] {
        let dir = tempfile::tempdir().unwrap();
        let mut child = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "wal::tests::crash_child",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CRASH_DIR_ENV, dir.path())
            .env(CRASH_POLICY_ENV, policy)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut last_ack = None;
        for line in std::io::BufReader::new(stdout).lines() {
            let line = line.unwrap();
            if let Some(n) = line.strip_prefix("ack ") {
                let n: u32 = n.parse().unwrap();
                last_ack = Some(n);
                if n >= 150 {
                    break;
                }
            }
        }
        // SIGKILL mid-stream: the child is appending the next records right now.
        child.kill().unwrap();
        child.wait().unwrap();
        let last_ack = last_ack.expect("child acknowledged nothing");

        let (recs, report) = replay_all(dir.path());
        if let Some(d) = &report.damage {
            assert!(d.is_torn_tail(), "{policy}: kill -9 left corruption: {d:?}");
        }
        assert!(
            recs.len() > last_ack as usize,
            "{policy}: acknowledged record {last_ack} lost, replayed {}",
            recs.len()
        );
        for (i, r) in recs.iter().enumerate() {
            assert_eq!(r.data, crash_record(i as u32), "{policy}: record {i}");
        }
        // And the log reopens for appends after the crash.
        let (mut wal, _) = Wal::open(dir.path(), opts(256 * 1024)).unwrap();
        wal.append(&[Record::new(2, "after crash")]).unwrap();
        drop(wal);
        let (again, report) = replay_all(dir.path());
        assert!(report.damage.is_none());
        assert_eq!(again.len(), recs.len() + 1);
    }
}
