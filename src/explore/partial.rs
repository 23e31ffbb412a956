//! The file tree while the image loads: the tree of the layers merged so far, read from
//! the load's tree between two layers ([`crate::load::MergedTree`]), never copied. Only
//! the open directories are walked: every directory starts collapsed, so a read costs
//! what the rows show, not the size of the tree, and the merge waits for no view. A row
//! keeps its name and state, so the rows already read are drawn and moved over while a
//! layer is being merged; opening a directory shows once the merge lets go of the tree.

use crate::tree::{ChangeCounts, LiveState, NodeId, TreeBuilder, ROOT};
use std::collections::HashSet;

/// The most rows read while loading: a read holds the merge back for as long as it
/// walks, so opening every directory of a million paths shows the first rows, and the
/// explorer all of them once it opens.
pub const MAX_ROWS: usize = 20_000;

/// One row of the partial tree.
#[derive(Debug, Clone)]
pub struct PartialRow {
    pub node: NodeId,
    /// 0 for children of `/`.
    pub depth: u16,
    /// The raw name (escaped when drawn).
    pub name: Box<[u8]>,
    pub state: LiveState,
    /// Last child of its parent (draws `└──`).
    pub last: bool,
    /// Bit d: the ancestor at depth d has a later sibling (draws `│`).
    pub guides: u64,
}

/// The rows of the tree merged so far, the open directories and the cursor.
#[derive(Debug, Default)]
pub struct PartialTree {
    rows: Vec<PartialRow>,
    /// Directories whose state differs from `open_default`.
    toggled: HashSet<NodeId>,
    open_default: bool,
    /// Layers merged when the rows were read; `None` before the first read.
    read_at: Option<usize>,
    /// The open directories changed since the rows were read.
    stale: bool,
    /// The read stopped at [`MAX_ROWS`].
    truncated: bool,
    /// Each merged layer's own change counts, as read.
    changes: Vec<ChangeCounts>,
    cursor: usize,
    scroll: usize,
    height: usize,
}

impl PartialTree {
    pub fn new() -> Self {
        PartialTree {
            height: 1,
            ..Default::default()
        }
    }

    /// Whether the rows need reading again, now that `merged` layers are merged.
    pub fn needs_read(&self, merged: usize) -> bool {
        self.stale || self.read_at != Some(merged)
    }

    /// Read the rows from `tree`, which holds the first `merged` layers; the cursor stays
    /// on its path when the path is still there, else on the nearest row before it.
    pub fn read(&mut self, tree: &TreeBuilder, merged: usize) {
        let selected = self.selected().map(|row| row.node);
        self.rows.clear();
        self.truncated = false;
        self.walk(tree);
        self.changes = (0..merged).map_while(|l| tree.layer_changes(l)).collect();
        self.read_at = Some(merged);
        self.stale = false;
        if let Some(node) = selected {
            if let Some(at) = self.rows.iter().position(|row| row.node == node) {
                self.cursor = at;
            }
        }
        self.cursor = self.cursor.min(self.rows.len().saturating_sub(1));
        self.scroll = super::follow(self.cursor, self.scroll, self.height);
    }

    /// Push the rows below the root in display order: every live child of an open
    /// directory, by name. Iterative: a path thousands of levels deep cannot overflow.
    fn walk(&mut self, tree: &TreeBuilder) {
        struct Frame {
            children: Vec<NodeId>,
            next: usize,
        }
        let mut stack = vec![Frame {
            children: tree.live_children(ROOT),
            next: 0,
        }];
        while let Some(frame) = stack.last_mut() {
            if self.rows.len() == MAX_ROWS {
                self.truncated = stack.iter().any(|f| f.next < f.children.len());
                break;
            }
            let Some(&node) = frame.children.get(frame.next) else {
                stack.pop();
                continue;
            };
            frame.next += 1;
            let last = frame.next == frame.children.len();
            let Some(state) = tree.live_state(node) else {
                continue;
            };
            let depth = stack.len() - 1;
            let guides = stack[..depth]
                .iter()
                .enumerate()
                .filter(|(d, f)| *d < 64 && f.next < f.children.len())
                .fold(0u64, |bits, (d, _)| bits | 1 << d);
            self.rows.push(PartialRow {
                node,
                depth: u16::try_from(depth).unwrap_or(u16::MAX),
                name: tree.name(node).into(),
                state,
                last,
                guides,
            });
            if state.is_dir && self.is_open(node) {
                stack.push(Frame {
                    children: tree.live_children(node),
                    next: 0,
                });
            }
        }
    }

    pub fn rows(&self) -> &[PartialRow] {
        &self.rows
    }

    /// Whether rows past [`MAX_ROWS`] were left unread.
    pub fn truncated(&self) -> bool {
        self.truncated
    }

    /// Layers merged when the rows were read (0 before any read).
    pub fn read_at(&self) -> usize {
        self.read_at.unwrap_or(0)
    }

    /// Layer `layer`'s own change counts, once it is merged and read.
    pub fn layer_changes(&self, layer: usize) -> Option<ChangeCounts> {
        self.changes.get(layer).copied()
    }

    pub fn is_open(&self, node: NodeId) -> bool {
        self.toggled.contains(&node) != self.open_default
    }

    pub fn cursor(&self) -> usize {
        self.cursor
    }

    pub fn scroll(&self) -> usize {
        self.scroll
    }

    pub fn selected(&self) -> Option<&PartialRow> {
        self.rows.get(self.cursor)
    }

    /// The pane shows `height` rows.
    pub fn set_height(&mut self, height: usize) {
        self.height = height.max(1);
        self.scroll = super::follow(self.cursor, self.scroll, self.height);
    }

    pub fn height(&self) -> usize {
        self.height
    }

    pub fn move_cursor(&mut self, delta: isize) {
        self.cursor = super::step(self.cursor, delta, self.rows.len());
        self.scroll = super::follow(self.cursor, self.scroll, self.height);
    }

    /// Open or close the selected directory (shown at the next read).
    pub fn toggle(&mut self) {
        if let Some(row) = self.selected().filter(|row| row.state.is_dir) {
            let node = row.node;
            if !self.toggled.remove(&node) {
                self.toggled.insert(node);
            }
            self.stale = true;
        }
    }

    /// Open every directory, or close them all.
    pub fn toggle_all(&mut self) {
        self.open_default = !self.open_default;
        self.toggled.clear();
        self.stale = true;
    }

    /// Left: close an open directory, else go to the parent.
    pub fn left(&mut self) {
        let Some(row) = self.selected() else {
            return;
        };
        if row.state.is_dir && self.is_open(row.node) {
            self.toggle();
        } else if let Some(parent) = self.rows[..self.cursor]
            .iter()
            .rposition(|r| r.depth < row.depth)
        {
            self.move_cursor(parent as isize - self.cursor as isize);
        }
    }

    /// Right: open a closed directory, else go to its first child.
    pub fn right(&mut self) {
        let Some(row) = self.selected() else {
            return;
        };
        if row.state.is_dir && !self.is_open(row.node) {
            self.toggle();
        } else if self
            .rows
            .get(self.cursor + 1)
            .is_some_and(|next| next.depth > row.depth)
        {
            self.move_cursor(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layer::{EntryKind, Meta, ParsedLayer};

    fn layer(paths: impl IntoIterator<Item = String>) -> ParsedLayer {
        let mut parsed = ParsedLayer::default();
        for path in paths {
            let meta = Meta {
                kind: EntryKind::File,
                mode: 0o644,
                uid: 0,
                gid: 0,
                size: 3,
                hash: 1,
                offset: 0,
            };
            parsed.push(path.as_bytes(), b"", meta);
        }
        parsed
    }

    #[test]
    fn a_read_stops_at_the_row_limit_and_says_so() {
        let mut tree = TreeBuilder::new();
        let paths = (0..3).flat_map(|d| (0..MAX_ROWS / 2).map(move |f| format!("d{d}/f{f}")));
        tree.add_layer(&layer(paths)).unwrap();
        let mut view = PartialTree::new();
        view.read(&tree, 1);
        assert_eq!(view.rows().len(), 3, "every directory starts closed");
        assert!(!view.truncated());
        view.toggle_all();
        assert!(view.needs_read(1));
        view.read(&tree, 1);
        assert_eq!(view.rows().len(), MAX_ROWS);
        assert!(view.truncated());
        // Closed again: the rows are all there.
        view.toggle_all();
        view.read(&tree, 1);
        assert!(!view.truncated());
    }

    #[test]
    fn the_cursor_stays_on_its_path_as_layers_land() {
        let mut tree = TreeBuilder::new();
        tree.add_layer(&layer(["b/x".into(), "c".into()])).unwrap();
        let mut view = PartialTree::new();
        view.read(&tree, 1);
        view.move_cursor(1);
        assert_eq!(&*view.selected().unwrap().name, b"c");
        // `a` lands above it: the cursor moves down with its path.
        tree.add_layer(&layer(["a".into()])).unwrap();
        assert!(view.needs_read(2));
        view.read(&tree, 2);
        assert_eq!(view.cursor(), 2);
        assert_eq!(&*view.selected().unwrap().name, b"c");
        // Right opens `b`, left goes from its child back to it.
        view.move_cursor(-1);
        view.right();
        view.read(&tree, 2);
        view.right();
        assert_eq!(&*view.selected().unwrap().name, b"x");
        view.left();
        assert_eq!(&*view.selected().unwrap().name, b"b");
    }
}
