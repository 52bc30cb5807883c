//! `metrics-tsdb`: the Prometheus server replacement.
//!
//! Built so far: the compressed chunk encoding of its storage (`chunk`). The PromQL engine lives
//! in `lgtm-promql`; ingestion, blocks and the HTTP API follow (see `docs/metrics-tsdb.md`).

pub mod chunk;
pub mod head;
pub mod index;
pub mod scrape;
pub mod config;
pub mod db;
pub mod wal_record;
pub mod remote_write;
pub mod api;
pub mod querier;
pub mod server;
pub mod block;
