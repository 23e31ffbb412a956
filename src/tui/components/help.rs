//! The help overlay: every key, from the action table, by where it applies.

use super::{scrolling_update, Component, Ctx, Scroll, View};
use crate::tui::actions::{Action, Context};
use crate::tui::widgets::{centered, pane, styled};
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};
use ratatui::Frame;

#[derive(Debug, Default)]
pub struct Help {
    pub scroll: Scroll,
}

pub fn open(action: Action, _ctx: &mut Ctx) -> Option<Box<dyn Component>> {
    (action == Action::Help).then(|| Box::new(Help::default()) as Box<dyn Component>)
}

impl Component for Help {
    fn context(&self) -> Context {
        Context::Overlay
    }

    fn update(&mut self, action: Action, _ctx: &mut Ctx) -> Option<Action> {
        scrolling_update(&mut self.scroll, action)
    }

    fn handle_mouse(
        &mut self,
        mouse: &crossterm::event::MouseEvent,
        _area: Rect,
        _ctx: &mut Ctx,
    ) -> Option<Action> {
        self.scroll.wheel(mouse);
        None
    }

    fn draw(&self, frame: &mut Frame, area: Rect, view: &View) {
        let theme = &view.settings.theme;
        let keymap = &view.settings.keymap;
        let mut lines: Vec<Line> = Vec::new();
        for (context, heading) in [
            (Context::Global, "Everywhere"),
            (Context::Layers, "Layer pane (and the Dockerfile pane)"),
            (Context::Files, "File pane"),
            (Context::Overlay, "Overlays"),
            (Context::Input, "Typing (filter, extract)"),
            (Context::Confirm, "Questions"),
            (Context::Tour, "Guided tour (esc leaves)"),
        ] {
            lines.push(styled(heading, theme.title).into());
            for &action in Action::ALL {
                if action.context() == context {
                    lines.push(Line::from(vec![
                        styled(format!("  {:<22}", keymap.keys(action)), theme.key),
                        Span::raw(action.help()),
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
