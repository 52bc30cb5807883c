//! `html/template`-style escaping mode (HTML text context).

use lgtm_template::{Env, Escape, TemplateSet, Value, alertmanager_funcs};

fn html(text: &str, data: &Value) -> String {
    let set = TemplateSet::new().with_funcs(alertmanager_funcs());
    let env = Env {
        escape: Escape::Html,
        ..Env::default()
    };
    set.render_with(text, data, &env).unwrap()
}

#[test]
fn escapes_interpolated_values_only() {
    let d = Value::map([("X", Value::from("<a href='x'>\"q\" & 1+1\0</a>"))]);
    assert_eq!(
        html("<p>{{ .X }}</p>", &d),
        "<p>&lt;a href=&#39;x&#39;&gt;&#34;q&#34; &amp; 1&#43;1\u{FFFD}&lt;/a&gt;</p>"
    );
}

#[test]
fn safe_html_and_nil() {
    let d = Value::map([("X", Value::from("<b>"))]);
    assert_eq!(
        html(
            r#"{{ safeHtml .X }}|{{ .X | safeHtml }}|{{ .Missing }}|"#,
            &d
        ),
        "<b>|<b>||"
    );
    // Numbers print as in text mode.
    assert_eq!(html("{{ 1.5 }} {{ len .X }}", &d), "1.5 3");
}

#[test]
fn escaping_applies_inside_called_templates() {
    let mut set = TemplateSet::new();
    set.parse("base", r#"{{ define "item" }}<li>{{ . }}</li>{{ end }}"#)
        .unwrap();
    let env = Env {
        escape: Escape::Html,
        ..Env::default()
    };
    let out = set
        .render_with(
            r#"<ul>{{ range . }}{{ template "item" . }}{{ end }}</ul>"#,
            &Value::list(["a&b", "<c>"]),
            &env,
        )
        .unwrap();
    assert_eq!(out, "<ul><li>a&amp;b</li><li>&lt;c&gt;</li></ul>");
    // The same set renders unescaped in text mode.
    let out = set
        .render(r#"{{ template "item" "<c>" }}"#, &Value::Nil)
        .unwrap();
    assert_eq!(out, "<li><c></li>");
}

#[test]
fn text_template_html_builtin_differs_from_html_mode() {
    // text/template's html func does not escape '+'; html/template's escaper does.
    let set = TemplateSet::new();
    assert_eq!(
        set.render(r#"{{ html "1+1<2" }}"#, &Value::Nil).unwrap(),
        "1+1&lt;2"
    );
    assert_eq!(html(r#"{{ "1+1<2" }}"#, &Value::Nil), "1&#43;1&lt;2");
}

#[test]
fn url_attributes_are_filtered_and_normalised() {
    let d = Value::map([
        ("U", Value::from("http://prom:9090/graph?g0.expr=up&x=<1>")),
        ("Bad", Value::from("javascript:alert(1)")),
        ("Q", Value::from("a b/c")),
    ]);
    assert_eq!(
        html(r#"<a href="{{ .U }}">Source</a>"#, &d),
        "<a href=\"http://prom:9090/graph?g0.expr=up&amp;x=%3c1%3e\">Source</a>"
    );
    assert_eq!(
        html(r#"<a href='{{ .Bad }}'>x</a>"#, &d),
        "<a href='#ZgotmplZ'>x</a>"
    );
    assert_eq!(
        html(r#"<a href="/s?q={{ .Q }}">"#, &d),
        "<a href=\"/s?q=a%20b%2fc\">"
    );
    // urlquery already escaped: only the attribute escaper runs ('+' becomes &#43;).
    assert_eq!(
        html(r#"<a href="/s?q={{ .Q | urlquery }}">"#, &d),
        "<a href=\"/s?q=a&#43;b%2Fc\">"
    );
    assert_eq!(
        html(r#"<b title="{{ .U }}">{{ .U }}</b>"#, &d),
        "<b title=\"http://prom:9090/graph?g0.expr=up&amp;x=&lt;1&gt;\">http://prom:9090/graph?g0.expr=up&amp;x=&lt;1&gt;</b>"
    );
}

#[test]
fn template_text_comments_are_removed() {
    assert_eq!(html("a<!-- {{ . }} hidden -->b", &Value::from("x")), "ab");
}

#[test]
fn alertmanager_url_in_href_like_the_email_template() {
    use lgtm_template::alertmanager::{Data, default_template_set};
    let set = default_template_set().unwrap();
    let d = Data::new("team x", Default::default(), vec![], "http://am:9093");
    let env = Env {
        escape: Escape::Html,
        ..Env::default()
    };
    let out = set
        .render_with(
            r#"<a href="{{ template "__alertmanagerURL" . }}">View</a>"#,
            &d.to_value(),
            &env,
        )
        .unwrap();
    assert_eq!(
        out,
        "<a href=\"http://am:9093/#/alerts?receiver=team&#43;x\">View</a>"
    );
}
