#!/usr/bin/env bash
# Idempotent setup for executing the notebooks headlessly (tests/run_notebooks.py).
#
# Needs only a Rust toolchain (rustup) and Python 3.11+ with the venv module; downloads from
# crates.io and PyPI. Each step is skipped when already done, so a reused machine takes seconds:
#   1. evcxr_jupyter 0.22.0 (cargo install, ~18 min on 2 cores) if not on PATH;
#   2. the rust-src component (evcxr's type inference needs it);
#   3. a virtual environment .venv at the workspace root with nbclient, nbformat, jupyter_client
#      and numpy;
#   4. the `rust` Jupyter kernel spec (evcxr_jupyter --install), for any Jupyter front end;
#   5. the project's own `rust` kernel spec (target/jupyter/kernels/rust, which
#      scripts/notebooks.sh puts first on JUPYTER_PATH) and the warm template its kernels copy
#      (target/evcxr-template: the notebooks' first cells built, bitsmnist-core included), so
#      that a notebook's first cell compiles nothing (tests/run_notebooks.py --warm-template: a
#      few minutes once, less after bitsmnist-core changed; skipped while the files
#      bitsmnist-core's build read, rustc and evcxr are unchanged). It is built with an empty
#      evcxr dependency cache of its own, so that it names no folder but its own.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
python="${PYTHON:-python3}"

step() { printf '==> %s\n' "$*"; }

if command -v evcxr_jupyter >/dev/null 2>&1; then
    step "evcxr_jupyter present: $(command -v evcxr_jupyter)"
else
    step "installing evcxr_jupyter 0.22.0 (about 18 minutes on 2 cores)"
    cargo install evcxr_jupyter --version 0.22.0 --locked
fi

if grep -q '^rust-src' <<<"$(rustup component list --installed 2>/dev/null)"; then
    step "rust-src present"
else
    step "adding rust-src"
    rustup component add rust-src
fi

venv="$root/.venv"
packages=(nbclient nbformat jupyter_client numpy)
if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c 'import nbclient, nbformat, jupyter_client' 2>/dev/null; then
    step "virtual environment present: $venv"
else
    if ! "$python" -c 'import venv, ensurepip' 2>/dev/null; then
        # Debian ships venv's pip bootstrap separately.
        if command -v apt-get >/dev/null 2>&1; then
            step "installing python3-venv (Debian splits it from python3)"
            sudo_cmd=""
            [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
            $sudo_cmd apt-get install -y python3-venv || {
                $sudo_cmd apt-get update && $sudo_cmd apt-get install -y python3-venv
            }
        else
            echo "error: $python has no venv/ensurepip module; install your distribution's python3-venv" >&2
            exit 1
        fi
    fi
    step "creating $venv with ${packages[*]}"
    rm -rf "$venv"
    "$python" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "${packages[@]}"
fi
# NumPy runs the JSON export's documented reader (tests/test_export_json.py); a .venv made
# before it was needed gets it added.
if ! "$venv/bin/python" -c 'import numpy' 2>/dev/null; then
    step "adding numpy to $venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check numpy
fi

# Kernel specs live in the user's Jupyter data dir; ask jupyter_client (from the venv) for them.
if "$venv/bin/python" -c 'import sys; from jupyter_client.kernelspec import KernelSpecManager as K; sys.exit(0 if "rust" in K().find_kernel_specs() else 1)'; then
    step "kernel spec 'rust' present"
else
    step "installing the 'rust' kernel spec"
    evcxr_jupyter --install
fi

# evcxr builds each kernel in a new empty folder, where a notebook's first cell compiles
# bitsmnist-core again (its `:cache` keeps crates.io crates only): the project's kernel spec
# (target/jupyter, used by scripts/notebooks.sh) starts each kernel in a copy of a template
# folder where the first cells are already built (scripts/evcxr-kernel.sh).
step "kernel spec and warm build template for the notebooks' first cells"
"$venv/bin/python" "$root/tests/run_notebooks.py" --warm-template

step "notebook setup done"
