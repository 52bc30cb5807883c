//! Logging setup for binaries, configured like the Go upstreams: `--log.level=debug|info|warn|
//! error` and `--log.format=logfmt|json`.
//!
//! The logfmt output follows dskit/go-kit's shape, `level=info ts=2024-05-01T10:00:00.123Z
//! caller=<module> msg="…" key=value …`, with the fields of the enclosing spans (e.g. the
//! per-request span of [`crate::http`]) before the event's own. `RUST_LOG`, when set, overrides
//! the level with a full `tracing` filter.
//!
//! With the cargo feature `otel`, [`TelemetryConfig::otlp`] also exports the service's own
//! spans over OTLP/HTTP (protobuf) to a collector or to `trace-store` itself.

use std::fmt;
use std::str::FromStr;

use tracing::{Event, Level, Subscriber, field::Field};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// Why telemetry could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    /// A `--log.level` value outside `debug|info|warn|error` (Prometheus' promslog wording).
    #[error("unrecognized log level {0:?}")]
    InvalidLevel(String),
    /// A `--log.format` value outside `logfmt|json`.
    #[error("unrecognized log format {0:?}")]
    InvalidFormat(String),
    /// A global subscriber was already installed (second call, or a test harness).
    #[error("cannot install the log subscriber: {0}")]
    AlreadyInitialised(String),
    /// `RUST_LOG` did not parse.
    #[error("invalid RUST_LOG filter: {0}")]
    Filter(String),
    /// The OTLP exporter could not be built.
    #[error("cannot set up OTLP trace export: {0}")]
    Otlp(String),
}

/// The Go-style log level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogLevel {
    /// `debug`
    Debug,
    /// `info` (the upstreams' default)
    #[default]
    Info,
    /// `warn`
    Warn,
    /// `error`
    Error,
}

impl LogLevel {
    /// The level as written in flags and in logfmt output.
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
            LogLevel::Warn => "warn",
            LogLevel::Error => "error",
        }
    }
}

impl FromStr for LogLevel {
    type Err = TelemetryError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "debug" => Ok(LogLevel::Debug),
            "info" => Ok(LogLevel::Info),
            "warn" => Ok(LogLevel::Warn),
            "error" => Ok(LogLevel::Error),
            other => Err(TelemetryError::InvalidLevel(other.to_owned())),
        }
    }
}

impl fmt::Display for LogLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The Go-style log format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// `logfmt` (the upstreams' default).
    #[default]
    Logfmt,
    /// `json`: one JSON object per line.
    Json,
}

impl FromStr for LogFormat {
    type Err = TelemetryError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "logfmt" => Ok(LogFormat::Logfmt),
            "json" => Ok(LogFormat::Json),
            other => Err(TelemetryError::InvalidFormat(other.to_owned())),
        }
    }
}

/// OTLP/HTTP export of the service's own spans (feature `otel`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtlpConfig {
    /// Traces endpoint, e.g. `http://127.0.0.1:4318/v1/traces`.
    pub endpoint: String,
    /// `service.name` resource attribute.
    pub service_name: String,
}

/// Everything [`init`] sets up.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TelemetryConfig {
    /// Log level.
    pub level: LogLevel,
    /// Log format.
    pub format: LogFormat,
    /// Export own traces over OTLP (ignored without the `otel` feature, with a warning).
    pub otlp: Option<OtlpConfig>,
}

/// Keeps exporters alive; dropping it flushes and shuts down trace export.
#[must_use = "dropping the guard stops trace export"]
#[derive(Debug, Default)]
pub struct TelemetryGuard {
    #[cfg(feature = "otel")]
    provider: Option<opentelemetry_sdk::trace::SdkTracerProvider>,
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        #[cfg(feature = "otel")]
        if let Some(provider) = self.provider.take()
            && let Err(err) = provider.shutdown()
        {
            tracing::warn!(error = %err, "otlp trace exporter shutdown failed");
        }
    }
}

/// Install logging at `level` in `format` as the global subscriber.
pub fn init_logging(level: LogLevel, format: LogFormat) -> Result<TelemetryGuard, TelemetryError> {
    init(&TelemetryConfig {
        level,
        format,
        otlp: None,
    })
}

type Base = tracing_subscriber::layer::Layered<EnvFilter, tracing_subscriber::Registry>;
type BoxedLayer = Box<dyn Layer<Base> + Send + Sync>;

fn filter_for(level: LogLevel) -> Result<EnvFilter, TelemetryError> {
    match std::env::var("RUST_LOG") {
        Ok(spec) if !spec.is_empty() => {
            EnvFilter::try_new(spec).map_err(|e| TelemetryError::Filter(e.to_string()))
        }
        _ => Ok(EnvFilter::new(level.as_str())),
    }
}

/// The formatting layer for `format`, writing to stderr (as the Go upstreams do).
fn fmt_layer(format: LogFormat) -> BoxedLayer {
    match format {
        LogFormat::Logfmt => tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_ansi(false)
            .fmt_fields(LogfmtFields)
            .event_format(Logfmt)
            .boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(true)
            .boxed(),
    }
}

/// Install logging (and, with feature `otel`, trace export) as the global subscriber.
pub fn init(config: &TelemetryConfig) -> Result<TelemetryGuard, TelemetryError> {
    #[allow(unused_mut)]
    let mut layers: Vec<BoxedLayer> = vec![fmt_layer(config.format)];
    #[allow(unused_mut)]
    let mut guard = TelemetryGuard::default();
    if let Some(otlp) = &config.otlp {
        #[cfg(feature = "otel")]
        {
            let (layer, provider) = otel::layer(otlp)?;
            layers.push(layer);
            guard.provider = Some(provider);
        }
        #[cfg(not(feature = "otel"))]
        {
            let _ = otlp;
        }
    }
    tracing_subscriber::registry()
        .with(filter_for(config.level)?)
        .with(layers)
        .try_init()
        .map_err(|e| TelemetryError::AlreadyInitialised(e.to_string()))?;
    #[cfg(not(feature = "otel"))]
    if config.otlp.is_some() {
        tracing::warn!(
            "otlp trace export requested but lgtm-common was built without feature `otel`"
        );
    }
    Ok(guard)
}

#[cfg(feature = "otel")]
mod otel {
    use opentelemetry::trace::TracerProvider as _;
    use opentelemetry_otlp::{Protocol, WithExportConfig};
    use tracing_subscriber::Layer;

    use super::{BoxedLayer, OtlpConfig, TelemetryError};

    pub(super) fn layer(
        cfg: &OtlpConfig,
    ) -> Result<(BoxedLayer, opentelemetry_sdk::trace::SdkTracerProvider), TelemetryError> {
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_protocol(Protocol::HttpBinary)
            .with_endpoint(cfg.endpoint.clone())
            .build()
            .map_err(|e| TelemetryError::Otlp(e.to_string()))?;
        let resource = opentelemetry_sdk::Resource::builder()
            .with_service_name(cfg.service_name.clone())
            .build();
        let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_resource(resource)
            .build();
        let tracer = provider.tracer(cfg.service_name.clone());
        let layer = tracing_opentelemetry::layer().with_tracer(tracer).boxed();
        Ok((layer, provider))
    }
}

/// go-kit/dskit-style logfmt event formatter.
#[derive(Debug, Clone, Copy, Default)]
pub struct Logfmt;

/// Field formatter writing `key=value` pairs (used for span fields under [`Logfmt`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct LogfmtFields;

fn level_str(level: &Level) -> &'static str {
    match *level {
        Level::TRACE => "debug",
        Level::DEBUG => "debug",
        Level::INFO => "info",
        Level::WARN => "warn",
        Level::ERROR => "error",
    }
}

/// Append `value` to `out`, quoted as logfmt requires (spaces, `=`, `"`, control characters
/// or an empty value).
pub fn logfmt_value(out: &mut String, value: &str) {
    let needs_quotes = value.is_empty()
        || value
            .chars()
            .any(|c| c == ' ' || c == '=' || c == '"' || c == '\\' || c.is_control());
    if !needs_quotes {
        out.push_str(value);
        return;
    }
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[derive(Default)]
struct Collect {
    message: Option<String>,
    pairs: Vec<(&'static str, String)>,
}

impl tracing::field::Visit for Collect {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message = Some(value.to_owned());
        } else {
            self.pairs.push((field.name(), value.to_owned()));
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let v = format!("{value:?}");
        if field.name() == "message" {
            self.message = Some(v);
        } else {
            self.pairs.push((field.name(), v));
        }
    }
}

impl Collect {
    fn write_pairs(&self, out: &mut String) {
        for (k, v) in &self.pairs {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(k.strip_prefix("r#").unwrap_or(k));
            out.push('=');
            logfmt_value(out, v);
        }
    }
}

impl<'w> FormatFields<'w> for LogfmtFields {
    fn format_fields<R: tracing_subscriber::field::RecordFields>(
        &self,
        mut writer: Writer<'w>,
        fields: R,
    ) -> fmt::Result {
        let mut c = Collect::default();
        fields.record(&mut c);
        let mut out = String::new();
        if let Some(m) = &c.message {
            out.push_str("msg=");
            logfmt_value(&mut out, m);
        }
        c.write_pairs(&mut out);
        writer.write_str(&out)
    }
}

impl<S, N> FormatEvent<S, N> for Logfmt
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let meta = event.metadata();
        let mut out = String::with_capacity(160);
        out.push_str("level=");
        out.push_str(level_str(meta.level()));
        out.push_str(" ts=");
        out.push_str(
            &chrono::Utc::now()
                .format("%Y-%m-%dT%H:%M:%S%.3fZ")
                .to_string(),
        );
        out.push_str(" caller=");
        logfmt_value(&mut out, meta.target());
        let mut c = Collect::default();
        event.record(&mut c);
        if let Some(m) = &c.message {
            out.push_str(" msg=");
            logfmt_value(&mut out, m);
        }
        if let Some(scope) = ctx.event_scope() {
            for span in scope.from_root() {
                let ext = span.extensions();
                if let Some(fields) = ext.get::<FormattedFields<N>>()
                    && !fields.is_empty()
                {
                    out.push(' ');
                    out.push_str(fields);
                }
            }
        }
        let mut rest = String::new();
        c.write_pairs(&mut rest);
        if !rest.is_empty() {
            out.push(' ');
            out.push_str(&rest);
        }
        writeln!(writer, "{out}")
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use tracing_subscriber::fmt::MakeWriter;

    use super::*;

    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Buf {
        type Writer = Buf;
        fn make_writer(&'a self) -> Buf {
            self.clone()
        }
    }

    #[test]
    fn levels_and_formats_parse_like_go_flags() {
        assert_eq!("warn".parse::<LogLevel>().unwrap(), LogLevel::Warn);
        assert_eq!(
            "verbose".parse::<LogLevel>().unwrap_err().to_string(),
            r#"unrecognized log level "verbose""#
        );
        assert_eq!("json".parse::<LogFormat>().unwrap(), LogFormat::Json);
        assert!("text".parse::<LogFormat>().is_err());
    }

    #[test]
    fn logfmt_quoting() {
        let mut s = String::new();
        logfmt_value(&mut s, "plain");
        s.push(' ');
        logfmt_value(&mut s, "two words");
        s.push(' ');
        logfmt_value(&mut s, "a\"b\nc");
        s.push(' ');
        logfmt_value(&mut s, "");
        assert_eq!(s, r#"plain "two words" "a\"b\nc" """#);
    }

    #[test]
    fn logfmt_event_shape() {
        let buf = Buf::default();
        let subscriber = tracing_subscriber::registry().with(
            tracing_subscriber::fmt::layer()
                .with_writer(buf.clone())
                .with_ansi(false)
                .fmt_fields(LogfmtFields)
                .event_format(Logfmt),
        );
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!("http_request", method = "GET", route = "ready");
            let _g = span.enter();
            tracing::info!(tenant = "team a", count = 3, "pushed entries");
        });
        let out = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        let line = out.lines().next().unwrap();
        assert!(line.starts_with("level=info ts="), "{line}");
        assert!(
            line.ends_with(
                r#" msg="pushed entries" method=GET route=ready tenant="team a" count=3"#
            ),
            "{line}"
        );
        assert!(
            line.contains(" caller=lgtm_common::telemetry::tests "),
            "{line}"
        );
    }
}
