//! WAL append throughput with small records, per fsync policy, for the bare writer and for the
//! group-committing writer thread. Run by hand: `cargo bench -p lgtm-common --bench wal`.

use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use lgtm_common::wal::{FsyncPolicy, Record, Wal, WalOptions, WalWriter};

const RECORD: usize = 100;

fn options(fsync: FsyncPolicy) -> WalOptions {
    WalOptions {
        fsync,
        ..WalOptions::default()
    }
}

fn policies() -> [(&'static str, FsyncPolicy); 2] {
    [
        ("always", FsyncPolicy::Always),
        (
            "interval_100ms",
            FsyncPolicy::Interval(Duration::from_millis(100)),
        ),
    ]
}

fn bare_writer(c: &mut Criterion) {
    let mut g = c.benchmark_group("wal_append");
    g.sample_size(10).measurement_time(Duration::from_secs(3));
    for (name, policy) in policies() {
        for batch in [1usize, 64] {
            let dir = tempfile::tempdir().expect("tempdir");
            let (mut wal, _) = Wal::open(dir.path(), options(policy)).expect("open wal");
            let records: Vec<Record> = (0..batch)
                .map(|i| Record::new(1, vec![i as u8; RECORD]))
                .collect();
            g.throughput(Throughput::Elements(batch as u64));
            g.bench_function(format!("{name}/batch_{batch}/{RECORD}B"), |b| {
                b.iter(|| wal.append(&records).expect("append"))
            });
        }
    }
    g.finish();
}

fn group_commit(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let mut g = c.benchmark_group("wal_writer");
    g.sample_size(10).measurement_time(Duration::from_secs(3));
    for (name, policy) in policies() {
        let tasks = 16u64;
        let dir = tempfile::tempdir().expect("tempdir");
        let (wal, _) = Wal::open(dir.path(), options(policy)).expect("open wal");
        let writer = WalWriter::spawn(wal).expect("spawn writer");
        g.throughput(Throughput::Elements(tasks));
        g.bench_function(
            format!("{name}/{tasks}_concurrent_appenders/{RECORD}B"),
            |b| {
                b.iter_custom(|iters| {
                    let writer = writer.clone();
                    rt.block_on(async move {
                        let start = Instant::now();
                        let mut handles = Vec::new();
                        for _ in 0..tasks {
                            let w = writer.clone();
                            handles.push(tokio::spawn(async move {
                                for _ in 0..iters {
                                    w.append(vec![Record::new(1, vec![0u8; RECORD])])
                                        .await
                                        .expect("append");
                                }
                            }));
                        }
                        for h in handles {
                            h.await.expect("task");
                        }
                        start.elapsed()
                    })
                })
            },
        );
    }
    g.finish();
}

criterion_group!(benches, bare_writer, group_commit);
criterion_main!(benches);
