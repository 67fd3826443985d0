#!/usr/bin/env bash
# Runs every test of the project, installing first whatever the tests need (idempotent: a
# second run skips what is already there). Usage: bash scripts/test-all.sh
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

step() { printf '\n=== %s\n' "$*"; }

step "toolchain components"
for c in rustfmt clippy rust-src; do
  grep -q "^$c" <<<"$(rustup component list --installed 2>/dev/null)" || rustup component add "$c"
done

step "format and lints"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --all-features -- -D warnings
# The libraries' API docs build without broken links (rustdoc's lints as errors); the command
# line's doc comments are its --help text.
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --exclude bitsmnist-cli --all-features --no-deps

step "Cortex-M4 tool chain"
# bitsmnist-core/tests/mcu.rs cross-compiles the exported C and runs it under QEMU; without
# these it would skip, so the variable below makes a missing tool chain a failure here.
bash scripts/apt-install.sh gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm
export BITSMNIST_REQUIRE_MCU=1

step "unit, integration and doc tests"
# Every test once, the desktop app's headless UI tests included (the test-all.d steps run none
# of them again).
cargo test --workspace --all-features

step "benchmarks compile and the bench command runs"
cargo bench -p bitsmnist-core --no-run
cargo run --release --bin bitsmnist -- bench --images 1000 --seconds 0.05

for extra in scripts/test-all.d/*.sh; do
  [ -e "$extra" ] || continue
  step "$extra"
  bash "$extra" "$root"
done

step "all tests passed"
