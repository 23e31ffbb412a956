//! The change tree: both final filesystems merged, each path marked as `docker diff` marks
//! it (A added, C changed, D deleted: what B did to A) and coloured so, with its size
//! delta (a directory's is the sum below it) and, as the explorer's file pane has them,
//! permissions, owner and size. Only visible rows are drawn.

use crate::escape::escape_bytes;
use crate::explore::compare::CompareView;
use crate::explore::filetree::SortOrder;
use crate::layer::EntryKind;
use crate::size::{human, signed};
use crate::tree::DiffKind;
use crate::tui::actions::{Action, Context};
use crate::tui::components::{list_step, Component, Ctx, View};
use crate::tui::widgets::{pane, styled, WHEEL_ROWS};
use crossterm::event::{MouseEvent, MouseEventKind};
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::Frame;

pub struct ChangeTree;

pub fn new() -> Box<dyn Component<CompareView>> {
    Box::new(ChangeTree)
}

impl Component<CompareView> for ChangeTree {
    fn context(&self) -> Context {
        Context::Files
    }

    fn focusable(&self, _model: &CompareView) -> bool {
        true
    }

    fn update(&mut self, action: Action, ctx: &mut Ctx<CompareView>) -> Option<Action> {
        let model = &mut *ctx.model;
        let page = model.viewport().1.max(1) as isize;
        if let Some(step) = list_step(action, page) {
            model.move_file(step);
            return None;
        }
        match action {
            Action::Left => model.left(),
            Action::Right => model.right(),
            // Enter is the explorer's path history; with no history here, it collapses.
            Action::ToggleCollapseDir | Action::PathHistory => model.toggle_collapse(),
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

    fn handle_mouse(
        &mut self,
        mouse: &MouseEvent,
        area: Rect,
        ctx: &mut Ctx<CompareView>,
    ) -> Option<Action> {
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

    fn draw(&self, frame: &mut Frame, area: Rect, view: &View<CompareView>) {
        draw(frame, area, view)
    }
}

/// Which attribute columns fit (the marker and the delta always do).
struct Columns {
    mode: bool,
    owner: bool,
    size: bool,
}

impl Columns {
    fn fit(width: u16, wanted: bool) -> Columns {
        Columns {
            mode: wanted && width >= 60,
            owner: wanted && width >= 74,
            size: wanted && width >= 42,
        }
    }
}

fn draw(frame: &mut Frame, area: Rect, view: &View<CompareView>) {
    let model = view.model;
    let theme = &view.settings.theme;
    let glyphs = &view.settings.glyphs;
    let totals = &model.comparison().totals;
    let options = model.options();
    let mut title = format!(
        "Changes A{}B: {} added, {} changed, {} deleted",
        glyphs.arrow, totals.added, totals.modified, totals.removed
    );
    if options.sort == SortOrder::Size {
        title.push_str(", by size");
    }
    let block = pane(theme, &title, view.focused);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.height == 0 {
        return;
    }
    let columns = Columns::fit(inner.width, model.attributes);
    let buffer = frame.buffer_mut();

    let mut header = vec![format!("  {:>9} ", "Delta")];
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
    let hidden: Vec<&str> = [
        (options.show_added, "added"),
        (options.show_removed, "deleted"),
        (options.show_modified, "changed"),
        (options.show_unchanged, "unchanged"),
    ]
    .into_iter()
    .filter(|(shown, _)| !shown)
    .map(|(_, name)| name)
    .collect();
    if !hidden.is_empty() {
        header.push(format!("  (hiding {})", hidden.join(", ")));
    }
    buffer.set_line(
        inner.x,
        inner.y,
        &Line::from(styled(header.concat(), theme.title)),
        inner.width,
    );

    let rows = model.rows();
    if rows.is_empty() {
        let text = if model.comparison().changes.is_empty() && !options.show_unchanged {
            "no path differs"
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
    let height = inner.height.saturating_sub(1) as usize;
    for (line_no, index) in (model.file_scroll()..rows.len()).take(height).enumerate() {
        let row = rows[index];
        let style = match row.change {
            DiffKind::Added => theme.added,
            DiffKind::Removed => theme.removed,
            DiffKind::Modified => theme.modified,
            DiffKind::Unchanged => theme.unchanged,
        };
        let mut spans: Vec<Span> = Vec::with_capacity(8);
        let delta = model.delta(row.node).map_or(String::new(), signed);
        spans.push(Span::styled(
            format!("{} {delta:>9} ", row.change.letter()),
            style,
        ));
        let meta = model.meta(row.node);
        if let Some((meta, _)) = meta {
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
                spans.push(Span::styled(
                    format!("{:>9} ", human(model.size(row.node))),
                    style,
                ));
            }
        }
        let mut guides = String::new();
        for level in 0..row.depth {
            let bit = level < 64 && row.guides & (1 << level) != 0;
            guides.push_str(if bit { glyphs.pipe } else { glyphs.space });
        }
        guides.push_str(if row.last { glyphs.last } else { glyphs.branch });
        spans.push(Span::styled(guides, theme.dim));
        if row.is_dir {
            let marker = if model.is_collapsed(row.node) {
                glyphs.collapsed
            } else {
                glyphs.expanded
            };
            spans.push(Span::styled(marker, theme.dim));
        }
        spans.push(Span::styled(
            escape_bytes(model.name(row.node)).into_owned(),
            style,
        ));
        if let Some((meta, link)) = meta {
            if matches!(meta.kind, EntryKind::Symlink | EntryKind::Hardlink) {
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
        if index == model.file_cursor() {
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
