#!/bin/sh
# Build the demo images for real and write them to assets/ as oci-archives.
#
#   demo/build.sh            # docker build when an engine answers, else buildah
#
# Without a registry, base images are made here: demo-base (FROM scratch plus Debian's
# busybox-static) and demo-golang (a Debian rootfs with golang-go, made by mmdebstrap).
# Needs: buildah or docker, mmdebstrap, skopeo, busybox-static; root (for mmdebstrap and
# for buildah's overlay storage, used by the opaque demo).
# WORK (default: a new directory under /tmp) holds buildah's storage and the rootfs.
set -eu

repo=$(cd "$(dirname "$0")/.." && pwd)
demo=$repo/demo
assets=$repo/assets
WORK=${WORK:-$(mktemp -d /tmp/layerscope-demo.XXXXXX)}
mkdir -p "$WORK" "$assets"

if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
    engine=docker
else
    engine=buildah
fi
echo "building with $engine in $WORK" >&2

# One storage of our own, so that concurrent builds on the machine do not collide.
bh() {
    buildah --root "$WORK/root" --runroot "$WORK/runroot" --storage-driver vfs "$@"
}

build() { # build TAG CONTEXT DOCKERFILE
    if [ "$engine" = docker ]; then
        docker build -t "$1" -f "$3" "$2"
    else
        bh build --isolation chroot --layers --pull=false -t "$1" -f "$3" "$2"
    fi
}

export_image() { # export TAG FILE
    rm -f "$2"
    if [ "$engine" = docker ]; then
        docker save "$1" | gzip -9n >"$2"
    else
        bh push --quiet "$1" "oci-archive:$2:$1"
    fi
}

# demo-base: busybox-static on scratch.
ctx=$WORK/base-context
rm -rf "$ctx" && mkdir -p "$ctx"
mkdir -p "$ctx/rootfs/bin" "$ctx/rootfs/tmp" "$ctx/rootfs/etc"
chmod 1777 "$ctx/rootfs/tmp"
cp /usr/bin/busybox "$ctx/rootfs/bin/busybox"
for applet in $(/usr/bin/busybox --list); do
    [ "$applet" = busybox ] || ln -s busybox "$ctx/rootfs/bin/$applet"
done
echo 'root:x:0:0:root:/root:/bin/sh' >"$ctx/rootfs/etc/passwd"
echo 'root:x:0:' >"$ctx/rootfs/etc/group"
cp "$demo/base/Dockerfile" "$ctx/Dockerfile"
build localhost/demo-base "$ctx" "$ctx/Dockerfile"

# demo-golang: a Debian rootfs with Debian's Go toolchain (the stand-in for golang:alpine).
if [ ! -f "$WORK/golang/rootfs.tar" ]; then
    mkdir -p "$WORK/golang"
    mmdebstrap --variant=apt --include=golang-go bookworm "$WORK/golang/rootfs.tar"
fi
cat >"$WORK/golang/Dockerfile" <<'DOCKERFILE'
# demo-golang: Debian bookworm made by `mmdebstrap --variant=apt --include=golang-go bookworm`.
FROM scratch
ADD rootfs.tar /
ENV PATH=/usr/lib/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
CMD ["bash"]
DOCKERFILE
# Its commit alone copies 600 MB: build it once per WORK.
if [ "$engine" = docker ] || ! bh inspect --type image localhost/demo-golang >/dev/null 2>&1; then
    build localhost/demo-golang "$WORK/golang" "$WORK/golang/Dockerfile"
fi

# The multi-stage hello-world.
build localhost/demo-hello "$demo/hello" "$demo/hello/Dockerfile"
export_image localhost/demo-hello "$assets/hello.oci.tar"

# Its build stage is not in the image: build it alone and measure its root filesystem, so
# that the tour's figure for what the stage held is measured (demo/hello/build-stage.size).
if [ "$engine" = docker ]; then
    docker build --target build -t localhost/demo-hello-build -f "$demo/hello/Dockerfile" "$demo/hello"
    stage=$WORK/hello-build-stage
    rm -rf "$stage" && mkdir -p "$stage"
    ctr=$(docker create localhost/demo-hello-build)
    docker export "$ctr" | tar -x -C "$stage"
    docker rm "$ctr" >/dev/null
else
    bh build --isolation chroot --layers --pull=false --target build \
        -t localhost/demo-hello-build -f "$demo/hello/Dockerfile" "$demo/hello"
    ctr=$(bh from localhost/demo-hello-build)
    stage=$(bh mount "$ctr")
fi
{
    echo "# Written by demo/build.sh, which builds the hello Dockerfile's build stage alone"
    echo "# (--target build) and measures its root filesystem: \`du -sb\` for the bytes, \`find -type f\`"
    echo "# for the files. The stage is not in the image, so the tour reads its size from here."
    echo "bytes=$(du -sb "$stage" | cut -f1)"
    echo "files=$(find "$stage" -type f | wc -l)"
} >"$demo/hello/build-stage.size"
if [ "$engine" != docker ]; then
    bh umount "$ctr" >/dev/null && bh rm "$ctr" >/dev/null
fi

# The five-layer example.
build localhost/demo-layers "$demo/layers" "$demo/layers/Dockerfile"
export_image localhost/demo-layers "$assets/layers.oci.tar"

# The wasteful twin: its context is a git checkout, .git included and no .dockerignore.
ctx=$WORK/wasteful-context
rm -rf "$ctx" && cp -R "$demo/waste" "$ctx" && rm -f "$ctx/fixed.dockerignore"
git -C "$ctx" init -q
git -C "$ctx" add -A
git -C "$ctx" -c user.name=demo -c user.email=demo@example.invalid commit -qm "demo app"
build localhost/demo-wasteful "$ctx" "$ctx/Dockerfile.wasteful"
export_image localhost/demo-wasteful "$assets/wasteful.oci.tar"

# The fixed twin: the same checkout, with a .dockerignore.
cp "$demo/waste/fixed.dockerignore" "$ctx/.dockerignore"
build localhost/demo-fixed "$ctx" "$ctx/Dockerfile.fixed"
export_image localhost/demo-fixed "$assets/fixed.oci.tar"

# The opaque directory. vfs storage records a deleted directory as one whiteout per old
# file; overlay storage (as Docker's overlay2) records a directory made again in its place
# as opaque. demo-base is copied into an overlay storage of its own, same layer bytes.
if [ "$engine" = docker ]; then
    build localhost/demo-opaque "$demo/opaque" "$demo/opaque/Dockerfile"
else
    obh() {
        buildah --root "$WORK/overlay-root" --runroot "$WORK/overlay-runroot" --storage-driver overlay "$@"
    }
    bh push --quiet localhost/demo-base \
        "containers-storage:[overlay@$WORK/overlay-root+$WORK/overlay-runroot]localhost/demo-base:latest"
    obh build --isolation chroot --layers --pull=false -t localhost/demo-opaque \
        -f "$demo/opaque/Dockerfile" "$demo/opaque"
fi
if [ "$engine" = docker ]; then
    export_image localhost/demo-opaque "$assets/opaque.oci.tar"
else
    rm -f "$assets/opaque.oci.tar"
    obh push --quiet localhost/demo-opaque "oci-archive:$assets/opaque.oci.tar:localhost/demo-opaque"
fi

# A test fixture for the Dockerfile mapping (tests/dockerfile_mapping.rs). The heredoc one
# needs Debian trixie's buildah: scripts/make-heredoc-fixture.sh.
fixture=$repo/tests/fixtures/dockerfile/buildah-features
build localhost/buildah-features "$fixture" "$fixture/Dockerfile"
export_image localhost/buildah-features "$fixture.oci.tar"

ls -l "$assets" >&2
