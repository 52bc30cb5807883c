//! Decode cost of a typical remote-write batch: 1000 series with 10 labels and one sample
//! each (what a Prometheus 3.x shard sends with max_samples_per_send near 2000).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use lgtm_proto::Message;
use lgtm_proto::prometheus::{Label, Sample, TimeSeries, WriteRequest};
use std::hint::black_box;

fn write_request(series: usize) -> WriteRequest {
    let timeseries = (0..series)
        .map(|i| {
            let mut labels = vec![
                Label {
                    name: "__name__".into(),
                    value: format!("metric_{}", i % 50),
                },
                Label {
                    name: "instance".into(),
                    value: format!("10.0.{}.{}:9100", i / 250, i % 250),
                },
                Label {
                    name: "job".into(),
                    value: "node".into(),
                },
            ];
            for k in 0..7 {
                labels.push(Label {
                    name: format!("label_{k}"),
                    value: format!("value_{}", (i + k) % 13),
                });
            }
            TimeSeries {
                labels,
                samples: vec![Sample {
                    value: i as f64 * 1.5,
                    timestamp: 1_700_000_000_000 + i as i64,
                }],
                ..Default::default()
            }
        })
        .collect();
    WriteRequest {
        timeseries,
        metadata: vec![],
    }
}

fn bench_decode(c: &mut Criterion) {
    let body = write_request(1000).encode_to_vec();
    let compressed = snap::raw::Encoder::new()
        .compress_vec(&body)
        .expect("snappy compress");

    let mut group = c.benchmark_group("write_request_1000_series");
    group.throughput(Throughput::Bytes(body.len() as u64));
    group.bench_function("decode", |b| {
        b.iter(|| WriteRequest::decode(black_box(body.as_slice())).expect("decode"))
    });
    group.bench_function("snappy_decompress_and_decode", |b| {
        let mut decoder = snap::raw::Decoder::new();
        b.iter(|| {
            let raw = decoder
                .decompress_vec(black_box(&compressed))
                .expect("decompress");
            WriteRequest::decode(raw.as_slice()).expect("decode")
        })
    });
    group.finish();
}

criterion_group!(benches, bench_decode);
criterion_main!(benches);
