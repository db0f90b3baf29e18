#!/usr/bin/env bash
# Discovery cost: the CPU TraceTail spends following ACTIVE files written at RATE lines/s each, alone and among
# IDLE files that match the same glob (file input → json → discard). Prints the CPU seconds (user+sys) over
# SECONDS of writing for both runs and their ratio; the target is at most 1.3×. Runs the production build
# (deploy/build-release.sh), or the binary TRACETAIL names.
#   bash Benchmarks/files/run.sh [IDLE=2000] [ACTIVE=20] [RATE=250] [SECONDS=20]
set -euo pipefail
cd "$(dirname "$0")/../.."
idle=${1:-2000}
active=${2:-20}
rate=${3:-250}
seconds=${4:-20}
tracetail=${TRACETAIL:-$(bash deploy/build-release.sh 2>/dev/null)}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

# CPU seconds (user + system) a process has used, from /proc.
cpu_seconds() { awk -v hz="$(getconf CLK_TCK)" '{print ($14 + $15) / hz}' "/proc/$1/stat"; }

# Runs TraceTail on $work/logs-$1 while ACTIVE writers append for SECONDS; prints its CPU seconds.
measure() {
  local logs=$work/logs-$1
  cat > "$work/config-$1.yaml" <<YAML
service: { data_dir: $work/data-$1, http: { enabled: false } }
pipelines:
  files:
    input: { type: file, include: ["$logs/*.log"], start_at: end }
    parsers: [ { type: json } ]
    outputs: [ { type: discard } ]
YAML
  "$tracetail" run -c "$work/config-$1.yaml" 2>"$work/stderr-$1" &
  local server=$!
  for _ in $(seq 100); do grep -q "following file" "$work/stderr-$1" && break; sleep 0.1; done
  sleep 2 # startup (discovery of every file) is not what is measured
  local before
  before=$(cpu_seconds "$server")
  python3 - "$logs" "$active" "$rate" "$seconds" <<'PY'
import sys, time
logs, active, rate, seconds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
files = [open(f"{logs}/active-{i}.log", "a", buffering=1) for i in range(active)]
start, n = time.monotonic(), 0
while time.monotonic() - start < seconds:
    for f in files:
        f.write('{"msg":"llm call","model":"gpt-4o-mini","prompt_tokens":%d,"completion_tokens":12}\n' % n)
    n += 1
    time.sleep(max(0.0, start + n / rate - time.monotonic()))
PY
  local after
  after=$(cpu_seconds "$server")
  kill -TERM "$server"; wait "$server" || true
  awk -v a="$after" -v b="$before" 'BEGIN {printf "%.2f\n", a - b}'
}

mkdir -p "$work/logs-alone" "$work/logs-among"
for i in $(seq 0 $((active - 1))); do
  echo '{"msg":"start"}' > "$work/logs-alone/active-$i.log"
  echo '{"msg":"start"}' > "$work/logs-among/active-$i.log"
done
for i in $(seq 0 $((idle - 1))); do echo '{"msg":"idle"}' > "$work/logs-among/idle-$i.log"; done
alone=$(measure alone)
among=$(measure among)
echo "== $active files at $rate lines/s each for ${seconds}s"
echo "alone:              $alone CPU-s"
echo "among $idle idle:  $among CPU-s"
awk -v a="$among" -v b="$alone" 'BEGIN {printf "ratio: %.2f (target <= 1.3)\n", a / b}'
