//! Registries, through the OCI distribution API: tag → index → platform manifest →
//! config ([`pull`]), then every layer blob read as a verified stream ([`Pull::read_blob`]),
//! which the load parses as it arrives, several at once.
//!
//! Each blob is hashed while it streams in and its length held to its descriptor's; a
//! connection lost mid-blob is resumed with a `Range` request (a bounded number of
//! times). That sha256 cannot be skipped (not even with `--no-verify`), so the load tells
//! the layer parse to trust it and hash only the tar: every stream is hashed once. Each download is read,
//! hashed and copied to the cache on a thread of its own, a few chunks ahead of its parse.
//! Verified blobs are kept in the [`cache`] unless `--no-cache`, whose files are written
//! and read past the page cache ([`direct`]); a cached blob is hashed again as it is read
//! and fetched anew when it does not match. Each blob's bytes and rate are counted in the
//! load's [`Transfers`](crate::source::transfer::Transfers).
//!
//! The client is written on reqwest rather than taken from oci-client: oci-client 0.18
//! reads manifests, token responses and error bodies whole, with no size bound, and has no
//! `Retry-After` handling, while a registry is untrusted input here (see the note in
//! README.md's "What it reads").

pub mod auth;
pub mod cache;
pub mod client;
pub mod deadlines;
mod direct;
pub mod scrub;
use direct::ReadAhead;

use crate::error::{Error, Result};
use crate::source::transfer::{Transfer, Transfers};
use crate::source::Source;
use bytes::{Buf, Bytes};
use cache::{BlobWriter, Cache};
use client::{Client, Failure};
use deadlines::{RateFloor, TimeLimits};
use oci_spec::distribution::Reference;

use std::fmt;
use std::io::{self, BufRead, Read};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

/// Reconnections tried for one blob after its connection broke.
const RESUME_RETRIES: u32 = 5;
/// How to reach registries.
#[derive(Clone, Default)]
pub struct RegistryOptions {
    /// `--creds USER[:PASS]`: used before any auth file.
    pub creds: Option<String>,
    /// `--insecure-registry HOST`: hosts spoken to over plain HTTP (besides loopback).
    pub insecure: Vec<String>,
    /// `--no-cache`: keep no blobs on disk.
    pub no_cache: bool,
    /// `--registry-timeout`, `--speed-limit`, `--speed-time`, `--wait-budget`.
    pub limits: TimeLimits,
}

// Credentials never appear in output: not even in debug output.
impl fmt::Debug for RegistryOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RegistryOptions")
            .field("creds", &self.creds.as_ref().map(|_| "<redacted>"))
            .field("insecure", &self.insecure)
            .field("no_cache", &self.no_cache)
            .field("limits", &self.limits)
            .finish()
    }
}

/// Most tags [`tags`] lists for one repository: past it, the listing is refused rather
/// than cut, since a set missing some tags would mislead.
pub const MAX_TAGS: usize = 10_000;

/// Tags asked for per page of the tag list (`?n=`); the registry may send fewer.
pub const TAGS_PAGE: usize = 100;

/// Every tag of `reference`'s repository, through the distribution API's tag list
/// (`GET /v2/<name>/tags/list`), following its `Link` pages, in the registry's order.
/// At most [`MAX_TAGS`] tags; a page that repeats one, or no tags on a page that links
/// on, ends in an error rather than a loop.
pub fn tags(reference: &Reference, options: &RegistryOptions, page: usize) -> Result<Vec<String>> {
    let client = client(reference, options)?;
    #[derive(serde::Deserialize)]
    struct TagList {
        tags: Option<Vec<String>>,
    }
    let mut tags = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut path = format!("tags/list?n={}", page.max(1));
    loop {
        let what = "the tag list";
        let (bytes, _, next) = client.get_linked_document(what, &path, &["application/json"])?;
        let list: TagList = serde_json::from_slice(&bytes)
            .map_err(|e| client.error(format!("{what}: not a tag list: {e}")))?;
        let page_tags = list.tags.unwrap_or_default();
        if page_tags.is_empty() && next.is_some() {
            return Err(client.error(format!("{what}: an empty page links to another; refused")));
        }
        for tag in page_tags {
            if !seen.insert(tag.clone()) {
                return Err(client.error(format!(
                    "{what}: tag {} listed twice; refused",
                    crate::escape::escape_str(&tag)
                )));
            }
            tags.push(tag);
        }
        if tags.len() > MAX_TAGS {
            return Err(client.error(format!(
                "{what}: more than {MAX_TAGS} tags, layerscope's limit; refused"
            )));
        }
        match next {
            Some(next) => path = next,
            None => return Ok(tags),
        }
    }
}

/// A registry that holds one image: how its layer blobs are read. The load reads them,
/// several at once, and parses each as it streams in.
pub struct Pull {
    client: Client,
    cache: Option<Cache>,
}

/// A client for `reference`'s repository, with the credentials found for it and the
/// options' limits.
fn client(reference: &Reference, options: &RegistryOptions) -> Result<Client> {
    let credential = auth::find(
        reference.registry(),
        reference.repository(),
        options.creds.as_deref(),
    )?;
    Ok(Client::new(
        reference.registry(),
        reference.repository(),
        credential,
        &options.insecure,
    )?
    .with_limits(options.limits))
}

/// The client and blob cache for `reference`'s repository. No request is made yet: the
/// image's description is read through [`Pull::client`] (by the image layer's `registry` module),
/// and its blobs with [`Pull::read_blob`].
pub fn connect(reference: &Reference, options: &RegistryOptions) -> Result<Pull> {
    let cache = if options.no_cache {
        None
    } else {
        Cache::user()
    };
    Ok(Pull {
        client: client(reference, options)?,
        cache,
    })
}

/// One layer blob to read: what its descriptor says.
#[derive(Debug, Clone, Copy)]
pub struct Blob<'a> {
    /// The layer's index in the image, for progress and messages.
    pub index: usize,
    pub digest: &'a str,
    pub size: u64,
}

impl Pull {
    /// The client the image's documents are read with.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Read a layer's blob with `consume`: from the cache when it holds the blob (and it
    /// verifies), else from the registry, hashed as it streams in and held to its
    /// descriptor's size and digest. The outer error is the blob's or the transport's; the
    /// inner one is `consume`'s own, on a blob that was whole. `consume` may run twice: a
    /// cached copy that turns out damaged is dropped and the blob fetched anew.
    pub fn read_blob<T, E>(
        &self,
        blob: Blob,
        transfers: &Transfers,
        cancel: &AtomicBool,
        consume: &dyn Fn(&mut dyn BufRead) -> std::result::Result<T, E>,
    ) -> Result<std::result::Result<T, E>> {
        let client = &self.client;
        let Blob {
            index,
            digest,
            size,
        } = blob;
        let what = format!("layer {index} blob {digest}");
        if let Some(path) = self.cache.as_ref().and_then(|c| c.lookup(digest, size)) {
            if let Ok(file) = cache::open_blob(&path) {
                let transfer = transfers.start(index, size, true);
                // The read-ahead thread hashes the file as it reads it.
                let sha256 = file.sha256();
                let reader = Verified::new(client, &what, digest, size, file, sha256, transfer);
                match read_verified(reader, cancel, consume) {
                    Ok(read) => return Ok(read),
                    // A damaged cache entry is dropped and fetched again.
                    Err(ParseFailure::Blob(_)) => {
                        let _ = std::fs::remove_file(&path);
                    }
                    Err(ParseFailure::Other(error)) => return Err(error),
                }
            }
        }
        let stream = Resuming {
            client,
            lane: client.lane()?,
            what: what.clone(),
            digest: digest.to_string(),
            size,
            position: 0,
            skip: 0,
            response: None,
            pending: Bytes::new(),
            retries: 0,
            floor: RateFloor::new(client.limits()),
            cancel,
        };
        let writer = self.cache.as_ref().and_then(|c| c.writer(digest));
        let transfer = transfers.start(index, size, false);
        let read = fetch(stream, digest, size, writer, |fetched| {
            let sha256 = fetched.sha256();
            let reader = Verified::new(client, &what, digest, size, fetched, sha256, transfer);
            read_verified(reader, cancel, consume)
        })
        .map_err(|e| Error::io("the blob's download thread", e))?;
        read.map_err(|failure| match failure {
            ParseFailure::Blob(error) | ParseFailure::Other(error) => error,
        })
    }

    /// With every blob cached, the cache opens as a source for file contents (extraction,
    /// diffs). The cache is trimmed to its cap first.
    pub fn cached_source(&self, blobs: &[Blob]) -> Option<Source> {
        let cache = self.cache.as_ref()?;
        cache.enforce_cap();
        blobs
            .iter()
            .all(|blob| cache.lookup(blob.digest, blob.size).is_some())
            .then(|| Source::open(&cache.root().display().to_string()).ok())
            .flatten()
    }
}

/// Read a download on a thread of its own, a few chunks ahead of `consume`, which reads
/// it: the thread hashes each chunk and writes the cache copy from it, so the parse only
/// parses. The copy is kept only when the stream was whole, of `size` bytes and `digest`.
fn fetch<T>(
    mut stream: impl Read + Send,
    digest: &str,
    size: u64,
    mut writer: Option<BlobWriter>,
    consume: impl FnOnce(ReadAhead) -> T,
) -> io::Result<T> {
    let (filler, fetched) = direct::read_ahead();
    std::thread::scope(|scope| {
        std::thread::Builder::new()
            .name("blob-fetch".into())
            .spawn_scoped(scope, move || {
                let whole = filler.run(&mut stream, &mut |bytes| {
                    if let Some(writer) = &mut writer {
                        writer.write(bytes);
                    }
                });
                if let (Some(writer), Some((length, actual))) = (writer, whole) {
                    if length == size && actual == digest {
                        writer.commit();
                    }
                }
            })?;
        // The thread ends once `consume` drops the reader, at its next hand-over.
        Ok(consume(fetched))
    })
}

enum ParseFailure {
    /// The blob itself was wrong: too long, too short, or not matching its digest.
    Blob(Error),
    Other(Error),
}

/// Read the blob `reader` verifies with `consume`. A blob that was wrong (too long, too
/// short, not matching its digest) or a transport failure is the error; `consume`'s own
/// error, on a whole blob, is handed back as it is. A blob not read to its end by
/// `consume` (a truncated tar inside a whole blob) is drained, so that it is verified.
fn read_verified<R: BufRead, T, E>(
    mut reader: Verified<'_, R>,
    cancel: &AtomicBool,
    consume: &dyn Fn(&mut dyn BufRead) -> std::result::Result<T, E>,
) -> std::result::Result<std::result::Result<T, E>, ParseFailure> {
    let result = consume(&mut reader);
    if result.is_err() && !cancel.load(Ordering::Relaxed) {
        // A parse that failed may have been fed damaged bytes: read the rest to find out
        // (bounded by the descriptor's size), so the digest is what gets reported.
        let _ = io::copy(&mut reader, &mut io::sink());
    }
    if let Some(error) = reader.take_failure() {
        return Err(error);
    }
    if result.is_err() {
        return Ok(result);
    }
    if !reader.verified {
        // The parse stopped before the end (a truncated tar inside a whole blob).
        let _ = io::copy(&mut reader, &mut io::sink());
        if let Some(error) = reader.take_failure() {
            return Err(error);
        }
    }
    if !reader.verified {
        // Only a failure stops a drain before the blob's end, and it was reported above.
        return Err(ParseFailure::Other(
            reader
                .client
                .error(format!("{}: not read to its end", reader.what)),
        ));
    }
    Ok(result)
}

enum BlobError {
    Content(Error),
    Transport(Error),
}

/// Lends a blob's read-ahead chunks to the parse ([`BufRead`]), counts what it consumes,
/// and holds it to its descriptor's size and digest (the sha256 its read-ahead thread
/// took): the end of the stream is only reported once it matched. A failure is kept for the caller and the read fails, so the parse
/// stops; the caller reports the kept error rather than the parser's.
struct Verified<'a, R> {
    client: &'a Client,
    what: String,
    digest: String,
    size: u64,
    inner: R,
    count: u64,
    /// Set by the reader's read-ahead thread before it hands over the last byte.
    sha256: Arc<OnceLock<String>>,
    transfer: Arc<Transfer>,
    failure: Arc<Mutex<Option<BlobError>>>,
    verified: bool,
}

impl<'a, R: BufRead> Verified<'a, R> {
    fn new(
        client: &'a Client,
        what: &str,
        digest: &str,
        size: u64,
        inner: R,
        sha256: Arc<OnceLock<String>>,
        transfer: Arc<Transfer>,
    ) -> Self {
        Verified {
            client,
            what: what.to_string(),
            digest: digest.to_string(),
            size,
            inner,
            count: 0,
            sha256,
            transfer,
            failure: Arc::new(Mutex::new(None)),
            verified: false,
        }
    }

    fn take_failure(&mut self) -> Option<ParseFailure> {
        let error = self.failure.lock().unwrap().take()?;
        Some(match error {
            BlobError::Content(error) => ParseFailure::Blob(error),
            BlobError::Transport(error) => ParseFailure::Other(error),
        })
    }

    fn fail(&mut self, error: BlobError) -> io::Error {
        let message = match &error {
            BlobError::Content(e) | BlobError::Transport(e) => e.to_string(),
        };
        self.transfer.finish();
        let mut slot = self.failure.lock().unwrap();
        if slot.is_none() {
            *slot = Some(error);
        }
        io::Error::other(message)
    }

    /// The stream ended: is it the whole blob, with the right digest?
    fn check_end(&mut self) -> io::Result<()> {
        if self.count < self.size {
            let error = self.client.error(format!(
                "{} ends after {} of its {} bytes",
                self.what, self.count, self.size
            ));
            return Err(self.fail(BlobError::Content(error)));
        }
        let Some(actual) = self.sha256.get().cloned() else {
            let error = self
                .client
                .error(format!("{}: not hashed to its end", self.what));
            return Err(self.fail(BlobError::Transport(error)));
        };
        if actual != self.digest {
            let error = self.client.error(format!(
                "{}: digest mismatch: the registry sent bytes hashing to {actual}",
                self.what
            ));
            return Err(self.fail(BlobError::Content(error)));
        }
        self.verified = true;
        self.transfer.finish();
        Ok(())
    }
}

impl<R: BufRead> BufRead for Verified<'_, R> {
    /// The blob's next bytes, in its read-ahead's buffer. The end is only reported once
    /// the blob was whole and matched its digest; bytes past its size fail it at once.
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.failure.lock().unwrap().is_some() {
            return Err(io::Error::other("blob failed"));
        }
        if self.verified {
            return Ok(&[]);
        }
        let available = match self.inner.fill_buf() {
            Ok(buf) => buf.len() as u64,
            Err(e) => {
                let error = match e.downcast::<Error>() {
                    Ok(error) => error,
                    Err(e) => self.client.error(format!("{}: {e}", self.what)),
                };
                return Err(self.fail(BlobError::Transport(error)));
            }
        };
        if self.count + available > self.size {
            let error = self.client.error(format!(
                "{} is longer than the {} bytes its descriptor says",
                self.what, self.size
            ));
            return Err(self.fail(BlobError::Content(error)));
        }
        if available == 0 {
            self.check_end()?;
            return Ok(&[]);
        }
        // The same bytes again: a read-ahead hands its current chunk out until consumed.
        self.inner.fill_buf()
    }

    fn consume(&mut self, amount: usize) {
        self.inner.consume(amount);
        self.count += amount as u64;
        self.transfer.add(amount as u64);
    }
}

impl<R: BufRead> Read for Verified<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let available = self.fill_buf()?;
        let n = available.len().min(buf.len());
        buf[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

/// A blob's response body that reconnects with `Range: bytes=N-` when the connection
/// breaks, a bounded number of times, and stops retrying once the load is cancelled.
struct Resuming<'a> {
    client: &'a Client,
    lane: client::Lane<'a>,
    what: String,
    digest: String,
    size: u64,
    /// Bytes of the blob handed out so far.
    position: u64,
    /// Bytes at the start of the response to drop (the server ignored the range).
    skip: u64,
    response: Option<reqwest::Response>,
    /// The rest of the last piece of body.
    pending: Bytes,
    retries: u32,
    /// The blob's minimum rate (`--speed-limit` over `--speed-time`).
    floor: RateFloor,
    cancel: &'a AtomicBool,
}

impl Resuming<'_> {
    fn connect(&mut self) -> io::Result<()> {
        if self.cancel.load(Ordering::Relaxed) {
            return Err(io::Error::other(Error::Interrupted));
        }
        let response = self
            .lane
            .get(
                &self.what,
                &format!("blobs/{}", self.digest),
                &[],
                self.position,
            )
            .map_err(io::Error::other)?;
        self.skip =
            if self.position > 0 && response.status() != reqwest::StatusCode::PARTIAL_CONTENT {
                self.position
            } else {
                0
            };
        self.response = Some(response);
        Ok(())
    }

    /// Drop the connection and wait before the next try, out of the pull's wait budget.
    fn retry(&mut self, base_ms: u64) -> io::Result<()> {
        self.response = None;
        self.retries += 1;
        let wait = std::time::Duration::from_millis(base_ms << self.retries.min(4));
        self.client.pause(wait).map_err(|why| {
            io::Error::other(self.client.error(format!(
                "{}: the connection broke after {} of {} bytes; {why}",
                self.what, self.position, self.size
            )))
        })
    }

    /// The next piece of body, held to the rate floor.
    fn chunk(&mut self) -> std::result::Result<Option<Bytes>, Failure> {
        let response = self.response.as_mut().expect("connected before reading");
        let started = std::time::Instant::now();
        let piece = self.lane.http().chunk(response, self.floor.allowance());
        let got = match &piece {
            Ok(Some(piece)) => piece.len() as u64,
            _ => 0,
        };
        if matches!(piece, Err(Failure::Late)) || !self.floor.record(started.elapsed(), got) {
            return Err(Failure::Late);
        }
        piece
    }

    /// The blob kept below its rate floor.
    fn too_slow(&self) -> io::Error {
        io::Error::other(self.client.error(format!(
            "{}: {} (--speed-limit and --speed-time set the floor)",
            self.what,
            self.floor.describe()
        )))
    }
}

impl Read for Resuming<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if !self.pending.is_empty() {
                let n = self.pending.len().min(buf.len());
                buf[..n].copy_from_slice(&self.pending[..n]);
                self.pending.advance(n);
                self.position += n as u64;
                return Ok(n);
            }
            if buf.is_empty() {
                return Ok(0);
            }
            if self.response.is_none() {
                match self.connect() {
                    Ok(()) => {}
                    Err(_)
                        if self.position > 0
                            && self.retries < RESUME_RETRIES
                            && !self.client.gave_up() =>
                    {
                        self.retry(200)?;
                        continue;
                    }
                    Err(e) => return Err(e),
                }
            }
            match self.chunk() {
                Ok(Some(mut piece)) => {
                    let dropped = self.skip.min(piece.len() as u64) as usize;
                    piece.advance(dropped);
                    self.skip -= dropped as u64;
                    self.pending = piece;
                }
                Ok(None) if self.skip > 0 => {
                    return Err(io::Error::other(self.client.error(format!(
                        "{} ends after {} bytes on a retry",
                        self.what,
                        self.position - self.skip
                    ))));
                }
                Ok(None) if self.position < self.size && self.retries < RESUME_RETRIES => {
                    // Cut short: reconnect from here.
                    self.response = None;
                    self.retries += 1;
                }
                Ok(None) => return Ok(0),
                Err(Failure::Late) => return Err(self.too_slow()),
                Err(_) if self.retries < RESUME_RETRIES && !self.cancel.load(Ordering::Relaxed) => {
                    self.retry(100)?;
                }
                Err(Failure::Http(e)) => {
                    return Err(io::Error::other(self.client.error(format!(
                        "{}: the connection broke after {} of {} bytes and {} retries ({})",
                        self.what,
                        self.position,
                        self.size,
                        self.retries,
                        client::describe(&e)
                    ))))
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    fn sha(bytes: &[u8]) -> String {
        format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
    }

    /// Reads `blob` through a `Verified` that expects `digest` and `size`, caching into
    /// `cache`; returns what the read gave and the kept failure.
    fn read_verified(
        blob: &[u8],
        digest: &str,
        size: u64,
        cache: Option<&Cache>,
    ) -> (Vec<u8>, bool, Option<String>) {
        let client = Client::new("registry.invalid", "repo", None, &[]).unwrap();
        let writer = cache.and_then(|c| c.writer(digest));
        // Short reads, as a socket gives them.
        let stream = io::Read::chain(&blob[..blob.len() / 3], &blob[blob.len() / 3..]);
        fetch(stream, digest, size, writer, |fetched| {
            let sha256 = fetched.sha256();
            drain(&client, digest, size, fetched, sha256, false)
        })
        .unwrap()
    }

    /// Read a [`Verified`] blob to its end: the bytes, whether it verified, the failure.
    fn drain<R: BufRead>(
        client: &Client,
        digest: &str,
        size: u64,
        inner: R,
        sha256: Arc<OnceLock<String>>,
        cached: bool,
    ) -> (Vec<u8>, bool, Option<String>) {
        let transfers = crate::source::transfer::Transfers::default();
        let transfer = transfers.start(0, size, cached);
        let mut reader = Verified::new(
            client,
            "layer 0 blob",
            digest,
            size,
            inner,
            sha256,
            transfer,
        );
        let mut out = Vec::new();
        let _ = reader.read_to_end(&mut out);
        let failure = reader.take_failure().map(|f| match f {
            ParseFailure::Blob(e) | ParseFailure::Other(e) => e.to_string(),
        });
        let status = &transfers.snapshot()[0];
        assert!(status.done, "the transfer ends with the blob");
        (out, reader.verified, failure)
    }

    #[test]
    fn a_download_is_verified_on_its_own_thread_and_cached_only_when_it_matches() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::at(dir.path());
        // More than one hand-over chunk, and not a multiple of it.
        let blob: Vec<u8> = (0..direct::CHUNK * 2 + 4321)
            .map(|i| (i * 7 % 251) as u8)
            .collect();
        let digest = sha(&blob);
        let size = blob.len() as u64;

        let (out, verified, failure) = read_verified(&blob, &digest, size, Some(&cache));
        assert_eq!((out == blob, verified, failure), (true, true, None));
        let cached = cache.lookup(&digest, size).expect("kept in the cache");
        assert_eq!(std::fs::read(cached).unwrap(), blob);

        // One flipped byte: a digest mismatch, and nothing cached.
        let mut bad = blob.clone();
        bad[direct::CHUNK + 5] ^= 1;
        let other = format!("sha256:{}", "0".repeat(64));
        let dir = tempfile::tempdir().unwrap();
        let fresh = Cache::at(dir.path());
        let (_, verified, failure) = read_verified(&bad, &other, size, Some(&fresh));
        let failure = failure.expect("a mismatch fails");
        assert!(!verified);
        assert!(failure.contains("digest mismatch") && failure.contains(&sha(&bad)));
        assert!(failure.contains("registry.invalid/repo"), "{failure}");
        assert!(
            fresh.lookup(&other, size).is_none(),
            "an unverified blob was cached"
        );

        // Longer or shorter than the descriptor says.
        let (_, _, failure) = read_verified(&blob, &digest, size - 1, None);
        assert!(failure.unwrap().contains("is longer than"));
        let (_, _, failure) = read_verified(&blob, &digest, size + 1, None);
        assert!(failure.unwrap().contains("ends after"));
    }

    /// A cache hit is hashed by the cache's read-ahead thread: a cached file damaged on disk
    /// (same length, one byte changed) fails as a digest mismatch, not as a good blob.
    #[test]
    fn a_cached_blob_is_verified_by_its_read_ahead() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::at(dir.path());
        let blob: Vec<u8> = (0..3 * direct::CHUNK + 99)
            .map(|i| (i % 253) as u8)
            .collect();
        let digest = sha(&blob);
        let size = blob.len() as u64;
        let mut writer = cache.writer(&digest).unwrap();
        writer.write(&blob);
        writer.commit();
        let client = Client::new("registry.invalid", "repo", None, &[]).unwrap();
        let read = |path: &std::path::Path| {
            let file = cache::open_blob(path).unwrap();
            let sha256 = file.sha256();
            drain(&client, &digest, size, file, sha256, true)
        };
        let path = cache.lookup(&digest, size).expect("cached");
        let (out, verified, failure) = read(&path);
        assert_eq!((out == blob, verified, failure), (true, true, None));

        let mut damaged = blob.clone();
        damaged[2 * direct::CHUNK + 1] ^= 0x40;
        std::fs::write(&path, &damaged).unwrap();
        let (_, verified, failure) = read(&path);
        assert!(!verified);
        let failure = failure.expect("a damaged cache file fails");
        assert!(
            failure.contains("digest mismatch") && failure.contains(&sha(&damaged)),
            "{failure}"
        );
    }
}
