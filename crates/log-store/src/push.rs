//! Ingestion: `POST /loki/api/v1/push` bodies decoded, enriched (`service_name`,
//! `detected_level`), validated with Loki's limits and texts, rate limited per tenant and
//! appended to the store. Valid entries of a request are stored even when others fail; the
//! failures are then answered together as one 400 (or 429), as Loki's distributor does.

mod decode;
mod enrich;
mod labels;
mod otlp;
mod rate;

use std::sync::Arc;

use lgtm_common::clock::SharedClock;
use lgtm_common::error::{ErrorKind, HasErrorKind};
use lgtm_common::labels::{Label, Labels};

use crate::config::LimitsConfig;
use crate::metrics::PushMetrics;
use crate::store::{AppendRejection, AppendStream, Entry, Store};

pub(crate) use enrich::{DETECTED_LEVEL, SERVICE_NAME};

/// A push that failed as a whole or in part; the message is Loki's text.
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    /// 400: malformed body or entries refused by validation (the rest was stored).
    #[error("{0}")]
    BadRequest(String),
    /// 413: body over the size limits.
    #[error("{0}")]
    TooLarge(String),
    /// 422: no streams.
    #[error("error at least one valid stream is required for ingestion")]
    NoStreams,
    /// 429: rate or stream limit.
    #[error("{0}")]
    TooManyRequests(String),
    /// 500: storage failed.
    #[error("{0}")]
    Internal(String),
}

impl HasErrorKind for PushError {
    fn error_kind(&self) -> ErrorKind {
        match self {
            PushError::BadRequest(_) => ErrorKind::BadData,
            PushError::TooLarge(_) => ErrorKind::PayloadTooLarge,
            PushError::NoStreams => ErrorKind::Execution,
            PushError::TooManyRequests(_) => ErrorKind::TooManyRequests,
            PushError::Internal(_) => ErrorKind::Internal,
        }
    }
}

/// Most bytes a push body may decompress to (Loki: 5000 MiB; bounded lower here).
pub const MAX_DECOMPRESSED: usize = 1 << 30;

/// The push pipeline of one process.
#[derive(Debug)]
pub struct Pusher {
    limits: LimitsConfig,
    rate: rate::RateLimiter,
    store: Arc<Store>,
    clock: SharedClock,
    level_fields: Vec<String>,
    metrics: PushMetrics,
}

/// Go's `time.Time.Format(time.RFC3339)` in UTC (seconds precision).
fn rfc3339(ns: i64) -> String {
    let secs = ns.div_euclid(1_000_000_000);
    lgtm_common::time::format_rfc3339_parts(secs, 0)
}

/// Go's `time.Time.String()` in UTC: `2006-01-02 15:04:05.999999999 +0000 UTC`.
fn go_time_string(ns: i64) -> String {
    let secs = ns.div_euclid(1_000_000_000);
    let nanos = ns.rem_euclid(1_000_000_000);
    let base = lgtm_common::time::format_rfc3339_parts(secs, 0);
    let date_time = base.trim_end_matches('Z').replacen('T', " ", 1);
    let frac = if nanos == 0 {
        String::new()
    } else {
        format!(".{nanos:09}").trim_end_matches('0').to_owned()
    };
    format!("{date_time}{frac} +0000 UTC")
}

/// Prometheus' label-set rendering of sorted pairs (duplicates kept).
fn render_pairs(pairs: &[(String, String)]) -> String {
    let inner: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", lgtm_common::labels::quote(v)))
        .collect();
    format!("{{{}}}", inner.join(", "))
}

/// Loki's `GroupedErrors`: identical messages counted, groups joined by `; `, each prefixed
/// by `<n> errors like: ` when there is more than one message.
fn group_errors(msgs: &[String]) -> String {
    let mut groups: Vec<(&str, usize)> = Vec::new();
    for m in msgs {
        match groups.iter_mut().find(|(g, _)| *g == m.as_str()) {
            Some(g) => g.1 += 1,
            None => groups.push((m, 1)),
        }
    }
    if groups.len() == 1 && groups[0].1 == 1 {
        return groups[0].0.to_owned();
    }
    groups
        .iter()
        .map(|(m, n)| format!("{n} errors like: {m}"))
        .collect::<Vec<_>>()
        .join("; ")
}

impl Pusher {
    /// A pusher applying `limits` and writing to `store`.
    pub fn new(
        limits: LimitsConfig,
        store: Arc<Store>,
        clock: SharedClock,
        metrics: PushMetrics,
    ) -> Self {
        let mb = f64::from(1u32 << 20);
        let level_fields = if limits.log_level_fields.is_empty() {
            enrich::DEFAULT_LEVEL_FIELDS
                .iter()
                .map(|s| s.to_string())
                .collect()
        } else {
            limits.log_level_fields.clone()
        };
        Pusher {
            rate: rate::RateLimiter::new(
                limits.ingestion_rate_mb * mb,
                limits.ingestion_burst_size_mb * mb,
            ),
            limits,
            store,
            clock,
            level_fields,
            metrics,
        }
    }

    /// Decodes and ingests one HTTP push body for `tenant`.
    pub async fn push_http(
        &self,
        tenant: &str,
        content_type: Option<&str>,
        content_encoding: Option<&str>,
        body: &[u8],
    ) -> Result<(), PushError> {
        let streams = decode::decode(content_type, content_encoding, body, MAX_DECOMPRESSED)
            .map_err(|e| match e {
                decode::DecodeError::TooLarge(m) => PushError::TooLarge(m),
                decode::DecodeError::Bad(m) => PushError::BadRequest(m),
            })?;
        self.ingest(tenant, streams).await
    }

    /// Decodes and ingests one OTLP/HTTP logs body for `tenant`.
    pub async fn push_otlp(
        &self,
        tenant: &str,
        content_type: Option<&str>,
        content_encoding: Option<&str>,
        body: &[u8],
    ) -> Result<(), PushError> {
        let streams = otlp::decode(
            content_type,
            content_encoding,
            body,
            MAX_DECOMPRESSED,
            self.clock.now_ns(),
        )
        .map_err(|e| match e {
            decode::DecodeError::TooLarge(m) => PushError::TooLarge(m),
            decode::DecodeError::Bad(m) => PushError::BadRequest(m),
        })?;
        if streams.is_empty() {
            return Ok(());
        }
        self.ingest(tenant, streams).await
    }

    fn validate_labels(
        &self,
        labels: &[(String, String)],
        shown: &str,
    ) -> Option<(&'static str, String)> {
        let l = &self.limits;
        if labels.is_empty() {
            return Some((
                "missing_labels",
                "error at least one label pair is required per stream".into(),
            ));
        }
        let mut n = labels.len();
        if labels.iter().any(|(k, _)| k == SERVICE_NAME) {
            n -= 1;
        }
        if n > l.max_label_names_per_series {
            return Some((
                "max_label_names_per_series",
                format!(
                    "entry for stream '{shown}' has {n} label names; limit {}",
                    l.max_label_names_per_series
                ),
            ));
        }
        let mut last = "";
        for (name, value) in labels {
            if name.len() > l.max_label_name_length {
                return Some((
                    "label_name_too_long",
                    format!("stream '{shown}' has label name too long: '{name}'"),
                ));
            }
            if value.len() > l.max_label_value_length {
                return Some((
                    "label_value_too_long",
                    format!("stream '{shown}' has label value too long: '{value}'"),
                ));
            }
            if name == last {
                return Some((
                    "duplicate_label_names",
                    format!("stream '{shown}' has duplicate label name: '{name}'"),
                ));
            }
            last = name;
        }
        None
    }

    async fn ingest(&self, tenant: &str, streams: Vec<decode::RawStream>) -> Result<(), PushError> {
        if streams.is_empty() {
            return Err(PushError::NoStreams);
        }
        let l = &self.limits;
        let now = self.clock.now_ns();
        let oldest_ok = now.saturating_sub(l.reject_old_samples_max_age.as_nanos());
        let newest_ok = now.saturating_add(l.creation_grace_period.as_nanos());
        let max_line = l.max_line_size.0 as usize;
        let fields: Vec<&str> = self.level_fields.iter().map(String::as_str).collect();
        let mut errors: Vec<String> = Vec::new();
        let mut accepted: Vec<AppendStream> = Vec::new();
        let (mut lines, mut bytes) = (0usize, 0usize);
        for mut s in streams {
            enrich::add_service_name(&mut s.labels, &l.discover_service_name);
            let shown = render_pairs(&s.labels);
            if let Some((reason, e)) = self.validate_labels(&s.labels, &shown) {
                let bytes: usize = s.entries.iter().map(|e| e.line.len()).sum();
                self.metrics
                    .discarded(tenant, reason, s.entries.len() as u64, bytes as u64);
                errors.push(e);
                continue;
            }
            let labels = Labels::from_sorted_unchecked(
                s.labels
                    .iter()
                    .map(|(k, v)| Label::new(k.clone(), v.clone()))
                    .collect(),
            );
            let mut entries = Vec::with_capacity(s.entries.len());
            for mut e in s.entries {
                macro_rules! reject {
                    ($reason:expr, $msg:expr) => {{
                        let msg = $msg;
                        self.metrics
                            .discarded(tenant, $reason, 1, e.line.len() as u64);
                        errors.push(msg);
                        continue;
                    }};
                }
                if l.reject_old_samples && e.ts < oldest_ok {
                    reject!(
                        "greater_than_max_sample_age",
                        format!(
                            "entry for stream '{shown}' has timestamp too old: {}, oldest acceptable timestamp is: {}",
                            rfc3339(e.ts),
                            rfc3339(oldest_ok)
                        )
                    );
                }
                if e.ts > newest_ok {
                    reject!(
                        "too_far_in_future",
                        format!(
                            "entry for stream '{shown}' has timestamp too new: {}",
                            rfc3339(e.ts)
                        )
                    );
                }
                if max_line > 0 && e.line.len() > max_line {
                    if l.max_line_size_truncate {
                        let mut cut = max_line;
                        while !e.line.is_char_boundary(cut) {
                            cut -= 1;
                        }
                        e.line.truncate(cut);
                    } else {
                        reject!(
                            "line_too_long",
                            format!(
                                "max entry size '{max_line}' bytes exceeded for stream '{shown}' while adding an entry with length '{}' bytes",
                                e.line.len()
                            )
                        );
                    }
                }
                if !e.metadata.is_empty() {
                    if !l.allow_structured_metadata {
                        reject!(
                            "disallowed_structured_metadata",
                            format!(
                                "stream '{shown}' includes structured metadata, but this feature is disallowed. Please see `limits_config.allow_structured_metadata` or contact your Loki administrator to enable it"
                            )
                        );
                    }
                    let size: usize = e.metadata.iter().map(|(k, v)| k.len() + v.len()).sum();
                    let max_size = l.max_structured_metadata_size.0 as usize;
                    if max_size > 0 && size > max_size {
                        reject!(
                            "structured_metadata_too_large",
                            format!(
                                "stream '{shown}' has structured metadata too large: '{size}' bytes, limit: '{max_size}' bytes. Please see `limits_config.max_structured_metadata_size` or contact your Loki administrator to increase it"
                            )
                        );
                    }
                    let count = e.metadata.len();
                    let max_count = l.max_structured_metadata_entries_count;
                    if max_count > 0 && count > max_count {
                        reject!(
                            "structured_metadata_too_many",
                            format!(
                                "stream '{shown}' has too many structured metadata labels: '{count}', limit: '{max_count}'. Please see `limits_config.max_structured_metadata_entries_count` or contact your Loki administrator to increase it"
                            )
                        );
                    }
                }
                if l.discover_log_levels && l.allow_structured_metadata {
                    match e.metadata.iter_mut().find(|(k, _)| k == DETECTED_LEVEL) {
                        Some((_, v)) => *v = enrich::normalize_level(v),
                        None => {
                            let lvl =
                                enrich::detect_level(&s.labels, &e.metadata, &e.line, &fields);
                            e.metadata.push((DETECTED_LEVEL.to_owned(), lvl));
                        }
                    }
                }
                lines += 1;
                bytes += e.line.len()
                    + e.metadata
                        .iter()
                        .map(|(k, v)| k.len() + v.len())
                        .sum::<usize>();
                let md = Labels::from_pairs(e.metadata);
                entries.push(Entry::new(e.ts, &e.line, md));
            }
            if !entries.is_empty() {
                accepted.push(AppendStream { labels, entries });
            }
        }
        if !accepted.is_empty() && !self.rate.allow(tenant, bytes, now) {
            self.metrics
                .discarded(tenant, "rate_limited", lines as u64, bytes as u64);
            return Err(PushError::TooManyRequests(format!(
                "ingestion rate limit exceeded for user {tenant} (limit: {} bytes/sec) while attempting to ingest '{lines}' lines totaling '{bytes}' bytes, reduce log volume or contact your Loki administrator to see if the limit can be increased",
                self.rate.limit()
            )));
        }
        let mut too_many = false;
        if !accepted.is_empty() {
            let outcome = self
                .store
                .append(tenant, accepted)
                .await
                .map_err(|e| PushError::Internal(e.to_string()))?;
            self.metrics
                .received(tenant, outcome.written as u64, bytes as u64);
            for r in outcome.rejections {
                match r {
                    AppendRejection::StreamLimit { labels } => {
                        too_many = true;
                        self.metrics.discarded(tenant, "stream_limit", 1, 0);
                        errors.push(format!("maximum active stream limit exceeded when trying to create stream {labels}, reduce the number of active streams (reduce labels or reduce label values), or contact your Loki administrator to see if the limit can be increased, user: '{tenant}'"));
                    }
                    AppendRejection::TooFarBehind {
                        labels,
                        entries,
                        total,
                    } => {
                        self.metrics
                            .discarded(tenant, "too_far_behind", entries.len() as u64, 0);
                        let mut msg = String::new();
                        for (ts, oldest) in entries.iter().take(10) {
                            msg.push_str(&format!(
                                "entry with timestamp {} ignored, reason: 'entry too far behind, entry timestamp is: {}, oldest acceptable timestamp is: {}',\n",
                                go_time_string(*ts),
                                rfc3339(*ts),
                                rfc3339(*oldest)
                            ));
                        }
                        msg.push_str(&format!(
                            "user '{tenant}', total ignored: {} out of {total} for stream: {labels}",
                            entries.len()
                        ));
                        errors.push(msg);
                    }
                }
            }
        }
        if errors.is_empty() {
            Ok(())
        } else if too_many {
            Err(PushError::TooManyRequests(group_errors(&errors)))
        } else {
            Err(PushError::BadRequest(group_errors(&errors)))
        }
    }
}

#[cfg(test)]
mod tests;
