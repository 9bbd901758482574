#!/usr/bin/env bash
# Installs what the project needs: a virtualenv with requirements.txt, and (with --system) the Debian
# packages the browser tests and PDF export use. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

# --system: always, and haproxy for the deployment test (make test, CI); --system-if-missing: what the app itself
# needs, only when a package is not there yet (make run: 報告's PDF and PNG exports need Chromium and the fonts)
RUN_PACKAGES="chromium fonts-noto-cjk poppler-utils"
packages=""
if [ "${1:-}" = "--system" ]; then
  packages="$RUN_PACKAGES haproxy"
elif [ "${1:-}" = "--system-if-missing" ]; then
  for pkg in $RUN_PACKAGES; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || packages="$RUN_PACKAGES"
  done
fi
if [ -n "$packages" ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -q
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends $packages
fi

PYTHON="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -r requirements.txt
