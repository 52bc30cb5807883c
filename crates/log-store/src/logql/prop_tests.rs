//! Property tests: generated queries print and parse back to the same tree.

use proptest::prelude::*;

use super::parse;

fn name() -> impl Strategy<Value = String> {
    "l_[a-z0-9_]{0,4}"
}

/// Go-quoted arbitrary text (quotes, backslashes, control characters, unicode).
fn quoted() -> impl Strategy<Value = String> {
    "[ -~äłж🎉\t\n\u{1b}]{0,8}".prop_map(|s| super::units::go_quote(&s))
}

fn selector() -> impl Strategy<Value = String> {
    (
        name(),
        "[ -~äłж🎉\t\n]{1,8}".prop_map(|s| super::units::go_quote(&s)),
        prop::collection::vec(
            (
                name(),
                prop_oneof![Just("="), Just("!="), Just("=~"), Just("!~")],
                "[a-z0-9]{0,4}",
            ),
            0..3,
        ),
    )
        .prop_map(|(n, v, rest)| {
            let mut parts = vec![format!("{n}={v}")];
            parts.extend(rest.into_iter().map(|(n, op, v)| format!("{n}{op}\"{v}\"")));
            format!("{{{}}}", parts.join(", "))
        })
}

fn label_filter() -> BoxedStrategy<String> {
    let leaf = prop_oneof![
        (name(), prop_oneof![Just("="), Just("!=")], quoted())
            .prop_map(|(n, o, v)| format!("{n}{o}{v}")),
        (
            name(),
            prop_oneof![
                Just(">"),
                Just(">="),
                Just("<"),
                Just("<="),
                Just("=="),
                Just("!=")
            ],
            -1e6f64..1e6
        )
            .prop_map(|(n, o, v)| format!("{n}{o}{v}")),
        (
            name(),
            prop_oneof![Just(">"), Just("<=")],
            1i64..10_000_000_000_000
        )
            .prop_map(|(n, o, d)| format!("{n}{o}{}", super::units::format_go_duration(d))),
        (
            name(),
            prop_oneof![Just(">"), Just("==")],
            0u64..10_000_000_000
        )
            .prop_map(|(n, o, b)| format!("{n}{o}{b}B")),
        (name(), any::<bool>())
            .prop_map(|(n, neg)| format!("{n}{}ip(\"10.0.0.0/8\")", if neg { "!=" } else { "=" })),
    ];
    leaf.prop_recursive(3, 8, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("{a} and {b}")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("{a} or {b}")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("{a}, {b}")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("{a} {b}")),
            inner.prop_map(|a| format!("({a})")),
        ]
    })
    .boxed()
}

fn stage() -> impl Strategy<Value = String> {
    prop_oneof![
        (
            prop_oneof![
                Just("|="),
                Just("!="),
                Just("|~"),
                Just("!~"),
                Just("|>"),
                Just("!>")
            ],
            prop::collection::vec(quoted(), 1..3)
        )
            .prop_map(|(op, vs)| format!("{op} {}", vs.join(" or "))),
        Just("| json".to_owned()),
        (name(), quoted()).prop_map(|(n, e)| format!("| json {n}={e}, {n}x")),
        (any::<bool>(), any::<bool>()).prop_map(|(s, k)| format!(
            "| logfmt{}{}",
            if s { " --strict" } else { "" },
            if k { " --keep-empty" } else { "" }
        )),
        label_filter().prop_map(|f| format!("| {f}")),
        quoted().prop_map(|t| format!("| line_format {t}")),
        (name(), name(), quoted())
            .prop_map(|(a, b, t)| format!("| label_format {a}={b}, {b}x={t}")),
        (name(), name()).prop_map(|(a, b)| format!("| drop {a}, {b}=\"x\"")),
        (name(), name()).prop_map(|(a, b)| format!("| keep {a}, {b}!~\"y\"")),
        Just("| decolorize".to_owned()),
        Just("| unpack".to_owned()),
    ]
}

fn log_query() -> impl Strategy<Value = String> {
    (selector(), prop::collection::vec(stage(), 0..5)).prop_map(|(s, st)| {
        if st.is_empty() {
            s
        } else {
            format!("{s} {}", st.join(" "))
        }
    })
}

fn metric_query() -> impl Strategy<Value = String> {
    (
        log_query(),
        prop_oneof![
            Just("count_over_time"),
            Just("rate"),
            Just("bytes_rate"),
            Just("absent_over_time")
        ],
        1u32..120,
        0u32..60,
        prop_oneof![Just("sum"), Just("max"), Just("count"), Just("stddev")],
        prop::collection::vec(name(), 0..3),
        prop_oneof![
            Just(""),
            Just(" * 2"),
            Just(" > bool 1"),
            Just(" / on (l_a) group_left (l_b) vector(3)")
        ],
    )
        .prop_map(|(l, f, r, o, agg, by, tail)| {
            let off = if o > 0 {
                format!(" offset {o}s")
            } else {
                String::new()
            };
            format!("{agg} by ({}) ({f}({l} [{r}m]{off})){tail}", by.join(", "))
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn log_queries_round_trip(q in log_query()) {
        let ast = parse(&q).map_err(|e| TestCaseError::fail(format!("{q}: {e}")))?;
        let printed = ast.to_string();
        let back = parse(&printed).map_err(|e| TestCaseError::fail(format!("{q}\n{printed}: {e}")))?;
        prop_assert_eq!(back, ast, "{}\n{}", q, printed);
    }

    #[test]
    fn metric_queries_round_trip(q in metric_query()) {
        let ast = parse(&q).map_err(|e| TestCaseError::fail(format!("{q}: {e}")))?;
        let printed = ast.to_string();
        let back = parse(&printed).map_err(|e| TestCaseError::fail(format!("{q}\n{printed}: {e}")))?;
        prop_assert_eq!(back, ast, "{}\n{}", q, printed);
    }
}
