//! How the explorer looks and which keys it uses, as the config file and the flags set
//! them: what every component reads while it draws.

use super::keymap::Keymap;
use super::theme::{Glyphs, Theme};
use std::path::PathBuf;

/// How the explorer looks and which keys it uses.
#[derive(Debug, Clone)]
pub struct Settings {
    pub theme: Theme,
    pub glyphs: Glyphs,
    pub keymap: Keymap,
    /// Where `x` extracts to by default.
    pub extract_dir: PathBuf,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            theme: Theme::dark(),
            glyphs: Glyphs::UNICODE,
            keymap: Keymap::default(),
            extract_dir: PathBuf::from("."),
        }
    }
}
