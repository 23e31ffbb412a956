//! The extract overlay (`x`): ask for a destination, ask before overwriting, extract.

use super::{Component, Ctx, View};
use crate::escape::{escape_bytes, escape_str};
use crate::explore::extract::{self, ExtractPlan};
use crate::tree::NodeId;
use crate::tui::actions::{Action, Context};
use crate::tui::widgets::{centered, pane, styled};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Wrap};
use ratatui::Frame;
use std::path::PathBuf;

#[derive(Debug, Clone)]
pub enum Stage {
    /// Editing the destination.
    Input,
    /// Some paths exist: overwrite?
    Confirm(ExtractPlan),
}

#[derive(Debug)]
pub struct Extract {
    pub node: NodeId,
    /// The destination as typed.
    pub input: String,
    pub stage: Stage,
}

pub fn open(action: Action, ctx: &mut Ctx) -> Option<Box<dyn Component>> {
    if action != Action::Extract {
        return None;
    }
    Some(Box::new(Extract {
        node: ctx.model.selected_node()?,
        input: ctx.settings.extract_dir.display().to_string(),
        stage: Stage::Input,
    }))
}

/// A character typed into a prompt: printable, without ctrl.
pub fn typed(key: &KeyEvent) -> Option<char> {
    match key.code {
        KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => Some(c),
        _ => None,
    }
}

impl Extract {
    fn run(&mut self, plan: &ExtractPlan, overwrite: bool, ctx: &mut Ctx) {
        let model = &mut *ctx.model;
        let Some(source) = model.source() else {
            return model.fail("no image source to read from");
        };
        match extract::execute(plan, source, &model.image().image, overwrite) {
            Ok(report) => {
                let skipped = if report.skipped > 0 {
                    format!(", {} skipped ({})", report.skipped, plan.skipped.join("; "))
                } else {
                    String::new()
                };
                model.inform(format!(
                    "extracted {} files, {} dirs, {} symlinks ({} bytes) to {}{skipped}",
                    report.files,
                    report.dirs,
                    report.symlinks,
                    report.bytes,
                    plan.destination.display()
                ));
            }
            Err(e) => model.fail(format!("extract: {e}")),
        }
    }
}

impl Component for Extract {
    fn context(&self) -> Context {
        match self.stage {
            Stage::Input => Context::Input,
            Stage::Confirm(_) => Context::Confirm,
        }
    }

    fn handle_key(&mut self, key: &KeyEvent, ctx: &mut Ctx) -> Option<Action> {
        if let (Stage::Input, Some(c)) = (&self.stage, typed(key)) {
            self.input.push(c);
            return None;
        }
        ctx.settings.keymap.lookup(key, self.context())
    }

    fn update(&mut self, action: Action, ctx: &mut Ctx) -> Option<Action> {
        match (&self.stage, action) {
            (_, Action::Quit) => Some(Action::Quit),
            (Stage::Input, Action::Cancel) => Some(Action::CloseOverlay),
            (Stage::Input, Action::DeleteChar) => {
                self.input.pop();
                None
            }
            (Stage::Input, Action::Confirm) => {
                let layer = ctx.model.compare().to;
                let input = if self.input.is_empty() {
                    "."
                } else {
                    &self.input
                };
                let destination = PathBuf::from(input);
                match extract::plan(&ctx.model.image().tree, self.node, layer, &destination) {
                    // The prompt stays open for another destination.
                    Err(e) => ctx.model.fail(e.to_string()),
                    Ok(plan) if plan.existing.is_empty() => {
                        self.run(&plan, false, ctx);
                        return Some(Action::CloseOverlay);
                    }
                    Ok(plan) => self.stage = Stage::Confirm(plan),
                }
                None
            }
            (Stage::Confirm(plan), Action::Yes) => {
                let plan = plan.clone();
                self.run(&plan, true, ctx);
                Some(Action::CloseOverlay)
            }
            (Stage::Confirm(_), Action::No) => {
                ctx.model.inform("extraction cancelled: nothing written");
                Some(Action::CloseOverlay)
            }
            _ => None,
        }
    }

    fn draw(&self, frame: &mut Frame, area: Rect, view: &View) {
        let theme = &view.settings.theme;
        let path = escape_bytes(&view.model.image().tree.path(self.node)).into_owned();
        let mut lines = vec![Line::from(format!("Extract {path} into directory:"))];
        match &self.stage {
            Stage::Input => {
                lines.push(Line::from(vec![
                    Span::raw(escape_str(&self.input).into_owned()),
                    styled("_", theme.key),
                ]));
                let keymap = &view.settings.keymap;
                let hint = format!(
                    "{}: extract   {}: cancel",
                    keymap.first_key(Action::Confirm),
                    keymap.first_key(Action::Cancel)
                );
                lines.push(styled(hint, theme.dim).into());
            }
            Stage::Confirm(plan) => {
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
        let area = centered(area, 70, lines.len() as u16 + 2);
        frame.render_widget(Clear, area);
        frame.render_widget(
            Paragraph::new(lines)
                .wrap(Wrap { trim: false })
                .block(pane(theme, "Extract", true)),
            area,
        );
    }
}
