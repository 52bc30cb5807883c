//! Alertmanager: default templates, data model methods, functions, HTML escaping. Expected
//! bytes for the Telegram default come from Alertmanager 0.25 recordings
//! (`shared/reference/alertmanager.md` §4.2).

use std::collections::BTreeMap;

use lgtm_template::alertmanager::{Alert, Data, default_template_set};
use lgtm_template::{Env, Escape, Time, Value};

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn alert(status: &str, l: &[(&str, &str)], a: &[(&str, &str)]) -> Alert {
    Alert {
        status: status.into(),
        labels: labels(l),
        annotations: labels(a),
        starts_at: Time::from_unix(1_700_000_000, 0),
        ends_at: Time::zero(),
        generator_url: String::new(),
        fingerprint: "abc".into(),
    }
}

fn node_down(status: &str) -> Data {
    Data::new(
        "tg",
        labels(&[("alertname", "NodeDown")]),
        vec![alert(
            status,
            &[
                ("alertname", "NodeDown"),
                ("instance", "db1"),
                ("severity", "critical"),
            ],
            &[("summary", "db1 <down> & out")],
        )],
        "http://am.example:9093",
    )
}

const TG: &str = r#"{{ template "telegram.default.message" . }}"#;

fn html(text: &str, data: &Data) -> String {
    let set = default_template_set().unwrap();
    let env = Env {
        escape: Escape::Html,
        ..Env::default()
    };
    set.render_with(text, &data.to_value(), &env).unwrap()
}

#[test]
fn telegram_default_firing_and_resolved() {
    assert_eq!(
        html(TG, &node_down("firing")),
        "\n\nAlerts Firing:\nLabels:\n - alertname = NodeDown\n - instance = db1\n - severity = critical\nAnnotations:\n - summary = db1 &lt;down&gt; &amp; out\nSource: \n\n\n\n"
    );
    assert_eq!(
        html(TG, &node_down("resolved")),
        "\n\n\nAlerts Resolved:\nLabels:\n - alertname = NodeDown\n - instance = db1\n - severity = critical\nAnnotations:\n - summary = db1 &lt;down&gt; &amp; out\nSource: \n\n\n"
    );
}

#[test]
fn telegram_default_mixed_group() {
    let mk = |status: &str, inst: &str, summary: &str| {
        alert(
            status,
            &[("alertname", "Mix"), ("instance", inst), ("mode", "mix")],
            &[("summary", summary)],
        )
    };
    let two_firing = Data::new(
        "tg",
        labels(&[("alertname", "Mix")]),
        vec![mk("firing", "a", "A"), mk("firing", "b", "B")],
        "",
    );
    assert_eq!(
        html(TG, &two_firing),
        "\n\nAlerts Firing:\nLabels:\n - alertname = Mix\n - instance = a\n - mode = mix\nAnnotations:\n - summary = A\nSource: \nLabels:\n - alertname = Mix\n - instance = b\n - mode = mix\nAnnotations:\n - summary = B\nSource: \n\n\n\n"
    );
    let mixed = Data::new(
        "tg",
        labels(&[("alertname", "Mix")]),
        vec![mk("firing", "a", "A"), mk("resolved", "b", "B")],
        "",
    );
    assert_eq!(
        html(TG, &mixed),
        "\n\nAlerts Firing:\nLabels:\n - alertname = Mix\n - instance = a\n - mode = mix\nAnnotations:\n - summary = A\nSource: \n\n\n\nAlerts Resolved:\nLabels:\n - alertname = Mix\n - instance = b\n - mode = mix\nAnnotations:\n - summary = B\nSource: \n\n\n"
    );
}

#[test]
fn html_escaping_of_quotes_and_safe_html() {
    let mut a = alert(
        "firing",
        &[("alertname", "X")],
        &[("summary", "a <b>bold</b> & \"q\" 's'")],
    );
    a.generator_url = "http://prom:9090/graph?g0.expr=up&x=<1>".into();
    let d = Data::new("tg", labels(&[]), vec![a], "");
    let out = html(TG, &d);
    assert!(
        out.contains(" - summary = a &lt;b&gt;bold&lt;/b&gt; &amp; &#34;q&#34; &#39;s&#39;\nSource: http://prom:9090/graph?g0.expr=up&amp;x=&lt;1&gt;"),
        "{out:?}"
    );
    // Literal markup passes, values are escaped, safeHtml bypasses (recorded from 0.25).
    let d = Data::new(
        "tg",
        labels(&[]),
        vec![alert(
            "firing",
            &[("alertname", "X")],
            &[("summary", "hi <there> & co")],
        )],
        "",
    );
    assert_eq!(
        html(
            r#"<b>{{ .CommonAnnotations.summary }}</b> {{ safeHtml "<i>x</i>" }}"#,
            &d
        ),
        "<b>hi &lt;there&gt; &amp; co</b> <i>x</i>"
    );
}

#[test]
fn text_mode_does_not_escape() {
    let set = default_template_set().unwrap();
    let out = set.render(TG, &node_down("firing").to_value()).unwrap();
    assert!(out.contains(" - summary = db1 <down> & out\n"), "{out:?}");
}

#[test]
fn subject_and_url_defaults() {
    let set = default_template_set().unwrap();
    let d = Data::new(
        "team-x",
        labels(&[("alertname", "NodeDown")]),
        vec![
            alert(
                "firing",
                &[
                    ("alertname", "NodeDown"),
                    ("instance", "a"),
                    ("job", "node"),
                ],
                &[],
            ),
            alert(
                "firing",
                &[
                    ("alertname", "NodeDown"),
                    ("instance", "b"),
                    ("job", "node"),
                ],
                &[],
            ),
        ],
        "http://am:9093",
    );
    let v = d.to_value();
    assert_eq!(
        set.render(r#"{{ template "__subject" . }}"#, &v).unwrap(),
        "[FIRING:2] NodeDown (node)"
    );
    assert_eq!(
        set.render(r#"{{ template "__alertmanagerURL" . }}"#, &v)
            .unwrap(),
        "http://am:9093/#/alerts?receiver=team-x"
    );
    let resolved = Data::new(
        "r",
        labels(&[("alertname", "A")]),
        vec![alert("resolved", &[("alertname", "A")], &[])],
        "",
    );
    assert_eq!(
        set.render(r#"{{ template "__subject" . }}"#, &resolved.to_value())
            .unwrap(),
        "[RESOLVED] A "
    );
}

#[test]
fn kv_methods_and_printing() {
    let set = default_template_set().unwrap();
    let d = node_down("firing").to_value();
    assert_eq!(
        set.render(
            "{{ .CommonLabels.Names | join \",\" }}|{{ .CommonLabels.Values | join \",\" }}",
            &d
        )
        .unwrap(),
        "alertname,instance,severity|NodeDown,db1,critical"
    );
    assert_eq!(
        set.render("{{ .CommonLabels }}", &d).unwrap(),
        "alertname=NodeDown, instance=db1, severity=critical"
    );
    assert_eq!(
        set.render(
            "{{ (.CommonLabels.Remove (stringSlice \"instance\")).Names }}",
            &d
        )
        .unwrap(),
        "[alertname severity]"
    );
    assert_eq!(
        set.render(
            "{{ range .CommonLabels.SortedPairs }}{{ .Name }}={{ .Value }};{{ end }}",
            &d
        )
        .unwrap(),
        "alertname=NodeDown;instance=db1;severity=critical;"
    );
    // missingkey=zero on KV gives "".
    assert_eq!(set.render("[{{ .CommonLabels.nope }}]", &d).unwrap(), "[]");
    assert_eq!(
        set.render("{{ len .Alerts.Firing }}/{{ len .Alerts.Resolved }}", &d)
            .unwrap(),
        "1/0"
    );
}

#[test]
fn functions() {
    let set = default_template_set().unwrap();
    let d = node_down("firing").to_value();
    let r = |t: &str| set.render(t, &d).unwrap();
    // Recorded from 0.25: title lower-cases the rest of each word.
    assert_eq!(r(r#"{{ title "customAlert" }}"#), "Customalert");
    assert_eq!(
        r(r#"{{ reReplaceAll "db(\\d)" "node-$1" "db3" }}"#),
        "node-3"
    );
    assert_eq!(r(r#"{{ match "^db" .CommonLabels.instance }}"#), "true");
    assert_eq!(
        r(r#"{{ "Hi" | toUpper }} {{ "Hi" | toLower }} [{{ trimSpace "  x " }}]"#),
        "HI hi [x]"
    );
    assert_eq!(r(r#"{{ urlUnescape "a%20b+c" }}"#), "a b c");
    assert_eq!(
        r(r#"{{ (index .Alerts 0).StartsAt | date "2006-01-02 15:04:05" }}"#),
        "2023-11-14 22:13:20"
    );
    assert_eq!(
        r(r#"{{ (index .Alerts 0).StartsAt.Format "Jan 2" }}"#),
        "Nov 14"
    );
    assert_eq!(r(r#"{{ humanizeDuration 3661 }}"#), "1h 1m 1s");
    assert_eq!(
        r(r#"{{ toJson .CommonLabels }}"#),
        r#"{"alertname":"NodeDown","instance":"db1","severity":"critical"}"#
    );
    assert_eq!(
        r(r#"{{ $d := dict "a" 1 "b" "x" }}{{ $d.b }}{{ $d.a }}"#),
        "x1"
    );
    assert_eq!(
        r(r#"{{ list 1 2 | len }} {{ append (list 1) 2 }}"#),
        "2 [1 2]"
    );
    assert_eq!(
        r(r#"{{ base64encode "hello?>" }} {{ base64decode "aGVsbG8_Pg==" }}"#),
        "aGVsbG8_Pg== hello?>"
    );
    assert_eq!(
        r(r#"{{ (toDate "2006-01-02" "2024-03-01").Unix }}"#),
        "1709251200"
    );
}

#[test]
fn time_functions_with_injected_clock() {
    let set = default_template_set().unwrap();
    let d = node_down("firing").to_value();
    let env = Env {
        now: Some(Time::from_unix(1_700_000_000 + 3_725, 0)),
        ..Env::default()
    };
    assert_eq!(
        set.render_with("{{ since (index .Alerts 0).StartsAt }}", &d, &env)
            .unwrap(),
        "1h2m5s"
    );
    assert_eq!(
        set.render_with(
            "{{ since (index .Alerts 0).StartsAt | humanizeDuration }}",
            &d,
            &env
        )
        .unwrap(),
        "1h 2m 5s"
    );
    assert_eq!(
        set.render_with("{{ now.Unix }}", &d, &env).unwrap(),
        "1700003725"
    );
    if lgtm_template::load_location("Europe/Berlin").is_ok() {
        assert_eq!(
            set.render(
                r#"{{ (index .Alerts 0).StartsAt | tz "Europe/Berlin" | date "15:04 MST" }}"#,
                &d
            )
            .unwrap(),
            "23:13 CET"
        );
    }
    let e = set
        .render(r#"{{ (index .Alerts 0).StartsAt | tz "Mars/Base" }}"#, &d)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("error calling tz: unknown time zone Mars/Base"),
        "{e}"
    );
}

#[test]
fn user_templates_override_defaults() {
    let mut set = default_template_set().unwrap();
    set.parse(
        "user.tmpl",
        r#"{{ define "telegram.default.message" }}custom {{ .Status }}{{ end }}"#,
    )
    .unwrap();
    assert_eq!(
        set.render(TG, &node_down("firing").to_value()).unwrap(),
        "custom firing"
    );
}

#[test]
fn data_assembly_like_alertmanager() {
    let d = Data::new(
        "a.b",
        labels(&[]),
        vec![
            alert(
                "resolved",
                &[("alertname", "X"), ("i", "1")],
                &[("s", "same")],
            ),
            alert(
                "resolved",
                &[("alertname", "X"), ("i", "2")],
                &[("s", "same")],
            ),
        ],
        "",
    );
    assert_eq!(d.receiver, "a\\.b");
    assert_eq!(d.status, "resolved");
    assert_eq!(d.common_labels, labels(&[("alertname", "X")]));
    assert_eq!(d.common_annotations, labels(&[("s", "same")]));
    assert!(matches!(d.to_value(), Value::Map(_)));
}

/// Cases from Alertmanager's template_test.go (`TestTemplateExpansion`, `TestTemplateFuncs`).
#[test]
fn upstream_template_expansion_cases() {
    let set = default_template_set().unwrap();
    let html_env = Env {
        escape: Escape::Html,
        ..Env::default()
    };
    let text = |t: &str, d: &Value| set.render(t, d);
    let nil = Value::Nil;
    assert_eq!(text("abc", &nil).unwrap(), "abc");
    assert_eq!(text(r#"{{ "abc" }}"#, &nil).unwrap(), "abc");
    assert!(text("{{ ", &nil).is_err());
    assert_eq!(text(r#"{{ "abc" | toUpper }}"#, &nil).unwrap(), "ABC");
    assert_eq!(text(r#"{{ "ABC" | toLower }}"#, &nil).unwrap(), "abc");
    assert_eq!(text(r#"{{ "abc" | title }}"#, &nil).unwrap(), "Abc");
    assert_eq!(
        text(r#"{{ " a b c " | trimSpace }}"#, &nil).unwrap(),
        "a b c"
    );
    assert_eq!(
        text(r#"{{ if match "^a" "abc"}}abc{{ end }}"#, &nil).unwrap(),
        "abc"
    );
    assert_eq!(
        text(r#"{{ if match "abcd" "abc" }}abc{{ end }}"#, &nil).unwrap(),
        ""
    );
    assert_eq!(
        text(r#"{{ . | join "," }}"#, &Value::list(["a", "b", "c"])).unwrap(),
        "a,b,c"
    );
    assert_eq!(text(r#"{{ "<b>" }}"#, &nil).unwrap(), "<b>");
    assert_eq!(
        set.render_with(r#"{{ "<b>" }}"#, &nil, &html_env).unwrap(),
        "&lt;b&gt;"
    );
    assert_eq!(
        set.render_with(r#"{{ "<b>" | safeHtml }}"#, &nil, &html_env)
            .unwrap(),
        "<b>"
    );
    assert_eq!(
        text(r#"{{ reReplaceAll "ab" "AB" "abcdabcda"}}"#, &nil).unwrap(),
        "ABcdABcda"
    );
    let d = Data {
        group_labels: labels(&[
            ("key1", "key1"),
            ("key2", "key2"),
            ("key3", "key3"),
            ("key4", "key4"),
        ]),
        ..Data::default()
    };
    assert_eq!(
        text(
            r#"{{ with .GroupLabels }}{{ with .Remove (stringSlice "key1" "key3") }}{{ .SortedPairs.Values }}{{ end }}{{ end }}"#,
            &d.to_value()
        )
        .unwrap(),
        "[key2 key4]"
    );
}

#[test]
fn upstream_template_funcs_cases() {
    let set = default_template_set().unwrap();
    let t = Value::Time(Time::from_unix(1_704_096_930, 0)); // 2024-01-01 08:15:30 UTC
    assert_eq!(
        set.render(r#"{{ . | date "2006-01-02" }}"#, &t).unwrap(),
        "2024-01-01"
    );
    if lgtm_template::load_location("Europe/Paris").is_ok() {
        assert_eq!(
            set.render(r#"{{ . | tz "Europe/Paris" }}"#, &t).unwrap(),
            "2024-01-01 09:15:30 +0100 CET"
        );
    }
    assert_eq!(
        set.render(r#"{{ . | tz "Invalid/Timezone" }}"#, &t)
            .unwrap_err()
            .to_string(),
        r#"template: :1:7: executing "" at <tz "Invalid/Timezone">: error calling tz: unknown time zone Invalid/Timezone"#
    );
    let hd = "{{ range . }}{{ humanizeDuration . }}:{{ end }}";
    assert_eq!(
        set.render(
            hd,
            &Value::list([
                0.0,
                1.0,
                60.0,
                3600.0,
                86400.0,
                86400.0 + 3600.0,
                -(86400.0 * 2.0 + 3600.0 * 3.0 + 60.0 * 4.0 + 5.0),
                899.99
            ])
        )
        .unwrap(),
        "0s:1s:1m 0s:1h 0m 0s:1d 0h 0m 0s:1d 1h 0m 0s:-2d 3h 4m 5s:14m 59s:"
    );
    assert_eq!(
        set.render(hd, &Value::list(["0", "1", "60", "3600", "86400"]))
            .unwrap(),
        "0s:1s:1m 0s:1h 0m 0s:1d 0h 0m 0s:"
    );
    assert_eq!(
        set.render(
            hd,
            &Value::list([".1", ".0001", ".12345", "60.1", "60.5", "1.2345", "12.345"])
        )
        .unwrap(),
        "100ms:100us:123.5ms:1m 0s:1m 0s:1.234s:12.35s:"
    );
    assert_eq!(
        set.render(r#"{{ humanizeDuration "one" }}"#, &Value::Nil)
            .unwrap_err()
            .to_string(),
        r#"template: :1:3: executing "" at <humanizeDuration "one">: error calling humanizeDuration: strconv.ParseFloat: parsing "one": invalid syntax"#
    );
    assert_eq!(
        set.render(hd, &Value::list([0i64, -1, 1, 1_234_567]))
            .unwrap(),
        "0s:-1s:1s:14d 6h 56m 7s:"
    );
    assert_eq!(
        set.render(hd, &Value::list([0u64, 1, 1_234_567])).unwrap(),
        "0s:1s:14d 6h 56m 7s:"
    );
    let env = Env {
        now: Some(Time::from_unix(1_700_003_600, 0)),
        ..Env::default()
    };
    assert_eq!(
        set.render_with(
            "{{ . | since | humanizeDuration }}",
            &Value::Time(Time::from_unix(1_700_000_000, 0)),
            &env
        )
        .unwrap(),
        "1h 0m 0s"
    );
}

#[test]
fn jira_priority_default_uses_trim_markers_and_assignments() {
    let set = default_template_set().unwrap();
    let mk = |status: &str, sev: &str| alert(status, &[("alertname", "A"), ("severity", sev)], &[]);
    let prio = |alerts: Vec<Alert>| {
        let d = Data::new("r", labels(&[]), alerts, "");
        set.render(r#"{{ template "jira.default.priority" . }}"#, &d.to_value())
            .unwrap()
    };
    assert_eq!(
        prio(vec![mk("firing", "warning"), mk("firing", "info")]),
        "Medium"
    );
    assert_eq!(
        prio(vec![mk("firing", "info"), mk("firing", "critical")]),
        "High"
    );
    assert_eq!(prio(vec![mk("resolved", "info")]), "Low");
    assert_eq!(prio(vec![mk("firing", "none")]), "");
}
