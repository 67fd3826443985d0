#!/usr/bin/env bash
# The app's screenshots for the docs, taken from its real window on a virtual X server by
# bitsmnist-gui/examples/screenshots.rs: every tab in the light and dark themes after a genetic
# run (the Runs tab with five runs recorded into a runs folder of the shots' own), a gradient
# run and a bit-flip climb on the ten digits. Writes target/screenshots/*.png
# and checks each (1280x800, not blank); --docs then copies them over the docs' copies
# (docs/screenshot-*.png, which README.md and docs/desktop-app.md embed).
# Usage: bash scripts/screenshots.sh [--docs] [--debug]
#   --debug  build the example in the debug profile, as scripts/test-all.d/20-gui.sh does (it
#            reuses the test step's build); the default is release, for the docs.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
docs=0
profile=(--release)
for arg in "$@"; do
  case $arg in
    --docs) docs=1 ;;
    --debug) profile=() ;;
    *) echo "usage: bash scripts/screenshots.sh [--docs] [--debug]" >&2; exit 2 ;;
  esac
done

# The window's run-time libraries and the X server (as scripts/test-all.d/20-gui.sh).
bash scripts/apt-install.sh libx11-6 libx11-xcb1 libxcursor1 libxrandr2 libxi6 libxkbcommon0 \
  libxkbcommon-x11-0 libwayland-client0 libegl1 libgl1 libgl1-mesa-dri xvfb xauth x11-utils \
  imagemagick

# `--workspace --all-features`: the feature set of the test command's build, so that a debug
# build here reuses it.
cargo build --workspace --all-features "${profile[@]}" --example screenshots
# Where cargo put it: CARGO_TARGET_DIR when set (a shared build folder), else target/.
dir=${CARGO_TARGET_DIR:-target}/$([ ${#profile[@]} -eq 0 ] && echo debug || echo release)/examples
out=target/screenshots
rm -rf "$out"
mkdir -p "$out"

work=$(mktemp -d)
export XDG_RUNTIME_DIR=$work/runtime
mkdir -m 700 "$XDG_RUNTIME_DIR"
unset WAYLAND_DISPLAY
# A free display (other steps hold :95 and up while they run).
n=90
while [ -e "/tmp/.X$n-lock" ] || [ -e "/tmp/.X11-unix/X$n" ]; do n=$((n + 1)); done
display=:$n
Xvfb "$display" -screen 0 1280x800x24 -nolisten tcp >/dev/null 2>&1 &
xvfb=$!
cleanup() {
  kill "$xvfb" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
for _ in $(seq 100); do
  if DISPLAY=$display xdpyinfo >/dev/null 2>&1; then break; fi
  sleep 0.1
done

# Fresh settings folders: the shots start from the app's defaults, the user's stay untouched.
started=$(date +%s)
DISPLAY=$display XDG_DATA_HOME=$work XDG_CONFIG_HOME=$work \
  timeout --kill-after=10 1800 "$dir/screenshots" "$out"
echo "screenshots taken in $(($(date +%s) - started)) s"

expected=(data model training evaluation draw runs)
shots=()
for tab in "${expected[@]}"; do shots+=("screenshot-$tab-light.png" "screenshot-$tab-dark.png"); done
shots+=(screenshot-gradient.png screenshot-climb.png)
for shot in "${shots[@]}"; do
  file=$out/$shot
  [ -f "$file" ] || { echo "missing: $file" >&2; exit 1; }
  size=$(identify -format '%wx%h' "$file")
  colours=$(convert "$file" -format '%k' info:)
  echo "$shot: $size, $colours colours"
  [ "$size" = 1280x800 ] || { echo "$file: $size, not the window's 1280x800" >&2; exit 1; }
  [ "$colours" -gt 50 ] || { echo "$file looks blank" >&2; exit 1; }
done
if [ "$docs" -eq 1 ]; then
  for shot in "${shots[@]}"; do cp "$out/$shot" "docs/$shot"; done
  echo "copied ${#shots[@]} screenshots into docs/"
fi
