//! The rule manager of `metrics-tsdb`: the shared [`lgtm_rules::RuleManager`] with PromQL
//! over the TSDB, fed from the Prometheus configuration (`rule_files`, `global`).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use lgtm_common::clock::SharedClock;
use lgtm_common::http::CancellationToken;
use lgtm_common::metrics::Registry;
use lgtm_promql::Engine;
use lgtm_promql::storage::Queryable;
use lgtm_rules::manager::{GroupDefaults, ManagerOptions, RuleMetrics};

pub use lgtm_rules::manager::{RulesError, resolve_rule_files};

use super::Group;
use super::context::{PromqlEvaluator, RuleContext, SharedDbQuerier, promql_context};
use crate::config::Config as PrometheusConfig;
use crate::db::Db;
use crate::notifier::Notifier;

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
        let shared = ManagerOptions::default();
        Self {
            resend_delay: shared.resend_delay,
            outage_tolerance: shared.outage_tolerance,
            grace_period: shared.grace_period,
            external_url: String::new(),
            base_dir: None,
        }
    }
}

/// Loads groups of `files` with PromQL rules (the unit-test runner's entry point).
pub fn load_groups(
    files: &[PathBuf],
    default_interval_ms: i64,
    default_offset_ms: i64,
    restored: bool,
) -> Result<Vec<Group>, RulesError> {
    lgtm_rules::manager::load_groups::<PromqlEvaluator>(
        files,
        GroupDefaults {
            interval_ms: default_interval_ms,
            query_offset_ms: default_offset_ms,
        },
        restored,
        &lgtm_rules::template::GoTemplates::checker(),
    )
}

/// Runs the rule groups of the server.
#[derive(Debug)]
pub struct RuleManager {
    shared: Arc<lgtm_rules::RuleManager<PromqlEvaluator, SharedDbQuerier>>,
    notifier: Arc<Notifier>,
    db: Arc<Db>,
    engine: Engine,
    opts: RuleManagerOptions,
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
        let metrics = registry
            .map(|r| RuleMetrics::register(r, "prometheus"))
            .unwrap_or_default();
        let store = Arc::new(SharedDbQuerier(Arc::clone(&db)));
        let ctx = Self::context(&db, &engine, Default::default(), &opts);
        let shared = lgtm_rules::RuleManager::new(
            store,
            ctx,
            Arc::clone(notifier.shared()),
            clock,
            ManagerOptions {
                resend_delay: opts.resend_delay,
                outage_tolerance: opts.outage_tolerance,
                grace_period: opts.grace_period,
            },
            metrics,
            shutdown,
        );
        Arc::new(Self {
            shared,
            notifier,
            db,
            engine,
            opts,
        })
    }

    fn context(
        db: &Arc<Db>,
        engine: &Engine,
        external_labels: std::collections::BTreeMap<String, String>,
        opts: &RuleManagerOptions,
    ) -> RuleContext {
        let queryable: Arc<dyn Queryable> = Arc::new(SharedDbQuerier(Arc::clone(db)));
        promql_context(
            engine.clone(),
            queryable,
            external_labels,
            opts.external_url.clone(),
        )
    }

    /// Loads `config.rule_files` and swaps the running groups; on error the old groups keep
    /// running and the error is returned (Prometheus' `Manager.Update`).
    pub fn update(&self, config: &PrometheusConfig) -> Result<(), RulesError> {
        let ctx = Self::context(
            &self.db,
            &self.engine,
            config.global.external_labels.clone(),
            &self.opts,
        );
        self.shared.update(
            &config.rule_files,
            self.opts.base_dir.as_deref(),
            GroupDefaults {
                interval_ms: config.global.evaluation_interval.as_millis(),
                query_offset_ms: config.global.rule_query_offset.map_or(0, |d| d.as_millis()),
            },
            ctx,
        )
    }

    /// The running groups, in load order.
    pub fn groups(&self) -> Vec<Arc<Group>> {
        self.shared.groups()
    }

    /// The notifier alerts go to.
    pub fn notifier(&self) -> &Arc<Notifier> {
        &self.notifier
    }
}
