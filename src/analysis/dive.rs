//! dive 0.13.1's efficiency score, reproduced exactly (`--score dive`).
//!
//! What dive does, as read from its source (`dive/filetree/efficiency.go`, `file_tree.go`,
//! `file_node.go`, `dive/image/docker/image_archive.go`, `dive/image/analysis.go`):
//!
//! 1. Each layer becomes a tree of its tar entries, keyed by cleaned path. A parent with no
//!    entry of its own is a node with an empty payload (size 0, not a directory). Opaque
//!    markers are dropped, but the parents created on the way to them stay. A whiteout
//!    `.wh.NAME` is a node of its own, named `.wh.NAME`; its path reads `.../NAME`.
//! 2. For each layer, every leaf is visited depth-first, children by name. A leaf's size is
//!    its tar header size, except for a whiteout: dive stacks layers 0..i-1 (a copy of layer
//!    0, then layers 0..i-1 on top of it, so layer 0 twice) and looks the path up. Found and
//!    a directory: the sum of its subtree; found and not a directory: 0; not found: the
//!    visit of the rest of the layer is abandoned, and the path keeps an entry whose
//!    minimum is -1 unless a later layer visits it.
//! 3. Per path: sizes summed, minimum kept, visits counted. Efficiency is Σmin / Σsum (1 if
//!    the sum is 0); wasted bytes are the sums of the paths visited at least twice, listed
//!    by `sort.Sort` on the sum (unstable) and then reversed.
//! 4. Stacking a layer visits every node (not only leaves), children first: a whiteout
//!    removes the path's subtree, anything else creates missing parents with empty payloads
//!    and replaces the payload at its path, keeping the children. So an implied parent in a
//!    later layer turns a directory into a non-directory for later lookups.
//!
//! dive re-stacks all lower layers for every whiteout (minutes on 10,000 whiteouts). Here
//! the stacked tree is kept up to date incrementally, with subtree sums maintained on each
//! change, so a lookup is O(1) and the whole score is near-linear in the number of entries.
//!
//! Not reproduced, because the parsed layers no longer carry them: AUFS metadata entries
//! (`.wh..wh.plnk/...`, `.wh..wh.aufs`), which dive takes for whiteouts and which make its
//! lookups fail; and tar paths climbing above the root (`../x`), which dive keeps as `..`
//! components while layerscope clamps them at `/`.

use super::{excluded_nodes, gosort, serialize_path, ExcludeFn};
use crate::layer::EntryKind;
use crate::limits::{self, to_u32, LimitError, Limited, MAX_IDS};
use crate::tree::{NodeId, Tree, NONE, ROOT};
use std::collections::HashMap;

const WHITEOUT_PREFIX: &[u8] = b".wh.";

/// dive's numbers for an image.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DiveScore {
    /// dive's `efficiencyScore`.
    pub efficiency: f64,
    /// dive's `inefficientBytes` (`wastedBytes`).
    pub wasted_bytes: u64,
    /// dive's `sizeBytes`: the sum of every layer's tar header sizes.
    pub size_bytes: u64,
    /// The same over layers 1.. (dive always takes layer 0 as the base image).
    pub user_size_bytes: u64,
    /// `wasted_bytes / user_size_bytes`, as dive computes it: NaN or +Inf when the user
    /// layers are empty. A ratio despite dive's name for it.
    pub user_wasted_percent: f64,
    /// dive's inefficient files, in dive's order (largest first).
    pub inefficient: Vec<DiveFile>,
    /// Where dive gave up visiting a layer because a whiteout's path was not found.
    pub aborted: Vec<DiveAbort>,
}

/// One of dive's inefficient files.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DiveFile {
    /// How many times the path was visited across layers.
    pub count: usize,
    /// The sum of its sizes over those visits.
    pub cumulative_bytes: u64,
    #[serde(serialize_with = "serialize_path")]
    pub path: Vec<u8>,
}

/// A layer whose visit dive abandoned, and the whiteout path that was not found.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DiveAbort {
    pub layer: usize,
    #[serde(serialize_with = "serialize_path")]
    pub path: Vec<u8>,
}

/// Compute dive's score. `exclude` leaves paths out of every sum, the layer sizes included.
///
/// Fails when dive's model, which adds a path for every whiteout name, would need more
/// ids than a `u32` holds.
pub fn dive_score(tree: &Tree, exclude: Option<ExcludeFn<'_>>) -> Result<DiveScore, LimitError> {
    score_within(tree, exclude, MAX_IDS)
}

/// [`dive_score`] with at most `limit` paths in dive's model.
fn score_within(
    tree: &Tree,
    exclude: Option<ExcludeFn<'_>>,
    limit: usize,
) -> Result<DiveScore, LimitError> {
    limits::check(Limited::DivePaths, tree.node_count(), limit.min(MAX_IDS))?;
    let mut arena = Arena::new(tree, limit.min(MAX_IDS));

    // dive's node for every entry: the entry's own path, or `.wh.NAME` for a whiteout.
    let mut entry_node = Vec::with_capacity(tree.entries().len());
    let mut keys: Vec<(u32, u32)> = Vec::new();
    for entry in tree.entries() {
        let node = match entry.meta.kind {
            EntryKind::Whiteout => {
                let mut name = WHITEOUT_PREFIX.to_vec();
                name.extend_from_slice(tree.name(entry.node));
                let node = arena.child(tree.node(entry.node).parent, &name)?;
                keys.push((node, entry.node));
                node
            }
            // A marker at the top level is attached to a nameless node under the root;
            // dive keeps nothing for it.
            EntryKind::Opaque if tree.name(entry.node).is_empty() => NONE,
            _ => entry.node,
        };
        entry_node.push(node);
    }
    // Directories whose own name starts with `.wh.` (from paths like `a/.wh.b/c`) are
    // whiteouts to dive too.
    for node in 1..tree.node_count() as NodeId {
        if let Some(rest) = tree.name(node).strip_prefix(WHITEOUT_PREFIX) {
            let rest = rest.to_vec();
            let key = arena.child(tree.node(node).parent, &rest)?;
            keys.push((node, key));
        }
    }

    let total = arena.len();
    let mut key: Vec<u32> = (0..to_u32(total)).collect();
    for (node, k) in keys {
        key[node as usize] = k;
    }
    let excluded: Vec<bool> = match exclude {
        None => Vec::new(),
        Some(filter) => {
            let mut flags = excluded_nodes(tree, filter);
            for extra in arena.base..to_u32(total) {
                flags.push(filter(&arena.path(extra)));
            }
            flags
        }
    };
    let parent: Vec<u32> = (0..to_u32(total)).map(|d| arena.parent(d)).collect();

    let mut sim = Sim {
        arena: &arena,
        parent,
        key,
        excluded,
        s: Stacked::new(total),
        t: LayerTree::new(total),
        acc: Accumulator::new(total),
        aborted: Vec::new(),
    };

    let mut size_bytes = 0u64;
    let mut user_size_bytes = 0u64;
    for layer in 0..tree.layer_count() {
        let start = tree.layer_entry_start(layer) as usize;
        let entries = tree.layer_entries(layer);
        for entry in entries {
            if !sim.is_excluded(entry.node) {
                // Sizes come from untrusted headers: saturate rather than wrap.
                size_bytes = size_bytes.saturating_add(entry.meta.size);
                if layer > 0 {
                    user_size_bytes = user_size_bytes.saturating_add(entry.meta.size);
                }
            }
        }
        sim.build_layer(layer, entries, &entry_node[start..start + entries.len()]);
        if layer == 0 {
            // dive's stacked tree starts as a copy of layer 0, whiteout nodes and all.
            sim.copy_layer();
        }
        sim.visit_leaves(layer);
        sim.stack_layer();
    }

    let Sim { acc, aborted, .. } = sim;
    let (mut min_total, mut sum_total) = (0i64, 0i64);
    for &k in &acc.touched {
        min_total = min_total.saturating_add(acc.min[k as usize]);
        sum_total =
            sum_total.saturating_add(i64::try_from(acc.sum[k as usize]).unwrap_or(i64::MAX));
    }
    let efficiency = if sum_total == 0 {
        1.0
    } else {
        min_total as f64 / sum_total as f64
    };
    let mut order = acc.repeated;
    gosort::sort_by(&mut order, |a, b| {
        acc.sum[*a as usize] < acc.sum[*b as usize]
    });
    order.reverse();
    let wasted_bytes = order
        .iter()
        .map(|&k| acc.sum[k as usize])
        .fold(0, u64::saturating_add);
    Ok(DiveScore {
        efficiency,
        wasted_bytes,
        size_bytes,
        user_size_bytes,
        user_wasted_percent: wasted_bytes as f64 / user_size_bytes as f64,
        inefficient: order
            .iter()
            .map(|&k| DiveFile {
                count: acc.count[k as usize] as usize,
                cumulative_bytes: acc.sum[k as usize],
                path: arena.path(k),
            })
            .collect(),
        aborted: aborted
            .into_iter()
            .map(|(layer, k)| DiveAbort {
                layer,
                path: arena.path(k),
            })
            .collect(),
    })
}

/// Every path dive's trees can hold. Ids below `base` are the merged tree's nodes (same
/// path, same id); above are names the merged tree does not have, `.wh.NAME` nodes mostly.
struct Arena<'t> {
    tree: &'t Tree,
    base: u32,
    /// Most ids: ids stay below NONE, which marks an entry dive keeps no node for.
    limit: usize,
    parents: Vec<u32>,
    names: Vec<u8>,
    spans: Vec<(usize, usize)>,
    extras: HashMap<(u32, Vec<u8>), u32>,
}

impl<'t> Arena<'t> {
    fn new(tree: &'t Tree, limit: usize) -> Self {
        Arena {
            tree,
            base: to_u32(tree.node_count()),
            limit,
            parents: Vec::new(),
            names: Vec::new(),
            spans: Vec::new(),
            extras: HashMap::new(),
        }
    }

    fn len(&self) -> usize {
        self.base as usize + self.parents.len()
    }

    fn parent(&self, node: u32) -> u32 {
        if node < self.base {
            self.tree.node(node).parent
        } else {
            self.parents[(node - self.base) as usize]
        }
    }

    fn name(&self, node: u32) -> &[u8] {
        if node < self.base {
            self.tree.name(node)
        } else {
            let (start, end) = self.spans[(node - self.base) as usize];
            &self.names[start..end]
        }
    }

    /// The child `name` of `parent`, created if no tree has it.
    fn child(&mut self, parent: u32, name: &[u8]) -> Result<u32, LimitError> {
        if parent < self.base {
            let children = self.tree.children(parent);
            if let Ok(i) = children.binary_search_by(|&c| self.tree.name(c).cmp(name)) {
                return Ok(children[i]);
            }
        }
        if let Some(&found) = self.extras.get(&(parent, name.to_vec())) {
            return Ok(found);
        }
        let id = limits::next_id(Limited::DivePaths, self.len(), self.limit)?;
        let start = self.names.len();
        self.names.extend_from_slice(name);
        self.spans.push((start, self.names.len()));
        self.parents.push(parent);
        self.extras.insert((parent, name.to_vec()), id);
        Ok(id)
    }

    /// `/a/b`, as dive prints it.
    fn path(&self, node: u32) -> Vec<u8> {
        let mut parts = Vec::new();
        let mut current = node;
        while current != ROOT {
            parts.push(current);
            current = self.parent(current);
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
}

/// One layer's tree as dive builds it: members, payloads, and the child-first visit order.
struct LayerTree {
    /// `member[n] == stamp` marks the current layer's nodes (no clearing between layers).
    member: Vec<u32>,
    payload_stamp: Vec<u32>,
    size: Vec<u64>,
    dir: Vec<bool>,
    stamp: u32,
    members: Vec<u32>,
    /// Children of a node are `members[group_start[n]..group_end[n]]` when
    /// `group_stamp[n] == stamp`.
    group_stamp: Vec<u32>,
    group_start: Vec<u32>,
    group_end: Vec<u32>,
    /// Depth-first, children by name, each node after its children; with "is a leaf".
    post: Vec<(u32, bool)>,
}

impl LayerTree {
    fn new(total: usize) -> Self {
        LayerTree {
            member: vec![0; total],
            payload_stamp: vec![0; total],
            size: vec![0; total],
            dir: vec![false; total],
            stamp: 0,
            members: Vec::new(),
            group_stamp: vec![0; total],
            group_start: vec![0; total],
            group_end: vec![0; total],
            post: Vec::new(),
        }
    }

    /// The node's payload in this layer: (size, is-dir); empty for an implied parent.
    fn payload(&self, node: u32) -> (u64, bool) {
        if self.payload_stamp[node as usize] == self.stamp {
            (self.size[node as usize], self.dir[node as usize])
        } else {
            (0, false)
        }
    }

    fn children(&self, node: u32) -> &[u32] {
        let n = node as usize;
        if self.group_stamp[n] == self.stamp {
            &self.members[self.group_start[n] as usize..self.group_end[n] as usize]
        } else {
            &[]
        }
    }
}

/// dive's stacked tree of the layers below, kept up to date one layer at a time.
struct Stacked {
    present: Vec<bool>,
    /// Payload size (0 for excluded paths) and is-dir.
    size: Vec<u64>,
    dir: Vec<bool>,
    /// Payload sizes over the node's present subtree, itself included.
    sum: Vec<u64>,
    first_child: Vec<u32>,
    next: Vec<u32>,
    prev: Vec<u32>,
}

impl Stacked {
    fn new(total: usize) -> Self {
        let mut present = vec![false; total];
        present[ROOT as usize] = true;
        Stacked {
            present,
            size: vec![0; total],
            dir: vec![false; total],
            sum: vec![0; total],
            first_child: vec![NONE; total],
            next: vec![NONE; total],
            prev: vec![NONE; total],
        }
    }
}

/// Per path: dive's `EfficiencyData`.
struct Accumulator {
    seen: Vec<bool>,
    touched: Vec<u32>,
    sum: Vec<u64>,
    min: Vec<i64>,
    count: Vec<u32>,
    /// Paths in the order their count reached 2 (dive's `inefficientMatches`).
    repeated: Vec<u32>,
}

impl Accumulator {
    fn new(total: usize) -> Self {
        Accumulator {
            seen: vec![false; total],
            touched: Vec::new(),
            sum: vec![0; total],
            min: vec![0; total],
            count: vec![0; total],
            repeated: Vec::new(),
        }
    }

    /// dive creates the path's entry before sizing the node, with minimum -1.
    fn touch(&mut self, k: u32) {
        let i = k as usize;
        if !self.seen[i] {
            self.seen[i] = true;
            self.min[i] = -1;
            self.touched.push(k);
        }
    }

    fn add(&mut self, k: u32, size: u64) {
        let i = k as usize;
        self.sum[i] = self.sum[i].saturating_add(size);
        let size = i64::try_from(size).unwrap_or(i64::MAX);
        if self.min[i] < 0 || size < self.min[i] {
            self.min[i] = size;
        }
        self.count[i] += 1;
        if self.count[i] == 2 {
            self.repeated.push(k);
        }
    }
}

struct Sim<'a, 't> {
    arena: &'a Arena<'t>,
    parent: Vec<u32>,
    /// The node whose path a node reports: itself, or `NAME` for `.wh.NAME`.
    key: Vec<u32>,
    /// Empty when nothing is excluded.
    excluded: Vec<bool>,
    s: Stacked,
    t: LayerTree,
    acc: Accumulator,
    aborted: Vec<(usize, u32)>,
}

impl Sim<'_, '_> {
    fn is_excluded(&self, node: u32) -> bool {
        !self.excluded.is_empty() && self.excluded[node as usize]
    }

    fn is_whiteout(&self, node: u32) -> bool {
        self.key[node as usize] != node
    }

    fn build_layer(&mut self, layer: usize, entries: &[crate::tree::Entry], nodes: &[u32]) {
        let t = &mut self.t;
        t.stamp = to_u32(layer + 1);
        t.members.clear();
        for (entry, &node) in entries.iter().zip(nodes) {
            if node == NONE {
                continue;
            }
            let mut current = node;
            while current != ROOT && t.member[current as usize] != t.stamp {
                t.member[current as usize] = t.stamp;
                t.members.push(current);
                current = self.parent[current as usize];
            }
            // Opaque markers only leave their parents behind; the last entry of a path wins.
            if entry.meta.kind != EntryKind::Opaque {
                let n = node as usize;
                t.payload_stamp[n] = t.stamp;
                t.size[n] = entry.meta.size;
                t.dir[n] = entry.meta.kind == EntryKind::Dir;
            }
        }
        let (parent, arena) = (&self.parent, self.arena);
        t.members.sort_unstable_by(|&a, &b| {
            parent[a as usize]
                .cmp(&parent[b as usize])
                .then_with(|| arena.name(a).cmp(arena.name(b)))
        });
        let mut i = 0;
        while i < t.members.len() {
            let p = parent[t.members[i] as usize] as usize;
            let start = i;
            while i < t.members.len() && parent[t.members[i] as usize] as usize == p {
                i += 1;
            }
            t.group_stamp[p] = t.stamp;
            t.group_start[p] = to_u32(start);
            t.group_end[p] = to_u32(i);
        }

        t.post.clear();
        let mut stack: Vec<(u32, usize)> = vec![(ROOT, 0)];
        while let Some(top) = stack.last_mut() {
            let (node, next) = *top;
            let children = t.children(node);
            if next < children.len() {
                let child = children[next];
                top.1 += 1;
                stack.push((child, 0));
            } else {
                let leaf = children.is_empty();
                stack.pop();
                if node != ROOT {
                    t.post.push((node, leaf));
                }
            }
        }
    }

    /// Start the stacked tree as a copy of the current (first) layer.
    fn copy_layer(&mut self) {
        for i in 0..self.t.post.len() {
            let node = self.t.post[i].0;
            let (size, dir) = self.t.payload(node);
            self.add_path(node, size, dir);
        }
    }

    /// dive's efficiency visitor over the current layer's leaves.
    fn visit_leaves(&mut self, layer: usize) {
        for i in 0..self.t.post.len() {
            let (node, leaf) = self.t.post[i];
            if !leaf {
                continue;
            }
            let k = self.key[node as usize];
            if self.is_excluded(k) {
                continue;
            }
            self.acc.touch(k);
            let size = if self.is_whiteout(node) {
                if !self.s.present[k as usize] {
                    // dive's visitor returns the lookup error, which ends this layer's walk.
                    self.aborted.push((layer, k));
                    return;
                }
                if self.s.dir[k as usize] {
                    self.s.sum[k as usize]
                } else {
                    0
                }
            } else {
                self.t.payload(node).0
            };
            self.acc.add(k, size);
        }
    }

    /// dive's `Stack`: graft every node of the current layer, children first.
    fn stack_layer(&mut self) {
        for i in 0..self.t.post.len() {
            let node = self.t.post[i].0;
            if self.is_whiteout(node) {
                self.remove(self.key[node as usize]);
            } else {
                let (size, dir) = self.t.payload(node);
                self.add_path(node, size, dir);
            }
        }
    }

    /// dive's `AddPath`: create missing parents with empty payloads, then set the payload.
    fn add_path(&mut self, node: u32, size: u64, dir: bool) {
        let mut missing = Vec::new();
        let mut current = node;
        while !self.s.present[current as usize] {
            missing.push(current);
            current = self.parent[current as usize];
        }
        for &id in missing.iter().rev() {
            self.insert(id);
        }
        let n = node as usize;
        let size = if self.is_excluded(self.key[n]) {
            0
        } else {
            size
        };
        self.s.dir[n] = dir;
        let old = self.s.size[n];
        if old != size {
            self.s.size[n] = size;
            let delta = size.wrapping_sub(old);
            self.add_to_sums(node, delta);
        }
    }

    /// Add `delta` (two's complement for a decrease) to the sums of `node` and its parents.
    fn add_to_sums(&mut self, node: u32, delta: u64) {
        let mut current = node;
        loop {
            let c = current as usize;
            self.s.sum[c] = self.s.sum[c].wrapping_add(delta);
            if current == ROOT {
                break;
            }
            current = self.parent[c];
        }
    }

    /// Link a new, empty node under its (present) parent.
    fn insert(&mut self, node: u32) {
        let n = node as usize;
        let p = self.parent[n] as usize;
        let s = &mut self.s;
        s.present[n] = true;
        s.size[n] = 0;
        s.dir[n] = false;
        s.sum[n] = 0;
        s.first_child[n] = NONE;
        s.prev[n] = NONE;
        s.next[n] = s.first_child[p];
        if s.first_child[p] != NONE {
            s.prev[s.first_child[p] as usize] = node;
        }
        s.first_child[p] = node;
    }

    /// dive's `RemovePath`: drop the subtree; a missing path changes nothing.
    fn remove(&mut self, node: u32) {
        let n = node as usize;
        if !self.s.present[n] {
            return;
        }
        let removed = self.s.sum[n];
        let p = self.parent[n];
        self.add_to_sums(p, removed.wrapping_neg());
        let s = &mut self.s;
        let (prev, next) = (s.prev[n], s.next[n]);
        if prev != NONE {
            s.next[prev as usize] = next;
        } else {
            s.first_child[p as usize] = next;
        }
        if next != NONE {
            s.prev[next as usize] = prev;
        }
        let mut stack = vec![node];
        while let Some(id) = stack.pop() {
            let i = id as usize;
            s.present[i] = false;
            s.size[i] = 0;
            s.sum[i] = 0;
            s.dir[i] = false;
            let mut child = s.first_child[i];
            while child != NONE {
                stack.push(child);
                child = s.next[child as usize];
            }
            s.first_child[i] = NONE;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{tree, E, E::*};
    use super::*;

    fn run(layers: &[&[E]]) -> DiveScore {
        dive_score(&tree(layers), None).unwrap()
    }

    fn files(score: &DiveScore) -> Vec<(usize, u64, String)> {
        score
            .inefficient
            .iter()
            .map(|f| {
                (
                    f.count,
                    f.cumulative_bytes,
                    String::from_utf8(f.path.clone()).unwrap(),
                )
            })
            .collect()
    }

    #[test]
    fn overwrite_counts_both_copies() {
        let s = run(&[&[File("a", &[1; 10])], &[File("a", &[2; 20])]]);
        // /a: visited twice, sum 30, minimum 10.
        assert_eq!(s.efficiency, 10.0 / 30.0);
        assert_eq!(s.wasted_bytes, 30);
        assert_eq!((s.size_bytes, s.user_size_bytes), (30, 20));
        assert_eq!(s.user_wasted_percent, 1.5);
        assert_eq!(files(&s), vec![(2, 30, "/a".into())]);
    }

    #[test]
    fn delete_counts_the_file_and_a_zero_sized_whiteout() {
        let s = run(&[&[File("a", &[1; 10]), File("b", &[1; 5])], &[Whiteout("a")]]);
        // /a: 10 then 0 (a file's whiteout weighs 0); /b: 5. Σmin 5, Σsum 15.
        assert_eq!(s.efficiency, 5.0 / 15.0);
        assert_eq!(s.wasted_bytes, 10);
        assert_eq!(s.user_size_bytes, 0);
        assert_eq!(s.user_wasted_percent, f64::INFINITY);
        assert_eq!(files(&s), vec![(2, 10, "/a".into())]);
    }

    #[test]
    fn directory_delete_is_not_waste() {
        let s = run(&[
            &[
                Dir("d"),
                File("d/x", &[1; 10]),
                File("d/e/y", &[1; 20]),
                File("k", b"k"),
            ],
            &[Whiteout("d")],
        ]);
        // The whiteout weighs the directory's 30 bytes, but /d is visited once only.
        assert_eq!(s.efficiency, 1.0);
        assert_eq!(s.wasted_bytes, 0);
        assert!(s.inefficient.is_empty());
        assert!(s.aborted.is_empty());
    }

    #[test]
    fn opaque_directory_is_ignored() {
        let s = run(&[
            &[Dir("d"), File("d/x", &[1; 10])],
            &[Dir("d"), Opaque("d"), File("d/z", &[1; 3])],
        ]);
        assert_eq!((s.efficiency, s.wasted_bytes), (1.0, 0));
        assert_eq!(s.size_bytes, 13);
    }

    #[test]
    fn opaque_marker_alone_leaves_an_empty_leaf() {
        // Layer 1 has only `e/.wh..wh..opq`: dive keeps `e` as an empty, non-directory leaf,
        // which makes /e a second visit of the path (0 bytes).
        let s = run(&[&[Dir("e")], &[Opaque("e")]]);
        assert_eq!(files(&s), vec![(2, 0, "/e".into())]);
        assert_eq!(s.efficiency, 1.0);
    }

    #[test]
    fn chmod_only_change_counts_twice() {
        let s = run(&[
            &[FileMode("a", &[1; 10], 0o644)],
            &[FileMode("a", &[1; 10], 0o600)],
        ]);
        assert_eq!((s.efficiency, s.wasted_bytes), (0.5, 20));
    }

    #[test]
    fn identical_rewrite_counts_twice() {
        let s = run(&[&[File("a", &[1; 10])], &[File("a", &[1; 10])]]);
        assert_eq!((s.efficiency, s.wasted_bytes), (0.5, 20));
    }

    #[test]
    fn hardlink_does_not_keep_anything() {
        // /a: 10 then 0 from the whiteout; the hardlink /b weighs 0. Σmin 0, Σsum 10.
        let s = run(&[&[File("a", &[1; 10]), Link("b", "a")], &[Whiteout("a")]]);
        assert_eq!((s.efficiency, s.wasted_bytes), (0.0, 10));
    }

    #[test]
    fn empty_image() {
        let s = run(&[]);
        assert_eq!((s.efficiency, s.wasted_bytes, s.size_bytes), (1.0, 0, 0));
        assert!(s.user_wasted_percent.is_nan());
        let s = run(&[&[], &[]]);
        assert_eq!(s.efficiency, 1.0);
        assert!(s.user_wasted_percent.is_nan());
    }

    #[test]
    fn failed_lookup_abandons_the_layer_and_leaves_minus_one() {
        // `.wh.a` sorts before `z`: the lookup of /a fails, /z is never visited, and /a
        // keeps a minimum of -1. Σmin = 5 - 1, Σsum = 5.
        let s = run(&[&[File("b", &[1; 5])], &[Whiteout("a"), File("z", &[1; 7])]]);
        assert_eq!(s.efficiency, 4.0 / 5.0);
        assert_eq!(s.size_bytes, 12);
        assert_eq!(
            s.aborted,
            vec![DiveAbort {
                layer: 1,
                path: b"/a".to_vec()
            }]
        );
        // A later visit of /a replaces the -1.
        let s = run(&[
            &[File("b", &[1; 5])],
            &[Whiteout("a")],
            &[File("a", &[1; 3])],
        ]);
        assert_eq!(s.efficiency, 1.0);
    }

    #[test]
    fn whiteout_in_the_first_layer_looks_at_the_first_layer() {
        // The stacked tree for layer 0 is a copy of layer 0 itself.
        let s = run(&[&[Dir("d"), File("d/x", &[1; 4]), Whiteout("d")]]);
        // /d weighs its subtree (4); /d/x 4. Nothing repeated.
        assert_eq!(s.efficiency, 1.0);
        let s = run(&[&[Whiteout("gone"), File("z", &[1; 2])]]);
        assert_eq!(s.aborted.len(), 1);
        // Σmin = -1, Σsum = 0: the score stays 1.
        assert_eq!(s.efficiency, 1.0);
    }

    #[test]
    fn implied_parent_turns_a_directory_into_a_non_directory() {
        // Layer 1 writes d/y/z without an entry for d: stacking it empties d's payload, so
        // the whiteout of d in layer 2 weighs 0 instead of 11. The empty directory d of
        // layer 3 is the path's second visit, which puts it on the list.
        let implied = run(&[
            &[Dir("d"), File("d/x", &[1; 10])],
            &[File("d/y/z", &[1; 1])],
            &[Whiteout("d")],
            &[Dir("d")],
        ]);
        assert_eq!(files(&implied), vec![(2, 0, "/d".into())]);
        let explicit = run(&[
            &[Dir("d"), File("d/x", &[1; 10])],
            &[Dir("d"), File("d/y/z", &[1; 1])],
            &[Whiteout("d")],
            &[Dir("d")],
        ]);
        assert_eq!(files(&explicit), vec![(2, 11, "/d".into())]);
    }

    #[test]
    fn ties_come_out_in_reverse_order_of_repetition() {
        let s = run(&[
            &[File("a", &[1; 4]), File("b", &[1; 4]), File("c", &[1; 2])],
            &[File("b", &[1; 4])],
            &[File("a", &[1; 4]), File("c", &[1; 2])],
        ]);
        assert_eq!(
            files(&s),
            vec![
                (2, 8, "/a".into()),
                (2, 8, "/b".into()),
                (2, 4, "/c".into())
            ]
        );
    }

    #[test]
    fn whiteout_sorting_after_its_target_deletes_the_new_copy() {
        // `-x` sorts before `.wh.-x`: stacking adds the new -x, then the whiteout removes it,
        // so a later whiteout of -x finds nothing and abandons its layer.
        let s = run(&[
            &[File("-x", &[1; 3])],
            &[File("-x", &[1; 5]), Whiteout("-x")],
            &[Whiteout("-x"), File("z", &[1; 1])],
        ]);
        assert_eq!(
            s.aborted,
            vec![DiveAbort {
                layer: 2,
                path: b"/-x".to_vec()
            }]
        );
    }

    #[test]
    fn exclusion_drops_paths_from_sums_and_sizes() {
        let t = tree(&[
            &[Dir("c"), File("c/x", &[1; 10]), File("a", &[1; 5])],
            &[File("c/x", &[1; 10]), File("a", &[1; 5])],
        ]);
        let filter = |p: &[u8]| p.starts_with(b"/c");
        let s = dive_score(&t, Some(&filter)).unwrap();
        assert_eq!((s.size_bytes, s.wasted_bytes), (10, 10));
        assert_eq!(files(&s), vec![(2, 10, "/a".into())]);
    }

    #[test]
    fn whiteout_paths_at_the_limit_score_and_one_more_is_refused() {
        // The tree has /, /a and /b; dive adds /.wh.a and /.wh.b for the whiteouts.
        let t = tree(&[
            &[File("a", &[1; 10]), File("b", &[1; 5])],
            &[Whiteout("a"), Whiteout("b")],
        ]);
        assert_eq!(t.node_count(), 3);
        let at = score_within(&t, None, 5).unwrap();
        assert_eq!(at.wasted_bytes, 15);
        let full = dive_score(&t, None).unwrap();
        assert_eq!((at.efficiency, files(&at)), (full.efficiency, files(&full)));
        assert_eq!(
            score_within(&t, None, 4).unwrap_err(),
            LimitError {
                what: Limited::DivePaths,
                count: 5,
                limit: 4
            }
        );
        assert_eq!(score_within(&t, None, 2).unwrap_err().count, 3);
    }
}
