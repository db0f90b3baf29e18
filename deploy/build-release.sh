#!/usr/bin/env bash
# The production build of tracetail: what the container image ships and what Benchmarks/e2e measures. Beyond
# `swift build -c release`: the Swift runtime linked in (--static-swift-stdlib); every function in a section of
# its own, laid out by lld with the functions a starting TraceTail runs first (traced from this very build by
# deploy/release/trace.sh, then linked again) and the unnamed ones ahead of them (text-layout.ld); packed relative
# relocations; no exported symbols. A process then maps a few MB of its code instead of most of it: idle RSS
# about 14 MB instead of 27 MB. Prints the binary's path; the build's own output goes to stderr.
#   bash deploy/build-release.sh
set -euo pipefail
cd "$(dirname "$0")/.."
scratch="$PWD/.build-release"
order="$scratch/tracetail.order"
mkdir -p "$scratch"
[ -f "$order" ] || : > "$order"
link() { # compiles what changed and links anew (the order file is no input SwiftPM tracks)
  rm -f "$scratch/release/tracetail"
  env -u TRACETAIL_BENCHMARKS swift build -c release --product tracetail --scratch-path "$scratch" --static-swift-stdlib \
    -Xswiftc -Xfrontend -Xswiftc -function-sections -Xcc -ffunction-sections -Xswiftc -use-ld=lld \
    -Xlinker --symbol-ordering-file="$order" -Xlinker --no-warn-symbol-ordering \
    -Xlinker -T -Xlinker "$PWD/deploy/release/text-layout.ld" \
    -Xlinker -z -Xlinker pack-relative-relocs -Xlinker --no-export-dynamic >&2
}
link
if bash deploy/release/trace.sh "$scratch/release/tracetail" "$order.new" >&2; then
  mv "$order.new" "$order"
  link
else # e.g. where ptrace is not allowed: the binary works, it only maps more of itself
  echo "warning: the startup layout could not be traced; $scratch/release/tracetail is laid out as before" >&2
fi
echo "$scratch/release/tracetail"
