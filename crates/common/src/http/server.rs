//! [`HttpServerBuilder`] and [`HttpServer`]: layering, binding, serving and draining.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::{HeaderMap, StatusCode, header};
use tokio::net::{TcpListener, ToSocketAddrs};
use tokio_util::sync::CancellationToken;

use super::limit::{self, BodyLimit};
use super::observe::{self, Observer, RequestMetrics, RequestMetricsStyle};
use super::ready::{Readiness, ReadyEndpoint};
use crate::api::{ApiError, ErrorStyle, Text};
use crate::metrics::Registry;
use crate::tenant::TenantConfig;

/// Default request body limit: Loki's `-distributor.max-recv-msg-size` (100 MiB).
pub const DEFAULT_BODY_LIMIT: usize = 100 << 20;
/// Default drain deadline: dskit's `-server.graceful-shutdown-timeout` (30 s).
pub const DEFAULT_DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

/// Assembles a service's HTTP server; see the [module docs](super).
#[derive(Debug)]
pub struct HttpServerBuilder {
    service: Arc<str>,
    router: Router,
    readiness: Readiness,
    ready: Option<ReadyEndpoint>,
    metrics_path: Option<String>,
    registry: Registry,
    request_metrics: Option<RequestMetricsStyle>,
    body_limit: usize,
    error_style: ErrorStyle,
    tenant: TenantConfig,
    require_tenant: bool,
    gate_on_readiness: bool,
    drain_timeout: Duration,
}

/// Entry point: `HttpServer::builder("log-store")`.
#[derive(Debug)]
pub struct HttpServer {
    listener: TcpListener,
    local_addr: SocketAddr,
    router: Router,
    readiness: Readiness,
    stopping_reason: Option<String>,
    drain_timeout: Duration,
    service: Arc<str>,
}

impl HttpServer {
    /// Start building the server of `service_name` (used in logs and spans).
    pub fn builder(service_name: &str) -> HttpServerBuilder {
        HttpServerBuilder {
            service: service_name.into(),
            router: Router::new(),
            readiness: Readiness::default(),
            ready: Some(ReadyEndpoint::dskit()),
            metrics_path: Some("/metrics".to_owned()),
            registry: Registry::new(),
            request_metrics: None,
            body_limit: DEFAULT_BODY_LIMIT,
            error_style: ErrorStyle::Prometheus,
            tenant: TenantConfig::default(),
            require_tenant: false,
            gate_on_readiness: false,
            drain_timeout: DEFAULT_DRAIN_TIMEOUT,
        }
    }

    /// The bound address (the real port when bound to port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The readiness flag, to flip once the service is ready.
    pub fn readiness(&self) -> &Readiness {
        &self.readiness
    }

    /// Serve until `shutdown` is cancelled; then turn not-ready, stop accepting (new
    /// connections are refused), let in-flight requests finish and return, or return after the
    /// drain deadline with the stragglers abandoned.
    pub async fn serve(self, shutdown: CancellationToken) -> io::Result<()> {
        let HttpServer {
            listener,
            local_addr,
            router,
            readiness,
            stopping_reason,
            drain_timeout,
            service,
        } = self;
        tracing::info!(service = %service, addr = %local_addr, "http server listening");
        let token = shutdown.clone();
        let signal = async move {
            token.cancelled().await;
            if let Some(reason) = stopping_reason {
                readiness.set_not_ready(reason);
            }
        };
        let server = axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(signal)
        .into_future();
        let mut server = std::pin::pin!(server);
        tokio::select! {
            res = &mut server => res,
            () = shutdown.cancelled() => {
                tracing::info!(service = %service, deadline_seconds = drain_timeout.as_secs_f64(), "draining http connections");
                match tokio::time::timeout(drain_timeout, &mut server).await {
                    Ok(res) => res,
                    Err(_) => {
                        tracing::warn!(service = %service, "drain deadline exceeded, abandoning open connections");
                        Ok(())
                    }
                }
            }
        }
    }
}

impl HttpServerBuilder {
    /// Add the service's routes (merged; call several times to add several routers).
    pub fn router(mut self, router: Router) -> Self {
        self.router = self.router.merge(router);
        self
    }

    /// The readiness flag the service flips (default: not ready until set).
    pub fn readiness(mut self, readiness: Readiness) -> Self {
        self.readiness = readiness;
        self
    }

    /// Readiness endpoint paths and texts; `None` to serve none (default
    /// [`ReadyEndpoint::dskit`]).
    pub fn ready_endpoint(mut self, endpoint: Option<ReadyEndpoint>) -> Self {
        self.ready = endpoint;
        self
    }

    /// Where to serve the registry (default `/metrics`); `None` to serve none.
    pub fn metrics_path(mut self, path: Option<&str>) -> Self {
        self.metrics_path = path.map(str::to_owned);
        self
    }

    /// The service's metrics registry (request metrics are registered into it too).
    pub fn registry(mut self, registry: Registry) -> Self {
        self.registry = registry;
        self
    }

    /// Record request metrics named as `style` names them.
    pub fn request_metrics(mut self, style: RequestMetricsStyle) -> Self {
        self.request_metrics = Some(style);
        self
    }

    /// Largest accepted request body in bytes (default [`DEFAULT_BODY_LIMIT`]).
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.body_limit = bytes;
        self
    }

    /// Style of the errors the scaffold itself answers (413, 404 stays Go's text).
    pub fn error_style(mut self, style: ErrorStyle) -> Self {
        self.error_style = style;
        self
    }

    /// Tenant policy, made available to the [`crate::tenant::Tenant`] extractor.
    pub fn tenant(mut self, config: TenantConfig) -> Self {
        self.tenant = config;
        self
    }

    /// Reject requests to the service's routes without a valid tenant before the handler runs
    /// (dskit's auth middleware: 401 `no org id`); readiness and metrics stay open.
    pub fn require_tenant(mut self, enabled: bool) -> Self {
        self.require_tenant = enabled;
        self
    }

    /// Answer the service's routes with 503 while not ready, as Prometheus' `testReady` does
    /// (`Service Unavailable`, or the readiness reason when the endpoint has no fixed text).
    pub fn gate_on_readiness(mut self, enabled: bool) -> Self {
        self.gate_on_readiness = enabled;
        self
    }

    /// How long to wait for in-flight requests on shutdown (default
    /// [`DEFAULT_DRAIN_TIMEOUT`]).
    pub fn drain_timeout(mut self, timeout: Duration) -> Self {
        self.drain_timeout = timeout;
        self
    }

    /// The fully layered router, for `oneshot` tests or a caller's own server.
    pub fn build_router(&self) -> Router {
        let mut service = self.router.clone();
        if self.require_tenant {
            service = service.layer(from_fn_with_state(self.tenant.clone(), require_tenant));
        }
        if self.gate_on_readiness {
            let fixed = self
                .ready
                .as_ref()
                .and_then(|r| r.fixed_not_ready_body.clone());
            service = service.layer(from_fn_with_state(
                (self.readiness.clone(), fixed),
                ready_gate,
            ));
        }
        let mut app = Router::new().merge(service);
        if let Some(ep) = &self.ready {
            app = app.merge(ep.router(self.readiness.clone()));
        }
        if let Some(path) = &self.metrics_path {
            app = app.route(path, get(metrics_handler).with_state(self.registry.clone()));
        }
        let metrics = self
            .request_metrics
            .as_ref()
            .map(|style| RequestMetrics::register(&self.registry, style));
        app.fallback(go_not_found)
            .layer(axum::Extension(self.tenant.clone()))
            .layer(from_fn_with_state(
                BodyLimit {
                    max: self.body_limit,
                    style: self.error_style,
                },
                limit::enforce,
            ))
            .layer(DefaultBodyLimit::disable())
            .layer(from_fn_with_state(
                Observer {
                    service: self.service.clone(),
                    metrics,
                },
                observe::observe,
            ))
    }

    /// Bind `addr` (`127.0.0.1:0` in tests; read the port from [`HttpServer::local_addr`]).
    pub async fn bind(self, addr: impl ToSocketAddrs) -> io::Result<HttpServer> {
        let listener = TcpListener::bind(addr).await?;
        self.listen(listener)
    }

    /// Use an already bound listener.
    pub fn listen(self, listener: TcpListener) -> io::Result<HttpServer> {
        let local_addr = listener.local_addr()?;
        let router = self.build_router();
        Ok(HttpServer {
            listener,
            local_addr,
            router,
            readiness: self.readiness,
            stopping_reason: self.ready.map(|r| r.stopping_reason),
            drain_timeout: self.drain_timeout,
            service: self.service,
        })
    }
}

async fn ready_gate(
    State((readiness, fixed)): State<(Readiness, Option<String>)>,
    req: Request,
    next: Next,
) -> Response {
    match readiness.reason() {
        None => next.run(req).await,
        Some(reason) => {
            let mut resp =
                (StatusCode::SERVICE_UNAVAILABLE, fixed.unwrap_or(reason)).into_response();
            resp.headers_mut().insert(
                header::CONTENT_TYPE,
                http::HeaderValue::from_static("text/plain; charset=utf-8"),
            );
            resp
        }
    }
}

async fn require_tenant(State(cfg): State<TenantConfig>, mut req: Request, next: Next) -> Response {
    match cfg.resolve(req.headers()) {
        Ok(tenant) => {
            req.extensions_mut().insert(tenant);
            next.run(req).await
        }
        Err(err) => ApiError::<Text>::from_error(&err).into_response(),
    }
}

async fn metrics_handler(State(registry): State<Registry>, headers: HeaderMap) -> Response {
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    match registry.encode_for_accept(accept) {
        Ok((content_type, body)) => ([(header::CONTENT_TYPE, content_type)], body).into_response(),
        Err(err) => {
            ApiError::<Text>::internal(format!("error encoding metrics: {err}")).into_response()
        }
    }
}

/// Go's `http.NotFound`: `404 page not found\n`, as Prometheus and Loki answer unknown paths.
async fn go_not_found() -> Response {
    let mut resp = crate::api::error_response(
        ErrorStyle::Text,
        crate::error::ErrorKind::NotFound,
        "404 page not found",
    );
    *resp.status_mut() = StatusCode::NOT_FOUND;
    resp
}
