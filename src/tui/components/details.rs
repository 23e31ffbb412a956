//! The layer-details pane (the selected layer's history, digests and sizes) and the
//! image pane (platform, sizes, efficiency and the inefficient paths).

use super::{Component, Ctx, View};
use crate::analysis::glossary;
use crate::escape::escape_str;
use crate::explore::Explorer;
use crate::image::history::Instruction;
use crate::size::human;
use crate::tree::ChangeCounts;
use crate::tui::actions::Action;
use crate::tui::theme::Theme;
use crate::tui::widgets::{pane, styled, WHEEL_ROWS};
use crossterm::event::{MouseEvent, MouseEventKind};
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;

/// The selected layer's details. It has no keys of its own.
pub struct LayerDetails;

pub fn layer() -> Box<dyn Component> {
    Box::new(LayerDetails)
}

impl Component for LayerDetails {
    fn update(&mut self, action: Action, _ctx: &mut Ctx) -> Option<Action> {
        Some(action)
    }

    fn draw(&self, frame: &mut Frame, area: Rect, view: &View) {
        render_layer(view, frame, area)
    }
}

/// The image's details; with an analysis, up and down walk the inefficient paths.
pub struct ImageDetails;

pub fn image() -> Box<dyn Component> {
    Box::new(ImageDetails)
}

impl Component for ImageDetails {
    fn focusable(&self, model: &Explorer) -> bool {
        model.analysis().is_some()
    }

    fn update(&mut self, action: Action, ctx: &mut Ctx) -> Option<Action> {
        let model = &mut *ctx.model;
        // As in the file pane: a page is the file tree's height.
        let page = model.viewport().file_rows.max(1) as isize;
        if let Some(step) = super::list_step(action, page) {
            model.move_details(step);
            return None;
        }
        Some(action)
    }

    fn handle_mouse(&mut self, mouse: &MouseEvent, _area: Rect, ctx: &mut Ctx) -> Option<Action> {
        match mouse.kind {
            MouseEventKind::ScrollDown => ctx.model.move_details(WHEEL_ROWS),
            MouseEventKind::ScrollUp => ctx.model.move_details(-WHEEL_ROWS),
            _ => {}
        }
        None
    }

    fn draw(&self, frame: &mut Frame, area: Rect, view: &View) {
        render_image(view, frame, area)
    }
}

fn field(label: &str, value: String, app: &View) -> Line<'static> {
    Line::from(vec![
        styled(format!("{label}: "), app.settings.theme.title),
        Span::raw(value),
    ])
}

/// `RUN make` with the keyword coloured; a tool's description (jib, ko…) as written.
fn instruction_line(instruction: &Instruction, app: &View) -> Line<'static> {
    if !instruction.kind.is_dockerfile() {
        return Line::from(escape_str(&instruction.display()).into_owned());
    }
    Line::from(vec![
        styled(
            format!("{} ", instruction.kind),
            app.settings.theme.instruction(instruction.kind),
        ),
        Span::raw(escape_str(&instruction.text).into_owned()),
    ])
}

fn render_layer(app: &View, frame: &mut Frame, area: Rect) {
    let model = app.model;
    let theme = &app.settings.theme;
    let image = &model.image().image;
    let index = model.layer();
    let mut lines = Vec::new();
    if let Some(history) = image.history.layers.get(index) {
        lines.push(instruction_line(&history.instruction, app));
    }
    let mut changes = changes_spans(&model.files().change_counts(), theme);
    changes.push(styled(format!("  ({})", model.compare_label()), theme.dim));
    lines.push(Line::from(changes));
    if let Some(changes) = model.layer_packages(index) {
        lines.extend(package_lines(changes, app));
    }
    if let Some(history) = image.history.layers.get(index) {
        if !history.entries.is_empty() {
            lines.push(styled("History:", theme.title).into());
        }
        for &entry_index in &history.entries {
            let Some(entry) = image.config.history.get(entry_index) else {
                continue;
            };
            // ENV and RUN entries may carry a secret: drawn redacted, as every view does.
            let instruction = crate::analysis::secrets::redacted(&entry.instruction());
            let created = entry.created.as_deref().unwrap_or("");
            // Dates to the second: the fraction says nothing to a reader.
            let created = created.get(..19).unwrap_or(created).replace('T', " ");
            let mut spans = vec![styled(format!(" {created} "), theme.dim)];
            spans.extend(instruction_line(&instruction, app).spans);
            if entry.empty_layer {
                spans.push(styled(" (no layer)", theme.dim));
            }
            lines.push(Line::from(spans));
            let mut extra = Vec::new();
            if let Some(author) = &entry.author {
                extra.push(format!("author: {}", escape_str(author)));
            }
            if let Some(comment) = &entry.comment {
                extra.push(format!("comment: {}", escape_str(comment)));
            }
            if !extra.is_empty() {
                lines.push(styled(format!("   {}", extra.join("  ")), theme.dim).into());
            }
        }
    }
    let writable = model
        .image()
        .image
        .layers
        .get(index)
        .and_then(|l| l.writable.as_ref());
    if let (Some(info), Some(writable)) = (model.image().layers.get(index), writable) {
        // No blob and no hashes: the engine keeps this layer, no registry ever does.
        lines.push(field(
            "Container",
            format!("{} ({})", escape_str(&writable.container), writable.id),
            app,
        ));
        lines.push(field(
            "Size",
            format!(
                "{} of content in {} entries (directories and whiteouts included), as the \
                 engine archives them; never downloaded, no digest or diff_id",
                human(info.content_bytes),
                info.entries,
            ),
            app,
        ));
    } else if let Some(info) = model.image().layers.get(index) {
        let none = || "-".to_string();
        // Its sizes first: a short pane keeps them in view.
        lines.push(field(
            "Size",
            format!(
                "{} of content in {} tar entries (directories included); {} uncompressed \
                 tar, {} compressed",
                human(info.content_bytes),
                info.entries,
                human(info.uncompressed_bytes),
                human(info.compressed_bytes),
            ),
            app,
        ));
        if let Some(compression) = info.compression {
            lines.push(field("Compression", compression.to_string(), app));
        }
        // Two hashes of one layer: each says which bytes it hashes, and why both exist.
        lines.push(field(
            "Digest (compressed blob)",
            info.digest.clone().unwrap_or_else(none),
            app,
        ));
        lines.push(field(
            "DiffID (uncompressed tar)",
            info.diff_id.clone().unwrap_or_else(none),
            app,
        ));
        lines.push(styled(glossary::DIGEST_AND_DIFF_ID, theme.dim).into());
    }
    let title = format!(
        "Layer {index} ({})",
        glossary::layer_span(0, model.layer_count().saturating_sub(1))
    );
    let block = pane(theme, &title, false);
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(block),
        area,
    );
}

/// How many package changes a layer's details list.
const LISTED_PACKAGES: usize = 8;

/// A layer's package changes, biggest first: installed and upgraded with their bytes in
/// this layer, then removed.
fn package_lines(
    changes: &crate::analysis::packages::LayerPackages,
    app: &View,
) -> Vec<Line<'static>> {
    let theme = &app.settings.theme;
    let mut rows: Vec<(u64, Line<'static>)> = changes
        .added
        .iter()
        .map(|p| {
            let text = format!(
                " + {} {}  {}",
                escape_str(&p.name),
                escape_str(&p.version),
                human(p.bytes)
            );
            (p.bytes, styled(text, theme.added).into())
        })
        .chain(changes.upgraded.iter().map(|(u, p)| {
            let text = format!(
                " ^ {} {} -> {}  {}",
                escape_str(&u.name),
                escape_str(&u.from),
                escape_str(&u.to),
                human(p.bytes)
            );
            (p.bytes, styled(text, theme.modified).into())
        }))
        .collect();
    rows.sort_by_key(|(bytes, _)| std::cmp::Reverse(*bytes));
    rows.extend(changes.removed.iter().map(|p| {
        let text = format!(" - {} {}", escape_str(&p.name), escape_str(&p.version));
        (0, styled(text, theme.removed).into())
    }));
    let total: u64 = changes.added.iter().map(|p| p.bytes).sum();
    let mut lines = vec![Line::from(vec![
        styled("Packages: ", theme.title),
        Span::raw(format!(
            "{} installed ({}), {} upgraded, {} removed",
            changes.added.len(),
            human(total),
            changes.upgraded.len(),
            changes.removed.len()
        )),
    ])];
    let more = rows.len().saturating_sub(LISTED_PACKAGES);
    lines.extend(rows.into_iter().take(LISTED_PACKAGES).map(|(_, line)| line));
    if more > 0 {
        lines.push(
            styled(
                format!("   and {more} more (layerscope packages --layer N)"),
                theme.dim,
            )
            .into(),
        );
    }
    lines
}

fn render_image(app: &View, frame: &mut Frame, area: Rect) {
    let model = app.model;
    let theme = &app.settings.theme;
    let image = &model.image().image;
    let mut lines = Vec::new();
    let name = if image.tags.is_empty() {
        "(untagged)".to_string()
    } else {
        image.tags.join(", ")
    };
    lines.push(field("Image", escape_str(&name).into_owned(), app));
    let platform = image
        .platform
        .as_ref()
        .map(|p| p.to_string())
        .or_else(|| {
            image.config.os.as_ref().map(|os| {
                format!(
                    "{os}/{}",
                    image.config.architecture.as_deref().unwrap_or("?")
                )
            })
        })
        .unwrap_or_else(|| "-".into());
    lines.push(field(
        "Platform",
        format!("{}  ({})", escape_str(&platform), image.format.name()),
        app,
    ));
    let layers = &model.image().layers;
    let layer_bytes: u64 = layers.iter().map(|l| l.content_bytes).sum();
    let compressed: u64 = layers.iter().map(|l| l.compressed_bytes).sum();
    lines.push(field(
        "Size",
        format!(
            "{} {}, {} {}, {} {}",
            human(layer_bytes),
            glossary::LAYER_CONTENT_NAME,
            human(model.total_size()),
            glossary::FINAL_FILESYSTEM_NAME,
            human(compressed),
            glossary::COMPRESSED_NAME,
        ),
        app,
    ));
    match model.analysis() {
        None => lines.push(styled("analysis not available", theme.dim).into()),
        Some(analysis) => {
            lines.push(field(
                "Efficiency",
                format!(
                    "{:.2} %   wasted {}",
                    analysis.efficiency * 100.0,
                    human(analysis.wasted_bytes)
                ),
                app,
            ));
            if !analysis.inefficient.is_empty() {
                lines.push(styled("Inefficient paths:", theme.title).into());
            }
            let focused = app.focused;
            for (i, path) in analysis.inefficient.iter().enumerate() {
                // Every line takes a row at least: the ones past the pane's height are
                // never drawn, and a million-path image has tens of thousands of them.
                if lines.len() >= usize::from(area.height) {
                    break;
                }
                let mut line = Line::from(format!(
                    " {:>9}  {}",
                    human(path.wasted_bytes),
                    crate::escape::escape_bytes(&path.path)
                ));
                let selected = focused && i == model.details_cursor();
                if selected {
                    line = line.style(theme.selected);
                }
                lines.push(line);
                if selected {
                    // Explained in place, so the explanation is on screen with its path.
                    for explanation in analysis.explanation(path) {
                        lines.push(
                            styled(format!("   {}", escape_str(&explanation)), theme.dim).into(),
                        );
                    }
                }
            }
        }
    }
    if !model.image().warnings.is_empty() {
        lines.push(
            styled(
                format!(
                    "{} warnings (see `layerscope inspect`)",
                    model.image().warnings.len()
                ),
                theme.modified,
            )
            .into(),
        );
    }
    let block = pane(theme, "Image", app.focused);
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(block),
        area,
    );
}

/// `Changes: 3 added, 1 modified, 0 removed`, in the change colours: the layer pane's
/// line, and the first screen's for a layer once it is merged.
pub(super) fn changes_spans(counts: &ChangeCounts, theme: &Theme) -> Vec<Span<'static>> {
    let ChangeCounts {
        added,
        modified,
        removed,
    } = *counts;
    vec![
        styled("Changes: ", theme.title),
        styled(format!("{added} added"), theme.added),
        Span::raw(", "),
        styled(format!("{modified} modified"), theme.modified),
        Span::raw(", "),
        styled(format!("{removed} removed"), theme.removed),
    ]
}
