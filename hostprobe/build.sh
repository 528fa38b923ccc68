#!/usr/bin/env bash
# Build hostprobe as a static arm64 binary (deno task build:hostprobe).
# Output: hostprobe/bin/hostprobe-aarch64. Flags keep the bytes independent of the checkout path
# and of time, so CI can rebuild it and compare (.ci/artifacts).
set -euo pipefail
cd "$(dirname "$0")"
CC="${AARCH64_CC:-aarch64-linux-gnu-gcc}"
mkdir -p bin
"$CC" -static -O2 -std=gnu11 -Wall -Wextra -Werror \
  -ffile-prefix-map="$PWD"=. -fno-ident -Wl,--build-id=none \
  -o bin/hostprobe-aarch64.tmp src/*.c
aarch64-linux-gnu-strip --strip-all bin/hostprobe-aarch64.tmp
mv bin/hostprobe-aarch64.tmp bin/hostprobe-aarch64
sha256sum bin/hostprobe-aarch64
