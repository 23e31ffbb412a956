//! The guided tour (`t`, opened by `layerscope demo`): short steps from
//! [`crate::explore::tour`], each selecting the layer or path it talks about. The box sits
//! over the detail panes, so the layer list and the file tree stay in sight.

use super::explain::render;
use super::{Component, Ctx, View};
use crate::analysis::explain::{Block, Span as Piece};
use crate::explore::tour::{self, Step};
use crate::tui::actions::{Action, Context};
use crate::tui::widgets::pane;
use crossterm::event::KeyEvent;
use ratatui::layout::Rect;
use ratatui::widgets::{Clear, Paragraph};
use ratatui::Frame;

#[derive(Debug)]
pub struct Tour {
    pub steps: Vec<Step>,
    /// The step shown.
    pub at: usize,
}

pub fn open(action: Action, ctx: &mut Ctx) -> Option<Box<dyn Component>> {
    if action != Action::Tour {
        return None;
    }
    if ctx.model.layer_count() == 0 {
        ctx.model.inform("the tour needs an image with layers");
        return None;
    }
    let tour = Tour {
        steps: tour::steps(ctx.model),
        at: 0,
    };
    tour.show(ctx);
    Some(Box::new(tour))
}

impl Tour {
    pub fn step(&self) -> &Step {
        &self.steps[self.at]
    }

    fn show(&self, ctx: &mut Ctx) {
        if let Some(target) = self.step().target {
            ctx.model.go_to(target);
        }
    }
}

impl Component for Tour {
    fn context(&self) -> Context {
        Context::Tour
    }

    /// The tour's own keys first, then the overlays' (esc, q and enter leave).
    fn handle_key(&mut self, key: &KeyEvent, ctx: &mut Ctx) -> Option<Action> {
        ctx.settings
            .keymap
            .lookup_in(key, &[Context::Tour, Context::Overlay])
    }

    fn update(&mut self, action: Action, ctx: &mut Ctx) -> Option<Action> {
        match action {
            Action::TourNext if self.at + 1 < self.steps.len() => {
                self.at += 1;
                self.show(ctx);
            }
            Action::TourPrevious if self.at > 0 => {
                self.at -= 1;
                self.show(ctx);
            }
            Action::CloseOverlay | Action::Help => return Some(Action::CloseOverlay),
            Action::Quit => return Some(Action::Quit),
            _ => {}
        }
        None
    }

    fn draw(&self, frame: &mut Frame, area: Rect, view: &View) {
        let theme = &view.settings.theme;
        let keymap = &view.settings.keymap;
        let step = self.step();
        let mut blocks = vec![Block::Paragraph(vec![Piece::Text(step.text.clone())])];
        if step.target.is_none() {
            blocks.push(Block::Paragraph(vec![Piece::Text(
                "(Nothing to select in this image.)".into(),
            )]));
        }
        blocks.push(Block::Paragraph(vec![Piece::Text(format!(
            "{} next  {} previous  {} leaves",
            keymap.first_key(Action::TourNext),
            keymap.first_key(Action::TourPrevious),
            keymap.first_key(Action::CloseOverlay),
        ))]));
        // Over the detail panes when they are on screen, else along the bottom.
        let (a, b) = (view.areas.layer_details, view.areas.image);
        let details = match (a.is_empty(), b.is_empty()) {
            (false, false) => a.union(b),
            (false, true) => a,
            (true, false) => b,
            (true, true) => Rect::default(),
        };
        let spot = if details.height >= 8 {
            details
        } else {
            let height = (area.height / 3).max(6).min(area.height);
            Rect::new(
                area.x,
                area.bottom().saturating_sub(height + 1),
                area.width,
                height,
            )
        };
        let width = spot.width.saturating_sub(2).max(10) as usize;
        let lines = render(&blocks, theme, width);
        let height = (lines.len() as u16 + 2).min(spot.height);
        let spot = Rect::new(spot.x, spot.y, spot.width, height);
        let title = format!("Tour {}/{}: {}", self.at + 1, self.steps.len(), step.title);
        frame.render_widget(Clear, spot);
        let shown = lines
            .into_iter()
            .take(height.saturating_sub(2) as usize)
            .collect::<Vec<_>>();
        frame.render_widget(Paragraph::new(shown).block(pane(theme, &title, true)), spot);
    }
}
