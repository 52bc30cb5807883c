//! `limits_config`: the per-tenant limits Loki applies on push and query, with Loki's
//! defaults (`pkg/validation/limits.go`).

use std::collections::BTreeMap;

use lgtm_common::config::ByteSize;
use lgtm_common::duration::PromDuration;
use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};

/// Loki's `limits_config` keys that this store honours.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct LimitsConfig {
    /// Per-tenant ingestion rate, MB (2^20 bytes) per second.
    pub ingestion_rate_mb: f64,
    /// Per-tenant burst, MB.
    pub ingestion_burst_size_mb: f64,
    /// Longest accepted line (0 = no limit).
    pub max_line_size: ByteSize,
    /// Truncate longer lines instead of rejecting them.
    pub max_line_size_truncate: bool,
    /// Label names per stream (a `service_name` label is not counted).
    pub max_label_names_per_series: usize,
    /// Longest label name.
    pub max_label_name_length: usize,
    /// Longest label value.
    pub max_label_value_length: usize,
    /// Refuse entries older than `reject_old_samples_max_age`.
    pub reject_old_samples: bool,
    /// Age limit for `reject_old_samples`.
    pub reject_old_samples_max_age: PromDuration,
    /// Entries newer than now + this are refused.
    pub creation_grace_period: PromDuration,
    /// Streams per tenant (Loki's global limit; one process here).
    pub max_global_streams_per_user: usize,
    /// Streams per tenant per ingester (0 = off).
    pub max_streams_per_user: usize,
    /// Accept structured metadata.
    pub allow_structured_metadata: bool,
    /// Largest structured metadata per entry.
    pub max_structured_metadata_size: ByteSize,
    /// Most structured metadata pairs per entry.
    pub max_structured_metadata_entries_count: usize,
    /// Labels whose value becomes `service_name`, first present wins.
    pub discover_service_name: Vec<String>,
    /// Add `detected_level` structured metadata on ingest.
    pub discover_log_levels: bool,
    /// Fields searched for a level (empty = Loki's default list).
    pub log_level_fields: Vec<String>,
    /// Most entries a log query may ask for.
    pub max_entries_limit_per_query: usize,
    /// Longest query range.
    pub max_query_length: PromDuration,
    /// Most series a metric query may return.
    pub max_query_series: usize,
    /// Query time limit.
    pub query_timeout: PromDuration,
    /// Loki 3.6 accepts this (default true); out-of-order writes are always accepted here.
    pub unordered_writes: bool,
    /// Keep data this long (0 = forever); applied by the compactor when retention is enabled.
    pub retention_period: PromDuration,
    /// Per-stream retention rules.
    pub retention_stream: Vec<RetentionStream>,
    /// Other Loki limits: accepted, ignored.
    #[serde(flatten, skip_serializing)]
    pub other: BTreeMap<String, IgnoredAny>,
}

const HOUR_MS: u64 = 3_600_000;

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            ingestion_rate_mb: 4.0,
            ingestion_burst_size_mb: 6.0,
            max_line_size: ByteSize(256 * 1024),
            max_line_size_truncate: false,
            max_label_names_per_series: 15,
            max_label_name_length: 1024,
            max_label_value_length: 2048,
            reject_old_samples: true,
            reject_old_samples_max_age: PromDuration::from_millis(7 * 24 * HOUR_MS),
            creation_grace_period: PromDuration::from_millis(10 * 60_000),
            max_global_streams_per_user: 5000,
            max_streams_per_user: 0,
            allow_structured_metadata: true,
            max_structured_metadata_size: ByteSize(64 * 1024),
            max_structured_metadata_entries_count: 128,
            discover_service_name: [
                "service",
                "app",
                "application",
                "app_name",
                "name",
                "app_kubernetes_io_name",
                "container",
                "container_name",
                "k8s_container_name",
                "component",
                "workload",
                "job",
                "k8s_job_name",
            ]
            .into_iter()
            .map(String::from)
            .collect(),
            discover_log_levels: true,
            log_level_fields: Vec::new(),
            max_entries_limit_per_query: 5000,
            max_query_length: PromDuration::from_millis(721 * HOUR_MS),
            max_query_series: 500,
            query_timeout: PromDuration::from_millis(60_000),
            unordered_writes: true,
            retention_period: PromDuration::from_millis(0),
            retention_stream: Vec::new(),
            other: BTreeMap::new(),
        }
    }
}

/// One `retention_stream` entry: `{selector, priority, period}`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionStream {
    /// Stream selector (`{namespace="dev"}`).
    pub selector: String,
    /// Highest priority wins among matching rules.
    #[serde(default)]
    pub priority: u32,
    /// Retention of the matching streams.
    pub period: PromDuration,
}

impl LimitsConfig {
    /// Stream limit applied by the store (0 = unlimited).
    pub fn max_streams(&self) -> usize {
        match (self.max_global_streams_per_user, self.max_streams_per_user) {
            (0, l) | (l, 0) => l,
            (g, l) => g.min(l),
        }
    }
}
