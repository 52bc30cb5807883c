#!/usr/bin/env bash
# Scrape ingest side by side: metrics-tsdb and Debian's Prometheus scrape the same synthetic
# node-exporter-like fleet (`lgtm-bench scrape-targets`) in one run; prints samples per
# CPU-second (utime+stime from /proc/<pid>/stat over the measured window) for each.
# Usage: benches/compare-scrape.sh [targets] [series per target] [interval seconds] [seconds]
# Env: WARMUP (seconds before the window opens, default 20), OURS_FLAGS (extra flags for ours).
# Needs an optimised build: cargo build --release -p metrics-tsdb -p lgtm-bench
# Never run in CI; results go to docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
TARGETS=${1:-100}
SERIES=${2:-1500}
INTERVAL=${3:-2}
WINDOW=${4:-120}
WARMUP=${WARMUP:-20}
BIN=${CARGO_TARGET_DIR:-target}/release
WORK=$(mktemp -d)
GEN= OURS= PEER=
trap 'kill $GEN $OURS $PEER 2>/dev/null || true; wait 2>/dev/null; rm -rf "$WORK"' EXIT

"$BIN/lgtm-bench" scrape-targets --targets "$TARGETS" --series "$SERIES" \
  --interval "${INTERVAL}s" --duration $(( WARMUP + WINDOW + 60 )) \
  --config "$WORK/prometheus.yml" &
GEN=$!
for _ in $(seq 100); do [ -s "$WORK/prometheus.yml" ] && break; sleep 0.1; done

# shellcheck disable=SC2086
"$BIN/metrics-tsdb" --config.file="$WORK/prometheus.yml" --storage.tsdb.path="$WORK/ours" \
  --web.listen-address=127.0.0.1:19090 --log.level=warn ${OURS_FLAGS:-} &
OURS=$!
prometheus --config.file="$WORK/prometheus.yml" --storage.tsdb.path="$WORK/peer" \
  --web.listen-address=127.0.0.1:19091 --log.level=warn &
PEER=$!

cpu() { # utime+stime of a pid, in seconds
  awk -v hz="$(getconf CLK_TCK)" '{ sub(/.*\) /, ""); print ($12 + $13) / hz }' "/proc/$1/stat"
}
rss() { awk '/^VmRSS:/ { print $2 * 1024 }' "/proc/$1/status"; }
query() { # port, PromQL, time -> scalar
  curl -sf "http://127.0.0.1:$1/api/v1/query" --data-urlencode "query=$2" \
    --data-urlencode "time=$3" | jq -r '.data.result[0].value[1] // "0"'
}

sleep "$WARMUP"
GEN0=$(cpu "$GEN"); OURS0=$(cpu "$OURS"); PEER0=$(cpu "$PEER")
T0=$(date +%s)
sleep "$WINDOW"
GEN1=$(cpu "$GEN"); OURS1=$(cpu "$OURS"); PEER1=$(cpu "$PEER")
T1=$(date +%s)
LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
SPAN=$(( T1 - T0 ))

echo "targets=$TARGETS series/target=$SERIES interval=${INTERVAL}s window=${SPAN}s load average: $LOAD"
echo "generator CPU: $(echo "$GEN1 - $GEN0" | bc -l) s"
declare -A RATE
for target in "ours:19090:$OURS0:$OURS1:$OURS" "prometheus:19091:$PEER0:$PEER1:$PEER"; do
  IFS=: read -r name port c0 c1 pid <<<"$target"
  scraped=$(query "$port" "sum(sum_over_time(scrape_samples_scraped[${SPAN}s]))" "$T1")
  scrapes=$(query "$port" "sum(count_over_time(up[${SPAN}s]))" "$T1")
  up=$(query "$port" "sum(up)" "$T1")
  duration=$(query "$port" "avg(avg_over_time(scrape_duration_seconds[${SPAN}s]))" "$T1")
  # Every scrape also appends the five synthetic series (up, scrape_*).
  samples=$(echo "$scraped + 5 * $scrapes" | bc -l)
  used=$(echo "$c1 - $c0" | bc -l)
  RATE[$name]=$(echo "$samples / $used" | bc -l)
  printf '%-10s samples=%.0f scrapes=%.0f up=%s/%s cpu=%.2fs samples/cpu-s=%.0f avg scrape=%.3fs rss=%s\n' \
    "$name" "$samples" "$scrapes" "$up" "$TARGETS" "$used" "${RATE[$name]}" "$duration" "$(rss "$pid")"
done
printf 'ratio ours/prometheus: %.2f\n' "$(echo "${RATE[ours]} / ${RATE[prometheus]}" | bc -l)"
