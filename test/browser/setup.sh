#!/usr/bin/env bash
# Makes sure Debian's Chromium is installed for the browser tests (test/browser/), as
# test/real-apiserver/setup.sh does for kube-apiserver, with NSS's certutil (libnss3-tools), which
# the HTTPS test uses to trust the local CA in a browser profile as the proxy tells users to:
# nothing to do when both are there; otherwise apt (as root, or with sudo). playwright-core
# drives the browser; none is downloaded.
set -euo pipefail
CHROMIUM="${CHROMIUM_PATH:-/usr/bin/chromium}"
packages=()
[[ -x "$CHROMIUM" ]] || packages+=(chromium)
command -v certutil >/dev/null || packages+=(libnss3-tools)
if [[ ${#packages[@]} -eq 0 ]]; then
  exit 0
fi
echo "[browser setup] installing ${packages[*]} (for test/browser/)"
as_root() { if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi; }
export DEBIAN_FRONTEND=noninteractive
as_root apt-get update -qq
as_root apt-get install -y -qq "${packages[@]}" >/dev/null
[[ -x "$CHROMIUM" ]] || { echo "[browser setup] $CHROMIUM is still missing" >&2; exit 1; }
command -v certutil >/dev/null || { echo "[browser setup] certutil is still missing" >&2; exit 1; }
