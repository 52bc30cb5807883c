//! `/loki/api/v1/format_query`, `/loki/api/v1/status/buildinfo`, `/flush`, `/config`.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use lgtm_common::api::{ApiError, Loki, Params, Text, to_go_json};
use serde::Serialize;

use super::AppState;
use super::encode::json_response;
use crate::logql;

/// `GET|POST /loki/api/v1/format_query`: the prettified query, or 400
/// `{"status":"invalid-query","error":…}` (Go `encoding/json`, trailing newline).
pub(super) async fn format_query(p: Params<Loki>) -> Response {
    #[derive(Serialize)]
    struct Body<'a> {
        status: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        data: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    }
    let (status, body) = match logql::parse(p.get_or_empty("query")) {
        Ok(expr) => (
            StatusCode::OK,
            Body {
                status: "success",
                data: Some(expr.pretty()),
                error: None,
            },
        ),
        Err(e) => (
            StatusCode::BAD_REQUEST,
            Body {
                status: "invalid-query",
                data: None,
                error: Some(e.to_string()),
            },
        ),
    };
    let mut bytes = to_go_json(&body).unwrap_or_default();
    bytes.push(b'\n');
    let mut r = json_response(bytes);
    *r.status_mut() = status;
    r
}

/// `GET /loki/api/v1/status/buildinfo`. The version is the Loki release whose API this
/// store follows, so clients that gate features on it (Grafana) enable the 3.x ones.
pub(super) async fn buildinfo() -> Response {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Body {
        version: &'static str,
        revision: &'static str,
        branch: &'static str,
        build_user: &'static str,
        build_date: &'static str,
        go_version: &'static str,
    }
    let body = Body {
        version: "3.6.0",
        revision: concat!("lgtm-rs-", env!("CARGO_PKG_VERSION")),
        branch: "main",
        build_user: "",
        build_date: "",
        go_version: "",
    };
    json_response(to_go_json(&body).unwrap_or_default())
}

/// `GET|POST /flush`: cuts the heads to blocks; 204.
pub(super) async fn flush(State(state): State<AppState>) -> Response {
    match state.store.flush().await {
        Ok(_) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => ApiError::<Text>::internal(e.to_string()).into_response(),
    }
}

/// `GET /config`: the effective configuration.
pub(super) async fn config(State(state): State<AppState>) -> Response {
    let mut r = (StatusCode::OK, state.config_text.as_str().to_owned()).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}
