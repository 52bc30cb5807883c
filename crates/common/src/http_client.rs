//! The `http_config` / HTTP client block of prometheus/common (`HTTPClientConfig`), shared by
//! Prometheus scrape configs, `alertmanagers`, `remote_write`, Alertmanager receivers and
//! Promtail clients, so every service reads the block its users already wrote.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A secret: serialised as `<secret>` so status endpoints never leak it (as upstream does).
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(pub String);

impl Secret {
    /// The secret's value, for building requests.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<secret>")
    }
}

impl Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(if self.0.is_empty() { "" } else { "<secret>" })
    }
}

/// `basic_auth`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BasicAuth {
    /// User name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub username: String,
    /// File holding the user name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username_file: Option<String>,
    /// Password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<Secret>,
    /// File holding the password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_file: Option<String>,
}

/// `authorization` (an `Authorization: <type> <credentials>` header).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Authorization {
    /// Scheme; `Bearer` when empty.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub auth_type: Option<String>,
    /// Credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials: Option<Secret>,
    /// File holding the credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials_file: Option<String>,
}

/// `tls_config`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// CA certificate (PEM text).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca: Option<String>,
    /// CA certificate file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<String>,
    /// Client certificate (PEM text).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert: Option<String>,
    /// Client certificate file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_file: Option<String>,
    /// Client key (PEM text).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<Secret>,
    /// Client key file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_file: Option<String>,
    /// Server name for SNI and verification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_name: Option<String>,
    /// Skip certificate verification.
    #[serde(default)]
    pub insecure_skip_verify: bool,
    /// Minimum TLS version (`TLS12`, `TLS13`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_version: Option<String>,
    /// Maximum TLS version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_version: Option<String>,
}

/// The whole HTTP client block.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpClientConfig {
    /// Basic authentication.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub basic_auth: Option<BasicAuth>,
    /// Authorization header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization: Option<Authorization>,
    /// Legacy bearer token (Alertmanager and older Prometheus configs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bearer_token: Option<Secret>,
    /// Legacy bearer token file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bearer_token_file: Option<String>,
    /// OAuth 2.0 client credentials; accepted, not yet used for requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oauth2: Option<serde_yaml_ng::Value>,
    /// TLS settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_config: Option<TlsConfig>,
    /// Proxy URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy_url: Option<String>,
    /// Hosts that bypass the proxy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub no_proxy: Option<String>,
    /// Take the proxy from the environment.
    #[serde(default)]
    pub proxy_from_environment: bool,
    /// Headers sent to the proxy on CONNECT.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy_connect_header: Option<BTreeMap<String, Vec<Secret>>>,
    /// Follow redirects (default true).
    #[serde(default = "default_true")]
    pub follow_redirects: bool,
    /// Allow HTTP/2 (default true).
    #[serde(default = "default_true")]
    pub enable_http2: bool,
    /// Extra headers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_headers: Option<serde_yaml_ng::Value>,
}

fn default_true() -> bool {
    true
}

impl Default for HttpClientConfig {
    fn default() -> Self {
        Self {
            basic_auth: None,
            authorization: None,
            bearer_token: None,
            bearer_token_file: None,
            oauth2: None,
            tls_config: None,
            proxy_url: None,
            no_proxy: None,
            proxy_from_environment: false,
            proxy_connect_header: None,
            follow_redirects: true,
            enable_http2: true,
            http_headers: None,
        }
    }
}

/// The configuration is contradictory. Messages are prometheus/common's own.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HttpClientConfigError {
    /// Two ways of giving the same thing.
    #[error("{0}")]
    Conflict(&'static str),
}

impl HttpClientConfig {
    /// Applies prometheus/common's `Validate()` rules.
    pub fn validate(&self) -> Result<(), HttpClientConfigError> {
        let conflict = |m| Err(HttpClientConfigError::Conflict(m));
        if self.bearer_token.is_some() && self.bearer_token_file.is_some() {
            return conflict("at most one of bearer_token & bearer_token_file must be configured");
        }
        let legacy_bearer = self.bearer_token.is_some() || self.bearer_token_file.is_some();
        if legacy_bearer && self.basic_auth.is_some() {
            return conflict(
                "at most one of basic_auth, bearer_token & bearer_token_file must be configured",
            );
        }
        if let Some(basic) = &self.basic_auth {
            if !basic.username.is_empty() && basic.username_file.is_some() {
                return conflict(
                    "at most one of basic_auth username & username_file must be configured",
                );
            }
            if basic.password.is_some() && basic.password_file.is_some() {
                return conflict(
                    "at most one of basic_auth password & password_file must be configured",
                );
            }
        }
        if let Some(auth) = &self.authorization {
            if legacy_bearer {
                return conflict(
                    "authorization is not compatible with bearer_token & bearer_token_file",
                );
            }
            if auth.credentials.is_some() && auth.credentials_file.is_some() {
                return conflict(
                    "at most one of authorization credentials & credentials_file must be configured",
                );
            }
            if auth
                .auth_type
                .as_deref()
                .is_some_and(|t| t.eq_ignore_ascii_case("basic"))
            {
                return conflict(
                    "authorization type cannot be set to \"basic\", use \"basic_auth\" instead",
                );
            }
        }
        if self.basic_auth.is_some() && self.authorization.is_some() {
            return conflict(
                "at most one of basic_auth, oauth2 & authorization must be configured",
            );
        }
        if self.oauth2.is_some()
            && (self.basic_auth.is_some() || self.authorization.is_some() || legacy_bearer)
        {
            return conflict(
                "at most one of basic_auth, oauth2 & authorization must be configured",
            );
        }
        Ok(())
    }

    /// The `Authorization` header value the config asks for, reading `*_file` settings.
    pub fn authorization_header(&self) -> std::io::Result<Option<String>> {
        let read = |path: &str| -> std::io::Result<String> {
            Ok(std::fs::read_to_string(path)?.trim().to_owned())
        };
        if let Some(basic) = &self.basic_auth {
            let user = match &basic.username_file {
                Some(path) => read(path)?,
                None => basic.username.clone(),
            };
            let password = match (&basic.password, &basic.password_file) {
                (Some(p), _) => p.expose().to_owned(),
                (None, Some(path)) => read(path)?,
                (None, None) => String::new(),
            };
            return Ok(Some(format!(
                "Basic {}",
                crate::encoding::base64_encode(format!("{user}:{password}").as_bytes())
            )));
        }
        let (scheme, credentials) = if let Some(auth) = &self.authorization {
            let scheme = auth
                .auth_type
                .clone()
                .unwrap_or_else(|| "Bearer".to_owned());
            let credentials = match (&auth.credentials, &auth.credentials_file) {
                (Some(c), _) => c.expose().to_owned(),
                (None, Some(path)) => read(path)?,
                (None, None) => return Ok(None),
            };
            (scheme, credentials)
        } else if let Some(token) = &self.bearer_token {
            ("Bearer".to_owned(), token.expose().to_owned())
        } else if let Some(path) = &self.bearer_token_file {
            ("Bearer".to_owned(), read(path)?)
        } else {
            return Ok(None);
        };
        Ok(Some(format!("{scheme} {credentials}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(yaml: &str) -> HttpClientConfig {
        serde_yaml_ng::from_str(yaml).unwrap()
    }

    #[test]
    fn defaults_and_secrets() {
        let c = parse("basic_auth:\n  username: u\n  password: p\n");
        assert!(c.follow_redirects && c.enable_http2);
        assert_eq!(
            c.authorization_header().unwrap().as_deref(),
            Some("Basic dTpw")
        );
        let shown = serde_yaml_ng::to_string(&c).unwrap();
        assert!(
            shown.contains("<secret>") && !shown.contains("password: p"),
            "{shown}"
        );
    }

    #[test]
    fn authorization_and_bearer() {
        let c = parse("authorization:\n  credentials: tok\n");
        assert_eq!(
            c.authorization_header().unwrap().as_deref(),
            Some("Bearer tok")
        );
        let c = parse("bearer_token: abc\n");
        assert_eq!(
            c.authorization_header().unwrap().as_deref(),
            Some("Bearer abc")
        );
        assert_eq!(parse("{}").authorization_header().unwrap(), None);
    }

    #[test]
    fn validation_rejects_conflicts() {
        let c = parse("bearer_token: a\nbearer_token_file: b\n");
        assert_eq!(
            c.validate().unwrap_err().to_string(),
            "at most one of bearer_token & bearer_token_file must be configured"
        );
        let c = parse("authorization:\n  type: Basic\n  credentials: x\n");
        assert!(c.validate().unwrap_err().to_string().contains("basic_auth"));
        assert!(parse("basic_auth:\n  username: u\n").validate().is_ok());
    }

    #[test]
    fn unknown_fields_are_rejected() {
        let err = serde_yaml_ng::from_str::<HttpClientConfig>("bogus: 1\n").unwrap_err();
        assert!(err.to_string().contains("unknown field `bogus`"), "{err}");
    }
}

/// Keys of [`HttpClientConfig`] when it is inlined into its parent.
pub const HTTP_CLIENT_KEYS: &[&str] = &[
    "basic_auth",
    "authorization",
    "bearer_token",
    "bearer_token_file",
    "oauth2",
    "tls_config",
    "proxy_url",
    "no_proxy",
    "proxy_from_environment",
    "proxy_connect_header",
    "follow_redirects",
    "enable_http2",
    "http_headers",
];

/// A config section that inlines the HTTP client block (Prometheus scrape configs, remote
/// write, alertmanagers). serde cannot combine `flatten` with `deny_unknown_fields`, so such a
/// section derives `Deserialize` for its own keys with `#[serde(skip)]` on the client block,
/// and its parent deserialises it through [`deserialize_inline`] or [`deserialize_inline_vec`],
/// which split the keys and keep unknown ones an error on both sides.
pub trait InlineHttpClient: serde::de::DeserializeOwned {
    /// Stores the client block parsed from the inlined keys.
    fn set_http_client(&mut self, http: HttpClientConfig);
}

fn split_inline<T: InlineHttpClient>(value: serde_yaml_ng::Value) -> Result<T, String> {
    let serde_yaml_ng::Value::Mapping(mut own) = value else {
        return serde_yaml_ng::from_value(value).map_err(|e| e.to_string());
    };
    let mut http = serde_yaml_ng::Mapping::new();
    for key in HTTP_CLIENT_KEYS {
        if let Some(v) = own.remove(*key) {
            http.insert(serde_yaml_ng::Value::String((*key).to_owned()), v);
        }
    }
    let mut parsed: T =
        serde_yaml_ng::from_value(serde_yaml_ng::Value::Mapping(own)).map_err(|e| e.to_string())?;
    let http: HttpClientConfig = serde_yaml_ng::from_value(serde_yaml_ng::Value::Mapping(http))
        .map_err(|e| e.to_string())?;
    http.validate().map_err(|e| e.to_string())?;
    parsed.set_http_client(http);
    Ok(parsed)
}

/// `deserialize_with` for one section inlining the HTTP client block.
pub fn deserialize_inline<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: InlineHttpClient,
{
    let value = serde_yaml_ng::Value::deserialize(deserializer)?;
    split_inline(value).map_err(serde::de::Error::custom)
}

/// `deserialize_with` for a list of sections inlining the HTTP client block.
pub fn deserialize_inline_vec<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: InlineHttpClient,
{
    let values =
        Option::<Vec<serde_yaml_ng::Value>>::deserialize(deserializer)?.unwrap_or_default();
    values
        .into_iter()
        .map(|v| split_inline(v).map_err(serde::de::Error::custom))
        .collect()
}

#[cfg(test)]
mod inline_tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Parent {
        url: String,
        #[serde(skip)]
        http: HttpClientConfig,
    }

    impl InlineHttpClient for Parent {
        fn set_http_client(&mut self, http: HttpClientConfig) {
            self.http = http;
        }
    }

    #[derive(Debug, Deserialize)]
    struct Doc {
        #[serde(deserialize_with = "deserialize_inline_vec")]
        items: Vec<Parent>,
    }

    #[test]
    fn inlined_keys_are_split_and_unknown_keys_still_fail() {
        let doc: Doc = serde_yaml_ng::from_str(
            "items:\n- url: a\n  bearer_token: t\n  follow_redirects: false\n",
        )
        .unwrap();
        assert_eq!(doc.items[0].url, "a");
        assert!(!doc.items[0].http.follow_redirects);
        assert_eq!(
            doc.items[0].http.authorization_header().unwrap().as_deref(),
            Some("Bearer t")
        );
        let err = serde_yaml_ng::from_str::<Doc>("items:\n- url: a\n  bogus: 1\n").unwrap_err();
        assert!(err.to_string().contains("unknown field `bogus`"), "{err}");
        let err = serde_yaml_ng::from_str::<Doc>(
            "items:\n- url: a\n  bearer_token: t\n  bearer_token_file: f\n",
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("at most one of bearer_token"),
            "{err}"
        );
    }
}

/// Building a real client from the block (feature `client`): every service that calls out
/// (scrapes, notifiers, receivers, pushes) gets the same TLS, proxy, redirect and auth rules.
#[cfg(feature = "client")]
pub mod client {
    use super::HttpClientConfig;

    /// The client crate, so callers use the same version without a dependency of their own.
    pub use reqwest;

    /// The client could not be built.
    #[derive(Debug, thiserror::Error)]
    pub enum ClientError {
        /// A file named by the config cannot be read.
        #[error("unable to read {path}: {source}")]
        File {
            /// The file.
            path: String,
            /// The OS error.
            source: std::io::Error,
        },
        /// A certificate, key or URL is invalid.
        #[error("{0}")]
        Invalid(String),
    }

    /// Installs the `ring` rustls provider once (reqwest is built without a default one so
    /// that no aws-lc-rs C build is needed).
    pub fn install_crypto_provider() {
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| {
            let _ = rustls::crypto::ring::default_provider().install_default();
        });
    }

    fn read(path: &str) -> Result<Vec<u8>, ClientError> {
        std::fs::read(path).map_err(|source| ClientError::File {
            path: path.to_owned(),
            source,
        })
    }

    /// A `reqwest::Client` honouring TLS, proxy, redirect and HTTP/2 settings. The
    /// `Authorization` header is not baked in: callers add
    /// [`HttpClientConfig::authorization_header`] per request, so rotated token files
    /// (Kubernetes service-account tokens) are picked up.
    pub fn build(
        config: &HttpClientConfig,
        user_agent: &str,
    ) -> Result<reqwest::Client, ClientError> {
        install_crypto_provider();
        let mut builder = reqwest::Client::builder().user_agent(user_agent.to_owned());
        if !config.follow_redirects {
            builder = builder.redirect(reqwest::redirect::Policy::none());
        }
        if !config.enable_http2 {
            builder = builder.http1_only();
        }
        if let Some(tls) = &config.tls_config {
            let ca = match (&tls.ca, &tls.ca_file) {
                (Some(pem), _) => Some(pem.as_bytes().to_vec()),
                (None, Some(path)) => Some(read(path)?),
                (None, None) => None,
            };
            if let Some(pem) = ca {
                for cert in reqwest::Certificate::from_pem_bundle(&pem)
                    .map_err(|e| ClientError::Invalid(format!("invalid CA certificate: {e}")))?
                {
                    builder = builder.add_root_certificate(cert);
                }
            }
            let cert = match (&tls.cert, &tls.cert_file) {
                (Some(pem), _) => Some(pem.as_bytes().to_vec()),
                (None, Some(path)) => Some(read(path)?),
                (None, None) => None,
            };
            let key = match (&tls.key, &tls.key_file) {
                (Some(pem), _) => Some(pem.expose().as_bytes().to_vec()),
                (None, Some(path)) => Some(read(path)?),
                (None, None) => None,
            };
            if let (Some(mut cert), Some(key)) = (cert, key) {
                cert.push(b'\n');
                cert.extend_from_slice(&key);
                let identity = reqwest::Identity::from_pem(&cert).map_err(|e| {
                    ClientError::Invalid(format!("invalid client certificate: {e}"))
                })?;
                builder = builder.identity(identity);
            }
            if tls.insecure_skip_verify {
                builder = builder.danger_accept_invalid_certs(true);
            }
        }
        if let Some(url) = &config.proxy_url {
            let proxy = reqwest::Proxy::all(url)
                .map_err(|e| ClientError::Invalid(format!("invalid proxy_url {url:?}: {e}")))?;
            builder = builder.proxy(proxy);
        } else if !config.proxy_from_environment {
            builder = builder.no_proxy();
        }
        builder
            .build()
            .map_err(|e| ClientError::Invalid(e.to_string()))
    }
}
