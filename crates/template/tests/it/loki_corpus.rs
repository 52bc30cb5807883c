//! Replays the `line_format` cases of the corpus recorded from Loki 3.6.15
//! (`shared/conformance/loki`, or `$LOKI_CONFORMANCE_DIR`): for every result entry, our
//! template run over the entry's labels and original line must give Loki's output line, or
//! Loki's `__error_details__` when Loki reported `TemplateFormatErr`.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use lgtm_template::{Env, MissingKey, TemplateSet, Value, loki_funcs};
use serde_json::Value as J;

fn corpus_dir() -> PathBuf {
    match std::env::var_os("LOKI_CONFORMANCE_DIR") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance/loki"),
    }
}

/// The template of `{…} [| json] | line_format T` queries, or None for other shapes.
fn line_format_template(q: &str) -> Option<String> {
    let (_, rest) = q.split_once("} ")?;
    let rest = rest.strip_prefix("| json ").unwrap_or(rest);
    let t = rest.strip_prefix("| line_format ")?;
    if let Some(raw) = t.strip_prefix('`') {
        let body = raw.strip_suffix('`')?;
        return (!body.contains('`')).then(|| body.to_string());
    }
    let body = t.strip_prefix('"')?.strip_suffix('"')?;
    if body.contains("\" |") {
        return None;
    }
    Some(body.replace("\\\"", "\"").replace("\\\\", "\\"))
}

#[test]
fn loki_line_format_corpus() {
    let dir = corpus_dir();
    let cases = std::fs::read_to_string(dir.join("cases.jsonl"))
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()));
    let data = std::fs::read_to_string(dir.join("data.jsonl")).unwrap();
    let mut lines: HashMap<String, String> = HashMap::new();
    for l in data.lines() {
        let v: J = serde_json::from_str(l).unwrap();
        lines.insert(
            v["ts"].as_str().unwrap().to_string(),
            v["line"].as_str().unwrap().to_string(),
        );
    }
    let mut checked = 0;
    let mut failures = Vec::new();
    for l in cases.lines() {
        let c: J = serde_json::from_str(l).unwrap();
        let params: HashMap<String, String> = c["request"]["params"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p[0].as_str().unwrap().to_string(),
                    p[1].as_str().unwrap().to_string(),
                )
            })
            .collect();
        let Some(q) = params.get("query") else {
            continue;
        };
        let Some(tmpl) = line_format_template(q) else {
            continue;
        };
        if c["response"]["status"] != 200 {
            continue;
        }
        let mut set = TemplateSet::new()
            .with_funcs(loki_funcs())
            .with_missing_key(MissingKey::Zero);
        set.parse("line", &tmpl)
            .unwrap_or_else(|e| panic!("{}: {e}", c["id"]));
        for stream in c["response"]["body_json"]["data"]["result"]
            .as_array()
            .unwrap()
        {
            let mut labels: BTreeMap<String, String> = stream["stream"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
                .collect();
            let template_err =
                labels.get("__error__").map(String::as_str) == Some("TemplateFormatErr");
            let details = if template_err {
                labels.remove("__error__");
                labels.remove("__error_details__")
            } else {
                None
            };
            for v in stream["values"].as_array().unwrap() {
                let ts = v[0].as_str().unwrap();
                let want = v[1].as_str().unwrap();
                let original = lines.get(ts).cloned().unwrap_or_default();
                let env = Env {
                    line: Some(&original),
                    timestamp_nanos: Some(ts.parse().unwrap()),
                    ..Env::default()
                };
                let got = set.execute_with("line", &Value::string_map(labels.clone()), &env);
                checked += 1;
                let ok = match (&got, &details) {
                    (Err(e), Some(d)) => &e.to_string() == d && want == original,
                    (Ok(out), None) => out == want,
                    _ => false,
                };
                if !ok {
                    failures.push(format!(
                        "{} ts={ts}\n  template {tmpl}\n  got  {got:?}\n  want {want:?} / {details:?}",
                        c["id"]
                    ));
                }
            }
        }
    }
    assert!(checked > 100, "only {checked} entries checked");
    assert!(
        failures.is_empty(),
        "{} of {checked} entries differ:\n{}",
        failures.len(),
        {
            let mut seen = std::collections::HashSet::new();
            failures
                .iter()
                .filter(|f| seen.insert(f.split_whitespace().next().unwrap_or("").to_string()))
                .cloned()
                .collect::<Vec<_>>()
                .join("\n")
        }
    );
}

/// `| label_format NAME="T"` (first format of the stage) as (NAME, T).
fn label_format_template(q: &str) -> Option<(String, String)> {
    let (_, rest) = q.split_once("| label_format ")?;
    let (name, rest) = rest.split_once("=\"")?;
    let mut body = String::new();
    let mut chars = rest.chars();
    loop {
        match chars.next()? {
            '\\' => body.push(chars.next()?),
            '"' => break,
            c => body.push(c),
        }
    }
    Some((name.trim().to_string(), body))
}

#[test]
fn loki_label_format_corpus() {
    let dir = corpus_dir();
    let cases = std::fs::read_to_string(dir.join("cases.jsonl"))
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()));
    let mut checked = 0;
    let mut failures = Vec::new();
    for l in cases.lines() {
        let c: J = serde_json::from_str(l).unwrap();
        let q = c["request"]["params"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p[0] == "query")
            .and_then(|p| p[1].as_str())
            .unwrap_or_default()
            .to_string();
        let Some((name, tmpl)) = label_format_template(&q) else {
            continue;
        };
        // Templates reading the label they overwrite cannot be replayed from the output.
        if tmpl.contains(&format!(".{name}")) || c["response"]["status"] != 200 {
            continue;
        }
        let mut set = TemplateSet::new()
            .with_funcs(loki_funcs())
            .with_missing_key(MissingKey::Zero);
        set.parse("label", &tmpl).unwrap();
        for stream in c["response"]["body_json"]["data"]["result"]
            .as_array()
            .unwrap()
        {
            let mut labels: BTreeMap<String, String> = stream["stream"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
                .collect();
            let details =
                if labels.get("__error__").map(String::as_str) == Some("TemplateFormatErr") {
                    labels.remove("__error__");
                    labels.remove("__error_details__")
                } else {
                    None
                };
            let want = labels.remove(&name);
            let got = set.execute("label", &Value::string_map(labels));
            checked += 1;
            let ok = match (&got, &details) {
                (Err(e), Some(d)) => &e.to_string() == d,
                (Ok(out), None) => Some(out) == want.as_ref(),
                _ => false,
            };
            if !ok {
                failures.push(format!(
                    "{}: {tmpl}: got {got:?}, want {want:?} / {details:?}",
                    c["id"]
                ));
            }
        }
    }
    assert!(checked >= 10, "only {checked} streams checked");
    assert!(
        failures.is_empty(),
        "{} of {checked} differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
