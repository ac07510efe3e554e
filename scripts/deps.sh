#!/usr/bin/env bash
# Installs the Debian packages volumed needs to build and test, if any is missing.
set -euo pipefail
# chromium and prometheus (for promtool): the dashboard's end-to-end tests.
packages=(libpq-dev libinotifytools0-dev libopenblas-dev postgresql systemd chromium prometheus)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    echo "installing: ${missing[*]}"
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
command -v swift >/dev/null || { echo "swift is not on PATH (Swift 6.3 toolchain needed)" >&2; exit 1; }
