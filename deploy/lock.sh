#!/usr/bin/env bash
# `make lock`: regenerates uv.lock from pyproject.toml (every dependency, for every platform and
# Python >= 3.11, with hashes), and deploy/uv-requirements.txt (uv itself, with hashes) from
# UV_VERSION below. One command; a few seconds with PyPI reachable. Commit both files.
#   bash deploy/lock.sh            update the lock to what pyproject.toml asks (keeps the pins it can)
#   bash deploy/lock.sh --upgrade  also move every package to its newest allowed version
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
UV_VERSION=0.13.9
if [ ! -x .venv/bin/uv ] || ! .venv/bin/uv --version | grep -qF "uv $UV_VERSION "; then
  [ -x .venv/bin/python ] || python3 -m venv .venv
  .venv/bin/python -m pip install -q --disable-pip-version-check "uv==$UV_VERSION"
fi
printf 'uv==%s\n' "$UV_VERSION" > .venv/uv.in
.venv/bin/uv pip compile --quiet --universal --generate-hashes --python-version 3.11 --no-header \
  .venv/uv.in -o deploy/uv-requirements.txt
sed -i 's|# via -r .venv/uv.in|# via deploy/lock.sh (UV_VERSION)|' deploy/uv-requirements.txt
.venv/bin/uv lock "$@"
echo "[lock] uv.lock and deploy/uv-requirements.txt updated; \`make install\` installs from them" >&2
