//! The path-history overlay: every layer that touched the selected path.

use super::{scrolling_update, Component, Ctx, Scroll, View};
use crate::analysis::PathEvent;
use crate::escape::escape_bytes;
use crate::explore::content::{path_history, HistoryRow};
use crate::size::human;
use crate::tree::NodeId;
use crate::tui::actions::{Action, Context};
use crate::tui::widgets::{centered, pane, styled};
use crossterm::event::MouseEvent;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};
use ratatui::Frame;

#[derive(Debug)]
pub struct History {
    pub node: NodeId,
    pub rows: Vec<HistoryRow>,
    pub scroll: Scroll,
}

pub fn open(action: Action, ctx: &mut Ctx) -> Option<Box<dyn Component>> {
    if action != Action::PathHistory {
        return None;
    }
    let node = ctx.model.selected_node()?;
    Some(Box::new(History {
        node,
        rows: path_history(ctx.model, node),
        scroll: Scroll::default(),
    }))
}

impl Component for History {
    fn context(&self) -> Context {
        Context::Overlay
    }

    fn update(&mut self, action: Action, _ctx: &mut Ctx) -> Option<Action> {
        scrolling_update(&mut self.scroll, action)
    }

    fn handle_mouse(&mut self, mouse: &MouseEvent, _area: Rect, _ctx: &mut Ctx) -> Option<Action> {
        self.scroll.wheel(mouse);
        None
    }

    fn draw(&self, frame: &mut Frame, area: Rect, view: &View) {
        let theme = &view.settings.theme;
        let path = escape_bytes(&view.model.image().tree.path(self.node)).into_owned();
        let mut lines: Vec<Line> = vec![styled(
            format!(
                "{:<6} {:<20} {:>9}  {:<22} Instruction",
                "Layer", "Action", "Size", "Mode"
            ),
            theme.title,
        )
        .into()];
        for row in &self.rows {
            let style = match row.event {
                PathEvent::Added => theme.added,
                PathEvent::Modified => theme.modified,
                PathEvent::Rewritten => theme.unchanged,
                _ => theme.removed,
            };
            lines.push(Line::from(vec![
                Span::raw(format!("{:<6} ", row.layer)),
                styled(format!("{:<20} ", row.event.as_str()), style),
                Span::raw(format!(
                    "{:>9}  {:<22} ",
                    row.size.map(human).unwrap_or_default(),
                    row.mode.clone().unwrap_or_default()
                )),
                Span::raw(row.instruction.clone()),
            ]));
            if let (Some(before), Some(now)) = (&row.previous_mode, &row.mode) {
                let arrow = view.settings.glyphs.arrow;
                lines.push(
                    styled(
                        format!("       mode {before} {arrow} {now}"),
                        theme.modified,
                    )
                    .into(),
                );
            }
            if let Some(path) = &row.written_as {
                lines.push(
                    styled(
                        format!("       written in the tar as {path}"),
                        theme.unchanged,
                    )
                    .into(),
                );
            }
        }
        let area = centered(area, 90, lines.len() as u16 + 2);
        let height = area.height.saturating_sub(2) as usize;
        let (shown, _) = self.scroll.window(&lines, height);
        frame.render_widget(Clear, area);
        frame.render_widget(
            Paragraph::new(shown.to_vec()).block(pane(theme, &format!("History of {path}"), true)),
            area,
        );
    }
}
