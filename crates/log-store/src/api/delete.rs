//! `/loki/api/v1/delete` (Loki's compactor deletion API): `POST`/`PUT` creates a request,
//! `GET` lists a tenant's requests, `DELETE` cancels one. Errors are plain text (Go
//! `http.Error`), as Loki's compactor handler writes them.

use std::hash::{Hash, Hasher};

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use lgtm_common::api::{ApiError, Params, Text, to_go_json};
use lgtm_common::error::ErrorKind;
use lgtm_common::tenant::Tenant;
use serde::Serialize;

use super::AppState;
use super::encode::json_response;
use crate::store::DeleteRequest;

fn bad(msg: &str) -> Response {
    ApiError::<Text>::new(ErrorKind::BadData, msg).into_response()
}

/// Unix seconds or RFC3339, as Loki's delete handler accepts; ns.
fn parse_time(s: &str) -> Option<i64> {
    if let Ok(secs) = s.parse::<i64>() {
        return secs.checked_mul(1_000_000_000);
    }
    lgtm_common::time::parse_rfc3339(s).map(|(secs, nanos)| secs * 1_000_000_000 + i64::from(nanos))
}

/// `POST|PUT /loki/api/v1/delete`.
pub(super) async fn create(State(state): State<AppState>, tenant: Tenant, p: Params) -> Response {
    if !state.deletes_enabled {
        return bad("Retention is not enabled");
    }
    let query = p.get_or_empty("query");
    if query.is_empty() {
        return bad("query not set");
    }
    let Some(start) = p.get("start").filter(|s| !s.is_empty()) else {
        return bad("start time not set");
    };
    let Some(start_ns) = parse_time(start) else {
        return bad("invalid start time: require unix seconds or RFC3339 format");
    };
    let now = state.clock.now_ns();
    let end_ns = match p.get("end").filter(|s| !s.is_empty()) {
        None => now,
        Some(e) => match parse_time(e) {
            Some(v) => v,
            None => return bad("invalid end time: require unix seconds or RFC3339 format"),
        },
    };
    if end_ns > now {
        return bad("deletes in the future are not allowed");
    }
    if start_ns >= end_ns {
        return bad("start time can't be greater than or equal to end time");
    }
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (tenant.id(), query, start_ns, end_ns, now).hash(&mut h);
    let req = DeleteRequest {
        request_id: format!("{:08x}", h.finish() as u32),
        tenant: tenant.id(),
        query: query.to_owned(),
        start_ns,
        end_ns,
        created_ns: now,
        status: "received".into(),
    };
    match state.store.add_delete(req).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => ApiError::<Text>::from_error(&e).into_response(),
    }
}

/// `GET /loki/api/v1/delete`.
pub(super) async fn list(State(state): State<AppState>, tenant: Tenant) -> Response {
    #[derive(Serialize)]
    struct Item {
        request_id: String,
        start_time: f64,
        end_time: f64,
        query: String,
        status: String,
        created_at: f64,
        user_id: String,
    }
    let secs = |ns: i64| (ns / 1_000_000) as f64 / 1000.0;
    let items: Vec<Item> = state
        .store
        .delete_requests(&tenant.id())
        .into_iter()
        .map(|r| Item {
            request_id: r.request_id,
            start_time: secs(r.start_ns),
            end_time: secs(r.end_ns),
            query: r.query,
            status: r.status,
            created_at: secs(r.created_ns),
            user_id: String::new(),
        })
        .collect();
    json_response(to_go_json(&items).unwrap_or_default())
}

/// `DELETE /loki/api/v1/delete?request_id=…`.
pub(super) async fn cancel(State(state): State<AppState>, tenant: Tenant, p: Params) -> Response {
    match state
        .store
        .cancel_delete(&tenant.id(), p.get_or_empty("request_id"))
        .await
    {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => ApiError::<Text>::from_error(&e).into_response(),
    }
}
