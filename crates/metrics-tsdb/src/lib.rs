//! Prometheus server replacement.
