//! Loading: open the source, read the image description, parse every layer once, in
//! parallel, and apply them in order to the merged tree.

use crate::error::{Error, Result};
use crate::image::{self, Image, OpenOptions};
use crate::layer::{parse_layer, Expansion, LayerError, ParseControl, ParseOptions, ParsedLayer};
use crate::source::registry::{self, RegistryOptions};
use crate::source::spec::ImageSpec;
use crate::source::{engine, Compression, Source};
use crate::tree::{Tree, TreeBuilder};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Duration;

pub mod container;
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
    /// Run the secret rules over every file of every layer during the parse.
    pub secrets: bool,
    /// How far a layer may expand when decompressed (every source: files, streams,
    /// registries).
    pub expansion: Expansion,
    /// The outer archive's limits for a stream ([`load_stream`]); tests and fuzzing lower
    /// them, files are always held to the defaults.
    pub members: crate::limits::MemberLimits,
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
        ImageSpec::Container { kind, name } => Ok(Opened {
            loaded: container::load_container(*kind, name, options, control, progress)?,
            source: None,
        }),
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
    let mut loaded = load_all(vec![(source, image)], options, control, progress)?;
    Ok(loaded.remove(0))
}

/// Load several images at once, sharing one pool of parser threads. A layer whose
/// diff_id an earlier image also declares is parsed once, from the earlier image's blob,
/// and applied to both trees: `diff A B` pays once for the layers the two share. (Its own
/// blob is then not read, so only its diff_id is checked, through the shared parse.)
pub fn load_all(
    inputs: Vec<(&Source, Image)>,
    options: &LoadOptions,
    control: &ParseControl,
    progress: &mut dyn FnMut(Progress),
) -> Result<Vec<LoadedImage>> {
    // Every layer of every image, as (image, layer), interleaved so that all the trees
    // grow together; `alias` maps a layer to the earlier (image, layer) it shares.
    let mut keys: Vec<(usize, usize)> = Vec::new();
    let deepest = inputs
        .iter()
        .map(|(_, i)| i.layers.len())
        .max()
        .unwrap_or(0);
    for layer in 0..deepest {
        for (image, (_, img)) in inputs.iter().enumerate() {
            if layer < img.layers.len() {
                keys.push((image, layer));
            }
        }
    }
    for (source, image) in &inputs {
        image::check_diff_id_count(source.display(), image, options.verify)?;
    }
    let mut first_with: std::collections::HashMap<&str, (usize, usize)> = Default::default();
    let mut alias: BTreeMap<(usize, usize), (usize, usize)> = BTreeMap::new();
    for (image, (_, img)) in inputs.iter().enumerate() {
        for layer in &img.layers {
            let Some(diff_id) = layer
                .diff_id
                .as_deref()
                .filter(|d| d.starts_with("sha256:"))
            else {
                continue;
            };
            if layer.member.is_none() {
                continue;
            }
            match first_with.get(diff_id) {
                Some(&earlier) if earlier.0 != image => {
                    alias.insert((image, layer.index), earlier);
                }
                Some(_) => {}
                None => {
                    first_with.insert(diff_id, (image, layer.index));
                }
            }
        }
    }
    let mut jobs: Vec<(usize, usize)> = keys
        .iter()
        .copied()
        .filter(|key| !alias.contains_key(key))
        .collect();
    // Largest blobs first: the pass ends when its longest layer does, so that one starts
    // at once and the small ones fill the other cores (layers still apply in order).
    jobs.sort_by_key(|&(i, l)| std::cmp::Reverse(inputs[i].1.layers[l].size.unwrap_or(0)));
    // How many trees will take each parsed layer, so it is dropped after the last one.
    let mut users: BTreeMap<(usize, usize), usize> = jobs.iter().map(|k| (*k, 1)).collect();
    for target in alias.values() {
        *users.entry(*target).or_default() += 1;
    }

    let layers_total = keys.len();
    // Sizes come from untrusted JSON and headers: saturate rather than overflow.
    let bytes_total: u64 = jobs
        .iter()
        .filter_map(|&(i, l)| inputs[i].1.layers[l].size)
        .fold(0, u64::saturating_add);
    let threads = match options.threads {
        0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
        n => n,
    }
    .clamp(1, jobs.len().max(1));
    let parse_options = ParseOptions {
        digests: options.verify,
        secrets: options.secrets,
        expansion: options.expansion,
        ..Default::default()
    };
    let inline = hash_inline(
        jobs.iter()
            .map(|&(i, l)| inputs[i].1.layers[l].size.unwrap_or(0)),
    );
    let next = AtomicUsize::new(0);
    let mut builders: Vec<TreeBuilder> = inputs.iter().map(|_| TreeBuilder::new()).collect();
    let mut infos: Vec<Vec<LayerInfo>> = inputs
        .iter()
        .map(|(_, i)| Vec::with_capacity(i.layers.len()))
        .collect();
    let mut warnings: Vec<Vec<String>> = inputs.iter().map(|(_, i)| i.warnings.clone()).collect();

    std::thread::scope(|scope| -> Result<()> {
        type Parsed = ((usize, usize), Result<ParsedLayer>);
        let (sender, receiver) = mpsc::channel::<Parsed>();
        for _ in 0..threads {
            let sender = sender.clone();
            let (next, jobs, inputs, inline) = (&next, &jobs, &inputs, &inline);
            scope.spawn(move || loop {
                let job = next.fetch_add(1, Ordering::Relaxed);
                if job >= jobs.len() || control.cancel.load(Ordering::Relaxed) {
                    break;
                }
                let (image, layer) = jobs[job];
                let (source, img) = &inputs[image];
                let parse_options = ParseOptions {
                    hash_inline: inline[job],
                    ..parse_options
                };
                let result = parse_one(source, img, layer, parse_options, control);
                if sender.send(((image, layer), result)).is_err() {
                    break;
                }
            });
        }
        drop(sender);

        // Apply layers in order as they arrive; later ones wait in `pending`.
        let mut pending: BTreeMap<(usize, usize), std::sync::Arc<ParsedLayer>> = BTreeMap::new();
        let mut applied = vec![0usize; inputs.len()];
        let mut done = 0;
        while done < layers_total {
            match receiver.recv_timeout(Duration::from_millis(100)) {
                Ok((key, Ok(parsed))) => {
                    pending.insert(key, std::sync::Arc::new(parsed));
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
            for (image, (source, img)) in inputs.iter().enumerate() {
                loop {
                    let layer = applied[image];
                    if layer >= img.layers.len() {
                        break;
                    }
                    let shared = alias.get(&(image, layer)).copied();
                    let from = shared.unwrap_or((image, layer));
                    let Some(parsed) = pending.get(&from).cloned() else {
                        break;
                    };
                    let info = check_layer(
                        source.display(),
                        img,
                        layer,
                        &parsed,
                        options.verify,
                        shared.is_some(),
                    )?;
                    for warning in &parsed.warnings {
                        warnings[image].push(format!("layer {layer}: {warning}"));
                    }
                    builders[image]
                        .add_layer(&parsed)
                        .map_err(|limit| Error::Limit {
                            path: source.display().to_string(),
                            at: format!("layer {layer} ({})", layer_name(img, layer)),
                            source: limit,
                        })?;
                    infos[image].push(info);
                    let left = users.get_mut(&from).expect("every parsed layer has users");
                    *left -= 1;
                    if *left == 0 {
                        pending.remove(&from);
                    }
                    applied[image] += 1;
                    done += 1;
                }
            }
            progress(Progress {
                layers_done: done,
                layers_total,
                bytes_done: control.bytes_read.load(Ordering::Relaxed),
                bytes_total,
            });
        }
        Ok(())
    })?;

    let mut out = Vec::with_capacity(inputs.len());
    for (((_, image), builder), (layers, mut warnings)) in inputs
        .into_iter()
        .zip(builders)
        .zip(infos.into_iter().zip(warnings))
    {
        let tree = builder.finish();
        warnings.extend(tree.warnings().iter().cloned());
        out.push(LoadedImage {
            image,
            layers,
            tree,
            warnings,
        });
    }
    Ok(out)
}

/// For each job, in the order the jobs start, whether its parse hashes inline, on the
/// parsing thread ([`ParseOptions::hash_inline`]): yes when the jobs after it hold at least
/// (cores − 1) times its bytes, since the other cores then stay busy for as long as it runs
/// and hashing threads would only add hand-offs. The last, small jobs (and a lone layer) hash on threads, so a
/// core that ran out of layers hashes for the one still running. Only the ratio matters,
/// so sizes missing from the manifest count as 0.
fn hash_inline(sizes: impl DoubleEndedIterator<Item = u64>) -> Vec<bool> {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get()) as u64;
    hash_inline_on(sizes, cores)
}

fn hash_inline_on(sizes: impl DoubleEndedIterator<Item = u64>, cores: u64) -> Vec<bool> {
    let mut after = 0u64;
    let mut inline: Vec<bool> = sizes
        .rev()
        .map(|size| {
            let busy = cores == 1 || (after > 0 && size.saturating_mul(cores - 1) <= after);
            after = after.saturating_add(size);
            busy
        })
        .collect();
    inline.reverse();
    inline
}

/// Parses one layer of the image (by index): how a source hands over its blobs. The flag
/// is [`ParseOptions::hash_inline`] for that layer.
pub type ParseFn<'a> = dyn Fn(&Image, usize, bool) -> Result<ParsedLayer> + Sync + 'a;

/// Run `parse` on every layer, `threads` at a time (0: `options.threads`, else one per
/// core), applying the results in order as they arrive. `display` names the source in
/// digest errors.
pub fn load_layers(
    display: &str,
    image: Image,
    options: &LoadOptions,
    threads: usize,
    control: &ParseControl,
    progress: &mut dyn FnMut(Progress),
    parse: &ParseFn<'_>,
) -> Result<LoadedImage> {
    image::check_diff_id_count(display, &image, options.verify)?;
    let total = image.layers.len();
    // Sizes come from untrusted JSON and headers: saturate rather than overflow.
    let bytes_total: u64 = image
        .layers
        .iter()
        .filter_map(|l| l.size)
        .fold(0, u64::saturating_add);
    let threads = match (threads, options.threads) {
        (0, 0) => std::thread::available_parallelism().map_or(2, |n| n.get()),
        (0, n) | (n, _) => n,
    }
    .clamp(1, total.max(1));
    // Largest blobs first, as in `load_all`.
    let mut order: Vec<usize> = (0..total).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(image.layers[i].size.unwrap_or(0)));
    let inline = hash_inline(order.iter().map(|&i| image.layers[i].size.unwrap_or(0)));
    let next = AtomicUsize::new(0);
    let mut builder = TreeBuilder::new();
    let mut infos = Vec::with_capacity(total);
    let mut warnings = image.warnings.clone();

    std::thread::scope(|scope| -> Result<()> {
        let (sender, receiver) = mpsc::channel::<(usize, Result<ParsedLayer>)>();
        for _ in 0..threads {
            let sender = sender.clone();
            let (next, image, order, inline) = (&next, &image, &order, &inline);
            scope.spawn(move || loop {
                let job = next.fetch_add(1, Ordering::Relaxed);
                if job >= total || control.cancel.load(Ordering::Relaxed) {
                    break;
                }
                let index = order[job];
                let result = parse(image, index, inline[job]);
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
                let info = check_layer(display, &image, applied, &parsed, options.verify, false)?;
                for warning in &parsed.warnings {
                    warnings.push(format!("layer {applied}: {warning}"));
                }
                builder.add_layer(&parsed).map_err(|limit| Error::Limit {
                    path: display.to_string(),
                    at: format!("layer {applied} ({})", layer_name(&image, applied)),
                    source: limit,
                })?;
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
    let options = ParseOptions {
        blob_size: source.size(member),
        ..options
    };
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
    display: &str,
    image: &Image,
    index: usize,
    parsed: &ParsedLayer,
    verify: bool,
    shared: bool,
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
            path: display.to_string(),
            what: format!("layer {index} {what}"),
            expected: expected.clone(),
            actual: actual.clone(),
        };
        // A shared layer was read from another image's blob, whose digest is not this one's.
        if let (Some(expected), Some(actual), false) =
            (&layer.digest, &parsed.compressed_digest, shared)
        {
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
        // A shared layer's own blob was not read: report what its descriptor says.
        compression: if shared { None } else { parsed.compression },
        compressed_bytes: if shared {
            layer.size.unwrap_or(0)
        } else {
            parsed.compressed_bytes
        },
        uncompressed_bytes: parsed.uncompressed_bytes,
        entries: parsed.records.len(),
        content_bytes: parsed
            .records
            .iter()
            .map(|r| r.meta.size)
            .fold(0, u64::saturating_add),
        digest: if shared {
            layer.digest.clone()
        } else {
            parsed
                .compressed_digest
                .clone()
                .or_else(|| layer.digest.clone())
        },
        diff_id: parsed.diff_id.clone().or_else(|| layer.diff_id.clone()),
    })
}

#[cfg(test)]
mod tests {
    use super::hash_inline_on;

    #[test]
    fn layers_hash_inline_while_the_rest_keeps_the_other_cores_busy() {
        // Twenty equal layers on two cores: all but the last hash inline.
        let even = hash_inline_on([10u64; 20].into_iter(), 2);
        assert_eq!(even.iter().filter(|&&b| b).count(), 19);
        assert!(!even[19]);
        // One layer holding most of the bytes: its hashing goes to threads, since the
        // other core runs out of small layers long before it ends.
        assert_eq!(
            hash_inline_on([900u64, 50, 30, 20].into_iter(), 2),
            [false, true, false, false]
        );
        // Four cores need three times a layer's bytes behind it.
        assert_eq!(
            hash_inline_on([10u64; 5].into_iter(), 4),
            [true, true, false, false, false]
        );
        // One core: nothing else could hash, and a lone layer on many cores hashes on
        // threads.
        assert_eq!(hash_inline_on([5u64, 5].into_iter(), 1), [true, true]);
        assert_eq!(hash_inline_on([5u64].into_iter(), 2), [false]);
        // Absurd sizes from a manifest saturate, never wrap.
        assert_eq!(
            hash_inline_on([u64::MAX, u64::MAX, u64::MAX].into_iter(), 3),
            [true, true, false]
        );
    }
}
