//! Loki replacement: the LogQL language (parser, printer, log pipeline) so far; storage,
//! ingest and the HTTP API are not built yet (see `docs/log-store.md`).

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
