#!/usr/bin/env bash
# Opens the notebooks in JupyterLab: sets up the Rust kernel and .venv and builds the warm
# build folder that the project's kernel copies for each notebook (tests/setup-notebooks.sh,
# idempotent; about 18 minutes the first time for evcxr_jupyter, a few more for the build
# folder), adds JupyterLab to .venv when
# missing, trusts the notebooks, then starts `jupyter lab` on notebooks/. Extra arguments go to
# `jupyter lab`:
#   bash scripts/notebooks.sh                      # opens a browser tab
#   bash scripts/notebooks.sh --no-browser --port 8890
#   bash scripts/notebooks.sh --notebooks DIR ...  # another folder of notebooks (the browser
#                                                  # test, tests/jupyterlab_browser.py, opens a
#                                                  # copy of one this way)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv"
notebooks="$root/notebooks"
if [ "${1:-}" = --notebooks ]; then
  [ -d "${2:-}" ] || { echo "error: --notebooks needs a folder, got '${2:-}'" >&2; exit 2; }
  notebooks="$(cd "$2" && pwd)"
  shift 2
fi

bash "$root/tests/setup-notebooks.sh"

if "$venv/bin/python" -c 'import jupyterlab' 2>/dev/null; then
  echo "==> jupyterlab present in $venv"
else
  echo "==> installing jupyterlab into $venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check jupyterlab
fi

# The stored notebooks are the project's own: trusting them shows their SVG plots (JupyterLab
# shows no SVG output of an untrusted notebook). Trust is recorded in Jupyter's signature
# database, not in the files, so this changes no notebook.
"$venv/bin/jupyter" trust "$notebooks"/*.ipynb

# The project's `rust` kernel spec, which the set-up wrote: it starts each kernel in a copy
# of the set-up's warm build folder (scripts/evcxr-kernel.sh). First on the path, it stands in
# for evcxr's spec of the same name for this server's kernels only.
export JUPYTER_PATH="$root/target/jupyter${JUPYTER_PATH:+:$JUPYTER_PATH}"

extra=()
# Jupyter refuses to start as root without this; containers often run as root.
[ "$(id -u)" -ne 0 ] || extra+=(--allow-root)
exec "$venv/bin/jupyter" lab --ServerApp.root_dir="$notebooks" "${extra[@]}" "$@"
