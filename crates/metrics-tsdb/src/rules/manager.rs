//! The rule manager (`rules/manager.go`): loads `rule_files`, runs one task per group on its
//! interval, writes rule outputs through [`Db::append`], hands alerts to the notifier, keeps
//! rule state across reloads and restores `for` state at start-up.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use lgtm_common::clock::SharedClock;
use lgtm_common::http::CancellationToken;
use lgtm_common::labels::Matcher;
use lgtm_common::metrics::Registry;
use lgtm_common::metrics::prometheus_client::metrics::counter::Counter;
use lgtm_common::metrics::prometheus_client::metrics::family::Family;
use lgtm_common::metrics::prometheus_client::metrics::gauge::Gauge;
use lgtm_promql::Engine;
use lgtm_promql::storage::{Queryable, SelectHints, StorageError};
use lgtm_promql::value::Series;
use parking_lot::{Mutex, RwLock};

use super::context::RuleContext;
use super::file::load_rule_file;
use super::group::Group;
use crate::config::Config as PrometheusConfig;
use crate::db::{Db, SeriesSamples};
use crate::notifier::Notifier;
use crate::querier::DbQuerier;

/// Rule manager settings from flags.
#[derive(Debug, Clone)]
pub struct RuleManagerOptions {
    /// `--rules.alert.resend-delay` (1m).
    pub resend_delay: Duration,
    /// `--rules.alert.for-outage-tolerance` (1h).
    pub outage_tolerance: Duration,
    /// `--rules.alert.for-grace-period` (10m).
    pub grace_period: Duration,
    /// `--web.external-url` (or the derived default).
    pub external_url: String,
    /// Directory relative `rule_files` are resolved against (the config file's).
    pub base_dir: Option<PathBuf>,
}

impl Default for RuleManagerOptions {
    fn default() -> Self {
        Self {
            resend_delay: Duration::from_secs(60),
            outage_tolerance: Duration::from_secs(3600),
            grace_period: Duration::from_secs(600),
            external_url: String::new(),
            base_dir: None,
        }
    }
}

/// Why rules could not be (re)loaded; the running rules stay.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RulesError {
    /// A `rule_files` glob is malformed.
    #[error("error retrieving rule files for {pattern}: {message}")]
    Glob {
        /// The pattern.
        pattern: String,
        /// Why.
        message: String,
    },
    /// One or more files are invalid.
    #[error("error loading rules, previous rule set restored: {0}")]
    Load(String),
}

/// `Arc<Db>` as a `'static` [`Queryable`], for template `query` calls.
#[derive(Debug, Clone)]
pub struct SharedDbQuerier(pub Arc<Db>);

impl Queryable for SharedDbQuerier {
    fn select(
        &self,
        hints: &SelectHints,
        matchers: &[Matcher],
    ) -> Result<Vec<Series>, StorageError> {
        DbQuerier::new(&self.0).select(hints, matchers)
    }
}

#[derive(Debug)]
struct RunningGroup {
    group: Arc<Group>,
    stop: CancellationToken,
    removed: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

type GroupLabels = Vec<(String, String)>;
type FloatGauge = Gauge<f64, std::sync::atomic::AtomicU64>;

#[derive(Debug, Clone, Default)]
struct RuleMetrics {
    evaluations: Family<GroupLabels, Counter>,
    failures: Family<GroupLabels, Counter>,
    iterations: Family<GroupLabels, Counter>,
    missed: Family<GroupLabels, Counter>,
    last_evaluation: Family<GroupLabels, FloatGauge>,
    last_duration: Family<GroupLabels, FloatGauge>,
    interval: Family<GroupLabels, FloatGauge>,
    rules: Family<GroupLabels, Gauge>,
    last_reload_ok: Gauge,
}

#[derive(Debug)]
struct Inner {
    opts: RwLock<RuleManagerOptions>,
    db: Arc<Db>,
    engine: Engine,
    notifier: Arc<Notifier>,
    clock: SharedClock,
    ctx: RwLock<Arc<RuleContext>>,
    shutdown: CancellationToken,
    metrics: RuleMetrics,
}

/// Runs the rule groups.
#[derive(Debug)]
pub struct RuleManager {
    inner: Arc<Inner>,
    groups: Mutex<Vec<RunningGroup>>,
    /// False until the first successful load: groups of that load restore `for` state.
    loaded_once: AtomicBool,
    runtime: tokio::runtime::Handle,
}

/// Resolves `rule_files` globs (relative ones against `base`) into files.
pub fn resolve_rule_files(
    patterns: &[String],
    base: Option<&Path>,
) -> Result<Vec<PathBuf>, RulesError> {
    let mut files = Vec::new();
    for pattern in patterns {
        let full = match base {
            Some(dir) if !Path::new(pattern).is_absolute() => {
                dir.join(pattern).display().to_string()
            }
            _ => pattern.clone(),
        };
        let found = lgtm_common::glob::glob_files(&full).map_err(|e| RulesError::Glob {
            pattern: pattern.clone(),
            message: e.to_string(),
        })?;
        files.extend(found);
    }
    Ok(files)
}

/// Loads and validates every group of `files`.
pub fn load_groups(
    files: &[PathBuf],
    default_interval_ms: i64,
    default_offset_ms: i64,
    restored: bool,
) -> Result<Vec<Group>, RulesError> {
    let mut groups = Vec::new();
    let mut errors = Vec::new();
    for path in files {
        match load_rule_file(path) {
            Ok(file) => {
                let name = path.display().to_string();
                for g in &file.groups {
                    match Group::from_config(
                        &name,
                        g,
                        default_interval_ms,
                        default_offset_ms,
                        restored,
                    ) {
                        Ok(group) => groups.push(group),
                        Err(e) => errors.push(e),
                    }
                }
            }
            Err(e) => errors.extend(e.0),
        }
    }
    if errors.is_empty() {
        Ok(groups)
    } else {
        Err(RulesError::Load(errors.join("; ")))
    }
}

impl RuleManager {
    /// A manager with no groups; call [`RuleManager::update`] to load rules. Must be created
    /// inside a tokio runtime.
    pub fn new(
        db: Arc<Db>,
        engine: Engine,
        notifier: Arc<Notifier>,
        clock: SharedClock,
        opts: RuleManagerOptions,
        registry: Option<&Registry>,
        shutdown: CancellationToken,
    ) -> Arc<Self> {
        let metrics = match registry {
            Some(r) => RuleMetrics {
                evaluations: r.register(
                    "prometheus_rule_evaluations_total",
                    "The total number of rule evaluations.",
                    Family::default(),
                ),
                failures: r.register(
                    "prometheus_rule_evaluation_failures_total",
                    "The total number of rule evaluation failures.",
                    Family::default(),
                ),
                iterations: r.register(
                    "prometheus_rule_group_iterations_total",
                    "The total number of scheduled rule group evaluations, whether executed or missed.",
                    Family::default(),
                ),
                missed: r.register(
                    "prometheus_rule_group_iterations_missed_total",
                    "The total number of rule group evaluations missed due to slow rule group evaluation.",
                    Family::default(),
                ),
                last_evaluation: r.register(
                    "prometheus_rule_group_last_evaluation_timestamp_seconds",
                    "The timestamp of the last rule group evaluation in seconds.",
                    Family::default(),
                ),
                last_duration: r.register(
                    "prometheus_rule_group_last_duration_seconds",
                    "The duration of the last rule group evaluation.",
                    Family::default(),
                ),
                interval: r.register(
                    "prometheus_rule_group_interval_seconds",
                    "The interval of a rule group.",
                    Family::default(),
                ),
                rules: r.register(
                    "prometheus_rule_group_rules",
                    "The number of rules.",
                    Family::default(),
                ),
                last_reload_ok: r.gauge(
                    "prometheus_rule_config_last_reload_successful",
                    "Whether the last rule files reload attempt was successful.",
                ),
            },
            None => RuleMetrics::default(),
        };
        let queryable: Arc<dyn Queryable> = Arc::new(SharedDbQuerier(Arc::clone(&db)));
        let ctx = RuleContext::new(
            engine.clone(),
            queryable,
            Default::default(),
            opts.external_url.clone(),
        );
        Arc::new(Self {
            inner: Arc::new(Inner {
                opts: RwLock::new(opts),
                db,
                engine,
                notifier,
                clock,
                ctx: RwLock::new(Arc::new(ctx)),
                shutdown,
                metrics,
            }),
            groups: Mutex::new(Vec::new()),
            loaded_once: AtomicBool::new(false),
            runtime: tokio::runtime::Handle::current(),
        })
    }

    /// Loads `config.rule_files` and swaps the running groups; on error the old groups keep
    /// running and the error is returned (Prometheus' `Manager.Update`).
    pub fn update(&self, config: &PrometheusConfig) -> Result<(), RulesError> {
        let result = self.try_update(config);
        self.inner
            .metrics
            .last_reload_ok
            .set(i64::from(result.is_ok()));
        if let Err(e) = &result {
            tracing::error!(error = %e, "loading rule files failed");
        }
        result
    }

    fn try_update(&self, config: &PrometheusConfig) -> Result<(), RulesError> {
        let base = self.inner.opts.read().base_dir.clone();
        let files = resolve_rule_files(&config.rule_files, base.as_deref())?;
        let first = !self.loaded_once.load(Ordering::SeqCst);
        let groups = load_groups(
            &files,
            config.global.evaluation_interval.as_millis(),
            config.global.rule_query_offset.map_or(0, |d| d.as_millis()),
            !first,
        )?;
        let external_url = self.inner.opts.read().external_url.clone();
        let queryable: Arc<dyn Queryable> = Arc::new(SharedDbQuerier(Arc::clone(&self.inner.db)));
        *self.inner.ctx.write() = Arc::new(RuleContext::new(
            self.inner.engine.clone(),
            queryable,
            config.global.external_labels.clone(),
            external_url,
        ));
        let mut running = self.groups.lock();
        let mut old: Vec<RunningGroup> = std::mem::take(&mut *running);
        for group in groups {
            let group = Arc::new(group);
            let predecessor = old
                .iter()
                .position(|r| r.group.key() == group.key())
                .map(|i| old.swap_remove(i));
            let stop = self.inner.shutdown.child_token();
            let removed = Arc::new(AtomicBool::new(false));
            let task = self.runtime.spawn(run_group(
                Arc::clone(&self.inner),
                Arc::clone(&group),
                stop.clone(),
                Arc::clone(&removed),
                first,
                predecessor,
            ));
            running.push(RunningGroup {
                group,
                stop,
                removed,
                task,
            });
        }
        for gone in old {
            gone.removed.store(true, Ordering::SeqCst);
            gone.stop.cancel();
        }
        self.loaded_once.store(true, Ordering::SeqCst);
        tracing::info!(
            groups = running.len(),
            files = files.len(),
            "rule files loaded"
        );
        Ok(())
    }

    /// The running groups, in load order.
    pub fn groups(&self) -> Vec<Arc<Group>> {
        self.groups
            .lock()
            .iter()
            .map(|r| Arc::clone(&r.group))
            .collect()
    }

    /// The notifier alerts go to.
    pub fn notifier(&self) -> &Arc<Notifier> {
        &self.inner.notifier
    }
}

async fn append(db: &Db, batch: Vec<SeriesSamples>) -> Result<(), String> {
    db.append(&batch)
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}

async fn run_group(
    inner: Arc<Inner>,
    group: Arc<Group>,
    stop: CancellationToken,
    removed: Arc<AtomicBool>,
    restore: bool,
    predecessor: Option<RunningGroup>,
) {
    if let Some(prev) = predecessor {
        prev.stop.cancel();
        let _ = prev.task.await;
        group.copy_state_from(&prev.group);
    }
    let interval = group.interval_ms.max(1);
    let offset = group.offset_in_interval();
    let now = inner.clock.now_ms();
    let mut ts = now - (now - offset).rem_euclid(interval) + interval;
    let mut first = true;
    let labels = vec![(
        "rule_group".to_owned(),
        format!("{};{}", group.file, group.name),
    )];
    let metrics = &inner.metrics;
    metrics
        .interval
        .get_or_create(&labels)
        .set(interval as f64 / 1000.0);
    metrics
        .rules
        .get_or_create(&labels)
        .set(group.rules().len() as i64);
    loop {
        let wait = ts - inner.clock.now_ms();
        if wait > 0 {
            tokio::select! {
                () = stop.cancelled() => break,
                () = tokio::time::sleep(Duration::from_millis(wait as u64)) => {}
            }
        } else if stop.is_cancelled() {
            break;
        }
        let ctx = Arc::clone(&inner.ctx.read());
        let resend = inner.opts.read().resend_delay.as_millis() as i64;
        let db = Arc::clone(&inner.db);
        let alerts = group
            .eval(&ctx, ts, inner.clock.now_ms(), resend, |batch| {
                let db = Arc::clone(&db);
                async move { append(&db, batch).await }
            })
            .await;
        inner
            .metrics
            .evaluations
            .get_or_create(&labels)
            .inc_by(group.rules().len() as u64);
        let failed = group
            .rules()
            .iter()
            .filter(|r| r.status().health == "err")
            .count();
        if failed > 0 {
            inner
                .metrics
                .failures
                .get_or_create(&labels)
                .inc_by(failed as u64);
        }
        metrics.iterations.get_or_create(&labels).inc();
        metrics
            .last_evaluation
            .get_or_create(&labels)
            .set(ts as f64 / 1000.0);
        metrics
            .last_duration
            .get_or_create(&labels)
            .set(group.status().evaluation_seconds);
        if restore && first {
            let opts = inner.opts.read().clone();
            group.restore_for_state(
                &ctx,
                inner.clock.now_ms(),
                opts.outage_tolerance.as_millis() as i64,
                opts.grace_period.as_millis() as i64,
            );
        }
        first = false;
        inner.notifier.send(alerts);
        ts += interval;
        let now = inner.clock.now_ms();
        if now - ts > interval {
            let missed = (now - ts) / interval;
            metrics.missed.get_or_create(&labels).inc_by(missed as u64);
            metrics
                .iterations
                .get_or_create(&labels)
                .inc_by(missed as u64);
            tracing::warn!(group = %group.name, missed, "rule group evaluation missed iterations");
            ts += missed * interval;
        }
    }
    if removed.load(Ordering::SeqCst) {
        let stale = group.stale_markers(inner.clock.now_ms());
        if !stale.is_empty()
            && let Err(e) = append(&inner.db, stale).await
        {
            tracing::warn!(group = %group.name, error = %e, "writing stale markers failed");
        }
    }
}
