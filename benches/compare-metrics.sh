#!/usr/bin/env bash
# Side-by-side run of the metrics workloads against metrics-tsdb and Debian's Prometheus.
# Usage: benches/compare-metrics.sh [series] [scrapes]
# Needs an optimised build: cargo build --release -p metrics-tsdb -p lgtm-bench
# Never run in CI; results go to docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
SERIES=${1:-100000}
SCRAPES=${2:-20}
TARGET=${CARGO_TARGET_DIR:-target}/release
WORK=$(mktemp -d)
trap 'kill $OURS $PEER 2>/dev/null || true; rm -rf "$WORK"' EXIT

"$TARGET/metrics-tsdb" --config.file= --storage.tsdb.path="$WORK/ours" \
  --web.listen-address=127.0.0.1:19090 --web.enable-remote-write-receiver --log.level=warn &
OURS=$!
printf 'global:\n  scrape_interval: 1h\n' > "$WORK/prometheus.yml"
prometheus --config.file="$WORK/prometheus.yml" --storage.tsdb.path="$WORK/peer" \
  --web.listen-address=127.0.0.1:19091 --web.enable-remote-write-receiver --log.level=warn &
PEER=$!
sleep 3
START_MS=$(( $(date +%s) * 1000 - SCRAPES * 15000 ))

for target in "ours:19090:$OURS" "prometheus:19091:$PEER"; do
  IFS=: read -r name port pid <<<"$target"
  echo "== $name remote-write"
  "$TARGET/lgtm-bench" remote-write --url "http://127.0.0.1:$port/api/v1/write" \
    --series "$SERIES" --scrapes "$SCRAPES" --start-ms "$START_MS" --pid "$pid"
done
sleep 2
for target in "ours:19090" "prometheus:19091"; do
  IFS=: read -r name port <<<"$target"
  echo "== $name queries"
  "$TARGET/lgtm-bench" queries --url "http://127.0.0.1:$port" --runs 20 \
    --time "$(( START_MS / 1000 + SCRAPES * 15 ))" --range "$(( SCRAPES * 15 ))"
done
