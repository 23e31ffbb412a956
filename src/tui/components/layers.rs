//! The layer pane: the list of layers (compare marker, size, instruction kind and text),
//! and the keys that pick the layer and the comparison.

use super::{Component, Ctx, View};
use crate::escape::escape_str;
use crate::explore::Mode;
use crate::image::history::{Instruction, InstructionKind};
use crate::model::{LayerInfo, LayerStatus};
use crate::size::human;
use crate::tui::actions::{Action, Context};
use crate::tui::widgets::{pane, styled, WHEEL_ROWS};
use crossterm::event::{MouseEvent, MouseEventKind};
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::Frame;

pub struct Layers;

pub fn new() -> Box<dyn Component> {
    Box::new(Layers)
}

impl Component for Layers {
    fn context(&self) -> Context {
        Context::Layers
    }

    fn focusable(&self, _model: &crate::explore::Explorer) -> bool {
        true
    }

    fn update(&mut self, action: Action, ctx: &mut Ctx) -> Option<Action> {
        let model = &mut *ctx.model;
        let page = model.viewport().layer_rows.max(1) as isize;
        if let Some(step) = super::list_step(action, page) {
            model.move_layer(step);
            return None;
        }
        match action {
            Action::CompareLayer => model.compare_layer(),
            Action::CompareAll => model.compare_all(),
            Action::MarkRange => model.toggle_mark(),
            other => return Some(other),
        }
        None
    }

    fn handle_mouse(&mut self, mouse: &MouseEvent, area: Rect, ctx: &mut Ctx) -> Option<Action> {
        match mouse.kind {
            MouseEventKind::ScrollDown => ctx.model.move_layer(WHEEL_ROWS),
            MouseEventKind::ScrollUp => ctx.model.move_layer(-WHEEL_ROWS),
            MouseEventKind::Down(_) => {
                // Rows start below the top border.
                if let Some(offset) = mouse.row.checked_sub(area.y + 1) {
                    ctx.model.click_layer(offset as usize);
                }
            }
            _ => {}
        }
        None
    }

    fn draw(&self, frame: &mut Frame, area: Rect, view: &View) {
        draw(frame, area, view)
    }
}

fn draw(frame: &mut Frame, area: Rect, view: &View) {
    let app = view.model;
    let theme = &view.settings.theme;
    let glyphs = &view.settings.glyphs;
    let focused = view.focused;
    let block = pane(theme, &format!("Layers [{}]", app.compare_label()), focused);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let compare = app.compare();
    // dive marks every layer of an aggregated view, the base layer included.
    let aggregated = app.mode() == Mode::Aggregated && app.mark().is_none();
    let first_compared = if aggregated {
        0
    } else {
        compare.from.map_or(0, |f| f + 1)
    };
    let range_base = app.mark().filter(|&m| m != app.layer()).and(compare.from);
    let line_width = app
        .dockerfile()
        .map_or(0, |d| d.len().max(1).to_string().len() + 1);
    let buffer = frame.buffer_mut();
    let count = app.layer_count();
    for (row, index) in (app.layer_scroll()..count)
        .take(inner.height as usize)
        .enumerate()
    {
        let history = app.image().image.history.layers.get(index);
        let info = app.image().layers.get(index);
        let marker = if Some(index) == range_base {
            styled(glyphs.base, theme.marker)
        } else if (first_compared..=compare.to).contains(&index) {
            styled(glyphs.compared, theme.marker)
        } else {
            Span::raw(" ")
        };
        let size = info.map_or(0, |i| i.content_bytes);
        let mut spans = vec![marker, Span::raw(format!(" {:>8}  ", human(size)))];
        // With a Dockerfile: the line that made the layer (its `FROM` for a base layer).
        if let Some(dockerfile) = app.dockerfile() {
            let line = dockerfile
                .line_of_layer(index)
                .map_or_else(|| "-".to_string(), |l| format!("L{l}"));
            spans.push(styled(format!("{line:>line_width$} "), theme.dim));
        }
        // A base layer was made by the base image's own build, not by a line of this
        // Dockerfile: it shows the `FROM` that brought it in, on that line's number.
        let base = app
            .dockerfile()
            .filter(|d| d.mapping.is_base_layer(index))
            .map(|d| d.mapping.base_image.clone());
        if let Some(base) = base {
            spans.push(styled(
                format!("{:<5} ", "FROM"),
                theme.instruction(InstructionKind::From),
            ));
            spans.push(Span::raw(escape_str(&base).into_owned()));
        } else if let Some(history) = history {
            let instruction = &history.instruction;
            spans.push(styled(
                format!("{:<5} ", instruction.label()),
                theme.instruction(instruction.kind),
            ));
            let mut text = one_line(instruction);
            // The Dockerfile's own words where a line made the layer: builders rewrite some
            // (buildah's `COPY dir:<digest> in .` for `COPY . .`).
            let line = app.dockerfile().and_then(|d| d.mapping.layer_line(index));
            if let Some(line) = line {
                let words: Vec<&str> = line.instruction.split_whitespace().skip(1).collect();
                text = words.join(" ");
            }
            spans.push(Span::raw(escape_str(&text).into_owned()));
        }
        if let Some(note) = info.and_then(status_note) {
            spans.push(styled(note, theme.dim));
        }
        let mut line = Line::from(spans);
        if index == app.layer() {
            line = line.style(if focused {
                theme.selected
            } else {
                theme.selected_unfocused
            });
        }
        let y = inner.y + row as u16;
        if index == app.layer() {
            buffer.set_style(Rect::new(inner.x, y, inner.width, 1), line.style);
        }
        buffer.set_line(inner.x, y, &line, inner.width);
    }
}

/// An instruction's text on one line, as the layer lists show it beside its kind: newlines
/// in RUN heredocs become spaces, and a tool's description loses its first word, the
/// tool's name, already in the kind column. Not escaped yet.
/// What the list says after a layer that is not plainly loaded with files.
pub(crate) fn status_note(info: &LayerInfo) -> Option<&'static str> {
    match &info.status {
        LayerStatus::Unavailable(_) => Some(" (missing)"),
        LayerStatus::Truncated(_) => Some(" (truncated)"),
        LayerStatus::Loaded if info.entries == 0 => Some(" (no files)"),
        LayerStatus::Loaded => None,
    }
}

pub(crate) fn one_line(instruction: &Instruction) -> String {
    let mut words: Vec<&str> = instruction.text.split_whitespace().collect();
    if !instruction.kind.is_dockerfile()
        && words
            .first()
            .is_some_and(|w| w.starts_with(instruction.label()))
    {
        words.remove(0);
    }
    words.join(" ")
}
