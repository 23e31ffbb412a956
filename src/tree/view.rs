//! Queries over the merged tree: listings and diffs between layers.

use super::{NodeId, Tree, Version, ROOT};
use crate::layer::Meta;

/// One path of a listing.
#[derive(Debug, Clone)]
pub struct ListingRow {
    pub node: NodeId,
    /// Absolute path, raw bytes.
    pub path: Vec<u8>,
    pub meta: Meta,
    /// Content bytes (regular files and hardlinks), 0 otherwise.
    pub size: u64,
    /// Symlink target, empty otherwise.
    pub link: Vec<u8>,
}

impl ListingRow {
    /// The reference listing line: `<ls-mode> <uid>:<gid> <size> /<path>[ -> <target>]`,
    /// with names escaped (control characters and invalid UTF-8 become `\xNN`).
    pub fn long_line(&self) -> String {
        use crate::escape::escape_bytes;
        let mut line = format!(
            "{} {}:{} {} {}",
            self.meta.ls_mode(),
            self.meta.uid,
            self.meta.gid,
            self.size,
            escape_bytes(&self.path)
        );
        if !self.link.is_empty() {
            line.push_str(" -> ");
            line.push_str(&escape_bytes(&self.link));
        }
        line
    }
}

/// How a path differs between two points of the layer stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DiffKind {
    Added,
    Modified,
    Removed,
    Unchanged,
}

impl DiffKind {
    /// The `docker diff` letter.
    pub fn letter(self) -> char {
        match self {
            DiffKind::Added => 'A',
            DiffKind::Modified => 'C',
            DiffKind::Removed => 'D',
            DiffKind::Unchanged => ' ',
        }
    }
}

/// Numbers of added, modified and removed paths.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct ChangeCounts {
    pub added: usize,
    pub modified: usize,
    pub removed: usize,
}

impl ChangeCounts {
    pub fn count(&mut self, kind: DiffKind) {
        match kind {
            DiffKind::Added => self.added += 1,
            DiffKind::Modified => self.modified += 1,
            DiffKind::Removed => self.removed += 1,
            DiffKind::Unchanged => {}
        }
    }
}

/// A changed path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Diff {
    pub node: NodeId,
    pub kind: DiffKind,
}

impl Tree {
    /// Every path that exists after `layer`, sorted bytewise by full path (as
    /// `LC_ALL=C sort` orders them, so `/a-b` comes before `/a/b`).
    pub fn listing(&self, layer: usize) -> Vec<ListingRow> {
        let mut rows = Vec::new();
        let mut stack: Vec<NodeId> = vec![ROOT];
        while let Some(id) = stack.pop() {
            for &child in self.children(id) {
                let Some(version) = self.live_at(child, layer) else {
                    continue;
                };
                let meta = self.meta(version);
                rows.push(ListingRow {
                    node: child,
                    path: self.path(child),
                    meta,
                    size: self.content_size(version),
                    link: if meta.kind == crate::layer::EntryKind::Symlink {
                        self.version_link(version).to_vec()
                    } else {
                        Vec::new()
                    },
                });
                stack.push(child);
            }
        }
        rows.sort_unstable_by(|a, b| a.path.cmp(&b.path));
        rows
    }

    /// Paths whose state differs between the stack after layer `from` (`None`: the empty
    /// filesystem) and after layer `to`. One layer's own changes are `diff(Some(l - 1), l)`,
    /// or `diff(None, 0)` for the first. Only paths touched by layers in between are looked
    /// at, so the cost follows the size of the change, not of the tree.
    pub fn diff(&self, from: Option<usize>, to: usize) -> Vec<Diff> {
        let first = from.map_or(0, |f| f + 1);
        let mut seen = std::collections::HashSet::new();
        let mut out = Vec::new();
        for layer in first..=to.min(self.layer_count().saturating_sub(1)) {
            for &version_id in self.layer_version_ids(layer) {
                let (node, _) = self.version_by_id(version_id);
                if !seen.insert(node) {
                    continue;
                }
                let before = from.and_then(|f| self.live_at(node, f));
                let after = self.live_at(node, to);
                let kind = match (before, after) {
                    (None, None) => continue,
                    (None, Some(_)) => DiffKind::Added,
                    (Some(_), None) => DiffKind::Removed,
                    (Some(a), Some(b)) => {
                        if self.same_state(a, b) {
                            continue;
                        }
                        DiffKind::Modified
                    }
                };
                out.push(Diff { node, kind });
            }
        }
        out
    }

    /// Whether two written versions leave the path in the same state.
    pub fn same_state(&self, a: &Version, b: &Version) -> bool {
        super::same_state(
            &self.entries,
            &self.links,
            &self.link_bytes,
            (a.entry, a.content),
            (b.entry, b.content),
        )
    }

    /// How many paths layer `layer` added, modified and removed (its own changes): what
    /// `diff(layer - 1, layer)` lists, counted once while the layer was applied.
    pub fn layer_change_counts(&self, layer: usize) -> ChangeCounts {
        self.layer_changes.get(layer).copied().unwrap_or_default()
    }

    /// Subtree sizes after `layer`, indexed by node: content bytes of every live file
    /// below (and at) each node. Content reached by several hardlinks counts once.
    pub fn subtree_sizes(&self, layer: usize) -> Vec<u64> {
        let mut sizes = vec![0u64; self.node_count()];
        // One bit per entry: a hash set here costs more than the rest of the pass.
        let mut counted = vec![0u64; self.entries.len().div_ceil(64)];
        for id in 1..crate::limits::to_u32(self.node_count()) {
            if let Some(version) = self.live_at(id, layer) {
                let content = version.content as usize;
                if version.content != super::NONE
                    && counted[content / 64] & (1 << (content % 64)) == 0
                {
                    counted[content / 64] |= 1 << (content % 64);
                    sizes[id as usize] = self.content_size(version);
                }
            }
        }
        // Children always have larger ids than their parents, so one reverse pass suffices.
        for id in (1..self.node_count()).rev() {
            let parent = self.nodes[id].parent as usize;
            // Header sizes are untrusted (a sparse file may claim u64::MAX): saturate.
            sizes[parent] = sizes[parent].saturating_add(sizes[id]);
        }
        sizes
    }
}
