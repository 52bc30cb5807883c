//! Language semantics: actions, trimming, pipelines, variables, control structures.

use crate::{ok, run_mode};
use lgtm_template::{MissingKey, TemplateSet, Value};

fn data() -> Value {
    Value::map([
        ("S", Value::from("str")),
        ("I", Value::Int(17)),
        ("F", Value::Float(1.5)),
        ("B", Value::Bool(true)),
        ("Empty", Value::from("")),
        ("L", Value::list(["a", "b", "c"])),
        ("EmptyL", Value::list(Vec::<Value>::new())),
        (
            "M",
            Value::string_map([("z", "26"), ("a", "1"), ("m", "13")]),
        ),
        (
            "Nested",
            Value::map([("Inner", Value::map([("Deep", Value::from("deep"))]))]),
        ),
        ("Nil", Value::Nil),
    ])
}

#[test]
fn text_and_fields() {
    let d = data();
    assert_eq!(ok("hello", &d), "hello");
    assert_eq!(ok("{{.S}}-{{.I}}-{{.F}}-{{.B}}", &d), "str-17-1.5-true");
    assert_eq!(ok("{{.Nested.Inner.Deep}}", &d), "deep");
    assert_eq!(ok("{{$}} {{.}}", &Value::from("x")), "x x");
    assert_eq!(ok("{{.L}} {{.M}}", &d), "[a b c] map[a:1 m:13 z:26]");
}

#[test]
fn missing_keys_follow_missingkey_option() {
    let d = data();
    assert_eq!(ok("{{.Missing}}", &d), "<no value>");
    assert_eq!(ok("{{.Missing.Deeper}}", &d), "<no value>");
    assert_eq!(ok("{{.M.nope}}", &d), "<no value>");
    assert_eq!(
        run_mode("[{{.M.nope}}]", &d, MissingKey::Zero).unwrap(),
        "[]",
        "map[string]string zero value is the empty string"
    );
    assert_eq!(
        run_mode("{{.Missing}}", &d, MissingKey::Zero).unwrap(),
        "<no value>",
        "map[string]any zero value is a nil interface"
    );
    assert!(run_mode("{{.Missing}}", &d, MissingKey::Error).is_err());
    // print gets a nil interface: <nil>
    assert_eq!(ok("{{print .Missing}}", &d), "<nil>");
}

#[test]
fn trim_markers() {
    // Example from the Go documentation.
    assert_eq!(ok("{{23 -}} < {{- 45}}", &Value::Nil), "23<45");
    assert_eq!(ok("a\n  {{- \"b\" -}}\n  c", &Value::Nil), "abc");
    assert_eq!(ok("a {{/* comment */}} b", &Value::Nil), "a  b");
    assert_eq!(ok("a {{- /* comment */ -}} b", &Value::Nil), "ab");
    assert_eq!(ok("{{-3}}", &Value::Nil), "-3");
}

#[test]
fn go_doc_pipeline_examples() {
    // The examples from text/template's package documentation all print "output" quoted.
    let d = Value::Nil;
    for t in [
        r#"{{"\"output\""}}"#,
        r#"{{`"output"`}}"#,
        r#"{{printf "%q" "output"}}"#,
        r#"{{"output" | printf "%q"}}"#,
        r#"{{printf "%q" (print "out" "put")}}"#,
        r#"{{"put" | printf "%s%s" "out" | printf "%q"}}"#,
        r#"{{"output" | printf "%s" | printf "%q"}}"#,
        r#"{{with "output"}}{{printf "%q" .}}{{end}}"#,
        r#"{{with $x := "output" | printf "%q"}}{{$x}}{{end}}"#,
        r#"{{with $x := "output"}}{{printf "%q" $x}}{{end}}"#,
        r#"{{with $x := "output"}}{{$x | printf "%q"}}{{end}}"#,
    ] {
        assert_eq!(ok(t, &d), "\"output\"", "{t}");
    }
}

#[test]
fn literals() {
    let d = Value::Nil;
    assert_eq!(ok("{{'a'}} {{'\\n'}}", &d), "97 10");
    assert_eq!(
        ok("{{1.5}} {{1e3}} {{3.0}} {{0x10}} {{-7}} {{1_000}}", &d),
        "1.5 1000 3 16 -7 1000"
    );
    assert_eq!(ok("{{true}} {{false}}", &d), "true false");
    assert_eq!(ok(r#"{{"a\tb"}}|{{`raw\n`}}"#, &d), "a\tb|raw\\n");
    assert_eq!(ok("{{print nil}}", &d), "<nil>");
    assert_eq!(ok("{{printf \"%T %T\" 1 \"s\"}}", &d), "int string");
}

#[test]
fn if_else_chains() {
    let d = data();
    let t = "{{if .Empty}}A{{else if .I}}B{{else}}C{{end}}";
    assert_eq!(ok(t, &d), "B");
    assert_eq!(ok("{{if .EmptyL}}x{{else}}empty{{end}}", &d), "empty");
    assert_eq!(ok("{{if .Missing}}x{{else}}none{{end}}", &d), "none");
    assert_eq!(ok("{{if 0.0}}x{{else}}zero{{end}}", &d), "zero");
    assert_eq!(ok("{{if .Nested}}struct-ish{{end}}", &d), "struct-ish");
    assert_eq!(
        ok(
            "{{if eq .S \"x\"}}1{{else if eq .S \"y\"}}2{{else if eq .S \"str\"}}3{{else}}4{{end}}",
            &d
        ),
        "3"
    );
}

#[test]
fn with_and_else_with() {
    let d = data();
    assert_eq!(ok("{{with .S}}[{{.}}]{{end}}", &d), "[str]");
    assert_eq!(ok("{{with .Empty}}x{{else}}e{{end}}", &d), "e");
    assert_eq!(ok("{{with .Empty}}x{{else with .I}}{{.}}{{end}}", &d), "17");
    assert_eq!(ok("{{with $x := .I}}{{$x}}{{.}}{{end}}", &d), "1717");
}

#[test]
fn range_lists_maps_ints() {
    let d = data();
    assert_eq!(ok("{{range .L}}<{{.}}>{{end}}", &d), "<a><b><c>");
    assert_eq!(
        ok("{{range $i, $e := .L}}{{$i}}={{$e}} {{end}}", &d),
        "0=a 1=b 2=c "
    );
    assert_eq!(ok("{{range $e := .L}}{{$e}}{{end}}", &d), "abc");
    assert_eq!(
        ok("{{range $k, $v := .M}}{{$k}}:{{$v}},{{end}}", &d),
        "a:1,m:13,z:26,"
    );
    assert_eq!(ok("{{range .M}}{{.}} {{end}}", &d), "1 13 26 ");
    assert_eq!(ok("{{range .EmptyL}}x{{else}}none{{end}}", &d), "none");
    assert_eq!(ok("{{range .Missing}}x{{else}}nil{{end}}", &d), "nil");
    assert_eq!(ok("{{range 3}}{{.}}{{end}}", &d), "012");
    assert_eq!(
        ok(
            "{{range .L}}{{if eq . \"b\"}}{{continue}}{{end}}{{.}}{{end}}",
            &d
        ),
        "ac"
    );
    assert_eq!(
        ok(
            "{{range .L}}{{if eq . \"b\"}}{{break}}{{end}}{{.}}{{end}}",
            &d
        ),
        "a"
    );
    // Variables declared in the body are scoped to one iteration; outer variables persist.
    assert_eq!(
        ok("{{$n := 0}}{{range .L}}{{$n = 1}}{{end}}{{$n}}", &d),
        "1"
    );
}

#[test]
fn variables_and_scopes() {
    let d = data();
    assert_eq!(ok("{{$x := 1}}{{$x = 2}}{{$x}}", &d), "2");
    assert_eq!(ok("{{$x := .S}}{{with .I}}{{$x}}{{.}}{{end}}", &d), "str17");
    assert_eq!(ok("{{with .Nested}}{{$.S}}{{end}}", &d), "str");
    assert_eq!(ok("{{$m := .Nested}}{{$m.Inner.Deep}}", &d), "deep");
    // declaration produces no output
    assert_eq!(ok("a{{$x := 5}}b", &d), "ab");
    // a variable declared inside if is gone after end: parse error
    let mut set = TemplateSet::new();
    assert!(
        set.parse("t", "{{if true}}{{$y := 1}}{{end}}{{$y}}")
            .is_err()
    );
}

#[test]
fn define_template_block() {
    let mut set = TemplateSet::new();
    set.parse(
        "root",
        r#"{{define "T1"}}ONE{{end}}{{define "T2"}}TWO {{template "T1"}}{{end}}{{define "T3"}}{{template "T1"}} {{template "T2"}}{{end}}{{template "T3"}}"#,
    )
    .unwrap();
    // Example from the Go documentation.
    assert_eq!(set.execute("root", &Value::Nil).unwrap(), "ONE TWO ONE");
    assert_eq!(set.execute("T2", &Value::Nil).unwrap(), "TWO ONE");

    let mut set = TemplateSet::new();
    set.parse("main", r#"<{{block "content" .}}default {{.}}{{end}}>"#)
        .unwrap();
    assert_eq!(
        set.execute("main", &Value::from("x")).unwrap(),
        "<default x>"
    );
    set.parse("override", r#"{{define "content"}}custom {{.}}{{end}}"#)
        .unwrap();
    assert_eq!(
        set.execute("main", &Value::from("y")).unwrap(),
        "<custom y>"
    );

    // template passes dot; $ is reset inside
    let mut set = TemplateSet::new();
    set.parse(
        "a",
        r#"{{define "inner"}}{{.}}/{{$}}{{end}}{{template "inner" .S}}"#,
    )
    .unwrap();
    assert_eq!(set.execute("a", &data()).unwrap(), "str/str");
}

#[test]
fn empty_body_does_not_replace_definition() {
    let mut set = TemplateSet::new();
    set.parse("x", "body").unwrap();
    set.parse("x", "  \n ").unwrap();
    assert_eq!(set.execute("x", &Value::Nil).unwrap(), "body");
}

#[test]
fn render_is_isolated_from_the_set() {
    let mut set = TemplateSet::new();
    set.parse("base", r#"{{define "greet"}}hi {{.}}{{end}}"#)
        .unwrap();
    let out = set
        .render(
            r#"{{define "local"}}L{{end}}{{template "greet" "bob"}} {{template "local"}}"#,
            &Value::Nil,
        )
        .unwrap();
    assert_eq!(out, "hi bob L");
    assert!(!set.contains("local"));
    assert_eq!(set.render("", &Value::Nil).unwrap(), "");
}

#[test]
fn parenthesised_pipelines_and_chains() {
    let d = data();
    assert_eq!(ok("{{(index .L 1)}}", &d), "b");
    assert_eq!(ok("{{(.Nested).Inner.Deep}}", &d), "deep");
    assert_eq!(ok("{{len (print .S .S)}}", &d), "6");
    assert_eq!(ok("{{.S | len | printf \"%03d\"}}", &d), "003");
}

#[test]
fn and_or_not_short_circuit() {
    let d = data();
    assert_eq!(ok("{{and 1 0 2}}", &d), "0");
    assert_eq!(ok("{{and 1 2}}", &d), "2");
    assert_eq!(ok("{{or 0 \"\" \"x\"}}", &d), "x");
    assert_eq!(ok("{{or 0 \"\"}}", &d), "");
    assert_eq!(ok("{{not .Empty}} {{not .S}}", &d), "true false");
    // short-circuit: the failing call is never evaluated
    assert_eq!(ok("{{or .S (index .L 10)}}", &d), "str");
    assert_eq!(ok("{{and .Empty (index .L 10)}}", &d), "");
    assert_eq!(ok("{{.I | and 1}}", &d), "17");
}

#[test]
fn comparisons() {
    let d = data();
    assert_eq!(
        ok("{{eq 1 1}} {{eq 1 2 3 1}} {{eq .S \"str\"}} {{ne 1 2}}", &d),
        "true true true true"
    );
    assert_eq!(
        ok("{{lt 1 2}} {{le 2 2}} {{gt 3 2}} {{ge 1 2}}", &d),
        "true true true false"
    );
    assert_eq!(ok("{{lt 1.5 2.5}} {{lt \"a\" \"b\"}}", &d), "true true");
    assert_eq!(ok("{{gt .F 1.0}}", &d), "true");
    assert_eq!(ok("{{eq .Missing 1}}", &d), "false");
    assert_eq!(ok("{{eq .B true}}", &d), "true");
}

#[test]
fn len_index_slice() {
    let d = data();
    assert_eq!(ok("{{len .L}} {{len .M}} {{len .S}}", &d), "3 3 3");
    assert_eq!(
        ok("{{index .L 2}} {{index .M \"m\"}} {{index .S 0}}", &d),
        "c 13 115"
    );
    assert_eq!(ok("[{{index .M \"nope\"}}]", &d), "[]");
    assert_eq!(
        ok("{{slice .S 1}} {{slice .S 1 2}} {{slice .L 1}}", &d),
        "tr t [b c]"
    );
    let nested = Value::map([(
        "X",
        Value::list([Value::list([1i64, 2]), Value::list([3i64, 4])]),
    )]);
    assert_eq!(ok("{{index .X 1 0}}", &nested), "3");
}

#[test]
fn print_functions() {
    let d = data();
    assert_eq!(ok("{{print 1 2 \"a\" 3}}", &d), "1 2a3");
    assert_eq!(ok("{{println 1 \"a\"}}", &d), "1 a\n");
    assert_eq!(
        ok("{{printf \"%d-%s-%.2f-%v-%t\" .I .S .F .L .B}}", &d),
        "17-str-1.50-[a b c]-true"
    );
    assert_eq!(
        ok("{{printf \"%5s|%-5s|\" \"ab\" \"cd\"}}", &d),
        "   ab|cd   |"
    );
    assert_eq!(
        ok(
            "{{html \"<a&b>\"}} {{js \"it's\"}} {{urlquery \"a b&c\"}}",
            &d
        ),
        "&lt;a&amp;b&gt; it\\'s a+b%26c"
    );
}

#[test]
fn float_printing_matches_go() {
    let d = Value::map([
        ("A", Value::Float(1e6)),
        ("B", Value::Float(0.1)),
        ("C", Value::Float(3.0)),
        ("D", Value::Float(1e21)),
        ("E", Value::Float(123456789.0)),
    ]);
    assert_eq!(
        ok("{{.A}} {{.B}} {{.C}} {{.D}} {{.E}}", &d),
        "1e+06 0.1 3 1e+21 1.23456789e+08"
    );
}

#[test]
fn json_values() {
    let j: serde_json::Value = serde_json::json!({"a": {"b": [1, 2.5, "x", null, true]}, "n": 3});
    let v = Value::from(j.clone());
    assert_eq!(ok("{{.a.b}} {{.n}}", &v), "[1 2.5 x <nil> true] 3");
    assert_eq!(
        v.to_json(),
        serde_json::json!({"a": {"b": [1.0, 2.5, "x", null, true]}, "n": 3.0})
    );
}

#[test]
fn methods_registered_per_type() {
    let mut funcs = lgtm_template::FuncMap::new();
    funcs.add_method("Thing", "Double", |_, recv, args| {
        let Value::Map(m) = recv else {
            return Err("bad".into());
        };
        let n = match m.entries.get("N") {
            Some(Value::Int(n)) => *n,
            _ => 0,
        };
        let k = match args.first() {
            Some(Value::Int(k)) => *k,
            _ => 2,
        };
        Ok(Value::Int(n * k))
    });
    let mut set = TemplateSet::new().with_funcs(funcs);
    set.parse("t", "{{.Double}} {{.Double 3}} {{.N}}").unwrap();
    let d = Value::object("Thing", [("N", Value::Int(5))]);
    assert_eq!(set.execute("t", &d).unwrap(), "10 15 5");
}

#[test]
fn time_values() {
    let t = lgtm_template::Time::from_unix(1_700_000_000, 0);
    let d = Value::map([
        ("T", Value::Time(t)),
        ("D", Value::Duration(90_000_000_000)),
    ]);
    assert_eq!(ok("{{.T}}", &d), "2023-11-14 22:13:20 +0000 UTC");
    assert_eq!(
        ok("{{.T.Format \"2006-01-02 15:04\"}} {{.T.Unix}}", &d),
        "2023-11-14 22:13 1700000000"
    );
    assert_eq!(
        ok("{{.D}} {{.D.Seconds}} {{printf \"%d\" .D}}", &d),
        "1m30s 90 90000000000"
    );
}

#[test]
fn introspection_for_consumers() {
    let mut set = TemplateSet::new();
    set.parse(
        "t",
        "{{ .path | printf \"%s\" }}{{ if .a.b }}{{ (.c).d }}{{ end }}{{ range .e }}{{ .f }}{{ end }}{{ len .path }}",
    )
    .unwrap();
    assert_eq!(
        set.referenced_fields("t"),
        ["a", "b", "c", "e", "f", "path"]
    );
    assert_eq!(set.called_functions("t"), ["len", "printf"]);
}

#[test]
fn sets_are_shareable_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<TemplateSet>();
    assert_send_sync::<Value>();
    let mut set = TemplateSet::new();
    set.parse("t", "{{ . }}").unwrap();
    let set = std::sync::Arc::new(set);
    let handles: Vec<_> = (0..4i64)
        .map(|i| {
            let s = set.clone();
            std::thread::spawn(move || s.execute("t", &Value::Int(i)).unwrap())
        })
        .collect();
    let outs: Vec<String> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(outs, ["0", "1", "2", "3"]);
}

#[test]
fn time_arithmetic_in_templates() {
    let t = lgtm_template::Time::parse_rfc3339("2024-05-01T10:00:00Z").unwrap();
    let d = Value::map([("T", Value::Time(t))]);
    assert_eq!(ok(r#"{{ (.T.Add 10800e9).Format "15:04" }}"#, &d), "13:00");
    assert_eq!(ok(r#"{{ (.T.Add 3600000000000).Hour }}"#, &d), "11");
    assert_eq!(ok(r#"{{ (.T.Add 5e9).Sub .T }}"#, &d), "5s");
    assert_eq!(
        ok(
            r#"{{ .T.Before (.T.Add 1) }} {{ .T.IsZero }} {{ .T.Weekday }} {{ .T.Month }}"#,
            &d
        ),
        "true false Wednesday May"
    );
}

#[test]
fn structs_print_in_declaration_order() {
    // Go: {{.}} of struct{a int; b string}{7, "seven"} prints {7 seven}.
    let d = Value::object("T", [("b", Value::Int(7)), ("a", Value::from("seven"))]);
    assert_eq!(ok("{{.}}", &d), "{7 seven}");
    assert_eq!(ok("{{printf \"%+v\" .}}", &d), "{b:7 a:seven}");
}

#[test]
fn nil_values_versus_missing_keys() {
    let d = Value::from(serde_json::json!({"user": null, "n": {"a": 1}}));
    // Missing keys chain to <no value>; a present nil errors like Go's nil interface.
    assert_eq!(ok("{{ .nope.deeper }}", &d), "<no value>");
    assert_eq!(ok("{{ .user }}", &d), "<no value>");
    let e = crate::err("{{ .user.name }}", &d);
    assert_eq!(
        e,
        r#"template: t:1:8: executing "t" at <.user.name>: nil pointer evaluating interface {}.name"#
    );
    assert_eq!(ok("{{ .n.a }}", &d), "1");
}

#[test]
fn missingkey_zero_on_any_maps_is_a_nil_interface() {
    let d = Value::map([("a", Value::Int(1))]);
    assert_eq!(
        run_mode("{{ .nope }}", &d, MissingKey::Zero).unwrap(),
        "<no value>"
    );
    let e = run_mode("{{ .nope.deeper }}", &d, MissingKey::Zero)
        .unwrap_err()
        .to_string();
    assert!(
        e.ends_with("nil pointer evaluating interface {}.deeper"),
        "{e}"
    );
    // With the default mode the chain just yields <no value>.
    assert_eq!(
        run_mode("{{ .nope.deeper }}", &d, MissingKey::Default).unwrap(),
        "<no value>"
    );
}
