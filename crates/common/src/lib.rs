//! `lgtm-common`: the pieces every service of the stack needs, kept in one place so no service
//! grows its own copy: label sets and matchers with Prometheus semantics, API time parameters
//! and durations, the Prometheus/Loki JSON envelope and its error kinds, the HTTP serving
//! scaffold, configuration loading, object storage from a URL and the write-ahead log.
pub mod api;
pub mod blocks;
pub mod clock;
pub mod compress;
pub mod config;
pub mod duration;
pub mod encoding;
pub mod error;
pub mod glob;
pub mod http;
pub mod http_client;
pub mod labels;
pub mod metrics;
pub mod objstore;
pub mod relabel;
pub mod telemetry;
pub mod tenant;
pub mod time;
pub mod varint;
pub mod wal;
