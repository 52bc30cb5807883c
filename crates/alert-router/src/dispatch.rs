//! The dispatcher (`dispatch/dispatch.go`): aggregation groups per (route, group labels),
//! `group_wait` / `group_interval` timing on tokio's clock, and the notification pipeline
//! of each flush (`notify/notify.go`): inhibition → active/mute time intervals → silences,
//! then per integration: dedup against the notification log → send with retries → log.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use lgtm_common::labels::Labels;
use parking_lot::{Mutex, RwLock};
use tokio::sync::Notify;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::alert::{Alert, alert_order};
use crate::model::zero_time;
use crate::nflog::{EntryKey, needs_update};
use crate::notify::{IntegrationSlot, NotifyCtx, NotifyError, backoff};
use crate::route::RouteOpts;
use crate::state::{Core, Runtime};
use crate::timeinterval::any_contains;

/// Group identity inside one configuration: route id and group-label fingerprint.
pub type GroupId = (usize, u64);

/// One aggregation group.
#[derive(Debug)]
pub struct Group {
    /// Identity.
    pub id: GroupId,
    /// `<route key>:<group labels>`.
    pub key: String,
    /// Group labels.
    pub labels: Labels,
    /// Options of the route.
    pub opts: RouteOpts,
    alerts: Mutex<HashMap<u64, Arc<Alert>>>,
    has_flushed: AtomicBool,
    flush_now: Notify,
}

impl Group {
    /// The group's alerts now.
    pub fn alerts(&self) -> Vec<Arc<Alert>> {
        self.alerts.lock().values().cloned().collect()
    }
}

/// The dispatcher of one configuration; replaced on reload.
#[derive(Debug)]
pub struct Dispatcher {
    groups: RwLock<HashMap<GroupId, Arc<Group>>>,
    cancel: CancellationToken,
    runtime: Arc<Runtime>,
}

impl Dispatcher {
    /// Starts a dispatcher and feeds it every stored alert.
    pub fn start(core: &Arc<Core>, runtime: Arc<Runtime>, parent: &CancellationToken) -> Arc<Self> {
        let d = Arc::new(Self {
            groups: RwLock::new(HashMap::new()),
            cancel: parent.child_token(),
            runtime,
        });
        d.insert(core, &core.alerts.list());
        d
    }

    /// A dispatcher with no groups, replaced right after the state is built.
    pub(crate) fn placeholder(runtime: Arc<Runtime>) -> Self {
        Self {
            groups: RwLock::new(HashMap::new()),
            cancel: CancellationToken::new(),
            runtime,
        }
    }

    /// Stops every group task.
    pub fn stop(&self) {
        self.cancel.cancel();
    }

    /// Current groups.
    pub fn groups(&self) -> Vec<Arc<Group>> {
        self.groups.read().values().cloned().collect()
    }

    /// The configuration this dispatcher runs.
    pub fn runtime(&self) -> &Arc<Runtime> {
        &self.runtime
    }

    /// Routes alerts into their groups, creating groups (and their timers) as needed.
    pub fn insert(self: &Arc<Self>, core: &Arc<Core>, alerts: &[Arc<Alert>]) {
        let now = core.clock.now();
        let mut groups = self.groups.write();
        for alert in alerts {
            for route in self.runtime.config.route.match_labels(&alert.labels) {
                let labels = route.group_labels(&alert.labels);
                let id = (route.id, labels.fingerprint());
                let group = groups.entry(id).or_insert_with(|| {
                    let g = Arc::new(Group {
                        id,
                        key: format!("{}:{}", route.key, labels),
                        labels: labels.clone(),
                        opts: route.opts.clone(),
                        alerts: Mutex::new(HashMap::new()),
                        has_flushed: AtomicBool::new(false),
                        flush_now: Notify::new(),
                    });
                    // The group_wait timer starts now, at creation (as `newAggrGroup` arms
                    // it), not when the task is first polled.
                    let first = Instant::now() + g.opts.group_wait;
                    tokio::spawn(run_group(g.clone(), core.clone(), self.clone(), first));
                    g
                });
                group.alerts.lock().insert(alert.fingerprint, alert.clone());
                // An old alert (e.g. re-sent after a restart) in a group that never
                // flushed notifies at once (0.25 `aggrGroup.insert`).
                let wait = chrono::Duration::from_std(group.opts.group_wait).unwrap_or_default();
                if !group.has_flushed.load(Ordering::SeqCst) && alert.starts_at + wait < now {
                    group.flush_now.notify_one();
                }
            }
        }
    }

    /// Removes the group if it holds no alert; true when removed.
    fn remove_if_empty(&self, g: &Group) -> bool {
        let mut groups = self.groups.write();
        if g.alerts.lock().is_empty() {
            groups.remove(&g.id);
            true
        } else {
            false
        }
    }
}

async fn run_group(g: Arc<Group>, core: Arc<Core>, disp: Arc<Dispatcher>, first: Instant) {
    let mut next = first;
    loop {
        tokio::select! {
            () = disp.cancel.cancelled() => return,
            () = tokio::time::sleep_until(next) => {}
            () = g.flush_now.notified() => {
                if g.has_flushed.load(Ordering::SeqCst) {
                    continue;
                }
            }
        }
        let tick = core.clock.now();
        next = Instant::now() + g.opts.group_interval;
        g.has_flushed.store(true, Ordering::SeqCst);
        let timeout = g.opts.group_interval.max(Duration::from_secs(10)) + core.peer_wait();
        let deadline = Instant::now() + timeout;
        tokio::select! {
            () = disp.cancel.cancelled() => return,
            () = flush(&g, &core, &disp.runtime, tick, deadline) => {}
        }
        if disp.remove_if_empty(&g) {
            return;
        }
    }
}

async fn flush(
    g: &Group,
    core: &Arc<Core>,
    rt: &Arc<Runtime>,
    tick: DateTime<Utc>,
    deadline: Instant,
) {
    let snapshot = g.alerts();
    if snapshot.is_empty() {
        return;
    }
    let now = core.clock.now();
    // The one copy of each alert per flush: firing ones get a zero `endsAt` so that they do
    // not resolve while the notification is under way (`aggrGroup.flush`).
    let mut alerts: Vec<Alert> = snapshot
        .iter()
        .map(|a| {
            let mut c = (**a).clone();
            if !c.resolved_at(now) {
                c.ends_at = zero_time();
            }
            c
        })
        .collect();
    drop(snapshot);
    alerts.sort_by(alert_order);
    let resolved: Vec<(u64, DateTime<Utc>)> = alerts
        .iter()
        .filter(|a| a.resolved_at(now))
        .map(|a| (a.fingerprint, a.updated_at))
        .collect();
    if pipeline(g, core, rt, alerts, tick, deadline).await && !resolved.is_empty() {
        let mut current = g.alerts.lock();
        for (fp, updated_at) in resolved {
            if current.get(&fp).is_some_and(|c| c.updated_at == updated_at) {
                current.remove(&fp);
            }
        }
    }
}

/// Runs the stages; true when every integration succeeded (or nothing had to be sent).
async fn pipeline(
    g: &Group,
    core: &Arc<Core>,
    rt: &Arc<Runtime>,
    mut alerts: Vec<Alert>,
    tick: DateTime<Utc>,
    deadline: Instant,
) -> bool {
    let now = core.clock.now();
    alerts.retain(|a| rt.inhibitor.inhibited_by(&a.labels, now).is_none());
    if alerts.is_empty() {
        return true;
    }
    let intervals = |names: &[String]| -> Vec<crate::timeinterval::TimeInterval> {
        names
            .iter()
            .filter_map(|n| rt.config.time_intervals.get(n))
            .flatten()
            .cloned()
            .collect()
    };
    if !g.opts.active_time_intervals.is_empty()
        && !any_contains(&intervals(&g.opts.active_time_intervals), tick)
    {
        tracing::debug!(group = %g.key, "outside active time intervals; not notifying");
        return true;
    }
    if !g.opts.mute_time_intervals.is_empty()
        && any_contains(&intervals(&g.opts.mute_time_intervals), tick)
    {
        tracing::debug!(group = %g.key, "inside mute time intervals; not notifying");
        return true;
    }
    alerts.retain(|a| core.silences.silenced_by(&a.labels, now).is_empty());
    if alerts.is_empty() {
        return true;
    }
    let Some(integrations) = rt.receivers.get(&g.opts.receiver) else {
        return true;
    };
    let ctx = NotifyCtx {
        group_key: g.key.clone(),
        receiver: g.opts.receiver.clone(),
        group_labels: g.labels.clone(),
        external_url: core.external_url.clone(),
        now: tick,
        deadline,
        reason: "",
        receiver_data: std::collections::BTreeMap::new(),
    };
    let results = futures::future::join_all(
        integrations
            .iter()
            .map(|slot| integration_stage(core, slot, &ctx, &alerts, g.opts.repeat_interval)),
    )
    .await;
    results.into_iter().all(|ok| ok)
}

async fn integration_stage(
    core: &Arc<Core>,
    slot: &IntegrationSlot,
    ctx: &NotifyCtx,
    alerts: &[Alert],
    repeat: Duration,
) -> bool {
    // HA: settle first, then replica N waits N × peer_timeout and sees what the others
    // already sent.
    let waited_from = Instant::now();
    if let Some(c) = &core.cluster {
        c.settled().await;
    }
    let wait = core.peer_wait();
    if !wait.is_zero() {
        tokio::time::sleep(wait).await;
    }
    let now = core.clock.now();
    let (mut firing, mut resolved) = (Vec::new(), Vec::new());
    for a in alerts {
        if a.resolved_at(now) {
            resolved.push(a.labels.fingerprint());
        } else {
            firing.push(a.labels.fingerprint());
        }
    }
    firing.sort_unstable();
    resolved.sort_unstable();
    let key = EntryKey {
        group_key: ctx.group_key.clone(),
        receiver: ctx.receiver.clone(),
        integration: slot.name.to_owned(),
        idx: slot.idx,
    };
    let entry = core.nflog.get(&key, now);
    let Some(reason) = needs_update(
        entry.as_ref(),
        &firing,
        &resolved,
        slot.send_resolved,
        repeat,
        now,
    ) else {
        return true;
    };
    // Copy only when resolved alerts must be left out.
    let to_send: std::borrow::Cow<'_, [Alert]> = if slot.send_resolved || resolved.is_empty() {
        std::borrow::Cow::Borrowed(alerts)
    } else {
        alerts
            .iter()
            .filter(|a| !a.resolved_at(now))
            .cloned()
            .collect()
    };
    let previous_data = entry.map(|e| e.receiver_data).unwrap_or_default();
    let mut receiver_data = previous_data.clone();
    if !to_send.is_empty() {
        core.metrics.notification(slot.name);
        let ctx = NotifyCtx {
            reason,
            receiver_data: previous_data,
            // Time spent settling and waiting for peers does not eat the sending budget.
            deadline: ctx.deadline + (Instant::now() - waited_from),
            ..ctx.clone()
        };
        // Between retries, a peer may have notified meanwhile (HA): stop if so.
        let still_needed = || {
            let e = core.nflog.get(&key, core.clock.now());
            needs_update(
                e.as_ref(),
                &firing,
                &resolved,
                slot.send_resolved,
                repeat,
                core.clock.now(),
            )
            .is_some()
        };
        match send_with_retries(core, slot, &ctx, &to_send, still_needed).await {
            Ok(Some(data)) => receiver_data = data,
            Ok(None) => {
                tracing::debug!(receiver = %ctx.receiver, group = %ctx.group_key, "a peer notified meanwhile; not retrying");
                return true;
            }
            Err(e) => {
                core.metrics.notification_failed(slot.name);
                tracing::error!(receiver = %ctx.receiver, integration = slot.name, idx = slot.idx, group = %ctx.group_key, error = %e, "notify failed");
                return false;
            }
        }
        tracing::debug!(receiver = %ctx.receiver, integration = slot.name, group = %ctx.group_key, reason, alerts = to_send.len(), "notified");
    }
    core.nflog
        .log(key, firing, resolved, receiver_data, core.clock.now());
    core.cluster_changed();
    true
}

async fn send_with_retries(
    core: &Arc<Core>,
    slot: &IntegrationSlot,
    ctx: &NotifyCtx,
    alerts: &[Alert],
    still_needed: impl Fn() -> bool,
) -> Result<Option<std::collections::BTreeMap<String, serde_json::Value>>, NotifyError> {
    let mut attempt = 0u32;
    loop {
        if attempt > 0 && !still_needed() {
            return Ok(None);
        }
        core.metrics.request(slot.name);
        match slot.notify(ctx, alerts, &core.client).await {
            Ok(data) => return Ok(Some(data)),
            Err(e) => {
                core.metrics.request_failed(slot.name);
                if !e.retry {
                    return Err(e);
                }
                let wait = e.retry_after.unwrap_or_else(|| backoff(attempt));
                attempt += 1;
                if Instant::now() + wait >= ctx.deadline {
                    return Err(NotifyError::permanent(format!(
                        "{} (after {attempt} attempts)",
                        e.message
                    )));
                }
                tracing::debug!(integration = slot.name, error = %e.message, wait_ms = wait.as_millis() as u64, "retrying");
                tokio::time::sleep(wait).await;
            }
        }
    }
}
