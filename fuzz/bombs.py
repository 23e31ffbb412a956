#!/usr/bin/env python3
"""Write the two bomb images that docs/fuzzing.md measures with the release binary.

    fuzz/bombs.py OUT_DIR [FILES] [GIB]

- OUT_DIR/many-files.tar: one gzip layer of FILES (default 1,000,000) empty files spread
  over 1,000 directories.
- OUT_DIR/zeros-bomb.tar: one gzip layer holding a single file of GIB (default 1) GiB of
  zeros, made of one compressed MiB repeated as gzip members (about 1 KiB per MiB).

Both are oci-archives with correct digests and diff_ids, so they load with verification.
"""

import gzip
import hashlib
import io
import json
import os
import sys
import tarfile


def header(name, size):
    info = tarfile.TarInfo(name)
    info.size = size
    info.mode = 0o644
    return info.tobuf(format=tarfile.USTAR_FORMAT)


def write_image(path, blob_path, diff_id):
    blob_digest = hashlib.sha256()
    with open(blob_path, "rb") as blob:
        for chunk in iter(lambda: blob.read(1 << 20), b""):
            blob_digest.update(chunk)
    layer = "sha256:" + blob_digest.hexdigest()
    config = json.dumps({
        "architecture": "amd64", "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        "history": [{"created_by": "RUN bomb"}],
    }).encode()
    manifest = json.dumps({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": "sha256:" + hashlib.sha256(config).hexdigest(), "size": len(config)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "digest": layer, "size": os.path.getsize(blob_path)}],
    }).encode()
    index = json.dumps({"schemaVersion": 2, "manifests": [{
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "digest": "sha256:" + hashlib.sha256(manifest).hexdigest(), "size": len(manifest)}]}).encode()
    with tarfile.open(path, "w") as out:
        def add(name, data):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            out.addfile(info, io.BytesIO(data))
        add("oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
        add("blobs/sha256/" + hashlib.sha256(config).hexdigest(), config)
        info = tarfile.TarInfo("blobs/sha256/" + layer[7:])
        info.size = os.path.getsize(blob_path)
        with open(blob_path, "rb") as blob:
            out.addfile(info, blob)
        add("blobs/sha256/" + hashlib.sha256(manifest).hexdigest(), manifest)
        add("index.json", index)
    os.remove(blob_path)


def many_files(out_dir, count):
    blob_path = os.path.join(out_dir, "many-files.blob")
    diff = hashlib.sha256()
    with gzip.open(blob_path, "wb", compresslevel=1) as blob:
        for start in range(0, count, 10000):
            chunk = b"".join(header(f"d{i % 1000}/f{i}", 0) for i in range(start, min(count, start + 10000)))
            blob.write(chunk)
            diff.update(chunk)
        blob.write(bytes(1024))
        diff.update(bytes(1024))
    write_image(os.path.join(out_dir, "many-files.tar"), blob_path, "sha256:" + diff.hexdigest())


def zeros_bomb(out_dir, gib):
    blob_path = os.path.join(out_dir, "zeros-bomb.blob")
    size = gib << 30
    diff = hashlib.sha256()
    first = header("zeros", size)
    mib = bytes(1 << 20)
    member = gzip.compress(mib, 9)
    with open(blob_path, "wb") as blob:
        blob.write(gzip.compress(first, 9))
        diff.update(first)
        for _ in range(size >> 20):
            blob.write(member)
            diff.update(mib)
        blob.write(gzip.compress(bytes(1024), 9))
        diff.update(bytes(1024))
    write_image(os.path.join(out_dir, "zeros-bomb.tar"), blob_path, "sha256:" + diff.hexdigest())


if __name__ == "__main__":
    out_dir = sys.argv[1]
    files = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
    gib = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    os.makedirs(out_dir, exist_ok=True)
    many_files(out_dir, files)
    zeros_bomb(out_dir, gib)
    for name in ("many-files.tar", "zeros-bomb.tar"):
        print(name, os.path.getsize(os.path.join(out_dir, name)), "bytes")
