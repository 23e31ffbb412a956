#!/usr/bin/env bash
# Rebuilds tests/fixtures/dockerfile/buildah-heredoc.oci.tar from the Dockerfile in
# tests/fixtures/dockerfile/buildah-heredoc/ (heredoc RUNs and COPYs).
#
#   scripts/make-heredoc-fixture.sh
#
# It needs Debian trixie's buildah (1.39): bookworm's 1.28 cannot parse heredocs. The
# script makes a trixie rootfs with mmdebstrap (buildah, netavark, busybox-static) and
# runs that buildah in it, chrooted in a private mount namespace, with vfs storage and
# chroot isolation. No registry: the base is localhost/demo-base made as demo/build.sh
# makes it (FROM scratch plus busybox-static, here trixie's busybox).
#
# Needs root, mmdebstrap, unshare (util-linux) and access to a Debian mirror (MIRROR,
# default http://deb.debian.org/debian). WORK (default: a new directory under /tmp,
# removed at the end) holds the rootfs (about 350 MB); a WORK you give is kept and its
# rootfs reused.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
fixture=$repo/tests/fixtures/dockerfile/buildah-heredoc
out=$repo/tests/fixtures/dockerfile/buildah-heredoc.oci.tar
MIRROR=${MIRROR:-http://deb.debian.org/debian}
if [ -n "${WORK:-}" ]; then
    mkdir -p "$WORK"
else
    WORK=$(mktemp -d /tmp/layerscope-heredoc.XXXXXX)
    # The mounts below live in their own namespace and are gone by now; stay on this
    # file system all the same.
    trap 'rm -rf --one-file-system "$WORK"' EXIT
fi
root=$WORK/trixie-root

if [ ! -x "$root/usr/bin/buildah" ]; then
    rm -rf --one-file-system "$root"
    mmdebstrap --variant=apt --include=buildah,netavark,busybox-static trixie "$root" "$MIRROR"
fi

# The build contexts, inside the rootfs.
build=$root/build
rm -rf "$build"
mkdir -p "$build/base/rootfs/bin" "$build/base/rootfs/tmp" "$build/base/rootfs/etc"
chmod 1777 "$build/base/rootfs/tmp"
cp "$root/usr/bin/busybox" "$build/base/rootfs/bin/busybox"
for applet in $("$root/usr/bin/busybox" --list); do
    [ "$applet" = busybox ] || ln -s busybox "$build/base/rootfs/bin/$applet"
done
echo 'root:x:0:0:root:/root:/bin/sh' >"$build/base/rootfs/etc/passwd"
echo 'root:x:0:' >"$build/base/rootfs/etc/group"
cp "$repo/demo/base/Dockerfile" "$build/base/Dockerfile"
cp -R "$fixture" "$build/heredoc"

cat >"$build/run.sh" <<'SCRIPT'
set -euo pipefail
buildah --version
bh() {
    buildah --root /build/storage --runroot /build/runroot --storage-driver vfs "$@"
}
# buildah 1.39 raises RLIMIT_NOFILE and RLIMIT_NPROC to 1048576 for a RUN, which fails
# where the hard limits are lower and cannot be raised (inside a container): keep them.
limits=(--ulimit "nofile=$(ulimit -Sn):$(ulimit -Hn)" --ulimit "nproc=$(ulimit -Su):$(ulimit -Hu)")
build() { # build TAG CONTEXT
    bh build --isolation chroot --layers --pull=false "${limits[@]}" -t "$1" -f "$2/Dockerfile" "$2"
}
build localhost/demo-base /build/base
build localhost/buildah-heredoc /build/heredoc
bh push --quiet localhost/buildah-heredoc oci-archive:/build/out.oci.tar:localhost/buildah-heredoc
SCRIPT

# containers/storage remounts / private when it applies a layer: / must be a mount point,
# so the rootfs is bind-mounted onto itself before the chroot.
unshare --mount --propagation private bash -euc '
    root=$1
    mount --bind "$root" "$root"
    mount --rbind /dev "$root/dev"
    mount --bind /proc "$root/proc"
    mount --rbind /sys "$root/sys"
    exec chroot "$root" /bin/bash /build/run.sh
' unshare "$root"

cp "$build/out.oci.tar" "$out"
rm -rf "$build"
ls -l "$out" >&2
