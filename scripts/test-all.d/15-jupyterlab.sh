#!/usr/bin/env bash
# Opens notebook 03 in JupyterLab in headless Chromium and checks, from the page, that its
# stored rich outputs render and that cells run on the Rust kernel (tests/jupyterlab_browser.py,
# which starts the server with the README's command, scripts/notebooks.sh, headless);
# writes target/jupyterlab/screenshot.png, the notebook as a person opens it (taken before the
# kernel check: the stored run's execution counts in order, nothing unsaved, no probe cell);
# docs/screenshot-jupyterlab.png is a copy of one, so that a run leaves the tree clean. Installs, each only when missing: the notebook set-up
# (tests/setup-notebooks.sh, already done by 10-notebooks.sh), Debian's chromium and
# chromium-driver (apt) and Selenium in .venv (pip); JupyterLab is scripts/notebooks.sh's to
# install, as for a person who runs it.
# Usage: bash scripts/test-all.d/15-jupyterlab.sh WORKSPACE_ROOT
set -euo pipefail
cd "$1"
root=$(pwd)

bash tests/setup-notebooks.sh

# Debian's browser: Playwright's own browser download is not reachable.
bash scripts/apt-install.sh chromium chromium-driver

if ! .venv/bin/python -c 'import selenium' 2>/dev/null; then
  echo "==> installing selenium into .venv"
  .venv/bin/python -m pip install --quiet --disable-pip-version-check selenium
fi

# The script stops its server and browser itself on every exit (signals included); timeout
# bounds the whole run (each wait inside has its own, shorter, limit) and sends it SIGTERM.
timeout --kill-after=30 1200 .venv/bin/python tests/jupyterlab_browser.py "$root" \
  --screenshot target/jupyterlab/screenshot.png || {
  rc=$?
  echo "error: the JupyterLab browser check failed (exit $rc; see the messages above)" >&2
  exit "$rc"
}
