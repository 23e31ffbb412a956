//! The file tree while the image loads: the tree of the layers merged so far, read from
//! the load's tree between two layers ([`crate::load::MergedTree`]), never copied. Only
//! the open directories are walked: every directory starts collapsed, so a read costs
//! what the rows show, not the size of the tree, and the merge waits for no view. A row
//! keeps its name and state, so the rows already read are drawn and moved over while a
//! layer is being merged; opening a directory shows once the merge lets go of the tree.

use crate::tree::{ChangeCounts, LiveState, NodeId, TreeBuilder, ROOT};
use std::collections::HashSet;

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
