//! The filter line (`ctrl+f`, `/`): typed live, a substring or a regex over full paths.

use super::extract::typed;
use super::{Component, Ctx, Model, View};
use crate::escape::escape_str;
use crate::explore::filetree::Filter;
use crate::tui::actions::{Action, Context};
use crate::tui::widgets::styled;
use crossterm::event::KeyEvent;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::Frame;

#[derive(Debug, Clone, Default)]
pub struct FilterLine {
    editing: bool,
    text: String,
    /// Why the text is not a valid regex; the previous filter stays applied.
    error: Option<String>,
}

impl FilterLine {
    pub fn editing(&self) -> bool {
        self.editing
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }

    /// Whether the line takes a row of the screen.
    pub fn shown(&self) -> bool {
        self.editing || !self.text.is_empty()
    }

    pub fn start(&mut self) {
        self.editing = true;
    }

    /// Clear the filter; false when there was none.
    pub fn clear<M: Model>(&mut self, model: &mut M) -> bool {
        if self.text.is_empty() {
            return false;
        }
        self.text.clear();
        self.apply(model);
        true
    }

    /// Apply the text live; a broken regex keeps the previous filter.
    fn apply<M: Model>(&mut self, model: &mut M) {
        let parsed = if self.text.is_empty() {
            Ok(None)
        } else {
            Filter::parse(&self.text).map(Some)
        };
        match parsed {
            Ok(filter) => {
                self.error = None;
                model.set_filter(filter);
            }
            Err(e) => self.error = Some(e.to_string()),
        }
    }
}

impl<M: Model> Component<M> for FilterLine {
    fn context(&self) -> Context {
        Context::Input
    }

    fn handle_key(&mut self, key: &KeyEvent, ctx: &mut Ctx<M>) -> Option<Action> {
        if let Some(c) = typed(key) {
            self.text.push(c);
            self.apply(ctx.model);
            return None;
        }
        ctx.settings.keymap.lookup(key, Context::Input)
    }

    fn update(&mut self, action: Action, ctx: &mut Ctx<M>) -> Option<Action> {
        match action {
            // Moving on ends typing; the filter stays.
            Action::Confirm | Action::ToggleView | Action::Up | Action::Down => {
                self.editing = false
            }
            Action::Cancel => {
                self.editing = false;
                self.text.clear();
                self.apply(ctx.model);
            }
            Action::DeleteChar => {
                self.text.pop();
                self.apply(ctx.model);
            }
            Action::Quit => return Some(Action::Quit),
            _ => {}
        }
        None
    }

    fn draw(&self, frame: &mut Frame, area: Rect, view: &View<M>) {
        if area.is_empty() {
            return;
        }
        let theme = &view.settings.theme;
        let mut spans = vec![
            styled("Filter: ", theme.title),
            Span::raw(escape_str(&self.text).into_owned()),
        ];
        if self.editing {
            spans.push(styled("_", theme.key));
        }
        match &self.error {
            Some(error) => spans.push(styled(format!("  {error}"), theme.error)),
            None => spans.push(styled(
                format!("  {} matches", view.model.match_count()),
                theme.dim,
            )),
        }
        frame
            .buffer_mut()
            .set_line(area.x, area.y, &Line::from(spans), area.width);
    }
}
