//! `lgtm-rules`: Prometheus-style recording and alerting rules, independent of the query
//! language and the store, so `metrics-tsdb` (PromQL over its TSDB) and `log-store`'s ruler
//! (LogQL) share one implementation.
//!
//! Data flow: rule files ([`file`]: rulefmt's model, validation and messages with yaml
//! positions) → [`group::Group`]s of [`recording::Rule`]s → [`manager::RuleManager`] runs
//! one task per group at Prometheus' aligned timestamps ([`schedule`]), evaluates each rule
//! through an [`eval::Evaluator`], writes outputs, stale markers, `ALERTS` and
//! `ALERTS_FOR_STATE` through an [`eval::RuleStore`], expands alert templates with an
//! [`eval::TemplateExpander`] ([`template::GoTemplates`] is Prometheus' set) and hands alerts
//! to the [`notifier::Notifier`], which posts them to Alertmanager API v2.

pub mod alerting;
pub mod context;
pub mod eval;
pub mod file;
pub mod group;
pub mod manager;
pub mod notifier;
pub mod recording;
pub mod schedule;
pub mod template;

pub use alerting::{Alert, AlertState, AlertingRule, RESOLVED_RETENTION_MS};
pub use context::{RuleContext, RuleOutput, RuleStatus};
pub use eval::{EvalSample, Evaluator, OutputSample, RuleStore, TemplateData, TemplateExpander};
pub use file::{RuleFile, RuleFileErrors, parse_rule_file};
pub use group::{Group, GroupStatus, NotifyAlert};
pub use manager::{GroupDefaults, ManagerOptions, RuleManager, RuleMetrics, RulesError};
pub use notifier::{Notifier, NotifierMetrics, NotifierSettings};
pub use recording::{RecordingRule, Rule};
pub use template::GoTemplates;

#[cfg(test)]
pub(crate) mod testing;
