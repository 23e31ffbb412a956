//! The Dockerfile pane: the file beside its layers. The selected layer's lines are marked,
//! instructions that made no layer are shown as metadata of the layer that follows, and
//! moving through the lines selects their layers. Only the lines on screen are drawn.

use super::{Component, Ctx, View};
use crate::escape::escape_str;
use crate::explore::dockerfile::{Highlight, LineRole};
use crate::explore::Explorer;
use crate::tui::actions::{Action, Context};
use crate::tui::widgets::{pane, styled, WHEEL_ROWS};
use crossterm::event::{MouseEvent, MouseEventKind};
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::Frame;

pub struct DockerfilePane;

pub fn new() -> Box<dyn Component> {
    Box::new(DockerfilePane)
}

impl Component for DockerfilePane {
    /// A line selects a layer, so the layer pane's keys (compare, mark, explain) apply.
    fn context(&self) -> Context {
        Context::Layers
    }

    fn focusable(&self, model: &Explorer) -> bool {
        model.dockerfile_shown()
    }

    fn update(&mut self, action: Action, ctx: &mut Ctx) -> Option<Action> {
        let model = &mut *ctx.model;
        let page = model.viewport().dockerfile_rows.max(1) as isize;
        if let Some(step) = super::list_step(action, page) {
            model.move_dockerfile(step);
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
        let model = &mut *ctx.model;
        match mouse.kind {
            MouseEventKind::ScrollDown => model.move_dockerfile(WHEEL_ROWS),
            MouseEventKind::ScrollUp => model.move_dockerfile(-WHEEL_ROWS),
            MouseEventKind::Down(_) => {
                if let Some(offset) = mouse.row.checked_sub(area.y + 1) {
                    let target = model.dockerfile_scroll() + offset as usize;
                    model.move_dockerfile(target as isize - model.dockerfile_cursor() as isize);
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
    let model = view.model;
    let Some(dockerfile) = model.dockerfile() else {
        return;
    };
    let theme = &view.settings.theme;
    let glyphs = &view.settings.glyphs;
    let layer = model.layer();
    let line_label = dockerfile
        .line_of_layer(layer)
        .map_or_else(|| "no line".to_string(), |l| format!("line {l}"));
    let title = format!(
        "Dockerfile {} [layer {layer}: {line_label}]",
        escape_str(&dockerfile.name)
    );
    let block = pane(theme, &title, view.focused);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let digits = dockerfile.len().max(1).to_string().len();
    let buffer = frame.buffer_mut();
    let lines = dockerfile.lines();
    for (row, index) in (model.dockerfile_scroll()..lines.len())
        .take(inner.height as usize)
        .enumerate()
    {
        let role = dockerfile.role(index);
        let highlight = dockerfile.highlight(index, layer);
        // The tag on an instruction's first line: which layer it made or goes with.
        let first = index == 0 || dockerfile.role(index - 1) != role;
        let tag = match role {
            _ if !first => String::new(),
            LineRole::Layer(l) => format!("L{l}"),
            LineRole::Base => "base".into(),
            LineRole::Metadata(Some(l)) => format!("+L{l}"),
            LineRole::Metadata(None) => "cfg".into(),
            LineRole::Other => String::new(),
        };
        let pointer = if highlight == Highlight::None {
            " "
        } else {
            glyphs.pointer
        };
        let text_style = match (highlight, role) {
            (Highlight::Own, _) => theme.marker.patch(theme.title),
            (Highlight::Metadata, _) => theme.marker,
            (_, LineRole::Other) => theme.dim,
            _ => ratatui::style::Style::new(),
        };
        let mut line = Line::from(vec![
            styled(pointer, theme.marker),
            styled(format!("{:>digits$} ", index + 1), theme.dim),
            styled(format!("{tag:<5}"), theme.dim),
            // Tabs indent Dockerfiles; as escapes they would not.
            Span::styled(
                escape_str(&lines[index].replace('\t', "    ")).into_owned(),
                text_style,
            ),
        ]);
        let y = inner.y + row as u16;
        if index == model.dockerfile_cursor() {
            let selected = if view.focused {
                theme.selected
            } else {
                theme.selected_unfocused
            };
            buffer.set_style(Rect::new(inner.x, y, inner.width, 1), selected);
            line = line.patch_style(selected);
        }
        buffer.set_line(inner.x, y, &line, inner.width);
    }
}
