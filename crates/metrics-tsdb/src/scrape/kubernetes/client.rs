//! Talking to the API server: where it is and how to authenticate (in-cluster service account,
//! `api_server` with the inlined HTTP client block, or a kubeconfig file), paged LISTs with
//! namespaces and selectors, and WATCHes used as change triggers.

use std::path::Path;
use std::time::Duration;

use lgtm_common::http_client::client::{self, reqwest};
use lgtm_common::http_client::{Authorization, HttpClientConfig, TlsConfig};
use serde::de::DeserializeOwned;
use tokio::sync::mpsc;

use super::objects::ObjectList;
use super::{HasMeta, KubernetesError, Resource, Snapshot, kubeconfig, to_objects};
use crate::config::KubernetesSdConfig;

/// Where a pod finds its service-account credentials.
pub const SERVICE_ACCOUNT_DIR: &str = "/var/run/secrets/kubernetes.io/serviceaccount";
/// Largest LIST page body accepted.
const MAX_BODY: usize = 256 << 20;
/// Objects per LIST page.
const PAGE: usize = 500;
const USER_AGENT: &str = "Prometheus/3.5.0 (lgtm-rs metrics-tsdb) kubernetes-sd";

/// A configured API server connection.
#[derive(Debug, Clone)]
pub struct ApiClient {
    base: String,
    http: HttpClientConfig,
    client: reqwest::Client,
    /// Namespaces to list; empty means all.
    namespaces: Vec<String>,
}

/// Server address and credentials before a client is built.
#[derive(Debug, Clone, PartialEq)]
pub struct Connection {
    /// Base URL of the API server.
    pub server: String,
    /// TLS and authentication.
    pub http: HttpClientConfig,
    /// Namespace of the credentials (service account or kubeconfig context).
    pub own_namespace: Option<String>,
}

impl Connection {
    /// In-cluster configuration: `KUBERNETES_SERVICE_HOST`/`_PORT` from `env` and the token,
    /// CA and namespace files in `sa_dir`. The token is re-read per request, so rotated
    /// tokens work.
    pub fn in_cluster(
        env: impl Fn(&str) -> Option<String>,
        sa_dir: &Path,
    ) -> Result<Connection, KubernetesError> {
        let (Some(host), Some(port)) = (
            env("KUBERNETES_SERVICE_HOST").filter(|h| !h.is_empty()),
            env("KUBERNETES_SERVICE_PORT").filter(|p| !p.is_empty()),
        ) else {
            return Err(KubernetesError::Config(
                "unable to load in-cluster configuration, KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be defined".into(),
            ));
        };
        let token = sa_dir.join("token");
        std::fs::metadata(&token)
            .map_err(|e| KubernetesError::Config(format!("open {}: {e}", token.display())))?;
        let ca = sa_dir.join("ca.crt");
        let http = HttpClientConfig {
            authorization: Some(Authorization {
                auth_type: None,
                credentials: None,
                credentials_file: Some(token.display().to_string()),
            }),
            tls_config: std::fs::metadata(&ca).is_ok().then(|| TlsConfig {
                ca_file: Some(ca.display().to_string()),
                ..TlsConfig::default()
            }),
            ..HttpClientConfig::default()
        };
        let own_namespace = std::fs::read_to_string(sa_dir.join("namespace"))
            .ok()
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty());
        Ok(Connection {
            server: format!("https://{}", super::join_host_port(&host, port)),
            http,
            own_namespace,
        })
    }
}

impl ApiClient {
    /// Builds the client a discovery config asks for.
    pub fn from_config(config: &KubernetesSdConfig) -> Result<ApiClient, KubernetesError> {
        let connection = if let Some(path) = &config.kubeconfig_file {
            kubeconfig::load(Path::new(path))?
        } else if let Some(server) = &config.api_server {
            // `own_namespace` is refused with `api_server` by the config's validation.
            Connection {
                server: server.clone(),
                http: config.http.clone(),
                own_namespace: None,
            }
        } else {
            Connection::in_cluster(|k| std::env::var(k).ok(), Path::new(SERVICE_ACCOUNT_DIR))?
        };
        Self::new(connection, config)
    }

    /// A client for `connection`, listing the namespaces `config` names.
    pub fn new(
        connection: Connection,
        config: &KubernetesSdConfig,
    ) -> Result<ApiClient, KubernetesError> {
        let mut namespaces = Vec::new();
        if let Some(ns) = &config.namespaces {
            namespaces.extend(ns.names.iter().cloned());
            if ns.own_namespace {
                let own = connection.own_namespace.clone().ok_or_else(|| {
                    KubernetesError::Config(
                        "could not determine the pod's namespace: no readable service-account namespace file".into(),
                    )
                })?;
                namespaces.push(own);
            }
        }
        namespaces.sort();
        namespaces.dedup();
        let client = client::build(&connection.http, USER_AGENT)
            .map_err(|e| KubernetesError::Config(e.to_string()))?;
        Ok(ApiClient {
            base: connection.server.trim_end_matches('/').to_owned(),
            http: connection.http,
            client,
            namespaces,
        })
    }

    fn paths(&self, resource: Resource) -> Vec<String> {
        let (prefix, plural) = resource.path_parts();
        if !resource.namespaced() || self.namespaces.is_empty() {
            return vec![format!("{prefix}/{plural}")];
        }
        self.namespaces
            .iter()
            .map(|ns| format!("{prefix}/namespaces/{ns}/{plural}"))
            .collect()
    }

    fn selectors(config: &KubernetesSdConfig, resource: Resource) -> Vec<(String, String)> {
        let mut query = Vec::new();
        for s in config
            .selectors
            .iter()
            .filter(|s| s.role == resource.selector_role())
        {
            if let Some(label) = s.label.as_ref().filter(|l| !l.is_empty()) {
                query.push(("labelSelector".to_owned(), label.clone()));
            }
            if let Some(field) = s.field.as_ref().filter(|f| !f.is_empty()) {
                query.push(("fieldSelector".to_owned(), field.clone()));
            }
        }
        query
    }

    async fn get(
        &self,
        path: &str,
        query: &[(String, String)],
        timeout: Duration,
    ) -> Result<reqwest::Response, KubernetesError> {
        let err = |message: String| KubernetesError::Request {
            path: path.to_owned(),
            message,
        };
        let mut url = format!("{}{path}", self.base);
        if !query.is_empty() {
            url.push('?');
            url.push_str(&serde_urlencoded::to_string(query).unwrap_or_default());
        }
        let mut request = self
            .client
            .get(&url)
            .header("Accept", "application/json")
            .timeout(timeout);
        match self.http.authorization_header() {
            Ok(Some(value)) => request = request.header("Authorization", value),
            Ok(None) => {}
            Err(e) => return Err(err(format!("unable to read credentials: {e}"))),
        }
        let response = request.send().await.map_err(|e| err(e.to_string()))?;
        if !response.status().is_success() {
            let status = response.status();
            let body = read_body(response, 4096).await.unwrap_or_default();
            return Err(err(format!(
                "server returned HTTP status {status}: {}",
                String::from_utf8_lossy(&body).trim()
            )));
        }
        Ok(response)
    }

    /// Every object of `resource` at `path` (all pages) and the list's resource version.
    async fn list<T: DeserializeOwned>(
        &self,
        path: &str,
        selectors: &[(String, String)],
    ) -> Result<(Vec<T>, String), KubernetesError> {
        let mut items = Vec::new();
        let mut token = String::new();
        loop {
            let mut query = selectors.to_vec();
            query.push(("limit".into(), PAGE.to_string()));
            if !token.is_empty() {
                query.push(("continue".into(), token.clone()));
            }
            let response = self.get(path, &query, Duration::from_secs(60)).await?;
            let body = read_body(response, MAX_BODY).await.map_err(|message| {
                KubernetesError::Request {
                    path: path.to_owned(),
                    message,
                }
            })?;
            let page: ObjectList<T> =
                serde_json::from_slice(&body).map_err(|e| KubernetesError::Request {
                    path: path.to_owned(),
                    message: format!("decoding list: {e}"),
                })?;
            items.extend(page.items);
            if page.metadata.continue_token.is_empty() {
                return Ok((items, page.metadata.resource_version));
            }
            token = page.metadata.continue_token;
        }
    }

    async fn list_all<T: DeserializeOwned + HasMeta>(
        &self,
        config: &KubernetesSdConfig,
        resource: Resource,
        versions: &mut Vec<WatchPoint>,
    ) -> Result<super::Objects<T>, KubernetesError> {
        let selectors = Self::selectors(config, resource);
        let mut out = super::Objects::new();
        for path in self.paths(resource) {
            let (items, version) = self.list(&path, &selectors).await?;
            out.extend(to_objects(items));
            versions.push(WatchPoint {
                resource,
                path,
                selectors: selectors.clone(),
                resource_version: version,
            });
        }
        Ok(out)
    }

    /// LISTs every resource the role needs.
    pub async fn snapshot(
        &self,
        config: &KubernetesSdConfig,
        resources: &[Resource],
    ) -> Result<(Snapshot, Vec<WatchPoint>), KubernetesError> {
        let mut snapshot = Snapshot::default();
        let mut versions = Vec::new();
        for &resource in resources {
            match resource {
                Resource::Pods => {
                    snapshot.pods = self.list_all(config, resource, &mut versions).await?
                }
                Resource::Nodes => {
                    snapshot.nodes = self.list_all(config, resource, &mut versions).await?
                }
                Resource::Services => {
                    snapshot.services = self.list_all(config, resource, &mut versions).await?
                }
                Resource::Endpoints => {
                    snapshot.endpoints = self.list_all(config, resource, &mut versions).await?
                }
                Resource::EndpointSlices => {
                    snapshot.endpointslices = self.list_all(config, resource, &mut versions).await?
                }
                Resource::Ingresses => {
                    snapshot.ingresses = self.list_all(config, resource, &mut versions).await?
                }
                Resource::Namespaces => {
                    snapshot.namespaces = self.list_all(config, resource, &mut versions).await?
                }
            }
        }
        Ok((snapshot, versions))
    }

    /// WATCHes `point` from its version, sending each event to `tx`, then [`WatchMsg::Ended`]
    /// when the server ends the stream (after `timeout`) or it fails.
    pub async fn watch(self, point: WatchPoint, timeout: Duration, tx: mpsc::Sender<WatchMsg>) {
        let result = self.stream_events(&point, timeout, &tx).await;
        let _ = tx.send(WatchMsg::Ended(result.err())).await;
    }

    async fn stream_events(
        &self,
        point: &WatchPoint,
        timeout: Duration,
        tx: &mpsc::Sender<WatchMsg>,
    ) -> Result<(), KubernetesError> {
        let err = |message: String| KubernetesError::Request {
            path: point.path.clone(),
            message,
        };
        let mut query = point.selectors.clone();
        query.push(("watch".into(), "1".into()));
        query.push(("resourceVersion".into(), point.resource_version.clone()));
        query.push(("allowWatchBookmarks".into(), "true".into()));
        query.push(("timeoutSeconds".into(), timeout.as_secs().to_string()));
        let mut response = self
            .get(&point.path, &query, timeout + Duration::from_secs(30))
            .await?;
        let mut buf: Vec<u8> = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| err(e.to_string()))? {
            buf.extend_from_slice(&chunk);
            while let Some(end) = buf.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = buf.drain(..=end).collect();
                if line.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                let event: WatchEvent = serde_json::from_slice(&line)
                    .map_err(|e| err(format!("decoding watch event: {e}")))?;
                let msg = WatchMsg::Event {
                    resource: point.resource,
                    kind: event.kind,
                    object: event.object,
                };
                if tx.send(msg).await.is_err() {
                    return Ok(());
                }
            }
            if buf.len() > MAX_BODY {
                return Err(err(format!("watch event larger than {MAX_BODY} bytes")));
            }
        }
        Ok(())
    }
}

/// One line of a WATCH stream.
#[derive(Debug, serde::Deserialize)]
struct WatchEvent {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    object: serde_json::Value,
}

/// What a running WATCH reports.
#[derive(Debug)]
pub enum WatchMsg {
    /// An event: `ADDED`, `MODIFIED`, `DELETED`, `BOOKMARK` or `ERROR`.
    Event {
        /// The kind of object watched.
        resource: Resource,
        /// The event type.
        kind: String,
        /// The object (a `Status` for `ERROR`).
        object: serde_json::Value,
    },
    /// The stream is over (with the error, when it failed): time to re-LIST.
    Ended(Option<KubernetesError>),
}

/// A listed path and the version a WATCH resumes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchPoint {
    /// What is watched.
    pub resource: Resource,
    /// API path.
    pub path: String,
    /// Label and field selectors.
    pub selectors: Vec<(String, String)>,
    /// `metadata.resourceVersion` of the list.
    pub resource_version: String,
}

async fn read_body(mut response: reqwest::Response, limit: usize) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| e.to_string())? {
        if body.len() + chunk.len() > limit {
            return Err(format!("response larger than {limit} bytes"));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}
