//! Cases ported from Go's `text/template/exec_test.go` (name, template, expected output, or
//! `None` when Go reports an error), against an equivalent of its `tVal` data.

use lgtm_template::{FuncMap, TemplateSet, Value};

fn t_val() -> Value {
    Value::object(
        "T",
        [
            ("True", Value::Bool(true)),
            ("I", Value::Int(17)),
            ("X", Value::from("x")),
            ("FloatZero", Value::Float(0.0)),
            ("U", Value::object("U", [("V", Value::from("v"))])),
            ("SI", Value::list([3i64, 4, 5])),
            ("SIEmpty", Value::list(Vec::<i64>::new())),
            ("SB", Value::list([true, false])),
            ("PSI", Value::list([21i64, 22, 23])),
            ("MSI", Value::map([("one", 1i64), ("two", 2), ("three", 3)])),
            ("MSIone", Value::map([("one", 1i64)])),
            ("MSIEmpty", Value::map(Vec::<(String, Value)>::new())),
            ("MXI", Value::map(Vec::<(String, Value)>::new())),
            (
                "SMSI",
                Value::list([
                    Value::map([("one", 1i64), ("two", 2)]),
                    Value::map([("eleven", 11i64), ("twelve", 12)]),
                ]),
            ),
            ("Empty0", Value::Nil),
            ("Empty3", Value::list([7i64, 8])),
        ],
    )
}

fn funcs() -> FuncMap {
    let mut f = FuncMap::new();
    f.insert("add", |_, a| match a {
        [Value::Int(x), Value::Int(y)] => Ok(Value::Int(x + y)),
        _ => Err("bad args".into()),
    });
    f.insert("zeroArgs", |_, _| Ok(Value::from("zeroArgs")));
    f.insert("oneArg", |_, a| match a {
        [Value::String(s)] => Ok(Value::String(format!("oneArg={s}"))),
        [other] => Err(format!(
            "wrong type for value; expected string; got {}",
            other.type_name()
        )),
        _ => Err("wrong number of args".into()),
    });
    f.insert("twoArgs", |_, a| match a {
        [Value::String(x), Value::String(y)] => Ok(Value::String(format!("twoArgs={x}{y}"))),
        _ => Err("wrong type for value; expected string".into()),
    });
    f.insert("mapOfThree", |_, _| Ok(Value::map([("three", 3i64)])));
    f.insert("makemap", |_, a| {
        let pairs: Vec<(String, Value)> = a
            .chunks(2)
            .map(|c| (c[0].as_str().unwrap_or_default().to_string(), c[1].clone()))
            .collect();
        Ok(Value::map(pairs))
    });
    f.insert("echo", |_, a| Ok(a.first().cloned().unwrap_or_default()));
    f
}

const CASES: &[(&str, &str, Option<&str>)] = &[
    ("empty", "", Some("")),
    ("text", "some text", Some("some text")),
    ("dot int", "<{{.}}>", Some("<17>")), // run with data 17 below
    ("$ int", "{{$}}", Some("17")),
    (
        "parens in pipeline",
        "{{printf `%d %d %d` (1) (2 | add 3) (add 4 (add 5 6))}}",
        Some("1 5 15"),
    ),
    (
        "parens: spaces and args",
        r#"{{(makemap "up" "down" "left" "right").left}}"#,
        Some("right"),
    ),
    ("if true", "{{if true}}TRUE{{end}}", Some("TRUE")),
    (
        "if false",
        "{{if false}}TRUE{{else}}FALSE{{end}}",
        Some("FALSE"),
    ),
    ("if nil", "{{if nil}}TRUE{{end}}", None),
    (
        "if 1",
        "{{if 1}}NON-ZERO{{else}}ZERO{{end}}",
        Some("NON-ZERO"),
    ),
    ("if 0", "{{if 0}}NON-ZERO{{else}}ZERO{{end}}", Some("ZERO")),
    (
        "if 1.5",
        "{{if 1.5}}NON-ZERO{{else}}ZERO{{end}}",
        Some("NON-ZERO"),
    ),
    (
        "if emptystring",
        "{{if ``}}NON-EMPTY{{else}}EMPTY{{end}}",
        Some("EMPTY"),
    ),
    (
        "if string",
        "{{if `notempty`}}NON-EMPTY{{else}}EMPTY{{end}}",
        Some("NON-EMPTY"),
    ),
    ("print", r#"{{print "hello, print"}}"#, Some("hello, print")),
    ("print 123", "{{print 1 2 3}}", Some("1 2 3")),
    ("print nil", "{{print nil}}", Some("<nil>")),
    ("println", "{{println 1 2 3}}", Some("1 2 3\n")),
    ("printf int", r#"{{printf "%04x" 127}}"#, Some("007f")),
    ("printf float", r#"{{printf "%g" 3.5}}"#, Some("3.5")),
    ("printf string", r#"{{printf "%s" "hello"}}"#, Some("hello")),
    (
        "printf function",
        r#"{{printf "%#q" zeroArgs}}"#,
        Some("`zeroArgs`"),
    ),
    (
        "html",
        r#"{{html "<script>alert(\"XSS\");</script>"}}"#,
        Some("&lt;script&gt;alert(&#34;XSS&#34;);&lt;/script&gt;"),
    ),
    (
        "html pipeline",
        r#"{{printf "<script>alert(\"XSS\");</script>" | html}}"#,
        Some("&lt;script&gt;alert(&#34;XSS&#34;);&lt;/script&gt;"),
    ),
    ("js", "{{js `It'd be nice.`}}", Some(r"It\'d be nice.")),
    (
        "urlquery",
        r#"{{"http://www.example.org/"|urlquery}}"#,
        Some("http%3A%2F%2Fwww.example.org%2F"),
    ),
    ("not", "{{not true}} {{not false}}", Some("false true")),
    (
        "and",
        "{{and false 0}} {{and 1 0}} {{and 0 true}} {{and 1 1}}",
        Some("false 0 0 1"),
    ),
    (
        "or",
        "{{or 0 0}} {{or 1 0}} {{or 0 true}} {{or 1 1}}",
        Some("0 1 true 1"),
    ),
    (
        "boolean if",
        "{{if and true 1 `hi`}}TRUE{{else}}FALSE{{end}}",
        Some("TRUE"),
    ),
    (
        "boolean if not",
        "{{if and true 1 `hi` | not}}TRUE{{else}}FALSE{{end}}",
        Some("FALSE"),
    ),
    ("with true", "{{with true}}{{.}}{{end}}", Some("true")),
    (
        "with false",
        "{{with false}}{{.}}{{else}}FALSE{{end}}",
        Some("FALSE"),
    ),
    (
        "with 1.5",
        "{{with 1.5}}{{.}}{{else}}ZERO{{end}}",
        Some("1.5"),
    ),
    (
        "with string",
        "{{with `notempty`}}{{.}}{{else}}EMPTY{{end}}",
        Some("notempty"),
    ),
    ("bug7a", "{{3 2}}", None),
    ("bug7b", "{{$x := 1}}{{$x 2}}", None),
    ("bug7c", "{{$x := 1}}{{3 | $x}}", None),
    ("bug8a", "{{3|oneArg}}", None),
    (
        "bug10",
        "{{mapOfThree.three}}-{{(mapOfThree).three}}",
        Some("3-3"),
    ),
    ("bug12xe", "{{printf `%T` 0xef}}", Some("int")),
    ("bug12XE", "{{printf `%T` 0XEE}}", Some("int")),
    ("bug14a", "{{(nil).True}}", None),
    (
        "bug14c",
        r#"{{$x := (1.0)}}{{$y := ("hello")}}{{$x.anything}}{{$y.true}}"#,
        None,
    ),
    ("bug16a", "{{true|printf}}", None),
    ("bug16b", "{{1|printf}}", None),
    ("bug16d", "{{'x'|printf}}", None),
    ("bug16f", "{{true|twoArgs \"xxx\"}}", None),
    (
        "bug16g",
        "{{\"aaa\" |twoArgs \"bbb\"}}",
        Some("twoArgs=bbbaaa"),
    ),
    ("bug16h", "{{1|oneArg}}", None),
    ("bug16i", "{{\"aaa\"|oneArg}}", Some("oneArg=aaa")),
    ("bug16k", "{{\"aaa\"|printf }}", Some("aaa")),
];

const T_VAL_CASES: &[(&str, &str, Option<&str>)] = &[
    (".X", "-{{.X}}-", Some("-x-")),
    (".U.V", "-{{.U.V}}-", Some("-v-")),
    ("map .one", "{{.MSI.one}}", Some("1")),
    ("map .WRONG args", "{{.MSI.one 1}}", None),
    ("map .WRONG type", "{{.MII.one}}", None),
    ("dot in struct field", "{{with .U}}{{.V}}{{end}}", Some("v")),
    ("$ in range", "{{range .SI}}{{$.X}}{{end}}", Some("xxx")),
    ("$.U.V", "{{$.U.V}}", Some("v")),
    ("declare in action", "{{$x := $.U.V}}{{$x}}", Some("v")),
    (
        "simple assignment",
        "{{$x := 2}}{{$x = 3}}{{$x}}",
        Some("3"),
    ),
    (
        "nested assignment",
        "{{$x := 2}}{{if true}}{{$x = 3}}{{end}}{{$x}}",
        Some("3"),
    ),
    (
        "nested assignment changes the last declaration",
        "{{$x := 1}}{{if true}}{{$x := 2}}{{if true}}{{$x = 3}}{{end}}{{end}}{{$x}}",
        Some("1"),
    ),
    ("parens: $ in paren", "{{($).X}}", Some("x")),
    ("parens: $ in paren in pipe", "{{($ | echo).X}}", Some("x")),
    (
        "if emptyslice",
        "{{if .SIEmpty}}NON-EMPTY{{else}}EMPTY{{end}}",
        Some("EMPTY"),
    ),
    (
        "if slice",
        "{{if .SI}}NON-EMPTY{{else}}EMPTY{{end}}",
        Some("NON-EMPTY"),
    ),
    (
        "if emptymap",
        "{{if .MSIEmpty}}NON-EMPTY{{else}}EMPTY{{end}}",
        Some("EMPTY"),
    ),
    (
        "if map",
        "{{if .MSI}}NON-EMPTY{{else}}EMPTY{{end}}",
        Some("NON-EMPTY"),
    ),
    (
        "if map unset",
        "{{if .MXI.none}}NON-ZERO{{else}}ZERO{{end}}",
        Some("ZERO"),
    ),
    (
        "if map not unset",
        "{{if not .MXI.none}}ZERO{{else}}NON-ZERO{{end}}",
        Some("ZERO"),
    ),
    (
        "if $x with $y int",
        "{{if $x := true}}{{with $y := .I}}{{$x}},{{$y}}{{end}}{{end}}",
        Some("true,17"),
    ),
    (
        "if $x with $x int",
        "{{if $x := true}}{{with $x := .I}}{{$x}},{{end}}{{$x}}{{end}}",
        Some("17,true"),
    ),
    (
        "if else if",
        "{{if false}}FALSE{{else if true}}TRUE{{end}}",
        Some("TRUE"),
    ),
    (
        "if else chain",
        "{{if eq 1 3}}1{{else if eq 2 3}}2{{else if eq 3 3}}3{{end}}",
        Some("3"),
    ),
    (
        "if 0.0",
        "{{if .FloatZero}}NON-ZERO{{else}}ZERO{{end}}",
        Some("ZERO"),
    ),
    (
        "printf dot",
        "{{with .I}}{{printf \"%d\" .}}{{end}}",
        Some("17"),
    ),
    (
        "printf var",
        "{{with $x := .I}}{{printf \"%d\" $x}}{{end}}",
        Some("17"),
    ),
    ("slice[0]", "{{index .SI 0}}", Some("3")),
    ("slice[HUGE]", "{{index .SI 10}}", None),
    ("slice[WRONG]", "{{index .SI `hello`}}", None),
    ("slice[nil]", "{{index .SI nil}}", None),
    ("map[one]", "{{index .MSI `one`}}", Some("1")),
    ("map[nil]", "{{index .MSI nil}}", None),
    ("map[WRONG]", "{{index .MSI 10}}", None),
    ("double index", "{{index .SMSI 1 `eleven`}}", Some("11")),
    ("nil[1]", "{{index nil 1}}", None),
    ("len slice", "{{len .SI}}", Some("3")),
    ("len map", "{{len .MSI }}", Some("3")),
    ("len of int", "{{len 3}}", None),
    ("len of nothing", "{{len .Empty0}}", None),
    (
        "with emptyslice",
        "{{with .SIEmpty}}{{.}}{{else}}EMPTY{{end}}",
        Some("EMPTY"),
    ),
    (
        "with slice",
        "{{with .SI}}{{.}}{{else}}EMPTY{{end}}",
        Some("[3 4 5]"),
    ),
    (
        "with map",
        "{{with .MSIone}}{{.}}{{else}}EMPTY{{end}}",
        Some("map[one:1]"),
    ),
    ("with $x int", "{{with $x := .I}}{{$x}}{{end}}", Some("17")),
    (
        "with $x struct.U.V",
        "{{with $x := $}}{{$x.U.V}}{{end}}",
        Some("v"),
    ),
    (
        "with variable and action",
        "{{with $x := $}}{{$y := $.U.V}}{{$y}}{{end}}",
        Some("v"),
    ),
    (
        "range []int",
        "{{range .SI}}-{{.}}-{{end}}",
        Some("-3--4--5-"),
    ),
    (
        "range empty no else",
        "{{range .SIEmpty}}-{{.}}-{{end}}",
        Some(""),
    ),
    (
        "range []int else",
        "{{range .SI}}-{{.}}-{{else}}EMPTY{{end}}",
        Some("-3--4--5-"),
    ),
    (
        "range empty else",
        "{{range .SIEmpty}}-{{.}}-{{else}}EMPTY{{end}}",
        Some("EMPTY"),
    ),
    (
        "range []bool",
        "{{range .SB}}-{{.}}-{{end}}",
        Some("-true--false-"),
    ),
    (
        "range map",
        "{{range .MSI}}-{{.}}-{{end}}",
        Some("-1--3--2-"),
    ),
    (
        "range empty map else",
        "{{range .MSIEmpty}}-{{.}}-{{else}}EMPTY{{end}}",
        Some("EMPTY"),
    ),
    (
        "range empty interface",
        "{{range .Empty3}}-{{.}}-{{else}}EMPTY{{end}}",
        Some("-7--8-"),
    ),
    (
        "range empty nil",
        "{{range .Empty0}}-{{.}}-{{end}}",
        Some(""),
    ),
    (
        "range $x SI",
        "{{range $x := .SI}}<{{$x}}>{{end}}",
        Some("<3><4><5>"),
    ),
    (
        "range $x $y SI",
        "{{range $x, $y := .SI}}<{{$x}}={{$y}}>{{end}}",
        Some("<0=3><1=4><2=5>"),
    ),
    (
        "range $x MSIone",
        "{{range $x := .MSIone}}<{{$x}}>{{end}}",
        Some("<1>"),
    ),
    (
        "range $x $y MSIone",
        "{{range $x, $y := .MSIone}}<{{$x}}={{$y}}>{{end}}",
        Some("<one=1>"),
    ),
    (
        "declare in range",
        "{{range $x := .PSI}}<{{$foo:=$x}}{{$x}}>{{end}}",
        Some("<21><22><23>"),
    ),
    (
        "or as if true",
        r#"{{or .SI "slice is empty"}}"#,
        Some("[3 4 5]"),
    ),
    (
        "or as if false",
        r#"{{or .SIEmpty "slice is empty"}}"#,
        Some("slice is empty"),
    ),
    (
        "bug4",
        "{{if .Empty0}}non-nil{{else}}nil{{end}}",
        Some("nil"),
    ),
    ("bug13", "{{print (.U).V}}", Some("v")),
];

fn exec(text: &str, data: &Value) -> Option<String> {
    let mut set = TemplateSet::new().with_funcs(funcs());
    set.parse("t", text).ok()?;
    set.execute("t", data).ok()
}

#[test]
fn go_exec_cases_without_data() {
    for (name, text, want) in CASES {
        let got = exec(text, &Value::Int(17));
        assert_eq!(got.as_deref(), *want, "case {name}: {text}");
    }
}

#[test]
fn go_exec_cases_with_tval() {
    let d = t_val();
    for (name, text, want) in T_VAL_CASES {
        let got = exec(text, &d);
        assert_eq!(got.as_deref(), *want, "case {name}: {text}");
    }
}
