//! The scrape manager: one loop per target, started, kept or stopped as the configuration and
//! service discovery change, writing samples, staleness markers and the synthetic series into
//! the store, and reporting target health for `/api/v1/targets`.

use std::collections::{BTreeMap, HashMap};
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use lgtm_common::http::CancellationToken;
use lgtm_common::http_client::client::{self, reqwest};
use lgtm_common::labels::Labels;
use parking_lot::{Mutex, RwLock};

use super::cache::ScrapeCache;
use super::discovery::{FileDiscovery, discover};
use super::exposition::{self, Format};
use super::samples::{SampleRules, stale_nan};
use super::target::{Target, TargetOutcome, targets_from_groups};
use crate::api::MetricMetadata;
use crate::config::{Config, ScrapeConfig};
use crate::db::{Db, SeriesSamples};
use crate::exemplars::{Exemplar, ExemplarStore};

/// What Prometheus 3 sends as `Accept` (text formats only: protobuf scraping is not built).
const ACCEPT: &str = "application/openmetrics-text;version=1.0.0;escaping=underscores;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=1.0.0;escaping=underscores;q=0.3,text/plain;version=0.0.4;q=0.2,*/*;q=0.1";
/// Default largest scrape body when the job sets none.
const DEFAULT_BODY_LIMIT: usize = 256 << 20;

/// Health of a target as the targets API reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetHealth {
    /// `unknown` before the first scrape, then `up` or `down`.
    pub health: &'static str,
    /// Error of the last scrape, empty when it succeeded.
    pub last_error: String,
    /// Start of the last scrape.
    pub last_scrape: Option<SystemTime>,
    /// Duration of the last scrape in seconds.
    pub last_scrape_duration: f64,
}

impl Default for TargetHealth {
    fn default() -> Self {
        Self {
            health: "unknown",
            last_error: String::new(),
            last_scrape: None,
            last_scrape_duration: 0.0,
        }
    }
}

/// An active target with its live health.
#[derive(Debug, Clone)]
pub struct ActiveTarget {
    /// Job name (`scrapePool`).
    pub job: String,
    /// The target.
    pub target: Target,
    /// Live health.
    pub health: Arc<RwLock<TargetHealth>>,
}

/// A target relabeling dropped.
#[derive(Debug, Clone)]
pub struct DroppedTarget {
    /// Job name.
    pub job: String,
    /// Labels before relabeling.
    pub discovered_labels: Labels,
}

struct Loop {
    active: ActiveTarget,
    cancel: CancellationToken,
}

/// Where scraped metadata goes (the metadata API's map).
pub type MetadataSink = Arc<RwLock<BTreeMap<String, Vec<MetricMetadata>>>>;

/// Owns every scrape loop.
pub struct ScrapeManager {
    db: Arc<Db>,
    metadata: MetadataSink,
    exemplars: Arc<ExemplarStore>,
    shutdown: CancellationToken,
    loops: Mutex<HashMap<u64, Loop>>,
    dropped: Mutex<Vec<DroppedTarget>>,
    pools: Mutex<Vec<String>>,
    files: Mutex<FileDiscovery>,
    config: Mutex<Option<Config>>,
}

impl std::fmt::Debug for ScrapeManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScrapeManager")
            .field("targets", &self.loops.lock().len())
            .finish()
    }
}

fn loop_key(job: &str, target: &Target) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    job.hash(&mut h);
    target.url.hash(&mut h);
    target.labels.fingerprint().hash(&mut h);
    target.interval.hash(&mut h);
    target.timeout.hash(&mut h);
    h.finish()
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

impl ScrapeManager {
    /// A manager writing into `db`; loops stop when `shutdown` is cancelled.
    pub fn new(
        db: Arc<Db>,
        metadata: MetadataSink,
        exemplars: Arc<ExemplarStore>,
        shutdown: CancellationToken,
    ) -> Arc<Self> {
        Arc::new(Self {
            db,
            metadata,
            exemplars,
            shutdown,
            loops: Mutex::new(HashMap::new()),
            dropped: Mutex::new(Vec::new()),
            pools: Mutex::new(Vec::new()),
            files: Mutex::new(FileDiscovery::default()),
            config: Mutex::new(None),
        })
    }

    /// Applies a (new) configuration: re-discovers targets and starts/stops loops.
    pub fn apply_config(self: &Arc<Self>, config: &Config) {
        *self.config.lock() = Some(config.clone());
        self.sync_targets();
    }

    /// Re-runs discovery with the current configuration (file SD refresh).
    pub fn sync_targets(self: &Arc<Self>) {
        let Some(config) = self.config.lock().clone() else {
            return;
        };
        let mut wanted: HashMap<u64, (ScrapeConfig, Target)> = HashMap::new();
        let mut dropped = Vec::new();
        let mut pools = Vec::new();
        {
            let mut files = self.files.lock();
            for job in &config.scrape_configs {
                pools.push(job.job_name.clone());
                let groups = discover(job, &mut files);
                let (targets, others) = targets_from_groups(job, &groups);
                for target in targets {
                    wanted.insert(loop_key(&job.job_name, &target), (job.clone(), target));
                }
                for other in others {
                    match other {
                        TargetOutcome::Dropped { discovered_labels } => {
                            dropped.push(DroppedTarget {
                                job: job.job_name.clone(),
                                discovered_labels,
                            })
                        }
                        TargetOutcome::Invalid {
                            discovered_labels,
                            reason,
                        } => {
                            tracing::warn!(job = job.job_name, labels = %discovered_labels, reason, "invalid target");
                        }
                    }
                }
            }
            files.kubernetes.retain(|name, i| {
                config
                    .scrape_configs
                    .iter()
                    .any(|j| j.job_name == name && i < j.kubernetes_sd_configs.len())
            });
        }
        *self.dropped.lock() = dropped;
        *self.pools.lock() = pools;
        let mut loops = self.loops.lock();
        loops.retain(|key, running| {
            let keep = wanted.contains_key(key);
            if !keep {
                running.cancel.cancel();
            }
            keep
        });
        for (key, (job, target)) in wanted {
            if loops.contains_key(&key) {
                continue;
            }
            let cancel = self.shutdown.child_token();
            let health = Arc::new(RwLock::new(TargetHealth::default()));
            let active = ActiveTarget {
                job: job.job_name.clone(),
                target: target.clone(),
                health: Arc::clone(&health),
            };
            match ScrapeLoop::new(
                Arc::clone(&self.db),
                Arc::clone(&self.metadata),
                Arc::clone(&self.exemplars),
                &job,
                target,
                health,
            ) {
                Ok(scrape_loop) => {
                    tokio::spawn(scrape_loop.run(cancel.clone()));
                    loops.insert(key, Loop { active, cancel });
                }
                Err(e) => {
                    tracing::error!(job = job.job_name, error = %e, "cannot build scrape client");
                }
            }
        }
    }

    /// Starts the periodic file-discovery refresh.
    pub fn start_refresh(self: &Arc<Self>, every: Duration) {
        let manager = Arc::clone(self);
        let kubernetes_changed = self.files.lock().kubernetes.changed();
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(every);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            ticker.tick().await;
            loop {
                tokio::select! {
                    () = manager.shutdown.cancelled() => break,
                    _ = ticker.tick() => manager.sync_targets(),
                    () = kubernetes_changed.notified() => manager.sync_targets(),
                }
            }
        });
    }

    /// Active targets, sorted by job and labels.
    pub fn active_targets(&self) -> Vec<ActiveTarget> {
        let mut out: Vec<ActiveTarget> = self
            .loops
            .lock()
            .values()
            .map(|l| l.active.clone())
            .collect();
        out.sort_by(|a, b| {
            a.job
                .cmp(&b.job)
                .then_with(|| a.target.labels.cmp(&b.target.labels))
        });
        out
    }

    /// Targets relabeling dropped.
    pub fn dropped_targets(&self) -> Vec<DroppedTarget> {
        self.dropped.lock().clone()
    }

    /// Job names in configuration order.
    pub fn scrape_pools(&self) -> Vec<String> {
        self.pools.lock().clone()
    }
}

/// One target's loop.
struct ScrapeLoop {
    db: Arc<Db>,
    metadata: MetadataSink,
    exemplars: Arc<ExemplarStore>,
    client: reqwest::Client,
    http: lgtm_common::http_client::HttpClientConfig,
    target: Target,
    rules: SampleRules,
    body_limit: usize,
    health: Arc<RwLock<TargetHealth>>,
    cache: ScrapeCache,
    /// Size of the last body, to read the next one without regrowing.
    body_hint: usize,
}

impl ScrapeLoop {
    fn new(
        db: Arc<Db>,
        metadata: MetadataSink,
        exemplars: Arc<ExemplarStore>,
        job: &ScrapeConfig,
        target: Target,
        health: Arc<RwLock<TargetHealth>>,
    ) -> Result<Self, client::ClientError> {
        let client = client::build(&job.http, "Prometheus/3.5.0 (lgtm-rs metrics-tsdb)")?;
        let body_limit = job
            .body_size_limit
            .as_deref()
            .and_then(|s| lgtm_common::config::Base2Bytes::parse(s).ok())
            .and_then(|b| usize::try_from(b.0).ok())
            .filter(|&b| b > 0)
            .unwrap_or(DEFAULT_BODY_LIMIT);
        Ok(Self {
            db,
            metadata,
            exemplars,
            client,
            http: job.http.clone(),
            rules: SampleRules {
                honor_labels: job.honor_labels,
                honor_timestamps: job.honor_timestamps.unwrap_or(true),
                metric_relabel_configs: job.metric_relabel_configs.clone(),
                sample_limit: job.sample_limit.unwrap_or(0),
                label_limit: job.label_limit.unwrap_or(0),
                label_name_length_limit: job.label_name_length_limit.unwrap_or(0),
                label_value_length_limit: job.label_value_length_limit.unwrap_or(0),
            },
            target,
            body_limit,
            health,
            cache: ScrapeCache::default(),
            body_hint: 0,
        })
    }

    async fn run(mut self, cancel: CancellationToken) {
        let interval = self.target.interval.get().max(Duration::from_millis(1));
        // Spread targets over the interval deterministically, as Prometheus' offset does.
        let offset_ms = self.target.labels.fingerprint() % interval.as_millis().max(1) as u64;
        tokio::select! {
            () = cancel.cancelled() => return,
            () = tokio::time::sleep(Duration::from_millis(offset_ms)) => {}
        }
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = cancel.cancelled() => break,
                _ = ticker.tick() => self.scrape_once().await,
            }
        }
        self.end_of_run_staleness().await;
    }

    /// Fetches the body; parsing is the cache's job.
    async fn fetch(&self) -> Result<(String, Format), String> {
        let timeout = self.target.timeout.get();
        let mut request = self
            .client
            .get(&self.target.url)
            .header("Accept", ACCEPT)
            .header(
                "X-Prometheus-Scrape-Timeout-Seconds",
                format!("{}", timeout.as_secs_f64()),
            )
            .timeout(timeout);
        match self.http.authorization_header() {
            Ok(Some(value)) => request = request.header("Authorization", value),
            Ok(None) => {}
            Err(e) => return Err(format!("unable to read authorization credentials: {e}")),
        }
        let response = request.send().await.map_err(|e| {
            if e.is_timeout() {
                format!("Get {:?}: context deadline exceeded", self.target.url)
            } else {
                format!("Get {:?}: {e}", self.target.url)
            }
        })?;
        let status = response.status();
        if status != reqwest::StatusCode::OK {
            return Err(format!(
                "server returned HTTP status {} {}",
                status.as_u16(),
                status.canonical_reason().unwrap_or("")
            ));
        }
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let format = Format::from_content_type(&content_type).unwrap_or(Format::PrometheusText);
        let mut body = Vec::with_capacity(self.body_hint.min(self.body_limit));
        let mut response = response;
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| format!("error reading response body: {e}"))?
        {
            if body.len() + chunk.len() > self.body_limit {
                return Err(format!(
                    "body size limit exceeded: the response is larger than {} bytes",
                    self.body_limit
                ));
            }
            body.extend_from_slice(&chunk);
        }
        let text =
            String::from_utf8(body).map_err(|_| "invalid UTF-8 in scrape body".to_owned())?;
        Ok((text, format))
    }

    async fn scrape_once(&mut self) {
        let started = SystemTime::now();
        let scrape_ts = now_ms();
        let clock = Instant::now();
        let fetched = self.fetch().await;
        let duration = clock.elapsed().as_secs_f64();
        if let Ok((body, _)) = &fetched {
            self.body_hint = body.len() + body.len() / 8;
        }
        let result = self.cache.process(
            &self.target.labels,
            &self.rules,
            fetched
                .as_ref()
                .map(|(body, format)| (body.as_str(), *format))
                .map_err(Clone::clone),
            scrape_ts,
            duration,
        );
        if let Some(metadata) = result.metadata {
            record_metadata(&self.metadata, metadata);
        }
        for (index, e) in result.exemplars {
            if let Some(series) = result.batch.get(*index) {
                self.exemplars.add(
                    &series.labels,
                    Exemplar {
                        labels: e.labels.clone(),
                        value: e.value,
                        timestamp: e.timestamp_ms.unwrap_or(scrape_ts),
                    },
                );
            }
        }
        let error = result.error;
        if let Err(e) = self.cache.append_to(&self.db).await {
            tracing::error!(error = %e, url = self.target.url, "appending scraped samples failed");
        }
        let mut health = self.health.write();
        health.last_scrape = Some(started);
        health.last_scrape_duration = duration;
        match error {
            None => {
                health.health = "up";
                health.last_error.clear();
            }
            Some(e) => {
                health.health = "down";
                health.last_error = e;
            }
        }
    }

    /// A target that went away gets stale markers for everything it exposed.
    async fn end_of_run_staleness(&mut self) {
        let result = self.cache.process(
            &self.target.labels,
            &self.rules,
            Err("target removed".into()),
            now_ms(),
            0.0,
        );
        // Every series of the last scrape and the synthetic series go stale.
        let batch: Vec<SeriesSamples> = result
            .batch
            .iter()
            .map(|s| SeriesSamples {
                labels: s.labels.clone(),
                samples: s.samples.iter().map(|&(t, _)| (t, stale_nan())).collect(),
            })
            .collect();
        if let Err(e) = self.db.append(&batch).await {
            tracing::warn!(error = %e, url = self.target.url, "writing end-of-run stale markers failed");
        }
    }
}

/// Adds a target's metadata to the metadata API's map.
fn record_metadata(sink: &MetadataSink, metadata: &BTreeMap<String, exposition::Metadata>) {
    if metadata.is_empty() {
        return;
    }
    let mut all = sink.write();
    for (name, meta) in metadata {
        let entry = MetricMetadata {
            metric_type: meta
                .metric_type
                .map_or("unknown", |t| t.as_str())
                .to_owned(),
            help: meta.help.clone().unwrap_or_default(),
            unit: meta.unit.clone().unwrap_or_default(),
        };
        let list = all.entry(name.clone()).or_default();
        if !list.contains(&entry) {
            list.push(entry);
        }
    }
}
