//! Image formats: docker-archive (every `docker save` variant), OCI image layout and
//! oci-archive. From a [`Source`] they produce an [`Image`]: metadata plus an ordered list of
//! [`LayerRef`]s saying where each layer blob lives, and the history paired to the layers.

mod config;
mod docker;
pub mod history;
mod oci;
mod platform;
pub mod registry;

pub use config::{ImageConfig, RuntimeConfig};
pub use platform::Platform;

use crate::error::{Error, Result};
use crate::limits::{Limited, MAX_LAYERS};
use crate::source::Source;
use history::HistoryPairing;
use sha2::{Digest, Sha256};

/// What kind of archive or directory the image came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    /// `docker save` from the classic store: `<id>/layer.tar`, `manifest.json`, `repositories`.
    DockerArchive,
    /// skopeo's docker-archive: root-level `<diff_id>.tar` layers.
    DockerArchiveSkopeo,
    /// `docker save` from Docker 25+: an OCI layout inside, plus `manifest.json`.
    DockerArchiveOciLayout,
    /// An OCI image layout in a tar.
    OciArchive,
    /// An OCI image layout directory.
    OciLayout,
    /// Pulled from a registry (OCI distribution API).
    Registry,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::DockerArchive => "docker-archive",
            Format::DockerArchiveSkopeo => "docker-archive (skopeo)",
            Format::DockerArchiveOciLayout => "docker-archive (Docker 25+ OCI layout)",
            Format::OciArchive => "oci-archive",
            Format::OciLayout => "oci-layout",
            Format::Registry => "registry",
        }
    }
}

/// Where one layer's blob is, and what the image says about it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LayerRef {
    pub index: usize,
    /// Member or file name of the blob inside the source.
    pub member: Option<String>,
    pub media_type: Option<String>,
    /// `sha256:<hex>` of the stored blob, when the image names it.
    pub digest: Option<String>,
    /// `sha256:<hex>` of the uncompressed tar, from the config.
    pub diff_id: Option<String>,
    /// Stored size, from the descriptor or the archive.
    pub size: Option<u64>,
    /// Why the blob cannot be read (a foreign layer that is not shipped), if so.
    pub unavailable: Option<String>,
    /// Set on a container's writable layer, which no image describes: it has no blob, no
    /// digest and no diff_id, and is always the top layer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub writable: Option<Writable>,
}

/// The container whose writable layer a layer is.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Writable {
    /// `docker` or `podman`.
    pub engine: &'static str,
    /// The name the user gave.
    pub container: String,
    /// The engine's full container ID.
    pub id: String,
}

impl LayerRef {
    /// One line naming a container's writable layer (for layer lists and headings), or
    /// `None` for an image's layer.
    pub fn writable_label(&self) -> Option<String> {
        self.writable.as_ref().map(|w| {
            format!(
                "writable layer of {} ({}; not part of the image)",
                crate::escape::escape_str(&w.container),
                w.engine
            )
        })
    }
}

/// An opened image: everything but the layer contents.
#[derive(Debug, Clone)]
pub struct Image {
    pub source: String,
    pub format: Format,
    /// Tags or reference names of the chosen image.
    pub tags: Vec<String>,
    /// Other images in the same archive, as `--image` accepts them.
    pub other_images: Vec<String>,
    pub platform: Option<Platform>,
    /// Every platform the archive describes (for multi-platform images).
    pub platforms: Vec<Platform>,
    pub config: ImageConfig,
    /// `sha256:<hex>` of the config blob.
    pub config_digest: Option<String>,
    pub layers: Vec<LayerRef>,
    pub history: HistoryPairing,
    pub warnings: Vec<String>,
}

/// How to choose among what an archive holds.
#[derive(Debug, Default, Clone)]
pub struct OpenOptions {
    /// `os/arch[/variant]`.
    pub platform: Option<String>,
    /// A tag, reference name or 0-based index.
    pub image: Option<String>,
    /// Check the config's digest against its name.
    pub verify: bool,
}

/// Read the image description from `source`, detecting the format.
pub fn open(source: &Source, options: &OpenOptions) -> Result<Image> {
    let mut image = if source.exists("manifest.json") {
        // Preferred even when an OCI layout is present: Docker 25.0 wrote broken indexes.
        docker::open(source, options)?
    } else if source.exists("index.json") {
        oci::open(source, options)?
    } else {
        return Err(Error::NotAnImage {
            path: source.display().to_string(),
            reason: if source.is_directory() {
                "the directory has neither index.json (OCI layout) nor manifest.json".into()
            } else {
                "the archive has neither manifest.json (docker save) nor index.json (OCI)".into()
            },
        });
    };
    if let Some(warning) = image.history.warning.clone() {
        image.warnings.push(warning);
    }
    Ok(image)
}

/// Refuse an image with more layers than the model can number, before anything else of it
/// is read: `member` is the manifest that lists them.
pub(crate) fn check_layer_count(source: &Source, member: &str, count: usize) -> Result<()> {
    crate::limits::check(Limited::Layers, count, MAX_LAYERS).map_err(|source_error| Error::Limit {
        path: source.display().to_string(),
        at: member.to_string(),
        source: source_error,
    })
}

/// Docker and containerd refuse an image whose manifest lists a different number of layers
/// than its config has diff_ids: with verification on, so does every source here (the
/// formats warn while reading, which is all that `--no-verify` leaves).
pub fn check_diff_id_count(display: &str, image: &Image, verify: bool) -> Result<()> {
    let (layers, diff_ids) = (image.layers.len(), image.config.diff_ids().len());
    if !verify || layers == diff_ids {
        return Ok(());
    }
    Err(Error::InvalidImage {
        path: display.to_string(),
        detail: format!(
            "the manifest lists {layers} layers but the config has {diff_ids} diff_ids (Docker and containerd refuse it; --no-verify reads it anyway)"
        ),
    })
}

/// Parse a JSON document, naming the file and member in the error.
pub(crate) fn parse_json<T: serde::de::DeserializeOwned>(
    source: &Source,
    member: &str,
    bytes: &[u8],
) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|e| Error::InvalidJson {
        path: source.display().to_string(),
        member: member.to_string(),
        detail: e.to_string(),
    })
}

/// Read a config blob, check its digest when its name carries one, and parse it.
pub(crate) fn read_config(
    source: &Source,
    member: &str,
    expected: Option<&str>,
    verify: bool,
) -> Result<(ImageConfig, String)> {
    let bytes = source.read_small(member).map_err(|e| match e {
        Error::MissingBlob { path, digest, .. } => Error::MissingBlob {
            path,
            digest,
            what: "the image config".into(),
        },
        other => other,
    })?;
    let actual = format!("sha256:{}", hex::encode(Sha256::digest(&bytes)));
    if let Some(expected) = expected {
        if verify && expected.starts_with("sha256:") && expected != actual {
            return Err(Error::DigestMismatch {
                path: source.display().to_string(),
                what: format!("config {member}"),
                expected: expected.to_string(),
                actual,
            });
        }
    }
    Ok((parse_json(source, member, &bytes)?, actual))
}

/// Blob path for a digest (`blobs/<algorithm>/<hex>`), refusing anything that is not a
/// plain `algorithm:hex` string, since digests come from untrusted JSON.
pub(crate) fn blob_path(digest: &str) -> Option<String> {
    let (algorithm, encoded) = digest.split_once(':')?;
    let plain = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"+._-".contains(&b))
            && s != "."
            && s != ".."
    };
    (plain(algorithm) && plain(encoded)).then(|| format!("blobs/{algorithm}/{encoded}"))
}

/// Does a layer media type describe a tar (plain or compressed)?
pub(crate) fn is_layer_media_type(media_type: &str) -> bool {
    media_type.contains(".tar") || media_type.contains("rootfs.diff")
}

/// Foreign / non-distributable layers may legitimately be absent from an archive.
pub(crate) fn is_foreign_media_type(media_type: &str) -> bool {
    media_type.contains("foreign") || media_type.contains("nondistributable")
}

/// A manifest's layer that its own store need not hold: a foreign media type, or
/// `urls` to fetch it from elsewhere (the image-spec's descriptor field).
pub(crate) fn is_foreign_layer(descriptor: &oci_spec::image::Descriptor) -> bool {
    is_foreign_media_type(descriptor.media_type().as_ref())
        || descriptor.urls().as_ref().is_some_and(|u| !u.is_empty())
}

/// The warning for a manifest and a config that disagree on the layer count (the load
/// refuses the image later unless `--no-verify`).
fn count_mismatch(manifest_layers: usize, diff_ids: usize) -> Option<String> {
    (manifest_layers != diff_ids).then(|| {
        format!(
            "the manifest lists {manifest_layers} layers but the config has {diff_ids} diff_ids"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blob_paths_refuse_traversal() {
        assert_eq!(
            blob_path("sha256:abc123").as_deref(),
            Some("blobs/sha256/abc123")
        );
        assert_eq!(blob_path("sha256:../../etc"), None);
        assert_eq!(blob_path("sha256:a/b"), None);
        assert_eq!(blob_path("nocolon"), None);
    }
}
