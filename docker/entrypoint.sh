#!/bin/sh
# Start-up of the runtime image: have verified weights at $WEIGHTS_DIR, then exec the command.
#
#   WEIGHTS_DIR            where the weights are (a mount; read-only is fine)   default /weights
#   HGLOC_WEIGHTS_REPO_ID  the repo to download them from when they are not     default MASSIVEMAGNETICS/SongBloom-weights
#   HUGGING_FACE_HUB_TOKEN a token for private repos (HF_TOKEN works too)
#   WEIGHTS_CHECK          "skip" starts without looking at the weights
#   SERVE_DIR              where the default command lays out what it serves   default /tmp/hgloc-serve
#   PORT                   the default command's port                          default 7860
#
# The weights are verified against their checksums.txt (sizes and mtimes already proven are not
# re-hashed). When they are missing or do not match, they are downloaded (verified the same way);
# when that fails too, the container stops with what to do about it (the token hint only when the
# Hub refused access, never for a Hub that cannot be reached).
#
# Without a command, the container serves the weights it just verified, read-only, as the repo
# $HGLOC_WEIGHTS_REPO_ID at revision main: HF_ENDPOINT=http://HOST:7860 clients load them.
set -eu

WEIGHTS_DIR="${WEIGHTS_DIR:-/weights}"
REPO_ID="${HGLOC_WEIGHTS_REPO_ID:-MASSIVEMAGNETICS/SongBloom-weights}"

say() { printf 'entrypoint: %s\n' "$*" >&2; }

if [ "$#" -eq 0 ]; then
    # The verified folder as the one repo of a read-only Hub: models/<namespace>/<name>/main.
    SERVE_DIR="${SERVE_DIR:-/tmp/hgloc-serve}"
    mkdir -p "$SERVE_DIR/models/$REPO_ID"
    ln -sfn "$WEIGHTS_DIR" "$SERVE_DIR/models/$REPO_ID/main"
    set -- hg-localization serve --repos "$SERVE_DIR" --follow-symlinks --host 0.0.0.0 --port "${PORT:-7860}"
fi

if [ "${WEIGHTS_CHECK:-}" = "skip" ]; then
    say "WEIGHTS_CHECK=skip: starting without checking the weights."
    exec "$@"
fi

if problem="$(hg-localization --quiet verify-weights --target-dir "$WEIGHTS_DIR" 2>&1 >/dev/null)"; then
    say "the weights in $WEIGHTS_DIR are complete and verified."
    exec "$@"
fi

say "the weights in $WEIGHTS_DIR are not ready:"
printf '%s\n' "$problem" | sed 's/^/    /' >&2
say "downloading $REPO_ID into $WEIGHTS_DIR ..."
status=0
hg-localization download-weights --repo-id "$REPO_ID" --target-dir "$WEIGHTS_DIR" >/dev/null || status=$?
if [ "$status" -eq 0 ]; then
    say "the weights are downloaded and verified."
    exec "$@"
fi

say "cannot start: there are no verified weights in $WEIGHTS_DIR and they could not be downloaded."
# Exit 3: the Hub refused access. Exit 4: not found, which is what a private repo looks like
# without a token. A Hub that cannot be reached (6) is no token problem.
if [ "$status" -eq 3 ] || { [ "$status" -eq 4 ] && [ -z "${HUGGING_FACE_HUB_TOKEN:-}${HF_TOKEN:-}" ]; }; then
    if [ -z "${HUGGING_FACE_HUB_TOKEN:-}${HF_TOKEN:-}" ]; then
        say "hint: no HUGGING_FACE_HUB_TOKEN is set; a private repo needs one: docker run -e HUGGING_FACE_HUB_TOKEN ..."
    else
        say "hint: the token was refused or has no access to $REPO_ID: check HUGGING_FACE_HUB_TOKEN."
    fi
fi
if [ -d "$WEIGHTS_DIR" ] && [ ! -w "$WEIGHTS_DIR" ]; then
    say "hint: $WEIGHTS_DIR is read-only: mount a folder that already holds the verified weights there."
fi
say "hint: mount verified weights: docker run -v /path/to/weights:$WEIGHTS_DIR:ro ..."
say "hint: check the repo id (HGLOC_WEIGHTS_REPO_ID=$REPO_ID) and that the Hub is reachable (HF_ENDPOINT)."
say "hint: to start without weights, set WEIGHTS_CHECK=skip."
exit 1
