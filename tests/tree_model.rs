//! The merged tree against a reference model. Random layers of adds, overwrites,
//! whiteouts, opaque markers and type changes (file, directory, symlink) over a small
//! path alphabet are written as tar files, parsed with `layer::parse_layer` and applied
//! with `tree::TreeBuilder`; after every layer the tree's listing, the layer's diff and
//! its change counts must equal those of a plain map applying the OCI layer rules one by
//! one:
//!
//! - opaque markers apply before every other entry of their layer, wherever they sit;
//! - whiteouts hide lower layers only (the same layer may re-create the path);
//! - a non-directory written over a directory removes everything below it;
//! - missing parent directories are created 0755 0:0;
//! - an entry's parent resolves through the symlinks standing when it is applied, as a
//!   rootfs-confined join does: absolute targets from the root, `..` stopping at the root,
//!   at most 40 links followed (more is a loop: the entry is placed as written); the
//!   entry's own name is never followed, an opaque marker's directory is. Markers resolve
//!   against the layers below (they are applied first); writes resolve in tar order.

use layerscope::layer::{parse_layer, ParseControl, ParseOptions};
use layerscope::tree::{DiffKind, TreeBuilder};
use proptest::prelude::*;
use std::collections::BTreeMap;

#[derive(Debug, Clone)]
enum Op {
    /// A regular file; its content is `len` bytes of `x`, so the size identifies it.
    File {
        path: String,
        len: u8,
        mode: u32,
    },
    Dir {
        path: String,
        mode: u32,
    },
    Symlink {
        path: String,
        target: &'static str,
    },
    Whiteout {
        path: String,
    },
    /// `None` is the layer root.
    Opaque {
        dir: Option<String>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct State {
    kind: char,
    mode: u32,
    size: u64,
    link: String,
}

type Model = BTreeMap<String, State>;

const IMPLIED: State = State {
    kind: 'd',
    mode: 0o755,
    size: 0,
    link: String::new(),
};

/// Symlink targets: mostly directories of the path alphabet, relative and absolute, some
/// climbing with `..` (past the root, too), one dangling; with paths of the same alphabet
/// they make chains and loops.
const TARGETS: [&str; 12] = [
    "t0",
    "a",
    "b",
    "c/a",
    "/a",
    "/b/c",
    "../a",
    "../../c",
    "../../../../b",
    ".",
    "/c/..",
    "a/..",
];

fn path_strategy() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(vec!["a", "b", "c"]), 1..=3)
        .prop_map(|parts| parts.join("/"))
}

fn op_strategy() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (path_strategy(), 0u8..4, prop::sample::select(vec![0o644u32, 0o600]))
            .prop_map(|(path, len, mode)| Op::File { path, len, mode }),
        3 => (path_strategy(), prop::sample::select(vec![0o755u32, 0o700]))
            .prop_map(|(path, mode)| Op::Dir { path, mode }),
        3 => (path_strategy(), prop::sample::select(TARGETS.to_vec()))
            .prop_map(|(path, target)| Op::Symlink { path, target }),
        2 => path_strategy().prop_map(|path| Op::Whiteout { path }),
        1 => prop::option::weighted(0.8, path_strategy()).prop_map(|dir| Op::Opaque { dir }),
    ]
}

fn layers_strategy() -> impl Strategy<Value = Vec<Vec<Op>>> {
    prop::collection::vec(prop::collection::vec(op_strategy(), 0..8), 1..6)
}

fn layer_tar(ops: &[Op]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    let mut add = |path: &str, kind: tar::EntryType, mode: u32, data: &[u8], link: &str| {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(kind);
        header.set_mode(mode);
        header.set_size(data.len() as u64);
        header.set_mtime(0);
        if kind == tar::EntryType::Symlink {
            builder.append_link(&mut header, path, link).unwrap();
        } else {
            builder.append_data(&mut header, path, data).unwrap();
        }
    };
    for op in ops {
        match op {
            Op::File { path, len, mode } => add(
                path,
                tar::EntryType::Regular,
                *mode,
                &vec![b'x'; *len as usize],
                "",
            ),
            Op::Dir { path, mode } => add(
                &format!("{path}/"),
                tar::EntryType::Directory,
                *mode,
                &[],
                "",
            ),
            Op::Symlink { path, target } => add(path, tar::EntryType::Symlink, 0o777, &[], target),
            Op::Whiteout { path } => {
                let (dir, name) = split(path);
                add(
                    &join(dir, &format!(".wh.{name}")),
                    tar::EntryType::Regular,
                    0o644,
                    &[],
                    "",
                )
            }
            Op::Opaque { dir } => add(
                &join(dir.as_deref(), ".wh..wh..opq"),
                tar::EntryType::Regular,
                0o644,
                &[],
                "",
            ),
        }
    }
    builder.into_inner().unwrap()
}

fn split(path: &str) -> (Option<&str>, &str) {
    match path.rsplit_once('/') {
        Some((dir, name)) => (Some(dir), name),
        None => (None, path),
    }
}

fn join(dir: Option<&str>, name: &str) -> String {
    match dir {
        Some(dir) => format!("{dir}/{name}"),
        None => name.to_string(),
    }
}

/// Remove `path`'s descendants (not `path` itself); `""` is the root.
fn remove_below(model: &mut Model, path: &str) {
    if path.is_empty() {
        model.clear();
        return;
    }
    let prefix = format!("{path}/");
    model.retain(|p, _| !p.starts_with(&prefix));
}

/// Resolve every component of `path` through the model's symlinks; `None` for a loop.
fn resolve(model: &Model, path: &str) -> Option<String> {
    let mut resolved: Vec<String> = Vec::new();
    let mut pending: Vec<String> = path.split('/').rev().map(String::from).collect();
    let mut follows = 0;
    while let Some(component) = pending.pop() {
        match component.as_str() {
            "" | "." => {}
            ".." => {
                resolved.pop();
            }
            name => {
                let mut candidate = resolved.clone();
                candidate.push(name.to_string());
                match model.get(&candidate.join("/")) {
                    Some(state) if state.kind == 'l' => {
                        follows += 1;
                        if follows > 40 {
                            return None;
                        }
                        if state.link.starts_with('/') {
                            resolved.clear();
                        }
                        pending.extend(state.link.split('/').rev().map(String::from));
                    }
                    _ => resolved = candidate,
                }
            }
        }
    }
    Some(resolved.join("/"))
}

/// Where an entry at `path` lands: its parent resolved (its whole path, for an opaque
/// marker's directory), a loop leaving it where it was written.
fn place(model: &Model, path: &str, follow_last: bool) -> String {
    if follow_last {
        return resolve(model, path).unwrap_or_else(|| path.to_string());
    }
    match split(path) {
        (None, name) => name.to_string(),
        (Some(dir), name) => {
            let parent = resolve(model, dir).unwrap_or_else(|| dir.to_string());
            join((!parent.is_empty()).then_some(&parent), name)
        }
    }
}

/// Make `path` and its ancestors directories, implying the missing ones; `""` is the root.
fn ensure_dir(model: &mut Model, path: &str) {
    if path.is_empty() {
        return;
    }
    let mut at = 0;
    loop {
        let end = path[at..].find('/').map_or(path.len(), |i| at + i);
        let prefix = &path[..end];
        if model.get(prefix).is_none_or(|s| s.kind != 'd') {
            model.insert(prefix.to_string(), IMPLIED);
        }
        if end == path.len() {
            return;
        }
        at = end + 1;
    }
}

fn apply(model: &mut Model, ops: &[Op]) {
    // Where each opaque marker's directory resolved, by op index.
    let mut opaque_dirs = BTreeMap::new();
    for (index, op) in ops.iter().enumerate() {
        match op {
            Op::Opaque { dir: Some(dir) } => {
                let resolved = place(model, dir, true);
                remove_below(model, &resolved);
                opaque_dirs.insert(index, resolved);
            }
            Op::Opaque { dir: None } => model.clear(),
            _ => {}
        }
    }
    for op in ops {
        if let Op::Whiteout { path } = op {
            let resolved = place(model, path, false);
            model.remove(&resolved);
            remove_below(model, &resolved);
        }
    }
    for (index, op) in ops.iter().enumerate() {
        let (path, state) = match op {
            Op::Whiteout { .. } | Op::Opaque { dir: None } => continue,
            Op::Opaque { dir: Some(_) } => {
                ensure_dir(model, &opaque_dirs[&index]);
                continue;
            }
            Op::File { path, len, mode } => (
                path,
                State {
                    kind: '-',
                    mode: *mode,
                    size: *len as u64,
                    link: String::new(),
                },
            ),
            Op::Dir { path, mode } => (
                path,
                State {
                    mode: *mode,
                    ..IMPLIED
                },
            ),
            Op::Symlink { path, target } => (
                path,
                State {
                    kind: 'l',
                    mode: 0o777,
                    size: 0,
                    link: target.to_string(),
                },
            ),
        };
        let path = place(model, path, false);
        if let (Some(parent), _) = split(&path) {
            ensure_dir(model, parent);
        }
        if state.kind != 'd' {
            remove_below(model, &path);
        }
        model.insert(path, state);
    }
}

fn listing(tree: &layerscope::tree::Tree, layer: usize) -> Vec<(String, State)> {
    tree.listing(layer)
        .into_iter()
        .map(|row| {
            let path = String::from_utf8(row.path).unwrap();
            let state = State {
                kind: row.meta.kind.type_char(),
                mode: row.meta.mode as u32,
                size: row.size,
                link: String::from_utf8(row.link).unwrap(),
            };
            assert_eq!((row.meta.uid, row.meta.gid), (0, 0), "{path}");
            (path, state)
        })
        .collect()
}

fn model_listing(model: &Model) -> Vec<(String, State)> {
    // Sorted bytewise by absolute path, as `ls` orders them.
    let mut rows: Vec<(String, State)> = model
        .iter()
        .map(|(p, s)| (format!("/{p}"), s.clone()))
        .collect();
    rows.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    rows
}

/// Diffs as (path, `docker diff` letter), sortable.
fn model_diff(before: &Model, after: &Model) -> Vec<(String, char)> {
    let mut out = Vec::new();
    for (path, state) in after {
        match before.get(path) {
            None => out.push((format!("/{path}"), DiffKind::Added.letter())),
            Some(old) if old != state => {
                out.push((format!("/{path}"), DiffKind::Modified.letter()))
            }
            Some(_) => {}
        }
    }
    for path in before.keys().filter(|p| !after.contains_key(*p)) {
        out.push((format!("/{path}"), DiffKind::Removed.letter()));
    }
    out.sort();
    out
}

fn check(layers: &[Vec<Op>]) -> Result<(), TestCaseError> {
    let control = ParseControl::default();
    let mut builder = TreeBuilder::new();
    for ops in layers {
        let tar = layer_tar(ops);
        let parsed = parse_layer(
            &tar[..],
            ParseOptions {
                digests: true,
                ..Default::default()
            },
            &control,
        )
        .unwrap();
        prop_assert!(!parsed.truncated);
        builder.add_layer(&parsed).unwrap();
    }
    let tree = builder.finish();
    prop_assert_eq!(tree.layer_count(), layers.len());
    let mut model = Model::new();
    for (index, ops) in layers.iter().enumerate() {
        let before = model.clone();
        apply(&mut model, ops);
        prop_assert_eq!(
            listing(&tree, index),
            model_listing(&model),
            "listing after layer {}",
            index
        );
        let mut diff: Vec<(String, char)> = tree
            .diff(index.checked_sub(1), index)
            .into_iter()
            .map(|d| {
                (
                    String::from_utf8(tree.path(d.node)).unwrap(),
                    d.kind.letter(),
                )
            })
            .collect();
        diff.sort();
        let expected = model_diff(&before, &model);
        // The counts the builder kept while applying the layer, against the model's diff.
        let counts = tree.layer_change_counts(index);
        let count = |letter| expected.iter().filter(|(_, l)| *l == letter).count();
        prop_assert_eq!(
            (counts.added, counts.modified, counts.removed),
            (count('A'), count('C'), count('D')),
            "change counts of layer {}",
            index
        );
        prop_assert_eq!(diff, expected, "diff of layer {}", index);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn merged_tree_matches_the_reference_model(layers in layers_strategy()) {
        check(&layers)?;
    }
}

/// Cases worth keeping whatever the random seed.
#[test]
fn fixed_cases_match_the_reference_model() {
    use Op::*;
    let file = |path: &str, len| File {
        path: path.into(),
        len,
        mode: 0o644,
    };
    let link = |path: &str, target: &'static str| Symlink {
        path: path.into(),
        target,
    };
    let dir = |path: &str| Dir {
        path: path.into(),
        mode: 0o755,
    };
    let cases: Vec<Vec<Vec<Op>>> = vec![
        // An opaque marker after its siblings still applies first.
        vec![
            vec![file("a/b", 1), file("a/c", 2)],
            vec![
                file("a/d", 3),
                Opaque {
                    dir: Some("a".into()),
                },
            ],
        ],
        // A whiteout and a re-creation of the same path in one layer.
        vec![
            vec![file("a/b/c", 1)],
            vec![file("a/b", 2), Whiteout { path: "a/b".into() }],
        ],
        // A directory replaced by a symlink to nowhere, then a file written below the
        // symlink's path: it lands at the target, implied, and the symlink stays.
        vec![
            vec![file("a/b", 1)],
            vec![link("a", "t0")],
            vec![file("a/c", 2)],
        ],
        // Merged /usr: bin -> usr/bin below, bin/tool lands in /usr/bin.
        vec![
            vec![file("usr/bin/sh", 1), link("bin", "usr/bin")],
            vec![file("bin/tool", 2)],
        ],
        // A symlink replacing a directory, then a directory replacing the symlink, in
        // one layer: each moves where the next entries land.
        vec![
            vec![file("a/x", 1), file("b/y", 1)],
            vec![link("a", "/b"), file("a/z", 2), dir("a"), file("a/w", 3)],
        ],
        // Chains, absolute targets and `..` past the root.
        vec![vec![
            link("a", "../../../b"),
            link("b", "/c/a/.."),
            dir("c/a"),
            file("a/f", 1),
        ]],
        // Loops: the entry is placed as written, the symlink turned into a directory.
        vec![vec![
            link("a", "b"),
            link("b", "a"),
            file("a/x", 1),
            file("c/x", 1),
        ]],
        vec![vec![link("a", "."), file("a/a/a/x", 1)]],
        // Whiteouts and opaque markers through a symlinked parent.
        vec![
            vec![file("c/a/x", 1), file("c/a/y", 1), link("b", "c")],
            vec![Whiteout {
                path: "b/a/x".into(),
            }],
            vec![
                Opaque {
                    dir: Some("b/a".into()),
                },
                file("b/a/z", 2),
            ],
        ],
        // A marker resolves against the layers below even after its layer re-creates
        // the parent (umoci, streaming, would resolve it through the new directory).
        vec![
            vec![file("c/x", 1), link("b", "c")],
            vec![dir("b"), Whiteout { path: "b/x".into() }],
        ],
        // An opaque marker at the layer root hides everything below.
        vec![
            vec![file("a", 1), file("b/c", 2)],
            vec![Opaque { dir: None }, file("c", 3)],
        ],
    ];
    for layers in cases {
        check(&layers).unwrap_or_else(|e| panic!("{layers:?}: {e}"));
    }
}
