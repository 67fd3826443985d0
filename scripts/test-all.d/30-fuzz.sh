#!/usr/bin/env bash
# Fuzzes the model-file loader (load_model), the IDX reader (idx), data set folders
# (dataset_dir), the option checking of `bitsmnist train` (cli_options) and the merge of
# member files and their metadata (merge) for a bounded time each, FUZZ_SECONDS (default 30) per target (needs a nightly toolchain for cargo-fuzz;
# skipped with a note where none is installed).
set -euo pipefail
cd "$1"
if ! grep -q nightly <<<"$(rustup toolchain list 2>/dev/null)"; then
  echo "no nightly toolchain: fuzzing skipped (the regression inputs still run in cargo test)"
  exit 0
fi
bash fuzz/run.sh "${FUZZ_SECONDS:-30}"
