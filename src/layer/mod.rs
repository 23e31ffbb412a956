//! A layer blob becomes a list of normalised records, in one streaming pass.
//!
//! The pass decompresses (by magic bytes), parses the tar, hashes every regular file's
//! content with xxh3, and, when asked, computes the sha256 of both the compressed blob and
//! the uncompressed tar, so that digests are verified at no extra read. File contents are
//! never kept: a record holds the content's offset in the uncompressed stream.

pub mod content;
pub mod entry;

pub use entry::{EntryKind, Meta, Record, Span};

use crate::analysis::secrets::FileScan;
use crate::limits::{self, to_u32, LimitError, Limited, MAX_ARENA_BYTES};
use crate::source::{decoder, Compression};
use entry::{classify_name, normalize_path, Marker};
use sha2::{Digest, Sha256};
use std::cell::Cell;
use std::io::{self, BufRead, BufReader, Read};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use xxhash_rust::xxh3::Xxh3;

/// Buffer size for reading layer streams: large enough to keep the decoder and the hashers
/// in their fast loops.
const BUFFER: usize = 256 << 10;

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
    /// Secret-rule hits, by the index of the record they are in (when scanning was asked).
    pub secrets: Vec<(u32, crate::analysis::secrets::Hit)>,
}

impl ParsedLayer {
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

/// Options for one parse.
#[derive(Debug, Default, Clone, Copy)]
pub struct ParseOptions {
    /// Compute sha256 digests of the blob and of the tar stream.
    pub digests: bool,
    /// Run the secret rules over every regular file as its content streams past.
    pub secrets: bool,
}

/// Shared counters for progress reporting and cancellation.
#[derive(Debug, Default)]
pub struct ParseControl {
    /// Compressed bytes read so far, summed over all layers being parsed.
    pub bytes_read: AtomicU64,
    /// Set to stop every parse at its next read.
    pub cancel: AtomicBool,
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
    #[error("interrupted")]
    Cancelled,
}

/// Parse one layer blob.
pub fn parse_layer(
    blob: impl Read,
    options: ParseOptions,
    control: &ParseControl,
) -> Result<ParsedLayer, LayerError> {
    parse_layer_within(blob, options, control, MAX_ARENA_BYTES)
}

/// [`parse_layer`] with at most `name_bytes` bytes of paths and link targets (the
/// arena's limit; tests lower it).
fn parse_layer_within(
    blob: impl Read,
    options: ParseOptions,
    control: &ParseControl,
    name_bytes: usize,
) -> Result<ParsedLayer, LayerError> {
    let mut raw_state = HashState::new(options.digests);
    let mut tar_state = HashState::new(options.digests);
    let mut layer = ParsedLayer::default();

    let (result, compression) = {
        let counted = HashingReader {
            inner: blob,
            state: &mut raw_state,
            control: Some(control),
        };
        let mut buffered = BufReader::with_capacity(BUFFER, counted);
        let compression = Compression::detect(buffered.fill_buf().map_err(LayerError::Read)?);
        layer.compression = Some(compression);
        if compression == Compression::None {
            tar_state.hasher = None;
        }
        let decoded = decoder(compression, buffered).map_err(LayerError::Read)?;
        // An uncompressed blob is its own tar stream: hash it once.
        let tar_stream = HashingReader {
            inner: decoded,
            state: &mut tar_state,
            control: None,
        };
        let result = read_entries(
            BufReader::with_capacity(BUFFER, tar_stream),
            &mut layer,
            name_bytes.min(MAX_ARENA_BYTES),
            options.secrets,
        );
        (result, compression)
    };
    // A parse that fails after the tar stream ended wanted more data: the layer is cut
    // short (the tar crate reports some of these as `Other`, e.g. "EOF during skip").
    let ended = tar_state.ended;
    let outcome = result.map_err(|error| {
        if control.cancel.load(Ordering::Relaxed) {
            LayerError::Cancelled
        } else if let Some(limit) = error.get_ref().and_then(|e| e.downcast_ref::<LimitError>()) {
            LayerError::Limit(*limit)
        } else if tar_state.read_failed && compression != Compression::None {
            LayerError::Decompress {
                compression,
                source: error,
            }
        } else {
            LayerError::Tar(error)
        }
    });

    layer.compressed_bytes = raw_state.count;
    layer.uncompressed_bytes = tar_state.count;
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
        let uncompressed = layer.compression == Some(Compression::None);
        layer.compressed_digest = raw_state.finish();
        layer.diff_id = if uncompressed {
            layer.compressed_digest.clone()
        } else {
            tar_state.finish()
        };
    }
    Ok(layer)
}

fn read_entries(
    stream: impl Read,
    layer: &mut ParsedLayer,
    name_bytes: usize,
    secrets: bool,
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
    let limit = Cell::new(HEADER_LIMIT);
    let mut archive = tar::Archive::new(HeaderGuard {
        inner: stream,
        position: 0,
        limit: &limit,
    });
    let mut content = vec![0u8; BUFFER];
    let mut escaped = 0usize;
    let mut meaningless = 0usize;
    for entry in archive.entries()? {
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
        limit.set(
            entry
                .raw_file_position()
                .saturating_add(stored.saturating_add(511) & !511)
                .saturating_add(HEADER_LIMIT),
        );
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
            let mut scan = if secrets {
                let mut absolute = Vec::with_capacity(path.len as usize + 1);
                absolute.push(b'/');
                absolute.extend_from_slice(path.get(&layer.arena));
                FileScan::start(&absolute, size)
            } else {
                None
            };
            let hash = hash_content(&mut entry, size, &mut content, scan.as_mut())?;
            if let Some(scan) = scan {
                // The record is pushed below, at this index.
                let record = u32::try_from(layer.records.len()).unwrap_or(u32::MAX);
                layer
                    .secrets
                    .extend(scan.finish().into_iter().map(|hit| (record, hit)));
            }
            hash
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
    limit.set(u64::MAX);
    io::copy(&mut archive.into_inner(), &mut io::sink())?;
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

/// Hash a file's content with xxh3 and, when given, feed it to a secret scan on the way.
fn hash_content(
    entry: &mut impl Read,
    size: u64,
    buffer: &mut [u8],
    mut scan: Option<&mut FileScan>,
) -> io::Result<u64> {
    if scan.as_ref().is_some_and(|s| !s.wants_content(size)) {
        scan = None;
    }
    let mut hasher = Xxh3::new();
    let mut read = 0u64;
    loop {
        match entry.read(buffer) {
            // The tar crate ends an entry's data quietly at the end of the stream.
            Ok(0) if read < size => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("the stream ends {} bytes into a {size}-byte file", read),
                ))
            }
            Ok(0) => return Ok(hasher.digest()),
            Ok(n) => {
                read += n as u64;
                hasher.update(&buffer[..n]);
                if let Some(scan) = scan.as_deref_mut() {
                    scan.feed(&buffer[..n]);
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
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

/// Fails a read that goes past `limit`, which [`read_entries`] moves along after each
/// entry: it bounds what the tar crate reads between two entries (headers only).
struct HeaderGuard<'a, R> {
    inner: R,
    position: u64,
    limit: &'a Cell<u64>,
}

impl<R: Read> Read for HeaderGuard<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.position += n as u64;
        if self.position > self.limit.get() {
            return Err(io::Error::other(format!(
                "an entry's headers exceed {} MiB",
                HEADER_LIMIT >> 20
            )));
        }
        Ok(n)
    }
}

/// Running sha256 and byte count of a stream.
struct HashState {
    hasher: Option<Sha256>,
    count: u64,
    /// The wrapped reader failed: for the tar stream, that means the decoder did.
    read_failed: bool,
    /// The wrapped reader reached its end.
    ended: bool,
}

impl HashState {
    fn new(digest: bool) -> Self {
        HashState {
            hasher: digest.then(Sha256::new),
            count: 0,
            read_failed: false,
            ended: false,
        }
    }

    fn finish(self) -> Option<String> {
        self.hasher
            .map(|h| format!("sha256:{}", hex::encode(h.finalize())))
    }
}

struct HashingReader<'a, R> {
    inner: R,
    state: &'a mut HashState,
    control: Option<&'a ParseControl>,
}

impl<R: Read> Read for HashingReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(control) = self.control {
            if control.cancel.load(Ordering::Relaxed) {
                // Not `Interrupted`: `read_exact` and `io::copy` would retry that forever.
                return Err(io::Error::other("cancelled"));
            }
        }
        let n = self
            .inner
            .read(buf)
            .inspect_err(|_| self.state.read_failed = true)?;
        if n == 0 && !buf.is_empty() {
            self.state.ended = true;
        }
        if let Some(hasher) = &mut self.state.hasher {
            hasher.update(&buf[..n]);
        }
        self.state.count += n as u64;
        if let Some(control) = self.control {
            control.bytes_read.fetch_add(n as u64, Ordering::Relaxed);
        }
        Ok(n)
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

    #[test]
    fn names_at_the_arena_limit_parse_and_one_more_byte_is_refused() {
        let tar = tar_of(&[
            ("dir/file", tar::EntryType::Regular, ""),
            ("dir/link", tar::EntryType::Symlink, "file"),
        ]);
        let parse = |limit: usize| {
            let control = ParseControl::default();
            parse_layer_within(&tar[..], ParseOptions::default(), &control, limit)
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
}
