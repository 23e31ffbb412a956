//! A simulated container's writable layer, laid over a loaded image for the tour: what
//! Docker's storage drivers do when a container writes, deletes or creates a file. The
//! image's tree is only read, never changed: a container's changes live in its own layer
//! and vanish with it.

use crate::layer::EntryKind;
use crate::tree::{NodeId, Tree, ROOT};

/// What one write appends: a modification small beside the file it lands in, so that the
/// copy-up's cost is plain.
pub const APPENDED: &[u8] = b"written by the container\n";

/// What a file the container creates holds.
pub const CREATED: &[u8] = b"made in the container\n";

/// How the container layer came to hold a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A file of a lower layer, copied up whole on its first write, then changed.
    CopiedUp {
        /// The image layer whose copy it is.
        from_layer: usize,
    },
    /// A file the container made; nothing below has the path.
    Created,
    /// A whiteout: the path of a lower layer, deleted for this container only.
    Whiteout {
        /// Content bytes the lower layers still hold under the path.
        hidden: u64,
    },
}

/// One path of the container layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// Absolute path, raw bytes (escaped when drawn).
    pub path: Vec<u8>,
    pub kind: Kind,
    /// Bytes this path takes in the container layer (0 for a whiteout).
    pub bytes: u64,
}

/// What the container did, for the status line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    CopiedUp {
        bytes: u64,
    },
    WrittenInPlace {
        bytes: u64,
    },
    Deleted,
    Created {
        path: Vec<u8>,
    },
    /// Refused, with why.
    Refused(&'static str),
}

/// The writable layer of one simulated container, above the image's top layer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContainerLayer {
    /// In the order the container made them.
    changes: Vec<Change>,
    created: usize,
}

impl ContainerLayer {
    pub fn changes(&self) -> &[Change] {
        &self.changes
    }

    /// Bytes the container layer holds.
    pub fn bytes(&self) -> u64 {
        self.changes.iter().map(|c| c.bytes).sum()
    }

    fn find(&self, path: &[u8]) -> Option<usize> {
        self.changes.iter().position(|c| c.path == path)
    }

    /// Write to `node`: a file of the image is copied up whole the first time, then
    /// changed; a file already in the container layer is changed in place.
    pub fn write(&mut self, tree: &Tree, node: NodeId) -> Outcome {
        let path = tree.path(node);
        if let Some(at) = self.find(&path) {
            let change = &mut self.changes[at];
            if matches!(change.kind, Kind::Whiteout { .. }) {
                return Outcome::Refused("this container deleted that file");
            }
            change.bytes += APPENDED.len() as u64;
            return Outcome::WrittenInPlace {
                bytes: APPENDED.len() as u64,
            };
        }
        let Some(top) = tree.layer_count().checked_sub(1) else {
            return Outcome::Refused("the image has no layers");
        };
        let Some(version) = tree.live_at(node, top) else {
            return Outcome::Refused("no layer of the image has that path");
        };
        if tree.meta(version).kind != EntryKind::File {
            return Outcome::Refused("select a regular file to write to");
        }
        let bytes = tree.content_size(version) + APPENDED.len() as u64;
        self.changes.push(Change {
            path,
            kind: Kind::CopiedUp {
                from_layer: usize::from(version.layer),
            },
            bytes,
        });
        Outcome::CopiedUp { bytes }
    }

    /// Delete `node`: a path the container made goes away; a path of the image gets a
    /// whiteout in the container layer (its copy, if any, is dropped).
    pub fn delete(&mut self, tree: &Tree, node: NodeId) -> Outcome {
        if node == ROOT {
            return Outcome::Refused("the root directory cannot be deleted");
        }
        let path = tree.path(node);
        let top = tree.layer_count().checked_sub(1);
        let below = top.and_then(|top| tree.live_at(node, top));
        if let Some(at) = self.find(&path) {
            if matches!(self.changes[at].kind, Kind::Whiteout { .. }) {
                return Outcome::Refused("this container already deleted that path");
            }
            self.changes.remove(at);
        }
        if below.is_none() {
            return Outcome::Deleted;
        }
        let hidden = top.map_or(0, |top| tree.subtree_sizes(top)[node as usize]);
        // A directory's whiteout hides everything under it: drop what the container wrote
        // there.
        let mut prefix = path.clone();
        prefix.push(b'/');
        self.changes.retain(|c| !c.path.starts_with(&prefix));
        self.changes.push(Change {
            path,
            kind: Kind::Whiteout { hidden },
            bytes: 0,
        });
        Outcome::Deleted
    }

    /// Create a new file in `node` (a directory) or beside it (a file).
    pub fn create(&mut self, tree: &Tree, node: NodeId) -> Outcome {
        let top = tree.layer_count().checked_sub(1);
        let is_dir = top
            .and_then(|top| tree.live_at(node, top))
            .is_some_and(|v| tree.meta(v).kind == EntryKind::Dir);
        let dir = if is_dir || node == ROOT {
            node
        } else {
            tree.node(node).parent
        };
        let mut dir_path = tree.path(dir);
        if dir_path != b"/" {
            dir_path.push(b'/');
        }
        // A name no layer and no earlier creation has.
        let path = loop {
            self.created += 1;
            let mut path = dir_path.clone();
            path.extend_from_slice(format!("new-file-{}.txt", self.created).as_bytes());
            if tree.lookup(&path).is_none() && self.find(&path).is_none() {
                break path;
            }
        };
        self.changes.push(Change {
            path: path.clone(),
            kind: Kind::Created,
            bytes: CREATED.len() as u64,
        });
        Outcome::Created { path }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo;

    fn layers_demo() -> crate::model::LoadedImage {
        demo::load(demo::find("layers").unwrap()).unwrap()
    }

    /// The layer tar's own header size for `path` in the embedded archive: the oracle for
    /// what a copy-up copies.
    fn size_in_archive(name: &str, path: &str) -> u64 {
        let image = demo::find(name).unwrap();
        let mut found = None;
        for (_, blob) in demo::layer_blobs(image) {
            let bytes = demo::blob(image, &blob).unwrap();
            let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(&bytes[..]));
            for entry in tar.entries().unwrap() {
                let entry = entry.unwrap();
                let name = entry.path().unwrap().to_string_lossy().into_owned();
                if name.trim_start_matches("./") == path.trim_start_matches('/') {
                    found = Some(entry.header().size().unwrap());
                }
            }
        }
        found.unwrap_or_else(|| panic!("{path} not in {name}"))
    }

    #[test]
    fn a_first_write_copies_the_whole_file_up_and_the_image_does_not_change() {
        let loaded = layers_demo();
        let tree = &loaded.tree;
        let node = tree.lookup(b"/app/app.lua").unwrap();
        let before: Vec<u64> = loaded.layers.iter().map(|l| l.content_bytes).collect();
        let mut container = ContainerLayer::default();
        let size = size_in_archive("layers", "/app/app.lua");
        let appended = APPENDED.len() as u64;
        assert_eq!(
            container.write(tree, node),
            Outcome::CopiedUp {
                bytes: size + appended
            }
        );
        assert_eq!(
            container.changes()[0].kind,
            Kind::CopiedUp { from_layer: 4 }
        );
        // The second write is in place: no second copy.
        assert_eq!(
            container.write(tree, node),
            Outcome::WrittenInPlace { bytes: appended }
        );
        assert_eq!(container.bytes(), size + 2 * appended);
        let top = tree.layer_count() - 1;
        assert_eq!(
            tree.content_size(tree.live_at(node, top).unwrap()),
            size,
            "the image's copy is untouched"
        );
        let after: Vec<u64> = loaded.layers.iter().map(|l| l.content_bytes).collect();
        assert_eq!(before, after);
    }

    #[test]
    fn deleting_writes_a_whiteout_and_creating_adds_a_new_path() {
        let loaded = layers_demo();
        let tree = &loaded.tree;
        let mut container = ContainerLayer::default();
        let rockspec = tree.lookup(b"/app/app-1.0-1.rockspec").unwrap();
        let size = size_in_archive("layers", "/app/app-1.0-1.rockspec");
        // Copied up, then deleted: the copy goes, a whiteout stays.
        container.write(tree, rockspec);
        assert_eq!(container.delete(tree, rockspec), Outcome::Deleted);
        assert_eq!(
            container.changes(),
            &[Change {
                path: b"/app/app-1.0-1.rockspec".to_vec(),
                kind: Kind::Whiteout { hidden: size },
                bytes: 0
            }]
        );
        assert!(matches!(
            container.write(tree, rockspec),
            Outcome::Refused(_)
        ));
        // A new file, beside the selected one.
        let app = tree.lookup(b"/app/app.lua").unwrap();
        let Outcome::Created { path } = container.create(tree, app) else {
            panic!()
        };
        assert_eq!(path, b"/app/new-file-1.txt");
        assert!(tree.lookup(&path).is_none());
        assert_eq!(container.bytes(), CREATED.len() as u64);
        // A deleted directory's whiteout hides what the container wrote under it too.
        container.delete(tree, tree.lookup(b"/app").unwrap());
        assert_eq!(container.changes().len(), 1, "{:?}", container.changes());
        assert_eq!(container.changes()[0].path, b"/app");
    }
}
