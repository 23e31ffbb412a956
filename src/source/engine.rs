//! Docker and Podman engines, through their HTTP API.
//!
//! Placeholder: the interface the dispatch calls. The engine client replaces the bodies.

use crate::error::{Error, Result};
use crate::layer::ParseControl;
use crate::load::{LoadOptions, LoadedImage, Progress};

/// Which engine API to talk to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EngineKind {
    Docker,
    Podman,
}

/// What an engine said about an image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Probe {
    /// No engine answered (the reason, for a note).
    Unreachable(String),
    /// The engine answered and does not have the image.
    Missing,
    /// The engine has the image.
    Present,
}

/// Ask an engine whether it has `name`, without pulling it.
pub fn probe(kind: EngineKind, name: &str) -> Probe {
    let _ = (kind, name);
    Probe::Unreachable("engine support is not built in yet".into())
}

/// Load `name` from an engine by exporting it.
pub fn load(
    kind: EngineKind,
    name: &str,
    options: &LoadOptions,
    control: &ParseControl,
    progress: &mut dyn FnMut(Progress),
) -> Result<LoadedImage> {
    let _ = (options, control, progress);
    Err(Error::Usage(format!(
        "{kind:?} engine images ({name}) are not supported yet; use `docker save` and open the file"
    )))
}
