//! The library's error type. Every variant names the file, layer or digest it is about,
//! so that the CLI can print it on one line.

use std::io;

/// Result with layerscope's error.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: io::Error,
    },
    #[error("{path}: not a container image: {reason}")]
    NotAnImage { path: String, reason: String },
    #[error("{path}: truncated archive: {detail}")]
    Truncated { path: String, detail: String },
    #[error("{path}: corrupt archive: {detail}")]
    CorruptArchive { path: String, detail: String },
    #[error("{path}: missing blob {digest} ({what})")]
    MissingBlob {
        path: String,
        digest: String,
        what: String,
    },
    #[error("{path}: invalid JSON in {member}: {detail}")]
    InvalidJson {
        path: String,
        member: String,
        detail: String,
    },
    #[error("{path}: {member} is too large ({size} bytes, limit {limit})")]
    MemberTooLarge {
        path: String,
        member: String,
        size: u64,
        limit: u64,
    },
    #[error("{path}: unsupported media type {media_type} for {what}")]
    UnsupportedMedia {
        path: String,
        media_type: String,
        what: String,
    },
    #[error("{path}: {what} digest mismatch: expected {expected}, found {actual}")]
    DigestMismatch {
        path: String,
        what: String,
        expected: String,
        actual: String,
    },
    #[error("layer {index} ({digest}): {detail}")]
    Layer {
        index: usize,
        digest: String,
        detail: String,
    },
    /// A count past one of the model's limits ([`crate::limits`]).
    #[error("{path}: {at}: {source}")]
    Limit {
        path: String,
        /// The member or layer the count comes from.
        at: String,
        #[source]
        source: crate::limits::LimitError,
    },
    #[error("{path}: {detail}")]
    Platform { path: String, detail: String },
    #[error("{path}: {detail}")]
    ImageChoice { path: String, detail: String },
    #[error("{path}: invalid image: {detail}")]
    InvalidImage { path: String, detail: String },
    /// A Dockerfile named on the command line that cannot be used. Boxed, as `Settings`
    /// is, so that the base error names no module above it ([`crate::dockerfile`] makes
    /// it with `DockerfileError::in_file`).
    #[error("{path}: {source}")]
    Dockerfile {
        path: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A registry refused or failed a request; never carries a credential.
    #[error("{registry}/{repository}: {detail}")]
    Registry {
        registry: String,
        repository: String,
        detail: String,
    },
    /// `fleet --db`'s database failed or refused; names the file or user@host:port/database,
    /// never the password.
    #[error("fleet database {target}: {detail}")]
    Database { target: String, detail: String },
    /// A container engine (Docker or Podman) that cannot be reached or answers an error.
    #[error("{engine} engine at {endpoint}: {detail}")]
    Engine {
        engine: &'static str,
        endpoint: String,
        detail: String,
    },
    #[error("{0}")]
    Usage(String),
    #[error("{0}")]
    Config(String),
    /// A setting of a part built on the library (CI's config and flags, the explorer's
    /// config file or `--theme`). Each part converts its own typed error into this where
    /// it reads its settings, so that the base error names none of them.
    #[error(transparent)]
    Settings(Box<dyn std::error::Error + Send + Sync>),
    /// An error met loading one image of a set (`fleet`), naming which image.
    #[error("{image}: {source}")]
    InImage {
        image: String,
        #[source]
        source: Box<Error>,
    },
    #[error("interrupted")]
    Interrupted,
}

impl Error {
    pub fn io(path: impl Into<String>, source: io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// The process exit code for this error. Bad input of any kind is 2 (0 is success and
    /// 1 is a failed CI rule); an interrupted run is 130, as shells report SIGINT.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Interrupted => 130,
            Error::InImage { source, .. } => source.exit_code(),
            _ => 2,
        }
    }
}
