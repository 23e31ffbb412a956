//! The kit's raw level: tar headers, layer blobs and archive members written byte by byte,
//! for images that lie. `tar::Builder`'s path setters refuse exactly the names robustness
//! tests need (`..`, absolute paths, NUL bytes, sizes that lie), and a test that breaks a
//! manifest needs the members as a list it can edit ([`replace`]). Well-formed images are
//! built with [`super::LayerSpec`] and [`super::ImageSpec`].

use super::codec::sha256_digest;
use serde_json::{json, Value};
use std::io::Write;

// paths, NUL bytes, sizes that lie.

#[derive(Clone)]
pub struct E {
    pub name: Vec<u8>,
    pub typeflag: u8,
    pub mode: u32,
    pub data: Vec<u8>,
    pub link: Vec<u8>,
    /// Header size when it should differ from the data written.
    pub size: Option<u64>,
    /// Put the path in a PAX record even when it fits the header.
    pub pax_path: bool,
    pub device: Option<(u32, u32)>,
}

impl E {
    pub fn new(name: impl AsRef<[u8]>, typeflag: u8) -> E {
        E {
            name: name.as_ref().to_vec(),
            typeflag,
            mode: 0o644,
            data: Vec::new(),
            link: Vec::new(),
            size: None,
            pax_path: false,
            device: None,
        }
    }
    pub fn file(name: impl AsRef<[u8]>, data: impl AsRef<[u8]>) -> E {
        E {
            data: data.as_ref().to_vec(),
            ..E::new(name, b'0')
        }
    }
    pub fn dir(name: impl AsRef<[u8]>) -> E {
        E {
            mode: 0o755,
            ..E::new(name, b'5')
        }
    }
    pub fn symlink(name: impl AsRef<[u8]>, target: impl AsRef<[u8]>) -> E {
        E {
            link: target.as_ref().to_vec(),
            mode: 0o777,
            ..E::new(name, b'2')
        }
    }
    pub fn hardlink(name: impl AsRef<[u8]>, target: impl AsRef<[u8]>) -> E {
        E {
            link: target.as_ref().to_vec(),
            ..E::new(name, b'1')
        }
    }
}

/// One PAX record: `<len> <key>=<value>\n`, where len counts itself.
pub fn pax_record(key: &str, value: &[u8]) -> Vec<u8> {
    let base = key.len() + value.len() + 3;
    let mut len = base + 1;
    while base + len.to_string().len() != len {
        len += 1;
    }
    let mut out = format!("{len} {key}=").into_bytes();
    out.extend_from_slice(value);
    out.push(b'\n');
    out
}

pub fn pad(out: &mut Vec<u8>) {
    out.resize(out.len().div_ceil(512) * 512, 0);
}

pub fn push_header(out: &mut Vec<u8>, header: &mut tar::Header) {
    header.set_cksum();
    out.extend_from_slice(header.as_bytes());
}

pub fn push_entry(out: &mut Vec<u8>, entry: &E) {
    let mut pax = Vec::new();
    if entry.pax_path || entry.name.len() > 100 {
        pax.extend(pax_record("path", &entry.name));
    }
    if entry.link.len() > 100 {
        pax.extend(pax_record("linkpath", &entry.link));
    }
    if !pax.is_empty() {
        let mut header = tar::Header::new_ustar();
        header.as_old_mut().name[..10].copy_from_slice(b"PaxHeaders");
        header.set_entry_type(tar::EntryType::XHeader);
        header.set_size(pax.len() as u64);
        header.set_mode(0o644);
        push_header(out, &mut header);
        out.extend_from_slice(&pax);
        pad(out);
    }
    let mut header = tar::Header::new_ustar();
    let old = header.as_old_mut();
    let n = entry.name.len().min(100);
    old.name[..n].copy_from_slice(&entry.name[..n]);
    let n = entry.link.len().min(100);
    old.linkname[..n].copy_from_slice(&entry.link[..n]);
    header.set_entry_type(tar::EntryType::new(entry.typeflag));
    header.set_mode(entry.mode);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(0);
    header.set_size(entry.size.unwrap_or(entry.data.len() as u64));
    if let Some((major, minor)) = entry.device {
        header.set_device_major(major).unwrap();
        header.set_device_minor(minor).unwrap();
    }
    push_header(out, &mut header);
    out.extend_from_slice(&entry.data);
    pad(out);
}

/// A layer tar, with its end-of-archive marker.
pub fn tar_of(entries: &[E]) -> Vec<u8> {
    let mut out = Vec::new();
    for entry in entries {
        push_entry(&mut out, entry);
    }
    out.extend_from_slice(&[0u8; 1024]);
    out
}

/// GNU base-256 encoding, for numbers too large for octal fields.
pub fn base256(field: &mut [u8], value: u64) {
    field.fill(0);
    field[0] = 0x80;
    let bytes = value.to_be_bytes();
    let n = field.len();
    field[n - 8..].copy_from_slice(&bytes);
}

pub fn octal(field: &mut [u8], value: u64) {
    let text = format!("{value:0width$o}\0", width = field.len() - 1);
    field.copy_from_slice(text.as_bytes());
}

/// A GNU sparse entry: `data` stored at `offset` of a file of `real_size` bytes.
pub fn push_sparse(out: &mut Vec<u8>, name: &str, offset: u64, data: &[u8], real_size: u64) {
    let mut header = tar::Header::new_gnu();
    let gnu = header.as_gnu_mut().unwrap();
    gnu.name[..name.len()].copy_from_slice(name.as_bytes());
    base256(&mut gnu.sparse[0].offset, offset);
    octal(&mut gnu.sparse[0].numbytes, data.len() as u64);
    // GNU tar ends the map with an empty chunk at the real size.
    base256(&mut gnu.sparse[1].offset, real_size);
    octal(&mut gnu.sparse[1].numbytes, 0);
    base256(&mut gnu.realsize, real_size);
    header.set_entry_type(tar::EntryType::GNUSparse);
    header.set_mode(0o644);
    header.set_size(data.len() as u64);
    header.set_mtime(0);
    header.set_uid(0);
    header.set_gid(0);
    push_header(out, &mut header);
    out.extend_from_slice(data);
    pad(out);
}

pub fn sha(bytes: &[u8]) -> String {
    sha256_digest(bytes)
}

pub fn hex_of(bytes: &[u8]) -> String {
    sha256_digest(bytes)["sha256:".len()..].to_string()
}

pub struct Layer {
    pub blob: Vec<u8>,
    pub tar: Vec<u8>,
    pub media: &'static str,
}

pub fn plain(tar: Vec<u8>) -> Layer {
    Layer {
        blob: tar.clone(),
        tar,
        media: "application/vnd.oci.image.layer.v1.tar",
    }
}

pub fn gzip_level(tar: Vec<u8>, level: u32) -> Layer {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(level));
    encoder.write_all(&tar).unwrap();
    Layer {
        blob: encoder.finish().unwrap(),
        tar,
        media: "application/vnd.oci.image.layer.v1.tar+gzip",
    }
}

pub fn gzip(tar: Vec<u8>) -> Layer {
    gzip_level(tar, 6)
}

pub fn zstd(tar: Vec<u8>, checksum: bool) -> Layer {
    let mut encoder = zstd::stream::Encoder::new(Vec::new(), 3).unwrap();
    encoder.include_checksum(checksum).unwrap();
    encoder.write_all(&tar).unwrap();
    Layer {
        blob: encoder.finish().unwrap(),
        tar,
        media: "application/vnd.oci.image.layer.v1.tar+zstd",
    }
}

/// A config whose diff_ids match the layers, with one history entry per layer.
pub fn config_for(layers: &[Layer]) -> Value {
    json!({
        "architecture": "amd64",
        "os": "linux",
        "config": {"Labels": {"org.example": "robust"}},
        "rootfs": {"type": "layers", "diff_ids": layers.iter().map(|l| sha(&l.tar)).collect::<Vec<_>>()},
        "history": (0..layers.len()).map(|i| json!({"created_by": format!("RUN step {i}")})).collect::<Vec<_>>(),
    })
}

pub type Members = Vec<(String, Vec<u8>)>;

/// A classic `docker save` archive: `<hex>.json`, `<i>/layer.tar`, then `manifest.json`.
pub fn docker_members(layers: &[Layer], config: &Value) -> Members {
    let config_bytes = serde_json::to_vec(config).unwrap();
    let config_name = format!("{}.json", hex_of(&config_bytes));
    let mut members = vec![(config_name.clone(), config_bytes)];
    let mut names = Vec::new();
    for (i, layer) in layers.iter().enumerate() {
        let name = format!("{i}/layer.tar");
        members.push((name.clone(), layer.blob.clone()));
        names.push(name);
    }
    let manifest = json!([{"Config": config_name, "RepoTags": ["robust:test"], "Layers": names}]);
    members.push((
        "manifest.json".into(),
        serde_json::to_vec(&manifest).unwrap(),
    ));
    members
}

/// An OCI layout: `oci-layout`, blobs, `index.json`. `edit` may change the manifest.
pub fn oci_members(layers: &[Layer], config: &Value, edit: impl FnOnce(&mut Value)) -> Members {
    let config_bytes = serde_json::to_vec(config).unwrap();
    let mut members: Members = vec![(
        "oci-layout".into(),
        br#"{"imageLayoutVersion":"1.0.0"}"#.to_vec(),
    )];
    members.push((
        format!("blobs/sha256/{}", hex_of(&config_bytes)),
        config_bytes.clone(),
    ));
    let mut descriptors = Vec::new();
    for layer in layers {
        members.push((
            format!("blobs/sha256/{}", hex_of(&layer.blob)),
            layer.blob.clone(),
        ));
        descriptors.push(
            json!({"mediaType": layer.media, "digest": sha(&layer.blob), "size": layer.blob.len()}),
        );
    }
    let mut manifest = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha(&config_bytes), "size": config_bytes.len()},
        "layers": descriptors,
    });
    edit(&mut manifest);
    let manifest_bytes = serde_json::to_vec(&manifest).unwrap();
    members.push((
        format!("blobs/sha256/{}", hex_of(&manifest_bytes)),
        manifest_bytes.clone(),
    ));
    let index = json!({
        "schemaVersion": 2,
        "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": sha(&manifest_bytes), "size": manifest_bytes.len()}],
    });
    members.push(("index.json".into(), serde_json::to_vec(&index).unwrap()));
    members
}

pub fn archive(members: &Members) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (name, bytes) in members {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        builder
            .append_data(&mut header, name, bytes.as_slice())
            .unwrap();
    }
    builder.into_inner().unwrap()
}

pub fn replace(members: &mut Members, name: &str, bytes: Vec<u8>) {
    let member = members.iter_mut().find(|(n, _)| n == name).unwrap();
    member.1 = bytes;
}

pub fn docker_image(layers: &[Layer]) -> Vec<u8> {
    archive(&docker_members(layers, &config_for(layers)))
}

pub fn oci_image(layers: &[Layer]) -> Vec<u8> {
    archive(&oci_members(layers, &config_for(layers), |_| {}))
}

/// A one-layer image holding `entries`.
pub fn image_of(entries: &[E]) -> Vec<u8> {
    docker_image(&[plain(tar_of(entries))])
}
