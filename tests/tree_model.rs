//! The merged tree against a reference model. Random layers of adds, overwrites,
//! whiteouts, opaque markers and type changes (file, directory, symlink) over a small
//! path alphabet are written as tar files, parsed with `layer::parse_layer` and applied
//! with `tree::TreeBuilder`; after every layer the tree's listing and the layer's diff
//! must equal those of a plain map applying the OCI layer rules one by one:
//!
//! - opaque markers apply before every other entry of their layer, wherever they sit;
//! - whiteouts hide lower layers only (the same layer may re-create the path);
//! - a non-directory written over a directory removes everything below it;
//! - missing parent directories are created 0755 0:0.

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
        target: u8,
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
        2 => (path_strategy(), 0u8..3).prop_map(|(path, target)| Op::Symlink { path, target }),
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
            Op::Symlink { path, target } => add(
                path,
                tar::EntryType::Symlink,
                0o777,
                &[],
                &format!("t{target}"),
            ),
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

/// Remove `path`'s descendants (not `path` itself).
fn remove_below(model: &mut Model, path: &str) {
    let prefix = format!("{path}/");
    model.retain(|p, _| !p.starts_with(&prefix));
}

/// Make `path` and its ancestors directories, implying the missing ones.
fn ensure_dir(model: &mut Model, path: &str) {
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
    for op in ops {
        match op {
            Op::Opaque { dir: Some(dir) } => remove_below(model, dir),
            Op::Opaque { dir: None } => model.clear(),
            _ => {}
        }
    }
    for op in ops {
        if let Op::Whiteout { path } = op {
            model.remove(path);
            remove_below(model, path);
        }
    }
    for op in ops {
        let (path, state) = match op {
            Op::Whiteout { .. } | Op::Opaque { dir: None } => continue,
            Op::Opaque { dir: Some(dir) } => {
                ensure_dir(model, dir);
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
                    link: format!("t{target}"),
                },
            ),
        };
        if let (Some(parent), _) = split(path) {
            ensure_dir(model, parent);
        }
        if state.kind != 'd' {
            remove_below(model, path);
        }
        model.insert(path.clone(), state);
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
        let parsed = parse_layer(&tar[..], ParseOptions { digests: true }, &control).unwrap();
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
        prop_assert_eq!(diff, model_diff(&before, &model), "diff of layer {}", index);
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
        // A directory replaced by a symlink, then a file written below the symlink's
        // path, which turns it back into an (implied) directory.
        vec![
            vec![file("a/b", 1)],
            vec![Symlink {
                path: "a".into(),
                target: 0,
            }],
            vec![file("a/c", 2)],
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
