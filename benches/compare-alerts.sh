#!/usr/bin/env bash
# Side-by-side run of the Alertmanager workloads against alert-router and Debian's
# Alertmanager (prometheus-alertmanager 0.25), same config, a fresh server per workload.
# Usage: benches/compare-alerts.sh [post alerts] [get alerts] [get runs]
# Environment: MODES (default "post notify get"), REPEAT (default 1: rounds of every mode,
# each round running both servers back to back so their figures share the machine's load).
# Needs an optimised build: cargo build --release -p alert-router -p lgtm-bench
# Never run in CI; results go to docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
POST_ALERTS=${1:-200000}
GET_ALERTS=${2:-30000}
GET_RUNS=${3:-20}
MODES=${MODES:-post notify get}
REPEAT=${REPEAT:-1}
TARGET=${CARGO_TARGET_DIR:-target}/release
WORK=$(mktemp -d)
SERVER=
trap 'if [ -n "$SERVER" ]; then kill "$SERVER" 2>/dev/null || true; fi; rm -rf "$WORK"' EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
SINK_PORT=$(free_port)
cat > "$WORK/alertmanager.yml" <<EOF
global:
  resolve_timeout: 5m
route:
  receiver: sink
  group_by: [group]
  group_wait: 1s
  group_interval: 5m
  repeat_interval: 4h
receivers:
  - name: sink
    webhook_configs:
      - url: http://127.0.0.1:$SINK_PORT/
        send_resolved: false
EOF

# start_server <name> <port> <data dir>: sets SERVER to its pid once it answers /-/ready.
start_server() {
  local name=$1 port=$2 data=$3
  mkdir -p "$data"
  local flags=(--config.file="$WORK/alertmanager.yml" --storage.path="$data"
    --web.listen-address="127.0.0.1:$port" --cluster.listen-address= --log.level=warn)
  case $name in
    ours) "$TARGET/alert-router" "${flags[@]}" & ;;
    alertmanager) prometheus-alertmanager "${flags[@]}" & ;;
  esac
  SERVER=$!
  for _ in $(seq 100); do
    curl -fsS "http://127.0.0.1:$port/-/ready" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "$name did not become ready on port $port" >&2
  return 1
}

stop_server() { kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; SERVER=; }

for round in $(seq "$REPEAT"); do
for mode in $MODES; do
  for name in ours alertmanager; do
    port=$(free_port)
    start_server "$name" "$port" "$WORK/$name-$mode-$round"
    echo "== round $round: $name $mode (load average: $(cut -d' ' -f1-3 /proc/loadavg))"
    case $mode in
      post) extra=(--alerts "$POST_ALERTS" --batch 100 --concurrency 4 --pid "$SERVER") ;;
      notify) extra=(--groups 1000 --per-group 10 --batch 100 --group-wait-ms 1000 --pid "$SERVER") ;;
      get) extra=(--alerts "$GET_ALERTS" --runs "$GET_RUNS" --pid "$SERVER") ;;
    esac
    "$TARGET/lgtm-bench" alerts --url "http://127.0.0.1:$port" --sink "127.0.0.1:$SINK_PORT" \
      --mode "$mode" "${extra[@]}" || echo "!! $name $mode failed"
    stop_server
  done
done
done
