//! Prometheus alerting-rule template functions; cases follow Prometheus' template_test.go.

use std::collections::BTreeMap;
use std::sync::Arc;

use lgtm_template::{
    Env, MissingKey, PrometheusContext, Sample, TemplateSet, Time, Value, prometheus_funcs,
};

fn sample(pairs: &[(&str, &str)], v: f64) -> Sample {
    Sample {
        labels: pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<BTreeMap<_, _>>(),
        value: v,
    }
}

fn ctx() -> PrometheusContext {
    PrometheusContext {
        query: Some(Arc::new(|q: &str, _ts: &Time| match q {
            "1.5" => Ok(vec![sample(&[], 1.5)]),
            "metric" => Ok(vec![
                sample(&[("instance", "b"), ("__name__", "metric")], 21.0),
                sample(&[("instance", "a"), ("__name__", "metric")], 11.0),
            ]),
            "strmetric" => Ok(vec![sample(&[("__value__", "a")], 0.0)]),
            "empty" => Ok(vec![]),
            other => Err(format!("bad query {other}")),
        })),
        external_url: "http://testhost:9090/path/prefix".into(),
    }
}

fn r(text: &str) -> String {
    r_data(text, &Value::Nil)
}

fn r_data(text: &str, data: &Value) -> String {
    let mut set = TemplateSet::new()
        .with_funcs(prometheus_funcs(ctx()))
        .with_missing_key(MissingKey::Zero);
    set.parse("test", text).unwrap();
    let env = Env {
        now: Some(Time::from_unix(1_353_755_652, 0)),
        ..Env::default()
    };
    match set.execute_with("test", data, &env) {
        Ok(s) => s,
        Err(e) => panic!("{text}: {e}"),
    }
}

fn r_err(text: &str) -> String {
    let mut set = TemplateSet::new().with_funcs(prometheus_funcs(ctx()));
    set.parse("test", text).unwrap();
    set.execute("test", &Value::Nil).unwrap_err().to_string()
}

#[test]
fn queries() {
    assert_eq!(r(r#"{{ query "1.5" | first | value }}"#), "1.5");
    assert_eq!(r(r#"{{ query "metric" | first | label "instance" }}"#), "b");
    assert_eq!(
        r(
            r#"{{ range query "metric" | sortByLabel "instance" }}{{.Labels.instance}}:{{.Value}}: {{end}}"#
        ),
        "a:11: b:21: "
    );
    assert_eq!(
        r(r#"{{ with query "strmetric" }}{{ . | first | strvalue }}{{ end }}"#),
        "a"
    );
    assert_eq!(r(r#"{{ query "metric" | len }}"#), "2");
    assert!(
        r_err(r#"{{ query "empty" | first }}"#)
            .contains("error calling first: first() called on vector with no elements")
    );
    assert!(r_err(r#"{{ query "nope" }}"#).contains("error calling query: bad query nope"));
    // Prometheus' template_test.go: Go blames the last visited node, the string argument.
    assert_eq!(
        r_err(r#"{{ (query "empty").banana }}"#),
        r#"template: test:1:10: executing "test" at <"empty">: can't evaluate field banana in type template.queryResult"#
    );
    assert_eq!(
        r_err(r#"{{ query "empty" | first }}"#),
        r#"template: test:1:19: executing "test" at <first>: error calling first: first() called on vector with no elements"#
    );
}

#[test]
fn humanize_family() {
    assert_eq!(
        r("{{ humanize 0.0 }}:{{ humanize 1.0 }}:{{ humanize 1234567.0 }}:{{ humanize .12 }}:"),
        "0:1:1.235M:120m:"
    );
    assert_eq!(
        r(r#"{{ "1234567" | humanize }} {{ 1048576 | humanize1024 }}"#),
        "1.235M 1Mi"
    );
    assert_eq!(
        r(
            "{{ humanizePercentage 0 }}:{{ humanizePercentage 0.1234567 }}:{{ humanizePercentage 0.5 }}:{{ humanizePercentage 1 }}:{{ humanizePercentage 1.5 }}:"
        ),
        "0%:12.35%:50%:100%:150%:"
    );
    assert_eq!(
        r("{{ 1435065584.128 | humanizeTimestamp }}"),
        "2015-06-23 13:19:44.128 +0000 UTC"
    );
    assert_eq!(
        r(r#"{{ "1435065584.128" | humanizeTimestamp }}"#),
        "2015-06-23 13:19:44.128 +0000 UTC"
    );
    assert_eq!(
        r("{{ humanizeDuration 86400 }} {{ humanizeDuration 0.001 }}"),
        "1d 0h 0m 0s 1ms"
    );
    assert!(
        r_err(r#"{{ "one" | humanize }}"#).contains(
            r#"error calling humanize: strconv.ParseFloat: parsing "one": invalid syntax"#
        )
    );
}

#[test]
fn time_helpers() {
    assert_eq!(
        r(r#"{{ (1435065584.128 | toTime).Format "2006" }}"#),
        "2015"
    );
    assert_eq!(
        r("{{ 1435065584.128 | toTime }}"),
        "2015-06-23 13:19:44.128 +0000 UTC"
    );
    assert_eq!(
        r("{{ toDuration 90 }} {{ (toDuration 1.5).Seconds }}"),
        "1m30s 1.5"
    );
    assert_eq!(r(r#"{{ parseDuration "1h2m10ms" }}"#), "3720.01");
    assert_eq!(r("{{ now }}"), "1.353755652e+09");
    assert_eq!(
        r("{{ now | humanizeTimestamp }}"),
        "2012-11-24 11:14:12 +0000 UTC"
    );
}

#[test]
fn string_helpers() {
    assert_eq!(r(r#"{{ "aa bb CC" | title }}"#), "Aa Bb CC");
    assert_eq!(
        r(r#"{{ "aa bb CC" | toUpper }} {{ "aa bb CC" | toLower }}"#),
        "AA BB CC aa bb cc"
    );
    assert_eq!(
        r(r#"{{ match "a+" "aa" }} {{ match "a+" "b" }}"#),
        "true false"
    );
    assert_eq!(r(r#"{{ reReplaceAll "(a)b" "x$1" "ab" }}"#), "xa");
    assert_eq!(
        r(r#"{{ graphLink "up" }} {{ tableLink "rate(x[5m])" }}"#),
        "/graph?g0.expr=up&g0.tab=0 /graph?g0.expr=rate%28x%5B5m%5D%29&g0.tab=1"
    );
    assert_eq!(
        r(r#"{{ $x := args 1 "x" }}{{ $x.arg0 }} {{ $x.arg1 }}"#),
        "1 x"
    );
    assert_eq!(
        r("{{ externalURL }} {{ pathPrefix }}"),
        "http://testhost:9090/path/prefix /path/prefix"
    );
    assert_eq!(r(r#"{{ safeHtml "<b>" }}"#), "<b>");
}

#[test]
fn strip_port_and_domain() {
    assert_eq!(
        r(r#"{{ stripPort "foo.example.com:12345" }}"#),
        "foo.example.com"
    );
    assert_eq!(
        r(r#"{{ "[2001:0DB8::1]:12345" | stripPort }}"#),
        "2001:0DB8::1"
    );
    assert_eq!(r(r#"{{ "foo" | stripPort }}"#), "foo");
    assert_eq!(r(r#"{{ "foo.example.com" | stripDomain }}"#), "foo");
    assert_eq!(
        r(r#"{{ "foo.example.com:12345" | stripDomain }}"#),
        "foo:12345"
    );
    assert_eq!(
        r(r#"{{ "192.0.2.1:12345" | stripDomain }}"#),
        "192.0.2.1:12345"
    );
    assert_eq!(
        r(r#"{{ "[2001:0DB8::1]:12345" | stripDomain }}"#),
        "[2001:0DB8::1]:12345"
    );
}

#[test]
fn alerting_rule_annotations() {
    // Prometheus prepends these definitions to every annotation/label template.
    let defs = "{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}{{$externalURL := .ExternalURL}}{{$value := .Value}}";
    let data = Value::object(
        "struct",
        [
            (
                "Labels",
                Value::string_map([("instance", "db1:9100"), ("job", "node")]),
            ),
            ("ExternalLabels", Value::string_map([("cluster", "eu1")])),
            ("ExternalURL", Value::from("http://prom:9090")),
            ("Value", Value::Float(0.9734)),
        ],
    );
    let t = format!(
        "{defs}{{{{ $labels.instance }}}} of job {{{{ $labels.job }}}} in {{{{ $externalLabels.cluster }}}} is at {{{{ $value | humanizePercentage }}}} ({{{{ $value }}}}){{{{ $labels.nope }}}}"
    );
    assert_eq!(
        r_data(&t, &data),
        "db1:9100 of job node in eu1 is at 97.34% (0.9734)"
    );
    let t = format!(
        "{defs}{{{{ if gt $value 0.9 }}}}high{{{{ else }}}}ok{{{{ end }}}} {{{{ $labels.instance | stripPort }}}}"
    );
    assert_eq!(r_data(&t, &data), "high db1");
}

#[test]
fn parse_check_rejects_unknown_functions() {
    let set = TemplateSet::new().with_funcs(prometheus_funcs(PrometheusContext::default()));
    assert!(set.check("{{ humanize 1 }}").is_ok());
    assert_eq!(
        set.check("{{ humanise 1 }}").unwrap_err().to_string(),
        r#"template: :1: function "humanise" not defined"#
    );
    // query without an engine fails at execution, not parse time.
    let e = set
        .render(r#"{{ query "up" }}"#, &Value::Nil)
        .unwrap_err()
        .to_string();
    assert!(e.contains("query function not available"), "{e}");
}

#[test]
fn expand_alert_template_like_the_rule_manager() {
    use lgtm_template::{AlertTemplateData, expand_alert_template};
    let data = AlertTemplateData {
        labels: [("instance".to_string(), "db1".to_string())]
            .into_iter()
            .collect(),
        external_labels: Default::default(),
        external_url: "http://prom".into(),
        value: 0.5,
    };
    let funcs = prometheus_funcs(ctx());
    let now = Time::from_unix(0, 0);
    assert_eq!(
        expand_alert_template(
            &funcs,
            "HighLoad",
            "{{ $labels.instance }}: {{ $value | humanizePercentage }} {{ $externalURL }}",
            &data,
            now.clone()
        )
        .unwrap(),
        "db1: 50% http://prom"
    );
    let e =
        expand_alert_template(&funcs, "HighLoad", "{{ nope }}", &data, now.clone()).unwrap_err();
    assert_eq!(
        e,
        r#"error parsing template __alert_HighLoad: template: __alert_HighLoad:1: function "nope" not defined"#
    );
    let e = expand_alert_template(&funcs, "HighLoad", "{{ gt $value 1 }}", &data, now).unwrap_err();
    assert_eq!(
        e,
        r#"error executing template __alert_HighLoad: template: __alert_HighLoad:1:115: executing "__alert_HighLoad" at <gt $value 1>: error calling gt: incompatible types for comparison"#
    );
}

#[test]
fn rule_validation_parse_check() {
    let funcs = prometheus_funcs(PrometheusContext::default());
    assert!(lgtm_template::check_alert_template(&funcs, "A", "{{ $labels.x | humanize }}").is_ok());
    assert_eq!(
        lgtm_template::check_alert_template(&funcs, "A", "{{ $labels.x | nope }}")
            .unwrap_err()
            .to_string(),
        r#"template: __alert_A:1: function "nope" not defined"#
    );
    assert_eq!(
        lgtm_template::check_alert_template(&funcs, "A", "{{ $undefined }}")
            .unwrap_err()
            .to_string(),
        r#"template: __alert_A:1: undefined variable "$undefined""#
    );
}
