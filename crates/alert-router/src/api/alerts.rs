//! `/api/v2/alerts` and `/api/v2/alerts/groups` (`api/v2/api.go`).

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::response::Response;
use chrono::{DateTime, Utc};
use lgtm_common::labels::{Labels, MatchOp, Matcher, is_valid_label_name};
use regex::Regex;
use serde::Serialize;
use serde_json::Value;

use super::error::ok_json;
use super::{ApiError, query_bool, query_pairs};
use crate::alert::{Alert, alert_order, labels_before};
use crate::model::{api_time, fingerprint_hex, is_zero_time, parse_time};
use crate::state::Core;

/// `gettableAlert`, fields in go-swagger's output order.
#[derive(Debug, Serialize)]
pub(crate) struct GettableAlert {
    annotations: BTreeMap<String, String>,
    #[serde(rename = "endsAt")]
    ends_at: String,
    fingerprint: String,
    receivers: Vec<ReceiverName>,
    #[serde(rename = "startsAt")]
    starts_at: String,
    status: AlertStatus,
    #[serde(rename = "updatedAt")]
    updated_at: String,
    #[serde(rename = "generatorURL", skip_serializing_if = "String::is_empty")]
    generator_url: String,
    labels: Labels,
}

#[derive(Debug, Serialize, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct ReceiverName {
    pub(crate) name: String,
}

#[derive(Debug, Serialize)]
struct AlertStatus {
    #[serde(rename = "inhibitedBy")]
    inhibited_by: Vec<String>,
    #[serde(rename = "silencedBy")]
    silenced_by: Vec<String>,
    state: &'static str,
}

#[derive(Debug, Serialize)]
struct AlertGroup {
    alerts: Vec<GettableAlert>,
    labels: Labels,
    receiver: ReceiverName,
}

#[derive(Clone)]
struct Filters {
    matchers: Vec<Matcher>,
    receiver: Option<Regex>,
    active: bool,
    silenced: bool,
    inhibited: bool,
}

fn filters(q: Option<&str>) -> Result<Filters, ApiError> {
    let pairs = query_pairs(q);
    let mut matchers = Vec::new();
    for (_, v) in pairs.iter().filter(|(k, _)| k == "filter") {
        matchers.push(
            crate::matchers::parse_matcher(v).map_err(|e| ApiError::bad_request(e.to_string()))?,
        );
    }
    let receiver = match pairs.iter().find(|(k, _)| k == "receiver") {
        Some((_, r)) if !r.is_empty() => Some(Regex::new(&format!("^(?:{r})$")).map_err(|e| {
            let first = e
                .to_string()
                .lines()
                .last()
                .unwrap_or_default()
                .trim()
                .to_owned();
            ApiError::bad_request(format!(
                "failed to parse receiver param: error parsing regexp: {}: `^(?:{r})$`",
                first.trim_start_matches("error: ")
            ))
        })?),
        _ => None,
    };
    Ok(Filters {
        matchers,
        receiver,
        active: query_bool(&pairs, "active", true)?,
        silenced: query_bool(&pairs, "silenced", true)?,
        inhibited: query_bool(&pairs, "inhibited", true)?,
        // `unprocessed` is accepted; no alert is ever unprocessed here, as the status is
        // computed on read.
    })
}

/// `matchFilterLabels`: empty-valued matchers and absent labels as Alertmanager treats them.
fn match_filter_labels(matchers: &[Matcher], labels: &Labels) -> bool {
    matchers.iter().all(|m| {
        let v = labels.get(&m.name);
        match m.op {
            MatchOp::NotRegex | MatchOp::NotEqual => {
                (m.value.is_empty() && v.is_some()) || m.matches(v.unwrap_or(""))
            }
            _ => (m.value.is_empty() && v.is_none()) || m.matches(v.unwrap_or("")),
        }
    })
}

/// Builds the API view of an alert, or `None` when the filters exclude it.
fn view(
    core: &Core,
    rt: &crate::state::Runtime,
    a: &Alert,
    f: &Filters,
    now: DateTime<Utc>,
) -> Option<GettableAlert> {
    if !is_zero_time(&a.ends_at) && a.ends_at < now {
        return None;
    }
    let receivers: Vec<ReceiverName> = rt
        .config
        .route
        .match_labels(&a.labels)
        .iter()
        .map(|r| ReceiverName {
            name: r.opts.receiver.clone(),
        })
        .collect();
    if let Some(re) = &f.receiver
        && !receivers.iter().any(|r| re.is_match(&r.name))
    {
        return None;
    }
    let silenced_by = core.silences.silenced_by(&a.labels, now);
    let inhibited_by: Vec<String> = rt
        .inhibitor
        .inhibited_by(&a.labels, now)
        .map(fingerprint_hex)
        .into_iter()
        .collect();
    let state = if silenced_by.is_empty() && inhibited_by.is_empty() {
        "active"
    } else {
        "suppressed"
    };
    if !f.active && state == "active" {
        return None;
    }
    if !f.silenced && !silenced_by.is_empty() {
        return None;
    }
    if !f.inhibited && !inhibited_by.is_empty() {
        return None;
    }
    if !match_filter_labels(&f.matchers, &a.labels) {
        return None;
    }
    Some(GettableAlert {
        annotations: a.annotations.clone(),
        ends_at: api_time(&a.ends_at),
        fingerprint: fingerprint_hex(a.fingerprint),
        receivers,
        starts_at: api_time(&a.starts_at),
        status: AlertStatus {
            inhibited_by,
            silenced_by,
            state,
        },
        updated_at: api_time(&a.updated_at),
        generator_url: a.generator_url.clone(),
        labels: a.labels.clone(),
    })
}

/// `GET /api/v2/alerts`.
pub(super) async fn get_alerts(
    State(core): State<Arc<Core>>,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let f = filters(q.as_deref())?;
    let now = core.clock.now();
    let rt = core.runtime();
    let mut out: Vec<GettableAlert> = core
        .alerts
        .list()
        .iter()
        .filter_map(|a| view(&core, &rt, a, &f, now))
        .collect();
    out.sort_by(|a, b| a.fingerprint.cmp(&b.fingerprint));
    Ok(ok_json(&out))
}

/// `GET /api/v2/alerts/groups`.
pub(super) async fn get_groups(
    State(core): State<Arc<Core>>,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let f = filters(q.as_deref())?;
    let now = core.clock.now();
    let disp = core.dispatcher();
    let rt = disp.runtime().clone();
    // The receiver filter applies to the group's receiver, not to each alert's routes.
    let alert_filter = Filters {
        receiver: None,
        ..f.clone()
    };
    let mut groups: Vec<AlertGroup> = Vec::new();
    for g in disp.groups() {
        if let Some(re) = &f.receiver
            && !re.is_match(&g.opts.receiver)
        {
            continue;
        }
        let mut alerts: Vec<Arc<Alert>> = g.alerts();
        alerts.sort_by(|a, b| alert_order(a, b));
        let views: Vec<GettableAlert> = alerts
            .iter()
            .filter_map(|a| view(&core, &rt, a, &alert_filter, now))
            .collect();
        if views.is_empty() {
            continue;
        }
        groups.push(AlertGroup {
            alerts: views,
            labels: g.labels.clone(),
            receiver: ReceiverName {
                name: g.opts.receiver.clone(),
            },
        });
    }
    groups.sort_by(|a, b| {
        if a.labels == b.labels {
            a.receiver.name.cmp(&b.receiver.name)
        } else {
            labels_before(&a.labels, &b.labels)
        }
    });
    Ok(ok_json(&groups))
}

fn go_type(v: &Value) -> &'static str {
    match v {
        Value::Object(_) => "object",
        Value::Array(_) => "array",
        Value::String(_) => "string",
        Value::Number(_) => "number",
        Value::Bool(_) => "bool",
        Value::Null => "null",
    }
}

fn body_error(msg: impl std::fmt::Display) -> ApiError {
    ApiError::swagger(
        400,
        400,
        format!("parsing alerts body from \"\" failed, because {msg}"),
    )
}

struct Posted {
    labels: BTreeMap<String, String>,
    annotations: BTreeMap<String, String>,
    starts_at: Option<DateTime<Utc>>,
    ends_at: Option<DateTime<Utc>>,
    generator_url: String,
}

/// `field` is `Struct.field` as Go names it (`Alert.labels`, `PostableAlert.annotations`).
fn string_map(v: Option<&Value>, field: &str) -> Result<BTreeMap<String, String>, ApiError> {
    let mut out = BTreeMap::new();
    match v {
        None | Some(Value::Null) => {}
        Some(Value::Object(m)) => {
            for (k, v) in m {
                match v {
                    Value::String(s) => {
                        out.insert(k.clone(), s.clone());
                    }
                    other => {
                        return Err(body_error(format!(
                            "json: cannot unmarshal {} into Go struct field {field} of type string",
                            go_type(other)
                        )));
                    }
                }
            }
        }
        Some(other) => {
            return Err(body_error(format!(
                "json: cannot unmarshal {} into Go struct field {field} of type models.LabelSet",
                go_type(other)
            )));
        }
    }
    Ok(out)
}

fn time_field(v: Option<&Value>) -> Result<Option<DateTime<Utc>>, ApiError> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => {
            let t = parse_time(s)
                .ok_or_else(|| body_error(format!("parsing time {s:?} as a date-time")))?;
            Ok((!is_zero_time(&t)).then_some(t))
        }
        Some(other) => Err(body_error(format!(
            "json: cannot unmarshal {} into Go value of type strfmt.DateTime",
            go_type(other)
        ))),
    }
}

fn parse_body(body: &[u8]) -> Result<Vec<Posted>, ApiError> {
    let v: Value = serde_json::from_slice(body).map_err(body_error)?;
    let items = match v {
        Value::Array(items) => items,
        Value::Null => Vec::new(),
        other => {
            return Err(body_error(format!(
                "json: cannot unmarshal {} into Go value of type models.PostableAlerts",
                go_type(&other)
            )));
        }
    };
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let Value::Object(obj) = item else {
            return Err(body_error(format!(
                "json: cannot unmarshal {} into Go value of type models.PostableAlert",
                go_type(item)
            )));
        };
        if !obj.contains_key("labels") || obj.get("labels") == Some(&Value::Null) {
            return Err(ApiError::swagger(
                422,
                602,
                format!("{i}.labels in body is required"),
            ));
        }
        let generator_url = match obj.get("generatorURL") {
            Some(Value::String(s)) => {
                if !s.is_empty() && url::Url::parse(s).is_err() && !s.starts_with('/') {
                    return Err(ApiError::swagger(
                        422,
                        601,
                        format!("{i}.generatorURL in body must be of type uri: {s:?}"),
                    ));
                }
                s.clone()
            }
            _ => String::new(),
        };
        out.push(Posted {
            labels: string_map(obj.get("labels"), "Alert.labels")?,
            annotations: string_map(obj.get("annotations"), "PostableAlert.annotations")?,
            starts_at: time_field(obj.get("startsAt"))?,
            ends_at: time_field(obj.get("endsAt"))?,
            generator_url,
        });
    }
    Ok(out)
}

/// `POST /api/v2/alerts`: valid alerts are stored even when others in the batch fail.
pub(super) async fn post_alerts(
    State(core): State<Arc<Core>>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let posted = parse_body(&body)?;
    let now = core.clock.now();
    let resolve_timeout =
        chrono::Duration::from_std(core.runtime().config.global.resolve_timeout.get())
            .unwrap_or_else(|_| chrono::Duration::minutes(5));
    let mut valid = Vec::with_capacity(posted.len());
    let mut errors = Vec::new();
    let (mut firing, mut resolved) = (0u64, 0u64);
    for p in posted {
        let starts_at = p.starts_at.or(p.ends_at).unwrap_or(now);
        let (ends_at, timeout) = match p.ends_at {
            Some(e) => (e, false),
            None => (now + resolve_timeout, true),
        };
        if ends_at > now {
            firing += 1;
        } else {
            resolved += 1;
        }
        if ends_at < starts_at {
            errors.push("start time must be before end time".to_owned());
            continue;
        }
        if let Some(bad) = p.labels.keys().find(|k| !is_valid_label_name(k)) {
            errors.push(format!("invalid label set: invalid name {bad:?}"));
            continue;
        }
        let labels = Labels::from_pairs(p.labels);
        if labels.is_empty() {
            errors.push("at least one label pair required".to_owned());
            continue;
        }
        if let Some(bad) = p.annotations.keys().find(|k| !is_valid_label_name(k)) {
            errors.push(format!("invalid annotations: invalid name {bad:?}"));
            continue;
        }
        valid.push(Alert::new(
            labels,
            p.annotations,
            starts_at,
            ends_at,
            p.generator_url,
            now,
            timeout,
        ));
    }
    core.metrics.alerts_received(firing, resolved);
    core.metrics.alerts_invalid(errors.len() as u64);
    if !valid.is_empty() {
        core.ingest(valid);
    }
    if !errors.is_empty() {
        return Err(ApiError::bad_request(errors.join("; ")));
    }
    Ok(axum::response::IntoResponse::into_response(
        axum::http::StatusCode::OK,
    ))
}
