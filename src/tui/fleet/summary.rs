//! The summary: the selected image's figures (its sizes, what it adds to the set and what
//! it shares, its base), the selected layer, and the set's pull and stored bytes.

use super::stacks::short;
use crate::analysis::glossary::{
    COMPRESSED_NAME, FINAL_FILESYSTEM_NAME, LAYER_CONTENT_NAME, PULL_NAME, SHARED_NAME,
    STORED_NAME, UNIQUE_NAME, WASTED_NAME,
};
use crate::explore::fleet::FleetView;
use crate::size::human;
use crate::tui::actions::Action;
use crate::tui::components::{Component, Ctx, View};
use crate::tui::widgets::{pane, styled};
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;

pub struct Summary;

pub fn new() -> Box<dyn Component<FleetView>> {
    Box::new(Summary)
}

/// Width of the label column: the longest label and a space.
const LABEL: usize = 9;

impl Component<FleetView> for Summary {
    fn update(&mut self, action: Action, _ctx: &mut Ctx<FleetView>) -> Option<Action> {
        Some(action)
    }

    fn draw(&self, frame: &mut Frame, area: Rect, view: &View<FleetView>) {
        let theme = &view.settings.theme;
        let shown: Vec<Line> = lines(view.model)
            .into_iter()
            .map(|(label, text)| {
                Line::from(vec![
                    styled(format!("{label:<LABEL$}"), theme.title),
                    Span::raw(text),
                ])
            })
            .collect();
        frame.render_widget(
            Paragraph::new(shown)
                .wrap(Wrap { trim: false })
                .block(pane(theme, "Image", false)),
            area,
        );
    }
}

/// Rows the summary wants at `width` columns, borders included (a line longer than the
/// pane wraps).
pub fn height(model: &FleetView, width: u16) -> usize {
    let room = usize::from(width.saturating_sub(2)).max(1);
    2 + lines(model)
        .iter()
        // Lines break at spaces, so a wrapped line may leave a word's width unused.
        .map(|(_, text)| (LABEL + text.chars().count()).div_ceil(room.saturating_sub(12).max(1)))
        .sum::<usize>()
}

/// `1 layer`, `2 layers`.
pub fn count(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

/// The pane's lines, each a label and its (escaped) text: the selected image and layer
/// first, so that a short pane still follows the cursor; the set's totals last.
pub fn lines(model: &FleetView) -> Vec<(&'static str, String)> {
    let mut lines = Vec::new();
    let (column, position) = model.cursor();
    if model.columns().is_empty() {
        lines.push(("Image", "none: every image failed to open".to_string()));
    } else {
        let image = model.image(column);
        lines.push((
            "Image",
            format!(
                "{} ({} of {}), {}",
                image.name,
                column + 1,
                model.columns().len(),
                count(image.layers.len(), "layer")
            ),
        ));
        lines.push((
            "Sizes",
            format!(
                "{COMPRESSED_NAME} {}, {LAYER_CONTENT_NAME} {}, {FINAL_FILESYSTEM_NAME} {}",
                human(image.size.compressed_download),
                human(image.size.layer_content),
                human(image.final_filesystem)
            ),
        ));
        lines.push((
            "Set",
            format!(
                "{UNIQUE_NAME} {} (in no other image of the set), {SHARED_NAME} {}; \
                 efficiency {:.1} %, {WASTED_NAME} {}, {}",
                human(image.unique.compressed_download),
                human(image.shared.compressed_download),
                image.efficiency * 100.0,
                human(image.wasted_bytes),
                count(image.secret_findings, "secret finding")
            ),
        ));
        lines.push((
            "Base",
            match &image.base {
                Some(base) => format!(
                    "{} ({}) shared with {}",
                    count(base.layers, "layer"),
                    human(base.bytes.compressed_download),
                    base.image
                ),
                None => "shares no bottom layer with another image".into(),
            },
        ));
        lines.push((
            "Layer",
            match model.selected_layer() {
                Some((key, layer)) => format!(
                    "{position}: {} {COMPRESSED_NAME} {}, {LAYER_CONTENT_NAME} {}; in {}",
                    short(key, 12),
                    human(layer.compressed_download),
                    human(layer.layer_content),
                    count(layer.images.len(), "image")
                ),
                None => format!("{position}: this image has no layer this high"),
            },
        ));
    }
    let totals = model.totals();
    lines.push((
        "Fleet",
        format!(
            "{PULL_NAME} {} (each distinct layer once) against {} image by image; \
             {STORED_NAME} {} (each distinct blob once)",
            human(totals.pull_bytes),
            human(totals.naive_pull_bytes),
            human(totals.stored_bytes)
        ),
    ));
    lines.extend(
        model
            .left_out()
            .iter()
            .map(|line| ("Left out", line.clone())),
    );
    lines
}
