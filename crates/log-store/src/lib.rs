//! `log-store`: the Loki replacement. Push (`push`: protobuf+snappy, JSON, OTLP logs) into a
//! WAL-backed per-stream head (`store`), flushed to zstd-compressed blocks on object storage;
//! LogQL (`logql`: parser, printer, pipeline, metric evaluation on the shared PromQL core);
//! Loki's HTTP API (`api`, `query`); the server and Loki's flags (`server`, `cli`); the
//! `logql-conformance` runner (`conformance`). See `docs/log-store.md`.

pub mod api;
pub mod cli;
pub mod config;
pub mod conformance;
pub mod logql;
pub mod metrics;
pub mod push;
pub mod query;
pub mod server;
pub mod store;
pub use server::{LogStore, ServerError, run};
