use super::*;
use crate::alert::Alert;
use crate::model::{parse_time, zero_time};
use lgtm_common::labels::Labels;
use std::collections::BTreeMap;

fn alert(labels: &[(&str, &str)], summary: &str, resolved: bool, url: &str) -> Alert {
    let now = parse_time("2026-11-24T21:56:45Z").unwrap();
    Alert::new(
        Labels::from_pairs(labels.iter().copied()),
        BTreeMap::from([("summary".to_owned(), summary.to_owned())]),
        now,
        if resolved { now } else { zero_time() },
        url.to_owned(),
        now,
        false,
    )
}

fn data(alerts: &[Alert]) -> Data {
    let now = parse_time("2026-11-24T21:57:00Z").unwrap();
    Data::new("tg", &Labels::empty(), alerts, "http://am", now)
}

fn text(alerts: &[Alert]) -> String {
    default_message(&data(alerts), ParseMode::Html).0
}

#[test]
fn default_message_bytes_equal_alertmanager_025() {
    // Exact texts observed from Alertmanager 0.25 (reference §4.2).
    let node_down = [
        ("alertname", "NodeDown"),
        ("instance", "db1"),
        ("severity", "critical"),
    ];
    assert_eq!(
        text(&[alert(&node_down, "db1 <down> & out", false, "")]),
        "\n\nAlerts Firing:\nLabels:\n - alertname = NodeDown\n - instance = db1\n - severity = critical\nAnnotations:\n - summary = db1 &lt;down&gt; &amp; out\nSource: \n\n\n\n"
    );
    assert_eq!(
        text(&[alert(&node_down, "db1 <down> & out", true, "")]),
        "\n\n\nAlerts Resolved:\nLabels:\n - alertname = NodeDown\n - instance = db1\n - severity = critical\nAnnotations:\n - summary = db1 &lt;down&gt; &amp; out\nSource: \n\n\n"
    );
    let a = alert(
        &[("alertname", "Mix"), ("instance", "a"), ("mode", "mix")],
        "A",
        false,
        "",
    );
    let b = alert(
        &[("alertname", "Mix"), ("instance", "b"), ("mode", "mix")],
        "B",
        false,
        "",
    );
    let b_res = alert(
        &[("alertname", "Mix"), ("instance", "b"), ("mode", "mix")],
        "B",
        true,
        "",
    );
    assert_eq!(
        text(&[a.clone(), b]),
        "\n\nAlerts Firing:\nLabels:\n - alertname = Mix\n - instance = a\n - mode = mix\nAnnotations:\n - summary = A\nSource: \nLabels:\n - alertname = Mix\n - instance = b\n - mode = mix\nAnnotations:\n - summary = B\nSource: \n\n\n\n"
    );
    assert_eq!(
        text(&[a, b_res]),
        "\n\nAlerts Firing:\nLabels:\n - alertname = Mix\n - instance = a\n - mode = mix\nAnnotations:\n - summary = A\nSource: \n\n\n\nAlerts Resolved:\nLabels:\n - alertname = Mix\n - instance = b\n - mode = mix\nAnnotations:\n - summary = B\nSource: \n\n\n"
    );
    let esc = text(&[alert(
        &[("alertname", "E")],
        "a <b>bold</b> & \"q\" 's'",
        false,
        "http://prom:9090/graph?g0.expr=up&x=<1>",
    )]);
    assert!(
        esc.contains(" - summary = a &lt;b&gt;bold&lt;/b&gt; &amp; &#34;q&#34; &#39;s&#39;\nSource: http://prom:9090/graph?g0.expr=up&amp;x=&lt;1&gt;"),
        "{esc}"
    );
}

#[test]
fn markdown_v2_is_escaped() {
    let (t, _) = default_message(
        &data(&[alert(&[("alertname", "a_b.c-d")], "x!", false, "")]),
        ParseMode::MarkdownV2,
    );
    assert!(t.contains(" \\- alertname \\= a\\_b\\.c\\-d\n"), "{t}");
    assert_eq!(
        to_plain(&t, ParseMode::MarkdownV2),
        default_message(
            &data(&[alert(&[("alertname", "a_b.c-d")], "x!", false, "")]),
            ParseMode::Plain
        )
        .0
    );
}

#[test]
fn visible_length_counts_entities_once() {
    assert_eq!(visible_len("<b>a&amp;b</b>", ParseMode::Html), 3);
    assert_eq!(visible_len("a\\.b", ParseMode::MarkdownV2), 3);
    assert_eq!(visible_len("😀", ParseMode::Plain), 2);
}

/// Checks the subset of Telegram's HTML grammar we produce: tags balanced and properly
/// nested, entities complete.
fn well_formed_html(s: &str) -> bool {
    let mut stack = Vec::new();
    for t in html_tokens(s) {
        match t {
            HtmlTok::Open { name, .. } => stack.push(name),
            HtmlTok::Close(name) => {
                if stack.pop().as_deref() != Some(name.as_str()) {
                    return false;
                }
            }
            HtmlTok::Text(txt) => {
                if txt.contains('<') || txt.contains('>') || txt.contains('&') {
                    return false;
                }
            }
            HtmlTok::Entity(_) => {}
        }
    }
    stack.is_empty()
}

fn strip_header(p: &str) -> &str {
    p.split_once('\n').map_or(p, |(_, rest)| rest)
}

#[test]
fn long_groups_split_at_alert_boundaries() {
    let alerts: Vec<Alert> = (0..300)
        .map(|i| {
            alert(
                &[("alertname", "Big"), ("instance", &format!("host-{i:03}"))],
                &"x<y ".repeat(10),
                false,
                "",
            )
        })
        .collect();
    let d = data(&alerts);
    let (t, bounds) = default_message(&d, ParseMode::Html);
    assert!(visible_len(&t, ParseMode::Html) > MAX_LEN);
    let parts = split(&t, &bounds, ParseMode::Html);
    assert!(parts.len() > 1);
    let n = parts.len();
    for (i, p) in parts.iter().enumerate() {
        assert!(visible_len(p, ParseMode::Html) <= MAX_LEN);
        assert!(well_formed_html(p), "part {i} malformed");
        assert!(p.starts_with(&format!("({}/{n})\n", i + 1)));
        if i > 0 {
            assert!(
                strip_header(p).starts_with("Labels:\n"),
                "part {i} does not start at an alert"
            );
        }
    }
    let joined: String = parts.iter().map(|p| strip_header(p)).collect();
    assert_eq!(joined, t, "nothing lost or duplicated");
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
    #[test]
    fn split_parts_are_well_formed_and_complete(
        chunks in proptest::collection::vec(("[a-z<>&\"' \n]{0,30}", 0usize..4), 1..40),
        limit in 20usize..120,
    ) {
        // Build HTML with nested tags around escaped text.
        let mut s = String::new();
        for (txt, tag) in &chunks {
            let tag = ["b", "i", "code", ""][*tag];
            if tag.is_empty() {
                s.push_str(&html_escape(txt));
            } else {
                s.push_str(&format!("<{tag}>{}</{tag}>", html_escape(txt)));
            }
        }
        let parts = split_with_limit(&s, &[], ParseMode::Html, limit);
        let mut plain = String::new();
        for p in &parts {
            proptest::prop_assert!(visible_len(p, ParseMode::Html) <= limit.max(13));
            proptest::prop_assert!(well_formed_html(p), "{}", p);
            let body = if parts.len() > 1 { strip_header(p) } else { p.as_str() };
            plain.push_str(&to_plain(body, ParseMode::Html));
        }
        proptest::prop_assert_eq!(plain, to_plain(&s, ParseMode::Html));
    }
}

#[test]
fn native_default_equals_the_template_engine() {
    // The native renderer (which knows alert boundaries) must produce exactly what
    // Alertmanager's `telegram.default.message` renders through html/template.
    let set = lgtm_template::alertmanager::default_template_set().unwrap();
    let env = lgtm_template::Env {
        escape: lgtm_template::Escape::Html,
        ..Default::default()
    };
    let cases = vec![
        vec![alert(
            &[("alertname", "A"), ("x", "1 + 2 'q' \"d\"")],
            "<b> & </b>",
            false,
            "http://p/g?a=1&b=<2>",
        )],
        vec![
            alert(&[("alertname", "A"), ("i", "1")], "s", false, ""),
            alert(&[("alertname", "A"), ("i", "2")], "s", true, ""),
        ],
        vec![alert(
            &[("zeta", "z"), ("alertname", "B"), ("beta", "b")],
            "",
            true,
            "",
        )],
    ];
    for alerts in cases {
        let d = data(&alerts);
        let value = crate::notify::template_data(&d, &alerts).to_value();
        let engine = set
            .render_with(
                r#"{{ template "telegram.default.message" . }}"#,
                &value,
                &env,
            )
            .unwrap();
        assert_eq!(default_message(&d, ParseMode::Html).0, engine);
    }
}
