use proptest::prelude::*;

use super::*;
use crate::scrape::exposition::parse;
use crate::scrape::samples::TargetScrapeState;

fn target() -> Labels {
    Labels::from_pairs([("job", "node"), ("instance", "n1:9100")])
}

fn rules() -> SampleRules {
    SampleRules {
        honor_timestamps: true,
        ..SampleRules::default()
    }
}

/// A scrape's outcome in comparable form: samples as (labels, t, value bits, exemplar).
type Flat = (
    Vec<(Labels, i64, u64, Option<Exemplar>)>,
    Option<String>,
    usize,
    usize,
    usize,
);

fn run_reference(
    state: &mut TargetScrapeState,
    rules: &SampleRules,
    body: Result<&str, &str>,
    format: Format,
    ts: i64,
) -> Flat {
    let fetched = match body {
        Ok(body) => parse(body, format).map_err(|e| e.to_string()),
        Err(e) => Err(e.to_owned()),
    };
    let r = state.process(
        &target(),
        rules,
        fetched.as_ref().map_err(Clone::clone),
        ts,
        0.25,
    );
    (
        r.samples
            .into_iter()
            .map(|s| (s.labels, s.t, s.v.to_bits(), s.exemplar))
            .collect(),
        r.error,
        r.scraped,
        r.post_relabel,
        r.series_added,
    )
}

fn run_cached(
    cache: &mut ScrapeCache,
    rules: &SampleRules,
    body: Result<&str, &str>,
    format: Format,
    ts: i64,
) -> Flat {
    let r = cache.process(
        &target(),
        rules,
        body.map(|b| (b, format)).map_err(str::to_owned),
        ts,
        0.25,
    );
    let mut samples: Vec<_> = r
        .batch
        .iter()
        .map(|s| {
            assert_eq!(s.samples.len(), 1);
            (
                s.labels.clone(),
                s.samples[0].0,
                s.samples[0].1.to_bits(),
                None,
            )
        })
        .collect();
    for (index, exemplar) in r.exemplars {
        samples[*index].3 = Some(exemplar.clone());
    }
    (samples, r.error, r.scraped, r.post_relabel, r.series_added)
}

fn assert_same_sequence(rules: &SampleRules, format: Format, bodies: &[Result<&str, &str>]) {
    let mut reference = TargetScrapeState::default();
    let mut cache = ScrapeCache::default();
    for (i, body) in bodies.iter().enumerate() {
        let ts = 1_000 * (i as i64 + 1);
        let want = run_reference(&mut reference, rules, *body, format, ts);
        let got = run_cached(&mut cache, rules, *body, format, ts);
        assert_eq!(got, want, "scrape {i}: {body:?}");
    }
}

#[test]
fn matches_the_reference_through_churn_errors_and_duplicates() {
    assert_same_sequence(
        &rules(),
        Format::PrometheusText,
        &[
            Ok("# TYPE a counter\na{x=\"1\"} 1\na{x=\"2\"} 2\nb 3\n"),
            Ok("# TYPE a counter\na{x=\"1\"} 2\na{x=\"2\"} 3\nb 4\n"),
            // b vanishes, c appears, a label order variant of an existing series.
            Ok("a{x=\"1\"} 3\na{x=\"2\"} 4\nc 1\n"),
            Ok("a{x=\"1\"} 4\nc 2 500\n  c{}  2  \n"),
            // Same labels spelled two ways, and an empty value that drops the label.
            Ok("m{a=\"1\",b=\"2\"} 1\nm{b=\"2\",a=\"1\"} 1\nn{e=\"\"} 5\nn 5\n"),
            Ok("m{b=\"2\",a=\"1\"} 2\nn{e=\"\"} 6\n"),
            Ok("m{b=\"2\",a=\"1\"} 3\nbad{ 1\n"),
            Err("connection refused"),
            Ok("m{a=\"1\",b=\"2\"} 4\nm{a=\"1\",b=\"2\"} 5\n"),
            Ok("m{a=\"1\",b=\"2\"} notanumber\n"),
            Ok("# TYPE m bogus\nm{a=\"1\",b=\"2\"} 6\n"),
            Ok("m{a=\"1\",b=\"2\"} 6\n# TYPE m bogus\nz{ 1\n"),
            Ok("z{ 1\n# TYPE m bogus\n"),
            Ok("m{a=\"1\",b=\"2\"} 7\nNaN_metric NaN\ninf +Inf\nneg -Inf\n"),
            Ok("job{job=\"inner\"} 1\nup 3\n"),
            Ok(""),
        ],
    );
}

#[test]
fn matches_the_reference_with_relabeling_and_limits() {
    let mut relabel = rules();
    relabel.metric_relabel_configs = serde_yaml_ng::from_str(
        "- source_labels: [__name__]\n  regex: 'go_.*'\n  action: drop\n\
         - regex: 'x'\n  action: labeldrop\n",
    )
    .unwrap();
    assert_same_sequence(
        &relabel,
        Format::PrometheusText,
        &[
            Ok("go_gc 1\nkeep{x=\"1\"} 2\nkeep{x=\"2\"} 3\n"),
            Ok("go_gc 2\nkeep{x=\"1\"} 3\nother 1\n"),
            Ok("go_gc{ 2\n"),
            Ok("keep{x=\"3\"} 9\n"),
        ],
    );
    let mut limited = rules();
    limited.sample_limit = 2;
    limited.label_value_length_limit = 5;
    assert_same_sequence(
        &limited,
        Format::PrometheusText,
        &[
            Ok("a 1\nb 2\n"),
            Ok("a 1\nb 2\nc 3\n"),
            Ok("a 2\nlong{v=\"abcdefgh\"} 1\n"),
            Ok("a 3\nlong{v=\"abcdefgh\"} 1\nbroken{ 2\n"),
            Ok("a 4\nb 5\n"),
        ],
    );
    let mut dropping_timestamps = rules();
    dropping_timestamps.honor_timestamps = false;
    dropping_timestamps.honor_labels = true;
    assert_same_sequence(
        &dropping_timestamps,
        Format::PrometheusText,
        &[
            Ok("a{job=\"inner\"} 1 500\n"),
            Ok("a{job=\"inner\"} 2 600\n"),
        ],
    );
}

#[test]
fn matches_the_reference_for_openmetrics_exemplars() {
    assert_same_sequence(
        &rules(),
        Format::OpenMetrics,
        &[
            Ok("# TYPE foo histogram\n# UNIT foo seconds\n\
foo_bucket{le=\"0.1\"} 8 # {trace_id=\"KOO5S4vxi0o\"} 0.067 1520879607.789\n\
foo_bucket{le=\"+Inf\"} 11 # {trace_id=\"abc\"} 2.5\n\
foo_count 11 1520879607.5\nfoo_sum 12.5\n# EOF\n"),
            Ok("# TYPE foo histogram\n# UNIT foo seconds\n\
foo_bucket{le=\"0.1\"} 9\nfoo_bucket{le=\"+Inf\"} 12 # {trace_id=\"def\"} 3.5\n\
foo_count 12\nfoo_sum 13.5\n# EOF\n"),
            Ok("foo_count 13\n"),
            Ok("foo_count 13\n# EOF\nfoo_sum 1\n"),
            Ok("foo_count 14\n\n# EOF\n"),
        ],
    );
}

#[test]
fn metadata_is_reported_only_when_it_changes() {
    let mut cache = ScrapeCache::default();
    let body = "# HELP a The a.\n# TYPE a counter\na 1\n";
    let first = cache.process(
        &target(),
        &rules(),
        Ok((body, Format::PrometheusText)),
        1,
        0.0,
    );
    let meta = first.metadata.expect("first scrape reports metadata");
    assert_eq!(meta["a"].help.as_deref(), Some("The a."));
    let again = cache.process(
        &target(),
        &rules(),
        Ok((body, Format::PrometheusText)),
        2,
        0.0,
    );
    assert!(again.metadata.is_none());
    let changed = "# HELP a The new a.\n# TYPE a counter\na 1\n";
    let third = cache.process(
        &target(),
        &rules(),
        Ok((changed, Format::PrometheusText)),
        3,
        0.0,
    );
    assert_eq!(
        third.metadata.expect("changed help is reported")["a"]
            .help
            .as_deref(),
        Some("The new a.")
    );
}

#[test]
fn churning_series_do_not_grow_the_cache_forever() {
    let mut cache = ScrapeCache::default();
    for i in 0..200 {
        let body: String = (0..50)
            .map(|j| format!("m{{pod=\"p{i}-{j}\"}} 1\n"))
            .collect();
        let r = cache.process(
            &target(),
            &rules(),
            Ok((&body, Format::PrometheusText)),
            i,
            0.0,
        );
        assert!(r.error.is_none());
        if i > 0 {
            assert_eq!(r.series_added, 50);
            // Last scrape's 50 series go stale.
            assert_eq!(r.batch.len(), 50 + 50 + 5);
        }
    }
    assert!(
        cache.by_text.len() <= 50 * (KEEP_UNSEEN as usize + 2),
        "{cache:?}"
    );
    assert!(
        cache.slots.len() <= 50 * (KEEP_UNSEEN as usize + 2),
        "{cache:?}"
    );
}

#[test]
fn steady_scrapes_update_the_batch_in_place() {
    let mut cache = ScrapeCache::default();
    let body = |v: u32| format!("a 1\nb{{x=\"y\"}} {v}\n");
    let first = cache
        .process(
            &target(),
            &rules(),
            Ok((&body(1), Format::PrometheusText)),
            1,
            0.0,
        )
        .batch
        .as_ptr();
    let second = cache.process(
        &target(),
        &rules(),
        Ok((&body(2), Format::PrometheusText)),
        2,
        0.0,
    );
    assert_eq!(second.batch.as_ptr(), first, "batch reused");
    assert_eq!(second.batch[1].samples, vec![(2, 2.0)]);
    assert_eq!(second.batch[1].labels.get("x"), Some("y"));
}

fn line() -> impl Strategy<Value = String> {
    let series = prop_oneof![
        4 => Just("a"),
        4 => Just("a{x=\"1\"}"),
        4 => Just("a{x=\"1\",y=\"2\"}"),
        4 => Just("a{y=\"2\",x=\"1\"}"),
        4 => Just("b{x=\"}\\\"\"}"),
        4 => Just("b{x=\"\"}"),
        4 => Just("go_drop{x=\"1\"}"),
        4 => Just("{\"dotted.name\",x=\"1\"}"),
        1 => Just("c{x=\"1\",x=\"2\"}"),
        1 => Just("d{"),
    ];
    let value = prop_oneof![
        4 => Just(" 1"),
        4 => Just(" 2.5"),
        4 => Just(" NaN"),
        4 => Just(" +Inf"),
        4 => Just(" 7 1234"),
        4 => Just("\t3"),
        1 => Just(" x"),
        1 => Just(""),
    ];
    let comment = prop_oneof![
        Just("# TYPE a counter"),
        Just("# HELP a Some help."),
        Just("# TYPE b gauge"),
        Just("# TYPE a nonsense"),
        Just("# plain comment"),
    ];
    prop_oneof![
        8 => (series, value).prop_map(|(s, v)| format!("{s}{v}")),
        1 => comment.prop_map(str::to_owned),
        1 => Just(String::new()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn random_scrape_sequences_match_the_reference(
        bodies in proptest::collection::vec(
            proptest::option::weighted(0.9, proptest::collection::vec(line(), 0..8)),
            1..8,
        ),
        drop_go in any::<bool>(),
    ) {
        let mut rules = rules();
        if drop_go {
            rules.metric_relabel_configs = serde_yaml_ng::from_str(
                "- source_labels: [__name__]\n  regex: 'go_.*'\n  action: drop\n",
            )
            .unwrap();
        }
        let texts: Vec<Option<String>> = bodies
            .iter()
            .map(|b| b.as_ref().map(|lines| lines.iter().map(|l| format!("{l}\n")).collect()))
            .collect();
        let inputs: Vec<Result<&str, &str>> = texts
            .iter()
            .map(|t| t.as_deref().ok_or("connection refused"))
            .collect();
        let mut reference = TargetScrapeState::default();
        let mut cache = ScrapeCache::default();
        for (i, body) in inputs.iter().enumerate() {
            let ts = 1_000 * (i as i64 + 1);
            let want = run_reference(&mut reference, &rules, *body, Format::PrometheusText, ts);
            let got = run_cached(&mut cache, &rules, *body, Format::PrometheusText, ts);
            prop_assert_eq!(got, want, "scrape {}: {:?}", i, body);
        }
    }
}

#[tokio::test]
async fn cached_series_removed_by_head_gc_are_resolved_again() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = Db::open(crate::db::DbOptions::new(dir.path())).unwrap();
    let mut cache = ScrapeCache::default();
    let body = |v: u32| format!("a{{x=\"1\"}} {v}\n");
    for ts in [1_000, 2_000] {
        let r = cache.process(
            &target(),
            &rules(),
            Ok((&body(1), Format::PrometheusText)),
            ts,
            0.0,
        );
        assert!(r.error.is_none());
        cache.append_to(&db).await.unwrap();
    }
    let cached = cache.slots[0]
        .series
        .clone()
        .expect("series cached after an append");
    // What a block cut does to a series whose samples all went into the block.
    cached.truncate_before(i64::MAX);
    assert_eq!(db.head().gc_empty_series(), 1);
    // A removal outside the store's cut path: force the check, as a relayout does.
    cache.checked = u64::MAX;
    let r = cache.process(
        &target(),
        &rules(),
        Ok((&body(3), Format::PrometheusText)),
        3_000,
        0.0,
    );
    assert!(r.error.is_none());
    let outcome = cache.append_to(&db).await.unwrap();
    assert_eq!(outcome.written, 6);
    let live = db
        .head()
        .select(&[lgtm_common::labels::Matcher::equal("x", "1")]);
    assert_eq!(live.len(), 1);
    assert!(
        !Arc::ptr_eq(&live[0], &cached),
        "a new head series took the sample"
    );
    assert_eq!(live[0].samples(0, i64::MAX), vec![(3_000, 3.0)]);
    assert!(Arc::ptr_eq(cache.resolved[0].as_ref().unwrap(), &live[0]));
}
