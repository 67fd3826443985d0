#!/usr/bin/env bash
# Saved models as exported C on a Cortex-M4, emulated by QEMU (board mps2-an386), one line
# per model: the flash the model's object takes (model.c compiled alone: weights and code,
# arm-none-eabi-size text/data/bss), the whole program's size (model, 1,000 test digits,
# driver, newlib), instructions per inference (counted under -icount shift=0) and accuracy on
# the first 1,000 test digits of the model's task, on the Cortex-M4 and in the library (the
# line is printed only when every prediction agrees; exit status 1 otherwise).
#
# Usage: bash scripts/mcu-figures.sh [--popcount builtin|table|swar] MODEL.bin...
#   --popcount  how the exported model.c counts bits: as exported (builtin: gcc's
#               __builtin_popcount, a libgcc call on the M4, which has no popcount
#               instruction), a 256-entry byte table, or the inline bit-twiddling sum; the
#               last two are hand edits of the exported file, for comparison.
#
# Each model is exported with `bitsmnist export --format c --name model` into
# target/mcu-figures/NAME-POPCOUNT/ (kept for a look: model.c, prog.elf, qemu.out), then
# built and run by the example bitsmnist-core/examples/mcu.rs with the driver, startup code
# and linker script of bitsmnist-core/tests/mcu/, as the test tests/mcu.rs does.
# Needs gcc-arm-none-eabi, libnewlib-arm-none-eabi and qemu-system-arm (Debian packages).
set -euo pipefail
usage() { echo "usage: bash scripts/mcu-figures.sh [--popcount builtin|table|swar] MODEL.bin..." >&2; exit 2; }

popcount=builtin
if [ "${1:-}" = --popcount ]; then
  [ $# -ge 2 ] || usage
  popcount=$2
  shift 2
fi
case $popcount in builtin | table | swar) ;; *) usage ;; esac
[ $# -gt 0 ] || usage
models=()
for m in "$@"; do
  models+=("$(realpath -e "$m")")
done

cd "$(dirname "$0")/.."
root=$(pwd)
for t in arm-none-eabi-gcc arm-none-eabi-size qemu-system-arm; do
  command -v "$t" >/dev/null || {
    echo "$t is missing: apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm" >&2
    exit 2
  }
done
# The debug profile optimises the library (Cargo.toml), which is all the host side needs.
cargo build --quiet -p bitsmnist-cli
cargo build --quiet -p bitsmnist-core --example mcu
cli=$root/target/debug/bitsmnist
mcu=$root/target/debug/examples/mcu

# Replaces the exported `model_popcount` (from its first line to the first line that is a
# lone `}`) with variant $1; fails if the exported file no longer has that function.
replace_popcount() {
  local file=$1 variant=$2
  awk -v variant="$variant" '
    /^static uint32_t model_popcount\(uint32_t x\) \{$/ {
      found = 1
      skip = 1
      if (variant == "table") {
        print "#define POPCOUNT_B2(n) n, n + 1, n + 1, n + 2"
        print "#define POPCOUNT_B4(n) POPCOUNT_B2(n), POPCOUNT_B2(n + 1), POPCOUNT_B2(n + 1), POPCOUNT_B2(n + 2)"
        print "#define POPCOUNT_B6(n) POPCOUNT_B4(n), POPCOUNT_B4(n + 1), POPCOUNT_B4(n + 1), POPCOUNT_B4(n + 2)"
        print "static const uint8_t model_popcount8[256] = {POPCOUNT_B6(0), POPCOUNT_B6(1), POPCOUNT_B6(1), POPCOUNT_B6(2)};"
        print "static uint32_t model_popcount(uint32_t x) {"
        print "    return (uint32_t)model_popcount8[x & 0xffu] + model_popcount8[(x >> 8) & 0xffu] +"
        print "           model_popcount8[(x >> 16) & 0xffu] + model_popcount8[x >> 24];"
        print "}"
      } else {
        print "static uint32_t model_popcount(uint32_t x) {"
        print "    x = x - ((x >> 1) & 0x55555555u);"
        print "    x = (x & 0x33333333u) + ((x >> 2) & 0x33333333u);"
        print "    x = (x + (x >> 4)) & 0x0f0f0f0fu;"
        print "    return (x * 0x01010101u) >> 24;"
        print "}"
      }
      next
    }
    skip { if ($0 == "}") skip = 0; next }
    { print }
    END { if (!found) exit 3 }
  ' "$file" >"$file.new" || {
    echo "$file: no model_popcount function to replace" >&2
    exit 1
  }
  mv "$file.new" "$file"
}

for model in "${models[@]}"; do
  dir=$root/target/mcu-figures/$(basename "$model" .bin)-$popcount
  rm -rf "$dir"
  mkdir -p "$dir"
  "$cli" export "$model" --format c --name model --out "$dir" >/dev/null
  [ "$popcount" = builtin ] || replace_popcount "$dir/model.c" "$popcount"
  printf '[popcount %s] ' "$popcount"
  "$mcu" "$model" "$dir"
done
