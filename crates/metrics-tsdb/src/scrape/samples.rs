//! From a parsed scrape body to the samples stored for one target: target labels merged
//! (`honor_labels`), `metric_relabel_configs`, limits, explicit timestamps
//! (`honor_timestamps`), staleness markers for series that disappeared, and the synthetic
//! `up`/`scrape_*` series, as Prometheus' scrape loop produces them.

use std::collections::HashSet;

use lgtm_common::labels::{Label, Labels};
use lgtm_common::relabel::{self, RelabelConfig};

use super::exposition::Exposition;

/// The NaN Prometheus writes to mark a series stale.
pub const STALE_NAN_BITS: u64 = 0x7ff0_0000_0000_0002;

/// A stale marker value.
pub fn stale_nan() -> f64 {
    f64::from_bits(STALE_NAN_BITS)
}

/// True when `v` is a stale marker.
pub fn is_stale_nan(v: f64) -> bool {
    v.to_bits() == STALE_NAN_BITS
}

/// Per-job settings that shape samples.
#[derive(Debug, Clone, Default)]
pub struct SampleRules {
    /// Scraped labels win over target labels.
    pub honor_labels: bool,
    /// Use timestamps the target exposes.
    pub honor_timestamps: bool,
    /// Relabeling of every sample.
    pub metric_relabel_configs: Vec<RelabelConfig>,
    /// Most samples per scrape after relabeling (0 = unlimited).
    pub sample_limit: u64,
    /// Most labels per series (0 = unlimited).
    pub label_limit: u64,
    /// Longest label name (0 = unlimited).
    pub label_name_length_limit: u64,
    /// Longest label value (0 = unlimited).
    pub label_value_length_limit: u64,
}

/// A sample to store.
#[derive(Debug, Clone, PartialEq)]
pub struct ScrapedSample {
    /// Full labels.
    pub labels: Labels,
    /// Timestamp in ms.
    pub t: i64,
    /// Value.
    pub v: f64,
    /// The exemplar exposed with the sample (OpenMetrics), timestamp defaulted to the scrape's.
    pub exemplar: Option<super::exposition::Exemplar>,
}

/// Outcome of one scrape, as the targets API and the synthetic series report it.
#[derive(Debug, Clone, PartialEq)]
pub struct ScrapeResult {
    /// Samples to append, synthetic series and stale markers included.
    pub samples: Vec<ScrapedSample>,
    /// Error that failed the scrape (`lastError`), if any.
    pub error: Option<String>,
    /// Samples in the body.
    pub scraped: usize,
    /// Samples left after relabeling.
    pub post_relabel: usize,
    /// Series not seen in the previous scrape.
    pub series_added: usize,
}

/// The state kept between scrapes of one target: which series it exposed last time.
#[derive(Debug, Default)]
pub struct TargetScrapeState {
    previous: HashSet<Labels>,
}

impl TargetScrapeState {
    /// Processes a successful fetch (`body` parsed) or a failed one (`Err(message)`).
    pub fn process(
        &mut self,
        target_labels: &Labels,
        rules: &SampleRules,
        fetched: Result<&Exposition, String>,
        scrape_ts: i64,
        duration_seconds: f64,
    ) -> ScrapeResult {
        let mut result = ScrapeResult {
            samples: Vec::new(),
            error: None,
            scraped: 0,
            post_relabel: 0,
            series_added: 0,
        };
        let mut current: Vec<ScrapedSample> = Vec::new();
        match fetched {
            Ok(exposition) => {
                result.scraped = exposition.samples.len();
                match self.build(target_labels, rules, exposition, scrape_ts) {
                    Ok(samples) => current = samples,
                    Err(e) => result.error = Some(e),
                }
            }
            Err(e) => result.error = Some(e),
        }
        result.post_relabel = current.len();
        let now: HashSet<Labels> = current.iter().map(|s| s.labels.clone()).collect();
        result.series_added = now.difference(&self.previous).count();
        // Series that vanished (or all of them, when the scrape failed) get a stale marker.
        let mut stale: Vec<&Labels> = self.previous.difference(&now).collect();
        stale.sort();
        for labels in stale {
            result.samples.push(ScrapedSample {
                labels: labels.clone(),
                t: scrape_ts,
                v: stale_nan(),
                exemplar: None,
            });
        }
        result.samples.extend(current);
        self.previous = now;
        let values = synthetic_values(
            result.error.is_some(),
            duration_seconds,
            result.scraped,
            result.post_relabel,
            result.series_added,
        );
        for (name, value) in SYNTHETIC_SERIES.into_iter().zip(values) {
            result.samples.push(ScrapedSample {
                labels: target_labels.with("__name__", name),
                t: scrape_ts,
                v: value,
                exemplar: None,
            });
        }
        result
    }

    fn build(
        &self,
        target_labels: &Labels,
        rules: &SampleRules,
        exposition: &Exposition,
        scrape_ts: i64,
    ) -> Result<Vec<ScrapedSample>, String> {
        let mut out = Vec::with_capacity(exposition.samples.len());
        for sample in &exposition.samples {
            let Some(labels) = final_labels(&sample.labels, target_labels, rules)? else {
                continue;
            };
            let t = match (rules.honor_timestamps, sample.timestamp_ms) {
                (true, Some(t)) => t,
                _ => scrape_ts,
            };
            let exemplar = sample.exemplar.clone().map(|mut e| {
                e.timestamp_ms.get_or_insert(scrape_ts);
                e
            });
            out.push(ScrapedSample {
                labels,
                t,
                v: sample.value,
                exemplar,
            });
        }
        if rules.sample_limit > 0 && out.len() as u64 > rules.sample_limit {
            return Err("sample limit exceeded".into());
        }
        Ok(out)
    }
}

/// Names of the series every scrape adds for its target, in the order they are appended.
pub(crate) const SYNTHETIC_SERIES: [&str; 5] = [
    "up",
    "scrape_duration_seconds",
    "scrape_samples_scraped",
    "scrape_samples_post_metric_relabeling",
    "scrape_series_added",
];

/// Values of the synthetic series, in [`SYNTHETIC_SERIES`] order.
pub(crate) fn synthetic_values(
    failed: bool,
    duration_seconds: f64,
    scraped: usize,
    post_relabel: usize,
    series_added: usize,
) -> [f64; 5] {
    [
        if failed { 0.0 } else { 1.0 },
        duration_seconds,
        scraped as f64,
        post_relabel as f64,
        series_added as f64,
    ]
}

/// The labels a scraped series is stored under: target labels merged, then metric
/// relabeling; `Ok(None)` when relabeling drops it, `Err` when it breaks a label limit.
pub(crate) fn final_labels(
    scraped: &Labels,
    target_labels: &Labels,
    rules: &SampleRules,
) -> Result<Option<Labels>, String> {
    let merged = merge_target_labels(scraped, target_labels, rules.honor_labels);
    let labels = if rules.metric_relabel_configs.is_empty() {
        merged
    } else {
        match relabel::process(&merged, &rules.metric_relabel_configs) {
            Some(labels) => labels,
            None => return Ok(None),
        }
    };
    if labels.is_empty() {
        return Ok(None);
    }
    check_label_limits(&labels, rules)?;
    Ok(Some(labels))
}

fn check_label_limits(labels: &Labels, rules: &SampleRules) -> Result<(), String> {
    let name = labels.metric_name().unwrap_or("");
    if rules.label_limit > 0 && labels.len() as u64 > rules.label_limit {
        return Err(format!(
            "label_limit exceeded (metric: {name}, number of labels: {}, limit: {})",
            labels.len(),
            rules.label_limit
        ));
    }
    for label in labels.iter() {
        if rules.label_name_length_limit > 0
            && label.name.len() as u64 > rules.label_name_length_limit
        {
            return Err(format!(
                "label_name_length_limit exceeded (metric: {name}, label name: {}, length: {}, limit: {})",
                label.name,
                label.name.len(),
                rules.label_name_length_limit
            ));
        }
        if rules.label_value_length_limit > 0
            && label.value.len() as u64 > rules.label_value_length_limit
        {
            return Err(format!(
                "label_value_length_limit exceeded (metric: {name}, label name: {}, value: {:?}, length: {}, limit: {})",
                label.name,
                label.value,
                label.value.len(),
                rules.label_value_length_limit
            ));
        }
    }
    Ok(())
}

/// Adds the target's labels to a scraped series. With `honor_labels`, scraped values win;
/// otherwise a clashing scraped label is kept as `exported_<name>` (prefixed again while that
/// name is taken too), as Prometheus does.
pub fn merge_target_labels(scraped: &Labels, target: &Labels, honor_labels: bool) -> Labels {
    let mut labels: Vec<Label> = scraped.as_slice().to_vec();
    for t in target.iter() {
        let existing = labels.iter().position(|l| l.name == t.name);
        match existing {
            Some(_) if honor_labels => {}
            Some(i) => {
                let clashing = labels.remove(i);
                let mut name = format!("exported_{}", clashing.name);
                while labels.iter().any(|l| l.name == name) || target.contains(&name) {
                    name = format!("exported_{name}");
                }
                labels.push(Label::new(name, clashing.value));
                labels.push(t.clone());
            }
            None => labels.push(t.clone()),
        }
    }
    Labels::from_labels(labels)
}

#[cfg(test)]
mod tests {
    use super::super::exposition::{Format, parse};
    use super::*;

    fn target() -> Labels {
        Labels::from_pairs([("job", "node"), ("instance", "n1:9100")])
    }

    fn rules() -> SampleRules {
        SampleRules {
            honor_timestamps: true,
            ..SampleRules::default()
        }
    }

    #[test]
    fn clashing_labels_become_exported_unless_honored() {
        let scraped =
            Labels::from_pairs([("__name__", "m"), ("job", "inner"), ("exported_job", "x")]);
        let merged = merge_target_labels(&scraped, &target(), false);
        assert_eq!(
            merged.to_string(),
            r#"{__name__="m", exported_exported_job="inner", exported_job="x", instance="n1:9100", job="node"}"#
        );
        let honored = merge_target_labels(&scraped, &target(), true);
        assert_eq!(honored.get("job"), Some("inner"));
        assert_eq!(honored.get("instance"), Some("n1:9100"));
    }

    #[test]
    fn vanished_series_get_stale_markers_and_synthetic_series_are_added() {
        let mut state = TargetScrapeState::default();
        let first = parse("a 1\nb 2\n", Format::PrometheusText).unwrap();
        let r1 = state.process(&target(), &rules(), Ok(&first), 1000, 0.01);
        assert_eq!(r1.scraped, 2);
        assert_eq!(r1.series_added, 2);
        assert!(r1.samples.iter().all(|s| !is_stale_nan(s.v)));
        let up = r1
            .samples
            .iter()
            .find(|s| s.labels.metric_name() == Some("up"))
            .unwrap();
        assert_eq!(up.v, 1.0);
        assert_eq!(up.labels.get("job"), Some("node"));

        let second = parse("a 3 500\n", Format::PrometheusText).unwrap();
        let r2 = state.process(&target(), &rules(), Ok(&second), 2000, 0.01);
        let stale: Vec<_> = r2.samples.iter().filter(|s| is_stale_nan(s.v)).collect();
        assert_eq!(stale.len(), 1);
        assert_eq!(stale[0].labels.metric_name(), Some("b"));
        assert_eq!(stale[0].t, 2000);
        let a = r2
            .samples
            .iter()
            .find(|s| s.labels.metric_name() == Some("a"))
            .unwrap();
        assert_eq!(a.t, 500, "explicit timestamp honoured");

        let r3 = state.process(
            &target(),
            &rules(),
            Err("connection refused".into()),
            3000,
            0.0,
        );
        assert_eq!(r3.error.as_deref(), Some("connection refused"));
        let stale: Vec<_> = r3.samples.iter().filter(|s| is_stale_nan(s.v)).collect();
        assert_eq!(stale.len(), 1, "every series of a failed scrape goes stale");
        let up = r3
            .samples
            .iter()
            .find(|s| s.labels.metric_name() == Some("up"))
            .unwrap();
        assert_eq!(up.v, 0.0);
    }

    #[test]
    fn metric_relabeling_and_limits() {
        let mut rules = rules();
        rules.metric_relabel_configs = serde_yaml_ng::from_str(
            "- source_labels: [__name__]\n  regex: 'go_.*'\n  action: drop\n",
        )
        .unwrap();
        let body = parse("go_gc 1\nkeep 2\n", Format::PrometheusText).unwrap();
        let mut state = TargetScrapeState::default();
        let r = state.process(&target(), &rules, Ok(&body), 1, 0.0);
        assert_eq!(r.scraped, 2);
        assert_eq!(r.post_relabel, 1);

        rules.sample_limit = 1;
        let body = parse("a 1\nb 2\n", Format::PrometheusText).unwrap();
        let r = TargetScrapeState::default().process(&target(), &rules, Ok(&body), 1, 0.0);
        assert_eq!(r.error.as_deref(), Some("sample limit exceeded"));
        assert_eq!(r.post_relabel, 0);

        let mut rules = self::rules();
        rules.label_limit = 2;
        let body = parse("m{a=\"1\"} 1\n", Format::PrometheusText).unwrap();
        let r = TargetScrapeState::default().process(&target(), &rules, Ok(&body), 1, 0.0);
        assert_eq!(
            r.error.as_deref(),
            Some("label_limit exceeded (metric: m, number of labels: 4, limit: 2)")
        );
    }

    #[test]
    fn timestamps_ignored_without_honor_timestamps() {
        let body = parse("a 1 500\n", Format::PrometheusText).unwrap();
        let r = TargetScrapeState::default().process(
            &target(),
            &SampleRules::default(),
            Ok(&body),
            9000,
            0.0,
        );
        let a = r
            .samples
            .iter()
            .find(|s| s.labels.metric_name() == Some("a"))
            .unwrap();
        assert_eq!(a.t, 9000);
    }
}
