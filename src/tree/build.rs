//! Applying layers, in order, to the merged tree.
//!
//! Within a layer, opaque markers and whiteouts apply first (they hide lower layers only),
//! then writes in tar order. Every entry's parent is resolved through live symlinks inside
//! the rootfs (absolute targets from the root, `..` stopping at `/`, at most
//! [`MAX_SYMLINK_FOLLOWS`] links, a loop warned about and placed as written); the entry's
//! own last component is never followed. Markers resolve against the layers below; writes
//! against the tree as the layer's earlier writes left it, so a symlink replacing a directory
//! moves where later entries land. (umoci, streaming, resolves a marker at its place in the
//! tar: the two differ only when a layer replaces a marker's symlinked parent before it.)

use super::{
    Change, ChangeCounts, DiffKind, Entry, EntryId, Node, NodeId, Tree, Version, NONE, ROOT,
};
use crate::layer::{EntryKind, ParsedLayer, Span};
use crate::limits::{self, to_u32, LimitError, Limited, Limits};
use hashbrown::HashTable;
use std::hash::{BuildHasher, Hash, Hasher};

type HashBuilder = hashbrown::DefaultHashBuilder;

/// Builds a [`Tree`] one layer at a time. Layers must be added in order, bottom first.
pub struct TreeBuilder {
    tree: Tree,
    /// Node lookup by (parent, name), storing node ids and 32 bits of their key's hash:
    /// names stay in the arena, and neither growing the table nor a probe that misses
    /// reads them (at a million paths, rehashing from the names cost 0.25 s).
    lookup: HashTable<(NodeId, u32)>,
    hasher: HashBuilder,
    /// Per node: the id of its latest version in `raw_versions`, or NONE.
    current: Vec<u32>,
    first_child: Vec<NodeId>,
    next_sibling: Vec<NodeId>,
    /// Versions in the order they were applied (layer order), with their node.
    raw_versions: Vec<(NodeId, Version)>,
    layer_versions_start: Vec<u32>,
    /// Scratch: the parent directory of the previous record as written, to skip lookups
    /// for siblings, with the node it resolved to and whether a symlink was crossed.
    /// Cleared by [`Self::forget_resolutions`] whenever a resolution could change.
    last_dir: Vec<u8>,
    last_dir_node: NodeId,
    last_dir_crossed: bool,
    stack: Vec<NodeId>,
    limits: Limits,
    /// The first limit a layer went past. The builder is then unusable: every later
    /// `add_layer` returns it.
    overflow: Option<LimitError>,
    /// Scratch for resolving through symlinks: path bytes and component spans.
    scratch: Vec<u8>,
    pending: Vec<(usize, usize)>,
    /// Each layer's own change counts, counted as it is applied: the finished tree keeps
    /// them, so no reader diffs every layer again after the load.
    layer_changes: Vec<ChangeCounts>,
    /// Scratch while a layer is applied: each node it touches, with its version before.
    touched: Vec<(NodeId, u32)>,
}

/// Symlinks followed while resolving one path before it counts as a loop: Linux's
/// MAXSYMLINKS (40), the bound a chroot unpacker such as Docker's meets. (securejoin,
/// used by umoci, allows 255; umoci then fails the unpack where layerscope warns.)
pub const MAX_SYMLINK_FOLLOWS: usize = 40;

/// The longest symlink target followed: Linux's PATH_MAX less its NUL. No runtime can
/// create a longer one (symlink(2) fails), and the bound keeps one resolution's work at
/// most [`MAX_SYMLINK_FOLLOWS`] × this many bytes.
pub const MAX_SYMLINK_TARGET: usize = 4095;

/// Room for `more` items, growing by at least an eighth instead of doubling: the tree's
/// vectors are its bulk (tens of bytes a path, a million paths), and each layer says how
/// many records it brings, so doubling would leave up to half of them unused.
fn reserve_gently<T>(items: &mut Vec<T>, more: usize) {
    if items.capacity() - items.len() < more {
        items.reserve_exact(more.max(items.len() / 8));
    }
}

/// What stands at a path of a tree being built ([`TreeBuilder::live_state`]).
#[derive(Debug, Clone, Copy)]
pub struct LiveState {
    pub meta: crate::layer::Meta,
    /// Content bytes: a file's, or a hardlink's target's; 0 for anything else.
    pub size: u64,
    pub is_dir: bool,
}

/// Where a path resolves.
enum Resolved {
    /// `crossed`: a symlink was followed on the way.
    Node { node: NodeId, crossed: bool },
    /// A component does not exist (only when resolving without creating).
    Missing,
    /// More than [`MAX_SYMLINK_FOLLOWS`] symlinks, or one longer than
    /// [`MAX_SYMLINK_TARGET`].
    Loop,
}

/// The entry holding the symlink target of a written version, if it is a symlink: the
/// entry itself, or for a hardlink to a symlink, the symlink it reached.
fn symlink_entry(entries: &[Entry], entry: EntryId, content: EntryId) -> Option<EntryId> {
    if entry == NONE {
        return None;
    }
    match entries[entry as usize].meta.kind {
        EntryKind::Symlink => Some(entry),
        EntryKind::Hardlink
            if content != NONE && entries[content as usize].meta.kind == EntryKind::Symlink =>
        {
            Some(content)
        }
        _ => None,
    }
}

impl Default for TreeBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl TreeBuilder {
    pub fn new() -> Self {
        Self::with_limits(Limits::default())
    }

    /// A builder that refuses to grow past `limits` (lowered to the model's capacity).
    pub fn with_limits(limits: Limits) -> Self {
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
            last_dir_crossed: false,
            stack: Vec::new(),
            limits: limits.clamped(),
            overflow: None,
            scratch: Vec::new(),
            pending: Vec::new(),
            layer_changes: Vec::new(),
            touched: Vec::new(),
        }
    }

    /// The id the next layer's first entry gets: record `i` of that layer is entry
    /// `next_entry() + i`.
    pub fn next_entry(&self) -> EntryId {
        to_u32(self.tree.entries.len())
    }

    /// The number of layers added so far.
    pub fn layer_count(&self) -> usize {
        self.tree.layer_entries.len() - 1
    }

    /// Apply the next layer. An unavailable layer is applied as an empty one.
    ///
    /// Markers first, then writes in tar order. An opaque marker or a whiteout only ever
    /// hides lower layers, so markers are resolved and applied against the layers below,
    /// before any write of their layer. Writes are then applied one by one in tar order,
    /// each entry's parent resolved through the symlinks standing at that moment (lower
    /// layers and this layer's earlier writes), as an unpacker resolves it.
    ///
    /// Fails when the layer takes the tree past one of its [`Limits`]; the builder must
    /// then be dropped (its tree is half-applied), and later calls fail the same way.
    pub fn add_layer(&mut self, layer: &ParsedLayer) -> Result<(), LimitError> {
        if let Some(error) = self.overflow {
            return Err(error);
        }
        let index = self.layer_count();
        if let Err(error) = limits::check(Limited::Layers, index + 1, self.limits.layers) {
            return Err(*self.overflow.insert(error));
        }
        let layer_no = u16::try_from(index).expect("MAX_LAYERS keeps layer numbers within u16");
        let first = to_u32(self.tree.entries.len());
        self.forget_resolutions();
        // Each record is one entry and at most one version; most make one node.
        let records = layer.records.len();
        reserve_gently(&mut self.tree.entries, records);
        reserve_gently(&mut self.raw_versions, records);
        reserve_gently(&mut self.tree.nodes, records);
        reserve_gently(&mut self.current, records);
        reserve_gently(&mut self.first_child, records);
        reserve_gently(&mut self.next_sibling, records);

        for record in &layer.records {
            let id: EntryId = self.grow(|b| {
                limits::next_id(Limited::Entries, b.tree.entries.len(), b.limits.entries)
            })?;
            if !record.link.is_empty() {
                let start = self.grow(|b| {
                    let (len, add) = (b.tree.link_bytes.len(), record.link.len as usize);
                    limits::next_offset(Limited::LinkBytes, len, add, b.limits.link_bytes)
                })?;
                self.tree
                    .link_bytes
                    .extend_from_slice(record.link.get(&layer.arena));
                let span = Span {
                    start,
                    len: record.link.len,
                };
                self.tree.links.push((id, span));
            }
            // The node is set when the entry is applied: where it lands depends on the
            // tree at that moment.
            self.tree.entries.push(Entry {
                layer: layer_no,
                node: ROOT,
                meta: record.meta,
            });
        }
        let end = to_u32(self.tree.entries.len());
        let applied = || (first..end).zip(&layer.records);

        // An opaque marker names its directory, which is resolved whole: the marker is the
        // entry, so the directory is its parent.
        for (id, record) in applied() {
            self.check_overflow()?;
            if record.meta.kind == EntryKind::Opaque {
                let node = self.place(layer.path(record), true, id);
                let mut child = self.first_child[node as usize];
                while child != NONE {
                    self.remove_subtree(child, layer_no, Change::Opaque, id);
                    child = self.next_sibling[child as usize];
                }
            }
        }
        for (id, record) in applied() {
            self.check_overflow()?;
            if record.meta.kind == EntryKind::Whiteout {
                let node = self.place(layer.path(record), false, id);
                self.remove_subtree(node, layer_no, Change::Whiteout, id);
            }
        }
        for (id, record) in applied() {
            self.check_overflow()?;
            match record.meta.kind {
                EntryKind::Whiteout => {}
                EntryKind::Opaque => {
                    let node = self.tree.entries[id as usize].node;
                    self.ensure_directory(node, layer_no);
                }
                _ => {
                    let node = self.place(layer.path(record), false, id);
                    let parent = self.tree.nodes[node as usize].parent;
                    self.ensure_directory(parent, layer_no);
                    self.write(node, layer_no, id);
                }
            }
        }
        self.check_overflow()?;
        self.count_layer();
        self.tree.layer_entries.push(end);
        self.layer_versions_start
            .push(to_u32(self.raw_versions.len()));
        Ok(())
    }

    /// The counts of the layer just applied, which [`Tree::layer_change_counts`] gives
    /// once the tree is finished: each path it touched, before against after. The list of
    /// touched paths costs 8 bytes per path while its layer is applied.
    fn count_layer(&mut self) {
        let mut counts = ChangeCounts::default();
        let touched = std::mem::take(&mut self.touched);
        for &(node, before) in &touched {
            let before = (before != NONE)
                .then(|| self.raw_versions[before as usize].1)
                .filter(|v| !v.change.is_removal());
            let kind = match (before, self.live(node)) {
                (None, None) => continue,
                (None, Some(_)) => DiffKind::Added,
                (Some(_), None) => DiffKind::Removed,
                (Some(a), Some(b)) if self.same_state(&a, b.entry, b.content) => continue,
                (Some(_), Some(_)) => DiffKind::Modified,
            };
            counts.count(kind);
        }
        // Dropped, not kept for the next layer: the finish that follows the last layer
        // must not pay for the largest layer's list at its peak.
        drop(touched);
        self.layer_changes.push(counts);
    }

    /// What the explorer's first screen reads while the load goes on, between two layers:
    /// the tree as the layers applied so far leave it. Layer `layer`'s own change counts,
    /// once it is applied.
    pub fn layer_changes(&self, layer: usize) -> Option<ChangeCounts> {
        self.layer_changes.get(layer).copied()
    }

    /// The name of `node` (its last path component).
    pub fn name(&self, node: NodeId) -> &[u8] {
        self.tree.name(node)
    }

    /// What stands at `node` now, if anything: its metadata (an implied directory's for a
    /// directory no entry wrote), its content size and whether it is a directory.
    pub fn live_state(&self, node: NodeId) -> Option<LiveState> {
        let version = self.live(node)?;
        let meta = if version.entry == NONE {
            super::IMPLIED_DIR
        } else {
            self.tree.entries[version.entry as usize].meta
        };
        let size = if version.content == NONE {
            0
        } else {
            self.tree.entries[version.content as usize].meta.size
        };
        Some(LiveState {
            meta,
            size,
            is_dir: self.is_directory(&version),
        })
    }

    /// The children of `node` that stand now, sorted by name as the explorer sorts them.
    pub fn live_children(&self, node: NodeId) -> Vec<NodeId> {
        let mut children = Vec::new();
        let mut child = self.first_child[node as usize];
        while child != NONE {
            if self.live(child).is_some() {
                children.push(child);
            }
            child = self.next_sibling[child as usize];
        }
        children.sort_unstable_by(|&a, &b| self.tree.name(a).cmp(self.tree.name(b)));
        children
    }

    /// The limit passed while applying the layer, if any: a node, name or version that
    /// did not fit was not recorded.
    fn check_overflow(&self) -> Result<(), LimitError> {
        self.overflow.map_or(Ok(()), Err)
    }

    /// Run a limit check; a failure poisons the builder.
    fn grow<T>(
        &mut self,
        check: impl FnOnce(&Self) -> Result<T, LimitError>,
    ) -> Result<T, LimitError> {
        check(self).map_err(|error| *self.overflow.insert(error))
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
            layer_changes,
            ..
        } = self;
        tree.layer_changes = layer_changes;
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
        // Markers are placed before the writes of their layer: restore entry order.
        tree.written.sort_unstable_by_key(|(id, _)| *id);
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
            children[next[parent] as usize] = to_u32(id);
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
            tree.nodes[parent].children_start = to_u32(start);
            tree.nodes[parent].children_len = to_u32(end - start);
        }
        tree.children = children;
        tree
    }

    /// Drop the cached parent resolution: called whenever one could change (a symlink
    /// written or removed, a directory replaced, any removal).
    fn forget_resolutions(&mut self) {
        // An empty `last_dir` never matches: top-level paths never consult the cache.
        self.last_dir.clear();
    }

    /// The node entry `id` at `path` lands on, creating the nodes it needs. The parent
    /// is resolved through symlinks inside the rootfs; the last component is followed
    /// too only when `follow_last` (an opaque marker names its directory). Where the
    /// resolved path differs from `path`, `path` is kept as the entry's written path.
    fn place(&mut self, path: &[u8], follow_last: bool, id: EntryId) -> NodeId {
        if path.is_empty() {
            return self.set_node(id, ROOT); // an opaque marker at the top of a layer
        }
        let (dir, name) = if follow_last {
            (path, &path[path.len()..])
        } else {
            match path.iter().rposition(|&b| b == b'/') {
                Some(i) => (&path[..i], &path[i + 1..]),
                None => (&path[..0], path),
            }
        };
        let (parent, crossed) = if dir.is_empty() {
            (ROOT, false)
        } else if dir == self.last_dir.as_slice() {
            (self.last_dir_node, self.last_dir_crossed)
        } else {
            let (node, crossed) = match self.resolve(dir, true) {
                Resolved::Node { node, crossed } => (node, crossed),
                Resolved::Loop => {
                    self.tree.warnings.push(format!(
                        "layer {}: /{}: more than {MAX_SYMLINK_FOLLOWS} symlinks to follow \
                         (a loop?), or one longer than {MAX_SYMLINK_TARGET} bytes, resolving \
                         its parent; placed at the path as written",
                        self.layer_count(),
                        crate::escape::escape_bytes(path),
                    ));
                    (self.lexical(dir), false)
                }
                Resolved::Missing => unreachable!("resolving with creation finds every path"),
            };
            self.last_dir.clear();
            self.last_dir.extend_from_slice(dir);
            self.last_dir_node = node;
            self.last_dir_crossed = crossed;
            (node, crossed)
        };
        let node = if name.is_empty() {
            parent
        } else {
            self.child(parent, name)
        };
        if crossed {
            let resolved = self.tree.path(node);
            if resolved[1..] != *path {
                let (len, limit) = (self.tree.written_bytes.len(), self.limits.written_bytes);
                match limits::next_offset(Limited::WrittenBytes, len, path.len(), limit) {
                    Ok(start) => {
                        self.tree.written_bytes.extend_from_slice(path);
                        let span = Span {
                            start,
                            len: to_u32(path.len()),
                        };
                        self.tree.written.push((id, span));
                    }
                    Err(error) => {
                        self.overflow.get_or_insert(error);
                    }
                }
            }
        }
        self.set_node(id, node)
    }

    fn set_node(&mut self, id: EntryId, node: NodeId) -> NodeId {
        self.tree.entries[id as usize].node = node;
        node
    }

    /// The node of `path` taken lexically, symlinks and all.
    fn lexical(&mut self, path: &[u8]) -> NodeId {
        let mut node = ROOT;
        for component in path.split(|&b| b == b'/') {
            node = self.child(node, component);
        }
        node
    }

    /// Resolve a normalised relative path, following every component through the
    /// symlinks live now, as a rootfs-confined join does (securejoin, containerd): an
    /// absolute target starts again from the image root, `..` never climbs above it, a
    /// missing component is taken as named. With `create`, missing nodes are created
    /// (an entry below them will imply them); without, a missing one ends the walk.
    fn resolve(&mut self, path: &[u8], create: bool) -> Resolved {
        // Fast path: no symlink on the way, nothing to copy.
        let mut node = ROOT;
        let mut at = 0;
        while at < path.len() {
            let end = path[at..]
                .iter()
                .position(|&b| b == b'/')
                .map_or(path.len(), |i| at + i);
            let Some(child) = self.step(node, &path[at..end], create) else {
                return Resolved::Missing;
            };
            if let Some(link) = self.symlink_entry(child) {
                let rest = path.get(end + 1..).unwrap_or_default();
                return self.resolve_through(node, link, rest, create);
            }
            node = child;
            at = end + 1;
        }
        Resolved::Node {
            node,
            crossed: false,
        }
    }

    /// The rest of [`Self::resolve`] from `node`, once its child symlink `link` is met
    /// with `rest` still to walk.
    fn resolve_through(
        &mut self,
        mut node: NodeId,
        link: EntryId,
        rest: &[u8],
        create: bool,
    ) -> Resolved {
        // Components still to walk, as spans of `scratch`, the next one last.
        let mut scratch = std::mem::take(&mut self.scratch);
        let mut pending = std::mem::take(&mut self.pending);
        scratch.clear();
        pending.clear();
        let push = |scratch: &mut Vec<u8>, pending: &mut Vec<(usize, usize)>, bytes: &[u8]| {
            let base = scratch.len();
            scratch.extend_from_slice(bytes);
            let mut spans: Vec<(usize, usize)> = Vec::new();
            let mut start = base;
            for (i, &b) in bytes.iter().enumerate() {
                if b == b'/' {
                    spans.push((start, base + i));
                    start = base + i + 1;
                }
            }
            spans.push((start, scratch.len()));
            pending.extend(spans.into_iter().rev());
        };
        push(&mut scratch, &mut pending, rest);
        let mut follows = 0;
        let mut next_link = Some(link);
        // Components walked that do not exist (only without `create`): the walk goes on
        // lexically, as a rootfs-confined join does, so that a later `..` cancels them
        // (`missing/../etc` is `etc`); the path is missing only if one is left at the end.
        let mut absent = 0usize;
        let outcome = loop {
            if let Some(link) = next_link.take() {
                follows += 1;
                if follows > MAX_SYMLINK_FOLLOWS
                    || self.tree.entry_link(link).len() > MAX_SYMLINK_TARGET
                {
                    break Resolved::Loop;
                }
                let target = self.tree.entry_link(link);
                if target.first() == Some(&b'/') {
                    node = ROOT;
                }
                let target = target.to_vec();
                push(&mut scratch, &mut pending, &target);
            }
            let Some((start, end)) = pending.pop() else {
                if absent > 0 {
                    break Resolved::Missing;
                }
                break Resolved::Node {
                    node,
                    crossed: true,
                };
            };
            match &scratch[start..end] {
                b"" | b"." => {}
                b".." if absent > 0 => absent -= 1,
                b".." => node = self.tree.nodes[node as usize].parent,
                _ if absent > 0 => absent += 1,
                name => {
                    let Some(child) = self.step(node, name, create) else {
                        absent += 1;
                        continue;
                    };
                    match self.symlink_entry(child) {
                        Some(link) => next_link = Some(link),
                        None => node = child,
                    }
                }
            }
        };
        self.scratch = scratch;
        self.pending = pending;
        outcome
    }

    /// The child `name` of `node`: found, or created when `create`.
    fn step(&mut self, node: NodeId, name: &[u8], create: bool) -> Option<NodeId> {
        if create {
            Some(self.child(node, name))
        } else {
            self.find_child(node, name)
        }
    }

    /// The entry holding the symlink target, if `node` is a live symlink now (a hardlink
    /// to a symlink is one too, as link(2) makes it).
    fn symlink_entry(&self, node: NodeId) -> Option<EntryId> {
        let version = self.live(node)?;
        symlink_entry(&self.tree.entries, version.entry, version.content)
    }

    /// The 32 bits of (parent, name)'s hash the lookup keeps.
    fn hash_key(hasher: &HashBuilder, parent: NodeId, name: &[u8]) -> u32 {
        let mut state = hasher.build_hasher();
        parent.hash(&mut state);
        name.hash(&mut state);
        (state.finish() >> 32) as u32
    }

    /// The table's 64-bit hash from the kept 32 bits: an odd multiplier spreads them into
    /// the low bits (the bucket) and the top seven (the control byte) alike.
    fn spread(hash: u32) -> u64 {
        u64::from(hash).wrapping_mul(0x9E37_79B9_7F4A_7C15)
    }

    /// Find or create the child `name` of `parent`.
    fn child(&mut self, parent: NodeId, name: &[u8]) -> NodeId {
        let hash = Self::hash_key(&self.hasher, parent, name);
        if let Some(found) = self.find_hashed(hash, parent, name) {
            return found;
        }
        let Tree { nodes, names, .. } = &mut self.tree;
        // Past a limit the path goes to the root: the layer fails before anything reads it.
        let checked =
            limits::next_id(Limited::Nodes, nodes.len(), self.limits.nodes).and_then(|id| {
                let len = names.len();
                let start = limits::next_offset(
                    Limited::NameBytes,
                    len,
                    name.len(),
                    self.limits.name_bytes,
                )?;
                Ok((id, start))
            });
        let (id, start) = match checked {
            Ok(found) => found,
            Err(error) => {
                self.overflow.get_or_insert(error);
                return ROOT;
            }
        };
        names.extend_from_slice(name);
        nodes.push(Node {
            parent,
            name: Span {
                start,
                len: to_u32(name.len()),
            },
            versions_start: 0,
            versions_len: 0,
            children_start: 0,
            children_len: 0,
        });
        self.lookup
            .insert_unique(Self::spread(hash), (id, hash), |&(_, kept)| {
                Self::spread(kept)
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
        // Past the limit nothing is recorded: the layer fails at its end.
        match limits::next_id(
            Limited::Versions,
            self.raw_versions.len(),
            self.limits.versions,
        ) {
            Ok(id) => {
                let before = self.current[node as usize];
                let layer_start = *self.layer_versions_start.last().unwrap_or(&0);
                if before == NONE || before < layer_start {
                    self.touched.push((node, before));
                }
                self.current[node as usize] = id;
                self.raw_versions.push((node, version));
            }
            Err(error) => {
                self.overflow.get_or_insert(error);
            }
        }
    }

    /// Record a removal on `node` and every live node below it.
    fn remove_subtree(&mut self, node: NodeId, layer: u16, change: Change, cause: EntryId) {
        self.forget_resolutions();
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
        // A symlink written, or one or a directory replaced, moves where later paths land.
        if symlink_entry(&self.tree.entries, id, content).is_some()
            || previous.is_some_and(|prev| {
                symlink_entry(&self.tree.entries, prev.entry, prev.content).is_some()
                    || (self.is_directory(&prev) && meta.kind != EntryKind::Dir)
            })
        {
            self.forget_resolutions();
        }
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

    /// The content entry a hardlink reaches: its target's, as the target stands now. The
    /// target's parent resolves through symlinks as an entry's does; the target itself is
    /// not followed, so a link to a symlink reaches the symlink (link(2) makes a second
    /// symlink).
    fn hardlink_content(&mut self, id: EntryId) -> EntryId {
        let entry = self.tree.entries[id as usize];
        let target_path = self.tree.entry_link(id).to_vec();
        let (dir, name) = match target_path.iter().rposition(|&b| b == b'/') {
            Some(i) => (&target_path[..i], &target_path[i + 1..]),
            None => (&target_path[..0], &target_path[..]),
        };
        let parent = if dir.is_empty() {
            Resolved::Node {
                node: ROOT,
                crossed: false,
            }
        } else {
            self.resolve(dir, false)
        };
        let content = match parent {
            Resolved::Node { node, .. } if !name.is_empty() => self
                .find_child(node, name)
                .and_then(|node| self.live(node))
                .map(|version| {
                    symlink_entry(&self.tree.entries, version.entry, version.content)
                        .unwrap_or(version.content)
                })
                .unwrap_or(NONE),
            _ => NONE,
        };
        if content == NONE {
            let why = if matches!(parent, Resolved::Loop) {
                "which has a symlink loop on its way"
            } else {
                "which is not a file there"
            };
            self.tree.warnings.push(format!(
                "layer {}: hardlink {} points to {}, {why}",
                entry.layer,
                crate::escape::escape_bytes(&self.tree.path(entry.node)),
                crate::escape::escape_bytes(&target_path),
            ));
        }
        content
    }

    fn find_child(&self, parent: NodeId, name: &[u8]) -> Option<NodeId> {
        self.find_hashed(Self::hash_key(&self.hasher, parent, name), parent, name)
    }

    /// The child `name` of `parent`, whose key hashes to `hash`.
    fn find_hashed(&self, hash: u32, parent: NodeId, name: &[u8]) -> Option<NodeId> {
        self.lookup
            .find(Self::spread(hash), |&(id, kept)| {
                let candidate = &self.tree.nodes[id as usize];
                kept == hash
                    && candidate.parent == parent
                    && candidate.name.get(&self.tree.names) == name
            })
            .map(|&(id, _)| id)
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
        builder
            .add_layer(&layer(&[("a", EntryKind::File), ("d/x", EntryKind::File)]))
            .unwrap();
        builder
            .add_layer(&layer(&[("b", EntryKind::File), ("", EntryKind::Opaque)]))
            .unwrap();
        let tree = builder.finish();
        assert_eq!(paths(&tree, 0), ["/a", "/d", "/d/x"]);
        assert_eq!(paths(&tree, 1), ["/b"]);
    }

    #[test]
    fn opaque_applies_before_siblings_and_whiteouts_only_hide_lower_layers() {
        let mut builder = TreeBuilder::new();
        builder
            .add_layer(&layer(&[
                ("d/old", EntryKind::File),
                ("f", EntryKind::File),
            ]))
            .unwrap();
        builder
            .add_layer(&layer(&[
                ("d/new", EntryKind::File),
                ("d", EntryKind::Opaque),
                ("f", EntryKind::Whiteout),
            ]))
            .unwrap();
        let tree = builder.finish();
        assert_eq!(paths(&tree, 1), ["/d", "/d/new"]);
    }

    #[test]
    fn entries_under_a_symlinked_parent_land_at_its_target_and_keep_their_tar_path() {
        let mut base = layer(&[("usr/bin/x", EntryKind::File)]);
        let mut meta = base.records[0].meta;
        meta.kind = EntryKind::Symlink;
        base.push(b"bin", b"usr/bin", meta);
        let mut builder = TreeBuilder::new();
        builder.add_layer(&base).unwrap();
        // The whiteout is applied before the write although the tar has it after.
        builder
            .add_layer(&layer(&[
                ("bin/new", EntryKind::File),
                ("bin/x", EntryKind::Whiteout),
                ("top", EntryKind::File),
            ]))
            .unwrap();
        let tree = builder.finish();
        assert_eq!(
            paths(&tree, 1),
            ["/bin", "/top", "/usr", "/usr/bin", "/usr/bin/new"]
        );
        let first = tree.layer_entry_start(1);
        let landed = |id: EntryId| tree.path(tree.entry(id).node);
        assert_eq!(landed(first), b"/usr/bin/new");
        assert_eq!(tree.written_path(first), Some(&b"bin/new"[..]));
        assert_eq!(landed(first + 1), b"/usr/bin/x");
        assert_eq!(tree.written_path(first + 1), Some(&b"bin/x"[..]));
        assert_eq!(tree.written_path(first + 2), None);
        assert_eq!(tree.written_path(0), None);
    }

    #[test]
    fn a_file_replacing_a_directory_removes_its_subtree() {
        let mut builder = TreeBuilder::new();
        builder
            .add_layer(&layer(&[("d/x/y", EntryKind::File)]))
            .unwrap();
        builder
            .add_layer(&layer(&[("d", EntryKind::File)]))
            .unwrap();
        builder
            .add_layer(&layer(&[("d/z", EntryKind::File)]))
            .unwrap();
        let tree = builder.finish();
        assert_eq!(paths(&tree, 1), ["/d"]);
        // A later child implies the directory again; the old children stay gone.
        assert_eq!(paths(&tree, 2), ["/d", "/d/z"]);
        let d = tree.children(ROOT)[0];
        let changes: Vec<Change> = tree.versions(d).iter().map(|v| v.change).collect();
        assert_eq!(changes, [Change::Added, Change::Modified, Change::Modified]);
    }
}
