//! Loading: open the source, read the image description, parse every layer once, in
//! parallel, and apply them in order to the merged tree.

use crate::error::{Error, Result};
use crate::image::{self, Image, OpenOptions};
use crate::layer::{parse_layer, LayerError, ParseControl, ParseOptions, ParsedLayer};
use crate::source::registry::{self, RegistryOptions};
use crate::source::spec::ImageSpec;
use crate::source::{engine, Compression, Source};
use crate::tree::{Tree, TreeBuilder};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Duration;

mod stream;
pub use stream::{load_stream, KEPT_LIMIT};

/// What to load and how.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    pub open: OpenOptions,
    /// Verify layer digests (sha256 of the blob and of the uncompressed tar).
    pub verify: bool,
    /// Parser threads; 0 means one per core.
    pub threads: usize,
    /// How to reach registries (credentials, plain-HTTP hosts, the blob cache).
    pub registry: RegistryOptions,
}

/// Progress of a load, for a progress bar or the TUI's gauge.
#[derive(Debug, Clone, Copy, Default)]
pub struct Progress {
    pub layers_done: usize,
    pub layers_total: usize,
    /// Stored (compressed) bytes read so far.
    pub bytes_done: u64,
    pub bytes_total: u64,
}

/// What happened to one layer.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "status", content = "reason", rename_all = "lowercase")]
pub enum LayerStatus {
    Loaded,
    /// The blob ended early; the entries before the damage are in the tree.
    Truncated(String),
    /// The blob is not in the archive (a foreign layer).
    Unavailable(String),
}

/// Facts measured while parsing one layer.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LayerInfo {
    pub index: usize,
    pub status: LayerStatus,
    pub compression: Option<Compression>,
    pub compressed_bytes: u64,
    pub uncompressed_bytes: u64,
    pub entries: usize,
    /// Sum of tar header sizes (what dive calls the layer size).
    pub content_bytes: u64,
    /// Digest of the blob as read (or as declared when not computed).
    pub digest: Option<String>,
    pub diff_id: Option<String>,
}

/// A loaded image: description, per-layer facts and the merged tree.
pub struct LoadedImage {
    pub image: Image,
    pub layers: Vec<LayerInfo>,
    pub tree: Tree,
    pub warnings: Vec<String>,
}

/// A loaded image and, when its blobs are on disk, the source to read file contents from.
pub struct Opened {
    pub loaded: LoadedImage,
    /// `None` for an engine's stream, or a registry's without the cache.
    pub source: Option<Source>,
}

/// Load the image IMAGE names, wherever it lives: the one entry point of every command.
/// A bare reference is resolved quietly here; call [`ImageSpec::resolve`] first to show
/// the user which source was chosen.
pub fn load_spec(
    spec: &ImageSpec,
    options: &LoadOptions,
    control: &ParseControl,
    progress: &mut dyn FnMut(Progress),
) -> Result<Opened> {
    match spec {
        ImageSpec::Path(path) => {
            let source = Source::open(path)?;
            let mut open = options.open.clone();
            open.verify = options.verify;
            let image = image::open(&source, &open)?;
            let loaded = load(&source, image, options, control, progress)?;
            Ok(Opened {
                loaded,
                source: Some(source),
            })
        }
        ImageSpec::Engine { kind, name } => Ok(Opened {
            loaded: engine::load(*kind, name, options, control, progress)?,
            source: None,
        }),
        ImageSpec::Registry(reference) => registry::load(reference, options, control, progress),
        ImageSpec::Auto { .. } => {
            let (resolved, _) = spec.clone().resolve();
            load_spec(&resolved, options, control, progress)
        }
    }
}

/// Open `path` (`-` for stdin) and load it fully. Stdin is read once, as a stream: use
/// this when no file contents will be read afterwards (`load_spec` spools stdin, because
/// the explorer reads contents).
pub fn load_path(
    path: &str,
    options: &LoadOptions,
    control: &ParseControl,
    progress: &mut dyn FnMut(Progress),
) -> Result<LoadedImage> {
    if path == "-" {
        return load_stream(
            std::io::stdin().lock(),
            "<stdin>",
            options,
            control,
            progress,
        );
    }
    let source = Source::open(path)?;
    let mut open = options.open.clone();
    open.verify = options.verify;
    let image = image::open(&source, &open)?;
    load(&source, image, options, control, progress)
}

/// Parse every layer of `image` and build the tree.
pub fn load(
    source: &Source,
    image: Image,
    options: &LoadOptions,
    control: &ParseControl,
    progress: &mut dyn FnMut(Progress),
) -> Result<LoadedImage> {
    let total = image.layers.len();
    // Sizes come from untrusted JSON and headers: saturate rather than overflow.
    let bytes_total: u64 = image
        .layers
        .iter()
        .filter_map(|l| l.size)
        .fold(0, u64::saturating_add);
    let threads = match options.threads {
        0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
        n => n,
    }
    .clamp(1, total.max(1));
    let parse_options = ParseOptions {
        digests: options.verify,
    };
    let next = AtomicUsize::new(0);
    let mut builder = TreeBuilder::new();
    let mut infos = Vec::with_capacity(total);
    let mut warnings = image.warnings.clone();

    std::thread::scope(|scope| -> Result<()> {
        let (sender, receiver) = mpsc::channel::<(usize, Result<ParsedLayer>)>();
        for _ in 0..threads {
            let sender = sender.clone();
            let (next, image, source) = (&next, &image, source);
            scope.spawn(move || loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                if index >= total || control.cancel.load(Ordering::Relaxed) {
                    break;
                }
                let result = parse_one(source, image, index, parse_options, control);
                if sender.send((index, result)).is_err() {
                    break;
                }
            });
        }
        drop(sender);

        // Apply layers in order as they arrive; later ones wait in `pending`.
        let mut pending: BTreeMap<usize, ParsedLayer> = BTreeMap::new();
        let mut applied = 0;
        while applied < total {
            match receiver.recv_timeout(Duration::from_millis(100)) {
                Ok((index, Ok(parsed))) => {
                    pending.insert(index, parsed);
                }
                Ok((_, Err(error))) => {
                    control.cancel.store(true, Ordering::Relaxed);
                    return Err(error);
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    return Err(Error::Interrupted);
                }
            }
            while let Some(parsed) = pending.remove(&applied) {
                let info = check_layer(source, &image, applied, &parsed, options.verify)?;
                for warning in &parsed.warnings {
                    warnings.push(format!("layer {applied}: {warning}"));
                }
                builder.add_layer(&parsed);
                infos.push(info);
                applied += 1;
            }
            progress(Progress {
                layers_done: applied,
                layers_total: total,
                bytes_done: control.bytes_read.load(Ordering::Relaxed),
                bytes_total,
            });
        }
        Ok(())
    })?;

    let tree = builder.finish();
    warnings.extend(tree.warnings().iter().cloned());
    Ok(LoadedImage {
        image,
        layers: infos,
        tree,
        warnings,
    })
}

fn parse_one(
    source: &Source,
    image: &Image,
    index: usize,
    options: ParseOptions,
    control: &ParseControl,
) -> Result<ParsedLayer> {
    let layer = &image.layers[index];
    let Some(member) = &layer.member else {
        return Ok(ParsedLayer::default());
    };
    let name = layer_name(image, index);
    let blob = source.open_member(member)?;
    parse_layer(blob, options, control).map_err(|error| match error {
        LayerError::Cancelled => Error::Interrupted,
        other => Error::Layer {
            index,
            digest: name,
            detail: other.to_string(),
        },
    })
}

pub(crate) fn layer_name(image: &Image, index: usize) -> String {
    let layer = &image.layers[index];
    layer
        .digest
        .clone()
        .or_else(|| layer.diff_id.clone())
        .or_else(|| layer.member.clone())
        .unwrap_or_else(|| "?".into())
}

/// Verify digests and record what the parse measured.
pub(crate) fn check_layer(
    source: &Source,
    image: &Image,
    index: usize,
    parsed: &ParsedLayer,
    verify: bool,
) -> Result<LayerInfo> {
    let layer = &image.layers[index];
    let status = if let Some(reason) = &layer.unavailable {
        LayerStatus::Unavailable(reason.clone())
    } else if parsed.truncated {
        LayerStatus::Truncated(parsed.warnings.first().cloned().unwrap_or_default())
    } else {
        LayerStatus::Loaded
    };
    if verify && status == LayerStatus::Loaded {
        let mismatch = |what: &str, expected: &String, actual: &String| Error::DigestMismatch {
            path: source.display().to_string(),
            what: format!("layer {index} {what}"),
            expected: expected.clone(),
            actual: actual.clone(),
        };
        if let (Some(expected), Some(actual)) = (&layer.digest, &parsed.compressed_digest) {
            if expected.starts_with("sha256:") && expected != actual {
                return Err(mismatch("blob", expected, actual));
            }
        }
        if let (Some(expected), Some(actual)) = (&layer.diff_id, &parsed.diff_id) {
            if expected.starts_with("sha256:") && expected != actual {
                return Err(mismatch("diff_id", expected, actual));
            }
        }
    }
    Ok(LayerInfo {
        index,
        status,
        compression: parsed.compression,
        compressed_bytes: parsed.compressed_bytes,
        uncompressed_bytes: parsed.uncompressed_bytes,
        entries: parsed.records.len(),
        content_bytes: parsed
            .records
            .iter()
            .map(|r| r.meta.size)
            .fold(0, u64::saturating_add),
        digest: parsed
            .compressed_digest
            .clone()
            .or_else(|| layer.digest.clone()),
        diff_id: parsed.diff_id.clone().or_else(|| layer.diff_id.clone()),
    })
}
