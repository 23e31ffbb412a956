//! The HTML views: `report`'s one self-contained page (summary, layer stack, treemaps,
//! hints, secrets, packages, the story folded by layer), `explain --format html`'s
//! printable handout and `fleet --format html`'s page ([`fleet`]). Plain data in, one
//! string out; the commands load and analyse.
//!
//! The page makes no network request: its style and script are inline, and a
//! `Content-Security-Policy` allows exactly those two (by hash) and nothing else. It reads
//! without script: the treemaps are inline SVG drawn here, with a tooltip per cell; the
//! script only zooms them. Every name and text from the image goes through
//! [`crate::escape::push_html`]; markup is built with `maud`, whose own escaping is never
//! relied on for image text.

pub mod fleet;
mod packages;
mod squarify;
pub mod treemap;

pub use packages::MAX_PACKAGE_ROWS;

use crate::analysis::explain::{Block, Span};
use crate::analysis::glossary;
use crate::analysis::Waste;
use crate::ci::{CiInput, LayerSummary, SecretFinding};
use crate::escape::{html_str, push_html};
use crate::size::human;
use crate::tree::Tree;
use base64::Engine as _;
use maud::{html, Markup, PreEscaped, DOCTYPE};
use sha2::{Digest, Sha256};

const STYLE: &str = include_str!("style.css");
const SCRIPT: &str = include_str!("script.js");

// SVG elements are written with an empty body (`rect … {}`), never as maud's void `rect …;`:
// inside `<svg>` an HTML parser does not close `<rect>` by itself, and the next shape would
// land inside it, unseen.

/// Text from the image or about it, escaped by the one escape module.
fn text(s: &str) -> PreEscaped<String> {
    PreEscaped(html_str(s))
}

fn path(bytes: &[u8]) -> PreEscaped<String> {
    let mut out = String::new();
    push_html(&mut out, bytes);
    PreEscaped(out)
}

/// The layer stack as every view numbers it: one row per layer.
pub struct Stack {
    pub layers: Vec<LayerSummary>,
    /// Each layer's blob as stored.
    pub compressed: Vec<u64>,
    /// Of each layer's content, the bytes later layers hide.
    pub hidden: Vec<u64>,
    /// Layers `0..base_layers` come from the base image.
    pub base_layers: usize,
}

/// What `report` draws.
pub struct Page<'a> {
    pub input: &'a CiInput,
    pub stack: Stack,
    pub tree: &'a Tree,
    pub waste: &'a Waste,
    /// Secret findings, redacted.
    pub secrets: &'a [SecretFinding],
    /// `explain`'s whole story.
    pub story: &'a [Block],
    /// The package databases, layer by layer (empty when the image has none).
    pub packages: &'a crate::analysis::packages::Packages,
}

/// The `Content-Security-Policy` of a page with this style and script: nothing but them.
fn csp(script: bool) -> String {
    let hash = |s: &str| base64::engine::general_purpose::STANDARD.encode(Sha256::digest(s));
    let script = if script {
        format!("'sha256-{}'", hash(SCRIPT))
    } else {
        "'none'".into()
    };
    format!(
        "default-src 'none'; style-src 'sha256-{}'; script-src {script}; img-src data:; \
         base-uri 'none'; form-action 'none'",
        hash(STYLE)
    )
}

fn head(title: &str, script: bool) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta http-equiv="Content-Security-Policy" content=(csp(script));
            meta name="viewport" content="width=device-width, initial-scale=1";
            meta name="generator" content=(concat!("layerscope ", env!("CARGO_PKG_VERSION")));
            title { (text(title)) }
            style { (PreEscaped(STYLE)) }
        }
    }
}

/// The report page.
pub fn page(page: &Page) -> String {
    let input = page.input;
    let title = format!("layerscope report: {}", input.image);
    let fs = treemap::Trie::final_filesystem(page.tree);
    let wasted = treemap::Trie::wasted(page.waste);
    let fs_cells = treemap::cells(&fs, treemap::MAX_CELLS);
    let wasted_cells = treemap::cells(&wasted, treemap::MAX_CELLS / 2);
    let (intro, layers, closing) = split_story(page.story, page.stack.layers.len());
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            (head(&title, true))
            body {
                header {
                    h1 { "layerscope report: " code { (text(&input.image)) } }
                }
                main {
                    (summary(page, fs.bytes()))
                    (stack_table(&page.stack, true))
                    section id="treemap" {
                        h2 { "Where the bytes of the " (glossary::FINAL_FILESYSTEM_NAME) " are" }
                        p {
                            "Each rectangle is a directory or a file, its area its bytes, its colour the layer that wrote it. "
                            "Small files are gathered into \u{201c}n files\u{201d} cells. "
                            "Hover or focus a cell for its name, size and layer; click a directory (or press Enter on it) to zoom in, and the path above the map to zoom out."
                        }
                        nav class="crumbs" data-for="map-fs" aria-label="Zoom level of the final filesystem map" { span { "/" } }
                        (PreEscaped(treemap::svg(&fs_cells, "map-fs", "Treemap of the final filesystem")))
                        (legend(&fs_cells))
                    }
                    section id="wasted-map" {
                        h2 { "Where the " (glossary::WASTED_NAME) " bytes were written" }
                        @if wasted.bytes() == 0 {
                            p { "No layer hides a byte that a layer below it shipped." }
                        } @else {
                            p {
                                (human(wasted.bytes())) " shipped by a layer and hidden by a later one, each copy placed at the path where its layer wrote it, coloured by that layer."
                            }
                            nav class="crumbs" data-for="map-wasted" aria-label="Zoom level of the wasted-bytes map" { span { "/" } }
                            (PreEscaped(treemap::svg(&wasted_cells, "map-wasted", "Treemap of the wasted bytes")))
                            (legend(&wasted_cells))
                        }
                    }
                    p class="status" aria-live="polite" {}
                    (hints(input))
                    (secrets(page.secrets))
                    (packages::section(page.packages))
                    section id="story" {
                        h2 { "The story, layer by layer" }
                        (blocks(intro, 3))
                        @for (index, section) in layers.iter().enumerate() {
                            details id={"story-" (index)} {
                                summary { (spans(heading_spans(section))) }
                                (blocks(&section[1..], 4))
                            }
                        }
                        (blocks(closing, 3))
                    }
                }
                footer { p { "Made by layerscope " (env!("CARGO_PKG_VERSION")) ". This file makes no network request." } }
                script { (PreEscaped(SCRIPT)) }
            }
        }
    };
    markup.into_string()
}

/// `explain --format html`: the story as a printable page, with the layer stack on top.
pub fn handout(name: &str, stack: &Stack, story: &[Block]) -> String {
    let title = format!("How {name} is built");
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(&title, false))
            body class="handout" {
                main {
                    (blocks(story.get(..1).unwrap_or_default(), 1))
                    (stack_table(stack, false))
                    (blocks(story.get(1..).unwrap_or_default(), 1))
                }
                footer { p { "Made by layerscope " (env!("CARGO_PKG_VERSION")) " (explain --format html)." } }
            }
        }
    }
    .into_string()
}

fn summary(page: &Page, final_fs: u64) -> Markup {
    let input = page.input;
    let content: u64 = page
        .stack
        .layers
        .iter()
        .map(|l| l.size_bytes)
        .fold(0, u64::saturating_add);
    let compressed: u64 = page.stack.compressed.iter().sum();
    let row = |name: &str, bytes: u64, means: &str| {
        html! {
            tr data-quantity=(name) data-bytes=(bytes) {
                th scope="row" { (glossary::capitalise(name)) }
                td class="num" { (human(bytes)) }
                td { (means) }
            }
        }
    };
    html! {
        section id="summary" {
            h2 { "Summary" }
            table class="summary" {
                tr { th scope="row" { "Image" } td colspan="2" { code { (text(&input.image)) } } }
                tr { th scope="row" { "Platform" } td colspan="2" {
                    (text(input.platform.as_deref().unwrap_or("-"))) " (" (text(&input.source_format)) ")"
                } }
                tr { th scope="row" { "Layers" } td class="num" data-count=(input.layer_count) { (input.layer_count) } td {} }
                (row(glossary::LAYER_CONTENT_NAME, content, glossary::LAYER_CONTENT))
                (row(glossary::FINAL_FILESYSTEM_NAME, final_fs, glossary::FINAL_FILESYSTEM))
                (row(glossary::COMPRESSED_NAME, compressed, glossary::COMPRESSED_DOWNLOAD))
                tr data-quantity="efficiency" {
                    th scope="row" { "Efficiency" }
                    td class="num" { (format!("{:.2} %", input.efficiency * 100.0)) }
                    td { (glossary::EFFICIENCY) }
                }
                (row(glossary::WASTED_NAME, input.wasted_bytes, glossary::WASTED_BYTES))
                tr data-quantity="secret findings" data-count=(page.secrets.len()) {
                    th scope="row" { "Secret findings" }
                    td class="num" { (page.secrets.len()) }
                    td { "files and config values that look like credentials (values redacted below)" }
                }
            }
        }
    }
}

/// The layer stack: a table (the accessible view of every colour), each row a bar whose
/// length is the layer's content, its hidden part shaded.
fn stack_table(stack: &Stack, treemaps: bool) -> Markup {
    let max = stack
        .layers
        .iter()
        .map(|l| l.size_bytes)
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    const BAR: f64 = 240.0;
    html! {
        section id="stack" {
            h2 { "The layer stack" }
            p {
                "One row per layer, bottom (layer 0) first. A bar's length is the layer's content; "
                "its shaded (darker) end is what later layers hide."
                @if treemaps { " The colour is the layer's in the treemaps." }
            }
            table class="stack" {
                thead { tr {
                    th scope="col" { "Layer" } th scope="col" { "Content and instruction" }
                    th scope="col" class="num" { "Size" } th scope="col" class="num" { "Hidden" }
                    th scope="col" class="num" { "Download" }
                    th scope="col" class="num" { "Added" } th scope="col" class="num" { "Changed" }
                    th scope="col" class="num" { "Deleted" }
                } }
                tbody {
                    @for layer in &stack.layers {
                        @let i = layer.index;
                        @let hidden = stack.hidden.get(i).copied().unwrap_or(0);
                        @let compressed = stack.compressed.get(i).copied().unwrap_or(0);
                        @let width = layer.size_bytes as f64 / max * BAR;
                        @let shade = (hidden as f64 / max * BAR).min(width);
                        @let base = i < stack.base_layers;
                        tr class="layer" id={"layer-" (i)} data-layer=(i) data-content-bytes=(layer.size_bytes)
                            data-compressed-bytes=(compressed) data-hidden-bytes=(hidden)
                            data-added=(layer.added) data-changed=(layer.modified) data-deleted=(layer.removed)
                            data-base=(base) {
                            th scope="row" {
                                svg class="swatch" width="12" height="12" aria-hidden="true" {
                                    rect width="12" height="12" fill=(treemap::layer_colour(i)) {}
                                }
                                " layer " (i)
                                @if base { " " span class="badge" title="from the base image" { "base" } }
                            }
                            td {
                                svg class="bar" width=(BAR) height="14" viewBox={"0 0 " (BAR) " 14"} role="img"
                                    aria-label={(human(layer.size_bytes)) ", " (human(hidden)) " hidden"} {
                                    rect width=(format!("{width:.1}")) height="14" fill=(treemap::layer_colour(i)) {}
                                    @if shade > 0.0 {
                                        rect class="hidden" x=(format!("{:.1}", width - shade)) width=(format!("{shade:.1}")) height="14" fill="#000" fill-opacity="0.45" {}
                                    }
                                }
                                code { (text(layer.instruction.as_deref().unwrap_or("-"))) }
                            }
                            td class="num" { (human(layer.size_bytes)) }
                            td class="num" { (human(hidden)) }
                            td class="num" { (human(compressed)) }
                            td class="num" { (layer.added) }
                            td class="num" { (layer.modified) }
                            td class="num" { (layer.removed) }
                        }
                    }
                }
            }
        }
    }
}

/// Which layers the map's cells come from, each swatch with its number in words.
fn legend(root: &treemap::Cell) -> Markup {
    let mut layers = std::collections::BTreeSet::new();
    let mut stack = vec![root];
    while let Some(cell) = stack.pop() {
        layers.extend(cell.layer);
        stack.extend(&cell.children);
    }
    html! {
        ul class="legend" aria-label="Colours by layer" {
            @for layer in layers {
                li {
                    svg class="swatch" width="12" height="12" aria-hidden="true" {
                        rect width="12" height="12" fill=(treemap::layer_colour(layer)) {}
                    }
                    " " a href={"#layer-" (layer)} { "layer " (layer) }
                }
            }
        }
    }
}

fn hints(input: &CiInput) -> Markup {
    use crate::ci::report::{hint_bytes_phrase, hint_paths};
    html! {
        section id="hints" {
            h2 { "Hints" }
            @if input.hints.is_empty() {
                p { "No hint: nothing to change that layerscope can measure." }
            } @else {
                p { "Each hint's bytes are measured on this image; hints never change the efficiency." }
                ol class="hints" {
                    @for hint in &input.hints {
                        li class="hint" data-kind=(hint.kind.name()) data-bytes=(hint.bytes) {
                            strong { (text(&hint_bytes_phrase(hint))) } " · "
                            code { (hint.kind.name()) } " · " (text(&hint.place()))
                            p { (text(&hint.summary)) }
                            @if !hint.paths.is_empty() { p class="paths" { "Paths: " code { (text(&hint_paths(hint, 5))) } } }
                            p { "Fix: " (text(&hint.fix)) }
                        }
                    }
                }
            }
        }
    }
}

fn secrets(found: &[SecretFinding]) -> Markup {
    html! {
        section id="secrets" {
            h2 { "Secrets" }
            @if found.is_empty() {
                p { "None in any layer or in the config." }
            } @else {
                p { (found.len()) " findings; values are redacted." }
                ul class="secrets" {
                    @for f in found {
                        li class="secret" {
                            strong { (f.title) } " (" (f.severity.name()) ", " code { (f.rule) } ") in "
                            code { (text(&f.place())) }
                            @if !f.preview.is_empty() { " · " code { (text(&f.preview)) } }
                            p { (text(&f.description)) }
                            p { "Fix: " (f.fix) }
                        }
                    }
                }
            }
        }
    }
}

/// The story cut at its layer headings: what comes before layer 0, one section per layer
/// (its heading first), and what follows the last layer.
fn split_story(story: &[Block], layers: usize) -> (&[Block], Vec<&[Block]>, &[Block]) {
    // A layer's heading is the level-2 heading whose words start "Layer N: " ([`crate::
    // analysis::explain`] writes one per layer, in order).
    let starts: Vec<usize> = (0..layers)
        .filter_map(|n| {
            let prefix = format!("Layer {n}: ");
            story.iter().position(|b| {
                matches!(b, Block::Heading(2, s) if matches!(s.first(), Some(Span::Text(t)) if t.starts_with(&prefix)))
            })
        })
        .collect();
    if starts.len() != layers || layers == 0 {
        return (story, Vec::new(), &[]);
    }
    let after_last = story[starts[layers - 1] + 1..]
        .iter()
        .position(|b| matches!(b, Block::Heading(1 | 2, _)))
        .map_or(story.len(), |p| starts[layers - 1] + 1 + p);
    let mut sections = Vec::new();
    for (i, &start) in starts.iter().enumerate() {
        let end = starts.get(i + 1).copied().unwrap_or(after_last);
        sections.push(&story[start..end]);
    }
    (&story[..starts[0]], sections, &story[after_last..])
}

fn heading_spans(section: &[Block]) -> &[Span] {
    match section.first() {
        Some(Block::Heading(_, s)) => s,
        _ => &[],
    }
}

fn spans(spans: &[Span]) -> Markup {
    html! {
        @for span in spans {
            @match span {
                Span::Text(t) => (prose(t)),
                Span::Code(c) => code { (text(c)) },
                Span::Path(p) => code { (path(p)) },
                Span::Bytes(b) => (human(*b)),
            }
        }
    }
}

/// Words of the story: a `quoted` name in them (the glossary writes `FROM`, `.wh.`) is
/// shown as code, as Markdown would show it.
fn prose(words: &str) -> Markup {
    let parts: Vec<&str> = words.split('`').collect();
    if parts.len() % 2 == 0 {
        // An unpaired backtick: leave the words as they are.
        return html! { (text(words)) };
    }
    html! {
        @for (i, part) in parts.iter().enumerate() {
            @if i % 2 == 1 { code { (text(part)) } } @else { (text(part)) }
        }
    }
}

/// `explain`'s blocks as HTML; a level-1 heading becomes `<h{top}>`, deeper ones follow.
pub fn blocks(blocks: &[Block], top: u8) -> Markup {
    html! {
        @for block in blocks {
            @match block {
                Block::Heading(level, s) => {
                    @let level = (top + level - 1).min(6);
                    (PreEscaped(format!("<h{level}>"))) (spans(s)) (PreEscaped(format!("</h{level}>")))
                }
                Block::Paragraph(s) => p { (spans(s)) },
                Block::List(items) => ul { @for item in items { li { (spans(item)) } } },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn story_names_render_as_text() {
        assert_eq!(
            prose("the `FROM` line <b>").into_string(),
            "the <code>FROM</code> line &lt;b&gt;"
        );
        assert_eq!(prose("a ` b").into_string(), "a ` b");
        let story = vec![
            Block::Heading(1, vec![Span::Text("How ".into()), Span::Code("x".into())]),
            Block::List(vec![vec![
                Span::Text("Added ".into()),
                Span::Path(b"/<script>alert(1)</script>\x07".to_vec()),
                Span::Bytes(1500),
            ]]),
        ];
        let html = blocks(&story, 2).into_string();
        assert_eq!(
            html,
            "<h2>How <code>x</code></h2><ul><li>Added <code>/&lt;script&gt;alert(1)&lt;/script&gt;\\x07</code>1.5 kB</li></ul>"
        );
    }

    #[test]
    fn the_story_splits_at_its_layer_headings() {
        let h = |t: &str| Block::Heading(2, vec![Span::Text(t.into())]);
        let p = |t: &str| Block::Paragraph(vec![Span::Text(t.into())]);
        let story = vec![
            Block::Heading(1, vec![]),
            p("intro"),
            h("Layer 0: "),
            p("zero"),
            h("Layer 1: "),
            p("one"),
            h("What to change"),
            p("end"),
        ];
        let (intro, layers, closing) = split_story(&story, 2);
        assert_eq!(intro.len(), 2);
        assert_eq!(layers.len(), 2);
        assert_eq!(layers[1], &story[4..6]);
        assert_eq!(closing, &story[6..]);
    }

    #[test]
    fn the_policy_allows_only_the_page_own_style_and_script() {
        let policy = csp(true);
        assert!(policy.starts_with("default-src 'none';"), "{policy}");
        assert!(!policy.contains("unsafe-inline") && !policy.contains("http"));
        assert!(csp(false).contains("script-src 'none'"));
    }
}
