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
use crate::image::history::pair_history;
use crate::image::{Format, Image, ImageConfig, LayerRef, Platform};
use crate::source::transfer::{Transfer, Transfers};
use crate::source::Source;
use bytes::{Buf, Bytes};
use cache::{BlobWriter, Cache};
use client::{Client, Failure, DOCUMENT_LIMIT, MANIFEST_TYPES};
use deadlines::{RateFloor, TimeLimits};
use oci_spec::distribution::Reference;
use oci_spec::image::{Descriptor, ImageIndex, ImageManifest};
use sha2::{Digest, Sha256};
use std::fmt;
use std::io::{self, Read};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

/// Nested indexes deeper than this are refused.
const MAX_INDEX_DEPTH: usize = 8;
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

/// Reach the registry, resolve `reference` to one image (for `platform`), and read the
/// image's description.
pub fn pull(
    reference: &Reference,
    options: &RegistryOptions,
    platform: Option<&str>,
) -> Result<(Pull, Image)> {
    let pull = connect(reference, options)?;
    let image = open(&pull.client, reference, platform)?;
    Ok((pull, image))
}

/// The blob reader for `reference`'s repository without a request made: for an image whose
/// description an earlier [`pull`] read (a set of images is described first, then loaded).
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

impl Pull {
    /// Read layer `index`'s blob with `consume`: from the cache when it holds the blob
    /// (and it verifies), else from the registry, hashed as it streams in and held to its
    /// descriptor's size and digest. `None` when the layer has no blob to read (a foreign
    /// layer). The outer error is the blob's or the transport's; the inner one is
    /// `consume`'s own, on a blob that was whole. `consume` may run twice: a cached copy
    /// that turns out damaged is dropped and the blob fetched anew.
    pub fn read_blob<T, E>(
        &self,
        image: &Image,
        index: usize,
        transfers: &Transfers,
        cancel: &AtomicBool,
        consume: &dyn Fn(&mut dyn Read) -> std::result::Result<T, E>,
    ) -> Result<Option<std::result::Result<T, E>>> {
        let client = &self.client;
        let layer = &image.layers[index];
        let (Some(digest), Some(size), None) = (&layer.digest, layer.size, &layer.unavailable)
        else {
            return Ok(None);
        };
        let what = format!("layer {index} blob {digest}");
        if let Some(path) = self.cache.as_ref().and_then(|c| c.lookup(digest, size)) {
            if let Ok(file) = cache::open_blob(&path) {
                let transfer = transfers.start(index, size, true);
                // The read-ahead thread hashes the file as it reads it.
                let sha256 = file.sha256();
                let reader = Verified::new(client, &what, digest, size, file, sha256, transfer);
                match read_verified(reader, cancel, consume) {
                    Ok(read) => return Ok(Some(read)),
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
            digest: digest.clone(),
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
        read.map(Some).map_err(|failure| match failure {
            ParseFailure::Blob(error) | ParseFailure::Other(error) => error,
        })
    }

    /// With every blob of `image` cached, the cache opens as a source for file contents
    /// (extraction, diffs). The cache is trimmed to its cap first.
    pub fn cached_source(&self, image: &Image) -> Option<Source> {
        let cache = self.cache.as_ref()?;
        cache.enforce_cap();
        let all_cached = image
            .layers
            .iter()
            .all(|layer| match (&layer.digest, layer.size) {
                (Some(digest), Some(size)) => cache.lookup(digest, size).is_some(),
                _ => layer.unavailable.is_some(),
            });
        all_cached
            .then(|| Source::open(&cache.root().display().to_string()).ok())
            .flatten()
    }
}

/// Resolve the reference to one image manifest and read its config.
fn open(client: &Client, reference: &Reference, platform: Option<&str>) -> Result<Image> {
    let wanted = platform
        .map(|text| {
            Platform::parse(text).ok_or_else(|| {
                Error::Usage(format!(
                    "--platform {text:?}: expected os/arch[/variant], e.g. linux/arm64"
                ))
            })
        })
        .transpose()?;
    let tag_or_digest = reference
        .digest()
        .or(reference.tag())
        .unwrap_or("latest")
        .to_string();
    let mut what = format!("manifest {tag_or_digest}");
    let (mut bytes, mut media_type) = client.get_document(
        &what,
        &format!("manifests/{tag_or_digest}"),
        &MANIFEST_TYPES,
    )?;
    if let Some(digest) = reference.digest() {
        check_digest(client, &what, digest, &bytes)?;
    }
    let mut platforms = Vec::new();
    let mut chosen_platform = None;
    let mut depth = 0;
    let manifest = loop {
        match examine(client, &what, &media_type, &bytes, wanted.as_ref())? {
            Step::Manifest(manifest) => break manifest,
            Step::Follow {
                digest,
                platform,
                available,
            } => {
                depth += 1;
                if depth > MAX_INDEX_DEPTH {
                    return Err(
                        client.error(format!("indexes nested more than {MAX_INDEX_DEPTH} deep"))
                    );
                }
                platforms = available;
                chosen_platform = platform;
                what = format!("manifest {digest}");
                (bytes, media_type) =
                    client.get_document(&what, &format!("manifests/{digest}"), &MANIFEST_TYPES)?;
                check_digest(client, &what, &digest, &bytes)?;
            }
        }
    };

    let config_digest = manifest.config().digest().to_string();
    let config_what = format!("config {config_digest}");
    if manifest.config().size() > DOCUMENT_LIMIT {
        return Err(client.error(format!(
            "{config_what} is larger than {} MiB; refused",
            DOCUMENT_LIMIT >> 20
        )));
    }
    let (config_bytes, _) =
        client.get_document(&config_what, &format!("blobs/{config_digest}"), &[])?;
    check_digest(client, &config_what, &config_digest, &config_bytes)?;
    let config: ImageConfig = serde_json::from_slice(&config_bytes)
        .map_err(|e| client.error(format!("{config_what}: invalid image config: {e}")))?;

    let diff_ids = config.diff_ids();
    let mut warnings = Vec::new();
    if diff_ids.len() != manifest.layers().len() {
        warnings.push(format!(
            "the manifest lists {} layers but the config has {} diff_ids",
            manifest.layers().len(),
            diff_ids.len()
        ));
    }
    let mut layers = Vec::with_capacity(manifest.layers().len());
    for (index, descriptor) in manifest.layers().iter().enumerate() {
        let digest = descriptor.digest().to_string();
        let media_type = descriptor.media_type().to_string();
        if !crate::image::is_layer_media_type(&media_type) {
            return Err(client.error(format!(
                "layer {index} ({digest}): unsupported media type {media_type:?}"
            )));
        }
        let member = Cache::member(&digest).ok_or_else(|| {
            client.error(format!(
                "layer {index}: digest {:?} is not sha256",
                crate::escape::escape_str(&digest)
            ))
        })?;
        let foreign = crate::image::is_foreign_media_type(&media_type)
            || descriptor.urls().as_ref().is_some_and(|u| !u.is_empty());
        layers.push(LayerRef {
            index,
            member: (!foreign).then_some(member),
            media_type: Some(media_type),
            digest: Some(digest),
            diff_id: diff_ids.get(index).cloned(),
            size: Some(descriptor.size()),
            unavailable: foreign.then(|| "foreign layer: not served by the registry".to_string()),
            writable: None,
        });
    }
    let platform = chosen_platform.or_else(|| config.platform());
    let history = pair_history(&config.history, layers.len());
    if let Some(warning) = history.warning.clone() {
        warnings.push(warning);
    }
    Ok(Image {
        source: reference.whole(),
        format: Format::Registry,
        tags: vec![reference.whole()],
        other_images: Vec::new(),
        platform,
        platforms,
        config,
        config_digest: Some(config_digest),
        layers,
        history,
        warnings,
    })
}

/// What a manifest response leads to.
pub enum Step {
    /// An image manifest: the end of the walk.
    Manifest(Box<ImageManifest>),
    /// An index: fetch the chosen entry next.
    Follow {
        digest: String,
        platform: Option<Platform>,
        available: Vec<Platform>,
    },
}

/// Read one manifest response (already size-bounded): an image manifest, or an index
/// and the entry `wanted` (or the host's platform) chooses. Untrusted bytes: this is what
/// the `registry_documents` fuzz target drives.
pub fn examine(
    client: &Client,
    what: &str,
    media_type: &str,
    bytes: &[u8],
    wanted: Option<&Platform>,
) -> Result<Step> {
    match document_kind(media_type, bytes) {
        Kind::Index => {
            let index = parse_index(client, what, bytes)?;
            let (descriptor, platform) = choose_platform(client, &index, wanted)?;
            Ok(Step::Follow {
                digest: descriptor.digest().to_string(),
                platform,
                available: index_platforms(&index),
            })
        }
        Kind::Manifest => serde_json::from_slice(bytes)
            .map(|m| Step::Manifest(Box::new(m)))
            .map_err(|e| client.error(format!("{what}: invalid manifest: {e}"))),
        Kind::Unknown(found) => Err(client.error(format!(
            "{what}: unknown manifest media type {found:?} (layerscope reads OCI and Docker v2 images)"
        ))),
    }
}

enum Kind {
    Index,
    Manifest,
    Unknown(String),
}

/// What a manifest response is: by its Content-Type, else by its `mediaType` field, else
/// by its shape.
fn document_kind(content_type: &str, bytes: &[u8]) -> Kind {
    #[derive(serde::Deserialize)]
    struct Probe {
        #[serde(rename = "mediaType")]
        media_type: Option<String>,
        manifests: Option<serde_json::Value>,
        layers: Option<serde_json::Value>,
    }
    let probe: Option<Probe> = serde_json::from_slice(bytes).ok();
    let declared = probe.as_ref().and_then(|p| p.media_type.clone());
    let media_type = match declared {
        Some(t) if !t.is_empty() => t,
        _ => content_type.to_string(),
    };
    let by_type = |t: &str| {
        if t.ends_with("image.index.v1+json") || t.ends_with("manifest.list.v2+json") {
            Some(Kind::Index)
        } else if t.ends_with("image.manifest.v1+json")
            || t.ends_with("distribution.manifest.v2+json")
        {
            Some(Kind::Manifest)
        } else {
            None
        }
    };
    if let Some(kind) = by_type(&media_type) {
        return kind;
    }
    // A registry may answer `application/json` for a document without `mediaType`.
    if media_type.is_empty() || media_type == "application/json" {
        match &probe {
            Some(p) if p.manifests.is_some() => return Kind::Index,
            Some(p) if p.layers.is_some() => return Kind::Manifest,
            _ => {}
        }
    }
    Kind::Unknown(crate::escape::escape_str(&media_type).into_owned())
}

fn parse_index(client: &Client, what: &str, bytes: &[u8]) -> Result<ImageIndex> {
    let mut value: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|e| client.error(format!("{what}: invalid index: {e}")))?;
    if let Some(object) = value.as_object_mut() {
        if object.get("manifests").is_none_or(|m| m.is_null()) {
            object.insert("manifests".into(), serde_json::Value::Array(Vec::new()));
        }
        object
            .entry("schemaVersion")
            .or_insert(serde_json::Value::from(2));
    }
    serde_json::from_value(value).map_err(|e| client.error(format!("{what}: invalid index: {e}")))
}

fn descriptor_platform(descriptor: &Descriptor) -> Option<Platform> {
    descriptor.platform().as_ref().map(|p| Platform {
        os: p.os().to_string(),
        architecture: p.architecture().to_string(),
        variant: p.variant().clone(),
    })
}

/// Entries that are images (attestations and `unknown/unknown` are not).
fn image_entries(index: &ImageIndex) -> Vec<&Descriptor> {
    index
        .manifests()
        .iter()
        .filter(|d| {
            let attestation = d
                .annotations()
                .as_ref()
                .and_then(|a| a.get("vnd.docker.reference.type"))
                .is_some_and(|t| t == "attestation-manifest");
            !attestation && !descriptor_platform(d).is_some_and(|p| p.is_unknown())
        })
        .collect()
}

fn index_platforms(index: &ImageIndex) -> Vec<Platform> {
    image_entries(index)
        .into_iter()
        .filter_map(descriptor_platform)
        .collect()
}

/// `--platform` if given; else the host's; else the only image. Otherwise the error lists
/// the platforms the index has.
fn choose_platform<'a>(
    client: &Client,
    index: &'a ImageIndex,
    wanted: Option<&Platform>,
) -> Result<(&'a Descriptor, Option<Platform>)> {
    let entries = image_entries(index);
    let available = || {
        let list: Vec<String> = entries
            .iter()
            .map(|d| descriptor_platform(d).map_or("(no platform)".into(), |p| p.to_string()))
            .collect();
        if list.is_empty() {
            "none".to_string()
        } else {
            list.join(", ")
        }
    };
    let find = |want: &Platform| {
        entries
            .iter()
            .find(|d| descriptor_platform(d).is_some_and(|p| want.matches(&p)))
            .map(|d| (*d, descriptor_platform(d)))
    };
    if let Some(want) = wanted {
        return find(want).ok_or_else(|| {
            client.error(format!(
                "no image for platform {want}; available: {}",
                available()
            ))
        });
    }
    let host = Platform::host();
    if let Some(found) = find(&host) {
        return Ok(found);
    }
    match entries.as_slice() {
        [only] => Ok((*only, descriptor_platform(only))),
        _ => Err(client.error(format!(
            "the index has no image for this host's platform {host}; choose one with --platform (available: {})",
            available()
        ))),
    }
}

fn check_digest(client: &Client, what: &str, expected: &str, bytes: &[u8]) -> Result<()> {
    if !expected.starts_with("sha256:") {
        return Err(client.error(format!(
            "{what}: unsupported digest algorithm in {:?}",
            crate::escape::escape_str(expected)
        )));
    }
    let actual = format!("sha256:{}", hex::encode(Sha256::digest(bytes)));
    if actual != expected {
        return Err(client.error(format!(
            "{what}: digest mismatch: expected {expected}, got {actual}"
        )));
    }
    Ok(())
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
fn read_verified<R: Read, T, E>(
    mut reader: Verified<'_, R>,
    cancel: &AtomicBool,
    consume: &dyn Fn(&mut dyn Read) -> std::result::Result<T, E>,
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

/// Counts a blob as it is read and holds it to its descriptor's size and digest (the
/// sha256 its read-ahead thread took): the end of the stream is only reported once it
/// matched. A failure is kept for the caller and the read fails, so the parse
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

impl<'a, R: Read> Verified<'a, R> {
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

impl<R: Read> Read for Verified<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.failure.lock().unwrap().is_some() {
            return Err(io::Error::other("blob failed"));
        }
        if self.verified {
            return Ok(0);
        }
        let n = match self.inner.read(buf) {
            Ok(n) => n,
            Err(e) => {
                let error = match e.downcast::<Error>() {
                    Ok(error) => error,
                    Err(e) => self.client.error(format!("{}: {e}", self.what)),
                };
                return Err(self.fail(BlobError::Transport(error)));
            }
        };
        self.count += n as u64;
        if self.count > self.size {
            let error = self.client.error(format!(
                "{} is longer than the {} bytes its descriptor says",
                self.what, self.size
            ));
            return Err(self.fail(BlobError::Content(error)));
        }
        if n == 0 {
            if !buf.is_empty() {
                self.check_end()?;
            }
            return Ok(0);
        }
        self.transfer.add(n as u64);
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
    fn drain<R: Read>(
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

    #[test]
    fn documents_are_told_apart() {
        let index = br#"{"schemaVersion":2,"manifests":[]}"#;
        assert!(matches!(
            document_kind("application/json", index),
            Kind::Index
        ));
        let manifest = br#"{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","layers":[]}"#;
        assert!(matches!(document_kind("", manifest), Kind::Manifest));
        let schema1 = br#"{"schemaVersion":1,"fsLayers":[]}"#;
        assert!(matches!(
            document_kind("application/vnd.docker.distribution.manifest.v1+prettyjws", schema1),
            Kind::Unknown(t) if t.contains("v1+prettyjws")
        ));
    }
}
