#!/usr/bin/env bash
# The app installed and opened as a user does: the desktop entry validated, installed into a
# temporary XDG data folder with `bitsmnist-gui --install-desktop`, a model file opened the
# way a file manager does on double-click (`gio open`) under Xvfb, the window checked (its
# title names the file, a screenshot shows it), a plain .bin checked not to be claimed, then
# `--uninstall-desktop` checked to leave the folder as it was. The Debian package is built
# with cargo-deb; where this runs as root on Debian it is installed with dpkg, opened the
# same way, and removed with apt-get.
# Called by scripts/test-all.sh with the workspace root as $1 (after 20-gui.sh, whose
# packages and debug build it reuses); runs on its own too: bash scripts/test-all.d/25-desktop.sh
set -euo pipefail
root=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$root"

bash scripts/apt-install.sh desktop-file-utils shared-mime-info xdg-utils libglib2.0-bin xvfb xauth xdotool imagemagick
# cargo-deb, pinned: later versions refuse the dev profile this test packages (to reuse the
# debug build of the steps before instead of building the app again in release).
if ! grep -q "3.8.0" <<<"$(cargo deb --version 2>/dev/null)"; then
  cargo install cargo-deb --version 3.8.0 --locked
fi

# The entry as shipped: no error, warning or hint.
out=$(desktop-file-validate bitsmnist-gui/desktop/bitsmnist-gui.desktop 2>&1) || true
[ -z "$out" ] || { echo "desktop-file-validate: $out"; exit 1; }

cargo build --workspace --all-features --bins
gui=$root/target/debug/bitsmnist-gui
cli=$root/target/debug/bitsmnist

work=$(mktemp -d)
# The screenshots stay for a look afterwards.
shots=$root/target/desktop-test
mkdir -p "$shots"
export XDG_RUNTIME_DIR=$work/runtime
mkdir -m 700 "$XDG_RUNTIME_DIR"
unset WAYLAND_DISPLAY
display=:95
Xvfb "$display" -screen 0 1280x800x24 -nolisten tcp >/dev/null 2>&1 &
xvfb=$!
cleanup() {
  pkill -f "^$gui" 2>/dev/null || true
  pkill -f "^/usr/bin/bitsmnist-gui" 2>/dev/null || true
  kill "$xvfb" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
sleep 1

"$cli" train --generations 2 --quiet --out "$work/model.bin" >/dev/null
head -c 4096 /dev/urandom >"$work/random.bin"
# Right magic, damaged inside: the type says model, the app says what is wrong.
head -c 200 "$work/model.bin" >"$work/broken.bin"

# content type of $1 as GIO (file managers) sees it
content_type() { gio info -a standard::content-type "$1" | sed -n 's/.*standard::content-type: //p'; }

# Opens $1 as a double-click does, waits for a window whose title matches the regular
# expression $2 (ASCII: xdotool matches bytes), checks that the title is exactly $3, checks a
# screenshot of it, and closes the app.
double_click() {
  local file=$1 title=$2 exact=$3 window shot colours name
  DISPLAY=$display gio open "$file"
  if ! window=$(DISPLAY=$display timeout 90 xdotool search --sync --name "$title"); then
    echo "no window titled '$title' after opening $file"; exit 1
  fi
  # the first match (no pipe to head: under pipefail its early exit fails the search)
  window=${window%%$'\n'*}
  sleep 4
  shot=$shots/$(basename "$file").png
  DISPLAY=$display import -window "$window" "$shot"
  colours=$(convert "$shot" -format '%k' info:)
  name=$(DISPLAY=$display xdotool getwindowname "$window")
  echo "opened $file: window '$name', $colours colours"
  [ "$name" = "$exact" ] || { echo "the title is '$name', not '$exact'"; exit 1; }
  [ "$colours" -gt 10 ] || { echo "the window looks blank"; exit 1; }
  pgrep -f "bitsmnist-gui $file" >/dev/null || { echo "the app exited after opening $file"; exit 1; }
  # No window manager to close it politely (a window destroyed under winit panics it).
  pkill -f "bitsmnist-gui $file" 2>/dev/null || true
  sleep 1
}

# --- for one user, from source --------------------------------------------------------------
export XDG_DATA_HOME=$work/data XDG_CONFIG_HOME=$work/config
mkdir -p "$XDG_DATA_HOME" "$XDG_CONFIG_HOME"
"$gui" --install-desktop
desktop-file-validate "$XDG_DATA_HOME/applications/bitsmnist-gui.desktop"
[ "$(content_type "$work/model.bin")" = application/x-bitsmnist-model ] ||
  { echo "model.bin is $(content_type "$work/model.bin")"; exit 1; }
[ "$(content_type "$work/random.bin")" = application/octet-stream ] ||
  { echo "a random .bin is claimed: $(content_type "$work/random.bin")"; exit 1; }
grep -q "Default application.*bitsmnist-gui.desktop" <<<"$(gio mime application/x-bitsmnist-model)" ||
  { echo "the app is not the default for models: $(gio mime application/x-bitsmnist-model)"; exit 1; }
double_click "$work/model.bin" "^model\.bin " "model.bin — BitsMNIST"
# A broken model: the app opens, says why, and stays usable (its window stays up).
double_click "$work/broken.bin" "^BitsMNIST$" "BitsMNIST"
"$gui" --uninstall-desktop
left=$(find "$XDG_DATA_HOME" -mindepth 1)
[ -z "$left" ] || { echo "left after --uninstall-desktop:"; echo "$left"; exit 1; }
[ "$(content_type "$work/model.bin")" != application/x-bitsmnist-model ] ||
  { echo "the type outlived the uninstall"; exit 1; }

# --- the Debian package -----------------------------------------------------------------------
deb=$(cargo deb -p bitsmnist-gui --no-build --profile dev --strip -o "$work/" 2>/dev/null | tail -1)
echo "built $deb ($(du -h "$deb" | cut -f1))"
contents=$(dpkg-deb --contents "$deb")
for f in usr/bin/bitsmnist usr/bin/bitsmnist-gui usr/share/applications/bitsmnist-gui.desktop \
  usr/share/mime/packages/bitsmnist-model.xml usr/share/icons/hicolor/48x48/apps/bitsmnist-gui.png \
  usr/share/doc/bitsmnist/LICENSE-MIT usr/share/doc/bitsmnist/LICENSE-APACHE; do
  grep -q " \./$f\$" <<<"$contents" || { echo "the package lacks $f"; exit 1; }
done
if [ "$(id -u)" -ne 0 ] || [ ! -f /etc/debian_version ]; then
  echo "not root on Debian: the package is built and checked, not installed"
  exit 0
fi
if [ "$(dpkg-query -W -f='${Status}' bitsmnist 2>/dev/null)" = "install ok installed" ]; then
  echo "a bitsmnist package is already installed here: not touching it"
  exit 0
fi
rm -rf "$XDG_DATA_HOME" && mkdir -p "$XDG_DATA_HOME"
dpkg -i "$deb"
files=$(dpkg -L bitsmnist | while read -r f; do if [ -f "$f" ]; then echo "$f"; fi; done)
/usr/bin/bitsmnist --version
[ "$(content_type "$work/model.bin")" = application/x-bitsmnist-model ] ||
  { echo "installed package: model.bin is $(content_type "$work/model.bin")"; exit 1; }
double_click "$work/model.bin" "^model\.bin " "model.bin — BitsMNIST"
DEBIAN_FRONTEND=noninteractive apt-get remove -y bitsmnist
for f in $files; do
  [ ! -e "$f" ] || { echo "$f left after apt-get remove"; exit 1; }
done
[ "$(content_type "$work/model.bin")" != application/x-bitsmnist-model ] ||
  { echo "the type outlived apt-get remove"; exit 1; }
echo "desktop ok"
