#!/usr/bin/env bash
# Builds a fleet of images on shared bases with real image tools, for measuring `fleet`
# at scale (PERFORMANCE.md, "Fleet").
#
# usage: scripts/fleet-set.sh OUT_DIR COUNT [TAGS]
#
# Three bases, as teams have a few: OUT_DIR/bases/alpine (the Alpine 3.14 rootfs of the
# shared fixtures, 1 layer), OUT_DIR/bases/python (alpine plus this machine's
# /usr/lib/python3.11, 2 layers, the first shared with alpine) and OUT_DIR/bases/busybox
# (dive's busybox test image, 14 layers): 16 distinct base layers. Then COUNT images,
# OUT_DIR/img-N, image N on base N mod 3 with one unique layer (an app: 256 KiB of random
# bytes and a config file) and, for odd N, a second (a 4 KiB settings file): COUNT + COUNT/2
# unique layers. skopeo copies the fixtures into OCI layouts, umoci adds every layer. Each
# image is its own OCI layout directory (layerscope opens one image per directory), its base
# blobs hard-linked to the base's, so 1,000 images take little more disk than their unique
# layers. OUT_DIR/images.txt lists them, one `oci://` reference a line, for --from-file;
# its first N lines are the set of N images. OUT_DIR/tags.txt lists TAGS more (default
# COUNT), OUT_DIR/tag-N, each a copy of base N mod 3 under its own name (as a registry holds many
# tags of one build): as many images, and no distinct layer beyond the bases' 16, which
# separates what `fleet` spends per image from what it spends per distinct layer.
#
# An image already built is kept: a larger COUNT adds images to a smaller set.
# Needs skopeo, umoci (Debian packages of those names) and $LAYERSCOPE_FIXTURES
# (default ../shared/fixtures).
set -euo pipefail

if (($# != 2 && $# != 3)); then
    echo "usage: $0 OUT_DIR COUNT [TAGS]" >&2
    exit 2
fi
out=$1 count=$2 tags=${3:-$2}
cd "$(dirname "$0")/.."
fixtures=${LAYERSCOPE_FIXTURES:-$(cd .. && pwd)/shared/fixtures}
for tool in skopeo umoci; do
    command -v "$tool" >/dev/null || {
        echo "$0: $tool is not installed (Debian: $tool)" >&2
        exit 2
    }
done
mkdir -p "$out/bases"
out=$(cd "$out" && pwd)

# base NAME FIXTURE: an OCI layout of a fixture image, tagged latest.
base() {
    [[ -e $out/bases/$1/index.json ]] && return
    skopeo --insecure-policy copy -q "docker-archive:$fixtures/$2" "oci:$out/bases/$1.tmp:latest"
    mv "$out/bases/$1.tmp" "$out/bases/$1"
}
base alpine alpine-base.tar
base busybox dive-docker-legacy.tar
if [[ ! -e $out/bases/python/index.json ]]; then
    rm -rf "$out/bases/python.tmp"
    cp -a "$out/bases/alpine" "$out/bases/python.tmp"
    umoci insert --image "$out/bases/python.tmp:latest" \
        --history.created_by "COPY python3.11 /usr/lib/python3.11" \
        /usr/lib/python3.11 /usr/lib/python3.11
    mv "$out/bases/python.tmp" "$out/bases/python"
fi
bases=(alpine python busybox)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for ((n = 0; n < count; n++)); do
    image=$out/img-$n
    [[ -e $image/index.json ]] && continue
    rm -rf "$image.tmp"
    # Hard links for the base's blobs; index.json is rewritten by umoci, so it is a copy.
    cp -al "$out/bases/${bases[n % 3]}" "$image.tmp"
    cp --remove-destination "$out/bases/${bases[n % 3]}/index.json" "$image.tmp/index.json"
    rm -rf "$work/app"
    mkdir -p "$work/app/bin" "$work/app/etc"
    head -c 262144 /dev/urandom >"$work/app/bin/app-$n"
    printf 'name = "app-%d"\nport = %d\n' "$n" $((8000 + n)) >"$work/app/etc/app.toml"
    umoci insert --image "$image.tmp:latest" --history.created_by "COPY app /app" \
        "$work/app" /app
    if ((n % 2)); then
        head -c 4096 /dev/urandom | base64 >"$work/settings"
        umoci insert --image "$image.tmp:latest" --history.created_by "COPY settings /etc/settings" \
            "$work/settings" /etc/settings
    fi
    mv "$image.tmp" "$image"
done
for ((n = 0; n < tags; n++)); do
    [[ -e $out/tag-$n/index.json ]] && continue
    cp -al "$out/bases/${bases[n % 3]}" "$out/tag-$n.tmp"
    mv "$out/tag-$n.tmp" "$out/tag-$n"
done
for ((n = 0; n < count; n++)); do echo "oci://$out/img-$n"; done >"$out/images.txt"
for ((n = 0; n < tags; n++)); do echo "oci://$out/tag-$n"; done >"$out/tags.txt"
