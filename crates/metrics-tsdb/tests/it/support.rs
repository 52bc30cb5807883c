//! Helpers shared by the integration tests: free ports and peer binaries.

use std::net::TcpListener;
use std::path::PathBuf;

/// A free port on 127.0.0.1 (bound and released; fine for tests that start a peer on it).
pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// The first of `names` found on `PATH`.
pub(crate) fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    })
}

/// A peer binary, or `None` (the test skips) when it is missing and peers are optional;
/// with `LGTM_REQUIRE_PEERS` set a missing peer fails the test.
pub(crate) fn require_peer(names: &[&str]) -> Option<PathBuf> {
    let found = names.iter().find_map(|n| which(n));
    if found.is_none() {
        assert!(
            std::env::var("LGTM_REQUIRE_PEERS").is_err(),
            "{names:?} not installed (LGTM_REQUIRE_PEERS is set)"
        );
        eprintln!("skipping: {names:?} not installed");
    }
    found
}

/// Polls `<base>/-/ready` until it answers 2xx; panics naming `what` after 30 s.
pub(crate) fn wait_ready(base: &str, what: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        if reqwest::blocking::get(format!("{base}/-/ready")).is_ok_and(|r| r.status().is_success())
        {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{what} did not become ready"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}
