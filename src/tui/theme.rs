//! Colours and glyphs. `mono` uses no colour at all (NO_COLOR), only bold, dim and
//! reverse video; `ascii` replaces box-drawing and arrows for terminals without them.

use super::config::SettingsError;
use crate::image::history::InstructionKind;
use ratatui::style::{Color, Modifier, Style};

#[derive(Debug, Clone)]
pub struct Theme {
    pub name: &'static str,
    pub added: Style,
    pub removed: Style,
    pub modified: Style,
    pub unchanged: Style,
    pub selected: Style,
    pub selected_unfocused: Style,
    pub border: Style,
    pub border_focused: Style,
    pub title: Style,
    pub dim: Style,
    pub key: Style,
    pub error: Style,
    pub marker: Style,
    pub colour: bool,
}

impl Theme {
    pub fn dark() -> Theme {
        Theme {
            name: "dark",
            added: Style::new().fg(Color::Green),
            removed: Style::new().fg(Color::Red),
            modified: Style::new().fg(Color::Yellow),
            unchanged: Style::new(),
            selected: Style::new().add_modifier(Modifier::REVERSED),
            selected_unfocused: Style::new().add_modifier(Modifier::UNDERLINED),
            border: Style::new().fg(Color::DarkGray),
            border_focused: Style::new().fg(Color::Cyan),
            title: Style::new().add_modifier(Modifier::BOLD),
            dim: Style::new().fg(Color::DarkGray),
            key: Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD),
            error: Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
            marker: Style::new().fg(Color::Magenta),
            colour: true,
        }
    }

    pub fn light() -> Theme {
        Theme {
            name: "light",
            added: Style::new().fg(Color::Green),
            removed: Style::new().fg(Color::Red),
            modified: Style::new().fg(Color::Rgb(0x9a, 0x6a, 0x00)),
            border: Style::new().fg(Color::Gray),
            border_focused: Style::new().fg(Color::Blue),
            dim: Style::new().fg(Color::Gray),
            key: Style::new().fg(Color::Blue).add_modifier(Modifier::BOLD),
            ..Theme::dark()
        }
        .named("light")
    }

    pub fn mono() -> Theme {
        Theme {
            name: "mono",
            added: Style::new().add_modifier(Modifier::BOLD),
            removed: Style::new().add_modifier(Modifier::CROSSED_OUT),
            modified: Style::new().add_modifier(Modifier::ITALIC),
            unchanged: Style::new(),
            selected: Style::new().add_modifier(Modifier::REVERSED),
            selected_unfocused: Style::new().add_modifier(Modifier::UNDERLINED),
            border: Style::new(),
            border_focused: Style::new().add_modifier(Modifier::BOLD),
            title: Style::new().add_modifier(Modifier::BOLD),
            dim: Style::new().add_modifier(Modifier::DIM),
            key: Style::new().add_modifier(Modifier::BOLD),
            error: Style::new().add_modifier(Modifier::BOLD),
            marker: Style::new().add_modifier(Modifier::BOLD),
            colour: false,
        }
    }

    fn named(mut self, name: &'static str) -> Theme {
        self.name = name;
        self
    }

    /// `dark`, `light` or `mono`; `NO_COLOR` (set and non-empty) forces mono.
    pub fn pick(name: Option<&str>, no_color: bool) -> Result<Theme, SettingsError> {
        if no_color {
            return Ok(Theme::mono());
        }
        match name.unwrap_or("dark") {
            "dark" | "default" => Ok(Theme::dark()),
            "light" => Ok(Theme::light()),
            "mono" | "none" => Ok(Theme::mono()),
            other => Err(SettingsError::UnknownTheme(other.to_string())),
        }
    }

    /// The colour of an instruction keyword in the layer list.
    pub fn instruction(&self, kind: InstructionKind) -> Style {
        if !self.colour {
            return Style::new().add_modifier(Modifier::BOLD);
        }
        use InstructionKind as K;
        let colour = match kind {
            K::Run => Color::Blue,
            K::Copy | K::Add => Color::Green,
            K::From | K::Import => Color::Magenta,
            K::Env | K::Arg | K::Label | K::Workdir | K::User => Color::Yellow,
            K::Cmd | K::Entrypoint | K::Shell | K::Healthcheck | K::Stopsignal => Color::Cyan,
            K::Expose | K::Volume | K::Onbuild | K::Maintainer => Color::Cyan,
            K::Other | K::Unknown => Color::DarkGray,
            // Not built from anything: the one layer that a running container writes.
            K::Container => Color::LightRed,
        };
        Style::new().fg(colour).add_modifier(Modifier::BOLD)
    }
}

/// Characters used to draw the tree and markers.
#[derive(Debug, Clone, Copy)]
pub struct Glyphs {
    pub branch: &'static str,
    pub last: &'static str,
    pub pipe: &'static str,
    pub space: &'static str,
    pub collapsed: &'static str,
    pub expanded: &'static str,
    pub arrow: &'static str,
    pub compared: &'static str,
    pub base: &'static str,
    pub ellipsis: &'static str,
    /// Before the Dockerfile lines of the selected layer.
    pub pointer: &'static str,
    /// After the name of a file with a secret finding.
    pub secret: &'static str,
    /// Before a layer two images share (the comparison view's joined rows).
    pub shared: &'static str,
    /// Between the comparison view's two layer columns.
    pub column: &'static str,
}

impl Glyphs {
    pub const UNICODE: Glyphs = Glyphs {
        branch: "├── ",
        last: "└── ",
        pipe: "│   ",
        space: "    ",
        collapsed: "▸ ",
        expanded: "▾ ",
        arrow: "→",
        compared: "█",
        base: "▒",
        ellipsis: "…",
        pointer: "▶",
        secret: "⚑",
        shared: "═",
        column: "│",
    };
    pub const ASCII: Glyphs = Glyphs {
        branch: "|-- ",
        last: "`-- ",
        pipe: "|   ",
        space: "    ",
        collapsed: "+ ",
        expanded: "- ",
        arrow: "->",
        compared: "#",
        base: ":",
        ellipsis: "...",
        pointer: ">",
        secret: "!",
        shared: "=",
        column: "|",
    };
}
