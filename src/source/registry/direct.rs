//! The cache's blob files are written and read with `O_DIRECT`, past the page cache.
//!
//! Why: a cached blob is written once and read whole, rarely, and it can be gigabytes.
//! Going through the page cache costs the kernel a page for every 4 KiB, which on a
//! virtual machine whose memory the host backs lazily measured 3–4 CPU seconds per GB
//! written (and 2 per GB read back), more than the pull's network and hashing together
//! (PERFORMANCE.md, "The cache's writes"). Direct I/O moves the bytes between the disk and
//! our own, reused buffers, and keeps the page cache for the user's working set.
//!
//! `O_DIRECT` needs buffers, sizes and offsets aligned to the device's block. Buffers here
//! are aligned to [`ALIGN`] and every write but the last is a whole number of them; the
//! last is padded and the file cut back to its length. A filesystem that refuses
//! `O_DIRECT` (at open, or at the first read or write) gets plain buffered I/O instead.

use rustix::fs::{fcntl_getfl, fcntl_setfl, OFlags};
use sha2::{Digest, Sha256};
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::{mpsc, Arc, Mutex, OnceLock};

/// Alignment of buffers, sizes and offsets: 4 KiB covers 512-byte and 4Kn devices.
pub const ALIGN: usize = 4096;
/// Bytes per direct read or write: large enough that each system call moves a lot.
pub const CHUNK: usize = 1 << 20;
/// Chunks read ahead of the parse (each layer being read holds this many more, plus two).
const READ_AHEAD: usize = 3;
/// Spare chunks kept for the next stream, at most: about what one blob's read-ahead and
/// cache copy hold, so a blob that ends hands its chunks to the next. Kept, they are
/// memory not given back until the process ends.
const MAX_SPARE: usize = 8;

/// Chunks whose stream has ended. A pull reads tens of blobs one after another; a fresh
/// 1 MiB buffer is a fresh mapping (glibc maps blocks this large), each of its pages
/// faulted in and then unmapped again.
static SPARE: Spares = Spares::new(MAX_SPARE);

/// Chunks' storage with the offset of its aligned start, kept for reuse up to a count.
struct Spares {
    list: Mutex<Vec<(Vec<u8>, usize)>>,
    max: usize,
}

impl Spares {
    const fn new(max: usize) -> Spares {
        Spares {
            list: Mutex::new(Vec::new()),
            max,
        }
    }

    fn take(&self) -> Option<(Vec<u8>, usize)> {
        self.list.lock().ok()?.pop()
    }

    /// Keep `storage` if there is room; else it is freed.
    fn keep(&self, storage: Vec<u8>, start: usize) {
        if let Ok(mut list) = self.list.lock() {
            if list.len() < self.max {
                list.push((storage, start));
            }
        }
    }
}

/// A heap buffer whose usable part starts on an [`ALIGN`] boundary, made without unsafe
/// code: over-allocate by `ALIGN` and start at the first aligned byte.
pub struct AlignedBuf {
    storage: Vec<u8>,
    start: usize,
    len: usize,
}

impl AlignedBuf {
    /// `len` zeroed bytes (a multiple of [`ALIGN`]).
    pub fn new(len: usize) -> AlignedBuf {
        let storage = vec![0u8; len + ALIGN];
        // For a byte pointer the offset always exists; clamp in case it is reported absent.
        let start = storage.as_ptr().align_offset(ALIGN).min(ALIGN);
        AlignedBuf {
            storage,
            start,
            len,
        }
    }

    pub fn as_slice(&self) -> &[u8] {
        &self.storage[self.start..self.start + self.len]
    }

    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        &mut self.storage[self.start..self.start + self.len]
    }

    /// A [`CHUNK`]-long buffer: a spare one if there is one (its bytes are whatever its last
    /// stream left), else a new one.
    pub fn chunk() -> AlignedBuf {
        match SPARE.take() {
            Some((storage, start)) => AlignedBuf {
                storage,
                start,
                len: CHUNK,
            },
            None => AlignedBuf::new(CHUNK),
        }
    }

    /// Copy as much of `bytes` as fits after the first `filled` bytes; returns how much.
    pub fn fill(&mut self, filled: usize, bytes: &[u8]) -> usize {
        let take = (self.len - filled).min(bytes.len());
        self.as_mut_slice()[filled..filled + take].copy_from_slice(&bytes[..take]);
        take
    }
}

impl Drop for AlignedBuf {
    /// A chunk goes back to the spares, while there is room.
    fn drop(&mut self) {
        if self.len == CHUNK {
            SPARE.keep(std::mem::take(&mut self.storage), self.start);
        }
    }
}

/// `open` with `O_DIRECT` added, or plainly when the filesystem refuses it.
fn open_direct(options: &OpenOptions, path: &Path) -> io::Result<(File, bool)> {
    let mut direct = options.clone();
    direct.custom_flags(OFlags::DIRECT.bits() as i32);
    match direct.open(path) {
        Ok(file) => Ok((file, true)),
        Err(e) if e.raw_os_error() == Some(rustix::io::Errno::INVAL.raw_os_error()) => {
            Ok((options.open(path)?, false))
        }
        Err(e) => Err(e),
    }
}

/// Turn `O_DIRECT` off on an open file (the filesystem took the flag but not the I/O).
fn make_buffered(file: &File) -> io::Result<()> {
    let flags = fcntl_getfl(file)?;
    fcntl_setfl(file, flags - OFlags::DIRECT)?;
    Ok(())
}

fn is_einval(e: &io::Error) -> bool {
    e.raw_os_error() == Some(rustix::io::Errno::INVAL.raw_os_error())
}

/// Create a new file at `path` (which must not exist) for [`DirectWriter`]: owner-only,
/// as a temporary file is, since a private image's layers land here.
pub fn create(path: &Path) -> io::Result<(File, bool)> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true).mode(0o600);
    open_direct(&options, path)
}

/// Writes a file in aligned [`CHUNK`]s, whole chunks in place and the rest through one
/// staging buffer (made on first use: a blob handed over in whole chunks needs it only for
/// its tail).
pub struct DirectWriter {
    staging: Option<AlignedBuf>,
    filled: usize,
    written: u64,
    direct: bool,
}

impl DirectWriter {
    /// For a file made by [`create`]; `direct` is what it returned.
    pub fn new(direct: bool) -> DirectWriter {
        DirectWriter {
            staging: None,
            filled: 0,
            written: 0,
            direct,
        }
    }

    /// Append `bytes` to `file`. Whole chunks that start aligned, with nothing staged
    /// before them (a read-ahead's chunks), are written in place with no copy.
    pub fn write(&mut self, file: &mut File, mut bytes: &[u8]) -> io::Result<()> {
        while !bytes.is_empty() {
            if self.filled == 0 && bytes.len() >= CHUNK && bytes.as_ptr().align_offset(ALIGN) == 0 {
                let (whole, rest) = bytes.split_at(CHUNK);
                write_out(file, whole, &mut self.direct, &mut self.written)?;
                bytes = rest;
                continue;
            }
            let staging = self.staging.get_or_insert_with(AlignedBuf::chunk);
            let take = staging.fill(self.filled, bytes);
            self.filled += take;
            bytes = &bytes[take..];
            if self.filled == CHUNK {
                self.flush_staging(file, CHUNK)?;
            }
        }
        Ok(())
    }

    /// Write what is staged and cut the file to the bytes written.
    pub fn finish(&mut self, file: &mut File) -> io::Result<()> {
        if self.filled > 0 {
            let staged = self.filled;
            // Direct I/O writes whole blocks: pad with zeros, then cut the padding off.
            let padded = if self.direct {
                staged.div_ceil(ALIGN) * ALIGN
            } else {
                staged
            };
            let staging = self.staging.as_mut().expect("bytes were staged");
            staging.as_mut_slice()[staged..padded].fill(0);
            self.flush_staging(file, padded)?;
            self.written -= (padded - staged) as u64;
            file.set_len(self.written)?;
        }
        Ok(())
    }

    fn flush_staging(&mut self, file: &mut File, len: usize) -> io::Result<()> {
        self.filled = 0;
        let bytes = &self.staging.as_ref().expect("bytes were staged").as_slice()[..len];
        write_out(file, bytes, &mut self.direct, &mut self.written)
    }
}

/// Write aligned `bytes` at offset `written`, and count them.
fn write_out(
    file: &mut File,
    bytes: &[u8],
    direct: &mut bool,
    written: &mut u64,
) -> io::Result<()> {
    match file.write_all(bytes) {
        Ok(()) => {}
        Err(e) if *direct && is_einval(&e) => {
            // Refused after all (or a short write left an unaligned rest): go on buffered,
            // from where the whole chunks ended.
            make_buffered(file)?;
            *direct = false;
            file.seek(SeekFrom::Start(*written))?;
            file.write_all(bytes)?;
        }
        Err(e) => return Err(e),
    }
    *written += bytes.len() as u64;
    Ok(())
}

/// A stream read on a thread of its own, [`READ_AHEAD`] chunks ahead of its reader: a
/// cached blob read with `O_DIRECT` ([`ReadAhead::open`]; with no page cache there is no
/// kernel read-ahead, so this is it), or a blob as it downloads (a [`Filler`] the caller
/// runs). The thread also takes the stream's sha256 while each chunk is in its hands, so
/// verifying a blob costs no extra copy; see [`ReadAhead::sha256`].
pub struct ReadAhead {
    chunks: Option<mpsc::Receiver<io::Result<(AlignedBuf, usize)>>>,
    recycle: mpsc::Sender<AlignedBuf>,
    current: Option<(AlignedBuf, usize)>,
    position: usize,
    done: bool,
    sha256: Arc<OnceLock<String>>,
    /// The thread [`ReadAhead::open`] started; a [`Filler`]'s caller joins its own.
    thread: Option<std::thread::JoinHandle<()>>,
}

/// The filling side of a [`ReadAhead`], for a thread the caller starts (a scoped one, say).
pub struct Filler {
    sender: mpsc::SyncSender<io::Result<(AlignedBuf, usize)>>,
    recycled: mpsc::Receiver<AlignedBuf>,
    sha256: Arc<OnceLock<String>>,
}

/// A reader and the [`Filler`] that feeds it.
pub fn read_ahead() -> (Filler, ReadAhead) {
    let (sender, chunks) = mpsc::sync_channel(READ_AHEAD);
    let (recycle, recycled) = mpsc::channel::<AlignedBuf>();
    let sha256 = Arc::new(OnceLock::new());
    let filler = Filler {
        sender,
        recycled,
        sha256: Arc::clone(&sha256),
    };
    let reader = ReadAhead {
        chunks: Some(chunks),
        recycle,
        current: None,
        position: 0,
        done: false,
        sha256,
        thread: None,
    };
    (filler, reader)
}

impl ReadAhead {
    pub fn open(path: &Path) -> io::Result<ReadAhead> {
        let mut options = OpenOptions::new();
        options.read(true);
        let (file, direct) = open_direct(&options, path)?;
        let (filler, mut reader) = read_ahead();
        let thread = std::thread::Builder::new()
            .name("cache-read".into())
            .spawn(move || {
                filler.run(&mut DirectFile { file, direct }, &mut |_| {});
            })?;
        reader.thread = Some(thread);
        Ok(reader)
    }

    /// The whole stream's `sha256:<hex>`, set before its last byte is handed over: so it
    /// is there once a read has returned the end of the stream.
    pub fn sha256(&self) -> Arc<OnceLock<String>> {
        Arc::clone(&self.sha256)
    }
}

impl Filler {
    /// Fill whole chunks from `source` until its end or an error, or until the reader is
    /// gone. Each chunk is hashed and given to `also` (a cache copy) before the reader
    /// gets it. Returns the length and `sha256:<hex>` of the whole stream, or `None` when
    /// it was not read to its end.
    pub fn run(self, source: &mut dyn Read, also: &mut dyn FnMut(&[u8])) -> Option<(u64, String)> {
        let mut hasher = Sha256::new();
        let mut total = 0u64;
        loop {
            let mut buf = self
                .recycled
                .try_recv()
                .unwrap_or_else(|_| AlignedBuf::chunk());
            let mut filled = 0;
            // Fill the chunk: a short one is the end of the stream.
            let result = loop {
                if filled == CHUNK {
                    break Ok(());
                }
                match source.read(&mut buf.as_mut_slice()[filled..]) {
                    Ok(0) => break Ok(()),
                    Ok(n) => filled += n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => break Err(e),
                }
            };
            let end = result.is_err() || filled < CHUNK;
            let mut whole = None;
            if result.is_ok() {
                hasher.update(&buf.as_slice()[..filled]);
                also(&buf.as_slice()[..filled]);
                total += filled as u64;
                if end {
                    let digest = format!(
                        "sha256:{}",
                        hex::encode(std::mem::take(&mut hasher).finalize())
                    );
                    let _ = self.sha256.set(digest.clone());
                    whole = Some((total, digest));
                }
            }
            let message = result.map(|()| (buf, filled));
            if self.sender.send(message).is_err() {
                return None;
            }
            if end {
                return whole;
            }
        }
    }
}

/// A file opened by [`open_direct`], turned buffered if a direct read is refused.
struct DirectFile {
    file: File,
    direct: bool,
}

impl Read for DirectFile {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match self.file.read(buf) {
                Err(e) if self.direct && is_einval(&e) => {
                    self.direct = false;
                    make_buffered(&self.file)?;
                }
                other => return other,
            }
        }
    }
}

impl BufRead for ReadAhead {
    /// The rest of the current chunk, in place: a parse reads the blob from the buffer the
    /// read-ahead filled (and hashed, and wrote to the cache from), with no copy of its own.
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        loop {
            if let Some((_, len)) = &self.current {
                if self.position < *len {
                    break;
                }
                let (buf, len) = self.current.take().expect("checked above");
                let _ = self.recycle.send(buf);
                if len < CHUNK {
                    self.done = true;
                }
            }
            if self.done {
                return Ok(&[]);
            }
            let received = self.chunks.as_ref().and_then(|c| c.recv().ok());
            match received {
                Some(Ok(chunk)) => {
                    self.current = Some(chunk);
                    self.position = 0;
                }
                Some(Err(e)) => {
                    self.done = true;
                    return Err(e);
                }
                None => {
                    self.done = true;
                    return Err(io::Error::other("the cache's read-ahead thread stopped"));
                }
            }
        }
        let (buf, len) = self.current.as_ref().expect("a chunk with bytes left");
        Ok(&buf.as_slice()[self.position..*len])
    }

    fn consume(&mut self, amount: usize) {
        if let Some((_, len)) = &self.current {
            self.position = (self.position + amount).min(*len);
        }
    }
}

impl Read for ReadAhead {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        let available = self.fill_buf()?;
        let n = available.len().min(out.len());
        out[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl Drop for ReadAhead {
    fn drop(&mut self) {
        // The thread stops at its next send once the receiver is gone.
        drop(self.chunks.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Spares are handed out again, the last kept first, and no more than `max` are kept.
    #[test]
    fn spares_are_reused_up_to_their_count() {
        let spares = Spares::new(2);
        let bufs: Vec<Vec<u8>> = (0..3).map(|_| vec![0u8; 64]).collect();
        let pointers: Vec<*const u8> = bufs.iter().map(|b| b.as_ptr()).collect();
        for (i, buf) in bufs.into_iter().enumerate() {
            spares.keep(buf, i);
        }
        let (first, start) = spares.take().expect("kept");
        assert_eq!((first.as_ptr(), start), (pointers[1], 1));
        let (second, start) = spares.take().expect("kept");
        assert_eq!((second.as_ptr(), start), (pointers[0], 0));
        assert!(spares.take().is_none(), "the third was over the count");
        // A chunk made from a spare is whole and aligned.
        let chunk = AlignedBuf::chunk();
        assert_eq!(chunk.as_slice().len(), CHUNK);
        assert_eq!(chunk.as_slice().as_ptr().align_offset(ALIGN), 0);
    }

    /// Lengths around the chunk and block boundaries, written and read back.
    #[test]
    fn files_of_any_length_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        for (i, len) in [
            0,
            1,
            ALIGN - 1,
            ALIGN,
            ALIGN + 1,
            CHUNK,
            CHUNK + 7,
            3 * CHUNK - 1,
        ]
        .into_iter()
        .enumerate()
        {
            let data: Vec<u8> = (0..len).map(|b| (b * 7 + b / 4093) as u8).collect();
            // Uneven pieces, as the network hands them over (always staged), and aligned
            // whole chunks, as a download's read-ahead hands them over (written in place).
            for (way, aligned) in [("pieces", false), ("chunks", true)] {
                let path = dir.path().join(format!("f{i}-{way}"));
                let (mut file, direct) = create(&path).unwrap();
                let mut writer = DirectWriter::new(direct);
                if aligned {
                    let mut chunk = AlignedBuf::new(CHUNK);
                    for piece in data.chunks(CHUNK) {
                        let n = chunk.fill(0, piece);
                        writer.write(&mut file, &chunk.as_slice()[..n]).unwrap();
                    }
                } else {
                    for piece in data.chunks(100_003) {
                        writer.write(&mut file, piece).unwrap();
                    }
                }
                writer.finish(&mut file).unwrap();
                drop(file);
                let meta = std::fs::metadata(&path).unwrap();
                assert_eq!(meta.len(), len as u64, "length {len}, {way}");
                assert_eq!(
                    std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o777,
                    0o600
                );
                let mut back = Vec::new();
                let mut reader = ReadAhead::open(&path).unwrap();
                reader.read_to_end(&mut back).unwrap();
                assert!(back == data, "length {len}, {way}: read back differently");
                let expected = format!("sha256:{}", hex::encode(Sha256::digest(&data)));
                assert_eq!(
                    reader.sha256().get(),
                    Some(&expected),
                    "length {len}, {way}"
                );
            }
        }
    }

    /// The reader lends the chunks the read-ahead filled (aligned, whole), in place: the
    /// parse reads the bytes from the buffer they were read and hashed in.
    #[test]
    fn chunks_are_lent_in_place() {
        let data: Vec<u8> = (0..2 * CHUNK + 5).map(|i| (i % 249) as u8).collect();
        let (filler, mut reader) = read_ahead();
        let source = data.clone();
        let thread = std::thread::spawn(move || filler.run(&mut &source[..], &mut |_| {}));
        let mut lengths = Vec::new();
        let mut back = Vec::new();
        loop {
            let buf = reader.fill_buf().unwrap();
            if buf.is_empty() {
                break;
            }
            assert_eq!(buf.as_ptr().align_offset(ALIGN), 0, "a read-ahead chunk");
            lengths.push(buf.len());
            back.extend_from_slice(buf);
            let n = buf.len();
            reader.consume(n);
        }
        assert_eq!(lengths, [CHUNK, CHUNK, 5]);
        assert!(back == data);
        let (length, digest) = thread.join().unwrap().expect("read to its end");
        assert_eq!(length, data.len() as u64);
        assert_eq!(
            digest,
            format!("sha256:{}", hex::encode(Sha256::digest(&data)))
        );
        assert_eq!(reader.sha256().get(), Some(&digest));
    }

    #[test]
    fn a_reader_dropped_early_stops_its_thread() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big");
        std::fs::write(&path, vec![5u8; 16 * CHUNK]).unwrap();
        let mut reader = ReadAhead::open(&path).unwrap();
        let mut first = [0u8; 10];
        reader.read_exact(&mut first).unwrap();
        assert_eq!(first, [5u8; 10]);
        drop(reader); // joins the thread: a hang here fails the test by timeout
    }
}
