//! The model: what a load hands up and what the analysis and the views read. An image's
//! description, the facts measured on each layer, and the merged tree. [`crate::load`]
//! builds it; nothing here knows how.

use crate::image::Image;
use crate::layer::Found;
use crate::source::Compression;
use crate::tree::{EntryId, Tree};

/// What happened to one layer.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "status", content = "reason", rename_all = "lowercase")]
pub enum LayerStatus {
    Loaded,
    /// The blob ended early; the entries before the damage are in the tree.
    Truncated(String),
    /// The blob is not in the archive (a foreign layer).
    Unavailable(String),
}

/// Facts measured while parsing one layer.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LayerInfo {
    pub index: usize,
    pub status: LayerStatus,
    pub compression: Option<Compression>,
    pub compressed_bytes: u64,
    pub uncompressed_bytes: u64,
    pub entries: usize,
    /// Sum of tar header sizes (what dive calls the layer size).
    pub content_bytes: u64,
    /// Digest of the blob as read (or as declared when not computed).
    pub digest: Option<String>,
    pub diff_id: Option<String>,
}

/// A loaded image: description, per-layer facts and the merged tree.
pub struct LoadedImage {
    pub image: Image,
    pub layers: Vec<LayerInfo>,
    pub tree: Tree,
    pub warnings: Vec<String>,
    /// What the load's content hook found, by entry, in entry order; empty without a
    /// hook. Each finding is its hook's own type (see [`crate::layer::hook`]).
    pub found: Vec<(EntryId, Found)>,
}
