//! What the explorer, the comparison view and the fleet view route alike: their panes in
//! tab order, the focus, the open overlay, and which component a key, a mouse event or a
//! draw goes to. Each view keeps what is its own: its layout, its status bar, and what
//! it does with the actions no component took.

use super::actions::Action;
use super::components::{Component, Ctx, Maker, Model, View};
use crossterm::event::{KeyEvent, MouseEvent, MouseEventKind};
use ratatui::layout::{Position, Rect};
use ratatui::Frame;

pub(crate) struct Router<M: Model, P> {
    panes: Vec<(P, Box<dyn Component<M>>)>,
    pub focus: P,
    pub overlay: Option<Box<dyn Component<M>>>,
}

impl<M: Model, P: Copy + PartialEq> Router<M, P> {
    /// One component per line of a view's pane table, focused on `focus`.
    pub fn new(table: &[(P, Maker<M>)], focus: P) -> Self {
        Router {
            panes: table.iter().map(|&(pane, make)| (pane, make())).collect(),
            focus,
            overlay: None,
        }
    }

    /// Send a key to the overlay, else to `input` while it is typed in (the filter line),
    /// else to the focused pane; the action it hands back is the view's to apply.
    pub fn key(
        &mut self,
        key: &KeyEvent,
        ctx: &mut Ctx<M>,
        input: Option<&mut dyn Component<M>>,
    ) -> Option<Action> {
        let focus = self.focus;
        let target: &mut dyn Component<M> = match (self.overlay.as_deref_mut(), input) {
            (Some(overlay), _) => overlay,
            (None, Some(input)) => input,
            (None, None) => {
                let at = self.panes.iter().position(|(p, _)| *p == focus);
                &mut *self.panes[at.expect("every pane is registered")].1
            }
        };
        target
            .handle_key(key, ctx)
            .and_then(|action| target.update(action, ctx))
    }

    /// Tab: the next focusable pane, in the table's order.
    pub fn tab(&mut self, model: &M) {
        let at = self.panes.iter().position(|(p, _)| *p == self.focus);
        let after = at.map_or(0, |i| i + 1);
        let count = self.panes.len();
        if let Some((pane, _)) = (0..count)
            .map(|i| &self.panes[(after + i) % count])
            .find(|(_, c)| c.focusable(model))
        {
            self.focus = *pane;
        }
    }

    /// A mouse event: the wheel scrolls an open overlay (which takes every event);
    /// else it goes to the focusable pane under it, which a click focuses, as the wheel
    /// does over `wheel_focuses`. `area_of` is where each pane was drawn; the action the
    /// pane hands back is the view's to apply.
    pub fn mouse(
        &mut self,
        mouse: &MouseEvent,
        screen: Rect,
        area_of: impl Fn(P) -> Rect,
        wheel_focuses: Option<P>,
        ctx: &mut Ctx<M>,
    ) -> Option<Action> {
        let wheel = matches!(
            mouse.kind,
            MouseEventKind::ScrollDown | MouseEventKind::ScrollUp
        );
        if let Some(overlay) = self.overlay.as_deref_mut() {
            if wheel {
                overlay.handle_mouse(mouse, screen, ctx);
            }
            return None;
        }
        let at = Position::new(mouse.column, mouse.row);
        let (pane, component) = self
            .panes
            .iter_mut()
            .find(|(p, c)| area_of(*p).contains(at) && c.focusable(ctx.model))?;
        if matches!(mouse.kind, MouseEventKind::Down(_)) || (wheel && wheel_focuses == Some(*pane))
        {
            self.focus = *pane;
        }
        component.handle_mouse(mouse, area_of(*pane), ctx)
    }

    /// Draw every pane that has a place, the focused one as such.
    pub fn draw_panes<'a>(
        &self,
        frame: &mut Frame,
        area_of: impl Fn(P) -> Rect,
        view: impl Fn(bool) -> View<'a, M>,
    ) {
        for (pane, component) in &self.panes {
            let area = area_of(*pane);
            if !area.is_empty() {
                component.draw(frame, area, &view(*pane == self.focus));
            }
        }
    }

    /// Draw the open overlay over the whole screen.
    pub fn draw_overlay<'a>(&self, frame: &mut Frame, view: View<'a, M>) {
        if let Some(overlay) = &self.overlay {
            overlay.draw(frame, frame.area(), &view);
        }
    }

    /// The open overlay, if it is a `T`.
    pub fn overlay_as<T: 'static>(&self) -> Option<&T> {
        self.overlay.as_deref()?.as_any().downcast_ref()
    }

    pub fn overlay_as_mut<T: 'static>(&mut self) -> Option<&mut T> {
        self.overlay.as_deref_mut()?.as_any_mut().downcast_mut()
    }
}
