//! The project's one way to build container images for tests and benchmarks.
//!
//! ```ignore
//! let image = ImageSpec::new()
//!     .layer(LayerSpec::new().dir("etc", 0o755).file("etc/hosts", "127.0.0.1 localhost\n"))
//!     .layer(LayerSpec::new().whiteout("etc/hosts"))
//!     .compression(Compression::Gzip);
//! image.write_oci_archive(&dir.join("img.tar"))?;
//! ```
//!
//! Layers: [`LayerSpec`] (small, in memory) or [`LayerWriter`] (streaming, any
//! size); [`raw`] writes headers, blobs and archive members byte by byte for images that
//! must be invalid. Images: [`ImageSpec`] -> [`BuiltImage`] (edit it to break things) ->
//! docker/OCI archives ([`DockerLayout`], [`archive`]). Multi-platform:
//! [`MultiPlatformSpec`]. Included by integration tests as `mod support;` and
//! by `examples/gen-image.rs` through `#[path]`, so not every item is used by
//! every includer.
#![allow(dead_code, unused_imports)]

pub mod archive;
pub mod codec;
pub mod content;
pub mod dpkg;
pub mod image;
pub mod index;
pub mod layer;
pub mod measure;
pub mod postgres;
pub mod raw;
pub mod registry;
pub mod rootfs;
pub mod tmux;
pub mod tools;

pub use archive::{ArchiveOptions, DockerLayout, OciLayout};
pub use codec::{digest_hex, sha256_digest, Compression, Encoder, HashWriter};
pub use content::{mix_seed, Content, Rng};
pub use image::{
    split_tag, write_docker_archive_multi, Blob, BlobData, BuiltImage, HistoryEntry, ImageSpec,
    MediaTypes, Platform,
};
pub use index::{BuiltIndex, MultiPlatformSpec};
pub use layer::{
    pax_entry, pax_records, whiteout_path, Entry, Item, Kind, LayerDigests, LayerSpec, LayerWriter,
};
