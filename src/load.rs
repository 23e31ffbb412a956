//! Loading: open the source, read the image description, parse every layer once, in
//! parallel, and apply them in order to the merged tree.

use crate::error::{Error, Result};
use crate::image::{self, Image, OpenOptions};
use crate::layer::{
    digest_layer, parse_layer, parse_layer_in_place, ContentHook, Expansion, Found, LayerError,
    ParseControl, ParseOptions, ParsedLayer,
};
use crate::limits::LimitError;
use crate::source::registry::{self, RegistryOptions};
use crate::source::spec::ImageSpec;
use crate::source::{engine, Source};
use crate::tree::{EntryId, TreeBuilder};
use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::time::Duration;

mod ahead;
pub mod container;
mod parsed;
mod set;
mod stream;
use ahead::Ahead;
use parsed::Taken;
pub use parsed::{LayerStore, ParsedLayers};
pub use set::{load_set, AHEAD_BYTES, AHEAD_IMAGES};
pub use stream::{load_stream, KEPT_LIMIT};
// The model is named where it is defined; these keep the loader's callers short.
pub use crate::model::{LayerInfo, LayerStatus, LoadedImage};

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
    /// Looks at every file of every layer during the parse (the secret rules, for one);
    /// what it finds is handed up by entry in [`LoadedImage::found`].
    pub content: Option<std::sync::Arc<dyn ContentHook>>,
    /// How far a layer may expand when decompressed (every source: files, streams,
    /// registries).
    pub expansion: Expansion,
    /// The outer archive's limits for a stream ([`load_stream`]); tests and fuzzing lower
    /// them, files are always held to the defaults.
    pub members: crate::limits::MemberLimits,
    /// Layers parsed by earlier loads of the same run (`fleet`), by diff_id: a layer found
    /// there is neither read nor parsed again. Streams (stdin, an engine's export) are
    /// parsed as they pass, whatever this holds.
    pub layers: Option<std::sync::Arc<ParsedLayers>>,
    /// Told what the load learns as it learns it, for a view that shows the image before
    /// the load ends (the explorer's first screen).
    pub watch: Option<std::sync::Arc<dyn Watch>>,
}

/// What a load tells as it goes, beyond [`Progress`]: the image's description before any
/// layer is parsed, and each layer's facts once it is merged into the tree. Files, layouts
/// and registries describe the image first; a stream (stdin, an engine's export) names
/// its layers only at its end, so a watch hears nothing from it.
pub trait Watch: std::fmt::Debug + Send + Sync {
    /// The image's description (manifest, config, history) was read.
    fn described(&self, image: &Image);
    /// Layer `info.index` of the image (the `image`th of [`load_all`]'s inputs) was parsed,
    /// checked and merged into its tree; layers are merged in order.
    fn merged(&self, image: usize, info: &LayerInfo);
    /// The tree of the `image`th input the load merges into, before its first layer, for a
    /// view that draws it as it grows (files, layouts and registries, not streams).
    fn merging(&self, _image: usize, _tree: std::sync::Arc<MergedTree>) {}
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
            if let Some(watch) = &options.watch {
                watch.described(&image);
            }
            let loaded = load(&source, image, options, control, progress)?;
            Ok(Opened {
                loaded,
                source: Some(source),
            })
        }
        ImageSpec::Engine { kind, name } => {
            let endpoint = engine::endpoint::resolve(*kind)?;
            Ok(Opened {
                loaded: load_engine_at(*kind, &endpoint, name, options, control, progress)?,
                source: None,
            })
        }
        ImageSpec::Registry(reference) => load_registry(reference, options, control, progress),
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

/// Load an image that an engine at `endpoint` exports, parsing the export as it streams
/// in (what [`load_spec`] does for `docker://` and `podman://`, at the endpoint found).
pub fn load_engine_at(
    kind: engine::EngineKind,
    endpoint: &engine::endpoint::Endpoint,
    name: &str,
    options: &LoadOptions,
    control: &ParseControl,
    progress: &mut dyn FnMut(Progress),
) -> Result<LoadedImage> {
    let export = engine::export_at(kind, endpoint, name)?;
    load_stream(export.reader, &export.display, options, control, progress)
}

/// Pull an image from a registry: its blobs read several at once, each parsed as it
/// streams in. The registry's reader checks each blob's sha256 (verification on or off),
/// so the parse hashes only the tar, and a blob that matched gives the layer its digest.
fn load_registry(
    reference: &oci_spec::distribution::Reference,
    options: &LoadOptions,
    control: &ParseControl,
    progress: &mut dyn FnMut(Progress),
) -> Result<Opened> {
    let pull = registry::connect(reference, &options.registry)?;
    let image = crate::image::registry::describe(
        pull.client(),
        reference,
        options.open.platform.as_deref(),
    )?;
    if let Some(watch) = &options.watch {
        watch.described(&image);
    }
    load_pulled(&pull, image, &reference.whole(), options, control, progress)
}

/// Load the image `pull` reads, whose description is `image` (what [`load_registry`] does
/// once it has both).
fn load_pulled(
    pull: &registry::Pull,
    image: Image,
    display: &str,
    options: &LoadOptions,
    control: &ParseControl,
    progress: &mut dyn FnMut(Progress),
) -> Result<Opened> {
    let parse = |image: &Image, index: usize, hash_inline: bool| -> Result<Parse> {
        shared_parse(options, image, index, || {
            parse_pulled(pull, image, index, hash_inline, options, control)
        })
    };
    let loaded = load_layers(
        display,
        image,
        options,
        downloads(options.threads),
        control,
        progress,
        &parse,
    )?;
    // With every blob cached, file contents (extraction, diffs) can be read back.
    let blobs: Option<Vec<registry::Blob>> = (0..loaded.image.layers.len())
        .filter(|&index| loaded.image.layers[index].unavailable.is_none())
        .map(|index| blob_of(&loaded.image, index))
        .collect();
    let source = blobs.and_then(|blobs| pull.cached_source(&blobs));
    Ok(Opened { loaded, source })
}

/// Layer `index`'s blob as its descriptor names it; `None` when it has none to read (a
/// foreign layer, or a descriptor without digest or size).
fn blob_of(image: &Image, index: usize) -> Option<registry::Blob<'_>> {
    let layer = &image.layers[index];
    match (&layer.digest, layer.size, &layer.unavailable) {
        (Some(digest), Some(size), None) => Some(registry::Blob {
            index,
            digest,
            size,
        }),
        _ => None,
    }
}

/// Download and parse layer `index`'s blob; `None` for a layer with no blob to read (a
/// foreign layer), which is applied as an empty one.
fn parse_pulled(
    pull: &registry::Pull,
    image: &Image,
    index: usize,
    hash_inline: bool,
    options: &LoadOptions,
    control: &ParseControl,
) -> Result<Option<ParsedLayer>> {
    let options = ParseOptions {
        digests: options.verify,
        blob_checked: true,
        content: options.content.clone(),
        expansion: options.expansion,
        hash_inline,
        ..Default::default()
    };
    let Some(blob) = blob_of(image, index) else {
        return Ok(None);
    };
    let read = pull.read_blob(blob, &control.transfers, &control.cancel, &|blob| {
        parse_layer_in_place(blob, options.clone(), control)
    })?;
    let digest = image.layers[index].digest.clone().unwrap_or_default();
    let mut parsed = read.map_err(|error| match error {
        LayerError::Cancelled => Error::Interrupted,
        other => Error::Layer {
            index,
            digest: digest.clone(),
            detail: other.to_string(),
        },
    })?;
    if !parsed.truncated {
        parsed.compressed_digest = Some(digest.clone());
        if options.digests && parsed.compression == Some(crate::source::Compression::None) {
            parsed.diff_id = Some(digest);
        }
    }
    Ok(Some(parsed))
}

/// Blobs downloaded (and parsed) at once: one per core, as for files, but at least
/// Docker's and containerd's default of 3 (`max-concurrent-downloads`), so a slow link is
/// kept busy, and at most skopeo's 6 connections to one registry. More downloads than
/// cores parse side by side on the same cores and cost memory for nothing: 6 on 2 cores
/// measured 148 MiB peak against 114 MiB for 3 (PERFORMANCE.md, "Registry pulls").
const DOWNLOADS: (usize, usize) = (3, 6);

/// Downloads at once: the load's parser threads when set, else one per core within
/// [`DOWNLOADS`].
fn downloads(threads: usize) -> usize {
    match threads {
        0 => std::thread::available_parallelism()
            .map_or(2, |n| n.get())
            .clamp(DOWNLOADS.0, DOWNLOADS.1),
        n => n,
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
        content: options.content.clone(),
        expansion: options.expansion,
        ..Default::default()
    };
    let inline = hash_inline(
        jobs.iter()
            .map(|&(i, l)| inputs[i].1.layers[l].size.unwrap_or(0)),
    );
    let job_of: std::collections::HashMap<(usize, usize), usize> = jobs
        .iter()
        .enumerate()
        .map(|(job, &key)| (key, job))
        .collect();
    // The jobs each image's next layers come from, nearest first, for the parse-ahead
    // budget.
    let needed = |applied: &[usize]| -> Vec<usize> {
        (0..ahead::LOOKAHEAD.saturating_mul(threads))
            .flat_map(|depth| (0..inputs.len()).map(move |image| (image, applied[image] + depth)))
            .filter(|&(image, layer)| layer < inputs[image].1.layers.len())
            .filter_map(|key| job_of.get(alias.get(&key).unwrap_or(&key)).copied())
            .collect()
    };
    let ahead = Ahead::new(
        jobs.len(),
        needed(&vec![0; inputs.len()]),
        ahead::PARSE_AHEAD_BYTES,
    );
    let mut builders: Vec<Building> = inputs.iter().map(|_| Building::new()).collect();
    if let Some(watch) = &options.watch {
        for (image, builder) in builders.iter().enumerate() {
            builder.show_to(image, watch.as_ref());
        }
    }
    let mut infos: Vec<Vec<LayerInfo>> = inputs
        .iter()
        .map(|(_, i)| Vec::with_capacity(i.layers.len()))
        .collect();
    let mut warnings: Vec<Vec<String>> = inputs.iter().map(|(_, i)| i.warnings.clone()).collect();

    std::thread::scope(|scope| -> Result<()> {
        type Parsed = ((usize, usize), Result<Parse>);
        let (sender, receiver) = mpsc::channel::<Parsed>();
        let _close = ahead::CloseOnDrop(&ahead);
        for _ in 0..threads {
            let sender = sender.clone();
            let (ahead, jobs, inputs, inline) = (&ahead, &jobs, &inputs, &inline);
            let parse_options = &parse_options;
            let cancelled = || control.cancel.load(Ordering::Relaxed);
            scope.spawn(move || {
                while let Some(job) = ahead.claim(cancelled) {
                    let (image, layer) = jobs[job];
                    let (source, img) = &inputs[image];
                    let parse_options = ParseOptions {
                        hash_inline: inline[job],
                        ..parse_options.clone()
                    };
                    let result = shared_parse(options, img, layer, || {
                        parse_one(source, img, layer, parse_options, control).map(Some)
                    });
                    if let Ok(parse) = &result {
                        ahead.parsed(parse.layer.heap_bytes());
                    }
                    if sender.send(((image, layer), result)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(sender);

        // Apply layers in order as they arrive; later ones wait in `pending`.
        let mut pending: BTreeMap<(usize, usize), Parse> = BTreeMap::new();
        let mut applied = vec![0usize; inputs.len()];
        let mut done = 0;
        while done < layers_total {
            let mut freed = 0;
            match receiver.recv_timeout(Duration::from_millis(100)) {
                Ok((key, Ok(parsed))) => {
                    pending.insert(key, parsed);
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
                    let Some(Parse {
                        layer: parsed,
                        reused,
                    }) = pending.get(&from).cloned()
                    else {
                        break;
                    };
                    let info = check_layer(
                        source.display(),
                        img,
                        layer,
                        &parsed,
                        options.verify,
                        shared.is_some() || reused,
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
                    if let Some(watch) = &options.watch {
                        watch.merged(image, &info);
                    }
                    infos[image].push(info);
                    let left = users.get_mut(&from).expect("every parsed layer has users");
                    *left -= 1;
                    if *left == 0 {
                        pending.remove(&from);
                        freed += parsed.heap_bytes();
                    }
                    applied[image] += 1;
                    done += 1;
                }
            }
            ahead.merged(freed, needed(&applied));
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
    for (((_, image), builder), (layers, warnings)) in inputs
        .into_iter()
        .zip(builders)
        .zip(infos.into_iter().zip(warnings))
    {
        out.push(builder.finish(image, layers, warnings));
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

/// Parses one layer of the image (by index), from wherever its source reads the blob. The
/// flag is [`ParseOptions::hash_inline`] for that layer.
type ParseFn<'a> = dyn Fn(&Image, usize, bool) -> Result<Parse> + Sync + 'a;

/// A layer's parse, and whether it was taken from an earlier load's
/// ([`LoadOptions::layers`]) rather than read from this image's own blob.
#[derive(Clone)]
struct Parse {
    layer: std::sync::Arc<ParsedLayer>,
    reused: bool,
}

impl Parse {
    fn own(layer: ParsedLayer) -> Self {
        Parse {
            layer: std::sync::Arc::new(layer),
            reused: false,
        }
    }
}

/// Layer `index` of `image`: the run's parse of it when [`LoadOptions::layers`] holds one
/// (waiting for it when another load of the run is parsing it), else `parse`'s, handed
/// to the run for the loads after this one. `parse` gives `None` for a layer with no blob
/// (applied as an empty one, and not handed on).
fn shared_parse(
    options: &LoadOptions,
    image: &Image,
    index: usize,
    parse: impl FnOnce() -> Result<Option<ParsedLayer>>,
) -> Result<Parse> {
    let own = |parsed: Option<ParsedLayer>| Parse::own(parsed.unwrap_or_default());
    let Some(layers) = options.layers.as_deref() else {
        return parse().map(own);
    };
    match layers.take(&image.layers[index]) {
        Taken::Held(layer) => Ok(Parse {
            layer,
            reused: true,
        }),
        // A failed parse drops the claim, and whoever waits for the layer parses it.
        Taken::Claimed(claim) => Ok(match parse()? {
            Some(parsed) => Parse {
                layer: claim.keep(parsed),
                reused: false,
            },
            None => Parse::own(ParsedLayer::default()),
        }),
        Taken::Unkeyed => {
            layers.count_parse();
            parse().map(own)
        }
    }
}

/// Run `parse` on every layer, `threads` at a time (0: `options.threads`, else one per
/// core), applying the results in order as they arrive. `display` names the source in
/// digest errors.
fn load_layers(
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
    let mut job_of = vec![0; total];
    for (job, &index) in order.iter().enumerate() {
        job_of[index] = job;
    }
    // The jobs of the layers the merge applies next, nearest first.
    let needed = |applied: usize| {
        let end = applied.saturating_add(ahead::LOOKAHEAD.saturating_mul(threads));
        job_of[applied.min(total)..end.min(total)].to_vec()
    };
    let ahead = Ahead::new(total, needed(0), ahead::PARSE_AHEAD_BYTES);
    let mut builder = Building::new();
    if let Some(watch) = &options.watch {
        builder.show_to(0, watch.as_ref());
    }
    let mut infos = Vec::with_capacity(total);
    let mut warnings = image.warnings.clone();

    std::thread::scope(|scope| -> Result<()> {
        let (sender, receiver) = mpsc::channel::<(usize, Result<Parse>)>();
        let _close = ahead::CloseOnDrop(&ahead);
        for _ in 0..threads {
            let sender = sender.clone();
            let (ahead, image, order, inline) = (&ahead, &image, &order, &inline);
            let cancelled = || control.cancel.load(Ordering::Relaxed);
            scope.spawn(move || {
                while let Some(job) = ahead.claim(cancelled) {
                    let index = order[job];
                    let result = parse(image, index, inline[job]);
                    if let Ok(parse) = &result {
                        ahead.parsed(parse.layer.heap_bytes());
                    }
                    if sender.send((index, result)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(sender);

        // Apply layers in order as they arrive; later ones wait in `pending`.
        let mut pending: BTreeMap<usize, Parse> = BTreeMap::new();
        let mut applied = 0;
        while applied < total {
            let mut freed = 0;
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
            while let Some(Parse {
                layer: parsed,
                reused,
            }) = pending.remove(&applied)
            {
                let info = check_layer(display, &image, applied, &parsed, options.verify, reused)?;
                for warning in &parsed.warnings {
                    warnings.push(format!("layer {applied}: {warning}"));
                }
                builder.add_layer(&parsed).map_err(|limit| Error::Limit {
                    path: display.to_string(),
                    at: format!("layer {applied} ({})", layer_name(&image, applied)),
                    source: limit,
                })?;
                if let Some(watch) = &options.watch {
                    watch.merged(0, &info);
                }
                infos.push(info);
                freed += parsed.heap_bytes();
                applied += 1;
            }
            ahead.merged(freed, needed(applied));
            progress(Progress {
                layers_done: applied,
                layers_total: total,
                bytes_done: control.bytes_read.load(Ordering::Relaxed),
                bytes_total,
            });
        }
        Ok(())
    })?;

    Ok(builder.finish(image, infos, warnings))
}

/// A tree being built, and what the content hook found in the layers applied to it.
struct Building {
    tree: std::sync::Arc<MergedTree>,
    found: Vec<(EntryId, Found)>,
}

impl Building {
    fn new() -> Self {
        Building {
            tree: std::sync::Arc::new(MergedTree(std::sync::RwLock::new(Some(TreeBuilder::new())))),
            found: Vec::new(),
        }
    }

    /// Share the tree of the `image`th input with `watch` as it grows.
    fn show_to(&self, image: usize, watch: &dyn Watch) {
        watch.merging(image, std::sync::Arc::clone(&self.tree));
    }

    /// Apply the next layer, keeping its findings by entry.
    fn add_layer(&mut self, layer: &ParsedLayer) -> std::result::Result<(), LimitError> {
        let first = self.tree.write(|tree| {
            let first = tree.next_entry();
            tree.add_layer(layer).map(|()| first)
        })?;
        self.found.extend(
            layer
                .found
                .iter()
                .map(|(record, found)| (first + record, found.clone())),
        );
        Ok(())
    }

    /// The model: the image, its layers' facts, the tree, and the tree's warnings after
    /// the load's own.
    fn finish(
        self,
        image: Image,
        layers: Vec<LayerInfo>,
        mut warnings: Vec<String>,
    ) -> LoadedImage {
        let builder = self.tree.take().expect("a tree is finished once");
        let tree = builder.finish();
        warnings.extend(tree.warnings().iter().cloned());
        LoadedImage {
            image,
            layers,
            tree,
            warnings,
            found: self.found,
        }
    }
}

/// The tree of a load as merged so far, shared with a [`Watch`] while the load runs
/// ([`Watch::merging`]), nothing copied: the merge holds it only while it applies a
/// layer, so a reader between two layers sees exactly the layers merged so far, and a
/// reader never waits for a layer being merged. Empty once the load ends (the tree is
/// then finished into the model).
pub struct MergedTree(std::sync::RwLock<Option<TreeBuilder>>);

impl std::fmt::Debug for MergedTree {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MergedTree").finish_non_exhaustive()
    }
}

impl Default for MergedTree {
    /// A tree with no layer merged yet.
    fn default() -> Self {
        MergedTree(std::sync::RwLock::new(Some(TreeBuilder::new())))
    }
}

impl MergedTree {
    /// `read` on the tree as it stands; `None` while a layer is being merged into it (so
    /// a view keeps what it read last), or once the load has ended.
    pub fn try_read<T>(&self, read: impl FnOnce(&TreeBuilder) -> T) -> Option<T> {
        match self.0.try_read() {
            Ok(guard) => guard.as_ref().map(read),
            Err(std::sync::TryLockError::Poisoned(poisoned)) => {
                poisoned.into_inner().as_ref().map(read)
            }
            Err(std::sync::TryLockError::WouldBlock) => None,
        }
    }

    fn write<T>(&self, write: impl FnOnce(&mut TreeBuilder) -> T) -> T {
        let mut guard = self.0.write().unwrap_or_else(|p| p.into_inner());
        write(
            guard
                .as_mut()
                .expect("the tree is merged into until the load ends"),
        )
    }

    fn take(&self) -> Option<TreeBuilder> {
        self.0.write().unwrap_or_else(|p| p.into_inner()).take()
    }
}

fn parse_one(
    source: &Source,
    image: &Image,
    index: usize,
    options: ParseOptions,
    control: &ParseControl,
) -> Result<ParsedLayer> {
    read_layer(source, image, index, options, control, parse_layer)
}

/// Read layer `index`'s blob from `source` with `read` (a parse, or the digests alone),
/// its errors named by layer.
fn read_layer(
    source: &Source,
    image: &Image,
    index: usize,
    options: ParseOptions,
    control: &ParseControl,
    read: impl FnOnce(
        crate::source::BlobReader,
        ParseOptions,
        &ParseControl,
    ) -> std::result::Result<ParsedLayer, LayerError>,
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
    read(blob, options, control).map_err(|error| match error {
        LayerError::Cancelled => Error::Interrupted,
        other => Error::Layer {
            index,
            digest: name,
            detail: other.to_string(),
        },
    })
}

/// Check the digests a load with [`LoadOptions::verify`] off skipped: the manifest's and
/// config's, then each loaded layer's blob, read again from `source`, its blob digest and
/// diff_id compared with the image's, in order, `checked(k, n)` told after each. The first mismatch is the error, as
/// the load would have made it. The explorer opens before this runs (it is most of the
/// load's CPU) and shows the outcome when it comes.
pub fn verify_layers(
    source: &Source,
    image: &Image,
    layers: &[LayerInfo],
    options: &LoadOptions,
    control: &ParseControl,
    checked: &mut dyn FnMut(usize, usize),
) -> Result<()> {
    let display = source.display();
    // The load read the manifest and config unverified too (`load_spec` follows
    // `verify`): read them again, checked, first.
    let open = OpenOptions {
        verify: true,
        ..options.open.clone()
    };
    image::open(source, &open)?;
    image::check_diff_id_count(display, image, true)?;
    let total = layers.len();
    for (done, info) in layers.iter().enumerate() {
        if info.status == LayerStatus::Loaded && image.layers[info.index].member.is_some() {
            let options = ParseOptions {
                expansion: options.expansion,
                ..Default::default()
            };
            let parsed = read_layer(source, image, info.index, options, control, digest_layer)?;
            check_layer(display, image, info.index, &parsed, true, false)?;
        }
        checked(done + 1, total);
    }
    Ok(())
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
