//! Serialising built images into the archive layouts real tools produce.
//! Every layout is first described as a list of members (name + data), then
//! written by one routine, either into a tar file or into a directory.

use super::codec::{digest_hex, sha256_digest, Compression, Encoder};
use super::image::{split_tag, Blob, BuiltImage};
use super::layer::{set_ustar_name, DEFAULT_MTIME};
use serde_json::{json, Value};
use std::borrow::Cow;
use std::collections::{BTreeMap, HashSet};
use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::Path;

/// How an archive is written, independent of its layout.
#[derive(Clone, Debug, Default)]
pub struct ArchiveOptions {
    /// Compression of the whole archive file (`docker save | gzip`).
    pub outer: Compression,
    /// Put manifest.json / index.json / oci-layout / repositories before the
    /// blobs. Default is a sorted directory walk, which is what docker save and
    /// skopeo produce, and puts manifest.json after the layers.
    pub metadata_first: bool,
    /// Digests of blobs to leave out (missing-blob robustness tests).
    pub omit: Vec<String>,
}

/// The `docker save`-compatible layouts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DockerLayout {
    /// Docker < 25: `<id>/layer.tar`, `<id>/json`, `<id>/VERSION`,
    /// `<config hex>.json`, manifest.json, repositories.
    Legacy,
    /// skopeo/podman: layers at `<diff_id hex>.tar`; `<id>/layer.tar` are
    /// symlinks to `../<diff_id hex>.tar`.
    Skopeo,
    /// crane/kaniko tarball: config named `sha256:<hex>`, layers named
    /// `<blob digest hex>.tar.gz` (or `.tar`/`.tar.zst`), no `repositories`.
    Crane,
    /// Docker >= 25: an OCI layout (oci-layout, index.json, blobs/sha256/...)
    /// plus manifest.json whose Config/Layers point into blobs/sha256/.
    Docker25,
}

enum Data<'a> {
    Dir,
    Bytes(Vec<u8>),
    Blob(Cow<'a, Blob>),
    Symlink(String),
}

/// The members of an archive, deduplicated by name (images sharing layers).
struct Members<'a> {
    list: Vec<(String, Data<'a>)>,
    seen: HashSet<String>,
    omit: &'a [String],
}

impl<'a> Members<'a> {
    fn new(opts: &'a ArchiveOptions) -> Self {
        Members {
            list: Vec::new(),
            seen: HashSet::new(),
            omit: &opts.omit,
        }
    }

    fn add(&mut self, name: impl Into<String>, data: Data<'a>) {
        let name = name.into();
        if self.seen.insert(name.clone()) {
            self.list.push((name, data));
        }
    }

    fn json(&mut self, name: &str, value: &Value) {
        self.add(name, Data::Bytes(serde_json::to_vec(value).expect("json")));
    }

    fn blob(&mut self, name: impl Into<String>, blob: Cow<'a, Blob>) {
        if !self.omit.contains(&blob.digest) {
            self.add(name, Data::Blob(blob));
        }
    }

    /// `blobs/`, `blobs/sha256/` and `blobs/sha256/<hex>`.
    fn oci_blob(&mut self, blob: Cow<'a, Blob>) {
        self.add("blobs/", Data::Dir);
        self.add("blobs/sha256/", Data::Dir);
        let name = format!("blobs/sha256/{}", digest_hex(&blob.digest));
        self.blob(name, blob);
    }

    /// Final member order: a sorted walk, optionally with metadata hoisted.
    fn ordered(mut self, metadata_first: bool) -> Vec<(String, Data<'a>)> {
        const METADATA: [&str; 4] = ["oci-layout", "index.json", "manifest.json", "repositories"];
        let rank = |name: &str| match METADATA.iter().position(|m| *m == name) {
            Some(i) if metadata_first => i,
            _ => METADATA.len(),
        };
        self.list
            .sort_by(|(a, _), (b, _)| (rank(a), a).cmp(&(rank(b), b)));
        self.list
    }
}

/// Writes `docker save` output for one or more images (`docker save a b`
/// gives one manifest.json entry per image; shared layers are stored once).
pub fn write_docker_archive(
    images: &[&BuiltImage],
    layout: DockerLayout,
    opts: &ArchiveOptions,
    out: &Path,
) -> io::Result<()> {
    let mut m = Members::new(opts);
    let mut manifest = Vec::new();
    let mut repositories: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    let mut index_manifests = Vec::new();

    for img in images {
        let config = img.config_blob();
        let config_hex = digest_hex(&config.digest).to_string();
        let config_name = match layout {
            DockerLayout::Legacy | DockerLayout::Skopeo => format!("{config_hex}.json"),
            DockerLayout::Crane => format!("sha256:{config_hex}"),
            DockerLayout::Docker25 => format!("blobs/sha256/{config_hex}"),
        };
        if layout == DockerLayout::Docker25 {
            m.oci_blob(Cow::Owned(config));
            let manifest_blob = img.manifest_blob();
            index_manifests.extend(tagged_descriptors(&manifest_blob, &img.tags));
            m.oci_blob(Cow::Owned(manifest_blob));
        } else {
            m.blob(config_name.clone(), Cow::Owned(config));
        }

        let mut layer_names = Vec::new();
        let mut parent: Option<String> = None;
        for blob in &img.layers {
            let blob_hex = digest_hex(&blob.digest).to_string();
            // Docker's v1 layer IDs chain the parent ID with the diff_id.
            let id = digest_hex(&sha256_digest(
                format!("{}\n{}", parent.as_deref().unwrap_or(""), blob.diff_id).as_bytes(),
            ))
            .to_string();
            let name = match layout {
                DockerLayout::Legacy => {
                    m.blob(format!("{id}/layer.tar"), Cow::Borrowed(blob));
                    format!("{id}/layer.tar")
                }
                DockerLayout::Skopeo => {
                    let file = format!("{}.tar", digest_hex(&blob.diff_id));
                    m.blob(file.clone(), Cow::Borrowed(blob));
                    m.add(
                        format!("{id}/layer.tar"),
                        Data::Symlink(format!("../{file}")),
                    );
                    file
                }
                DockerLayout::Crane => {
                    let ext = match blob.media_type.as_str() {
                        t if t.ends_with("gzip") => ".tar.gz",
                        t if t.ends_with("zstd") => ".tar.zst",
                        _ => ".tar",
                    };
                    let file = format!("{blob_hex}{ext}");
                    m.blob(file.clone(), Cow::Borrowed(blob));
                    file
                }
                DockerLayout::Docker25 => {
                    m.oci_blob(Cow::Borrowed(blob));
                    format!("blobs/sha256/{blob_hex}")
                }
            };
            if matches!(layout, DockerLayout::Legacy | DockerLayout::Skopeo) {
                m.add(format!("{id}/"), Data::Dir);
                m.add(format!("{id}/VERSION"), Data::Bytes(b"1.0".to_vec()));
                let mut v1 = json!({
                    "id": id,
                    "created": img.created,
                    "container_config": {"Cmd": null},
                    "os": img.platform.os,
                });
                if let Some(p) = &parent {
                    v1["parent"] = json!(p);
                }
                m.json(&format!("{id}/json"), &v1);
            }
            layer_names.push(name);
            parent = Some(id);
        }

        for tag in &img.tags {
            let (repo, t) = split_tag(tag);
            let top = parent.clone().unwrap_or_default();
            repositories
                .entry(repo.into())
                .or_default()
                .insert(t.into(), top);
        }
        manifest.push(json!({
            "Config": config_name,
            "RepoTags": if img.tags.is_empty() { Value::Null } else { json!(img.tags) },
            "Layers": layer_names,
        }));
    }

    m.json("manifest.json", &json!(manifest));
    if layout != DockerLayout::Crane && !repositories.is_empty() {
        m.json("repositories", &json!(repositories));
    }
    if layout == DockerLayout::Docker25 {
        add_oci_metadata(&mut m, &index_of(index_manifests));
    }
    write_tar(m.ordered(opts.metadata_first), opts.outer, out)
}

/// An OCI layout's content: the top-level index.json plus every blob.
pub struct OciLayout<'a> {
    pub index: Value,
    pub blobs: Vec<Cow<'a, Blob>>,
}

/// `{"schemaVersion": 2, "mediaType": index, "manifests": [...]}`.
pub fn index_of(manifests: Vec<Value>) -> Value {
    json!({
        "schemaVersion": 2,
        "mediaType": super::image::OCI_INDEX,
        "manifests": manifests,
    })
}

/// One descriptor of `blob` per tag, annotated the way containerd and
/// skopeo name images (`ref.name` = tag, `io.containerd.image.name` = full).
pub fn tagged_descriptors(blob: &Blob, tags: &[String]) -> Vec<Value> {
    if tags.is_empty() {
        return vec![blob.descriptor()];
    }
    tags.iter()
        .map(|tag| {
            let mut d = blob.descriptor();
            d["annotations"]["org.opencontainers.image.ref.name"] = json!(split_tag(tag).1);
            d["annotations"]["io.containerd.image.name"] = json!(tag);
            d
        })
        .collect()
}

/// A single-image OCI layout.
pub fn oci_single(img: &BuiltImage) -> OciLayout<'_> {
    let manifest = img.manifest_blob();
    let index = index_of(tagged_descriptors(&manifest, &img.tags));
    let mut blobs = vec![Cow::Owned(manifest), Cow::Owned(img.config_blob())];
    blobs.extend(img.layers.iter().map(Cow::Borrowed));
    OciLayout { index, blobs }
}

fn add_oci_metadata(m: &mut Members<'_>, index: &Value) {
    m.json("oci-layout", &json!({"imageLayoutVersion": "1.0.0"}));
    m.json("index.json", index);
}

fn oci_members<'a>(layout: &'a OciLayout<'a>, opts: &'a ArchiveOptions) -> Vec<(String, Data<'a>)> {
    let mut m = Members::new(opts);
    for blob in &layout.blobs {
        m.oci_blob(Cow::Borrowed(blob.as_ref()));
    }
    add_oci_metadata(&mut m, &layout.index);
    m.ordered(opts.metadata_first)
}

pub fn write_oci_archive(
    layout: &OciLayout<'_>,
    opts: &ArchiveOptions,
    out: &Path,
) -> io::Result<()> {
    write_tar(oci_members(layout, opts), opts.outer, out)
}

/// Writes the layout as a directory (`opts.outer` does not apply).
pub fn write_oci_layout(
    layout: &OciLayout<'_>,
    opts: &ArchiveOptions,
    dir: &Path,
) -> io::Result<()> {
    for (name, data) in oci_members(layout, opts) {
        let path = dir.join(&name);
        match data {
            Data::Dir => std::fs::create_dir_all(&path)?,
            Data::Bytes(b) => std::fs::write(&path, b)?,
            Data::Blob(blob) => {
                std::fs::create_dir_all(path.parent().expect("has parent"))?;
                io::copy(&mut blob.open()?, &mut BufWriter::new(File::create(&path)?))?;
            }
            Data::Symlink(target) => std::os::unix::fs::symlink(target, &path)?,
        }
    }
    Ok(())
}

fn write_tar(members: Vec<(String, Data<'_>)>, outer: Compression, out: &Path) -> io::Result<()> {
    let file = BufWriter::with_capacity(1 << 20, File::create(out)?);
    let mut tar = tar::Builder::new(Encoder::new(file, outer)?);
    for (name, data) in members {
        // Names are written verbatim (dirs keep their trailing '/', as Go's
        // archive/tar writes them); every layout's names fit USTAR.
        let mut h = tar::Header::new_ustar();
        assert!(
            set_ustar_name(&mut h, name.as_bytes()),
            "member name too long: {name}"
        );
        h.set_mtime(DEFAULT_MTIME);
        h.set_mode(0o644);
        h.set_size(0);
        let reader: Box<dyn Read + '_> = match &data {
            Data::Dir => {
                h.set_entry_type(tar::EntryType::Directory);
                h.set_mode(0o755);
                Box::new(io::empty())
            }
            Data::Bytes(b) => {
                h.set_size(b.len() as u64);
                Box::new(b.as_slice())
            }
            Data::Blob(blob) => {
                let len = blob.data_len()?;
                h.set_size(len);
                // `take` guards against a file growing while it is copied.
                Box::new(blob.open()?.take(len))
            }
            Data::Symlink(target) => {
                h.set_entry_type(tar::EntryType::Symlink);
                h.set_mode(0o777);
                h.set_link_name_literal(target)?;
                Box::new(io::empty())
            }
        };
        h.set_cksum();
        tar.append(&h, reader)?;
    }
    let mut file = tar.into_inner()?.finish()?;
    file.flush()
}
