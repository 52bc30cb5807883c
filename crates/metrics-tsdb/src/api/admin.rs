//! `/api/v1/admin/tsdb/{delete_series,clean_tombstones,snapshot}` (POST or PUT), answering
//! as Prometheus 2.42 does: without `--web.enable-admin-api` a 500 `unavailable` "admin APIs
//! disabled"; 204 without a body on success (`snapshot` answers its directory name).

use std::sync::Arc;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use lgtm_common::api::{ApiError, Envelope, Params};
use lgtm_common::labels::Matcher;

use super::ApiState;

/// Prometheus' default bounds when `start`/`end` are absent.
const MIN_TIME: i64 = i64::MIN / 2;
const MAX_TIME: i64 = i64::MAX / 2;

/// Prometheus' `parseTimeParam`: absent or empty means `default`; errors name the parameter
/// twice, as 2.42 words them.
fn time_param(params: &Params, name: &str, default: i64) -> Result<i64, ApiError> {
    match params.get(name) {
        None | Some("") => Ok(default),
        Some(value) => lgtm_common::time::parse_prom_time_ms(value).map_err(|e| {
            ApiError::invalid_param(name, format!("Invalid time value for '{name}': {e}"))
        }),
    }
}

fn admin_enabled(state: &ApiState) -> Result<(), ApiError> {
    if state.options.enable_admin_api {
        Ok(())
    } else {
        Err(ApiError::unavailable("admin APIs disabled"))
    }
}

/// `POST|PUT /api/v1/admin/tsdb/delete_series`: `match[]` (at least one), `start`, `end`.
pub async fn delete_series(State(state): State<Arc<ApiState>>, params: Params) -> Response {
    let run = async {
        admin_enabled(&state)?;
        let raw: Vec<&str> = params.get_all("match[]").collect();
        if raw.is_empty() {
            return Err(ApiError::bad_data("no match[] parameter provided"));
        }
        let start = time_param(&params, "start", MIN_TIME)?;
        let end = time_param(&params, "end", MAX_TIME)?;
        let mut selectors: Vec<Vec<Matcher>> = Vec::with_capacity(raw.len());
        for selector in raw {
            if selector.is_empty() {
                // The metric-selector grammar of 2.42 words an empty input this way.
                return Err(ApiError::invalid_param(
                    "match[]",
                    "1:1: parse error: unexpected end of input",
                ));
            }
            selectors.push(
                lgtm_promql::parser::parse_selector(selector)
                    .map_err(|e| ApiError::invalid_param("match[]", e))?,
            );
        }
        state
            .db
            .delete_series(&selectors, start, end)
            .await
            .map_err(|e| ApiError::internal(e.to_string()))?;
        Ok(StatusCode::NO_CONTENT.into_response())
    };
    run.await.unwrap_or_else(IntoResponse::into_response)
}

/// `POST|PUT /api/v1/admin/tsdb/clean_tombstones`.
pub async fn clean_tombstones(State(state): State<Arc<ApiState>>) -> Response {
    let run = async {
        admin_enabled(&state)?;
        state
            .db
            .clean_tombstones()
            .await
            .map_err(|e| ApiError::internal(e.to_string()))?;
        Ok::<_, ApiError>(StatusCode::NO_CONTENT.into_response())
    };
    run.await.unwrap_or_else(IntoResponse::into_response)
}

/// Go's `strconv.ParseBool`.
fn parse_go_bool(s: &str) -> Result<bool, String> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Ok(false),
        _ => Err(format!(
            "unable to parse boolean: strconv.ParseBool: parsing {}: invalid syntax",
            lgtm_common::labels::quote(s)
        )),
    }
}

/// The body of a successful snapshot.
#[derive(Debug, serde::Serialize)]
struct SnapshotName {
    name: String,
}

/// `POST|PUT /api/v1/admin/tsdb/snapshot`: `skip_head`. Writes
/// `<storage.tsdb.path>/snapshots/<name>` and answers `{"name": ...}`.
pub async fn snapshot(State(state): State<Arc<ApiState>>, params: Params) -> Response {
    let run = async {
        admin_enabled(&state)?;
        let skip_head = match params.get_or_empty("skip_head") {
            "" => false,
            value => parse_go_bool(value).map_err(|e| ApiError::invalid_param("skip_head", e))?,
        };
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        let random = lgtm_common::blocks::BlockId::generate(0)
            .map(|id| id.as_u128() as u64 & 0x7fff_ffff_ffff_ffff)
            .map_err(|e| ApiError::internal(e.to_string()))?;
        let name = crate::db::snapshot_name(now, random);
        let dir = state.db.dir().join("snapshots").join(&name);
        state
            .db
            .snapshot(&dir, !skip_head)
            .await
            .map_err(|e| ApiError::internal(format!("create snapshot: {e}")))?;
        Ok::<_, ApiError>(Envelope::success(SnapshotName { name }).into_response())
    };
    run.await.unwrap_or_else(IntoResponse::into_response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_bools() {
        assert_eq!(parse_go_bool("T"), Ok(true));
        assert_eq!(parse_go_bool("0"), Ok(false));
        assert_eq!(
            parse_go_bool("yes").unwrap_err(),
            "unable to parse boolean: strconv.ParseBool: parsing \"yes\": invalid syntax"
        );
    }

    #[test]
    fn snapshot_names_look_like_prometheus() {
        // 2026-11-24T21:12:56Z
        assert_eq!(
            crate::db::snapshot_name(1_795_554_776_000, 0x5bf1_b1d7_e76b_d2a7),
            "20261124T211256Z-5bf1b1d7e76bd2a7"
        );
        assert_eq!(
            crate::db::snapshot_name(0, 1),
            "19700101T000000Z-0000000000000001"
        );
    }
}
