#!/bin/sh
# The demo's "package manager": installs each dependency listed in requirements.txt
# from vendor/ into lib/, as pip or npm would from their index.
set -eu
mkdir -p lib
while read -r name; do
    [ -n "$name" ] && cp -R "vendor/$name" "lib/$name"
done < requirements.txt
