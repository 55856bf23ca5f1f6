#!/usr/bin/env bash
# Installs the project's Python environment into .venv, exactly as uv.lock says (every package
# pinned, with its hashes). Idempotent: installs again only when uv.lock or pyproject.toml changed.
# Needs Python 3.11+ with venv, and PyPI.
#
# uv itself comes from PyPI, pinned with its hashes in deploy/uv-requirements.txt. `uv sync --locked`
# refuses a uv.lock that no longer matches pyproject.toml: run `make lock` after changing the
# dependencies (and commit uv.lock).
set -euo pipefail
# Debian packages the documents need (services/common/documents): Pango and HarfBuzz (WeasyPrint
# shapes Arabic with them; harfbuzz-subset embeds only the glyphs used), the Amiri font, and
# poppler-utils (pdftotext, pdftoppm: the documents' tests read the PDFs back). Installed with
# apt-get when missing (as root, as CI runs); otherwise the command to run is printed.
DEBIAN_PACKAGES=(libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b libharfbuzz-subset0 fontconfig
  fonts-hosny-amiri fonts-dejavu-core poppler-utils)
missing=()
for package in "${DEBIAN_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
    missing+=("$package")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "[setup] installing Debian packages: ${missing[*]}" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "[setup] ERROR: missing Debian packages; run: sudo apt-get install ${missing[*]}" >&2
    exit 1
  fi
fi
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PYTHON_BIN="${PYTHON_BIN:-python3}"
"$PYTHON_BIN" -c 'import sys; assert sys.version_info >= (3, 11), sys.version' 2>/dev/null ||
  { echo "[setup] ERROR: install Python 3.11 or newer (with venv) and put it on PATH as python3" >&2; exit 1; }
if [ ! -x .venv/bin/python ]; then
  echo "[setup] creating .venv" >&2
  "$PYTHON_BIN" -m venv .venv || { echo "[setup] ERROR: python3 -m venv failed: install Debian's python3-venv" >&2; exit 1; }
fi
stamp=.venv/.installed-$(cat pyproject.toml uv.lock deploy/uv-requirements.txt | sha256sum | cut -c1-16)
if [ ! -f "$stamp" ]; then
  if ! .venv/bin/uv --version 2>/dev/null | grep -qF "uv $(sed -n 's/^uv==\([^ ]*\).*/\1/p' deploy/uv-requirements.txt) "; then
    echo "[setup] installing uv (deploy/uv-requirements.txt, hashes required)" >&2
    .venv/bin/python -m pip install -q --disable-pip-version-check --require-hashes \
      -r deploy/uv-requirements.txt
  fi
  echo "[setup] installing Python packages from uv.lock (uv sync --locked --extra dev)" >&2
  # --inexact keeps pip and uv in .venv; the project itself is installed editable.
  if ! VIRTUAL_ENV="$ROOT/.venv" UV_PROJECT_ENVIRONMENT="$ROOT/.venv" UV_PYTHON_DOWNLOADS=never \
      .venv/bin/uv sync --locked --extra dev --inexact --quiet; then
    echo "[setup] ERROR: uv.lock does not match pyproject.toml (or cannot be installed): run \`make lock\` and commit uv.lock" >&2
    exit 1
  fi
  rm -f .venv/.installed-*
  touch "$stamp"
fi
