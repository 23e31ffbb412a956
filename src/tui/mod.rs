//! The interactive explorer (`layerscope IMAGE`): the terminal side of
//! [`crate::explore`]'s view model.
//!
//! - [`app`]: the explorer's router, from events to components and back; what the
//!   three views route alike (panes, focus, overlay) is `router`'s;
//! - [`compare`]: the comparison view of two images (`diff A B --tui`), built the same
//!   way from its own panes and the explorer's keymap, help and filter line;
//! - [`fleet`]: the fleet view of a set of images (`fleet IMAGE… --tui`), whose Enter
//!   opens an image in the explorer and whose esc comes back;
//! - [`components`]: one module per pane and overlay, each owning its state, keys and
//!   drawing;
//! - [`actions`]: what keys can do, one table; [`keymap`]: keys to actions (dive's
//!   defaults, configurable from [`config`]);
//! - [`widgets`]: the layout and the drawing the components share; [`theme`]: colours
//!   and glyphs;
//! - `event_loop`: the terminal, the loader thread and the loop over any [`Screen`],
//!   backend and event source.
//!
//! Only this module uses ratatui and crossterm.

pub mod actions;
pub mod app;
pub mod compare;
pub mod components;
pub mod config;
mod event_loop;
pub mod fleet;
pub mod keymap;
mod router;
pub mod settings;
pub mod theme;
pub mod widgets;

pub use crate::explore::{ImageAnalysis, InefficientPath, InefficientVersion};
pub use app::App;
pub use event_loop::{
    run_app, verify_after_opening, verify_in_background, Analyze, EventSource, Screen,
    TerminalEvents,
};
pub use settings::Settings;

use crate::error::{Error, Result};
use crate::open::Opening;
use config::ConfigFile;
use keymap::Keymap;
use theme::{Glyphs, Theme};

/// Options of the explorer beyond the global ones.
#[derive(Default)]
pub struct TuiOptions {
    /// `--theme`: dark, light or mono. Default: the config file's, else dark.
    pub theme: Option<String>,
    /// `--ascii`: no box-drawing characters or arrows.
    pub ascii: bool,
    /// Fills the image-details pane; without it the pane says "analysis not available".
    pub analyze: Option<Analyze>,
    /// A Dockerfile to lay over the layers: its name (as the user gave it) and its text.
    pub dockerfile: Option<(String, String)>,
    /// Open the guided tour once the image is loaded (`layerscope demo`).
    pub tour: bool,
    /// The embedded demo image opened (`layerscope demo`): the tour walks from it.
    pub demo: Option<&'static str>,
}

/// What the explorer does once the image is loaded, before the first key.
pub struct Start {
    pub dockerfile: Option<(String, String)>,
    pub tour: bool,
    /// The embedded demo image this is, if it is one.
    pub demo: Option<&'static str>,
}

impl Start {
    /// Lay the Dockerfile over the layers and open the tour, as asked. The explanations'
    /// facts are left for later: the tour gathers them, the event loop once every pane
    /// answers and the digest check is done, else the first `e`.
    pub fn apply(self, app: &mut App) -> Result<()> {
        if let Some((name, text)) = &self.dockerfile {
            app.model
                .set_dockerfile(name, text)
                .map_err(|e| e.in_file(name.clone()))?;
        }
        if let Some(name) = self.demo {
            app.model.set_demo(name);
        }
        if self.tour {
            app.apply(actions::Action::Tour);
        }
        Ok(())
    }
}

/// Settings from the config file and the options. Problems with the config file's key
/// bindings are returned as notices, not errors.
pub fn settings(options: &TuiOptions) -> Result<(Settings, Vec<String>)> {
    let config = ConfigFile::load()?;
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let theme_name = options.theme.as_deref().or(config.theme.as_deref());
    let theme = Theme::pick(theme_name, no_color)?;
    let mut keymap = Keymap::default();
    let notices = keymap.configure(
        config
            .keybinding
            .iter()
            .map(|(name, keys)| (name.as_str(), keys.as_str())),
    );
    let ascii = options.ascii || config.ascii.unwrap_or(false);
    Ok((
        Settings {
            theme,
            glyphs: if ascii {
                Glyphs::ASCII
            } else {
                Glyphs::UNICODE
            },
            keymap,
            extract_dir: std::path::PathBuf::from("."),
        },
        notices,
    ))
}

/// Run the explorer on `path` until the user quits. Returns the exit code (0), or
/// [`Error::Interrupted`] when loading was cancelled with ctrl+c.
pub fn run_tui(path: &str, opening: &Opening, options: TuiOptions) -> Result<i32> {
    use std::io::IsTerminal;
    if !std::io::stdout().is_terminal() {
        return Err(Error::Usage(
            "the explorer needs a terminal; use a subcommand (inspect, ls, changes) for output"
                .into(),
        ));
    }
    let (settings, notices) = settings(&options)?;
    // A Dockerfile that does not parse is refused before the image loads.
    if let Some((name, text)) = &options.dockerfile {
        crate::dockerfile::Dockerfile::parse(text).map_err(|e| e.in_file(name.clone()))?;
    }
    let spec = opening.resolve(path)?;
    let start = Start {
        dockerfile: options.dockerfile,
        tour: options.tour,
        demo: options.demo,
    };
    event_loop::run(
        spec,
        explorer_opening(opening).load,
        settings,
        options.analyze,
        notices,
        start,
        false,
    )
}

/// Run the comparison view (`diff A B --tui`) on a comparison already made, until the
/// user quits, with [`settings`] (read before the images load, so that a bad config file
/// costs no load). The caller checks first that stdout is a terminal.
pub fn run_compare(
    model: crate::explore::compare::CompareView,
    settings: Settings,
    notices: Vec<String>,
) -> Result<i32> {
    let mut app = compare::CompareApp::new(model, settings);
    if !notices.is_empty() {
        app.model.message = Some(crate::explore::Message {
            text: notices.join("; "),
            error: true,
        });
    }
    event_loop::run_loaded(&mut app)
}

/// Run the fleet view (`fleet IMAGE… --tui`) on a measured set until the user quits, with
/// [`settings`] read before the set loaded. Enter leaves it for the explorer on the
/// selected image, loaded again as [`run_tui`] loads one; esc or q there comes back, the
/// cursor where it was. An image that fails to load now is reported in the status bar.
/// The caller checks first that stdout is a terminal.
pub fn run_fleet(
    model: crate::explore::fleet::FleetView,
    opening: &Opening,
    settings: Settings,
    notices: Vec<String>,
) -> Result<i32> {
    let mut app = fleet::FleetApp::new(model, settings);
    if !notices.is_empty() {
        app.model.warn(notices.join("; "));
    }
    loop {
        event_loop::run_loaded(&mut app)?;
        let Some(name) = app.take_open() else {
            return Ok(0);
        };
        let explored = opening.resolve(&name).and_then(|spec| {
            let start = Start {
                dockerfile: None,
                tour: false,
                demo: None,
            };
            let analyze: Analyze = Box::new(crate::explore::image_analysis);
            let load = explorer_opening(opening).load;
            event_loop::run(
                spec,
                load,
                app.settings.clone(),
                Some(analyze),
                vec![],
                start,
                true,
            )
        });
        match explored {
            Ok(_) => {}
            Err(Error::Interrupted) => app.model.inform("loading cancelled"),
            Err(error) => app
                .model
                .warn(crate::escape::escape_str(&error.to_string()).into_owned()),
        }
    }
}

/// How the explorer opens images: as the views were asked, with the secret rules run
/// during the parse, so that files with findings are marked in the tree, and the package
/// databases read on the way, for the layers' package changes.
pub fn explorer_opening(opening: &Opening) -> Opening {
    let mut opening = opening.clone();
    opening.load.content = Some(crate::analysis::explorer_hooks());
    opening
}

/// Load an image as the explorer does, without a terminal, keeping the source for content
/// reads (tests, tools).
pub fn open_image(
    path: &str,
    opening: &Opening,
) -> Result<(Option<crate::source::Source>, crate::model::LoadedImage)> {
    explorer_opening(opening).open(path)
}
