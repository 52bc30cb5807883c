//! Property tests: the lexer/parser never panic, text passes through, Go quoting and float
//! printing round-trip through the template language.

use lgtm_template::{TemplateSet, Value};
use proptest::prelude::*;

fn render(text: &str, data: &Value) -> Result<String, lgtm_template::Error> {
    TemplateSet::new().render(text, data)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn plain_text_passes_through(s in "[^{]*") {
        prop_assert_eq!(render(&s, &Value::Nil).unwrap(), s);
    }

    #[test]
    fn parser_and_executor_never_panic(s in r#"[{}a-z0-9 .|$()"'`:=,\-/*]{0,40}"#) {
        let mut set = TemplateSet::new();
        if set.parse("t", &s).is_ok() {
            let _ = set.execute("t", &Value::map([("a", Value::from("x"))]));
        }
    }

    #[test]
    fn printf_q_round_trips_through_string_literals(v in any::<String>()) {
        let quoted = render(r#"{{ printf "%q" . }}"#, &Value::String(v.clone())).unwrap();
        let back = render(&format!("{{{{ {quoted} }}}}"), &Value::Nil).unwrap();
        prop_assert_eq!(back, v);
    }

    #[test]
    fn float_printing_round_trips(f in any::<f64>().prop_filter("finite", |f| f.is_finite())) {
        let s = render("{{ . }}", &Value::Float(f)).unwrap();
        let parsed: f64 = s.parse().unwrap();
        prop_assert_eq!(parsed, f);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn arbitrary_unicode_templates_never_panic(s in "(\\PC|[{}.$|()\"'`-]){0,30}") {
        let mut set = TemplateSet::new().with_funcs(lgtm_template::loki_funcs());
        if set.parse("t", &s).is_ok() {
            let _ = set.execute("t", &Value::string_map([("a", "é")]));
            let env = lgtm_template::Env { escape: lgtm_template::Escape::Html, ..Default::default() };
            let _ = set.execute_with("t", &Value::Nil, &env);
        }
    }

    #[test]
    fn time_parsing_never_panics(layout in "\\PC{0,12}", value in "\\PC{0,16}") {
        let _ = lgtm_template::parse_layout(&layout, &value, 0, "UTC");
        let _ = lgtm_template::parse_go_duration(&value);
    }

    #[test]
    fn html_mode_never_panics(text in "(\\PC|[<>=\"'/!-]){0,40}", v in "\\PC{0,10}") {
        let env = lgtm_template::Env { escape: lgtm_template::Escape::Html, ..Default::default() };
        let t = format!("{text}{{{{ . }}}}{text}");
        let mut set = TemplateSet::new();
        if set.parse("t", &t).is_ok() {
            let _ = set.execute_with("t", &Value::String(v), &env);
        }
    }
}
