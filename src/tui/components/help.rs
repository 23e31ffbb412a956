//! The help overlay: every key, from the action table, by where it applies. The explorer's
//! lists every action; another screen (the comparison view) gives the keys it takes, with
//! its own words where an action means something else there.

use super::{scrolling_update, Component, Ctx, Model, Scroll, View};
use crate::tui::actions::{Action, Context};
use crate::tui::widgets::{centered, pane, styled};
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};
use ratatui::Frame;

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
        let title = format!("Keys ({} closes)", keymap.first_key(Action::CloseOverlay));
        let area = centered(area, 80, lines.len() as u16 + 2);
        let height = area.height.saturating_sub(2) as usize;
        let (shown, _) = self.scroll.window(&lines, height);
        frame.render_widget(Clear, area);
        frame.render_widget(
            Paragraph::new(shown.to_vec()).block(pane(theme, &title, true)),
            area,
        );
    }
}
