#!/usr/bin/env bash
# Webhook throughput: 1 KiB records, keep-alive clients (wrk), `ack: queued`, into the json parser and a discard
# output. Prints wrk's requests/s and latency percentiles for each fsync policy.
#   bash Benchmarks/webhook/run.sh [seconds] [connections]
# Needs wrk (apt-get install -y wrk). Builds TraceTail in release.
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-10}
connections=${2:-8}
swift build -c release --product tracetail >/dev/null 2>&1
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
for fsync in always never; do
  cat > "$work/config.yaml" <<YAML
service: { data_dir: $work/data-$fsync }
pipelines:
  bench:
    input:
      type: webhook
      listen: 127.0.0.1:18686
      auth: { bearer_tokens: [ "bench-token" ] }
      queue: { max_bytes: 1GiB, fsync: $fsync }
    parsers: [ { type: json } ]
    outputs: [ { type: discard } ]
YAML
  .build/release/tracetail run -c "$work/config.yaml" 2>"$work/stderr-$fsync.log" &
  server=$!
  for _ in $(seq 100); do grep -q "webhook listening" "$work/stderr-$fsync.log" && break; sleep 0.1; done
  echo "== fsync: $fsync, $connections connections, ${seconds}s"
  wrk -t 2 -c "$connections" -d "${seconds}s" --latency -s Benchmarks/webhook/post.lua http://127.0.0.1:18686/ingest \
    | grep -E "Requests/sec|Latency|50%|90%|99%|requests in|Non-2xx"
  ps -o rss=,time= -p "$server" | awk '{print "tracetail RSS " $1/1024 " MB, CPU time " $2}'
  kill -TERM "$server"; wait "$server" || true
  grep -o "records_in=[0-9]* records_settled=[0-9]*" "$work/stderr-$fsync.log" # every accepted record delivered
done
