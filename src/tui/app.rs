//! The explorer's router. It owns the view model, the panes, the filter line and the open
//! overlay, sends each key or mouse event to the one component it is for, and applies
//! what that component hands back: quit, close or open an overlay, move the focus.

use super::actions::Action;
use super::components::filter::FilterLine;
use super::components::tour::Tour;
use super::components::{Areas, Component, Ctx, Pane, View, OVERLAYS, PANES};
use super::router::Router;
use super::settings::Settings;
use super::widgets::{self, list_height};
use crate::explore::filetree::SortOrder;
use crate::explore::{Explorer, ImageAnalysis, Viewport};
use crate::model::LoadedImage;
use crate::source::Source;
use crossterm::event::{KeyEvent, KeyEventKind, MouseEvent};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::Frame;

pub struct App {
    pub model: Explorer,
    pub settings: Settings,
    router: Router<Explorer, Pane>,
    filter: FilterLine,
    area: Rect,
    quit: bool,
    /// Esc with nothing to clear quits: the explorer was opened from the fleet view,
    /// which esc goes back to.
    back: bool,
}

impl App {
    pub fn new(
        image: LoadedImage,
        source: Option<Source>,
        analysis: Option<ImageAnalysis>,
        settings: Settings,
    ) -> App {
        App::with_model(Explorer::new(image, source, analysis), settings)
    }

    /// [`App::new`] over an image already shared ([`Explorer::new_shared`]).
    pub fn new_shared(
        image: std::sync::Arc<LoadedImage>,
        source: Option<Source>,
        analysis: Option<ImageAnalysis>,
        settings: Settings,
    ) -> App {
        App::with_model(Explorer::new_shared(image, source, analysis), settings)
    }

    fn with_model(model: Explorer, settings: Settings) -> App {
        let mut app = App {
            model,
            settings,
            router: Router::new(PANES, Pane::Layers),
            filter: FilterLine::default(),
            area: Rect::new(0, 0, 120, 40),
            quit: false,
            back: false,
        };
        app.relayout();
        app
    }

    pub fn focus(&self) -> Pane {
        self.router.focus
    }

    pub fn set_focus(&mut self, pane: Pane) {
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

    /// Make esc, once the filter and the range mark are cleared, leave the explorer (to
    /// the fleet view it was opened from), and say so.
    pub fn go_back_on_esc(&mut self) {
        self.back = true;
        let keys = &self.settings.keymap;
        self.model.inform(format!(
            "{} or {} goes back to the fleet",
            keys.first_key(Action::CloseFilter),
            keys.first_key(Action::Quit)
        ));
    }

    /// The open overlay, if it is a `T`.
    pub fn overlay<T: 'static>(&self) -> Option<&T> {
        self.router.overlay_as()
    }

    pub fn overlay_mut<T: 'static>(&mut self) -> Option<&mut T> {
        self.router.overlay_as_mut()
    }

    pub fn has_overlay(&self) -> bool {
        self.router.overlay.is_some()
    }

    pub fn resize(&mut self, width: u16, height: u16) {
        self.area = Rect::new(0, 0, width, height);
        self.relayout();
    }

    /// Tell the model how many rows its lists show (the filter line takes one).
    fn relayout(&mut self) {
        let areas = layout(self.area, self);
        self.model.set_viewport(Viewport {
            layer_rows: list_height(areas.layers),
            file_rows: list_height(areas.files).saturating_sub(1),
            dockerfile_rows: list_height(areas.dockerfile),
        });
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
            .then_some(&mut self.filter as &mut dyn Component);
        if let Some(action) = self.router.key(&key, &mut ctx, input) {
            self.apply(action);
        }
        self.relayout();
    }

    /// What no component took: the router's own actions, else an overlay's opener.
    pub fn apply(&mut self, action: Action) {
        match action {
            Action::Quit => self.quit = true,
            Action::CloseOverlay => self.router.overlay = None,
            Action::ToggleView => self.router.tab(&self.model),
            Action::Filter => {
                self.filter.start();
                if self.router.focus == Pane::Layers {
                    self.router.focus = Pane::Files;
                }
            }
            Action::ToggleDockerfile => {
                self.model.toggle_dockerfile();
                if self.model.dockerfile_shown() {
                    self.router.focus = Pane::Dockerfile;
                } else if self.router.focus == Pane::Dockerfile {
                    self.router.focus = Pane::Layers;
                }
            }
            Action::CloseFilter => {
                if !self.filter.clear(&mut self.model) && !self.model.clear_mark() && self.back {
                    self.quit = true;
                }
            }
            other => {
                let mut ctx = Ctx {
                    model: &mut self.model,
                    settings: &self.settings,
                };
                self.router.overlay = OVERLAYS.iter().find_map(|open| open(other, &mut ctx));
            }
        }
        // An overlay may take a place in the layout (the tour).
        self.relayout();
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
        // The wheel over the layers also focuses them: it moves the selection there.
        let action = self.router.mouse(
            &mouse,
            self.area,
            |pane| areas.of(pane),
            Some(Pane::Layers),
            &mut ctx,
        );
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
        render_status(self, frame, areas.status);
        self.router.draw_overlay(frame, self.view(true, areas));
    }

    fn view(&self, focused: bool, areas: Areas) -> View<'_> {
        View {
            model: &self.model,
            settings: &self.settings,
            areas,
            focused,
        }
    }
}

/// Lay out the screen. Narrow terminals stack the layers above the files and drop the
/// detail panes; short ones drop the image pane, then the layer details. The Dockerfile
/// pane, when shown, goes above the files.
pub fn layout(area: Rect, app: &App) -> Areas {
    let filter_height = u16::from(app.filter().shown());
    let [main, filter, status] = Layout::vertical([
        Constraint::Min(0),
        Constraint::Length(filter_height),
        Constraint::Length(1),
    ])
    .areas(area);
    // Up to 65,536 layers: more rows than any terminal has, so saturate.
    let wanted_layers = u16::try_from(app.model.layer_count())
        .unwrap_or(u16::MAX)
        .saturating_add(2);
    let mut areas = Areas {
        filter,
        status,
        ..Areas::default()
    };
    // The Dockerfile's lines, up to two fifths of the height.
    let dockerfile_height = |height: u16| {
        let lines = app.model.dockerfile().map_or(0, |d| d.len());
        let lines = u16::try_from(lines).unwrap_or(u16::MAX).saturating_add(2);
        lines.clamp(3, (height * 2 / 5).max(3))
    };
    let shown = app.model.dockerfile_shown();
    let tour = app.overlay::<Tour>();
    if main.width >= 80 {
        let left_width = (main.width * 2 / 5).clamp(36, 72);
        let [mut left, right] =
            Layout::horizontal([Constraint::Length(left_width), Constraint::Min(0)]).areas(main);
        // The tour's container layer sits on top of the image's layers.
        if let Some(rows) = tour.and_then(Tour::container_height) {
            [areas.container, left] = Layout::vertical([
                Constraint::Length(rows.min(left.height / 3)),
                Constraint::Min(0),
            ])
            .areas(left);
        }
        areas.files = right;
        if shown {
            [areas.dockerfile, areas.files] = Layout::vertical([
                Constraint::Length(dockerfile_height(right.height)),
                Constraint::Min(0),
            ])
            .areas(right);
        }
        if left.height >= 24 {
            let layers = wanted_layers.clamp(5, left.height / 3);
            [areas.layers, areas.layer_details, areas.image] = Layout::vertical([
                Constraint::Length(layers),
                Constraint::Fill(3),
                Constraint::Fill(2),
            ])
            .areas(left);
        } else if left.height >= 12 {
            let layers = wanted_layers.clamp(4, left.height / 2);
            [areas.layers, areas.layer_details] =
                Layout::vertical([Constraint::Length(layers), Constraint::Min(0)]).areas(left);
        } else {
            areas.layers = left;
        }
        // The tour takes the detail panes' place, so no pane is half covered.
        if tour.is_some() {
            if areas.layer_details.is_empty() {
                [areas.layers, areas.tour] =
                    Layout::vertical([Constraint::Min(3), Constraint::Percentage(50)])
                        .areas(areas.layers);
            } else {
                areas.tour = if areas.image.is_empty() {
                    areas.layer_details
                } else {
                    areas.layer_details.union(areas.image)
                };
                areas.layer_details = Rect::default();
                areas.image = Rect::default();
            }
        }
    } else {
        let layers = wanted_layers.clamp(3, (main.height / 3).max(3));
        let dockerfile = if shown {
            dockerfile_height(main.height.saturating_sub(layers))
        } else {
            0
        };
        [areas.layers, areas.dockerfile, areas.files] = Layout::vertical([
            Constraint::Length(layers),
            Constraint::Length(dockerfile),
            Constraint::Min(0),
        ])
        .areas(main);
    }
    areas
}

/// The explorer's status bar: the focused pane's key hints, the comparison, the sort
/// and the filter.
fn render_status(app: &App, frame: &mut Frame, area: Rect) {
    let hints: &[(Action, &str)] = match app.focus() {
        Pane::Layers => &[
            (Action::Quit, "quit"),
            (Action::ToggleView, "files"),
            (Action::CompareLayer, "layer"),
            (Action::CompareAll, "aggregated"),
            (Action::MarkRange, "range"),
            (Action::Filter, "filter"),
            (Action::Help, "help"),
            (Action::ExplainLayer, "explain"),
            (Action::ToggleDockerfile, "dockerfile"),
        ],
        Pane::Dockerfile => &[
            (Action::Quit, "quit"),
            (Action::ToggleView, "pane"),
            (Action::ExplainLayer, "explain"),
            (Action::ToggleDockerfile, "hide"),
            (Action::Help, "help"),
        ],
        Pane::Files => &[
            (Action::Quit, "quit"),
            (Action::ToggleView, "pane"),
            (Action::ToggleCollapseDir, "collapse"),
            (Action::ToggleAdded, "added"),
            (Action::ToggleRemoved, "removed"),
            (Action::ToggleModified, "modified"),
            (Action::ToggleUnchanged, "unchanged"),
            (Action::ToggleSort, "sort"),
            (Action::PathHistory, "history"),
            (Action::ViewFile, "view"),
            (Action::DiffFile, "diff"),
            (Action::Extract, "extract"),
            (Action::Help, "help"),
            (Action::ExplainPath, "explain"),
        ],
        Pane::Image | Pane::LayerDetails => &[
            (Action::Quit, "quit"),
            (Action::ToggleView, "pane"),
            (Action::Help, "help"),
        ],
    };
    // The Dockerfile pane's key, only where there is a Dockerfile to show.
    let mut hints: Vec<(Action, &str)> = hints
        .iter()
        .copied()
        .filter(|(action, _)| {
            *action != Action::ToggleDockerfile || app.model.dockerfile().is_some()
        })
        .collect();
    // `? help` first, so that it shows however narrow the bar.
    hints.sort_by_key(|(action, _)| *action != Action::Help);
    let model = &app.model;
    let sort = match model.files().options().sort {
        SortOrder::Name => "name",
        SortOrder::Size => "size",
    };
    let mut right = format!(" {} | sort: {sort}", model.compare_label());
    if let Some(verifying) = model.verifying() {
        right = format!(" {verifying} |{right}");
    }
    let filter = app.filter().text();
    if !filter.is_empty() {
        right.push_str(&format!(
            " | filter: {} ({} matches)",
            crate::escape::escape_str(filter),
            model.files().match_count()
        ));
    }
    // A failed digest check stays on the bar, above any message.
    let failure = model.verification_failure();
    let message = failure.as_ref().or(app.model.message.as_ref());
    widgets::render_bar(frame, area, &app.settings, message, &hints, &right);
}

/// Draw the whole explorer.
pub fn render(app: &App, frame: &mut Frame) {
    app.draw(frame);
}
