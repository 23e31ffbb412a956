//! The text overlay: a file's contents (`v`) or a diff against the previous version (`D`).

use super::{scrolling_update, Component, Ctx, Scroll, View};
use crate::explore::content::{diff_file, view_file, LineKind, TextSubject, TextView};
use crate::tui::actions::{Action, Context};
use crate::tui::widgets::{centered, pane, styled};
use crossterm::event::MouseEvent;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Clear, Paragraph};
use ratatui::Frame;

#[derive(Debug)]
pub struct Text {
    pub view: TextView,
    pub scroll: Scroll,
}

pub fn open(action: Action, ctx: &mut Ctx) -> Option<Box<dyn Component>> {
    let node = match action {
        Action::ViewFile | Action::DiffFile => ctx.model.selected_node()?,
        _ => return None,
    };
    let view = match action {
        Action::ViewFile => view_file(ctx.model, node)?,
        _ => diff_file(ctx.model, node),
    };
    match view {
        Ok(view) => Some(Box::new(Text {
            view,
            scroll: Scroll::default(),
        })),
        Err(e) => {
            ctx.model.fail(e.to_string());
            None
        }
    }
}

impl Component for Text {
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
        let arrow = view.settings.glyphs.arrow;
        let title = match &self.view.subject {
            TextSubject::File { path, layer, size } => {
                format!("{path} @ layer {layer} ({size} bytes)")
            }
            TextSubject::Diff { path, old, new } => {
                let label = |layer: &Option<u16>| {
                    layer.map_or("(none)".to_string(), |l| format!("layer {l}"))
                };
                format!("{path}: {} {arrow} {}", label(old), label(new))
            }
        };
        let lines = &self.view.lines;
        let area = centered(area, 90, area.height.saturating_sub(2));
        let height = area.height.saturating_sub(2) as usize;
        let (shown, start) = self.scroll.window(lines, height);
        let gutter = lines.iter().map(|l| l.gutter.len()).max().unwrap_or(0);
        let rendered: Vec<Line> = shown
            .iter()
            .map(|line| {
                let style = match line.kind {
                    LineKind::Plain => theme.unchanged,
                    LineKind::Added => theme.added,
                    LineKind::Removed => theme.removed,
                    LineKind::Hunk => theme.key,
                    LineKind::Note => theme.dim,
                };
                Line::from(vec![
                    styled(format!("{:>gutter$} ", line.gutter), theme.dim),
                    styled(line.text.clone(), style),
                ])
            })
            .collect();
        let position = format!(
            "{title}  [{}-{} of {}]",
            (start + 1).min(lines.len()),
            start + shown.len(),
            lines.len()
        );
        frame.render_widget(Clear, area);
        frame.render_widget(
            Paragraph::new(rendered).block(pane(theme, &position, true)),
            area,
        );
    }
}
