//! layerscope: look inside container images.
//!
//! Data flows one way:
//!
//! ```text
//! bytes ──► image ──► layers ──► tree ──► analysis ──► views
//! source/   image/    layer/     tree/    analysis/    commands (text, json), ci/, tui/
//! ```
//!
//! - [`source`]: a file, directory, stdin, engine or registry becomes named byte streams
//!   (tar members are indexed once and read by offset; an outer compression is spooled
//!   once; an engine's export and stdin are parsed as they stream, by `load::load_stream`).
//! - [`image`]: docker-archive (all variants), OCI layout and archive, platform choice,
//!   configs and history.
//! - [`layer`]: one layer blob becomes normalised records in one streaming pass
//!   (decompress, parse, hash, verify).
//! - [`tree`]: the merged, layer-aware filesystem and its views.
//! - [`load`]: runs the above, one layer per core.
//! - [`commands`]: the CLI's subcommands over the model; `cli` holds the clap definitions.
//!
//! Nothing outside `tui` imports ratatui or crossterm.

pub mod analysis;
pub mod ci;
pub mod cli;
pub mod commands;
pub mod error;
pub mod escape;
pub mod image;
pub mod layer;
pub mod load;
pub mod source;
pub mod tree;
pub mod tui;

pub use error::{Error, Result};
