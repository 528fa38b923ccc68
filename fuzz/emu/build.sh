#!/usr/bin/env bash
# Builds fuzz/emu/target/fuzz-emu: the emulator crate and this harness compiled with LLVM's
# sanitizer-coverage instrumentation (Debian rustc, LLVM 14), linked with clang-14's libFuzzer
# (apt: clang-14 libclang-rt-14-dev) as a non-PIE executable (see harness.rs).
set -euo pipefail
cd "$(dirname "$0")"
export RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc CARGO_NET_OFFLINE=true
export RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares"
/usr/bin/cargo build --release --quiet --target-dir target
clang-14 -fsanitize=fuzzer -no-pie -o target/fuzz-emu target/release/librollsafe_emu_fuzz.a \
  -lpthread -ldl -lm
echo "fuzz/emu/target/fuzz-emu"
