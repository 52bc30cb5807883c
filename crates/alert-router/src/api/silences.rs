//! `/api/v2/silences` and `/api/v2/silence/{id}`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use lgtm_common::labels::MatchOp;
use serde::Serialize;
use serde_json::Value;

use super::error::ok_json;
use super::{ApiError, query_pairs};
use crate::model::{api_time, parse_time};
use crate::silence::{Silence, SilenceError, SilenceMatcher, SilenceState};
use crate::state::Core;

#[derive(Debug, Serialize)]
struct GettableSilence {
    id: String,
    status: SilenceStatus,
    #[serde(rename = "updatedAt")]
    updated_at: String,
    comment: String,
    #[serde(rename = "createdBy")]
    created_by: String,
    #[serde(rename = "endsAt")]
    ends_at: String,
    matchers: Vec<MatcherJson>,
    #[serde(rename = "startsAt")]
    starts_at: String,
}

#[derive(Debug, Serialize)]
struct SilenceStatus {
    state: &'static str,
}

#[derive(Debug, Serialize)]
struct MatcherJson {
    #[serde(rename = "isEqual")]
    is_equal: bool,
    #[serde(rename = "isRegex")]
    is_regex: bool,
    name: String,
    value: String,
}

fn gettable(s: &Silence, now: DateTime<Utc>) -> GettableSilence {
    GettableSilence {
        id: s.id.clone(),
        status: SilenceStatus {
            state: s.state(now).as_str(),
        },
        updated_at: api_time(&s.updated_at),
        comment: s.comment.clone(),
        created_by: s.created_by.clone(),
        ends_at: api_time(&s.ends_at),
        matchers: s
            .matchers
            .iter()
            .map(|m| MatcherJson {
                is_equal: m.is_equal,
                is_regex: m.is_regex,
                name: m.name.clone(),
                value: m.value.clone(),
            })
            .collect(),
        starts_at: api_time(&s.starts_at),
    }
}

/// `GET /api/v2/silences`: a silence is listed when, for every filter matcher, it has a
/// matcher with the same name, type and value (`CheckSilenceMatchesFilterLabels`).
pub(super) async fn get_silences(
    State(core): State<Arc<Core>>,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let pairs = query_pairs(q.as_deref());
    let mut filters = Vec::new();
    for (_, v) in pairs.iter().filter(|(k, _)| k == "filter") {
        filters.push(
            crate::matchers::parse_matcher(v).map_err(|e| ApiError::bad_request(e.to_string()))?,
        );
    }
    let now = core.clock.now();
    let mut list: Vec<Silence> = core
        .silences
        .list()
        .into_iter()
        .filter(|s| {
            filters.iter().all(|f| {
                s.matchers.iter().any(|m| {
                    let op = match (m.is_regex, m.is_equal) {
                        (false, true) => MatchOp::Equal,
                        (false, false) => MatchOp::NotEqual,
                        (true, true) => MatchOp::Regex,
                        (true, false) => MatchOp::NotRegex,
                    };
                    m.name == f.name && op == f.op && m.value == f.value
                })
            })
        })
        .collect();
    list.sort_by(|a, b| {
        let (sa, sb) = (a.state(now), b.state(now));
        if sa != sb {
            return sb.cmp(&sa);
        }
        match sa {
            SilenceState::Active => a.ends_at.cmp(&b.ends_at),
            SilenceState::Pending => a.starts_at.cmp(&b.starts_at),
            SilenceState::Expired => b.ends_at.cmp(&a.ends_at),
        }
        // Ties (unspecified upstream): oldest change first, then id, for a stable answer.
        .then_with(|| a.updated_at.cmp(&b.updated_at))
        .then_with(|| a.id.cmp(&b.id))
    });
    let out: Vec<GettableSilence> = list.iter().map(|s| gettable(s, now)).collect();
    Ok(ok_json(&out))
}

fn check_uuid(id: &str) -> Result<(), ApiError> {
    let ok = id.len() == 36
        && id.char_indices().all(|(i, c)| {
            if matches!(i, 8 | 13 | 18 | 23) {
                c == '-'
            } else {
                c.is_ascii_hexdigit()
            }
        });
    if ok {
        Ok(())
    } else {
        Err(ApiError::swagger(
            422,
            601,
            format!("silenceID in path must be of type uuid: {id:?}"),
        ))
    }
}

/// `GET /api/v2/silence/{id}`.
pub(super) async fn get_silence(
    State(core): State<Arc<Core>>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    check_uuid(&id)?;
    let s = core
        .silences
        .get(&id.to_ascii_lowercase())
        .ok_or(ApiError::Empty(StatusCode::NOT_FOUND))?;
    Ok(ok_json(&gettable(&s, core.clock.now())))
}

/// `DELETE /api/v2/silence/{id}`: expires; 0.25 answers 500 for unknown ids.
pub(super) async fn delete_silence(
    State(core): State<Arc<Core>>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    check_uuid(&id)?;
    core.silences
        .expire(&id.to_ascii_lowercase(), core.clock.now())
        .map_err(|e| ApiError::Message(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    core.cluster_changed();
    Ok(StatusCode::OK.into_response())
}

fn required<'a>(
    obj: &'a serde_json::Map<String, Value>,
    field: &str,
) -> Result<&'a Value, ApiError> {
    match obj.get(field) {
        None | Some(Value::Null) => Err(ApiError::swagger(
            422,
            602,
            format!("{field} in body is required"),
        )),
        Some(v) => Ok(v),
    }
}

fn body_error(msg: impl std::fmt::Display) -> ApiError {
    ApiError::swagger(
        400,
        400,
        format!("parsing silence body from \"\" failed, because {msg}"),
    )
}

fn parse_silence(body: &[u8]) -> Result<Silence, ApiError> {
    let v: Value = serde_json::from_slice(body).map_err(body_error)?;
    let Value::Object(obj) = v else {
        return Err(body_error(
            "json: cannot unmarshal into Go value of type models.PostableSilence",
        ));
    };
    // go-swagger validates the embedded silence's fields in this order.
    let comment = required(&obj, "comment")?;
    let created_by = required(&obj, "createdBy")?;
    let ends_at = required(&obj, "endsAt")?;
    let matchers = required(&obj, "matchers")?;
    let starts_at = required(&obj, "startsAt")?;
    let text = |v: &Value, f: &str| -> Result<String, ApiError> {
        v.as_str().map(str::to_owned).ok_or_else(|| {
            body_error(format!(
                "json: cannot unmarshal into Go struct field .{f} of type string"
            ))
        })
    };
    let time = |v: &Value, f: &str| -> Result<DateTime<Utc>, ApiError> {
        let s = text(v, f)?;
        parse_time(&s).ok_or_else(|| {
            ApiError::swagger(
                422,
                601,
                format!("{f} in body must be of type date-time: {s:?}"),
            )
        })
    };
    let Value::Array(ms) = matchers else {
        return Err(body_error(
            "json: cannot unmarshal into Go struct field .matchers of type models.Matchers",
        ));
    };
    if ms.is_empty() {
        return Err(ApiError::swagger(
            422,
            612,
            "matchers in body should have at least 1 items",
        ));
    }
    let mut out = Vec::with_capacity(ms.len());
    for (i, m) in ms.iter().enumerate() {
        let Value::Object(m) = m else {
            return Err(body_error(
                "json: cannot unmarshal into Go struct field .matchers of type models.Matcher",
            ));
        };
        let field = |f: &str| -> Result<&Value, ApiError> {
            match m.get(f) {
                None | Some(Value::Null) => Err(ApiError::swagger(
                    422,
                    602,
                    format!("matchers.{i}.{f} in body is required"),
                )),
                Some(v) => Ok(v),
            }
        };
        let is_regex = field("isRegex")?.as_bool().ok_or_else(|| {
            body_error("json: cannot unmarshal into Go struct field Matcher.isRegex of type bool")
        })?;
        let name = text(field("name")?, "name")?;
        let value = text(field("value")?, "value")?;
        let is_equal = m.get("isEqual").and_then(Value::as_bool).unwrap_or(true);
        out.push(SilenceMatcher {
            name,
            value,
            is_regex,
            is_equal,
        });
    }
    let id = match obj.get("id") {
        Some(Value::String(s)) => s.clone(),
        _ => String::new(),
    };
    let starts_at = time(starts_at, "startsAt")?;
    Ok(Silence {
        id,
        matchers: out,
        starts_at,
        ends_at: time(ends_at, "endsAt")?,
        updated_at: starts_at,
        created_by: text(created_by, "createdBy")?,
        comment: text(comment, "comment")?,
    })
}

#[derive(Serialize)]
struct SilenceId {
    #[serde(rename = "silenceID")]
    silence_id: String,
}

/// `POST /api/v2/silences`: create, or update when `id` is given.
pub(super) async fn post_silence(
    State(core): State<Arc<Core>>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let sil = parse_silence(&body)?;
    let now = core.clock.now();
    if sil.starts_at >= sil.ends_at {
        return Err(ApiError::bad_request(
            "Failed to create silence: start time must be before end time",
        ));
    }
    if sil.ends_at < now {
        return Err(ApiError::bad_request(
            "Failed to create silence: end time can't be in the past",
        ));
    }
    match core.silences.set(sil, now) {
        Ok(id) => {
            core.cluster_changed();
            Ok(ok_json(&SilenceId { silence_id: id }))
        }
        Err(SilenceError::NotFound) => Err(ApiError::Message(
            StatusCode::NOT_FOUND,
            "silence not found".into(),
        )),
        Err(e @ SilenceError::Snapshot { .. }) => Err(ApiError::Message(
            StatusCode::INTERNAL_SERVER_ERROR,
            e.to_string(),
        )),
        Err(e) => Err(ApiError::bad_request(e.to_string())),
    }
}
