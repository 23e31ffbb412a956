//! Extracting a file or directory of the image to the local filesystem.
//!
//! Names come from an untrusted image, so: every path is built from single, checked name
//! components under the destination (no `..`, no `/`, no absolute path); existing paths
//! are never written through (files are created with `O_CREAT | O_EXCL`, directories
//! are checked to be real directories); device nodes and fifos are skipped; set-id bits
//! are stripped. Nothing is overwritten unless the caller says so.

use crate::image::Image;
use crate::layer::content::LayerStream;
use crate::layer::EntryKind;
use crate::source::Source;
use crate::tree::{NodeId, Tree, NONE};
use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::fs;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Why an extraction stopped. Paths are local ones, under the destination.
#[derive(Debug, thiserror::Error)]
pub enum ExtractError {
    #[error("the path does not exist at this layer")]
    NotPresent,
    #[error("{} is not a directory", .0.display())]
    NotADirectory(PathBuf),
    #[error("{} exists", .0.display())]
    Exists(PathBuf),
    #[error("layer {0} is not in the archive")]
    LayerMissing(usize),
    #[error("{}: {source}", .path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(transparent)]
    Read(#[from] Box<crate::Error>),
}

#[derive(Debug, Clone)]
enum ItemKind {
    Dir,
    File {
        layer: usize,
        offset: u64,
        size: u64,
    },
    Symlink(Vec<u8>),
}

#[derive(Debug, Clone)]
struct Item {
    /// Relative to the destination.
    rel: PathBuf,
    kind: ItemKind,
    mode: u32,
}

/// What extracting a path would write.
#[derive(Debug, Clone)]
pub struct ExtractPlan {
    items: Vec<Item>,
    /// Paths of the plan that already exist under the destination.
    pub existing: Vec<PathBuf>,
    /// Paths that will not be written, with why.
    pub skipped: Vec<String>,
    pub destination: PathBuf,
}

impl ExtractPlan {
    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

/// What was written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExtractReport {
    pub files: usize,
    pub dirs: usize,
    pub symlinks: usize,
    pub bytes: u64,
    pub skipped: usize,
}

/// A name component safe to join under a directory.
fn safe_name(name: &[u8]) -> Option<&OsStr> {
    let bad = name.is_empty() || name == b"." || name == b".." || name.contains(&b'/');
    (!bad && !name.contains(&0)).then(|| OsStr::from_bytes(name))
}

/// Plan extracting `node` as it is after `layer` into `destination`.
pub fn plan(
    tree: &Tree,
    node: NodeId,
    layer: usize,
    destination: &Path,
) -> Result<ExtractPlan, ExtractError> {
    let mut plan = ExtractPlan {
        items: Vec::new(),
        existing: Vec::new(),
        skipped: Vec::new(),
        destination: destination.to_path_buf(),
    };
    let mut stack = vec![(node, PathBuf::new())];
    while let Some((id, parent)) = stack.pop() {
        let Some(version) = tree.live_at(id, layer) else {
            if id == node {
                return Err(ExtractError::NotPresent);
            }
            continue;
        };
        let display = crate::escape::escape_bytes(&tree.path(id)).into_owned();
        let Some(name) = safe_name(tree.name(id)) else {
            plan.skipped.push(format!("{display}: unsafe name"));
            continue;
        };
        let rel = parent.join(name);
        let meta = tree.meta(version);
        let kind = match meta.kind {
            EntryKind::Dir => ItemKind::Dir,
            EntryKind::File | EntryKind::Hardlink if version.content != NONE => {
                let content = tree.entry(version.content);
                ItemKind::File {
                    layer: content.layer as usize,
                    offset: content.meta.offset,
                    size: content.meta.size,
                }
            }
            EntryKind::Symlink => ItemKind::Symlink(tree.version_link(version).to_vec()),
            other => {
                plan.skipped
                    .push(format!("{display}: {other:?} entries are not extracted"));
                continue;
            }
        };
        let mode = u32::from(meta.mode)
            & if meta.kind == EntryKind::Dir {
                0o1777
            } else {
                0o777
            };
        if fs::symlink_metadata(destination.join(&rel)).is_ok() {
            plan.existing.push(rel.clone());
        }
        if matches!(kind, ItemKind::Dir) {
            // Reverse so that the stack pops children in name order.
            for &child in tree.children(id).iter().rev() {
                stack.push((child, rel.clone()));
            }
        }
        plan.items.push(Item { rel, kind, mode });
    }
    Ok(plan)
}

fn io_error(path: &Path, source: io::Error) -> ExtractError {
    ExtractError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Make room for a new entry at `path` when overwriting: never follows a symlink, and
/// never removes a non-empty directory.
fn clear(path: &Path, overwrite: bool) -> Result<(), ExtractError> {
    match fs::symlink_metadata(path) {
        Err(_) => Ok(()),
        Ok(_) if !overwrite => Err(ExtractError::Exists(path.to_path_buf())),
        Ok(meta) if meta.is_dir() => fs::remove_dir(path).map_err(|e| io_error(path, e)),
        Ok(_) => fs::remove_file(path).map_err(|e| io_error(path, e)),
    }
}

/// Write the plan. With `overwrite`, existing files and symlinks in the way are replaced
/// (never followed); existing real directories are reused.
pub fn execute(
    plan: &ExtractPlan,
    source: &Source,
    image: &Image,
    overwrite: bool,
) -> Result<ExtractReport, ExtractError> {
    let root = &plan.destination;
    let root_meta = fs::metadata(root).map_err(|e| io_error(root, e))?;
    if !root_meta.is_dir() {
        return Err(ExtractError::NotADirectory(root.clone()));
    }
    let mut report = ExtractReport {
        skipped: plan.skipped.len(),
        ..ExtractReport::default()
    };
    // Directories first (parents before children), then files layer by layer in offset
    // order so each layer is decompressed once, then symlinks, then directory modes.
    let mut files: BTreeMap<(usize, u64), Vec<&Item>> = BTreeMap::new();
    for item in &plan.items {
        let path = root.join(&item.rel);
        match &item.kind {
            ItemKind::Dir => {
                match fs::symlink_metadata(&path) {
                    Ok(meta) if meta.is_dir() => {}
                    _ => {
                        clear(&path, overwrite)?;
                        fs::create_dir(&path).map_err(|e| io_error(&path, e))?;
                    }
                }
                report.dirs += 1;
            }
            ItemKind::File { layer, offset, .. } => {
                files.entry((*layer, *offset)).or_default().push(item);
            }
            ItemKind::Symlink(_) => {}
        }
    }
    let mut streams: BTreeMap<usize, LayerStream<'_>> = BTreeMap::new();
    for ((layer, offset), items) in &files {
        let Some(member) = image.layers.get(*layer).and_then(|l| l.member.as_deref()) else {
            return Err(ExtractError::LayerMissing(*layer));
        };
        let stream = streams
            .entry(*layer)
            .or_insert_with(|| LayerStream::new(source, member));
        for item in items {
            let ItemKind::File { size, .. } = item.kind else {
                continue;
            };
            let path = root.join(&item.rel);
            clear(&path, overwrite)?;
            let mut file = fs::OpenOptions::new()
                .write(true)
                // O_CREAT | O_EXCL: fails on any existing path, a symlink included.
                .create_new(true)
                .mode(item.mode)
                .open(&path)
                .map_err(|e| io_error(&path, e))?;
            report.bytes += stream
                .copy_range(*offset, size, &mut file)
                .map_err(Box::new)?;
            // umask may have cleared bits the image sets; set-id bits are already gone.
            fs::set_permissions(&path, fs::Permissions::from_mode(item.mode))
                .map_err(|e| io_error(&path, e))?;
            report.files += 1;
        }
    }
    for item in &plan.items {
        if let ItemKind::Symlink(target) = &item.kind {
            let path = root.join(&item.rel);
            clear(&path, overwrite)?;
            std::os::unix::fs::symlink(OsStr::from_bytes(target), &path)
                .map_err(|e| io_error(&path, e))?;
            report.symlinks += 1;
        }
    }
    for item in plan.items.iter().rev() {
        if matches!(item.kind, ItemKind::Dir) {
            let path = root.join(&item.rel);
            fs::set_permissions(&path, fs::Permissions::from_mode(item.mode))
                .map_err(|e| io_error(&path, e))?;
        }
    }
    Ok(report)
}
