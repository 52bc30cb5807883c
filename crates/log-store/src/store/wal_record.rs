//! WAL record of the log store: one record per accepted push (per tenant), holding the
//! entries that went into the head, so replay rebuilds the head exactly.
//!
//! Kind [`KIND_ENTRIES`] (version 1), payload:
//! `tenant: str | n_streams: uvarint | per stream: n_labels, (name str, value str)*,
//! n_entries, per entry: ts varint, line str, n_meta, (name str, value str)*`.

use std::sync::Arc;

use lgtm_common::labels::{Label, Labels};

use super::codec::{Reader, put_bytes, put_uvarint, put_varint};
use super::{Entry, StoreError};

/// Record kind of an entries batch.
pub(crate) const KIND_ENTRIES: u8 = 1;

/// One stream's entries inside a WAL record.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct WalStream {
    pub(crate) labels: Labels,
    pub(crate) entries: Vec<Entry>,
}

fn put_labels(buf: &mut Vec<u8>, labels: &Labels) {
    put_uvarint(buf, labels.len() as u64);
    for l in labels {
        put_bytes(buf, l.name.as_bytes());
        put_bytes(buf, l.value.as_bytes());
    }
}

fn read_labels(r: &mut Reader<'_>) -> Result<Labels, StoreError> {
    let n = r.count()?;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let name = r.str()?;
        let value = r.str()?;
        out.push(Label::new(name, value));
    }
    Ok(Labels::from_labels(out))
}

/// Encodes a batch of one tenant.
pub(crate) fn encode(tenant: &str, streams: &[WalStream]) -> Vec<u8> {
    let mut buf = Vec::with_capacity(
        64 + streams
            .iter()
            .flat_map(|s| s.entries.iter())
            .map(|e| e.line.len() + 16)
            .sum::<usize>(),
    );
    put_bytes(&mut buf, tenant.as_bytes());
    put_uvarint(&mut buf, streams.len() as u64);
    for s in streams {
        put_labels(&mut buf, &s.labels);
        put_uvarint(&mut buf, s.entries.len() as u64);
        for e in &s.entries {
            put_varint(&mut buf, e.ts);
            put_bytes(&mut buf, e.line.as_bytes());
            put_labels(&mut buf, &e.metadata);
        }
    }
    buf
}

/// Decodes a record written by [`encode`].
pub(crate) fn decode(data: &[u8]) -> Result<(String, Vec<WalStream>), StoreError> {
    let mut r = Reader::new(data, "wal record");
    let tenant = r.str()?.to_owned();
    let n = r.count()?;
    let mut streams = Vec::with_capacity(n);
    for _ in 0..n {
        let labels = read_labels(&mut r)?;
        let ne = r.count()?;
        let mut entries = Vec::with_capacity(ne);
        for _ in 0..ne {
            let ts = r.varint()?;
            let line: Arc<str> = Arc::from(r.str()?);
            let metadata = Arc::new(read_labels(&mut r)?);
            entries.push(Entry { ts, line, metadata });
        }
        streams.push(WalStream { labels, entries });
    }
    Ok((tenant, streams))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let streams = vec![WalStream {
            labels: Labels::from_pairs([("app", "api"), ("env", "prod")]),
            entries: vec![
                Entry::new(5, "hello", Labels::default()),
                Entry::new(
                    -3,
                    "żółw\n\tat x",
                    Labels::from_pairs([("trace_id", "abc")]),
                ),
            ],
        }];
        let buf = encode("tenant-1", &streams);
        let (tenant, back) = decode(&buf).unwrap();
        assert_eq!(tenant, "tenant-1");
        assert_eq!(back, streams);
        assert!(decode(&buf[..buf.len() - 1]).is_err());
    }
}

#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn records_round_trip(
            tenant in "[a-z0-9-]{1,10}",
            streams in prop::collection::vec(
                (prop::collection::btree_map("[a-z]{1,5}", ".{0,6}", 1..4),
                 prop::collection::vec((any::<i64>(), ".{0,30}"), 0..10)),
                0..5),
        ) {
            let streams: Vec<WalStream> = streams
                .into_iter()
                .map(|(l, es)| WalStream {
                    labels: Labels::from_pairs(l),
                    entries: es.into_iter().map(|(t, line)| Entry::new(t, &line, Labels::default())).collect(),
                })
                .collect();
            let buf = encode(&tenant, &streams);
            let (t, back) = decode(&buf).unwrap();
            prop_assert_eq!(t, tenant);
            prop_assert_eq!(back, streams);
        }

        #[test]
        fn garbage_records_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
            let _ = decode(&bytes);
        }
    }
}
