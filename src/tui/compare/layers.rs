//! The layer columns: A's stack on the left, B's on the right, under a header naming the
//! two images. The layers both start with (the same diff_id at the same height) are one
//! joined row across both columns; from the divergence on, each column shows its image's
//! own layers, and a layer the other image also holds (at another height or over another
//! base) says where.

use crate::escape::escape_str;
use crate::explore::compare::{CompareView, LayerRow, Side};
use crate::size::human;
use crate::tui::actions::{Action, Context};
use crate::tui::components::layers::one_line;
use crate::tui::components::{list_step, Component, Ctx, View};
use crate::tui::widgets::{pane, styled, WHEEL_ROWS};
use crossterm::event::{MouseEvent, MouseEventKind};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::Frame;

pub struct LayerColumns;

pub fn new() -> Box<dyn Component<CompareView>> {
    Box::new(LayerColumns)
}

impl Component<CompareView> for LayerColumns {
    fn context(&self) -> Context {
        Context::Layers
    }

    fn focusable(&self, _model: &CompareView) -> bool {
        true
    }

    fn update(&mut self, action: Action, ctx: &mut Ctx<CompareView>) -> Option<Action> {
        let page = ctx.model.viewport().0.max(1) as isize;
        match list_step(action, page) {
            Some(step) => {
                ctx.model.move_layer(step);
                None
            }
            None => Some(action),
        }
    }

    fn handle_mouse(
        &mut self,
        mouse: &MouseEvent,
        area: Rect,
        ctx: &mut Ctx<CompareView>,
    ) -> Option<Action> {
        match mouse.kind {
            MouseEventKind::ScrollDown => ctx.model.move_layer(WHEEL_ROWS),
            MouseEventKind::ScrollUp => ctx.model.move_layer(-WHEEL_ROWS),
            MouseEventKind::Down(_) => {
                // Rows start below the border and the header.
                if let Some(offset) = mouse.row.checked_sub(area.y + 2) {
                    ctx.model.click_layer(offset as usize);
                }
            }
            _ => {}
        }
        None
    }

    fn draw(&self, frame: &mut Frame, area: Rect, view: &View<CompareView>) {
        draw(frame, area, view)
    }
}

/// The pane's title: how much the two stacks share.
fn title(model: &CompareView) -> String {
    let comparison = model.comparison();
    let (a, b) = (
        model.image(Side::A).layers.len(),
        model.image(Side::B).layers.len(),
    );
    let base = comparison.common_base;
    match comparison.diverge {
        None => format!("Layers: all {base} shared"),
        Some(_) => format!(
            "Layers: {base} shared, then {} of A's own, {} of B's own",
            a.saturating_sub(base),
            b.saturating_sub(base)
        ),
    }
}

fn draw(frame: &mut Frame, area: Rect, view: &View<CompareView>) {
    let model = view.model;
    let theme = &view.settings.theme;
    let glyphs = &view.settings.glyphs;
    let block = pane(theme, &title(model), view.focused);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.height == 0 || inner.width == 0 {
        return;
    }
    // Two columns and a separator between them.
    let left = Rect::new(inner.x, inner.y, inner.width.saturating_sub(1) / 2, 1);
    let column_x = left.x + left.width;
    let right_x = column_x + 1;
    let right_width = (inner.x + inner.width).saturating_sub(right_x);
    let buffer = frame.buffer_mut();
    for (side, x, width) in [
        (Side::A, left.x, left.width),
        (Side::B, right_x, right_width),
    ] {
        let image = model.image(side);
        let name = match side {
            Side::A => "A",
            Side::B => "B",
        };
        let text = format!(
            " {name}: {} ({}, {} layers)",
            escape_str(&image.image.source),
            image.image.format.name(),
            image.layers.len()
        );
        buffer.set_line(x, inner.y, &Line::from(styled(text, theme.title)), width);
    }
    set_column(buffer, column_x, inner.y, glyphs.column, theme.dim);

    let rows = model.layer_rows();
    let height = inner.height.saturating_sub(1) as usize;
    for (line, index) in (model.layer_scroll()..rows.len()).take(height).enumerate() {
        let y = inner.y + 1 + line as u16;
        let selected = index == model.layer_cursor();
        let style = if !selected {
            ratatui::style::Style::new()
        } else if view.focused {
            theme.selected
        } else {
            theme.selected_unfocused
        };
        buffer.set_style(Rect::new(inner.x, y, inner.width, 1), style);
        match rows[index] {
            LayerRow::Joined(layer) => {
                let mut spans = vec![styled(glyphs.shared, theme.marker)];
                spans.extend(layer_spans(view, Side::A, layer));
                // The tag at the right end, where a long instruction cannot push it out.
                let tag = format!(
                    "  {} shared: same diff_id in A and B ",
                    glyphs.shared.repeat(2)
                );
                let tag_width = (tag.chars().count() as u16).min(inner.width);
                let text_width = inner.width - tag_width;
                buffer.set_line(
                    inner.x,
                    y,
                    &Line::from(spans).patch_style(style),
                    text_width,
                );
                buffer.set_line(
                    inner.x + text_width,
                    y,
                    &Line::from(styled(tag, theme.marker)).patch_style(style),
                    tag_width,
                );
            }
            LayerRow::Split(layer) => {
                for (side, x, width) in [
                    (Side::A, left.x, left.width),
                    (Side::B, right_x, right_width),
                ] {
                    let mut spans = vec![Span::raw(" ")];
                    if model.layer(side, layer).is_some() {
                        spans.extend(layer_spans(view, side, layer));
                        if let Some(other) = model.shared_elsewhere(side, layer) {
                            let other_name = if side == Side::A { "B" } else { "A" };
                            spans.push(styled(
                                format!("  (= {other_name} {other}, same diff_id)"),
                                theme.marker,
                            ));
                        }
                    } else {
                        spans.push(styled("    (no layer)", theme.dim));
                    }
                    buffer.set_line(x, y, &Line::from(spans).patch_style(style), width);
                }
                set_column(buffer, column_x, y, glyphs.column, theme.dim);
            }
        }
    }
}

fn set_column(buffer: &mut Buffer, x: u16, y: u16, glyph: &str, style: ratatui::style::Style) {
    if buffer.area.contains(ratatui::layout::Position::new(x, y)) {
        buffer.set_string(x, y, glyph, style);
    }
}

/// One layer of one image: its index, its size, its instruction's kind and text.
fn layer_spans(view: &View<CompareView>, side: Side, index: usize) -> Vec<Span<'static>> {
    let theme = &view.settings.theme;
    let image = view.model.image(side);
    let size = image.layers.get(index).map_or(0, |l| l.content_bytes);
    let mut spans = vec![Span::raw(format!("{index:>3} {:>9}  ", human(size)))];
    if let Some(history) = image.image.history.layers.get(index) {
        let instruction = &history.instruction;
        spans.push(styled(
            format!("{:<5} ", instruction.label()),
            theme.instruction(instruction.kind),
        ));
        spans.push(Span::raw(escape_str(&one_line(instruction)).into_owned()));
    }
    spans
}
