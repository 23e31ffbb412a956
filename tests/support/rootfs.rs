//! What the package tests share: a real root filesystem, changed by a real tool, turned
//! into image layers (each layer the difference between two snapshots) and unpacked back
//! with umoci, so the databases are the ones the tools wrote; the bookkeeping of package
//! sets; and the binary run as a user runs it.

use layerscope::layer::ParseControl;
use layerscope::load::{load_path, LoadOptions, LoadedImage};
use std::collections::BTreeMap;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use super::{ImageSpec, LayerSpec};

/// Load an image with the package reader's content hook.
pub fn load(path: &Path) -> LoadedImage {
    load_with(path, layerscope::analysis::packages::Reader::hook())
}

pub fn load_with(
    path: &Path,
    hook: std::sync::Arc<dyn layerscope::layer::ContentHook>,
) -> LoadedImage {
    let options = LoadOptions {
        content: Some(hook),
        ..Default::default()
    };
    load_path(
        path.to_str().unwrap(),
        &options,
        &ParseControl::default(),
        &mut |_| {},
    )
    .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Run a command; panic with its stderr unless it succeeds; its stdout.
pub fn run(command: &mut Command) -> String {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {command:?} (is it installed?): {e}"));
    assert!(
        output.status.success(),
        "{command:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// Deterministic filler bytes.
pub fn bytes(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

#[derive(Clone, PartialEq)]
pub enum Snap {
    Dir(u32),
    File(u32, Vec<u8>),
    Link(Vec<u8>),
}

/// Every path under `root` (relative, sorted) and what it is.
pub fn snapshot(root: &Path) -> BTreeMap<String, Snap> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let rel = path
                .strip_prefix(root)
                .unwrap()
                .to_str()
                .unwrap()
                .to_string();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            let mode = meta.permissions().mode() & 0o7777;
            let snap = if meta.file_type().is_symlink() {
                Snap::Link(std::fs::read_link(&path).unwrap().to_str().unwrap().into())
            } else if meta.is_dir() {
                stack.push(path.clone());
                Snap::Dir(mode)
            } else {
                Snap::File(mode, std::fs::read(&path).unwrap())
            };
            out.insert(rel, snap);
        }
    }
    out
}

/// The layer that turns `before` into `after`: what changed, and whiteouts for the
/// topmost paths that went away.
pub fn diff_layer(before: &BTreeMap<String, Snap>, after: &BTreeMap<String, Snap>) -> LayerSpec {
    let mut layer = LayerSpec::new();
    for (path, snap) in after {
        if before.get(path) == Some(snap) {
            continue;
        }
        layer = match snap {
            Snap::Dir(mode) => layer.dir(path, *mode),
            Snap::File(mode, bytes) => layer.file_mode(path, bytes, *mode, 0, 0),
            Snap::Link(target) => layer.symlink(path, target),
        };
    }
    for path in before.keys() {
        let parent_gone = Path::new(path)
            .parent()
            .and_then(Path::to_str)
            .is_some_and(|p| !p.is_empty() && !after.contains_key(p));
        if !after.contains_key(path) && !parent_gone {
            layer = layer.whiteout(path);
        }
    }
    layer
}

pub fn is_root() -> bool {
    let probe = tempfile::NamedTempFile::new().unwrap();
    probe.as_file().metadata().unwrap().uid() == 0
}

/// Unpack `layout:latest` with umoci; the rootfs.
pub fn umoci_unpack(layout: &Path, bundle: &Path) -> PathBuf {
    run(Command::new("umoci")
        .arg("unpack")
        .args(if is_root() {
            &[][..]
        } else {
            &["--rootless"][..]
        })
        .arg("--image")
        .arg(format!("{}:latest", layout.display()))
        .arg(bundle));
    bundle.join("rootfs")
}

pub fn image_of(layers: &[LayerSpec]) -> ImageSpec {
    layers
        .iter()
        .cloned()
        .fold(ImageSpec::new(), ImageSpec::layer)
}

/// Layers recorded from a root while a tool changes it: each [`Steps::step`] is one layer,
/// what changed since the step before.
#[derive(Default)]
pub struct Steps {
    before: BTreeMap<String, Snap>,
    pub layers: Vec<LayerSpec>,
}

impl Steps {
    pub fn step(&mut self, root: &Path) {
        let after = snapshot(root);
        self.layers.push(diff_layer(&self.before, &after));
        self.before = after;
    }
}

/// An image of recorded layers, written as an OCI layout in its own temporary directory.
pub struct LayeredImage {
    pub _dir: tempfile::TempDir,
    pub work: PathBuf,
    pub layout: PathBuf,
    pub layers: Vec<LayerSpec>,
}

impl LayeredImage {
    /// The image of `layers`, in `dir` (where the tool's work may be too).
    pub fn new(dir: tempfile::TempDir, layers: Vec<LayerSpec>) -> Self {
        let work = dir.path().to_path_buf();
        let layout = work.join("layout");
        image_of(&layers).write_oci_layout(&layout).unwrap();
        LayeredImage {
            _dir: dir,
            work,
            layout,
            layers,
        }
    }
}

/// The unpacked rootfs of layers `0..=top`, by umoci.
pub fn prefix_rootfs(image: &LayeredImage, top: usize) -> PathBuf {
    let layout = image.work.join(format!("layout-{top}"));
    image_of(&image.layers[..=top])
        .write_oci_layout(&layout)
        .unwrap();
    umoci_unpack(&layout, &image.work.join(format!("bundle-{top}")))
}

/// The bytes and count of the regular files among `paths` (absolute, as a package
/// manager lists them) in the unpacked `rootfs`: what a package's files weigh there.
pub fn regular_files<'a>(rootfs: &Path, paths: impl IntoIterator<Item = &'a str>) -> (u64, u64) {
    let (mut size, mut files) = (0, 0);
    for path in paths {
        let meta = std::fs::metadata(rootfs.join(path.trim_start_matches('/'))).unwrap();
        if meta.is_file() {
            size += meta.len();
            files += 1;
        }
    }
    (size, files)
}

/// The package set (name → version) after one layer's `changes`, checked as it goes:
/// a removal or upgrade must find the version the set holds, an addition a new name.
pub fn apply(
    packages: &mut BTreeMap<String, String>,
    changes: &layerscope::analysis::packages::LayerPackages,
) {
    for p in &changes.removed {
        assert_eq!(
            packages.remove(&p.name).as_deref(),
            Some(p.version.as_str())
        );
    }
    for p in &changes.added {
        assert!(packages.insert(p.name.clone(), p.version.clone()).is_none());
    }
    for (u, _) in &changes.upgraded {
        assert_eq!(
            packages.insert(u.name.clone(), u.to.clone()).as_deref(),
            Some(u.from.as_str())
        );
    }
}

/// The layerscope binary run with `args`, colour off. (Cargo names the binary to
/// integration tests only; the example and benches that include this module never call it.)
pub fn layerscope(args: &[&str]) -> std::process::Output {
    let Some(binary) = option_env!("CARGO_BIN_EXE_layerscope") else {
        panic!("only an integration test can run the binary");
    };
    Command::new(binary)
        .env("NO_COLOR", "1")
        .args(args)
        .output()
        .unwrap()
}
