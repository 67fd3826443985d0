#!/usr/bin/env bash
# Fuzzes the model-file loader and the IDX reader for a bounded time (needs a nightly
# toolchain for cargo-fuzz; skipped with a note where none is installed).
set -euo pipefail
cd "$1"
if ! grep -q nightly <<<"$(rustup toolchain list 2>/dev/null)"; then
  echo "no nightly toolchain: fuzzing skipped (the regression inputs still run in cargo test)"
  exit 0
fi
bash fuzz/run.sh "${FUZZ_SECONDS:-30}"
