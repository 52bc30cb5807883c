//! `info(v, selector)`: enriches series with the data labels of matching info metrics
//! (`target_info` by default), joined on the identifying labels `instance` and `job`.

#[cfg(test)]
use lgtm_common::labels::Labels;
use lgtm_common::labels::{METRIC_NAME, MatchOp, Matcher};

use crate::error::{Error, Result};
use crate::value::{Sample, Vector};

/// Labels that join a series to its info series.
pub const IDENTIFYING_LABELS: &[&str] = &["instance", "job"];

/// Splits the selector of `info()` into name matchers (default `__name__="target_info"`) and
/// data-label matchers.
pub fn split_matchers(sel: &[Matcher]) -> (Vec<Matcher>, Vec<Matcher>) {
    let mut names: Vec<Matcher> = sel
        .iter()
        .filter(|m| m.name == METRIC_NAME)
        .cloned()
        .collect();
    let data: Vec<Matcher> = sel
        .iter()
        .filter(|m| m.name != METRIC_NAME)
        .cloned()
        .collect();
    if names.is_empty() {
        names.push(Matcher::equal(METRIC_NAME, "target_info"));
    } else if !names
        .iter()
        .any(|m| matches!(m.op, MatchOp::Equal | MatchOp::Regex))
        && let Ok(m) = Matcher::new(MatchOp::Regex, METRIC_NAME, ".+_info")
    {
        // Only negative name matchers: the candidates are still info metrics.
        names.push(m);
    }
    (names, data)
}

/// Joins `base` with the current float samples of the info series `infos`.
pub fn enrich(
    base: Vector,
    infos: &[Sample],
    names: &[Matcher],
    data: &[Matcher],
) -> Result<Vector> {
    if infos.iter().any(|s| s.h.is_some()) {
        return Err(Error::Eval(
            "info(): info metrics must be float series, found a native histogram".into(),
        ));
    }
    // Per info metric and identifying labels, only the series with the latest sample counts.
    let mut latest: Vec<&Sample> = Vec::new();
    for s in infos
        .iter()
        .filter(|s| data.iter().all(|m| m.matches_labels(&s.labels)))
    {
        let key = |x: &Sample| {
            let mut k = vec![x.labels.get_or_empty(METRIC_NAME).to_owned()];
            k.extend(
                IDENTIFYING_LABELS
                    .iter()
                    .map(|l| x.labels.get_or_empty(l).to_owned()),
            );
            k
        };
        match latest.iter_mut().find(|o| key(o) == key(s)) {
            Some(o) if o.t < s.t => *o = s,
            Some(_) => {}
            None => latest.push(s),
        }
    }
    let infos = latest;
    let data_names: Vec<&str> = data.iter().map(|m| m.name.as_str()).collect();
    let data_accepts_empty = data.iter().all(|m| m.matches(""));
    let mut out = Vec::with_capacity(base.len());
    for s in base {
        let name = s.labels.metric_name().unwrap_or("");
        let positive = names
            .iter()
            .any(|m| matches!(m.op, MatchOp::Equal | MatchOp::Regex));
        let is_info = positive && !name.is_empty() && names.iter().all(|m| m.matches(name));
        if is_info {
            out.push(s);
            continue;
        }
        let matched: Vec<&Sample> = infos
            .iter()
            .copied()
            .filter(|i| {
                IDENTIFYING_LABELS
                    .iter()
                    .all(|l| i.labels.get_or_empty(l) == s.labels.get_or_empty(l))
            })
            .collect();
        if matched.is_empty() {
            if data_accepts_empty {
                out.push(s);
            }
            continue;
        }
        let mut added: Vec<(String, String)> = Vec::new();
        for i in matched {
            for l in i.labels.iter() {
                if l.name == METRIC_NAME
                    || IDENTIFYING_LABELS.contains(&l.name.as_str())
                    || s.labels.contains(&l.name)
                {
                    continue;
                }
                if !data_names.is_empty() && !data_names.contains(&l.name.as_str()) {
                    continue;
                }
                match added.iter().find(|(n, _)| n == &l.name) {
                    Some((_, v)) if v != &l.value => {
                        return Err(Error::Eval(format!(
                            "conflicting label: {} has values {} and {}",
                            l.name,
                            lgtm_common::labels::quote(v),
                            lgtm_common::labels::quote(&l.value)
                        )));
                    }
                    Some(_) => {}
                    None => added.push((l.name.clone(), l.value.clone())),
                }
            }
        }
        let mut labels = s.labels.clone();
        for (n, v) in added {
            labels = labels.with(&n, &v);
        }
        out.push(Sample { labels, ..s });
    }
    Ok(out)
}

/// True when a matcher set on `__name__` is only an equality (for documentation/tests).
pub fn is_plain_name(m: &Matcher) -> bool {
    m.op == MatchOp::Equal
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adds_data_labels_from_target_info() {
        let base = vec![Sample::float(
            Labels::from_pairs([("__name__", "m"), ("instance", "a"), ("job", "1")]),
            0,
            1.0,
        )];
        let info = vec![Sample::float(
            Labels::from_pairs([
                ("__name__", "target_info"),
                ("instance", "a"),
                ("job", "1"),
                ("v", "x"),
            ]),
            0,
            1.0,
        )];
        let (n, d) = split_matchers(&[]);
        let out = enrich(base, &info, &n, &d).unwrap();
        assert_eq!(out[0].labels.get("v"), Some("x"));
    }
}
