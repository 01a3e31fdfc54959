#!/usr/bin/env bash
# Install hg-localization into .venv and run the demo: generate small real repos, serve them as a
# Hub on 127.0.0.1, localize a model from it, then serve the store to the unmodified client.
set -euo pipefail
cd "$(dirname "$0")"
PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[demo]'
exec .venv/bin/hg-localization demo "$@"
