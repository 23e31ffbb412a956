//! OCI image layouts, as a directory or as an `oci-archive` tar: `index.json`, nested
//! indexes, several platforms, attestation manifests and partially present blobs.

use super::history::pair_history;
use super::{blob_path, read_config, Format, Image, LayerRef, OpenOptions, Platform};
use crate::error::{Error, Result};
use crate::source::Source;
use oci_spec::image::{Descriptor, ImageIndex, ImageManifest};

/// Nested indexes deeper than this are refused (a hostile index could point at itself).
const MAX_INDEX_DEPTH: usize = 8;

const REF_NAME: &str = "org.opencontainers.image.ref.name";
const CONTAINERD_NAME: &str = "io.containerd.image.name";
const DOCKER_REFERENCE_TYPE: &str = "vnd.docker.reference.type";

/// An image manifest found by walking the indexes.
struct Candidate {
    descriptor: Descriptor,
    platform: Option<Platform>,
    /// The top-level index entry it was reached from (an "image" of the archive).
    top: usize,
    name: Option<String>,
}

pub(super) fn open(source: &Source, options: &OpenOptions) -> Result<Image> {
    let index = read_index(source, "index.json")?;
    let mut candidates = Vec::new();
    let mut names: Vec<String> = Vec::new();
    for (top, descriptor) in index.manifests().iter().enumerate() {
        let annotations = descriptor.annotations().as_ref();
        let name = annotations
            .and_then(|a| a.get(CONTAINERD_NAME).or_else(|| a.get(REF_NAME)))
            .cloned();
        names.push(match &name {
            Some(n) => format!("{top}: {n}"),
            None => format!("{top}: {}", descriptor.digest()),
        });
        collect(source, descriptor, top, name, 0, &mut candidates)?;
    }
    if candidates.is_empty() {
        return Err(Error::InvalidImage {
            path: source.display().to_string(),
            detail: "index.json leads to no image manifest".into(),
        });
    }

    // Several top-level entries with different names are several images.
    let mut tops: Vec<usize> = candidates.iter().map(|c| c.top).collect();
    tops.dedup();
    let several_images = tops.len() > 1
        && candidates
            .iter()
            .filter_map(|c| c.name.as_deref())
            .collect::<std::collections::BTreeSet<_>>()
            .len()
            > 1;
    let mut warnings = Vec::new();
    let chosen_top = match options.image.as_deref() {
        Some(wanted) => choose_top(source, &candidates, &names, wanted)?,
        None => candidates[0].top,
    };
    let other_images: Vec<String> = if several_images {
        tops.iter()
            .filter(|t| **t != chosen_top)
            .map(|t| names[*t].clone())
            .collect()
    } else {
        Vec::new()
    };
    if options.image.is_none() && !other_images.is_empty() {
        warnings.push(format!(
            "the archive holds {} images; showing {} (choose another with --image: {})",
            tops.len(),
            names[chosen_top],
            other_images.join(", ")
        ));
    }
    let pool: Vec<&Candidate> = if several_images {
        candidates.iter().filter(|c| c.top == chosen_top).collect()
    } else {
        candidates.iter().collect()
    };
    let platforms: Vec<Platform> = pool.iter().filter_map(|c| c.platform.clone()).collect();
    let chosen = choose_platform(source, &pool, options.platform.as_deref())?;

    let manifest_member = blob_member(source, chosen.descriptor.digest().to_string())?;
    let manifest_bytes = source
        .read_small(&manifest_member)
        .map_err(|e| missing_as(e, "the image manifest"))?;
    verify_blob(
        source,
        &manifest_member,
        chosen.descriptor.digest().as_ref(),
        &manifest_bytes,
        options.verify,
    )?;
    let manifest: ImageManifest = super::parse_json(source, &manifest_member, &manifest_bytes)?;
    super::check_layer_count(source, &manifest_member, manifest.layers().len())?;
    let config_digest = manifest.config().digest().to_string();
    let config_member = blob_member(source, config_digest.clone())?;
    let (config, config_digest) =
        read_config(source, &config_member, Some(&config_digest), options.verify)?;

    let diff_ids = config.diff_ids();
    warnings.extend(super::count_mismatch(
        manifest.layers().len(),
        diff_ids.len(),
    ));
    let mut layers = Vec::with_capacity(manifest.layers().len());
    for (index, descriptor) in manifest.layers().iter().enumerate() {
        let digest = descriptor.digest().to_string();
        let media_type = descriptor.media_type().to_string();
        if !super::is_layer_media_type(&media_type) {
            return Err(Error::UnsupportedMedia {
                path: source.display().to_string(),
                media_type,
                what: format!("layer {index} ({digest})"),
            });
        }
        let member = blob_member(source, digest.clone())?;
        let present = source.exists(&member);
        let unavailable = if present {
            None
        } else if super::is_foreign_layer(descriptor) {
            Some("foreign layer not shipped in the archive".to_string())
        } else {
            return Err(Error::MissingBlob {
                path: source.display().to_string(),
                digest,
                what: format!("layer {index}"),
            });
        };
        layers.push(LayerRef {
            index,
            member: present.then_some(member),
            media_type: Some(media_type),
            digest: Some(digest),
            diff_id: diff_ids.get(index).cloned(),
            size: Some(descriptor.size()),
            unavailable,
            writable: None,
        });
    }

    let platform = chosen.platform.clone().or_else(|| config.platform());
    let history = pair_history(&config.history, layers.len());
    Ok(Image {
        source: source.display().to_string(),
        format: if source.is_directory() {
            Format::OciLayout
        } else {
            Format::OciArchive
        },
        tags: chosen.name.iter().cloned().collect(),
        other_images,
        platform,
        platforms,
        config,
        config_digest: Some(config_digest),
        layers,
        history,
        warnings,
    })
}

fn missing_as(error: Error, what: &str) -> Error {
    match error {
        Error::MissingBlob { path, digest, .. } => Error::MissingBlob {
            path,
            digest,
            what: what.to_string(),
        },
        other => other,
    }
}

fn blob_member(source: &Source, digest: String) -> Result<String> {
    blob_path(&digest).ok_or_else(|| Error::InvalidImage {
        path: source.display().to_string(),
        detail: format!("malformed digest {:?}", crate::escape::escape_str(&digest)),
    })
}

fn verify_blob(
    source: &Source,
    member: &str,
    digest: &str,
    bytes: &[u8],
    verify: bool,
) -> Result<()> {
    use sha2::{Digest, Sha256};
    if !verify || !digest.starts_with("sha256:") {
        return Ok(());
    }
    let actual = format!("sha256:{}", hex::encode(Sha256::digest(bytes)));
    if actual != digest {
        return Err(Error::DigestMismatch {
            path: source.display().to_string(),
            what: format!("blob {member}"),
            expected: digest.to_string(),
            actual,
        });
    }
    Ok(())
}

/// Parse an index, tolerating `"manifests": null` (oci-spec alone rejects it).
fn read_index(source: &Source, member: &str) -> Result<ImageIndex> {
    let bytes = source.read_small(member)?;
    let mut value: serde_json::Value = super::parse_json(source, member, &bytes)?;
    if let Some(object) = value.as_object_mut() {
        if object.get("manifests").is_none_or(|m| m.is_null()) {
            object.insert("manifests".into(), serde_json::Value::Array(Vec::new()));
        }
        object
            .entry("schemaVersion")
            .or_insert(serde_json::Value::from(2));
    }
    serde_json::from_value(value).map_err(|e| Error::InvalidJson {
        path: source.display().to_string(),
        member: member.to_string(),
        detail: e.to_string(),
    })
}

fn is_index(media_type: &str) -> bool {
    media_type.ends_with("image.index.v1+json") || media_type.ends_with("manifest.list.v2+json")
}

fn is_manifest(media_type: &str) -> bool {
    media_type.ends_with("image.manifest.v1+json")
        || media_type.ends_with("distribution.manifest.v2+json")
}

/// Walk one descriptor: recurse into indexes, keep image manifests, skip attestations and
/// anything of an unknown type.
fn collect(
    source: &Source,
    descriptor: &Descriptor,
    top: usize,
    name: Option<String>,
    depth: usize,
    out: &mut Vec<Candidate>,
) -> Result<()> {
    let annotations = descriptor.annotations().as_ref();
    if annotations
        .and_then(|a| a.get(DOCKER_REFERENCE_TYPE))
        .is_some_and(|t| t == "attestation-manifest")
    {
        return Ok(());
    }
    let platform = descriptor.platform().as_ref().map(|p| Platform {
        os: p.os().to_string(),
        architecture: p.architecture().to_string(),
        variant: p.variant().clone(),
    });
    if platform.as_ref().is_some_and(Platform::is_unknown) {
        return Ok(());
    }
    let media_type = descriptor.media_type().to_string();
    if is_index(&media_type) {
        if depth >= MAX_INDEX_DEPTH {
            return Err(Error::InvalidImage {
                path: source.display().to_string(),
                detail: format!("indexes nested more than {MAX_INDEX_DEPTH} deep"),
            });
        }
        let member = blob_member(source, descriptor.digest().to_string())?;
        if !source.exists(&member) {
            // An index for content that was not saved: tolerated, like missing platforms.
            return Ok(());
        }
        let nested = read_index(source, &member)?;
        for child in nested.manifests() {
            collect(source, child, top, name.clone(), depth + 1, out)?;
        }
    } else if is_manifest(&media_type) {
        out.push(Candidate {
            descriptor: descriptor.clone(),
            platform,
            top,
            name,
        });
    }
    Ok(())
}

fn choose_top(
    source: &Source,
    candidates: &[Candidate],
    names: &[String],
    wanted: &str,
) -> Result<usize> {
    if let Ok(index) = wanted.parse::<usize>() {
        if candidates.iter().any(|c| c.top == index) {
            return Ok(index);
        }
    }
    candidates
        .iter()
        .find(|c| {
            c.name.as_deref().is_some_and(|n| {
                n == wanted
                    || n.ends_with(&format!("/{wanted}"))
                    || n.ends_with(&format!(":{wanted}"))
            })
        })
        .map(|c| c.top)
        .ok_or_else(|| Error::ImageChoice {
            path: source.display().to_string(),
            detail: format!(
                "no image {wanted:?} in the archive; it holds: {}",
                names.join(", ")
            ),
        })
}

/// Are the manifest, config and every non-foreign layer of a candidate present?
fn complete(source: &Source, candidate: &Candidate) -> bool {
    let Some(member) = blob_path(candidate.descriptor.digest().as_ref()) else {
        return false;
    };
    let Ok(bytes) = source.read_small(&member) else {
        return false;
    };
    let Ok(manifest) = serde_json::from_slice::<ImageManifest>(&bytes) else {
        return false;
    };
    let has = |digest: String| blob_path(&digest).is_some_and(|m| source.exists(&m));
    has(manifest.config().digest().to_string())
        && manifest.layers().iter().all(|l| {
            super::is_foreign_media_type(l.media_type().as_ref()) || has(l.digest().to_string())
        })
}

/// `--platform` if given; else the host's if its blobs are present; else the only platform
/// whose blobs are all present.
fn choose_platform<'a>(
    source: &Source,
    pool: &[&'a Candidate],
    wanted: Option<&str>,
) -> Result<&'a Candidate> {
    let available = || {
        pool.iter()
            .map(|c| {
                c.platform
                    .as_ref()
                    .map_or("(no platform)".to_string(), |p| p.to_string())
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    if let Some(wanted) = wanted {
        let want = Platform::from_flag(wanted)?;
        return pool
            .iter()
            .find(|c| c.platform.as_ref().is_some_and(|p| want.matches(p)))
            .copied()
            .ok_or_else(|| Error::Platform {
                path: source.display().to_string(),
                detail: format!("no image for platform {want}; available: {}", available()),
            });
    }
    if pool.len() == 1 {
        return Ok(pool[0]);
    }
    let host = Platform::host();
    let present: Vec<&&Candidate> = pool.iter().filter(|c| complete(source, c)).collect();
    if let Some(found) = present
        .iter()
        .find(|c| c.platform.as_ref().is_some_and(|p| host.matches(p)))
    {
        return Ok(found);
    }
    match present.as_slice() {
        [only] => Ok(only),
        _ => Err(Error::Platform {
            path: source.display().to_string(),
            detail: format!(
                "the image has several platforms; choose one with --platform (available: {})",
                available()
            ),
        }),
    }
}
