//! Prometheus' alert templates (`lgtm-template` with Prometheus' function set) as a
//! [`TemplateExpander`]: Prometheus and Loki's ruler both expand alert templates this way;
//! only the `query` function differs (PromQL or LogQL), so the caller passes it in.

use lgtm_template::{
    AlertTemplateData, FuncMap, PrometheusContext, QueryFn, Time, check_alert_template,
    expand_alert_template, prometheus_funcs,
};

use crate::eval::{TemplateData, TemplateExpander};

/// Go templates with Prometheus' functions (`humanize*`, `query`, `printf`, ...).
#[derive(Debug, Clone)]
pub struct GoTemplates {
    funcs: FuncMap,
}

impl GoTemplates {
    /// Templates whose `query` runs `query` (None: `query` fails when called, as in
    /// `promtool check rules`) and whose `externalURL`/`pathPrefix` use `external_url`.
    pub fn new(query: Option<QueryFn>, external_url: &str) -> Self {
        Self {
            funcs: prometheus_funcs(PrometheusContext {
                query,
                external_url: external_url.to_owned(),
            }),
        }
    }

    /// Templates for load-time parse checks only.
    pub fn checker() -> Self {
        Self::new(None, "")
    }
}

impl TemplateExpander for GoTemplates {
    fn check(&self, alert: &str, text: &str) -> Result<(), String> {
        check_alert_template(&self.funcs, alert, text).map_err(|e| e.to_string())
    }

    fn expand(
        &self,
        alert: &str,
        text: &str,
        data: &TemplateData,
        ts_ms: i64,
    ) -> Result<String, String> {
        let now = Time::from_unix(ts_ms.div_euclid(1000), ts_ms.rem_euclid(1000) * 1_000_000);
        let data = AlertTemplateData {
            labels: data.labels.clone(),
            external_labels: data.external_labels.clone(),
            external_url: data.external_url.clone(),
            value: data.value,
        };
        expand_alert_template(&self.funcs, alert, text, &data, now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expands_and_checks_like_prometheus() {
        let t = GoTemplates::new(None, "http://p:9090");
        let data = TemplateData {
            labels: [("instance".to_owned(), "a:1".to_owned())].into(),
            external_labels: [("cluster".to_owned(), "eu".to_owned())].into(),
            external_url: "http://p:9090".to_owned(),
            value: 1234.0,
        };
        assert_eq!(
            t.expand(
                "A",
                "{{ $labels.instance }} {{ $value | humanize }} {{ $externalLabels.cluster }}",
                &data,
                0
            )
            .unwrap(),
            "a:1 1.234k eu"
        );
        let err = t.check("A", "{{ nosuchfunc }}").unwrap_err();
        assert!(
            err.contains("__alert_A") && err.contains("function \"nosuchfunc\" not defined"),
            "{err}"
        );
    }
}
