#!/usr/bin/env bash
# The app installed and opened as a user does: the desktop entry validated, installed into a
# temporary XDG data folder with `bitsmnist-gui --install-desktop`, a model file opened the
# way a file manager does on double-click (`gio open`) under Xvfb with a window manager, the
# window checked (its title names the file, its class and icon are the app's, a screenshot
# shows it; a damaged model gives the app's error and the app stays up), a plain .bin checked
# not to be claimed, then `--uninstall-desktop` checked to leave the folder as it was. The
# Debian package is built with cargo-deb; where this runs as root on Debian it is installed
# with dpkg, opened the same way, and removed with apt-get, which must leave no file or folder
# of it behind.
# Called by scripts/test-all.sh with the workspace root as $1 (after 20-gui.sh, whose
# packages and debug build it reuses); runs on its own too: bash scripts/test-all.d/25-desktop.sh
set -euo pipefail
root=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$root"

bash scripts/apt-install.sh desktop-file-utils shared-mime-info xdg-utils libglib2.0-bin xvfb xauth xdotool imagemagick x11-utils openbox
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
# A free display (20-gui.sh uses :97; another run may hold one).
n=95
while [ -e "/tmp/.X$n-lock" ] || [ -e "/tmp/.X11-unix/X$n" ]; do n=$((n + 1)); done
display=:$n
# Taller than the app's 1280x800 window by the window manager's title bar.
Xvfb "$display" -screen 0 1280x840x24 -nolisten tcp >/dev/null 2>&1 &
xvfb=$!
wm=""
cleanup() {
  # Only the apps this test opened: their file argument is in $work.
  pkill -f "bitsmnist-gui $work/" 2>/dev/null || true
  kill $wm "$xvfb" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
for _ in $(seq 100); do
  if DISPLAY=$display xdpyinfo >/dev/null 2>&1; then break; fi
  sleep 0.1
done
# A window manager, as on a desktop: it draws the title bar (with the window icon) that the
# framed screenshot shows.
DISPLAY=$display openbox >/dev/null 2>&1 &
wm=$!
sleep 1

"$cli" train --generations 2 --quiet --out "$work/model.bin" >/dev/null
head -c 4096 /dev/urandom >"$work/random.bin"
# Right magic, damaged inside: the type says model, the app says what is wrong.
head -c 200 "$work/model.bin" >"$work/broken.bin"

# content type of $1 as GIO (file managers) sees it
content_type() { gio info -a standard::content-type "$1" | sed -n 's/.*standard::content-type: //p'; }

# Opens $1 as a double-click does, waits for a window whose title matches the regular
# expression $2 (ASCII: xdotool matches bytes), checks that the title is exactly $3, that the
# window's class and icon are the app's, and a screenshot of it; checks that the app's
# standard error holds the error line $4 (empty: no error at all); closes the app. The
# screenshots (the window's content, and the window with its title bar) stay in $shots.
double_click() {
  local file=$1 title=$2 exact=$3 error=$4 window shot colours name props log
  log=$work/$(basename "$file").log
  # The app inherits gio's standard error, which a desktop session would log.
  DISPLAY=$display gio open "$file" 2>"$log"
  if ! window=$(DISPLAY=$display timeout 90 xdotool search --sync --name "$title"); then
    echo "no window titled '$title' after opening $file"; exit 1
  fi
  # the first match (no pipe to head: under pipefail its early exit fails the search)
  window=${window%%$'\n'*}
  sleep 4
  shot=$shots/$(basename "$file").png
  DISPLAY=$display import -window "$window" "$shot"
  DISPLAY=$display import -frame -window "$window" "${shot%.png}-framed.png"
  colours=$(convert "$shot" -format '%k' info:)
  name=$(DISPLAY=$display xdotool getwindowname "$window")
  echo "opened $file: window '$name', $colours colours"
  [ "$name" = "$exact" ] || { echo "the title is '$name', not '$exact'"; exit 1; }
  [ "$colours" -gt 10 ] || { echo "the window looks blank"; exit 1; }
  # The class (WM_CLASS's second string) the desktop entry's StartupWMClass names, which
  # docks match the window to its entry by, and the 256 px window icon.
  props=$(DISPLAY=$display xprop -id "$window" WM_CLASS)
  grep -q '^WM_CLASS(STRING) = ".*", "bitsmnist-gui"$' <<<"$props" || { echo "$props"; exit 1; }
  # _NET_WM_ICON: width, height, then ARGB pixels (2 + 256 * 256 numbers, 4 bytes each).
  icon=$(DISPLAY=$display xprop -id "$window" -len 262152 -f _NET_WM_ICON 32c _NET_WM_ICON)
  [[ $icon == "_NET_WM_ICON(CARDINAL) = 256, 256, "* && ${icon#*256, 256, } =~ [1-9] ]] ||
    { echo "the window has no 256 px icon: ${icon:0:80}"; exit 1; }
  if [ -n "$error" ]; then
    # Shown once the data are loaded, which may be after the window appears.
    for _ in $(seq 60); do
      if grep -qF "$error" "$log"; then break; fi
      sleep 1
    done
    grep -qF "$error" "$log" || { echo "no '$error' from the app; it wrote:"; cat "$log"; exit 1; }
    echo "the app says: $(grep -F "$error" "$log")"
  elif grep -q "^bitsmnist-gui: error:" "$log"; then
    echo "opening $file gave an error:"; cat "$log"; exit 1
  fi
  pgrep -f "bitsmnist-gui $file" >/dev/null || { echo "the app exited after opening $file"; exit 1; }
  # No window manager to close it politely (a window destroyed under winit panics it).
  pkill -f "bitsmnist-gui $file" 2>/dev/null || true
  sleep 1
}

# --- for one user, from source --------------------------------------------------------------
export XDG_DATA_HOME=$work/data XDG_CONFIG_HOME=$work/config
mkdir -p "$XDG_DATA_HOME" "$XDG_CONFIG_HOME"
"$gui" --install-desktop
# The installed entry (Exec rewritten to the binary's path) as clean as the shipped one.
out=$(desktop-file-validate "$XDG_DATA_HOME/applications/bitsmnist-gui.desktop" 2>&1) || true
[ -z "$out" ] || { echo "desktop-file-validate, installed entry: $out"; exit 1; }
[ "$(content_type "$work/model.bin")" = application/x-bitsmnist-model ] ||
  { echo "model.bin is $(content_type "$work/model.bin")"; exit 1; }
[ "$(content_type "$work/random.bin")" = application/octet-stream ] ||
  { echo "a random .bin is claimed: $(content_type "$work/random.bin")"; exit 1; }
grep -q "Default application.*bitsmnist-gui.desktop" <<<"$(gio mime application/x-bitsmnist-model)" ||
  { echo "the app is not the default for models: $(gio mime application/x-bitsmnist-model)"; exit 1; }
double_click "$work/model.bin" "^model\.bin " "model.bin — BitsMNIST" ""
# A broken model: the app opens, says why (the error names the file; the window shows the
# same text, tests/training.rs checks it there), and stays up.
double_click "$work/broken.bin" "^BitsMNIST$" "BitsMNIST" "bitsmnist-gui: error: $work/broken.bin: "
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
# The package's folders that are not there yet: apt-get remove must take them away again.
new_dirs=$(awk '$1 ~ /^d/ { print substr($6, 2) }' <<<"$contents" | while read -r d; do
  if [ ! -e "$d" ]; then echo "$d"; fi
done)
dpkg -i "$deb"
files=$(dpkg -L bitsmnist | while read -r f; do if [ -f "$f" ]; then echo "$f"; fi; done)
/usr/bin/bitsmnist --version
[ "$(content_type "$work/model.bin")" = application/x-bitsmnist-model ] ||
  { echo "installed package: model.bin is $(content_type "$work/model.bin")"; exit 1; }
double_click "$work/model.bin" "^model\.bin " "model.bin — BitsMNIST" ""
DEBIAN_FRONTEND=noninteractive apt-get remove -y bitsmnist
for f in $files $new_dirs; do
  [ ! -e "$f" ] || { echo "$f left after apt-get remove"; exit 1; }
done
# The entry the MIME cache generated for the type goes with it.
[ ! -e /usr/share/mime/application/x-bitsmnist-model.xml ] ||
  { echo "the MIME cache still has the type after apt-get remove"; exit 1; }
echo "gone after apt-get remove: the package's $(wc -w <<<"$files") files, the folders it made:" $new_dirs
[ "$(content_type "$work/model.bin")" != application/x-bitsmnist-model ] ||
  { echo "the type outlived apt-get remove"; exit 1; }
echo "desktop ok"
