#!/usr/bin/env bash
# The production build of tracetail: what the container image ships and what Benchmarks/e2e measures. Beyond
# `swift build -c release`: the Swift runtime linked in (--static-swift-stdlib); every function in a section of
# its own, laid out by lld with the functions a starting and idling tracetail runs first (deploy/release/
# tracetail.order, made by Benchmarks/order/generate.sh) and the unnamed ones ahead of them (text-layout.ld);
# packed relative relocations; no exported symbols. A process then maps a few MB of the binary, not most of it:
# idle RSS 13 MB instead of 27 MB. Prints the binary's path; the build's own output goes to stderr.
#   bash deploy/build-release.sh
set -euo pipefail
cd "$(dirname "$0")/.."
layout="$PWD/deploy/release"
rm -f .build-release/release/tracetail # the order file is no build input SwiftPM tracks: always link anew
env -u TRACETAIL_BENCHMARKS swift build -c release --product tracetail --scratch-path .build-release --static-swift-stdlib \
  -Xswiftc -Xfrontend -Xswiftc -function-sections -Xcc -ffunction-sections -Xswiftc -use-ld=lld \
  -Xlinker --symbol-ordering-file="$layout/tracetail.order" -Xlinker --no-warn-symbol-ordering \
  -Xlinker -T -Xlinker "$layout/text-layout.ld" \
  -Xlinker -z -Xlinker pack-relative-relocs -Xlinker --no-export-dynamic >&2
echo "$PWD/.build-release/release/tracetail"
