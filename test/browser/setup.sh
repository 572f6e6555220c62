#!/usr/bin/env bash
# Makes sure Debian's Chromium is installed for the browser tests (test/browser/), as
# test/real-apiserver/setup.sh does for kube-apiserver: nothing to do when it is there; otherwise
# apt (as root, or with sudo). playwright-core drives it; no browser is downloaded.
set -euo pipefail
CHROMIUM="${CHROMIUM_PATH:-/usr/bin/chromium}"
if [[ -x "$CHROMIUM" ]]; then
  exit 0
fi
echo "[browser setup] installing Debian's chromium (for test/browser/)"
as_root() { if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi; }
export DEBIAN_FRONTEND=noninteractive
as_root apt-get update -qq
as_root apt-get install -y -qq chromium >/dev/null
[[ -x "$CHROMIUM" ]] || { echo "[browser setup] $CHROMIUM is still missing" >&2; exit 1; }
