//! The explorer's first screen, while the image loads: the layer list from the image's
//! description (instructions, download sizes) as soon as it is read, each layer's own facts
//! as its parse is merged, and a cursor that the explorer keeps once everything is loaded.
//! The file tree is the tree of the layers merged so far ([`super::partial`]), labelled
//! so; what needs every layer (subtree sizes, the image's score, the aggregated views) is
//! not shown here: the view says which layer the load has reached instead, so nothing on
//! it is ever wrong.

use crate::image::history::Instruction;
use crate::image::Image;
use crate::load::{LayerInfo, MergedTree, Progress};
use std::sync::Arc;

pub use super::partial::{PartialRow, PartialTree};

/// One layer as the first screen knows it.
#[derive(Debug, Clone)]
pub struct LoadingLayer {
    /// The instruction that made it, secrets redacted; `None` without history.
    pub instruction: Option<Instruction>,
    /// The blob's size as the manifest declares it (the compressed download).
    pub download_bytes: Option<u64>,
    /// The layer's own facts, once it is parsed and merged into the tree.
    pub info: Option<LayerInfo>,
}

/// The loading image and the cursor over its layers.
#[derive(Debug, Default)]
pub struct Loading {
    layers: Vec<LoadingLayer>,
    described: bool,
    progress: Option<Progress>,
    cursor: usize,
    scroll: usize,
    rows: usize,
    /// The load's tree, while it merges (files, layouts and registries share it).
    tree: Option<Arc<MergedTree>>,
    files: PartialTree,
}

impl Loading {
    pub fn new() -> Loading {
        Loading {
            rows: 1,
            files: PartialTree::new(),
            ..Default::default()
        }
    }

    /// The load shares the tree it merges into.
    pub fn set_tree(&mut self, tree: Arc<MergedTree>) {
        self.tree = Some(tree);
    }

    /// Whether the load shared its tree (a stream's load does not).
    pub fn has_tree(&self) -> bool {
        self.tree.is_some()
    }

    /// Read the file rows again when layers were merged or directories opened since the
    /// last read, unless a layer is being merged right now: the rows read last stay, and
    /// the next frame tries again. Never waits for the merge.
    pub fn refresh_files(&mut self) {
        let (Some(tree), files) = (&self.tree, &mut self.files) else {
            return;
        };
        tree.try_read(|tree| {
            let merged = tree.layer_count();
            if files.needs_read(merged) {
                files.read(tree, merged);
            }
        });
    }

    /// The file tree of the layers merged so far.
    pub fn files(&self) -> &PartialTree {
        &self.files
    }

    pub fn files_mut(&mut self) -> &mut PartialTree {
        &mut self.files
    }

    /// The image's description was read: its layers are known, none parsed yet.
    pub fn describe(&mut self, image: &Image) {
        let mut history = image.history.clone();
        // Instructions are drawn redacted, as the explorer draws them once loaded.
        crate::analysis::secrets::redact_history(&mut history);
        self.layers = image
            .layers
            .iter()
            .enumerate()
            .map(|(index, layer)| LoadingLayer {
                instruction: history.layers.get(index).map(|h| h.instruction.clone()),
                download_bytes: layer.size,
                info: None,
            })
            .collect();
        self.described = true;
        self.cursor = self.cursor.min(self.layers.len().saturating_sub(1));
    }

    /// Layer `info.index` was parsed and merged into the tree.
    pub fn applied(&mut self, info: LayerInfo) {
        if let Some(layer) = self.layers.get_mut(info.index) {
            layer.info = Some(info);
        }
    }

    pub fn set_progress(&mut self, progress: Progress) {
        self.progress = Some(progress);
    }

    pub fn progress(&self) -> Option<&Progress> {
        self.progress.as_ref()
    }

    /// Whether the layer list is known yet (a stream's description comes at its end).
    pub fn described(&self) -> bool {
        self.described
    }

    pub fn layers(&self) -> &[LoadingLayer] {
        &self.layers
    }

    /// Layers merged into the tree so far: they are merged in order, so these are the
    /// first ones.
    pub fn merged(&self) -> usize {
        self.layers
            .iter()
            .take_while(|layer| layer.info.is_some())
            .count()
    }

    /// The selected layer.
    pub fn cursor(&self) -> usize {
        self.cursor
    }

    pub fn scroll(&self) -> usize {
        self.scroll
    }

    /// The layer list shows `rows` rows (the screen's layout says).
    pub fn set_rows(&mut self, rows: usize) {
        self.rows = rows.max(1);
        self.scroll = super::follow(self.cursor, self.scroll, self.rows);
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Move the selection by `delta` layers, within the list.
    pub fn move_cursor(&mut self, delta: isize) {
        self.cursor = super::step(self.cursor, delta, self.layers.len());
        self.scroll = super::follow(self.cursor, self.scroll, self.rows);
    }
}
