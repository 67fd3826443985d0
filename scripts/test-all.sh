#!/usr/bin/env bash
# Runs every test of the project, installing first whatever the tests need (idempotent: a
# second run skips what is already there). Usage: bash scripts/test-all.sh
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

# Each step's time is printed when the next begins, and the whole run's at the end, so that
# a slow step shows. Disk use is printed at every step: a full disk shows up as a linker's bus
# error otherwise.
started=$SECONDS
step_started=$SECONDS
step_name=
step() {
  [ -z "$step_name" ] || printf '=== %s took %s\n' "$step_name" "$(elapsed $step_started)"
  step_name=$*
  step_started=$SECONDS
  printf '\n=== %s (free: %s)\n' "$*" "$(df -h --output=avail . | tail -n 1 | tr -d ' ')"
}
elapsed() { local s=$((SECONDS - $1)); printf '%d min %02d s' $((s / 60)) $((s % 60)); }

# Incremental caches are a build-speed aid for editing, not for one pass over every test, and
# they take as much disk as the build itself. (Not for the steps below that run the evcxr
# kernel: its per-cell crates fail to load, "dlsym failed", when built without them.)
export CARGO_INCREMENTAL=0

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
# The --help examples that pipe `--json` into jq run as written (bitsmnist-cli's
# tests/output.rs; without jq they are left out).
bash scripts/apt-install.sh jq

step "unit, integration and doc tests"
# Every test once, the desktop app's headless UI tests included (the test-all.d steps run none
# of them again).
# Rustdoc links one binary per doctest into the temporary folder, which may be a small tmpfs:
# keep those beside the build instead.
mkdir -p target/tmp
TMPDIR="$root/target/tmp" cargo test --workspace --all-features

step "benchmarks compile and the bench command runs"
cargo bench -p bitsmnist-core --no-run
cargo run --release --bin bitsmnist -- bench --images 1000 --seconds 0.05

for extra in scripts/test-all.d/*.sh; do
  [ -e "$extra" ] || continue
  step "$extra"
  env -u CARGO_INCREMENTAL bash "$extra" "$root"
done

step "all tests passed"
printf '=== the whole run took %s\n' "$(elapsed $started)"
