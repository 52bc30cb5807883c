//! Integration tests of `metrics-tsdb` (one test binary, one module per area).

mod crash;
mod promql_conformance;
mod scrape;
mod prometheus_peer;
mod object_store;
