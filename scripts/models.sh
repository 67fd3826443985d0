#!/usr/bin/env bash
# Trains the shipped models of models/ again with the commands their rows in docs/figures.md
# give, and checks that each run makes the same network, bit for bit (the fingerprint its row
# names). The runs count steps, so the models are the same on every machine and thread count.
#
# Usage: bash scripts/models.sh [--write] [NAME...]
#   NAME     zero-one, digits-conv-climb or digits-conv-gradient (default: all three)
#   --write  save the models into models/ (as they are shipped) instead of a temporary folder
#
# Times on the 2-core development machine: zero-one 4 s, digits-conv-climb about 8
# minutes, digits-conv-gradient about 12 minutes (see docs/figures.md).
set -euo pipefail
cd "$(dirname "$0")/.."
write=0
names=()
for arg in "$@"; do
  case $arg in
    --write) write=1 ;;
    zero-one | digits-conv-climb | digits-conv-gradient) names+=("$arg") ;;
    *) echo "usage: bash scripts/models.sh [--write] [zero-one|digits-conv-climb|digits-conv-gradient...]" >&2; exit 2 ;;
  esac
done
[ ${#names[@]} -gt 0 ] || names=(zero-one digits-conv-climb digits-conv-gradient)

cargo build --release --quiet --bin bitsmnist
bin=$PWD/target/release/bitsmnist
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The figures row of each model: its anchor in docs/figures.md.
row_of() {
  case $1 in
    zero-one) echo zero-one ;;
    digits-conv-climb) echo digits-conv-climb ;;
    digits-conv-gradient) echo digits-gradient-conv ;;
  esac
}

status=0
for name in "${names[@]}"; do
  row=$(grep -F "<a id=\"$(row_of "$name")\"></a>" docs/figures.md)
  command=$(sed -n 's/.*| `\(bitsmnist train [^`]*\)` |.*/\1/p' <<<"$row")
  expected=$(sed -n 's/.*fingerprint `\([0-9a-f]\{8\}\)`.*/\1/p' <<<"$row")
  out=models/$name.bin
  [ $write = 1 ] || out=$tmp/$name.bin
  echo "$command --out $out --model-only --quiet"
  start=$(date +%s)
  # The row's command as it is written (word-split on purpose: it has no quoted words).
  # shellcheck disable=SC2086
  report=$("$bin" ${command#bitsmnist } --out "$out" --model-only --quiet --json | tail -n 1)
  got=$(python3 -c 'import json,sys; r=json.loads(sys.argv[1]); print(r["fingerprint"], "%.2f%%" % (100*r["test"]["accuracy"]))' "$report")
  echo "  $(( $(date +%s) - start )) s: fingerprint and test accuracy $got; docs/figures.md names fingerprint $expected"
  [ "${got%% *}" = "$expected" ] || { echo "  a different network" >&2; status=1; }
done
exit $status
