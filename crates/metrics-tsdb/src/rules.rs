//! Recording and alerting rules, evaluated as Prometheus does.
//!
//! Data flow: `rule_files` (globs) → [`file`] (YAML model, validation with Prometheus'
//! messages) → [`group::Group`]s of [`recording::Rule`]s → [`manager::RuleManager`] runs one
//! task per group on its interval, writes outputs (and stale markers, `ALERTS`,
//! `ALERTS_FOR_STATE`) through `Db::append`, and hands alerts to [`crate::notifier`].
//! [`unittest`] runs promtool's rule unit-test files against the same code.

pub mod alerting;
pub mod context;
pub mod file;
pub mod group;
pub mod manager;
pub mod recording;
pub mod unittest;

pub use alerting::{Alert, AlertState, AlertingRule};
pub use context::{RuleContext, RuleStatus};
pub use file::{RuleFile, RuleFileErrors, parse_rule_file};
pub use group::{Group, NotifyAlert};
pub use manager::{RuleManager, RuleManagerOptions, RulesError};
pub use recording::{RecordingRule, Rule};
