#!/usr/bin/env bash
# Idempotent setup for executing the notebooks headlessly (tests/run_notebooks.py).
#
# Needs only a Rust toolchain (rustup) and Python 3.11+ with the venv module; downloads from
# crates.io and PyPI. Each step is skipped when already done, so a reused machine takes seconds:
#   1. evcxr_jupyter 0.22.0 (cargo install, ~18 min on 2 cores) if not on PATH;
#   2. the rust-src component (evcxr's type inference needs it);
#   3. a virtual environment .venv at the workspace root with nbclient, nbformat, jupyter_client
#      and numpy;
#   4. the `rust` Jupyter kernel spec (evcxr_jupyter --install);
#   5. evcxr's dependency cache (~/.cache/evcxr) filled with the crates.io crates the notebooks'
#      first cells compile, so that a user's first kernel compiles only bitsmnist-core itself
#      (tests/run_notebooks.py --warm-cache: a few minutes once; skipped while the cache holds
#      them and bitsmnist-core/Cargo.toml, rustc and evcxr are unchanged).
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

# Each kernel builds in a new folder unless EVCXR_TMPDIR says otherwise, and evcxr's `:cache`
# (turned on by every notebook's first cell) is then what makes a first cell short: fill it now
# rather than in the user's first notebook.
step "evcxr dependency cache for the notebooks' first cells"
"$venv/bin/python" "$root/tests/run_notebooks.py" --warm-cache

step "notebook setup done"
