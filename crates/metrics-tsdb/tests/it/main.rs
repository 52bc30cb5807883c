//! Integration tests of `metrics-tsdb` (one test binary, one module per area).

mod admin;
mod crash;
mod object_store;
mod prometheus_peer;
mod promql_conformance;
mod rules;
mod scrape;
mod support;
