//! Request extractors whose rejections answer in the service's error style (see
//! [`super::ApiError`]) instead of axum's plain-text defaults.
//!
//! A rejection becomes `bad_data`, except a body over its limit (`payload_too_large`, 413) and
//! a wrong `Content-Type` (`unsupported_media_type`, 415).

use std::marker::PhantomData;

use axum::extract::{FromRequest, FromRequestParts, Request};
use bytes::Bytes;
use http::request::Parts;
use http::{Method, StatusCode, header};
use serde::de::DeserializeOwned;

use super::error::{ApiError, Prometheus, Style};
use crate::error::ErrorKind;

fn rejection<S: Style>(status: StatusCode, text: String) -> ApiError<S> {
    let kind = match status.as_u16() {
        413 => ErrorKind::PayloadTooLarge,
        415 => ErrorKind::UnsupportedMediaType,
        code if code >= 500 => ErrorKind::Internal,
        _ => ErrorKind::BadData,
    };
    ApiError::new(kind, text)
}

/// `axum::extract::Query` answering rejections in style `S`.
#[derive(Debug, Clone, Default)]
pub struct Query<T, S: Style = Prometheus>(pub T, pub PhantomData<S>);

impl<T, St, S> FromRequestParts<St> for Query<T, S>
where
    T: DeserializeOwned,
    St: Send + Sync,
    S: Style,
{
    type Rejection = ApiError<S>;

    async fn from_request_parts(parts: &mut Parts, state: &St) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| Query(q.0, PhantomData))
            .map_err(|r| rejection(r.status(), r.body_text()))
    }
}

/// `axum::Form` (urlencoded body, or the query string for GET) answering rejections in style `S`.
#[derive(Debug, Clone, Default)]
pub struct Form<T, S: Style = Prometheus>(pub T, pub PhantomData<S>);

impl<T, St, S> FromRequest<St> for Form<T, S>
where
    T: DeserializeOwned,
    St: Send + Sync,
    S: Style,
{
    type Rejection = ApiError<S>;

    async fn from_request(req: Request, state: &St) -> Result<Self, Self::Rejection> {
        axum::Form::<T>::from_request(req, state)
            .await
            .map(|f| Form(f.0, PhantomData))
            .map_err(|r| rejection(r.status(), r.body_text()))
    }
}

/// `axum::Json` answering rejections in style `S`.
#[derive(Debug, Clone, Default)]
pub struct Json<T, S: Style = Prometheus>(pub T, pub PhantomData<S>);

impl<T, St, S> FromRequest<St> for Json<T, S>
where
    T: DeserializeOwned,
    St: Send + Sync,
    S: Style,
{
    type Rejection = ApiError<S>;

    async fn from_request(req: Request, state: &St) -> Result<Self, Self::Rejection> {
        axum::Json::<T>::from_request(req, state)
            .await
            .map(|j| Json(j.0, PhantomData))
            .map_err(|r| rejection(r.status(), r.body_text()))
    }
}

/// The raw request body, read up to the body limit, with a style-`S` 413 when it is over.
#[derive(Debug, Clone, Default)]
pub struct BoundedBytes<S: Style = Prometheus>(pub Bytes, pub PhantomData<S>);

impl<St, S> FromRequest<St> for BoundedBytes<S>
where
    St: Send + Sync,
    S: Style,
{
    type Rejection = ApiError<S>;

    async fn from_request(req: Request, state: &St) -> Result<Self, Self::Rejection> {
        Bytes::from_request(req, state)
            .await
            .map(|b| BoundedBytes(b, PhantomData))
            .map_err(|r| rejection(r.status(), r.body_text()))
    }
}

/// Request parameters the way Go's `r.FormValue`/`r.Form` sees them: for POST, PUT and PATCH
/// with `Content-Type: application/x-www-form-urlencoded` the body's pairs first, then the
/// query string's. Repeated names (`match[]`) keep every value in order.
///
/// Prometheus and Loki accept every GET parameter as a POST form too; this is the extractor
/// for those endpoints.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params<S: Style = Prometheus> {
    pairs: Vec<(String, String)>,
    _style: PhantomData<fn() -> S>,
}

impl<S: Style> Params<S> {
    /// Parameters from one urlencoded string (a query string or a form body).
    pub fn from_urlencoded(input: &[u8]) -> Self {
        let mut params = Params {
            pairs: Vec::new(),
            _style: PhantomData,
        };
        params.extend_urlencoded(input);
        params
    }

    fn extend_urlencoded(&mut self, input: &[u8]) {
        self.pairs.extend(
            url::form_urlencoded::parse(input).map(|(k, v)| (k.into_owned(), v.into_owned())),
        );
    }

    /// The first value of `name` (body before query string), as Go's `FormValue`, or `None`
    /// when absent. Go returns `""` for both absent and empty; callers that care use
    /// [`Params::get_or_empty`].
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Go's `FormValue` exactly: the first value or `""`.
    pub fn get_or_empty(&self, name: &str) -> &str {
        self.get(name).unwrap_or("")
    }

    /// Every value of `name`, in order (`match[]`, `match`).
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.pairs
            .iter()
            .filter(move |(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Whether `name` appears at all (even with an empty value).
    pub fn contains(&self, name: &str) -> bool {
        self.pairs.iter().any(|(k, _)| k == name)
    }

    /// All pairs in order.
    pub fn pairs(&self) -> &[(String, String)] {
        &self.pairs
    }
}

fn is_form(req: &Request) -> bool {
    matches!(*req.method(), Method::POST | Method::PUT | Method::PATCH)
        && req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|v| {
                v.trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            })
}

impl<St, S> FromRequest<St> for Params<S>
where
    St: Send + Sync,
    S: Style,
{
    type Rejection = ApiError<S>;

    async fn from_request(req: Request, state: &St) -> Result<Self, Self::Rejection> {
        let query = req.uri().query().unwrap_or("").to_owned();
        let mut params = Params {
            pairs: Vec::new(),
            _style: PhantomData,
        };
        if is_form(&req) {
            let body = Bytes::from_request(req, state)
                .await
                .map_err(|r| rejection::<S>(r.status(), r.body_text()))?;
            params.extend_urlencoded(&body);
        }
        params.extend_urlencoded(query.as_bytes());
        Ok(params)
    }
}
