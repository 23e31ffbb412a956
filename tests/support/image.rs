//! Image-level pieces: what an image is made of (`ImageSpec`), and the built
//! result (`BuiltImage`: config JSON + layer blobs) that the archive writers
//! serialise. Tests break images by editing a `BuiltImage` before writing it.

use super::archive::{self, ArchiveOptions, DockerLayout};
use super::codec::{sha256_digest, Compression};
use super::layer::LayerSpec;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
pub const IN_TOTO: &str = "application/vnd.in-toto+json";

/// Which family of media types manifests and descriptors use.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MediaTypes {
    #[default]
    Oci,
    /// Docker schema 2 (what many registries still serve; crane/skopeo keep it).
    Docker,
}

impl MediaTypes {
    pub fn manifest(self) -> &'static str {
        match self {
            MediaTypes::Oci => OCI_MANIFEST,
            MediaTypes::Docker => DOCKER_MANIFEST,
        }
    }

    pub fn index(self) -> &'static str {
        match self {
            MediaTypes::Oci => OCI_INDEX,
            MediaTypes::Docker => DOCKER_MANIFEST_LIST,
        }
    }

    pub fn config(self) -> &'static str {
        match self {
            MediaTypes::Oci => OCI_CONFIG,
            MediaTypes::Docker => DOCKER_CONFIG,
        }
    }

    pub fn layer(self, compression: Compression) -> &'static str {
        match (self, compression) {
            (MediaTypes::Oci, Compression::None) => "application/vnd.oci.image.layer.v1.tar",
            (MediaTypes::Oci, Compression::Gzip) => "application/vnd.oci.image.layer.v1.tar+gzip",
            (MediaTypes::Oci, Compression::Zstd) => "application/vnd.oci.image.layer.v1.tar+zstd",
            (MediaTypes::Docker, Compression::None) => {
                "application/vnd.docker.image.rootfs.diff.tar"
            }
            (MediaTypes::Docker, Compression::Gzip) => {
                "application/vnd.docker.image.rootfs.diff.tar.gzip"
            }
            (MediaTypes::Docker, Compression::Zstd) => {
                "application/vnd.docker.image.rootfs.diff.tar.zstd"
            }
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Platform {
    pub os: String,
    pub architecture: String,
    pub variant: Option<String>,
}

impl Platform {
    pub fn new(os: &str, architecture: &str) -> Self {
        Platform {
            os: os.into(),
            architecture: architecture.into(),
            variant: None,
        }
    }

    pub fn variant(mut self, variant: &str) -> Self {
        self.variant = Some(variant.into());
        self
    }

    /// The `platform` object of an index descriptor.
    pub fn to_json(&self) -> Value {
        let mut p = json!({"architecture": self.architecture, "os": self.os});
        if let Some(v) = &self.variant {
            p["variant"] = json!(v);
        }
        p
    }
}

impl Default for Platform {
    fn default() -> Self {
        Platform::new("linux", "amd64")
    }
}

/// One config `history` item. Non-empty entries pair up with layers in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistoryEntry {
    pub created_by: String,
    pub empty_layer: bool,
    pub comment: Option<String>,
    pub created: Option<String>,
}

impl HistoryEntry {
    /// A step that produced a layer.
    pub fn layer(created_by: &str) -> Self {
        HistoryEntry {
            created_by: created_by.into(),
            empty_layer: false,
            comment: None,
            created: None,
        }
    }

    /// A metadata-only step (ENV, CMD, ...): `empty_layer: true`.
    pub fn empty(created_by: &str) -> Self {
        HistoryEntry {
            empty_layer: true,
            ..HistoryEntry::layer(created_by)
        }
    }

    pub fn comment(mut self, comment: &str) -> Self {
        self.comment = Some(comment.into());
        self
    }

    fn to_json(&self, default_created: &str) -> Value {
        let mut h = json!({
            "created": self.created.as_deref().unwrap_or(default_created),
            "created_by": self.created_by,
        });
        if self.empty_layer {
            h["empty_layer"] = json!(true);
        }
        if let Some(c) = &self.comment {
            h["comment"] = json!(c);
        }
        h
    }
}

/// Where a blob's bytes are.
#[derive(Clone, Debug)]
pub enum BlobData {
    Memory(Vec<u8>),
    /// A file on disk, streamed when the archive is written (generator).
    File(PathBuf),
}

/// A content-addressed blob. `digest`/`size` are what manifests *claim*;
/// writers store the blob under its claimed digest and copy `data` as is, so
/// changing `data` or `digest` independently produces a mismatch on purpose.
#[derive(Clone, Debug)]
pub struct Blob {
    pub media_type: String,
    pub digest: String,
    pub size: u64,
    /// For layers: sha256 of the uncompressed tar. For other blobs: the digest.
    pub diff_id: String,
    pub annotations: BTreeMap<String, String>,
    pub data: BlobData,
}

impl Blob {
    pub fn from_bytes(media_type: &str, bytes: Vec<u8>) -> Self {
        let digest = sha256_digest(&bytes);
        Blob {
            media_type: media_type.into(),
            diff_id: digest.clone(),
            digest,
            size: bytes.len() as u64,
            annotations: BTreeMap::new(),
            data: BlobData::Memory(bytes),
        }
    }

    /// The actual byte length of `data` (may differ from the claimed `size`).
    pub fn data_len(&self) -> io::Result<u64> {
        match &self.data {
            BlobData::Memory(b) => Ok(b.len() as u64),
            BlobData::File(p) => Ok(std::fs::metadata(p)?.len()),
        }
    }

    pub fn open(&self) -> io::Result<Box<dyn Read + '_>> {
        match &self.data {
            BlobData::Memory(b) => Ok(Box::new(b.as_slice())),
            BlobData::File(p) => Ok(Box::new(std::fs::File::open(p)?)),
        }
    }

    /// The OCI descriptor referencing this blob.
    pub fn descriptor(&self) -> Value {
        let mut d = json!({"mediaType": self.media_type, "digest": self.digest, "size": self.size});
        if !self.annotations.is_empty() {
            d["annotations"] = json!(self.annotations);
        }
        d
    }
}

/// Everything an image consists of. Build with the chaining methods, then
/// `write_*` (or `build()`, edit the result, and write that).
#[derive(Clone)]
pub struct ImageSpec {
    pub layers: Vec<LayerSpec>,
    /// Empty means one generated entry per layer. Written as given otherwise,
    /// even if it does not match the layers (robustness tests).
    pub history: Vec<HistoryEntry>,
    /// `repo:tag` names (docker `RepoTags`, OCI `ref.name` annotations).
    pub tags: Vec<String>,
    pub platform: Platform,
    /// Compression of each layer blob.
    pub compression: Compression,
    pub media_types: MediaTypes,
    /// The config's `config` object (Env, Cmd, Entrypoint, Labels, ...).
    pub container_config: Value,
    pub created: String,
    pub archive: ArchiveOptions,
}

impl Default for ImageSpec {
    fn default() -> Self {
        ImageSpec {
            layers: Vec::new(),
            history: Vec::new(),
            tags: vec!["layerscope-test:latest".into()],
            platform: Platform::default(),
            compression: Compression::None,
            media_types: MediaTypes::Oci,
            container_config: json!({
                "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
                "Cmd": ["/bin/sh"],
            }),
            created: "2024-01-01T00:00:00Z".into(),
            archive: ArchiveOptions::default(),
        }
    }
}

impl ImageSpec {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn layer(mut self, layer: LayerSpec) -> Self {
        self.layers.push(layer);
        self
    }

    pub fn history(mut self, entry: HistoryEntry) -> Self {
        self.history.push(entry);
        self
    }

    /// Sets the only tag (replacing the default `layerscope-test:latest`).
    pub fn tag(mut self, tag: &str) -> Self {
        self.tags = vec![tag.into()];
        self
    }

    /// Adds another tag.
    pub fn also_tag(mut self, tag: &str) -> Self {
        self.tags.push(tag.into());
        self
    }

    /// No RepoTags / ref.name at all (`docker save <image id>`).
    pub fn untagged(mut self) -> Self {
        self.tags.clear();
        self
    }

    pub fn platform(mut self, platform: Platform) -> Self {
        self.platform = platform;
        self
    }

    pub fn compression(mut self, compression: Compression) -> Self {
        self.compression = compression;
        self
    }

    /// Compresses the whole archive file (`docker save | gzip`).
    pub fn outer_compression(mut self, compression: Compression) -> Self {
        self.archive.outer = compression;
        self
    }

    pub fn media_types(mut self, media_types: MediaTypes) -> Self {
        self.media_types = media_types;
        self
    }

    /// Writes every layer in memory and assembles the image.
    pub fn build(&self) -> BuiltImage {
        let blobs = self
            .layers
            .iter()
            .map(|layer| {
                let (bytes, d) = layer
                    .write(Vec::new(), self.compression)
                    .expect("writing to memory cannot fail");
                Blob {
                    media_type: self.media_types.layer(self.compression).into(),
                    digest: d.digest,
                    size: d.size,
                    diff_id: d.diff_id,
                    annotations: BTreeMap::new(),
                    data: BlobData::Memory(bytes),
                }
            })
            .collect();
        self.assemble(blobs)
    }

    /// Assembles an image from already-written layer blobs (`self.layers` is
    /// ignored): how the generator builds images whose layers live on disk.
    pub fn assemble(&self, layers: Vec<Blob>) -> BuiltImage {
        let history: Vec<HistoryEntry> = if self.history.is_empty() {
            (0..layers.len())
                .map(|i| HistoryEntry::layer(&format!("/bin/sh -c #(nop) ADD layer {i} in /")))
                .collect()
        } else {
            self.history.clone()
        };
        let mut config = json!({
            "architecture": self.platform.architecture,
            "os": self.platform.os,
            "created": self.created,
            "config": self.container_config,
            "rootfs": {
                "type": "layers",
                "diff_ids": layers.iter().map(|b| b.diff_id.as_str()).collect::<Vec<_>>(),
            },
            "history": history.iter().map(|h| h.to_json(&self.created)).collect::<Vec<_>>(),
        });
        if let Some(v) = &self.platform.variant {
            config["variant"] = json!(v);
        }
        BuiltImage {
            config,
            layers,
            tags: self.tags.clone(),
            platform: self.platform.clone(),
            media_types: self.media_types,
            created: self.created.clone(),
            index_annotations: BTreeMap::new(),
            archive: self.archive.clone(),
        }
    }

    pub fn write_docker_archive(&self, out: &Path) -> io::Result<()> {
        self.build().write_docker_archive(out)
    }

    pub fn write_docker_archive_skopeo(&self, out: &Path) -> io::Result<()> {
        self.build()
            .write_docker_archive_as(DockerLayout::Skopeo, out)
    }

    pub fn write_docker_archive_crane(&self, out: &Path) -> io::Result<()> {
        self.build()
            .write_docker_archive_as(DockerLayout::Crane, out)
    }

    pub fn write_docker25_archive(&self, out: &Path) -> io::Result<()> {
        self.build()
            .write_docker_archive_as(DockerLayout::Docker25, out)
    }

    pub fn write_oci_archive(&self, out: &Path) -> io::Result<()> {
        self.build().write_oci_archive(out)
    }

    pub fn write_oci_layout(&self, dir: &Path) -> io::Result<()> {
        self.build().write_oci_layout(dir)
    }
}

/// A built image: config JSON plus layer blobs. The manifest is derived from
/// these when written, so edits here (a wrong diff_id, a swapped blob) are
/// reflected consistently everywhere except where the edit is the point.
#[derive(Clone, Debug)]
pub struct BuiltImage {
    pub config: Value,
    pub layers: Vec<Blob>,
    pub tags: Vec<String>,
    pub platform: Platform,
    pub media_types: MediaTypes,
    pub created: String,
    /// Annotations on the index descriptor that points at this manifest.
    pub index_annotations: BTreeMap<String, String>,
    pub archive: ArchiveOptions,
}

impl BuiltImage {
    pub fn config_blob(&self) -> Blob {
        let bytes = serde_json::to_vec(&self.config).expect("config serialises");
        Blob::from_bytes(self.media_types.config(), bytes)
    }

    pub fn manifest(&self) -> Value {
        json!({
            "schemaVersion": 2,
            "mediaType": self.media_types.manifest(),
            "config": self.config_blob().descriptor(),
            "layers": self.layers.iter().map(Blob::descriptor).collect::<Vec<_>>(),
        })
    }

    pub fn manifest_blob(&self) -> Blob {
        let bytes = serde_json::to_vec(&self.manifest()).expect("manifest serialises");
        let mut blob = Blob::from_bytes(self.media_types.manifest(), bytes);
        blob.annotations = self.index_annotations.clone();
        blob
    }

    /// The descriptor an index uses for this manifest (with platform).
    pub fn index_descriptor(&self) -> Value {
        let mut d = self.manifest_blob().descriptor();
        d["platform"] = self.platform.to_json();
        d
    }

    // ---- knobs for robustness tests -------------------------------------

    /// Makes config `rootfs.diff_ids[layer]` claim a digest no blob has.
    pub fn break_diff_id(&mut self, layer: usize) -> &mut Self {
        self.config["rootfs"]["diff_ids"][layer] = json!(sha256_digest(b"not the layer"));
        self
    }

    /// Leaves the layer's blob out of the archive (manifest still lists it).
    pub fn drop_layer_blob(&mut self, layer: usize) -> &mut Self {
        let digest = self.layers[layer].digest.clone();
        self.archive.omit.push(digest);
        self
    }

    /// Leaves the config blob out of the archive.
    pub fn drop_config_blob(&mut self) -> &mut Self {
        let digest = self.config_blob().digest;
        self.archive.omit.push(digest);
        self
    }

    /// Replaces the layer's bytes while keeping the digest the manifest claims.
    pub fn corrupt_layer_blob(&mut self, layer: usize, bytes: Vec<u8>) -> &mut Self {
        self.layers[layer].data = BlobData::Memory(bytes);
        self
    }

    // ---- writing ---------------------------------------------------------

    /// Legacy `docker save` layout.
    pub fn write_docker_archive(&self, out: &Path) -> io::Result<()> {
        self.write_docker_archive_as(DockerLayout::Legacy, out)
    }

    pub fn write_docker_archive_as(&self, layout: DockerLayout, out: &Path) -> io::Result<()> {
        archive::write_docker_archive(&[self], layout, &self.archive, out)
    }

    pub fn write_oci_archive(&self, out: &Path) -> io::Result<()> {
        archive::write_oci_archive(&archive::oci_single(self), &self.archive, out)
    }

    pub fn write_oci_layout(&self, dir: &Path) -> io::Result<()> {
        archive::write_oci_layout(&archive::oci_single(self), &self.archive, dir)
    }

    /// A buildkit-style attestation manifest for this image: platform
    /// unknown/unknown, an in-toto layer, and index annotations pointing back
    /// at this image's manifest.
    pub fn attestation(&self) -> BuiltImage {
        let statement = json!({
            "_type": "https://in-toto.io/Statement/v0.1",
            "predicateType": "https://spdx.dev/Document",
            "subject": [{"name": "image", "digest": {"sha256": super::codec::digest_hex(&self.manifest_blob().digest)}}],
            "predicate": {"spdxVersion": "SPDX-2.3"},
        });
        let mut layer = Blob::from_bytes(IN_TOTO, serde_json::to_vec(&statement).expect("json"));
        layer.annotations.insert(
            "in-toto.io/predicate-type".into(),
            "https://spdx.dev/Document".into(),
        );
        let config = json!({
            "architecture": "unknown",
            "os": "unknown",
            "config": {},
            "rootfs": {"type": "layers", "diff_ids": [layer.digest]},
        });
        let mut index_annotations = BTreeMap::new();
        index_annotations.insert(
            "vnd.docker.reference.digest".into(),
            self.manifest_blob().digest,
        );
        index_annotations.insert(
            "vnd.docker.reference.type".into(),
            "attestation-manifest".into(),
        );
        BuiltImage {
            config,
            layers: vec![layer],
            tags: Vec::new(),
            platform: Platform::new("unknown", "unknown"),
            media_types: MediaTypes::Oci,
            created: self.created.clone(),
            index_annotations,
            archive: self.archive.clone(),
        }
    }
}

/// Splits `repo:tag` (the tag is after the last ':' that follows the last '/').
pub fn split_tag(name: &str) -> (&str, &str) {
    match name.rsplit_once(':') {
        Some((repo, tag)) if !tag.contains('/') => (repo, tag),
        _ => (name, "latest"),
    }
}

/// `docker save a b`: one archive, one manifest.json entry per image, shared
/// layers stored once. Archive options come from the first image.
pub fn write_docker_archive_multi(
    images: &[ImageSpec],
    layout: DockerLayout,
    out: &Path,
) -> io::Result<()> {
    let built: Vec<BuiltImage> = images.iter().map(ImageSpec::build).collect();
    let refs: Vec<&BuiltImage> = built.iter().collect();
    let opts = images
        .first()
        .map(|i| i.archive.clone())
        .unwrap_or_default();
    archive::write_docker_archive(&refs, layout, &opts, out)
}
