//! Loading a set of images (`fleet`) on every core, each distinct layer parsed once.
//!
//! Every image is described first (a file's index and config; a registry's manifest and
//! config, fetched once and kept), so the run's [`ParsedLayers`] knows how often each
//! layer will be used and drops it after the last use. Then two kinds of workers, one of
//! each per core, share the run:
//!
//! - *loaders* take the images in order, load each (its layers taken from the run when
//!   held, waited for when being parsed, else parsed) and hand the image to the caller's
//!   measure, which runs on the loader, so a merged tree lives only while it is measured
//!   and at most one tree per loader is alive;
//! - *parsers ahead* walk the same images a little further on and parse the layers no one
//!   holds yet, so the cores are busy with upcoming images' layers while a large one is
//!   parsed or trees are built. They stop [`AHEAD_IMAGES`] images past the oldest one not
//!   yet handed back, and while what they parsed and nobody used yet passes
//!   [`AHEAD_BYTES`].
//!
//! Streams (stdin, an engine's export) and containers are parsed as they pass, by their
//! loader; their layers are neither taken from the run nor held for it.

use super::{
    hash_inline, load_path, load_pulled, load_spec, parse_one, LoadOptions, LoadedImage,
    ParsedLayers,
};
use crate::error::Result;
use crate::image::{self, Image};
use crate::layer::{ParseControl, ParseOptions};
use crate::source::registry;
use crate::source::spec::ImageSpec;
use crate::source::Source;
use oci_spec::distribution::Reference;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

/// Images the parsers ahead and the loaders may be past the oldest image not yet handed
/// back: bounds the results waiting their turn and the sources open at once.
pub const AHEAD_IMAGES: usize = 64;

/// Bytes of records and names parsed ahead and not yet used by a load past which the
/// parsers ahead wait (a layer in progress may pass it by its own size).
pub const AHEAD_BYTES: usize = 16 << 20;

/// What the set knows of an image before loading it.
enum Described {
    /// A file or layout, opened again when parsed ahead and when loaded: a description is
    /// small to read, and thousands of images held open would hold as many files.
    Path(String),
    /// A registry image whose manifest and config were read: they are not fetched again.
    Registry {
        reference: Box<Reference>,
        image: Box<Image>,
    },
    /// Loaded as given: a stream, a container, or an image whose description could not be
    /// read (its load says why).
    Other(ImageSpec),
}

/// Read what `spec` names without parsing a layer, and tell `layers` each layer's use.
fn describe(spec: ImageSpec, options: &LoadOptions, layers: &ParsedLayers) -> Described {
    let expect = |image: &Image| {
        for layer in &image.layers {
            if let Some(diff_id) = layer
                .diff_id
                .as_deref()
                .filter(|d| d.starts_with("sha256:"))
            {
                layers.expect(diff_id);
            }
        }
    };
    match spec {
        ImageSpec::Path(path) if path != "-" => {
            if let Ok((_, image)) = open_path(&path, options) {
                expect(&image);
            }
            Described::Path(path)
        }
        ImageSpec::Registry(reference) => {
            let platform = options.open.platform.as_deref();
            let described = registry::connect(&reference, &options.registry).and_then(|pull| {
                crate::image::registry::describe(pull.client(), &reference, platform)
            });
            match described {
                Ok(image) => {
                    expect(&image);
                    Described::Registry {
                        reference: Box::new(reference),
                        image: Box::new(image),
                    }
                }
                Err(_) => Described::Other(ImageSpec::Registry(reference)),
            }
        }
        other => Described::Other(other),
    }
}

fn open_path(path: &str, options: &LoadOptions) -> Result<(Source, Image)> {
    let source = Source::open(path)?;
    let mut open = options.open.clone();
    open.verify = options.verify;
    let image = image::open(&source, &open)?;
    Ok((source, image))
}

/// Parse the layers of `image` that nobody holds or parses yet, for its load to come.
/// Errors are left to that load, which meets them again and reports them.
fn parse_ahead(image: &Described, options: &LoadOptions, control: &ParseControl) {
    let Some(layers) = options.layers.as_deref() else {
        return;
    };
    let (pull, source, image) = match image {
        Described::Path(path) => match open_path(path, options) {
            Ok((source, image)) => (None, Some(source), image),
            Err(_) => return,
        },
        Described::Registry { reference, image } => {
            match registry::connect(reference, &options.registry) {
                Ok(pull) => (Some(pull), None, Image::clone(image)),
                Err(_) => return,
            }
        }
        Described::Other(_) => return,
    };
    let inline = hash_inline(image.layers.iter().map(|l| l.size.unwrap_or(0)));
    for (index, layer) in image.layers.iter().enumerate() {
        if control.cancel.load(Ordering::Relaxed) {
            return;
        }
        let Some(claim) = layers.claim_ahead(layer) else {
            continue;
        };
        let parsed = match (&pull, &source) {
            (Some(pull), _) => {
                super::parse_pulled(pull, &image, index, inline[index], options, control)
            }
            (None, Some(source)) if layer.member.is_some() => {
                let parse_options = ParseOptions {
                    digests: options.verify,
                    content: options.content.clone(),
                    expansion: options.expansion,
                    hash_inline: inline[index],
                    ..Default::default()
                };
                parse_one(source, &image, index, parse_options, control).map(Some)
            }
            _ => Ok(None),
        };
        // Dropped unkept (no blob, or a failed parse), the claim frees the layer for its load.
        if let Ok(Some(parsed)) = parsed {
            claim.keep(parsed);
        }
    }
}

/// Load one image of the set.
fn load_described(
    image: &Described,
    options: &LoadOptions,
    control: &ParseControl,
) -> Result<LoadedImage> {
    match image {
        Described::Path(path) => {
            let (source, image) = open_path(path, options)?;
            super::load(&source, image, options, control, &mut |_| {})
        }
        Described::Registry { reference, image } => {
            let pull = registry::connect(reference, &options.registry)?;
            let display = reference.whole();
            let image = Image::clone(image);
            load_pulled(&pull, image, &display, options, control, &mut |_| {}).map(|o| o.loaded)
        }
        // Stdin is parsed as it streams in, not spooled: a set reads no file contents.
        Described::Other(ImageSpec::Path(path)) => load_path(path, options, control, &mut |_| {}),
        Described::Other(spec) => load_spec(spec, options, control, &mut |_| {}).map(|o| o.loaded),
    }
}

/// The pipeline's shared state: where the loaders and the parsers ahead are, and the
/// results waiting their turn.
struct Shared<T> {
    state: Mutex<Progress<T>>,
    /// Signalled when a result arrives, one is handed back, or the run stops.
    changed: Condvar,
    /// The loads and parses in progress, so that a stop cancels them.
    running: Mutex<Vec<Arc<ParseControl>>>,
    stop: AtomicBool,
}

struct Progress<T> {
    /// The next image a loader takes, and the next a parser ahead takes.
    next_load: usize,
    next_ahead: usize,
    /// Images handed back so far (in order).
    handed: usize,
    results: std::collections::BTreeMap<usize, T>,
}

impl<T> Progress<T> {
    fn loads(&mut self) -> &mut usize {
        &mut self.next_load
    }

    /// The parsers ahead skip the images a loader has taken: its load parses what is
    /// left of them.
    fn aheads(&mut self) -> &mut usize {
        self.next_ahead = self.next_ahead.max(self.next_load);
        &mut self.next_ahead
    }
}

impl<T> Shared<T> {
    fn lock(&self) -> MutexGuard<'_, Progress<T>> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The next image index for a worker (`pick` chooses the loaders' or the parsers'
    /// counter), once it is within [`AHEAD_IMAGES`] of the oldest not handed back and
    /// `ready` agrees; `None` when the set is done or stopped.
    fn next(
        &self,
        total: usize,
        pick: fn(&mut Progress<T>) -> &mut usize,
        ready: &dyn Fn() -> bool,
    ) -> Option<usize> {
        let mut state = self.lock();
        loop {
            if self.stop.load(Ordering::Relaxed) || *pick(&mut state) >= total {
                return None;
            }
            if *pick(&mut state) < state.handed + AHEAD_IMAGES && ready() {
                let index = *pick(&mut state);
                *pick(&mut state) += 1;
                return Some(index);
            }
            // `ready` may change without a signal (a load taking a layer parsed ahead).
            state = self
                .changed
                .wait_timeout(state, Duration::from_millis(20))
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }

    /// Run `work` with a control of its own, cancelled if the run stops meanwhile.
    fn with_control<R>(&self, work: impl FnOnce(&ParseControl) -> R) -> R {
        let control = Arc::new(ParseControl::default());
        self.running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(control.clone());
        if self.stop.load(Ordering::Relaxed) {
            control.cancel.store(true, Ordering::Relaxed);
        }
        let result = work(&control);
        self.running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|c| !Arc::ptr_eq(c, &control));
        result
    }

    /// Stop the run if this worker's thread unwinds, so that the caller is not left waiting
    /// for its image (the panic then reaches the caller when the workers are joined).
    fn guard(&self) -> PanicStop<'_, T> {
        PanicStop(self)
    }

    fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
        for control in self
            .running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
        {
            control.cancel.store(true, Ordering::Relaxed);
        }
        self.changed.notify_all();
    }
}

struct PanicStop<'a, T>(&'a Shared<T>);

impl<T> Drop for PanicStop<'_, T> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.stop();
        }
    }
}

/// Load every image of a set on every core and hand each back in input order: `measure`
/// runs on the loading thread with the image (or why it failed to load) and its result
/// goes to `take`, on the calling thread, image by image; `take` answering `false` stops
/// the run (the loads in progress are cancelled). Each distinct layer is parsed once
/// through `options.layers` (a new one when `None`) and dropped after its last use.
pub fn load_set<T: Send>(
    specs: Vec<Result<ImageSpec>>,
    options: &LoadOptions,
    measure: &(dyn Fn(usize, Result<LoadedImage>) -> T + Sync),
    take: &mut dyn FnMut(usize, T) -> bool,
) {
    let mut options = options.clone();
    let layers = options
        .layers
        .get_or_insert_with(|| Arc::new(ParsedLayers::new()))
        .clone();
    // An image whose name did not resolve is handed back with its error, in its turn.
    let mut unresolved = std::collections::HashMap::new();
    let images: Vec<Option<Described>> = specs
        .into_iter()
        .enumerate()
        .map(|(index, spec)| match spec {
            Ok(spec) => Some(describe(spec, &options, &layers)),
            Err(error) => {
                unresolved.insert(index, error);
                None
            }
        })
        .collect();
    let unresolved = Mutex::new(unresolved);
    let total = images.len();
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let shared = Shared {
        state: Mutex::new(Progress {
            next_load: 0,
            next_ahead: 0,
            handed: 0,
            results: Default::default(),
        }),
        changed: Condvar::new(),
        running: Mutex::new(Vec::new()),
        stop: AtomicBool::new(false),
    };
    let (options, images, shared, unresolved) = (&options, &images, &shared, &unresolved);
    let layers = &layers;
    std::thread::scope(|scope| {
        for _ in 0..cores.min(total) {
            scope.spawn(move || {
                let _guard = shared.guard();
                while let Some(index) = shared.next(total, Progress::loads, &|| true) {
                    let loaded = match &images[index] {
                        Some(image) => {
                            shared.with_control(|control| load_described(image, options, control))
                        }
                        None => Err(unresolved
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .remove(&index)
                            .expect("each unresolved name is handed back once")),
                    };
                    let result = measure(index, loaded);
                    shared.lock().results.insert(index, result);
                    shared.changed.notify_all();
                }
            });
            scope.spawn(move || {
                let _guard = shared.guard();
                let room = || layers.ahead_bytes() < AHEAD_BYTES;
                while let Some(index) = shared.next(total, Progress::aheads, &room) {
                    if let Some(image) = &images[index] {
                        shared.with_control(|control| parse_ahead(image, options, control));
                    }
                }
            });
        }
        for index in 0..total {
            let mut state = shared.lock();
            let result = loop {
                if let Some(result) = state.results.remove(&index) {
                    break Some(result);
                }
                // A worker panicked: its image will not come.
                if shared.stop.load(Ordering::Relaxed) {
                    break None;
                }
                state = shared
                    .changed
                    .wait(state)
                    .unwrap_or_else(|p| p.into_inner());
            };
            drop(state);
            let Some(result) = result else {
                break;
            };
            let more = take(index, result);
            shared.lock().handed += 1;
            shared.changed.notify_all();
            if !more {
                shared.stop();
                break;
            }
        }
        // Every image handed back: the parsers ahead have nothing left to wait for.
        shared.stop();
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;

    #[test]
    fn a_worker_that_panics_ends_the_run_with_its_panic_not_a_hang() {
        let specs = (0..3)
            .map(|i| Err(Error::Usage(format!("image {i}"))))
            .collect();
        let measure = |index: usize, _: Result<LoadedImage>| {
            assert!(index != 1, "measuring image 1 fails");
            index
        };
        let mut handed = Vec::new();
        let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            load_set(specs, &LoadOptions::default(), &measure, &mut |i, _| {
                handed.push(i);
                true
            });
        }));
        assert!(run.is_err(), "the panic reaches the caller");
        // Image 0 may or may not have come back before the stop; nothing after 1 does.
        assert!(handed.iter().all(|&i| i == 0), "{handed:?}");
    }
}
