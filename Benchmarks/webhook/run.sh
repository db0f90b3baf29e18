#!/usr/bin/env bash
# Webhook throughput: 1 KiB records, keep-alive clients (wrk), `ack: queued`, into the json parser and a discard
# output. Prints wrk's requests/s and latency percentiles for each fsync policy; then the drain row: the webhook
# queues records one per request while its output is down, stops, and `run --once` drains the queue into
# json → discard (records/s, CPU seconds, peak RSS).
#   bash Benchmarks/webhook/run.sh [seconds] [connections]
# Needs wrk (apt-get install -y wrk) and GNU time at /usr/bin/time (apt-get install -y time). Runs the production
# build (deploy/build-release.sh), or the binary TRACETAIL names (e.g. an older build, to compare).
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-10}
connections=${2:-8}
tracetail=${TRACETAIL:-$(bash deploy/build-release.sh 2>/dev/null)}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

# config <data dir> <fsync> <output YAML>
config() {
  cat > "$work/config.yaml" <<YAML
service: { data_dir: $1, grace_period: 1s, http: { enabled: false } }
pipelines:
  bench:
    input:
      type: webhook
      listen: 127.0.0.1:18686
      auth: { bearer_tokens: [ "bench-token" ] }
      queue: { max_bytes: 1GiB, fsync: $2 }
    parsers: [ { type: json } ]
    outputs: [ $3 ]
YAML
}

# post <fsync> <seconds>: runs the webhook while wrk posts for that long, then stops it with SIGTERM.
post() {
  "$tracetail" run -c "$work/config.yaml" 2>"$work/stderr-$1.log" &
  server=$!
  for _ in $(seq 100); do grep -q "webhook listening" "$work/stderr-$1.log" && break; sleep 0.1; done
  wrk -t 2 -c "$connections" -d "${2}s" --latency -s Benchmarks/webhook/post.lua http://127.0.0.1:18686/ingest \
    | grep -E "Requests/sec|Latency|50%|90%|99%|requests in|Non-2xx"
  ps -o rss=,time= -p "$server" | awk '{print "tracetail RSS " $1/1024 " MB, CPU time " $2}'
  kill -TERM "$server"; wait "$server" || true
}

for fsync in always never; do
  config "$work/data-$fsync" "$fsync" "{ type: discard }"
  echo "== intake, fsync: $fsync, $connections connections, ${seconds}s"
  post "$fsync" "$seconds"
  grep -o "records_in=[0-9]* records_settled=[0-9]*" "$work/stderr-$fsync.log" # every accepted record delivered
done

# The drain row: an output that refuses every connection keeps what the webhook queues on disk.
config "$work/data-drain" never '{ type: otlp, endpoint: "http://127.0.0.1:9/v1/traces", initial_backoff: 10s }'
echo "== drain: queue for ${seconds}s (fsync: never), then run --once into json → discard"
post queue "$seconds" >/dev/null
config "$work/data-drain" never "{ type: discard }"
/usr/bin/time -v "$tracetail" run --once -c "$work/config.yaml" 2>"$work/drain.log" || true
records=$(grep -o "records_in=[0-9]*" "$work/drain.log" | head -1 | cut -d= -f2)
awk -v records="$records" -F': ' '
  /Elapsed \(wall clock\)/ { n = split($2, t, ":"); wall = (n == 3 ? t[1] * 3600 + t[2] * 60 + t[3] : t[1] * 60 + t[2]) }
  /User time/ { user = $2 } /System time/ { sys = $2 } /Maximum resident/ { rss = $2 }
  END { printf "drained %d records in %.2f s: %.0f records/s, user %.2f s, system %.2f s, peak RSS %.1f MB\n",
               records, wall, records / wall, user, sys, rss / 1024 }' "$work/drain.log"
