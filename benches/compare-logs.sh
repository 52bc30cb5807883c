#!/usr/bin/env bash
# The log-store benchmark of issue 7: ingest, peak RSS, bytes on disk and scanning queries.
# Usage: benches/compare-logs.sh [raw bytes, e.g. 300MB] [seed]
# Needs an optimised build: cargo build --release -p log-store -p lgtm-bench
# Starts the release log-store on a temp dir and free loopback ports, pushes the generated
# Kubernetes pod logs (protobuf+snappy as Promtail), runs the four scanning queries on the
# head, flushes the head to blocks (POST /flush), measures the blocks on disk and runs the
# queries again on the blocks. CPU-seconds (utime+stime) and peak RSS (VmHWM) of the server
# come from /proc, so other load on the machine does not skew them.
# Set PEER_URL (and PEER_PID when it runs locally) to push the same workload to a Loki too.
# Never run in CI; results go to docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
BYTES=${1:-300MB}
SEED=${2:-1}
SPAN=${SPAN:-3600}
TARGET=${BIN:-${CARGO_TARGET_DIR:-target}/release}
WORK=$(mktemp -d)
OURS=
trap '[ -n "$OURS" ] && kill "$OURS" 2>/dev/null; rm -rf "$WORK"' EXIT

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
cpu_of() { awk '{print ($14 + $15) / 100}' "/proc/$1/stat"; }
kb_of() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }

PORT=$(free_port)
GRPC=$(free_port)
mkdir -p "$WORK/data"
# A stock single-binary Loki config (the same file starts Loki 3.6), limits opened up so the
# benchmark measures throughput, not the default 4 MB/s tenant rate limit.
cat > "$WORK/loki.yaml" <<EOF
auth_enabled: false
server:
  http_listen_address: 127.0.0.1
  http_listen_port: $PORT
  grpc_listen_address: 127.0.0.1
  grpc_listen_port: $GRPC
  log_level: warn
common:
  instance_addr: 127.0.0.1
  path_prefix: $WORK/data
  storage:
    filesystem:
      chunks_directory: $WORK/data/chunks
      rules_directory: $WORK/data/rules
  replication_factor: 1
  ring:
    kvstore:
      store: inmemory
schema_config:
  configs:
    - from: 2020-10-24
      store: tsdb
      object_store: filesystem
      schema: v13
      index:
        prefix: index_
        period: 24h
limits_config:
  ingestion_rate_mb: 100000
  ingestion_burst_size_mb: 100000
  per_stream_rate_limit: 1GB
  per_stream_rate_limit_burst: 1GB
  max_global_streams_per_user: 0
  max_query_length: 0
analytics:
  reporting_enabled: false
EOF

"$TARGET/log-store" -config.file="$WORK/loki.yaml" &
OURS=$!
for _ in $(seq 100); do
  curl -fs "http://127.0.0.1:$PORT/ready" >/dev/null 2>&1 && break
  sleep 0.1
done
START_NS=$(( ($(date +%s) - SPAN - 60) * 1000000000 ))
SHAPE=(--seed "$SEED" --span "$SPAN" --start-ns "$START_NS")
echo "== log-store: push $BYTES (seed $SEED, span ${SPAN}s) to 127.0.0.1:$PORT, data in $WORK"
CPU0=$(cpu_of "$OURS")
"$TARGET/lgtm-bench" logs-push --url "http://127.0.0.1:$PORT" --bytes "$BYTES" "${SHAPE[@]}" \
  --pid "$OURS" | tee "$WORK/push.out"
RAW=$(sed -n 's/.*raw_bytes=\([0-9]*\).*/\1/p' "$WORK/push.out")
CPU1=$(cpu_of "$OURS")
echo "ingest: server_cpu_seconds=$(echo "$CPU1 - $CPU0" | bc) peak_rss_kb=$(kb_of "$OURS" VmHWM) rss_kb=$(kb_of "$OURS" VmRSS) wal_bytes=$(du -sb "$WORK/data/wal" | cut -f1)"

echo "== log-store: queries on the head"
"$TARGET/lgtm-bench" logs-query --url "http://127.0.0.1:$PORT" "${SHAPE[@]}" --pid "$OURS" \
  --raw-bytes "$RAW" --runs "${RUNS:-3}"

echo "== log-store: flush"
CPU0=$(cpu_of "$OURS")
curl -fsS -X POST "http://127.0.0.1:$PORT/flush"
CPU1=$(cpu_of "$OURS")
CHUNKS=$(du -sb "$WORK/data/chunks" | cut -f1)
echo "flush: server_cpu_seconds=$(echo "$CPU1 - $CPU0" | bc) raw_bytes=$RAW block_bytes=$CHUNKS compression=$(echo "scale=2; $RAW / $CHUNKS" | bc) disk_bytes_per_raw_byte=$(echo "scale=4; $CHUNKS / $RAW" | bc) wal_bytes_after=$(du -sb "$WORK/data/wal" | cut -f1) peak_rss_kb=$(kb_of "$OURS" VmHWM)"

echo "== log-store: queries on the blocks"
"$TARGET/lgtm-bench" logs-query --url "http://127.0.0.1:$PORT" "${SHAPE[@]}" --pid "$OURS" \
  --raw-bytes "$RAW" --runs "${RUNS:-3}"

if [ -n "${PEER_URL:-}" ]; then
  PEER_PID_ARG=()
  [ -n "${PEER_PID:-}" ] && PEER_PID_ARG=(--pid "$PEER_PID")
  echo "== peer $PEER_URL: push and queries"
  "$TARGET/lgtm-bench" logs-push --url "$PEER_URL" --bytes "$BYTES" "${SHAPE[@]}" "${PEER_PID_ARG[@]}"
  "$TARGET/lgtm-bench" logs-query --url "$PEER_URL" "${SHAPE[@]}" "${PEER_PID_ARG[@]}" \
    --raw-bytes "$RAW" --runs "${RUNS:-3}"
fi
