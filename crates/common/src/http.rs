//! The HTTP serving scaffold every service shares.
//!
//! [`HttpServer::builder`] takes the service's `Router` and adds what every upstream server
//! has: a readiness endpoint driven by a shared [`Readiness`] flag (`/ready` → `ready` as
//! Loki/Tempo, or `/-/ready` → `Prometheus Server is Ready.`), `/metrics` from the service's
//! [`crate::metrics::Registry`], a request body limit answered with a 413 in the service's
//! error style, per-request tracing spans and request metrics named as the upstream names them
//! ([`RequestMetricsStyle`]), `X-Scope-OrgID` handling ([`crate::tenant`]), Go's
//! `404 page not found` fallback, and graceful shutdown: on a [`CancellationToken`] (or
//! SIGTERM/SIGINT through [`shutdown_signal`]) the server turns not-ready, stops accepting and
//! drains in-flight requests up to a deadline.
//!
//! [`HttpServerBuilder::build_router`] gives the fully layered `Router` for
//! `tower::ServiceExt::oneshot` tests; [`HttpServerBuilder::bind`] binds a socket and
//! [`HttpServer::serve`] runs it.

mod limit;
mod observe;
mod ready;
mod server;
mod shutdown;

pub use limit::body_limit;
pub use observe::{RequestMetrics, RequestMetricsStyle, dskit_route_name};
pub use ready::{Readiness, ReadyEndpoint};
pub use server::{DEFAULT_BODY_LIMIT, DEFAULT_DRAIN_TIMEOUT, HttpServer, HttpServerBuilder};
pub use shutdown::{cancel_on_signal, shutdown_signal};
pub use tokio_util::sync::CancellationToken;

#[cfg(test)]
mod tests;
