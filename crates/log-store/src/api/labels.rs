//! `/loki/api/v1/labels`, `/loki/api/v1/label/<name>/values` and `/loki/api/v1/series`.

use std::collections::BTreeSet;

use axum::extract::{Path, State};
use axum::response::Response;
use lgtm_common::api::{ApiError, Loki, Params, to_go_json};
use lgtm_common::labels::Matcher;
use lgtm_common::tenant::Tenant;
use serde::Serialize;

use super::AppState;
use super::encode::json_response;
use crate::logql::{self, Expr};
use crate::query::{QueryError, params};

type Result<T> = std::result::Result<T, ApiError<Loki>>;

fn err(e: QueryError) -> ApiError<Loki> {
    ApiError::from_error(&e)
}

/// A selector without pipeline (`only label matchers are supported` otherwise).
pub(super) fn parse_selector(q: &str) -> std::result::Result<Vec<Matcher>, QueryError> {
    match logql::parse(q)? {
        Expr::Log(l) if l.stages.is_empty() => Ok(l.matchers),
        _ => Err(QueryError::BadRequest(
            "only label matchers are supported".into(),
        )),
    }
}

#[derive(Serialize)]
struct StringList<'a> {
    status: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    data: Vec<&'a str>,
}

fn list_response(values: &BTreeSet<String>) -> Response {
    let body = StringList {
        status: "success",
        data: values.iter().map(String::as_str).collect(),
    };
    json_response(to_go_json(&body).unwrap_or_default())
}

async fn matching_series(
    state: &AppState,
    tenant: &Tenant,
    p: &Params<Loki>,
) -> Result<Vec<lgtm_common::labels::Labels>> {
    let (start, end) = params::bounds(p, state.clock.now_ns()).map_err(err)?;
    let matchers = match p.get("query").filter(|q| !q.is_empty()) {
        Some(q) => parse_selector(q).map_err(err)?,
        None => Vec::new(),
    };
    Ok(state
        .store
        .series(&tenant.id(), &matchers, start, end)
        .await)
}

/// `GET|POST /loki/api/v1/labels`.
pub(super) async fn labels(
    State(state): State<AppState>,
    tenant: Tenant,
    p: Params<Loki>,
) -> Result<Response> {
    let names: BTreeSet<String> = matching_series(&state, &tenant, &p)
        .await?
        .iter()
        .flat_map(|l| l.iter().map(|l| l.name.clone()))
        .collect();
    Ok(list_response(&names))
}

/// `GET|POST /loki/api/v1/label/<name>/values`.
pub(super) async fn label_values(
    State(state): State<AppState>,
    tenant: Tenant,
    Path(name): Path<String>,
    p: Params<Loki>,
) -> Result<Response> {
    let values: BTreeSet<String> = matching_series(&state, &tenant, &p)
        .await?
        .iter()
        .filter_map(|l| l.get(&name).map(str::to_owned))
        .collect();
    Ok(list_response(&values))
}

/// `GET|POST /loki/api/v1/series` (`match[]` or `match`; none or `{}` = every stream).
pub(super) async fn series(
    State(state): State<AppState>,
    tenant: Tenant,
    p: Params<Loki>,
) -> Result<Response> {
    let (start, end) = params::bounds(&p, state.clock.now_ns()).map_err(err)?;
    let mut selectors: Vec<Vec<Matcher>> = Vec::new();
    for q in p.get_all("match[]").chain(p.get_all("match")) {
        if q.trim() == "{}" {
            selectors.push(Vec::new());
        } else {
            selectors.push(parse_selector(q).map_err(err)?);
        }
    }
    if selectors.is_empty() {
        selectors.push(Vec::new());
    }
    let tenant = tenant.id();
    let mut all = BTreeSet::new();
    for m in &selectors {
        all.extend(state.store.series(&tenant, m, start, end).await);
    }
    let data: Vec<std::collections::BTreeMap<&str, &str>> = all
        .iter()
        .map(|l| {
            l.iter()
                .map(|l| (l.name.as_str(), l.value.as_str()))
                .collect()
        })
        .collect();
    #[derive(Serialize)]
    struct Body<'a> {
        status: &'static str,
        data: &'a [std::collections::BTreeMap<&'a str, &'a str>],
    }
    Ok(json_response(
        to_go_json(&Body {
            status: "success",
            data: &data,
        })
        .unwrap_or_default(),
    ))
}
