//! The group and alert state machine against a fake evaluator: timings are Prometheus'
//! (`rules/alerting.go`, `rules/group.go`).

use std::collections::BTreeMap;
use std::sync::Arc;

use lgtm_common::labels::Labels;

use super::*;
use crate::alerting::AlertState;
use crate::eval::is_stale_nan;
use crate::file::parse_rule_file;
use crate::template::GoTemplates;
use crate::testing::{FakeEval, FakeStore, context};

const MIN: i64 = 60_000;

struct Harness {
    eval: FakeEval,
    store: FakeStore,
    ctx: Arc<RuleContext<FakeEval>>,
    group: Group<FakeEval>,
}

fn group(rules: &str, restored: bool) -> Group<FakeEval> {
    let file = parse_rule_file::<FakeEval>("r.yml", rules, &GoTemplates::checker()).unwrap();
    Group::from_config("r.yml", &file.groups[0], MIN, 0, restored).unwrap()
}

impl Harness {
    fn new(rules: &str) -> Self {
        let eval = FakeEval::default();
        Self {
            ctx: context(&eval),
            eval,
            store: FakeStore::default(),
            group: group(rules, true),
        }
    }

    /// Evaluates at `t`; returns (written samples, alerts to send).
    async fn eval(&self, t: i64) -> (Vec<OutputSample>, Vec<NotifyAlert>) {
        let sent = self.group.eval(&self.ctx, t, t, MIN, &self.store).await;
        (self.store.take(), sent)
    }

    fn rule(&self) -> Arc<AlertingRule<FakeEval>> {
        match &self.group.rules()[0] {
            Rule::Alerting(a) => Arc::clone(a),
            Rule::Recording(_) => panic!("not an alerting rule"),
        }
    }
}

fn series(written: &[OutputSample], name: &str) -> Vec<(String, f64)> {
    written
        .iter()
        .filter(|s| s.labels.metric_name() == Some(name))
        .map(|s| (s.labels.get_or_empty("alertstate").to_owned(), s.v))
        .collect()
}

const LOAD: &str = r#"
groups:
  - name: g
    rules:
      - alert: HighLoad
        expr: load
        for: 2m
        keep_firing_for: 1m
        labels:
          severity: "{{ if gt $value 5.0 }}critical{{ else }}warning{{ end }}"
        annotations:
          summary: "load on {{ $labels.host }} is {{ $value }} in {{ $externalLabels.cluster }}"
"#;

#[tokio::test]
async fn pending_then_firing_then_resolved_with_prometheus_timing() {
    let h = Harness::new(LOAD);
    h.eval
        .set("load", &[(&[("__name__", "load"), ("host", "a")], 3.0)]);
    // t=0: pending; not sent; ALERTS{alertstate="pending"} = 1, ALERTS_FOR_STATE = activeAt.
    let (written, sent) = h.eval(0).await;
    assert!(sent.is_empty());
    let alerts = h.rule().alerts();
    assert_eq!(alerts[0].state, AlertState::Pending);
    assert_eq!(
        alerts[0].labels,
        Labels::from_pairs([
            ("alertname", "HighLoad"),
            ("host", "a"),
            ("severity", "warning")
        ])
    );
    assert_eq!(alerts[0].annotations["summary"], "load on a is 3 in eu1");
    assert_eq!(series(&written, "ALERTS"), [("pending".to_owned(), 1.0)]);
    assert_eq!(series(&written, "ALERTS_FOR_STATE"), [(String::new(), 0.0)]);
    // 1m: still pending (1m < for 2m).
    assert!(h.eval(MIN).await.1.is_empty());
    assert_eq!(h.rule().state_name(), "pending");
    // 2m: fires; sent with startsAt = fire time, endsAt = t + 4 * max(interval, resend).
    let (written, sent) = h.eval(2 * MIN).await;
    assert_eq!(sent.len(), 1);
    assert_eq!((sent[0].starts_at, sent[0].ends_at), (2 * MIN, 6 * MIN));
    assert_eq!(
        sent[0].generator_url,
        "http://prom.example:9090/graph?g0.expr=load&g0.tab=1"
    );
    // The pending series goes stale, the firing one appears; ALERTS_FOR_STATE keeps activeAt.
    let alerts_series = series(&written, "ALERTS");
    assert!(
        alerts_series.contains(&("firing".to_owned(), 1.0)),
        "{alerts_series:?}"
    );
    assert!(
        alerts_series
            .iter()
            .any(|(state, v)| state == "pending" && is_stale_nan(*v)),
        "{alerts_series:?}"
    );
    // 3m: not re-sent before the resend delay (sent at 2m, delay 1m: 2m + 1m is not < 3m).
    assert!(h.eval(3 * MIN).await.1.is_empty());
    // 4m: the expression stops returning it; keep_firing_for (1m) keeps it firing, and the
    // resend delay has passed, so it is re-sent.
    h.eval.set("load", &[]);
    let (_, sent) = h.eval(4 * MIN).await;
    assert_eq!(sent.len(), 1);
    let a = &h.rule().alerts()[0];
    assert_eq!(
        (a.state, a.keep_firing_since),
        (AlertState::Firing, Some(4 * MIN))
    );
    // 5m: keep_firing_for has elapsed: resolved, sent with endsAt = resolution time.
    let (written, sent) = h.eval(5 * MIN).await;
    assert_eq!(sent.len(), 1);
    assert_eq!((sent[0].starts_at, sent[0].ends_at), (2 * MIN, 5 * MIN));
    assert!(written.iter().all(|s| is_stale_nan(s.v)), "{written:?}");
    assert_eq!(h.rule().state_name(), "inactive");
    assert!(h.rule().active_alerts().is_empty());
    // The resolved alert is re-sent after the resend delay, then forgotten after 15 minutes.
    assert!(h.eval(6 * MIN).await.1.is_empty());
    assert_eq!(h.eval(7 * MIN).await.1.len(), 1);
    h.eval(20 * MIN).await;
    assert_eq!(
        h.rule().alerts().len(),
        1,
        "kept up to 15m after resolution"
    );
    h.eval(21 * MIN).await;
    assert!(h.rule().alerts().is_empty());
}

#[tokio::test]
async fn keep_firing_for_restarts_when_the_condition_returns() {
    let rules = "groups: [{name: g, rules: [{alert: A, expr: x, keep_firing_for: 2m}]}]";
    let h = Harness::new(rules);
    let on: &[(&[(&str, &str)], f64)] = &[(&[("k", "v")], 1.0)];
    h.eval.set("x", on);
    // No `for`: firing at the first evaluation.
    assert_eq!(h.eval(0).await.1.len(), 1);
    h.eval.set("x", &[]);
    h.eval(MIN).await;
    assert_eq!(h.rule().alerts()[0].keep_firing_since, Some(MIN));
    // Back before keep_firing_for ran out: the clock resets.
    h.eval.set("x", on);
    h.eval(2 * MIN).await;
    assert_eq!(h.rule().alerts()[0].keep_firing_since, None);
    h.eval.set("x", &[]);
    for t in [3, 4] {
        h.eval(t * MIN).await;
        assert_eq!(h.rule().alerts()[0].state, AlertState::Firing, "at {t}m");
    }
    // 3m + 2m: resolved exactly when keep_firing_for has passed.
    h.eval(5 * MIN).await;
    let a = &h.rule().alerts()[0];
    assert_eq!(
        (a.state, a.resolved_at),
        (AlertState::Inactive, Some(5 * MIN))
    );
}

#[tokio::test]
async fn pending_alert_that_clears_is_dropped_silently() {
    let h = Harness::new(LOAD);
    h.eval.set("load", &[(&[("host", "b")], 9.0)]);
    h.eval(0).await;
    // Labels are templated on the value.
    assert_eq!(
        h.rule().alerts()[0].labels.get("severity"),
        Some("critical")
    );
    h.eval.set("load", &[]);
    let (written, sent) = h.eval(MIN).await;
    assert!(sent.is_empty());
    assert!(h.rule().alerts().is_empty());
    // Its ALERTS and ALERTS_FOR_STATE series get stale markers.
    assert_eq!(written.len(), 2);
    assert!(written.iter().all(|s| is_stale_nan(s.v)));
}

#[tokio::test]
async fn alert_limit_exceeded_fails_the_rule_and_drops_its_alerts() {
    let rules = "groups: [{name: g, limit: 1, rules: [{alert: A, expr: x}]}]";
    let h = Harness::new(rules);
    h.eval.set("x", &[(&[("i", "1")], 1.0)]);
    assert_eq!(h.eval(0).await.1.len(), 1);
    assert_eq!(h.group.rules()[0].status().health, "ok");
    h.eval
        .set("x", &[(&[("i", "1")], 1.0), (&[("i", "2")], 1.0)]);
    let (written, sent) = h.eval(MIN).await;
    let status = h.group.rules()[0].status();
    assert_eq!(status.health, "err");
    assert_eq!(status.last_error, "exceeded limit of 1 with 2 alerts");
    assert!(h.rule().alerts().is_empty());
    assert!(sent.is_empty());
    // The previous outputs are not marked stale by a failed evaluation.
    assert!(written.is_empty());
    // Back under the limit: evaluates again, and the alert starts over.
    h.eval.set("x", &[(&[("i", "1")], 1.0)]);
    h.eval(2 * MIN).await;
    assert_eq!(h.group.rules()[0].status().health, "ok");
    assert_eq!(h.rule().alerts()[0].active_at, 2 * MIN);
}

#[tokio::test]
async fn recording_rules_write_outputs_stale_markers_and_honour_limit() {
    let rules = r#"
groups:
  - name: rec
    limit: 2
    labels: {team: db}
    rules:
      - record: job:up:sum
        expr: up_by_job
        labels: {team: infra, drop_me: ""}
"#;
    let h = Harness::new(rules);
    h.eval.set(
        "up_by_job",
        &[
            (&[("job", "a"), ("drop_me", "x")], 2.0),
            (&[("job", "b")], 1.0),
        ],
    );
    let (written, _) = h.eval(0).await;
    let got: Vec<String> = written
        .iter()
        .map(|s| format!("{} {}", s.labels, s.v))
        .collect();
    assert_eq!(
        got,
        [
            r#"{__name__="job:up:sum", job="a", team="infra"} 2"#,
            r#"{__name__="job:up:sum", job="b", team="infra"} 1"#
        ]
    );
    h.eval.set("up_by_job", &[(&[("job", "a")], 3.0)]);
    let (written, _) = h.eval(MIN).await;
    assert_eq!(written.len(), 2);
    assert_eq!(written[1].labels.get("job"), Some("b"));
    assert!(is_stale_nan(written[1].v));
    h.eval.set(
        "up_by_job",
        &[
            (&[("job", "a")], 1.0),
            (&[("job", "b")], 1.0),
            (&[("job", "c")], 1.0),
        ],
    );
    h.eval(2 * MIN).await;
    assert_eq!(
        h.group.rules()[0].status().last_error,
        "exceeded limit 2 with 3 series"
    );
    // Duplicate output label sets are an error, as in Prometheus.
    h.eval.set(
        "up_by_job",
        &[(&[("drop_me", "1")], 1.0), (&[("drop_me", "2")], 1.0)],
    );
    h.eval(3 * MIN).await;
    assert_eq!(
        h.group.rules()[0].status().last_error,
        "vector contains metrics with the same labelset after applying rule labels"
    );
}

#[tokio::test]
async fn query_offset_shifts_queries_and_output_timestamps() {
    let rules = "groups: [{name: g, query_offset: 1m, rules: [{record: y, expr: x}]}]";
    let h = Harness::new(rules);
    h.eval.set("x", &[(&[], 7.0)]);
    let (written, _) = h.eval(5 * MIN).await;
    assert_eq!(h.eval.queries(), [("x".to_owned(), 4 * MIN)]);
    assert_eq!(written[0].t, 4 * MIN);
}

#[tokio::test]
async fn failing_query_marks_the_rule_unhealthy_and_later_rules_still_run() {
    let rules = "groups: [{name: g, rules: [{record: a, expr: fail}, {record: b, expr: x}]}]";
    let h = Harness::new(rules);
    h.eval.set("x", &[(&[], 1.0)]);
    let (written, _) = h.eval(0).await;
    assert_eq!(h.group.rules()[0].status().health, "err");
    assert_eq!(h.group.rules()[0].status().last_error, "query failed");
    assert_eq!(h.group.rules()[1].status().health, "ok");
    assert_eq!(written.len(), 1);
}

#[tokio::test]
async fn for_state_is_restored_from_alerts_for_state() {
    let rules = "groups: [{name: g, rules: [{alert: A, expr: x, for: 30m}]}]";
    let eval = FakeEval::default();
    let ctx = context(&eval);
    let store = FakeStore::default();
    let g = group(rules, false);
    let now = 100 * MIN;
    eval.set("x", &[(&[("k", "v")], 1.0)]);
    // Before restoration the state machine runs but writes no ALERTS series.
    g.eval(&ctx, now, now, MIN, &store).await;
    assert!(store.take().is_empty());
    // Down at now-5m after 10m pending (activeAt now-15m): 20m of `for` remain, more than the
    // grace period, so activeAt moves forward by the 5m downtime.
    let for_state = Labels::from_pairs([
        ("__name__", "ALERTS_FOR_STATE"),
        ("alertname", "A"),
        ("k", "v"),
    ]);
    store.samples.lock().push(OutputSample {
        labels: for_state.clone(),
        t: now - 5 * MIN,
        v: ((now - 15 * MIN) / 1000) as f64,
    });
    g.restore_for_state(&store, now, 60 * MIN, 10 * MIN);
    let Rule::Alerting(ar) = &g.rules()[0] else {
        panic!()
    };
    assert!(ar.restored());
    assert_eq!(ar.alerts()[0].active_at, now - 10 * MIN);
    // Only 5m of `for` left (< 10m grace): fires one grace period after the restart.
    let series = BTreeMap::from([(
        for_state.without_metric_name(),
        (now - MIN, ((now - 26 * MIN) / 1000) as f64),
    )]);
    ar.restore(now, 10 * MIN, &series);
    assert_eq!(ar.alerts()[0].active_at, now + 10 * MIN - 30 * MIN);
    // Samples older than the outage tolerance are not used.
    let g2 = group(rules, false);
    g2.eval(&ctx, now, now, MIN, &store).await;
    g2.restore_for_state(&store, now, 4 * MIN, 10 * MIN);
    let Rule::Alerting(ar2) = &g2.rules()[0] else {
        panic!()
    };
    assert_eq!(ar2.alerts()[0].active_at, now);
    // After restoration ALERTS is written.
    g2.eval(&ctx, now + MIN, now + MIN, MIN, &store).await;
    assert!(!series_of(&store.take(), "ALERTS").is_empty());
}

fn series_of(written: &[OutputSample], name: &str) -> Vec<OutputSample> {
    written
        .iter()
        .filter(|s| s.labels.metric_name() == Some(name))
        .cloned()
        .collect()
}

#[tokio::test]
async fn reload_keeps_alert_state_of_unchanged_rules() {
    let h = Harness::new(LOAD);
    h.eval.set("load", &[(&[("host", "a")], 3.0)]);
    h.eval(0).await;
    let reloaded = group(LOAD, true);
    reloaded.copy_state_from(&h.group);
    let Rule::Alerting(ar) = &reloaded.rules()[0] else {
        panic!()
    };
    assert_eq!(ar.alerts()[0].active_at, 0);
    // A changed expression or `for` keeps the state (Prometheus matches name and labels).
    let changed = group(&LOAD.replace("for: 2m", "for: 3m"), true);
    changed.copy_state_from(&h.group);
    let Rule::Alerting(ar) = &changed.rules()[0] else {
        panic!()
    };
    assert_eq!(ar.alerts().len(), 1);
}

#[tokio::test]
async fn outputs_of_rules_removed_by_a_reload_go_stale() {
    let before = "groups: [{name: g, rules: [{record: a, expr: x}, {record: b, expr: x}]}]";
    let h = Harness::new(before);
    h.eval.set("x", &[(&[("k", "v")], 1.0)]);
    assert_eq!(h.eval(0).await.0.len(), 2);
    let after = group("groups: [{name: g, rules: [{record: b, expr: x}]}]", true);
    after.copy_state_from(&h.group);
    after.eval(&h.ctx, MIN, MIN, MIN, &h.store).await;
    let written = h.store.take();
    let got: Vec<(String, bool)> = written
        .iter()
        .map(|s| (s.labels.to_string(), is_stale_nan(s.v)))
        .collect();
    assert_eq!(
        got,
        [
            (r#"{__name__="b", k="v"}"#.to_owned(), false),
            (r#"{__name__="a", k="v"}"#.to_owned(), true)
        ]
    );
    assert!(written.iter().all(|s| s.t == MIN));
}

#[test]
fn group_labels_merge_under_rule_labels_and_defaults_apply() {
    let rules = "groups: [{name: g, labels: {team: db, env: prod}, rules: [{record: y, expr: x, labels: {env: dev}}]}]";
    let g = group(rules, true);
    let Rule::Recording(r) = &g.rules()[0] else {
        panic!()
    };
    assert_eq!(
        r.labels(),
        &BTreeMap::from([
            ("env".to_owned(), "dev".to_owned()),
            ("team".to_owned(), "db".to_owned())
        ])
    );
    assert_eq!((g.interval_ms, g.query_offset_ms), (MIN, 0));
    assert!((0..MIN).contains(&g.offset_in_interval()));
}
