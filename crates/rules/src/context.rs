//! What every rule evaluation needs: the evaluator (engine and data), the template expander,
//! and the external labels/URL; swapped as a whole on reload.

use std::collections::BTreeMap;
use std::sync::Arc;

use lgtm_common::labels::Labels;

use crate::eval::{Evaluator, TemplateExpander};

/// Shared, read-only inputs of rule evaluation.
#[derive(Debug, Clone)]
pub struct RuleContext<E> {
    /// Runs rule expressions (PromQL over the TSDB, LogQL over the log store, a fake in tests).
    pub evaluator: E,
    /// Expands alert label and annotation templates.
    pub templates: Arc<dyn TemplateExpander>,
    /// `global.external_labels` (`$externalLabels`; the notifier adds them to alerts).
    pub external_labels: BTreeMap<String, String>,
    /// `--web.external-url` (`$externalURL`, generator URLs).
    pub external_url: String,
}

impl<E: Evaluator> RuleContext<E> {
    /// A context with every part given.
    pub fn new(
        evaluator: E,
        templates: Arc<dyn TemplateExpander>,
        external_labels: BTreeMap<String, String>,
        external_url: String,
    ) -> Self {
        Self {
            evaluator,
            templates,
            external_labels,
            external_url,
        }
    }
}

/// `(labels, value)` pairs a rule writes at one timestamp.
pub type RuleOutput = Vec<(Labels, f64)>;

/// Health of a rule after its last evaluation (`ok`, `err`, `unknown`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RuleStatus {
    /// `unknown` until evaluated, then `ok` or `err`.
    pub health: &'static str,
    /// Last error text, empty when healthy.
    pub last_error: String,
    /// Wall-clock time of the last evaluation (ms), 0 = never.
    pub last_evaluation_ms: i64,
    /// Seconds the last evaluation took.
    pub evaluation_seconds: f64,
}

impl RuleStatus {
    /// The status of a rule never evaluated.
    pub fn unknown() -> Self {
        Self {
            health: "unknown",
            ..Self::default()
        }
    }
}
