//! Recording and alerting rules in PromQL, evaluated as Prometheus does.
//!
//! The language- and store-agnostic machinery (rule file model and validation, group
//! scheduler, alert state machine, `ALERTS`/`ALERTS_FOR_STATE`, `for`-state restore, the
//! notifier) lives in `lgtm-rules`, shared with `log-store`'s ruler. This module plugs in
//! PromQL and the TSDB: [`context`] (the evaluator, the stores, template `query`), [`file`]
//! (validation with PromQL's parser), [`manager::RuleManager`] (fed from the Prometheus
//! configuration) and [`unittest`] (promtool's rule unit tests on the same code).

pub mod context;
pub mod file;
pub mod manager;
pub mod unittest;

pub use context::{PromqlEvaluator, RuleContext, promql_context};
pub use file::{RuleFile, RuleFileErrors, parse_rule_file};
pub use lgtm_rules::{Alert, AlertState, NotifyAlert, RuleStatus};
pub use manager::{RuleManager, RuleManagerOptions, RulesError};

/// A loaded group of PromQL rules.
pub type Group = lgtm_rules::Group<PromqlEvaluator>;
/// A PromQL recording or alerting rule.
pub type Rule = lgtm_rules::Rule<PromqlEvaluator>;
/// A PromQL alerting rule with its state.
pub type AlertingRule = lgtm_rules::AlertingRule<PromqlEvaluator>;
/// A PromQL recording rule.
pub type RecordingRule = lgtm_rules::RecordingRule<PromqlEvaluator>;

#[cfg(test)]
mod tests;
