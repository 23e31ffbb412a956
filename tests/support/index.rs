//! Multi-platform images: an OCI layout whose index.json points (directly or
//! through a nested image index, as docker/buildx export it) at one manifest
//! per platform, optionally with buildkit attestation manifests.

use super::archive::{self, index_of, tagged_descriptors, ArchiveOptions, OciLayout};
use super::image::{Blob, BuiltImage, ImageSpec};
use std::borrow::Cow;
use std::io;
use std::path::Path;

#[derive(Clone)]
pub struct MultiPlatformSpec {
    /// One image per platform (set each one's `platform`).
    pub images: Vec<ImageSpec>,
    pub tags: Vec<String>,
    /// true: index.json -> image index blob -> manifests (docker, buildx);
    /// false: index.json lists the platform manifests itself.
    pub nested: bool,
    /// Add an attestation manifest (platform unknown/unknown) per image.
    pub attestations: bool,
    /// Platforms (indices into `images`) listed in the index whose manifest,
    /// config and layers are not stored, like a single-platform pull.
    pub omit_platforms: Vec<usize>,
    pub archive: ArchiveOptions,
}

impl Default for MultiPlatformSpec {
    fn default() -> Self {
        MultiPlatformSpec {
            images: Vec::new(),
            tags: vec!["layerscope-test:latest".into()],
            nested: true,
            attestations: false,
            omit_platforms: Vec::new(),
            archive: ArchiveOptions::default(),
        }
    }
}

impl MultiPlatformSpec {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn image(mut self, image: ImageSpec) -> Self {
        self.images.push(image);
        self
    }

    pub fn nested(mut self, nested: bool) -> Self {
        self.nested = nested;
        self
    }

    pub fn attestations(mut self, on: bool) -> Self {
        self.attestations = on;
        self
    }

    pub fn omit_platform(mut self, index: usize) -> Self {
        self.omit_platforms.push(index);
        self
    }

    pub fn build(&self) -> BuiltIndex {
        let images: Vec<BuiltImage> = self.images.iter().map(ImageSpec::build).collect();
        let attestations = if self.attestations {
            images.iter().map(BuiltImage::attestation).collect()
        } else {
            Vec::new()
        };
        BuiltIndex {
            images,
            attestations,
            tags: self.tags.clone(),
            nested: self.nested,
            omit_platforms: self.omit_platforms.clone(),
            archive: self.archive.clone(),
        }
    }

    pub fn write_oci_archive(&self, out: &Path) -> io::Result<()> {
        self.build().write_oci_archive(out)
    }

    pub fn write_oci_layout(&self, dir: &Path) -> io::Result<()> {
        self.build().write_oci_layout(dir)
    }
}

#[derive(Clone, Debug)]
pub struct BuiltIndex {
    pub images: Vec<BuiltImage>,
    /// Empty, or one per image (same order).
    pub attestations: Vec<BuiltImage>,
    pub tags: Vec<String>,
    pub nested: bool,
    pub omit_platforms: Vec<usize>,
    pub archive: ArchiveOptions,
}

impl BuiltIndex {
    /// The image index listing every platform manifest, then the attestations.
    pub fn image_index(&self) -> serde_json::Value {
        let mut index = index_of(
            self.images
                .iter()
                .chain(&self.attestations)
                .map(BuiltImage::index_descriptor)
                .collect(),
        );
        if let Some(first) = self.images.first() {
            index["mediaType"] = first.media_types.index().into();
        }
        index
    }

    pub fn layout(&self) -> OciLayout<'_> {
        let mut blobs = Vec::new();
        let index = if self.nested {
            let bytes = serde_json::to_vec(&self.image_index()).expect("json");
            let media_type = self.image_index()["mediaType"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            let nested = Blob::from_bytes(&media_type, bytes);
            let top = index_of(tagged_descriptors(&nested, &self.tags));
            blobs.push(Cow::Owned(nested));
            top
        } else {
            self.image_index()
        };
        let attestations = self
            .attestations
            .iter()
            .map(Some)
            .chain(std::iter::repeat(None));
        for (i, (img, att)) in self.images.iter().zip(attestations).enumerate() {
            if self.omit_platforms.contains(&i) {
                continue;
            }
            for built in std::iter::once(img).chain(att) {
                blobs.push(Cow::Owned(built.manifest_blob()));
                blobs.push(Cow::Owned(built.config_blob()));
                blobs.extend(built.layers.iter().map(Cow::Borrowed));
            }
        }
        OciLayout { index, blobs }
    }

    pub fn write_oci_archive(&self, out: &Path) -> io::Result<()> {
        archive::write_oci_archive(&self.layout(), &self.archive, out)
    }

    pub fn write_oci_layout(&self, dir: &Path) -> io::Result<()> {
        archive::write_oci_layout(&self.layout(), &self.archive, dir)
    }
}
