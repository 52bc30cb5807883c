//! The tenant of a request, from the `X-Scope-OrgID` header, as Loki, Tempo and Mimir resolve
//! it (dskit `user` and `tenant` packages).
//!
//! - Single-tenant mode (Loki `auth_enabled: false`, Tempo `multitenancy_enabled: false`):
//!   every request belongs to one tenant, `fake` unless configured (`-auth.no-auth-tenant`);
//!   the header is ignored, as dskit's fake-auth middleware does.
//! - Multi-tenant mode: the header is required; absent or empty → 401 `no org id`. The value
//!   is split on `|`; each id must be at most 150 bytes of `[A-Za-z0-9!-_.*'()]` and not `.` or
//!   `..` (dskit `tenant.ValidTenantID`); ids are sorted and de-duplicated. More than one id is
//!   accepted only where cross-tenant queries are enabled
//!   ([`TenantConfig::with_multi_tenant_queries`]), else `multiple org IDs present`.
//!
//! The [`Tenant`] extractor reads its [`TenantConfig`] from the request extensions (the HTTP
//! scaffold inserts it); without one it behaves as single-tenant `fake`.

use axum::extract::FromRequestParts;
use http::HeaderMap;
use http::request::Parts;

use crate::api::{ApiError, Text};
use crate::error::{ErrorKind, HasErrorKind};

/// The tenant header name (dskit `user.OrgIDHeaderName`).
pub const ORG_ID_HEADER: &str = "X-Scope-OrgID";
/// The tenant of every request when multi-tenancy is off (Loki `-auth.no-auth-tenant`).
pub const DEFAULT_NO_AUTH_TENANT: &str = "fake";
/// Longest accepted tenant id, in bytes (dskit `tenant.MaxTenantIDLength`).
pub const MAX_TENANT_ID_LENGTH: usize = 150;
/// Separator of tenant ids in a cross-tenant query header.
pub const TENANT_SEPARATOR: char = '|';

/// Why a request has no usable tenant; texts are dskit's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TenantError {
    /// Header absent or empty in multi-tenant mode (401).
    #[error("no org id")]
    NoOrgId,
    /// A character outside the allowed set.
    #[error("tenant ID '{id}' contains unsupported character '{ch}'")]
    UnsupportedCharacter {
        /// The offending id.
        id: String,
        /// The first unsupported character.
        ch: char,
    },
    /// Over [`MAX_TENANT_ID_LENGTH`] bytes.
    #[error("tenant ID is too long: max 150 characters")]
    TooLong,
    /// `.` or `..`, which would escape a per-tenant directory.
    #[error("tenant ID is '.' or '..'")]
    Unsafe,
    /// Several ids where only one is allowed.
    #[error("multiple org IDs present")]
    Multiple,
}

impl HasErrorKind for TenantError {
    fn error_kind(&self) -> ErrorKind {
        match self {
            TenantError::NoOrgId => ErrorKind::Unauthorized,
            _ => ErrorKind::BadData,
        }
    }
}

/// Validate one tenant id exactly as dskit's `tenant.ValidTenantID` does (character set first,
/// then length, then `.`/`..`).
pub fn validate_tenant_id(id: &str) -> Result<(), TenantError> {
    if let Some(ch) = id.chars().find(|&c| !is_supported(c)) {
        return Err(TenantError::UnsupportedCharacter {
            id: id.to_owned(),
            ch,
        });
    }
    if id.len() > MAX_TENANT_ID_LENGTH {
        return Err(TenantError::TooLong);
    }
    if id == "." || id == ".." {
        return Err(TenantError::Unsafe);
    }
    Ok(())
}

fn is_supported(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '!' | '-' | '_' | '.' | '*' | '\'' | '(' | ')')
}

/// How a service resolves tenants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TenantMode {
    /// Every request is this tenant; the header is ignored.
    Single(String),
    /// The header is required and validated.
    Multi {
        /// Accept `a|b` (Loki `multi_tenant_queries_enabled`).
        allow_multiple: bool,
    },
}

/// The tenant policy of a server, shared with the [`Tenant`] extractor via request extensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantConfig {
    mode: TenantMode,
}

impl Default for TenantConfig {
    fn default() -> Self {
        TenantConfig::single(DEFAULT_NO_AUTH_TENANT)
    }
}

impl TenantConfig {
    /// Single-tenant mode with the given tenant (normally [`DEFAULT_NO_AUTH_TENANT`]).
    pub fn single(tenant: impl Into<String>) -> Self {
        TenantConfig {
            mode: TenantMode::Single(tenant.into()),
        }
    }

    /// Multi-tenant mode: `X-Scope-OrgID` required, one tenant per request.
    pub fn multi() -> Self {
        TenantConfig {
            mode: TenantMode::Multi {
                allow_multiple: false,
            },
        }
    }

    /// From Loki's `auth_enabled` / Tempo's `multitenancy_enabled` flag.
    pub fn from_auth_enabled(auth_enabled: bool, no_auth_tenant: &str) -> Self {
        if auth_enabled {
            TenantConfig::multi()
        } else {
            TenantConfig::single(no_auth_tenant)
        }
    }

    /// Allow `a|b` cross-tenant requests (multi-tenant mode only).
    pub fn with_multi_tenant_queries(mut self, enabled: bool) -> Self {
        if let TenantMode::Multi { allow_multiple } = &mut self.mode {
            *allow_multiple = enabled;
        }
        self
    }

    /// The mode.
    pub fn mode(&self) -> &TenantMode {
        &self.mode
    }

    /// Whether requests must carry the header.
    pub fn is_multi_tenant(&self) -> bool {
        matches!(self.mode, TenantMode::Multi { .. })
    }

    /// Resolve the tenant of a request from its headers.
    pub fn resolve(&self, headers: &HeaderMap) -> Result<Tenant, TenantError> {
        match &self.mode {
            TenantMode::Single(t) => Ok(Tenant {
                ids: vec![t.clone()],
            }),
            TenantMode::Multi { allow_multiple } => {
                // dskit reads the first header value; non-UTF-8 cannot be a valid id.
                let raw = match headers.get(ORG_ID_HEADER) {
                    None => return Err(TenantError::NoOrgId),
                    Some(v) => v.to_str().map_err(|_| {
                        let ch = String::from_utf8_lossy(v.as_bytes())
                            .chars()
                            .find(|&c| !is_supported(c))
                            .unwrap_or('\u{fffd}');
                        TenantError::UnsupportedCharacter {
                            id: String::from_utf8_lossy(v.as_bytes()).into_owned(),
                            ch,
                        }
                    })?,
                };
                if raw.is_empty() {
                    return Err(TenantError::NoOrgId);
                }
                let mut ids = Vec::new();
                for id in raw.split(TENANT_SEPARATOR) {
                    validate_tenant_id(id)?;
                    ids.push(id.to_owned());
                }
                ids.sort();
                ids.dedup();
                if ids.len() > 1 && !allow_multiple {
                    return Err(TenantError::Multiple);
                }
                Ok(Tenant { ids })
            }
        }
    }
}

/// The resolved tenant(s) of a request: usually one id; several for cross-tenant queries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenant {
    ids: Vec<String>,
}

impl Tenant {
    /// One known tenant (tests, internal requests).
    pub fn new(id: impl Into<String>) -> Self {
        Tenant {
            ids: vec![id.into()],
        }
    }

    /// The tenant id; for a cross-tenant request, the ids joined by `|` (dskit
    /// `JoinTenantIDs`), which is how upstream names the combined tenant.
    pub fn id(&self) -> String {
        self.ids.join("|")
    }

    /// The sorted, de-duplicated tenant ids.
    pub fn ids(&self) -> &[String] {
        &self.ids
    }

    /// Whether several tenants were named.
    pub fn is_multi(&self) -> bool {
        self.ids.len() > 1
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Tenant {
    type Rejection = ApiError<Text>;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let resolved = match parts.extensions.get::<TenantConfig>() {
            Some(cfg) => cfg.resolve(&parts.headers),
            None => TenantConfig::default().resolve(&parts.headers),
        };
        resolved.map_err(|e| ApiError::from_error(&e))
    }
}

#[cfg(test)]
mod tests {
    use axum::Router;
    use axum::body::Body;
    use axum::routing::get;
    use http::{HeaderValue, Request, StatusCode};
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    use super::*;

    fn headers(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(ORG_ID_HEADER, HeaderValue::from_str(v).unwrap());
        h
    }

    #[test]
    fn single_tenant_ignores_header() {
        let cfg = TenantConfig::default();
        assert_eq!(cfg.resolve(&HeaderMap::new()).unwrap().id(), "fake");
        assert_eq!(cfg.resolve(&headers("team-a")).unwrap().id(), "fake");
        let cfg = TenantConfig::from_auth_enabled(false, "anonymous");
        assert_eq!(cfg.resolve(&headers("x")).unwrap().id(), "anonymous");
    }

    #[test]
    fn multi_tenant_requires_header() {
        let cfg = TenantConfig::multi();
        assert_eq!(cfg.resolve(&HeaderMap::new()), Err(TenantError::NoOrgId));
        assert_eq!(cfg.resolve(&headers("")), Err(TenantError::NoOrgId));
        assert_eq!(TenantError::NoOrgId.to_string(), "no org id");
        assert_eq!(cfg.resolve(&headers("team-a")).unwrap().id(), "team-a");
    }

    #[test]
    fn validation_matches_dskit() {
        for ok in ["a", "A-z_0.9", "!*'()", &"x".repeat(150), "..."] {
            assert_eq!(validate_tenant_id(ok), Ok(()), "{ok}");
        }
        assert_eq!(
            validate_tenant_id("a/b").unwrap_err().to_string(),
            "tenant ID 'a/b' contains unsupported character '/'"
        );
        assert_eq!(
            validate_tenant_id("a b").unwrap_err().to_string(),
            "tenant ID 'a b' contains unsupported character ' '"
        );
        assert_eq!(
            validate_tenant_id(&"x".repeat(151))
                .unwrap_err()
                .to_string(),
            "tenant ID is too long: max 150 characters"
        );
        assert_eq!(validate_tenant_id("."), Err(TenantError::Unsafe));
        assert_eq!(
            validate_tenant_id("..").unwrap_err().to_string(),
            "tenant ID is '.' or '..'"
        );
        // Character check comes before the length check, as in dskit.
        let long_bad = format!("{}/", "x".repeat(200));
        assert!(matches!(
            validate_tenant_id(&long_bad),
            Err(TenantError::UnsupportedCharacter { ch: '/', .. })
        ));
    }

    #[test]
    fn cross_tenant_ids() {
        let cfg = TenantConfig::multi();
        assert_eq!(cfg.resolve(&headers("b|a")), Err(TenantError::Multiple));
        // Duplicates collapse to one tenant, so this is not "multiple".
        assert_eq!(cfg.resolve(&headers("a|a")).unwrap().id(), "a");
        let cfg = TenantConfig::multi().with_multi_tenant_queries(true);
        let t = cfg.resolve(&headers("b|a|b")).unwrap();
        assert_eq!(t.ids(), ["a", "b"]);
        assert_eq!(t.id(), "a|b");
        assert!(t.is_multi());
        assert_eq!(cfg.resolve(&headers("a|..")), Err(TenantError::Unsafe));
    }

    #[tokio::test]
    async fn extractor_answers_like_dskit() {
        let app = Router::new()
            .route("/t", get(|t: Tenant| async move { t.id() }))
            .layer(axum::Extension(TenantConfig::multi()));
        let resp = app
            .clone()
            .oneshot(Request::get("/t").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            resp.headers()[http::header::CONTENT_TYPE],
            "text/plain; charset=utf-8"
        );
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(&body[..], b"no org id\n");

        let resp = app
            .clone()
            .oneshot(
                Request::get("/t")
                    .header(ORG_ID_HEADER, "a/b")
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST);

        let resp = app
            .oneshot(
                Request::get("/t")
                    .header(ORG_ID_HEADER, "team-1")
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(&body[..], b"team-1");

        // Without a config extension: single-tenant `fake`.
        let resp = Router::new()
            .route("/t", get(|t: Tenant| async move { t.id() }))
            .oneshot(Request::get("/t").body(Body::empty()).unwrap())
            .await
            .unwrap();
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(&body[..], b"fake");
    }
}
