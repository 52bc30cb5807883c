//! OTLP metrics → Prometheus series, as Prometheus' `otlptranslator` converts them: resource
//! `service.*` attributes to `job`/`instance`, other resource attributes to `target_info`
//! (or promoted onto every series), gauges and cumulative sums as samples, classic
//! histograms as `_bucket{le}`/`_sum`/`_count`, summaries as `{quantile}`/`_sum`/`_count`.
//! Delta temporality is refused unless native delta ingestion is on; exponential histograms
//! (native histograms in Prometheus) are refused: both are reported as rejected points.

use std::collections::BTreeMap;

use lgtm_common::labels::{Label, Labels, METRIC_NAME};
use lgtm_proto::otlp::collector::metrics::v1::ExportMetricsServiceRequest;
use lgtm_proto::otlp::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use lgtm_proto::otlp::metrics::v1::{
    Exemplar as OtlpExemplar, HistogramDataPoint, Metric, NumberDataPoint, SummaryDataPoint,
    exemplar, metric, number_data_point,
};

use super::names::{LabelNamer, MetricKind, TranslationStrategy, metric_name, unit_suffixes};
use crate::db::SeriesSamples;
use crate::exemplars::Exemplar;
use crate::remote_write::DecodedMetadata;
use crate::scrape::samples::stale_nan;

/// `AGGREGATION_TEMPORALITY_CUMULATIVE`.
const CUMULATIVE: i32 = 2;
/// `AGGREGATION_TEMPORALITY_DELTA`.
const DELTA: i32 = 1;
/// `DATA_POINT_FLAGS_NO_RECORDED_VALUE_MASK`.
const NO_RECORDED_VALUE: u32 = 1;
/// Prometheus' default lookback delta.
const DEFAULT_LOOKBACK_MS: i64 = 300_000;
const SERVICE_NAME: &str = "service.name";
const SERVICE_NAMESPACE: &str = "service.namespace";
const SERVICE_INSTANCE_ID: &str = "service.instance.id";

/// How to translate, from the `otlp:` configuration block and flags.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// Name translation.
    pub strategy: TranslationStrategy,
    /// Label-name translation (follows the strategy, plus the `label_name_*` options).
    pub labels: LabelNamer,
    /// Resource attributes copied onto every series.
    pub promote_resource_attributes: Vec<String>,
    /// Promote every resource attribute except `ignore_resource_attributes`.
    pub promote_all_resource_attributes: bool,
    /// Never promoted.
    pub ignore_resource_attributes: Vec<String>,
    /// Keep `service.*` attributes on `target_info`.
    pub keep_identifying_resource_attributes: bool,
    /// Add `otel_scope_*` labels.
    pub promote_scope_metadata: bool,
    /// Store delta points as they come (`--enable-feature=otlp-native-delta-ingestion`).
    pub allow_delta: bool,
    /// `--query.lookback-delta` in ms (0: Prometheus' 5m default), spacing `target_info`.
    pub lookback_delta_ms: i64,
}

/// The result of a conversion.
#[derive(Debug, Default)]
pub struct Converted {
    /// Samples per series, each series once, samples in time order.
    pub series: Vec<SeriesSamples>,
    /// Metadata per metric family.
    pub metadata: Vec<DecodedMetadata>,
    /// Data points that could not be converted.
    pub rejected: usize,
    /// Why (first few distinct messages).
    pub errors: Vec<String>,
    /// Exemplars with the series they belong to (for histograms: the bucket they fall in).
    pub exemplars: Vec<(Labels, Exemplar)>,
}

impl Converted {
    fn reject(&mut self, points: usize, message: String) {
        self.rejected += points;
        if self.errors.len() < 10 && !self.errors.contains(&message) {
            self.errors.push(message);
        }
    }
}

/// `pcommon.Value.AsString()`.
pub fn value_string(value: Option<&AnyValue>) -> String {
    let Some(v) = value.and_then(|v| v.value.as_ref()) else {
        return String::new();
    };
    match v {
        any_value::Value::StringValue(s) => s.clone(),
        any_value::Value::BoolValue(b) => b.to_string(),
        any_value::Value::IntValue(i) => i.to_string(),
        any_value::Value::DoubleValue(d) => format_float(*d),
        any_value::Value::BytesValue(b) => lgtm_common::encoding::base64_encode(b),
        any_value::Value::ArrayValue(a) => {
            let items: Vec<serde_json::Value> = a.values.iter().map(json_value).collect();
            serde_json::Value::Array(items).to_string()
        }
        any_value::Value::KvlistValue(kv) => {
            let map: serde_json::Map<String, serde_json::Value> = kv
                .values
                .iter()
                .map(|k| {
                    (
                        k.key.clone(),
                        k.value.as_ref().map_or(serde_json::Value::Null, json_value),
                    )
                })
                .collect();
            serde_json::Value::Object(map).to_string()
        }
    }
}

fn json_value(v: &AnyValue) -> serde_json::Value {
    match &v.value {
        None => serde_json::Value::Null,
        Some(any_value::Value::StringValue(s)) => s.clone().into(),
        Some(any_value::Value::BoolValue(b)) => (*b).into(),
        Some(any_value::Value::IntValue(i)) => (*i).into(),
        Some(any_value::Value::DoubleValue(d)) => serde_json::Number::from_f64(*d)
            .map_or_else(|| format_float(*d).into(), serde_json::Value::Number),
        _ => value_string(Some(v)).into(),
    }
}

/// Go's `strconv.FormatFloat(f, 'f', -1, 64)` (used for `le`, `quantile` and doubles).
pub fn format_float(f: f64) -> String {
    if f.is_nan() {
        "NaN".into()
    } else if f == f64::INFINITY {
        "+Inf".into()
    } else if f == f64::NEG_INFINITY {
        "-Inf".into()
    } else {
        // Rust's `Display` is the shortest round-trip decimal without exponent, as 'f', -1.
        format!("{f}")
    }
}

fn attr<'a>(attrs: &'a [KeyValue], key: &str) -> Option<&'a AnyValue> {
    attrs
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref())
}

/// Builds a label map from attributes; keys colliding after escaping are joined with `;` in
/// key order, as Prometheus does.
fn attribute_labels(
    attrs: &[KeyValue],
    namer: &LabelNamer,
    ignore: &[&str],
) -> BTreeMap<String, String> {
    let mut sorted: Vec<&KeyValue> = attrs
        .iter()
        .filter(|kv| !ignore.contains(&kv.key.as_str()))
        .collect();
    sorted.sort_by(|a, b| a.key.cmp(&b.key));
    let mut out: BTreeMap<String, String> = BTreeMap::new();
    for kv in sorted {
        // A key that escapes to nothing but underscores cannot be a label: dropped.
        let Some(name) = namer.build(&kv.key) else {
            continue;
        };
        let value = value_string(kv.value.as_ref());
        out.entry(name)
            .and_modify(|v| {
                v.push(';');
                v.push_str(&value);
            })
            .or_insert(value);
    }
    out
}

/// Per-resource label context.
struct ResourceLabels {
    /// `job`/`instance` and promoted attributes.
    base: BTreeMap<String, String>,
}

fn resource_labels(attrs: &[KeyValue], settings: &Settings) -> ResourceLabels {
    let mut base = BTreeMap::new();
    let promoted: Vec<&KeyValue> = attrs
        .iter()
        .filter(|kv| {
            if settings.promote_all_resource_attributes {
                !settings.ignore_resource_attributes.contains(&kv.key)
            } else {
                settings.promote_resource_attributes.contains(&kv.key)
            }
        })
        .collect();
    for kv in promoted {
        if let Some(name) = settings.labels.build(&kv.key) {
            base.insert(name, value_string(kv.value.as_ref()));
        }
    }
    if let Some(name) = attr(attrs, SERVICE_NAME) {
        let mut job = value_string(Some(name));
        if let Some(ns) = attr(attrs, SERVICE_NAMESPACE) {
            job = format!("{}/{job}", value_string(Some(ns)));
        }
        base.insert("job".into(), job);
    }
    if let Some(id) = attr(attrs, SERVICE_INSTANCE_ID) {
        base.insert("instance".into(), value_string(Some(id)));
    }
    ResourceLabels { base }
}

fn scope_labels(
    scope: Option<&InstrumentationScope>,
    schema_url: &str,
    settings: &Settings,
) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    if !settings.promote_scope_metadata {
        return out;
    }
    out.insert("otel_scope_schema_url".into(), schema_url.to_owned());
    let Some(scope) = scope else {
        return out;
    };
    out.insert("otel_scope_name".into(), scope.name.clone());
    out.insert("otel_scope_version".into(), scope.version.clone());
    for kv in &scope.attributes {
        if let Some(name) = settings.labels.build(&kv.key) {
            out.insert(
                format!("otel_scope_{name}"),
                value_string(kv.value.as_ref()),
            );
        }
    }
    out
}

/// Accumulates samples per series.
#[derive(Default)]
struct Series {
    by_labels: BTreeMap<Labels, Vec<(i64, f64)>>,
    exemplars: Vec<(Labels, Exemplar)>,
}

/// Lowercase hex of an id.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Series {
    fn push(&mut self, labels: Labels, t: i64, v: f64) {
        self.by_labels.entry(labels).or_default().push((t, v));
    }
}

fn ts_ms(nanos: u64) -> i64 {
    i64::try_from(nanos / 1_000_000).unwrap_or(i64::MAX)
}

/// Converts a whole request.
pub fn convert(request: &ExportMetricsServiceRequest, settings: &Settings) -> Converted {
    let mut out = Converted::default();
    let mut series = Series::default();
    let mut metadata: BTreeMap<String, DecodedMetadata> = BTreeMap::new();
    for rm in &request.resource_metrics {
        let attrs: &[KeyValue] = rm
            .resource
            .as_ref()
            .map_or(&[], |r| r.attributes.as_slice());
        let resource = resource_labels(attrs, settings);
        let mut span: Option<(i64, i64)> = None;
        for sm in &rm.scope_metrics {
            let scope = scope_labels(sm.scope.as_ref(), &sm.schema_url, settings);
            for m in &sm.metrics {
                let ctx = MetricCtx {
                    settings,
                    resource: &resource.base,
                    scope: &scope,
                };
                if let Some((lo, hi)) = ctx.metric(m, &mut series, &mut metadata, &mut out) {
                    span = Some(span.map_or((lo, hi), |(a, b)| (a.min(lo), b.max(hi))));
                }
            }
        }
        if let Some(span) = span
            && target_info(attrs, &resource.base, settings, span, &mut series)
        {
            metadata
                .entry("target_info".into())
                .or_insert_with(|| DecodedMetadata {
                    metric: "target_info".into(),
                    metric_type: "gauge",
                    help: "Target metadata".into(),
                    unit: String::new(),
                });
        }
    }
    out.series = series
        .by_labels
        .into_iter()
        .map(|(labels, mut samples)| {
            samples.sort_by_key(|s| s.0);
            SeriesSamples { labels, samples }
        })
        .collect();
    out.metadata = metadata.into_values().collect();
    out.exemplars = series.exemplars;
    out
}

/// `target_info` from the non-identifying resource attributes, when the resource has a `job`
/// or `instance` and anything else to say.
fn target_info(
    attrs: &[KeyValue],
    base: &BTreeMap<String, String>,
    settings: &Settings,
    (earliest, latest): (i64, i64),
    series: &mut Series,
) -> bool {
    let identifying = [SERVICE_NAME, SERVICE_NAMESPACE, SERVICE_INSTANCE_ID];
    let others = attrs
        .iter()
        .filter(|kv| !identifying.contains(&kv.key.as_str()))
        .count();
    if others == 0 {
        return false;
    }
    let ignore: &[&str] = if settings.keep_identifying_resource_attributes {
        &[]
    } else {
        &identifying
    };
    let mut labels = attribute_labels(attrs, &settings.labels, ignore);
    let mut has_identifier = false;
    for key in ["job", "instance"] {
        if let Some(v) = base.get(key) {
            labels.insert(key.into(), v.clone());
            has_identifier = true;
        }
    }
    if !has_identifier {
        return false;
    }
    labels.insert(METRIC_NAME.into(), "target_info".into());
    let labels = Labels::from_pairs(labels);
    // A sample every half lookback delta from the resource's earliest to its latest point, so
    // `target_info` joins every sample of the request.
    let step = if settings.lookback_delta_ms > 0 {
        settings.lookback_delta_ms
    } else {
        DEFAULT_LOOKBACK_MS
    } / 2;
    let mut t = earliest;
    while t < latest {
        series.push(labels.clone(), t, 1.0);
        t = t.saturating_add(step.max(1));
    }
    series.push(labels, latest, 1.0);
    true
}

struct MetricCtx<'a> {
    settings: &'a Settings,
    resource: &'a BTreeMap<String, String>,
    scope: &'a BTreeMap<String, String>,
}

impl MetricCtx<'_> {
    /// Labels of one point: attributes, then promoted resource attributes where absent, scope,
    /// `job`/`instance`, then the extras (name, `le`, `quantile`).
    fn labels(&self, attrs: &[KeyValue], name: &str, extra: Option<(&str, String)>) -> Labels {
        let mut l = attribute_labels(attrs, &self.settings.labels, &[]);
        for (k, v) in self.resource {
            if k == "job" || k == "instance" {
                l.insert(k.clone(), v.clone());
            } else {
                l.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
        for (k, v) in self.scope {
            l.insert(k.clone(), v.clone());
        }
        l.insert(METRIC_NAME.into(), name.to_owned());
        if let Some((k, v)) = extra {
            l.insert(k.into(), v);
        }
        Labels::from_labels(l.into_iter().map(|(k, v)| Label::new(k, v)).collect())
    }

    /// Converts one metric; returns its earliest and latest timestamps (for `target_info`).
    fn metric(
        &self,
        m: &Metric,
        series: &mut Series,
        metadata: &mut BTreeMap<String, DecodedMetadata>,
        out: &mut Converted,
    ) -> Option<(i64, i64)> {
        let strategy = self.settings.strategy;
        let temporality_ok = |t: i32| t == CUMULATIVE || (t == DELTA && self.settings.allow_delta);
        let invalid = |out: &mut Converted, n: usize| {
            out.reject(
                n,
                format!(
                    "invalid temporality and type combination for metric {:?}",
                    m.name
                ),
            );
        };
        let (kind, type_name) = match &m.data {
            Some(metric::Data::Gauge(_)) => (MetricKind::Gauge, "gauge"),
            Some(metric::Data::Sum(s)) if s.is_monotonic => (MetricKind::Counter, "counter"),
            Some(metric::Data::Sum(_)) => (MetricKind::Other, "gauge"),
            Some(metric::Data::Histogram(_)) => (MetricKind::Other, "histogram"),
            Some(metric::Data::Summary(_)) => (MetricKind::Other, "summary"),
            Some(metric::Data::ExponentialHistogram(h)) => {
                out.reject(
                    h.data_points.len(),
                    format!(
                        "exponential histogram {:?} not supported: native histograms are not stored",
                        m.name
                    ),
                );
                return None;
            }
            None => {
                out.reject(
                    0,
                    format!("unsupported metric type for metric {:?}", m.name),
                );
                return None;
            }
        };
        let name = metric_name(&m.name, &m.unit, kind, strategy);
        if name.is_empty() {
            out.reject(0, "metric with an empty name".into());
            return None;
        }
        metadata
            .entry(name.clone())
            .or_insert_with(|| DecodedMetadata {
                metric: name.clone(),
                metric_type: type_name,
                help: m.description.clone(),
                unit: {
                    let (main, per) = unit_suffixes(&m.unit);
                    [main, per]
                        .into_iter()
                        .filter(|u| !u.is_empty())
                        .collect::<Vec<_>>()
                        .join("_")
                },
            });
        let mut span: Option<(i64, i64)> = None;
        let mut seen = |t: i64| span = Some(span.map_or((t, t), |(a, b)| (a.min(t), b.max(t))));
        match &m.data {
            Some(metric::Data::Gauge(g)) => {
                for p in &g.data_points {
                    self.number(p, &name, series, &mut seen);
                }
            }
            Some(metric::Data::Sum(s)) => {
                if !temporality_ok(s.aggregation_temporality) {
                    invalid(out, s.data_points.len());
                    return None;
                }
                for p in &s.data_points {
                    self.number(p, &name, series, &mut seen);
                }
            }
            Some(metric::Data::Histogram(h)) => {
                if !temporality_ok(h.aggregation_temporality) {
                    invalid(out, h.data_points.len());
                    return None;
                }
                for p in &h.data_points {
                    self.histogram(p, &name, series, &mut seen);
                }
            }
            Some(metric::Data::Summary(s)) => {
                for p in &s.data_points {
                    self.summary(p, &name, series, &mut seen);
                }
            }
            _ => {}
        }
        span
    }

    /// Prometheus' `getPromExemplars`: `trace_id`/`span_id` in hex and the filtered attributes.
    fn exemplar(&self, e: &OtlpExemplar) -> Exemplar {
        let mut labels: Vec<Label> = Vec::new();
        if !e.trace_id.is_empty() {
            labels.push(Label::new("trace_id", hex(&e.trace_id)));
        }
        if !e.span_id.is_empty() {
            labels.push(Label::new("span_id", hex(&e.span_id)));
        }
        for kv in &e.filtered_attributes {
            if let Some(name) = self.settings.labels.build(&kv.key) {
                labels.push(Label::new(name, value_string(kv.value.as_ref())));
            }
        }
        Exemplar {
            labels: Labels::from_labels(labels),
            value: match e.value {
                Some(exemplar::Value::AsDouble(d)) => d,
                Some(exemplar::Value::AsInt(i)) => i as f64,
                None => 0.0,
            },
            timestamp: ts_ms(e.time_unix_nano),
        }
    }

    fn number(
        &self,
        p: &NumberDataPoint,
        name: &str,
        series: &mut Series,
        seen: &mut impl FnMut(i64),
    ) {
        let t = ts_ms(p.time_unix_nano);
        seen(t);
        let v = if p.flags & NO_RECORDED_VALUE != 0 {
            stale_nan()
        } else {
            match p.value {
                Some(number_data_point::Value::AsDouble(d)) => d,
                Some(number_data_point::Value::AsInt(i)) => i as f64,
                None => 0.0,
            }
        };
        let labels = self.labels(&p.attributes, name, None);
        for e in &p.exemplars {
            series.exemplars.push((labels.clone(), self.exemplar(e)));
        }
        series.push(labels, t, v);
    }

    fn histogram(
        &self,
        p: &HistogramDataPoint,
        name: &str,
        series: &mut Series,
        seen: &mut impl FnMut(i64),
    ) {
        let t = ts_ms(p.time_unix_nano);
        seen(t);
        let stale = p.flags & NO_RECORDED_VALUE != 0;
        let val = |v: f64| if stale { stale_nan() } else { v };
        if let Some(sum) = p.sum {
            series.push(
                self.labels(&p.attributes, &format!("{name}_sum"), None),
                t,
                val(sum),
            );
        }
        series.push(
            self.labels(&p.attributes, &format!("{name}_count"), None),
            t,
            val(p.count as f64),
        );
        let bucket = format!("{name}_bucket");
        let mut cumulative = 0u64;
        for (bound, count) in p.explicit_bounds.iter().zip(&p.bucket_counts) {
            cumulative = cumulative.saturating_add(*count);
            series.push(
                self.labels(&p.attributes, &bucket, Some(("le", format_float(*bound)))),
                t,
                val(cumulative as f64),
            );
        }
        series.push(
            self.labels(&p.attributes, &bucket, Some(("le", "+Inf".into()))),
            t,
            val(p.count as f64),
        );
        // Each exemplar goes to the first bucket whose upper bound holds its value.
        for e in &p.exemplars {
            let exemplar = self.exemplar(e);
            let le = p
                .explicit_bounds
                .iter()
                .take(p.bucket_counts.len())
                .find(|b| exemplar.value <= **b)
                .map_or_else(|| "+Inf".to_owned(), |b| format_float(*b));
            let labels = self.labels(&p.attributes, &bucket, Some(("le", le)));
            series.exemplars.push((labels, exemplar));
        }
    }

    fn summary(
        &self,
        p: &SummaryDataPoint,
        name: &str,
        series: &mut Series,
        seen: &mut impl FnMut(i64),
    ) {
        let t = ts_ms(p.time_unix_nano);
        seen(t);
        let stale = p.flags & NO_RECORDED_VALUE != 0;
        let val = |v: f64| if stale { stale_nan() } else { v };
        series.push(
            self.labels(&p.attributes, &format!("{name}_sum"), None),
            t,
            val(p.sum),
        );
        series.push(
            self.labels(&p.attributes, &format!("{name}_count"), None),
            t,
            val(p.count as f64),
        );
        for q in &p.quantile_values {
            series.push(
                self.labels(
                    &p.attributes,
                    name,
                    Some(("quantile", format_float(q.quantile))),
                ),
                t,
                val(q.value),
            );
        }
    }
}
