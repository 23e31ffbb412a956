//! Container engines as a source: the Docker Engine API (Docker, and Podman's compatible
//! API), spoken over the engine's unix socket or plain tcp with reqwest, as registries are.
//!
//! An image is read by exporting it (`GET /images/{name}/get`, what `docker save` does)
//! ([`export_at`]); the load parses the archive as it arrives, and nothing is saved to a
//! file. Nothing here asks an engine to pull: a missing image is an error.
//!
//! An engine is untrusted like a registry: an inspect answer is read up to
//! [`DOCUMENT_LIMIT`] and refused past it, an error body is read up to [`ERROR_LIMIT`] and
//! its text cut to one short line. (bollard, used before, collects every answer and error
//! body whole, and has no way to bound them.)
//!
//! Time bounds, so that nothing hangs on an engine that accepts and never answers:
//! [`PROBE_TIMEOUT`] for the presence check, [`HEADERS_TIMEOUT`] for the export to start
//! (an engine may assemble the whole archive before it sends a byte), and [`IDLE_TIMEOUT`]
//! between two chunks of the export.

pub mod endpoint;

use crate::error::{Error, Result};
use bytes::{Buf, Bytes};
use endpoint::Endpoint;
use reqwest::{Response, StatusCode};
use std::borrow::Borrow;
use std::future::Future;
use std::io::{self, Read};
use std::time::Duration;

/// Longest wait for the engine to say whether it has an image.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest wait for an export's first byte.
pub const HEADERS_TIMEOUT: Duration = Duration::from_secs(600);
/// Longest wait between two chunks of an export.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(120);

/// Largest inspect answer read: the registry's bound on documents (a real one is a few KiB).
pub const DOCUMENT_LIMIT: u64 = super::registry::client::DOCUMENT_LIMIT;
/// Error bodies are read up to this, as the registry reads its own.
pub const ERROR_LIMIT: u64 = 256 << 10;

/// API version asked for: Docker 20.10 and Podman 4 speak it, and the endpoints used here
/// have not changed since.
pub(crate) const API_VERSION: &str = "v1.41";

/// Which engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EngineKind {
    Docker,
    Podman,
}

impl EngineKind {
    pub fn name(self) -> &'static str {
        match self {
            EngineKind::Docker => "docker",
            EngineKind::Podman => "podman",
        }
    }
}

/// Whether an engine has an image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Probe {
    /// No engine answers; the text says where it was looked for and why it failed.
    Unreachable(String),
    Missing,
    Present,
}

/// Ask the engine whether it has `name`, within [`PROBE_TIMEOUT`].
pub fn probe(kind: EngineKind, name: &str) -> Probe {
    match endpoint::resolve(kind) {
        Ok(endpoint) => probe_at(kind, &endpoint, name),
        Err(error) => Probe::Unreachable(error.to_string()),
    }
}

/// [`probe`] at a given endpoint.
pub fn probe_at(kind: EngineKind, endpoint: &Endpoint, name: &str) -> Probe {
    match inspect(kind, endpoint, name) {
        Ok(true) => Probe::Present,
        Ok(false) => Probe::Missing,
        Err(error) => Probe::Unreachable(error.to_string()),
    }
}

/// An image's export, as the engine streams it: a docker-archive, in the engine's order.
/// The load parses it as it arrives; nothing is saved to a file.
pub(crate) struct Export {
    pub reader: ExportReader,
    /// What the image is called in messages: `docker://NAME (endpoint)`.
    pub display: String,
}

/// Start exporting `name` from the engine at `endpoint`. A missing image is an error:
/// nothing here pulls.
pub(crate) fn export_at(kind: EngineKind, endpoint: &Endpoint, name: &str) -> Result<Export> {
    if !inspect(kind, endpoint, name)? {
        return Err(engine_error(
            kind,
            endpoint,
            format!(
                "no image {name} (layerscope never pulls through an engine: pull it first, or read the registry with registry://)"
            ),
        ));
    }
    Ok(Export {
        reader: export(kind, endpoint, name)?,
        display: format!("{}://{name} ({endpoint})", kind.name()),
    })
}

pub(crate) fn engine_error(kind: EngineKind, endpoint: &Endpoint, detail: String) -> Error {
    Error::Engine {
        engine: kind.name(),
        endpoint: endpoint.to_string(),
        detail,
    }
}

/// One engine's HTTP client, and the one-thread runtime that drives it on the caller's
/// thread (as the registry's [`super::registry::client::Http`] does).
pub(crate) struct Api {
    kind: EngineKind,
    endpoint: Endpoint,
    runtime: tokio::runtime::Runtime,
    pub(crate) client: reqwest::Client,
    /// `http://host:port`, or a placeholder host for a unix socket.
    pub(crate) base: String,
}

impl Api {
    pub(crate) fn new(kind: EngineKind, endpoint: &Endpoint) -> Result<Api> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::io("the engine client's runtime", e))?;
        // reqwest builds its TLS connector even for plain HTTP: the registry's provider.
        let _ = rustls::crypto::ring::default_provider().install_default();
        // An engine is local or named by the user: never reached through a proxy.
        let builder = reqwest::Client::builder()
            .user_agent(concat!("layerscope/", env!("CARGO_PKG_VERSION")))
            .no_proxy()
            .connect_timeout(PROBE_TIMEOUT);
        let (builder, base) = match endpoint {
            Endpoint::Unix(path) => (
                builder.unix_socket(path.clone()),
                "http://localhost".to_string(),
            ),
            Endpoint::Tcp(address) => (builder, format!("http://{address}")),
        };
        let client = builder
            .build()
            .map_err(|e| engine_error(kind, endpoint, describe(&e)))?;
        Ok(Api {
            kind,
            endpoint: endpoint.clone(),
            runtime,
            client,
            base,
        })
    }

    pub(crate) fn error(&self, detail: String) -> Error {
        engine_error(self.kind, &self.endpoint, detail)
    }

    /// `/images/{name}/{action}`: the name keeps its slashes (the API routes on them)
    /// and every other byte a path cannot hold is escaped.
    fn url(&self, name: &str, action: &str) -> Result<reqwest::Url> {
        let mut url = reqwest::Url::parse(&self.base)
            .map_err(|e| self.error(format!("invalid address: {e}")))?;
        url.path_segments_mut()
            .map_err(|()| self.error("invalid address".into()))?
            .push(API_VERSION)
            .push("images")
            .extend(name.split('/'))
            .push(action);
        Ok(url)
    }

    /// Run `future` on this client's runtime, within `limit`.
    pub(crate) fn within<T>(&self, limit: Duration, future: impl Future<Output = T>) -> Option<T> {
        self.runtime
            .block_on(async { tokio::time::timeout(limit, future).await.ok() })
    }

    /// GET `/images/{name}/{action}`, failing on a transport error or when nothing answers
    /// within `limit`.
    fn get(&self, name: &str, action: &str, limit: Duration) -> Result<Response> {
        let url = self.url(name, action)?;
        let request = self.client.get(url);
        match self.within(limit, request.send()) {
            Some(Ok(response)) => Ok(response),
            Some(Err(error)) => Err(self.error(describe(&error))),
            None => Err(self.no_answer(limit)),
        }
    }

    pub(crate) fn no_answer(&self, limit: Duration) -> Error {
        self.error(format!("no answer within {} s", limit.as_secs()))
    }

    /// The error an answer other than 200 stands for: its status and the first line of
    /// its message, read up to [`ERROR_LIMIT`].
    pub(crate) fn failure(&self, what: &str, response: Response) -> Error {
        let status = response.status();
        let body = self
            .within(PROBE_TIMEOUT, read_bounded(response, ERROR_LIMIT))
            .and_then(|r| r.ok())
            .unwrap_or_default();
        #[derive(serde::Deserialize)]
        struct Message {
            message: String,
        }
        let text = match serde_json::from_slice::<Message>(&body) {
            Ok(parsed) => crate::source::one_line(parsed.message.as_bytes(), false),
            Err(_) => crate::source::one_line(&body, body.len() as u64 > ERROR_LIMIT),
        };
        let status = status.as_u16();
        if text.is_empty() {
            self.error(format!("{what}: the engine answered {status}"))
        } else {
            self.error(format!("{what}: the engine answered {status}: {text}"))
        }
    }
}

/// Does the engine have the image? `Err` when it cannot be asked, or answers wrong.
fn inspect(kind: EngineKind, endpoint: &Endpoint, name: &str) -> Result<bool> {
    let api = Api::new(kind, endpoint)?;
    let what = format!("GET /images/{name}/json");
    let response = api.get(name, "json", PROBE_TIMEOUT)?;
    match response.status() {
        StatusCode::OK => {}
        StatusCode::NOT_FOUND => return Ok(false),
        _ => return Err(api.failure(&what, response)),
    }
    let too_large = || {
        api.error(format!(
            "{what}: the answer is larger than {} MiB; refused",
            DOCUMENT_LIMIT >> 20
        ))
    };
    if response
        .content_length()
        .is_some_and(|n| n > DOCUMENT_LIMIT)
    {
        return Err(too_large());
    }
    let body = match api.within(PROBE_TIMEOUT, read_bounded(response, DOCUMENT_LIMIT)) {
        Some(Ok(body)) => body,
        Some(Err(error)) => return Err(api.error(format!("{what}: {}", describe(&error)))),
        None => return Err(api.no_answer(PROBE_TIMEOUT)),
    };
    if body.len() as u64 > DOCUMENT_LIMIT {
        return Err(too_large());
    }
    // Any engine's image inspection has the image's id: anything else is not an engine.
    #[derive(serde::Deserialize)]
    struct Inspection {
        #[serde(rename = "Id")]
        _id: String,
    }
    serde_json::from_slice::<Inspection>(&body).map_err(|e| {
        api.error(format!(
            "{what}: not an image inspection: {}",
            crate::source::one_line(e.to_string().as_bytes(), false)
        ))
    })?;
    Ok(true)
}

/// A body of at most `limit` bytes; one byte more when it is longer, for the caller to
/// refuse (nothing past it is read).
pub(crate) async fn read_bounded(mut response: Response, limit: u64) -> reqwest::Result<Vec<u8>> {
    let mut body = Vec::new();
    while let Some(piece) = response.chunk().await? {
        let room =
            usize::try_from((limit + 1).saturating_sub(body.len() as u64)).unwrap_or(usize::MAX);
        body.extend_from_slice(&piece[..piece.len().min(room)]);
        if body.len() as u64 > limit {
            break;
        }
    }
    Ok(body)
}

/// Start the export; the returned reader yields the archive's bytes.
pub(crate) fn export(kind: EngineKind, endpoint: &Endpoint, name: &str) -> Result<ExportReader> {
    let api = Api::new(kind, endpoint)?;
    let response = api.get(name, "get", HEADERS_TIMEOUT)?;
    if response.status() != StatusCode::OK {
        return Err(api.failure(&format!("GET /images/{name}/get"), response));
    }
    Ok(ExportReader::new(api, response))
}

/// An answer's body as a [`Read`] (an export, or a container's archive): each chunk is
/// read on the caller's thread, within [`HEADERS_TIMEOUT`] for the first and
/// [`IDLE_TIMEOUT`] for the others. `A` owns the client or borrows it, so that many
/// archives can share one.
pub(crate) struct ExportReader<A: Borrow<Api> = Api> {
    api: A,
    response: Response,
    chunk: Bytes,
    first: bool,
}

impl<A: Borrow<Api>> ExportReader<A> {
    pub(crate) fn new(api: A, response: Response) -> Self {
        ExportReader {
            api,
            response,
            chunk: Bytes::new(),
            first: true,
        }
    }
}

impl<A: Borrow<Api>> Read for ExportReader<A> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.chunk.is_empty() {
            let wait = if self.first {
                HEADERS_TIMEOUT
            } else {
                IDLE_TIMEOUT
            };
            self.first = false;
            match self.api.borrow().within(wait, self.response.chunk()) {
                Some(Ok(Some(chunk))) => self.chunk = chunk,
                Some(Ok(None)) => return Ok(0),
                Some(Err(error)) => return Err(io::Error::other(describe(&error))),
                None => {
                    return Err(io::Error::other(format!(
                        "the export sent nothing for {} s",
                        wait.as_secs()
                    )))
                }
            }
        }
        let n = buf.len().min(self.chunk.len());
        buf[..n].copy_from_slice(&self.chunk[..n]);
        self.chunk.advance(n);
        Ok(n)
    }
}

/// One line for a client error: what failed and the innermost cause, which says what the
/// socket did ("No such file or directory", "Connection refused").
pub(crate) fn describe(error: &reqwest::Error) -> String {
    let mut innermost = None;
    let mut cause = std::error::Error::source(error);
    while let Some(inner) = cause {
        innermost = Some(inner.to_string());
        cause = inner.source();
    }
    let what = if error.is_connect() {
        "cannot connect"
    } else if error.is_timeout() {
        "no answer in time"
    } else if error.is_body() || error.is_decode() {
        "the answer broke off"
    } else {
        "the request failed"
    };
    let text = match innermost {
        Some(inner) => format!("{what}: {inner}"),
        None => what.to_string(),
    };
    super::one_line(text.as_bytes(), false)
}
