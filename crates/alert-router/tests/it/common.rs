//! Shared helpers.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::Arc;

use alert_router::config::LoadedConfig;
use alert_router::notify::{FakeRequest, HttpClient, HttpResponse};
use alert_router::state::{Core, CoreParts};
use axum::body::Body;
use http_body_util::BodyExt;
use parking_lot::Mutex;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

pub(crate) fn core_with(
    yaml: &str,
    client: Option<HttpClient>,
    storage: Option<PathBuf>,
) -> (Arc<Core>, CancellationToken) {
    core_with_options(yaml, client, storage, Default::default())
}

pub(crate) fn core_with_options(
    yaml: &str,
    client: Option<HttpClient>,
    storage: Option<PathBuf>,
    options: alert_router::notify::IntegrationOptions,
) -> (Arc<Core>, CancellationToken) {
    let token = CancellationToken::new();
    let core = Core::start(
        CoreParts {
            config: LoadedConfig::load_str(yaml, None).expect("config"),
            config_path: None,
            storage,
            retention: std::time::Duration::from_secs(120 * 3600),
            external_url: "http://am.example:9093".into(),
            route_prefix: String::new(),
            client,
            options,
            cluster: None,
            registry: None,
        },
        token.clone(),
    )
    .expect("core");
    (core, token)
}

pub(crate) async fn call(
    core: &Arc<Core>,
    method: &str,
    uri: &str,
    body: Option<&str>,
) -> (u16, String) {
    let req = http::Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/json")
        .body(body.map_or_else(Body::empty, |b| Body::from(b.to_owned())))
        .unwrap();
    let resp = alert_router::router(core.clone())
        .oneshot(req)
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

pub(crate) async fn post_alerts(core: &Arc<Core>, body: &str) {
    let (s, b) = call(core, "POST", "/api/v2/alerts", Some(body)).await;
    assert_eq!(s, 200, "{b}");
}

/// An in-process receiver: records requests with their (tokio) arrival time and answers
/// from a queue of canned responses (200 `{"ok":true}` when empty).
#[derive(Clone, Default)]
pub(crate) struct Recorder {
    pub(crate) requests: Arc<Mutex<Vec<(Instant, FakeRequest)>>>,
    pub(crate) responses: Arc<Mutex<VecDeque<(u16, String)>>>,
}

impl Recorder {
    pub(crate) fn client(&self) -> HttpClient {
        let me = self.clone();
        HttpClient::fake(Arc::new(move |req| {
            me.requests.lock().push((Instant::now(), req));
            let (status, body) = me
                .responses
                .lock()
                .pop_front()
                .unwrap_or((200, r#"{"ok":true,"result":{"message_id":1}}"#.into()));
            HttpResponse {
                status,
                body: body.into(),
            }
        }))
    }

    pub(crate) fn bodies(&self) -> Vec<serde_json::Value> {
        self.requests
            .lock()
            .iter()
            .map(|(_, r)| serde_json::from_slice(&r.body).unwrap())
            .collect()
    }

    pub(crate) fn len(&self) -> usize {
        self.requests.lock().len()
    }
}

/// Looks a peer binary up on PATH; `None` (with a note) when absent, a failure when
/// `LGTM_REQUIRE_PEERS=1`.
pub(crate) fn peer(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    for dir in std::env::split_paths(&path) {
        let p = dir.join(name);
        if p.is_file() {
            return Some(p);
        }
    }
    if std::env::var("LGTM_REQUIRE_PEERS").as_deref() == Ok("1") {
        panic!("peer binary {name} not found on PATH and LGTM_REQUIRE_PEERS=1");
    }
    eprintln!(
        "SKIP: peer binary {name} not found on PATH (apt-get install prometheus-alertmanager)"
    );
    None
}

/// A peer process killed (and reaped) when the test ends, even when it fails.
pub(crate) struct KillOnDrop(pub(crate) std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts Debian's Alertmanager on a free 127.0.0.1 port with `args` (clustering off) and
/// waits until it is ready; retried on a new port if another process took the first one.
/// Returns the process guard and its base URL.
pub(crate) async fn start_alertmanager(
    bin: &std::path::Path,
    args: &[String],
) -> (KillOnDrop, String) {
    lgtm_common::http_client::client::install_crypto_provider();
    let client = alert_router::notify::reqwest::Client::new();
    for _attempt in 0..5 {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut child = KillOnDrop(
            std::process::Command::new(bin)
                .args(args)
                .arg(format!("--web.listen-address=127.0.0.1:{port}"))
                .arg("--cluster.listen-address=")
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .expect("start alertmanager"),
        );
        let base = format!("http://127.0.0.1:{port}");
        for _ in 0..100 {
            if matches!(child.0.try_wait(), Ok(Some(_))) {
                break;
            }
            if client
                .get(format!("{base}/-/ready"))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                return (child, base);
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }
    panic!("alertmanager did not start");
}
