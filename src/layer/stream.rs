//! The byte streams of one layer pass, read in chunks that are hashed as they are read.
//! When other cores would wait (a lone or last large layer), a hashing thread digests the
//! chunks while the pass goes on, so sha256 of the stored blob and of the tar costs the
//! decoding thread nothing. When every core has a layer of its own, the chunk is hashed
//! inline, right after it is filled and while it is still in this core's cache: that
//! spares the hand-offs, which then cost CPU and win no time.
//!
//! A [`ChunkReader`] reads its source into a chunk, hashes it (when digests are on) and
//! serves it to its consumer as a [`BufRead`]: the decoder reads the blob's chunks in
//! place, and the tar parser copies out of the tar's chunks once. Chunks are recycled, and
//! a hashing thread's queue is bounded, so memory stays a few chunks per stream whatever
//! the layer's size. A blob that arrives in buffers of its own (a download's read-ahead)
//! and that the pass need not hash is served from those buffers instead ([`InPlace`]).

use super::ParseControl;
use sha2::{Digest, Sha256};
use std::io::{self, BufRead, Read};
use std::sync::atomic::Ordering;
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::Arc;
use std::thread::{Scope, ScopedJoinHandle};

/// Bytes per chunk: large enough that handing a chunk over costs nothing next to hashing
/// it, small enough to stay in the cache while the consumer reads it.
pub const CHUNK: usize = 256 << 10;

/// Chunks queued for the hasher before the reader waits for it.
const QUEUE: usize = 4;

type Chunk = Arc<Vec<u8>>;

/// How a [`ChunkReader`] hashes what it reads.
pub enum Hashing<'scope> {
    Off,
    /// On the reading thread, each chunk right after it is filled, while it is still in
    /// this core's cache: the least CPU, for when every core has a layer of its own.
    Inline(Box<Sha256>),
    /// On a thread of its own, beside the pass: the least wall time, for when cores would
    /// otherwise wait.
    Thread(Hasher<'scope>),
}

impl<'scope> Hashing<'scope> {
    /// Hashing as wanted: off, on this thread, or on a new thread of `scope`.
    pub fn start<'env>(
        wanted: bool,
        inline: bool,
        scope: &'scope Scope<'scope, 'env>,
    ) -> io::Result<Self> {
        Ok(match (wanted, inline) {
            (false, _) => Hashing::Off,
            (true, true) => Hashing::Inline(Box::default()),
            (true, false) => Hashing::Thread(Hasher::spawn(scope)?),
        })
    }

    fn finish(self) -> Option<String> {
        match self {
            Hashing::Off => None,
            Hashing::Inline(sha) => Some(format!("sha256:{}", hex::encode(sha.finalize()))),
            Hashing::Thread(hasher) => hasher.finish(),
        }
    }
}

/// A sha256 of a stream, computed on its own thread from the chunks it is sent.
pub struct Hasher<'scope> {
    chunks: SyncSender<Chunk>,
    /// Chunks the hasher is done with, for reuse.
    done: Receiver<Chunk>,
    thread: ScopedJoinHandle<'scope, Sha256>,
}

impl<'scope> Hasher<'scope> {
    pub fn spawn<'env>(scope: &'scope Scope<'scope, 'env>) -> io::Result<Self> {
        let (chunks, inbox) = mpsc::sync_channel::<Chunk>(QUEUE);
        let (outbox, done) = mpsc::channel::<Chunk>();
        let thread = std::thread::Builder::new()
            .name("layer-sha256".into())
            .spawn_scoped(scope, move || {
                let mut sha = Sha256::new();
                for chunk in inbox {
                    sha.update(chunk.as_slice());
                    // The reader may be gone (the pass failed): the chunk is then dropped.
                    let _ = outbox.send(chunk);
                }
                sha
            })?;
        Ok(Hasher {
            chunks,
            done,
            thread,
        })
    }

    /// Wait for the hasher to digest every chunk sent, and give its `sha256:<hex>`.
    fn finish(self) -> Option<String> {
        drop(self.chunks);
        let sha = self.thread.join().ok()?;
        Some(format!("sha256:{}", hex::encode(sha.finalize())))
    }
}

/// What a [`ChunkReader`] saw of its source.
#[derive(Debug, Default)]
pub struct StreamFacts {
    /// Bytes read from the source.
    pub count: u64,
    /// `sha256:<hex>` of those bytes, when a hasher was given.
    pub digest: Option<String>,
    /// The source failed a read (for the tar stream: the decoder did).
    pub read_failed: bool,
    /// The source reached its end.
    pub ended: bool,
}

/// A [`BufRead`] over `inner` in chunks, each hashed as [`Hashing`] says.
pub struct ChunkReader<'a, 'scope, R> {
    inner: R,
    hasher: Hashing<'scope>,
    /// Counts bytes into the shared progress and stops on cancellation.
    control: Option<&'a ParseControl>,
    chunk: Chunk,
    /// Bytes of `chunk` already consumed.
    pos: usize,
    /// Bytes of `chunk` filled.
    len: usize,
    /// An error met after part of a chunk was filled, for the next fill.
    pending: Option<io::Error>,
    facts: StreamFacts,
}

impl<'a, 'scope, R: Read> ChunkReader<'a, 'scope, R> {
    pub fn new(inner: R, hasher: Hashing<'scope>, control: Option<&'a ParseControl>) -> Self {
        ChunkReader {
            inner,
            hasher,
            control,
            chunk: Arc::new(Vec::new()),
            pos: 0,
            len: 0,
            pending: None,
            facts: StreamFacts::default(),
        }
    }

    /// Stop hashing and report what was read. A stream that was not read to its end has
    /// no digest worth giving; the caller decides.
    pub fn finish(self) -> StreamFacts {
        let mut facts = self.facts;
        drop(self.chunk);
        facts.digest = self.hasher.finish();
        facts
    }

    /// A chunk to fill: the current one if no hasher holds it, else one the hasher is done
    /// with, else a new one (at most `QUEUE` + 2 are ever alive).
    fn empty_chunk(&mut self) -> Vec<u8> {
        let current = std::mem::replace(&mut self.chunk, Arc::new(Vec::new()));
        let reusable = Arc::try_unwrap(current).ok().or_else(|| {
            let Hashing::Thread(hasher) = &self.hasher else {
                return None;
            };
            hasher
                .done
                .try_recv()
                .ok()
                .and_then(|c| Arc::try_unwrap(c).ok())
        });
        let mut chunk = reusable.unwrap_or_default();
        // Every byte is written by a read before it is served; zeroing once per chunk
        // allocation is the price of not using uninitialised memory.
        chunk.resize(CHUNK, 0);
        chunk
    }

    fn refill(&mut self) -> io::Result<()> {
        if let Some(error) = self.pending.take() {
            return Err(error);
        }
        if let Some(control) = self.control {
            if control.cancel.load(Ordering::Relaxed) {
                // Not `Interrupted`: `read_exact` and `io::copy` would retry that forever.
                return Err(io::Error::other("cancelled"));
            }
        }
        let mut chunk = self.empty_chunk();
        let mut filled = 0;
        // Fill the whole chunk (decoders return less than asked), so that the hasher gets
        // few, large pieces.
        while filled < chunk.len() {
            match self.inner.read(&mut chunk[filled..]) {
                Ok(0) => {
                    self.facts.ended = true;
                    break;
                }
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.facts.read_failed = true;
                    if filled == 0 {
                        self.chunk = Arc::new(chunk);
                        return Err(e);
                    }
                    self.pending = Some(e);
                    break;
                }
            }
        }
        chunk.truncate(filled);
        self.facts.count += filled as u64;
        if let Some(control) = self.control {
            control
                .bytes_read
                .fetch_add(filled as u64, Ordering::Relaxed);
        }
        let chunk = Arc::new(chunk);
        match &mut self.hasher {
            Hashing::Off => {}
            Hashing::Inline(sha) => sha.update(chunk.as_slice()),
            Hashing::Thread(hasher) => {
                if filled > 0 && hasher.chunks.send(Arc::clone(&chunk)).is_err() {
                    return Err(io::Error::other("the sha256 thread stopped"));
                }
            }
        }
        self.chunk = chunk;
        self.pos = 0;
        self.len = filled;
        Ok(())
    }
}

impl<R: Read> BufRead for ChunkReader<'_, '_, R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.pos == self.len && !(self.facts.ended && self.pending.is_none()) {
            self.refill()?;
        }
        Ok(&self.chunk[self.pos..self.len])
    }

    fn consume(&mut self, amount: usize) {
        self.pos = (self.pos + amount).min(self.len);
    }
}

impl<R: Read> Read for ChunkReader<'_, '_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        read_from_buffer(self, buf)
    }
}

/// `Read` for a stream whose `BufRead` side does the work: copy what it holds.
fn read_from_buffer(reader: &mut impl BufRead, buf: &mut [u8]) -> io::Result<usize> {
    let available = reader.fill_buf()?;
    let n = available.len().min(buf.len());
    buf[..n].copy_from_slice(&available[..n]);
    reader.consume(n);
    Ok(n)
}

/// A pass's stored-blob stream: read into chunks of the pass's own ([`ChunkReader`]) or
/// lent in place ([`InPlace`]).
pub trait RawStream: BufRead {
    /// What was read of the blob; see [`ChunkReader::finish`].
    fn finish(self: Box<Self>) -> StreamFacts;
}

impl<R: Read> RawStream for ChunkReader<'_, '_, R> {
    fn finish(self: Box<Self>) -> StreamFacts {
        ChunkReader::finish(*self)
    }
}

/// A blob that arrives in buffers of its own (a download's read-ahead chunks) and that the
/// pass need not hash (its source checked the digest): served in place, so the decoder
/// inflates straight from the buffer the bytes were received into, with no copy into a
/// [`ChunkReader`]'s chunk. Counts what is consumed, into the progress as well.
pub struct InPlace<'a, R> {
    inner: R,
    control: &'a ParseControl,
    /// Bytes of the blob seen so far (consumed, and the rest of the last buffer), for the
    /// expansion cap.
    seen: &'a std::cell::Cell<u64>,
    facts: StreamFacts,
}

impl<'a, R: BufRead> InPlace<'a, R> {
    pub fn new(inner: R, seen: &'a std::cell::Cell<u64>, control: &'a ParseControl) -> Self {
        InPlace {
            inner,
            control,
            seen,
            facts: StreamFacts::default(),
        }
    }
}

impl<R: BufRead> BufRead for InPlace<'_, R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.control.cancel.load(Ordering::Relaxed) {
            // Not `Interrupted`, as for a ChunkReader.
            return Err(io::Error::other("cancelled"));
        }
        match self.inner.fill_buf() {
            Ok(buf) => {
                self.facts.ended = buf.is_empty();
                self.seen.set(self.facts.count + buf.len() as u64);
                Ok(buf)
            }
            Err(e) => {
                self.facts.read_failed = true;
                Err(e)
            }
        }
    }

    fn consume(&mut self, amount: usize) {
        self.inner.consume(amount);
        self.facts.count += amount as u64;
        self.control
            .bytes_read
            .fetch_add(amount as u64, Ordering::Relaxed);
    }
}

impl<R: BufRead> Read for InPlace<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        read_from_buffer(self, buf)
    }
}

impl<R: BufRead> RawStream for InPlace<'_, R> {
    fn finish(self: Box<Self>) -> StreamFacts {
        self.facts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Gives at most `step` bytes a read, then fails once `fail_at` bytes were given.
    struct Source {
        data: Vec<u8>,
        at: usize,
        step: usize,
        fail_at: Option<usize>,
    }

    impl Read for Source {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if Some(self.at) == self.fail_at {
                self.fail_at = None;
                return Err(io::Error::other("broken"));
            }
            let end = (self.at + self.step.min(buf.len())).min(self.data.len());
            let end = self.fail_at.map_or(end, |f| end.min(f));
            let n = end - self.at;
            buf[..n].copy_from_slice(&self.data[self.at..end]);
            self.at = end;
            Ok(n)
        }
    }

    fn data(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 31 % 251) as u8).collect()
    }

    #[test]
    fn serves_and_hashes_every_byte() {
        let data = data(5 * CHUNK + 123);
        let expected = format!("sha256:{}", hex::encode(Sha256::digest(&data)));
        for (step, inline) in [1000, CHUNK, 3 * CHUNK]
            .into_iter()
            .flat_map(|step| [(step, false), (step, true)])
        {
            std::thread::scope(|scope| {
                let source = Source {
                    data: data.clone(),
                    at: 0,
                    step,
                    fail_at: None,
                };
                let control = ParseControl::default();
                let hashing = Hashing::start(true, inline, scope).unwrap();
                let mut reader = ChunkReader::new(source, hashing, Some(&control));
                let mut out = Vec::new();
                // Small reads, as the tar parser makes for headers.
                let mut buf = [0u8; 700];
                loop {
                    match reader.read(&mut buf).unwrap() {
                        0 => break,
                        n => out.extend_from_slice(&buf[..n]),
                    }
                }
                assert_eq!(out, data);
                let facts = reader.finish();
                assert_eq!(facts.digest.as_deref(), Some(expected.as_str()));
                assert_eq!(facts.count, data.len() as u64);
                assert_eq!(
                    control.bytes_read.load(Ordering::Relaxed),
                    data.len() as u64
                );
                assert!(facts.ended && !facts.read_failed);
            });
        }
    }

    #[test]
    fn serves_what_came_before_an_error_then_the_error() {
        let data = data(CHUNK + 500);
        std::thread::scope(|scope| {
            let source = Source {
                data: data.clone(),
                at: 0,
                step: 4096,
                fail_at: Some(CHUNK + 100),
            };
            let hashing = Hashing::start(true, false, scope).unwrap();
            let mut reader = ChunkReader::new(source, hashing, None);
            let mut out = Vec::new();
            let error = reader.read_to_end(&mut out).unwrap_err();
            assert_eq!(error.to_string(), "broken");
            assert_eq!(out, data[..CHUNK + 100]);
            let facts = reader.finish();
            assert!(facts.read_failed && !facts.ended);
        });
    }

    /// A lent blob is served from its own buffer, counted as consumed, and stops on
    /// cancellation like a chunked one.
    #[test]
    fn a_lent_stream_is_served_in_place() {
        let data = data(3 * CHUNK + 17);
        let control = ParseControl::default();
        let seen = std::cell::Cell::new(0);
        let source = io::BufReader::with_capacity(CHUNK, &data[..]);
        let mut reader = InPlace::new(source, &seen, &control);
        let mut served = 0;
        loop {
            let buf = reader.fill_buf().unwrap();
            if buf.is_empty() {
                break;
            }
            // The source's buffer itself, not a copy of it.
            let ahead = &data[served..];
            let n = buf.len().min(1000);
            assert_eq!(&buf[..n], &ahead[..n]);
            assert_eq!(seen.get(), (served + buf.len()) as u64);
            reader.consume(n);
            served += n;
            assert_eq!(control.bytes_read.load(Ordering::Relaxed), served as u64);
        }
        assert_eq!(served, data.len());
        let facts = Box::new(reader).finish();
        assert_eq!(facts.count, data.len() as u64);
        assert!(facts.ended && !facts.read_failed && facts.digest.is_none());

        let mut reader = InPlace::new(&data[..], &seen, &control);
        let first = reader.fill_buf().unwrap();
        assert_eq!(first.as_ptr(), data.as_ptr(), "served where it lies");
        control.cancel.store(true, Ordering::Relaxed);
        assert!(reader.fill_buf().is_err());
    }

    #[test]
    fn cancellation_stops_the_next_read() {
        let control = ParseControl::default();
        let source = Source {
            data: data(3 * CHUNK),
            at: 0,
            step: CHUNK,
            fail_at: None,
        };
        let mut reader = ChunkReader::new(source, Hashing::Off, Some(&control));
        assert_eq!(reader.fill_buf().unwrap().len(), CHUNK);
        reader.consume(CHUNK);
        control.cancel.store(true, Ordering::Relaxed);
        assert!(reader.fill_buf().is_err());
    }
}
