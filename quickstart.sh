#!/usr/bin/env bash
# Quickstart: a virtual environment with hg-localization, the weights checked (and downloaded when
# asked), then the next steps.
#
#   ./quickstart.sh                 asks before downloading the weights
#   ./quickstart.sh --yes           downloads them without asking (CI)
#
# Options:
#   --yes                 download missing or damaged weights without asking
#   --repo-id ID          the weights repo (default: $HGLOC_WEIGHTS_REPO_ID, else MASSIVEMAGNETICS/SongBloom-weights)
#   --target-dir DIR      where the weights go (default: models/<repo name>)
#   --venv DIR            the virtual environment (default: .venv)
#   --no-install          use the virtual environment as it is (it must have hg-localization)
#
# Private repos: export HUGGING_FACE_HUB_TOKEN=hf_... first (never passed on the command line).
# "Complete" means every file listed in the weights' checksums.txt is there with the right sha256,
# not just that the folder is not empty.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
YES=0
INSTALL=1
VENV="${ROOT}/.venv"
REPO_ID="${HGLOC_WEIGHTS_REPO_ID:-MASSIVEMAGNETICS/SongBloom-weights}"
TARGET_DIR=""

say() { printf '==> %s\n' "$*"; }
die() { printf 'quickstart: %s\n' "$*" >&2; exit 1; }

while [ "$#" -gt 0 ]; do
    case "$1" in
        --yes|-y) YES=1 ;;
        --no-install) INSTALL=0 ;;
        --repo-id) [ "$#" -ge 2 ] || die "--repo-id needs a value"; REPO_ID="$2"; shift ;;
        --target-dir) [ "$#" -ge 2 ] || die "--target-dir needs a value"; TARGET_DIR="$2"; shift ;;
        --venv) [ "$#" -ge 2 ] || die "--venv needs a value"; VENV="$2"; shift ;;
        -h|--help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown option: $1 (see --help)" ;;
    esac
    shift
done
TARGET_DIR="${TARGET_DIR:-models/${REPO_ID##*/}}"

# --- 1. the virtual environment -------------------------------------------------------------------
if [ "$INSTALL" -eq 1 ]; then
    if [ ! -x "$VENV/bin/python" ]; then
        PYTHON="${PYTHON:-python3}"
        command -v "$PYTHON" >/dev/null || die "$PYTHON not found: install Python 3.11 or newer."
        "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
            || die "$PYTHON is $("$PYTHON" -V 2>&1); hg-localization needs Python 3.11 or newer."
        say "Creating the virtual environment in $VENV"
        "$PYTHON" -m venv "$VENV"
    fi
    say "Installing hg-localization into $VENV"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "$ROOT"
fi
HGLOC="$VENV/bin/hg-localization"
[ -x "$HGLOC" ] || die "$HGLOC is missing: run without --no-install."

# --- 2. the weights ---------------------------------------------------------------------------------
say "Checking the weights in $TARGET_DIR against their checksums.txt"
WEIGHTS_READY=0
if problem="$("$HGLOC" --quiet verify-weights --target-dir "$TARGET_DIR" 2>&1 >/dev/null)"; then
    say "The weights are complete and verified."
    WEIGHTS_READY=1
else
    printf '%s\n' "$problem" | sed 's/^/    /'
    download=0
    if [ "$YES" -eq 1 ]; then
        download=1
    elif [ -t 0 ]; then
        read -r -p "Download $REPO_ID into $TARGET_DIR now? [y/N] " answer || answer=""
        case "$answer" in [yY]|[yY][eE][sS]) download=1 ;; esac
    else
        say "No terminal to ask on: not downloading (re-run with --yes to download)."
    fi
    if [ "$download" -eq 1 ]; then
        say "Downloading $REPO_ID into $TARGET_DIR"
        if "$HGLOC" download-weights --repo-id "$REPO_ID" --target-dir "$TARGET_DIR" >/dev/null; then
            WEIGHTS_READY=1
        else
            if [ -z "${HUGGING_FACE_HUB_TOKEN:-}${HF_TOKEN:-}" ]; then
                printf '    hint: a private repo needs a token: export HUGGING_FACE_HUB_TOKEN=hf_... and re-run.\n'
            fi
            die "the weights could not be downloaded (see above)."
        fi
    fi
fi

# --- 3. next steps -------------------------------------------------------------------------------------
cat <<EOF

Next steps:
  source $VENV/bin/activate
EOF
if [ "$WEIGHTS_READY" -eq 0 ]; then
    printf '  hg-localization download-weights --repo-id %s --target-dir %s\n' "$REPO_ID" "$TARGET_DIR"
fi
cat <<EOF
  hg-localization verify-weights --target-dir $TARGET_DIR
  hg-localization download-model ORG/NAME           # a model's card and config into the local store
  hg-localization serve --host 127.0.0.1 --port 7860  # the store as a Hub for HF_ENDPOINT clients
  hg-localization upload-weights --repo-id ORG/NAME --source-dir weights_to_upload
See docs/weights.md for private repos, uploads, Docker and the CI workflow.
EOF
