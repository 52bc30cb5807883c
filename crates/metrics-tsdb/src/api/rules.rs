//! `/api/v1/rules`, `/api/v1/alerts` and `/api/v1/alertmanagers`, in Prometheus' shapes
//! (`web/api/v1/api.go`), so Grafana's alerting view lists our rules.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use lgtm_common::api::{ApiError, Envelope, Params};
use lgtm_common::labels::Labels;
use lgtm_common::time::format_rfc3339_nano;
use serde::Serialize;

use super::ApiState;
use crate::rules::{Alert, AlertState, Rule};

/// Go's zero `time.Time` in JSON.
const GO_ZERO_TIME: &str = "0001-01-01T00:00:00Z";

/// Go's `strconv.FormatFloat(v, 'e', -1, 64)`: `1e+00`, `1.5e-07`, `NaN`, `+Inf`.
pub fn format_float_e(v: f64) -> String {
    if v.is_nan() {
        return "NaN".to_owned();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf" } else { "-Inf" }.to_owned();
    }
    let s = format!("{v:e}");
    let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let (sign, digits) = match exp.strip_prefix('-') {
        Some(d) => ('-', d),
        None => ('+', exp),
    };
    let digits = if digits.len() < 2 {
        format!("0{digits}")
    } else {
        digits.to_owned()
    };
    format!("{mantissa}e{sign}{digits}")
}

/// Go's `encoding/json` for a float64: integral values without a fraction (`1`, not `1.0`).
fn go_float<S: serde::Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
    if v.is_finite() && v.fract() == 0.0 && v.abs() < 1e15 {
        s.serialize_i64(*v as i64)
    } else {
        s.serialize_f64(*v)
    }
}

fn time_ms(ms: i64) -> String {
    if ms == 0 {
        GO_ZERO_TIME.to_owned()
    } else {
        format_rfc3339_nano(ms.saturating_mul(1_000_000))
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ApiAlert {
    labels: Labels,
    annotations: BTreeMap<String, String>,
    state: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    active_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    keep_firing_since: Option<String>,
    value: String,
}

impl ApiAlert {
    fn from_alert(a: &Alert) -> Self {
        Self {
            labels: a.labels.clone(),
            annotations: a.annotations.clone(),
            state: a.state.as_str(),
            active_at: Some(time_ms(a.active_at)),
            keep_firing_since: a.keep_firing_since.map(time_ms),
            value: format_float_e(a.value),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ApiAlertingRule {
    state: &'static str,
    name: String,
    query: String,
    #[serde(serialize_with = "go_float")]
    duration: f64,
    #[serde(serialize_with = "go_float")]
    keep_firing_for: f64,
    labels: BTreeMap<String, String>,
    annotations: BTreeMap<String, String>,
    alerts: Option<Vec<ApiAlert>>,
    health: &'static str,
    #[serde(skip_serializing_if = "String::is_empty")]
    last_error: String,
    #[serde(serialize_with = "go_float")]
    evaluation_time: f64,
    last_evaluation: String,
    #[serde(rename = "type")]
    kind: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ApiRecordingRule {
    name: String,
    query: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    labels: BTreeMap<String, String>,
    health: &'static str,
    #[serde(skip_serializing_if = "String::is_empty")]
    last_error: String,
    #[serde(serialize_with = "go_float")]
    evaluation_time: f64,
    last_evaluation: String,
    #[serde(rename = "type")]
    kind: &'static str,
}

#[derive(Serialize)]
#[serde(untagged)]
enum ApiRule {
    Alerting(ApiAlertingRule),
    Recording(ApiRecordingRule),
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ApiGroup {
    name: String,
    file: String,
    rules: Vec<ApiRule>,
    #[serde(serialize_with = "go_float")]
    interval: f64,
    limit: i64,
    #[serde(serialize_with = "go_float")]
    evaluation_time: f64,
    last_evaluation: String,
}

fn set_of(params: &Params, name: &str) -> HashSet<String> {
    params.get_all(name).map(str::to_owned).collect()
}

/// `GET /api/v1/rules?type=alert|record&rule_name[]=&rule_group[]=&file[]=&match[]=&exclude_alerts=`.
pub async fn rules(
    State(state): State<Arc<ApiState>>,
    params: Params,
) -> Result<Response, ApiError> {
    let typ = params.get("type").unwrap_or("").to_ascii_lowercase();
    if !matches!(typ.as_str(), "" | "alert" | "record") {
        return Err(ApiError::invalid_param(
            "type",
            format!("not supported value {typ:?}"),
        ));
    }
    let exclude_alerts = match params
        .get("exclude_alerts")
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        None | Some("") | Some("false") | Some("0") | Some("f") => false,
        Some("true") | Some("1") | Some("t") => true,
        Some(other) => {
            return Err(ApiError::invalid_param(
                "exclude_alerts",
                format!("strconv.ParseBool: parsing {other:?}: invalid syntax"),
            ));
        }
    };
    let names = set_of(&params, "rule_name[]");
    let groups_filter = {
        let mut s = set_of(&params, "rule_group[]");
        s.extend(set_of(&params, "group_name[]"));
        s
    };
    let files = set_of(&params, "file[]");
    let matcher_sets = super::parse_match_params(&params, false)?;
    let mut out = Vec::new();
    for group in state.rules.as_ref().map(|m| m.groups()).unwrap_or_default() {
        if (!groups_filter.is_empty() && !groups_filter.contains(&group.name))
            || (!files.is_empty() && !files.contains(&group.file))
        {
            continue;
        }
        let mut rules = Vec::new();
        for rule in group.rules() {
            if !names.is_empty() && !names.contains(rule.name()) {
                continue;
            }
            if !matcher_sets.is_empty() {
                let rule_labels = match rule {
                    Rule::Alerting(ar) => ar.labels(),
                    Rule::Recording(rr) => rr.labels(),
                };
                let labels = Labels::from_pairs(rule_labels.clone());
                if !matcher_sets
                    .iter()
                    .any(|set| lgtm_common::labels::matches_all(set, &labels))
                {
                    continue;
                }
            }
            let status = rule.status();
            match rule {
                Rule::Alerting(ar) if typ != "record" => {
                    rules.push(ApiRule::Alerting(ApiAlertingRule {
                        state: ar.state_name(),
                        name: ar.name().to_owned(),
                        query: ar.query().to_owned(),
                        duration: ar.hold_ms() as f64 / 1000.0,
                        keep_firing_for: ar.keep_firing_for_ms() as f64 / 1000.0,
                        labels: ar.labels().clone(),
                        annotations: ar.annotations().clone(),
                        alerts: (!exclude_alerts).then(|| {
                            ar.active_alerts()
                                .iter()
                                .map(ApiAlert::from_alert)
                                .collect()
                        }),
                        health: status.health,
                        last_error: status.last_error,
                        evaluation_time: status.evaluation_seconds,
                        last_evaluation: time_ms(status.last_evaluation_ms),
                        kind: "alerting",
                    }));
                }
                Rule::Recording(rr) if typ != "alert" => {
                    rules.push(ApiRule::Recording(ApiRecordingRule {
                        name: rr.name().to_owned(),
                        query: rr.query().to_owned(),
                        labels: rr.labels().clone(),
                        health: status.health,
                        last_error: status.last_error,
                        evaluation_time: status.evaluation_seconds,
                        last_evaluation: time_ms(status.last_evaluation_ms),
                        kind: "recording",
                    }));
                }
                _ => {}
            }
        }
        if rules.is_empty() {
            continue;
        }
        let gs = group.status();
        out.push(ApiGroup {
            name: group.name.clone(),
            file: group.file.clone(),
            rules,
            interval: group.interval_ms as f64 / 1000.0,
            limit: group.limit,
            evaluation_time: gs.evaluation_seconds,
            last_evaluation: time_ms(gs.last_evaluation_ms),
        });
    }
    Ok(Envelope::success(BTreeMap::from([("groups", out)])).into_response())
}

/// `GET /api/v1/alerts`: every pending or firing alert.
pub async fn alerts(State(state): State<Arc<ApiState>>) -> Response {
    let mut out = Vec::new();
    for group in state.rules.as_ref().map(|m| m.groups()).unwrap_or_default() {
        for rule in group.rules() {
            if let Rule::Alerting(ar) = rule {
                out.extend(
                    ar.active_alerts()
                        .iter()
                        .filter(|a| a.state != AlertState::Inactive)
                        .map(ApiAlert::from_alert),
                );
            }
        }
    }
    Envelope::success(BTreeMap::from([("alerts", out)])).into_response()
}

/// `GET /api/v1/alertmanagers`.
pub async fn alertmanagers(State(state): State<Arc<ApiState>>) -> Response {
    #[derive(Serialize)]
    struct Url {
        url: String,
    }
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Out {
        active_alertmanagers: Vec<Url>,
        dropped_alertmanagers: Vec<Url>,
    }
    let active = state
        .rules
        .as_ref()
        .map(|m| m.notifier().alertmanager_urls())
        .unwrap_or_default()
        .into_iter()
        .map(|url| Url { url })
        .collect();
    Envelope::success(Out {
        active_alertmanagers: active,
        dropped_alertmanagers: Vec::new(),
    })
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::format_float_e;

    #[test]
    fn floats_print_like_go_e_format() {
        assert_eq!(format_float_e(1.0), "1e+00");
        assert_eq!(format_float_e(0.0), "0e+00");
        assert_eq!(format_float_e(1234.5), "1.2345e+03");
        assert_eq!(format_float_e(1.5e-7), "1.5e-07");
        assert_eq!(format_float_e(1e100), "1e+100");
        assert_eq!(format_float_e(f64::NAN), "NaN");
    }
}
