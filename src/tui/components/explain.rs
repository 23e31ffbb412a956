//! The explain overlay (`e`): the selected layer or path in plain words, from
//! [`crate::analysis::explain`]. Blocks are wrapped to the overlay's width when drawn, and
//! only the lines on screen are drawn.

use super::{scrolling_update, Component, Ctx, Scroll, View};
use crate::analysis::explain::{Block, Span as Piece};
use crate::escape::{escape_bytes, escape_str};
use crate::explore::Subject;
use crate::size::human;
use crate::tui::actions::{Action, Context};
use crate::tui::theme::Theme;
use crate::tui::widgets::{centered, pane};
use crossterm::event::MouseEvent;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};
use ratatui::Frame;

#[derive(Debug)]
pub struct Explain {
    pub subject: Subject,
    pub blocks: Vec<Block>,
    pub scroll: Scroll,
}

pub fn open(action: Action, ctx: &mut Ctx) -> Option<Box<dyn Component>> {
    let subject = match action {
        Action::ExplainLayer if ctx.model.layer_count() > 0 => Subject::Layer(ctx.model.layer()),
        Action::ExplainPath => Subject::Path(ctx.model.selected_node()?),
        _ => return None,
    };
    Some(Box::new(Explain {
        subject,
        blocks: ctx.model.explain(subject),
        scroll: Scroll::default(),
    }))
}

impl Component for Explain {
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
        let title = match self.subject {
            Subject::Layer(layer) => format!("Explain layer {layer}"),
            Subject::Path(node) => format!(
                "Explain {}",
                escape_bytes(&view.model.image().tree.path(node))
            ),
        };
        let title = format!(
            "{title} ({} closes)",
            view.settings.keymap.first_key(Action::CloseOverlay)
        );
        let outer = centered(area, 80, area.height.saturating_sub(2));
        let width = outer.width.saturating_sub(2).max(10) as usize;
        let lines = render(&self.blocks, theme, width);
        let area = centered(area, 80, lines.len() as u16 + 2);
        let height = area.height.saturating_sub(2) as usize;
        let (shown, _) = self.scroll.window(&lines, height);
        frame.render_widget(Clear, area);
        frame.render_widget(
            Paragraph::new(shown.to_vec()).block(pane(theme, &title, true)),
            area,
        );
    }
}

/// The blocks as lines of at most `width` columns: headings bold, list items bulleted
/// with a hanging indent, a blank line between blocks. Every name from the image is
/// escaped.
pub fn render(blocks: &[Block], theme: &Theme, width: usize) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    for block in blocks {
        if !out.is_empty() {
            out.push(Line::from(""));
        }
        match block {
            Block::Heading(_, pieces) => out.extend(wrap(
                &styled_words(pieces, theme, theme.title),
                "",
                "",
                width,
            )),
            Block::Paragraph(pieces) => out.extend(wrap(
                &styled_words(pieces, theme, Style::new()),
                "",
                "",
                width,
            )),
            Block::List(items) => {
                for item in items {
                    out.extend(wrap(
                        &styled_words(item, theme, Style::new()),
                        "• ",
                        "  ",
                        width,
                    ));
                }
            }
        }
    }
    out
}

/// A word: the pieces of text between two spaces, each with its style (a path and the
/// comma after it are one word, so they wrap together).
type Word = Vec<(String, Style)>;

fn styled_words(pieces: &[Piece], theme: &Theme, base: Style) -> Vec<Word> {
    let mut words: Vec<Word> = Vec::new();
    // Whether the next text starts a new word.
    let mut spaced = true;
    for piece in pieces {
        let (text, style) = match piece {
            Piece::Text(t) => (escape_str(t).into_owned(), base),
            Piece::Code(c) => (escape_str(c).into_owned(), base.patch(theme.key)),
            Piece::Path(p) => (escape_bytes(p).into_owned(), base.patch(theme.marker)),
            Piece::Bytes(b) => (human(*b), base.patch(theme.title)),
        };
        // A size never breaks between its number and its unit.
        let parts: Vec<&str> = if matches!(piece, Piece::Bytes(_)) {
            vec![&text]
        } else {
            text.split(' ').collect()
        };
        for (i, part) in parts.into_iter().enumerate() {
            if i > 0 {
                spaced = true;
            }
            if part.is_empty() {
                continue;
            }
            match words.last_mut() {
                Some(word) if !spaced => word.push((part.to_string(), style)),
                _ => words.push(vec![(part.to_string(), style)]),
            }
            spaced = false;
        }
    }
    words
}

fn wrap(words: &[Word], first: &str, rest: &str, width: usize) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    let mut spans: Vec<Span<'static>> = vec![Span::raw(first.to_string())];
    let mut used = first.chars().count();
    let mut at_start = true;
    for word in words {
        let len: usize = word.iter().map(|(t, _)| t.chars().count()).sum();
        if !at_start && used + 1 + len > width {
            lines.push(Line::from(std::mem::take(&mut spans)));
            spans.push(Span::raw(rest.to_string()));
            used = rest.chars().count();
            at_start = true;
        }
        if !at_start {
            spans.push(Span::raw(" "));
            used += 1;
        }
        for (text, style) in word {
            spans.push(Span::styled(text.clone(), *style));
        }
        used += len;
        at_start = false;
    }
    lines.push(Line::from(spans));
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(lines: &[Line]) -> Vec<String> {
        lines
            .iter()
            .map(|l| l.spans.iter().map(|s| s.content.as_ref()).collect())
            .collect()
    }

    #[test]
    fn wraps_words_with_a_hanging_indent_and_keeps_punctuation_attached() {
        let blocks = vec![
            Block::Heading(2, vec![Piece::Path(b"/tmp/scratch.bin".to_vec())]),
            Block::List(vec![vec![
                Piece::Text("Layer 7 wrote it (".into()),
                Piece::Bytes(262_144),
                Piece::Text("). Layer 8 hid this copy.".into()),
            ]]),
            Block::Paragraph(vec![Piece::Text("a\x1b[31m b".into())]),
        ];
        let lines = render(&blocks, &Theme::mono(), 24);
        assert_eq!(
            text(&lines),
            [
                "/tmp/scratch.bin",
                "",
                "• Layer 7 wrote it",
                "  (262.1 kB). Layer 8",
                "  hid this copy.",
                "",
                "a\\x1b[31m b",
            ]
        );
    }
}
