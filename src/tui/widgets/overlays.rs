//! Overlays drawn over the panes: help, path history, file view and diff, extraction.

use super::{human, pane, styled};
use crate::escape::escape_bytes;
use crate::tui::actions::{Action, Context};
use crate::tui::app::{App, ExtractStage, LineKind, Overlay};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Wrap};
use ratatui::Frame;

fn centered(area: Rect, width_percent: u16, height: u16) -> Rect {
    let width = (area.width * width_percent / 100).max(area.width.min(40));
    let [_, row, _] = Layout::vertical([
        Constraint::Fill(1),
        Constraint::Length(height.min(area.height)),
        Constraint::Fill(1),
    ])
    .areas(area);
    let [_, middle, _] = Layout::horizontal([
        Constraint::Fill(1),
        Constraint::Length(width),
        Constraint::Fill(1),
    ])
    .areas(row);
    middle
}

/// Lines from `scroll`, clamped so that the last page stays full.
fn window<T>(items: &[T], scroll: usize, height: usize) -> (&[T], usize) {
    let start = scroll.min(items.len().saturating_sub(height));
    (&items[start..items.len().min(start + height)], start)
}

pub fn render(app: &App, frame: &mut Frame) {
    let Some(overlay) = &app.overlay else {
        return;
    };
    let theme = &app.settings.theme;
    let full = frame.area();
    match overlay {
        Overlay::Help { scroll } => {
            let keymap = &app.settings.keymap;
            let mut lines: Vec<Line> = Vec::new();
            for (context, heading) in [
                (Context::Global, "Everywhere"),
                (Context::Layers, "Layer pane"),
                (Context::Files, "File pane"),
            ] {
                lines.push(styled(heading, theme.title).into());
                for &(action, _, ctx, _, help) in Action::ALL {
                    if ctx == context {
                        lines.push(Line::from(vec![
                            styled(format!("  {:<22}", keymap.keys(action)), theme.key),
                            Span::raw(help),
                        ]));
                    }
                }
            }
            lines.push(Line::from(""));
            lines.push(
                styled(
                    "Mouse: click selects, click again collapses, wheel scrolls.",
                    theme.dim,
                )
                .into(),
            );
            lines.push(styled(
                "Keys can be changed in $XDG_CONFIG_HOME/layerscope/config.yaml (dive's keybinding.* names).",
                theme.dim,
            ).into());
            let area = centered(full, 80, lines.len() as u16 + 2);
            let height = area.height.saturating_sub(2) as usize;
            let (shown, _) = window(&lines, *scroll, height);
            frame.render_widget(Clear, area);
            frame.render_widget(
                Paragraph::new(shown.to_vec()).block(pane(theme, "Keys (esc closes)", true)),
                area,
            );
        }
        Overlay::History { node, rows, scroll } => {
            let path = escape_bytes(&app.image.tree.path(*node)).into_owned();
            let mut lines: Vec<Line> = vec![styled(
                format!(
                    "{:<6} {:<20} {:>9}  {:<22} Instruction",
                    "Layer", "Action", "Size", "Mode"
                ),
                theme.title,
            )
            .into()];
            for row in rows {
                let style = match row.action {
                    "added" => theme.added,
                    "modified" => theme.modified,
                    "rewritten, same" => theme.unchanged,
                    _ => theme.removed,
                };
                lines.push(Line::from(vec![
                    Span::raw(format!("{:<6} ", row.layer)),
                    styled(format!("{:<20} ", row.action), style),
                    Span::raw(format!(
                        "{:>9}  {:<22} ",
                        row.size.map(human).unwrap_or_default(),
                        row.mode.clone().unwrap_or_default()
                    )),
                    Span::raw(row.instruction.clone()),
                ]));
                if let Some(change) = &row.mode_change {
                    lines.push(styled(format!("       mode {change}"), theme.modified).into());
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
            let area = centered(full, 90, lines.len() as u16 + 2);
            let height = area.height.saturating_sub(2) as usize;
            let (shown, _) = window(&lines, *scroll, height);
            frame.render_widget(Clear, area);
            frame.render_widget(
                Paragraph::new(shown.to_vec()).block(pane(
                    theme,
                    &format!("History of {path}"),
                    true,
                )),
                area,
            );
        }
        Overlay::Text {
            title,
            lines,
            scroll,
        } => {
            let area = centered(full, 90, full.height.saturating_sub(2));
            let height = area.height.saturating_sub(2) as usize;
            let (shown, start) = window(lines, *scroll, height);
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
        Overlay::Extract { node, input, stage } => {
            let path = escape_bytes(&app.image.tree.path(*node)).into_owned();
            let mut lines = vec![Line::from(format!("Extract {path} into directory:"))];
            match stage {
                ExtractStage::Input => {
                    lines.push(Line::from(vec![
                        Span::raw(crate::escape::escape_str(input).into_owned()),
                        styled("_", theme.key),
                    ]));
                    lines.push(styled("enter: extract   esc: cancel", theme.dim).into());
                }
                ExtractStage::Confirm(plan) => {
                    lines.push(Line::from(plan.destination.display().to_string()));
                    lines.push(
                        styled(
                            format!(
                                "{} of {} paths already exist (first: {}). Overwrite? y/n",
                                plan.existing.len(),
                                plan.len(),
                                plan.existing[0].display()
                            ),
                            theme.error,
                        )
                        .into(),
                    );
                }
            }
            let area = centered(full, 70, lines.len() as u16 + 2);
            frame.render_widget(Clear, area);
            frame.render_widget(
                Paragraph::new(lines)
                    .wrap(Wrap { trim: false })
                    .block(pane(theme, "Extract", true)),
                area,
            );
        }
    }
}
