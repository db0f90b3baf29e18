#!/usr/bin/env bash
# End to end, with the production build (deploy/build-release.sh): file input → parser → otlp output → a local
# counting OTLP sink (Benchmarks/OTLPSink), with `run --once` on N deterministic LLM-call lines, for JSON and kv
# logs, and the JSON lines in containerd's CRI framing (`format: cri`, every 1000th line cut in two pieces), and
# both OTLP encodings. Prints lines/s,
# CPU seconds (user+sys) per million lines and peak RSS (from /usr/bin/time), the median of RUNS runs each, and
# checks that the sink saw every span exactly once. Then the `langwatch` collector output, whose rule is one trace
# per request (every sample line is a trace of its own: TRACES requests), the idle RSS, and the sink alone with
# wrk, if installed.
#   bash Benchmarks/e2e/run.sh [N=1000000] [RUNS=3] [TRACES=20000]
set -euo pipefail
cd "$(dirname "$0")/../.."
lines=${1:-1000000}
runs=${2:-3}
traces=${3:-20000}
port=14318
tracetail=$(bash deploy/build-release.sh 2>/dev/null) # the production build, as the container image ships it
export TRACETAIL_BENCHMARKS=1
swift build -c release --product OTLPSink >/dev/null 2>&1
swift build -c release --product SampleLogs >/dev/null 2>&1
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
.build/release/OTLPSink $port "$work/sample-body" >/dev/null 2>&1 &
for _ in $(seq 100); do curl -sf localhost:$port/stats >/dev/null && break; sleep 0.1; done

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# Runs `tracetail run --once -c CONFIG` against a freshly reset sink: sets wall, user, sys, rss (KB) from
# /usr/bin/time and requests, spans, distinct from the sink's counts.
measure() {
  rm -rf "$work/data"
  curl -sf -X POST localhost:$port/reset >/dev/null
  /usr/bin/time -f "%e %U %S %M" -o "$work/time" "$tracetail" run --once -c "$1" 2>"$work/stderr" \
    || { cat "$work/stderr"; exit 1; }
  read -r wall user sys rss < "$work/time"
  local stats
  stats=$(curl -sf localhost:$port/stats)
  requests=$(echo "$stats" | sed 's/.*"requests":\([0-9]*\).*/\1/')
  spans=$(echo "$stats" | sed 's/.*"spans":\([0-9]*\).*/\1/')
  distinct=$(echo "$stats" | sed 's/.*"distinct_spans":\([0-9]*\).*/\1/')
}

printf "%-6s %-9s %12s %14s %14s   %s\n" format encoding lines/s "CPU-s per 1M" "peak RSS MB" "runs (lines/s)"
for format in json kv cri; do
  .build/release/SampleLogs $format "$lines" > "$work/app.log"
  parser=$format; framing=lines
  if [ $format = cri ]; then parser=json; framing=cri; fi
  for encoding in protobuf json; do
    cat > "$work/config.yaml" <<YAML
service: { data_dir: $work/data }
pipelines:
  bench:
    input: { type: file, include: ["$work/app.log"], start_at: beginning, format: $framing }
    parsers: [ { type: $parser } ]
    outputs:
      - { type: otlp, endpoint: "http://127.0.0.1:$port/v1/traces", encoding: $encoding, compression: none }
YAML
    rates=(); cpus=(); rsss=()
    for _ in $(seq "$runs"); do
      measure "$work/config.yaml"
      if [ "$spans" != "$lines" ] || [ "$distinct" != "$lines" ]; then
        echo "LOST OR DUPLICATED: sent $lines, sink saw $spans spans, $distinct distinct ($format/$encoding)"; exit 1
      fi
      rates+=("$(awk -v n="$lines" -v w="$wall" 'BEGIN {printf "%d", n / w}')")
      cpus+=("$(awk -v n="$lines" -v u="$user" -v s="$sys" 'BEGIN {printf "%.2f", (u + s) * 1000000 / n}')")
      rsss+=("$(awk -v k="$rss" 'BEGIN {printf "%.0f", k / 1024}')")
    done
    printf "%-6s %-9s %12s %14s %14s   %s\n" $format $encoding \
      "$(printf "%s\n" "${rates[@]}" | median)" "$(printf "%s\n" "${cpus[@]}" | median)" \
      "$(printf "%s\n" "${rsss[@]}" | median)" "${rates[*]}"
  done
done

# The collector output: one request per trace, so requests/s is what bounds it; CPU per request shows what each
# costs (trace_quiet shortened so that waiting for quiet traces does not dominate the run).
.build/release/SampleLogs json "$traces" > "$work/traces.log"
cat > "$work/collector.yaml" <<YAML
service: { data_dir: $work/data }
pipelines:
  bench:
    input: { type: file, include: ["$work/traces.log"], start_at: beginning }
    parsers: [ { type: json } ]
    outputs: [ { type: langwatch, endpoint: "http://127.0.0.1:$port", api_key: lw-benchmark-key, trace_quiet: 100ms } ]
YAML
measure "$work/collector.yaml"
[ "$requests" = "$traces" ] && [ "$distinct" = "$traces" ] || { echo "collector: sent $traces traces, sink saw $requests requests, $distinct spans"; exit 1; }
awk -v n="$traces" -v w="$wall" -v u="$user" -v s="$sys" -v r="$rss" 'BEGIN {
  printf "langwatch collector: %d traces, one request each: %.0f requests/s, %.0f µs CPU per request (%.0f %% of one core), peak RSS %.0f MB\n", n, n / w, (u + s) * 1e6 / n, (u + s) * 100 / w, r / 1024 }'

# Idle: a tailing process with nothing to read.
: > "$work/idle.log"
sed "s#$work/app.log#$work/idle.log#" "$work/config.yaml" > "$work/idle.yaml"
"$tracetail" run -c "$work/idle.yaml" 2>/dev/null &
idle=$!
sleep 3
echo "idle RSS: $(ps -o rss= -p $idle | awk '{printf "%.1f", $1 / 1024}') MB"
kill -TERM $idle; wait $idle || true

if command -v wrk >/dev/null && [ -s "$work/sample-body" ]; then
  cat > "$work/post.lua" <<LUA
local file = io.open("$work/sample-body", "rb"); wrk.body = file:read("*a"); file:close()
wrk.method = "POST"; wrk.headers["Content-Type"] = "application/x-protobuf"
LUA
  spans=$(curl -sf -X POST localhost:$port/reset >/dev/null; curl -s -X POST -H "Content-Type: application/x-protobuf" --data-binary @"$work/sample-body" localhost:$port/v1/traces >/dev/null; curl -sf localhost:$port/stats | sed 's/.*"spans":\([0-9]*\).*/\1/')
  rate=$(wrk -t 2 -c 4 -d 5s -s "$work/post.lua" http://127.0.0.1:$port/v1/traces | awk '/Requests\/sec/ {print $2}')
  echo "sink alone (the first OTLP protobuf request, $spans spans, replayed by wrk): $(awk -v r="$rate" -v s="$spans" 'BEGIN {printf "%d", r * s}') spans/s"
fi
