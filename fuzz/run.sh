#!/usr/bin/env bash
# Fuzzes the model-file loader, the IDX reader, data set folders, the option checking of
# `bitsmnist train` and the merge of member files for a bounded time each.
#   fuzz/run.sh [seconds-per-target]   (default 60)
# Installs cargo-fuzz if missing; needs a nightly toolchain (`rustup toolchain install nightly`).
# Crashes are written to fuzz/artifacts/<target>/; copy each into
# bitsmnist-core/tests/fuzz-regressions/ (as model-* or idx-*) so that `cargo test` keeps it.
set -euo pipefail
secs="${1:-60}"
cd "$(dirname "$0")"
if ! command -v cargo-fuzz >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi
mkdir -p corpus/load_model corpus/idx corpus/dataset_dir corpus/cli_options corpus/merge
# Seed the corpora with valid inputs so the fuzzer starts past the headers.
cp -n ../bitsmnist-core/tests/fuzz-regressions/model-* corpus/load_model/ 2>/dev/null || true
cp -n ../bitsmnist-core/tests/fuzz-regressions/idx-* corpus/idx/ 2>/dev/null || true
cp -n seeds/model-* corpus/load_model/ 2>/dev/null || true
cp -n seeds/idx-* corpus/idx/ 2>/dev/null || true
cp -n seeds/dataset-* corpus/dataset_dir/ 2>/dev/null || true
cp -n seeds/cli-* corpus/cli_options/ 2>/dev/null || true
status=0
for target in load_model idx dataset_dir cli_options merge; do
    echo "== fuzzing $target for ${secs}s"
    cargo +nightly fuzz run "$target" "corpus/$target" -- \
        -max_total_time="$secs" -rss_limit_mb=2048 -max_len=65536 || status=1
done
exit $status
