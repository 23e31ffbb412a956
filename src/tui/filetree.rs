//! The file tree as the explorer shows it: a flat list of visible rows, in display order.
//!
//! Plain data, no rendering. The merged [`Tree`] is never copied: a row is a node id plus
//! what drawing it needs (depth, change, tree guides). Expanding or collapsing a directory
//! splices its visible descendants in or out. A change of layer, mode, filter or sort
//! re-walks the tree, reusing the row buffer; without a filter or a hidden change kind the
//! walk never enters collapsed directories.

use crate::layer::EntryKind;
use crate::tree::{ChangeCounts, DiffKind, NodeId, Tree, Version, ROOT};
use std::collections::{HashMap, HashSet};

/// Which two points of the layer stack are compared: the tree shown is the one after
/// `to`, coloured by what changed since `from` (`None`: the empty filesystem).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Compare {
    pub from: Option<usize>,
    pub to: usize,
}

/// Sort order within each directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortOrder {
    #[default]
    Name,
    /// Largest first (directories by subtree size); ties by name.
    Size,
}

/// A path filter. Matched against the full path (`/usr/lib/x`), so the contents of a
/// matching directory match too.
#[derive(Debug, Clone)]
pub enum Filter {
    Substring(Vec<u8>),
    Regex(regex::bytes::Regex),
}

impl Filter {
    /// A regex when the text parses as one and has regex syntax in it, else a substring.
    pub fn parse(text: &str) -> Result<Filter, String> {
        let special = text.chars().any(|c| "^$.*+?()[]{}|\\".contains(c));
        if special {
            regex::bytes::Regex::new(text)
                .map(Filter::Regex)
                .map_err(|e| e.to_string().lines().last().unwrap_or("bad regex").into())
        } else {
            Ok(Filter::Substring(text.as_bytes().to_vec()))
        }
    }

    pub fn matches(&self, path: &[u8]) -> bool {
        match self {
            Filter::Substring(needle) => {
                needle.is_empty() || path.windows(needle.len()).any(|w| w == needle.as_slice())
            }
            Filter::Regex(regex) => regex.is_match(path),
        }
    }
}

/// What rows are shown.
#[derive(Debug, Clone)]
pub struct ViewOptions {
    pub show_added: bool,
    pub show_removed: bool,
    pub show_modified: bool,
    pub show_unchanged: bool,
    pub filter: Option<Filter>,
    pub sort: SortOrder,
}

impl Default for ViewOptions {
    fn default() -> Self {
        ViewOptions {
            show_added: true,
            show_removed: true,
            show_modified: true,
            show_unchanged: true,
            filter: None,
            sort: SortOrder::Name,
        }
    }
}

impl ViewOptions {
    pub fn shows(&self, kind: DiffKind) -> bool {
        match kind {
            DiffKind::Added => self.show_added,
            DiffKind::Removed => self.show_removed,
            DiffKind::Modified => self.show_modified,
            DiffKind::Unchanged => self.show_unchanged,
        }
    }

    /// Whether every present path is shown, so collapsed directories need no look inside.
    fn shows_everything(&self) -> bool {
        self.filter.is_none()
            && self.show_added
            && self.show_removed
            && self.show_modified
            && self.show_unchanged
    }
}

/// One visible line of the tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Row {
    pub node: NodeId,
    /// 0 for children of `/`.
    pub depth: u16,
    pub change: DiffKind,
    pub is_dir: bool,
    /// Last visible child of its parent (draws `└──` instead of `├──`).
    pub last: bool,
    /// Bit d: the ancestor at depth d has a later visible sibling (draws `│`).
    pub guides: u64,
}

/// The visible rows of the file tree, kept in step with the view state.
#[derive(Debug, Default)]
pub struct VisibleRows {
    rows: Vec<Row>,
    compare: Option<Compare>,
    changes: HashMap<NodeId, DiffKind>,
    /// Directories whose collapsed state differs from `collapse_default`.
    toggled: HashSet<NodeId>,
    collapse_default: bool,
    options: ViewOptions,
    /// Subtree sizes after recently shown layers (a layer switch back is free).
    sizes: Vec<(usize, Vec<u64>)>,
    matches: usize,
    counts: ChangeCounts,
}

/// Subtree-size arrays kept at once; each costs 8 bytes per node.
const SIZE_CACHE: usize = 3;

impl VisibleRows {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn rows(&self) -> &[Row] {
        &self.rows
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    pub fn options(&self) -> &ViewOptions {
        &self.options
    }

    pub fn compare(&self) -> Option<Compare> {
        self.compare
    }

    /// Paths matching the filter among the shown change kinds (0 without a filter).
    pub fn match_count(&self) -> usize {
        self.matches
    }

    /// Added, modified and removed paths in the current comparison.
    pub fn change_counts(&self) -> ChangeCounts {
        self.counts
    }

    /// How the path differs between the compared points.
    pub fn change(&self, node: NodeId) -> DiffKind {
        self.changes
            .get(&node)
            .copied()
            .unwrap_or(DiffKind::Unchanged)
    }

    pub fn is_collapsed(&self, node: NodeId) -> bool {
        self.collapse_default != self.toggled.contains(&node)
    }

    /// The version a row shows: the one in force at `to`, or, for a removed path, the one
    /// it had at `from`.
    pub fn version<'t>(&self, tree: &'t Tree, node: NodeId) -> Option<&'t Version> {
        let compare = self.compare?;
        tree.live_at(node, compare.to)
            .or_else(|| compare.from.and_then(|from| tree.live_at(node, from)))
    }

    /// Size shown for a row: content size for files, subtree size after `to` for
    /// directories (a removed directory shows 0).
    pub fn size(&self, tree: &Tree, node: NodeId) -> u64 {
        let Some(version) = self.version(tree, node) else {
            return 0;
        };
        if tree.meta(version).kind == EntryKind::Dir {
            self.sizes
                .first()
                .map_or(0, |(_, sizes)| sizes[node as usize])
        } else {
            tree.content_size(version)
        }
    }

    fn ensure_sizes(&mut self, tree: &Tree, layer: usize) {
        if let Some(at) = self.sizes.iter().position(|(l, _)| *l == layer) {
            let entry = self.sizes.remove(at);
            self.sizes.insert(0, entry);
            return;
        }
        self.sizes.insert(0, (layer, tree.subtree_sizes(layer)));
        self.sizes.truncate(SIZE_CACHE);
    }

    /// Change what is compared (layer, mode or range) and re-walk.
    pub fn set_compare(&mut self, tree: &Tree, compare: Compare) {
        if self.compare == Some(compare) {
            return;
        }
        self.compare = Some(compare);
        self.changes.clear();
        self.counts = ChangeCounts::default();
        if tree.layer_count() > 0 {
            for diff in tree.diff(compare.from, compare.to) {
                self.changes.insert(diff.node, diff.kind);
                self.counts.count(diff.kind);
            }
            self.ensure_sizes(tree, compare.to);
        }
        self.rebuild(tree);
    }

    /// Change the filter, hidden kinds or sort order, and re-walk.
    pub fn set_options(&mut self, tree: &Tree, options: ViewOptions) {
        self.options = options;
        self.rebuild(tree);
    }

    /// Collapse every directory, or expand every directory when all are collapsed.
    pub fn toggle_collapse_all(&mut self, tree: &Tree) {
        self.collapse_default = !self.collapse_default;
        self.toggled.clear();
        self.rebuild(tree);
    }

    /// Collapse or expand the directory at `index`, splicing its rows. Returns false when
    /// the row is not a directory.
    pub fn toggle_collapse(&mut self, tree: &Tree, index: usize) -> bool {
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
            let mut walker = Walker::new(self, tree, &mut segment);
            if let Some(path) = walker.path.as_mut() {
                *path = tree.path(row.node);
            }
            walker.children(row.node, row.depth + 1, true);
            let base = row.guides | if row.last { 0 } else { 1 << row.depth.min(63) };
            fix_guides(&mut segment, row.depth + 1, base);
            self.rows.splice(index + 1..index + 1, segment);
        }
        true
    }

    /// One past the last row inside the subtree of the row at `index`.
    pub fn subtree_end(&self, index: usize) -> usize {
        let depth = self.rows[index].depth;
        self.rows[index + 1..]
            .iter()
            .position(|r| r.depth <= depth)
            .map_or(self.rows.len(), |p| index + 1 + p)
    }

    /// The row showing `node`, if visible.
    pub fn position(&self, node: NodeId) -> Option<usize> {
        self.rows.iter().position(|r| r.node == node)
    }

    /// Index of the parent row of the row at `index`.
    pub fn parent_index(&self, index: usize) -> Option<usize> {
        let depth = self.rows.get(index)?.depth;
        (0..index).rev().find(|&i| self.rows[i].depth < depth)
    }

    /// Re-walk the whole tree into the row buffer.
    pub fn rebuild(&mut self, tree: &Tree) {
        let mut rows = std::mem::take(&mut self.rows);
        rows.clear();
        let matches = {
            let mut walker = Walker::new(self, tree, &mut rows);
            walker.children(ROOT, 0, true);
            walker.matches
        };
        fix_guides(&mut rows, 0, 0);
        self.rows = rows;
        self.matches = matches;
    }
}

/// Set `last` and `guides` on rows in display order. Rows are a sequence of subtrees whose
/// top rows are at `base_depth`; `base` holds the guide bits of the levels above.
fn fix_guides(rows: &mut [Row], base_depth: u16, base: u64) {
    // seen[d]: a later row at depth d exists before any shallower row.
    let mut seen = [false; 64];
    for row in rows.iter_mut().rev() {
        let depth = row.depth as usize;
        let d = depth.min(63);
        row.last = !seen[d];
        let mut guides = base & ((1u64 << base_depth.min(63)) - 1);
        for (level, seen_level) in seen.iter().enumerate().take(d).skip(base_depth as usize) {
            if *seen_level {
                guides |= 1 << level;
            }
        }
        row.guides = guides;
        seen[d] = true;
        for later in seen.iter_mut().skip(d + 1) {
            *later = false;
        }
    }
}

/// One walk over the tree, pushing visible rows.
struct Walker<'a> {
    view: &'a VisibleRows,
    tree: &'a Tree,
    out: &'a mut Vec<Row>,
    compare: Compare,
    /// The current path, kept only when a filter needs it.
    path: Option<Vec<u8>>,
    matches: usize,
    everything: bool,
}

impl<'a> Walker<'a> {
    fn new(view: &'a VisibleRows, tree: &'a Tree, out: &'a mut Vec<Row>) -> Self {
        Walker {
            view,
            tree,
            out,
            compare: view.compare.unwrap_or(Compare { from: None, to: 0 }),
            path: view.options.filter.as_ref().map(|_| Vec::new()),
            matches: 0,
            everything: view.options.shows_everything(),
        }
    }

    /// Whether a node exists in the view, and whether it is a directory.
    fn present(&self, node: NodeId) -> Option<bool> {
        let version = self.view.version(self.tree, node)?;
        Some(self.tree.meta(version).kind == EntryKind::Dir)
    }

    /// Walk the children of `node` at `depth`. With `emit`, push visible rows; without,
    /// only find out whether any is visible. Returns whether any is.
    fn children(&mut self, node: NodeId, depth: u16, emit: bool) -> bool {
        if self.compare.to >= self.tree.layer_count() {
            return false;
        }
        let tree = self.tree;
        let sorted;
        let children: &[NodeId] = if self.view.options.sort == SortOrder::Size {
            let mut list: Vec<NodeId> = tree.children(node).to_vec();
            list.sort_by_key(|&c| std::cmp::Reverse(self.view.size(tree, c)));
            sorted = list;
            &sorted
        } else {
            tree.children(node)
        };
        let mut any = false;
        for &child in children {
            let Some(is_dir) = self.present(child) else {
                continue;
            };
            if self.child(child, depth, is_dir, emit) {
                any = true;
                // Probing only needs one visible path, unless matches are being counted.
                if !emit && self.path.is_none() {
                    return true;
                }
            }
        }
        any
    }

    fn child(&mut self, node: NodeId, depth: u16, is_dir: bool, emit: bool) -> bool {
        let change = self.view.change(node);
        let path_len = self.path.as_ref().map_or(0, Vec::len);
        let mut own = self.view.options.shows(change);
        if let (Some(path), Some(filter)) = (self.path.as_mut(), &self.view.options.filter) {
            path.push(b'/');
            path.extend_from_slice(self.tree.name(node));
            own = own && filter.matches(path);
            if own {
                self.matches += 1;
            }
        }
        let collapsed = is_dir && self.view.is_collapsed(node);
        let at = self.out.len();
        if emit {
            self.out.push(Row {
                node,
                depth,
                change,
                is_dir,
                last: false,
                guides: 0,
            });
        }
        let visible = if !is_dir {
            own
        } else if collapsed && self.everything {
            // Nothing below can be hidden, so there is nothing to look for.
            own
        } else {
            let inside = self.children(node, depth + 1, emit && !collapsed);
            own || inside
        };
        if emit && !visible {
            self.out.truncate(at);
        }
        if let Some(path) = self.path.as_mut() {
            path.truncate(path_len);
        }
        visible
    }
}
