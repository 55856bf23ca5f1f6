#!/usr/bin/env bash
# Installs the project's Python environment into .venv (idempotent: reinstalls only when
# pyproject.toml changed). Needs Python 3.11+ with venv.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PYTHON_BIN="${PYTHON_BIN:-python3}"
"$PYTHON_BIN" -c 'import sys; assert sys.version_info >= (3, 11), sys.version' 2>/dev/null ||
  { echo "[setup] ERROR: install Python 3.11 or newer (with venv) and put it on PATH as python3" >&2; exit 1; }
if [ ! -x .venv/bin/python ]; then
  echo "[setup] creating .venv" >&2
  "$PYTHON_BIN" -m venv .venv || { echo "[setup] ERROR: python3 -m venv failed: install Debian's python3-venv" >&2; exit 1; }
fi
stamp=.venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)
if [ ! -f "$stamp" ]; then
  echo "[setup] installing Python packages (pip install -e '.[dev]')" >&2
  .venv/bin/python -m pip install -q --upgrade pip >/dev/null
  .venv/bin/python -m pip install -q -e '.[dev]'
  rm -f .venv/.installed-*
  touch "$stamp"
fi
