//! A registry's documents become an [`Image`]: the manifest (through an index, for the
//! platform chosen), its config, and the layer descriptors. The registry source fetches
//! and bounds the bytes ([`Client::get_document`]); reading them is the image layer's job,
//! as it is for an OCI layout's `index.json` or a docker-archive's `manifest.json`.

use super::history::pair_history;
use super::{Format, Image, ImageConfig, LayerRef, Platform};
use crate::error::Result;
use crate::source::registry::cache::Cache;
use crate::source::registry::client::{Client, DOCUMENT_LIMIT, MANIFEST_TYPES};
use oci_spec::distribution::Reference;
use oci_spec::image::{Descriptor, ImageIndex, ImageManifest};
use sha2::{Digest, Sha256};

/// Nested indexes deeper than this are refused.
const MAX_INDEX_DEPTH: usize = 8;

/// Resolve the reference to one image manifest and read its config.
pub fn describe(client: &Client, reference: &Reference, platform: Option<&str>) -> Result<Image> {
    let wanted = platform.map(Platform::from_flag).transpose()?;
    let tag_or_digest = reference
        .digest()
        .or(reference.tag())
        .unwrap_or("latest")
        .to_string();
    let mut what = format!("manifest {tag_or_digest}");
    let (mut bytes, mut media_type) = client.get_document(
        &what,
        &format!("manifests/{tag_or_digest}"),
        &MANIFEST_TYPES,
    )?;
    if let Some(digest) = reference.digest() {
        check_digest(client, &what, digest, &bytes)?;
    }
    let mut platforms = Vec::new();
    let mut chosen_platform = None;
    let mut depth = 0;
    let manifest = loop {
        match examine(client, &what, &media_type, &bytes, wanted.as_ref())? {
            Step::Manifest(manifest) => break manifest,
            Step::Follow {
                digest,
                platform,
                available,
            } => {
                depth += 1;
                if depth > MAX_INDEX_DEPTH {
                    return Err(
                        client.error(format!("indexes nested more than {MAX_INDEX_DEPTH} deep"))
                    );
                }
                platforms = available;
                chosen_platform = platform;
                what = format!("manifest {digest}");
                (bytes, media_type) =
                    client.get_document(&what, &format!("manifests/{digest}"), &MANIFEST_TYPES)?;
                check_digest(client, &what, &digest, &bytes)?;
            }
        }
    };

    let config_digest = manifest.config().digest().to_string();
    let config_what = format!("config {config_digest}");
    if manifest.config().size() > DOCUMENT_LIMIT {
        return Err(client.error(format!(
            "{config_what} is larger than {} MiB; refused",
            DOCUMENT_LIMIT >> 20
        )));
    }
    let (config_bytes, _) =
        client.get_document(&config_what, &format!("blobs/{config_digest}"), &[])?;
    check_digest(client, &config_what, &config_digest, &config_bytes)?;
    let config: ImageConfig = serde_json::from_slice(&config_bytes)
        .map_err(|e| client.error(format!("{config_what}: invalid image config: {e}")))?;

    let diff_ids = config.diff_ids();
    let mut warnings: Vec<String> = super::count_mismatch(manifest.layers().len(), diff_ids.len())
        .into_iter()
        .collect();
    let mut layers = Vec::with_capacity(manifest.layers().len());
    for (index, descriptor) in manifest.layers().iter().enumerate() {
        let digest = descriptor.digest().to_string();
        let media_type = descriptor.media_type().to_string();
        if !super::is_layer_media_type(&media_type) {
            return Err(client.error(format!(
                "layer {index} ({digest}): unsupported media type {media_type:?}"
            )));
        }
        let member = Cache::member(&digest).ok_or_else(|| {
            client.error(format!(
                "layer {index}: digest {:?} is not sha256",
                crate::escape::escape_str(&digest)
            ))
        })?;
        let foreign = super::is_foreign_layer(descriptor);
        layers.push(LayerRef {
            index,
            member: (!foreign).then_some(member),
            media_type: Some(media_type),
            digest: Some(digest),
            diff_id: diff_ids.get(index).cloned(),
            size: Some(descriptor.size()),
            unavailable: foreign.then(|| "foreign layer: not served by the registry".to_string()),
            writable: None,
        });
    }
    let platform = chosen_platform.or_else(|| config.platform());
    let history = pair_history(&config.history, layers.len());
    if let Some(warning) = history.warning.clone() {
        warnings.push(warning);
    }
    Ok(Image {
        source: reference.whole(),
        format: Format::Registry,
        tags: vec![reference.whole()],
        other_images: Vec::new(),
        platform,
        platforms,
        config,
        config_digest: Some(config_digest),
        layers,
        history,
        warnings,
    })
}

/// What a manifest response leads to.
pub enum Step {
    /// An image manifest: the end of the walk.
    Manifest(Box<ImageManifest>),
    /// An index: fetch the chosen entry next.
    Follow {
        digest: String,
        platform: Option<Platform>,
        available: Vec<Platform>,
    },
}

/// Read one manifest response (already size-bounded): an image manifest, or an index
/// and the entry `wanted` (or the host's platform) chooses. Untrusted bytes: this is what
/// the `registry_documents` fuzz target drives.
pub fn examine(
    client: &Client,
    what: &str,
    media_type: &str,
    bytes: &[u8],
    wanted: Option<&Platform>,
) -> Result<Step> {
    match document_kind(media_type, bytes) {
        Kind::Index => {
            let index = parse_index(client, what, bytes)?;
            let (descriptor, platform) = choose_platform(client, &index, wanted)?;
            Ok(Step::Follow {
                digest: descriptor.digest().to_string(),
                platform,
                available: index_platforms(&index),
            })
        }
        Kind::Manifest => serde_json::from_slice(bytes)
            .map(|m| Step::Manifest(Box::new(m)))
            .map_err(|e| client.error(format!("{what}: invalid manifest: {e}"))),
        Kind::Unknown(found) => Err(client.error(format!(
            "{what}: unknown manifest media type {found:?} (layerscope reads OCI and Docker v2 images)"
        ))),
    }
}

enum Kind {
    Index,
    Manifest,
    Unknown(String),
}

/// What a manifest response is: by its Content-Type, else by its `mediaType` field, else
/// by its shape.
fn document_kind(content_type: &str, bytes: &[u8]) -> Kind {
    #[derive(serde::Deserialize)]
    struct Probe {
        #[serde(rename = "mediaType")]
        media_type: Option<String>,
        manifests: Option<serde_json::Value>,
        layers: Option<serde_json::Value>,
    }
    let probe: Option<Probe> = serde_json::from_slice(bytes).ok();
    let declared = probe.as_ref().and_then(|p| p.media_type.clone());
    let media_type = match declared {
        Some(t) if !t.is_empty() => t,
        _ => content_type.to_string(),
    };
    let by_type = |t: &str| {
        if t.ends_with("image.index.v1+json") || t.ends_with("manifest.list.v2+json") {
            Some(Kind::Index)
        } else if t.ends_with("image.manifest.v1+json")
            || t.ends_with("distribution.manifest.v2+json")
        {
            Some(Kind::Manifest)
        } else {
            None
        }
    };
    if let Some(kind) = by_type(&media_type) {
        return kind;
    }
    // A registry may answer `application/json` for a document without `mediaType`.
    if media_type.is_empty() || media_type == "application/json" {
        match &probe {
            Some(p) if p.manifests.is_some() => return Kind::Index,
            Some(p) if p.layers.is_some() => return Kind::Manifest,
            _ => {}
        }
    }
    Kind::Unknown(crate::escape::escape_str(&media_type).into_owned())
}

fn parse_index(client: &Client, what: &str, bytes: &[u8]) -> Result<ImageIndex> {
    let mut value: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|e| client.error(format!("{what}: invalid index: {e}")))?;
    if let Some(object) = value.as_object_mut() {
        if object.get("manifests").is_none_or(|m| m.is_null()) {
            object.insert("manifests".into(), serde_json::Value::Array(Vec::new()));
        }
        object
            .entry("schemaVersion")
            .or_insert(serde_json::Value::from(2));
    }
    serde_json::from_value(value).map_err(|e| client.error(format!("{what}: invalid index: {e}")))
}

fn descriptor_platform(descriptor: &Descriptor) -> Option<Platform> {
    descriptor.platform().as_ref().map(|p| Platform {
        os: p.os().to_string(),
        architecture: p.architecture().to_string(),
        variant: p.variant().clone(),
    })
}

/// Entries that are images (attestations and `unknown/unknown` are not).
fn image_entries(index: &ImageIndex) -> Vec<&Descriptor> {
    index
        .manifests()
        .iter()
        .filter(|d| {
            let attestation = d
                .annotations()
                .as_ref()
                .and_then(|a| a.get("vnd.docker.reference.type"))
                .is_some_and(|t| t == "attestation-manifest");
            !attestation && !descriptor_platform(d).is_some_and(|p| p.is_unknown())
        })
        .collect()
}

fn index_platforms(index: &ImageIndex) -> Vec<Platform> {
    image_entries(index)
        .into_iter()
        .filter_map(descriptor_platform)
        .collect()
}

/// `--platform` if given; else the host's; else the only image. Otherwise the error lists
/// the platforms the index has.
fn choose_platform<'a>(
    client: &Client,
    index: &'a ImageIndex,
    wanted: Option<&Platform>,
) -> Result<(&'a Descriptor, Option<Platform>)> {
    let entries = image_entries(index);
    let available = || {
        let list: Vec<String> = entries
            .iter()
            .map(|d| descriptor_platform(d).map_or("(no platform)".into(), |p| p.to_string()))
            .collect();
        if list.is_empty() {
            "none".to_string()
        } else {
            list.join(", ")
        }
    };
    let find = |want: &Platform| {
        entries
            .iter()
            .find(|d| descriptor_platform(d).is_some_and(|p| want.matches(&p)))
            .map(|d| (*d, descriptor_platform(d)))
    };
    if let Some(want) = wanted {
        return find(want).ok_or_else(|| {
            client.error(format!(
                "no image for platform {want}; available: {}",
                available()
            ))
        });
    }
    let host = Platform::host();
    if let Some(found) = find(&host) {
        return Ok(found);
    }
    match entries.as_slice() {
        [only] => Ok((*only, descriptor_platform(only))),
        _ => Err(client.error(format!(
            "the index has no image for this host's platform {host}; choose one with --platform (available: {})",
            available()
        ))),
    }
}

fn check_digest(client: &Client, what: &str, expected: &str, bytes: &[u8]) -> Result<()> {
    if !expected.starts_with("sha256:") {
        return Err(client.error(format!(
            "{what}: unsupported digest algorithm in {:?}",
            crate::escape::escape_str(expected)
        )));
    }
    let actual = format!("sha256:{}", hex::encode(Sha256::digest(bytes)));
    if actual != expected {
        return Err(client.error(format!(
            "{what}: digest mismatch: expected {expected}, got {actual}"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_are_told_apart() {
        let index = br#"{"schemaVersion":2,"manifests":[]}"#;
        assert!(matches!(
            document_kind("application/json", index),
            Kind::Index
        ));
        let manifest = br#"{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","layers":[]}"#;
        assert!(matches!(document_kind("", manifest), Kind::Manifest));
        let schema1 = br#"{"schemaVersion":1,"fsLayers":[]}"#;
        assert!(matches!(
            document_kind("application/vnd.docker.distribution.manifest.v1+prettyjws", schema1),
            Kind::Unknown(t) if t.contains("v1+prettyjws")
        ));
    }
}
