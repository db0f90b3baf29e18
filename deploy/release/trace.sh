#!/usr/bin/env bash
# Writes the functions a starting TraceTail runs, in the order they first run, for the production build to lay its
# code out by (lld --symbol-ordering-file): functrace.c puts a breakpoint on every function of BINARY and removes
# each when it is first hit. Traced, most common first: sidecars at rest (tailing an empty log, json or kv, into
# OTLP or the LangWatch collector; service server on; killed, so that shutting down does not come first), the
# example configuration shipping its log, request previews of every output for kv and JSON logs (`tracetail
# test`), the webhook input at rest. No network beyond loopback; everything is written in a temporary directory.
#   bash deploy/release/trace.sh BINARY ORDER-FILE
set -euo pipefail
cd "$(dirname "$0")/../.."
binary=$1
output=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
clang -O2 -o "$work/functrace" deploy/release/functrace.c
nm -S --defined-only "$binary" | awk 'NF == 4 && $3 ~ /^[tTwW]$/ {print $1, $4}' > "$work/functions"
export TRACETAIL_DATA_DIR="$work/data" TRACETAIL_WEBHOOK_PORT=18089
traces=0
trace() { # SIGNAL SECONDS ARGS...: one traced run, stopped by SIGNAL after SECONDS unless it ends before
  traces=$((traces + 1))
  "$work/functrace" "$1" "$2" "$work/functions" "$work/order.$traces" "$binary" "${@:3}" < /dev/null > /dev/null 2> "$work/stderr" \
    || { cat "$work/stderr"; exit 1; }
  echo "${*:3}: $(tail -1 "$work/stderr")"
}
: > "$work/empty.log"
cat > "$work/sidecar.yaml" <<YAML
pipelines:
  json:
    input: { type: file, include: ["$work/empty.log"], start_at: beginning }
    parsers: [ { type: json } ]
    outputs: [ { type: otlp, endpoint: "http://127.0.0.1:9/v1/traces" } ]
  kv:
    input: { type: file, include: ["$work/empty.log"], start_at: beginning }
    parsers: [ { type: kv } ]
    outputs: [ { type: otlp, endpoint: "http://127.0.0.1:9/v1/traces", encoding: json } ]
  collector:
    input: { type: file, include: ["$work/empty.log"], start_at: beginning }
    parsers: [ { type: json } ]
    outputs: [ { type: langwatch, endpoint: "http://127.0.0.1:9", api_key: trace } ]
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
trace KILL 4 run -c "$work/sidecar.yaml"
trace TERM 10 run --once -c config.example.yaml
trace TERM 10 test -c "$work/previews.yaml" --input examples/logs/llm-app.logfmt --format json
trace TERM 10 test -c "$work/previews.yaml" --input examples/logs/llm-app.jsonl
trace TERM 4 run -c examples/webhook.yaml
cat "$work"/order.* | awk '!seen[$0]++' > "$output"
echo "$output: $(wc -l < "$output") functions"
