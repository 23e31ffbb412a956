#!/usr/bin/env bash
# Seed the fuzz corpora from the fixture images (corpus/ is gitignored: nothing here is
# committed). Only small files are kept, since large seeds slow every execution.
#   usage: fuzz/seed.sh [FIXTURES_DIR]   (default: $LAYERSCOPE_FIXTURES, else
#   ../shared/fixtures of the repository)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
fixtures="${1:-${LAYERSCOPE_FIXTURES:-$here/../../shared/fixtures}}"
max=262144
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$here"/corpus/{layer_parse,open_archive,manifest_config_history,engine_stream,registry_documents,dockerfile_map,package_databases}

for image in "$fixtures"/*.tar; do
    name="$(basename "$image" .tar)"
    if [ "$(stat -c %s "$image")" -le "$max" ]; then
        cp "$image" "$here/corpus/open_archive/$name.tar"
        # engine_stream's first byte sets the read sizes, its second the limits (0xff:
        # the real ones, 0x13: a few members and bytes); the archive follows.
        { printf '\x10\xff'; cat "$image"; } > "$here/corpus/engine_stream/$name"
        { printf '\x10\x13'; cat "$image"; } > "$here/corpus/engine_stream/$name-small-limits"
    fi
    mkdir -p "$work/$name"
    tar -xf "$image" -C "$work/$name" 2>/dev/null || true
    # Every member: JSON documents seed the JSON target, small tars and compressed
    # blobs seed the layer target.
    find "$work/$name" -type f | while read -r member; do
        size="$(stat -c %s "$member")"
        [ "$size" -le "$max" ] || continue
        key="$name-$(sha256sum "$member" | cut -c1-16)"
        magic="$(head -c 4 "$member" | od -An -tx1 | tr -d ' \n')"
        first="$(head -c 1 "$member" | tr -d '\000')"
        if [ "$first" = "{" ] || [ "$first" = "[" ]; then
            cp "$member" "$here/corpus/manifest_config_history/$key.json"
            # registry_documents' first byte picks the Content-Type and --platform: none
            # and no platform, an OCI index type and linux/arm64, a Docker manifest type
            # and linux/amd64.
            for selector in '\000' '\022' '\045'; do
                { printf "$selector"; cat "$member"; } > "$here/corpus/registry_documents/$key-$(printf "$selector" | od -An -tx1 | tr -d ' ')"
            done
        elif [[ "$magic" == 1f8b* || "$magic" == 28b52ffd ]] || tar -tf "$member" >/dev/null 2>&1; then
            cp "$member" "$here/corpus/layer_parse/$key"
        fi
    done
done
# History text the builders write, one seed each.
for text in '/bin/sh -c #(nop)  CMD ["sh"]' '|2 A=1 B=2 /bin/sh -c make' \
    'RUN |1 GOOS=linux /bin/sh -c go build # buildkit' 'COPY a / # buildkit' \
    'jib-maven-plugin:3.4.0' 'linux/arm64/v8'; do
    printf '%s' "$text" > "$here/corpus/manifest_config_history/text-$(printf '%s' "$text" | sha256sum | cut -c1-16)"
done
# Dockerfiles of the demos and tests, each followed by a NUL and the history a build of
# it might write (one created_by per line).
for dockerfile in "$here"/../demo/*/Dockerfile* "$here"/../tests/fixtures/dockerfile/*Dockerfile "$here"/../tests/fixtures/dockerfile/*/Dockerfile; do
    [ -f "$dockerfile" ] || continue
    key="$(sha256sum "$dockerfile" | cut -c1-16)"
    { cat "$dockerfile"; printf '\000'; grep -E '^(RUN|COPY|ADD|ENV|WORKDIR|CMD|ENTRYPOINT|USER|LABEL)' "$dockerfile" |
        sed -E 's/^(RUN) (.*)/\/bin\/sh -c \2/; s/^(ENV|WORKDIR|CMD|ENTRYPOINT|USER|LABEL) (.*)/!\/bin\/sh -c #(nop) \1 \2/; s/^(COPY|ADD) (.*)/\/bin\/sh -c #(nop) \1 file:0123 in \//'; } \
        > "$here/corpus/dockerfile_map/$key"
done
# Package databases: the apk one of the Alpine fixture, and the real rpm ones the tests
# use (tests/data/rpm): the Berkeley DB file whole, the NDB file's first 256 KiB (its slot
# pages and first blobs), and the first four rpm headers the NDB file holds.
alpine_layer="$(tar -tf "$fixtures/alpine-base.tar" | grep -m1 -E '^[0-9a-f]{64}\.tar$' || true)"
if [ -n "$alpine_layer" ]; then
    tar -xOf "$fixtures/alpine-base.tar" "$alpine_layer" |
        tar -xOf - --wildcards '*lib/apk/db/installed' > "$here/corpus/package_databases/apk-installed"
fi
rpmdata="$here/../tests/data/rpm"
gunzip -c "$rpmdata/libuuid-Packages.gz" > "$here/corpus/package_databases/bdb-libuuid"
gunzip -c "$rpmdata/sle15-bci-Packages.db.gz" > "$work/Packages.db"
head -c "$max" "$work/Packages.db" > "$here/corpus/package_databases/ndb-head"
u32() { od -An -tu4 -j"$2" -N4 "$1" | tr -d ' '; }
for slot in 0 1 2 3; do
    block="$(u32 "$work/Packages.db" $((32 + 16 * slot + 8)))"
    len="$(u32 "$work/Packages.db" $((block * 16 + 12)))"
    dd if="$work/Packages.db" of="$here/corpus/package_databases/rpm-header-$slot" \
        iflag=skip_bytes,count_bytes skip=$((block * 16 + 16)) count="$len" status=none
done
for target in layer_parse open_archive manifest_config_history engine_stream registry_documents dockerfile_map package_databases; do
    echo "$target: $(ls "$here/corpus/$target" | wc -l) seeds"
done
