//! Loading from a stream that can be read only once: an engine's export
//! (`GET /images/{name}/get`) or stdin.
//!
//! A `docker save` archive puts the layers before `manifest.json`, so nothing says which
//! members are layers until the end. Each member is classified by its first bytes as it
//! arrives:
//!
//! - a tar header, or gzip or zstd magic: a layer. Its bytes are handed, in chunks, to a
//!   parse worker, so that reading the stream and parsing overlap (and several layers parse
//!   at once when the stream is faster than one parser);
//! - anything else of at most [`JSON_LIMIT`] bytes (manifests, configs, indexes, `VERSION`,
//!   an empty layer of zero blocks): kept in memory, within [`KEPT_LIMIT`] for the whole
//!   stream;
//! - anything else: parsed as a layer all the same (the parse fails if it is not one, and
//!   that failure matters only if the manifest names it).
//!
//! At the end the kept members and the names and sizes of the others become a
//! [`Source::from_streamed`], which `image::open` reads like any archive. Its layer list
//! then picks the parse results (following `<id>/layer.tar` links), in manifest order.
//! Layers that the chosen image does not use (other platforms, other images) are parsed
//! and dropped: the price of a single pass. Nothing is spooled: no format needs a second
//! read, since every layer is parsed on arrival and every small member is kept.

use super::{check_layer, LoadOptions, LoadedImage, Progress};
use crate::error::{Error, Result};
use crate::escape::escape_str;
use crate::image;
use crate::image::history::{Instruction, InstructionKind, LayerHistory};
use crate::image::{Image, LayerRef, Writable};
use crate::layer::{
    parse_layer, LayerError, ParseControl, ParseOptions, ParsedLayer, HEADER_LIMIT,
};
use crate::limits::MemberCounts;
use crate::source::{
    counted_member, decoder, Compression, Source, StreamedLink, StreamedMember, JSON_LIMIT,
};
use std::cell::Cell;
use std::collections::HashMap;
use std::io::{self, BufRead, BufReader, Read};
use std::sync::atomic::Ordering;
use std::sync::mpsc::{self, Receiver};
use std::sync::Arc;

/// Most bytes of small members kept from one stream. Real images keep a few KiB per image.
pub const KEPT_LIMIT: u64 = 4 * JSON_LIMIT;

/// Size of the chunks handed to a parse worker.
const CHUNK: usize = 1 << 20;

/// Chunks buffered for one parse worker: the most a slow parser lets the stream run ahead.
const PIPE_CHUNKS: usize = 16;

/// Call the progress callback after this many bytes of stream.
const PROGRESS_EVERY: u64 = 16 << 20;

/// Load an image from a tar stream (plain, or with an outer gzip or zstd compression),
/// reading it once. `display` names the stream in messages.
pub fn load_stream(
    reader: impl Read,
    display: &str,
    options: &LoadOptions,
    control: &ParseControl,
    progress: &mut dyn FnMut(Progress),
) -> Result<LoadedImage> {
    load_stream_topped(reader, display, options, control, progress, None)
}

/// [`load_stream`], with a container's writable layer laid on the image's layers.
pub(crate) fn load_stream_topped(
    reader: impl Read,
    display: &str,
    options: &LoadOptions,
    control: &ParseControl,
    progress: &mut dyn FnMut(Progress),
    top: Option<TopLayer>,
) -> Result<LoadedImage> {
    let mut buffered = BufReader::with_capacity(CHUNK, reader);
    let magic = buffered.fill_buf().map_err(|e| Error::io(display, e))?;
    if magic.is_empty() {
        return Err(Error::NotAnImage {
            path: display.to_string(),
            reason: "the stream is empty".into(),
        });
    }
    let outer = Compression::detect(magic);
    let decoded = decoder(outer, buffered).map_err(|e| Error::io(display, e))?;
    let threads = match options.threads {
        0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
        n => n,
    }
    .max(1);
    let parse_options = ParseOptions {
        digests: options.verify,
        content: options.content.clone(),
        expansion: options.expansion,
        ..Default::default()
    };

    std::thread::scope(|scope| {
        let (done_tx, done_rx) = mpsc::channel();
        let mut pass = Pass {
            display,
            control,
            parse_options,
            max_workers: threads,
            active: 0,
            done_tx,
            done_rx,
            results: Vec::new(),
            slots: HashMap::new(),
            files: Vec::new(),
            links: Vec::new(),
            kept_bytes: 0,
            counts: MemberCounts::within(options.members),
            stream_bytes: 0,
            next_progress: PROGRESS_EVERY,
        };
        let read = pass.read_archive(decoded, scope, progress);
        // Whatever happened, every worker ends: its pipe's sender is gone.
        while pass.active > 0 {
            pass.collect_one();
        }
        read?;
        pass.finish(options, progress, top)
    })
}

/// A parse worker's outcome: the layer, or why it failed (kept as text, since one result
/// may serve several layers that name the same member).
type Outcome = std::result::Result<ParsedLayer, (bool, String)>;

struct Pass<'a> {
    display: &'a str,
    control: &'a ParseControl,
    parse_options: ParseOptions,
    max_workers: usize,
    active: usize,
    done_tx: mpsc::Sender<(usize, Outcome)>,
    done_rx: Receiver<(usize, Outcome)>,
    /// Parse results by slot; `None` while the worker runs.
    results: Vec<Option<Outcome>>,
    /// Member name → slot of its parse.
    slots: HashMap<String, usize>,
    files: Vec<StreamedMember>,
    links: Vec<StreamedLink>,
    kept_bytes: u64,
    /// Members, name bytes and link-target bytes seen: the same limits as a file's.
    counts: MemberCounts,
    stream_bytes: u64,
    next_progress: u64,
}

impl<'a> Pass<'a> {
    fn read_archive<'scope>(
        &mut self,
        stream: impl Read,
        scope: &'scope std::thread::Scope<'scope, '_>,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<()>
    where
        'a: 'scope,
    {
        let limit = Cell::new(HEADER_LIMIT);
        let mut archive = tar::Archive::new(Guard::new(stream, &limit));
        let entries = archive
            .entries()
            .map_err(|e| self.not_tar(format!("not a tar archive ({e})")))?;
        for (position, entry) in entries.enumerate() {
            let mut entry = entry.map_err(|e| self.archive_error(position, None, e))?;
            let position = position + 1;
            if self.control.cancel.load(Ordering::Relaxed) {
                return Err(Error::Interrupted);
            }
            let size = entry.size();
            limit.set(next_headers_end(&entry));
            let kind = entry.header().entry_type();
            let (name, link) = counted_member(&entry, &mut self.counts, self.display, position)?;
            if kind.is_symlink() || kind.is_hard_link() {
                if let Some(target) = link {
                    self.links.push(StreamedLink {
                        name,
                        target,
                        symlink: kind.is_symlink(),
                    });
                }
                continue;
            }
            if !(kind.is_file() || kind.is_contiguous()) || name.is_empty() {
                continue;
            }
            let mut head = vec![0u8; CHUNK.min(size as usize)];
            let got = read_full(&mut entry, &mut head)
                .map_err(|e| self.archive_error(position, Some(&name), e))?;
            head.truncate(got);
            self.count(got as u64, progress);
            if is_layer_head(&head) || size > JSON_LIMIT {
                self.stream_layer(&name, size, head, &mut entry, scope, progress)?;
                self.files.push(StreamedMember {
                    name,
                    size,
                    data: None,
                });
            } else {
                let mut data = head;
                // `size` is at most JSON_LIMIT here.
                let rest = read_full_vec(&mut entry, size as usize - data.len().min(size as usize))
                    .map_err(|e| self.archive_error(position, Some(&name), e))?;
                data.extend_from_slice(&rest);
                self.count(rest.len() as u64, progress);
                if (data.len() as u64) < size {
                    return Err(self.cut(&name, data.len() as u64, size));
                }
                let keep = self.kept_bytes.saturating_add(size) <= KEPT_LIMIT;
                if keep {
                    self.kept_bytes += size;
                }
                self.files.push(StreamedMember {
                    name,
                    size,
                    data: keep.then(|| Arc::from(data)),
                });
            }
        }
        Ok(())
    }

    /// Hand one layer member to a parse worker, chunk by chunk.
    fn stream_layer<'scope>(
        &mut self,
        name: &str,
        size: u64,
        head: Vec<u8>,
        entry: &mut impl Read,
        scope: &'scope std::thread::Scope<'scope, '_>,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<()>
    where
        'a: 'scope,
    {
        while self.active >= self.max_workers {
            self.collect_one();
        }
        let slot = self.results.len();
        self.results.push(None);
        self.slots.insert(name.to_string(), slot);
        let (chunks, pipe) = mpsc::sync_channel::<Vec<u8>>(PIPE_CHUNKS);
        let done = self.done_tx.clone();
        let options = ParseOptions {
            blob_size: Some(size),
            ..self.parse_options.clone()
        };
        let control = self.control;
        self.active += 1;
        scope.spawn(move || {
            let reader = PipeReader::new(pipe);
            let outcome = parse_layer(reader, options, control).map_err(|error| match error {
                LayerError::Cancelled => (true, error.to_string()),
                other => (false, other.to_string()),
            });
            let _ = done.send((slot, outcome));
        });
        let mut read = head.len() as u64;
        let send = |chunk: Vec<u8>| {
            // A worker that stopped early (a parse error) no longer listens: the rest of
            // the member is still read off the stream, and the error shows if it matters.
            let _ = chunks.send(chunk);
        };
        if !head.is_empty() {
            send(head);
        }
        while read < size {
            if self.control.cancel.load(Ordering::Relaxed) {
                return Err(Error::Interrupted);
            }
            let mut chunk = vec![0u8; CHUNK.min((size - read) as usize)];
            let got =
                read_full(entry, &mut chunk).map_err(|e| self.archive_error(0, Some(name), e))?;
            if got == 0 {
                return Err(self.cut(name, read, size));
            }
            chunk.truncate(got);
            read += got as u64;
            self.count(got as u64, progress);
            send(chunk);
        }
        Ok(())
    }

    fn collect_one(&mut self) {
        // Workers always send before they end, and `done_tx` lives in `self`.
        if let Ok((slot, outcome)) = self.done_rx.recv() {
            self.results[slot] = Some(outcome);
            self.active -= 1;
        }
    }

    fn count(&mut self, bytes: u64, progress: &mut dyn FnMut(Progress)) {
        self.stream_bytes = self.stream_bytes.saturating_add(bytes);
        if self.stream_bytes >= self.next_progress {
            self.next_progress = self.stream_bytes.saturating_add(PROGRESS_EVERY);
            progress(Progress {
                layers_done: self.results.iter().filter(|r| r.is_some()).count(),
                layers_total: self.results.len(),
                bytes_done: self.stream_bytes,
                bytes_total: 0,
            });
        }
    }

    /// Open the image from what the stream kept, and apply its layers in order.
    fn finish(
        mut self,
        options: &LoadOptions,
        progress: &mut dyn FnMut(Progress),
        top: Option<TopLayer>,
    ) -> Result<LoadedImage> {
        let files = std::mem::take(&mut self.files);
        if files.is_empty() && self.links.is_empty() {
            return Err(self.not_tar("the archive has no files".into()));
        }
        let source = Source::from_streamed(
            self.display.to_string(),
            files,
            std::mem::take(&mut self.links),
        );
        let mut open = options.open.clone();
        open.verify = options.verify;
        let mut image = image::open(&source, &open)?;
        image::check_diff_id_count(source.display(), &image, options.verify)?;
        let total = image.layers.len();
        let mut builder = super::Building::new();
        let mut infos = Vec::with_capacity(total);
        let mut warnings = image.warnings.clone();
        let mut parsed_here: Vec<ParsedLayer> = Vec::new();
        for index in 0..total {
            let layer = &image.layers[index];
            let name = super::layer_name(&image, index);
            let parsed: &ParsedLayer = match &layer.member {
                None => {
                    parsed_here.push(ParsedLayer::default());
                    parsed_here.last().expect("just pushed")
                }
                Some(member) => {
                    let resolved = source.resolve_member(member);
                    match resolved.as_ref().and_then(|m| self.slots.get(m)) {
                        Some(&slot) => match self.results[slot].as_ref() {
                            Some(Ok(parsed)) => parsed,
                            Some(Err((true, _))) => return Err(Error::Interrupted),
                            Some(Err((false, detail))) => {
                                return Err(Error::Layer {
                                    index,
                                    digest: name,
                                    detail: detail.clone(),
                                })
                            }
                            None => return Err(Error::Interrupted),
                        },
                        // A small member that did not look like a layer (an empty tar of
                        // zero blocks, say): it was kept, so parse it now.
                        None => {
                            let blob = source.open_member(member)?;
                            let options = ParseOptions {
                                blob_size: source.size(member),
                                ..self.parse_options.clone()
                            };
                            let parsed =
                                parse_layer(blob, options, self.control).map_err(|error| {
                                    match error {
                                        LayerError::Cancelled => Error::Interrupted,
                                        other => Error::Layer {
                                            index,
                                            digest: name.clone(),
                                            detail: other.to_string(),
                                        },
                                    }
                                })?;
                            parsed_here.push(parsed);
                            parsed_here.last().expect("just pushed")
                        }
                    }
                }
            };
            let info = check_layer(
                source.display(),
                &image,
                index,
                parsed,
                options.verify,
                false,
            )?;
            // A stream's layers are all parsed as they pass, shared or not: counted, not kept.
            if let Some(layers) = &options.layers {
                layers.count_parse();
            }
            for warning in &parsed.warnings {
                warnings.push(format!("layer {index}: {warning}"));
            }
            builder.add_layer(parsed).map_err(|limit| Error::Limit {
                path: source.display().to_string(),
                at: format!("layer {index}"),
                source: limit,
            })?;
            infos.push(info);
            progress(Progress {
                layers_done: index + 1,
                layers_total: total,
                bytes_done: self.stream_bytes,
                bytes_total: self.stream_bytes,
            });
            // Parsed here only to be applied: drop it now.
            parsed_here.clear();
        }
        if let Some(top) = top {
            top.apply(
                source.display(),
                &mut image,
                &mut builder,
                &mut infos,
                &mut warnings,
            )?;
        }
        image.source = self.display.to_string();
        Ok(builder.finish(image, infos, warnings))
    }

    fn not_tar(&self, reason: String) -> Error {
        Error::NotAnImage {
            path: self.display.to_string(),
            reason,
        }
    }

    /// An error of the outer stream: before the first member it is not a tar at all; after
    /// it, the end of the stream is a cut and anything else is damage.
    fn archive_error(&self, position: usize, member: Option<&str>, error: io::Error) -> Error {
        if self.control.cancel.load(Ordering::Relaxed) {
            return Error::Interrupted;
        }
        let place = match member {
            Some(name) => format!("in member {name}"),
            None => format!("after member {position}"),
        };
        if position == 0 && member.is_none() {
            self.not_tar(format!("not a tar archive ({error})"))
        } else if error.kind() == io::ErrorKind::UnexpectedEof || member.is_some() {
            Error::Truncated {
                path: self.display.to_string(),
                detail: format!("{place}: {error}"),
            }
        } else {
            Error::CorruptArchive {
                path: self.display.to_string(),
                detail: format!("{place}: {error}"),
            }
        }
    }

    fn cut(&self, name: &str, read: u64, size: u64) -> Error {
        Error::Truncated {
            path: self.display.to_string(),
            detail: format!("the stream ends {read} bytes into member {name} of {size} bytes"),
        }
    }
}

/// Does a member start like a layer: a tar header with a valid checksum, or gzip or zstd?
fn is_layer_head(head: &[u8]) -> bool {
    if Compression::detect(head) != Compression::None {
        return true;
    }
    let Some(block) = head.get(..512) else {
        return false;
    };
    let header = tar::Header::from_byte_slice(block);
    let Ok(stored) = header.cksum() else {
        return false;
    };
    let sum: u32 = block
        .iter()
        .enumerate()
        .map(|(i, &b)| {
            if (148..156).contains(&i) {
                32
            } else {
                u32::from(b)
            }
        })
        .sum();
    stored == sum
}

/// Read until `buf` is full or the reader ends; returns how much was read.
fn read_full(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

fn read_full_vec(reader: &mut impl Read, len: usize) -> io::Result<Vec<u8>> {
    let mut buf = vec![0u8; len];
    let got = read_full(reader, &mut buf)?;
    buf.truncate(got);
    Ok(buf)
}

/// The parse worker's end of a pipe of chunks.
pub(super) struct PipeReader {
    pipe: Receiver<Vec<u8>>,
    chunk: Vec<u8>,
    pos: usize,
}

impl PipeReader {
    pub(super) fn new(pipe: Receiver<Vec<u8>>) -> PipeReader {
        PipeReader {
            pipe,
            chunk: Vec::new(),
            pos: 0,
        }
    }
}

impl Read for PipeReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pos >= self.chunk.len() {
            match self.pipe.recv() {
                Ok(chunk) => {
                    self.chunk = chunk;
                    self.pos = 0;
                }
                // The member ended (or the stream failed: the reader reports that).
                Err(_) => return Ok(0),
            }
        }
        let n = buf.len().min(self.chunk.len() - self.pos);
        buf[..n].copy_from_slice(&self.chunk[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// Bounds what the tar crate reads between two members of the outer archive (PAX records
/// and GNU long names are read into memory whole): `limit` moves along after each member.
pub(super) struct Guard<'a, R> {
    inner: R,
    position: u64,
    limit: &'a Cell<u64>,
}

/// Where the headers of the member after `entry` must end: past its padded body, at most
/// [`HEADER_LIMIT`] further (for [`Guard`]'s limit).
pub(super) fn next_headers_end<R: Read>(entry: &tar::Entry<'_, R>) -> u64 {
    entry
        .raw_file_position()
        .saturating_add(entry.size().saturating_add(511) & !511)
        .saturating_add(HEADER_LIMIT)
}

impl<'a, R> Guard<'a, R> {
    /// `inner`, read until `limit` says.
    pub(super) fn new(inner: R, limit: &'a Cell<u64>) -> Self {
        Guard {
            inner,
            position: 0,
            limit,
        }
    }
}

impl<R: Read> Read for Guard<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.position += n as u64;
        if self.position > self.limit.get() {
            return Err(io::Error::other(format!(
                "a member's headers exceed {} MiB",
                HEADER_LIMIT >> 20
            )));
        }
        Ok(n)
    }
}

/// A container's writable layer, parsed, waiting to be laid on its image's layers.
pub struct TopLayer {
    pub(super) parsed: ParsedLayer,
    pub(super) writable: Writable,
    /// Paths the change list named that were gone when their archive was asked for.
    pub(super) vanished: Vec<String>,
}

impl TopLayer {
    /// Lay this layer on an image whose own layers `builder` holds: its layer record, its
    /// history line and its facts join the image's, as its top layer.
    pub(super) fn apply(
        self,
        display: &str,
        image: &mut Image,
        builder: &mut super::Building,
        infos: &mut Vec<super::LayerInfo>,
        warnings: &mut Vec<String>,
    ) -> Result<()> {
        let TopLayer {
            parsed,
            writable,
            vanished,
        } = self;
        let index = image.layers.len();
        image.layers.push(LayerRef {
            index,
            member: None,
            media_type: None,
            digest: None,
            diff_id: None,
            size: None,
            unavailable: None,
            writable: Some(writable),
        });
        let label = image.layers[index]
            .writable_label()
            .expect("just set as writable");
        image.history.layers.push(LayerHistory {
            entries: Vec::new(),
            instruction: Instruction {
                kind: InstructionKind::Container,
                text: label,
                raw: String::new(),
            },
        });
        let mut info = check_layer(display, image, index, &parsed, false, false)?;
        // No blob is downloaded for it: what it holds is its content alone.
        info.compression = None;
        info.compressed_bytes = 0;
        info.digest = None;
        info.diff_id = None;
        for warning in &parsed.warnings {
            warnings.push(format!("layer {index} (container): {warning}"));
        }
        for path in vanished {
            warnings.push(format!(
                "layer {index} (container): {} was gone when its archive was asked for; left out",
                escape_str(&path)
            ));
        }
        builder.add_layer(&parsed).map_err(|limit| Error::Limit {
            path: display.to_string(),
            at: format!("layer {index} (the container's writable layer)"),
            source: limit,
        })?;
        infos.push(info);
        Ok(())
    }
}
