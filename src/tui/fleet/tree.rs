//! The sharing tree: the images grouped by the bottom layers they have in common, a line
//! per branch (a run of layers the same images share) with its compressed download, its
//! layers and images, and the images that end there. Moving through it moves the image
//! cursor to the branch's image, on the branch's top layer.

use super::summary::count;
use crate::analysis::glossary::COMPRESSED_NAME;
use crate::explore::fleet::FleetView;
use crate::size::human;
use crate::tui::actions::{Action, Context};
use crate::tui::components::{Component, Ctx, View};
use crate::tui::widgets::{pane, styled};
use crossterm::event::{MouseEvent, MouseEventKind};
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::Frame;

pub struct SharingTree;

pub fn new() -> Box<dyn Component<FleetView>> {
    Box::new(SharingTree)
}

impl Component<FleetView> for SharingTree {
    /// As the stacks: enter opens the image.
    fn context(&self) -> Context {
        Context::Files
    }

    fn focusable(&self, _model: &FleetView) -> bool {
        true
    }

    fn update(&mut self, action: Action, ctx: &mut Ctx<FleetView>) -> Option<Action> {
        let page = ctx.model.viewport().2;
        super::moves(action, ctx.model, page, FleetView::move_tree)
    }

    fn handle_mouse(
        &mut self,
        mouse: &MouseEvent,
        area: Rect,
        ctx: &mut Ctx<FleetView>,
    ) -> Option<Action> {
        super::wheel(mouse, ctx.model, FleetView::move_tree);
        if let MouseEventKind::Down(_) = mouse.kind {
            if let Some(offset) = mouse.row.checked_sub(area.y + 1) {
                let at = ctx.model.scroll().2 + usize::from(offset);
                ctx.model
                    .move_tree(at as isize - ctx.model.tree_cursor() as isize);
            }
        }
        None
    }

    fn draw(&self, frame: &mut Frame, area: Rect, view: &View<FleetView>) {
        let model = view.model;
        let theme = &view.settings.theme;
        let block = pane(
            theme,
            &format!("Sharing tree ({COMPRESSED_NAME} of each run of layers)"),
            view.focused,
        );
        let inner = block.inner(area);
        frame.render_widget(block, area);
        let selected = if view.focused {
            theme.selected
        } else {
            theme.selected_unfocused
        };
        let first = model.scroll().2;
        let buffer = frame.buffer_mut();
        for (line, index) in (first..model.tree().len())
            .take(usize::from(inner.height))
            .enumerate()
        {
            let branch = &model.tree()[index];
            let (layers, images) = (count(branch.layers, "layer"), count(branch.images, "image"));
            let mut spans = vec![
                Span::raw(format!("{:indent$}", "", indent = 1 + branch.depth * 2)),
                Span::raw(format!(
                    "{}  {layers}, {images}",
                    human(branch.bytes.compressed_download)
                )),
            ];
            if !branch.ends.is_empty() {
                spans.push(styled(
                    format!("  = {}", branch.ends.join(", ")),
                    theme.title,
                ));
            }
            let style = if index == model.tree_cursor() {
                selected
            } else {
                Style::new()
            };
            let y = inner.y + line as u16;
            buffer.set_style(Rect::new(inner.x, y, inner.width, 1), style);
            buffer.set_line(
                inner.x,
                y,
                &Line::from(spans).patch_style(style),
                inner.width,
            );
        }
    }
}
