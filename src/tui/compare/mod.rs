//! The comparison view (`layerscope diff A B --tui`): the terminal side of
//! [`crate::explore::compare`]. It is built like the explorer: a router ([`CompareApp`])
//! sends each key to the overlay, the filter line or the focused pane; each pane is one
//! [`Component`] owning its state, keys and drawing; keys become actions through the
//! explorer's keymap, so the same keys (and the user's rebindings) work here.
//!
//! - [`layers`]: the two layer columns, the shared base joined across both;
//! - [`changes`]: the merged tree coloured by A→B change, with size deltas;
//! - [`summary`]: where the stacks part, the totals, the selected layer and path;
//! - the help overlay and the filter line are the explorer's own.
//!
//! Adding a pane: a module, a [`ComparePane`] variant, a line in [`PANES`] and a place in
//! [`layout`].

pub mod changes;
pub mod layers;
pub mod summary;

use super::actions::{Action, Context};
use super::components::filter::FilterLine;
use super::components::help::{Help, Section};
use super::components::{Component, Ctx, Maker, Model, View};
use super::event_loop::Screen;
use super::router::Router;
use super::settings::Settings;
use super::widgets::{self, list_height};
use crate::explore::compare::CompareView;
use crate::explore::filetree::Filter;
use crossterm::event::{KeyEvent, KeyEventKind, MouseEvent};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::Frame;

impl Model for CompareView {
    type Areas = Areas;

    fn set_filter(&mut self, filter: Option<Filter>) {
        CompareView::set_filter(self, filter);
    }

    fn match_count(&self) -> usize {
        CompareView::match_count(self)
    }
}

/// The comparison view's panes. Tab moves the focus through the focusable ones in this
/// order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ComparePane {
    Layers,
    Summary,
    Changes,
}

/// Every pane, with how to make it. One line per pane.
pub const PANES: &[(ComparePane, Maker<CompareView>)] = &[
    (ComparePane::Layers, layers::new),
    (ComparePane::Summary, summary::new),
    (ComparePane::Changes, changes::new),
];

/// The keys the comparison view takes, in the words of this view: the explorer's keymap
/// binds them (enter, its path history, opens and closes a directory here). Help lists
/// these.
pub const KEYS: &[(Action, &str)] = &[
    (Action::Quit, "quit"),
    (
        Action::ToggleView,
        "switch pane (layer columns, change tree)",
    ),
    (Action::Filter, "filter paths (substring or regex)"),
    (Action::CloseFilter, "clear the filter"),
    (Action::Up, "move up"),
    (Action::Down, "move down"),
    (Action::Left, "collapse directory / go to parent"),
    (Action::Right, "expand directory"),
    (Action::PageUp, "page up"),
    (Action::PageDown, "page down"),
    (Action::Home, "first row"),
    (Action::End, "last row"),
    (Action::Help, "this help"),
    (Action::ToggleCollapseDir, "collapse/expand directory"),
    (Action::PathHistory, "collapse/expand directory"),
    (Action::ToggleCollapseAll, "collapse/expand all directories"),
    (Action::ToggleAdded, "show/hide paths B added (A)"),
    (Action::ToggleRemoved, "show/hide paths B deleted (D)"),
    (
        Action::ToggleModified,
        "show/hide paths B changed (C); ctrl+m is Enter: use 3",
    ),
    (
        Action::ToggleUnchanged,
        "show/hide unchanged paths (hidden at first)",
    ),
    (
        Action::ToggleAttributes,
        "show/hide permissions, owner, size",
    ),
    (Action::ToggleSort, "sort by name / size"),
    (Action::CloseOverlay, "close the overlay"),
    (Action::Confirm, "accept the typed text"),
    (Action::Cancel, "stop typing (the filter is cleared)"),
    (Action::DeleteChar, "delete the last character"),
];

/// Help's sections here.
pub const SECTIONS: &[Section] = &[
    (Context::Global, "Everywhere"),
    (Context::Files, "Change tree"),
    (Context::Overlay, "Overlays"),
    (Context::Input, "Typing (the filter)"),
];

/// Where each pane is. Empty rectangles are hidden panes.
#[derive(Debug, Clone, Copy, Default)]
pub struct Areas {
    pub layers: Rect,
    pub summary: Rect,
    pub changes: Rect,
    pub filter: Rect,
    pub status: Rect,
}

impl Areas {
    pub fn of(&self, pane: ComparePane) -> Rect {
        match pane {
            ComparePane::Layers => self.layers,
            ComparePane::Summary => self.summary,
            ComparePane::Changes => self.changes,
        }
    }
}

/// Most rows the summary pane takes, borders included: room for its five lines when the
/// sizes line wraps once and the others twice; a third of the screen on a shorter one.
const SUMMARY_HEIGHT: u16 = 12;

/// Lay out the screen, top to bottom: the layer columns (their rows, up to a third of
/// the height), the summary (its lines, wrapped; dropped on short terminals), the change
/// tree, the filter line and the status bar.
pub fn layout(area: Rect, app: &CompareApp) -> Areas {
    let filter_height = u16::from(app.filter.shown());
    let [main, filter, status] = Layout::vertical([
        Constraint::Min(0),
        Constraint::Length(filter_height),
        Constraint::Length(1),
    ])
    .areas(area);
    // Borders and the column header, then one line per row.
    let wanted = u16::try_from(app.model.layer_rows().len())
        .unwrap_or(u16::MAX)
        .saturating_add(3);
    let layers = wanted.clamp(4, (main.height / 3).max(4));
    let summary = if main.height >= 20 {
        let wanted = summary::height(&app.model, main.width);
        u16::try_from(wanted)
            .unwrap_or(u16::MAX)
            .min(SUMMARY_HEIGHT.min(main.height / 3))
    } else {
        0
    };
    let [layers, summary, changes] = Layout::vertical([
        Constraint::Length(layers),
        Constraint::Length(summary),
        Constraint::Min(0),
    ])
    .areas(main);
    Areas {
        layers,
        summary,
        changes,
        filter,
        status,
    }
}

pub struct CompareApp {
    pub model: CompareView,
    pub settings: Settings,
    router: Router<CompareView, ComparePane>,
    filter: FilterLine,
    area: Rect,
    quit: bool,
}

impl CompareApp {
    /// The view, focused on the change tree: what a comparison is opened for.
    pub fn new(model: CompareView, settings: Settings) -> CompareApp {
        let mut app = CompareApp {
            model,
            settings,
            router: Router::new(PANES, ComparePane::Changes),
            filter: FilterLine::default(),
            area: Rect::new(0, 0, 120, 40),
            quit: false,
        };
        app.relayout();
        app
    }

    pub fn focus(&self) -> ComparePane {
        self.router.focus
    }

    pub fn set_focus(&mut self, pane: ComparePane) {
        self.router.focus = pane;
    }

    pub fn filter(&self) -> &FilterLine {
        &self.filter
    }

    pub fn area(&self) -> Rect {
        self.area
    }

    pub fn should_quit(&self) -> bool {
        self.quit
    }

    /// The open overlay, if it is a `T`.
    pub fn overlay<T: 'static>(&self) -> Option<&T> {
        self.router.overlay_as()
    }

    pub fn has_overlay(&self) -> bool {
        self.router.overlay.is_some()
    }

    pub fn resize(&mut self, width: u16, height: u16) {
        self.area = Rect::new(0, 0, width, height);
        self.relayout();
    }

    /// Tell the model how many rows its lists show (each pane has a header line).
    fn relayout(&mut self) {
        let areas = layout(self.area, self);
        self.model.set_viewport(
            list_height(areas.layers).saturating_sub(1),
            list_height(areas.changes).saturating_sub(1),
        );
    }

    pub fn handle_key(&mut self, key: KeyEvent) {
        if key.kind == KeyEventKind::Release {
            return;
        }
        self.model.message = None;
        let mut ctx = Ctx {
            model: &mut self.model,
            settings: &self.settings,
        };
        let input = self
            .filter
            .editing()
            .then_some(&mut self.filter as &mut dyn Component<_>);
        let action = self.router.key(&key, &mut ctx, input);
        if let Some(action) = action {
            self.apply(action);
        }
        self.relayout();
    }

    /// What no component took: the router's own actions and the help overlay. The
    /// explorer's other actions (a layer's own changes, file views, extraction) are for
    /// one image: the status bar says so.
    pub fn apply(&mut self, action: Action) {
        match action {
            Action::Quit => self.quit = true,
            Action::CloseOverlay => self.router.overlay = None,
            Action::ToggleView => self.router.tab(&self.model),
            Action::Filter => {
                self.filter.start();
                self.router.focus = ComparePane::Changes;
            }
            Action::CloseFilter => {
                self.filter.clear(&mut self.model);
            }
            Action::Help => self.router.overlay = Some(Box::new(Help::limited(SECTIONS, KEYS))),
            other => self.model.inform(format!(
                "{} ({}) is the explorer's: open one image with `layerscope IMAGE`",
                self.settings.keymap.first_key(other),
                other.help()
            )),
        }
    }

    pub fn handle_mouse(&mut self, mouse: MouseEvent) {
        // Typing in the filter line holds the panes still (an overlay still scrolls).
        if self.filter.editing() && !self.has_overlay() {
            return;
        }
        let areas = layout(self.area, self);
        let mut ctx = Ctx {
            model: &mut self.model,
            settings: &self.settings,
        };
        let action = self
            .router
            .mouse(&mouse, self.area, |pane| areas.of(pane), None, &mut ctx);
        if let Some(action) = action {
            self.apply(action);
        }
        self.relayout();
    }

    /// Draw every pane, the filter line, the status bar and the overlay on top.
    pub fn draw(&self, frame: &mut Frame) {
        let areas = layout(frame.area(), self);
        self.router.draw_panes(
            frame,
            |pane| areas.of(pane),
            |focused| self.view(focused, areas),
        );
        self.filter.draw(
            frame,
            areas.filter,
            &self.view(self.filter.editing(), areas),
        );
        self.draw_status(frame, areas.status);
        self.router.draw_overlay(frame, self.view(true, areas));
    }

    fn draw_status(&self, frame: &mut Frame, area: Rect) {
        let hints: &[(Action, &str)] = match self.router.focus {
            ComparePane::Changes => &[
                (Action::Quit, "quit"),
                (Action::ToggleView, "layers"),
                (Action::ToggleCollapseDir, "collapse"),
                (Action::ToggleAdded, "added"),
                (Action::ToggleRemoved, "deleted"),
                (Action::ToggleModified, "changed"),
                (Action::ToggleUnchanged, "unchanged"),
                (Action::ToggleSort, "sort"),
                (Action::Filter, "filter"),
                (Action::Help, "help"),
            ],
            _ => &[
                (Action::Quit, "quit"),
                (Action::ToggleView, "changes"),
                (Action::Filter, "filter"),
                (Action::Help, "help"),
            ],
        };
        let totals = &self.model.comparison().totals;
        let mut right = format!(
            " A{}B: {} added, {} changed, {} deleted",
            self.settings.glyphs.arrow, totals.added, totals.modified, totals.removed
        );
        let filter = self.filter.text();
        if !filter.is_empty() {
            right.push_str(&format!(
                " | filter: {} ({} matches)",
                crate::escape::escape_str(filter),
                self.model.match_count()
            ));
        }
        widgets::render_bar(
            frame,
            area,
            &self.settings,
            self.model.message.as_ref(),
            hints,
            &right,
        );
    }

    fn view(&self, focused: bool, areas: Areas) -> View<'_, CompareView> {
        View {
            model: &self.model,
            settings: &self.settings,
            areas,
            focused,
        }
    }
}

impl Screen for CompareApp {
    fn should_quit(&self) -> bool {
        CompareApp::should_quit(self)
    }
    fn handle_key(&mut self, key: KeyEvent) {
        CompareApp::handle_key(self, key)
    }
    fn handle_mouse(&mut self, mouse: MouseEvent) {
        CompareApp::handle_mouse(self, mouse)
    }
    fn resize(&mut self, width: u16, height: u16) {
        CompareApp::resize(self, width, height)
    }
    fn draw(&self, frame: &mut Frame) {
        CompareApp::draw(self, frame)
    }
}
