//! A rule group: its rules evaluated in order at one timestamp, the outputs written before the
//! next rule runs (so later rules see earlier results), stale markers for series a rule no
//! longer produces, and the alerts to notify (`rules/group.go`).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use lgtm_common::labels::Labels;
use parking_lot::Mutex;

use crate::alerting::{Alert, AlertingRule};
use crate::context::{RuleContext, RuleStatus};
use crate::eval::{Evaluator, OutputSample, RuleStore, stale_nan};
use crate::file::RuleGroupConfig;
use crate::recording::{RecordingRule, Rule, SeriesSet};

/// An alert on its way to Alertmanager, in the shape the notifier sends.
#[derive(Debug, Clone, PartialEq)]
pub struct NotifyAlert {
    /// Labels (external labels and relabeling are applied by the notifier).
    pub labels: Labels,
    /// Annotations.
    pub annotations: BTreeMap<String, String>,
    /// When it fired (ms).
    pub starts_at: i64,
    /// Resolution time, or the validity limit of a firing alert (ms).
    pub ends_at: i64,
    /// Link back to the expression.
    pub generator_url: String,
}

/// Converts a rule's alert for the notifier (Prometheus' `SendAlerts`).
pub fn to_notify(alert: &Alert, generator_url: String) -> NotifyAlert {
    NotifyAlert {
        labels: alert.labels.clone(),
        annotations: alert.annotations.clone(),
        starts_at: alert.fired_at.unwrap_or(alert.active_at),
        ends_at: alert.resolved_at.unwrap_or(alert.valid_until),
        generator_url,
    }
}

/// Timing of the group's last evaluation.
#[derive(Debug, Clone, Default)]
pub struct GroupStatus {
    /// Wall-clock time of the last evaluation (ms), 0 = never.
    pub last_evaluation_ms: i64,
    /// Seconds the last evaluation took.
    pub evaluation_seconds: f64,
    /// Rule timestamp of the last evaluation (ms).
    pub last_eval_ts: i64,
}

/// A loaded rule group.
#[derive(Debug)]
pub struct Group<E: Evaluator> {
    /// `name:`.
    pub name: String,
    /// The file it came from.
    pub file: String,
    /// Effective interval (ms).
    pub interval_ms: i64,
    /// Effective query offset (ms).
    pub query_offset_ms: i64,
    /// `limit:`.
    pub limit: i64,
    rules: Vec<Rule<E>>,
    previous: Mutex<Vec<SeriesSet>>,
    /// Outputs of rules removed by a reload, marked stale at the next evaluation.
    stale: Mutex<Vec<Labels>>,
    status: Mutex<GroupStatus>,
}

impl<E: Evaluator> Group<E> {
    /// Builds a group from its configuration. `restored` is passed to alerting rules (false
    /// at start-up, so `for` state is restored before `ALERTS` is written).
    pub fn from_config(
        file: &str,
        config: &RuleGroupConfig,
        default_interval_ms: i64,
        default_offset_ms: i64,
        restored: bool,
    ) -> Result<Self, String> {
        let mut rules = Vec::with_capacity(config.rules.len());
        for (i, rc) in config.rules.iter().enumerate() {
            let expr = E::parse(&rc.expr).map_err(|e| {
                format!(
                    "{file}: group {:?}, rule {}, {:?}: could not parse expression: {e}",
                    config.name,
                    i + 1,
                    rc.name()
                )
            })?;
            let mut labels = config.labels.clone();
            labels.extend(rc.labels.clone());
            let rule = if rc.alert.is_empty() {
                Rule::Recording(Arc::new(RecordingRule::new(&rc.record, expr, labels)))
            } else {
                Rule::Alerting(Arc::new(AlertingRule::new(
                    &rc.alert,
                    expr,
                    rc.for_.map_or(0, |d| d.as_millis()),
                    rc.keep_firing_for.map_or(0, |d| d.as_millis()),
                    labels,
                    rc.annotations.clone(),
                    restored,
                )))
            };
            rules.push(rule);
        }
        let interval_ms = config
            .interval
            .map(|d| d.as_millis())
            .filter(|&ms| ms > 0)
            .unwrap_or(default_interval_ms)
            .max(1);
        Ok(Self {
            name: config.name.clone(),
            file: file.to_owned(),
            interval_ms,
            query_offset_ms: config
                .query_offset
                .map_or(default_offset_ms, |d| d.as_millis()),
            limit: config.limit,
            previous: Mutex::new(vec![SeriesSet::new(); rules.len()]),
            stale: Mutex::new(Vec::new()),
            rules,
            status: Mutex::new(GroupStatus::default()),
        })
    }

    /// The rules, in evaluation order.
    pub fn rules(&self) -> &[Rule<E>] {
        &self.rules
    }

    /// Timing of the last evaluation.
    pub fn status(&self) -> GroupStatus {
        self.status.lock().clone()
    }

    /// The key that identifies the group across reloads.
    pub fn key(&self) -> String {
        format!("{};{}", self.file, self.name)
    }

    /// Deterministic phase of the group within its interval (ms), as Prometheus spreads
    /// groups ([`crate::schedule::group_offset_ms`]).
    pub fn offset_in_interval(&self) -> i64 {
        crate::schedule::group_offset_ms(&self.file, &self.name, self.interval_ms)
    }

    /// Takes over rule state, staleness tracking and timing from the group it replaces
    /// (Prometheus' `CopyState`): rules match by name and labels, duplicates in order; the
    /// outputs of old rules without a match get stale markers at the next evaluation.
    pub fn copy_state_from(&self, old: &Group<E>) {
        let old_prev = old.previous.lock().clone();
        let mut prev = self.previous.lock();
        let mut unmatched: Vec<usize> = (0..old.rules.len()).collect();
        for (i, rule) in self.rules.iter().enumerate() {
            let id = rule.identity();
            let Some(k) = unmatched
                .iter()
                .position(|&j| old.rules[j].identity() == id)
            else {
                continue;
            };
            let j = unmatched.remove(k);
            let old_rule = &old.rules[j];
            if let Some(set) = old_prev.get(j) {
                prev[i] = set.clone();
            }
            if let (Rule::Alerting(new), Rule::Alerting(old)) = (rule, old_rule) {
                new.copy_state_from(old);
            }
            rule.set_status(old_rule.status());
        }
        let mut stale = self.stale.lock();
        stale.extend(old.stale.lock().iter().cloned());
        for j in unmatched {
            if let Some(set) = old_prev.get(j) {
                stale.extend(set.iter().cloned());
            }
        }
        *self.status.lock() = old.status();
    }

    /// Evaluates every rule at `ts` (ms), appending each rule's output (with stale markers)
    /// to `store` before the next rule runs, so later rules see earlier results. Returns the
    /// alerts to send. Queries run on the blocking pool so heavy rules do not stall the HTTP
    /// server.
    pub async fn eval<S: RuleStore>(
        &self,
        ctx: &Arc<RuleContext<E>>,
        ts: i64,
        wall_ms: i64,
        resend_delay_ms: i64,
        store: &S,
    ) -> Vec<NotifyAlert> {
        let started = Instant::now();
        let mut to_send = Vec::new();
        let sample_ts = ts - self.query_offset_ms;
        for (i, rule) in self.rules.iter().enumerate() {
            let rule_started = Instant::now();
            let (job_rule, job_ctx) = (rule.clone(), Arc::clone(ctx));
            let (offset, limit) = (self.query_offset_ms, self.limit);
            let result =
                tokio::task::spawn_blocking(move || job_rule.eval(&job_ctx, ts, offset, limit))
                    .await
                    .unwrap_or_else(|e| Err(format!("rule evaluation panicked: {e}")));
            let mut status = RuleStatus {
                health: "ok",
                last_error: String::new(),
                last_evaluation_ms: wall_ms,
                evaluation_seconds: 0.0,
            };
            match result {
                Ok(output) => {
                    let current: SeriesSet = output.iter().map(|(l, _)| l.clone()).collect();
                    let mut batch: Vec<OutputSample> = output
                        .into_iter()
                        .map(|(labels, v)| OutputSample {
                            labels,
                            t: sample_ts,
                            v,
                        })
                        .collect();
                    {
                        let mut prev = self.previous.lock();
                        if let Some(old) = prev.get_mut(i) {
                            for gone in old.difference(&current) {
                                batch.push(OutputSample {
                                    labels: gone.clone(),
                                    t: sample_ts,
                                    v: stale_nan(),
                                });
                            }
                            *old = current;
                        }
                    }
                    if !batch.is_empty()
                        && let Err(e) = store.append(batch).await
                    {
                        tracing::warn!(group = %self.name, rule = %rule.name(), error = %e, "rule sample append failed");
                    }
                    if let Rule::Alerting(ar) = rule {
                        to_send.extend(
                            ar.alerts_to_send(ts, resend_delay_ms, self.interval_ms)
                                .iter()
                                .map(|a| {
                                    to_notify(
                                        a,
                                        ctx.evaluator.generator_url(&ctx.external_url, ar.query()),
                                    )
                                }),
                        );
                    }
                }
                Err(e) => {
                    tracing::warn!(group = %self.name, file = %self.file, rule = %rule.name(), error = %e, "evaluating rule failed");
                    status.health = "err";
                    status.last_error = e;
                }
            }
            status.evaluation_seconds = rule_started.elapsed().as_secs_f64();
            rule.set_status(status);
        }
        let gone: Vec<OutputSample> = std::mem::take(&mut *self.stale.lock())
            .into_iter()
            .map(|labels| OutputSample {
                labels,
                t: sample_ts,
                v: stale_nan(),
            })
            .collect();
        if !gone.is_empty()
            && let Err(e) = store.append(gone).await
        {
            tracing::warn!(group = %self.name, error = %e, "writing stale markers of removed rules failed");
        }
        *self.status.lock() = GroupStatus {
            last_evaluation_ms: wall_ms,
            evaluation_seconds: started.elapsed().as_secs_f64(),
            last_eval_ts: ts,
        };
        to_send
    }

    /// Stale markers at `ts` for every series the group's rules produced last time (a group
    /// that is removed or stopped).
    pub fn stale_markers(&self, ts: i64) -> Vec<OutputSample> {
        let mut prev = self.previous.lock();
        let mut out = Vec::new();
        for set in prev.iter_mut() {
            for labels in set.drain() {
                out.push(OutputSample {
                    labels,
                    t: ts,
                    v: stale_nan(),
                });
            }
        }
        out
    }

    /// Restores `for` state of the group's alerting rules from `ALERTS_FOR_STATE` within
    /// `[now - outage_tolerance, now]` (Prometheus' `RestoreForState`).
    pub fn restore_for_state<S: RuleStore>(
        &self,
        store: &S,
        now: i64,
        outage_tolerance_ms: i64,
        grace_period_ms: i64,
    ) {
        for rule in &self.rules {
            let Rule::Alerting(ar) = rule else { continue };
            let mut series: BTreeMap<Labels, (i64, f64)> = BTreeMap::new();
            match store.last_samples(&ar.for_state_matchers(), now - outage_tolerance_ms, now) {
                Ok(found) => {
                    for (labels, t, v) in found {
                        series.insert(labels.without_metric_name(), (t, v));
                    }
                }
                Err(e) => {
                    tracing::error!(rule = %ar.name(), error = %e, "failed to restore 'for' state");
                }
            }
            ar.restore(now, grace_period_ms, &series);
        }
    }
}

#[cfg(test)]
mod tests;
