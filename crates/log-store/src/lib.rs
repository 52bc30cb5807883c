//! Loki replacement.
