//! The comparison view's model (`layerscope diff A B --tui`), with no terminal in it:
//!
//! - the two layer stacks as rows: the common base (the same diff_id at the same height in
//!   both, so one layer stored and pulled once) as joined rows, then each stack's own
//!   layers side by side from the divergence on;
//! - the merged tree of both final filesystems, one node per path that either holds,
//!   marked with [`crate::analysis::compare`]'s verdict on it: the comparison is the one
//!   `diff` prints, never a second reckoning;
//! - the cursors, the collapsed directories, the filter and the hidden change kinds.
//!
//! The merged tree holds node ids of A's and B's trees, not names, and is built once. Its
//! visible rows are re-walked when the filter or the hidden kinds change and spliced when
//! a directory collapses or opens; the terminal draws only the rows on screen.

use super::filetree::{fix_guides, Filter, Row, SortOrder, ViewOptions};
use super::{follow, step, Message};
use crate::analysis::compare::{Comparison, PathChange};
use crate::layer::{EntryKind, Meta};
use crate::limits::{self, LimitError, Limited, MAX_IDS};
use crate::model::{LayerInfo, LoadedImage};
use crate::source::Compression;
use crate::tree::{DiffKind, NodeId, Version, NONE, ROOT};
use std::collections::HashSet;

/// One of the two images.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    A,
    B,
}

/// One row of the layer columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LayerRow {
    /// Layer `index` of both stacks: the same diff_id at the same height, below the
    /// divergence. Drawn once, across both columns.
    Joined(usize),
    /// Height `index` from the divergence on: A's layer and B's layer there, side by side
    /// (a stack that has ended shows nothing).
    Split(usize),
}

/// An image's final filesystem, as the merged tree reads it.
struct Final {
    image: LoadedImage,
    /// The top layer; `None` for an image without layers.
    top: Option<usize>,
    /// Subtree content sizes after the top layer, by node.
    sizes: Vec<u64>,
}

impl Final {
    fn new(image: LoadedImage) -> Final {
        let top = image.tree.layer_count().checked_sub(1);
        let sizes = top.map_or_else(Vec::new, |top| image.tree.subtree_sizes(top));
        Final { image, top, sizes }
    }

    fn live(&self, node: NodeId) -> Option<&Version> {
        if node == NONE {
            return None;
        }
        self.image.tree.live_at(node, self.top?)
    }

    fn is_dir(&self, node: NodeId) -> bool {
        node == ROOT
            || self
                .live(node)
                .is_some_and(|v| self.meta(v).kind == EntryKind::Dir)
    }

    fn meta(&self, version: &Version) -> Meta {
        self.image.tree.meta(version)
    }

    /// The live children of a directory (none for a file or an absent path).
    fn dir_children(&self, node: NodeId) -> Vec<NodeId> {
        if node == NONE || self.top.is_none() || !self.is_dir(node) {
            return Vec::new();
        }
        let tree = &self.image.tree;
        tree.children(node)
            .iter()
            .copied()
            .filter(|&c| self.live(c).is_some())
            .collect()
    }

    /// Content bytes: of the file, or of everything below a directory.
    fn size(&self, node: NodeId) -> u64 {
        let Some(version) = self.live(node) else {
            return 0;
        };
        if self.meta(version).kind == EntryKind::Dir {
            self.sizes.get(node as usize).copied().unwrap_or(0)
        } else {
            self.image.tree.content_size(version)
        }
    }
}

/// A path of the merged tree.
#[derive(Debug, Clone, Copy)]
struct Node {
    parent: u32,
    /// The path's node in A's and in B's tree; [`NONE`] where that image does not hold it.
    a: NodeId,
    b: NodeId,
    children_start: u32,
    children_len: u32,
    kind: DiffKind,
    /// A directory in either image: its children are both directories' children.
    is_dir: bool,
    /// Index of the path's entry in the comparison's changes; [`NONE`] when unchanged.
    change: u32,
    /// The size delta at and below the path: its own change's, plus, for a directory,
    /// the sum of the changes below it.
    delta: i64,
}

/// Both final filesystems as one tree, nodes in breadth-first order: a directory's
/// children are contiguous and sorted by name, and a parent's id is below its children's.
struct MergedTree {
    nodes: Vec<Node>,
    a: Final,
    b: Final,
}

impl MergedTree {
    /// Walk both trees together, name by name, descending where either side is a
    /// directory (into that side only), as [`crate::analysis::compare`] walks them.
    fn build(a: Final, b: Final) -> Result<MergedTree, LimitError> {
        let root = Node {
            parent: ROOT,
            a: ROOT,
            b: ROOT,
            children_start: 0,
            children_len: 0,
            kind: DiffKind::Unchanged,
            is_dir: true,
            change: NONE,
            delta: 0,
        };
        let mut nodes = vec![root];
        let mut at = 0;
        while at < nodes.len() {
            let (ka, kb) = (a.dir_children(nodes[at].a), b.dir_children(nodes[at].b));
            let start = nodes.len();
            let (mut i, mut j) = (0, 0);
            while i < ka.len() || j < kb.len() {
                let name_a = ka.get(i).map(|&n| a.image.tree.name(n));
                let name_b = kb.get(j).map(|&n| b.image.tree.name(n));
                let (na, nb) = match (name_a, name_b) {
                    (Some(x), Some(y)) if x == y => {
                        i += 1;
                        j += 1;
                        (ka[i - 1], kb[j - 1])
                    }
                    (Some(x), Some(y)) if x < y => {
                        i += 1;
                        (ka[i - 1], NONE)
                    }
                    (Some(_), None) => {
                        i += 1;
                        (ka[i - 1], NONE)
                    }
                    _ => {
                        j += 1;
                        (NONE, kb[j - 1])
                    }
                };
                limits::next_id(Limited::Nodes, nodes.len(), MAX_IDS)?;
                nodes.push(Node {
                    parent: limits::to_u32(at),
                    a: na,
                    b: nb,
                    children_start: 0,
                    children_len: 0,
                    kind: DiffKind::Unchanged,
                    is_dir: (na != NONE && a.is_dir(na)) || (nb != NONE && b.is_dir(nb)),
                    change: NONE,
                    delta: 0,
                });
            }
            nodes[at].children_start = limits::to_u32(start);
            nodes[at].children_len = limits::to_u32(nodes.len() - start);
            at += 1;
        }
        Ok(MergedTree { nodes, a, b })
    }

    fn len(&self) -> usize {
        self.nodes.len()
    }

    fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id as usize]
    }

    fn children(&self, id: NodeId) -> std::ops::Range<NodeId> {
        let node = self.node(id);
        node.children_start..node.children_start + node.children_len
    }

    fn name(&self, id: NodeId) -> &[u8] {
        let node = self.node(id);
        if node.a != NONE {
            self.a.image.tree.name(node.a)
        } else if node.b != NONE {
            self.b.image.tree.name(node.b)
        } else {
            b""
        }
    }

    /// The absolute path of a node (`/` for the root).
    fn path(&self, id: NodeId) -> Vec<u8> {
        let mut names = Vec::new();
        let mut at = id;
        while at != ROOT {
            names.push(self.name(at));
            at = self.node(at).parent;
        }
        if names.is_empty() {
            return b"/".to_vec();
        }
        let mut path = Vec::new();
        for name in names.iter().rev() {
            path.push(b'/');
            path.extend_from_slice(name);
        }
        path
    }

    /// The node of an absolute path, found name by name.
    fn lookup(&self, path: &[u8]) -> Option<NodeId> {
        let mut at = ROOT;
        for name in path.split(|&c| c == b'/').filter(|n| !n.is_empty()) {
            at = self.child(at, name)?;
        }
        Some(at)
    }

    /// The child of `parent` called `name`. Children are sorted by name and numbered in a
    /// row, so this is a binary search over their ids.
    fn child(&self, parent: NodeId, name: &[u8]) -> Option<NodeId> {
        let std::ops::Range {
            start: mut low,
            end: mut high,
        } = self.children(parent);
        while low < high {
            let middle = low + (high - low) / 2;
            match self.name(middle).cmp(name) {
                std::cmp::Ordering::Less => low = middle + 1,
                std::cmp::Ordering::Greater => high = middle,
                std::cmp::Ordering::Equal => return Some(middle),
            }
        }
        None
    }

    /// The image whose state a row shows: B's, or A's for a path B deleted.
    fn shown(&self, id: NodeId) -> (&Final, NodeId) {
        let node = self.node(id);
        if node.b != NONE {
            (&self.b, node.b)
        } else {
            (&self.a, node.a)
        }
    }

    fn size(&self, id: NodeId) -> u64 {
        let (side, node) = self.shown(id);
        side.size(node)
    }
}

/// Looks paths up one after another, starting each from the deepest directory it shares
/// with the path before.
#[derive(Default)]
struct Finder {
    previous: Vec<u8>,
    /// The nodes of the previous path's components, with where each name ends in it.
    found: Vec<(usize, NodeId)>,
}

impl Finder {
    fn find(&mut self, tree: &MergedTree, path: &[u8]) -> Option<NodeId> {
        // Keep the components both paths have whole (sorted paths mostly share the last).
        while let Some(&(end, _)) = self.found.last() {
            let same = path.get(..end) == self.previous.get(..end);
            if same && path.get(end).is_none_or(|&c| c == b'/') {
                break;
            }
            self.found.pop();
        }
        self.previous.clear();
        self.previous.extend_from_slice(path);
        let (mut offset, mut at) = self.found.last().copied().unwrap_or((0, ROOT));
        while offset < path.len() {
            let start = offset + usize::from(path[offset] == b'/');
            let end = path[start..]
                .iter()
                .position(|&c| c == b'/')
                .map_or(path.len(), |p| start + p);
            offset = end;
            if start == end {
                continue;
            }
            at = tree.child(at, &path[start..end])?;
            self.found.push((end, at));
        }
        Some(at)
    }
}

/// Whether `needle` occurs in `haystack` (an empty needle does everywhere).
fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || haystack.windows(needle.len()).any(|w| w == needle)
}

/// A directory's children in display order.
enum Children {
    /// By name: the ids in a row, as the tree numbers them.
    Named(std::ops::Range<NodeId>),
    /// By size, largest first.
    Sorted(std::vec::IntoIter<NodeId>),
}

impl Iterator for Children {
    type Item = NodeId;

    fn next(&mut self) -> Option<NodeId> {
        match self {
            Children::Named(range) => range.next(),
            Children::Sorted(list) => list.next(),
        }
    }
}

/// Per node: shown for itself (a shown change kind, matching the filter).
const OWN: u8 = 1;
/// Per node: a directory with an [`OWN`] node below.
const INNER: u8 = 2;

/// The visible rows of the merged tree.
#[derive(Debug, Default)]
struct Rows {
    rows: Vec<Row>,
    options: ViewOptions,
    /// Directories whose collapsed state differs from `collapse_default`.
    toggled: HashSet<NodeId>,
    collapse_default: bool,
    /// [`OWN`] and [`INNER`] bits when the options hide paths; empty when all are shown.
    marks: Vec<u8>,
    matches: usize,
}

impl Rows {
    fn is_collapsed(&self, node: NodeId) -> bool {
        self.collapse_default != self.toggled.contains(&node)
    }

    /// Mark what the options show: each path on its own merit, then its directories.
    fn mark(&mut self, tree: &MergedTree) {
        self.marks.clear();
        self.matches = 0;
        if self.options.shows_everything() {
            return;
        }
        self.marks.resize(tree.len(), 0);
        let filter = self.options.filter.as_ref();
        // (node, path length before its name, whether that path matched); the path is
        // built as the walk goes.
        let mut path = Vec::new();
        let mut stack: Vec<(NodeId, usize, bool)> =
            tree.children(ROOT).map(|c| (c, 0, false)).collect();
        while let Some((node, len, inherited)) = stack.pop() {
            path.truncate(len);
            path.push(b'/');
            path.extend_from_slice(tree.name(node));
            let matched = match filter {
                None => true,
                // A path below a matching one matches; a new match ends in the new name, so
                // only the bytes it can span are searched: a deep path is not rescanned at
                // every level.
                Some(Filter::Substring(needle)) => {
                    let from = len.saturating_sub(needle.len().saturating_sub(1));
                    inherited || contains(&path[from..], needle)
                }
                // A package filter matches nothing here: the comparison reads no package database.
                Some(other) => other.matches(node, &path),
            };
            if matched && self.options.shows(tree.node(node).kind) {
                self.marks[node as usize] |= OWN;
                self.matches += 1;
            }
            let end = path.len();
            stack.extend(tree.children(node).map(|c| (c, end, matched)));
        }
        if filter.is_none() {
            self.matches = 0;
        }
        // Children have larger ids than their parents: one pass upwards reaches the root.
        for id in (1..tree.len()).rev() {
            if self.marks[id] != 0 {
                let parent = tree.nodes[id].parent as usize;
                self.marks[parent] |= INNER;
            }
        }
    }

    /// The children of `node` in display order: their ids in a row when sorted by name.
    fn ordered(&self, tree: &MergedTree, node: NodeId) -> Children {
        let children = tree.children(node);
        if self.options.sort == SortOrder::Size {
            let mut children: Vec<NodeId> = children.collect();
            // Stable: equal sizes stay in name order.
            children.sort_by_key(|&c| std::cmp::Reverse(tree.size(c)));
            Children::Sorted(children.into_iter())
        } else {
            Children::Named(children)
        }
    }

    /// Push the visible rows below `top` (theirs at `depth`) in display order, guides unset.
    fn walk(&self, tree: &MergedTree, top: NodeId, depth: u16, out: &mut Vec<Row>) {
        struct Frame {
            children: Children,
            depth: u16,
        }
        let marked = !self.marks.is_empty();
        let mut stack = vec![Frame {
            children: self.ordered(tree, top),
            depth,
        }];
        while let Some(frame) = stack.last_mut() {
            let Some(node) = frame.children.next() else {
                stack.pop();
                continue;
            };
            let depth = frame.depth;
            if marked && self.marks[node as usize] == 0 {
                continue;
            }
            let merged = tree.node(node);
            out.push(Row {
                node,
                depth,
                change: merged.kind,
                is_dir: merged.is_dir,
                last: false,
                guides: 0,
            });
            if merged.is_dir && merged.children_len > 0 && !self.is_collapsed(node) {
                stack.push(Frame {
                    children: self.ordered(tree, node),
                    depth: depth.saturating_add(1),
                });
            }
        }
    }

    fn rebuild(&mut self, tree: &MergedTree) {
        self.mark(tree);
        let mut rows = std::mem::take(&mut self.rows);
        rows.clear();
        self.walk(tree, ROOT, 0, &mut rows);
        fix_guides(&mut rows, 0, 0);
        self.rows = rows;
    }

    /// Collapse or open the directory at row `index`, splicing its rows; false when the
    /// row is not a directory.
    fn toggle_collapse(&mut self, tree: &MergedTree, index: usize) -> bool {
        let Some(&row) = self.rows.get(index) else {
            return false;
        };
        if !row.is_dir {
            return false;
        }
        if !self.toggled.remove(&row.node) {
            self.toggled.insert(row.node);
        }
        if self.is_collapsed(row.node) {
            let end = self.subtree_end(index);
            self.rows.drain(index + 1..end);
        } else {
            let mut segment = Vec::new();
            self.walk(tree, row.node, row.depth.saturating_add(1), &mut segment);
            let base = row.guides | if row.last { 0 } else { 1 << row.depth.min(63) };
            fix_guides(&mut segment, row.depth.saturating_add(1), base);
            self.rows.splice(index + 1..index + 1, segment);
        }
        true
    }

    fn subtree_end(&self, index: usize) -> usize {
        let depth = self.rows[index].depth;
        self.rows[index + 1..]
            .iter()
            .position(|r| r.depth <= depth)
            .map_or(self.rows.len(), |p| index + 1 + p)
    }

    fn position(&self, node: NodeId) -> Option<usize> {
        self.rows.iter().position(|r| r.node == node)
    }

    fn parent_index(&self, index: usize) -> Option<usize> {
        let depth = self.rows.get(index)?.depth;
        (0..index).rev().find(|&i| self.rows[i].depth < depth)
    }
}

/// The comparison view's state: both images, the comparison, and every cursor over them.
pub struct CompareView {
    tree: MergedTree,
    comparison: Comparison,
    layer_rows: Vec<LayerRow>,
    layer_cursor: usize,
    layer_scroll: usize,
    rows: Rows,
    file_cursor: usize,
    file_scroll: usize,
    /// Whether the tree shows permissions, owner and size.
    pub attributes: bool,
    layer_height: usize,
    file_height: usize,
    /// The status bar's message; cleared by the next key.
    pub message: Option<Message>,
}

impl CompareView {
    /// The view of `comparison`, which [`crate::analysis::compare::compare`] made from
    /// `a` and `b`. Fails only when the two trees together hold more paths than the
    /// model's ids can number.
    pub fn new(
        a: LoadedImage,
        b: LoadedImage,
        comparison: Comparison,
    ) -> Result<CompareView, LimitError> {
        let (len_a, len_b) = (a.layers.len(), b.layers.len());
        let base = comparison.common_base.min(len_a).min(len_b);
        let layer_rows = (0..base)
            .map(LayerRow::Joined)
            .chain((base..len_a.max(len_b)).map(LayerRow::Split))
            .collect();
        let mut tree = MergedTree::build(Final::new(a), Final::new(b))?;
        // Both lists are sorted bytewise: each lookup starts where the previous path's
        // shared prefix ends, so a long chain of nested changes costs its length, not its
        // square.
        let mut finder = Finder::default();
        for (index, change) in comparison.changes.iter().enumerate() {
            // Every changed path is a path of one of the two trees, so it is here.
            if let Some(id) = finder.find(&tree, &change.path) {
                let node = &mut tree.nodes[id as usize];
                node.kind = change.kind;
                node.change = limits::to_u32(index);
                node.delta = change.delta();
            }
        }
        // A directory's delta is everything at and below it: its own change (a file that
        // became a directory) and the sum below, which the comparison keeps per directory.
        let mut finder = Finder::default();
        for (path, delta) in &comparison.directories {
            if let Some(id) = finder.find(&tree, path) {
                let node = &mut tree.nodes[id as usize];
                node.delta = node.delta.saturating_add(*delta);
            }
        }
        // Only the changes and their directories, unless nothing changed.
        let options = ViewOptions {
            show_unchanged: comparison.changes.is_empty(),
            ..ViewOptions::default()
        };
        let mut rows = Rows {
            options,
            ..Rows::default()
        };
        rows.rebuild(&tree);
        Ok(CompareView {
            tree,
            comparison,
            layer_rows,
            layer_cursor: 0,
            layer_scroll: 0,
            rows,
            file_cursor: 0,
            file_scroll: 0,
            attributes: true,
            layer_height: 1,
            file_height: 1,
            message: None,
        })
    }

    pub fn comparison(&self) -> &Comparison {
        &self.comparison
    }

    pub fn image(&self, side: Side) -> &LoadedImage {
        match side {
            Side::A => &self.tree.a.image,
            Side::B => &self.tree.b.image,
        }
    }

    /// Tell the model how many rows its two lists show; scroll offsets follow the cursors.
    pub fn set_viewport(&mut self, layer_rows: usize, file_rows: usize) {
        self.layer_height = layer_rows;
        self.file_height = file_rows;
        self.keep_visible();
    }

    /// Rows the layer list and the tree show, as the layout last said.
    pub fn viewport(&self) -> (usize, usize) {
        (self.layer_height, self.file_height)
    }

    fn keep_visible(&mut self) {
        self.layer_scroll = follow(self.layer_cursor, self.layer_scroll, self.layer_height).min(
            self.layer_rows
                .len()
                .saturating_sub(self.layer_height.max(1)),
        );
        self.file_scroll = follow(self.file_cursor, self.file_scroll, self.file_height)
            .min(self.rows.rows.len().saturating_sub(self.file_height.max(1)));
    }

    // The layer columns.

    pub fn layer_rows(&self) -> &[LayerRow] {
        &self.layer_rows
    }

    pub fn layer_cursor(&self) -> usize {
        self.layer_cursor
    }

    pub fn layer_scroll(&self) -> usize {
        self.layer_scroll
    }

    pub fn selected_layer_row(&self) -> Option<LayerRow> {
        self.layer_rows.get(self.layer_cursor).copied()
    }

    pub fn move_layer(&mut self, delta: isize) {
        self.layer_cursor = step(self.layer_cursor, delta, self.layer_rows.len());
        self.keep_visible();
    }

    /// Select the layer row on line `offset` of the list as drawn.
    pub fn click_layer(&mut self, offset: usize) {
        let target = self.layer_scroll + offset;
        if target < self.layer_rows.len() {
            self.layer_cursor = target;
        }
        self.keep_visible();
    }

    /// Facts of one image's layer `index`, if it has one.
    pub fn layer(&self, side: Side, index: usize) -> Option<&LayerInfo> {
        self.image(side).layers.get(index)
    }

    /// How one image stores its layer `index`: as measured when the blob was read, else
    /// (a layer shared with the other image is read once, from the other's blob) as its
    /// media type declares it.
    pub fn stored_compression(&self, side: Side, index: usize) -> Option<Compression> {
        let image = self.image(side);
        image
            .layers
            .get(index)
            .and_then(|l| l.compression)
            .or_else(|| {
                let declared = image.image.layers.get(index)?.media_type.as_deref()?;
                Compression::from_media_type(declared)
            })
    }

    /// The layer of the other image with the same diff_id as `side`'s layer `index`, for
    /// a layer both hold above the divergence (at another height, or over another base).
    pub fn shared_elsewhere(&self, side: Side, index: usize) -> Option<usize> {
        if index < self.comparison.common_base {
            return None;
        }
        self.comparison.shared.iter().find_map(|s| match side {
            Side::A if s.index_a == index => Some(s.index_b),
            Side::B if s.index_b == index => Some(s.index_a),
            _ => None,
        })
    }

    // The merged tree.

    pub fn rows(&self) -> &[Row] {
        &self.rows.rows
    }

    pub fn file_cursor(&self) -> usize {
        self.file_cursor
    }

    pub fn file_scroll(&self) -> usize {
        self.file_scroll
    }

    pub fn options(&self) -> &ViewOptions {
        &self.rows.options
    }

    /// Paths the filter matches among the shown kinds (0 without a filter).
    pub fn match_count(&self) -> usize {
        self.rows.matches
    }

    pub fn is_collapsed(&self, node: NodeId) -> bool {
        self.rows.is_collapsed(node)
    }

    pub fn selected_node(&self) -> Option<NodeId> {
        self.rows.rows.get(self.file_cursor).map(|r| r.node)
    }

    /// A node's name, raw bytes (escape it to show it).
    pub fn name(&self, node: NodeId) -> &[u8] {
        self.tree.name(node)
    }

    /// A node's absolute path, raw bytes.
    pub fn path(&self, node: NodeId) -> Vec<u8> {
        self.tree.path(node)
    }

    /// The node of an absolute path, if either image holds it.
    pub fn lookup(&self, path: &[u8]) -> Option<NodeId> {
        self.tree.lookup(path)
    }

    /// How B differs from A at this path.
    pub fn kind(&self, node: NodeId) -> DiffKind {
        self.tree.node(node).kind
    }

    /// The comparison's entry for the path, when it changed.
    pub fn change(&self, node: NodeId) -> Option<&PathChange> {
        let index = self.tree.node(node).change;
        (index != NONE).then(|| &self.comparison.changes[index as usize])
    }

    /// The size delta from A to B at and below the path: a changed path's own, plus for a
    /// directory the sum of the changes below it (`diff`'s per-directory delta); `None`
    /// for a path with no change at or below it.
    pub fn delta(&self, node: NodeId) -> Option<i64> {
        let merged = self.tree.node(node);
        (merged.change != NONE || merged.delta != 0).then_some(merged.delta)
    }

    /// Content bytes as the row shows them: B's, or A's for a path B deleted (everything
    /// below it for a directory).
    pub fn size(&self, node: NodeId) -> u64 {
        self.tree.size(node)
    }

    /// The metadata the row shows (B's, or A's for a deleted path) and the symlink or
    /// hardlink target, raw bytes.
    pub fn meta(&self, node: NodeId) -> Option<(Meta, &[u8])> {
        let (side, id) = self.tree.shown(node);
        let version = side.live(id)?;
        let meta = side.meta(version);
        let link = match meta.kind {
            EntryKind::Symlink | EntryKind::Hardlink => side.image.tree.version_link(version),
            _ => &[],
        };
        Some((meta, link))
    }

    pub fn move_file(&mut self, delta: isize) {
        self.file_cursor = step(self.file_cursor, delta, self.rows.rows.len());
        self.keep_visible();
    }

    /// Select the tree row on line `offset` as drawn; a click on the selected directory
    /// collapses or opens it.
    pub fn click_file(&mut self, offset: usize) {
        let target = self.file_scroll + offset;
        if target < self.rows.rows.len() {
            if target == self.file_cursor {
                self.toggle_collapse();
            } else {
                self.file_cursor = target;
            }
        }
        self.keep_visible();
    }

    /// Change what rows are shown (filter, hidden kinds, sort), keeping the selection.
    pub fn set_view_options(&mut self, change: impl FnOnce(&mut ViewOptions)) {
        let keep = self.selected_node();
        change(&mut self.rows.options);
        self.rows.rebuild(&self.tree);
        self.reselect(keep);
    }

    pub fn set_filter(&mut self, filter: Option<Filter>) {
        self.set_view_options(|o| o.filter = filter);
    }

    fn reselect(&mut self, node: Option<NodeId>) {
        if let Some(at) = node.and_then(|n| self.rows.position(n)) {
            self.file_cursor = at;
        }
        self.file_cursor = self.file_cursor.min(self.rows.rows.len().saturating_sub(1));
        self.keep_visible();
    }

    pub fn toggle_collapse(&mut self) {
        if self.rows.toggle_collapse(&self.tree, self.file_cursor) {
            self.keep_visible();
        }
    }

    pub fn toggle_collapse_all(&mut self) {
        let keep = self.selected_node();
        self.rows.collapse_default = !self.rows.collapse_default;
        self.rows.toggled.clear();
        self.rows.rebuild(&self.tree);
        self.reselect(keep);
    }

    /// Left: collapse an open directory, else go to the parent.
    pub fn left(&mut self) {
        let Some(row) = self.rows.rows.get(self.file_cursor).copied() else {
            return;
        };
        if row.is_dir && !self.rows.is_collapsed(row.node) {
            self.rows.toggle_collapse(&self.tree, self.file_cursor);
        } else if let Some(parent) = self.rows.parent_index(self.file_cursor) {
            self.file_cursor = parent;
        }
        self.keep_visible();
    }

    /// Right: open a collapsed directory, else go to its first child.
    pub fn right(&mut self) {
        let Some(row) = self.rows.rows.get(self.file_cursor).copied() else {
            return;
        };
        if row.is_dir && self.rows.is_collapsed(row.node) {
            self.rows.toggle_collapse(&self.tree, self.file_cursor);
        } else if row.is_dir
            && self
                .rows
                .rows
                .get(self.file_cursor + 1)
                .is_some_and(|next| next.depth > row.depth)
        {
            self.file_cursor += 1;
        }
        self.keep_visible();
    }

    pub fn inform(&mut self, text: impl Into<String>) {
        self.message = Some(Message {
            text: text.into(),
            error: false,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::compare::compare;
    use crate::explore::tests::loaded;
    use crate::layer::ParsedLayer;

    fn layer(entries: &[(&str, EntryKind, u64)]) -> ParsedLayer {
        let mut layer = ParsedLayer::default();
        for &(path, kind, hash) in entries {
            let meta = Meta {
                kind,
                mode: 0o644,
                uid: 0,
                gid: 0,
                size: if kind == EntryKind::File {
                    hash * 10
                } else {
                    0
                },
                hash,
                offset: 0,
            };
            layer.push(path.as_bytes(), b"", meta);
        }
        layer
    }

    /// A: /etc/{a,b}, /old/x, /same; B: /etc/a changed, /etc/c added, /old gone, /same kept,
    /// and /f a file in A that is a directory in B.
    fn view() -> CompareView {
        use EntryKind::{Dir, File};
        let a = loaded(&[layer(&[
            ("etc", Dir, 0),
            ("etc/a", File, 1),
            ("etc/b", File, 2),
            ("old/x", File, 3),
            ("same", File, 4),
            ("f", File, 5),
        ])]);
        let b = loaded(&[layer(&[
            ("etc", Dir, 0),
            ("etc/a", File, 11),
            ("etc/b", File, 2),
            ("etc/c", File, 6),
            ("same", File, 4),
            ("f/inside", File, 7),
        ])]);
        let comparison = compare(&a, &b);
        CompareView::new(a, b, comparison).unwrap()
    }

    fn paths(view: &CompareView) -> Vec<String> {
        view.rows()
            .iter()
            .map(|r| String::from_utf8_lossy(&view.path(r.node)).into_owned())
            .collect()
    }

    #[test]
    fn every_change_of_the_comparison_marks_its_node_and_nothing_else_changes() {
        let view = view();
        let changes = &view.comparison().changes;
        assert!(!changes.is_empty());
        for change in changes {
            let node = view
                .lookup(&change.path)
                .expect("a changed path is in the tree");
            assert_eq!(view.kind(node), change.kind);
            let below = view
                .comparison()
                .directories
                .iter()
                .find(|(p, _)| *p == change.path)
                .map_or(0, |(_, d)| *d);
            assert_eq!(view.delta(node), Some(change.delta() + below));
        }
        // /f was a 50-byte file and is a directory holding 70 bytes: +20 in all.
        assert_eq!(view.delta(view.lookup(b"/f").unwrap()), Some(20));
        let marked = (1..view.tree.len() as NodeId)
            .filter(|&n| view.kind(n) != DiffKind::Unchanged)
            .count();
        assert_eq!(marked, changes.len());
    }

    #[test]
    fn unchanged_paths_are_hidden_until_asked_for() {
        let mut view = view();
        assert_eq!(
            paths(&view),
            [
                "/etc",
                "/etc/a",
                "/etc/c",
                "/f",
                "/f/inside",
                "/old",
                "/old/x"
            ]
        );
        view.set_view_options(|o| o.show_unchanged = true);
        assert_eq!(
            paths(&view),
            [
                "/etc",
                "/etc/a",
                "/etc/b",
                "/etc/c",
                "/f",
                "/f/inside",
                "/old",
                "/old/x",
                "/same"
            ]
        );
        // Directories carry the delta of what changed below them.
        let etc = view.lookup(b"/etc").unwrap();
        assert_eq!(view.delta(etc), Some((110 - 10) + 60));
        assert_eq!(view.delta(view.lookup(b"/same").unwrap()), None);
    }

    #[test]
    fn filter_collapse_and_moves_keep_the_rows_consistent() {
        let mut view = view();
        view.set_viewport(3, 3);
        view.set_filter(Some(Filter::parse("inside").unwrap()));
        assert_eq!(paths(&view), ["/f", "/f/inside"]);
        assert_eq!(view.match_count(), 1);
        view.set_filter(None);
        view.move_file(isize::MAX / 2);
        assert_eq!(view.file_cursor(), 6);
        assert_eq!(view.file_scroll(), 4);
        view.move_file(isize::MIN / 2);
        view.toggle_collapse();
        assert_eq!(paths(&view), ["/etc", "/f", "/f/inside", "/old", "/old/x"]);
        view.toggle_collapse();
        assert_eq!(paths(&view).len(), 7);
        view.toggle_collapse_all();
        assert_eq!(paths(&view), ["/etc", "/f", "/old"]);
        view.right();
        assert_eq!(paths(&view).len(), 5);
        view.right();
        assert_eq!(view.file_cursor(), 1);
        view.left();
        assert_eq!(view.file_cursor(), 0);
    }

    #[test]
    fn size_order_puts_the_largest_first_within_each_directory() {
        let mut view = view();
        view.set_view_options(|o| {
            o.show_unchanged = true;
            o.sort = SortOrder::Size;
        });
        // /etc holds 110 + 20 + 60 bytes, /f 70, /same 40, /old (deleted, as in A) 30.
        let top: Vec<String> = view
            .rows()
            .iter()
            .filter(|r| r.depth == 0)
            .map(|r| String::from_utf8_lossy(&view.path(r.node)).into_owned())
            .collect();
        assert_eq!(top, ["/etc", "/f", "/same", "/old"]);
        assert_eq!(paths(&view)[1..4], ["/etc/a", "/etc/c", "/etc/b"]);
    }

    #[test]
    fn a_path_20000_levels_deep() {
        let depth = 20_000;
        let path = format!("{}file", "d/".repeat(depth));
        let a = loaded(&[layer(&[("other", EntryKind::File, 1)])]);
        let b = loaded(&[layer(&[(&path, EntryKind::File, 2)])]);
        let comparison = compare(&a, &b);
        // The per-directory sums stop at their documented depth; the root's is still the
        // sum of every change's delta.
        let max = crate::analysis::compare::MAX_DIRECTORY_DEPTH;
        assert_eq!(comparison.directories.len(), max + 1);
        assert!(comparison
            .directories
            .iter()
            .all(|(path, _)| path.len() <= 2 * max));
        let root = comparison
            .directories
            .iter()
            .find(|(p, _)| p == b"/")
            .unwrap();
        assert_eq!(root.1, comparison.totals.listed_delta);
        let mut view = CompareView::new(a, b, comparison).unwrap();
        assert_eq!(view.rows().len(), depth + 2);
        let deepest = view.rows()[depth].node;
        assert_eq!(view.kind(deepest), DiffKind::Added);
        assert_eq!(view.path(deepest), format!("/{path}").into_bytes());
        assert_eq!(view.lookup(&view.path(deepest)), Some(deepest));
        view.set_filter(Some(Filter::parse("file").unwrap()));
        assert_eq!(view.rows().len(), depth + 1);
        view.toggle_collapse_all();
        assert_eq!(view.rows().len(), 1);
    }

    #[test]
    fn the_finder_agrees_with_a_lookup_from_the_root_in_bytewise_order() {
        use EntryKind::{Dir, File};
        let a = loaded(&[layer(&[
            ("a", Dir, 0),
            ("a/x", File, 1),
            ("a-b", File, 2),
            ("ab/c", File, 3),
            ("ab/c/d", File, 4),
        ])]);
        let b = loaded(&[layer(&[("a/y", File, 5)])]);
        let comparison = compare(&a, &b);
        let view = CompareView::new(a, b, comparison).unwrap();
        // Bytewise: `-` sorts before `/`, so /a-b comes between /a and /a/x.
        let mut paths: Vec<&[u8]> = vec![
            b"/a", b"/a-b", b"/a/x", b"/a/y", b"/ab", b"/ab/c", b"/ab/c/d", b"/nope", b"/a/x",
        ];
        paths.sort_unstable();
        let mut finder = Finder::default();
        for path in paths {
            assert_eq!(
                finder.find(&view.tree, path),
                view.lookup(path),
                "{}",
                String::from_utf8_lossy(path)
            );
        }
        assert!(view.lookup(b"/ab/c/d").is_some());
        assert!(view.lookup(b"/nope").is_none());
    }

    #[test]
    fn a_deleted_path_shows_as_it_was_in_a() {
        let view = view();
        let x = view.lookup(b"/old/x").unwrap();
        assert_eq!(view.kind(x), DiffKind::Removed);
        assert_eq!(view.size(x), 30);
        assert_eq!(view.meta(x).map(|(m, _)| m.kind), Some(EntryKind::File));
    }
}
