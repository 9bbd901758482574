#!/usr/bin/env bash
# Installs what the project needs: a virtualenv with requirements.txt, and (with --system) the Debian
# packages the browser tests and PDF export use. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

# --system: always (make test, CI); --system-if-missing: only when a package is not there yet (make run: 報告's
# PDF and PNG exports need Chromium and the Japanese fonts)
need_system=""
if [ "${1:-}" = "--system" ]; then
  need_system=1
elif [ "${1:-}" = "--system-if-missing" ]; then
  for pkg in chromium fonts-noto-cjk poppler-utils haproxy; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need_system=1
  done
fi
if [ -n "$need_system" ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends \
    chromium fonts-noto-cjk poppler-utils haproxy
fi

PYTHON="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -r requirements.txt
