//! PromQL rules end to end over the in-memory store: lookback, template `query`, query
//! offset and `for`-state restore through real series (the state machine itself is tested
//! with a fake evaluator in `lgtm-rules`).

use std::collections::BTreeMap;
use std::sync::Arc;

use lgtm_common::labels::Labels;
use lgtm_promql::storage::{MemStorage, Queryable};
use lgtm_promql::value::is_stale_nan;
use lgtm_promql::{Engine, EngineOptions};
use lgtm_rules::OutputSample;

use super::context::MemRuleStore;
use super::*;

const MIN: i64 = 60_000;

struct Harness {
    storage: Arc<MemStorage>,
    ctx: Arc<RuleContext>,
    group: Group,
}

impl Harness {
    fn new(rules: &str) -> Self {
        let storage = Arc::new(MemStorage::new());
        let queryable: Arc<dyn Queryable> = Arc::clone(&storage) as Arc<dyn Queryable>;
        let ctx = Arc::new(promql_context(
            Engine::new(EngineOptions::default()),
            queryable,
            BTreeMap::from([("cluster".to_owned(), "eu1".to_owned())]),
            "http://prom.example:9090".to_owned(),
        ));
        let file = parse_rule_file("r.yml", rules).unwrap();
        let group = Group::from_config("r.yml", &file.groups[0], MIN, 0, true).unwrap();
        Self {
            storage,
            ctx,
            group,
        }
    }

    fn add(&self, series: &[(&str, &str)], t: i64, v: f64) {
        self.storage
            .add_float(&Labels::from_pairs(series.iter().copied()), t, v);
    }

    /// Evaluates at `t`, storing outputs; returns (written samples, alerts to send).
    async fn eval(&self, t: i64) -> (Vec<OutputSample>, Vec<NotifyAlert>) {
        let store = Recording::new(&self.storage);
        let alerts = self.group.eval(&self.ctx, t, t, MIN, &store).await;
        let out = store.written.lock().clone();
        (out, alerts)
    }

    fn alerting(&self) -> Arc<AlertingRule> {
        match &self.group.rules()[0] {
            Rule::Alerting(a) => Arc::clone(a),
            Rule::Recording(_) => panic!("not an alerting rule"),
        }
    }
}

/// Writes into the in-memory store and remembers what was written.
struct Recording {
    store: MemRuleStore,
    written: parking_lot::Mutex<Vec<OutputSample>>,
}

impl Recording {
    fn new(storage: &Arc<MemStorage>) -> Self {
        Self {
            store: MemRuleStore(Arc::clone(storage)),
            written: parking_lot::Mutex::new(Vec::new()),
        }
    }
}

impl lgtm_rules::RuleStore for Recording {
    async fn append(&self, batch: Vec<OutputSample>) -> Result<(), String> {
        self.written.lock().extend(batch.iter().cloned());
        self.store.append(batch).await
    }

    fn last_samples(
        &self,
        matchers: &[lgtm_common::labels::Matcher],
        start_ms: i64,
        end_ms: i64,
    ) -> Result<Vec<(Labels, i64, f64)>, String> {
        self.store.last_samples(matchers, start_ms, end_ms)
    }
}

const ALERT_RULES: &str = r#"
groups:
  - name: g
    rules:
      - alert: HighLoad
        expr: load > 1
        for: 2m
        keep_firing_for: 1m
        labels:
          severity: "{{ if gt $value 5.0 }}critical{{ else }}warning{{ end }}"
        annotations:
          summary: "load on {{ $labels.host }} is {{ $value }} in {{ $externalLabels.cluster }}"
"#;

#[tokio::test]
async fn alert_lifecycle_follows_prometheus() {
    let h = Harness::new(ALERT_RULES);
    let host = [("__name__", "load"), ("host", "a")];
    for m in 0..=3 {
        h.add(&host, m * MIN, 3.0);
    }
    // t=0: pending, nothing sent, ALERTS{alertstate="pending"} and ALERTS_FOR_STATE written.
    let (written, sent) = h.eval(0).await;
    assert!(sent.is_empty());
    let alerts = h.alerting().alerts();
    assert_eq!(alerts.len(), 1);
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
    let names: Vec<String> = written.iter().map(|s| s.labels.to_string()).collect();
    assert!(names.contains(&r#"{__name__="ALERTS", alertname="HighLoad", alertstate="pending", host="a", severity="warning"}"#.to_owned()), "{names:?}");
    let for_state = written
        .iter()
        .find(|s| s.labels.metric_name() == Some("ALERTS_FOR_STATE"))
        .unwrap();
    assert_eq!((for_state.t, for_state.v), (0, 0.0));
    // t=1m still pending; t=2m fires and is sent with endsAt = t + 4 * max(1m, 1m).
    assert!(h.eval(MIN).await.1.is_empty());
    let (written, sent) = h.eval(2 * MIN).await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].starts_at, 2 * MIN);
    assert_eq!(sent[0].ends_at, 2 * MIN + 4 * MIN);
    assert_eq!(
        sent[0].generator_url,
        "http://prom.example:9090/graph?g0.expr=load+%3E+1&g0.tab=1"
    );
    // The pending ALERTS series goes stale when it turns firing.
    assert!(
        written
            .iter()
            .any(|s| s.labels.get("alertstate") == Some("pending") && is_stale_nan(s.v))
    );
    assert!(
        written
            .iter()
            .any(|s| s.labels.get("alertstate") == Some("firing") && s.v == 1.0)
    );
    // Not re-sent before the resend delay (1m) has passed.
    assert!(h.eval(3 * MIN).await.1.is_empty());
    // Condition gone at 4m (lookback keeps t=3m visible for 5m, so remove the data).
    h.storage.clear();
    let (_, sent) = h.eval(4 * MIN).await;
    // keep_firing_for 1m: still firing, resent since lastSent (2m) + 1m < 4m.
    assert_eq!(sent.len(), 1);
    let alerts = h.alerting().alerts();
    assert_eq!(alerts[0].state, AlertState::Firing);
    assert_eq!(alerts[0].keep_firing_since, Some(4 * MIN));
    // 5m: keep_firing_for elapsed: resolved and sent with endsAt = resolve time.
    let (written, sent) = h.eval(5 * MIN).await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].ends_at, 5 * MIN);
    assert_eq!(sent[0].starts_at, 2 * MIN);
    assert!(written.iter().all(|s| is_stale_nan(s.v)), "{written:?}");
    assert_eq!(h.alerting().state_name(), "inactive");
    assert!(h.alerting().active_alerts().is_empty());
    // Resolved alerts are re-sent after the resend delay, then dropped after 15 minutes.
    assert!(h.eval(6 * MIN).await.1.is_empty());
    assert_eq!(h.eval(7 * MIN).await.1.len(), 1);
    h.eval(21 * MIN).await;
    assert!(h.alerting().alerts().is_empty());
}

#[tokio::test]
async fn pending_alert_that_clears_is_dropped_silently_and_labels_template_on_value() {
    let h = Harness::new(ALERT_RULES);
    h.add(&[("__name__", "load"), ("host", "b")], 0, 9.0);
    h.eval(0).await;
    assert_eq!(
        h.alerting().alerts()[0].labels.get("severity"),
        Some("critical")
    );
    h.storage.clear();
    let (_, sent) = h.eval(MIN).await;
    assert!(sent.is_empty());
    assert!(h.alerting().alerts().is_empty());
}

#[tokio::test]
async fn recording_rules_write_series_and_stale_markers_and_honour_limit() {
    let rules = r#"
groups:
  - name: rec
    limit: 2
    rules:
      - record: job:up:sum
        expr: sum by (job) (up)
        labels: {team: infra}
      - record: job:up:doubled
        expr: job:up:sum * 2
"#;
    let h = Harness::new(rules);
    h.add(&[("__name__", "up"), ("job", "a"), ("i", "1")], 0, 1.0);
    h.add(&[("__name__", "up"), ("job", "a"), ("i", "2")], 0, 1.0);
    h.add(&[("__name__", "up"), ("job", "b"), ("i", "1")], 0, 1.0);
    let (written, _) = h.eval(0).await;
    let sum_a = written
        .iter()
        .find(|s| s.labels.to_string() == r#"{__name__="job:up:sum", job="a", team="infra"}"#)
        .unwrap();
    assert_eq!((sum_a.t, sum_a.v), (0, 2.0));
    // The second rule sees the first one's output of the same evaluation.
    let doubled = written
        .iter()
        .find(|s| {
            s.labels.metric_name() == Some("job:up:doubled") && s.labels.get("job") == Some("a")
        })
        .unwrap();
    assert_eq!((doubled.t, doubled.v), (0, 4.0));
    // Job b disappears: stale markers for its outputs.
    h.storage.clear();
    h.add(&[("__name__", "up"), ("job", "a"), ("i", "1")], MIN, 1.0);
    let (written, _) = h.eval(MIN).await;
    let stale: Vec<String> = written
        .iter()
        .filter(|s| is_stale_nan(s.v))
        .map(|s| s.labels.to_string())
        .collect();
    assert_eq!(
        stale,
        vec![
            r#"{__name__="job:up:sum", job="b", team="infra"}"#.to_owned(),
            r#"{__name__="job:up:doubled", job="b", team="infra"}"#.to_owned()
        ]
    );
    // Over the limit: the rule fails with Prometheus' message.
    for j in ["c", "d"] {
        h.add(&[("__name__", "up"), ("job", j)], 2 * MIN, 1.0);
    }
    h.eval(2 * MIN).await;
    let status = h.group.rules()[0].status();
    assert_eq!(status.health, "err");
    assert_eq!(status.last_error, "exceeded limit 2 with 3 series");
}

#[tokio::test]
async fn for_state_is_restored_as_prometheus_does() {
    let rules = "groups: [{name: g, rules: [{alert: A, expr: 'x > 0', for: 30m}]}]";
    let h = Harness::new(rules);
    let file = parse_rule_file("r.yml", rules).unwrap();
    let group = Group::from_config("r.yml", &file.groups[0], MIN, 0, false).unwrap();
    let now = 100 * MIN;
    h.add(&[("__name__", "x"), ("k", "v")], now, 1.0);
    // Not restored yet: the state machine runs but no ALERTS series is written.
    let store = MemRuleStore(Arc::clone(&h.storage));
    group.eval(&h.ctx, now, now, MIN, &store).await;
    assert!(
        h.storage
            .select(
                &Default::default(),
                &[lgtm_common::labels::Matcher::equal("__name__", "ALERTS")]
            )
            .unwrap()
            .is_empty()
    );
    // Went down at now-5m after 10m pending (activeAt now-15m): 20m remain, more than the
    // grace period, so activeAt moves forward by the 5m downtime.
    let for_state = [
        ("__name__", "ALERTS_FOR_STATE"),
        ("alertname", "A"),
        ("k", "v"),
    ];
    h.add(&for_state, now - 5 * MIN, ((now - 15 * MIN) / 1000) as f64);
    group.restore_for_state(&store, now, 60 * MIN, 10 * MIN);
    let Rule::Alerting(ar) = &group.rules()[0] else {
        panic!()
    };
    assert!(ar.restored());
    assert_eq!(ar.alerts()[0].active_at, now - 10 * MIN);
    // Only 5m left of `for` (< 10m grace): the alert fires one grace period after restart.
    let mut series = BTreeMap::new();
    series.insert(
        Labels::from_pairs([("alertname", "A"), ("k", "v")]),
        (now - MIN, ((now - 26 * MIN) / 1000) as f64),
    );
    ar.restore(now, 10 * MIN, &series);
    assert_eq!(ar.alerts()[0].active_at, now + 10 * MIN - 30 * MIN);
}

#[tokio::test]
async fn annotations_can_query_the_same_store_at_evaluation_time() {
    let rules = r#"
groups:
  - name: g
    rules:
      - alert: Q
        expr: x > 0
        annotations:
          total: '{{ with query "sum(up)" }}{{ . | first | value | humanize }}{{ end }}'
          url: "{{ $externalURL }}"
"#;
    let h = Harness::new(rules);
    h.add(&[("__name__", "x")], 0, 1.0);
    h.add(&[("__name__", "up"), ("i", "1")], 0, 1500.0);
    h.add(&[("__name__", "up"), ("i", "2")], 0, 500.0);
    // Newer samples are not visible to a query at t=0.
    h.add(&[("__name__", "up"), ("i", "1")], MIN, 9.0);
    h.eval(0).await;
    let a = &h.alerting().alerts()[0];
    assert_eq!(a.annotations["total"], "2k");
    assert_eq!(a.annotations["url"], "http://prom.example:9090");
}

#[tokio::test]
async fn query_offset_and_group_labels_apply_to_every_rule() {
    let rules = r#"
groups:
  - name: g
    query_offset: 1m
    labels: {team: db, env: prod}
    rules:
      - record: y
        expr: x
        labels: {env: dev}
"#;
    let h = Harness::new(rules);
    h.add(&[("__name__", "x")], 0, 7.0);
    h.add(&[("__name__", "x")], 2 * MIN, 9.0);
    // Evaluated at 2m, the rule queries (and writes) at 1m, where x is still 7.
    let (written, _) = h.eval(2 * MIN).await;
    assert_eq!(written.len(), 1);
    assert_eq!(
        written[0].labels,
        Labels::from_pairs([("__name__", "y"), ("env", "dev"), ("team", "db")])
    );
    assert_eq!((written[0].t, written[0].v), (MIN, 7.0));
}
