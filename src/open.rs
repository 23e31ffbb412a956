//! The views' one door to the model: how an image argument becomes an [`ImageSpec`] and
//! how it is loaded. `commands/` fills an [`Opening`] from the command line's global
//! flags; the explorer (`tui/`) and the tests take it as it is given. Neither view needs
//! the other, nor the command line, to open an image.

use crate::error::Result;
use crate::escape::escape_str;
use crate::image::OpenOptions;
use crate::layer::ParseControl;
use crate::load::{self, LoadOptions, LoadedImage};
use crate::source::spec::{ImageSpec, SourceKind};
use crate::source::Source;

/// What a view asks for when it opens images.
#[derive(Debug, Clone)]
pub struct Opening {
    /// Where a bare IMAGE lives (`--source`), instead of a prefix.
    pub source: Option<SourceKind>,
    /// Print nothing on stderr, not even how a bare reference was resolved.
    pub quiet: bool,
    /// How to load it.
    pub load: LoadOptions,
}

/// The command line's defaults: blobs and configs verified, every limit at its default.
impl Default for Opening {
    fn default() -> Self {
        Opening {
            source: None,
            quiet: false,
            load: LoadOptions {
                open: OpenOptions {
                    verify: true,
                    ..Default::default()
                },
                verify: true,
                ..Default::default()
            },
        }
    }
}

impl Opening {
    /// Read IMAGE and `--source`, and choose the source of a bare reference, saying which
    /// on stderr (one line).
    pub fn resolve(&self, image: &str) -> Result<ImageSpec> {
        let (spec, note) = ImageSpec::parse(image, self.source)?.resolve();
        if let (Some(note), false) = (note, self.quiet) {
            eprintln!("layerscope: {}", escape_str(&note));
        }
        Ok(spec)
    }

    /// Load an image without a terminal, keeping the source for content reads (tests,
    /// tools).
    pub fn open(&self, path: &str) -> Result<(Option<Source>, LoadedImage)> {
        let spec = ImageSpec::parse(path, self.source)?;
        let opened = load::load_spec(&spec, &self.load, &ParseControl::default(), &mut |_| {})?;
        Ok((opened.source, opened.loaded))
    }
}
