//! `promtool test rules`: rule unit-test files (`rule_files`, `evaluation_interval`,
//! `group_eval_order`, `tests[].input_series` in the expanding notation, `alert_rule_test`,
//! `promql_expr_test`), evaluated with the same rule code the server runs, with promtool's
//! failure messages (`cmd/promtool/unittest.go`, Prometheus 2.42 semantics: every group is
//! evaluated at every `evaluation_interval` step from 0 to the largest `eval_time`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use lgtm_common::duration::PromDuration;
use lgtm_common::labels::Labels;
use lgtm_promql::promqltest::{Command, parse_file};
use lgtm_promql::storage::{MemStorage, Queryable};
use lgtm_promql::{Engine, EngineOptions};
use serde::Deserialize;

use super::context::{MemRuleStore, RuleContext, promql_context};
use super::{Group, Rule};

/// A unit-test file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnitTestFile {
    /// Rule files under test (globs, relative to the test file).
    #[serde(default)]
    pub rule_files: Vec<String>,
    /// Step of rule evaluation (1m).
    #[serde(default)]
    pub evaluation_interval: Option<PromDuration>,
    /// Order groups are evaluated in (by name); unlisted groups follow in file order.
    #[serde(default)]
    pub group_eval_order: Vec<String>,
    /// The test groups.
    #[serde(default)]
    pub tests: Vec<TestGroup>,
}

/// One entry of `tests:`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestGroup {
    /// Step of `input_series` values (defaults to the evaluation interval).
    #[serde(default)]
    pub interval: Option<PromDuration>,
    /// Series and their values.
    #[serde(default)]
    pub input_series: Vec<InputSeries>,
    /// Alerts expected at given times.
    #[serde(default)]
    pub alert_rule_test: Vec<AlertTestCase>,
    /// Expression results expected at given times.
    #[serde(default)]
    pub promql_expr_test: Vec<PromqlTestCase>,
    /// `$externalLabels`.
    #[serde(default)]
    pub external_labels: BTreeMap<String, String>,
    /// `$externalURL`.
    #[serde(default)]
    pub external_url: String,
    /// Name printed with failures.
    #[serde(default)]
    pub name: String,
}

/// One `input_series` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputSeries {
    /// Series selector text, e.g. `up{job="x"}`.
    pub series: String,
    /// Expanding notation, e.g. `0+10x5 _ stale`.
    pub values: String,
}

/// One `alert_rule_test` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertTestCase {
    /// Time since 0 at which alerts are checked.
    pub eval_time: PromDuration,
    /// The alert to check.
    #[serde(default)]
    pub alertname: String,
    /// Firing alerts expected.
    #[serde(default)]
    pub exp_alerts: Vec<ExpAlert>,
}

/// One expected alert.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpAlert {
    /// Labels (without `alertname`).
    #[serde(default)]
    pub exp_labels: BTreeMap<String, String>,
    /// Annotations.
    #[serde(default)]
    pub exp_annotations: BTreeMap<String, String>,
}

/// One `promql_expr_test` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PromqlTestCase {
    /// The expression.
    pub expr: String,
    /// Time since 0 at which it runs.
    pub eval_time: PromDuration,
    /// Expected samples.
    #[serde(default)]
    pub exp_samples: Vec<ExpSample>,
}

/// One expected sample.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpSample {
    /// Series text, e.g. `metric{a="b"}`.
    #[serde(default)]
    pub labels: String,
    /// Value.
    pub value: f64,
}

/// Go's `strconv.FormatFloat(v, 'E', -1, 64)`.
fn format_e_upper(v: f64) -> String {
    crate::api::rules::format_float_e(v)
        .to_uppercase()
        .replace("INF", "Inf")
        .replace("NAN", "NaN")
}

fn indent_lines(s: &str, indent: &str) -> String {
    s.replace('\n', &format!("\n{indent}"))
}

/// promtool's `labelsAndAnnotations.String()`.
fn alerts_string(list: &[(Labels, Labels)]) -> String {
    if list.is_empty() {
        return "[]".to_owned();
    }
    let mut s = String::from("[");
    for (i, (l, a)) in list.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        s.push_str(&format!(
            "\n{i}:{}",
            indent_lines(&format!("\nLabels:{l}\nAnnotations:{a}"), "  ")
        ));
    }
    s.push_str("\n]");
    s
}

fn samples_string(list: &[(Labels, f64)]) -> String {
    if list.is_empty() {
        return "nil".to_owned();
    }
    list.iter()
        .map(|(l, v)| format!("{l} {}", format_e_upper(*v)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Runs one test file; `Err` holds promtool-style failure messages.
pub async fn run_file(path: &Path) -> Result<(), Vec<String>> {
    let text = std::fs::read_to_string(path).map_err(|e| vec![e.to_string()])?;
    let file: UnitTestFile = serde_yaml_ng::from_str(&text).map_err(|e| vec![e.to_string()])?;
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let mut rule_paths: Vec<PathBuf> = Vec::new();
    for pattern in &file.rule_files {
        let full = if Path::new(pattern).is_absolute() {
            pattern.clone()
        } else {
            dir.join(pattern).display().to_string()
        };
        let found = lgtm_common::glob::glob_files(&full).map_err(|e| vec![e.to_string()])?;
        if found.is_empty() {
            return Err(vec![format!("no rule files found for pattern {pattern:?}")]);
        }
        rule_paths.extend(found);
    }
    let eval_interval = file
        .evaluation_interval
        .map_or(60_000, |d| d.as_millis())
        .max(1);
    let mut errors = Vec::new();
    for tg in &file.tests {
        if let Err(mut e) = run_group(&file, tg, &rule_paths, eval_interval).await {
            errors.append(&mut e);
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

fn load_series(tg: &TestGroup, interval_ms: i64, storage: &MemStorage) -> Result<(), Vec<String>> {
    for s in &tg.input_series {
        let text = format!("load {interval_ms}ms\n  {} {}\n", s.series, s.values);
        let parsed = parse_file(&text);
        let mut loaded = false;
        for command in parsed.commands {
            if let Command::Load(load) = command
                && !load.series.is_empty()
            {
                load.apply(storage);
                loaded = true;
            }
        }
        if !loaded {
            return Err(vec![format!(
                "    invalid input series {:?} with values {:?}",
                s.series, s.values
            )]);
        }
    }
    Ok(())
}

async fn run_group(
    file: &UnitTestFile,
    tg: &TestGroup,
    rule_paths: &[PathBuf],
    eval_interval: i64,
) -> Result<(), Vec<String>> {
    let storage = Arc::new(MemStorage::new());
    let series_interval = tg.interval.map_or(eval_interval, |d| d.as_millis()).max(1);
    load_series(tg, series_interval, &storage)?;
    let mut groups = super::manager::load_groups(rule_paths, eval_interval, 0, true)
        .map_err(|e| vec![e.to_string()])?;
    // group_eval_order first (in that order), then the rest in file order.
    groups.sort_by_key(|g| {
        file.group_eval_order
            .iter()
            .position(|n| *n == g.name)
            .unwrap_or(usize::MAX)
    });
    let queryable: Arc<dyn Queryable> = Arc::clone(&storage) as Arc<dyn Queryable>;
    let ctx = Arc::new(promql_context(
        Engine::new(EngineOptions::default()),
        queryable,
        tg.external_labels.clone(),
        tg.external_url.clone(),
    ));
    let store = MemRuleStore(Arc::clone(&storage));
    let mut alert_times: BTreeSet<i64> = BTreeSet::new();
    let mut errors = Vec::new();
    for case in &tg.alert_rule_test {
        if case.alertname.is_empty() {
            errors.push("    alertname is missing in the alert_rule_test".to_owned());
            continue;
        }
        alert_times.insert(case.eval_time.as_millis());
    }
    let maxt = tg
        .alert_rule_test
        .iter()
        .map(|c| c.eval_time.as_millis())
        .chain(tg.promql_expr_test.iter().map(|c| c.eval_time.as_millis()))
        .max()
        .unwrap_or(0);
    let alert_times: Vec<i64> = alert_times.into_iter().collect();
    let mut curr = 0;
    let mut ts = 0;
    while ts <= maxt {
        let mut eval_errors = Vec::new();
        for g in &groups {
            let _ = g.eval(&ctx, ts, 0, 60_000, &store).await;
            for r in g.rules() {
                let st = r.status();
                if st.health == "err" {
                    eval_errors.push(format!(
                        "    rule: {}, time: {}, err: {}",
                        r.name(),
                        PromDuration::from_millis(ts as u64),
                        st.last_error
                    ));
                }
            }
        }
        if !eval_errors.is_empty() {
            errors.extend(eval_errors);
            return Err(errors);
        }
        while curr < alert_times.len()
            && ts <= alert_times[curr]
            && alert_times[curr] < ts + eval_interval
        {
            let t = alert_times[curr];
            check_alerts(tg, &groups, t, &mut errors);
            curr += 1;
        }
        ts += eval_interval;
    }
    for case in &tg.promql_expr_test {
        check_expr(case, &ctx, &mut errors);
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

fn check_alerts(tg: &TestGroup, groups: &[Group], t: i64, errors: &mut Vec<String>) {
    for case in tg
        .alert_rule_test
        .iter()
        .filter(|c| c.eval_time.as_millis() == t)
    {
        let mut got: Vec<(Labels, Labels)> = Vec::new();
        for g in groups {
            for r in g.rules() {
                if let Rule::Alerting(ar) = r
                    && ar.name() == case.alertname
                {
                    for a in ar.active_alerts() {
                        if a.state == lgtm_rules::AlertState::Firing {
                            got.push((a.labels.clone(), Labels::from_pairs(a.annotations.clone())));
                        }
                    }
                }
            }
        }
        let mut exp: Vec<(Labels, Labels)> = case
            .exp_alerts
            .iter()
            .map(|a| {
                let mut labels = a.exp_labels.clone();
                labels.insert("alertname".to_owned(), case.alertname.clone());
                (
                    Labels::from_pairs(labels),
                    Labels::from_pairs(a.exp_annotations.clone()),
                )
            })
            .collect();
        got.sort();
        exp.sort();
        if got != exp {
            let name = if tg.name.is_empty() {
                String::new()
            } else {
                format!("    name: {},\n", tg.name)
            };
            errors.push(format!(
                "{name}    alertname: {}, time: {}, \n        exp:{}, \n        got:{}",
                case.alertname,
                case.eval_time,
                indent_lines(&alerts_string(&exp), "            "),
                indent_lines(&alerts_string(&got), "            ")
            ));
        }
    }
}

fn check_expr(case: &PromqlTestCase, ctx: &RuleContext, errors: &mut Vec<String>) {
    let fail = |msg: String| {
        format!(
            "    expr: {:?}, time: {}, err: {msg}",
            case.expr, case.eval_time
        )
    };
    let expr = match lgtm_promql::parse(&case.expr) {
        Ok(e) => e,
        Err(e) => {
            errors.push(fail(e.to_string()));
            return;
        }
    };
    let got = match ctx
        .evaluator
        .instant(&case.expr, &expr, case.eval_time.as_millis())
    {
        Ok(v) => v,
        Err(e) => {
            errors.push(fail(e));
            return;
        }
    };
    let mut got: Vec<(Labels, f64)> = got.into_iter().map(|s| (s.labels, s.f)).collect();
    let mut exp = Vec::new();
    for s in &case.exp_samples {
        let parsed = match s.labels.trim() {
            "" | "{}" => Ok(Labels::empty()),
            text => lgtm_promql::parser::parse_selector(text)
                .map_err(|e| e.to_string())
                .and_then(|m| metric_from_matchers(&m)),
        };
        match parsed {
            Ok(labels) => exp.push((labels, s.value)),
            Err(e) => {
                errors.push(fail(format!("labels {:?}: {e}", s.labels)));
                return;
            }
        }
    }
    let by_labels = |a: &(Labels, f64), b: &(Labels, f64)| a.0.cmp(&b.0);
    got.sort_by(by_labels);
    exp.sort_by(by_labels);
    let same = got.len() == exp.len()
        && got
            .iter()
            .zip(&exp)
            .all(|(g, e)| g.0 == e.0 && (g.1 == e.1 || (g.1.is_nan() && e.1.is_nan())));
    if !same {
        errors.push(format!(
            "    expr: {:?}, time: {},\n        exp: {}\n        got: {}",
            case.expr,
            case.eval_time,
            samples_string(&exp),
            samples_string(&got)
        ));
    }
}

/// `metric{a="b"}` as a label set (only `=` matchers are meaningful here).
fn metric_from_matchers(m: &[lgtm_common::labels::Matcher]) -> Result<Labels, String> {
    let mut pairs = Vec::new();
    for matcher in m {
        if matcher.op != lgtm_common::labels::MatchOp::Equal {
            return Err("only equality matchers describe a series".to_owned());
        }
        if !matcher.value.is_empty() {
            pairs.push((matcher.name.clone(), matcher.value.clone()));
        }
    }
    Ok(Labels::from_pairs(pairs))
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn run(rules: &str, tests: &str) -> Result<(), Vec<String>> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("rules.yml"), rules).unwrap();
        let test = dir.path().join("test.yml");
        std::fs::write(&test, tests).unwrap();
        run_file(&test).await
    }

    const RULES: &str = r#"
groups:
  - name: example
    rules:
      - record: job:up:sum
        expr: sum by (job) (up)
      - alert: InstanceDown
        expr: up == 0
        for: 5m
        labels:
          severity: page
        annotations:
          summary: "Instance {{ $labels.instance }} down"
          value: "{{ $value }}"
"#;

    #[tokio::test]
    async fn promtool_docs_example_passes_and_wrong_expectations_fail() {
        let ok = r#"
rule_files: [rules.yml]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'up{job="prometheus", instance="localhost:9090"}'
        values: '0 0 0 0 0 0 0 0 0 0 0 0 0 0 0'
      - series: 'up{job="node_exporter", instance="localhost:9100"}'
        values: '1+0x6 0 0 0 0 0 0 0 0'
    alert_rule_test:
      - eval_time: 4m
        alertname: InstanceDown
        exp_alerts: []
      - eval_time: 10m
        alertname: InstanceDown
        exp_alerts:
          - exp_labels: {severity: page, instance: "localhost:9090", job: prometheus}
            exp_annotations: {summary: "Instance localhost:9090 down", value: "0"}
    promql_expr_test:
      - expr: job:up:sum
        eval_time: 4m
        exp_samples:
          - labels: 'job:up:sum{job="prometheus"}'
            value: 0
          - labels: 'job:up:sum{job="node_exporter"}'
            value: 1
"#;
        run(RULES, ok).await.unwrap();
        let wrong = ok.replace("eval_time: 4m\n        alertname: InstanceDown\n        exp_alerts: []", "eval_time: 4m\n        alertname: InstanceDown\n        exp_alerts: [{exp_labels: {severity: page}}]")
            .replace("value: 1\n", "value: 2\n");
        let errs = run(RULES, &wrong).await.unwrap_err();
        assert_eq!(errs.len(), 2, "{errs:?}");
        assert!(
            errs[0].starts_with("    alertname: InstanceDown, time: 4m, \n        exp:[\n"),
            "{}",
            errs[0]
        );
        assert!(errs[0].ends_with("got:[]"), "{}", errs[0]);
        assert!(
            errs[1].contains("exp: {__name__=\"job:up:sum\", job=\"node_exporter\"} 2E+00, {__name__=\"job:up:sum\", job=\"prometheus\"} 0E+00\n"),
            "{}",
            errs[1]
        );
        assert!(
            errs[1].contains("got: {__name__=\"job:up:sum\", job=\"node_exporter\"} 1E+00"),
            "{}",
            errs[1]
        );
    }
}
