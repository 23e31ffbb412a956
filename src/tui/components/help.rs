//! The help overlay: every key, from the action table, by where it applies. The explorer's
//! lists every action, then what the tree's colours mean and a glossary of the words the
//! screens use (from `analysis::glossary`, the one place each is defined); another screen
//! (the comparison view) gives the keys it takes, with its own words where an action means
//! something else there.

use super::explain::render;
use super::{scrolling_update, Component, Ctx, Model, Scroll, View};
use crate::analysis::explain::{Block, Span as Piece};
use crate::analysis::glossary::{DIGEST_AND_DIFF_ID, GLOSSARY};
use crate::tree::DiffKind;
use crate::tui::actions::{Action, Context};
use crate::tui::theme::Theme;
use crate::tui::widgets::{centered, pane, styled};
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};
use ratatui::Frame;

/// The box's text width: 80 columns with its borders.
const TEXT_WIDTH: usize = 78;

/// A help section: the context whose keys it lists, and its heading.
pub type Section = (Context, &'static str);

/// The explorer's sections.
pub const EXPLORER_SECTIONS: &[Section] = &[
    (Context::Global, "Everywhere"),
    (Context::Layers, "Layer pane (and the Dockerfile pane)"),
    (Context::Files, "File pane"),
    (Context::Overlay, "Overlays"),
    (Context::Input, "Typing (filter, extract)"),
    (Context::Confirm, "Questions"),
    (Context::Tour, "Guided tour (esc leaves)"),
];

#[derive(Debug)]
pub struct Help {
    pub scroll: Scroll,
    sections: &'static [Section],
    /// The actions listed, with their help text; `None`: every action, with the table's.
    keys: Option<&'static [(Action, &'static str)]>,
}

impl Default for Help {
    fn default() -> Self {
        Help {
            scroll: Scroll::default(),
            sections: EXPLORER_SECTIONS,
            keys: None,
        }
    }
}

impl Help {
    /// Help that lists only `keys`, under `sections`.
    pub fn limited(sections: &'static [Section], keys: &'static [(Action, &'static str)]) -> Help {
        Help {
            scroll: Scroll::default(),
            sections,
            keys: Some(keys),
        }
    }

    /// The actions listed, with their help text, in the table's order.
    fn entries(&self) -> Vec<(Action, &'static str)> {
        match self.keys {
            Some(keys) => keys.to_vec(),
            None => Action::ALL.iter().map(|&a| (a, a.help())).collect(),
        }
    }
}

pub fn open(action: Action, _ctx: &mut Ctx) -> Option<Box<dyn Component>> {
    (action == Action::Help).then(|| Box::new(Help::default()) as Box<dyn Component>)
}

impl<M: Model> Component<M> for Help {
    fn context(&self) -> Context {
        Context::Overlay
    }

    fn update(&mut self, action: Action, _ctx: &mut Ctx<M>) -> Option<Action> {
        scrolling_update(&mut self.scroll, action)
    }

    fn handle_mouse(
        &mut self,
        mouse: &crossterm::event::MouseEvent,
        _area: Rect,
        _ctx: &mut Ctx<M>,
    ) -> Option<Action> {
        self.scroll.wheel(mouse);
        None
    }

    fn draw(&self, frame: &mut Frame, area: Rect, view: &View<M>) {
        let theme = &view.settings.theme;
        let keymap = &view.settings.keymap;
        let entries = self.entries();
        let mut lines: Vec<Line> = Vec::new();
        for &(context, heading) in self.sections {
            lines.push(styled(heading, theme.title).into());
            for &(action, help) in &entries {
                if action.context() == context {
                    lines.push(Line::from(vec![
                        styled(format!("  {:<22}", keymap.keys(action)), theme.key),
                        Span::raw(help),
                    ]));
                }
            }
        }
        lines.push(Line::from(""));
        lines.push(
            styled(
                "Mouse: click selects, click again collapses, wheel scrolls.",
                theme.dim,
            )
            .into(),
        );
        lines.push(styled(
            "Keys can be changed in $XDG_CONFIG_HOME/layerscope/config.yaml (dive's keybinding.* names).",
            theme.dim,
        ).into());
        if self.keys.is_none() {
            lines.extend(legend(theme));
            lines.extend(glossary(theme));
        }
        let title = format!("Keys ({} closes)", keymap.first_key(Action::CloseOverlay));
        let area = centered(area, TEXT_WIDTH as u16 + 2, lines.len() as u16 + 2);
        let height = area.height.saturating_sub(2) as usize;
        let (shown, _) = self.scroll.window(&lines, height);
        frame.render_widget(Clear, area);
        frame.render_widget(
            Paragraph::new(shown.to_vec()).block(pane(theme, &title, true)),
            area,
        );
    }
}

/// The file tree's colours, each drawn in its own style, with the `docker diff` letter
/// that `NO_COLOR` users and the CLI see for the same change.
fn legend(theme: &Theme) -> Vec<Line<'static>> {
    let row = |kind: DiffKind, style, meaning: &'static str| {
        Line::from(vec![
            styled(
                format!("  {:<22}", format!("{} {kind:?}", kind.letter())),
                style,
            ),
            Span::raw(meaning),
        ])
    };
    vec![
        Line::from(""),
        styled("Colours in the file tree", theme.title).into(),
        row(
            DiffKind::Added,
            theme.added,
            "the selected layer adds the path",
        ),
        row(
            DiffKind::Modified,
            theme.modified,
            "the selected layer replaces it (content, mode or owner)",
        ),
        row(
            DiffKind::Removed,
            theme.removed,
            "the selected layer deletes it (a whiteout or opaque marker)",
        ),
        row(
            DiffKind::Unchanged,
            theme.unchanged,
            "a lower layer put it there; this one leaves it",
        ),
    ]
}

/// Every term the screens use, as `analysis::glossary` defines it, wrapped to the box.
fn glossary(theme: &Theme) -> Vec<Line<'static>> {
    let items = GLOSSARY
        .iter()
        .map(|(term, meaning)| {
            vec![
                Piece::Code((*term).to_string()),
                Piece::Text(format!(": {meaning}.")),
            ]
        })
        .collect();
    let mut lines = vec![Line::from("")];
    lines.extend(render(
        &[
            Block::Heading(2, vec![Piece::Text("Glossary".into())]),
            Block::List(items),
            Block::Paragraph(vec![Piece::Text(DIGEST_AND_DIFF_ID.into())]),
        ],
        theme,
        TEXT_WIDTH,
    ));
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(lines: &[Line]) -> String {
        lines
            .iter()
            .map(|l| {
                l.spans
                    .iter()
                    .map(|s| s.content.as_ref())
                    .collect::<String>()
            })
            .collect::<Vec<_>>()
            .join(" ")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// `?` defines every glossary term in the glossary's own words (so help, tour and
    /// `explain` cannot drift apart), and says why a layer has two hashes.
    #[test]
    fn help_has_the_glossary_and_the_colour_legend() {
        let theme = Theme::dark();
        let lines = glossary(&theme);
        for line in &lines {
            assert!(line.width() <= TEXT_WIDTH, "{line:?}");
        }
        let glossary = text(&lines);
        for (term, meaning) in GLOSSARY {
            assert!(
                glossary.contains(&format!("{term}: {meaning}.")),
                "{term} missing from {glossary}"
            );
        }
        assert!(glossary.contains(DIGEST_AND_DIFF_ID));
        let legend = legend(&theme);
        let words = text(&legend);
        for kind in ["A Added", "C Modified", "D Removed", "Unchanged"] {
            assert!(words.contains(kind), "{words}");
        }
        // Each row is drawn in the style the file tree uses for it.
        assert_eq!(legend[2].spans[0].style, theme.added);
        assert_eq!(legend[5].spans[0].style, theme.unchanged);
    }
}
