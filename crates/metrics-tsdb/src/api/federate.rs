//! `GET /federate`: the newest sample of every series matching `match[]` within the lookback
//! window, in the text exposition format 0.0.4, one `# TYPE <name> untyped` per family, as
//! Prometheus answers federation scrapes.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::header;
use lgtm_common::api::{ApiError, Params};
use lgtm_common::labels::Labels;

use super::{ApiState, parse_match_params};

/// Prometheus' federation lookback (`--query.lookback-delta` default).
const LOOKBACK_MS: i64 = 5 * 60 * 1000;

/// Label value escaping of the text format: `\\`, `\"` and `\n` only.
fn escape_label_value(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

fn format_value(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        }
    } else {
        lgtm_promql::value::fmt_go_float(v)
    }
}

/// The handler.
pub async fn federate(State(state): State<Arc<ApiState>>, params: Params) -> Response {
    let run = || -> Result<Response, ApiError> {
        let selectors = parse_match_params(&params, false)?;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        let mut latest: std::collections::BTreeMap<Labels, (i64, f64)> = Default::default();
        for matchers in &selectors {
            let selected = state
                .db
                .select(matchers, now - LOOKBACK_MS, now)
                .map_err(|e| ApiError::internal(e.to_string()))?;
            for (labels, samples) in selected {
                if let Some(&(t, v)) = samples.last() {
                    // Stale series are not federated.
                    if v.to_bits() != lgtm_promql::value::stale_nan().to_bits() {
                        latest.insert(labels, (t, v));
                    }
                }
            }
        }
        let mut body = String::new();
        let mut family = String::new();
        for (labels, (t, v)) in &latest {
            let name = labels.metric_name().unwrap_or("");
            if name != family {
                family = name.to_owned();
                let _ = writeln!(body, "# TYPE {name} untyped");
            }
            body.push_str(name);
            let rest: Vec<String> = labels
                .iter()
                .filter(|l| l.name != lgtm_common::labels::METRIC_NAME)
                .map(|l| format!("{}=\"{}\"", l.name, escape_label_value(&l.value)))
                .collect();
            if !rest.is_empty() {
                let _ = write!(body, "{{{}}}", rest.join(","));
            }
            let _ = writeln!(body, " {} {t}", format_value(*v));
        }
        Ok((
            [(
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            body,
        )
            .into_response())
    };
    run().unwrap_or_else(IntoResponse::into_response)
}
