#!/usr/bin/env bash
# Desktop app (bitsmnist-gui): system packages, a real window under Xvfb, and the docs'
# screenshots retaken (its headless UI tests run in scripts/test-all.sh's `cargo test --workspace`).
# Called by scripts/test-all.sh with the workspace root as $1; runs on its own too:
#   bash scripts/test-all.d/20-gui.sh
#
# Building needs no -dev package: eframe (glow, x11, wayland) and rfd (xdg-portal) load
# libX11, libxkbcommon, libwayland, libEGL/libGL at run time (dlopen) and talk D-Bus in Rust.
# Running the window needs the run-time libraries below; the screenshot check needs Xvfb.
set -euo pipefail
root=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$root"

runtime=(libx11-6 libx11-xcb1 libxcursor1 libxrandr2 libxi6 libxkbcommon0 libxkbcommon-x11-0
  libwayland-client0 libegl1 libgl1 libgl1-mesa-dri)
screenshots=(xvfb xauth x11-utils imagemagick xdotool)
bash scripts/apt-install.sh "${runtime[@]}" "${screenshots[@]}"

# The headless UI tests (egui_kittest) need no display: scripts/test-all.sh runs them once, in
# `cargo test --workspace --all-features` (with the command line's tests of files crossing
# between the two front ends). Here only the binary, resolved exactly as that step resolves it
# (`--workspace --all-features`), so that it reuses what that step built.
cargo build --workspace --all-features --bin bitsmnist-gui

# The real window: start the app on a virtual X server, wait for its window, grab it, quit.
bin=target/debug/bitsmnist-gui
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-$(mktemp -d)}
chmod 700 "$XDG_RUNTIME_DIR"
unset WAYLAND_DISPLAY
display=:97
Xvfb "$display" -screen 0 1280x800x24 -nolisten tcp >/dev/null 2>&1 &
xvfb=$!
config=$(mktemp -d)
cleanup() {
  [ -n "${app:-}" ] && kill "$app" 2>/dev/null || true
  kill "$xvfb" 2>/dev/null || true
  rm -rf "$config"
}
trap cleanup EXIT
sleep 1
# A fresh settings folder, so the check does not depend on (or change) the user's settings.
DISPLAY=$display XDG_DATA_HOME=$config XDG_CONFIG_HOME=$config "$bin" >"$config/app.log" 2>&1 &
app=$!
if ! window=$(DISPLAY=$display timeout 60 xdotool search --sync --name '^BitsMNIST$'); then
  echo "the window did not appear"; cat "$config/app.log"; exit 1
fi
# the first match (no pipe to head: under pipefail its early exit fails the search)
window=${window%%$'\n'*}
sleep 3
DISPLAY=$display import -window "$window" "$config/window.png"
size=$(identify -format '%wx%h' "$config/window.png")
colours=$(convert "$config/window.png" -format '%k' info:)
echo "window $window: $size, $colours colours"
[ "$colours" -gt 10 ] || { echo "the window looks blank"; exit 1; }
kill -0 "$app" || { echo "the app exited"; cat "$config/app.log"; exit 1; }

# The docs' screenshots, retaken from the real window into target/screenshots and checked
# (docs/screenshot-*.png are copies of a run: `bash scripts/screenshots.sh --docs`).
bash scripts/screenshots.sh --debug
echo "gui ok"
