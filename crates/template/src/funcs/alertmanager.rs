//! Alertmanager's notification templates: its `DefaultFuncs`, its data model (`Data`,
//! `Alert`, `Alerts` with `.Firing`/`.Resolved`, `KV` with `.SortedPairs`/`.Remove`/`.Names`/
//! `.Values`, `Pairs`) as typed [`Value`]s with methods, and the shipped default templates
//! (`telegram.default.message`, `__subject`, ...).

use std::collections::BTreeMap;

use super::prometheus::{humanize_duration, to_float};
use super::strings::{cases_title, re_match, re_replace_all};
use super::{Arity, CallCtx, FuncMap, arg_str, arg_str_list, arg_time, want_args};
use crate::escape::url_unescape;
use crate::gotime::{Time, parse_layout};
use crate::value::{MapKind, Value};
use crate::zoneinfo::load_location;
use crate::{MissingKey, TemplateSet};

/// Alertmanager's `template/default.tmpl` definitions (without the e-mail HTML), parsed
/// before user templates so user `define`s override them.
pub const DEFAULT_TEMPLATES: &str = include_str!("../defaults/alertmanager_default.tmpl");

/// Go type names used for method dispatch.
pub const TYPE_DATA: &str = "template.Data";
/// `template.Alerts` (has `.Firing`, `.Resolved`).
pub const TYPE_ALERTS: &str = "template.Alerts";
/// `template.Alert`.
pub const TYPE_ALERT: &str = "template.Alert";
/// `template.KV` (has `.SortedPairs`, `.Remove`, `.Names`, `.Values`).
pub const TYPE_KV: &str = "template.KV";
/// `template.Pairs` (has `.Names`, `.Values`).
pub const TYPE_PAIRS: &str = "template.Pairs";
/// `template.Pair`.
pub const TYPE_PAIR: &str = "template.Pair";

/// One alert as notification templates see it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Alert {
    /// `firing` or `resolved`.
    pub status: String,
    /// Label set.
    pub labels: BTreeMap<String, String>,
    /// Annotations.
    pub annotations: BTreeMap<String, String>,
    /// Start time.
    pub starts_at: Time,
    /// End time (Go's zero time when unknown).
    pub ends_at: Time,
    /// Link to the generating rule.
    pub generator_url: String,
    /// Hex fingerprint of the label set.
    pub fingerprint: String,
}

/// The data a notification template executes against (`template.Data`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Data {
    /// Receiver name, regexp-quoted as Alertmanager does (`regexp.QuoteMeta`).
    pub receiver: String,
    /// `firing` if any alert fires, else `resolved`.
    pub status: String,
    /// The alerts of the notification.
    pub alerts: Vec<Alert>,
    /// The group's labels.
    pub group_labels: BTreeMap<String, String>,
    /// Labels equal across all alerts.
    pub common_labels: BTreeMap<String, String>,
    /// Annotations equal across all alerts.
    pub common_annotations: BTreeMap<String, String>,
    /// Alertmanager's external URL.
    pub external_url: String,
}

/// Go's `regexp.QuoteMeta`.
pub fn quote_meta(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn common(maps: impl Iterator<Item = BTreeMap<String, String>>) -> BTreeMap<String, String> {
    let mut it = maps;
    let Some(mut acc) = it.next() else {
        return BTreeMap::new();
    };
    for m in it {
        acc.retain(|k, v| m.get(k) == Some(v));
    }
    acc
}

impl Data {
    /// Assemble the data like Alertmanager's `Template.Data`: quotes the receiver, derives the
    /// status and the common labels and annotations.
    pub fn new(
        receiver: &str,
        group_labels: BTreeMap<String, String>,
        alerts: Vec<Alert>,
        external_url: &str,
    ) -> Data {
        let status = if alerts.iter().any(|a| a.status == "firing") {
            "firing"
        } else {
            "resolved"
        };
        Data {
            receiver: quote_meta(receiver),
            status: status.to_string(),
            common_labels: common(alerts.iter().map(|a| a.labels.clone())),
            common_annotations: common(alerts.iter().map(|a| a.annotations.clone())),
            alerts,
            group_labels,
            external_url: external_url.to_string(),
        }
    }

    /// The template value, with Go type names so Alertmanager's methods resolve.
    pub fn to_value(&self) -> Value {
        Value::object(
            TYPE_DATA,
            [
                ("Receiver", Value::from(&self.receiver)),
                ("Status", Value::from(&self.status)),
                (
                    "Alerts",
                    Value::typed_list(TYPE_ALERTS, self.alerts.iter().map(Alert::to_value)),
                ),
                ("GroupLabels", kv(&self.group_labels)),
                ("CommonLabels", kv(&self.common_labels)),
                ("CommonAnnotations", kv(&self.common_annotations)),
                ("ExternalURL", Value::from(&self.external_url)),
            ],
        )
    }
}

impl Alert {
    /// The template value of one alert.
    pub fn to_value(&self) -> Value {
        Value::object(
            TYPE_ALERT,
            [
                ("Status", Value::from(&self.status)),
                ("Labels", kv(&self.labels)),
                ("Annotations", kv(&self.annotations)),
                ("StartsAt", Value::Time(self.starts_at.clone())),
                ("EndsAt", Value::Time(self.ends_at.clone())),
                ("GeneratorURL", Value::from(&self.generator_url)),
                ("Fingerprint", Value::from(&self.fingerprint)),
            ],
        )
    }
}

/// A `template.KV` value from a string map.
pub fn kv(m: &BTreeMap<String, String>) -> Value {
    Value::map_of_kind(
        MapKind::Strings,
        Some(TYPE_KV),
        m.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))),
    )
}

fn kv_entries(v: &Value) -> Result<Vec<(String, String)>, String> {
    let Value::Map(m) = v else {
        return Err(format!("expected template.KV; got {}", v.type_name()));
    };
    Ok(m.entries
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
        .collect())
}

/// `KV.SortedPairs`: `alertname` first, then by name.
fn sorted_pairs(entries: &[(String, String)]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::with_capacity(entries.len());
    if let Some(a) = entries.iter().find(|(k, _)| k == "alertname") {
        out.push(a.clone());
    }
    // entries come from a BTreeMap, so the rest is already sorted.
    out.extend(entries.iter().filter(|(k, _)| k != "alertname").cloned());
    out
}

fn pairs_value(pairs: &[(String, String)]) -> Value {
    Value::typed_list(
        TYPE_PAIRS,
        pairs.iter().map(|(k, v)| {
            Value::object(
                TYPE_PAIR,
                [("Name", Value::from(k)), ("Value", Value::from(v))],
            )
        }),
    )
}

fn pairs_of(v: &Value) -> Result<Vec<(String, String)>, String> {
    let Value::List(l) = v else {
        return Err(format!("expected template.Pairs; got {}", v.type_name()));
    };
    Ok(l.items
        .iter()
        .map(|p| match p {
            Value::Map(m) => (
                m.entries
                    .get("Name")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
                m.entries
                    .get("Value")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
            ),
            _ => (String::new(), String::new()),
        })
        .collect())
}

fn pairs_string(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn alerts_with_status(v: &Value, status: &str) -> Result<Value, String> {
    let Value::List(l) = v else {
        return Err(format!("expected template.Alerts; got {}", v.type_name()));
    };
    let items = l.items.iter().filter(|a| match a {
        Value::Map(m) => m.entries.get("Status").and_then(Value::as_str) == Some(status),
        _ => false,
    });
    Ok(Value::typed_list("[]template.Alert", items.cloned()))
}

fn add_methods(m: &mut FuncMap) {
    m.add_method(TYPE_ALERTS, "Firing", |_, recv, _| {
        alerts_with_status(recv, "firing")
    });
    m.add_method(TYPE_ALERTS, "Resolved", |_, recv, _| {
        alerts_with_status(recv, "resolved")
    });
    m.add_method(TYPE_KV, "SortedPairs", |_, recv, _| {
        Ok(pairs_value(&sorted_pairs(&kv_entries(recv)?)))
    });
    m.add_method(TYPE_KV, "Names", |_, recv, _| {
        Ok(Value::list(
            sorted_pairs(&kv_entries(recv)?).into_iter().map(|(k, _)| k),
        ))
    });
    m.add_method(TYPE_KV, "Values", |_, recv, _| {
        Ok(Value::list(
            sorted_pairs(&kv_entries(recv)?).into_iter().map(|(_, v)| v),
        ))
    });
    m.add_method(TYPE_KV, "Remove", |_, recv, args| {
        want_args("Remove", args, 1)?;
        let drop = arg_str_list(args, 0)?;
        let kept: BTreeMap<String, String> = kv_entries(recv)?
            .into_iter()
            .filter(|(k, _)| !drop.contains(k))
            .collect();
        Ok(kv(&kept))
    });
    m.add_method(TYPE_KV, "String", |_, recv, _| {
        Ok(Value::String(pairs_string(&sorted_pairs(&kv_entries(
            recv,
        )?))))
    });
    m.add_method(TYPE_PAIRS, "Names", |_, recv, _| {
        Ok(Value::list(pairs_of(recv)?.into_iter().map(|(k, _)| k)))
    });
    m.add_method(TYPE_PAIRS, "Values", |_, recv, _| {
        Ok(Value::list(pairs_of(recv)?.into_iter().map(|(_, v)| v)))
    });
    m.add_method(TYPE_PAIRS, "String", |_, recv, _| {
        Ok(Value::String(pairs_string(&pairs_of(recv)?)))
    });
}

const B64_URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const B64_STD: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Padded base64 with the given alphabet.
pub(crate) fn b64_encode(data: &[u8], url: bool) -> String {
    let alpha = if url { B64_URL } else { B64_STD };
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(alpha[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Padded base64 decoding; errors like Go's `illegal base64 data at input byte N`.
pub(crate) fn b64_decode(s: &str, url: bool) -> Result<Vec<u8>, String> {
    let alpha = if url { B64_URL } else { B64_STD };
    let mut out = Vec::with_capacity(s.len() / 4 * 3);
    let bytes = s.as_bytes();
    if !bytes.len().is_multiple_of(4) {
        return Err(format!(
            "illegal base64 data at input byte {}",
            bytes.len() / 4 * 4
        ));
    }
    for (ci, chunk) in bytes.chunks(4).enumerate() {
        let mut n: u32 = 0;
        let mut pad = 0;
        for (i, c) in chunk.iter().enumerate() {
            let v =
                if *c == b'=' && i >= 2 {
                    pad += 1;
                    0
                } else if pad > 0 {
                    return Err(format!("illegal base64 data at input byte {}", ci * 4 + i));
                } else {
                    alpha.iter().position(|a| a == c).ok_or_else(|| {
                        format!("illegal base64 data at input byte {}", ci * 4 + i)
                    })? as u32
                };
            n = (n << 6) | v;
        }
        let b = n.to_be_bytes();
        out.extend_from_slice(&b[1..4 - pad]);
    }
    Ok(out)
}

/// Alertmanager's `DefaultFuncs` plus the data-model methods (`.Alerts.Firing`,
/// `.Labels.SortedPairs`, ...). Time functions read [`crate::Env::now`].
pub fn alertmanager_funcs() -> FuncMap {
    let mut m = FuncMap::new();
    m.insert_n("toUpper", 1, |_, a| {
        Ok(Value::String(arg_str(a, 0)?.to_uppercase()))
    });
    m.insert_n("toLower", 1, |_, a| {
        Ok(Value::String(arg_str(a, 0)?.to_lowercase()))
    });
    m.insert_n("title", 1, |_, a| {
        Ok(Value::String(cases_title(arg_str(a, 0)?)))
    });
    m.insert_n("trimSpace", 1, |_, a| {
        Ok(Value::String(arg_str(a, 0)?.trim().to_string()))
    });
    m.insert_n("join", 2, |_, a| {
        let sep = arg_str(a, 0)?;
        Ok(Value::String(arg_str_list(a, 1)?.join(sep)))
    });
    m.insert_n("match", 2, |_, a| {
        Ok(Value::Bool(re_match(arg_str(a, 0)?, arg_str(a, 1)?)?))
    });
    m.insert_n("safeHtml", 1, |_, a| {
        Ok(Value::Html(arg_str(a, 0)?.to_string()))
    });
    m.insert_n("safeUrl", 1, |_, a| {
        Ok(Value::Html(arg_str(a, 0)?.to_string()))
    });
    m.insert_n("urlUnescape", 1, |_, a| {
        Ok(Value::String(url_unescape(arg_str(a, 0)?, true)?))
    });
    m.insert_n("reReplaceAll", 3, |_, a| {
        Ok(Value::String(re_replace_all(
            arg_str(a, 0)?,
            arg_str(a, 1)?,
            arg_str(a, 2)?,
        )?))
    });
    m.insert("stringSlice", |_, a| {
        let items: Result<Vec<String>, String> = (0..a.len())
            .map(|i| arg_str(a, i).map(str::to_string))
            .collect();
        Ok(Value::list(items?))
    });
    m.insert_n("date", 2, |_, a| {
        Ok(Value::String(arg_time(a, 1)?.format(arg_str(a, 0)?)))
    });
    m.insert_n("tz", 2, |_, a| {
        let loc = load_location(arg_str(a, 0)?)?;
        Ok(Value::Time(loc.apply(&arg_time(a, 1)?)))
    });
    m.insert_n("since", 1, |c: &CallCtx<'_>, a| {
        Ok(Value::Duration(c.now().sub(&arg_time(a, 0)?)))
    });
    m.insert_n("humanizeDuration", 1, |_, a| {
        Ok(Value::String(humanize_duration(to_float(&a[0])?)))
    });
    m.insert_n("toJson", 1, |_, a| {
        serde_json::to_string(&a[0].to_json())
            .map(Value::String)
            .map_err(|e| e.to_string())
    });
    m.insert("dict", |_, a| {
        if a.len() % 2 != 0 {
            return Err("invalid dict call".into());
        }
        let mut out = BTreeMap::new();
        for kv in a.chunks(2) {
            let Value::String(k) = &kv[0] else {
                return Err("dict keys must be strings".into());
            };
            out.insert(k.clone(), kv[1].clone());
        }
        Ok(Value::map(out))
    });
    m.insert("list", |_, a| Ok(Value::list(a.to_vec())));
    m.insert("append", |_, a| match a {
        [Value::List(l), rest @ ..] => {
            let mut items = l.items.clone();
            items.extend(rest.iter().cloned());
            Ok(Value::list(items))
        }
        [Value::Nil, rest @ ..] => Ok(Value::list(rest.to_vec())),
        _ => Err("append expects a list as first argument".into()),
    });
    m.insert_n("now", 0, |c: &CallCtx<'_>, _a| Ok(Value::Time(c.now())));
    m.insert_n("toDate", 2, |_, a| {
        parse_layout(arg_str(a, 0)?, arg_str(a, 1)?, 0, "UTC")
            .map(Value::Time)
            .map_err(|e| e.0)
    });
    m.insert_n("mustToDate", 2, |_, a| {
        parse_layout(arg_str(a, 0)?, arg_str(a, 1)?, 0, "UTC")
            .map(Value::Time)
            .map_err(|e| e.0)
    });
    m.insert_n("base64encode", 1, |_, a| {
        Ok(Value::String(b64_encode(arg_str(a, 0)?.as_bytes(), true)))
    });
    m.insert_n("base64decode", 1, |_, a| {
        let b = b64_decode(arg_str(a, 0)?, true)?;
        Ok(Value::String(String::from_utf8_lossy(&b).into_owned()))
    });
    m.set_arity("stringSlice", Arity::AtLeast(0))
        .set_arity("dict", Arity::AtLeast(0))
        .set_arity("list", Arity::AtLeast(0))
        .set_arity("append", Arity::AtLeast(1));
    add_methods(&mut m);
    m
}

/// A template set configured like Alertmanager's: its functions, `missingkey=zero`, and the
/// default templates already parsed (as `default.tmpl`). Parse user template files into it,
/// then [`TemplateSet::render`] each receiver field (`{{ template "telegram.default.message" . }}`).
pub fn default_template_set() -> crate::Result<TemplateSet> {
    let mut set = TemplateSet::new()
        .with_funcs(alertmanager_funcs())
        .with_missing_key(MissingKey::Zero);
    set.parse("default.tmpl", DEFAULT_TEMPLATES)?;
    Ok(set)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_roundtrip() {
        assert_eq!(b64_encode(b"hello?>", true), "aGVsbG8_Pg==");
        assert_eq!(b64_encode(b"hello?>", false), "aGVsbG8/Pg==");
        assert_eq!(b64_decode("aGVsbG8_Pg==", true).unwrap(), b"hello?>");
        assert_eq!(b64_decode("Zm9v", false).unwrap(), b"foo");
        assert!(b64_decode("Zm9", false).is_err());
    }

    #[test]
    fn quote_meta_like_go() {
        assert_eq!(quote_meta("team-a.b [x]"), "team-a\\.b \\[x\\]");
    }
}
