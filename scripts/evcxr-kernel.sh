#!/usr/bin/env bash
# shellcheck disable=SC2317  # (the trap handlers are reached through `trap`)
# The project's `rust` Jupyter kernel (target/jupyter/kernels/rust/kernel.json runs it; the
# set-up, tests/setup-notebooks.sh, writes that spec and scripts/notebooks.sh puts it first on
# JUPYTER_PATH). It runs evcxr_jupyter in a build folder of the kernel's own: a copy of the
# warm template the set-up builds (target/evcxr-template, the notebooks' first cells already
# compiled there), so that a first `:dep bitsmnist-core` compiles nothing that did not change.
# evcxr would otherwise build every kernel in a new empty folder, and its `:cache` never keeps
# bitsmnist-core (a path dependency). One shared folder would be unsafe: each kernel writes its
# crate (src/lib.rs, Cargo.toml) there. The copy is removed when the kernel exits.
#
# Usage: evcxr-kernel.sh --control_file CONNECTION_FILE   (any evcxr_jupyter arguments)
#   EVCXR_TMPDIR set: that folder is used as it is, with no copy (the test harness's
#     target/evcxr, or a person's own choice).
#   BITSMNIST_EVCXR_TEMPLATE: another template folder (the harness's measurements).
# A missing template, or a copy that fails, leaves an empty folder: evcxr then builds
# everything, as it does without this script; the kernel starts either way.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

# evcxr_jupyter takes JUPYTER_PATH, when set, for the folder of its own installed spec, and at
# start rewrites the `rust` spec it finds there with its own (no version.txt: "out of date"):
# the project's spec, which put that folder on JUPYTER_PATH, would stop running this script
# after the first kernel. Its own install is under the user's data folder.
unset JUPYTER_PATH

if [ -n "${EVCXR_TMPDIR:-}" ]; then
  exec evcxr_jupyter "$@"
fi

template="${BITSMNIST_EVCXR_TEMPLATE:-$root/target/evcxr-template}"
# Under the system's temporary folder, never the home folder: evcxr's cell libraries fail to
# load (dlopen) from a build folder under the home folder on some machines.
parent="${TMPDIR:-/tmp}"
prefix=bitsmnist-evcxr.

# A kernel killed with SIGKILL (Jupyter's last resort at shutdown) leaves its folder behind:
# remove the folders of ours whose launcher is gone. A folder without a pid yet is being made.
for old in "$parent/$prefix"*; do
  if [ ! -d "$old" ] || [ ! -O "$old" ]; then continue; fi
  pid="$(cat "$old/.launcher-pid" 2>/dev/null || true)"
  case "$pid" in '' | *[!0-9]*) continue ;; esac
  kill -0 "$pid" 2>/dev/null || rm -rf -- "$old"
done

# No folder of its own (a full or missing temporary folder): evcxr's own temporary one.
build="$(mktemp -d "$parent/${prefix}XXXXXX")" || exec evcxr_jupyter "$@"
child=
cleanup() {
  # The kernel's own runner process may still hold files for a moment after a signal.
  if [ -n "$child" ]; then wait "$child" 2>/dev/null || true; fi
  rm -rf -- "$build"
}
trap cleanup EXIT
echo $$ >"$build/.launcher-pid"

# The builder writes the stamp last, so a template without it is half built (or being
# rebuilt): not worth copying. A copy keeps the files' times, which cargo compares with the
# sources'; not hard links, as cargo and rustc may rewrite a file in place.
if [ -f "$template/.bitsmnist-template.json" ]; then
  if ! cp -a --reflink=auto "$template/." "$build/" 2>/dev/null; then
    echo "evcxr-kernel: could not copy $template; building from scratch" >&2
    find "$build" -mindepth 1 -maxdepth 1 ! -name .launcher-pid -exec rm -rf -- {} +
  fi
  rm -f -- "$build/.bitsmnist-template.json"
  # (The copy of `.` gave the folder the template's mode; it is the kernel's alone.)
  chmod 700 "$build"
fi
export EVCXR_TMPDIR="$build"

# The kernel runs as a child so that the folder can be removed after it. Jupyter stops a
# kernel by a message, then SIGTERM to the process group; pass on a signal sent to this
# script alone (a terminal's Ctrl-C included: a background child ignores SIGINT) as SIGTERM.
stop_child() { kill -TERM "$child" 2>/dev/null || true; }
trap stop_child TERM INT HUP
evcxr_jupyter "$@" &
child=$!
status=0
# `wait` returns early when a trapped signal arrives; wait again until the kernel is gone.
while :; do
  if wait "$child"; then status=0; else status=$?; fi
  kill -0 "$child" 2>/dev/null || break
done
child=
exit "$status"
