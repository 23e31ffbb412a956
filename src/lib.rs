//! layerscope: look inside container images.
//!
//! Data flows one way:
//!
//! ```text
//! bytes ──► image ──► layers ──► tree ──► analysis ──► views
//! source/   image/    layer/     tree/    analysis/    commands (text, json), ci/, tui/
//! ```
//!
//! - [`source`]: a file, directory or stdin becomes named byte streams (tar members are
//!   indexed once and read by offset; outer compression and stdin are spooled once).
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
pub mod explore;
pub mod image;
pub mod layer;
pub mod load;
pub mod size;
pub mod source;
pub mod tree;
pub mod tui;

pub use error::{Error, Result};
