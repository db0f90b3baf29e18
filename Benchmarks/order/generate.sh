#!/usr/bin/env bash
# Regenerates deploy/release/tracetail.order: the functions tracetail runs as it starts, idles, ships a little and
# stops, in the order they first run. functrace.c puts a breakpoint on every function of the production binary and
# removes each when it is first hit. Traced, most common first: a sidecar at rest (tailing an empty log into an
# OTLP endpoint, service server on), the example configuration shipping its log, request previews of every output
# for kv and JSON logs (`tracetail test`), the webhook input at rest. A stale order costs only memory: names the
# binary no longer has are skipped.
#   bash Benchmarks/order/generate.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
gcc -O2 -o "$work/functrace" Benchmarks/order/functrace.c
binary=$(bash deploy/build-release.sh)
nm -S --defined-only "$binary" | awk 'NF == 4 && $3 ~ /^[tTwW]$/ {print $1, $4}' > "$work/functions"
export TRACETAIL_DATA_DIR="$work/data" TRACETAIL_WEBHOOK_PORT=18089
traces=0
trace() { # SECONDS ARGS...: one traced run of the binary
  traces=$((traces + 1))
  "$work/functrace" "$1" "$work/functions" "$work/order.$traces" "$binary" "${@:2}" < "${input:-/dev/null}" > /dev/null 2> "$work/stderr" \
    || { cat "$work/stderr"; exit 1; }
  echo "$* — $(tail -1 "$work/stderr")"
}
: > "$work/empty.log"
cat > "$work/sidecar.yaml" <<YAML
pipelines:
  sidecar:
    input: { type: file, include: ["$work/empty.log"], start_at: beginning }
    parsers: [ { type: json } ]
    outputs: [ { type: otlp, endpoint: "http://127.0.0.1:9/v1/traces" } ]
YAML
cat > "$work/previews.yaml" <<YAML
pipelines:
  previews:
    input: { type: stdin }
    parsers: [ { type: kv, trace_id_from: request_id }, { type: json, trace_id_from: request_id } ]
    outputs:
      - { type: otlp, endpoint: "http://127.0.0.1:9/v1/traces", encoding: json }
      - { type: otlp, endpoint: "http://127.0.0.1:9/v1/traces" }
      - { type: langwatch, endpoint: "http://127.0.0.1:9", api_key: preview }
      - { type: langsmith, endpoint: "http://127.0.0.1:9", api_key: preview }
YAML
trace 4 run -c "$work/sidecar.yaml"
trace 10 run --once -c config.example.yaml
trace 10 test -c "$work/previews.yaml" --input examples/logs/llm-app.logfmt --format json
trace 10 test -c "$work/previews.yaml" --input examples/logs/llm-app.jsonl
trace 4 run -c examples/webhook.yaml
cat "$work"/order.* | awk '!seen[$0]++' > deploy/release/tracetail.order
echo "deploy/release/tracetail.order: $(wc -l < deploy/release/tracetail.order) functions"
bash deploy/build-release.sh > /dev/null
