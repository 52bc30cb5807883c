//! Runner for Prometheus' PromQL test-file language (`promql/promqltest/testdata/*.test`):
//! `load`/`load_with_nhcb`, `clear`, `eval instant|range` with `expect` lines, expanding
//! notation and histogram literals, evaluated against [`MemStorage`].
//!
//! Each instant `eval` is also re-run with `@ <time>` added to every selector (step
//! invariance) and as a range query around the evaluation time, as upstream's runner does.

use std::collections::HashMap;
use std::path::Path;

use lgtm_common::labels::{Labels, MatchOp};
use regex::Regex;

use crate::ast::{AtModifier, Expr};
use crate::engine::{Engine, EngineOptions};
use crate::histogram::{CUSTOM_BUCKETS_SCHEMA, CounterResetHint, FloatHistogram};
use crate::parser::{ParserOptions, parse_with};
use crate::storage::MemStorage;
use crate::value::{Value, fmt_go_float, stale_nan};

mod model;
pub use model::{Command, Eval, ExpectCmd, ExpectKind, Load, SeqValue, TestFile, parse_file};

/// Outcome of one `eval` block.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// All checks passed.
    Pass,
    /// A check failed; the text says which and why.
    Fail(String),
    /// Not run (e.g. needs a feature that is switched off).
    Skip(String),
}

/// The result of one `eval` block.
#[derive(Clone, Debug)]
pub struct CaseResult {
    /// File name (no directory).
    pub file: String,
    /// 1-based line of the `eval` command.
    pub line: usize,
    /// The expression.
    pub expr: String,
    /// What happened.
    pub outcome: Outcome,
}

/// Runner settings.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Parser features (upstream's test suite enables all of them).
    pub parser: ParserOptions,
    /// Engine settings (upstream: max samples 10000, timeout 100s, delayed name removal).
    pub engine: EngineOptions,
}

impl Default for RunOptions {
    fn default() -> Self {
        Self {
            parser: ParserOptions::all(),
            engine: EngineOptions {
                max_samples: 10_000,
                timeout: std::time::Duration::from_secs(100),
                delayed_name_removal: true,
                ..EngineOptions::default()
            },
        }
    }
}

/// Runs every `*.test` file in `dir` (sorted by name).
pub fn run_dir(dir: &Path, opts: &RunOptions) -> std::io::Result<Vec<CaseResult>> {
    let mut files: Vec<_> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "test"))
        .collect();
    files.sort();
    let mut out = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f)?;
        let name = f
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        out.extend(run_text(&name, &text, opts));
    }
    Ok(out)
}

/// Runs one test file given as text.
pub fn run_text(name: &str, text: &str, opts: &RunOptions) -> Vec<CaseResult> {
    let file = parse_file(text);
    let storage = MemStorage::new();
    let engine = Engine::new(opts.engine.clone());
    let mut out = Vec::new();
    for cmd in &file.commands {
        match cmd {
            Command::Clear => storage.clear(),
            Command::Load(l) => l.apply(&storage),
            Command::Eval(e) => {
                let outcome = match &e.parse_error {
                    Some(err) => Outcome::Fail(format!("test definition not understood: {err}")),
                    None => {
                        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                            run_eval(e, &storage, &engine, opts)
                        }));
                        match r {
                            Ok(o) => o,
                            Err(_) => Outcome::Fail("panic during evaluation".into()),
                        }
                    }
                };
                out.push(CaseResult {
                    file: name.to_owned(),
                    line: e.line,
                    expr: e.expr.clone(),
                    outcome,
                });
            }
        }
    }
    out
}

fn almost_equal(a: f64, b: f64) -> bool {
    const EPS: f64 = 1e-6;
    const MIN_NORMAL: f64 = f64::MIN_POSITIVE;
    if a.is_nan() && b.is_nan() {
        return true;
    }
    if a == b {
        return true;
    }
    let abs_sum = a.abs() + b.abs();
    let diff = (a - b).abs();
    if a == 0.0 || b == 0.0 || abs_sum < MIN_NORMAL {
        return diff < EPS * MIN_NORMAL;
    }
    diff / abs_sum.min(f64::MAX) < EPS
}

fn hist_eq(exp: &FloatHistogram, got: &FloatHistogram) -> bool {
    let mut e = exp.clone();
    let mut g = got.clone();
    e.compact();
    g.compact();
    if e.counter_reset_hint != CounterResetHint::Unknown
        && exp.counter_reset_hint != got.counter_reset_hint
    {
        return false;
    }
    e.schema == g.schema
        && almost_equal(e.count, g.count)
        && almost_equal(e.sum, g.sum)
        && (!e.uses_custom_buckets() || e.custom_values == g.custom_values)
        && e.zero_threshold == g.zero_threshold
        && almost_equal(e.zero_count, g.zero_count)
        && e.positive_spans == g.positive_spans
        && e.negative_spans == g.negative_spans
        && e.positive_buckets.len() == g.positive_buckets.len()
        && e.negative_buckets.len() == g.negative_buckets.len()
        && e.positive_buckets
            .iter()
            .zip(&g.positive_buckets)
            .all(|(a, b)| almost_equal(*a, *b))
        && e.negative_buckets
            .iter()
            .zip(&g.negative_buckets)
            .all(|(a, b)| almost_equal(*a, *b))
}

/// Renders a histogram in the test-file literal syntax.
pub fn hist_literal(h: &FloatHistogram) -> String {
    let mut parts = vec![format!("schema:{}", h.schema)];
    parts.push(format!("count:{}", fmt_go_float(h.count)));
    parts.push(format!("sum:{}", fmt_go_float(h.sum)));
    if h.zero_count != 0.0 {
        parts.push(format!("z_bucket:{}", fmt_go_float(h.zero_count)));
    }
    if h.zero_threshold != 0.0 {
        parts.push(format!("z_bucket_w:{}", fmt_go_float(h.zero_threshold)));
    }
    let bl = |v: &[(i32, f64)]| -> (i32, String) {
        let first = v.first().map(|x| x.0).unwrap_or(0);
        let mut items = Vec::new();
        let mut next = first;
        for &(i, c) in v {
            while next < i {
                items.push("0".to_string());
                next += 1;
            }
            items.push(fmt_go_float(c));
            next = i + 1;
        }
        (first, items.join(" "))
    };
    let p = h.positive();
    if !p.is_empty() {
        let (o, s) = bl(&p);
        if o != 0 {
            parts.push(format!("offset:{o}"));
        }
        parts.push(format!("buckets:[{s}]"));
    }
    let n = h.negative();
    if !n.is_empty() {
        let (o, s) = bl(&n);
        if o != 0 {
            parts.push(format!("n_offset:{o}"));
        }
        parts.push(format!("n_buckets:[{s}]"));
    }
    if h.uses_custom_buckets() {
        parts.push(format!(
            "custom_values:[{}]",
            h.custom_values
                .iter()
                .map(|v| fmt_go_float(*v))
                .collect::<Vec<_>>()
                .join(" ")
        ));
    }
    match h.counter_reset_hint {
        CounterResetHint::Gauge => parts.push("counter_reset_hint:gauge".into()),
        CounterResetHint::Reset => parts.push("counter_reset_hint:reset".into()),
        CounterResetHint::NotReset => parts.push("counter_reset_hint:not_reset".into()),
        CounterResetHint::Unknown => {}
    }
    format!("{{{{{}}}}}", parts.join(" "))
}

fn fmt_val(v: &SeqValue) -> String {
    match v {
        SeqValue::Omitted => "_".into(),
        SeqValue::Float(f) => fmt_go_float(*f),
        SeqValue::Hist(h) => hist_literal(h),
    }
}

/// Rewrites every selector and subquery without `@` to `@ ts` (not descending into
/// subqueries that have one), as upstream's step-invariance check does.
fn add_at(e: &mut Expr, ts: i64) {
    match e {
        Expr::Number { .. } | Expr::String { .. } => {}
        Expr::Paren { expr, .. } | Expr::Unary { expr, .. } => add_at(expr, ts),
        Expr::Binary(b) => {
            add_at(&mut b.lhs, ts);
            add_at(&mut b.rhs, ts);
        }
        Expr::Aggregate(a) => {
            if let Some(p) = &mut a.param {
                add_at(p, ts);
            }
            add_at(&mut a.expr, ts);
        }
        Expr::Call(c) => c.args.iter_mut().for_each(|a| add_at(a, ts)),
        Expr::Vector(v) => {
            if v.at.is_none() {
                v.at = Some(AtModifier::Timestamp(ts));
            }
        }
        Expr::Matrix(m) => {
            if m.vs.at.is_none() {
                m.vs.at = Some(AtModifier::Timestamp(ts));
            }
        }
        Expr::Subquery(s) => {
            if s.at.is_none() {
                s.at = Some(AtModifier::Timestamp(ts));
            }
        }
    }
}

fn has_step_variant(e: &Expr) -> bool {
    match e {
        Expr::Number { .. } | Expr::String { .. } | Expr::Vector(_) | Expr::Matrix(_) => false,
        Expr::Paren { expr, .. } | Expr::Unary { expr, .. } => has_step_variant(expr),
        Expr::Binary(b) => has_step_variant(&b.lhs) || has_step_variant(&b.rhs),
        Expr::Aggregate(a) => {
            a.param.as_ref().is_some_and(has_step_variant) || has_step_variant(&a.expr)
        }
        Expr::Call(c) => {
            crate::functions::STEP_VARIANT.contains(&c.func.as_str())
                || c.args.iter().any(has_step_variant)
        }
        Expr::Subquery(s) => has_step_variant(&s.expr),
    }
}

fn check_failure(e: &Eval, err: &str) -> Outcome {
    if let Some(x) = e.expects.iter().find(|x| x.kind == ExpectKind::Fail)
        && !x.matches(err)
    {
        return Outcome::Fail(format!(
            "expected error matching {:?}, got: {err}",
            x.text()
        ));
    }
    Outcome::Pass
}

fn check_annotations(e: &Eval, warnings: &[String], infos: &[String]) -> Result<(), String> {
    if e.legacy_warn && warnings.is_empty() {
        return Err("expected warnings but got none".into());
    }
    if e.legacy_info && infos.is_empty() {
        return Err("expected info annotations but got none".into());
    }
    for (kind, actual, label) in [
        (ExpectKind::Warn, warnings, "warn"),
        (ExpectKind::Info, infos, "info"),
    ] {
        let exp: Vec<&ExpectCmd> = e.expects.iter().filter(|x| x.kind == kind).collect();
        if exp.is_empty() {
            continue;
        }
        if actual.is_empty() {
            return Err(format!("expected {label} annotations but none were found"));
        }
        for x in &exp {
            if !actual.iter().any(|a| x.matches(a)) {
                return Err(format!(
                    "expected {label} annotation matching {:?} but found: {actual:?}",
                    x.text()
                ));
            }
        }
        for a in actual {
            if !exp.iter().any(|x| x.matches(a)) {
                return Err(format!("unexpected {label} annotation {a:?}"));
            }
        }
    }
    if e.expects.iter().any(|x| x.kind == ExpectKind::NoWarn) && !warnings.is_empty() {
        return Err(format!("unexpected warning annotations: {warnings:?}"));
    }
    if e.expects.iter().any(|x| x.kind == ExpectKind::NoInfo) && !infos.is_empty() {
        return Err(format!("unexpected info annotations: {infos:?}"));
    }
    Ok(())
}

fn compare(e: &Eval, v: &Value) -> Result<(), String> {
    match v {
        Value::Matrix(m) => {
            if e.is_ordered() {
                return Err("expected ordered result, but query returned a matrix".into());
            }
            if e.expect_scalar.is_some() {
                return Err("expected scalar result, but got matrix".into());
            }
            if m.windows(2).any(|w| w[0].labels > w[1].labels) {
                return Err("matrix results should always be sorted by labels".into());
            }
            let mut seen = vec![false; e.expected.len()];
            for s in m {
                let Some(idx) = e.expected.iter().position(|x| x.labels == s.labels) else {
                    return Err(format!(
                        "unexpected metric {} in result, has {} floats {:?} and {} histograms",
                        s.labels,
                        s.floats.len(),
                        s.floats.iter().map(|p| (p.t, p.f)).collect::<Vec<_>>(),
                        s.histograms.len()
                    ));
                };
                seen[idx] = true;
                let exp = &e.expected[idx];
                let mut ef = Vec::new();
                let mut eh = Vec::new();
                for (i, val) in exp.values.iter().enumerate() {
                    let t = e.start + i as i64 * e.step;
                    if t > e.end {
                        return Err(format!(
                            "expected {} points for {}, but query time range cannot return this many points",
                            exp.values.len(),
                            exp.labels
                        ));
                    }
                    match val {
                        SeqValue::Omitted => {}
                        SeqValue::Float(f) => ef.push((t, *f)),
                        SeqValue::Hist(h) => eh.push((t, h)),
                    }
                }
                let got = || {
                    format!(
                        "floats {:?} histograms {:?}",
                        s.floats.iter().map(|p| (p.t, p.f)).collect::<Vec<_>>(),
                        s.histograms
                            .iter()
                            .map(|p| (p.t, hist_literal(&p.h)))
                            .collect::<Vec<_>>()
                    )
                };
                if ef.len() != s.floats.len() || eh.len() != s.histograms.len() {
                    return Err(format!(
                        "expected {} float points and {} histogram points for {}, but got {}",
                        ef.len(),
                        eh.len(),
                        exp.labels,
                        got()
                    ));
                }
                for (i, (t, f)) in ef.iter().enumerate() {
                    let a = s.floats[i];
                    if a.t != *t || !almost_equal(a.f, *f) {
                        return Err(format!(
                            "expected float {} at t={t} for {}, got {}",
                            fmt_go_float(*f),
                            exp.labels,
                            got()
                        ));
                    }
                }
                for (i, (t, h)) in eh.iter().enumerate() {
                    let a = &s.histograms[i];
                    if a.t != *t || !hist_eq(h, &a.h) {
                        return Err(format!(
                            "expected histogram {} at t={t} for {}, got {}",
                            hist_literal(h),
                            exp.labels,
                            got()
                        ));
                    }
                }
            }
            if let Some(i) = seen.iter().position(|s| !s) {
                return Err(format!(
                    "expected metric {} not found",
                    e.expected[i].labels
                ));
            }
            Ok(())
        }
        Value::Vector(vec) => {
            if e.expect_scalar.is_some() {
                return Err("expected scalar result, but got vector".into());
            }
            let mut seen = vec![false; e.expected.len()];
            for (pos, s) in vec.iter().enumerate() {
                let Some(idx) = e.expected.iter().position(|x| x.labels == s.labels) else {
                    let val = match &s.h {
                        Some(h) => hist_literal(h),
                        None => fmt_go_float(s.f),
                    };
                    return Err(format!(
                        "unexpected metric {} in result, has value {val}",
                        s.labels
                    ));
                };
                let exp = &e.expected[idx];
                if e.is_ordered() && exp.pos != pos + 1 {
                    return Err(format!(
                        "expected metric {} at position {} but was at {}",
                        s.labels,
                        exp.pos,
                        pos + 1
                    ));
                }
                let exp0 = exp.values.first().cloned().unwrap_or(SeqValue::Omitted);
                match (&exp0, &s.h) {
                    (SeqValue::Hist(eh), Some(h)) => {
                        if !hist_eq(eh, h) {
                            return Err(format!(
                                "expected {} for {} but got {}",
                                hist_literal(eh),
                                s.labels,
                                hist_literal(h)
                            ));
                        }
                    }
                    (SeqValue::Hist(eh), None) => {
                        return Err(format!(
                            "expected histogram {} for {} but got float value {}",
                            hist_literal(eh),
                            s.labels,
                            fmt_go_float(s.f)
                        ));
                    }
                    (_, Some(h)) => {
                        return Err(format!(
                            "expected float value {} for {} but got histogram {}",
                            fmt_val(&exp0),
                            s.labels,
                            hist_literal(h)
                        ));
                    }
                    (SeqValue::Float(f), None) => {
                        if !almost_equal(*f, s.f) {
                            return Err(format!(
                                "expected {} for {} but got {}",
                                fmt_go_float(*f),
                                s.labels,
                                fmt_go_float(s.f)
                            ));
                        }
                    }
                    (SeqValue::Omitted, None) => {
                        if !almost_equal(0.0, s.f) {
                            return Err(format!(
                                "expected 0 for {} but got {}",
                                s.labels,
                                fmt_go_float(s.f)
                            ));
                        }
                    }
                }
                seen[idx] = true;
            }
            if let Some(i) = seen.iter().position(|s| !s) {
                return Err(format!(
                    "expected metric {} with {} not found",
                    e.expected[i].labels,
                    e.expected[i]
                        .values
                        .iter()
                        .map(fmt_val)
                        .collect::<Vec<_>>()
                        .join(" ")
                ));
            }
            Ok(())
        }
        Value::Scalar { v, .. } => {
            let Some(exp) = e.expect_scalar else {
                return Err(format!(
                    "expected vector or matrix result, but got scalar {}",
                    fmt_go_float(*v)
                ));
            };
            if !almost_equal(exp, *v) {
                return Err(format!(
                    "expected scalar {} but got {}",
                    fmt_go_float(exp),
                    fmt_go_float(*v)
                ));
            }
            Ok(())
        }
        Value::String { v, .. } => {
            if e.expected_string.as_deref() != Some(v.as_str()) {
                return Err(format!(
                    "expected string {:?} but got {v:?}",
                    e.expected_string.clone().unwrap_or_default()
                ));
            }
            Ok(())
        }
    }
}

fn run_eval(e: &Eval, storage: &MemStorage, engine: &Engine, opts: &RunOptions) -> Outcome {
    let expr = match parse_with(&e.expr, opts.parser) {
        Ok(x) => x,
        Err(err) => {
            let msg = err.to_string();
            if msg.contains("not enabled") || msg.contains("must be enabled") {
                return Outcome::Skip(format!("feature not enabled: {msg}"));
            }
            if e.is_fail() {
                return check_failure(e, &msg);
            }
            return Outcome::Fail(format!("parse error: {msg}"));
        }
    };
    if !e.instant {
        return match engine.range_query(storage, &e.expr, &expr, e.start, e.end, e.step, None) {
            Err(err) => {
                if e.is_fail() {
                    check_failure(e, &err.to_string())
                } else {
                    Outcome::Fail(format!("error evaluating query: {err}"))
                }
            }
            Ok(_) if e.is_fail() => Outcome::Fail("expected error but got none".into()),
            Ok(r) => {
                if let Err(m) = check_annotations(e, &r.warnings, &r.infos) {
                    return Outcome::Fail(m);
                }
                match compare(e, &r.value) {
                    Ok(()) => Outcome::Pass,
                    Err(m) => Outcome::Fail(m),
                }
            }
        };
    }
    // Instant: as written, then with @ added, then in range mode.
    let mut variants: Vec<(Expr, String, i64, &str)> =
        vec![(expr.clone(), e.expr.clone(), e.eval_t, "")];
    if !has_step_variant(&expr) {
        let ts = e.eval_t;
        let mut at_expr = expr.clone();
        add_at(&mut at_expr, ts);
        let text = at_expr.to_string();
        let times: Vec<i64> = if ts == 0 {
            vec![-1000, 0, 1000]
        } else {
            vec![-10 * ts, 0, ts / 5, ts, 10 * ts]
        };
        for t in times {
            // Re-parse the printed form, as upstream does: this also checks the printer.
            match parse_with(&text, opts.parser) {
                Ok(x) => variants.push((x, text.clone(), t, " (with @ modifier)")),
                Err(err) => {
                    return Outcome::Fail(format!("printed form {text:?} does not parse: {err}"));
                }
            }
        }
    }
    for (x, text, t, what) in variants {
        let res = engine.instant_query(storage, &text, &x, t, None);
        let r = match res {
            Err(err) => {
                if e.is_fail() {
                    match check_failure(e, &err.to_string()) {
                        Outcome::Pass => continue,
                        other => return other,
                    }
                }
                return Outcome::Fail(format!(
                    "error evaluating query{what} {text:?} at {t}: {err}"
                ));
            }
            Ok(r) => r,
        };
        if e.is_fail() {
            return Outcome::Fail(format!(
                "expected error evaluating query{what} {text:?} but got none"
            ));
        }
        if let Err(m) = check_annotations(e, &r.warnings, &r.infos) {
            return Outcome::Fail(format!("{m}{what}"));
        }
        if let Err(m) = compare(e, &r.value) {
            return Outcome::Fail(format!("{m}{what} (query {text:?} at {t})"));
        }
        if e.exclude_from_range
            || ["range()", "step()", "start()", "end()"]
                .iter()
                .any(|f| text.contains(f))
        {
            continue;
        }
        let rr = match engine.range_query(storage, &text, &x, t - 60_000, t + 60_000, 60_000, None)
        {
            Ok(rr) => rr,
            Err(err) => {
                return Outcome::Fail(format!(
                    "error evaluating query{what} {text:?} in range mode: {err}"
                ));
            }
        };
        if e.is_ordered() {
            continue;
        }
        let Value::Matrix(m) = rr.value else {
            return Outcome::Fail("range mode did not return a matrix".into());
        };
        if m.windows(2).any(|w| w[0].labels > w[1].labels) {
            return Outcome::Fail("range mode: matrix not sorted by labels".into());
        }
        let mut vec = Vec::new();
        for s in &m {
            if let Some(p) = s.floats.iter().find(|p| p.t == t) {
                vec.push(crate::value::Sample::float(s.labels.clone(), t, p.f));
            }
            if let Some(p) = s.histograms.iter().find(|p| p.t == t) {
                vec.push(crate::value::Sample::histogram(
                    s.labels.clone(),
                    t,
                    p.h.clone(),
                ));
            }
        }
        let v = if matches!(r.value, Value::Scalar { .. }) {
            Value::Scalar {
                t,
                v: vec.first().map(|s| s.f).unwrap_or(f64::NAN),
            }
        } else {
            Value::Vector(vec)
        };
        if let Err(m) = compare(e, &v) {
            return Outcome::Fail(format!("range mode{what}: {m}"));
        }
    }
    Outcome::Pass
}

/// Converts classic histogram series (`_bucket{le}`, `_count`, `_sum`) into native histograms
/// with custom buckets, as `load_with_nhcb` does.
fn nhcb_series(series: &[(Labels, Vec<(i64, f64)>)]) -> Vec<(Labels, Vec<(i64, FloatHistogram)>)> {
    #[derive(Default)]
    struct Temp {
        buckets: Vec<(f64, f64)>,
        count: Option<f64>,
        sum: f64,
    }
    let mut groups: HashMap<Labels, HashMap<i64, Temp>> = HashMap::new();
    for (labels, samples) in series {
        let name = labels.metric_name().unwrap_or("");
        let (base, kind) = if let Some(b) = name.strip_suffix("_bucket") {
            (b, 0)
        } else if let Some(b) = name.strip_suffix("_count") {
            (b, 1)
        } else if let Some(b) = name.strip_suffix("_sum") {
            (b, 2)
        } else {
            continue;
        };
        let le = if kind == 0 {
            match labels
                .get("le")
                .and_then(crate::functions::histogram::parse_le)
            {
                Some(le) if !le.is_nan() => Some(le),
                _ => continue,
            }
        } else {
            None
        };
        let key = labels
            .without(&["le"])
            .with(lgtm_common::labels::METRIC_NAME, base);
        let g = groups.entry(key).or_default();
        for &(t, f) in samples {
            if crate::value::is_stale_nan(f) {
                continue;
            }
            let tmp = g.entry(t).or_default();
            match kind {
                0 => tmp.buckets.push((le.unwrap_or(f64::INFINITY), f)),
                1 => tmp.count = Some(f),
                _ => tmp.sum = f,
            }
        }
    }
    let mut out = Vec::new();
    for (labels, by_t) in groups {
        let mut pts: Vec<(i64, FloatHistogram)> = Vec::new();
        for (t, mut tmp) in by_t {
            if tmp.buckets.is_empty() {
                continue;
            }
            tmp.buckets
                .sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap_or(std::cmp::Ordering::Equal));
            if tmp.buckets.last().is_some_and(|b| b.0 != f64::INFINITY) {
                let c = tmp
                    .count
                    .unwrap_or(tmp.buckets.last().map(|b| b.1).unwrap_or(0.0));
                tmp.buckets.push((f64::INFINITY, c));
            }
            let mut h = FloatHistogram {
                schema: CUSTOM_BUCKETS_SCHEMA,
                sum: tmp.sum,
                ..Default::default()
            };
            let mut prev = 0.0;
            let mut items = Vec::new();
            for (i, (le, c)) in tmp.buckets.iter().enumerate() {
                if le.is_finite() {
                    h.custom_values.push(*le);
                }
                items.push((i as i32, c - prev));
                prev = *c;
            }
            h.count = tmp.count.unwrap_or(prev);
            h.set_positive(&items);
            pts.push((t, h));
        }
        pts.sort_by_key(|p| p.0);
        out.push((labels, pts));
    }
    out
}

impl Load {
    /// Writes the load block into the storage.
    pub fn apply(&self, storage: &MemStorage) {
        let mut floats_by_series = Vec::new();
        for (k, (labels, values)) in self.series.iter().enumerate() {
            let offsets = self.st_offsets.get(k);
            let mut fl = Vec::new();
            for (i, v) in values.iter().enumerate() {
                let t = i as i64 * self.step_ms;
                let st = offsets
                    .and_then(|o| o.get(i).copied().flatten())
                    .map(|o| t + o)
                    .unwrap_or(0);
                match v {
                    SeqValue::Omitted => {}
                    SeqValue::Float(f) => {
                        storage.add_float_with_st(labels, t, *f, st);
                        fl.push((t, *f));
                    }
                    SeqValue::Hist(h) => {
                        storage.add_histogram_with_st(labels, t, (**h).clone(), st)
                    }
                }
            }
            floats_by_series.push((labels.clone(), fl));
        }
        if self.with_nhcb {
            for (labels, pts) in nhcb_series(&floats_by_series) {
                for (t, h) in pts {
                    storage.add_histogram(&labels, t, h);
                }
            }
        }
        storage.assign_counter_reset_hints();
    }
}

/// Series-description parsing helpers shared by the file model.
pub(crate) fn parse_series_labels(desc: &str) -> Result<Labels, String> {
    if desc.replace(' ', "") == "{}" {
        return Ok(Labels::empty());
    }
    let e = parse_with(desc, ParserOptions::all()).map_err(|e| e.to_string())?;
    let Expr::Vector(vs) = e else {
        return Err(format!("not a series description: {desc}"));
    };
    let pairs: Vec<(String, String)> = vs
        .matchers
        .iter()
        .filter(|m| m.op == MatchOp::Equal)
        .map(|m| (m.name.clone(), m.value.clone()))
        .collect();
    Ok(Labels::from_pairs(pairs))
}

pub(crate) fn stale() -> f64 {
    stale_nan()
}

/// `a`, `a+bxn`, `a-bxn`, `axn` (a may be signed, Inf or NaN).
pub(crate) static ITEM_RE: std::sync::LazyLock<Regex> = std::sync::LazyLock::new(|| {
    let num = r"[-+]?(?:(?:[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)|Inf|inf|NaN|nan|0x[0-9a-fA-F]+)";
    #[allow(clippy::expect_used)]
    Regex::new(&format!(r"^({num})(?:([-+])({num}))?(?:x([0-9]+))?$"))
        .expect("constant regex is valid")
});
