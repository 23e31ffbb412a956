#!/usr/bin/env bash
# Smoke test of the explorer in a real terminal: run the binary in a private tmux server
# on a small fixture, send keys, and check what the pane shows. Exits 0 (skipped) when
# tmux is not installed.
#
#   scripts/tmux-smoke.sh [IMAGE]     LAYERSCOPE_BIN overrides target/release/layerscope
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
bin=${LAYERSCOPE_BIN:-$root/target/release/layerscope}
image=${1:-$root/tests/fixtures/ggcr-overwritten-file.tar}

if ! command -v tmux >/dev/null 2>&1; then
    echo "tmux-smoke: tmux not found, skipped"
    exit 0
fi
if [ ! -x "$bin" ]; then
    echo "tmux-smoke: $bin not found (run cargo build --release)" >&2
    exit 1
fi

# A private socket: the user's own tmux server is never touched.
socket="layerscope-smoke-$$"
tmux_() { tmux -L "$socket" "$@"; }
cleanup() { tmux_ kill-server >/dev/null 2>&1 || true; }
trap cleanup EXIT

# No user config, colours on: the run must not depend on the machine.
tmux_ -f /dev/null new-session -d -s smoke -x 120 -y 35 \
    "env -u NO_COLOR -u CI XDG_CONFIG_HOME=/nonexistent TERM=xterm-256color '$bin' '$image'; echo \"EXITED:\$?\"; sleep 30"

capture() { tmux_ capture-pane -p -t smoke; }

# Wait until the pane shows TEXT (a fixed string), or fail with the pane's content.
expect() {
    local text=$1
    for _ in $(seq 1 100); do
        if capture | grep -qF -- "$text"; then
            return 0
        fi
        sleep 0.1
    done
    echo "tmux-smoke: FAIL: expected to see: $text" >&2
    capture >&2
    exit 1
}

# Wait until the pane no longer shows TEXT, or fail.
gone() {
    for _ in $(seq 1 100); do
        if ! capture | grep -qF -- "$1"; then
            return 0
        fi
        sleep 0.1
    done
    echo "tmux-smoke: FAIL: still showing: $1" >&2
    capture >&2
    exit 1
}

keys() { tmux_ send-keys -t smoke "$@"; }

expect "Layers [layer 0]"
expect "foo.txt"
expect "? help"

keys Down
expect "Layers [layer 1]"
keys C-a
expect "layers 0–1 aggregated"
keys C-l
expect "Files [layer 1]"

keys '?'
expect "Keys (esc closes)"
expect "show/hide added paths"
keys Escape
gone "Keys (esc closes)"

keys Tab
keys C-f
keys -l "bar"
expect "Filter: bar"
expect "1 matches"
# The tree row, not the image pane's list of wasted paths, which also names foo.txt.
gone "── foo.txt"
keys Escape
expect "── foo.txt"

keys Enter
expect "History of /"
keys Escape

keys -l v
expect "@ layer"
keys Escape

keys -l q
expect "EXITED:0"

# `layerscope demo` opens the explorer on the embedded demo images with the guided tour,
# at 80x24: the tour's first step selects the top layer of `layers`, its keys line and
# `? help` are in sight; n walks on, across to `hello`; esc leaves the tour.
tmux_ kill-session -t smoke
tmux_ -f /dev/null new-session -d -s smoke -x 80 -y 24 \
    "env -u NO_COLOR -u CI XDG_CONFIG_HOME=/nonexistent TERM=xterm-256color '$bin' demo; echo \"EXITED:\$?\"; sleep 30"
expect "Tour 1/14"
expect "Layers [layer 4]"
expect "n next p previous esc leaves"
expect "? help"
keys -l n
expect "Tour 2/14"
expect "Layers [layer 0]"
keys -l nnnnnnn
expect "Tour 9/14"
expect "A multi-stage build ships"
expect "Layers [layer 1]"
keys Escape
gone "Tour 9/14"
keys Up
expect "Layers [layer 0]"
keys -l q
expect "EXITED:0"
# `layerscope demo hello` starts at the tour's first step on hello.
tmux_ kill-session -t smoke
tmux_ -f /dev/null new-session -d -s smoke -x 120 -y 35 \
    "env -u NO_COLOR -u CI XDG_CONFIG_HOME=/nonexistent TERM=xterm-256color '$bin' demo hello; echo \"EXITED:\$?\"; sleep 30"
expect "Tour 9/14"
expect "Layers [layer 1]"
# q closes the tour first, then quits.
keys -l q
gone "Tour 9/14"
keys -l q
expect "EXITED:0"
# `diff A B --tui` opens the comparison view: the shared base joined, the change tree.
tmux_ kill-session -t smoke
tmux_ -f /dev/null new-session -d -s smoke -x 120 -y 35 \
    "env -u NO_COLOR -u CI XDG_CONFIG_HOME=/nonexistent TERM=xterm-256color '$bin' diff '$root/tests/fixtures/app-v1.tar' '$root/tests/fixtures/app-v2.tar' --tui; echo \"EXITED:\$?\"; sleep 30"
expect "shared: same diff_id in A and B"
expect "Changes A→B: 3 added, 3 changed, 1 deleted"
expect "payload.bin"
keys C-f
keys -l "NOTES"
expect "Filter: NOTES"
gone "payload.bin"
keys Escape
expect "payload.bin"
keys -l q
expect "EXITED:0"
echo "tmux-smoke: ok"
