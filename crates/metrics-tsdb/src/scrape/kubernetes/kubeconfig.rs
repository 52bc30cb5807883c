//! Minimal kubeconfig reading: the current context's server, CA, client certificate, token
//! or basic auth, and namespace, turned into the HTTP client block the rest of the stack uses.

use std::path::Path;

use lgtm_common::http_client::{Authorization, BasicAuth, HttpClientConfig, Secret, TlsConfig};
use serde::Deserialize;

use super::KubernetesError;
use super::client::Connection;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct KubeConfig {
    clusters: Vec<Named<Cluster>>,
    contexts: Vec<Named<Context>>,
    users: Vec<Named<User>>,
    #[serde(rename = "current-context")]
    current_context: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Named<T: Default> {
    name: String,
    #[serde(alias = "cluster", alias = "context", alias = "user")]
    value: T,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "kebab-case")]
struct Cluster {
    server: String,
    certificate_authority: Option<String>,
    certificate_authority_data: Option<String>,
    insecure_skip_tls_verify: bool,
    tls_server_name: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Context {
    cluster: String,
    user: String,
    namespace: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "kebab-case")]
struct User {
    token: Option<String>,
    #[serde(rename = "tokenFile")]
    token_file: Option<String>,
    client_certificate: Option<String>,
    client_certificate_data: Option<String>,
    client_key: Option<String>,
    client_key_data: Option<String>,
    username: Option<String>,
    password: Option<String>,
}

/// Reads `path` and resolves its current context.
pub fn load(path: &Path) -> Result<Connection, KubernetesError> {
    let err = |m: String| KubernetesError::Config(format!("kubeconfig {}: {m}", path.display()));
    let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
    let dir = path.parent().unwrap_or(Path::new("."));
    parse(&text, dir).map_err(err)
}

/// Resolves the current context of a kubeconfig text; relative file names are taken from
/// `dir`, as kubectl does.
pub fn parse(text: &str, dir: &Path) -> Result<Connection, String> {
    let config: KubeConfig = serde_yaml_ng::from_str(text).map_err(|e| e.to_string())?;
    let context = config
        .contexts
        .iter()
        .find(|c| c.name == config.current_context)
        .ok_or_else(|| format!("context {:?} not found", config.current_context))?;
    let cluster = config
        .clusters
        .iter()
        .find(|c| c.name == context.value.cluster)
        .ok_or_else(|| format!("cluster {:?} not found", context.value.cluster))?;
    let user = config.users.iter().find(|u| u.name == context.value.user);
    let resolve = |p: &str| dir.join(p).display().to_string();
    let decode = |field: &str, data: &str| -> Result<String, String> {
        let bytes = lgtm_common::encoding::base64_decode(data)
            .ok_or_else(|| format!("{field}: invalid base64"))?;
        String::from_utf8(bytes).map_err(|_| format!("{field}: not PEM text"))
    };
    let c = &cluster.value;
    if c.server.is_empty() {
        return Err(format!("cluster {:?} has no server", cluster.name));
    }
    let mut tls = TlsConfig {
        insecure_skip_verify: c.insecure_skip_tls_verify,
        server_name: c.tls_server_name.clone(),
        ..TlsConfig::default()
    };
    if let Some(data) = &c.certificate_authority_data {
        tls.ca = Some(decode("certificate-authority-data", data)?);
    } else if let Some(file) = &c.certificate_authority {
        tls.ca_file = Some(resolve(file));
    }
    let mut http = HttpClientConfig::default();
    if let Some(u) = user.map(|u| &u.value) {
        if let Some(data) = &u.client_certificate_data {
            tls.cert = Some(decode("client-certificate-data", data)?);
        } else if let Some(file) = &u.client_certificate {
            tls.cert_file = Some(resolve(file));
        }
        if let Some(data) = &u.client_key_data {
            tls.key = Some(Secret(decode("client-key-data", data)?));
        } else if let Some(file) = &u.client_key {
            tls.key_file = Some(resolve(file));
        }
        if let Some(token) = u.token.as_ref().filter(|t| !t.is_empty()) {
            http.authorization = Some(Authorization {
                auth_type: None,
                credentials: Some(Secret(token.clone())),
                credentials_file: None,
            });
        } else if let Some(file) = &u.token_file {
            http.authorization = Some(Authorization {
                auth_type: None,
                credentials: None,
                credentials_file: Some(resolve(file)),
            });
        } else if let Some(username) = &u.username {
            http.basic_auth = Some(BasicAuth {
                username: username.clone(),
                password: u.password.clone().map(Secret),
                ..BasicAuth::default()
            });
        }
    }
    if tls != TlsConfig::default() {
        http.tls_config = Some(tls);
    }
    Ok(Connection {
        server: c.server.clone(),
        http,
        own_namespace: Some(
            context
                .value
                .namespace
                .clone()
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| "default".to_owned()),
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn current_context_is_resolved() {
        let ca = lgtm_common::encoding::base64_encode(b"CA PEM");
        let text = format!(
            r#"
apiVersion: v1
kind: Config
current-context: prod
clusters:
- name: other
  cluster: {{server: "https://wrong"}}
- name: c1
  cluster:
    server: https://10.0.0.1:6443
    certificate-authority-data: {ca}
contexts:
- name: dev
  context: {{cluster: other, user: u2}}
- name: prod
  context: {{cluster: c1, user: u1, namespace: monitoring}}
users:
- name: u1
  user:
    token: s3cret
    client-certificate: certs/client.crt
    client-key: certs/client.key
- name: u2
  user:
    exec: {{command: aws}}
"#
        );
        let conn = parse(&text, Path::new("/etc/kube")).unwrap();
        assert_eq!(conn.server, "https://10.0.0.1:6443");
        assert_eq!(conn.own_namespace.as_deref(), Some("monitoring"));
        let tls = conn.http.tls_config.as_ref().unwrap();
        assert_eq!(tls.ca.as_deref(), Some("CA PEM"));
        assert_eq!(tls.cert_file.as_deref(), Some("/etc/kube/certs/client.crt"));
        assert_eq!(tls.key_file.as_deref(), Some("/etc/kube/certs/client.key"));
        assert_eq!(
            conn.http.authorization_header().unwrap().as_deref(),
            Some("Bearer s3cret")
        );
        let missing = parse("current-context: nope\n", Path::new("/")).unwrap_err();
        assert!(missing.contains("context \"nope\" not found"), "{missing}");
    }
}
