//! layerscope's score: bytes shipped that the final filesystem can never reach.

use super::{excluded_nodes, serialize_opt_path, serialize_path, AnalysisOptions};
use crate::layer::EntryKind;
use crate::tree::{Change, EntryId, NodeId, Tree, Version, NONE};
use std::collections::HashMap;

/// The result of [`analyze`].
#[derive(Debug, Clone, serde::Serialize)]
pub struct Waste {
    /// Content bytes of every regular-file entry of every layer.
    pub total_bytes: u64,
    /// Of those, the bytes no path of the final filesystem reaches.
    pub wasted_bytes: u64,
    /// `(total - wasted) / total`; 1.0 for an image that ships nothing.
    pub efficiency: f64,
    /// Layers `0..base_layers` are the base image.
    pub base_layers: usize,
    /// Bytes shipped by the user layers (`base_layers..`).
    pub user_bytes: u64,
    /// Wasted bytes hidden by actions of the user layers, whoever shipped them.
    pub user_wasted_bytes: u64,
    /// `user_wasted_bytes / user_bytes`: NaN when both are 0, infinite when only the
    /// user layers' bytes are 0.
    pub user_wasted_ratio: f64,
    /// One row per layer.
    pub per_layer: Vec<LayerWaste>,
    /// Every path with wasted bytes, most wasted first (then by path).
    pub paths: Vec<WastedPath>,
}

/// Wasted bytes seen from one layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct LayerWaste {
    pub layer: usize,
    /// Content bytes this layer's entries ship.
    pub shipped_bytes: u64,
    /// Of those, the bytes later hidden for good.
    pub wasted_bytes: u64,
    /// Bytes (of any layer, this one included) that this layer's actions hid for good.
    pub hid_bytes: u64,
}

/// A path with wasted bytes and its whole history, to answer "why is this wasted?".
#[derive(Debug, Clone, serde::Serialize)]
pub struct WastedPath {
    #[serde(serialize_with = "serialize_path")]
    pub path: Vec<u8>,
    pub wasted_bytes: u64,
    /// Every version of the path, oldest first.
    pub versions: Vec<PathVersion>,
}

/// What one layer did to a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PathEvent {
    /// Written where nothing was.
    Added,
    /// Written over a different version (content, type, mode, owner or link target).
    Modified,
    /// Written again exactly as it was: the lower copy is shipped twice.
    Rewritten,
    /// Deleted by a whiteout for this path.
    Deleted,
    /// Deleted because a whiteout deleted a parent directory.
    ParentDeleted,
    /// Hidden by an opaque marker on a parent directory.
    OpaqueDir,
    /// Hidden because a parent directory was replaced by a non-directory.
    ParentReplaced,
}

impl PathEvent {
    /// What `version`, one of `node`'s versions, did to the path, with the cause of a
    /// removal told apart.
    pub fn of(tree: &Tree, node: NodeId, version: &Version) -> PathEvent {
        match version.change {
            Change::Added => PathEvent::Added,
            Change::Modified => PathEvent::Modified,
            Change::Unchanged => PathEvent::Rewritten,
            Change::Whiteout if tree.entry(version.entry).node == node => PathEvent::Deleted,
            Change::Whiteout => PathEvent::ParentDeleted,
            Change::Opaque => PathEvent::OpaqueDir,
            Change::Replaced => PathEvent::ParentReplaced,
        }
    }

    /// The phrase reports use: "added", "hidden by opaque dir", …
    pub fn as_str(self) -> &'static str {
        match self {
            PathEvent::Added => "added",
            PathEvent::Modified => "modified",
            PathEvent::Rewritten => "rewritten unchanged",
            PathEvent::Deleted => "deleted",
            PathEvent::ParentDeleted => "hidden by parent removal",
            PathEvent::OpaqueDir => "hidden by opaque dir",
            PathEvent::ParentReplaced => "hidden by parent replaced with a non-directory",
        }
    }

    /// A removal hides what was there; it ships no bytes of its own.
    pub fn is_removal(self) -> bool {
        matches!(
            self,
            PathEvent::Deleted
                | PathEvent::ParentDeleted
                | PathEvent::OpaqueDir
                | PathEvent::ParentReplaced
        )
    }
}

/// One version of a path.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PathVersion {
    pub layer: usize,
    pub action: PathEvent,
    /// The written entry's kind; `None` for removals.
    pub kind: Option<EntryKind>,
    /// Content bytes this version ships (regular files only).
    pub bytes: u64,
    /// Whether these bytes are wasted.
    pub wasted: bool,
    /// For a write that a later version replaced or removed: that version's layer.
    pub hidden_by_layer: Option<usize>,
    /// For a removal: the path whose whiteout, opaque marker or entry caused it.
    #[serde(serialize_with = "serialize_opt_path")]
    pub cause: Option<Vec<u8>>,
    /// For hidden content that is not wasted: a visible path (a hardlink) that still reaches it.
    #[serde(serialize_with = "serialize_opt_path")]
    pub kept_via: Option<Vec<u8>>,
}

/// layerscope's waste analysis of a merged tree.
pub fn analyze(tree: &Tree, options: &AnalysisOptions) -> Waste {
    let layers = tree.layer_count();
    let base_layers = options.base_layers.unwrap_or(1).min(layers);
    let excluded = options.exclude.map(|f| excluded_nodes(tree, f));
    let is_excluded = |node: NodeId| excluded.as_ref().is_some_and(|e| e[node as usize]);

    let (reachable, kept_via) = reachable_content(tree);

    let mut per_layer: Vec<LayerWaste> = (0..layers)
        .map(|layer| LayerWaste {
            layer,
            shipped_bytes: 0,
            wasted_bytes: 0,
            hid_bytes: 0,
        })
        .collect();
    for entry in tree.entries() {
        if entry.meta.kind == EntryKind::File && !is_excluded(entry.node) {
            per_layer[entry.layer as usize].shipped_bytes += entry.meta.size;
        }
    }

    let mut paths = Vec::new();
    for node in 1..tree.node_count() as NodeId {
        if is_excluded(node) {
            continue;
        }
        let versions = tree.versions(node);
        let mut node_wasted = 0;
        for (i, version) in versions.iter().enumerate() {
            let bytes = shipped(tree, version);
            if bytes == 0 || reachable[version.entry as usize] {
                continue;
            }
            // Not reachable, so not the live top version: a later version hid it.
            let Some(hider) = versions.get(i + 1) else {
                continue;
            };
            node_wasted += bytes;
            per_layer[version.layer as usize].wasted_bytes += bytes;
            per_layer[hider.layer as usize].hid_bytes += bytes;
        }
        if node_wasted > 0 {
            paths.push(WastedPath {
                path: tree.path(node),
                wasted_bytes: node_wasted,
                versions: describe(tree, node, versions, &reachable, &kept_via),
            });
        }
    }
    paths.sort_by(|a, b| {
        b.wasted_bytes
            .cmp(&a.wasted_bytes)
            .then_with(|| a.path.cmp(&b.path))
    });

    let total_bytes: u64 = per_layer.iter().map(|l| l.shipped_bytes).sum();
    let wasted_bytes: u64 = per_layer.iter().map(|l| l.wasted_bytes).sum();
    let user_bytes: u64 = per_layer[base_layers..]
        .iter()
        .map(|l| l.shipped_bytes)
        .sum();
    let user_wasted_bytes: u64 = per_layer[base_layers..].iter().map(|l| l.hid_bytes).sum();
    Waste {
        total_bytes,
        wasted_bytes,
        efficiency: if total_bytes == 0 {
            1.0
        } else {
            (total_bytes - wasted_bytes) as f64 / total_bytes as f64
        },
        base_layers,
        user_bytes,
        user_wasted_bytes,
        user_wasted_ratio: user_wasted_bytes as f64 / user_bytes as f64,
        per_layer,
        paths,
    }
}

/// Content that the final filesystem reaches, by entry id: each visible file's own entry,
/// and the target entry of each visible hardlink (with one hardlink path to show for it).
pub(crate) fn reachable_content(tree: &Tree) -> (Vec<bool>, HashMap<EntryId, NodeId>) {
    let mut reachable = vec![false; tree.entries().len()];
    let mut kept_via: HashMap<EntryId, NodeId> = HashMap::new();
    for node in 1..tree.node_count() as NodeId {
        let Some(last) = tree.versions(node).last() else {
            continue;
        };
        if last.change.is_removal() || last.content == NONE {
            continue;
        }
        reachable[last.content as usize] = true;
        if last.entry != last.content {
            kept_via.entry(last.content).or_insert(node);
        }
    }
    (reachable, kept_via)
}

/// Content bytes a version's own entry ships: regular files only (a hardlink ships none).
pub(crate) fn shipped(tree: &Tree, version: &Version) -> u64 {
    if version.change.is_removal() || version.entry == NONE {
        return 0;
    }
    let meta = &tree.entry(version.entry).meta;
    if meta.kind == EntryKind::File {
        meta.size
    } else {
        0
    }
}

fn describe(
    tree: &Tree,
    node: NodeId,
    versions: &[Version],
    reachable: &[bool],
    kept_via: &HashMap<EntryId, NodeId>,
) -> Vec<PathVersion> {
    versions
        .iter()
        .enumerate()
        .map(|(i, version)| {
            let layer = version.layer as usize;
            let action = PathEvent::of(tree, node, version);
            if action.is_removal() {
                let cause_node = tree.entry(version.entry).node;
                return PathVersion {
                    layer,
                    action,
                    kind: None,
                    bytes: 0,
                    wasted: false,
                    hidden_by_layer: None,
                    cause: Some(tree.path(cause_node)),
                    kept_via: None,
                };
            }
            let bytes = shipped(tree, version);
            let hidden_by_layer = versions.get(i + 1).map(|v| v.layer as usize);
            let kept = bytes > 0 && hidden_by_layer.is_some() && reachable[version.entry as usize];
            PathVersion {
                layer,
                action,
                kind: Some(if version.entry == NONE {
                    EntryKind::Dir
                } else {
                    tree.entry(version.entry).meta.kind
                }),
                bytes,
                wasted: bytes > 0 && hidden_by_layer.is_some() && !kept,
                hidden_by_layer,
                cause: None,
                kept_via: if kept {
                    kept_via.get(&version.entry).map(|&n| tree.path(n))
                } else {
                    None
                },
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{tree, E::*};
    use super::*;

    fn run(layers: &[&[crate::analysis::testutil::E]]) -> Waste {
        analyze(&tree(layers), &AnalysisOptions::default())
    }

    fn path<'a>(waste: &'a Waste, p: &str) -> &'a WastedPath {
        waste
            .paths
            .iter()
            .find(|w| w.path == p.as_bytes())
            .unwrap_or_else(|| panic!("{p} not among the wasted paths"))
    }

    #[test]
    fn overwrite_wastes_the_lower_copy() {
        let w = run(&[&[File("a", &[1; 10])], &[File("a", &[2; 20])]]);
        assert_eq!((w.total_bytes, w.wasted_bytes), (30, 10));
        assert_eq!(w.efficiency, 20.0 / 30.0);
        assert_eq!((w.user_bytes, w.user_wasted_bytes), (20, 10));
        assert_eq!(w.user_wasted_ratio, 0.5);
        assert_eq!(
            w.per_layer,
            vec![
                LayerWaste {
                    layer: 0,
                    shipped_bytes: 10,
                    wasted_bytes: 10,
                    hid_bytes: 0
                },
                LayerWaste {
                    layer: 1,
                    shipped_bytes: 20,
                    wasted_bytes: 0,
                    hid_bytes: 10
                },
            ]
        );
        let a = path(&w, "/a");
        assert_eq!(a.wasted_bytes, 10);
        let summary: Vec<_> = a
            .versions
            .iter()
            .map(|v| (v.layer, v.action, v.bytes, v.wasted, v.hidden_by_layer))
            .collect();
        assert_eq!(
            summary,
            vec![
                (0, PathEvent::Added, 10, true, Some(1)),
                (1, PathEvent::Modified, 20, false, None)
            ]
        );
    }

    #[test]
    fn delete_wastes_the_deleted_file() {
        let w = run(&[&[File("a", &[1; 10]), File("b", &[1; 5])], &[Whiteout("a")]]);
        assert_eq!((w.total_bytes, w.wasted_bytes), (15, 10));
        assert_eq!(w.user_bytes, 0);
        assert_eq!(w.user_wasted_ratio, f64::INFINITY);
        let a = path(&w, "/a");
        assert_eq!(a.versions[1].action, PathEvent::Deleted);
        assert_eq!(a.versions[1].cause.as_deref(), Some(&b"/a"[..]));
        assert_eq!(w.paths.len(), 1);
    }

    #[test]
    fn directory_delete_wastes_everything_below() {
        let w = run(&[
            &[
                Dir("d"),
                File("d/x", &[1; 10]),
                File("d/e/y", &[1; 20]),
                File("k", b"k"),
            ],
            &[Whiteout("d")],
        ]);
        assert_eq!((w.total_bytes, w.wasted_bytes), (31, 30));
        let y = path(&w, "/d/e/y");
        assert_eq!(y.versions[1].action, PathEvent::ParentDeleted);
        assert_eq!(y.versions[1].cause.as_deref(), Some(&b"/d"[..]));
        assert_eq!(w.per_layer[1].hid_bytes, 30);
        // Most wasted first.
        assert_eq!(w.paths[0].path, b"/d/e/y");
        assert_eq!(w.paths[1].path, b"/d/x");
    }

    #[test]
    fn opaque_directory_wastes_old_children() {
        let w = run(&[
            &[Dir("d"), File("d/x", &[1; 10])],
            &[Dir("d"), Opaque("d"), File("d/z", &[1; 3])],
        ]);
        assert_eq!((w.total_bytes, w.wasted_bytes), (13, 10));
        let x = path(&w, "/d/x");
        assert_eq!(x.versions[1].action, PathEvent::OpaqueDir);
        assert_eq!(x.versions[1].cause.as_deref(), Some(&b"/d"[..]));
    }

    #[test]
    fn chmod_only_change_ships_the_content_again() {
        let w = run(&[
            &[FileMode("a", &[1; 10], 0o644)],
            &[FileMode("a", &[1; 10], 0o600)],
        ]);
        assert_eq!((w.total_bytes, w.wasted_bytes), (20, 10));
        assert_eq!(path(&w, "/a").versions[1].action, PathEvent::Modified);
    }

    #[test]
    fn file_replaced_by_a_symlink() {
        let w = run(&[&[File("a", &[1; 4])], &[Sym("a", "b"), File("b", &[1; 4])]]);
        assert_eq!((w.total_bytes, w.wasted_bytes), (8, 4));
        let v = &path(&w, "/a").versions[1];
        assert_eq!(
            (v.action, v.kind, v.bytes),
            (PathEvent::Modified, Some(EntryKind::Symlink), 0)
        );
    }

    #[test]
    fn identical_rewrite_wastes_the_lower_copy() {
        let w = run(&[&[File("a", &[1; 10])], &[File("a", &[1; 10])]]);
        assert_eq!((w.total_bytes, w.wasted_bytes), (20, 10));
        assert_eq!(path(&w, "/a").versions[1].action, PathEvent::Rewritten);
    }

    #[test]
    fn hardlink_keeps_deleted_content_alive() {
        let w = run(&[&[File("a", &[1; 10]), Link("b", "a")], &[Whiteout("a")]]);
        assert_eq!((w.total_bytes, w.wasted_bytes), (10, 0));
        assert_eq!(w.efficiency, 1.0);
        assert!(w.paths.is_empty());
    }

    #[test]
    fn kept_copy_is_explained_next_to_a_wasted_one() {
        // /a's first copy lives on through /b; its second copy is deleted for good.
        let w = run(&[
            &[File("a", &[1; 10]), Link("b", "a")],
            &[File("a", &[2; 7])],
            &[Whiteout("a")],
        ]);
        assert_eq!((w.total_bytes, w.wasted_bytes), (17, 7));
        let a = path(&w, "/a");
        assert!(!a.versions[0].wasted);
        assert_eq!(a.versions[0].kept_via.as_deref(), Some(&b"/b"[..]));
        assert!(a.versions[1].wasted);
        assert_eq!(a.versions[1].hidden_by_layer, Some(2));
    }

    #[test]
    fn parent_replaced_by_a_file() {
        let w = run(&[
            &[Dir("d"), File("d/x", &[1; 4])],
            &[File("d", b"now a file")],
        ]);
        assert_eq!(w.wasted_bytes, 4);
        assert_eq!(
            path(&w, "/d/x").versions[1].action,
            PathEvent::ParentReplaced
        );
    }

    #[test]
    fn empty_image() {
        let w = run(&[]);
        assert_eq!((w.total_bytes, w.wasted_bytes, w.base_layers), (0, 0, 0));
        assert_eq!(w.efficiency, 1.0);
        assert!(w.user_wasted_ratio.is_nan());
        let w = run(&[&[]]);
        assert_eq!(w.efficiency, 1.0);
        assert_eq!(w.per_layer.len(), 1);
    }

    #[test]
    fn base_layers_move_the_user_boundary() {
        let t = tree(&[
            &[File("a", &[1; 10])],
            &[File("a", &[1; 4])],
            &[File("b", &[1; 6]), Whiteout("a")],
        ]);
        let w = analyze(
            &t,
            &AnalysisOptions {
                base_layers: Some(2),
                exclude: None,
                packages: None,
            },
        );
        // Layer 1 hid 10 bytes (base), layer 2 hid 4 (user).
        assert_eq!((w.user_bytes, w.user_wasted_bytes), (6, 4));
        let w = analyze(&t, &AnalysisOptions::default());
        assert_eq!((w.user_bytes, w.user_wasted_bytes), (10, 14));
    }

    #[test]
    fn excluded_paths_leave_both_sides() {
        let t = tree(&[
            &[File("cache/x", &[1; 10]), File("a", &[1; 5])],
            &[Whiteout("cache"), File("a", &[1; 5])],
        ]);
        let filter = |p: &[u8]| p.starts_with(b"/cache");
        let w = analyze(
            &t,
            &AnalysisOptions {
                base_layers: None,
                exclude: Some(&filter),
                packages: None,
            },
        );
        assert_eq!((w.total_bytes, w.wasted_bytes), (10, 5));
        assert_eq!(w.paths.len(), 1);
    }
}
