#!/usr/bin/env bash
# Measures how long `bitsmnist train` takes to exit after SIGINT inside each long step, and
# how far a --time-limit that falls inside imprinting or recalibration is overshot. Usage:
#   cargo build --release -p bitsmnist-cli && bash scripts/stop-times.sh [path/to/bitsmnist]
# (loading a data folder: `cargo test -p bitsmnist-cli --test stops -- --nocapture` prints it)
set -u
# Absolute: each run starts in a temporary folder.
BIN=$(realpath "${1:-target/release/bitsmnist}")
DIR=$(mktemp -d)
trap 'rm -rf "$DIR"' EXIT
DEEP=$(printf '128,%.0s' $(seq 1 99))128

# Sends SIGINT `wait` seconds after the start; prints the seconds from SIGINT to the exit.
sigint() {
  local what=$1 wait=$2; shift 2
  (cd "$DIR" && exec "$BIN" "$@" >/dev/null 2>"$DIR/err") &
  local pid=$!
  sleep "$wait"
  local t0=$(date +%s.%N)
  kill -INT $pid
  wait $pid; local code=$?
  local t1=$(date +%s.%N)
  printf '%-48s exit %3d  %.3f s after SIGINT  (%s)\n' "$what" $code "$(echo "$t1 - $t0" | bc)" "$(tail -1 "$DIR/err")"
}

# Runs with a time limit; prints the wall time.
limited() {
  local what=$1; shift
  local t0=$(date +%s.%N)
  (cd "$DIR" && "$BIN" "$@" --quiet >"$DIR/out" 2>"$DIR/err"); local code=$?
  local t1=$(date +%s.%N)
  printf '%-48s exit %3d  wall %.2f s  (%s%s)\n' "$what" $code "$(echo "$t1 - $t0" | bc)" "$(grep -m1 '^stopped:' "$DIR/out")" "$(tail -1 "$DIR/err")"
}

sigint "imprinting conv64x7,conv64x7,pool4,800" 1 train --task digits --arch conv64x7,conv64x7,pool4,800 --out a.bin
sigint "the climb's first features (conv64x7,conv64x7)" 2 train --task digits --arch conv64x7,conv64x7,pool4,800 --out d.bin
sigint "recalibrating 100 layers of 128" 4 train --method gradient --task digits --hidden "$DEEP" --epochs 1 --out b.bin
sigint "the last epoch of conv32x3,pool2,conv64x3,pool2,512" 16 train --method gradient --task digits --arch conv32x3,pool2,conv64x3,pool2,512 --epochs 1 --out c.bin
limited "--time-limit 2 inside imprinting" train --task digits --arch conv64x7,conv64x7,pool4,800 --time-limit 2
limited "--time-limit 5 inside recalibration (100 layers)" train --method gradient --task digits --hidden "$DEEP" --epochs 1 --time-limit 5
