//! Checks that tests/support writes what real tools write: the members each
//! layout has, digests that match their bytes, and valid index/manifest JSON.

mod support;

use serde_json::Value;
use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;
use support::*;

/// One archive member as read back with `tar::Archive`.
#[derive(Debug)]
struct Member {
    kind: tar::EntryType,
    data: Vec<u8>,
    link: Option<String>,
}

/// Decompresses by magic number, so tests read outer-compressed files too.
fn decompress(bytes: Vec<u8>) -> Vec<u8> {
    let mut out = Vec::new();
    if bytes.starts_with(&[0x1f, 0x8b]) {
        flate2::read::GzDecoder::new(bytes.as_slice())
            .read_to_end(&mut out)
            .unwrap();
    } else if bytes.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        out = zstd::decode_all(bytes.as_slice()).unwrap();
    } else {
        out = bytes;
    }
    out
}

/// Members by raw name, plus the order they appear in.
fn read_tar(bytes: &[u8]) -> (BTreeMap<String, Member>, Vec<String>) {
    let mut map = BTreeMap::new();
    let mut order = Vec::new();
    let mut archive = tar::Archive::new(bytes);
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let name = String::from_utf8(entry.path_bytes().into_owned()).unwrap();
        let link = entry
            .link_name_bytes()
            .map(|l| String::from_utf8(l.into_owned()).unwrap());
        let mut data = Vec::new();
        entry.read_to_end(&mut data).unwrap();
        order.push(name.clone());
        map.insert(
            name,
            Member {
                kind: entry.header().entry_type(),
                data,
                link,
            },
        );
    }
    (map, order)
}

fn read_archive(path: &Path) -> (BTreeMap<String, Member>, Vec<String>) {
    read_tar(&decompress(std::fs::read(path).unwrap()))
}

fn json(m: &BTreeMap<String, Member>, name: &str) -> Value {
    serde_json::from_slice(&m[name].data).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn blob_name(digest: &str) -> String {
    format!("blobs/sha256/{}", digest_hex(digest))
}

fn sample_image() -> ImageSpec {
    ImageSpec::new()
        .tag("example/app:1.0")
        .also_tag("example/app:latest")
        .layer(
            LayerSpec::new()
                .dir("etc", 0o755)
                .file("etc/hosts", "127.0.0.1 localhost\n")
                .dir("bin", 0o755)
                .file_mode("bin/tool", b"\x7fELF", 0o4755, 0, 0)
                .symlink("bin/sh", "busybox"),
        )
        .layer(
            LayerSpec::new()
                .whiteout("etc/hosts")
                .opaque("bin")
                .file("bin/new", "x"),
        )
        .history(HistoryEntry::layer("ADD rootfs /"))
        .history(HistoryEntry::empty("ENV A=1"))
        .history(HistoryEntry::layer("RUN rm /etc/hosts").comment("buildkit.dockerfile.v0"))
}

#[test]
fn layer_tar_has_entries_in_order_with_types_modes_and_owners() {
    let long = format!("{}/file", "d".repeat(300));
    let layer = LayerSpec::new()
        .dir("a", 0o700)
        .file_mode("a/f", "hello", 0o640, 1000, 1001)
        .symlink("a/s", "f")
        .hardlink("a/h", "a/f")
        .char_dev("dev/null", 1, 3)
        .block_dev("dev/sda", 8, 0)
        .fifo("run/fifo")
        .whiteout("a/gone")
        .opaque("opq/")
        .file(&long, "long")
        .xattr("security.capability", [1u8, 2, 3]);
    let bytes = layer.tar_bytes();
    let mut archive = tar::Archive::new(bytes.as_slice());
    let mut seen = Vec::new();
    for entry in archive.entries().unwrap() {
        let mut e = entry.unwrap();
        let path = e.path().unwrap().to_string_lossy().into_owned();
        let h = e.header().clone();
        match path.as_str() {
            "a/f" => {
                assert_eq!(h.mode().unwrap(), 0o640);
                assert_eq!((h.uid().unwrap(), h.gid().unwrap()), (1000, 1001));
                let mut s = String::new();
                e.read_to_string(&mut s).unwrap();
                assert_eq!(s, "hello");
            }
            "a/s" => assert_eq!(e.link_name().unwrap().unwrap().to_str(), Some("f")),
            "a/h" => assert_eq!(h.entry_type(), tar::EntryType::Link),
            "dev/null" => {
                assert_eq!(h.entry_type(), tar::EntryType::Char);
                assert_eq!(
                    (h.device_major().unwrap(), h.device_minor().unwrap()),
                    (Some(1), Some(3))
                );
            }
            "dev/sda" => assert_eq!(h.entry_type(), tar::EntryType::Block),
            "run/fifo" => assert_eq!(h.entry_type(), tar::EntryType::Fifo),
            p if p == long => {
                // The name does not fit USTAR, so it must come from a PAX record.
                let pax: BTreeMap<String, Vec<u8>> = e
                    .pax_extensions()
                    .unwrap()
                    .expect("pax header")
                    .map(|r| {
                        let r = r.unwrap();
                        (r.key().unwrap().to_string(), r.value_bytes().to_vec())
                    })
                    .collect();
                assert_eq!(pax["path"], long.as_bytes());
                assert_eq!(pax["SCHILY.xattr.security.capability"], [1, 2, 3]);
            }
            _ => {}
        }
        seen.push(path);
    }
    assert_eq!(
        seen,
        [
            "a",
            "a/f",
            "a/s",
            "a/h",
            "dev/null",
            "dev/sda",
            "run/fifo",
            "a/.wh.gone",
            "opq/.wh..wh..opq",
            &long
        ]
    );
}

#[test]
fn raw_entries_keep_hostile_names_verbatim() {
    let mut h = tar::Header::new_ustar();
    h.as_ustar_mut().unwrap().name[..10].copy_from_slice(b"../escape\0");
    h.set_size(3);
    h.set_entry_type(tar::EntryType::Regular);
    h.set_cksum();
    let mut abs = support::Entry::new("/etc/abs", Kind::File(Content::Bytes(b"a".to_vec())));
    abs.mode = 0o600;
    let bytes = LayerSpec::new().raw(h, "bad").entry(abs).tar_bytes();
    let (m, order) = read_tar(&bytes);
    assert_eq!(order, ["../escape", "/etc/abs"]);
    assert_eq!(m["../escape"].data, b"bad");
}

#[test]
fn pax_record_lengths_count_themselves() {
    // The length prefix includes its own digits; probe around digit-count boundaries.
    for value_len in [0usize, 1, 5, 6, 7, 85, 86, 87, 990, 995, 996, 1000] {
        let rec = pax_records(&[("k", &vec![b'v'; value_len])]);
        let space = rec.iter().position(|&b| b == b' ').unwrap();
        let len: usize = std::str::from_utf8(&rec[..space]).unwrap().parse().unwrap();
        assert_eq!(len, rec.len(), "value_len {value_len}");
    }
}

#[test]
fn docker_archive_has_legacy_members_and_matching_digests() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("img.tar");
    let built = sample_image().build();
    built.write_docker_archive(&out).unwrap();
    let (m, order) = read_archive(&out);

    let manifest = json(&m, "manifest.json");
    let entry = &manifest[0];
    assert_eq!(
        entry["RepoTags"],
        serde_json::json!(["example/app:1.0", "example/app:latest"])
    );
    let config_name = entry["Config"].as_str().unwrap();
    let config_bytes = &m[config_name].data;
    assert_eq!(
        format!("{}.json", digest_hex(&sha256_digest(config_bytes))),
        config_name
    );
    let config: Value = serde_json::from_slice(config_bytes).unwrap();
    assert_eq!(config["architecture"], "amd64");
    assert_eq!(config["os"], "linux");
    assert_eq!(config["rootfs"]["type"], "layers");
    assert_eq!(config["history"].as_array().unwrap().len(), 3);
    assert_eq!(config["history"][1]["empty_layer"], true);

    let layers = entry["Layers"].as_array().unwrap();
    assert_eq!(layers.len(), 2);
    for (i, layer) in layers.iter().enumerate() {
        let name = layer.as_str().unwrap();
        let id = name.strip_suffix("/layer.tar").expect("<id>/layer.tar");
        assert_eq!(m[name].kind, tar::EntryType::Regular);
        assert_eq!(m[&format!("{id}/")].kind, tar::EntryType::Directory);
        assert_eq!(m[&format!("{id}/VERSION")].data, b"1.0");
        let v1 = json(&m, &format!("{id}/json"));
        assert_eq!(v1["id"], id);
        assert_eq!(v1.get("parent").is_some(), i > 0);
        assert_eq!(
            config["rootfs"]["diff_ids"][i],
            sha256_digest(&m[name].data)
        );
    }
    assert_eq!(
        m[layers[0].as_str().unwrap()].data,
        blob_tar(&built.layers[0])
    );

    let repos = json(&m, "repositories");
    let top_id = layers[1]
        .as_str()
        .unwrap()
        .strip_suffix("/layer.tar")
        .unwrap();
    assert_eq!(repos["example/app"]["1.0"], top_id);
    assert_eq!(repos["example/app"]["latest"], top_id);
    // A sorted walk, like docker save: manifest.json after every layer.
    let pos = |n: &str| order.iter().position(|o| o == n).unwrap();
    assert!(pos("manifest.json") > pos(layers[1].as_str().unwrap()));
    assert_eq!(order.last().unwrap(), "repositories");
}

/// A blob's stored bytes, decompressed.
fn blob_tar(blob: &Blob) -> Vec<u8> {
    let mut v = Vec::new();
    blob.open().unwrap().read_to_end(&mut v).unwrap();
    decompress(v)
}

#[test]
fn oci_archive_digests_media_types_and_diff_ids() {
    for (compression, suffix, magic) in [
        (Compression::Gzip, "+gzip", &[0x1f, 0x8b][..]),
        (Compression::Zstd, "+zstd", &[0x28, 0xb5, 0x2f, 0xfd][..]),
        (Compression::None, "", &b""[..]),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("oci.tar");
        sample_image()
            .compression(compression)
            .write_oci_archive(&out)
            .unwrap();
        let (m, _) = read_archive(&out);

        assert_eq!(json(&m, "oci-layout")["imageLayoutVersion"], "1.0.0");
        let index = json(&m, "index.json");
        assert_eq!(index["schemaVersion"], 2);
        assert_eq!(
            index["mediaType"],
            "application/vnd.oci.image.index.v1+json"
        );
        let desc = &index["manifests"][0];
        assert_eq!(
            desc["mediaType"],
            "application/vnd.oci.image.manifest.v1+json"
        );
        assert_eq!(
            desc["annotations"]["org.opencontainers.image.ref.name"],
            "1.0"
        );
        let manifest_bytes = &m[&blob_name(desc["digest"].as_str().unwrap())].data;
        assert_eq!(sha256_digest(manifest_bytes), desc["digest"]);
        assert_eq!(manifest_bytes.len() as u64, desc["size"].as_u64().unwrap());

        let manifest: Value = serde_json::from_slice(manifest_bytes).unwrap();
        assert_eq!(
            manifest["config"]["mediaType"],
            "application/vnd.oci.image.config.v1+json"
        );
        let config_bytes = &m[&blob_name(manifest["config"]["digest"].as_str().unwrap())].data;
        assert_eq!(sha256_digest(config_bytes), manifest["config"]["digest"]);
        let config: Value = serde_json::from_slice(config_bytes).unwrap();

        for (i, layer) in manifest["layers"].as_array().unwrap().iter().enumerate() {
            assert_eq!(
                layer["mediaType"],
                format!("application/vnd.oci.image.layer.v1.tar{suffix}")
            );
            let blob = &m[&blob_name(layer["digest"].as_str().unwrap())].data;
            assert!(blob.starts_with(magic));
            assert_eq!(sha256_digest(blob), layer["digest"]);
            assert_eq!(blob.len() as u64, layer["size"].as_u64().unwrap());
            assert_eq!(
                sha256_digest(&decompress(blob.clone())),
                config["rootfs"]["diff_ids"][i]
            );
        }
    }
}

#[test]
fn oci_layout_dir_matches_oci_archive() {
    let dir = tempfile::tempdir().unwrap();
    let image = sample_image().compression(Compression::Gzip);
    image
        .write_oci_archive(&dir.path().join("oci.tar"))
        .unwrap();
    image.write_oci_layout(&dir.path().join("layout")).unwrap();
    let (m, _) = read_archive(&dir.path().join("oci.tar"));
    let mut files = 0;
    for (name, member) in &m {
        let on_disk = dir.path().join("layout").join(name);
        if member.kind == tar::EntryType::Directory {
            assert!(on_disk.is_dir(), "{name}");
        } else {
            assert_eq!(std::fs::read(&on_disk).unwrap(), member.data, "{name}");
            files += 1;
        }
    }
    assert_eq!(files, 2 + 1 + 1 + 2); // oci-layout, index.json, manifest, config, 2 layers
}

#[test]
fn skopeo_layout_symlinks_legacy_layer_paths_to_root_level_tars() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("skopeo.tar");
    sample_image().write_docker_archive_skopeo(&out).unwrap();
    let (m, _) = read_archive(&out);
    let manifest = json(&m, "manifest.json");
    let config = json(&m, manifest[0]["Config"].as_str().unwrap());
    let legacy_dirs: Vec<&String> = m.keys().filter(|k| k.ends_with("/layer.tar")).collect();
    assert_eq!(legacy_dirs.len(), 2);
    for (i, layer) in manifest[0]["Layers"].as_array().unwrap().iter().enumerate() {
        let name = layer.as_str().unwrap();
        let diff_id = config["rootfs"]["diff_ids"][i].as_str().unwrap();
        assert_eq!(name, format!("{}.tar", digest_hex(diff_id)));
        assert_eq!(sha256_digest(&m[name].data), diff_id);
    }
    for link in legacy_dirs {
        let member = &m[link];
        assert_eq!(member.kind, tar::EntryType::Symlink);
        let target = member.link.as_deref().unwrap();
        let root_file = target.strip_prefix("../").expect("relative to the id dir");
        assert!(m.contains_key(root_file), "{target}");
    }
}

#[test]
fn crane_layout_names_config_by_digest() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("crane.tar");
    sample_image()
        .compression(Compression::Gzip)
        .write_docker_archive_crane(&out)
        .unwrap();
    let (m, _) = read_archive(&out);
    assert!(!m.contains_key("repositories"));
    let manifest = json(&m, "manifest.json");
    let config_name = manifest[0]["Config"].as_str().unwrap();
    assert!(config_name.starts_with("sha256:"));
    assert_eq!(sha256_digest(&m[config_name].data), config_name);
    for layer in manifest[0]["Layers"].as_array().unwrap() {
        let name = layer.as_str().unwrap();
        let hex = name.strip_suffix(".tar.gz").unwrap();
        assert_eq!(digest_hex(&sha256_digest(&m[name].data)), hex);
    }
}

#[test]
fn docker25_archive_is_an_oci_layout_plus_manifest_json() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("d25.tar");
    sample_image().write_docker25_archive(&out).unwrap();
    let (m, _) = read_archive(&out);
    assert!(m.contains_key("oci-layout"));
    let manifest = json(&m, "manifest.json");
    let index = json(&m, "index.json");
    let desc = &index["manifests"][0];
    assert_eq!(
        desc["annotations"]["io.containerd.image.name"],
        "example/app:1.0"
    );
    let oci_manifest = json(&m, &blob_name(desc["digest"].as_str().unwrap()));
    // Both views name the same blobs.
    assert_eq!(
        manifest[0]["Config"],
        blob_name(oci_manifest["config"]["digest"].as_str().unwrap())
    );
    let oci_layers: Vec<String> = oci_manifest["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| blob_name(l["digest"].as_str().unwrap()))
        .collect();
    assert_eq!(manifest[0]["Layers"], serde_json::json!(oci_layers));
    for name in &oci_layers {
        assert_eq!(blob_name(&sha256_digest(&m[name].data)), *name);
    }
    assert!(m.contains_key("repositories"));
}

#[test]
fn multi_image_docker_archive_stores_shared_layers_once() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("two.tar");
    let base = LayerSpec::new().file("base", "shared");
    let a = ImageSpec::new()
        .tag("a:1")
        .layer(base.clone())
        .layer(LayerSpec::new().file("a", "a"));
    let b = ImageSpec::new()
        .tag("b:1")
        .layer(base)
        .layer(LayerSpec::new().file("b", "b"));
    write_docker_archive_multi(&[a, b], DockerLayout::Legacy, &out).unwrap();
    let (m, order) = read_archive(&out);
    let manifest = json(&m, "manifest.json");
    assert_eq!(manifest.as_array().unwrap().len(), 2);
    assert_eq!(manifest[0]["RepoTags"][0], "a:1");
    assert_eq!(manifest[1]["RepoTags"][0], "b:1");
    assert_eq!(manifest[0]["Layers"][0], manifest[1]["Layers"][0]);
    assert_ne!(manifest[0]["Layers"][1], manifest[1]["Layers"][1]);
    let layer_members = order.iter().filter(|n| n.ends_with("/layer.tar")).count();
    assert_eq!(layer_members, 3);
    let repos = json(&m, "repositories");
    assert!(repos["a"]["1"].is_string() && repos["b"]["1"].is_string());
}

#[test]
fn multi_platform_index_with_attestations_and_a_missing_platform() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("multi.tar");
    let image = |arch: &str| {
        ImageSpec::new()
            .platform(Platform::new("linux", arch))
            .compression(Compression::Gzip)
            .layer(LayerSpec::new().file("arch", arch))
    };
    let spec = MultiPlatformSpec::new()
        .image(image("amd64"))
        .image(image("arm64").platform(Platform::new("linux", "arm64").variant("v8")))
        .attestations(true)
        .omit_platform(1);
    let built = spec.build();
    built.write_oci_archive(&out).unwrap();
    let (m, _) = read_archive(&out);

    let top = json(&m, "index.json");
    assert_eq!(top["manifests"].as_array().unwrap().len(), 1);
    assert_eq!(
        top["manifests"][0]["mediaType"],
        "application/vnd.oci.image.index.v1+json"
    );
    let nested = json(
        &m,
        &blob_name(top["manifests"][0]["digest"].as_str().unwrap()),
    );
    assert_eq!(
        nested["mediaType"],
        "application/vnd.oci.image.index.v1+json"
    );
    let manifests = nested["manifests"].as_array().unwrap();
    assert_eq!(manifests.len(), 4);
    assert_eq!(manifests[0]["platform"]["architecture"], "amd64");
    assert_eq!(manifests[1]["platform"]["variant"], "v8");

    let amd64 = &manifests[0];
    let attestation = &manifests[2];
    assert_eq!(attestation["platform"]["os"], "unknown");
    assert_eq!(attestation["platform"]["architecture"], "unknown");
    let ann = &attestation["annotations"];
    assert_eq!(ann["vnd.docker.reference.type"], "attestation-manifest");
    assert_eq!(ann["vnd.docker.reference.digest"], amd64["digest"]);
    let att_manifest = json(&m, &blob_name(attestation["digest"].as_str().unwrap()));
    assert_eq!(
        att_manifest["layers"][0]["mediaType"],
        "application/vnd.in-toto+json"
    );

    // arm64 (and its attestation) are listed but not stored.
    assert!(m.contains_key(&blob_name(amd64["digest"].as_str().unwrap())));
    assert!(!m.contains_key(&blob_name(manifests[1]["digest"].as_str().unwrap())));
    assert!(!m.contains_key(&blob_name(manifests[3]["digest"].as_str().unwrap())));
    assert!(!m.contains_key(&blob_name(&built.images[1].layers[0].digest)));
}

#[test]
fn flat_index_lists_platform_manifests_directly() {
    let dir = tempfile::tempdir().unwrap();
    let spec = MultiPlatformSpec::new()
        .image(ImageSpec::new().layer(LayerSpec::new().file("x", "1")))
        .image(
            ImageSpec::new()
                .platform(Platform::new("linux", "arm64"))
                .layer(LayerSpec::new().file("x", "2")),
        )
        .nested(false);
    spec.write_oci_layout(dir.path()).unwrap();
    let index: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("index.json")).unwrap()).unwrap();
    let manifests = index["manifests"].as_array().unwrap();
    assert_eq!(manifests.len(), 2);
    for d in manifests {
        assert_eq!(d["mediaType"], "application/vnd.oci.image.manifest.v1+json");
        let path = dir.path().join(blob_name(d["digest"].as_str().unwrap()));
        assert_eq!(sha256_digest(&std::fs::read(path).unwrap()), d["digest"]);
    }
}

#[test]
fn outer_compression_and_metadata_order() {
    for outer in [Compression::Gzip, Compression::Zstd] {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("img.tar.x");
        let mut spec = sample_image().outer_compression(outer);
        spec.archive.metadata_first = true;
        spec.write_docker_archive(&out).unwrap();
        let raw = std::fs::read(&out).unwrap();
        assert_ne!(
            decompress(raw.clone()),
            raw,
            "{outer:?} should compress the file"
        );
        let (_, order) = read_archive(&out);
        assert_eq!(order[..2], ["manifest.json", "repositories"]);
    }
}

#[test]
fn breakage_knobs_produce_the_intended_inconsistency() {
    let dir = tempfile::tempdir().unwrap();
    let mut built = sample_image().compression(Compression::Gzip).build();
    let layer1 = built.layers[1].digest.clone();
    built.break_diff_id(0).drop_layer_blob(1);
    built
        .write_oci_archive(&dir.path().join("broken.tar"))
        .unwrap();
    let (m, _) = read_archive(&dir.path().join("broken.tar"));
    let manifest = json(
        &m,
        &blob_name(
            json(&m, "index.json")["manifests"][0]["digest"]
                .as_str()
                .unwrap(),
        ),
    );
    let config = json(
        &m,
        &blob_name(manifest["config"]["digest"].as_str().unwrap()),
    );
    let layer0 = &m[&blob_name(manifest["layers"][0]["digest"].as_str().unwrap())].data;
    assert_ne!(
        sha256_digest(&decompress(layer0.clone())),
        config["rootfs"]["diff_ids"][0]
    );
    assert_eq!(manifest["layers"][1]["digest"], layer1);
    assert!(!m.contains_key(&blob_name(&layer1)));

    let mut corrupt = sample_image().build();
    corrupt.corrupt_layer_blob(0, b"garbage".to_vec());
    corrupt
        .write_docker_archive(&dir.path().join("corrupt.tar"))
        .unwrap();
    let (m, _) = read_archive(&dir.path().join("corrupt.tar"));
    let manifest = json(&m, "manifest.json");
    assert_eq!(
        m[manifest[0]["Layers"][0].as_str().unwrap()].data,
        b"garbage"
    );
}

#[test]
fn generated_content_is_deterministic_and_as_compressible_as_intended() {
    let random = Content::Random {
        len: 100_003,
        seed: 7,
    };
    let text = Content::Text {
        len: 100_003,
        seed: 7,
    };
    assert_eq!(random.to_vec().len(), 100_003);
    assert_eq!(text.to_vec().len(), 100_003);
    assert_eq!(random.to_vec(), random.to_vec());
    assert_ne!(
        random.to_vec(),
        Content::Random {
            len: 100_003,
            seed: 8
        }
        .to_vec()
    );
    let gz = |data: &[u8]| {
        let mut e = Encoder::new(Vec::new(), Compression::Gzip).unwrap();
        std::io::Write::write_all(&mut e, data).unwrap();
        e.finish().unwrap().len()
    };
    assert!(
        gz(&random.to_vec()) > 100_000,
        "random data must not compress"
    );
    let text_ratio = 100_003.0 / gz(&text.to_vec()) as f64;
    assert!((2.0..8.0).contains(&text_ratio), "text ratio {text_ratio}");
}

#[test]
fn streaming_layer_writer_reports_digests_of_what_it_wrote() {
    let mut w = LayerWriter::new(Vec::new(), Compression::Zstd).unwrap();
    w.append(&support::Entry::new(
        "big",
        Kind::File(Content::Random {
            len: 3 << 20,
            seed: 1,
        }),
    ))
    .unwrap();
    let (blob, d) = w.finish().unwrap();
    assert_eq!(d.digest, sha256_digest(&blob));
    assert_eq!(d.size, blob.len() as u64);
    let tar = zstd::decode_all(blob.as_slice()).unwrap();
    assert_eq!(d.diff_id, sha256_digest(&tar));
    assert_eq!(d.uncompressed_size, tar.len() as u64);
    assert_eq!(whiteout_path("a/b/"), "a/.wh.b");
    assert_eq!(whiteout_path("top"), ".wh.top");
}

/// The PostgreSQL harness: a cluster that answers psql with the test user's password and
/// refuses a wrong one (password auth, not trust), keeps what is written, and is gone,
/// port and all, once dropped.
#[test]
fn postgres_harness_starts_authenticates_and_stops_by_pid() {
    let Some(pg) = postgres::Postgres::start() else {
        return;
    };
    let port = pg.port;
    pg.query("CREATE TABLE layers (diff_id text PRIMARY KEY, size bigint)");
    pg.query("INSERT INTO layers VALUES ('sha256:aa', 10), ('sha256:bb', 32)");
    assert_eq!(pg.query("SELECT count(*), sum(size) FROM layers"), "2|42");
    assert_eq!(pg.query("SELECT current_user"), postgres::USER);
    assert_eq!(
        pg.query("SELECT rolsuper FROM pg_roles WHERE rolname = current_user"),
        "f"
    );

    // The URL is what a worker gets: psql takes it as its connection string.
    let by_url = std::process::Command::new("psql")
        .args([
            "-X",
            "-At",
            "-d",
            &pg.url(),
            "-c",
            "SELECT sum(size) FROM layers",
        ])
        .env("PGPASSFILE", "/nonexistent")
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&by_url.stdout).trim(), "42");
    let wrong = std::process::Command::new("psql")
        .args([
            "-X",
            "-At",
            "-w",
            "-d",
            &pg.url_with_password("wrong"),
            "-c",
            "SELECT 1",
        ])
        .env("PGPASSFILE", "/nonexistent")
        .output()
        .unwrap();
    assert!(!wrong.status.success());
    assert!(
        String::from_utf8_lossy(&wrong.stderr).contains("password authentication failed"),
        "{}",
        String::from_utf8_lossy(&wrong.stderr)
    );

    let pid = pg.pid();
    drop(pg);
    // The postmaster is gone (our child, reaped by the drop), and nothing answers the port:
    // pg_isready's exit 2 is "no response".
    assert!(!Path::new(&format!("/proc/{pid}")).exists());
    let after = std::process::Command::new("pg_isready")
        .args(["-q", "-h", "127.0.0.1", "-p", &port.to_string(), "-t", "2"])
        .status()
        .unwrap();
    assert_eq!(after.code(), Some(2));
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
}
