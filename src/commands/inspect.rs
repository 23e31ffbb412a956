//! `inspect`: format, platform, sizes and one row per layer, as text or versioned JSON.

use crate::cli::OutputFormat;
use crate::escape::escape_str;
use crate::model::{LayerStatus, LoadedImage};
use crate::size::human;
use serde::Serialize;
use std::io::{self, Write};

/// Version of the JSON document below; bump on any incompatible change.
pub const INSPECT_SCHEMA: &str = "layerscope.inspect/v2";

#[derive(Serialize)]
struct InspectReport<'a> {
    schema: &'static str,
    /// The gzip inflater this build runs (`isa-l` or `zlib-rs`), so reports say which ran.
    inflater: &'static str,
    source: &'a str,
    format: &'static str,
    tags: &'a [String],
    platform: Option<String>,
    config_digest: Option<&'a str>,
    layer_count: usize,
    compressed_bytes: u64,
    uncompressed_bytes: u64,
    content_bytes: u64,
    layers: Vec<LayerRow>,
    warnings: &'a [String],
    /// With `--dockerfile`: how it mapped; else `null`.
    dockerfile: Option<DockerfileRow>,
}

#[derive(Serialize)]
struct DockerfileRow {
    path: String,
    base_image: String,
    base_layers: usize,
    unmatched_lines: Vec<usize>,
    unmatched_history: Vec<usize>,
}

#[derive(Serialize)]
struct LayerRow {
    index: usize,
    diff_id: Option<String>,
    digest: Option<String>,
    media_type: Option<String>,
    compression: Option<String>,
    compressed_bytes: u64,
    uncompressed_bytes: u64,
    /// Its files' content bytes: the layer's size in every view.
    content_bytes: u64,
    entries: usize,
    added: usize,
    modified: usize,
    removed: usize,
    status: LayerStatus,
    instruction: InstructionRow,
    /// The Dockerfile line that made the layer; `null` for a base layer, one no line
    /// explains, or without `--dockerfile`.
    dockerfile: Option<crate::dockerfile::map::LayerLine>,
}

#[derive(Serialize)]
struct InstructionRow {
    kind: String,
    text: String,
    raw: String,
    /// Indices of the history entries folded into this layer (ENV, WORKDIR … then its own).
    history: Vec<usize>,
}

fn build<'a>(
    loaded: &'a LoadedImage,
    dockerfile: Option<&super::context::DockerfileContext>,
) -> InspectReport<'a> {
    let image = &loaded.image;
    let tree = &loaded.tree;
    let layers = loaded
        .layers
        .iter()
        .map(|info| {
            let counts = tree.layer_change_counts(info.index);
            let history = image.history.layers.get(info.index);
            let layer_ref = &image.layers[info.index];
            LayerRow {
                index: info.index,
                diff_id: info.diff_id.clone(),
                digest: info.digest.clone(),
                media_type: layer_ref.media_type.clone(),
                compression: info.compression.map(|c| c.to_string()),
                compressed_bytes: info.compressed_bytes,
                uncompressed_bytes: info.uncompressed_bytes,
                content_bytes: info.content_bytes,
                entries: info.entries,
                added: counts.added,
                modified: counts.modified,
                removed: counts.removed,
                status: info.status.clone(),
                instruction: InstructionRow {
                    kind: history.map_or("?".into(), |h| h.instruction.kind.to_string()),
                    text: history.map_or(String::new(), |h| h.instruction.text.clone()),
                    raw: history.map_or(String::new(), |h| h.instruction.raw.clone()),
                    history: history.map_or(Vec::new(), |h| h.entries.clone()),
                },
                dockerfile: dockerfile.and_then(|d| d.mapping.layer_line(info.index).cloned()),
            }
        })
        .collect();
    InspectReport {
        schema: INSPECT_SCHEMA,
        inflater: crate::source::INFLATER,
        source: &image.source,
        format: image.format.name(),
        tags: &image.tags,
        platform: image.platform.as_ref().map(|p| p.to_string()),
        config_digest: image.config_digest.as_deref(),
        layer_count: loaded.layers.len(),
        compressed_bytes: loaded.layers.iter().map(|l| l.compressed_bytes).sum(),
        uncompressed_bytes: loaded.layers.iter().map(|l| l.uncompressed_bytes).sum(),
        content_bytes: loaded
            .layers
            .iter()
            .map(|l| l.content_bytes)
            .fold(0, u64::saturating_add),
        layers,
        warnings: &loaded.warnings,
        dockerfile: dockerfile.map(|d| DockerfileRow {
            path: d.path.clone(),
            base_image: d.mapping.base_image.clone(),
            base_layers: d.mapping.base_layers,
            unmatched_lines: d.mapping.unmatched_lines.clone(),
            unmatched_history: d.mapping.unmatched_history.clone(),
        }),
    }
}

pub fn run(
    loaded: &LoadedImage,
    format: OutputFormat,
    dockerfile: Option<&super::context::DockerfileContext>,
    out: &mut dyn Write,
) -> io::Result<i32> {
    let report = build(loaded, dockerfile);
    match format {
        OutputFormat::Json => {
            let text = serde_json::to_string_pretty(&report)?;
            writeln!(out, "{}", escape_c1(&text))?;
        }
        OutputFormat::Text => write_text(&report, out)?,
    }
    Ok(0)
}

fn write_text(report: &InspectReport<'_>, out: &mut dyn Write) -> io::Result<()> {
    let size = |bytes: u64| format!("{} ({bytes} bytes)", human(bytes));
    writeln!(out, "Image:         {}", escape_str(report.source))?;
    writeln!(out, "Format:        {}", report.format)?;
    if !report.tags.is_empty() {
        writeln!(
            out,
            "Tags:          {}",
            escape_str(&report.tags.join(", "))
        )?;
    }
    writeln!(
        out,
        "Platform:      {}",
        report.platform.as_deref().unwrap_or("(unknown)")
    )?;
    if let Some(digest) = report.config_digest {
        writeln!(out, "Config:        {digest}")?;
    }
    writeln!(out, "Layers:        {}", report.layer_count)?;
    // Named as every command names them (analysis::glossary).
    writeln!(
        out,
        "Layer content: {}, the image size",
        size(report.content_bytes)
    )?;
    writeln!(
        out,
        "Compressed:    {}, the download",
        size(report.compressed_bytes)
    )?;
    writeln!(
        out,
        "Uncompressed:  {}, the layer tars with their headers",
        size(report.uncompressed_bytes)
    )?;
    if let Some(d) = &report.dockerfile {
        writeln!(
            out,
            "Dockerfile:    {} (base FROM {}: {} layer{})",
            escape_str(&d.path),
            escape_str(&d.base_image),
            d.base_layers,
            if d.base_layers == 1 { "" } else { "s" }
        )?;
        let list = |items: &[usize]| {
            items
                .iter()
                .map(|i| i.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        };
        if !d.unmatched_lines.is_empty() {
            writeln!(
                out,
                "  lines with no history entry:  {}",
                list(&d.unmatched_lines)
            )?;
        }
        if !d.unmatched_history.is_empty() {
            writeln!(
                out,
                "  history entries with no line: {}",
                list(&d.unmatched_history)
            )?;
        }
    }
    writeln!(out)?;
    let line_column = report.dockerfile.is_some();
    writeln!(
        out,
        "{:>3}  {:<19}  {:>10}  {:>12}  {:>9}  {:>6} {:>6} {:>6}  {}INSTRUCTION",
        "#",
        "DIFF_ID",
        "COMPRESSED",
        "UNCOMPRESSED",
        "CONTENT",
        "ADDED",
        "MODIF",
        "REMOVED",
        if line_column { "LINE   " } else { "" }
    )?;
    for layer in &report.layers {
        let diff_id = layer
            .diff_id
            .as_deref()
            .map_or("-".to_string(), |d| d.chars().take(19).collect());
        let mut instruction = if layer.instruction.text.is_empty() {
            layer.instruction.kind.clone()
        } else {
            format!("{} {}", layer.instruction.kind, layer.instruction.text)
        };
        if let LayerStatus::Unavailable(reason) | LayerStatus::Truncated(reason) = &layer.status {
            instruction = format!("[{reason}] {instruction}");
        }
        let line = match (&layer.dockerfile, line_column) {
            (_, false) => String::new(),
            (Some(l), true) if l.end_line > l.line => {
                format!("{:<7}", format!("{}-{}", l.line, l.end_line))
            }
            (Some(l), true) => format!("{:<7}", l.line),
            (None, true)
                if layer.index < report.dockerfile.as_ref().map_or(0, |d| d.base_layers) =>
            {
                format!("{:<7}", "base")
            }
            (None, true) => format!("{:<7}", "-"),
        };
        writeln!(
            out,
            "{:>3}  {:<19}  {:>10}  {:>12}  {:>9}  {:>6} {:>6} {:>6}  {line}{}",
            layer.index,
            diff_id,
            human(layer.compressed_bytes),
            human(layer.uncompressed_bytes),
            human(layer.content_bytes),
            layer.added,
            layer.modified,
            layer.removed,
            escape_str(&one_line(&instruction, 100)),
        )?;
    }
    Ok(())
}

/// serde_json escapes C0 controls but writes DEL and C1 controls (U+0080–U+009F) raw,
/// and terminals may obey C1 ones (U+009B is CSI). They only occur inside strings, where
/// `\u00XX` is the same character, so the JSON stays equal.
fn escape_c1(json: &str) -> std::borrow::Cow<'_, str> {
    let unsafe_char = |c: char| ('\u{7f}'..='\u{9f}').contains(&c);
    if !json.contains(unsafe_char) {
        return std::borrow::Cow::Borrowed(json);
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        if unsafe_char(c) {
            out.push_str(&format!("\\u{:04x}", c as u32));
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// First line only, cut to `max` characters, for table cells.
fn one_line(text: &str, max: usize) -> String {
    let line = text.lines().next().unwrap_or("");
    if line.chars().count() > max || text.contains('\n') {
        let cut: String = line.chars().take(max.saturating_sub(1)).collect();
        format!("{cut}…")
    } else {
        line.to_string()
    }
}
