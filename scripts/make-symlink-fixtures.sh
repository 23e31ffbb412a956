#!/usr/bin/env bash
# Rebuilds tests/fixtures/umoci-insert-merged-usr.tar and its reference listing.
#
# A merged-/usr base (bin -> usr/bin, lib -> /usr/lib, sbin -> usr/sbin, as Debian,
# Ubuntu and Fedora ship it), then `umoci insert` layers that name paths through those
# symlinks: /bin/tool, /lib/libx.so, a directory at /sbin/extra, and a whiteout of
# /bin/hello. umoci's insert writes the path as given (bin/tool), so an unpacker must
# resolve the parent inside the rootfs. The reference listing is umoci's unpack of the
# same image (the rootfs-listing method of the shared fixtures' README).
#
# Needs umoci and skopeo (Debian packages), and root (umoci unpack keeps owners).
set -euo pipefail
cd "$(dirname "$0")/.."
out=tests/fixtures/umoci-insert-merged-usr
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
umask 022

umoci init --layout "$work/oci"
umoci new --image "$work/oci:latest"
umoci unpack --image "$work/oci:latest" "$work/bundle"
rootfs=$work/bundle/rootfs
mkdir -p "$rootfs"/usr/bin "$rootfs"/usr/lib "$rootfs"/usr/sbin "$rootfs"/etc
ln -s usr/bin "$rootfs/bin"
ln -s /usr/lib "$rootfs/lib"
ln -s usr/sbin "$rootfs/sbin"
printf '#!/bin/sh\necho hello\n' >"$rootfs/usr/bin/hello"
chmod 0755 "$rootfs/usr/bin/hello"
printf 'libc\n' >"$rootfs/usr/lib/libc.so.6"
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$rootfs/etc/passwd"
umoci repack --image "$work/oci:latest" \
    --history.created_by "merged-/usr base: usr/bin usr/lib usr/sbin, bin -> usr/bin, lib -> /usr/lib, sbin -> usr/sbin (umoci repack)" \
    "$work/bundle"
rm -rf "$work/bundle"

printf '#!/bin/sh\necho tool\n' >"$work/tool"
chmod 0755 "$work/tool"
printf 'libx\n' >"$work/libx.so"
mkdir -p "$work/extra/sub"
printf 'a\n' >"$work/extra/a"
printf 'b\n' >"$work/extra/sub/b"
umoci insert --image "$work/oci:latest" --history.created_by "umoci insert tool /bin/tool" "$work/tool" /bin/tool
umoci insert --image "$work/oci:latest" --history.created_by "umoci insert libx.so /lib/libx.so" "$work/libx.so" /lib/libx.so
umoci insert --image "$work/oci:latest" --history.created_by "umoci insert extra /sbin/extra" "$work/extra" /sbin/extra
umoci insert --image "$work/oci:latest" --history.created_by "umoci insert --whiteout /bin/hello" --whiteout /bin/hello

rm -f "$out.tar"
skopeo copy --quiet "oci:$work/oci:latest" "oci-archive:$out.tar:latest"

# Reference listing: the archive back to a layout with skopeo, unpacked by umoci.
skopeo copy --quiet "oci-archive:$out.tar:latest" "oci:$work/check:latest"
umoci unpack --image "$work/check:latest" "$work/ref"
(cd "$work/ref/rootfs" && find . -mindepth 1 -printf '%M %U:%G %s /%P\0%l\0') |
    python3 -c '
import sys
fields = sys.stdin.buffer.read().split(b"\0")
rows = []
for line, link in zip(fields[0::2], fields[1::2]):
    mode, owner, size, path = line.split(b" ", 3)
    if not mode.startswith(b"-"):
        size = b"0"
    row = b" ".join([mode, owner, size, path])
    if mode.startswith(b"l"):
        row += b" -> " + link
    rows.append((path, row))
sys.stdout.buffer.write(b"".join(r + b"\n" for _, r in sorted(rows)))
' >"$out.rootfs.txt"
echo "wrote $out.tar and $out.rootfs.txt"
