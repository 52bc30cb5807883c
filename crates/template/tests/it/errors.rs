//! Error texts and positions, as Go prints them.

use crate::{err, run_mode};
use lgtm_template::{Error, MissingKey, TemplateSet, Value};

#[test]
fn missingkey_error_message() {
    let d = Value::map([("A", Value::Int(1))]);
    let e = run_mode("x {{.Foo}}", &d, MissingKey::Error).unwrap_err();
    assert_eq!(
        e.to_string(),
        r#"template: t:1:4: executing "t" at <.Foo>: map has no entry for key "Foo""#
    );
}

#[test]
fn parse_errors() {
    let d = Value::Nil;
    assert_eq!(
        err("{{nope 1}}", &d),
        r#"template: t:1: function "nope" not defined"#
    );
    assert_eq!(err("{{if .X}}", &d), "template: t:1: unexpected EOF");
    assert_eq!(err("a\n{{end}}", &d), "template: t:2: unexpected {{end}}");
    assert_eq!(err("{{else}}", &d), "template: t:1: unexpected {{else}}");
    assert_eq!(
        err("{{break}}", &d),
        "template: t:1: {{break}} outside {{range}}"
    );
    assert_eq!(
        err("{{$x}}", &d),
        r#"template: t:1: undefined variable "$x""#
    );
    assert_eq!(err("{{.X", &d), "template: t:1: unclosed action");
    assert_eq!(err("{{", &d), "template: t:1: unclosed action");
    assert_eq!(
        err("{{\"abc}}", &d),
        "template: t:1: unterminated quoted string"
    );
    // A non-ASCII space is not allowed in actions (Prometheus' template tests; current Go
    // reports lexer errors without the "unexpected ... in command" wrapper).
    assert_eq!(
        err("{{\u{a0}}}", &d),
        "template: t:1: unrecognized character in action: U+00A0"
    );
    // Recorded from Loki 3.6 (template_error-003).
    assert_eq!(err("{{", &d), "template: t:1: unclosed action");
    assert_eq!(
        err("{{ .X\n", &d),
        "template: t:2: unclosed action started at t:1"
    );
    assert_eq!(err("a {{/* x", &d), "template: t:1: unclosed comment");
    assert_eq!(err("{{}}", &d), "template: t:1: missing value for command");
    assert_eq!(
        err("{{range}}{{end}}", &d),
        "template: t:1: missing value for range"
    );
    assert_eq!(
        err("{{ .X | 3 }}", &d),
        "template: t:1: non executable command in pipeline stage 2"
    );
    assert_eq!(
        err("{{template .X}}", &d),
        "template: t:1: unexpected <.X> in template clause"
    );
    assert_eq!(err("{{ (1 }}", &d), "template: t:1: unclosed left paren");
}

#[test]
fn exec_errors() {
    let d = Value::map([
        ("L", Value::list([1i64, 2])),
        ("S", Value::from("s")),
        ("F", Value::Float(1.5)),
        ("O", Value::object("main.T", [("A", Value::Int(1))])),
    ]);
    assert_eq!(
        err("{{ index .L 5 }}", &d),
        r#"template: t:1:3: executing "t" at <index .L 5>: error calling index: index out of range: 5"#
    );
    assert_eq!(
        err("{{.O.Nope}}", &d),
        r#"template: t:1:4: executing "t" at <.O.Nope>: can't evaluate field Nope in type main.T"#
    );
    assert_eq!(
        err("{{.S.X}}", &d),
        r#"template: t:1:4: executing "t" at <.S.X>: can't evaluate field X in type string"#
    );
    assert_eq!(
        err("{{ gt .F 1 }}", &d),
        r#"template: t:1:3: executing "t" at <gt .F 1>: error calling gt: incompatible types for comparison"#
    );
    assert_eq!(
        err("{{template \"nope\"}}", &d),
        r#"template: t:1:2: executing "t" at <{{template "nope"}}>: template "nope" not defined"#
    );
    assert_eq!(
        err("{{range .S}}{{end}}", &d),
        // Go blames the last node its executor visited: the pipeline's field.
        r#"template: t:1:8: executing "t" at <.S>: range can't iterate over s"#
    );
    assert_eq!(
        err("{{ 3 4 }}", &d),
        r#"template: t:1:3: executing "t" at <3>: can't give argument to non-function 3"#
    );
    assert_eq!(
        err("{{ nil }}", &d),
        r#"template: t:1:3: executing "t" at <nil>: nil is not a command"#
    );
    assert_eq!(
        err("{{ len 3 }}", &d),
        r#"template: t:1:3: executing "t" at <len 3>: error calling len: len of type int"#
    );
}

#[test]
fn error_positions_inside_defines_and_lines() {
    let mut set = TemplateSet::new().with_missing_key(MissingKey::Error);
    set.parse("file.tmpl", "{{define \"a\"}}\nline2 {{.Missing}}{{end}}")
        .unwrap();
    let e = set
        .execute("a", &Value::map([("x", Value::Int(1))]))
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        r#"template: file.tmpl:2:8: executing "a" at <.Missing>: map has no entry for key "Missing""#
    );
}

#[test]
fn unknown_template_and_recursion_limit() {
    let set = TemplateSet::new();
    assert!(matches!(
        set.execute("x", &Value::Nil),
        Err(Error::NoTemplate { .. })
    ));
    let mut set = TemplateSet::new();
    set.parse(
        "r",
        r#"{{define "loop"}}{{template "loop" .}}{{end}}{{template "loop"}}"#,
    )
    .unwrap();
    let e = set.execute("r", &Value::Nil).unwrap_err().to_string();
    assert!(e.contains("exceeded maximum template depth (200)"), "{e}");
}

#[test]
fn long_context_is_not_truncated() {
    // Recorded from Loki 3.6 (built with a current Go): the whole command is quoted.
    let d = Value::map([("L", Value::list([1i64]))]);
    let e = err("{{ index .L 100000000000 }}", &d);
    assert!(e.contains("at <index .L 100000000000>"), "{e}");
}

#[test]
fn multiple_definitions_in_one_parse() {
    let d = Value::Nil;
    assert_eq!(
        err(r#"{{define "a"}}x{{end}}{{define "a"}}y{{end}}"#, &d),
        r#"template: t:1: template: multiple definition of template "a""#
    );
    // An empty redefinition is ignored; across parses the later definition wins.
    let mut set = TemplateSet::new();
    set.parse(
        "t",
        r#"{{define "a"}}x{{end}}{{define "a"}}{{end}}{{template "a"}}"#,
    )
    .unwrap();
    assert_eq!(set.execute("t", &d).unwrap(), "x");
    set.parse("u", r#"{{define "a"}}y{{end}}"#).unwrap();
    assert_eq!(set.execute("t", &d).unwrap(), "y");
}

#[test]
fn argument_type_errors_like_gos_reflection_call() {
    let d = Value::map([("I", Value::Int(3)), ("S", Value::from("x"))]);
    let run = |t: &str| {
        let mut set = TemplateSet::new()
            .with_funcs(lgtm_template::alertmanager_funcs())
            .with_funcs(lgtm_template::loki_funcs());
        set.parse("t", t).unwrap();
        set.execute("t", &d).unwrap_err().to_string()
    };
    assert_eq!(
        run("{{ toUpper 1 }}"),
        r#"template: t:1:11: executing "t" at <1>: expected string; found 1"#
    );
    assert_eq!(
        run("{{ .I | toUpper }}"),
        r#"template: t:1:8: executing "t" at <toUpper>: wrong type for value; expected string; got int"#
    );
    assert_eq!(
        run("{{ trunc .S .S }}"),
        r#"template: t:1:9: executing "t" at <.S>: wrong type for value; expected int; got string"#
    );
    assert_eq!(
        run("{{ trunc nil .S }}"),
        r#"template: t:1:9: executing "t" at <nil>: cannot assign nil to int"#
    );
    assert_eq!(
        run(r#"{{ printf 3 }}"#),
        r#"template: t:1:10: executing "t" at <3>: expected string; found 3"#
    );
}

#[test]
fn deep_nesting_is_rejected_not_a_crash() {
    let d = Value::Nil;
    let deep_parens = format!("{{{{ {}1{} }}}}", "(".repeat(5000), ")".repeat(5000));
    assert!(err(&deep_parens, &d).contains("max expression depth exceeded"));
    let deep_ifs = format!("{}x{}", "{{if true}}".repeat(5000), "{{end}}".repeat(5000));
    assert!(err(&deep_ifs, &d).contains("max expression depth exceeded"));
    let deep_blocks = format!(
        "{}x{}",
        "{{block \"a\" .}}".repeat(5000),
        "{{end}}".repeat(5000)
    );
    assert!(err(&deep_blocks, &d).contains("max expression depth exceeded"));
    // Reasonable nesting works.
    let ok_parens = format!("{{{{ {}1{} }}}}", "(".repeat(50), ")".repeat(50));
    assert_eq!(crate::ok(&ok_parens, &d), "1");
}
