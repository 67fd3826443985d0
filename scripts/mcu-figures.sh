#!/usr/bin/env bash
# Saved models as exported C on a Cortex-M4, emulated by QEMU (board mps2-an386), one line
# per model: the flash the model's object takes (model.c compiled alone: weights and code,
# arm-none-eabi-size text/data/bss), the whole program's size (model, 1,000 test digits,
# driver, newlib), instructions per inference (counted under -icount shift=0) and accuracy on
# the first 1,000 test digits of the model's task, on the Cortex-M4 and in the library (the
# line is printed only when every prediction agrees; exit status 1 otherwise).
#
# Usage: bash scripts/mcu-figures.sh MODEL.bin...
#
# Each model is exported with `bitsmnist export --format c --name model` into
# target/mcu-figures/NAME/ (kept for a look: model.c, prog.elf, qemu.out), then
# built and run by the example bitsmnist-core/examples/mcu.rs with the driver, startup code
# and linker script of bitsmnist-core/tests/mcu/, as the test tests/mcu.rs does.
# Needs gcc-arm-none-eabi, libnewlib-arm-none-eabi and qemu-system-arm (Debian packages).
set -euo pipefail
[ $# -gt 0 ] || { echo "usage: bash scripts/mcu-figures.sh MODEL.bin..." >&2; exit 2; }
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

for model in "${models[@]}"; do
  dir=$root/target/mcu-figures/$(basename "$model" .bin)
  rm -rf "$dir"
  mkdir -p "$dir"
  "$cli" export "$model" --format c --name model --out "$dir" >/dev/null
  "$mcu" "$model" "$dir"
done
