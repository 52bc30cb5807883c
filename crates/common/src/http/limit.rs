//! Request body limit: a declared `Content-Length` over the limit is refused before the handler
//! runs; a streamed body is cut at the limit, so extractors fail with 413 in the service's style.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use http::header;

use crate::api::{ErrorStyle, error_response};
use crate::error::ErrorKind;

/// The limit and the style its 413 is answered in.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BodyLimit {
    pub(crate) max: usize,
    pub(crate) style: ErrorStyle,
}

/// Middleware enforcing `limit.max` bytes on request bodies.
pub(crate) async fn enforce(State(limit): State<BodyLimit>, req: Request, next: Next) -> Response {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if let Some(len) = declared
        && len > limit.max as u64
    {
        return error_response(
            limit.style,
            ErrorKind::PayloadTooLarge,
            &format!("message size too large than max ({len} vs {})", limit.max),
        );
    }
    let req = req.map(|b| Body::new(http_body_util::Limited::new(b, limit.max)));
    next.run(req).await
}

/// A layer-ready middleware function for routers not built by [`super::HttpServer`]: bodies
/// over `max` bytes are answered 413 in `style`.
pub fn body_limit(router: axum::Router, max: usize, style: ErrorStyle) -> axum::Router {
    router
        .layer(axum::middleware::from_fn_with_state(
            BodyLimit { max, style },
            enforce,
        ))
        .layer(axum::extract::DefaultBodyLimit::disable())
}
