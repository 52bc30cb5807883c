//! Readiness: a shared flag the service flips, served at the upstream's path with its texts.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::{HeaderValue, Method, StatusCode, header};
use parking_lot::RwLock;

/// Whether the service is ready, and if not, the text its readiness endpoint answers with 503.
///
/// Cloned into whatever decides readiness (WAL replay done, ring joined); starts not ready.
#[derive(Debug, Clone)]
pub struct Readiness {
    state: Arc<RwLock<Option<String>>>,
}

impl Default for Readiness {
    fn default() -> Self {
        Readiness::not_ready("Not ready")
    }
}

impl Readiness {
    /// A flag starting not ready with `reason` as the 503 body.
    pub fn not_ready(reason: impl Into<String>) -> Self {
        Readiness {
            state: Arc::new(RwLock::new(Some(reason.into()))),
        }
    }

    /// A flag starting ready (stateless services).
    pub fn ready() -> Self {
        Readiness {
            state: Arc::new(RwLock::new(None)),
        }
    }

    /// Mark ready.
    pub fn set_ready(&self) {
        *self.state.write() = None;
    }

    /// Mark not ready, answering `reason` with 503 (Loki: `Application is stopping`, Prometheus:
    /// `Service Unavailable`).
    pub fn set_not_ready(&self, reason: impl Into<String>) {
        *self.state.write() = Some(reason.into());
    }

    /// Whether ready now.
    pub fn is_ready(&self) -> bool {
        self.state.read().is_none()
    }

    /// The not-ready reason, if any.
    pub fn reason(&self) -> Option<String> {
        self.state.read().clone()
    }
}

/// Paths and texts of the readiness (and optional liveness) endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadyEndpoint {
    /// Readiness path (`/ready`, `/-/ready`).
    pub path: String,
    /// 200 body when ready.
    pub ready_body: String,
    /// If set, the body of every not-ready 503 instead of the [`Readiness`] reason (Prometheus
    /// always answers `Service Unavailable`).
    pub fixed_not_ready_body: Option<String>,
    /// Liveness path and its 200 body (`/-/healthy`), always answered.
    pub healthy: Option<(String, String)>,
    /// 503 reason set when shutdown starts (Loki: `Application is stopping`).
    pub stopping_reason: String,
}

impl ReadyEndpoint {
    /// Loki, Tempo and other dskit services: `GET /ready` → `ready\n`.
    pub fn dskit() -> Self {
        ReadyEndpoint {
            path: "/ready".to_owned(),
            ready_body: "ready\n".to_owned(),
            fixed_not_ready_body: None,
            healthy: None,
            stopping_reason: "Application is stopping\n".to_owned(),
        }
    }

    /// Prometheus-style (`web/web.go`): `/-/ready` → `<app> is Ready.\n`, not ready → 503
    /// `Service Unavailable`, `/-/healthy` → `<app> is Healthy.\n`.
    pub fn prometheus(app_name: &str) -> Self {
        ReadyEndpoint {
            path: "/-/ready".to_owned(),
            ready_body: format!("{app_name} is Ready.\n"),
            fixed_not_ready_body: Some("Service Unavailable".to_owned()),
            healthy: Some(("/-/healthy".to_owned(), format!("{app_name} is Healthy.\n"))),
            stopping_reason: "Service Unavailable".to_owned(),
        }
    }

    pub(crate) fn router(&self, readiness: Readiness) -> Router {
        let st = Arc::new((self.clone(), readiness));
        let mut router = Router::new().route(
            &self.path,
            get(ready_handler)
                .head(ready_handler)
                .with_state(st.clone()),
        );
        if let Some((path, body)) = &self.healthy {
            let body = body.clone();
            router = router.route(
                path,
                get(move |method: Method| {
                    let body = body.clone();
                    async move {
                        plain(
                            StatusCode::OK,
                            if method == Method::HEAD {
                                String::new()
                            } else {
                                body
                            },
                        )
                    }
                }),
            );
        }
        router
    }
}

async fn ready_handler(
    State(st): State<Arc<(ReadyEndpoint, Readiness)>>,
    method: Method,
) -> Response {
    let (ep, readiness) = &*st;
    let (status, body) = match readiness.reason() {
        None => (StatusCode::OK, ep.ready_body.clone()),
        Some(reason) => (
            StatusCode::SERVICE_UNAVAILABLE,
            ep.fixed_not_ready_body.clone().unwrap_or(reason),
        ),
    };
    plain(
        status,
        if method == Method::HEAD {
            String::new()
        } else {
            body
        },
    )
}

fn plain(status: StatusCode, body: String) -> Response {
    let mut resp = (status, body).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    resp
}
