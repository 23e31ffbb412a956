#!/usr/bin/env bash
# Builds a small real Debian image for trying `layerscope packages` and the package hints
# on something Debian's own tools wrote: a minbase rootfs from mmdebstrap as the first
# layer, a layer that `apt-get install`s a compiler and python3, and a layer that removes
# one package again. buildah (chroot isolation, vfs storage, so it needs no daemon and no
# overlay support) commits one layer per instruction and writes an oci-archive.
#
# Usage: scripts/debian-image.sh [OUT.tar]   (default target/bench-images/debian-pkgs.tar,
# beside scripts/bench.sh's generated images)
# Needs root (or a user namespace), mmdebstrap, buildah and network access to the mirror.
# The image is not committed: it is about 280 MB (apt's downloaded .deb files included).
set -euo pipefail

out="${1:-target/bench-images/debian-pkgs.tar}"
suite="${SUITE:-bookworm}"
# The mirror apt itself uses here, so that the script works wherever apt does.
mirror="${MIRROR:-$(apt-get indextargets --format '$(REPO_URI)' 'Created-By: Packages' 2>/dev/null | grep -v security | head -n1)}"
mirror="${mirror:-http://deb.debian.org/debian/}"

work="$(mktemp -d)"
# vfs storage leaves root-owned copies of every layer: remove them however we exit.
cleanup() {
    buildah --storage-driver vfs --root "$work/storage" --runroot "$work/run" rm --all >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

mmdebstrap --variant=minbase --quiet "$suite" "$work/rootfs.tar" "$mirror"

cat > "$work/Containerfile" <<'CONTAINERFILE'
FROM scratch
ADD rootfs.tar /
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends gcc python3 less
RUN DEBIAN_FRONTEND=noninteractive apt-get purge -y less
CMD ["/bin/bash"]
CONTAINERFILE

buildah --storage-driver vfs --root "$work/storage" --runroot "$work/run" \
    build --isolation chroot --layers -f "$work/Containerfile" -t localhost/debian-pkgs "$work"
mkdir -p "$(dirname "$out")"
rm -f "$out"
buildah --storage-driver vfs --root "$work/storage" --runroot "$work/run" \
    push localhost/debian-pkgs "oci-archive:$out:latest"
echo "wrote $out" >&2
