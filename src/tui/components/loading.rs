//! The first screen, while the image loads ([`crate::explore::loading`]): the layer list
//! with instructions and sizes, the selected layer's facts once it is merged, the gauge,
//! and the file tree of the layers merged so far, labelled so. Tab moves between the list
//! and the tree; their keys move the selections, which the explorer keeps when it opens,
//! or quit (cancelling the load).

use super::layers::{one_line, status_note};
use crate::escape::{escape_bytes, escape_str};
use crate::explore::loading::{Loading, LoadingLayer, PartialRow};
use crate::layer::ParseControl;
use crate::size::human;
use crate::tree::NodeId;
use crate::tui::actions::{Action, Context};
use crate::tui::app::App;
use crate::tui::components::Pane;
use crate::tui::settings::Settings;
use crate::tui::widgets::{self, list_height, pane, styled, WHEEL_ROWS};
use crate::tui::Screen;
use crossterm::event::{KeyEvent, MouseEvent, MouseEventKind};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;
use std::sync::Arc;

pub struct LoadingScreen {
    pub model: Loading,
    settings: Settings,
    /// What the image is called on screen (escaped when drawn).
    path: String,
    /// What the load is doing before it has layers to count.
    pub stage: &'static str,
    /// The load's live transfers (a registry's downloads), read when drawing.
    control: Arc<ParseControl>,
    area: Rect,
    quit: bool,
    /// The file tree has the keys, not the layer list.
    files_focused: bool,
}

/// What was picked on the first screen, for the explorer to open on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Picked {
    pub layer: usize,
    /// `Some` when the file tree had the keys: its selected path, if any.
    pub path: Option<Option<NodeId>>,
}

impl Picked {
    /// Open the explorer on it: the layer; with the tree focused, the tree pane focused
    /// and the path selected (its parents opened) when the selected layer has it.
    pub fn apply(self, app: &mut App) {
        app.model.move_layer(self.layer as isize);
        if let Some(path) = self.path {
            app.set_focus(Pane::Files);
            if let Some(node) = path {
                app.model.select_path(node);
            }
        }
    }
}

/// Where the first screen's parts go.
struct Areas {
    gauge: Rect,
    layers: Rect,
    details: Rect,
    files: Rect,
}

/// Where the parts go, with `layers` in the list and a gauge `gauge` rows high.
fn layout(area: Rect, layers: usize, gauge: u16) -> Areas {
    let wanted = u16::try_from(layers).unwrap_or(u16::MAX).saturating_add(2);
    if area.width >= 80 {
        // The explorer's columns, so that the list does not move when it opens.
        let left_width = (area.width * 2 / 5).clamp(36, 72);
        let [left, right] =
            Layout::horizontal([Constraint::Length(left_width), Constraint::Min(0)]).areas(area);
        let [layers, details] = Layout::vertical([
            Constraint::Length(wanted.clamp(5, left.height / 2)),
            Constraint::Min(0),
        ])
        .areas(left);
        let [gauge, files] =
            Layout::vertical([Constraint::Length(gauge), Constraint::Min(0)]).areas(right);
        Areas {
            gauge,
            layers,
            details,
            files,
        }
    } else {
        let [gauge, layers, details] = Layout::vertical([
            Constraint::Length(gauge),
            Constraint::Length(wanted.clamp(3, area.height / 2)),
            Constraint::Min(0),
        ])
        .areas(area);
        Areas {
            gauge,
            layers,
            details,
            files: Rect::default(),
        }
    }
}

impl LoadingScreen {
    pub fn new(path: String, settings: Settings, control: Arc<ParseControl>) -> Self {
        LoadingScreen {
            model: Loading::new(),
            settings,
            path,
            stage: "starting",
            control,
            area: Rect::new(0, 0, 120, 40),
            quit: false,
            files_focused: false,
        }
    }

    /// Lay the screen out again, for a list that grew (the description arrived).
    pub fn relayout(&mut self) {
        let transfers = self.control.transfers.snapshot();
        let gauge = widgets::gauge_height(&transfers);
        let areas = layout(self.area, self.model.layers().len(), gauge);
        self.model.set_rows(list_height(areas.layers));
        self.model.files_mut().set_height(list_height(areas.files));
    }

    /// Whether the tree has a pane: only beside the list, in a wide enough terminal.
    fn tree_shown(&self) -> bool {
        !layout(self.area, self.model.layers().len(), 0)
            .files
            .is_empty()
    }

    /// What the explorer keeps when it opens: the selected layer, and the selected path
    /// when the tree had the keys.
    pub fn picked(&self) -> Picked {
        Picked {
            layer: self.model.cursor(),
            path: self
                .files_focused
                .then(|| self.model.files().selected().map(|row| row.node)),
        }
    }

    /// Hand the settings on to the explorer.
    pub fn into_settings(self) -> Settings {
        self.settings
    }
}

impl Screen for LoadingScreen {
    fn should_quit(&self) -> bool {
        self.quit
    }

    fn handle_key(&mut self, key: KeyEvent) {
        let context = if self.files_focused {
            Context::Files
        } else {
            Context::Layers
        };
        let Some(action) = self.settings.keymap.lookup(&key, context) else {
            return;
        };
        if self.files_focused {
            let files = self.model.files_mut();
            if let Some(step) = super::list_step(action, files.height() as isize) {
                files.move_cursor(step);
                return;
            }
            match action {
                Action::Left => files.left(),
                Action::Right => files.right(),
                Action::ToggleCollapseDir => files.toggle(),
                Action::ToggleCollapseAll => files.toggle_all(),
                _ => {}
            }
        } else if let Some(step) = super::list_step(action, self.model.rows() as isize) {
            self.model.move_cursor(step);
        }
        match action {
            Action::ToggleView if self.model.has_tree() && self.tree_shown() => {
                self.files_focused = !self.files_focused
            }
            Action::Quit => self.quit = true,
            _ => {}
        }
        // An opened directory shows at once unless a layer is being merged.
        self.model.refresh_files();
    }

    fn handle_mouse(&mut self, mouse: MouseEvent) {
        let step = match mouse.kind {
            MouseEventKind::ScrollDown => WHEEL_ROWS,
            MouseEventKind::ScrollUp => -WHEEL_ROWS,
            _ => return,
        };
        if self.files_focused {
            self.model.files_mut().move_cursor(step);
        } else {
            self.model.move_cursor(step);
        }
    }

    fn resize(&mut self, width: u16, height: u16) {
        self.area = Rect::new(0, 0, width, height);
        self.relayout();
    }

    fn draw(&self, frame: &mut Frame) {
        let transfers = self.control.transfers.snapshot();
        let gauge = widgets::gauge_height(&transfers);
        let areas = layout(frame.area(), self.model.layers().len(), gauge);
        widgets::render_gauge(
            frame,
            areas.gauge,
            &self.settings.theme,
            &self.path,
            self.model.progress(),
            self.stage,
            &transfers,
        );
        self.draw_layers(frame, areas.layers);
        self.draw_details(frame, areas.details);
        self.draw_files(frame, areas.files);
    }
}

impl LoadingScreen {
    /// Where the load is, for the panes that wait for it: the next layer to merge.
    fn reached(&self) -> String {
        let total = self.model.layers().len();
        let merged = self.model.merged();
        if merged < total {
            format!("loading layer {} of {total}", merged + 1)
        } else {
            format!("all {total} layers merged")
        }
    }

    fn draw_layers(&self, frame: &mut Frame, area: Rect) {
        let theme = &self.settings.theme;
        let block = pane(theme, "Layers (dim: download size)", true);
        let inner = block.inner(area);
        frame.render_widget(block, area);
        if !self.model.described() {
            frame.render_widget(
                Paragraph::new(styled("reading the image description", theme.dim)),
                inner,
            );
            return;
        }
        let lines: Vec<Line> = self
            .model
            .layers()
            .iter()
            .enumerate()
            .skip(self.model.scroll())
            .take(inner.height as usize)
            .map(|(index, layer)| {
                let selected = index == self.model.cursor();
                let mut line = layer_line(layer, theme);
                if selected {
                    line = line.style(theme.selected);
                }
                line
            })
            .collect();
        frame.render_widget(Paragraph::new(lines), inner);
    }

    fn draw_details(&self, frame: &mut Frame, area: Rect) {
        let theme = &self.settings.theme;
        let block = pane(theme, "Layer details", false);
        let inner = block.inner(area);
        frame.render_widget(block, area);
        let index = self.model.cursor();
        let Some(layer) = self.model.layers().get(index) else {
            return;
        };
        let field = |label: &str, value: String| {
            Line::from(vec![
                styled(format!("{label}: "), theme.title),
                Span::raw(value),
            ])
        };
        let mut lines = Vec::new();
        if let Some(instruction) = &layer.instruction {
            lines.push(Line::from(escape_str(&instruction.display()).into_owned()));
        }
        if let Some(bytes) = layer.download_bytes {
            lines.push(field("Download", human(bytes)));
        }
        match &layer.info {
            Some(info) => {
                lines.push(field(
                    "Content",
                    format!("{} in {} entries", human(info.content_bytes), info.entries),
                ));
                if let Some(digest) = &info.digest {
                    lines.push(field("Digest", escape_str(digest).into_owned()));
                }
                if let Some(diff_id) = &info.diff_id {
                    lines.push(field("Diff id", escape_str(diff_id).into_owned()));
                }
                if let Some(changes) = self.model.files().layer_changes(index) {
                    lines.push(Line::from(super::details::changes_spans(&changes, theme)));
                }
            }
            None => {
                lines.push(styled(format!("not parsed yet ({})", self.reached()), theme.dim).into())
            }
        }
        frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
    }

    fn draw_files(&self, frame: &mut Frame, area: Rect) {
        if area.is_empty() {
            return;
        }
        let theme = &self.settings.theme;
        let files = self.model.files();
        let total = self.model.layers().len();
        let merged = files.read_at();
        let mut title = if !self.model.has_tree() || !self.model.described() {
            "Files".to_string()
        } else if merged < total {
            format!("Files: the first {merged} of {total} layers merged, the rest still loading")
        } else {
            format!("Files: all {total} layers merged, opening the explorer")
        };
        if files.truncated() {
            title.push_str(&format!(
                " (its first {} rows; all once the explorer opens)",
                files.rows().len()
            ));
        }
        let block = pane(theme, &title, self.files_focused);
        let inner = block.inner(area);
        frame.render_widget(block, area);
        let note = if !self.model.described() {
            Some("The file tree opens once every layer is merged.".to_string())
        } else if !self.model.has_tree() {
            // A load that does not share its tree (a stream's).
            Some(format!(
                "The file tree opens once every layer is merged ({}; {} merged).",
                self.reached(),
                self.model.merged()
            ))
        } else if merged == 0 {
            Some(format!("No layer merged yet ({}).", self.reached()))
        } else if files.rows().is_empty() {
            Some("No paths in the layers merged so far.".to_string())
        } else {
            None
        };
        if let Some(text) = note {
            frame.render_widget(
                Paragraph::new(styled(text, theme.dim)).wrap(Wrap { trim: false }),
                inner,
            );
            return;
        }
        let lines: Vec<Line> = files
            .rows()
            .iter()
            .enumerate()
            .skip(files.scroll())
            .take(inner.height as usize)
            .map(|(index, row)| {
                let line = partial_line(row, files.is_open(row.node), &self.settings);
                if index != files.cursor() {
                    line
                } else if self.files_focused {
                    line.style(theme.selected)
                } else {
                    line.style(theme.selected_unfocused)
                }
            })
            .collect();
        frame.render_widget(Paragraph::new(lines), inner);
    }
}

/// One row of the tree merged so far: a file's size (a directory's needs every layer:
/// left blank), the guides, the name.
fn partial_line(row: &PartialRow, open: bool, settings: &Settings) -> Line<'static> {
    let size = if row.state.is_dir {
        String::new()
    } else {
        human(row.state.size)
    };
    let mut spans = vec![Span::raw(format!("{size:>9} "))];
    let open = row.state.is_dir.then_some(open);
    spans.extend(super::files::tree_prefix(
        row.depth, row.guides, row.last, open, settings,
    ));
    spans.push(Span::raw(escape_bytes(&row.name).into_owned()));
    Line::from(spans)
}

/// One row of the list: the layer's content size once merged (the explorer's column),
/// else its download size, dimmed (the pane's title says so); then its instruction.
fn layer_line(layer: &LoadingLayer, theme: &crate::tui::theme::Theme) -> Line<'static> {
    let mut spans = vec![Span::raw(" ")];
    match &layer.info {
        Some(info) => spans.push(Span::raw(format!(" {:>8}  ", human(info.content_bytes)))),
        None => spans.push(styled(
            format!(
                " {:>8}  ",
                layer.download_bytes.map_or_else(String::new, human)
            ),
            theme.dim,
        )),
    }
    if let Some(instruction) = &layer.instruction {
        spans.push(styled(
            format!("{:<5} ", instruction.label()),
            theme.instruction(instruction.kind),
        ));
        spans.push(Span::raw(escape_str(&one_line(instruction)).into_owned()));
    }
    if let Some(note) = layer.info.as_ref().and_then(status_note) {
        spans.push(styled(note, theme.dim));
    }
    Line::from(spans)
}
