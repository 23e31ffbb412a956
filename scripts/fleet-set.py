#!/usr/bin/env python3
"""Builds a set of OCI layouts on one shared base, for measuring `layerscope fleet`.

    scripts/fleet-set.py BASE_DIR APPS_DIR OUT_DIR COUNT

BASE_DIR and APPS_DIR are OCI layouts (directories) that examples/gen-image made: BASE_DIR
one image whose layers are the base, APPS_DIR/app-N (N = 0..COUNT-1) one image each whose
layers are that app's own. OUT_DIR/img-N gets an OCI layout of the base's layers and then
app N's, its blobs hard-linked (no copies); OUT_DIR/all one image holding every distinct
layer once (the base's, then every app's), the floor `fleet` is measured against.
"""
import hashlib
import json
import os
import sys


def read_image(layout):
    index = json.load(open(os.path.join(layout, "index.json")))
    manifest_digest = index["manifests"][0]["digest"]
    manifest = json.load(open(blob_path(layout, manifest_digest)))
    config = json.load(open(blob_path(layout, manifest["config"]["digest"])))
    layers = [
        (layer, diff_id, blob_path(layout, layer["digest"]))
        for layer, diff_id in zip(manifest["layers"], config["rootfs"]["diff_ids"])
    ]
    return layers


def blob_path(layout, digest):
    return os.path.join(layout, "blobs", *digest.split(":", 1))


def write_blob(layout, data):
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    path = blob_path(layout, digest)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    return digest, len(data)


def write_image(layout, layers):
    os.makedirs(os.path.join(layout, "blobs", "sha256"), exist_ok=True)
    for layer, _, source in layers:
        target = blob_path(layout, layer["digest"])
        if not os.path.exists(target):
            os.link(source, target)
    config = {
        "architecture": "amd64",
        "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": [d for _, d, _ in layers]},
        "history": [{"created_by": f"layer {i}"} for i in range(len(layers))],
    }
    config_digest, config_size = write_blob(layout, json.dumps(config).encode())
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": config_digest,
            "size": config_size,
        },
        "layers": [layer for layer, _, _ in layers],
    }
    manifest_digest, manifest_size = write_blob(layout, json.dumps(manifest).encode())
    index = {
        "schemaVersion": 2,
        "manifests": [
            {
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": manifest_digest,
                "size": manifest_size,
            }
        ],
    }
    json.dump(index, open(os.path.join(layout, "index.json"), "w"))
    json.dump({"imageLayoutVersion": "1.0.0"}, open(os.path.join(layout, "oci-layout"), "w"))


def main():
    base_dir, apps_dir, out_dir, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    base = read_image(base_dir)
    every = list(base)
    for n in range(count):
        app = read_image(os.path.join(apps_dir, f"app-{n}"))
        write_image(os.path.join(out_dir, f"img-{n}"), base + app)
        every += app
    write_image(os.path.join(out_dir, "all"), every)


if __name__ == "__main__":
    main()
