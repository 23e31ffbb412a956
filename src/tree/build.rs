//! Applying layers, in order, to the merged tree.

use super::{Change, Entry, EntryId, Node, NodeId, Tree, Version, NONE, ROOT};
use crate::layer::{EntryKind, ParsedLayer, Span};
use hashbrown::HashTable;
use std::hash::{BuildHasher, Hash, Hasher};

type HashBuilder = hashbrown::DefaultHashBuilder;

/// Builds a [`Tree`] one layer at a time. Layers must be added in order, bottom first.
pub struct TreeBuilder {
    tree: Tree,
    /// Node lookup by (parent, name), storing only node ids: names stay in the arena.
    lookup: HashTable<NodeId>,
    hasher: HashBuilder,
    /// Per node: the id of its latest version in `raw_versions`, or NONE.
    current: Vec<u32>,
    first_child: Vec<NodeId>,
    next_sibling: Vec<NodeId>,
    /// Versions in the order they were applied (layer order), with their node.
    raw_versions: Vec<(NodeId, Version)>,
    layer_versions_start: Vec<u32>,
    /// Scratch: the parent directory of the previous record, to skip lookups for siblings.
    last_dir: Vec<u8>,
    last_dir_node: NodeId,
    stack: Vec<NodeId>,
}

impl Default for TreeBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl TreeBuilder {
    pub fn new() -> Self {
        let mut tree = Tree::default();
        tree.nodes.push(Node {
            parent: ROOT,
            name: Span::EMPTY,
            versions_start: 0,
            versions_len: 0,
            children_start: 0,
            children_len: 0,
        });
        tree.layer_entries.push(0);
        TreeBuilder {
            tree,
            lookup: HashTable::new(),
            hasher: HashBuilder::default(),
            current: vec![NONE],
            first_child: vec![NONE],
            next_sibling: vec![NONE],
            raw_versions: Vec::new(),
            layer_versions_start: vec![0],
            last_dir: Vec::new(),
            last_dir_node: ROOT,
            stack: Vec::new(),
        }
    }

    /// The number of layers added so far.
    pub fn layer_count(&self) -> usize {
        self.tree.layer_entries.len() - 1
    }

    /// Apply the next layer. An unavailable layer is applied as an empty one.
    pub fn add_layer(&mut self, layer: &ParsedLayer) {
        let index = self.layer_count();
        let layer_no = u16::try_from(index).unwrap_or(u16::MAX);
        let first = self.tree.entries.len() as u32;
        // An empty `last_dir` never matches: top-level paths take the branch above.
        self.last_dir.clear();
        self.last_dir_node = ROOT;

        for record in &layer.records {
            let node = self.node_for_path(record.path.get(&layer.arena));
            if !record.link.is_empty() {
                let start = self.tree.link_bytes.len();
                self.tree
                    .link_bytes
                    .extend_from_slice(record.link.get(&layer.arena));
                let id = self.tree.entries.len() as EntryId;
                let span = Span {
                    start: start as u32,
                    len: record.link.len,
                };
                self.tree.links.push((id, span));
            }
            self.tree.entries.push(Entry {
                layer: layer_no,
                node,
                meta: record.meta,
            });
        }
        let end = self.tree.entries.len() as u32;
        self.tree.secrets.extend(
            layer
                .secrets
                .iter()
                .map(|(record, hit)| (first + record, hit.clone())),
        );

        // An opaque marker applies before its siblings wherever it sits in the tar, and a
        // whiteout only ever hides lower layers: so both are applied before any write.
        for id in first..end {
            let entry = self.tree.entries[id as usize];
            if entry.meta.kind == EntryKind::Opaque {
                let mut child = self.first_child[entry.node as usize];
                while child != NONE {
                    self.remove_subtree(child, layer_no, Change::Opaque, id);
                    child = self.next_sibling[child as usize];
                }
            }
        }
        for id in first..end {
            let entry = self.tree.entries[id as usize];
            if entry.meta.kind == EntryKind::Whiteout {
                self.remove_subtree(entry.node, layer_no, Change::Whiteout, id);
            }
        }
        for id in first..end {
            let entry = self.tree.entries[id as usize];
            match entry.meta.kind {
                EntryKind::Whiteout => {}
                EntryKind::Opaque => self.ensure_directory(entry.node, layer_no),
                _ => {
                    let parent = self.tree.nodes[entry.node as usize].parent;
                    self.ensure_directory(parent, layer_no);
                    self.write(entry.node, layer_no, id);
                }
            }
        }
        self.tree.layer_entries.push(end);
        self.layer_versions_start
            .push(self.raw_versions.len() as u32);
    }

    /// Freeze the tree: group versions by node and children by parent, sorted by name.
    pub fn finish(self) -> Tree {
        let TreeBuilder {
            mut tree,
            raw_versions,
            layer_versions_start,
            lookup,
            current,
            first_child,
            next_sibling,
            ..
        } = self;
        // Free the build-time indexes before the final arrays are allocated: peak memory
        // is what a million-path image pays.
        drop((lookup, current, first_child, next_sibling));
        let node_count = tree.nodes.len();

        // Counting sort of versions by node keeps each node's versions in layer order.
        let mut counts = vec![0u32; node_count + 1];
        for (node, _) in &raw_versions {
            counts[*node as usize + 1] += 1;
        }
        for i in 0..node_count {
            counts[i + 1] += counts[i];
        }
        for (i, node) in tree.nodes.iter_mut().enumerate() {
            node.versions_start = counts[i];
            node.versions_len = counts[i + 1] - counts[i];
        }
        let mut placed = vec![
            Version {
                layer: 0,
                change: Change::Unchanged,
                entry: NONE,
                content: NONE,
            };
            raw_versions.len()
        ];
        let mut position: Vec<u32> = Vec::with_capacity(raw_versions.len());
        let mut next = counts;
        for (node, version) in &raw_versions {
            let slot = next[*node as usize];
            next[*node as usize] += 1;
            placed[slot as usize] = *version;
            position.push(slot);
        }
        drop(raw_versions);
        tree.versions = placed;
        tree.layer_versions = position;
        tree.layer_versions_start = layer_versions_start;

        // Children: group by parent, then sort each group by name bytes.
        let mut counts = vec![0u32; node_count + 1];
        for node in tree.nodes.iter().skip(1) {
            counts[node.parent as usize + 1] += 1;
        }
        for i in 0..node_count {
            counts[i + 1] += counts[i];
        }
        let mut children = vec![ROOT; node_count.saturating_sub(1)];
        let mut next = counts.clone();
        for id in 1..node_count {
            let parent = tree.nodes[id].parent as usize;
            children[next[parent] as usize] = id as NodeId;
            next[parent] += 1;
        }
        for parent in 0..node_count {
            let (start, end) = (counts[parent] as usize, counts[parent + 1] as usize);
            let names = &tree.names;
            let nodes = &tree.nodes;
            children[start..end].sort_unstable_by(|a, b| {
                nodes[*a as usize]
                    .name
                    .get(names)
                    .cmp(nodes[*b as usize].name.get(names))
            });
            tree.nodes[parent].children_start = start as u32;
            tree.nodes[parent].children_len = (end - start) as u32;
        }
        tree.children = children;
        tree
    }

    fn node_for_path(&mut self, path: &[u8]) -> NodeId {
        if path.is_empty() {
            return ROOT; // an opaque marker at the top of a layer names the root
        }
        let (dir, name) = match path.iter().rposition(|&b| b == b'/') {
            Some(i) => (&path[..i], &path[i + 1..]),
            None => (&path[..0], path),
        };
        let parent = if dir.is_empty() {
            ROOT
        } else if dir == self.last_dir.as_slice() {
            self.last_dir_node
        } else {
            let mut node = ROOT;
            for component in dir.split(|&b| b == b'/') {
                node = self.child(node, component);
            }
            self.last_dir.clear();
            self.last_dir.extend_from_slice(dir);
            self.last_dir_node = node;
            node
        };
        self.child(parent, name)
    }

    fn hash_key(hasher: &HashBuilder, parent: NodeId, name: &[u8]) -> u64 {
        let mut state = hasher.build_hasher();
        parent.hash(&mut state);
        name.hash(&mut state);
        state.finish()
    }

    /// Find or create the child `name` of `parent`.
    fn child(&mut self, parent: NodeId, name: &[u8]) -> NodeId {
        let hash = Self::hash_key(&self.hasher, parent, name);
        let Tree { nodes, names, .. } = &mut self.tree;
        if let Some(&found) = self.lookup.find(hash, |&id| {
            let node = &nodes[id as usize];
            node.parent == parent && node.name.get(names) == name
        }) {
            return found;
        }
        let id = nodes.len() as NodeId;
        let start = names.len() as u32;
        names.extend_from_slice(name);
        nodes.push(Node {
            parent,
            name: Span {
                start,
                len: name.len() as u32,
            },
            versions_start: 0,
            versions_len: 0,
            children_start: 0,
            children_len: 0,
        });
        let hasher = &self.hasher;
        self.lookup.insert_unique(hash, id, |&other| {
            let node = &nodes[other as usize];
            Self::hash_key(hasher, node.parent, node.name.get(names))
        });
        self.current.push(NONE);
        self.first_child.push(NONE);
        self.next_sibling.push(self.first_child[parent as usize]);
        self.first_child[parent as usize] = id;
        id
    }

    fn live(&self, node: NodeId) -> Option<Version> {
        let current = self.current[node as usize];
        if current == NONE {
            return None;
        }
        let version = self.raw_versions[current as usize].1;
        (!version.change.is_removal()).then_some(version)
    }

    fn is_directory(&self, version: &Version) -> bool {
        version.entry == NONE
            || self.tree.entries[version.entry as usize].meta.kind == EntryKind::Dir
    }

    fn push_version(&mut self, node: NodeId, version: Version) {
        self.current[node as usize] = self.raw_versions.len() as u32;
        self.raw_versions.push((node, version));
    }

    /// Record a removal on `node` and every live node below it.
    fn remove_subtree(&mut self, node: NodeId, layer: u16, change: Change, cause: EntryId) {
        self.stack.clear();
        self.stack.push(node);
        while let Some(id) = self.stack.pop() {
            // A dead node's children are dead: a child only lives under a live directory.
            if self.live(id).is_none() {
                continue;
            }
            self.push_version(
                id,
                Version {
                    layer,
                    change,
                    entry: cause,
                    content: NONE,
                },
            );
            let mut child = self.first_child[id as usize];
            while child != NONE {
                self.stack.push(child);
                child = self.next_sibling[child as usize];
            }
        }
    }

    /// Make `node` and its ancestors live directories, implying the missing ones.
    fn ensure_directory(&mut self, node: NodeId, layer: u16) {
        let mut missing = Vec::new();
        let mut current = node;
        while current != ROOT {
            match self.live(current) {
                Some(version) if self.is_directory(&version) => break,
                _ => missing.push(current),
            }
            current = self.tree.nodes[current as usize].parent;
        }
        for id in missing.into_iter().rev() {
            self.write(id, layer, NONE);
        }
    }

    /// Write entry `id` (or an implied directory, for NONE) at `node`.
    fn write(&mut self, node: NodeId, layer: u16, id: EntryId) {
        let meta = if id == NONE {
            super::IMPLIED_DIR
        } else {
            self.tree.entries[id as usize].meta
        };
        let content = match meta.kind {
            EntryKind::File => id,
            EntryKind::Hardlink => self.hardlink_content(id),
            _ => NONE,
        };
        let previous = self.live(node);
        let change = match previous {
            None => Change::Added,
            Some(prev) => {
                if self.is_directory(&prev) && meta.kind != EntryKind::Dir {
                    // A non-directory replaces the directory and everything below it.
                    let mut child = self.first_child[node as usize];
                    while child != NONE {
                        self.remove_subtree(child, layer, Change::Replaced, id);
                        child = self.next_sibling[child as usize];
                    }
                }
                if prev.layer == layer && prev.change == Change::Added {
                    Change::Added
                } else if self.same_state(&prev, id, content) {
                    Change::Unchanged
                } else {
                    Change::Modified
                }
            }
        };
        self.push_version(
            node,
            Version {
                layer,
                change,
                entry: id,
                content,
            },
        );
    }

    /// The content entry a hardlink reaches: its target's, as the target stands now.
    fn hardlink_content(&mut self, id: EntryId) -> EntryId {
        let entry = self.tree.entries[id as usize];
        let target_path = self.tree.entry_link(id).to_vec();
        let target = self.find_path(&target_path);
        let content = target
            .and_then(|node| self.live(node))
            .map(|version| version.content)
            .unwrap_or(NONE);
        if content == NONE {
            self.tree.warnings.push(format!(
                "layer {}: hardlink {} points to {}, which is not a file there",
                entry.layer,
                crate::escape::escape_bytes(&self.tree.path(entry.node)),
                crate::escape::escape_bytes(&target_path),
            ));
        }
        content
    }

    fn find_path(&self, path: &[u8]) -> Option<NodeId> {
        let mut node = ROOT;
        for component in path.split(|&b| b == b'/').filter(|c| !c.is_empty()) {
            let hash = Self::hash_key(&self.hasher, node, component);
            node = *self.lookup.find(hash, |&id| {
                let candidate = &self.tree.nodes[id as usize];
                candidate.parent == node && candidate.name.get(&self.tree.names) == component
            })?;
        }
        Some(node)
    }

    /// Does writing entry `id` leave the path as it was?
    fn same_state(&self, previous: &Version, id: EntryId, content: EntryId) -> bool {
        super::same_state(
            &self.tree.entries,
            &self.tree.links,
            &self.tree.link_bytes,
            (previous.entry, previous.content),
            (id, content),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layer::Meta;

    /// A layer from (path, kind) pairs; files get content hash 1.
    fn layer(entries: &[(&str, EntryKind)]) -> ParsedLayer {
        let mut parsed = ParsedLayer::default();
        for (path, kind) in entries {
            let meta = Meta {
                kind: *kind,
                mode: 0o644,
                uid: 0,
                gid: 0,
                size: 1,
                hash: 1,
                offset: 0,
            };
            parsed.push(path.as_bytes(), b"", meta);
        }
        parsed
    }

    fn paths(tree: &Tree, layer: usize) -> Vec<String> {
        tree.listing(layer)
            .into_iter()
            .map(|r| String::from_utf8(r.path).unwrap())
            .collect()
    }

    #[test]
    fn opaque_marker_at_the_root_hides_every_lower_path() {
        let mut builder = TreeBuilder::new();
        builder.add_layer(&layer(&[("a", EntryKind::File), ("d/x", EntryKind::File)]));
        builder.add_layer(&layer(&[("b", EntryKind::File), ("", EntryKind::Opaque)]));
        let tree = builder.finish();
        assert_eq!(paths(&tree, 0), ["/a", "/d", "/d/x"]);
        assert_eq!(paths(&tree, 1), ["/b"]);
    }

    #[test]
    fn opaque_applies_before_siblings_and_whiteouts_only_hide_lower_layers() {
        let mut builder = TreeBuilder::new();
        builder.add_layer(&layer(&[
            ("d/old", EntryKind::File),
            ("f", EntryKind::File),
        ]));
        builder.add_layer(&layer(&[
            ("d/new", EntryKind::File),
            ("d", EntryKind::Opaque),
            ("f", EntryKind::Whiteout),
        ]));
        let tree = builder.finish();
        assert_eq!(paths(&tree, 1), ["/d", "/d/new"]);
    }

    #[test]
    fn a_file_replacing_a_directory_removes_its_subtree() {
        let mut builder = TreeBuilder::new();
        builder.add_layer(&layer(&[("d/x/y", EntryKind::File)]));
        builder.add_layer(&layer(&[("d", EntryKind::File)]));
        builder.add_layer(&layer(&[("d/z", EntryKind::File)]));
        let tree = builder.finish();
        assert_eq!(paths(&tree, 1), ["/d"]);
        // A later child implies the directory again; the old children stay gone.
        assert_eq!(paths(&tree, 2), ["/d", "/d/z"]);
        let d = tree.children(ROOT)[0];
        let changes: Vec<Change> = tree.versions(d).iter().map(|v| v.change).collect();
        assert_eq!(changes, [Change::Added, Change::Modified, Change::Modified]);
    }
}
