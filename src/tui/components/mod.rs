//! The explorer's parts. Each pane and each overlay is one [`Component`] in one module: it
//! owns its state, turns keys into actions through the keymap, applies them, and draws
//! itself. The app only routes: keys to the overlay, the filter line or the focused pane,
//! and what they hand back to itself.
//!
//! Adding an overlay: write a module with a type that implements [`Component`] and an
//! [`Opener`], then add the opener to [`OVERLAYS`]. Adding a pane: a module, a [`Pane`]
//! variant and a line in [`PANES`] (and a place in `super::app::layout`).
//!
//! Components are generic over the view model they work on ([`Model`]): the explorer's
//! [`Explorer`] by default, or the comparison view's (`super::compare`). The help overlay
//! and the filter line serve both.

pub mod container;
pub mod details;
pub mod dockerfile;
pub mod explain;
pub mod extract;
pub mod files;
pub mod filter;
pub mod help;
pub mod history;
pub mod layers;
pub mod loading;
pub mod text;
pub mod tour;

use super::actions::{Action, Context};
use super::settings::Settings;
use crate::explore::filetree::Filter;
use crate::explore::Explorer;
use crossterm::event::{KeyEvent, MouseEvent, MouseEventKind};
use ratatui::layout::Rect;
use ratatui::Frame;
use std::any::Any;

/// A view model that components can work on: the explorer's, or the comparison's.
pub trait Model: 'static {
    /// Where its screen's panes are, for an overlay that must leave some in sight.
    type Areas: Copy + Default;
    /// Apply the filter line's filter to the file tree.
    fn set_filter(&mut self, filter: Option<Filter>);
    /// Paths the filter matches.
    fn match_count(&self) -> usize;
}

impl Model for Explorer {
    type Areas = Areas;

    fn set_filter(&mut self, filter: Option<Filter>) {
        Explorer::set_filter(self, filter);
    }

    fn match_count(&self) -> usize {
        self.files().match_count()
    }
}

/// Where each pane is. Empty rectangles are hidden panes.
#[derive(Debug, Clone, Copy, Default)]
pub struct Areas {
    pub layers: Rect,
    pub dockerfile: Rect,
    pub layer_details: Rect,
    pub image: Rect,
    pub files: Rect,
    pub filter: Rect,
    pub status: Rect,
    /// The guided tour's box, when it is open: where the detail panes would be.
    pub tour: Rect,
    /// The tour's simulated container layer, above the layers pane.
    pub container: Rect,
}

impl Areas {
    /// Where a pane is drawn.
    pub fn of(&self, pane: Pane) -> Rect {
        match pane {
            Pane::Layers => self.layers,
            Pane::Dockerfile => self.dockerfile,
            Pane::Files => self.files,
            Pane::Image => self.image,
            Pane::LayerDetails => self.layer_details,
        }
    }
}

/// What a component may change while it handles a key or an action: the view model. The
/// settings (keymap, theme) are read-only.
pub struct Ctx<'a, M = Explorer> {
    pub model: &'a mut M,
    pub settings: &'a Settings,
}

/// What a component reads while it draws.
pub struct View<'a, M: Model = Explorer> {
    pub model: &'a M,
    pub settings: &'a Settings,
    /// Where every pane is, for an overlay that must leave some of them in sight.
    pub areas: M::Areas,
    /// Whether this component has the focus (panes) or is on top (overlays).
    pub focused: bool,
}

/// Makes a pane's component, for a view's pane table (which the views' router reads).
pub type Maker<M> = fn() -> Box<dyn Component<M>>;

/// One pane or overlay, shaped like ratatui's component template.
pub trait Component<M: Model = Explorer>: AsAny {
    /// The keymap context this component's keys are looked up in.
    fn context(&self) -> Context {
        Context::Global
    }

    /// The action a key means here. The default looks it up in the keymap, in
    /// [`Self::context`]; a text prompt types printable characters instead.
    fn handle_key(&mut self, key: &KeyEvent, ctx: &mut Ctx<M>) -> Option<Action> {
        ctx.settings.keymap.lookup(key, self.context())
    }

    /// A mouse event inside `area`, where this component was last drawn.
    fn handle_mouse(
        &mut self,
        _mouse: &MouseEvent,
        _area: Rect,
        _ctx: &mut Ctx<M>,
    ) -> Option<Action> {
        None
    }

    /// Apply an action. Returns the action (or another) when the app should handle it:
    /// quitting, closing an overlay, opening one, moving the focus.
    fn update(&mut self, action: Action, ctx: &mut Ctx<M>) -> Option<Action>;

    /// Draw into `area`: a pane's own rectangle, or the whole screen for an overlay.
    fn draw(&self, frame: &mut Frame, area: Rect, view: &View<M>);

    /// Panes only: whether tab can move the focus here.
    fn focusable(&self, _model: &M) -> bool {
        false
    }
}

/// Lets tests and callers look at a component's own state.
pub trait AsAny {
    fn as_any(&self) -> &dyn Any;
    fn as_any_mut(&mut self) -> &mut dyn Any;
}

impl<T: Any> AsAny for T {
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

/// Opens an overlay when `action` is the one that opens it. A failure (a file that cannot
/// be read) goes to the status bar and opens nothing.
pub type Opener = fn(Action, &mut Ctx) -> Option<Box<dyn Component>>;

/// Every overlay, by the action that opens it. One line per overlay.
pub const OVERLAYS: &[Opener] = &[
    help::open,
    history::open,
    text::open,
    extract::open,
    explain::open,
    tour::open,
];

/// The panes: each has a place in the layout. Tab moves the focus through the focusable
/// ones in this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pane {
    Layers,
    Dockerfile,
    Files,
    Image,
    LayerDetails,
}

/// Every pane, with how to make it. One line per pane.
pub const PANES: &[(Pane, Maker<Explorer>)] = &[
    (Pane::Layers, layers::new),
    (Pane::Dockerfile, dockerfile::new),
    (Pane::Files, files::new),
    (Pane::Image, details::image),
    (Pane::LayerDetails, details::layer),
];

/// A scroll offset over lines, shared by the scrolling overlays.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Scroll(pub usize);

impl Scroll {
    const PAGE: usize = 10;
    const WHEEL: usize = 3;

    /// Apply a movement; false when the action is not one.
    pub fn apply(&mut self, action: Action) -> bool {
        let Scroll(at) = self;
        *at = match action {
            Action::Up => at.saturating_sub(1),
            Action::Down => *at + 1,
            Action::PageUp => at.saturating_sub(Self::PAGE),
            Action::PageDown => *at + Self::PAGE,
            Action::Home => 0,
            Action::End => usize::MAX / 2,
            _ => return false,
        };
        true
    }

    pub fn wheel(&mut self, mouse: &MouseEvent) {
        match mouse.kind {
            MouseEventKind::ScrollDown => self.0 += Self::WHEEL,
            MouseEventKind::ScrollUp => self.0 = self.0.saturating_sub(Self::WHEEL),
            _ => {}
        }
    }

    /// The shown slice of `items` in `height` rows, clamped so that the last page stays
    /// full, and where it starts.
    pub fn window<'a, T>(&self, items: &'a [T], height: usize) -> (&'a [T], usize) {
        let start = self.0.min(items.len().saturating_sub(height));
        (&items[start..items.len().min(start + height)], start)
    }
}

/// How far a list-moving key moves a pane's selection, with `page` rows to a page; `None` for
/// any other action. Home and End move by half the range so that the sum never overflows.
pub(crate) fn list_step(action: Action, page: isize) -> Option<isize> {
    match action {
        Action::Up => Some(-1),
        Action::Down => Some(1),
        Action::PageUp => Some(-page),
        Action::PageDown => Some(page),
        Action::Home => Some(isize::MIN / 2),
        Action::End => Some(isize::MAX / 2),
        _ => None,
    }
}

/// The keys of a scrolling overlay: close, scroll, or quit.
pub(crate) fn scrolling_update(scroll: &mut Scroll, action: Action) -> Option<Action> {
    match action {
        Action::CloseOverlay | Action::Help => Some(Action::CloseOverlay),
        Action::Quit => Some(Action::Quit),
        other => {
            scroll.apply(other);
            None
        }
    }
}

#[cfg(test)]
mod tests;
