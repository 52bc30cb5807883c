//! Prometheus' OTLP name translation (`otlptranslator`): metric names with unit and `_total`
//! suffixes, label-name escaping, per `translation_strategy`.

/// The `otlp.translation_strategy` setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TranslationStrategy {
    /// Escape to `[a-zA-Z0-9_:]` and add unit and type suffixes (the default).
    #[default]
    UnderscoreEscapingWithSuffixes,
    /// Escape, no suffixes.
    UnderscoreEscapingWithoutSuffixes,
    /// Keep UTF-8 names, add suffixes.
    NoUtf8EscapingWithSuffixes,
    /// Names and labels exactly as sent.
    NoTranslation,
}

impl TranslationStrategy {
    /// Parses the configuration value (Prometheus' spelling).
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "" | "UnderscoreEscapingWithSuffixes" => Some(Self::UnderscoreEscapingWithSuffixes),
            "UnderscoreEscapingWithoutSuffixes" => Some(Self::UnderscoreEscapingWithoutSuffixes),
            "NoUTF8EscapingWithSuffixes" => Some(Self::NoUtf8EscapingWithSuffixes),
            "NoTranslation" => Some(Self::NoTranslation),
            _ => None,
        }
    }

    fn escapes(self) -> bool {
        matches!(
            self,
            Self::UnderscoreEscapingWithSuffixes | Self::UnderscoreEscapingWithoutSuffixes
        )
    }
}

/// What a metric is, as far as its name's suffixes go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricKind {
    /// Gauge (unit `1` becomes `_ratio`).
    Gauge,
    /// Monotonic sum (`_total`).
    Counter,
    /// Anything else (non-monotonic sums, histograms, summaries).
    Other,
}

/// OTel unit → Prometheus unit word (UCUM case-sensitive codes).
fn unit_word(unit: &str) -> &str {
    match unit {
        "d" => "days",
        "h" => "hours",
        "min" => "minutes",
        "s" => "seconds",
        "ms" => "milliseconds",
        "us" => "microseconds",
        "ns" => "nanoseconds",
        "By" => "bytes",
        "KiBy" => "kibibytes",
        "MiBy" => "mebibytes",
        "GiBy" => "gibibytes",
        "TiBy" => "tibibytes",
        "KBy" => "kilobytes",
        "MBy" => "megabytes",
        "GBy" => "gigabytes",
        "TBy" => "terabytes",
        "m" => "meters",
        "V" => "volts",
        "A" => "amperes",
        "J" => "joules",
        "W" => "watts",
        "g" => "grams",
        "Cel" => "celsius",
        "Hz" => "hertz",
        "1" => "",
        "%" => "percent",
        other => other,
    }
}

/// OTel "per" unit → Prometheus word.
fn per_unit_word(unit: &str) -> &str {
    match unit {
        "s" => "second",
        "m" => "minute",
        "h" => "hour",
        "d" => "day",
        "w" => "week",
        "mo" => "month",
        "y" => "year",
        other => other,
    }
}

/// Replaces characters outside `[a-zA-Z0-9:]` with `_` and collapses runs of `_`.
fn escape_collapsed(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let c = if c.is_ascii_alphanumeric() || c == ':' {
            c
        } else {
            '_'
        };
        if c == '_' && out.ends_with('_') {
            continue;
        }
        out.push(c);
    }
    out
}

/// Prometheus' `cleanUpUnit`: escaped, collapsed, without a leading `_`.
fn clean_up_unit(unit: &str) -> String {
    let s = escape_collapsed(unit);
    s.strip_prefix('_').map(str::to_owned).unwrap_or(s)
}

/// Prometheus' `buildUnitSuffixes`: the main unit word (`seconds`) and the per-unit suffix
/// (`per_second`), empty when absent or an annotation like `{requests}`.
pub fn unit_suffixes(unit: &str) -> (String, String) {
    let mut parts = unit.splitn(2, '/');
    let main = parts.next().unwrap_or("").trim();
    let per = parts.next().unwrap_or("").trim();
    let usable = |u: &str| !u.is_empty() && !u.contains(['{', '}']);
    let main = if usable(main) {
        unit_word(main).to_owned()
    } else {
        String::new()
    };
    let per = if usable(per) {
        format!("per_{}", per_unit_word(per))
    } else {
        String::new()
    };
    (main, per)
}

/// The Prometheus metric name of an OTLP metric (`MetricNamer.Build`).
pub fn metric_name(
    name: &str,
    unit: &str,
    kind: MetricKind,
    strategy: TranslationStrategy,
) -> String {
    match strategy {
        TranslationStrategy::NoTranslation => name.to_owned(),
        TranslationStrategy::NoUtf8EscapingWithSuffixes => {
            // UTF-8 allowed: suffixes appended as they are, nothing else touched.
            let (main, per) = unit_suffixes(unit);
            let mut out = name.to_owned();
            for suffix in [main, per] {
                if !suffix.is_empty() {
                    out.push('_');
                    out.push_str(&suffix);
                }
            }
            if kind == MetricKind::Counter {
                out.push_str("_total");
            }
            if unit == "1" && kind == MetricKind::Gauge {
                out.push_str("_ratio");
            }
            out
        }
        TranslationStrategy::UnderscoreEscapingWithoutSuffixes => {
            let out = name
                .split(|c: char| !(c.is_ascii_alphanumeric() || c == ':' || c == '_'))
                .filter(|t| !t.is_empty())
                .collect::<Vec<_>>()
                .join("_");
            prefix_digit(out)
        }
        TranslationStrategy::UnderscoreEscapingWithSuffixes => {
            let mut tokens: Vec<String> = name
                .split(|c: char| !(c.is_ascii_alphanumeric() || c == ':'))
                .filter(|t| !t.is_empty())
                .map(str::to_owned)
                .collect();
            let (main, per) = unit_suffixes(unit);
            let mut main = clean_up_unit(&main);
            let mut per = clean_up_unit(&per);
            if tokens.contains(&main) {
                main.clear();
            }
            if per == "per_" {
                per.clear();
            } else {
                per = per.trim_end_matches('_').to_owned();
                if tokens.contains(&per) {
                    per.clear();
                }
            }
            if !per.is_empty() {
                main = main.trim_end_matches('_').to_owned();
            }
            for suffix in [main, per] {
                if !suffix.is_empty() {
                    tokens.push(suffix);
                }
            }
            if kind == MetricKind::Counter {
                tokens.retain(|t| t != "total");
                tokens.push("total".into());
            }
            if unit == "1" && kind == MetricKind::Gauge {
                tokens.retain(|t| t != "ratio");
                tokens.push("ratio".into());
            }
            prefix_digit(tokens.join("_"))
        }
    }
}

fn prefix_digit(mut name: String) -> String {
    if name.starts_with(|c: char| c.is_ascii_digit()) {
        name.insert(0, '_');
    }
    name
}

/// Prometheus' `LabelNamer`: how attribute keys become label names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LabelNamer {
    /// Keys are kept as they are (UTF-8 strategies).
    pub utf8: bool,
    /// `label_name_underscore_sanitization`: `key` before a leading `_` (default true).
    pub underscore_sanitization: bool,
    /// `label_name_preserve_multiple_underscores`: keep runs of `_` (default true).
    pub preserve_multiple_underscores: bool,
}

impl Default for LabelNamer {
    fn default() -> Self {
        Self {
            utf8: false,
            underscore_sanitization: true,
            preserve_multiple_underscores: true,
        }
    }
}

impl LabelNamer {
    /// The namer for a translation strategy with the default options.
    pub fn for_strategy(strategy: TranslationStrategy) -> Self {
        Self {
            utf8: !strategy.escapes(),
            ..Self::default()
        }
    }

    /// The label name of `key`: reserved `__x` names kept, characters outside
    /// `[a-zA-Z0-9]` escaped to `_`, `key_` before a digit and `key` before a leading `_`.
    /// `None` when the name would be empty or only underscores (Prometheus refuses those).
    pub fn build(&self, key: &str) -> Option<String> {
        if key.is_empty() {
            return None;
        }
        if self.utf8 {
            return Some(key.to_owned());
        }
        let b = key.as_bytes();
        if b.len() >= 2 && b[0] == b'_' && b[1] == b'_' && b.get(2) != Some(&b'_') {
            return Some(key.to_owned());
        }
        let mut sanitized = String::with_capacity(key.len());
        for c in key.chars() {
            if c.is_ascii_alphanumeric() {
                sanitized.push(c);
            } else if self.preserve_multiple_underscores || !sanitized.ends_with('_') {
                sanitized.push('_');
            }
        }
        if sanitized.chars().all(|c| c == '_') {
            return None;
        }
        Some(if sanitized.starts_with(|c: char| c.is_ascii_digit()) {
            format!("key_{sanitized}")
        } else if self.underscore_sanitization && sanitized.starts_with('_') {
            format!("key{sanitized}")
        } else {
            sanitized
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use MetricKind::*;
    use TranslationStrategy::*;

    fn n(name: &str, unit: &str, kind: MetricKind) -> String {
        metric_name(name, unit, kind, UnderscoreEscapingWithSuffixes)
    }

    /// Cases from the OpenTelemetry → Prometheus compatibility spec and Prometheus'
    /// translator tests.
    #[test]
    fn default_strategy_names() {
        assert_eq!(
            n("system.cpu.time", "s", Counter),
            "system_cpu_time_seconds_total"
        );
        assert_eq!(
            n("http.server.request.duration", "s", Other),
            "http_server_request_duration_seconds"
        );
        assert_eq!(
            n("system.memory.usage", "By", Other),
            "system_memory_usage_bytes"
        );
        assert_eq!(
            n("system.filesystem.utilization", "1", Gauge),
            "system_filesystem_utilization_ratio"
        );
        assert_eq!(
            n("throughput", "By/s", Gauge),
            "throughput_bytes_per_second"
        );
        assert_eq!(n("requests", "{requests}", Counter), "requests_total");
        assert_eq!(n("requests_total", "", Counter), "requests_total");
        assert_eq!(n("total_requests", "", Counter), "requests_total");
        assert_eq!(n("latency_seconds", "s", Gauge), "latency_seconds");
        assert_eq!(n("speed", "m/h", Gauge), "speed_meters_per_hour");
        // The per-unit is one token, so it is appended even when the name spells it out.
        assert_eq!(
            n("bytes_per_second", "By/s", Gauge),
            "bytes_per_second_per_second"
        );
        assert_eq!(n("rate", "1/s", Gauge), "rate_per_second");
        assert_eq!(n("weird", "foo.bar", Gauge), "weird_foo_bar");
        assert_eq!(n("temp", "Cel", Gauge), "temp_celsius");
        assert_eq!(n("odd", "foo/bar", Gauge), "odd_foo_per_bar");
        assert_eq!(n("pct", "%", Gauge), "pct_percent");
        assert_eq!(n("ratio_metric", "1", Gauge), "metric_ratio");
        assert_eq!(n("0starts.with.digit", "", Gauge), "_0starts_with_digit");
        assert_eq!(n("foo__bar..baz", "", Gauge), "foo_bar_baz");
        assert_eq!(n("ns:metric", "", Gauge), "ns:metric");
        assert_eq!(
            n("unit.one.counter", "1", Counter),
            "unit_one_counter_total"
        );
    }

    #[test]
    fn other_strategies() {
        assert_eq!(
            metric_name(
                "system.cpu.time",
                "s",
                Counter,
                UnderscoreEscapingWithoutSuffixes
            ),
            "system_cpu_time"
        );
        assert_eq!(
            metric_name("system.cpu.time", "s", Counter, NoUtf8EscapingWithSuffixes),
            "system.cpu.time_seconds_total"
        );
        assert_eq!(
            metric_name("system.cpu.time", "s", Counter, NoTranslation),
            "system.cpu.time"
        );
    }

    #[test]
    fn label_names() {
        let d = LabelNamer::default();
        let l = |k| d.build(k);
        assert_eq!(l("http.method").as_deref(), Some("http_method"));
        assert_eq!(l("0abc").as_deref(), Some("key_0abc"));
        assert_eq!(l("_private").as_deref(), Some("key_private"));
        assert_eq!(l("___three").as_deref(), Some("key___three"));
        assert_eq!(l("__reserved__").as_deref(), Some("__reserved__"));
        assert_eq!(l("a..b").as_deref(), Some("a__b"));
        assert_eq!(l("ünï").as_deref(), Some("key_n_"));
        assert_eq!(l("..."), None);
        assert_eq!(l(""), None);
        let collapse = LabelNamer {
            preserve_multiple_underscores: false,
            underscore_sanitization: false,
            ..d
        };
        assert_eq!(collapse.build("a.._b").as_deref(), Some("a_b"));
        assert_eq!(collapse.build("_private").as_deref(), Some("_private"));
        let utf8 = LabelNamer::for_strategy(NoUtf8EscapingWithSuffixes);
        assert_eq!(utf8.build("http.method").as_deref(), Some("http.method"));
    }
}
