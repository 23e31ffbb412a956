//! The explorer's router. It owns the view model, the panes, the filter line and the open
//! overlay, sends each key or mouse event to the one component it is for, and applies
//! what that component hands back: quit, close or open an overlay, move the focus.

use super::actions::Action;
use super::components::filter::FilterLine;
use super::components::{Component, Ctx, Pane, View, OVERLAYS, PANES};
use super::keymap::Keymap;
use super::theme::{Glyphs, Theme};
use super::widgets::{self, list_height};
use crate::explore::{Explorer, ImageAnalysis, Viewport};
use crate::load::LoadedImage;
use crate::source::Source;
use crossterm::event::{KeyEvent, KeyEventKind, MouseEvent, MouseEventKind};
use ratatui::layout::{Position, Rect};
use ratatui::Frame;
use std::path::PathBuf;

/// How the explorer looks and which keys it uses.
#[derive(Debug, Clone)]
pub struct Settings {
    pub theme: Theme,
    pub glyphs: Glyphs,
    pub keymap: Keymap,
    /// Where `x` extracts to by default.
    pub extract_dir: PathBuf,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            theme: Theme::dark(),
            glyphs: Glyphs::UNICODE,
            keymap: Keymap::default(),
            extract_dir: PathBuf::from("."),
        }
    }
}

pub struct App {
    pub model: Explorer,
    pub settings: Settings,
    panes: Vec<(Pane, Box<dyn Component>)>,
    focus: Pane,
    filter: FilterLine,
    overlay: Option<Box<dyn Component>>,
    area: Rect,
    quit: bool,
}

impl App {
    pub fn new(
        image: LoadedImage,
        source: Option<Source>,
        analysis: Option<ImageAnalysis>,
        settings: Settings,
    ) -> App {
        let mut app = App {
            model: Explorer::new(image, source, analysis),
            settings,
            panes: PANES.iter().map(|&(pane, make)| (pane, make())).collect(),
            focus: Pane::Layers,
            filter: FilterLine::default(),
            overlay: None,
            area: Rect::new(0, 0, 120, 40),
            quit: false,
        };
        app.relayout();
        app
    }

    pub fn focus(&self) -> Pane {
        self.focus
    }

    pub fn set_focus(&mut self, pane: Pane) {
        self.focus = pane;
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
        self.overlay.as_deref()?.as_any().downcast_ref()
    }

    pub fn overlay_mut<T: 'static>(&mut self) -> Option<&mut T> {
        self.overlay.as_deref_mut()?.as_any_mut().downcast_mut()
    }

    pub fn has_overlay(&self) -> bool {
        self.overlay.is_some()
    }

    pub fn resize(&mut self, width: u16, height: u16) {
        self.area = Rect::new(0, 0, width, height);
        self.relayout();
    }

    /// Tell the model how many rows its lists show (the filter line takes one).
    fn relayout(&mut self) {
        let areas = widgets::layout(self.area, self);
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
        let focus = self.focus;
        let at = self.panes.iter().position(|(p, _)| *p == focus);
        let mut ctx = Ctx {
            model: &mut self.model,
            settings: &self.settings,
        };
        let target: &mut dyn Component = if let Some(overlay) = self.overlay.as_deref_mut() {
            overlay
        } else if self.filter.editing() {
            &mut self.filter
        } else {
            &mut *self.panes[at.expect("every pane is registered")].1
        };
        let action = target
            .handle_key(&key, &mut ctx)
            .and_then(|action| target.update(action, &mut ctx));
        if let Some(action) = action {
            self.apply(action);
        }
        self.relayout();
    }

    /// What no component took: the router's own actions, else an overlay's opener.
    pub fn apply(&mut self, action: Action) {
        match action {
            Action::Quit => self.quit = true,
            Action::CloseOverlay => self.overlay = None,
            Action::ToggleView => self.focus = self.next_focus(),
            Action::Filter => {
                self.filter.start();
                if self.focus == Pane::Layers {
                    self.focus = Pane::Files;
                }
            }
            Action::ToggleDockerfile => {
                self.model.toggle_dockerfile();
                if self.model.dockerfile_shown() {
                    self.focus = Pane::Dockerfile;
                } else if self.focus == Pane::Dockerfile {
                    self.focus = Pane::Layers;
                }
            }
            Action::CloseFilter => {
                if !self.filter.clear(&mut self.model) {
                    self.model.clear_mark();
                }
            }
            other => {
                let mut ctx = Ctx {
                    model: &mut self.model,
                    settings: &self.settings,
                };
                self.overlay = OVERLAYS.iter().find_map(|open| open(other, &mut ctx));
            }
        }
        // An overlay may take a place in the layout (the tour).
        self.relayout();
    }

    /// The next pane tab moves to.
    fn next_focus(&self) -> Pane {
        let at = self.panes.iter().position(|(p, _)| *p == self.focus);
        let after = at.map_or(0, |i| i + 1);
        let count = self.panes.len();
        (0..count)
            .map(|i| &self.panes[(after + i) % count])
            .find(|(_, c)| c.focusable(&self.model))
            .map_or(self.focus, |(p, _)| *p)
    }

    pub fn handle_mouse(&mut self, mouse: MouseEvent) {
        let wheel = matches!(
            mouse.kind,
            MouseEventKind::ScrollDown | MouseEventKind::ScrollUp
        );
        let mut ctx = Ctx {
            model: &mut self.model,
            settings: &self.settings,
        };
        if let Some(overlay) = self.overlay.as_deref_mut() {
            if wheel {
                overlay.handle_mouse(&mouse, self.area, &mut ctx);
            }
            return;
        }
        if self.filter.editing() {
            return;
        }
        let areas = widgets::layout(self.area, self);
        let at = Position::new(mouse.column, mouse.row);
        let Some(pane) = [Pane::Layers, Pane::Dockerfile, Pane::Files, Pane::Image]
            .into_iter()
            .find(|&p| areas.of(p).contains(at))
            .filter(|&p| p != Pane::Image || self.model.analysis().is_some())
        else {
            return;
        };
        // A click focuses the pane; the wheel scrolls it, and focuses only the layers.
        if matches!(mouse.kind, MouseEventKind::Down(_)) || (wheel && pane == Pane::Layers) {
            self.focus = pane;
        }
        let area = areas.of(pane);
        let settings = &self.settings;
        let at = self.panes.iter().position(|(p, _)| *p == pane);
        let component = &mut *self.panes[at.expect("every pane is registered")].1;
        let mut ctx = Ctx {
            model: &mut self.model,
            settings,
        };
        if let Some(action) = component.handle_mouse(&mouse, area, &mut ctx) {
            self.apply(action);
        }
        self.relayout();
    }

    /// Draw every pane, the filter line, the status bar and the overlay on top.
    pub fn draw(&self, frame: &mut Frame) {
        let areas = widgets::layout(frame.area(), self);
        for (pane, component) in &self.panes {
            let area = areas.of(*pane);
            if !area.is_empty() {
                component.draw(frame, area, &self.view(*pane == self.focus, areas));
            }
        }
        self.filter.draw(
            frame,
            areas.filter,
            &self.view(self.filter.editing(), areas),
        );
        widgets::render_status(self, frame, areas.status);
        if let Some(overlay) = &self.overlay {
            overlay.draw(frame, frame.area(), &self.view(true, areas));
        }
    }

    fn view(&self, focused: bool, areas: widgets::Areas) -> View<'_> {
        View {
            model: &self.model,
            settings: &self.settings,
            areas,
            focused,
        }
    }
}
