#!/usr/bin/env bash
# WAL replay side by side: for metrics-tsdb and then Debian's Prometheus, remote-write SERIES
# active series (SCRAPES samples each), note the steady-state RSS, `kill -9` the server,
# restart it on the same data directory and time start -> `/-/ready` 200, with the peak RSS
# (VmHWM) of the restarted process at that moment and its CPU seconds spent replaying.
# Servers run one after the other so only one large heap exists at a time.
# Usage: benches/compare-replay.sh [series] [samples per series]
# Env: STOP=term to stop with SIGTERM instead of SIGKILL, OURS_FLAGS (extra flags for ours),
# PORT (ours; Prometheus gets PORT+1, default 19092).
# Needs an optimised build: cargo build --release -p metrics-tsdb -p lgtm-bench
# Never run in CI; results go to docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
SERIES=${1:-1000000}
SCRAPES=${2:-5}
SIGNAL=KILL
[ "${STOP:-kill}" = term ] && SIGNAL=TERM
BIN=${CARGO_TARGET_DIR:-target}/release
WORK=$(mktemp -d)
PID=
trap 'kill -9 $PID 2>/dev/null || true; rm -rf "$WORK"' EXIT

kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }
cpu() { awk -v hz="$(getconf CLK_TCK)" '{ sub(/.*\) /, ""); print ($12 + $13) / hz }' "/proc/$1/stat"; }
now() { date +%s.%N; }
start() { # name port -> sets PID
  if [ "$1" = ours ]; then
    # shellcheck disable=SC2086
    "$BIN/metrics-tsdb" --config.file= --storage.tsdb.path="$WORK/$1" \
      --web.listen-address="127.0.0.1:$2" --web.enable-remote-write-receiver \
      --log.level=warn ${OURS_FLAGS:-} &
  else
    printf 'global:\n  scrape_interval: 1h\n' >"$WORK/prometheus.yml"
    prometheus --config.file="$WORK/prometheus.yml" --storage.tsdb.path="$WORK/$1" \
      --web.listen-address="127.0.0.1:$2" --web.enable-remote-write-receiver --log.level=warn &
  fi
  PID=$!
}
wait_ready() { # port; polls every 20 ms for at most 30 minutes
  for _ in $(seq 90000); do
    curl -sf -o /dev/null "http://127.0.0.1:$1/-/ready" && return 0
    kill -0 "$PID" 2>/dev/null || { echo "server exited" >&2; return 1; }
    sleep 0.02
  done
  return 1
}
head_series() {
  curl -sf "http://127.0.0.1:$1/api/v1/status/tsdb" | jq -r '.data.headStats.numSeries'
}

echo "series=$SERIES samples/series=$SCRAPES stop=SIG$SIGNAL load average: $(cut -d' ' -f1-3 /proc/loadavg)"
PORT=${PORT:-19092}
for target in "ours:$PORT" "prometheus:$(( PORT + 1 ))"; do
  IFS=: read -r name port <<<"$target"
  start "$name" "$port"
  wait_ready "$port"
  "$BIN/lgtm-bench" remote-write --url "http://127.0.0.1:$port/api/v1/write" \
    --series "$SERIES" --scrapes "$SCRAPES" --pid "$PID" | tail -n 2
  sleep 5
  steady=$(kb "$PID" VmRSS)
  before=$(head_series "$port")
  kill "-$SIGNAL" "$PID"
  wait "$PID" 2>/dev/null || true
  wal=$(du -sb "$WORK/$name" | cut -f1)
  t0=$(now)
  start "$name" "$port"
  wait_ready "$port"
  t1=$(now)
  peak=$(kb "$PID" VmHWM)
  used=$(cpu "$PID")
  after_rss=$(kb "$PID" VmRSS)
  after=$(head_series "$port")
  printf '%-10s replay %.2fs (cpu %.2fs) | steady RSS %d MiB | peak RSS in replay %d MiB (%.2fx) | RSS at ready %d MiB | series %s -> %s | data dir %d MiB\n' \
    "$name" "$(echo "$t1 - $t0" | bc -l)" "$used" $(( steady / 1024 )) $(( peak / 1024 )) \
    "$(echo "$peak / $steady" | bc -l)" $(( after_rss / 1024 )) "$before" "$after" $(( wal >> 20 ))
  kill -9 "$PID"
  wait "$PID" 2>/dev/null || true
  rm -rf "${WORK:?}/$name"
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
