//! `/api/v1/series`, `/api/v1/labels`, `/api/v1/label/<name>/values`, `/api/v1/metadata`,
//! `/api/v1/query_exemplars`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use lgtm_common::api::{ApiError, Envelope, Params};
use lgtm_common::labels::{Labels, is_valid_label_name};

use super::{ApiState, MetricMetadata, parse_limit, parse_match_params, parse_time_bound};

/// Prometheus' default bounds when `start`/`end` are absent.
const MIN_TIME: i64 = i64::MIN / 2;
const MAX_TIME: i64 = i64::MAX / 2;

/// Label sets of the series matching any of the selectors with samples in `[start, end]`
/// (blocks and head), in label order.
fn matching_series(
    state: &ApiState,
    selectors: &[Vec<lgtm_common::labels::Matcher>],
    start: i64,
    end: i64,
) -> Result<Vec<Labels>, ApiError> {
    let mut seen = BTreeSet::new();
    for matchers in selectors {
        let selected = state
            .db
            .select(matchers, start, end)
            .map_err(|e| ApiError::internal(e.to_string()))?;
        seen.extend(selected.into_iter().map(|(labels, _)| labels));
    }
    Ok(seen.into_iter().collect())
}

fn limited<T>(mut items: Vec<T>, limit: usize) -> (Vec<T>, Vec<String>) {
    if limit > 0 && items.len() > limit {
        items.truncate(limit);
        return (items, vec!["results truncated due to limit".to_owned()]);
    }
    (items, Vec::new())
}

/// `GET|POST /api/v1/series`.
pub async fn series(State(state): State<Arc<ApiState>>, params: Params) -> Response {
    let run = || -> Result<Response, ApiError> {
        let selectors = parse_match_params(&params, true)?;
        let start = parse_time_bound(&params, "start", MIN_TIME)?;
        let end = parse_time_bound(&params, "end", MAX_TIME)?;
        let limit = parse_limit(&params)?;
        let labels = matching_series(&state, &selectors, start, end)?;
        let (labels, warnings) = limited(labels, limit);
        Ok(Envelope::success(labels)
            .with_warnings(warnings)
            .into_response())
    };
    run().unwrap_or_else(IntoResponse::into_response)
}

/// `DELETE /api/v1/series`: removed upstream; 2.42 answered this.
pub async fn delete_not_implemented() -> Response {
    ApiError::<lgtm_common::api::Prometheus>::internal("not implemented").into_response()
}

/// `GET|POST /api/v1/labels`.
pub async fn labels(State(state): State<Arc<ApiState>>, params: Params) -> Response {
    let run = || -> Result<Response, ApiError> {
        let selectors = parse_match_params(&params, false)?;
        let start = parse_time_bound(&params, "start", MIN_TIME)?;
        let end = parse_time_bound(&params, "end", MAX_TIME)?;
        let limit = parse_limit(&params)?;
        let names: Vec<String> = if selectors.is_empty() {
            state.db.label_names()
        } else {
            let mut set = BTreeSet::new();
            for labels in matching_series(&state, &selectors, start, end)? {
                set.extend(labels.iter().map(|l| l.name.clone()));
            }
            set.into_iter().collect()
        };
        let (names, warnings) = limited(names, limit);
        Ok(Envelope::success(names)
            .with_warnings(warnings)
            .into_response())
    };
    run().unwrap_or_else(IntoResponse::into_response)
}

/// `GET /api/v1/label/<name>/values`.
pub async fn label_values(
    State(state): State<Arc<ApiState>>,
    Path(name): Path<String>,
    params: Params,
) -> Response {
    let run = || -> Result<Response, ApiError> {
        // Prometheus 3 accepts `U__`-escaped UTF-8 names; plain names must be valid.
        let escaped = name.starts_with("U__");
        let name = unescape_label_name(&name);
        if name.is_empty() || (!escaped && !is_valid_label_name(&name)) {
            return Err(ApiError::bad_data(format!(
                "invalid label name: {}",
                lgtm_common::labels::quote(&name)
            )));
        }
        let selectors = parse_match_params(&params, false)?;
        let start = parse_time_bound(&params, "start", MIN_TIME)?;
        let end = parse_time_bound(&params, "end", MAX_TIME)?;
        let limit = parse_limit(&params)?;
        let values: Vec<String> = if selectors.is_empty() {
            state.db.label_values(&name)
        } else {
            let mut set = BTreeSet::new();
            for labels in matching_series(&state, &selectors, start, end)? {
                if let Some(v) = labels.get(&name) {
                    set.insert(v.to_owned());
                }
            }
            set.into_iter().collect()
        };
        let (values, warnings) = limited(values, limit);
        Ok(Envelope::success(values)
            .with_warnings(warnings)
            .into_response())
    };
    run().unwrap_or_else(IntoResponse::into_response)
}

/// Prometheus 3's `U__` escaping of label names in URL paths (`U__a_2e_b` is `a.b`).
fn unescape_label_name(name: &str) -> String {
    let Some(rest) = name.strip_prefix("U__") else {
        return name.to_owned();
    };
    let mut out = String::new();
    let mut chars = rest.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '_' {
            out.push(c);
            continue;
        }
        if chars.peek() == Some(&'_') {
            chars.next();
            out.push('_');
            continue;
        }
        let hex: String = chars.by_ref().take_while(|&h| h != '_').collect();
        match u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
            Some(decoded) => out.push(decoded),
            None => return name.to_owned(),
        }
    }
    out
}

/// `GET /api/v1/metadata`.
pub async fn metadata(State(state): State<Arc<ApiState>>, params: Params) -> Response {
    let run = || -> Result<Response, ApiError> {
        let limit: i64 = match params.get("limit").filter(|s| !s.is_empty()) {
            Some(raw) => raw
                .parse()
                .map_err(|_| ApiError::bad_data("limit must be a number"))?,
            None => -1,
        };
        let per_metric: i64 = match params.get("limit_per_metric").filter(|s| !s.is_empty()) {
            Some(raw) => raw
                .parse()
                .map_err(|_| ApiError::bad_data("limit_per_metric must be a number"))?,
            None => -1,
        };
        let metric = params.get("metric").filter(|s| !s.is_empty());
        let all = state.metadata.read();
        let mut out: BTreeMap<&str, Vec<&MetricMetadata>> = BTreeMap::new();
        for (name, entries) in all.iter() {
            if metric.is_some_and(|m| m != name) {
                continue;
            }
            if limit >= 0 && out.len() as i64 >= limit {
                break;
            }
            let mut list: Vec<&MetricMetadata> = entries.iter().collect();
            if per_metric >= 0 {
                list.truncate(per_metric as usize);
            }
            out.insert(name, list);
        }
        Ok(Envelope::success(out).into_response())
    };
    run().unwrap_or_else(IntoResponse::into_response)
}

/// Every vector selector's matchers in an expression (what `query_exemplars` looks up).
fn selectors(expr: &lgtm_promql::ast::Expr, out: &mut Vec<Vec<lgtm_common::labels::Matcher>>) {
    use lgtm_promql::ast::Expr;
    match expr {
        Expr::Vector(v) => out.push(v.matchers.clone()),
        Expr::Matrix(m) => out.push(m.vs.matchers.clone()),
        Expr::Paren { expr, .. } | Expr::Unary { expr, .. } => selectors(expr, out),
        Expr::Binary(b) => {
            selectors(&b.lhs, out);
            selectors(&b.rhs, out);
        }
        Expr::Aggregate(a) => {
            selectors(&a.expr, out);
            if let Some(p) = &a.param {
                selectors(p, out);
            }
        }
        Expr::Call(c) => c.args.iter().for_each(|a| selectors(a, out)),
        Expr::Subquery(s) => selectors(&s.expr, out),
        Expr::Number { .. } | Expr::String { .. } => {}
    }
}

/// `GET|POST /api/v1/query_exemplars`: exemplars of every series the query selects.
pub async fn exemplars(State(state): State<Arc<ApiState>>, params: Params) -> Response {
    #[derive(serde::Serialize)]
    struct ExemplarJson {
        labels: Labels,
        value: String,
        timestamp: super::render::Timestamp,
    }
    #[derive(serde::Serialize)]
    #[serde(rename_all = "camelCase")]
    struct SeriesJson {
        series_labels: Labels,
        exemplars: Vec<ExemplarJson>,
    }
    let run = || -> Result<Response, ApiError> {
        let expr = lgtm_promql::parse(params.get_or_empty("query"))
            .map_err(|e| ApiError::invalid_param("query", e))?;
        let start = parse_time_bound(&params, "start", MIN_TIME)?;
        let end = parse_time_bound(&params, "end", MAX_TIME)?;
        if end < start {
            return Err(ApiError::invalid_param(
                "end",
                "end timestamp must not be before start timestamp",
            ));
        }
        let mut sets = Vec::new();
        selectors(&expr, &mut sets);
        let data: Vec<SeriesJson> = state
            .exemplars
            .select(&sets, start, end)
            .into_iter()
            .map(|(series_labels, list)| SeriesJson {
                series_labels,
                exemplars: list
                    .into_iter()
                    .map(|e| ExemplarJson {
                        labels: e.labels,
                        value: lgtm_promql::value::fmt_float_f(e.value),
                        timestamp: super::render::Timestamp(e.timestamp),
                    })
                    .collect(),
            })
            .collect();
        Ok(Envelope::success(data).into_response())
    };
    run().unwrap_or_else(IntoResponse::into_response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_label_name_unescaping() {
        assert_eq!(unescape_label_name("job"), "job");
        assert_eq!(unescape_label_name("U__a_2e_b"), "a.b");
        assert_eq!(unescape_label_name("U__a__b"), "a_b");
    }
}
