//! The file tree as the explorer shows it: a flat list of visible rows, in display order.
//!
//! Plain data, no rendering. The merged [`Tree`] is never copied: a row is a node id plus
//! what drawing it needs (depth, change, tree guides). Expanding or collapsing a directory
//! splices its visible descendants in or out. A change of layer, mode, filter or sort
//! re-walks the shown part of the tree, reusing the row buffer.
//!
//! A row's change is read from the node's few versions as the walk meets it, so a
//! comparison costs nothing up front. When a filter or a hidden change kind hides paths,
//! the paths shown for themselves are found first (a filter scans one arena of names,
//! built on first use) and marked with their ancestors; the walk then only visits marked
//! nodes, so a keystroke costs what it shows, not the size of the tree. Every walk is
//! iterative: a path tens of thousands of levels deep cannot overflow the stack.

use crate::layer::EntryKind;
use crate::tree::{ChangeCounts, DiffKind, NodeId, Tree, Version, NONE, ROOT};
use regex::bytes::Regex;
use std::borrow::Cow;
use std::collections::HashSet;

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
    /// `pkg:NAME`: the files an OS package owns. A path alone cannot say, so the explorer,
    /// which has the packages, fills in `nodes` (ascending) before the filter applies.
    Package {
        name: String,
        nodes: Vec<NodeId>,
    },
}

/// What the filter line's text starts with to show one package's files.
pub const PACKAGE_PREFIX: &str = "pkg:";

/// A filter text with regex syntax that is not a valid regex.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{}", last_line(.0))]
pub struct FilterError(#[source] pub regex::Error);

/// The regex crate's message ends with the one line that says what is wrong.
fn last_line(e: &regex::Error) -> String {
    e.to_string()
        .lines()
        .last()
        .unwrap_or("bad regex")
        .to_string()
}

impl Filter {
    /// `pkg:NAME` for a package's files; else a regex when the text has regex syntax in it,
    /// else a substring.
    pub fn parse(text: &str) -> Result<Filter, FilterError> {
        if let Some(name) = text.strip_prefix(PACKAGE_PREFIX) {
            return Ok(Filter::Package {
                name: name.to_string(),
                nodes: Vec::new(),
            });
        }
        let special = text.chars().any(|c| "^$.*+?()[]{}|\\".contains(c));
        if special {
            regex::bytes::Regex::new(text)
                .map(Filter::Regex)
                .map_err(FilterError)
        } else {
            Ok(Filter::Substring(text.as_bytes().to_vec()))
        }
    }

    /// Whether `node`, at `path`, matches.
    pub fn matches(&self, node: NodeId, path: &[u8]) -> bool {
        match self {
            Filter::Substring(needle) => {
                needle.is_empty() || path.windows(needle.len()).any(|w| w == needle.as_slice())
            }
            Filter::Regex(regex) => regex.is_match(path),
            Filter::Package { nodes, .. } => nodes.binary_search(&node).is_ok(),
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
    pub(crate) fn shows_everything(&self) -> bool {
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
    /// Directories whose collapsed state differs from `collapse_default`.
    toggled: HashSet<NodeId>,
    collapse_default: bool,
    options: ViewOptions,
    /// Subtree sizes after recently shown layers (a layer switch back is free).
    sizes: Vec<(usize, Vec<u64>)>,
    matches: usize,
    counts: ChangeCounts,
    /// Per node [`OWN`], [`INNER`], [`DEAD`], [`MATCHED`] bits when the options hide
    /// paths; empty when every present path is shown.
    marks: Vec<u8>,
    /// Every node's `/name`, for substring filters; built on first use.
    names: Option<NameIndex>,
}

/// Shown for itself: present, of a shown change kind, matching the filter.
const OWN: u8 = 1;
/// A present directory, reachable from the root, with an [`OWN`] node below.
const INNER: u8 = 2;
/// Nothing below is reachable: absent, not a directory, or below such a node.
const DEAD: u8 = 4;
/// The path matches the filter (set while spreading a name match to a subtree).
const MATCHED: u8 = 8;

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
    pub fn change(&self, tree: &Tree, node: NodeId) -> DiffKind {
        self.compare
            .and_then(|compare| node_state(tree, compare, node))
            .map_or(DiffKind::Unchanged, |(kind, _)| kind)
    }

    pub fn is_collapsed(&self, node: NodeId) -> bool {
        self.collapse_default != (!self.toggled.is_empty() && self.toggled.contains(&node))
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
        if tree.layer_count() > 0 {
            self.ensure_sizes(tree, compare.to);
        }
        // A walk that met every present path has counted the changes on the way.
        self.counts = match self.rebuild_counting(tree) {
            Some(counts) => counts,
            None => diff_counts(tree, compare),
        };
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
            // The marks do not depend on what is collapsed, so they still hold.
            let mut segment = Vec::new();
            self.walk(tree, row.node, row.depth.saturating_add(1), &mut segment);
            let base = row.guides | if row.last { 0 } else { 1 << row.depth.min(63) };
            fix_guides(&mut segment, row.depth.saturating_add(1), base);
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

    /// Re-walk the shown part of the tree into the row buffer.
    pub fn rebuild(&mut self, tree: &Tree) {
        self.rebuild_counting(tree);
    }

    /// [`Self::rebuild`], returning the change counts of the comparison when the walk met
    /// every path that exists at either compared point.
    fn rebuild_counting(&mut self, tree: &Tree) -> Option<ChangeCounts> {
        self.mark(tree);
        let mut rows = std::mem::take(&mut self.rows);
        rows.clear();
        let counts = self.walk(tree, ROOT, 0, &mut rows);
        fix_guides(&mut rows, 0, 0);
        self.rows = rows;
        counts
    }

    /// The comparison, when it has rows at all.
    fn shown_compare(&self, tree: &Tree) -> Option<Compare> {
        self.compare.filter(|c| c.to < tree.layer_count())
    }

    /// The children of `node` in display order.
    fn children<'t>(&self, tree: &'t Tree, node: NodeId) -> Cow<'t, [NodeId]> {
        let children = tree.children(node);
        if self.options.sort == SortOrder::Size {
            let mut list = children.to_vec();
            list.sort_by_key(|&c| std::cmp::Reverse(self.size(tree, c)));
            Cow::Owned(list)
        } else {
            Cow::Borrowed(children)
        }
    }

    /// Push the visible rows below `top` (theirs at `depth`) in display order, guides
    /// unset. Returns their change counts when no present path was skipped.
    fn walk(
        &self,
        tree: &Tree,
        top: NodeId,
        depth: u16,
        out: &mut Vec<Row>,
    ) -> Option<ChangeCounts> {
        struct Frame<'t> {
            children: Cow<'t, [NodeId]>,
            next: usize,
            depth: u16,
        }
        let compare = self.shown_compare(tree)?;
        let marked = !self.marks.is_empty();
        let mut counts = ChangeCounts::default();
        let mut complete = !marked;
        let mut stack = vec![Frame {
            children: self.children(tree, top),
            next: 0,
            depth,
        }];
        while let Some(frame) = stack.last_mut() {
            let Some(&node) = frame.children.get(frame.next) else {
                stack.pop();
                continue;
            };
            frame.next += 1;
            let depth = frame.depth;
            if marked && self.marks[node as usize] & (OWN | INNER) == 0 {
                continue;
            }
            // An absent node's descendants are absent too: a path lives under a live
            // directory.
            let Some((change, version)) = node_state(tree, compare, node) else {
                continue;
            };
            let is_dir = is_dir(tree, version);
            counts.count(change);
            out.push(Row {
                node,
                depth,
                change,
                is_dir,
                last: false,
                guides: 0,
            });
            if is_dir && !self.is_collapsed(node) {
                stack.push(Frame {
                    children: self.children(tree, node),
                    next: 0,
                    depth: depth.saturating_add(1),
                });
            } else if !tree.children(node).is_empty() {
                // Removed paths may hide below a collapsed directory or one replaced by a file.
                complete = false;
            }
        }
        complete.then_some(counts)
    }

    /// Find the paths shown for themselves and mark them and their ancestors, or clear the
    /// marks when every present path is shown.
    fn mark(&mut self, tree: &Tree) {
        self.matches = 0;
        self.marks.clear();
        let Some(compare) = self.shown_compare(tree) else {
            return;
        };
        if self.options.shows_everything() {
            return;
        }
        self.marks.resize(tree.node_count(), 0);
        let mut marker = Marker {
            tree,
            compare,
            options: &self.options,
            marks: &mut self.marks,
            chain: Vec::new(),
            matches: 0,
        };
        match &self.options.filter {
            None if !self.options.show_unchanged => {
                // Only paths that a layer in the range touched can show a change.
                for_each_changed(tree, compare, |node| {
                    marker.consider(node);
                });
            }
            None => {
                for node in 1..tree.node_count() as NodeId {
                    marker.consider(node);
                }
            }
            Some(Filter::Substring(needle)) if needle.is_empty() => {
                for node in 1..tree.node_count() as NodeId {
                    marker.consider(node);
                }
            }
            Some(Filter::Substring(needle)) if !needle.contains(&b'/') => {
                // Without a `/`, a match lies within one name, and a path matches when the
                // name of the node or of an ancestor does.
                let names = self.names.get_or_insert_with(|| NameIndex::new(tree));
                let finder = literal(needle);
                let mut hits = Vec::new();
                names.hits(&finder, &mut hits);
                marker.spread(&hits);
            }
            Some(Filter::Substring(needle)) => {
                let finder = literal(needle);
                // A match not already in the parent's path ends in the last name.
                let context = needle.len() - 1;
                marker.walk_paths(true, |path, name_len| {
                    let from = path.len().saturating_sub(name_len + 1 + context);
                    finder.is_match(&path[from..])
                });
            }
            Some(Filter::Regex(regex)) => {
                let regex = regex.clone();
                marker.walk_paths(false, |path, _| regex.is_match(path));
            }
            Some(Filter::Package { nodes, .. }) => marker.spread(nodes),
        }
        self.matches = if self.options.filter.is_some() {
            marker.matches
        } else {
            0
        };
    }
}

/// Marks nodes for one view (see [`VisibleRows::mark`]).
struct Marker<'a> {
    tree: &'a Tree,
    compare: Compare,
    options: &'a ViewOptions,
    marks: &'a mut Vec<u8>,
    /// Scratch: ancestors being checked.
    chain: Vec<NodeId>,
    /// Nodes marked [`OWN`].
    matches: usize,
}

impl Marker<'_> {
    /// Mark `node`, whose path is known to match, when it is shown. Returns whether it is
    /// present and a directory (so its descendants may be shown).
    fn consider(&mut self, node: NodeId) -> bool {
        let Some((kind, version)) = node_state(self.tree, self.compare, node) else {
            return false;
        };
        if self.options.shows(kind) && self.marks[node as usize] & OWN == 0 && self.reachable(node)
        {
            self.marks[node as usize] |= OWN;
            self.matches += 1;
        }
        is_dir(self.tree, version)
    }

    /// Whether every ancestor of `node` is a present directory; marks them [`INNER`] if so.
    fn reachable(&mut self, node: NodeId) -> bool {
        self.chain.clear();
        let mut current = self.tree.node(node).parent;
        let reachable = loop {
            if current == ROOT {
                break true;
            }
            let mark = self.marks[current as usize];
            if mark & INNER != 0 {
                break true;
            }
            if mark & DEAD != 0 {
                break false;
            }
            match node_state(self.tree, self.compare, current) {
                Some((_, version)) if is_dir(self.tree, version) => self.chain.push(current),
                _ => {
                    self.marks[current as usize] |= DEAD;
                    break false;
                }
            }
            current = self.tree.node(current).parent;
        };
        let mark = if reachable { INNER } else { DEAD };
        for &ancestor in &self.chain {
            self.marks[ancestor as usize] |= mark;
        }
        reachable
    }

    /// Consider every node at or below the `hits` (ascending ids), each once.
    fn spread(&mut self, hits: &[NodeId]) {
        let mut stack = Vec::new();
        for &hit in hits {
            // Ancestors have smaller ids, so a hit inside an earlier hit's subtree is done.
            if self.marks[hit as usize] & MATCHED != 0 {
                continue;
            }
            stack.push(hit);
            while let Some(node) = stack.pop() {
                self.marks[node as usize] |= MATCHED;
                if self.consider(node) {
                    stack.extend_from_slice(self.tree.children(node));
                }
            }
        }
    }

    /// Walk every reachable path, building it, and consider those where `matches(path,
    /// name length)` holds or, with `inherit` (a substring), an ancestor matched.
    fn walk_paths(&mut self, inherit: bool, mut matches: impl FnMut(&[u8], usize) -> bool) {
        let tree = self.tree;
        let mut path = Vec::new();
        // (children, next child, path length before them, whether their parent matched)
        let mut stack: Vec<(&[NodeId], usize, usize, bool)> =
            vec![(tree.children(ROOT), 0, 0, false)];
        while let Some(frame) = stack.last_mut() {
            let Some(&node) = frame.0.get(frame.1) else {
                stack.pop();
                continue;
            };
            frame.1 += 1;
            let (len, inherited) = (frame.2, frame.3);
            path.truncate(len);
            path.push(b'/');
            let name = tree.name(node);
            path.extend_from_slice(name);
            let matched = (inherit && inherited) || matches(&path, name.len());
            let descend = if matched {
                self.consider(node)
            } else {
                node_state(tree, self.compare, node).is_some_and(|(_, v)| is_dir(tree, v))
            };
            if descend {
                stack.push((tree.children(node), 0, path.len(), matched));
            }
        }
    }
}

/// Every node's `/name`, in id order, for finding the names that contain a text.
#[derive(Debug)]
struct NameIndex {
    bytes: Vec<u8>,
    /// Node i's `/name` is `bytes[starts[i]..starts[i + 1]]` (the root's is empty).
    starts: Vec<usize>,
}

impl NameIndex {
    fn new(tree: &Tree) -> Self {
        let count = tree.node_count();
        let mut starts = Vec::with_capacity(count + 1);
        let mut bytes = Vec::new();
        for node in 0..count as NodeId {
            starts.push(bytes.len());
            if node != ROOT {
                bytes.push(b'/');
                bytes.extend_from_slice(tree.name(node));
            }
        }
        starts.push(bytes.len());
        NameIndex { bytes, starts }
    }

    /// Push the nodes whose name `finder` (a text without `/`) matches, ascending.
    fn hits(&self, finder: &Regex, out: &mut Vec<NodeId>) {
        let mut at = 0;
        while let Some(found) = finder.find_at(&self.bytes, at) {
            let node = self.starts.partition_point(|&s| s <= found.start()) - 1;
            out.push(node as NodeId);
            at = self.starts[node + 1];
        }
    }
}

/// A regex matching exactly `needle` (the regex crate's literal search is memchr's). A
/// substring filter's needle is the filter text's bytes, so it is UTF-8.
fn literal(needle: &[u8]) -> Regex {
    let text = String::from_utf8_lossy(needle);
    Regex::new(&regex::escape(&text)).expect("an escaped literal is a valid regex")
}

/// Whether a written version is a directory (an implied one has no entry).
fn is_dir(tree: &Tree, version: &Version) -> bool {
    version.entry == NONE || tree.entry(version.entry).meta.kind == EntryKind::Dir
}

/// How `node` stands in a comparison: its change and the version shown (live at `to`,
/// else live at `from`); None when the path exists at neither point. Agrees with
/// [`Tree::diff`], read from the node's own versions.
fn node_state(tree: &Tree, compare: Compare, node: NodeId) -> Option<(DiffKind, &Version)> {
    let versions = tree.versions(node);
    let at = |layer: usize| versions.iter().rev().find(|v| v.layer as usize <= layer);
    let live = |v: &&Version| !v.change.is_removal();
    let after = at(compare.to);
    let Some(from) = compare.from else {
        return after.filter(live).map(|v| (DiffKind::Added, v));
    };
    if from >= compare.to {
        // An empty range changes nothing (as in `Tree::diff`).
        let shown = after.filter(live).or_else(|| at(from).filter(live));
        return shown.map(|v| (DiffKind::Unchanged, v));
    }
    let before = match after {
        // Nothing touched the path in between: the same version.
        Some(v) if v.layer as usize <= from => after,
        _ => at(from),
    };
    match (before.filter(live), after.filter(live)) {
        (None, None) => None,
        (None, Some(b)) => Some((DiffKind::Added, b)),
        (Some(a), None) => Some((DiffKind::Removed, a)),
        (Some(a), Some(b)) => {
            let kind = if std::ptr::eq(a, b) || tree.same_state(a, b) {
                DiffKind::Unchanged
            } else {
                DiffKind::Modified
            };
            Some((kind, b))
        }
    }
}

/// Call `f` once for each node that a layer in `(from, to]` touched.
fn for_each_changed(tree: &Tree, compare: Compare, mut f: impl FnMut(NodeId)) {
    let Some(last) = tree.layer_count().checked_sub(1) else {
        return;
    };
    let first = compare.from.map_or(0, |f| f + 1);
    for layer in first..=compare.to.min(last) {
        for &id in tree.layer_version_ids(layer) {
            let (node, version) = tree.version_by_id(id);
            // Once per node: at its last version up to `to`, which lies in the range.
            if tree
                .version_at(node, compare.to)
                .is_some_and(|v| std::ptr::eq(v, version))
            {
                f(node);
            }
        }
    }
}

/// Added, modified and removed paths of a comparison, as [`Tree::diff`] counts them, without
/// collecting or hashing them.
fn diff_counts(tree: &Tree, compare: Compare) -> ChangeCounts {
    let mut counts = ChangeCounts::default();
    for_each_changed(tree, compare, |node| {
        if let Some((kind, _)) = node_state(tree, compare, node) {
            counts.count(kind);
        }
    });
    counts
}

/// Set `last` and `guides` on rows in display order. Rows are a sequence of subtrees whose
/// top rows are at `base_depth`; `base` holds the guide bits of the levels above.
pub(crate) fn fix_guides(rows: &mut [Row], base_depth: u16, base: u64) {
    let low = |bits: usize| (1u64 << bits) - 1;
    let base_depth = (base_depth as usize).min(63);
    let base = base & low(base_depth);
    // Bit d: a later row at depth d exists before any shallower row.
    let mut seen = 0u64;
    for row in rows.iter_mut().rev() {
        let d = (row.depth as usize).min(63);
        row.last = seen & (1 << d) == 0;
        row.guides = base | (seen & low(d) & !low(base_depth));
        seen = (seen | (1 << d)) & (u64::MAX >> (63 - d));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layer::{Meta, ParsedLayer};
    use crate::tree::TreeBuilder;
    use std::collections::HashMap;

    fn layer(entries: &[(&str, EntryKind, u64)]) -> ParsedLayer {
        let mut layer = ParsedLayer::default();
        for &(path, kind, hash) in entries {
            let meta = Meta {
                kind,
                mode: 0o644,
                uid: 0,
                gid: 0,
                size: hash * 10,
                hash,
                offset: 0,
            };
            layer.push(path.as_bytes(), b"", meta);
        }
        layer
    }

    fn build(layers: &[ParsedLayer]) -> Tree {
        let mut builder = TreeBuilder::new();
        for layer in layers {
            builder.add_layer(layer).unwrap();
        }
        builder.finish()
    }

    /// Adds, rewrites, whiteouts, an opaque directory and replacements both ways.
    fn sample() -> Tree {
        use EntryKind::{Dir, File, Opaque, Whiteout};
        build(&[
            layer(&[
                ("a", Dir, 0),
                ("a/x", File, 1),
                ("a/y", File, 2),
                ("a/sub/z", File, 3),
                ("b/f", File, 4),
                ("c", File, 5),
                ("d/e/g", File, 6),
                ("d/ax", File, 7),
            ]),
            layer(&[
                ("a/x", File, 11),
                ("a/y", File, 2),
                ("b/f", Whiteout, 0),
                ("c/n", File, 12),
                ("a/sub/w", File, 13),
            ]),
            layer(&[("a/sub", Opaque, 0), ("a/sub/q", File, 14), ("d", File, 15)]),
            layer(&[("a", Whiteout, 0), ("e/new", File, 16), ("e/sub", Dir, 0)]),
            layer(&[("a/back", File, 17), ("d/again/x", File, 18)]),
        ])
    }

    type Plain = (NodeId, u16, DiffKind, bool);

    /// The rows by the plain recursive definition, from `Tree::diff` and full paths.
    fn reference(view: &VisibleRows, tree: &Tree) -> (Vec<Plain>, usize, ChangeCounts) {
        let compare = view.compare.unwrap();
        let changes: HashMap<NodeId, DiffKind> = tree
            .diff(compare.from, compare.to)
            .into_iter()
            .map(|d| (d.node, d.kind))
            .collect();
        let mut counts = ChangeCounts::default();
        changes.values().for_each(|&kind| counts.count(kind));
        #[allow(clippy::too_many_arguments)]
        fn visit(
            view: &VisibleRows,
            tree: &Tree,
            changes: &HashMap<NodeId, DiffKind>,
            node: NodeId,
            depth: u16,
            emit: bool,
            out: &mut Vec<Plain>,
            matches: &mut usize,
        ) -> bool {
            let mut any = false;
            for &child in tree.children(node) {
                let Some(version) = view.version(tree, child) else {
                    continue;
                };
                let is_dir = tree.meta(version).kind == EntryKind::Dir;
                let change = changes.get(&child).copied().unwrap_or(DiffKind::Unchanged);
                let filter = view.options.filter.as_ref();
                let own = view.options.shows(change)
                    && filter.is_none_or(|f| f.matches(child, &tree.path(child)));
                if own && filter.is_some() {
                    *matches += 1;
                }
                let at = out.len();
                if emit {
                    out.push((child, depth, change, is_dir));
                }
                let open = emit && !view.is_collapsed(child);
                let inside =
                    is_dir && visit(view, tree, changes, child, depth + 1, open, out, matches);
                if emit && !(own || inside) {
                    out.truncate(at);
                }
                any |= own || inside;
            }
            any
        }
        let mut rows = Vec::new();
        let mut matches = 0;
        if compare.to < tree.layer_count() {
            visit(view, tree, &changes, ROOT, 0, true, &mut rows, &mut matches);
        }
        (rows, matches, counts)
    }

    fn plain(view: &VisibleRows) -> Vec<Plain> {
        view.rows()
            .iter()
            .map(|r| (r.node, r.depth, r.change, r.is_dir))
            .collect()
    }

    #[test]
    fn agrees_with_the_plain_definition() {
        let tree = sample();
        let filters = [
            "",
            "x",
            "sub",
            "a/s",
            "/",
            "d/",
            "/a",
            "e/g",
            "^/a/.*[zq]$",
            "n$",
        ];
        let kinds = [
            [true; 4],
            [true, true, true, false],
            [false, true, true, true],
            [false, true, false, false],
        ];
        let dir_a = tree.children(ROOT)[0];
        for from in std::iter::once(None).chain((0..5).map(Some)) {
            for to in 0..6 {
                for filter in std::iter::once(None).chain(filters.iter().map(Some)) {
                    for [added, removed, modified, unchanged] in kinds {
                        for collapse in 0..3 {
                            let mut view = VisibleRows::new();
                            let options = ViewOptions {
                                show_added: added,
                                show_removed: removed,
                                show_modified: modified,
                                show_unchanged: unchanged,
                                filter: filter.map(|f| Filter::parse(f).unwrap()),
                                sort: SortOrder::Name,
                            };
                            view.set_options(&tree, options);
                            if collapse == 1 {
                                view.toggle_collapse_all(&tree);
                            } else if collapse == 2 {
                                view.toggled.insert(dir_a);
                            }
                            view.set_compare(&tree, Compare { from, to });
                            let (rows, matches, counts) = reference(&view, &tree);
                            let case = format!(
                                "{from:?}..{to} {filter:?} {options:?} {collapse}",
                                options = view.options
                            );
                            assert_eq!(plain(&view), rows, "{case}");
                            assert_eq!(view.match_count(), matches, "{case}");
                            assert_eq!(view.change_counts(), counts, "{case}");
                            for node in 1..tree.node_count() as NodeId {
                                let kind = tree
                                    .diff(from, to)
                                    .iter()
                                    .find(|d| d.node == node)
                                    .map_or(DiffKind::Unchanged, |d| d.kind);
                                if view.version(&tree, node).is_some() {
                                    assert_eq!(view.change(&tree, node), kind, "{case} {node}");
                                }
                            }
                            // Splicing agrees with a fresh walk.
                            for index in 0..view.len() {
                                if view.rows()[index].is_dir {
                                    let before = view.rows().to_vec();
                                    view.toggle_collapse(&tree, index);
                                    view.toggle_collapse(&tree, index);
                                    assert_eq!(view.rows(), &before[..], "{case} {index}");
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn guides_mark_later_siblings() {
        let tree = sample();
        let mut view = VisibleRows::new();
        view.set_compare(&tree, Compare { from: None, to: 1 });
        let shown: Vec<(String, bool, u64)> = view
            .rows()
            .iter()
            .map(|r| {
                (
                    String::from_utf8_lossy(&tree.path(r.node)).into_owned(),
                    r.last,
                    r.guides,
                )
            })
            .collect();
        let expect = [
            ("/a", false, 0),
            ("/a/sub", false, 1),
            ("/a/sub/w", false, 0b11),
            ("/a/sub/z", true, 0b11),
            ("/a/x", false, 1),
            ("/a/y", true, 1),
            ("/b", false, 0),
            ("/c", false, 0),
            ("/c/n", true, 1),
            ("/d", true, 0),
            ("/d/ax", false, 0),
            ("/d/e", true, 0),
            ("/d/e/g", true, 0),
        ];
        let expect: Vec<(String, bool, u64)> = expect
            .iter()
            .map(|&(p, l, g)| (p.to_string(), l, g))
            .collect();
        assert_eq!(shown, expect);
    }

    #[test]
    fn a_path_20000_levels_deep() {
        let depth = 20_000;
        let path = format!("{}file", "a/".repeat(depth));
        let tree = build(&[layer(&[(&path, EntryKind::File, 1)])]);
        let mut view = VisibleRows::new();
        view.set_compare(&tree, Compare { from: None, to: 0 });
        assert_eq!(view.len(), depth + 1);
        assert_eq!(view.rows()[depth].depth as usize, depth);
        assert_eq!(view.change_counts().added, depth + 1);
        for filter in ["file", "a/file", "a/a", "^/a.*file$"] {
            view.set_options(
                &tree,
                ViewOptions {
                    filter: Some(Filter::parse(filter).unwrap()),
                    ..ViewOptions::default()
                },
            );
            assert_eq!(view.len(), depth + 1, "{filter}");
        }
        assert_eq!(view.match_count(), 1);
        view.toggle_collapse(&tree, 0);
        assert_eq!(view.len(), 1);
        view.toggle_collapse(&tree, 0);
        assert_eq!(view.len(), depth + 1);
        view.set_options(&tree, ViewOptions::default());
        view.toggle_collapse_all(&tree);
        assert_eq!(view.len(), 1);
    }
}
