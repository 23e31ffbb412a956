//! Wasted space: which shipped bytes a container can never see, and two scores over them.
//!
//! - [`analyze`] is layerscope's score: every regular-file entry ships its bytes, and a
//!   copy is wasted when a later layer hides it (overwrite, whiteout, opaque directory, a
//!   parent replaced by a non-directory) and no visible hardlink still reaches it. Each
//!   wasted byte is attributed both to the entry that shipped it and to the layer that hid it.
//! - [`dive_score`] reproduces dive 0.13.1's efficiency score, wasted bytes, user wasted
//!   percent and inefficient-file list, quirks included, for `--score dive`.
//!
//! - [`hints`] turns the same tree into advice, each hint with the bytes its fix saves
//!   (`docs/hints.md`); hints never change either score.
//!
//! Both are plain data; rendering and CI rules live elsewhere. `docs/scores.md` compares them.

pub mod compare;
mod dive;
pub mod explain;
pub mod fleet;
pub mod glossary;
mod gosort;
pub mod hints;
pub mod packages;
pub mod secrets;
mod waste;

pub use dive::{dive_score, DiveAbort, DiveFile, DiveScore};
pub use hints::{hints, Hint, HintKind};
pub use waste::{analyze, LayerWaste, PathEvent, PathVersion, Waste, WastedPath};

use crate::tree::{NodeId, Tree, ROOT};

/// The looks the explorer takes at every file during the parse: the secret rules and the
/// package databases, in one pass.
pub fn explorer_hooks() -> std::sync::Arc<dyn crate::layer::ContentHook> {
    std::sync::Arc::new(crate::layer::Hooks(vec![
        secrets::Scan::hook(),
        packages::Reader::hook(),
    ]))
}

/// A path filter: absolute path bytes (`b"/a/b"`) in, `true` = leave the path out.
pub type ExcludeFn<'a> = &'a (dyn Fn(&[u8]) -> bool + Sync);

/// Options for [`analyze`].
#[derive(Clone, Copy, Default)]
pub struct AnalysisOptions<'a> {
    /// Layers that belong to the base image. `None` means layer 0 alone, as dive assumes;
    /// `ci --dockerfile` finds it from the Dockerfile mapping (`crate::dockerfile`).
    pub base_layers: Option<usize>,
    /// Paths left out of both the shipped and the wasted bytes (dive issue #347).
    pub exclude: Option<ExcludeFn<'a>>,
    /// The OS packages, when the load read their databases: the hints then name packages.
    pub packages: Option<&'a packages::Packages>,
}

impl std::fmt::Debug for AnalysisOptions<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AnalysisOptions")
            .field("base_layers", &self.base_layers)
            .field("exclude", &self.exclude.map(|_| "<filter>"))
            .field("packages", &self.packages.map(|p| p.packages.len()))
            .finish()
    }
}

/// For every node of the tree, whether the filter excludes its path. Paths are built once,
/// top-down, in one reused buffer, so a million nodes cost a million filter calls and no
/// per-node allocation.
fn excluded_nodes(tree: &Tree, exclude: ExcludeFn<'_>) -> Vec<bool> {
    let mut excluded = vec![false; tree.node_count()];
    let mut path: Vec<u8> = Vec::new();
    // (node, length of its parent's path in `path`)
    let mut stack: Vec<(NodeId, usize)> = tree.children(ROOT).iter().map(|&c| (c, 0)).collect();
    while let Some((node, parent_len)) = stack.pop() {
        path.truncate(parent_len);
        path.push(b'/');
        path.extend_from_slice(tree.name(node));
        excluded[node as usize] = exclude(&path);
        let len = path.len();
        stack.extend(tree.children(node).iter().map(|&c| (c, len)));
    }
    excluded
}

/// Serialize raw path bytes as an escaped string (see [`crate::escape`]), so that JSON
/// reports carry readable paths.
fn serialize_path<S: serde::Serializer>(path: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&crate::escape::escape_bytes(path))
}

fn serialize_opt_path<S: serde::Serializer>(
    path: &Option<Vec<u8>>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match path {
        Some(path) => serialize_path(path, serializer),
        None => serializer.serialize_none(),
    }
}

#[cfg(test)]
pub(crate) mod testutil {
    //! Build small trees from tar layers written in the test.

    use crate::layer::{parse_layer, ParseControl, ParseOptions};
    use crate::tree::{Tree, TreeBuilder};

    /// One tar entry of a test layer.
    pub enum E<'a> {
        Dir(&'a str),
        /// Regular file, mode 0644.
        File(&'a str, &'a [u8]),
        FileMode(&'a str, &'a [u8], u32),
        /// Hardlink: path, target.
        Link(&'a str, &'a str),
        Sym(&'a str, &'a str),
        /// `dir/.wh.name` for the given path.
        Whiteout(&'a str),
        /// `dir/.wh..wh..opq` for the given directory.
        Opaque(&'a str),
    }

    pub fn layer_tar(entries: &[E]) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        for entry in entries {
            let mut header = tar::Header::new_gnu();
            header.set_mtime(0);
            header.set_uid(0);
            header.set_gid(0);
            let (path, data): (String, &[u8]) = match entry {
                E::Dir(p) => {
                    header.set_entry_type(tar::EntryType::Directory);
                    header.set_mode(0o755);
                    (format!("{}/", p.trim_end_matches('/')), &[])
                }
                E::File(p, d) => {
                    header.set_entry_type(tar::EntryType::Regular);
                    header.set_mode(0o644);
                    (p.to_string(), d)
                }
                E::FileMode(p, d, m) => {
                    header.set_entry_type(tar::EntryType::Regular);
                    header.set_mode(*m);
                    (p.to_string(), d)
                }
                E::Link(p, t) => {
                    header.set_entry_type(tar::EntryType::Link);
                    header.set_mode(0o644);
                    header.set_link_name(t).unwrap();
                    (p.to_string(), &[])
                }
                E::Sym(p, t) => {
                    header.set_entry_type(tar::EntryType::Symlink);
                    header.set_mode(0o777);
                    header.set_link_name(t).unwrap();
                    (p.to_string(), &[])
                }
                E::Whiteout(p) => {
                    let (dir, name) = p.rsplit_once('/').unwrap_or(("", p));
                    header.set_entry_type(tar::EntryType::Regular);
                    header.set_mode(0);
                    let dir = if dir.is_empty() {
                        String::new()
                    } else {
                        format!("{dir}/")
                    };
                    (format!("{dir}.wh.{name}"), &[])
                }
                E::Opaque(d) => {
                    header.set_entry_type(tar::EntryType::Regular);
                    header.set_mode(0);
                    (format!("{}/.wh..wh..opq", d.trim_end_matches('/')), &[])
                }
            };
            header.set_size(data.len() as u64);
            builder.append_data(&mut header, path, data).unwrap();
        }
        builder.into_inner().unwrap()
    }

    pub fn tree(layers: &[&[E]]) -> Tree {
        let mut builder = TreeBuilder::new();
        for entries in layers {
            let tar = layer_tar(entries);
            let parsed = parse_layer(
                tar.as_slice(),
                ParseOptions::default(),
                &ParseControl::default(),
            )
            .unwrap();
            builder.add_layer(&parsed).unwrap();
        }
        builder.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::testutil::{tree, E::*};
    use super::*;

    #[test]
    fn exclusion_sees_absolute_paths() {
        let t = tree(&[&[Dir("a"), File("a/b", b"x"), File("c", b"y")]]);
        let seen = std::sync::Mutex::new(Vec::new());
        let filter = |p: &[u8]| {
            seen.lock().unwrap().push(p.to_vec());
            p.starts_with(b"/a")
        };
        let excluded = excluded_nodes(&t, &filter);
        let mut seen = seen.into_inner().unwrap();
        seen.sort();
        assert_eq!(seen, vec![b"/a".to_vec(), b"/a/b".to_vec(), b"/c".to_vec()]);
        assert_eq!(excluded.iter().filter(|&&x| x).count(), 2);
    }
}
