//! The file tree pane: attribute columns, then the tree. Only visible rows are drawn.

use super::{Component, Ctx, View};
use crate::escape::escape_bytes;
use crate::explore::filetree::SortOrder;
use crate::explore::Explorer;
use crate::layer::EntryKind;
use crate::size::human;
use crate::tree::DiffKind;
use crate::tui::actions::{Action, Context};
use crate::tui::widgets::{pane, styled, WHEEL_ROWS};
use crossterm::event::{MouseEvent, MouseEventKind};
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::Frame;

pub struct Files;

pub fn new() -> Box<dyn Component> {
    Box::new(Files)
}

impl Component for Files {
    fn context(&self) -> Context {
        Context::Files
    }

    fn focusable(&self, _model: &Explorer) -> bool {
        true
    }

    fn update(&mut self, action: Action, ctx: &mut Ctx) -> Option<Action> {
        let model = &mut *ctx.model;
        let page = model.viewport().file_rows.max(1) as isize;
        if let Some(step) = super::list_step(action, page) {
            model.move_file(step);
            return None;
        }
        match action {
            Action::Left => model.left(),
            Action::Right => model.right(),
            Action::ToggleCollapseDir => model.toggle_collapse(),
            Action::ToggleCollapseAll => model.toggle_collapse_all(),
            Action::ToggleAdded => model.set_view_options(|o| o.show_added = !o.show_added),
            Action::ToggleRemoved => model.set_view_options(|o| o.show_removed = !o.show_removed),
            Action::ToggleModified => {
                model.set_view_options(|o| o.show_modified = !o.show_modified)
            }
            Action::ToggleUnchanged => {
                model.set_view_options(|o| o.show_unchanged = !o.show_unchanged)
            }
            Action::ToggleAttributes => model.attributes = !model.attributes,
            Action::ToggleSort => model.set_view_options(|o| {
                o.sort = match o.sort {
                    SortOrder::Name => SortOrder::Size,
                    SortOrder::Size => SortOrder::Name,
                }
            }),
            other => return Some(other),
        }
        None
    }

    fn handle_mouse(&mut self, mouse: &MouseEvent, area: Rect, ctx: &mut Ctx) -> Option<Action> {
        match mouse.kind {
            MouseEventKind::ScrollDown => ctx.model.move_file(WHEEL_ROWS),
            MouseEventKind::ScrollUp => ctx.model.move_file(-WHEEL_ROWS),
            MouseEventKind::Down(_) => {
                // Rows start below the border and the header line.
                if let Some(offset) = mouse.row.checked_sub(area.y + 2) {
                    ctx.model.click_file(offset as usize);
                }
            }
            _ => {}
        }
        None
    }

    fn draw(&self, frame: &mut Frame, area: Rect, view: &View) {
        render(view, frame, area)
    }
}

/// Which attribute columns fit.
struct Columns {
    mode: bool,
    owner: bool,
    size: bool,
}

impl Columns {
    fn fit(width: u16, wanted: bool) -> Columns {
        Columns {
            mode: wanted && width >= 50,
            owner: wanted && width >= 64,
            size: wanted && width >= 32,
        }
    }
}

fn render(view: &View, frame: &mut Frame, area: Rect) {
    let app = view.model;
    let theme = &view.settings.theme;
    let glyphs = &view.settings.glyphs;
    let focused = view.focused;
    let options = app.files().options();
    let mut title = format!("Files [{}]", app.compare_label());
    if options.sort == SortOrder::Size {
        title.push_str(" by size");
    }
    let block = pane(theme, &title, focused);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.height == 0 {
        return;
    }
    let columns = Columns::fit(inner.width, app.attributes);
    let tree = &app.image().tree;
    let buffer = frame.buffer_mut();

    let mut header = Vec::new();
    if columns.mode {
        header.push("Permission ".to_string());
    }
    if columns.owner {
        header.push(format!("{:<11} ", "UID:GID"));
    }
    if columns.size {
        header.push(format!("{:>9} ", "Size"));
    }
    header.push("Filetree".into());
    let mut hidden = Vec::new();
    for (shown, name) in [
        (options.show_added, "added"),
        (options.show_removed, "removed"),
        (options.show_modified, "modified"),
        (options.show_unchanged, "unchanged"),
    ] {
        if !shown {
            hidden.push(name);
        }
    }
    if !hidden.is_empty() {
        header.push(format!("  (hiding {})", hidden.join(", ")));
    }
    buffer.set_line(
        inner.x,
        inner.y,
        &Line::from(styled(header.concat(), theme.title)),
        inner.width,
    );

    let rows = app.files().rows();
    let height = inner.height.saturating_sub(1) as usize;
    if rows.is_empty() {
        let text = if app.layer_count() == 0 {
            "the image has no layers"
        } else {
            "no paths to show (check the filter and the hidden kinds)"
        };
        buffer.set_line(
            inner.x,
            inner.y + 1,
            &Line::from(styled(text, theme.dim)),
            inner.width,
        );
        return;
    }
    for (line_no, index) in (app.file_scroll()..rows.len()).take(height).enumerate() {
        let row = rows[index];
        let style = match row.change {
            DiffKind::Added => theme.added,
            DiffKind::Removed => theme.removed,
            DiffKind::Modified => theme.modified,
            DiffKind::Unchanged => theme.unchanged,
        };
        let version = app.files().version(tree, row.node);
        let meta = version.map(|v| tree.meta(v));
        let mut spans: Vec<Span> = Vec::with_capacity(8);
        if let Some(meta) = meta {
            if columns.mode {
                spans.push(Span::styled(format!("{} ", meta.ls_mode()), style));
            }
            if columns.owner {
                spans.push(Span::styled(
                    format!("{:<11} ", format!("{}:{}", meta.uid, meta.gid)),
                    style,
                ));
            }
            if columns.size {
                let size = app.files().size(tree, row.node);
                let text = if row.change == DiffKind::Removed && meta.kind == EntryKind::Dir {
                    "-".to_string()
                } else {
                    human(size)
                };
                spans.push(Span::styled(format!("{text:>9} "), style));
            }
        }
        let open = row.is_dir.then(|| !app.files().is_collapsed(row.node));
        spans.extend(tree_prefix(
            row.depth,
            row.guides,
            row.last,
            open,
            view.settings,
        ));
        spans.push(Span::styled(
            escape_bytes(tree.name(row.node)).into_owned(),
            style,
        ));
        if app.has_secret(row.node) {
            spans.push(Span::styled(format!(" {}", glyphs.secret), theme.error));
        }
        if let (Some(meta), Some(version)) = (meta, version) {
            if matches!(meta.kind, EntryKind::Symlink | EntryKind::Hardlink) {
                let link = tree.version_link(version);
                let arrow = if meta.kind == EntryKind::Symlink {
                    glyphs.arrow
                } else {
                    "link to"
                };
                spans.push(Span::styled(
                    format!(" {arrow} {}", escape_bytes(link)),
                    theme.dim,
                ));
            }
        }
        let y = inner.y + 1 + line_no as u16;
        let mut line = Line::from(spans);
        if index == app.file_cursor() {
            let selected = if focused {
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

/// The tree guides before a name (`│   ├── `), then the directory marker when `open`
/// says whether a directory is open: what the explorer's tree and the tree drawn while
/// loading share.
pub(super) fn tree_prefix(
    depth: u16,
    guide_bits: u64,
    last: bool,
    open: Option<bool>,
    view: &crate::tui::settings::Settings,
) -> Vec<Span<'static>> {
    let (theme, glyphs) = (&view.theme, &view.glyphs);
    let mut guides = String::new();
    for level in 0..depth {
        let bit = level < 64 && guide_bits & (1 << level) != 0;
        guides.push_str(if bit { glyphs.pipe } else { glyphs.space });
    }
    guides.push_str(if last { glyphs.last } else { glyphs.branch });
    let mut spans = vec![Span::styled(guides, theme.dim)];
    if let Some(open) = open {
        let marker = if open {
            glyphs.expanded
        } else {
            glyphs.collapsed
        };
        spans.push(Span::styled(marker, theme.dim));
    }
    spans
}
