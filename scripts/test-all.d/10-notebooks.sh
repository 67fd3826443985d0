#!/usr/bin/env bash
# Executes every notebook on the real evcxr kernel (installing the kernel and Jupyter's
# nbclient first, idempotently) and checks their rich outputs; runs the Python tests of
# tests/ (the notebook runner's own, and the JSON export's NumPy reader).
set -euo pipefail
cd "$1"
bash tests/setup-notebooks.sh
.venv/bin/python -m unittest discover -s tests -p 'test_*.py'
.venv/bin/python tests/run_notebooks.py
