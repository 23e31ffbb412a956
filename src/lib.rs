//! layerscope: look inside container images.
//!
//! Data flows one way:
//!
//! ```text
//! bytes ──► image ──► layers ──► tree ──► load ──► model ──► analysis ──► views
//! source/   image/    layer/     tree/    load/    model     analysis/    open (the door) →
//!                                                                         commands (text, json),
//!                                                                         report/ (HTML), ci/,
//!                                                                         explore/ → tui/
//! ```
//!
//! - [`source`]: a file, directory, stdin, engine or registry becomes named byte streams
//!   (tar members are indexed once and read by offset; an outer compression is spooled
//!   once; an engine's export and a registry's verified blobs are handed over as streams).
//!   A source never calls the parser: the load does.
//! - [`image`]: docker-archive (all variants), OCI layout and archive, a registry's manifests
//!   and indexes (`image::registry`: the registry source fetches the bytes), platform choice,
//!   configs and history.
//! - [`layer`]: one layer blob becomes normalised records in one streaming pass
//!   (decompress, parse, hash, verify), with a content hook for whoever wants each file's
//!   bytes on the way (the secret rules and the package databases; `layer::Hooks` runs
//!   several in the one pass).
//! - [`tree`]: the merged, layer-aware filesystem and its queries (listings, diffs).
//! - [`model`]: what a load hands up (the image, per-layer facts, the tree), the type the
//!   analysis and the views read.
//! - [`load`]: the one driver, for every source: runs the above, one layer per core (several images at once for `diff`,
//!   parsing the layers they share once; for `fleet`, [`load::load_set`]: images loaded on
//!   every core while upcoming images' layers are parsed ahead, each distinct layer parsed
//!   once through [`load::ParsedLayers`]).
//! - [`limits`]: the model's hard limits (layer count, ids, arena bytes), checked in one place.
//! - [`dockerfile`]: a Dockerfile parsed and mapped onto the history and layers (beside the
//!   flow: the views take it with `--dockerfile`).
//! - [`demo`]: the demo images, compiled in.
//! - [`analysis`]: wasted space and its two scores, hints with measured savings, the
//!   comparison of two images, a set of images (`analysis::fleet`), the secret rules, the OS
//!   packages per layer (`analysis::packages`: dpkg, apk and rpm databases caught by a content
//!   hook during the parse, diffed layer by layer, measured in bytes), and the plain-words explanations
//!   (`analysis::explain`) that `explain` renders.
//! - [`ci`]: CI rules, their config (`.dive-ci` compatible) and the reporters.
//! - [`report`]: the HTML views: `report`'s self-contained page (treemaps, layer stack,
//!   hints, story) and `explain --format html`'s handout; markup only, no loading.
//! - [`explore`]: the interactive explorer's view model (rows, cursors, the compared layers,
//!   file contents, diffs and path histories as data) and extraction; no terminal in it.
//! - [`tui`]: the explorer's terminal side: a router, one component per pane and overlay,
//!   the keymap and the event loop.
//! - [`open`]: the views' one door: an image argument resolved and its load options, which
//!   `commands` fills from the command line and `tui` takes as given.
//! - [`commands`]: the CLI's subcommands over the model; [`cli`]: the clap definitions;
//!   [`dispatch`]: the command line, run (text to `commands`, the explorer to `tui`).
//! - [`escape`]: the one way a name from an image reaches a terminal or a report.
//! - [`size`]: the one way a size is written.
//! - [`error`]: the library's error type and exit codes.
//!
//! Nothing outside `tui` imports ratatui or crossterm.

pub mod analysis;
pub mod ci;
pub mod cli;
pub mod commands;
pub mod demo;
pub mod dispatch;
pub mod dockerfile;
pub mod error;
pub mod escape;
pub mod explore;
pub mod image;
pub mod layer;
pub mod limits;
pub mod load;
pub mod model;
pub mod open;
pub mod report;
pub mod size;
pub mod source;
pub mod tree;
pub mod tui;

pub use error::{Error, Result};
