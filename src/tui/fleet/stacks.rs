//! The stacks: one column per image (named in the header), a row per layer position with
//! the bottom layer first. A layer that neighbouring columns hold at the same position is
//! one joined cell across them, drawn with the shared glyph, with how many images of the
//! set have it. Only the columns and rows on screen are drawn; the columns scroll
//! sideways when there are more images than fit.

use crate::explore::fleet::{Cell, FleetView};
use crate::size::human;
use crate::tui::actions::{Action, Context};
use crate::tui::components::{Component, Ctx, View};
use crate::tui::widgets::{pane, styled};
use crossterm::event::{MouseEvent, MouseEventKind};
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::Frame;

pub struct Stacks;

pub fn new() -> Box<dyn Component<FleetView>> {
    Box::new(Stacks)
}

/// Columns of the layer-position gutter on the left.
const GUTTER: u16 = 5;
/// A column's width, its separator included: at least a short diff_id, a size and how
/// many images share it; wider when few images leave room.
const MIN_COLUMN: u16 = 28;
const MAX_COLUMN: u16 = 44;

/// The width of each image's column in a pane `area` for `images` columns.
fn column_width(area: Rect, images: usize) -> u16 {
    let room = area.width.saturating_sub(2 + GUTTER);
    let each = room / u16::try_from(images.max(1)).unwrap_or(u16::MAX);
    each.clamp(MIN_COLUMN.min(room.max(1)), MAX_COLUMN)
}

/// How many image columns the pane `area` shows at once.
pub fn visible_columns(area: Rect, images: usize) -> usize {
    let room = area.width.saturating_sub(2 + GUTTER);
    usize::from((room / column_width(area, images)).max(1))
}

impl Component<FleetView> for Stacks {
    /// The change tree's context: enter opens, as it opens a path's history there.
    fn context(&self) -> Context {
        Context::Files
    }

    fn focusable(&self, _model: &FleetView) -> bool {
        true
    }

    fn update(&mut self, action: Action, ctx: &mut Ctx<FleetView>) -> Option<Action> {
        let page = ctx.model.viewport().1;
        super::moves(action, ctx.model, page, FleetView::move_row)
    }

    fn handle_mouse(
        &mut self,
        mouse: &MouseEvent,
        area: Rect,
        ctx: &mut Ctx<FleetView>,
    ) -> Option<Action> {
        super::wheel(mouse, ctx.model, FleetView::move_row);
        if let MouseEventKind::Down(_) = mouse.kind {
            let width = column_width(area, ctx.model.columns().len());
            let (columns, rows, _) = ctx.model.scroll();
            let (column, row) = ctx.model.cursor();
            // Rows start below the border and the header; columns after the gutter.
            if let (Some(y), Some(x)) = (
                mouse.row.checked_sub(area.y + 2),
                mouse.column.checked_sub(area.x + 1 + GUTTER),
            ) {
                let to = |at: usize, from: usize| at as isize - from as isize;
                ctx.model
                    .move_column(to(columns + usize::from(x / width), column));
                ctx.model.move_row(to(rows + usize::from(y), row));
            }
        }
        None
    }

    fn draw(&self, frame: &mut Frame, area: Rect, view: &View<FleetView>) {
        draw(frame, area, view)
    }
}

/// A diff_id's first `digits` hex digits.
pub fn short(key: &str, digits: usize) -> &str {
    let hex = key.strip_prefix("sha256:").unwrap_or(key);
    hex.get(..digits).unwrap_or(hex)
}

/// The pane's title: the set in one line; which images show first, when not all do.
fn title(model: &FleetView, first: usize, shown: usize) -> String {
    let totals = model.totals();
    let count = model.columns().len();
    let images = if shown < count {
        format!(
            "images {}–{} of {count} (left/right scrolls)",
            first + 1,
            (first + shown).min(count)
        )
    } else {
        format!("{} images", totals.images)
    };
    format!(
        "Stacks: {images}, {} distinct layers ({} shared)",
        totals.distinct_layers, totals.shared_layers
    )
}

/// `name` in `width` characters: its end, where a path's file name is.
fn tail(name: &str, width: usize, ellipsis: &str) -> String {
    let count = name.chars().count();
    if count <= width {
        return name.to_string();
    }
    let keep = width.saturating_sub(ellipsis.chars().count());
    let end: String = name.chars().skip(count - keep).collect();
    format!("{ellipsis}{end}")
}

fn draw(frame: &mut Frame, area: Rect, view: &View<FleetView>) {
    let model = view.model;
    let theme = &view.settings.theme;
    let glyphs = &view.settings.glyphs;
    let images = model.columns().len();
    let width = column_width(area, images);
    let shown = visible_columns(area, images);
    let (first_column, first_row, _) = model.scroll();
    let block = pane(theme, &title(model, first_column, shown), view.focused);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.height == 0 || inner.width <= GUTTER {
        return;
    }
    let (cursor_column, cursor_row) = model.cursor();
    let selected = if view.focused {
        theme.selected
    } else {
        theme.selected_unfocused
    };
    let last_column = (first_column + shown).min(images);
    let x_of = |column: usize| inner.x + GUTTER + (column - first_column) as u16 * width;
    let right = inner.x + inner.width;
    let buffer = frame.buffer_mut();
    buffer.set_string(inner.x, inner.y, "  #", theme.title);
    for column in first_column..last_column {
        let x = x_of(column);
        let cell_width = width.saturating_sub(1).min(right.saturating_sub(x));
        let name = tail(
            &model.image(column).name,
            usize::from(cell_width),
            glyphs.ellipsis,
        );
        let style = if column == cursor_column {
            theme.title.patch(selected)
        } else {
            theme.title
        };
        buffer.set_line(x, inner.y, &Line::from(styled(name, style)), cell_width);
    }

    let rows = model.rows();
    let height = inner.height.saturating_sub(1) as usize;
    for (line, position) in (first_row..rows.len()).take(height).enumerate() {
        let y = inner.y + 1 + line as u16;
        buffer.set_string(inner.x, y, format!("{position:>3}"), theme.dim);
        // The cursor shows where the image has no layer this high, too.
        if position == cursor_row && (first_column..last_column).contains(&cursor_column) {
            let x = x_of(cursor_column);
            let cursor = Rect::new(
                x,
                y,
                width.saturating_sub(1).min(right.saturating_sub(x)),
                1,
            );
            buffer.set_style(cursor, selected);
        }
        for cell in &rows[position] {
            let start = cell.first.max(first_column);
            let end = (cell.first + cell.span).min(last_column);
            if start >= end {
                continue;
            }
            let x = x_of(start);
            let cell_width = ((end - start) as u16 * width)
                .saturating_sub(1)
                .min(right.saturating_sub(x));
            let on_cursor = position == cursor_row
                && (cell.first..cell.first + cell.span).contains(&cursor_column);
            let style = if on_cursor { selected } else { Style::new() };
            let spans = cell_spans(view, cell, usize::from(cell_width));
            buffer.set_line(x, y, &Line::from(spans).patch_style(style), cell_width);
        }
    }
}

/// One cell's text: the layer's short diff_id and compressed download; a layer other
/// images also have says how many, and a joined cell is filled with the shared glyph.
fn cell_spans(view: &View<FleetView>, cell: &Cell, width: usize) -> Vec<Span<'static>> {
    let theme = &view.settings.theme;
    let Some(key) = &cell.layer else {
        return vec![];
    };
    let layer = view.model.layer(key);
    let size = layer.map_or(0, |l| l.compressed_download);
    let holders = layer.map_or(1, |l| l.images.len());
    let mut text = format!("{} {}", short(key, 8), human(size));
    if holders > 1 {
        text.push_str(&format!(" in {holders}"));
    }
    if cell.span == 1 && holders == 1 {
        return vec![Span::raw(format!(" {text}"))];
    }
    // Shared: the text between runs of the shared glyph, centred when the cell joins
    // several columns.
    let glyph = view.settings.glyphs.shared;
    let text = format!(" {text} ");
    let room = width.saturating_sub(text.chars().count());
    let before = if cell.span > 1 { room / 2 } else { 1 };
    let after = room.saturating_sub(before);
    vec![
        styled(glyph.repeat(before), theme.marker),
        styled(text, theme.marker),
        styled(glyph.repeat(after), theme.marker),
    ]
}
