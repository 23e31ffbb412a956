//! The fleet view (`layerscope fleet IMAGE… --tui`): the terminal side of
//! [`crate::explore::fleet`]. Built like the comparison view: a router ([`FleetApp`])
//! sends each key to the overlay or the focused pane; each pane is one [`Component`]
//! owning its state, keys and drawing; keys become actions through the explorer's keymap.
//!
//! - [`stacks`]: one column per image, a row per layer position, shared layers joined;
//! - [`summary`]: the selected image's figures, the selected layer, the set's totals;
//! - [`tree`]: the sharing tree, a line per branch with its bytes;
//! - the help overlay is the explorer's own.
//!
//! Enter hands the selected image back to [`super::run_fleet`], which opens it in the
//! explorer and comes back here, the cursor where it was.

pub mod stacks;
pub mod summary;
pub mod tree;

use super::actions::{Action, Context};
use super::components::help::{Help, Section};
use super::components::{list_step, Ctx, Maker, Model, View};
use super::event_loop::Screen;
use super::router::Router;
use super::settings::Settings;
use super::widgets::{self, list_height, WHEEL_ROWS};
use crate::analysis::glossary::{PULL_NAME, STORED_NAME};
use crate::explore::filetree::Filter;
use crate::explore::fleet::FleetView;
use crate::size::human;
use crossterm::event::{KeyEvent, KeyEventKind, MouseEvent, MouseEventKind};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::Frame;

impl Model for FleetView {
    type Areas = Areas;

    /// The fleet view has no file tree to filter.
    fn set_filter(&mut self, _filter: Option<Filter>) {}

    fn match_count(&self) -> usize {
        0
    }
}

/// The fleet view's panes. Tab moves the focus through the focusable ones in this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FleetPane {
    Stacks,
    Summary,
    Tree,
}

/// Every pane, with how to make it. One line per pane.
pub const PANES: &[(FleetPane, Maker<FleetView>)] = &[
    (FleetPane::Stacks, stacks::new),
    (FleetPane::Summary, summary::new),
    (FleetPane::Tree, tree::new),
];

/// The keys the fleet view takes, in its words. Help lists these.
pub const KEYS: &[(Action, &str)] = &[
    (Action::Quit, "quit"),
    (Action::ToggleView, "switch pane (stacks, sharing tree)"),
    (Action::Up, "layer below / tree line up"),
    (Action::Down, "layer above / tree line down"),
    (Action::Left, "image to the left"),
    (Action::Right, "image to the right"),
    (Action::PageUp, "page up"),
    (Action::PageDown, "page down"),
    (Action::Home, "first row"),
    (Action::End, "last row"),
    (Action::Help, "this help"),
    (
        Action::PathHistory,
        "open the selected image in the explorer (esc or q there comes back)",
    ),
    (Action::CloseOverlay, "close the overlay"),
];

/// Help's sections here.
pub const SECTIONS: &[Section] = &[
    (Context::Global, "Everywhere"),
    (Context::Files, "Stacks and sharing tree"),
    (Context::Overlay, "Overlays"),
];

/// Where each pane is. Empty rectangles are hidden panes.
#[derive(Debug, Clone, Copy, Default)]
pub struct Areas {
    pub stacks: Rect,
    pub summary: Rect,
    pub tree: Rect,
    pub status: Rect,
}

impl Areas {
    pub fn of(&self, pane: FleetPane) -> Rect {
        match pane {
            FleetPane::Stacks => self.stacks,
            FleetPane::Summary => self.summary,
            FleetPane::Tree => self.tree,
        }
    }
}

/// Lay out the screen, top to bottom: the stacks (their rows, up to half the height), the
/// summary (its lines, up to two fifths of the height; dropped on short terminals), the sharing tree and the status bar.
pub fn layout(area: Rect, model: &FleetView) -> Areas {
    let [main, status] = Layout::vertical([Constraint::Min(0), Constraint::Length(1)]).areas(area);
    // Borders and the header, then one line per layer position.
    let wanted = u16::try_from(model.rows().len())
        .unwrap_or(u16::MAX)
        .saturating_add(3);
    let stacks = wanted.clamp(4, (main.height / 2).max(4));
    let summary = if main.height >= 16 {
        u16::try_from(summary::height(model, main.width))
            .unwrap_or(u16::MAX)
            .min(main.height * 2 / 5)
    } else {
        0
    };
    let [stacks, summary, tree] = Layout::vertical([
        Constraint::Length(stacks),
        Constraint::Length(summary),
        Constraint::Min(0),
    ])
    .areas(main);
    Areas {
        stacks,
        summary,
        tree,
        status,
    }
}

/// The keys both panes take: left and right move between images; the list keys move
/// `along` the pane (the stack, the tree), `page` rows to a page. Others go back to the
/// router.
fn moves(
    action: Action,
    model: &mut FleetView,
    page: usize,
    along: fn(&mut FleetView, isize),
) -> Option<Action> {
    match action {
        Action::Left => model.move_column(-1),
        Action::Right => model.move_column(1),
        _ => match list_step(action, page.max(1) as isize) {
            Some(step) => along(model, step),
            None => return Some(action),
        },
    }
    None
}

/// The mouse wheel moves `along` the pane.
fn wheel(mouse: &MouseEvent, model: &mut FleetView, along: fn(&mut FleetView, isize)) {
    match mouse.kind {
        MouseEventKind::ScrollDown => along(model, WHEEL_ROWS),
        MouseEventKind::ScrollUp => along(model, -WHEEL_ROWS),
        _ => {}
    }
}

pub struct FleetApp {
    pub model: FleetView,
    pub settings: Settings,
    router: Router<FleetView, FleetPane>,
    area: Rect,
    quit: bool,
    /// The image Enter chose, until [`FleetApp::take_open`] takes it.
    open: Option<String>,
}

impl FleetApp {
    /// The view, focused on the stacks.
    pub fn new(model: FleetView, settings: Settings) -> FleetApp {
        let mut app = FleetApp {
            model,
            settings,
            router: Router::new(PANES, FleetPane::Stacks),
            area: Rect::new(0, 0, 120, 40),
            quit: false,
            open: None,
        };
        app.relayout();
        app
    }

    pub fn focus(&self) -> FleetPane {
        self.router.focus
    }

    pub fn area(&self) -> Rect {
        self.area
    }

    /// Whether the user quit (not just left to open an image).
    pub fn quit(&self) -> bool {
        self.quit
    }

    /// The image to open in the explorer, once: the loop stops for it, and starts again.
    pub fn take_open(&mut self) -> Option<String> {
        self.open.take()
    }

    pub fn has_overlay(&self) -> bool {
        self.router.overlay.is_some()
    }

    pub fn resize(&mut self, width: u16, height: u16) {
        self.area = Rect::new(0, 0, width, height);
        self.relayout();
    }

    /// Tell the model how many columns, rows and tree lines show.
    fn relayout(&mut self) {
        let areas = layout(self.area, &self.model);
        self.model.set_viewport(
            stacks::visible_columns(areas.stacks, self.model.columns().len()),
            list_height(areas.stacks).saturating_sub(1),
            list_height(areas.tree),
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
        let action = self.router.key(&key, &mut ctx, None);
        if let Some(action) = action {
            self.apply(action);
        }
        self.relayout();
    }

    /// What no component took: the router's own actions, the help overlay and Enter.
    pub fn apply(&mut self, action: Action) {
        match action {
            Action::Quit => self.quit = true,
            Action::CloseOverlay => self.router.overlay = None,
            Action::ToggleView => self.router.tab(&self.model),
            Action::Help => self.router.overlay = Some(Box::new(Help::limited(SECTIONS, KEYS))),
            Action::PathHistory => match self.model.selected_opening() {
                Some(name) => self.open = Some(name.to_string()),
                None => self
                    .model
                    .warn("this image was read from stdin, once: it cannot be opened again"),
            },
            // Esc: there is nothing to clear or go back to here.
            Action::CloseFilter => {}
            other => self.model.inform(format!(
                "{} ({}) is the explorer's: {} opens the selected image in it",
                self.settings.keymap.first_key(other),
                other.help(),
                self.settings.keymap.first_key(Action::PathHistory)
            )),
        }
    }

    pub fn handle_mouse(&mut self, mouse: MouseEvent) {
        let areas = layout(self.area, &self.model);
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

    /// Draw every pane, the status bar and the overlay on top.
    pub fn draw(&self, frame: &mut Frame) {
        let areas = layout(frame.area(), &self.model);
        self.router.draw_panes(
            frame,
            |pane| areas.of(pane),
            |focused| self.view(focused, areas),
        );
        let hints: &[(Action, &str)] = &[
            (Action::Quit, "quit"),
            (
                Action::ToggleView,
                if self.router.focus == FleetPane::Tree {
                    "stacks"
                } else {
                    "tree"
                },
            ),
            (Action::PathHistory, "open in the explorer"),
            (Action::Help, "help"),
        ];
        let totals = self.model.totals();
        let right = format!(
            " {PULL_NAME} {}, {STORED_NAME} {}",
            human(totals.pull_bytes),
            human(totals.stored_bytes)
        );
        widgets::render_bar(
            frame,
            areas.status,
            &self.settings,
            self.model.message.as_ref(),
            hints,
            &right,
        );
        self.router.draw_overlay(frame, self.view(true, areas));
    }

    fn view(&self, focused: bool, areas: Areas) -> View<'_, FleetView> {
        View {
            model: &self.model,
            settings: &self.settings,
            areas,
            focused,
        }
    }
}

impl Screen for FleetApp {
    /// Quit, or leave to open an image.
    fn should_quit(&self) -> bool {
        self.quit || self.open.is_some()
    }
    fn handle_key(&mut self, key: KeyEvent) {
        FleetApp::handle_key(self, key)
    }
    fn handle_mouse(&mut self, mouse: MouseEvent) {
        FleetApp::handle_mouse(self, mouse)
    }
    fn resize(&mut self, width: u16, height: u16) {
        FleetApp::resize(self, width, height)
    }
    fn draw(&self, frame: &mut Frame) {
        FleetApp::draw(self, frame)
    }
}
