//! Container engines as a source: the Docker Engine API (Docker, and Podman's compatible
//! API), spoken with bollard over the engine's unix socket or plain tcp.
//!
//! An image is read by exporting it (`GET /images/{name}/get`, what `docker save` does)
//! and parsing the archive as it arrives ([`crate::load::load_stream`]): nothing is saved
//! to a file. The export runs on its own thread (a one-thread tokio runtime, bollard being
//! async) and hands the body's chunks over a bounded channel to the parse, which reads them
//! as a plain [`Read`]. Nothing here asks an engine to pull: a missing image is an error.
//!
//! Time bounds, so that nothing hangs on an engine that accepts and never answers:
//! [`PROBE_TIMEOUT`] for the presence check, [`HEADERS_TIMEOUT`] for the export to start
//! (an engine may assemble the whole archive before it sends a byte), and [`IDLE_TIMEOUT`]
//! between two chunks of the export.

pub mod endpoint;

use crate::error::{Error, Result};
use crate::layer::ParseControl;
use crate::load::{load_stream, LoadOptions, LoadedImage, Progress};
use bollard::errors::Error as ApiError;
use bollard::{ClientVersion, Docker};
use bytes::{Buf, Bytes};
use endpoint::Endpoint;
use futures_util::StreamExt;
use std::io::{self, Read};
use std::sync::mpsc;
use std::time::Duration;

/// Longest wait for the engine to say whether it has an image.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest wait for an export's first byte.
pub const HEADERS_TIMEOUT: Duration = Duration::from_secs(600);
/// Longest wait between two chunks of an export.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(120);

/// API version asked for: Docker 20.10 and Podman 4 speak it, and the endpoints used here
/// have not changed since.
const API_VERSION: ClientVersion = ClientVersion {
    major_version: 1,
    minor_version: 41,
};

/// Export chunks buffered between the network thread and the parse.
const CHANNEL_CHUNKS: usize = 64;

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

/// Export `name` from the engine and load it.
pub fn load(
    kind: EngineKind,
    name: &str,
    options: &LoadOptions,
    control: &ParseControl,
    progress: &mut dyn FnMut(Progress),
) -> Result<LoadedImage> {
    let endpoint = endpoint::resolve(kind)?;
    load_at(kind, &endpoint, name, options, control, progress)
}

/// [`load`] from a given endpoint.
pub fn load_at(
    kind: EngineKind,
    endpoint: &Endpoint,
    name: &str,
    options: &LoadOptions,
    control: &ParseControl,
    progress: &mut dyn FnMut(Progress),
) -> Result<LoadedImage> {
    if !inspect(kind, endpoint, name)? {
        return Err(engine_error(
            kind,
            endpoint,
            format!(
                "no image {name} (layerscope never pulls through an engine: pull it first, or read the registry with registry://)"
            ),
        ));
    }
    let reader = export(kind, endpoint, name)?;
    let display = format!("{}://{name} ({endpoint})", kind.name());
    load_stream(reader, &display, options, control, progress)
}

fn engine_error(kind: EngineKind, endpoint: &Endpoint, detail: String) -> Error {
    Error::Engine {
        engine: kind.name(),
        endpoint: endpoint.to_string(),
        detail,
    }
}

fn connect(kind: EngineKind, endpoint: &Endpoint, timeout: Duration) -> Result<Docker> {
    let seconds = timeout.as_secs().max(1);
    let client = match endpoint {
        Endpoint::Unix(path) => {
            Docker::connect_with_unix(&path.to_string_lossy(), seconds, &API_VERSION)
        }
        Endpoint::Tcp(address) => Docker::connect_with_http(address, seconds, &API_VERSION),
    };
    client.map_err(|e| engine_error(kind, endpoint, describe(&e)))
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::io("the engine client's runtime", e))
}

/// Does the engine have the image? `Err` when it cannot be asked.
fn inspect(kind: EngineKind, endpoint: &Endpoint, name: &str) -> Result<bool> {
    let client = connect(kind, endpoint, PROBE_TIMEOUT)?;
    let answer = runtime()?
        .block_on(async { tokio::time::timeout(PROBE_TIMEOUT, client.inspect_image(name)).await });
    match answer {
        Ok(Ok(_)) => Ok(true),
        Ok(Err(ApiError::DockerResponseServerError {
            status_code: 404, ..
        })) => Ok(false),
        Ok(Err(ApiError::RequestTimeoutError)) | Err(_) => Err(engine_error(
            kind,
            endpoint,
            format!("no answer within {} s", PROBE_TIMEOUT.as_secs()),
        )),
        Ok(Err(error)) => Err(engine_error(kind, endpoint, describe(&error))),
    }
}

/// Start the export on its own thread; the returned reader yields the archive's bytes.
fn export(kind: EngineKind, endpoint: &Endpoint, name: &str) -> Result<ExportReader> {
    let client = connect(kind, endpoint, HEADERS_TIMEOUT)?;
    let runtime = runtime()?;
    let (sender, receiver) =
        mpsc::sync_channel::<std::result::Result<Bytes, ExportError>>(CHANNEL_CHUNKS);
    let name = name.to_string();
    // Not joined: it ends when the export does, or at its next send once the reader is gone.
    std::thread::Builder::new()
        .name("engine-export".into())
        .spawn(move || {
            runtime.block_on(async move {
                let mut body = client.export_image(&name);
                let mut first = true;
                loop {
                    let wait = if first { HEADERS_TIMEOUT } else { IDLE_TIMEOUT };
                    let message = match tokio::time::timeout(wait, body.next()).await {
                        Ok(Some(Ok(chunk))) => Ok(chunk),
                        Ok(Some(Err(error))) => Err(ExportError::Engine(error)),
                        Ok(None) => break,
                        Err(_) => Err(ExportError::Silent(wait)),
                    };
                    first = false;
                    let failed = message.is_err();
                    // A blocking send is the back-pressure: this runtime serves this
                    // export alone.
                    if sender.send(message).is_err() || failed {
                        break;
                    }
                }
            })
        })
        .map_err(|e| Error::io("the engine export thread", e))?;
    Ok(ExportReader {
        receiver,
        chunk: Bytes::new(),
    })
}

/// Why an export stopped before its end.
#[derive(Debug, thiserror::Error)]
enum ExportError {
    #[error("{}", describe(.0))]
    Engine(#[source] ApiError),
    #[error("the export sent nothing for {} s", .0.as_secs())]
    Silent(Duration),
}

/// The export's body as a [`Read`].
struct ExportReader {
    receiver: mpsc::Receiver<std::result::Result<Bytes, ExportError>>,
    chunk: Bytes,
}

impl Read for ExportReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.chunk.is_empty() {
            match self.receiver.recv() {
                Ok(Ok(chunk)) => self.chunk = chunk,
                Ok(Err(error)) => return Err(io::Error::other(error)),
                Err(_) => return Ok(0),
            }
        }
        let n = buf.len().min(self.chunk.len());
        buf[..n].copy_from_slice(&self.chunk[..n]);
        self.chunk.advance(n);
        Ok(n)
    }
}

/// One line for a client error: its message and the innermost cause (which says what the
/// socket did: "No such file or directory", "Connection refused").
fn describe(error: &ApiError) -> String {
    let mut text = match error {
        ApiError::DockerResponseServerError {
            status_code,
            message,
        } => format!("the engine answered {status_code}: {}", message.trim()),
        ApiError::RequestTimeoutError => "no answer in time".to_string(),
        ApiError::SocketNotFoundError(path) => {
            return format!("cannot connect: no socket at {path}")
        }
        ApiError::HyperLegacyError { .. } => "cannot connect".to_string(),
        other => other.to_string(),
    };
    let mut cause = std::error::Error::source(error);
    let mut innermost = None;
    while let Some(inner) = cause {
        innermost = Some(inner.to_string());
        cause = inner.source();
    }
    if let Some(inner) = innermost.filter(|inner| !text.contains(inner.as_str())) {
        text = format!("{text}: {inner}");
    }
    text.replace('\n', " ")
}
