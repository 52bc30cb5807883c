//! Per-request tracing span and request metrics, named the way the replaced upstream names them.

use std::sync::Arc;
use std::time::Instant;

use axum::body::HttpBody as _;
use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use http::header;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use tracing::Instrument;

use crate::metrics::{DEFAULT_BUCKETS, HistogramFamily, Registry};

/// Which upstream's HTTP metrics to expose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestMetricsStyle {
    /// dskit (Loki, Tempo, Mimir): `<ns>_request_duration_seconds{method,route,status_code,ws}`,
    /// `<ns>_request_message_bytes{method,route}`, `<ns>_response_message_bytes{method,route}`,
    /// `<ns>_inflight_requests{method,route}`; `route` is the path template made a label
    /// value (`/loki/api/v1/push` → `loki_api_v1_push`, see [`dskit_route_name`]).
    Dskit {
        /// Metric namespace (`loki`, `tempo`).
        namespace: String,
    },
    /// client_golang promhttp as wired by Prometheus/Alertmanager:
    /// `<prefix>_http_requests_total{code,handler}`,
    /// `<prefix>_http_request_duration_seconds{handler}`,
    /// `<prefix>_http_response_size_bytes{handler}`; `handler` is the path template.
    Prometheus {
        /// Metric prefix (`prometheus`, `alertmanager`).
        prefix: String,
    },
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DskitLabels {
    method: String,
    route: String,
    status_code: String,
    ws: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct MethodRoute {
    method: String,
    route: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CodeHandler {
    code: String,
    handler: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HandlerLabel {
    handler: String,
}

#[derive(Debug)]
enum Instruments {
    Dskit {
        duration: HistogramFamily<DskitLabels>,
        request_bytes: HistogramFamily<MethodRoute>,
        response_bytes: HistogramFamily<MethodRoute>,
        inflight: Family<MethodRoute, Gauge>,
    },
    Prometheus {
        requests: Family<CodeHandler, Counter>,
        duration: HistogramFamily<HandlerLabel>,
        response_size: HistogramFamily<HandlerLabel>,
    },
}

/// dskit's `BodySizeBuckets` (1 MiB … 250 MiB).
const DSKIT_BODY_BUCKETS: [f64; 8] = [
    1048576.0,
    2621440.0,
    5242880.0,
    10485760.0,
    26214400.0,
    52428800.0,
    104857600.0,
    262144000.0,
];
/// Prometheus' `instrumentHandler` duration buckets (`web/web.go`).
const PROMETHEUS_DURATION_BUCKETS: [f64; 9] = [0.1, 0.2, 0.4, 1.0, 3.0, 8.0, 20.0, 60.0, 120.0];
/// Prometheus' response size buckets: `ExponentialBuckets(100, 10, 8)`.
const PROMETHEUS_SIZE_BUCKETS: [f64; 8] = [1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9];

/// The request metrics of one server, registered once into the service's registry.
#[derive(Debug, Clone)]
pub struct RequestMetrics {
    inner: Arc<Instruments>,
}

impl RequestMetrics {
    /// Register the metrics of `style` into `registry`.
    pub fn register(registry: &Registry, style: &RequestMetricsStyle) -> Self {
        let inner = match style {
            RequestMetricsStyle::Dskit { namespace } => Instruments::Dskit {
                duration: registry.histogram_family(
                    &format!("{namespace}_request_duration_seconds"),
                    "Time (in seconds) spent serving HTTP requests.",
                    &DEFAULT_BUCKETS,
                ),
                request_bytes: registry.histogram_family(
                    &format!("{namespace}_request_message_bytes"),
                    "Size (in bytes) of messages received in the request.",
                    &DSKIT_BODY_BUCKETS,
                ),
                response_bytes: registry.histogram_family(
                    &format!("{namespace}_response_message_bytes"),
                    "Size (in bytes) of messages sent in response.",
                    &DSKIT_BODY_BUCKETS,
                ),
                inflight: registry.gauge_family(
                    &format!("{namespace}_inflight_requests"),
                    "Current number of inflight requests.",
                ),
            },
            RequestMetricsStyle::Prometheus { prefix } => Instruments::Prometheus {
                requests: registry.counter_family(
                    &format!("{prefix}_http_requests_total"),
                    "Counter of HTTP requests.",
                ),
                duration: registry.histogram_family(
                    &format!("{prefix}_http_request_duration_seconds"),
                    "Histogram of latencies for HTTP requests.",
                    &PROMETHEUS_DURATION_BUCKETS,
                ),
                response_size: registry.histogram_family(
                    &format!("{prefix}_http_response_size_bytes"),
                    "Histogram of response size for HTTP requests.",
                    &PROMETHEUS_SIZE_BUCKETS,
                ),
            },
        };
        RequestMetrics {
            inner: Arc::new(inner),
        }
    }
}

/// dskit's `MakeLabelValue`: lower-case the path template, turn every run of characters other
/// than `[a-z0-9]` into one `_`, trim `_` at both ends (`/api/prom/push` → `api_prom_push`).
pub fn dskit_route_name(template: &str) -> String {
    let mut out = String::with_capacity(template.len());
    for ch in template.chars().flat_map(char::to_lowercase) {
        if ch.is_ascii_lowercase() || ch.is_ascii_digit() {
            out.push(ch);
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    out.trim_matches('_').to_owned()
}

/// State of the observing middleware.
#[derive(Debug, Clone)]
pub(crate) struct Observer {
    pub(crate) service: Arc<str>,
    pub(crate) metrics: Option<RequestMetrics>,
}

pub(crate) async fn observe(
    State(obs): State<Observer>,
    matched: Option<MatchedPath>,
    req: Request,
    next: Next,
) -> Response {
    let start = Instant::now();
    let method = req.method().as_str().to_owned();
    let template = matched.as_ref().map(|m| m.as_str().to_owned());
    let path = req.uri().path().to_owned();
    let is_ws = req
        .headers()
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    let request_len = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0);

    let org_id = req
        .headers()
        .get(crate::tenant::ORG_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let span = tracing::info_span!(
        "http_request",
        service = %obs.service,
        method = %method,
        route = template.as_deref().unwrap_or("other"),
        path = %path,
        org_id = tracing::field::Empty,
        status = tracing::field::Empty,
    );
    if !org_id.is_empty() {
        span.record("org_id", org_id);
    }
    #[cfg(feature = "otel")]
    otel::set_remote_parent(&span, req.headers());

    let inflight = match obs.metrics.as_ref().map(|m| &*m.inner) {
        Some(Instruments::Dskit { inflight, .. }) => {
            let g = inflight
                .get_or_create(&MethodRoute {
                    method: method.clone(),
                    route: dskit_route(template.as_deref()),
                })
                .clone();
            g.inc();
            Some(g)
        }
        _ => None,
    };

    let resp = next.run(req).instrument(span.clone()).await;
    if let Some(g) = inflight {
        g.dec();
    }

    let status = resp.status().as_u16();
    let elapsed = start.elapsed().as_secs_f64();
    span.record("status", status);
    span.in_scope(|| {
        tracing::debug!(status, duration_seconds = elapsed, "request served");
    });

    let response_len = resp.body().size_hint().exact();
    match obs.metrics.as_ref().map(|m| &*m.inner) {
        Some(Instruments::Dskit {
            duration,
            request_bytes,
            response_bytes,
            ..
        }) => {
            let route = dskit_route(template.as_deref());
            duration
                .get_or_create(&DskitLabels {
                    method: method.clone(),
                    route: route.clone(),
                    status_code: status.to_string(),
                    ws: is_ws.to_string(),
                })
                .observe(elapsed);
            let mr = MethodRoute { method, route };
            request_bytes.get_or_create(&mr).observe(request_len as f64);
            if let Some(n) = response_len {
                response_bytes.get_or_create(&mr).observe(n as f64);
            }
        }
        Some(Instruments::Prometheus {
            requests,
            duration,
            response_size,
        }) => {
            let handler = template.unwrap_or_else(|| "other".to_owned());
            requests
                .get_or_create(&CodeHandler {
                    code: status.to_string(),
                    handler: handler.clone(),
                })
                .inc();
            let h = HandlerLabel { handler };
            duration.get_or_create(&h).observe(elapsed);
            if let Some(n) = response_len {
                response_size.get_or_create(&h).observe(n as f64);
            }
        }
        None => {}
    }
    resp
}

fn dskit_route(template: Option<&str>) -> String {
    match template {
        Some(t) => {
            let name = dskit_route_name(t);
            if name.is_empty() {
                "root".to_owned()
            } else {
                name
            }
        }
        None => "other".to_owned(),
    }
}

#[cfg(feature = "otel")]
mod otel {
    use opentelemetry::propagation::{Extractor, TextMapPropagator};
    use tracing_opentelemetry::OpenTelemetrySpanExt;

    struct Headers<'a>(&'a http::HeaderMap);

    impl Extractor for Headers<'_> {
        fn get(&self, key: &str) -> Option<&str> {
            self.0.get(key).and_then(|v| v.to_str().ok())
        }
        fn keys(&self) -> Vec<&str> {
            self.0.keys().map(|k| k.as_str()).collect()
        }
    }

    /// Continue the caller's trace (W3C `traceparent`) in the request span.
    pub(super) fn set_remote_parent(span: &tracing::Span, headers: &http::HeaderMap) {
        if !headers.contains_key("traceparent") {
            return;
        }
        let cx = opentelemetry_sdk::propagation::TraceContextPropagator::new()
            .extract(&Headers(headers));
        let _ = span.set_parent(cx);
    }
}
