//! `fleet --format html`: one self-contained page about a set of images, under the same
//! rules as the report (inline style allowed by hash, no script at all, no request, print
//! and dark styles). The totals, the per-image table, the shared layers and the sharing
//! tree, drawn as an indented tree whose bars are drawn here, at generation time.
//!
//! Names and keys arrive escaped for a terminal ([`crate::analysis::fleet::ImageFacts::of`])
//! and are escaped again for HTML here.

use super::{head, text};
use crate::analysis::fleet::{Branch, Fleet};
use crate::analysis::glossary::{self, COMPRESSED_NAME, FINAL_FILESYSTEM_NAME, LAYER_CONTENT_NAME};
use crate::size::human;
use maud::{html, Markup, DOCTYPE};

/// Width of the longest bar, in px: the sharing tree's deepest stack, the naive pull.
const BAR: f64 = 320.0;

/// What the page lists besides the set: the images that failed to open and the Compose
/// services skipped, each with its reason (both escaped by the caller).
pub struct LeftOut<'a> {
    pub failed: Vec<(&'a str, &'a str)>,
    pub skipped: Vec<(&'a str, &'a str)>,
}

/// The page.
pub fn page(set: &Fleet, parsed: usize, left: &LeftOut) -> String {
    let title = format!("layerscope fleet: {} images", set.totals.images);
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(&title, false))
            body class="fleet" {
                header { h1 { (title) } }
                main {
                    (totals(set, parsed))
                    (images(set))
                    (shared(set))
                    (tree(set))
                    (left_out(left))
                }
                footer { p { "Made by layerscope " (env!("CARGO_PKG_VERSION")) " (fleet --format html). This file makes no network request." } }
            }
        }
    }
    .into_string()
}

/// A horizontal bar: `from`..`from + len` of `scale`, the part before `from` drawn faint
/// (what a branch inherits from the branches below it).
fn bar(from: u64, len: u64, scale: u64, label: &str) -> Markup {
    let px = |b: u64| b as f64 / scale.max(1) as f64 * BAR;
    let (x, w) = (px(from), px(len).max(if len > 0 { 1.0 } else { 0.0 }));
    html! {
        svg class="fleet-bar" width=(BAR) height="12" viewBox={"0 0 " (BAR) " 12"} role="img" aria-label=(text(label)) {
            @if from > 0 { rect class="inherited" width=(format!("{x:.1}")) height="12" {} }
            rect class="own" x=(format!("{x:.1}")) width=(format!("{w:.1}")) height="12" {}
        }
    }
}

fn totals(set: &Fleet, parsed: usize) -> Markup {
    let t = &set.totals;
    let row = |key: &str, name: &str, value: u64, shown: String, means: &str| {
        html! {
            tr data-total=(key) data-value=(value) {
                th scope="row" { (name) } td class="num" { (shown) } td { (means) }
            }
        }
    };
    let number = |key: &str, name: &str, n: usize, means: &str| {
        row(key, name, n as u64, n.to_string(), means)
    };
    let bytes = |key: &str, name: &str, b: u64, means: &str| row(key, name, b, human(b), means);
    html! {
        section id="totals" {
            h2 { "The set" }
            table class="summary" {
                (number("images", "Images", t.images, ""))
                (number("layer_references", "Layer references", t.layer_references, "layers of all images, once per image that has them"))
                (number("distinct_layers", "Distinct layers", t.distinct_layers, "each layer once, by diff_id"))
                (number("layers_parsed", "Layers parsed", parsed, "each distinct layer is read once"))
                (number("shared_layers", "Shared layers", t.shared_layers, glossary::SHARED_LAYER))
                (bytes("pull_bytes", "Pull for a fresh node", t.pull_bytes, "each distinct layer once, compressed: what a node with none of them downloads"))
                (bytes("naive_pull_bytes", "Pulled image by image", t.naive_pull_bytes, "every image's compressed download added up, as if nothing were shared"))
                (bytes("stored_bytes", "Stored", t.stored_bytes, "each distinct blob once: what a registry keeps"))
            }
            p { "A fresh node pulls " strong { (human(t.pull_bytes)) } " for the whole set, against " (human(t.naive_pull_bytes)) " pulling each image on its own:" }
            p class="bars" {
                (bar(0, t.pull_bytes, t.naive_pull_bytes.max(t.pull_bytes), &format!("pull for a fresh node {}", human(t.pull_bytes)))) " each layer once" br;
                (bar(0, t.naive_pull_bytes, t.naive_pull_bytes.max(t.pull_bytes), &format!("image by image {}", human(t.naive_pull_bytes)))) " image by image"
            }
        }
    }
}

fn images(set: &Fleet) -> Markup {
    html! {
        section id="images" {
            h2 { "Each image" }
            p { "Unique: its layers no other image of the set has, what it adds to the set. Shared: its layers another image has too. Both are " (COMPRESSED_NAME) " bytes." }
            div class="wide" {
                table class="fleet-images" {
                    thead { tr {
                        th scope="col" { "Image" } th scope="col" class="num" { "Layers" }
                        th scope="col" class="num" { "Unique" } th scope="col" class="num" { "Shared" }
                        th scope="col" class="num" { (glossary::capitalise(COMPRESSED_NAME)) }
                        th scope="col" class="num" { (glossary::capitalise(LAYER_CONTENT_NAME)) }
                        th scope="col" class="num" { (glossary::capitalise(FINAL_FILESYSTEM_NAME)) }
                        th scope="col" class="num" { "Efficiency" } th scope="col" class="num" { "Wasted" }
                        th scope="col" class="num" { "Secrets" } th scope="col" { "Base" }
                    } }
                    tbody {
                        @for image in &set.images {
                            tr class="image" data-name=(text(&image.name)) data-layers=(image.layers.len())
                                data-unique=(image.unique.compressed_download) data-shared=(image.shared.compressed_download)
                                data-compressed=(image.size.compressed_download) data-content=(image.size.layer_content)
                                data-final=(image.final_filesystem) data-efficiency=(image.efficiency)
                                data-wasted=(image.wasted_bytes) data-secrets=(image.secret_findings)
                                data-base-layers=(image.base.as_ref().map_or(0, |b| b.layers)) {
                                th scope="row" { code { (text(&image.name)) } }
                                td class="num" { (image.layers.len()) }
                                td class="num" { (human(image.unique.compressed_download)) }
                                td class="num" { (human(image.shared.compressed_download)) }
                                td class="num" { (human(image.size.compressed_download)) }
                                td class="num" { (human(image.size.layer_content)) }
                                td class="num" { (human(image.final_filesystem)) }
                                td class="num" { (format!("{:.1} %", image.efficiency * 100.0)) }
                                td class="num" { (human(image.wasted_bytes)) }
                                td class="num" { (image.secret_findings) }
                                td {
                                    @match &image.base {
                                        Some(base) => {
                                            (count(base.layers, "layer")) " (" (human(base.bytes.compressed_download)) ") with "
                                            code class="base" { (text(&base.image)) }
                                        }
                                        None => "none",
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// `1 layer`, `2 layers`.
fn count(n: usize, what: &str) -> String {
    format!("{n} {what}{}", if n == 1 { "" } else { "s" })
}

/// A diff_id's first 12 hex digits, the whole key in its tooltip.
fn short(key: &str) -> Markup {
    let hex = key.strip_prefix("sha256:").unwrap_or(key);
    html! { code title=(text(key)) { (text(hex.get(..12).unwrap_or(hex))) } }
}

fn shared(set: &Fleet) -> Markup {
    let rows: Vec<_> = set
        .layers
        .iter()
        .filter(|(_, row)| row.images.len() > 1)
        .collect();
    html! {
        section id="shared" {
            h2 { "Shared layers" }
            @if rows.is_empty() {
                p { "No layer is in two images of the set." }
            } @else {
                p { "Each is stored and pulled once, however many images have it." }
                div class="wide" {
                    table class="fleet-shared" {
                        thead { tr {
                            th scope="col" { "Layer (diff_id)" }
                            th scope="col" class="num" { (glossary::capitalise(COMPRESSED_NAME)) }
                            th scope="col" class="num" { (glossary::capitalise(LAYER_CONTENT_NAME)) }
                            th scope="col" { "Images" }
                        } }
                        tbody {
                            @for (key, row) in rows {
                                tr class="shared-layer" data-key=(text(key)) data-compressed=(row.compressed_download)
                                    data-content=(row.layer_content) data-images=(row.images.len()) {
                                    th scope="row" { (short(key)) }
                                    td class="num" { (human(row.compressed_download)) }
                                    td class="num" { (human(row.layer_content)) }
                                    td {
                                        (row.images.len()) ": "
                                        @for (i, name) in row.images.iter().enumerate() {
                                            @if i > 0 { ", " }
                                            code { (text(name)) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The deepest stack of the tree, in compressed bytes: the scale of its bars.
fn deepest(branches: &[Branch]) -> u64 {
    branches
        .iter()
        .map(|b| {
            b.bytes
                .compressed_download
                .saturating_add(deepest(&b.children))
        })
        .max()
        .unwrap_or(0)
}

fn tree(set: &Fleet) -> Markup {
    let scale = deepest(&set.tree);
    html! {
        section id="sharing-tree" {
            h2 { "The sharing tree" }
            p {
                "Images grouped by the layers they have in common, bottom first: each branch is a run of layers the same images go on together, "
                "its bar its " (COMPRESSED_NAME) " bytes (solid) on top of what it inherits from the branches below it (faint). "
                "A branch names the images that end there."
            }
            @if set.tree.is_empty() {
                p { "No image has a layer." }
            } @else {
                (branches(&set.tree, 0, 0, scale))
            }
        }
    }
}

fn branches(list: &[Branch], depth: usize, below: u64, scale: u64) -> Markup {
    html! {
        ul class="sharing-tree" {
            @for b in list {
                @let own = b.bytes.compressed_download;
                li class="branch" data-depth=(depth) data-layers=(b.layers.len()) data-compressed=(own)
                    data-content=(b.bytes.layer_content) data-images=(b.images.len()) data-ends=(b.ends.len()) {
                    div class="branch-line" {
                        (bar(below, own, scale, &format!("{} on top of {}", human(own), human(below))))
                        " " strong { (human(own)) } " in " (count(b.layers.len(), "layer"))
                        " (" @for (i, key) in b.layers.iter().take(3).enumerate() { @if i > 0 { ", " } (short(key)) }
                        @if b.layers.len() > 3 { ", and " (b.layers.len() - 3) " more" } "), "
                        (count(b.images.len(), "image"))
                        @if !b.ends.is_empty() {
                            " \u{2014} ends here: "
                            @for (i, name) in b.ends.iter().enumerate() {
                                @if i > 0 { ", " }
                                code class="end" { (text(name)) }
                            }
                        }
                    }
                    @if !b.children.is_empty() {
                        (branches(&b.children, depth + 1, below.saturating_add(own), scale))
                    }
                }
            }
        }
    }
}

fn left_out(left: &LeftOut) -> Markup {
    html! {
        @if !left.failed.is_empty() {
            section id="failed" {
                h2 { "Left out: failed to open" }
                ul { @for (image, error) in &left.failed { li class="failed" data-image=(text(image)) { (text(error)) } } }
            }
        }
        @if !left.skipped.is_empty() {
            section id="skipped" {
                h2 { "Compose services skipped" }
                ul { @for (service, reason) in &left.skipped { li class="skipped" { code { (text(service)) } ": " (text(reason)) } } }
            }
        }
    }
}
