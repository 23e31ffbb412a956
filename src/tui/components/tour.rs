//! The guided tour (`t`, opened by `layerscope demo`): the lesson of
//! [`crate::explore::tour`], step by step across the demo images. Each step opens the demo
//! image it needs and selects what it talks about. The box takes the place of the detail
//! panes (the layout makes room), so the layer list and the file tree stay in sight; its
//! text wraps and scrolls, and its keys line is always shown. The container step adds a
//! simulated container, drawn above the layers.

use super::container::Container;
use super::explain::render;
use super::{Component, Ctx, Scroll, View};
use crate::analysis::explain::{Block, Span as Piece};
use crate::explore::tour::{self, Step, Topic, LESSON};
use crate::tui::actions::{Action, Context};
use crate::tui::widgets::pane;
use crossterm::event::KeyEvent;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Clear, Paragraph};
use ratatui::Frame;

#[derive(Debug)]
pub struct Tour {
    /// The step shown: an index into [`LESSON`].
    pub at: usize,
    step: Step,
    /// The first line of the text shown.
    scroll: Scroll,
    /// The furthest the text can scroll, as last drawn (the box's height decides it).
    max_scroll: std::cell::Cell<usize>,
    /// The simulated container, on the container step only.
    pub container: Option<Container>,
}

pub fn open(action: Action, ctx: &mut Ctx) -> Option<Box<dyn Component>> {
    if action != Action::Tour {
        return None;
    }
    let Some(name) = ctx.model.demo() else {
        ctx.model
            .inform("the tour runs on the demo images: start it with `layerscope demo`");
        return None;
    };
    let at = tour::start(name);
    let step = tour::step(ctx.model, at);
    let mut tour = Tour {
        at,
        step,
        scroll: Scroll::default(),
        max_scroll: Default::default(),
        container: None,
    };
    tour.show(at, ctx);
    Some(Box::new(tour))
}

impl Tour {
    pub fn step(&self) -> &Step {
        &self.step
    }

    pub fn len(&self) -> usize {
        LESSON.len()
    }

    pub fn is_empty(&self) -> bool {
        LESSON.is_empty()
    }

    /// Rows of the container's box, when it is shown.
    pub fn container_height(&self) -> Option<u16> {
        self.container.as_ref().map(Container::height)
    }

    /// Go to step `at`: open its demo image if another is open, and select its target.
    fn show(&mut self, at: usize, ctx: &mut Ctx) {
        if let Err(e) = tour::open_image_for(ctx.model, at) {
            ctx.model
                .fail(format!("the tour could not open its image: {e}"));
            return;
        }
        self.at = at;
        self.step = tour::step(ctx.model, at);
        self.scroll = Scroll::default();
        self.container = (self.step.topic == Topic::ContainerLayer).then(Container::default);
        ctx.model.go_to(self.step.target);
    }

    /// The box's text: the step's title and text, wrapped to `width`.
    fn body(&self, view: &View, width: usize) -> Vec<Line<'static>> {
        let blocks = [
            Block::Heading(1, vec![Piece::Text(self.step.title.into())]),
            Block::Paragraph(vec![Piece::Text(self.step.text.clone())]),
        ];
        render(&blocks, &view.settings.theme, width)
    }

    /// The keys lines, always shown below the text.
    fn keys(&self, view: &View, more: bool) -> Vec<String> {
        let keymap = &view.settings.keymap;
        let mut keys = vec![format!(
            "{} next  {} previous  {} leaves",
            keymap.first_key(Action::TourNext),
            keymap.first_key(Action::TourPrevious),
            keymap.first_key(Action::CloseOverlay),
        )];
        if more {
            keys.push(format!(
                "{}/{} scroll the text",
                keymap.first_key(Action::PageDown),
                keymap.first_key(Action::PageUp),
            ));
        }
        if self.container.is_some() {
            keys.push(Container::keys(view));
        }
        keys
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
        // The container's keys first, on its step.
        let action = match self.container.as_mut() {
            Some(container) => container.update(action, ctx)?,
            None => action,
        };
        match action {
            Action::TourNext if self.at + 1 < LESSON.len() => self.show(self.at + 1, ctx),
            Action::TourPrevious if self.at > 0 => self.show(self.at - 1, ctx),
            Action::PageDown | Action::PageUp | Action::Down | Action::Up => {
                let delta = match action {
                    Action::PageDown | Action::Down => 3,
                    _ => -3,
                };
                self.scroll.0 =
                    (self.scroll.0.saturating_add_signed(delta)).min(self.max_scroll.get());
            }
            Action::CloseOverlay | Action::Help => return Some(Action::CloseOverlay),
            Action::Quit => return Some(Action::Quit),
            _ => {}
        }
        None
    }

    fn draw(&self, frame: &mut Frame, area: Rect, view: &View) {
        let theme = &view.settings.theme;
        if let Some(container) = &self.container {
            container.draw(frame, view.areas.container, view);
        }
        // The layout's place for the tour, else the lower third of the screen.
        let spot = if view.areas.tour.height >= 6 {
            view.areas.tour
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
        let inner = spot.height.saturating_sub(2) as usize;
        let body = self.body(view, width);
        let wrap_keys = |keys: Vec<String>| {
            render(
                &keys
                    .into_iter()
                    .map(|k| Block::Paragraph(vec![Piece::Text(k)]))
                    .collect::<Vec<_>>(),
                theme,
                width,
            )
            .into_iter()
            .filter(|l| l.width() > 0)
            .collect::<Vec<_>>()
        };
        let mut keys = wrap_keys(self.keys(view, false));
        let mut room = inner.saturating_sub(keys.len() + 1);
        let more = body.len() > room;
        if more {
            keys = wrap_keys(self.keys(view, true));
            room = inner.saturating_sub(keys.len() + 1);
        }
        self.max_scroll.set(body.len().saturating_sub(room));
        let scroll = self.scroll.0.min(self.max_scroll.get());
        let mut lines: Vec<Line> = body.into_iter().skip(scroll).take(room).collect();
        lines.push(Line::from(""));
        lines.extend(keys.into_iter().map(|l| l.style(theme.key)));
        let title = format!("Tour {}/{}", self.at + 1, LESSON.len());
        frame.render_widget(Clear, spot);
        frame.render_widget(Paragraph::new(lines).block(pane(theme, &title, true)), spot);
    }
}
