#!/usr/bin/env bash
# The README's picture of a report: the wasteful demo's page, written by layerscope and
# drawn by headless Chromium, offline, 1280 px wide (tall enough for the first treemap).
# Usage: scripts/report-screenshot.sh [OUT.png]   (default assets/report-wasteful.png)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-assets/report-wasteful.png}
bin=${LAYERSCOPE_BIN:-target/debug/layerscope}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$bin" demo --export "$work/demo" >/dev/null
"$bin" report "$work/demo/wasteful.oci.tar" --dockerfile "$work/demo/wasteful.Dockerfile" \
    -o "$work/report.html"
HOME=$work XDG_CONFIG_HOME=$work XDG_CACHE_HOME=$work timeout 120 chromium --headless \
    --no-sandbox --disable-gpu --hide-scrollbars --user-data-dir="$work/profile" \
    --proxy-server=127.0.0.1:9 --host-resolver-rules="MAP * ~NOTFOUND" \
    --force-device-scale-factor=1 --window-size=1280,2150 \
    --screenshot="$PWD/$out" "file://$work/report.html" 2>/dev/null
echo "$out"
