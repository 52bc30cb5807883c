//! Alerting rules: the per-label-set state machine (inactive → pending → firing → resolved,
//! with `for` and `keep_firing_for`), templated labels and annotations, the `ALERTS` and
//! `ALERTS_FOR_STATE` series, what to send to Alertmanager, and `for`-state restoration.
//! Semantics follow Prometheus' `rules/alerting.go`; the expression language is the
//! [`Evaluator`]'s.

use std::collections::BTreeMap;

use lgtm_common::labels::{Labels, Matcher};
use parking_lot::Mutex;

use crate::context::{RuleContext, RuleOutput, RuleStatus};
use crate::eval::{Evaluator, TemplateData, is_stale_nan};

/// How long a resolved alert is kept (and re-sent) after resolution.
pub const RESOLVED_RETENTION_MS: i64 = 15 * 60 * 1000;

/// State of one alert instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum AlertState {
    /// Resolved (kept for resending).
    Inactive,
    /// Active for less than `for`.
    Pending,
    /// Active for at least `for`.
    Firing,
}

impl AlertState {
    /// The name Prometheus uses in `alertstate` and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertState::Inactive => "inactive",
            AlertState::Pending => "pending",
            AlertState::Firing => "firing",
        }
    }
}

/// One instance of an alerting rule (one label set of its expression's result).
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    /// Current state.
    pub state: AlertState,
    /// Expression labels (without `__name__`) + rule labels + `alertname`.
    pub labels: Labels,
    /// Expanded annotations.
    pub annotations: BTreeMap<String, String>,
    /// Value at the last evaluation.
    pub value: f64,
    /// First evaluation (ms) at which the expression returned this label set.
    pub active_at: i64,
    /// When it started firing (ms).
    pub fired_at: Option<i64>,
    /// When it resolved (ms).
    pub resolved_at: Option<i64>,
    /// When it was last handed to the notifier (ms).
    pub last_sent_at: Option<i64>,
    /// `endsAt` sent with a firing alert (ms).
    pub valid_until: i64,
    /// Since when it keeps firing although the expression no longer returns it (ms).
    pub keep_firing_since: Option<i64>,
}

impl Alert {
    fn needs_sending(&self, ts: i64, resend_delay_ms: i64) -> bool {
        if self.state == AlertState::Pending {
            return false;
        }
        if let Some(resolved) = self.resolved_at
            && self.last_sent_at.is_none_or(|sent| resolved > sent)
        {
            return true;
        }
        match self.last_sent_at {
            None => true,
            Some(sent) => sent + resend_delay_ms < ts,
        }
    }
}

#[derive(Debug, Default)]
struct State {
    active: BTreeMap<Labels, Alert>,
    restored: bool,
    status: Option<RuleStatus>,
}

/// An alerting rule with its state.
#[derive(Debug)]
pub struct AlertingRule<E: Evaluator> {
    name: String,
    expr: E::Expr,
    query: String,
    hold_ms: i64,
    keep_firing_for_ms: i64,
    labels: BTreeMap<String, String>,
    annotations: BTreeMap<String, String>,
    state: Mutex<State>,
}

impl<E: Evaluator> AlertingRule<E> {
    /// A new rule; `restored` false makes it wait for [`AlertingRule::restore`] before it
    /// writes `ALERTS`/`ALERTS_FOR_STATE` (start-up, as Prometheus).
    pub fn new(
        name: &str,
        expr: E::Expr,
        hold_ms: i64,
        keep_firing_for_ms: i64,
        labels: BTreeMap<String, String>,
        annotations: BTreeMap<String, String>,
        restored: bool,
    ) -> Self {
        let query = E::format(&expr);
        Self {
            name: name.to_owned(),
            expr,
            query,
            hold_ms,
            keep_firing_for_ms,
            labels,
            annotations,
            state: Mutex::new(State {
                restored,
                ..State::default()
            }),
        }
    }

    /// The alert name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The expression as Prometheus prints it.
    pub fn query(&self) -> &str {
        &self.query
    }

    /// `for` in ms.
    pub fn hold_ms(&self) -> i64 {
        self.hold_ms
    }

    /// `keep_firing_for` in ms.
    pub fn keep_firing_for_ms(&self) -> i64 {
        self.keep_firing_for_ms
    }

    /// Rule labels (templates, unexpanded).
    pub fn labels(&self) -> &BTreeMap<String, String> {
        &self.labels
    }

    /// Rule annotations (templates, unexpanded).
    pub fn annotations(&self) -> &BTreeMap<String, String> {
        &self.annotations
    }

    /// Health and timing of the last evaluation.
    pub fn status(&self) -> RuleStatus {
        self.state
            .lock()
            .status
            .clone()
            .unwrap_or_else(RuleStatus::unknown)
    }

    /// Records the outcome of an evaluation (the group does this after each rule).
    pub fn set_status(&self, status: RuleStatus) {
        self.state.lock().status = Some(status);
    }

    /// Every instance, resolved ones included, in label order.
    pub fn alerts(&self) -> Vec<Alert> {
        self.state.lock().active.values().cloned().collect()
    }

    /// Instances that are pending or firing.
    pub fn active_alerts(&self) -> Vec<Alert> {
        self.state
            .lock()
            .active
            .values()
            .filter(|a| a.resolved_at.is_none())
            .cloned()
            .collect()
    }

    /// The rule's overall state: the highest of its instances (`unknown` before the first
    /// evaluation, as Prometheus 3 reports).
    pub fn state_name(&self) -> &'static str {
        let st = self.state.lock();
        if st.status.is_none() {
            return "unknown";
        }
        st.active
            .values()
            .map(|a| a.state)
            .max()
            .unwrap_or(AlertState::Inactive)
            .as_str()
    }

    /// Whether `for` state has been restored (or did not need to be).
    pub fn restored(&self) -> bool {
        self.state.lock().restored
    }

    /// Takes over instances from the same rule before a reload (Prometheus' `CopyState`).
    pub fn copy_state_from(&self, old: &AlertingRule<E>) {
        let old_state = old.state.lock();
        let mut st = self.state.lock();
        st.active = old_state.active.clone();
        st.restored = old_state.restored;
        st.status = old_state.status.clone();
    }

    fn expand(&self, ctx: &RuleContext<E>, text: &str, data: &TemplateData, ts: i64) -> String {
        match ctx.templates.expand(&self.name, text, data, ts) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(rule = %self.name, error = %e, "expanding alert template failed");
                format!("<error expanding template: {e}>")
            }
        }
    }

    /// One evaluation at `ts` (ms), querying at `ts - offset`; returns the `ALERTS` and
    /// `ALERTS_FOR_STATE` samples (stamped `ts - offset`).
    pub fn eval(
        &self,
        ctx: &RuleContext<E>,
        ts: i64,
        offset_ms: i64,
        limit: i64,
    ) -> Result<RuleOutput, String> {
        let query_ts = ts - offset_ms;
        let result = ctx.evaluator.query(&self.expr, query_ts)?;
        let mut fresh: BTreeMap<Labels, Alert> = BTreeMap::new();
        for sample in result {
            let metric: BTreeMap<String, String> = sample
                .labels
                .iter()
                .map(|l| (l.name.clone(), l.value.clone()))
                .collect();
            let data = TemplateData {
                labels: metric,
                external_labels: ctx.external_labels.clone(),
                external_url: ctx.external_url.clone(),
                value: sample.value,
            };
            let mut labels = sample.labels.without_metric_name();
            for (k, v) in &self.labels {
                let value = self.expand(ctx, v, &data, ts);
                labels = if value.is_empty() {
                    labels.without(&[k.as_str()])
                } else {
                    labels.with(k, &value)
                };
            }
            labels = labels.with("alertname", &self.name);
            let annotations = self
                .annotations
                .iter()
                .map(|(k, v)| (k.clone(), self.expand(ctx, v, &data, ts)))
                .collect();
            if fresh.contains_key(&labels) {
                return Err(
                    "vector contains metrics with the same labelset after applying alert labels"
                        .to_owned(),
                );
            }
            fresh.insert(
                labels.clone(),
                Alert {
                    state: AlertState::Pending,
                    labels,
                    annotations,
                    value: sample.value,
                    active_at: ts,
                    fired_at: None,
                    resolved_at: None,
                    last_sent_at: None,
                    valid_until: 0,
                    keep_firing_since: None,
                },
            );
        }
        let mut st = self.state.lock();
        for (key, alert) in &fresh {
            match st.active.get_mut(key) {
                Some(existing) if existing.state != AlertState::Inactive => {
                    existing.value = alert.value;
                    existing.annotations = alert.annotations.clone();
                }
                _ => {
                    st.active.insert(key.clone(), alert.clone());
                }
            }
        }
        let mut out = Vec::new();
        let mut active_count = 0i64;
        let restored = st.restored;
        let mut remove = Vec::new();
        for (key, a) in st.active.iter_mut() {
            if !fresh.contains_key(key) {
                let mut keep_firing = false;
                if a.state == AlertState::Firing && self.keep_firing_for_ms > 0 {
                    let since = *a.keep_firing_since.get_or_insert(ts);
                    keep_firing = ts - since < self.keep_firing_for_ms;
                }
                if a.state == AlertState::Pending
                    || a.resolved_at
                        .is_some_and(|r| ts - r > RESOLVED_RETENTION_MS)
                {
                    remove.push(key.clone());
                }
                if a.state != AlertState::Inactive && !keep_firing {
                    a.state = AlertState::Inactive;
                    a.resolved_at = Some(ts);
                }
                if !keep_firing {
                    continue;
                }
            } else {
                a.keep_firing_since = None;
            }
            active_count += 1;
            if a.state == AlertState::Pending && ts - a.active_at >= self.hold_ms {
                a.state = AlertState::Firing;
                a.fired_at = Some(ts);
            }
            if restored {
                out.push((
                    a.labels
                        .with("__name__", "ALERTS")
                        .with("alertstate", a.state.as_str()),
                    1.0,
                ));
                out.push((
                    a.labels.with("__name__", "ALERTS_FOR_STATE"),
                    a.active_at.div_euclid(1000) as f64,
                ));
            }
        }
        for key in remove {
            st.active.remove(&key);
        }
        if limit > 0 && active_count > limit {
            st.active.clear();
            return Err(format!(
                "exceeded limit of {limit} with {active_count} alerts"
            ));
        }
        Ok(out)
    }

    /// Alerts to hand to the notifier after an evaluation at `ts` (Prometheus'
    /// `sendAlerts`): firing alerts not sent for `resend_delay`, and newly resolved ones.
    /// Firing alerts get `valid_until = ts + 4 * max(interval, resend_delay)`.
    pub fn alerts_to_send(&self, ts: i64, resend_delay_ms: i64, interval_ms: i64) -> Vec<Alert> {
        let mut st = self.state.lock();
        let mut out = Vec::new();
        for a in st.active.values_mut() {
            if a.needs_sending(ts, resend_delay_ms) {
                a.last_sent_at = Some(ts);
                a.valid_until = ts + 4 * interval_ms.max(resend_delay_ms);
                out.push(a.clone());
            }
        }
        out
    }

    /// Restores `ActiveAt` of current instances from the last `ALERTS_FOR_STATE` sample of
    /// each (Prometheus' `RestoreForState`): `series` maps alert labels (without
    /// `__name__`) to the last `(t, v)` found within the outage tolerance.
    pub fn restore(&self, ts: i64, grace_period_ms: i64, series: &BTreeMap<Labels, (i64, f64)>) {
        let mut st = self.state.lock();
        if self.hold_ms >= grace_period_ms {
            for a in st.active.values_mut() {
                let Some(&(t, v)) = series.get(&a.labels) else {
                    continue;
                };
                if is_stale_nan(v) {
                    continue;
                }
                let down_at = t.div_euclid(1000) * 1000;
                let mut restored_active_at = (v as i64) * 1000;
                let pending_spent = down_at - restored_active_at;
                let remaining = self.hold_ms - pending_spent;
                if remaining <= 0 {
                    // Was firing: the next evaluation fires it again.
                } else if remaining < grace_period_ms {
                    restored_active_at = ts + grace_period_ms - self.hold_ms;
                } else {
                    restored_active_at += ts - down_at;
                }
                a.active_at = restored_active_at;
            }
        }
        st.restored = true;
    }

    /// The matchers selecting this rule's `ALERTS_FOR_STATE` series.
    pub fn for_state_matchers(&self) -> Vec<Matcher> {
        let mut m = vec![
            Matcher::equal("__name__", "ALERTS_FOR_STATE"),
            Matcher::equal("alertname", self.name.clone()),
        ];
        for (k, v) in &self.labels {
            // Templated label values are only known per instance.
            if !v.contains("{{") {
                m.push(Matcher::equal(k.clone(), v.clone()));
            }
        }
        m
    }
}
