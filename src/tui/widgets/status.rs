//! The status bar: a message, or key hints for the focused pane; the comparison, sort and
//! filter.

use super::styled;
use crate::explore::Message;
use crate::tui::actions::Action;
use crate::tui::settings::Settings;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::Frame;

/// The status bar: the message if there is one, else the key hints that fit (whole hints
/// only) and, right-aligned, `right`.
pub fn render_bar(
    frame: &mut Frame,
    area: Rect,
    settings: &Settings,
    message: Option<&Message>,
    hints: &[(Action, &str)],
    right: &str,
) {
    if area.is_empty() {
        return;
    }
    let theme = &settings.theme;
    let keymap = &settings.keymap;
    let buffer = frame.buffer_mut();
    if let Some(message) = message {
        let style = if message.error {
            theme.error
        } else {
            theme.title
        };
        buffer.set_line(
            area.x,
            area.y,
            &Line::from(styled(message.text.clone(), style)),
            area.width,
        );
        return;
    }
    let right_width = right.chars().count() as u16;
    let left_width = area.width.saturating_sub(right_width);
    let mut spans = Vec::new();
    let mut used = 0usize;
    for (action, label) in hints {
        // The first key for ToggleModified is ctrl+m, which most terminals send as Enter.
        let key = if *action == Action::ToggleModified {
            keymap
                .keys(*action)
                .rsplit(", ")
                .next()
                .unwrap_or("")
                .to_string()
        } else {
            keymap.first_key(*action)
        };
        // Whole hints only: a hint cut in half reads as a wrong key.
        let width = key.chars().count() + label.chars().count() + 3;
        if used + width > left_width as usize {
            break;
        }
        used += width;
        spans.push(styled(key, theme.key));
        spans.push(Span::raw(format!(" {label}  ")));
    }
    buffer.set_line(area.x, area.y, &Line::from(spans), left_width);
    if area.width > right_width {
        buffer.set_line(
            area.x + area.width - right_width,
            area.y,
            &Line::from(styled(right.to_string(), theme.dim)),
            right_width,
        );
    }
}
