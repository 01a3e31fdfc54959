#!/usr/bin/env bash
# Install everything the tests need into .venv (idempotent), then lint, type-check and test.
# Extra arguments go to pytest (e.g. ./run-tests.sh -k bucket -x; ./run-tests.sh -m "not slow").
set -euo pipefail
cd "$(dirname "$0")"
PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[dev]'
# The server is also read by older clients than the one in .venv: an old 0.2x and the newest 0.x,
# each in a venv of its own (tests/compat runs the same client calls with each).
clients=""
for version in ${HUB_CLIENT_VERSIONS:-0.20.3 0.36.2}; do
  venv=".venv-hub-$version"
  [ -x "$venv/bin/python" ] || "$PYTHON" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet "huggingface_hub==$version"
  clients="$clients${clients:+:}$PWD/$venv/bin/python"
done
export HUB_CLIENT_PYTHONS="$clients"
echo "== ruff"; .venv/bin/ruff check src tests scripts bench && .venv/bin/ruff format --check --quiet src tests scripts bench
echo "== mypy"; .venv/bin/mypy
echo "== pytest"; .venv/bin/pytest "$@"
