//! The LogQL/Loki HTTP conformance runner: loads the recorded cases of
//! `../shared/conformance/loki/` (`data.jsonl`, `cases.jsonl`), pushes the data into an
//! in-process log store, replays every request through the router and compares the answers
//! with the README's rules (status exact; JSON with `stats` removed, `result` and `/series`
//! arrays sorted by canonical JSON, floats within 1e-9 relative; plain text exact or by
//! prefix/suffix). Used by the `logql-conformance` binary and the integration tests.

use std::collections::BTreeMap;
use std::path::Path;

use axum::Router;
use axum::body::Body;
use http::{Method, Request};
use http_body_util::BodyExt;
use lgtm_common::clock::SystemClock;
use serde::Deserialize;
use serde_json::Value;
use tower::ServiceExt;

use crate::config::Config;
use crate::server::LogStore;

/// One recorded case.
#[derive(Debug, Clone, Deserialize)]
pub struct Case {
    /// Case id (`parser_json-004`).
    pub id: String,
    /// Feature tag.
    pub feature: String,
    /// The request.
    pub request: CaseRequest,
    /// Loki's answer.
    pub response: CaseResponse,
}

/// A recorded request.
#[derive(Debug, Clone, Deserialize)]
pub struct CaseRequest {
    /// `GET` or `POST`.
    pub method: String,
    /// Path.
    pub path: String,
    /// Parameters (names may repeat).
    pub params: Vec<(String, String)>,
    /// Extra headers.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
}

/// A recorded answer.
#[derive(Debug, Clone, Deserialize)]
pub struct CaseResponse {
    /// Status code.
    pub status: u16,
    /// JSON body.
    pub body_json: Option<Value>,
    /// Exact text body.
    pub body_text: Option<String>,
    /// Text prefix.
    pub body_text_prefix: Option<String>,
    /// Text suffix.
    pub body_text_suffix: Option<String>,
    /// Top-level keys whose integer values are not compared.
    #[serde(default)]
    pub unchecked_values: Vec<String>,
}

/// Outcome of a run.
#[derive(Debug, Default)]
pub struct Report {
    /// Ids that passed.
    pub passed: Vec<String>,
    /// `(id, reason)` of failures.
    pub failed: Vec<(String, String)>,
}

/// Errors of the runner itself (not case failures).
#[derive(Debug, thiserror::Error)]
pub enum RunnerError {
    /// A file could not be read or parsed.
    #[error("{0}")]
    Input(String),
    /// The store could not start or the data push failed.
    #[error("{0}")]
    Setup(String),
}

#[derive(Deserialize)]
struct DataLine {
    labels: BTreeMap<String, String>,
    ts: String,
    line: String,
    #[serde(default)]
    metadata: BTreeMap<String, String>,
}

/// Reads `cases.jsonl`.
pub fn load_cases(dir: &Path) -> Result<Vec<Case>, RunnerError> {
    let text = std::fs::read_to_string(dir.join("cases.jsonl"))
        .map_err(|e| RunnerError::Input(format!("cases.jsonl: {e}")))?;
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            serde_json::from_str(l).map_err(|e| RunnerError::Input(format!("cases.jsonl: {e}")))
        })
        .collect()
}

/// JSON push bodies of `data.jsonl`: streams in order of their sorted-label JSON, entries in
/// timestamp order, batches of 1,000 entries (as the recording did).
pub fn push_bodies(dir: &Path) -> Result<Vec<Vec<u8>>, RunnerError> {
    let text = std::fs::read_to_string(dir.join("data.jsonl"))
        .map_err(|e| RunnerError::Input(format!("data.jsonl: {e}")))?;
    let mut streams: BTreeMap<String, (BTreeMap<String, String>, Vec<DataLine>)> = BTreeMap::new();
    for l in text.lines().filter(|l| !l.trim().is_empty()) {
        let d: DataLine =
            serde_json::from_str(l).map_err(|e| RunnerError::Input(format!("data.jsonl: {e}")))?;
        let key = serde_json::to_string(&d.labels).unwrap_or_default();
        streams
            .entry(key)
            .or_insert_with(|| (d.labels.clone(), Vec::new()))
            .1
            .push(d);
    }
    let mut bodies = Vec::new();
    let mut batch: Vec<Value> = Vec::new();
    let mut n = 0;
    let flush = |batch: &mut Vec<Value>, bodies: &mut Vec<Vec<u8>>| {
        if !batch.is_empty() {
            let body = serde_json::json!({ "streams": std::mem::take(batch) });
            bodies.push(serde_json::to_vec(&body).unwrap_or_default());
        }
    };
    for (_, (labels, mut entries)) in streams {
        entries.sort_by_key(|e| e.ts.parse::<i64>().unwrap_or(0));
        let mut values = Vec::new();
        for e in entries {
            let v = if e.metadata.is_empty() {
                serde_json::json!([e.ts, e.line])
            } else {
                serde_json::json!([e.ts, e.line, e.metadata])
            };
            values.push(v);
            n += 1;
            if n == 1000 {
                batch.push(
                    serde_json::json!({"stream": labels, "values": std::mem::take(&mut values)}),
                );
                flush(&mut batch, &mut bodies);
                n = 0;
            }
        }
        if !values.is_empty() {
            batch.push(serde_json::json!({"stream": labels, "values": values}));
        }
    }
    flush(&mut batch, &mut bodies);
    Ok(bodies)
}

/// Starts an in-process store in `data_dir` with the recording's settings and pushes the
/// data set. Returns the router to query.
pub async fn start(dir: &Path, data_dir: &Path) -> Result<(Router, LogStore), RunnerError> {
    let mut config = Config {
        auth_enabled: false,
        ..Config::default()
    };
    config.common.path_prefix = Some(data_dir.to_path_buf());
    config.limits_config.reject_old_samples = false;
    // The data set is ~2.5 MB pushed in a burst.
    config.limits_config.ingestion_rate_mb = 1024.0;
    config.limits_config.ingestion_burst_size_mb = 1024.0;
    let ls = LogStore::open(config, SystemClock::shared())
        .await
        .map_err(|e| RunnerError::Setup(e.to_string()))?;
    let router = ls.http().build_router();
    for body in push_bodies(dir)? {
        let req = Request::builder()
            .method(Method::POST)
            .uri("/loki/api/v1/push")
            .header("content-type", "application/json")
            .body(Body::from(body))
            .map_err(|e| RunnerError::Setup(e.to_string()))?;
        let resp = router
            .clone()
            .oneshot(req)
            .await
            .map_err(|e| RunnerError::Setup(e.to_string()))?;
        if resp.status() != http::StatusCode::NO_CONTENT {
            let status = resp.status();
            let body = resp
                .into_body()
                .collect()
                .await
                .map(|b| b.to_bytes())
                .unwrap_or_default();
            return Err(RunnerError::Setup(format!(
                "push failed: {status} {}",
                String::from_utf8_lossy(&body)
            )));
        }
    }
    Ok((router, ls))
}

/// Sends one case's request; returns status and body.
pub async fn send(router: &Router, req: &CaseRequest) -> Result<(u16, Vec<u8>), String> {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(req.params.iter())
        .finish();
    let method = if req.method.eq_ignore_ascii_case("POST") {
        Method::POST
    } else {
        Method::GET
    };
    let mut b = Request::builder().method(method.clone());
    for (k, v) in &req.headers {
        b = b.header(k.as_str(), v.as_str());
    }
    let request = if method == Method::POST {
        b.uri(req.path.as_str())
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(query))
    } else {
        let uri = if query.is_empty() {
            req.path.clone()
        } else {
            format!("{}?{query}", req.path)
        };
        b.uri(uri).body(Body::empty())
    }
    .map_err(|e| e.to_string())?;
    let resp = router
        .clone()
        .oneshot(request)
        .await
        .map_err(|e| e.to_string())?;
    let status = resp.status().as_u16();
    let body = resp
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    Ok((status, body.to_vec()))
}

fn canonical(v: &Value) -> String {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let inner: Vec<String> = keys
                .into_iter()
                .map(|k| format!("{}:{}", Value::String(k.clone()), canonical(&m[k])))
                .collect();
            format!("{{{}}}", inner.join(","))
        }
        Value::Array(a) => format!(
            "[{}]",
            a.iter().map(canonical).collect::<Vec<_>>().join(",")
        ),
        other => other.to_string(),
    }
}

/// Removes `stats` everywhere and sorts `result` arrays and a top-level `data` array.
fn normalise(v: &mut Value, top: bool) {
    match v {
        Value::Object(m) => {
            m.remove("stats");
            for (k, x) in m.iter_mut() {
                normalise(x, false);
                if k == "result"
                    && let Value::Array(a) = x
                {
                    a.sort_by_cached_key(|e| {
                        canonical(
                            e.get("stream")
                                .or_else(|| e.get("metric"))
                                .unwrap_or(&Value::Null),
                        )
                    });
                }
                if top
                    && k == "data"
                    && let Value::Array(a) = x
                    && a.iter().all(Value::is_object)
                {
                    a.sort_by_cached_key(canonical);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| normalise(x, false)),
        _ => {}
    }
}

fn close(a: f64, b: f64) -> bool {
    if a.is_nan() && b.is_nan() {
        return true;
    }
    if a == b {
        return true;
    }
    let scale = a.abs().max(b.abs());
    (a - b).abs() <= 1e-9 * scale
}

fn float_of(s: &str) -> Option<f64> {
    match s {
        "NaN" => Some(f64::NAN),
        "+Inf" | "Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        _ => s.parse::<f64>().ok(),
    }
}

/// Deep comparison; returns the first difference as `path: expected … got …`.
fn diff(path: &str, want: &Value, got: &Value) -> Option<String> {
    match (want, got) {
        (Value::Number(a), Value::Number(b)) => {
            let (a, b) = (
                a.as_f64().unwrap_or(f64::NAN),
                b.as_f64().unwrap_or(f64::NAN),
            );
            (!close(a, b)).then(|| format!("{path}: expected {a} got {b}"))
        }
        (Value::String(a), Value::String(b)) => {
            if a == b {
                return None;
            }
            match (float_of(a), float_of(b)) {
                (Some(x), Some(y)) if close(x, y) => None,
                _ => Some(format!("{path}: expected {a:?} got {b:?}")),
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            if a.len() != b.len() {
                return Some(format!(
                    "{path}: expected {} elements got {}",
                    a.len(),
                    b.len()
                ));
            }
            a.iter()
                .zip(b)
                .enumerate()
                .find_map(|(i, (x, y))| diff(&format!("{path}[{i}]"), x, y))
        }
        (Value::Object(a), Value::Object(b)) => {
            let mut ka: Vec<&String> = a.keys().collect();
            let mut kb: Vec<&String> = b.keys().collect();
            ka.sort();
            kb.sort();
            if ka != kb {
                return Some(format!("{path}: expected keys {ka:?} got {kb:?}"));
            }
            ka.into_iter()
                .find_map(|k| diff(&format!("{path}.{k}"), &a[k], &b[k]))
        }
        _ => (want != got).then(|| format!("{path}: expected {want} got {got}")),
    }
}

fn shorten(s: &str) -> String {
    if s.len() <= 300 {
        return s.to_owned();
    }
    let mut end = 300;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// Compares an answer with the recording; `None` when it passes.
pub fn check(case: &Case, status: u16, body: &[u8]) -> Option<String> {
    let want = &case.response;
    let text = String::from_utf8_lossy(body);
    if status != want.status {
        return Some(format!(
            "status: expected {} got {status}: {}",
            want.status,
            shorten(&text)
        ));
    }
    if let Some(t) = &want.body_text {
        return (text != *t)
            .then(|| format!("body: expected {:?} got {:?}", shorten(t), shorten(&text)));
    }
    if want.body_text_prefix.is_some() || want.body_text_suffix.is_some() {
        let p = want.body_text_prefix.as_deref().unwrap_or("");
        let s = want.body_text_suffix.as_deref().unwrap_or("");
        return (!text.starts_with(p) || !text.ends_with(s)).then(|| {
            format!(
                "body: expected prefix {p:?} / suffix {s:?} got {:?}",
                shorten(&text)
            )
        });
    }
    let Some(expected) = &want.body_json else {
        return None;
    };
    let mut got: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => return Some(format!("body is not JSON ({e}): {}", shorten(&text))),
    };
    let mut expected = expected.clone();
    for k in &want.unchecked_values {
        match got.get(k) {
            Some(v) if v.is_i64() || v.is_u64() => {}
            _ => return Some(format!("{k}: expected an integer")),
        }
        if let (Some(a), Some(b)) = (expected.as_object_mut(), got.as_object_mut()) {
            a.remove(k);
            b.remove(k);
        }
    }
    normalise(&mut expected, true);
    normalise(&mut got, true);
    diff("$", &expected, &got)
}

/// Runs every case against `router`.
pub async fn run_cases(router: &Router, cases: &[Case]) -> Report {
    let mut report = Report::default();
    for case in cases {
        match send(router, &case.request).await {
            Ok((status, body)) => match check(case, status, &body) {
                None => report.passed.push(case.id.clone()),
                Some(reason) => report.failed.push((case.id.clone(), reason)),
            },
            Err(e) => report
                .failed
                .push((case.id.clone(), format!("request failed: {e}"))),
        }
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comparison_rules() {
        let case: Case = serde_json::from_value(serde_json::json!({
            "id": "x", "feature": "f",
            "request": {"method": "GET", "path": "/", "params": []},
            "response": {"status": 200, "body_json": {"status": "success", "data": {"resultType": "matrix",
                "result": [{"metric": {"b": "1"}, "values": [[1, "0.1"]]}, {"metric": {"a": "1"}, "values": [[1, "NaN"]]}],
                "stats": {"x": 1}}}}
        }))
        .unwrap();
        let ok = br#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"a":"1"},"values":[[1,"NaN"]]},{"metric":{"b":"1"},"values":[[1.0,"0.10000000000000001"]]}]}}"#;
        assert_eq!(check(&case, 200, ok), None);
        let bad = br#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"a":"1"},"values":[[1,"NaN"]]},{"metric":{"b":"1"},"values":[[1,"0.2"]]}]}}"#;
        assert!(check(&case, 200, bad).is_some());
        assert!(check(&case, 400, ok).unwrap().starts_with("status"));
    }
}
