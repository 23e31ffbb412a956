//! Two images side by side: the layers they share, and how their final filesystems differ.
//!
//! Layers are shared when their diff_ids (the sha256 of the uncompressed tar) are equal, so
//! a gzip layer and its zstd twin are one layer: the same bytes a registry or an engine
//! stores once. The file comparison walks both merged trees together, name by name (each
//! directory's children are sorted), so its cost follows the size of the trees and only
//! changed paths are kept.

use super::glossary;
use crate::escape::escape_bytes;
use crate::layer::{EntryKind, Meta};
use crate::model::LoadedImage;
use crate::size::human;
use crate::tree::{DiffKind, NodeId, Tree, Version, ROOT};
use std::collections::HashMap;

/// A layer both images hold.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SharedLayer {
    pub diff_id: String,
    pub index_a: usize,
    pub index_b: usize,
    /// Stored bytes of the blob in each image (they differ when the compression does).
    pub compressed_bytes_a: u64,
    pub compressed_bytes_b: u64,
    /// The uncompressed tar, headers included.
    pub uncompressed_bytes: u64,
    /// Its files' content bytes: the layer's size in every view.
    pub content_bytes: u64,
}

/// Where the two layer stacks part.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Divergence {
    /// The first layer index whose diff_ids differ (or where one stack ends).
    pub layer: usize,
    /// The instruction of that layer in A and in B; `None` where that stack has ended.
    pub a_instruction: Option<String>,
    pub b_instruction: Option<String>,
}

/// The state of one path on one side, as `ls --long` shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PathState {
    /// `ls`-style mode string, e.g. `-rw-r--r--`.
    pub mode: String,
    pub uid: u32,
    pub gid: u32,
    /// Content bytes (regular files and hardlinks to them), 0 for everything else.
    pub size: u64,
    /// Symlink target (raw bytes), empty otherwise.
    #[serde(skip)]
    pub link: Vec<u8>,
}

/// One path that differs between A's and B's final filesystems.
#[derive(Debug, Clone)]
pub struct PathChange {
    /// Absolute path, raw bytes.
    pub path: Vec<u8>,
    /// Added (only in B), Modified (both, different state) or Removed (only in A).
    pub kind: DiffKind,
    pub a: Option<PathState>,
    pub b: Option<PathState>,
}

impl PathChange {
    /// B's size minus A's, saturated to the i64 range.
    pub fn delta(&self) -> i64 {
        let size = |s: &Option<PathState>| s.as_ref().map_or(0, |s| s.size);
        signed_delta(size(&self.a), size(&self.b))
    }

    /// What differs between the two states (`mode -rwxr-xr-x -> -rwx------, size 3 -> 5`),
    /// or the one state of an added or deleted path (`-rw-r--r-- 0:0 10`), as `diff --long`
    /// and the comparison view show it. Link targets are escaped.
    pub fn detail(&self) -> String {
        let state = |s: &PathState| {
            let mut text = format!("{} {}:{} {}", s.mode, s.uid, s.gid, s.size);
            if !s.link.is_empty() {
                text.push_str(" -> ");
                text.push_str(&escape_bytes(&s.link));
            }
            text
        };
        match (&self.a, &self.b) {
            (Some(a), Some(b)) => {
                let mut parts = Vec::new();
                if a.mode != b.mode {
                    parts.push(format!("mode {} -> {}", a.mode, b.mode));
                }
                if (a.uid, a.gid) != (b.uid, b.gid) {
                    parts.push(format!("owner {}:{} -> {}:{}", a.uid, a.gid, b.uid, b.gid));
                }
                if a.size != b.size {
                    parts.push(format!("size {} -> {}", a.size, b.size));
                }
                if a.link != b.link {
                    parts.push(format!(
                        "link {} -> {}",
                        escape_bytes(&a.link),
                        escape_bytes(&b.link)
                    ));
                }
                if parts.is_empty() {
                    parts.push("content".to_string());
                }
                parts.join(", ")
            }
            (None, Some(b)) => state(b),
            (Some(a), None) => state(a),
            (None, None) => String::new(),
        }
    }
}

/// Totals of a comparison. `size_a`/`size_b` are content bytes with each file counted once
/// (hardlinks share one copy), as the image stores them. Per-path deltas, and so
/// `listed_delta` and the directory deltas, are what `ls --long` lists: a hardlink counts
/// its content at every path.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct CompareTotals {
    pub added: usize,
    pub modified: usize,
    pub removed: usize,
    pub size_a: u64,
    pub size_b: u64,
    /// `size_b - size_a`.
    pub delta: i64,
    /// The sum of every changed path's delta: the difference of the `ls --long` size sums.
    pub listed_delta: i64,
    /// Bytes of paths B added, and of paths B no longer has.
    pub bytes_added: u64,
    pub bytes_removed: u64,
    /// Layer content (the image size `ci` and `inspect` report): every layer's file
    /// bytes, uncompressed.
    pub layer_bytes_a: u64,
    pub layer_bytes_b: u64,
    /// `layer_bytes_b - layer_bytes_a`, from the exact counts.
    pub layer_delta: i64,
    /// Of the layer content, the bytes later layers hide (wasted, layerscope's score).
    pub wasted_bytes_a: u64,
    pub wasted_bytes_b: u64,
    /// The layer blobs as stored: what a pull downloads.
    pub compressed_bytes_a: u64,
    pub compressed_bytes_b: u64,
}

/// One size of both images, named.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quantity {
    pub name: &'static str,
    /// What it counts, for a reader.
    pub means: &'static str,
    pub a: u64,
    pub b: u64,
}

impl Quantity {
    /// B minus A, exact.
    pub fn delta(&self) -> i64 {
        signed_delta(self.a, self.b)
    }

    /// `10.6 MB -> 3.2 MB (-7.4 MB)`, with `arrow` between the two.
    pub fn change(&self, arrow: &str) -> String {
        format!(
            "{} {arrow} {} ({})",
            human(self.a),
            human(self.b),
            crate::size::signed(self.delta())
        )
    }
}

/// Everything `diff A B` reports.
#[derive(Debug, Clone)]
pub struct Comparison {
    pub shared: Vec<SharedLayer>,
    /// How many bottom layers are the same in both, in the same order.
    pub common_base: usize,
    /// `None` when the two stacks are identical.
    pub diverge: Option<Divergence>,
    /// Changed paths, sorted bytewise.
    pub changes: Vec<PathChange>,
    /// The size delta of every directory that holds a changed path, sorted bytewise.
    pub directories: Vec<(Vec<u8>, i64)>,
    pub totals: CompareTotals,
}

impl Comparison {
    /// One sentence on where the stacks part: "the bottom 3 layers (74.1 MB) are shared;
    /// from layer 3 on, A has …, B has …". `quote` writes an instruction (escaped, and
    /// quoted as the format quotes code).
    pub fn divergence_sentence(&self, quote: &dyn Fn(&str) -> String) -> String {
        let base_text = match self.common_base {
            0 => "no bottom layer is shared".to_string(),
            1 => format!(
                "the bottom layer ({} of content, uncompressed) is shared",
                human(self.common_base_content_bytes())
            ),
            n => format!(
                "the bottom {n} layers ({} of content, uncompressed) are shared",
                human(self.common_base_content_bytes())
            ),
        };
        match &self.diverge {
            None => format!("{base_text}; the two stacks are identical"),
            Some(d) => {
                let side = |name: &str, instruction: &Option<String>| match instruction {
                    Some(text) => format!("{name} has {}", quote(text)),
                    None => format!("{name} has no more layers"),
                };
                format!(
                    "{base_text}; from layer {} on, {}, {}",
                    d.layer,
                    side("A", &d.a_instruction),
                    side("B", &d.b_instruction)
                )
            }
        }
    }

    /// Bytes of the uncompressed tars of the common base: the bottom layers both stacks
    /// start with.
    pub fn common_base_bytes(&self) -> u64 {
        self.common_base_sum(|s| s.uncompressed_bytes)
    }

    /// The common base's file content: the size every view gives those layers.
    pub fn common_base_content_bytes(&self) -> u64 {
        self.common_base_sum(|s| s.content_bytes)
    }

    fn common_base_sum(&self, bytes: impl Fn(&SharedLayer) -> u64) -> u64 {
        self.shared
            .iter()
            .filter(|s| s.index_a < self.common_base && s.index_a == s.index_b)
            .map(bytes)
            .fold(0, u64::saturating_add)
    }

    /// The sizes `diff` reports for both images, each with its name and what it counts:
    /// layer content (the image size of `ci` and `inspect`), the final filesystem, the
    /// hidden bytes and the compressed download. Deltas come from the exact counts.
    pub fn quantities(&self) -> [Quantity; 4] {
        let t = &self.totals;
        [
            Quantity {
                name: glossary::LAYER_CONTENT_NAME,
                means: "what each image ships, every layer's files",
                a: t.layer_bytes_a,
                b: t.layer_bytes_b,
            },
            Quantity {
                name: glossary::FINAL_FILESYSTEM_NAME,
                means: "what a container sees, each file once",
                a: t.size_a,
                b: t.size_b,
            },
            Quantity {
                name: glossary::WASTED_NAME,
                means: "shipped, then hidden by a later layer",
                a: t.wasted_bytes_a,
                b: t.wasted_bytes_b,
            },
            Quantity {
                name: glossary::COMPRESSED_NAME,
                means: "the layer blobs as stored",
                a: t.compressed_bytes_a,
                b: t.compressed_bytes_b,
            },
        ]
    }

    /// The `limit` paths that grew most, largest first.
    pub fn largest_growers(&self, limit: usize) -> Vec<&PathChange> {
        let mut growers: Vec<&PathChange> = self.changes.iter().filter(|c| c.delta() > 0).collect();
        growers.sort_by(|x, y| y.delta().cmp(&x.delta()).then_with(|| x.path.cmp(&y.path)));
        growers.truncate(limit);
        growers
    }

    /// The `limit` directories that grew most, largest first.
    pub fn largest_growing_directories(&self, limit: usize) -> Vec<&(Vec<u8>, i64)> {
        let mut dirs: Vec<&(Vec<u8>, i64)> =
            self.directories.iter().filter(|(_, d)| *d > 0).collect();
        dirs.sort_by(|x, y| y.1.cmp(&x.1).then_with(|| x.0.cmp(&y.0)));
        dirs.truncate(limit);
        dirs
    }

    /// Paths added or removed whose content is at least `threshold` bytes.
    pub fn large_additions_and_removals(&self, threshold: u64) -> Vec<&PathChange> {
        self.changes
            .iter()
            .filter(|c| match c.kind {
                DiffKind::Added => c.b.as_ref().is_some_and(|s| s.size >= threshold),
                DiffKind::Removed => c.a.as_ref().is_some_and(|s| s.size >= threshold),
                _ => false,
            })
            .collect()
    }
}

/// How deep the per-directory sums go below `/`: `/a/b` is depth 2. Deeper directories'
/// deltas still count in their ancestors down to this depth (docs/diff-json-schema.md).
pub const MAX_DIRECTORY_DEPTH: usize = 64;

/// Compare two loaded images.
pub fn compare(a: &LoadedImage, b: &LoadedImage) -> Comparison {
    let (shared, common_base, diverge) = compare_layers(a, b);
    let changes = compare_trees(&a.tree, &b.tree);
    let sum = |image: &LoadedImage, bytes: fn(&crate::model::LayerInfo) -> u64| {
        image.layers.iter().map(bytes).fold(0, u64::saturating_add)
    };
    let wasted = |image: &LoadedImage| {
        crate::analysis::analyze(&image.tree, &crate::analysis::AnalysisOptions::default())
            .wasted_bytes
    };
    let mut totals = CompareTotals {
        size_a: final_size(&a.tree),
        size_b: final_size(&b.tree),
        layer_bytes_a: sum(a, |l| l.content_bytes),
        layer_bytes_b: sum(b, |l| l.content_bytes),
        wasted_bytes_a: wasted(a),
        wasted_bytes_b: wasted(b),
        compressed_bytes_a: sum(a, |l| l.compressed_bytes),
        compressed_bytes_b: sum(b, |l| l.compressed_bytes),
        ..Default::default()
    };
    totals.delta = signed_delta(totals.size_a, totals.size_b);
    totals.layer_delta = signed_delta(totals.layer_bytes_a, totals.layer_bytes_b);
    let mut directories: HashMap<Vec<u8>, i64> = HashMap::new();
    for change in &changes {
        match change.kind {
            DiffKind::Added => {
                totals.added += 1;
                let size = change.b.as_ref().map_or(0, |s| s.size);
                totals.bytes_added = totals.bytes_added.saturating_add(size);
            }
            DiffKind::Removed => {
                totals.removed += 1;
                let size = change.a.as_ref().map_or(0, |s| s.size);
                totals.bytes_removed = totals.bytes_removed.saturating_add(size);
            }
            DiffKind::Modified => totals.modified += 1,
            DiffKind::Unchanged => {}
        }
        let delta = change.delta();
        totals.listed_delta = totals.listed_delta.saturating_add(delta);
        if delta == 0 {
            continue;
        }
        // Every ancestor directory, the root `/` included, carries the delta, down to
        // MAX_DIRECTORY_DEPTH: a hostile path thousands of levels deep would otherwise
        // cost the square of its length in keys.
        let path = &change.path;
        let slashes = path.iter().enumerate().filter(|&(_, &c)| c == b'/');
        for (slash, _) in slashes.take(MAX_DIRECTORY_DEPTH + 1) {
            let dir = if slash == 0 {
                b"/".to_vec()
            } else {
                path[..slash].to_vec()
            };
            let entry = directories.entry(dir).or_default();
            *entry = entry.saturating_add(delta);
        }
    }
    let mut directories: Vec<(Vec<u8>, i64)> = directories.into_iter().collect();
    directories.sort_unstable_by(|x, y| x.0.cmp(&y.0));
    Comparison {
        shared,
        common_base,
        diverge,
        changes,
        directories,
        totals,
    }
}

fn signed_delta(a: u64, b: u64) -> i64 {
    let delta = i128::from(b) - i128::from(a);
    delta.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
}

/// The layers both hold (by diff_id), and where the stacks part.
fn compare_layers(
    a: &LoadedImage,
    b: &LoadedImage,
) -> (Vec<SharedLayer>, usize, Option<Divergence>) {
    let diff_ids = |image: &LoadedImage| -> Vec<Option<String>> {
        image
            .layers
            .iter()
            .map(|l| l.diff_id.clone().filter(|d| d.starts_with("sha256:")))
            .collect()
    };
    let (ids_a, ids_b) = (diff_ids(a), diff_ids(b));
    let mut in_b: HashMap<&str, Vec<usize>> = HashMap::new();
    for (index, id) in ids_b.iter().enumerate() {
        if let Some(id) = id {
            in_b.entry(id.as_str()).or_default().push(index);
        }
    }
    // A diff_id that repeats is matched in order: the k-th copy in A with the k-th in B.
    let mut taken: HashMap<&str, usize> = HashMap::new();
    let mut shared = Vec::new();
    for (index_a, id) in ids_a.iter().enumerate() {
        let Some(id) = id else { continue };
        let Some(candidates) = in_b.get(id.as_str()) else {
            continue;
        };
        let used = taken.entry(id.as_str()).or_default();
        let Some(&index_b) = candidates.get(*used) else {
            continue;
        };
        *used += 1;
        shared.push(SharedLayer {
            diff_id: id.clone(),
            index_a,
            index_b,
            compressed_bytes_a: a.layers[index_a].compressed_bytes,
            compressed_bytes_b: b.layers[index_b].compressed_bytes,
            uncompressed_bytes: a.layers[index_a].uncompressed_bytes,
            content_bytes: a.layers[index_a].content_bytes,
        });
    }
    let common_base = ids_a
        .iter()
        .zip(&ids_b)
        .take_while(|(x, y)| x.is_some() && x == y)
        .count();
    let diverge = (common_base < ids_a.len().max(ids_b.len())).then(|| {
        let instruction = |image: &LoadedImage| {
            image
                .image
                .history
                .layers
                .get(common_base)
                .map(|h| super::secrets::redact_secrets(&h.instruction.display()))
        };
        Divergence {
            layer: common_base,
            a_instruction: instruction(a),
            b_instruction: instruction(b),
        }
    });
    (shared, common_base, diverge)
}

/// The final filesystem's content bytes, each file once however many hardlinks reach it.
pub(crate) fn final_size(tree: &Tree) -> u64 {
    match tree.layer_count().checked_sub(1) {
        Some(top) => tree.subtree_sizes(top)[ROOT as usize],
        None => 0,
    }
}

/// What a comparison looks at for one live path.
struct Side<'t> {
    tree: &'t Tree,
    top: Option<usize>,
}

impl<'t> Side<'t> {
    fn new(tree: &'t Tree) -> Self {
        Side {
            tree,
            top: tree.layer_count().checked_sub(1),
        }
    }

    fn live(&self, node: NodeId) -> Option<&'t Version> {
        self.tree.live_at(node, self.top?)
    }

    fn meta(&self, version: &Version) -> Meta {
        self.tree.meta(version)
    }

    fn link(&self, version: &Version, meta: &Meta) -> &'t [u8] {
        if meta.kind == EntryKind::Symlink {
            self.tree.version_link(version)
        } else {
            &[]
        }
    }

    fn state(&self, version: &Version) -> PathState {
        let meta = self.meta(version);
        PathState {
            mode: meta.ls_mode(),
            uid: meta.uid,
            gid: meta.gid,
            size: self.tree.content_size(version),
            link: self.link(version, &meta).to_vec(),
        }
    }
}

/// Whether the path is in the same state on both sides: type (a hardlink is a regular
/// file), mode, owner, content and symlink target, as `Tree::same_state` judges it within
/// one image. Content hashes are xxh3 of the bytes in both trees, so they compare across.
fn same(a: &Side, va: &Version, b: &Side, vb: &Version) -> bool {
    let (ma, mb) = (a.meta(va), b.meta(vb));
    ma.kind.type_char() == mb.kind.type_char()
        && ma.mode == mb.mode
        && ma.uid == mb.uid
        && ma.gid == mb.gid
        && ma.size == mb.size
        && ma.hash == mb.hash
        && a.link(va, &ma) == b.link(vb, &mb)
}

/// Walk both trees together and return the changed paths, sorted bytewise.
fn compare_trees(tree_a: &Tree, tree_b: &Tree) -> Vec<PathChange> {
    let (a, b) = (Side::new(tree_a), Side::new(tree_b));
    let mut changes = Vec::new();
    // (node in A, node in B, the directory's path); a missing side is `None`.
    let mut stack: Vec<(Option<NodeId>, Option<NodeId>, Vec<u8>)> =
        vec![(Some(ROOT), Some(ROOT), Vec::new())];
    while let Some((na, nb, dir)) = stack.pop() {
        let kids = |side: &Side, node: Option<NodeId>| -> Vec<NodeId> {
            node.map(|n| {
                side.tree
                    .children(n)
                    .iter()
                    .copied()
                    .filter(|&c| side.live(c).is_some())
                    .collect()
            })
            .unwrap_or_default()
        };
        let (ka, kb) = (kids(&a, na), kids(&b, nb));
        let (mut i, mut j) = (0, 0);
        while i < ka.len() || j < kb.len() {
            let name_a = ka.get(i).map(|&n| tree_a.name(n));
            let name_b = kb.get(j).map(|&n| tree_b.name(n));
            let (ca, cb) = match (name_a, name_b) {
                (Some(x), Some(y)) if x == y => {
                    i += 1;
                    j += 1;
                    (Some(ka[i - 1]), Some(kb[j - 1]))
                }
                (Some(x), Some(y)) if x < y => {
                    i += 1;
                    (Some(ka[i - 1]), None)
                }
                (Some(_), None) => {
                    i += 1;
                    (Some(ka[i - 1]), None)
                }
                _ => {
                    j += 1;
                    (None, Some(kb[j - 1]))
                }
            };
            let name = ca
                .map(|n| tree_a.name(n))
                .or_else(|| cb.map(|n| tree_b.name(n)))
                .unwrap_or_default();
            let mut path = dir.clone();
            path.push(b'/');
            path.extend_from_slice(name);
            let va = ca.and_then(|n| a.live(n));
            let vb = cb.and_then(|n| b.live(n));
            let kind = match (va, vb) {
                (Some(x), Some(y)) if same(&a, x, &b, y) => DiffKind::Unchanged,
                (Some(_), Some(_)) => DiffKind::Modified,
                (Some(_), None) => DiffKind::Removed,
                (None, Some(_)) => DiffKind::Added,
                (None, None) => continue,
            };
            if kind != DiffKind::Unchanged {
                changes.push(PathChange {
                    path: path.clone(),
                    kind,
                    a: va.map(|v| a.state(v)),
                    b: vb.map(|v| b.state(v)),
                });
            }
            // Descend where either side is a directory: a file replacing a directory
            // removes everything below it, and the other way round.
            let is_dir = |side: &Side, v: Option<&Version>| {
                v.is_some_and(|v| side.meta(v).kind == EntryKind::Dir)
            };
            let (da, db) = (is_dir(&a, va), is_dir(&b, vb));
            if da || db {
                stack.push((ca.filter(|_| da), cb.filter(|_| db), path));
            }
        }
    }
    changes.sort_unstable_by(|x, y| x.path.cmp(&y.path));
    changes
}
