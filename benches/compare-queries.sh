#!/usr/bin/env bash
# Dashboard queries over a day of history: the same data is remote-written into metrics-tsdb
# and Debian's Prometheus in one run, then `lgtm-bench compare-queries` checks both answer
# every query identically and times them alternately (median and p99 per query).
# Usage: benches/compare-queries.sh [series] [interval seconds] [runs]
#   defaults: 12000 series (200 node-exporter-like nodes), 30 s resolution over 24 h
#   (2,880 scrapes = 34.6M samples per server), 30 timed runs per query and server.
# Needs an optimised build: cargo build --release -p metrics-tsdb -p lgtm-bench
# Environment: TSDB_BIN / BENCH_BIN (binaries, default the release ones), SETTLE (seconds to
# wait after loading, default 90), ONLY (run the queries whose label contains it), KEEP=1
# (keep the data directory), WORK (data directory).
# Never run in CI; results go to docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
SERIES=${1:-12000}
INTERVAL=${2:-30}
RUNS=${3:-30}
HOURS=24
TARGET=${CARGO_TARGET_DIR:-target}/release
TSDB_BIN=${TSDB_BIN:-$TARGET/metrics-tsdb}
BENCH_BIN=${BENCH_BIN:-$TARGET/lgtm-bench}
SETTLE=${SETTLE:-90}
OURS_PORT=${OURS_PORT:-19190}
PEER_PORT=${PEER_PORT:-19191}
WORK=${WORK:-$(mktemp -d)}
mkdir -p "$WORK"
KEEP=${KEEP:-}
OURS= PEER=
cleanup() {
  kill $OURS $PEER 2>/dev/null || true
  wait $OURS $PEER 2>/dev/null || true
  [ -n "$KEEP" ] || rm -rf "$WORK"
}
trap cleanup EXIT

"$TSDB_BIN" --config.file= --storage.tsdb.path="$WORK/ours" \
  --web.listen-address=127.0.0.1:${OURS_PORT} --web.enable-remote-write-receiver --log.level=warn &
OURS=$!
printf 'global:\n  scrape_interval: 1h\n' > "$WORK/prometheus.yml"
prometheus --config.file="$WORK/prometheus.yml" --storage.tsdb.path="$WORK/peer" \
  --web.listen-address=127.0.0.1:${PEER_PORT} --web.enable-remote-write-receiver --log.level=warn \
  >"$WORK/prometheus.log" 2>&1 &
PEER=$!
sleep 3

SCRAPES=$(( HOURS * 3600 / INTERVAL ))
# Queries run at whole minutes and their steps; samples sit 7 s past the grid, so no sample
# falls exactly on a window edge, where Prometheus 2.42 (left-closed ranges and lookback) and
# 3.x (left-open, which we follow) differ by design.
END_S=$(( $(date +%s) / 60 * 60 ))
START_MS=$(( (END_S - SCRAPES * INTERVAL) * 1000 + 7000 ))
echo "series=$SERIES interval=${INTERVAL}s scrapes=$SCRAPES samples=$(( SERIES * SCRAPES )) end=$END_S"

for target in "ours:${OURS_PORT}:$OURS" "prometheus:${PEER_PORT}:$PEER"; do
  IFS=: read -r name port pid <<<"$target"
  echo "== $name remote-write ($(cut -d' ' -f1-3 /proc/loadavg))"
  "$BENCH_BIN" remote-write --url "http://127.0.0.1:$port/api/v1/write" \
    --series "$SERIES" --scrapes "$SCRAPES" --interval-ms "$(( INTERVAL * 1000 ))" \
    --start-ms "$START_MS" --pid "$pid"
done
# Both servers cut 2-hour blocks from the head once a minute: let them settle first.
echo "== settling (head compaction, $SETTLE s)"
sleep "$SETTLE"
echo "== queries (load average $(cut -d' ' -f1-3 /proc/loadavg))"
"$BENCH_BIN" compare-queries --ours http://127.0.0.1:${OURS_PORT} --peer http://127.0.0.1:${PEER_PORT} \
  --time "$END_S" --runs "$RUNS" --ours-pid "$OURS" --peer-pid "$PEER" ${ONLY:+--only "$ONLY"}
echo "== done (load average $(cut -d' ' -f1-3 /proc/loadavg))"
du -sh "$WORK/ours" "$WORK/peer"
