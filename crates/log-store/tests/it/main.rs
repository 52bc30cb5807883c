//! Integration tests of `log-store`: the conformance replay with its known-failures list,
//! Promtail-style pushes answered exactly by `query_range`, and crash safety of the binary.

mod conformance;
mod crash;
mod delete;
mod http_client;
mod push_query;
mod s3;
