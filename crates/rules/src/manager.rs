//! The rule manager (`rules/manager.go`): one task per group, evaluated at Prometheus'
//! aligned timestamps ([`crate::schedule`]), outputs written to the [`RuleStore`], alerts
//! handed to the [`Notifier`], rule state kept across reloads and `for` state restored at
//! start-up. Language- and store-agnostic: callers resolve their config into files,
//! defaults and a [`RuleContext`].

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use lgtm_common::clock::SharedClock;
use lgtm_common::http::CancellationToken;
use lgtm_common::metrics::Registry;
use lgtm_common::metrics::prometheus_client::metrics::counter::Counter;
use lgtm_common::metrics::prometheus_client::metrics::family::Family;
use lgtm_common::metrics::prometheus_client::metrics::gauge::Gauge;
use parking_lot::{Mutex, RwLock};

use crate::context::RuleContext;
use crate::eval::{Evaluator, RuleStore, TemplateExpander};
use crate::file::{duplicate_rules, parse_rule_file};
use crate::group::Group;
use crate::notifier::Notifier;
use crate::schedule;

/// Timing settings of alerting rules (`--rules.alert.*` flags).
#[derive(Debug, Clone)]
pub struct ManagerOptions {
    /// `--rules.alert.resend-delay` (1m).
    pub resend_delay: Duration,
    /// `--rules.alert.for-outage-tolerance` (1h).
    pub outage_tolerance: Duration,
    /// `--rules.alert.for-grace-period` (10m).
    pub grace_period: Duration,
}

impl Default for ManagerOptions {
    fn default() -> Self {
        Self {
            resend_delay: Duration::from_secs(60),
            outage_tolerance: Duration::from_secs(3600),
            grace_period: Duration::from_secs(600),
        }
    }
}

/// Group settings the rule file may leave out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GroupDefaults {
    /// `global.evaluation_interval` (ms).
    pub interval_ms: i64,
    /// `global.rule_query_offset` (ms).
    pub query_offset_ms: i64,
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

/// Loads and validates every group of `files`; every problem of every file is reported.
/// A rule repeated with the same name and labels inside one group fails the load (its series
/// would collide; promtool reports such a file as `FAILED` with a `duplicate-rules` lint
/// error); repeated across groups it loads with a warning, as Prometheus loads both.
pub fn load_groups<E: Evaluator>(
    files: &[PathBuf],
    defaults: GroupDefaults,
    restored: bool,
    templates: &dyn TemplateExpander,
) -> Result<Vec<Group<E>>, RulesError> {
    let mut sources = Vec::with_capacity(files.len());
    let mut errors = Vec::new();
    for path in files {
        let name = path.display().to_string();
        match std::fs::read_to_string(path) {
            Ok(text) => sources.push((name, text)),
            Err(e) => errors.push(format!("{name}: {e}")),
        }
    }
    match load_group_texts::<E>(&sources, defaults, restored, templates) {
        Ok(groups) if errors.is_empty() => Ok(groups),
        Ok(_) => Err(RulesError::Load(errors.join("; "))),
        Err(RulesError::Load(more)) => {
            errors.push(more);
            Err(RulesError::Load(errors.join("; ")))
        }
        Err(e) => Err(e),
    }
}

/// [`load_groups`] over `(file name, text)` pairs, for rules that do not live in local
/// files (a ruler reading them from object storage or an API).
pub fn load_group_texts<E: Evaluator>(
    sources: &[(String, String)],
    defaults: GroupDefaults,
    restored: bool,
    templates: &dyn TemplateExpander,
) -> Result<Vec<Group<E>>, RulesError> {
    let mut groups = Vec::new();
    let mut errors = Vec::new();
    for (name, text) in sources {
        match parse_rule_file::<E>(name, text, templates) {
            Ok(file) => {
                for dup in duplicate_rules(&file) {
                    let same = |r: &&crate::file::RuleConfig| {
                        r.name() == dup.name && r.labels == dup.labels
                    };
                    for g in &file.groups {
                        match g.rules.iter().filter(same).count() {
                            0 => {}
                            1 => {
                                tracing::warn!(file = %name, group = %g.name, rule = %dup.name, labels = ?dup.labels, "duplicate rule: same name and labels in another group of the file");
                            }
                            _ => errors.push(format!(
                                "{name}: group {:?}, rule {:?}: duplicate rule: the same name and labels appear more than once in the group",
                                g.name, dup.name
                            )),
                        }
                    }
                }
                for g in &file.groups {
                    match Group::from_config(
                        name,
                        g,
                        defaults.interval_ms,
                        defaults.query_offset_ms,
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

type GroupLabels = Vec<(String, String)>;
type FloatGauge = Gauge<f64, std::sync::atomic::AtomicU64>;

/// The rule manager's metrics (`<prefix>_rule_*`; Prometheus uses the prefix `prometheus`).
#[derive(Debug, Clone, Default)]
pub struct RuleMetrics {
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

impl RuleMetrics {
    /// Registers every metric in `registry` as `<prefix>_rule_...`.
    pub fn register(registry: &Registry, prefix: &str) -> Self {
        let n = |s: &str| format!("{prefix}_{s}");
        Self {
            evaluations: registry.register(
                &n("rule_evaluations_total"),
                "The total number of rule evaluations.",
                Family::default(),
            ),
            failures: registry.register(
                &n("rule_evaluation_failures_total"),
                "The total number of rule evaluation failures.",
                Family::default(),
            ),
            iterations: registry.register(
                &n("rule_group_iterations_total"),
                "The total number of scheduled rule group evaluations, whether executed or missed.",
                Family::default(),
            ),
            missed: registry.register(
                &n("rule_group_iterations_missed_total"),
                "The total number of rule group evaluations missed due to slow rule group evaluation.",
                Family::default(),
            ),
            last_evaluation: registry.register(
                &n("rule_group_last_evaluation_timestamp_seconds"),
                "The timestamp of the last rule group evaluation in seconds.",
                Family::default(),
            ),
            last_duration: registry.register(
                &n("rule_group_last_duration_seconds"),
                "The duration of the last rule group evaluation.",
                Family::default(),
            ),
            interval: registry.register(
                &n("rule_group_interval_seconds"),
                "The interval of a rule group.",
                Family::default(),
            ),
            rules: registry.register(
                &n("rule_group_rules"),
                "The number of rules.",
                Family::default(),
            ),
            last_reload_ok: registry.gauge(
                &n("rule_config_last_reload_successful"),
                "Whether the last rule files reload attempt was successful.",
            ),
        }
    }

    /// `<prefix>_rule_group_iterations_missed_total` of one group (`<file>;<name>`).
    pub fn missed_iterations(&self, group_key: &str) -> u64 {
        self.missed
            .get_or_create(&vec![("rule_group".to_owned(), group_key.to_owned())])
            .get()
    }

    /// `<prefix>_rule_group_iterations_total` of one group.
    pub fn iterations(&self, group_key: &str) -> u64 {
        self.iterations
            .get_or_create(&vec![("rule_group".to_owned(), group_key.to_owned())])
            .get()
    }
}

#[derive(Debug)]
struct RunningGroup<E: Evaluator> {
    group: Arc<Group<E>>,
    stop: CancellationToken,
    removed: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

#[derive(Debug)]
struct Inner<E: Evaluator, S> {
    opts: RwLock<ManagerOptions>,
    store: Arc<S>,
    notifier: Arc<Notifier>,
    clock: SharedClock,
    ctx: RwLock<Arc<RuleContext<E>>>,
    shutdown: CancellationToken,
    metrics: RuleMetrics,
}

/// Runs the rule groups of one tenant/server.
#[derive(Debug)]
pub struct RuleManager<E: Evaluator, S> {
    inner: Arc<Inner<E, S>>,
    groups: Mutex<Vec<RunningGroup<E>>>,
    /// False until the first successful load: groups of that load restore `for` state.
    loaded_once: AtomicBool,
    runtime: tokio::runtime::Handle,
}

impl<E: Evaluator, S: RuleStore> RuleManager<E, S> {
    /// A manager with no groups; call [`RuleManager::update`] to load rules. Must be created
    /// inside a tokio runtime.
    pub fn new(
        store: Arc<S>,
        ctx: RuleContext<E>,
        notifier: Arc<Notifier>,
        clock: SharedClock,
        opts: ManagerOptions,
        metrics: RuleMetrics,
        shutdown: CancellationToken,
    ) -> Arc<Self> {
        Arc::new(Self {
            inner: Arc::new(Inner {
                opts: RwLock::new(opts),
                store,
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

    /// Loads the rule files `patterns` (globs, relative ones against `base`) and swaps the
    /// running groups, which take over the state of the groups they replace (same file and
    /// name); on error the old groups keep running, `rule_config_last_reload_successful`
    /// drops to 0 and the error is returned (Prometheus' `Manager.Update`). `ctx` replaces
    /// the evaluation context.
    pub fn update(
        &self,
        patterns: &[String],
        base: Option<&Path>,
        defaults: GroupDefaults,
        ctx: RuleContext<E>,
    ) -> Result<(), RulesError> {
        let result = resolve_rule_files(patterns, base).and_then(|files| {
            let first = !self.loaded_once.load(Ordering::SeqCst);
            let groups = load_groups::<E>(&files, defaults, !first, &*ctx.templates)?;
            tracing::info!(files = files.len(), "rule files read");
            self.swap(groups, ctx);
            Ok(())
        });
        self.record_reload(result)
    }

    /// [`RuleManager::update`] with rule files given as `(name, text)` pairs.
    pub fn update_texts(
        &self,
        sources: &[(String, String)],
        defaults: GroupDefaults,
        ctx: RuleContext<E>,
    ) -> Result<(), RulesError> {
        let first = !self.loaded_once.load(Ordering::SeqCst);
        let result = load_group_texts::<E>(sources, defaults, !first, &*ctx.templates)
            .map(|groups| self.swap(groups, ctx));
        self.record_reload(result)
    }

    fn record_reload(&self, result: Result<(), RulesError>) -> Result<(), RulesError> {
        self.inner
            .metrics
            .last_reload_ok
            .set(i64::from(result.is_ok()));
        if let Err(e) = &result {
            tracing::error!(error = %e, "loading rule files failed");
        }
        result
    }

    /// Starts `groups` in place of the running ones (each taking over its predecessor's state).
    fn swap(&self, groups: Vec<Group<E>>, ctx: RuleContext<E>) {
        let first = !self.loaded_once.load(Ordering::SeqCst);
        *self.inner.ctx.write() = Arc::new(ctx);
        let mut running = self.groups.lock();
        let mut old: Vec<RunningGroup<E>> = std::mem::take(&mut *running);
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
        tracing::info!(groups = running.len(), "rule groups loaded");
    }

    /// The running groups, in load order.
    pub fn groups(&self) -> Vec<Arc<Group<E>>> {
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

    /// The current evaluation context.
    pub fn context(&self) -> Arc<RuleContext<E>> {
        Arc::clone(&self.inner.ctx.read())
    }

    /// The manager's metrics.
    pub fn metrics(&self) -> &RuleMetrics {
        &self.inner.metrics
    }
}

async fn run_group<E: Evaluator, S: RuleStore>(
    inner: Arc<Inner<E, S>>,
    group: Arc<Group<E>>,
    stop: CancellationToken,
    removed: Arc<AtomicBool>,
    restore: bool,
    predecessor: Option<RunningGroup<E>>,
) {
    if let Some(prev) = predecessor {
        prev.stop.cancel();
        let _ = prev.task.await;
        group.copy_state_from(&prev.group);
    }
    let interval = group.interval_ms.max(1);
    let offset = group.offset_in_interval();
    let mut ts = schedule::first_eval_ts(inner.clock.now_ms(), interval, offset);
    let mut first = true;
    let labels = vec![("rule_group".to_owned(), group.key())];
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
        let alerts = group
            .eval(&ctx, ts, inner.clock.now_ms(), resend, &*inner.store)
            .await;
        metrics
            .evaluations
            .get_or_create(&labels)
            .inc_by(group.rules().len() as u64);
        let failed = group
            .rules()
            .iter()
            .filter(|r| r.status().health == "err")
            .count();
        if failed > 0 {
            metrics
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
                &*inner.store,
                inner.clock.now_ms(),
                opts.outage_tolerance.as_millis() as i64,
                opts.grace_period.as_millis() as i64,
            );
        }
        first = false;
        inner.notifier.send(alerts);
        let (next, missed) = schedule::next_eval_ts(ts, inner.clock.now_ms(), interval);
        if missed > 0 {
            metrics.missed.get_or_create(&labels).inc_by(missed as u64);
            metrics
                .iterations
                .get_or_create(&labels)
                .inc_by(missed as u64);
            tracing::warn!(group = %group.name, missed, "rule group evaluation missed iterations");
        }
        ts = next;
    }
    if removed.load(Ordering::SeqCst) {
        let stale = group.stale_markers(inner.clock.now_ms());
        if !stale.is_empty()
            && let Err(e) = inner.store.append(stale).await
        {
            tracing::warn!(group = %group.name, error = %e, "writing stale markers failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use lgtm_common::clock::Clock;
    use lgtm_common::labels::Labels;

    use super::*;
    use crate::eval::OutputSample;
    use crate::notifier::NotifierMetrics;
    use crate::testing::{FakeEval, FakeStore, context};

    /// Wall clock that follows tokio's (paused) time from a fixed start.
    #[derive(Debug)]
    struct TokioClock {
        base_ms: i64,
        start: tokio::time::Instant,
    }

    impl Clock for TokioClock {
        fn now_ns(&self) -> i64 {
            (self.base_ms + self.start.elapsed().as_millis() as i64) * 1_000_000
        }
    }

    #[tokio::test(start_paused = true)]
    async fn groups_run_at_aligned_timestamps_restore_for_state_and_notify() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.yml");
        std::fs::write(
            &path,
            "groups:\n  - name: g\n    interval: 1s\n    rules:\n      - alert: A\n        expr: x\n        for: 1h\n",
        )
        .unwrap();
        let file = path.display().to_string();
        let base_ms = 1_700_000_000_000;
        let eval = FakeEval::default();
        eval.set("x", &[(&[("k", "v")], 1.0)]);
        // Pending for 30 minutes when the previous process stopped 10 s ago.
        let store = Arc::new(FakeStore::default());
        store.samples.lock().push(OutputSample {
            labels: Labels::from_pairs([
                ("__name__", "ALERTS_FOR_STATE"),
                ("alertname", "A"),
                ("k", "v"),
            ]),
            t: base_ms - 10_000,
            v: ((base_ms - 10_000 - 30 * 60_000) / 1000) as f64,
        });
        let notifier = Notifier::new(100, NotifierMetrics::default());
        let shutdown = CancellationToken::new();
        let manager = RuleManager::new(
            Arc::clone(&store),
            (*context(&eval)).clone(),
            Arc::clone(&notifier),
            Arc::new(TokioClock {
                base_ms,
                start: tokio::time::Instant::now(),
            }),
            ManagerOptions::default(),
            RuleMetrics::default(),
            shutdown.clone(),
        );
        manager
            .update(
                std::slice::from_ref(&file),
                None,
                GroupDefaults {
                    interval_ms: 60_000,
                    query_offset_ms: 0,
                },
                (*context(&eval)).clone(),
            )
            .unwrap();
        for _ in 0..50 {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let times: Vec<i64> = eval.queries().into_iter().map(|(_, t)| t).collect();
        assert!(times.len() >= 3, "{times:?}");
        let offset = schedule::group_offset_ms(&file, "g", 1_000);
        assert!(
            times[0] > base_ms && times[0] <= base_ms + 1_000,
            "{times:?}"
        );
        for pair in times.windows(2) {
            assert!(
                pair[1] > pair[0] && (pair[1] - pair[0]) % 1_000 == 0,
                "{times:?}"
            );
        }
        assert!(
            times.iter().all(|t| t.rem_euclid(1_000) == offset),
            "{times:?}"
        );
        let key = format!("{file};g");
        let missed = manager.metrics().missed_iterations(&key);
        assert_eq!(
            manager.metrics().iterations(&key),
            times.len() as u64 + missed
        );
        // `for` state restored right after the first evaluation: 30m of 1h were spent before
        // the outage, which is not counted, so activeAt is 30m before the restore time.
        let group = &manager.groups()[0];
        let crate::Rule::Alerting(rule) = &group.rules()[0] else {
            panic!()
        };
        assert!(rule.restored());
        let alert = &rule.alerts()[0];
        assert_eq!(alert.state, crate::AlertState::Pending);
        let restored_at = alert.active_at + 30 * 60_000;
        assert!(
            (times[0]..times[0] + 1_000).contains(&restored_at),
            "{} {times:?}",
            alert.active_at
        );
        // Pending alerts are not sent; a reload with a shorter `for` keeps the state and fires.
        assert_eq!(notifier.queue_len(), 0);
        std::fs::write(
            &path,
            "groups:\n  - name: g\n    interval: 1s\n    rules:\n      - alert: A\n        expr: x\n        for: 5m\n",
        )
        .unwrap();
        manager
            .update(
                &[file],
                None,
                GroupDefaults::default(),
                (*context(&eval)).clone(),
            )
            .unwrap();
        for _ in 0..30 {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let batch = notifier.next_batch();
        assert_eq!(batch.len(), 1, "{batch:?}");
        assert_eq!(batch[0].labels.get("alertname"), Some("A"));
        // A bad file keeps the running group.
        std::fs::write(
            &path,
            "groups: [{name: g, rules: [{alert: A, expr: 'sum(x'}]}]",
        )
        .unwrap();
        let err = manager
            .update(
                &[path.display().to_string()],
                None,
                GroupDefaults::default(),
                (*context(&eval)).clone(),
            )
            .unwrap_err();
        assert!(
            err.to_string().contains("could not parse expression"),
            "{err}"
        );
        assert_eq!(manager.groups().len(), 1);
        shutdown.cancel();
    }

    #[test]
    fn a_rule_repeated_in_one_group_fails_the_load_across_groups_it_warns() {
        let load = |text: &str| {
            load_group_texts::<FakeEval>(
                &[("r.yml".to_owned(), text.to_owned())],
                GroupDefaults::default(),
                true,
                &crate::template::GoTemplates::checker(),
            )
            .map(|g| g.len())
            .map_err(|e| e.to_string())
        };
        let err = load(
            "groups: [{name: g, rules: [{alert: A, expr: x, labels: {s: w}}, {alert: A, expr: y, labels: {s: w}}]}]",
        )
        .unwrap_err();
        assert!(
            err.contains(r#"r.yml: group "g", rule "A": duplicate rule"#),
            "{err}"
        );
        // Same name, other labels: the usual warning/critical pair, not a duplicate.
        assert_eq!(
            load(
                "groups: [{name: g, rules: [{alert: A, expr: x, labels: {s: w}}, {alert: A, expr: y, labels: {s: c}}]}]"
            ),
            Ok(1)
        );
        // Across groups Prometheus loads it, and so do we.
        assert_eq!(
            load(
                "groups: [{name: g, rules: [{record: r, expr: x}]}, {name: h, rules: [{record: r, expr: x}]}]"
            ),
            Ok(2)
        );
    }

    #[test]
    fn texts_and_files_load_alike_and_every_bad_file_is_reported() {
        let good = (
            "a.yml".to_owned(),
            "groups: [{name: g, rules: [{record: r, expr: x}]}]".to_owned(),
        );
        let groups = load_group_texts::<FakeEval>(
            std::slice::from_ref(&good),
            GroupDefaults {
                interval_ms: 30_000,
                query_offset_ms: 0,
            },
            true,
            &crate::template::GoTemplates::checker(),
        )
        .unwrap();
        assert_eq!(
            (groups[0].key().as_str(), groups[0].interval_ms),
            ("a.yml;g", 30_000)
        );
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("b.yml");
        std::fs::write(
            &bad,
            "groups: [{name: h, rules: [{alert: A, expr: 'f(x'}]}]",
        )
        .unwrap();
        let missing = dir.path().join("missing.yml");
        let err = load_groups::<FakeEval>(
            &[bad.clone(), missing.clone()],
            GroupDefaults::default(),
            true,
            &crate::template::GoTemplates::checker(),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.starts_with("error loading rules, previous rule set restored: "),
            "{err}"
        );
        assert!(
            err.contains(&format!("{}: No such file", missing.display())),
            "{err}"
        );
        assert!(
            err.contains(&format!(
                "{}: 1:45: group \"h\", rule 1, \"A\": could not parse expression",
                bad.display()
            )),
            "{err}"
        );
    }
}
