//! The tour's simulated container: its writable layer, drawn above the image's layers,
//! with the keys that write, delete and create through it
//! ([`crate::explore::container`]). The tour owns one while its container step shows.

use super::{Component, Ctx, View};
use crate::escape::escape_bytes;
use crate::explore::container::{ContainerLayer, Kind, Outcome};
use crate::size::human;
use crate::tui::actions::{Action, Context};
use crate::tui::widgets::pane;
use crossterm::event::KeyEvent;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Clear, Paragraph};
use ratatui::Frame;

/// Changes listed at most; the newest are shown.
const SHOWN: usize = 3;

#[derive(Debug, Default)]
pub struct Container {
    pub layer: ContainerLayer,
}

impl Container {
    /// Rows its box takes: the newest changes (one row when empty) and the totals line.
    pub fn height(&self) -> u16 {
        let rows = self.layer.changes().len().clamp(1, SHOWN) as u16;
        rows + 3
    }

    /// The keys line for the tour's box.
    pub fn keys(view: &View) -> String {
        let keymap = &view.settings.keymap;
        format!(
            "{} write  {} delete  {} create  {} remove  up/down pick a file",
            keymap.first_key(Action::ContainerWrite),
            keymap.first_key(Action::ContainerDelete),
            keymap.first_key(Action::ContainerCreate),
            keymap.first_key(Action::ContainerRemove),
        )
    }
}

impl Component for Container {
    fn context(&self) -> Context {
        Context::Tour
    }

    fn handle_key(&mut self, key: &KeyEvent, ctx: &mut Ctx) -> Option<Action> {
        ctx.settings
            .keymap
            .lookup_in(key, &[Context::Tour, Context::Overlay])
    }

    /// Its own actions; any other goes back to the tour.
    fn update(&mut self, action: Action, ctx: &mut Ctx) -> Option<Action> {
        let model = &mut *ctx.model;
        let node = model.selected_node();
        let tree = &model.image().tree;
        let outcome = match (action, node) {
            (Action::Up, _) => {
                model.move_file(-1);
                return None;
            }
            (Action::Down, _) => {
                model.move_file(1);
                return None;
            }
            (Action::ContainerRemove, _) => {
                self.layer = ContainerLayer::default();
                model.inform("container removed: its writable layer is gone, the image's layers are as they were");
                return None;
            }
            (Action::ContainerWrite, Some(node)) => self.layer.write(tree, node),
            (Action::ContainerDelete, Some(node)) => self.layer.delete(tree, node),
            (Action::ContainerCreate, Some(node)) => self.layer.create(tree, node),
            (Action::ContainerWrite | Action::ContainerDelete | Action::ContainerCreate, None) => {
                Outcome::Refused("select a path in the file tree first")
            }
            (other, _) => return Some(other),
        };
        let shown = node.map(|n| escape_bytes(&tree.path(n)).into_owned());
        let shown = shown.unwrap_or_default();
        let text = match outcome {
            Outcome::CopiedUp { bytes } => {
                format!(
                    "copy-up: all of {shown} copied into the container layer, {}",
                    human(bytes)
                )
            }
            Outcome::WrittenInPlace { bytes } => {
                format!(
                    "{shown} is already in the container layer: written in place, {} more",
                    human(bytes)
                )
            }
            Outcome::Deleted => format!("{shown} deleted: a whiteout in the container layer"),
            Outcome::Created { path } => {
                format!("{} created in the container layer", escape_bytes(&path))
            }
            Outcome::Refused(why) => {
                model.fail(why);
                return None;
            }
        };
        model.inform(text);
        None
    }

    fn draw(&self, frame: &mut Frame, area: Rect, view: &View) {
        if area.is_empty() {
            return;
        }
        let theme = &view.settings.theme;
        let changes = self.layer.changes();
        let mut lines: Vec<Line> = changes
            .iter()
            .skip(changes.len().saturating_sub(SHOWN))
            .map(|c| {
                let path = escape_bytes(&c.path);
                Line::from(match c.kind {
                    Kind::CopiedUp { from_layer } => format!(
                        "C {path}  {}, copied up from layer {from_layer}",
                        human(c.bytes)
                    ),
                    Kind::Created => format!("A {path}  {}, new", human(c.bytes)),
                    Kind::Whiteout { hidden } => {
                        format!("D {path}  whiteout, {} below it unchanged", human(hidden))
                    }
                })
            })
            .collect();
        if lines.is_empty() {
            lines.push(Line::from("empty: the container has changed nothing"));
        }
        let image = view.model.image();
        let shipped: u64 = image.layers.iter().map(|l| l.content_bytes).sum();
        lines.push(Line::styled(
            format!(
                "{} in this layer; image layers 0–{}: {}, unchanged",
                human(self.layer.bytes()),
                image.layers.len().saturating_sub(1),
                human(shipped)
            ),
            theme.dim,
        ));
        let title = format!(
            "Container layer (writable): {} paths",
            self.layer.changes().len()
        );
        frame.render_widget(Clear, area);
        frame.render_widget(Paragraph::new(lines).block(pane(theme, &title, true)), area);
    }
}
