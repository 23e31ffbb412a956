//! `docker save` archives, in every variant: the classic store (`<id>/layer.tar`, with
//! `layer.tar` symlinks for shared layers), skopeo's root-level `<diff_id>.tar`, Docker 25+
//! with an OCI layout inside, and the containerd image store (compressed blobs).

use super::config::null_as_default;
use super::history::pair_history;
use super::{read_config, Format, Image, LayerRef, OpenOptions};
use crate::error::{Error, Result};
use crate::source::Source;
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ManifestItem {
    config: String,
    #[serde(default, deserialize_with = "null_as_default")]
    repo_tags: Vec<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    layers: Vec<String>,
    /// Descriptors for layers (foreign layers, and Docker 25+), keyed by digest.
    #[serde(default, deserialize_with = "null_as_default")]
    layer_sources: BTreeMap<String, LayerSource>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct LayerSource {
    #[serde(default)]
    media_type: Option<String>,
    #[serde(default)]
    size: Option<u64>,
    #[serde(default, deserialize_with = "null_as_default")]
    urls: Vec<String>,
}

pub(super) fn open(source: &Source, options: &OpenOptions) -> Result<Image> {
    let bytes = source.read_small("manifest.json")?;
    let items: Vec<ManifestItem> = super::parse_json(source, "manifest.json", &bytes)?;
    if items.is_empty() {
        return Err(Error::InvalidImage {
            path: source.display().to_string(),
            detail: "manifest.json lists no images".into(),
        });
    }
    let names: Vec<String> = items
        .iter()
        .enumerate()
        .map(|(i, item)| describe(i, item))
        .collect();
    let chosen = choose(source, &items, options.image.as_deref(), &names)?;
    let item = &items[chosen];
    super::check_layer_count(source, "manifest.json", item.layers.len())?;
    let mut warnings = Vec::new();
    let other_images: Vec<String> = names
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != chosen)
        .map(|(_, n)| n.clone())
        .collect();
    if options.image.is_none() && !other_images.is_empty() {
        warnings.push(format!(
            "the archive holds {} images; showing {} (choose another with --image: {})",
            items.len(),
            names[chosen],
            other_images.join(", ")
        ));
    }

    let config_member = crate::source::normalize_member(&item.config);
    let config_digest_from_name = digest_from_member(&config_member);
    let (config, config_digest) = read_config(
        source,
        &config_member,
        config_digest_from_name.as_deref(),
        options.verify,
    )?;

    let diff_ids = config.diff_ids();
    if diff_ids.len() != item.layers.len() {
        warnings.push(format!(
            "manifest.json lists {} layers but the config has {} diff_ids",
            item.layers.len(),
            diff_ids.len()
        ));
    }
    let mut layers = Vec::with_capacity(item.layers.len());
    for (index, name) in item.layers.iter().enumerate() {
        let member = crate::source::normalize_member(name);
        let digest = digest_from_member(&member).filter(|_| member.starts_with("blobs/"));
        let descriptor = digest.as_ref().and_then(|d| item.layer_sources.get(d));
        let media_type = descriptor.and_then(|d| d.media_type.clone());
        let present = source.exists(&member);
        let unavailable = if present {
            None
        } else if media_type
            .as_deref()
            .is_some_and(super::is_foreign_media_type)
            || descriptor.is_some_and(|d| !d.urls.is_empty())
        {
            Some(format!(
                "foreign layer not shipped in the archive{}",
                descriptor
                    .map(|d| d.urls.join(", "))
                    .filter(|u| !u.is_empty())
                    .map(|u| format!(" (urls: {u})"))
                    .unwrap_or_default()
            ))
        } else {
            return Err(Error::MissingBlob {
                path: source.display().to_string(),
                digest: member,
                what: format!("layer {index} listed in manifest.json"),
            });
        };
        layers.push(LayerRef {
            index,
            size: source.size(&member).or(descriptor.and_then(|d| d.size)),
            member: present.then_some(member),
            media_type,
            digest,
            diff_id: diff_ids.get(index).cloned(),
            unavailable,
            writable: None,
        });
    }

    let format = if layers
        .iter()
        .any(|l| l.member.as_deref().is_some_and(|m| m.starts_with("blobs/")))
    {
        Format::DockerArchiveOciLayout
    } else if item.layers.iter().any(|l| !l.contains('/')) {
        Format::DockerArchiveSkopeo
    } else {
        Format::DockerArchive
    };
    let platform = config.platform();
    let history = pair_history(&config.history, layers.len());
    Ok(Image {
        source: source.display().to_string(),
        format,
        tags: item.repo_tags.clone(),
        other_images,
        platforms: platform.iter().cloned().collect(),
        platform,
        config,
        config_digest: Some(config_digest),
        layers,
        history,
        warnings,
    })
}

/// `--image` accepts a tag (with or without `docker.io/library/`), or a 0-based index.
fn choose(
    source: &Source,
    items: &[ManifestItem],
    wanted: Option<&str>,
    names: &[String],
) -> Result<usize> {
    let Some(wanted) = wanted else {
        return Ok(0);
    };
    if let Ok(index) = wanted.parse::<usize>() {
        if index < items.len() {
            return Ok(index);
        }
    }
    let short = |tag: &str| {
        tag.trim_start_matches("docker.io/")
            .trim_start_matches("library/")
            .to_string()
    };
    items
        .iter()
        .position(|item| {
            item.repo_tags
                .iter()
                .any(|t| t == wanted || short(t) == short(wanted))
        })
        .ok_or_else(|| Error::ImageChoice {
            path: source.display().to_string(),
            detail: format!(
                "no image {wanted:?} in the archive; it holds: {}",
                names.join(", ")
            ),
        })
}

fn describe(index: usize, item: &ManifestItem) -> String {
    match item.repo_tags.first() {
        Some(tag) => format!("{index}: {tag}"),
        None => format!("{index}: (untagged)"),
    }
}

/// `blobs/sha256/<hex>`, `<hex>.json`, `<hex>.tar` and kaniko's `sha256:<hex>` names carry
/// a digest; `<id>/layer.tar` does not.
fn digest_from_member(member: &str) -> Option<String> {
    let last = member.rsplit('/').next()?;
    let hex = if let Some(rest) = member.strip_prefix("blobs/sha256/") {
        rest
    } else if let Some(rest) = last.strip_prefix("sha256:") {
        rest
    } else {
        last.strip_suffix(".json")
            .or_else(|| last.strip_suffix(".tar"))?
    };
    (hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| format!("sha256:{}", hex.to_ascii_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_come_from_member_names() {
        let hex = "a".repeat(64);
        assert_eq!(
            digest_from_member(&format!("blobs/sha256/{hex}")),
            Some(format!("sha256:{hex}"))
        );
        assert_eq!(
            digest_from_member(&format!("{hex}.json")),
            Some(format!("sha256:{hex}"))
        );
        assert_eq!(
            digest_from_member(&format!("sha256:{hex}")),
            Some(format!("sha256:{hex}"))
        );
        assert_eq!(digest_from_member(&format!("{hex}/layer.tar")), None);
    }
}
