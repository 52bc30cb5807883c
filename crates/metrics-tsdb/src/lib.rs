//! `metrics-tsdb`: the Prometheus server replacement.
//!
//! Built so far: the compressed chunk encoding of its storage (`chunk`). The PromQL engine lives
//! in `lgtm-promql`; ingestion, blocks and the HTTP API follow (see `docs/metrics-tsdb.md`).

pub mod api;
pub mod block;
pub mod chunk;
pub mod config;
pub mod db;
pub mod exemplars;
pub mod head;
pub mod index;
pub mod notifier;
pub mod otlp;
pub mod querier;
pub mod remote_write;
pub mod rules;
pub mod scrape;
pub mod server;
pub mod wal_record;
