#!/usr/bin/env bash
# Install everything the tests need into .venv (idempotent), then lint, type-check and test.
# Extra arguments go to pytest (e.g. ./run-tests.sh -k bucket -x).
set -euo pipefail
cd "$(dirname "$0")"
PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[dev]'
echo "== ruff"; .venv/bin/ruff check src tests scripts bench && .venv/bin/ruff format --check --quiet src tests scripts bench
echo "== mypy"; .venv/bin/mypy
echo "== pytest"; .venv/bin/pytest "$@"
