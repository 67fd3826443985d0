#!/usr/bin/env bash
# Executes every notebook on the real evcxr kernel (installing the kernel and Jupyter's
# nbclient first, idempotently) and checks their rich outputs.
set -euo pipefail
cd "$1"
bash tests/setup-notebooks.sh
.venv/bin/python -m unittest discover -s tests -p 'test_run_notebooks.py'
.venv/bin/python tests/run_notebooks.py
