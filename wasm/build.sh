#!/usr/bin/env bash
# Rebuilds wasm/pkg/rollsafe_emu.wasm, byte for byte reproducibly, with Debian's rustc 1.63
# (/usr/bin/cargo + Debian's libstd-rust-dev-wasm32, linked by rust-lld
# = lld-14) and binaryen's wasm-opt (deterministic). rustup's cargo on PATH has no wasm32 std,
# hence the absolute paths. The checkout path is remapped so it never reaches the binary.
set -euo pipefail
cd "$(dirname "$0")"
here=$(pwd -P)
export RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc
export RUSTFLAGS="--remap-path-prefix=${here}=/rollsafe/wasm"
export CARGO_TARGET_DIR="${here}/target"
/usr/bin/cargo build --quiet --release --locked --target wasm32-unknown-unknown
mkdir -p pkg
wasm-opt -O3 target/wasm32-unknown-unknown/release/rollsafe_emu.wasm -o pkg/rollsafe_emu.wasm
echo "wasm/pkg/rollsafe_emu.wasm $(wc -c < pkg/rollsafe_emu.wasm) bytes sha256 $(sha256sum pkg/rollsafe_emu.wasm | cut -c1-16)"
