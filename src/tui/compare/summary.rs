//! The summary: where the two stacks part and what the change costs (the sentences `diff`
//! prints), then the selected layer row (its diff_id, and how each image stores it) and
//! the selected path (what differs, as `diff --long` says it).

use crate::escape::{escape_bytes, escape_str};
use crate::explore::compare::{CompareView, LayerRow, Side};
use crate::model::LayerInfo;
use crate::size::{human, signed};
use crate::tree::DiffKind;
use crate::tui::actions::Action;
use crate::tui::components::{Component, Ctx, View};
use crate::tui::widgets::{pane, styled};
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

pub struct Summary;

pub fn new() -> Box<dyn Component<CompareView>> {
    Box::new(Summary)
}

/// Width of the label column; wrapped lines start under the text.
const LABEL: usize = 8;

impl Component<CompareView> for Summary {
    fn update(&mut self, action: Action, _ctx: &mut Ctx<CompareView>) -> Option<Action> {
        Some(action)
    }

    fn draw(&self, frame: &mut Frame, area: Rect, view: &View<CompareView>) {
        let theme = &view.settings.theme;
        let width = area.width.saturating_sub(2) as usize;
        let mut shown: Vec<Line> = Vec::new();
        for (label, text) in lines(view.model) {
            for (i, part) in wrap(&text, width.saturating_sub(LABEL))
                .into_iter()
                .enumerate()
            {
                let label = if i == 0 { label } else { "" };
                shown.push(Line::from(vec![
                    styled(format!("{label:<LABEL$}"), theme.title),
                    Span::raw(part),
                ]));
            }
        }
        frame.render_widget(
            Paragraph::new(shown).block(pane(theme, "Summary", false)),
            area,
        );
    }
}

/// Rows the summary wants at `width` columns, borders included.
pub fn height(model: &CompareView, width: u16) -> usize {
    let text_width = (width.saturating_sub(2) as usize).saturating_sub(LABEL);
    2 + lines(model)
        .iter()
        .map(|(_, text)| wrap(text, text_width).len())
        .sum::<usize>()
}

/// `text` in lines of at most `width` characters, broken at spaces where it can be.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(10);
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split(' ') {
        let (used, len) = (line.chars().count(), word.chars().count());
        if used > 0 && used + 1 + len > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
        // A word longer than a line is cut.
        while line.chars().count() > width {
            let cut: String = line.chars().take(width).collect();
            line = line.chars().skip(width).collect();
            lines.push(cut);
        }
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

/// The short form of a digest, as `diff` prints it (escaped: a config may say anything).
pub(crate) fn short(digest: &str) -> String {
    let end = digest.len().min("sha256:".len() + 12);
    escape_str(digest.get(..end).unwrap_or(digest)).into_owned()
}

/// How one image stores a layer: `1.2 MB gzip`.
fn stored(model: &CompareView, side: Side, info: &LayerInfo) -> String {
    match model.stored_compression(side, info.index) {
        Some(compression) => format!("{} {compression}", human(info.compressed_bytes)),
        None => human(info.compressed_bytes),
    }
}

/// The pane's lines, each a label and its (escaped) text: where the stacks part and what
/// is selected first, so that a short pane, which shows only its first lines, still
/// follows the cursor; the sizes, which never change, last.
pub fn lines(model: &CompareView) -> Vec<(&'static str, String)> {
    let comparison = model.comparison();
    let totals = &comparison.totals;
    let mut lines = vec![(
        "Stacks",
        comparison.divergence_sentence(&|t| format!("`{}`", escape_str(t))),
    )];
    let layer = |side: Side, index: usize| model.layer(side, index);
    let layer_line = match model.selected_layer_row() {
        Some(LayerRow::Joined(index)) => {
            layer(Side::A, index)
                .zip(layer(Side::B, index))
                .map(|(a, b)| {
                    format!(
                        "{index}: one layer, diff_id {}, {} of content (uncompressed); \
                         stored {} in A, {} in B (compressed)",
                        short(a.diff_id.as_deref().unwrap_or("-")),
                        human(a.content_bytes),
                        stored(model, Side::A, a),
                        stored(model, Side::B, b)
                    )
                })
        }
        Some(LayerRow::Split(index)) => {
            let describe = |side: Side, name: &str| match layer(side, index) {
                Some(info) => format!(
                    "{name} diff_id {}, stored {}",
                    short(info.diff_id.as_deref().unwrap_or("-")),
                    stored(model, side, info)
                ),
                None => format!("{name} has no layer {index}"),
            };
            Some(format!(
                "{index}: {}; {}",
                describe(Side::A, "A"),
                describe(Side::B, "B")
            ))
        }
        None => None,
    };
    lines.push(("Layer", layer_line.unwrap_or_else(|| "none".into())));
    if let Some(node) = model.selected_node() {
        let path = escape_bytes(&model.path(node)).into_owned();
        let text = match model.change(node) {
            Some(change) => format!(
                "{} {path}: {} ({})",
                change.kind.letter(),
                change.detail(),
                signed(change.delta())
            ),
            None if model.kind(node) == DiffKind::Unchanged => match model.delta(node) {
                Some(delta) => format!("{path}: the same in both; {} below", signed(delta)),
                None => format!("{path}: the same in both"),
            },
            None => path,
        };
        lines.push(("Path", text));
    }
    lines.extend([
        (
            "Sizes",
            comparison
                .quantities()
                .iter()
                .map(|q| format!("{} {}", q.name, q.change("->")))
                .collect::<Vec<_>>()
                .join("; "),
        ),
        (
            "Files",
            format!(
                "B adds {} and drops {}",
                human(totals.bytes_added),
                human(totals.bytes_removed)
            ),
        ),
    ]);
    lines
}
