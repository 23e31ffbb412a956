//! The merged, layer-aware filesystem.
//!
//! One arena holds every path that any layer mentions (`Node`, addressed by `u32`), one
//! vector holds every entry of every layer (`Entry`), and each node keeps the history of
//! what each layer did to it (`Version`). Views — one layer, layers 0..N, a range A..B — are
//! queries over those histories; the tree is never copied per layer.
//!
//! Building applies layers in order. Deletions (whiteouts, opaque directories, a directory
//! replaced by a file) record a removal version ([`Change::Whiteout`], [`Change::Opaque`],
//! [`Change::Replaced`]) on each live node they hide, so their cost is proportional to what
//! they remove, never a re-merge of lower layers.
//!
//! Paths are placed as an unpacker places them: an entry's parent is resolved through the
//! symlinks of the tree at that moment, confined to the rootfs (as umoci's securejoin and
//! containerd do), so `bin/tool` over `bin -> usr/bin` is the node `/usr/bin/tool`. Every
//! view shows resolved paths; [`Tree::written_path`] keeps the tar's path where it differs.
//!
//! Three names for three things: a [`Change`] is what one layer did to a path, as the tree
//! records it; a [`DiffKind`] is how a path differs between two points of the stack (what
//! views colour); the analysis's `PathEvent` is a `Change` told to people, with the cause
//! of a removal (its parent deleted, an opaque directory) and the words every view uses.

mod build;
mod view;

pub use build::{LiveState, TreeBuilder};
pub use view::{ChangeCounts, Diff, DiffKind, ListingRow};

use crate::layer::{EntryKind, Meta, Span};

/// Index of a node in the arena.
pub type NodeId = u32;
/// Index of an entry in [`Tree::entries`].
pub type EntryId = u32;
/// Marks "no entry" / "no version".
pub const NONE: u32 = u32::MAX;
/// The root directory. It has no versions: it always exists.
pub const ROOT: NodeId = 0;

/// A path in the merged tree.
#[derive(Debug, Clone, Copy)]
pub struct Node {
    pub parent: NodeId,
    name: Span,
    versions_start: u32,
    versions_len: u32,
    children_start: u32,
    children_len: u32,
}

/// One entry of one layer, attached to the node its path resolves to (its parent followed
/// through symlinks). Whiteouts are attached to the path they delete, opaque markers to
/// their directory. Link targets live
/// in a side table ([`Tree::entry_link`]): few entries are links, so every entry does not
/// pay for one.
#[derive(Debug, Clone, Copy)]
pub struct Entry {
    pub layer: u16,
    pub node: NodeId,
    pub meta: Meta,
}

/// What a layer did to a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    /// The path did not exist below and this layer created it.
    Added,
    /// Type, content, mode, owner or link target differ from the version below.
    Modified,
    /// Written again with identical type, content, mode, owner and link target.
    Unchanged,
    /// Deleted by a whiteout for this path or for one of its parents.
    Whiteout,
    /// Hidden by an opaque marker on one of its parents.
    Opaque,
    /// Hidden because it, or a parent directory, was replaced by a non-directory.
    Replaced,
}

impl Change {
    pub fn is_removal(self) -> bool {
        matches!(self, Change::Whiteout | Change::Opaque | Change::Replaced)
    }
}

/// A node's state from one layer on.
#[derive(Debug, Clone, Copy)]
pub struct Version {
    pub layer: u16,
    pub change: Change,
    /// For writes, the entry written ([`NONE`] for a directory that a layer only implies);
    /// for removals, the marker or entry that caused them.
    pub entry: EntryId,
    /// The entry that holds this version's content: itself for a file, the target for a
    /// hardlink (a symlink entry, for a hardlink to a symlink), [`NONE`] otherwise.
    pub content: EntryId,
}

/// Metadata given to directories that a layer implies without an entry (`a/b/c` without
/// `a/`), as container runtimes create them.
pub const IMPLIED_DIR: Meta = Meta {
    kind: EntryKind::Dir,
    mode: 0o755,
    uid: 0,
    gid: 0,
    size: 0,
    hash: 0,
    offset: 0,
};

/// The merged filesystem of an image.
#[derive(Debug, Default)]
pub struct Tree {
    nodes: Vec<Node>,
    names: Vec<u8>,
    entries: Vec<Entry>,
    /// `layer_entries[l]..layer_entries[l + 1]` are layer l's entries.
    layer_entries: Vec<u32>,
    link_bytes: Vec<u8>,
    /// Link targets of symlink and hardlink entries, sorted by entry id.
    links: Vec<(EntryId, Span)>,
    /// Paths as the tar wrote them, for the few entries that landed elsewhere (their
    /// parent crossed a symlink), sorted by entry id; the bytes are in `written_bytes`.
    written: Vec<(EntryId, Span)>,
    written_bytes: Vec<u8>,
    /// Versions grouped by node, in layer order within a node.
    versions: Vec<Version>,
    /// Version ids in layer order; `layer_versions_start[l]..[l + 1]` belong to layer l.
    layer_versions: Vec<u32>,
    layer_versions_start: Vec<u32>,
    /// Children of every node, grouped by parent and sorted by name.
    children: Vec<NodeId>,
    /// Each layer's own change counts, as the builder counted them while applying it.
    layer_changes: Vec<ChangeCounts>,
    warnings: Vec<String>,
}

impl Tree {
    pub fn layer_count(&self) -> usize {
        self.layer_entries.len().saturating_sub(1)
    }

    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    pub fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id as usize]
    }

    /// The last path component, raw bytes.
    pub fn name(&self, id: NodeId) -> &[u8] {
        self.nodes[id as usize].name.get(&self.names)
    }

    /// The absolute path, `/` for the root.
    pub fn path(&self, id: NodeId) -> Vec<u8> {
        let mut parts = Vec::new();
        let mut current = id;
        while current != ROOT {
            parts.push(current);
            current = self.nodes[current as usize].parent;
        }
        let mut path = Vec::new();
        for part in parts.iter().rev() {
            path.push(b'/');
            path.extend_from_slice(self.name(*part));
        }
        if path.is_empty() {
            path.push(b'/');
        }
        path
    }

    /// Children sorted by name (every child ever created, alive or not).
    pub fn children(&self, id: NodeId) -> &[NodeId] {
        let node = &self.nodes[id as usize];
        &self.children
            [node.children_start as usize..(node.children_start + node.children_len) as usize]
    }

    /// The node at absolute `path` (`/a/b`), if any layer ever had it.
    pub fn lookup(&self, path: &[u8]) -> Option<NodeId> {
        let mut at = ROOT;
        for name in path.split(|&b| b == b'/').filter(|n| !n.is_empty()) {
            let children = self.children(at);
            let index = children
                .binary_search_by(|&child| self.name(child).cmp(name))
                .ok()?;
            at = children[index];
        }
        Some(at)
    }

    /// Every version of a node, oldest first.
    pub fn versions(&self, id: NodeId) -> &[Version] {
        let node = &self.nodes[id as usize];
        &self.versions
            [node.versions_start as usize..(node.versions_start + node.versions_len) as usize]
    }

    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    pub fn entry(&self, id: EntryId) -> &Entry {
        &self.entries[id as usize]
    }

    /// Layer l's entries, in tar order.
    pub fn layer_entries(&self, layer: usize) -> &[Entry] {
        let start = self.layer_entries[layer] as usize;
        let end = self.layer_entries[layer + 1] as usize;
        &self.entries[start..end]
    }

    /// The id of the first entry of a layer (entry ids are global).
    pub fn layer_entry_start(&self, layer: usize) -> EntryId {
        self.layer_entries[layer]
    }

    /// Link target of an entry (symlink target, or hardlink target path); empty otherwise.
    pub fn entry_link(&self, id: EntryId) -> &[u8] {
        entry_link(&self.links, &self.link_bytes, id)
    }

    /// The path entry `id` had in its tar (normalised, no leading `/`; for a whiteout, the
    /// path it deletes), when it differs from where the entry landed: its parent crossed
    /// a symlink. `None` for the entries placed where they were written.
    pub fn written_path(&self, id: EntryId) -> Option<&[u8]> {
        self.written
            .binary_search_by_key(&id, |(entry, _)| *entry)
            .ok()
            .map(|found| self.written[found].1.get(&self.written_bytes))
    }

    /// Warnings from building: hardlinks to nothing, and the like.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// The version in force after `layer` (the last one at or below it), if the node had
    /// one by then. It may be a removal.
    pub fn version_at(&self, id: NodeId, layer: usize) -> Option<&Version> {
        self.versions(id)
            .iter()
            .rev()
            .find(|v| v.layer as usize <= layer)
    }

    /// The version in force after `layer`, if the path exists then.
    pub fn live_at(&self, id: NodeId, layer: usize) -> Option<&Version> {
        self.version_at(id, layer)
            .filter(|v| !v.change.is_removal())
    }

    /// Effective metadata of a written version, as a container sees it: an implied
    /// directory gets [`IMPLIED_DIR`]; a hardlink shows its target's inode (mode, owner,
    /// size, hash) but keeps its own kind.
    pub fn meta(&self, version: &Version) -> Meta {
        effective_meta(&self.entries, version.entry, version.content)
    }

    /// Content bytes of a written version: regular files and hardlinks to them; 0 for all else.
    pub fn content_size(&self, version: &Version) -> u64 {
        if version.content == NONE {
            0
        } else {
            self.entries[version.content as usize].meta.size
        }
    }

    /// Link target of a written version (symlink target or hardlink target path). A
    /// hardlink to a symlink is that symlink, so its target is the symlink's.
    pub fn version_link(&self, version: &Version) -> &[u8] {
        if version.entry == NONE {
            return &[];
        }
        self.entry_link(link_holder(&self.entries, version.entry, version.content))
    }

    /// Version ids of one layer, in the order they were applied.
    pub fn layer_version_ids(&self, layer: usize) -> &[u32] {
        let start = self.layer_versions_start[layer] as usize;
        let end = self.layer_versions_start[layer + 1] as usize;
        &self.layer_versions[start..end]
    }

    /// A version by id, with the node it belongs to (found by binary search: versions are
    /// grouped by node in node order, which saves storing a node per version).
    pub fn version_by_id(&self, id: u32) -> (NodeId, &Version) {
        let after = self
            .nodes
            .partition_point(|n| n.versions_start + n.versions_len <= id);
        (crate::limits::to_u32(after), &self.versions[id as usize])
    }
}

/// Metadata of entry `id` as a container sees it (see [`Tree::meta`]).
fn effective_meta(entries: &[Entry], id: EntryId, content: EntryId) -> Meta {
    if id == NONE {
        return IMPLIED_DIR;
    }
    let own = entries[id as usize].meta;
    if own.kind == EntryKind::Hardlink && content != NONE {
        let target = entries[content as usize].meta;
        if target.kind == EntryKind::Symlink {
            return target; // link(2) on a symlink makes a second symlink
        }
        return Meta {
            kind: EntryKind::Hardlink,
            ..target
        };
    }
    own
}

/// The entry whose link target a written version shows: the hardlink's symlink, for a
/// hardlink to a symlink; the entry itself otherwise.
fn link_holder(entries: &[Entry], id: EntryId, content: EntryId) -> EntryId {
    let is_symlink = |e: EntryId| e != NONE && entries[e as usize].meta.kind == EntryKind::Symlink;
    if entries[id as usize].meta.kind == EntryKind::Hardlink && is_symlink(content) {
        content
    } else {
        id
    }
}

fn entry_link<'a>(links: &[(EntryId, Span)], link_bytes: &'a [u8], id: EntryId) -> &'a [u8] {
    match links.binary_search_by_key(&id, |(entry, _)| *entry) {
        Ok(found) => links[found].1.get(link_bytes),
        Err(_) => &[],
    }
}

/// Whether two written states of a path are the same: type (a hardlink is a regular
/// file), content, mode, owner and symlink target. The mtime alone does not count.
fn same_state(
    entries: &[Entry],
    links: &[(EntryId, Span)],
    link_bytes: &[u8],
    a: (EntryId, EntryId),
    b: (EntryId, EntryId),
) -> bool {
    let (ma, mb) = (
        effective_meta(entries, a.0, a.1),
        effective_meta(entries, b.0, b.1),
    );
    let link = |(id, content): (EntryId, EntryId), meta: &Meta| {
        if id == NONE || meta.kind != EntryKind::Symlink {
            &[][..]
        } else {
            entry_link(links, link_bytes, link_holder(entries, id, content))
        }
    };
    ma.kind.type_char() == mb.kind.type_char()
        && ma.mode == mb.mode
        && ma.uid == mb.uid
        && ma.gid == mb.gid
        && ma.hash == mb.hash
        && ma.size == mb.size
        && link(a, &ma) == link(b, &mb)
}
