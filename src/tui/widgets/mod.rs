//! What the components share for drawing: the layout, bordered panes, centred overlays,
//! the status bar and the loading screen. Only the rows on screen are drawn.

mod status;

use super::theme::Theme;
use crate::load::Progress;
use crate::source::transfer::TransferStatus;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Gauge, Paragraph};
use ratatui::Frame;

/// Rows the mouse wheel moves a list by.
pub const WHEEL_ROWS: isize = 3;

/// Rows inside a bordered pane.
pub fn list_height(area: Rect) -> usize {
    area.height.saturating_sub(2) as usize
}

pub use status::render_bar;

/// A rectangle of `width_percent` of `area` (at least 40 columns) and `height` rows,
/// in the middle of it.
pub fn centered(area: Rect, width_percent: u16, height: u16) -> Rect {
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

/// Layer transfers the loading screen lists at most; the rest are counted in one line.
const LOADING_TRANSFERS: usize = 6;

/// Rows [`render_gauge`] needs: its borders, label, gauge and hint, and the transfer lines.
pub fn gauge_height(transfers: &[TransferStatus]) -> u16 {
    let running = transfers.iter().filter(|t| !t.done).count();
    // One line more counts the transfers with no line of their own.
    5 + running.min(LOADING_TRANSFERS + 1) as u16
}

/// The loading gauge in `area`: the image's name as the title, a gauge of layers and
/// bytes, and below it one line per layer blob still being read (a registry's downloads:
/// bytes, size and rate), as on the terminal.
pub fn render_gauge(
    frame: &mut Frame,
    area: Rect,
    theme: &Theme,
    path: &str,
    progress: Option<&Progress>,
    stage: &str,
    transfers: &[TransferStatus],
) {
    let running: Vec<&TransferStatus> = transfers.iter().filter(|t| !t.done).collect();
    let mut lines: Vec<Line> = running
        .iter()
        .take(LOADING_TRANSFERS)
        .map(|t| Line::from(format!("layer {:>3}  {}", t.layer, t.summary())))
        .collect();
    if running.len() > LOADING_TRANSFERS {
        lines.push(Line::from(format!(
            "… and {} more",
            running.len() - LOADING_TRANSFERS
        )));
    }
    let block = pane(
        theme,
        &format!("layerscope: {}", crate::escape::escape_str(path)),
        true,
    );
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let [label, gauge, layers, hint] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(lines.len() as u16),
        Constraint::Length(1),
    ])
    .areas(inner);
    frame.render_widget(Paragraph::new(lines), layers);
    let (ratio, text) = match progress {
        Some(p) if p.layers_total > 0 => {
            let ratio = if p.bytes_total > 0 {
                p.bytes_done as f64 / p.bytes_total as f64
            } else {
                p.layers_done as f64 / p.layers_total as f64
            };
            (
                ratio.clamp(0.0, 1.0),
                format!(
                    "layers {}/{}  {} / {}",
                    p.layers_done,
                    p.layers_total,
                    crate::size::human(p.bytes_done),
                    crate::size::human(p.bytes_total)
                ),
            )
        }
        _ => (0.0, stage.to_string()),
    };
    frame.render_widget(Paragraph::new(text), label);
    frame.render_widget(
        Gauge::default()
            .ratio(ratio)
            .gauge_style(theme.border_focused),
        gauge,
    );
    frame.render_widget(
        Paragraph::new(Line::from(vec![
            Span::styled("ctrl+c", theme.key),
            Span::raw(" cancel"),
        ])),
        hint,
    );
}

/// A bordered pane with a title, highlighted when focused.
pub fn pane<'a>(theme: &Theme, title: &str, focused: bool) -> Block<'a> {
    Block::bordered()
        .border_type(BorderType::Plain)
        .border_style(if focused {
            theme.border_focused
        } else {
            theme.border
        })
        .title(Span::styled(format!(" {title} "), theme.title))
}

pub fn styled(text: impl Into<String>, style: Style) -> Span<'static> {
    Span::styled(text.into(), style)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::backend::TestBackend;
    use ratatui::Terminal;
    use std::time::Duration;

    fn screen(transfers: &[TransferStatus]) -> String {
        let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
        let progress = Progress {
            layers_done: 1,
            layers_total: 9,
            bytes_done: 5_000_000,
            bytes_total: 50_000_000,
        };
        terminal
            .draw(|frame| {
                render_gauge(
                    frame,
                    frame.area(),
                    &Theme::mono(),
                    "registry://h/r",
                    Some(&progress),
                    "",
                    transfers,
                )
            })
            .unwrap();
        let buffer = terminal.backend().buffer();
        (0..buffer.area.height)
            .map(|y| {
                (0..buffer.area.width)
                    .map(|x| buffer[(x, y)].symbol())
                    .collect::<String>()
                    + "\n"
            })
            .collect()
    }

    fn transfer(layer: usize, bytes: u64, done: bool) -> TransferStatus {
        TransferStatus {
            layer,
            bytes,
            size: 8_000_000,
            from_cache: false,
            elapsed: Duration::from_secs(2),
            done,
        }
    }

    #[test]
    fn the_loading_screen_lists_each_running_download_with_bytes_and_rate() {
        let text = screen(&[transfer(2, 2_000_000, false), transfer(5, 8_000_000, true)]);
        assert!(text.contains("layers 1/9"), "{text}");
        assert!(
            text.contains("layer   2  2.0 MB / 8.0 MB, 1.0 MB/s"),
            "{text}"
        );
        // A finished blob leaves the list.
        assert!(!text.contains("layer   5"), "{text}");
        let none = screen(&[]);
        assert!(!none.contains("MB/s"), "{none}");
    }

    #[test]
    fn the_loading_screen_counts_the_downloads_it_has_no_room_for() {
        let many: Vec<_> = (0..9).map(|l| transfer(l, 1_000_000, false)).collect();
        let text = screen(&many);
        assert!(text.contains("layer   5 "), "{text}");
        assert!(!text.contains("layer   6 "), "{text}");
        assert!(text.contains("… and 3 more"), "{text}");
    }
}
