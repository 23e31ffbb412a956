//! A layer blob becomes a list of normalised records, in one streaming pass.
//!
//! The pass decompresses (by magic bytes), parses the tar, hashes every regular file's
//! content with xxh3, and, when asked, computes the sha256 of both the compressed blob and
//! the uncompressed tar, so that digests are verified at no extra read (on threads of their
//! own, see [`stream`]). File contents are never kept: a record holds the content's offset
//! in the uncompressed stream.

pub mod content;
pub mod entry;
pub mod hook;
mod stream;

pub use entry::{EntryKind, Meta, Record, Span};
pub use hook::{found_as, together, ContentHook, FileLook, Found, Hooks};

use crate::limits::{self, to_u32, LimitError, Limited, MAX_ARENA_BYTES};
use crate::source::{decoder, Compression};
use entry::{classify_name, normalize_path, Marker};
use std::cell::{Cell, RefCell};
use std::io::{self, BufRead, Read, Seek, SeekFrom};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use stream::{ChunkReader, Hashing, InPlace, RawStream, StreamFacts};
use xxhash_rust::xxh3::Xxh3;

/// Most bytes of headers (PAX records, GNU long names, sparse maps) one entry may have.
/// The tar crate reads these into memory whole, so without a bound a hostile layer could
/// make it allocate as much as the stream holds; real ones are a few KiB.
pub const HEADER_LIMIT: u64 = 16 << 20;

/// A parsed layer: records in tar order, plus what the pass measured.
#[derive(Debug, Default)]
pub struct ParsedLayer {
    pub records: Vec<Record>,
    /// Arena for record paths and link targets.
    pub arena: Vec<u8>,
    pub compression: Option<Compression>,
    /// Bytes of the blob as stored.
    pub compressed_bytes: u64,
    /// Bytes of the uncompressed tar stream.
    pub uncompressed_bytes: u64,
    /// `sha256:<hex>` of the stored blob, when digests were computed.
    pub compressed_digest: Option<String>,
    /// `sha256:<hex>` of the uncompressed tar (the diff_id), when digests were computed.
    pub diff_id: Option<String>,
    /// Damage that did not stop the parse (the records before it are kept).
    pub warnings: Vec<String>,
    /// The stream ended early; what was read is kept.
    pub truncated: bool,
    /// What the content hook found, by the index of the record it is in, in record order
    /// (when a hook was given).
    pub found: Vec<(u32, Found)>,
}

impl ParsedLayer {
    /// The heap this parse holds (records, arena, findings' slots), for the budget of
    /// parses waiting to be merged.
    pub fn heap_bytes(&self) -> usize {
        use std::mem::size_of;
        self.records.capacity() * size_of::<Record>()
            + self.arena.capacity()
            + self.found.capacity() * size_of::<(u32, Found)>()
    }

    /// Append a record, copying its path and link target into the arena. For building
    /// layers by hand (tests, benchmarks); parsing fails the layer instead of panicking.
    ///
    /// # Panics
    /// Past [`MAX_ARENA_BYTES`] of paths and link targets.
    pub fn push(&mut self, path: &[u8], link: &[u8], meta: Meta) {
        let mut span = |bytes: &[u8]| {
            let (len, add) = (self.arena.len(), bytes.len());
            let start = limits::next_offset(Limited::LayerNameBytes, len, add, MAX_ARENA_BYTES)
                .unwrap_or_else(|error| panic!("{error}"));
            self.arena.extend_from_slice(bytes);
            Span {
                start,
                len: to_u32(add),
            }
        };
        let path = span(path);
        let link = span(link);
        self.records.push(Record { path, link, meta });
    }

    pub fn path(&self, record: &Record) -> &[u8] {
        record.path.get(&self.arena)
    }
    pub fn link(&self, record: &Record) -> &[u8] {
        record.link.get(&self.arena)
    }
}

/// How far a compressed layer may expand: to `ratio` times its compressed size, and never
/// to less than `floor` bytes. Real layers rarely pass 20:1; gzip cannot pass about 1032:1,
/// but zstd can expand a few MB to hundreds of GiB, which would cost minutes of CPU before
/// the diff_id could fail. A `ratio` of 0 lifts the cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expansion {
    pub ratio: u64,
    pub floor: u64,
}

/// The default ratio: five times the most real layers reach.
pub const EXPANSION_RATIO: u64 = 100;
/// The default floor: small layers may still hold a GiB of zeros (a preallocated file).
pub const EXPANSION_FLOOR: u64 = 1 << 30;

impl Default for Expansion {
    fn default() -> Self {
        Expansion {
            ratio: EXPANSION_RATIO,
            floor: EXPANSION_FLOOR,
        }
    }
}

impl Expansion {
    /// Most uncompressed bytes for `compressed` bytes of blob; `None`: no cap.
    pub fn cap(self, compressed: u64) -> Option<u64> {
        (self.ratio > 0).then(|| self.ratio.saturating_mul(compressed).max(self.floor))
    }
}

/// Options for one parse.
#[derive(Debug, Default, Clone)]
pub struct ParseOptions {
    /// Compute sha256 digests of the blob and of the tar stream.
    pub digests: bool,
    /// The source hashes the stored blob itself, on these same bytes, and fails the read
    /// when it does not match its digest (a registry's reader must, verification on or
    /// off). The pass then hashes only the tar, so that no stream is hashed twice; the
    /// parsed layer has no `compressed_digest` (nor, for an uncompressed blob, a
    /// `diff_id`): the source supplies them.
    pub blob_checked: bool,
    /// Looks at every regular file's content as it streams past (see [`hook`]).
    pub content: Option<std::sync::Arc<dyn ContentHook>>,
    /// Hash on the parsing thread instead of on threads of their own. The caller sets it
    /// when the other cores have layers of their own to parse: the hand-offs to hashing
    /// threads would then cost CPU and win no time.
    pub hash_inline: bool,
    /// The decompression cap ([`Expansion::cap`] of the blob's size).
    pub expansion: Expansion,
    /// The blob's size when the source knows it before the parse (an archive member);
    /// otherwise the cap follows the compressed bytes read so far.
    pub blob_size: Option<u64>,
}

/// Shared counters for progress reporting and cancellation.
#[derive(Debug, Default)]
pub struct ParseControl {
    /// Compressed bytes read so far, summed over all layers being parsed.
    pub bytes_read: AtomicU64,
    /// Set to stop every parse at its next read.
    pub cancel: AtomicBool,
    /// Bytes, size and rate of each layer blob a source reads (registries record theirs).
    pub transfers: crate::source::transfer::Transfers,
}

/// Why a parse failed. The caller adds which layer it was.
#[derive(Debug, thiserror::Error)]
pub enum LayerError {
    #[error("corrupt {compression} stream: {source}")]
    Decompress {
        compression: Compression,
        #[source]
        source: io::Error,
    },
    #[error("invalid tar data: {0}")]
    Tar(#[source] io::Error),
    #[error("read failed: {0}")]
    Read(#[source] io::Error),
    #[error("{0}")]
    Limit(#[from] LimitError),
    #[error(
        "the {compression} stream expands past {} from {} of blob ({ratio} times its size, at least {}): refused as a decompression bomb (--max-expansion raises the ratio)",
        crate::size::human(*.cap), crate::size::human(*.compressed), crate::size::human(*.floor)
    )]
    Expansion {
        compression: Compression,
        cap: u64,
        compressed: u64,
        ratio: u64,
        floor: u64,
    },
    #[error("interrupted")]
    Cancelled,
}

/// Parse one layer blob.
///
/// With digests on, the stored blob and the tar stream are each hashed, inline or on a
/// thread of their own beside the pass ([`ParseOptions::hash_inline`], see [`stream`]).
/// The decoder reads the blob's chunks in place.
pub fn parse_layer(
    blob: impl Read,
    options: ParseOptions,
    control: &ParseControl,
) -> Result<ParsedLayer, LayerError> {
    parse_layer_within(
        Blob::<_, io::Empty>::Read(blob),
        options,
        control,
        MAX_ARENA_BYTES,
    )
}

/// [`parse_layer`] of a blob that arrives in buffers of its own, such as a download's
/// read-ahead chunks: when the pass need not hash the blob (its source verifies the
/// digest, [`ParseOptions::blob_checked`]), the decoder reads those buffers in place.
pub fn parse_layer_in_place(
    blob: impl BufRead,
    options: ParseOptions,
    control: &ParseControl,
) -> Result<ParsedLayer, LayerError> {
    parse_layer_within(
        Blob::<io::Empty, _>::InPlace(blob),
        options,
        control,
        MAX_ARENA_BYTES,
    )
}

/// A blob as a pass gets it.
enum Blob<R, B> {
    /// Read into the pass's own chunks, and hashed there when asked.
    Read(R),
    /// Read in place from its own buffer, unless the pass must hash it.
    InPlace(B),
}

/// The blob's and the tar stream's sha256, read as a parse reads them (same decoders,
/// same expansion cap) but without listing entries: the check of a layer whose parse
/// skipped its digests, made once the view it fed is open. The result holds the digests,
/// the byte counts and whether the stream ended early, and no records.
pub fn digest_layer(
    blob: impl Read,
    options: ParseOptions,
    control: &ParseControl,
) -> Result<ParsedLayer, LayerError> {
    let options = ParseOptions {
        digests: true,
        content: None,
        ..options
    };
    pass(
        Blob::<_, io::Empty>::Read(blob),
        options,
        control,
        |stream, _| drain(stream),
    )
}

/// [`parse_layer`] with at most `name_bytes` bytes of paths and link targets (the
/// arena's limit; tests lower it).
fn parse_layer_within<R: Read, B: BufRead>(
    blob: Blob<R, B>,
    options: ParseOptions,
    control: &ParseControl,
    name_bytes: usize,
) -> Result<ParsedLayer, LayerError> {
    let name_bytes = name_bytes.min(MAX_ARENA_BYTES);
    let content = options.content.clone();
    pass(blob, options, control, |stream, layer| {
        read_entries(stream, layer, name_bytes, content.as_deref())
    })
}

/// One pass over a blob: detect its compression, decode it within the expansion cap, hash
/// what the options ask, and hand the tar stream to `entries`.
fn pass<R: Read, B: BufRead>(
    blob: Blob<R, B>,
    options: ParseOptions,
    control: &ParseControl,
    mut entries: impl FnMut(&mut dyn BufRead, &mut ParsedLayer) -> io::Result<()>,
) -> Result<ParsedLayer, LayerError> {
    std::thread::scope(|scope| {
        let hasher = |wanted: bool| {
            Hashing::start(wanted, options.hash_inline, scope).map_err(LayerError::Read)
        };
        let mut layer = ParsedLayer::default();
        let raw_hasher = hasher(options.digests && !options.blob_checked)?;
        let read = Cell::new(0u64);
        let mut raw: Box<dyn RawStream + '_> = match (blob, raw_hasher) {
            (Blob::InPlace(inner), Hashing::Off) => Box::new(InPlace::new(inner, &read, control)),
            (Blob::InPlace(inner), hashing) => {
                let counted = Counted {
                    inner,
                    count: &read,
                };
                Box::new(ChunkReader::new(counted, hashing, Some(control)))
            }
            (Blob::Read(inner), hashing) => {
                let counted = Counted {
                    inner,
                    count: &read,
                };
                Box::new(ChunkReader::new(counted, hashing, Some(control)))
            }
        };
        let compression = Compression::detect(raw.fill_buf().map_err(LayerError::Read)?);
        let exceeded = Cell::new(None);
        layer.compression = Some(compression);
        // An uncompressed blob is its own tar stream: it is read and hashed once.
        let (result, tar) = if compression == Compression::None {
            (entries(&mut raw, &mut layer), None)
        } else {
            let decoded = decoder(compression, &mut raw).map_err(LayerError::Read)?;
            let capped = Capped {
                inner: decoded,
                out: 0,
                read: &read,
                options: &options,
                exceeded: &exceeded,
            };
            let mut tar = ChunkReader::new(capped, hasher(options.digests)?, None);
            let result = entries(&mut tar, &mut layer);
            (result, Some(tar.finish()))
        };
        let raw = raw.finish();
        if let Some((cap, compressed)) = exceeded.get() {
            return Err(LayerError::Expansion {
                compression,
                cap,
                compressed,
                ratio: options.expansion.ratio,
                floor: options.expansion.floor,
            });
        }
        finish_layer(layer, result, raw, tar, control)
    })
}

/// Counts the bytes read from a blob as they are read, for [`Capped`].
struct Counted<'a, R> {
    inner: R,
    count: &'a Cell<u64>,
}

impl<R: Read> Read for Counted<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.set(self.count.get() + n as u64);
        Ok(n)
    }
}

/// A decoder that fails once it has produced more than the cap allows, so that a bomb
/// stops at the cap instead of at its end. The cap follows the blob's known size, or the
/// bytes read of it so far; `exceeded` keeps the cap and that size for the error.
struct Capped<'a, R> {
    inner: R,
    out: u64,
    read: &'a Cell<u64>,
    options: &'a ParseOptions,
    exceeded: &'a Cell<Option<(u64, u64)>>,
}

impl<R: Read> Read for Capped<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.out += n as u64;
        let compressed = self.options.blob_size.unwrap_or(0).max(self.read.get());
        if let Some(cap) = self.options.expansion.cap(compressed) {
            if self.out > cap {
                self.exceeded.set(Some((cap, compressed)));
                return Err(io::Error::other("decompression cap reached"));
            }
        }
        Ok(n)
    }
}

/// Classify how the pass ended and record what the streams measured.
fn finish_layer(
    mut layer: ParsedLayer,
    result: io::Result<()>,
    raw: StreamFacts,
    tar: Option<StreamFacts>,
    control: &ParseControl,
) -> Result<ParsedLayer, LayerError> {
    let compression = layer.compression.unwrap_or(Compression::None);
    let tar_stream = tar.as_ref().unwrap_or(&raw);
    // A parse that fails after the tar stream ended wanted more data: the layer is cut
    // short (the tar crate reports some of these as `Other`, e.g. "EOF during skip").
    let ended = tar_stream.ended;
    let outcome = result.map_err(|error| {
        if control.cancel.load(Ordering::Relaxed) {
            LayerError::Cancelled
        } else if let Some(limit) = error.get_ref().and_then(|e| e.downcast_ref::<LimitError>()) {
            LayerError::Limit(*limit)
        } else if tar_stream.read_failed && compression != Compression::None {
            LayerError::Decompress {
                compression,
                source: error,
            }
        } else {
            LayerError::Tar(error)
        }
    });

    layer.compressed_bytes = raw.count;
    layer.uncompressed_bytes = tar_stream.count;
    match outcome {
        Ok(()) => {}
        Err(LayerError::Tar(e)) | Err(LayerError::Decompress { source: e, .. })
            if e.kind() == io::ErrorKind::UnexpectedEof || ended =>
        {
            layer.truncated = true;
            layer.warnings.push(format!(
                "the layer ends early after {} entries ({e})",
                layer.records.len()
            ));
        }
        Err(e) => return Err(e),
    }
    if !layer.truncated {
        layer.diff_id = match &tar {
            Some(tar) => tar.digest.clone(),
            None => raw.digest.clone(),
        };
        layer.compressed_digest = raw.digest;
    }
    // The parse may wait for the merge a while: give back what doubling left unused.
    layer.records.shrink_to_fit();
    layer.arena.shrink_to_fit();
    Ok(layer)
}

/// Read a stream to its end, in place, for its digest.
fn drain(mut stream: impl BufRead) -> io::Result<()> {
    loop {
        let n = stream.fill_buf()?.len();
        if n == 0 {
            return Ok(());
        }
        stream.consume(n);
    }
}

/// Parse the tar stream. The tar crate reads the headers; file contents are read here,
/// in place from the stream's buffer (see [`TarInput`]), which is where a consumer of
/// file bytes belongs.
fn read_entries(
    stream: impl BufRead,
    layer: &mut ParsedLayer,
    name_bytes: usize,
    content: Option<&dyn ContentHook>,
) -> io::Result<()> {
    // Spans are u32 offsets into the arena: past the limit they would point at the
    // wrong bytes.
    let span = |start: usize, end: usize| -> io::Result<Span> {
        limits::check(Limited::LayerNameBytes, end, name_bytes).map_err(io::Error::other)?;
        Ok(Span {
            start: to_u32(start),
            len: to_u32(end - start),
        })
    };
    let stream = RefCell::new(stream);
    let at = Position::default();
    at.limit.set(HEADER_LIMIT);
    let mut archive = tar::Archive::new(TarInput {
        stream: &stream,
        at: &at,
    });
    let mut escaped = 0usize;
    let mut meaningless = 0usize;
    // One look for the layer's files, and one buffer for the absolute paths it is given.
    let mut look = content.map(ContentHook::layer);
    let mut absolute = Vec::new();
    // With seeks, the tar crate skips padding and unread data through `TarInput::seek`,
    // without copying.
    for entry in archive.entries_with_seek()? {
        let mut entry = entry?;
        let header = entry.header();
        let entry_type = header.entry_type();
        // The next entry's headers may take HEADER_LIMIT bytes past this entry's data.
        // A sparse entry's `size()` is the size it claims; its header has what is stored.
        let stored = if entry_type.is_gnu_sparse() {
            header.entry_size()?
        } else {
            entry.size()
        };
        at.limit.set(
            entry
                .raw_file_position()
                .saturating_add(stored.saturating_add(511) & !511)
                .saturating_add(HEADER_LIMIT),
        );
        at.data_end
            .set(entry.raw_file_position().saturating_add(stored));
        let kind = match entry_type {
            tar::EntryType::Regular | tar::EntryType::Continuous | tar::EntryType::GNUSparse => {
                EntryKind::File
            }
            tar::EntryType::Directory => EntryKind::Dir,
            tar::EntryType::Symlink => EntryKind::Symlink,
            tar::EntryType::Link => EntryKind::Hardlink,
            tar::EntryType::Char => EntryKind::Char,
            tar::EntryType::Block => EntryKind::Block,
            tar::EntryType::Fifo => EntryKind::Fifo,
            // Global PAX headers and GNU volume labels carry no file.
            _ => continue,
        };
        let mode = (header.mode().unwrap_or(0o644) & 0o7777) as u16;
        let mut uid = header.uid().unwrap_or(0);
        let mut gid = header.gid().unwrap_or(0);
        if let Some(extensions) = entry.pax_extensions()? {
            for extension in extensions.flatten() {
                let value = extension.value().ok().map(str::trim);
                match (extension.key(), value) {
                    (Ok("uid"), Some(v)) => uid = v.parse().unwrap_or(uid),
                    (Ok("gid"), Some(v)) => gid = v.parse().unwrap_or(gid),
                    _ => {}
                }
            }
        }
        let size = entry.size();
        let offset = entry.raw_file_position();
        let link_raw = match kind {
            EntryKind::Symlink | EntryKind::Hardlink => {
                entry.link_name_bytes().map(|l| l.into_owned())
            }
            _ => None,
        };

        // Path: normalise into the arena, then decode whiteout markers from the last name.
        let path_start = layer.arena.len();
        let cleaning = normalize_path(&entry.path_bytes(), &mut layer.arena);
        escaped += usize::from(cleaning.escaped_root);
        let path_end = layer.arena.len();
        if path_end == path_start {
            continue; // the root entry: the rootfs itself is not listed
        }
        let path_bytes = &layer.arena[path_start..path_end];
        let name_start = path_bytes
            .iter()
            .rposition(|&b| b == b'/')
            .map_or(0, |i| i + 1);
        let (kind, path) = match classify_name(&path_bytes[name_start..]) {
            Marker::None => (kind, span(path_start, path_end)?),
            Marker::Opaque => {
                let dir_end = path_start + name_start.saturating_sub(1);
                (EntryKind::Opaque, span(path_start, dir_end)?)
            }
            Marker::Whiteout(target) => {
                // Rewrite `dir/.wh.name` in place as `dir/name`.
                let target = target.to_vec();
                layer.arena.truncate(path_start + name_start);
                layer.arena.extend_from_slice(&target);
                (EntryKind::Whiteout, span(path_start, layer.arena.len())?)
            }
            Marker::Meaningless => {
                meaningless += 1;
                layer.arena.truncate(path_start);
                continue;
            }
        };

        let link = match link_raw {
            Some(target) => {
                let start = layer.arena.len();
                if kind == EntryKind::Hardlink {
                    normalize_path(&target, &mut layer.arena);
                } else {
                    layer.arena.extend_from_slice(&target);
                }
                span(start, layer.arena.len())?
            }
            None => Span::EMPTY,
        };

        let hash = if entry_type.is_gnu_sparse() {
            // Reading a sparse file rebuilds its holes: a header can claim 2^64 bytes in
            // a few blocks. Its map and sizes stand for the content instead.
            sparse_identity(entry.header())
        } else if kind == EntryKind::File {
            let looking = match look.as_deref_mut() {
                Some(look) => {
                    absolute.clear();
                    absolute.push(b'/');
                    absolute.extend_from_slice(path.get(&layer.arena));
                    look.start(&absolute, size).then_some(look)
                }
                None => None,
            };
            match looking {
                Some(look) => {
                    let hash = hash_content(&stream, &at, size, Some(&mut *look))?;
                    if let Some(found) = look.finish() {
                        // The record is pushed below, at this index.
                        let record = u32::try_from(layer.records.len()).unwrap_or(u32::MAX);
                        layer.found.push((record, found));
                    }
                    hash
                }
                None => hash_content(&stream, &at, size, None)?,
            }
        } else {
            0
        };
        layer.records.push(Record {
            path,
            link,
            meta: Meta {
                kind,
                mode,
                uid: u32::try_from(uid).unwrap_or(u32::MAX),
                gid: u32::try_from(gid).unwrap_or(u32::MAX),
                size,
                hash,
                offset,
            },
        });
    }
    // Read past the end-of-archive marker so that the digests cover the whole stream
    // (estargz puts a footer there).
    drain(stream.into_inner())?;
    if escaped > 0 {
        layer.warnings.push(format!(
            "{escaped} entries had paths climbing above the root with `..`; they were clamped at /"
        ));
    }
    if meaningless > 0 {
        layer.warnings.push(format!(
            "{meaningless} whiteout entries named nothing (`.wh.` or AUFS internals) and were ignored"
        ));
    }
    Ok(())
}

/// Hash a file's `size` bytes of content, read in place from the stream, where the tar
/// crate expects them to be still unread: [`TarInput::seek`] accounts for them.
/// When given, the content hook's look sees the same bytes on the way.
fn hash_content<R: BufRead>(
    stream: &RefCell<R>,
    at: &Position,
    size: u64,
    mut look: Option<&mut dyn FileLook>,
) -> io::Result<u64> {
    if look.as_ref().is_some_and(|l| !l.wants_content()) {
        look = None;
    }
    let mut stream = stream.borrow_mut();
    let mut hasher = Xxh3::new();
    let mut read = 0u64;
    while read < size {
        let buffer = stream.fill_buf()?;
        if buffer.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("the stream ends {read} bytes into a {size}-byte file"),
            ));
        }
        let n = buffer
            .len()
            .min(usize::try_from(size - read).unwrap_or(usize::MAX));
        hasher.update(&buffer[..n]);
        if let Some(look) = look.as_deref_mut() {
            look.feed(&buffer[..n]);
        }
        stream.consume(n);
        read += n as u64;
        at.bypassed.set(at.bypassed.get() + n as u64);
        at.position.set(at.position.get() + n as u64);
    }
    Ok(hasher.digest())
}

/// Identity of a GNU sparse file: its sizes and map (the part in the main header).
fn sparse_identity(header: &tar::Header) -> u64 {
    let mut hasher = Xxh3::new();
    hasher.update(b"gnu-sparse");
    if let Some(gnu) = header.as_gnu() {
        hasher.update(&gnu.size);
        for block in &gnu.sparse {
            hasher.update(&block.offset);
            hasher.update(&block.numbytes);
        }
        hasher.update(&gnu.isextended);
        hasher.update(&gnu.realsize);
    }
    hasher.digest()
}

/// Where the pass is in the tar stream, shared by [`TarInput`] and [`read_entries`].
#[derive(Default)]
struct Position {
    /// Bytes of the stream consumed, by the tar crate or by [`hash_content`].
    position: Cell<u64>,
    /// Bytes [`hash_content`] consumed since the tar crate last sought: the tar crate
    /// counts them as still to skip.
    bypassed: Cell<u64>,
    /// Past this position the tar crate is reading headers beyond [`HEADER_LIMIT`];
    /// [`read_entries`] moves it along after each entry.
    limit: Cell<u64>,
    /// Where the current entry's stored data ends: a stream that ends exactly there, with
    /// no padding and no end-of-archive blocks, is complete (see [`TarInput::seek`]).
    data_end: Cell<u64>,
}

impl Position {
    fn advance(&self, n: u64) -> io::Result<u64> {
        let position = self.position.get() + n;
        self.position.set(position);
        if position > self.limit.get() {
            return Err(io::Error::other(format!(
                "an entry's headers exceed {} MiB",
                HEADER_LIMIT >> 20
            )));
        }
        Ok(position)
    }
}

/// The tar stream as the tar crate sees it: reads are bounded by the header limit, and
/// seeks (forward only, which is all the tar crate asks for) skip without copying.
struct TarInput<'a, R> {
    stream: &'a RefCell<R>,
    at: &'a Position,
}

impl<R: BufRead> Read for TarInput<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.stream.borrow_mut().read(buf)?;
        self.at.advance(n as u64)?;
        Ok(n)
    }
}

impl<R: BufRead> Seek for TarInput<'_, R> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let SeekFrom::Current(delta) = to else {
            return Err(io::Error::other("the tar stream only seeks forward"));
        };
        let skip = u64::try_from(delta)
            .ok()
            .and_then(|delta| delta.checked_sub(self.at.bypassed.replace(0)))
            .ok_or_else(|| io::Error::other("the tar stream only seeks forward"))?;
        let mut stream = self.stream.borrow_mut();
        let mut left = skip;
        while left > 0 {
            let n = stream.fill_buf()?.len();
            if n == 0 {
                // Go's archive/tar (Docker, containerd, umoci) takes a stream that ends
                // right after an entry's data, before its padding, as a complete archive;
                // umoci 0.4's `insert` writes its layers so. The tar crate then finds no
                // next header and ends cleanly. Anywhere else, the layer was cut short.
                let reached = self.at.position.get() + (skip - left);
                if reached == self.at.data_end.get() && left < 512 {
                    self.at.position.set(reached);
                    return Ok(reached);
                }
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "unexpected EOF during skip",
                ));
            }
            let n = n.min(usize::try_from(left).unwrap_or(usize::MAX));
            stream.consume(n);
            left -= n as u64;
        }
        self.at.advance(skip)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tar_of(entries: &[(&str, tar::EntryType, &str)]) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        for (path, kind, link) in entries {
            let mut header = tar::Header::new_gnu();
            header.set_entry_type(*kind);
            header.set_size(0);
            header.set_mode(0o644);
            if !link.is_empty() {
                header.set_link_name(link).unwrap();
            }
            header.set_cksum();
            builder.append_data(&mut header, path, &[][..]).unwrap();
        }
        builder.into_inner().unwrap()
    }

    /// umoci 0.4's `insert` ends its layers right after the last file's data, with no
    /// padding and no end-of-archive blocks; Go's archive/tar, and so Docker, containerd
    /// and umoci, read that as complete. A stream cut anywhere else is still truncated.
    #[test]
    fn a_stream_ending_right_after_the_last_files_data_is_complete() {
        use sha2::{Digest, Sha256};
        let mut builder = tar::Builder::new(Vec::new());
        let mut header = tar::Header::new_gnu();
        header.set_size(20);
        header.set_mode(0o755);
        header.set_cksum();
        builder
            .append_data(&mut header, "bin/tool", &b"#!/bin/sh\necho tool\n"[..])
            .unwrap();
        let tar = builder.into_inner().unwrap();
        let parse = |bytes: &[u8]| {
            let options = ParseOptions {
                digests: true,
                ..Default::default()
            };
            parse_layer(bytes, options, &ParseControl::default()).unwrap()
        };
        let unpadded = parse(&tar[..512 + 20]);
        assert!(!unpadded.truncated, "{:?}", unpadded.warnings);
        assert!(unpadded.warnings.is_empty());
        assert_eq!(unpadded.records.len(), 1);
        assert_eq!(unpadded.records[0].meta.size, 20);
        let expected = format!("sha256:{}", hex::encode(Sha256::digest(&tar[..532])));
        assert_eq!(unpadded.diff_id.as_deref(), Some(expected.as_str()));
        // Cut inside the data, or inside the padding: truncated, as Go's reader says too.
        for cut in [512 + 10, 512 + 20 + 100] {
            let cut_short = parse(&tar[..cut]);
            assert!(cut_short.truncated, "cut at {cut}");
            assert!(cut_short.diff_id.is_none());
        }
    }

    #[test]
    fn names_at_the_arena_limit_parse_and_one_more_byte_is_refused() {
        let tar = tar_of(&[
            ("dir/file", tar::EntryType::Regular, ""),
            ("dir/link", tar::EntryType::Symlink, "file"),
        ]);
        let parse = |limit: usize| {
            let control = ParseControl::default();
            parse_layer_within(
                Blob::<_, io::Empty>::Read(&tar[..]),
                ParseOptions::default(),
                &control,
                limit,
            )
        };
        // `dir/file`, `dir/link` and `file`: 20 bytes.
        let at = parse(20).unwrap();
        assert_eq!(at.arena.len(), 20);
        assert_eq!(at.link(&at.records[1]), b"file");
        match parse(19) {
            Err(LayerError::Limit(error)) => assert_eq!(
                error,
                LimitError {
                    what: Limited::LayerNameBytes,
                    count: 20,
                    limit: 19
                }
            ),
            other => panic!("expected the arena limit, got {other:?}"),
        }
        assert!(matches!(parse(7), Err(LayerError::Limit(e)) if e.count == 8));
        assert_eq!(parse(MAX_ARENA_BYTES).unwrap().arena, at.arena);
    }

    #[test]
    fn a_blob_its_source_checked_is_not_hashed_again_but_its_tar_is() {
        use sha2::{Digest, Sha256};
        let tar = tar_of(&[("etc/hosts", tar::EntryType::Regular, "")]);
        let sha = |bytes: &[u8]| format!("sha256:{}", hex::encode(Sha256::digest(bytes)));
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, &tar).unwrap();
        let gz = gz.finish().unwrap();
        let parse = |blob: &[u8], blob_checked: bool| {
            let options = ParseOptions {
                digests: true,
                blob_checked,
                ..Default::default()
            };
            let control = ParseControl::default();
            let read = parse_layer(blob, options.clone(), &control).unwrap();
            // Lent in place (a download's chunks), the blob parses the same.
            let lent = parse_layer_in_place(blob, options, &control).unwrap();
            assert_eq!(
                (&lent.compressed_digest, &lent.diff_id, lent.records.len()),
                (&read.compressed_digest, &read.diff_id, read.records.len())
            );
            assert_eq!(
                (lent.compressed_bytes, lent.uncompressed_bytes),
                (read.compressed_bytes, read.uncompressed_bytes)
            );
            read
        };
        let both = parse(&gz, false);
        assert_eq!(both.compressed_digest, Some(sha(&gz)));
        assert_eq!(both.diff_id, Some(sha(&tar)));
        let trusted = parse(&gz, true);
        assert_eq!(trusted.compressed_digest, None, "the source's check stands");
        assert_eq!(trusted.diff_id, Some(sha(&tar)), "the tar is still hashed");
        assert_eq!(trusted.records.len(), 1);
        // An uncompressed blob is its own tar: nothing is left to hash.
        let plain = parse(&tar, true);
        assert_eq!((plain.compressed_digest, plain.diff_id), (None, None));
        assert_eq!(parse(&tar, false).diff_id, Some(sha(&tar)));
    }

    #[test]
    fn decompression_stops_at_the_cap_of_the_blobs_size() {
        // A 1 MiB file of zeros: some 1 KiB of gzip, so the ratio is about 1000.
        let mut builder = tar::Builder::new(Vec::new());
        let mut header = tar::Header::new_gnu();
        header.set_size(1 << 20);
        header.set_mode(0o644);
        header.set_cksum();
        builder
            .append_data(&mut header, "zeros", &vec![0u8; 1 << 20][..])
            .unwrap();
        let tar = builder.into_inner().unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        std::io::Write::write_all(&mut gz, &tar).unwrap();
        let gz = gz.finish().unwrap();
        let parse = |blob: &[u8], ratio: u64, floor: u64, blob_size: Option<u64>| {
            let options = ParseOptions {
                expansion: Expansion { ratio, floor },
                blob_size,
                ..Default::default()
            };
            let control = ParseControl::default();
            let read = parse_layer(blob, options.clone(), &control);
            // Read in place, the cap follows the blob the same way.
            let lent = parse_layer_in_place(blob, options, &control);
            assert_eq!(format!("{lent:?}"), format!("{read:?}"));
            read
        };
        let compressed = gz.len() as u64;
        // Within the ratio, within the floor, or with the cap lifted: parsed whole.
        assert!(parse(&gz, 2000, 0, None).is_ok());
        assert!(parse(&gz, 10, 2 << 20, None).is_ok());
        assert!(parse(&gz, 0, 0, None).is_ok());
        // Past it: refused, naming the cap and the compressed size it was made from.
        match parse(&gz, 10, 4096, None) {
            Err(LayerError::Expansion {
                compression: Compression::Gzip,
                cap,
                compressed: seen,
                ratio: 10,
                floor: 4096,
            }) => {
                assert_eq!(seen, compressed);
                assert_eq!(cap, (10 * compressed).max(4096));
            }
            other => panic!("expected the cap, got {other:?}"),
        }
        // A size known up front raises the cap before the bytes are read.
        assert!(parse(&gz, 10, 0, Some(1 << 20)).is_ok());
        // An uncompressed blob cannot expand: no cap applies.
        assert!(parse(&tar, 1, 0, None).is_ok());
        let error = parse(&gz, 10, 4096, None).unwrap_err().to_string();
        assert!(
            error.starts_with("the gzip stream expands past ")
                && error.ends_with("(--max-expansion raises the ratio)"),
            "{error}"
        );
    }
}
