//! Plain-words explanations of an image, a layer or a path, for class notes, code review and
//! the explorer. The output is a small document model ([`Block`]s of [`Span`]s), free of
//! any terminal or Markdown: renderers decide how code, paths and sizes look, and escape
//! every name that comes from the image.
//!
//! Everything said is read from the merged tree, the waste analysis and the hints: sizes
//! are measured, never estimated.

use super::glossary;
use super::hints::Hint;
use super::secrets::{Fate, Finding};
use super::waste::Waste;
use super::AnalysisOptions;
use crate::dockerfile::{Dockerfile, Mapping};
use crate::layer::EntryKind;
use crate::tree::{Change, DiffKind, NodeId, Tree, Version, NONE};
use std::sync::Arc;

/// A piece of text. Only [`Span::Text`] is layerscope's own wording; the others may carry
/// anything from the image and must be escaped by the renderer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Span {
    Text(String),
    /// An instruction, a marker name or a command, shown as code.
    Code(String),
    /// A path inside the image.
    Path(Vec<u8>),
    /// A size in bytes.
    Bytes(u64),
}

/// A paragraph-level piece of an explanation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Block {
    /// Level 1 (the document), 2 (a section or layer) or 3.
    Heading(u8, Vec<Span>),
    Paragraph(Vec<Span>),
    List(Vec<Vec<Span>>),
}

/// What the image description says about one layer.
#[derive(Debug, Clone, Default)]
pub struct LayerFacts {
    /// The instruction that made it (`RUN apt-get update`), as the history records it.
    pub instruction: String,
    /// Instructions recorded before it that made no layer (ENV, WORKDIR, …).
    pub metadata: Vec<String>,
    /// Those of them that the base image's history holds (its `CMD`, …), when the
    /// Dockerfile mapping says where the base ends: the config keeps them unless the final
    /// stage sets its own, and they are not this Dockerfile's.
    pub base_metadata: Vec<String>,
    /// The stored (compressed) blob size, when known.
    pub compressed_bytes: Option<u64>,
    /// Dockerfile lines of the instruction (first, last), when the Dockerfile is known.
    pub dockerfile_lines: Option<(usize, usize)>,
    /// Whether it belongs to the base image.
    pub base: bool,
    /// For a `COPY --from`: the stage (or image) it copied from.
    pub copy_from: Option<CopyFrom>,
    /// A container's writable layer (the top one), not a layer of the image.
    pub writable: bool,
}

/// Where a `COPY --from` took its files.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CopyFrom {
    /// The stage's name (or number), or an image, as written after `--from=`.
    pub stage: String,
    /// The image that stage starts from, when the Dockerfile says.
    pub base: Option<String>,
}

/// A multi-stage build, as the Dockerfile (or the history) shows it.
#[derive(Debug, Clone, Default)]
pub struct MultiStage {
    /// Every stage's name (or number) and the image it starts from, in file order.
    pub stages: Vec<(String, String)>,
    /// The final image's `COPY --from` instructions: (Dockerfile line if known, text).
    pub copies: Vec<(Option<usize>, String)>,
}

/// Everything an explanation reads.
pub struct Context<'a> {
    pub name: String,
    pub tree: &'a Tree,
    pub waste: &'a Waste,
    pub hints: &'a [Hint],
    /// One per layer, bottom first.
    pub layers: Vec<LayerFacts>,
    /// Instructions after the last layer that made none (CMD, ENTRYPOINT, …).
    pub trailing_metadata: Vec<String>,
    pub multi_stage: Option<MultiStage>,
    /// The base image as the Dockerfile names it (`FROM <image>`), when known.
    pub base_image: Option<String>,
    /// Secret findings (rule and redacted preview only), for the paths they are on.
    pub findings: &'a [Finding],
    /// The OS packages per layer, when the load read the package databases.
    pub packages: &'a super::packages::Packages,
}

/// What an explanation reads besides the tree, gathered once from a loaded image (and its
/// Dockerfile) and kept, so that the explorer can explain any layer or path on demand.
pub struct Facts {
    pub name: String,
    pub waste: Waste,
    pub hints: Vec<Hint>,
    pub layers: Vec<LayerFacts>,
    pub trailing_metadata: Vec<String>,
    pub multi_stage: Option<MultiStage>,
    pub base_image: Option<String>,
    pub findings: Vec<Finding>,
    /// Shared with the explorer, which reads the same packages for its own views.
    pub packages: Arc<super::packages::Packages>,
}

impl Facts {
    /// Analyse `loaded`: waste, hints (with the Dockerfile's, when given), each layer's
    /// instruction, metadata, size and Dockerfile lines, the stages, and the secret
    /// findings the parse recorded.
    pub fn gather(
        loaded: &crate::model::LoadedImage,
        dockerfile: Option<(&Dockerfile, &Mapping)>,
        base_layers: Option<usize>,
    ) -> Facts {
        let packages = Arc::new(super::packages::analyze(loaded));
        Facts::gather_with(loaded, dockerfile, base_layers, packages)
    }

    /// [`Facts::gather`] with the packages per layer already analysed (by the explorer):
    /// the package databases are read once.
    pub fn gather_with(
        loaded: &crate::model::LoadedImage,
        dockerfile: Option<(&Dockerfile, &Mapping)>,
        base_layers: Option<usize>,
        packages: Arc<super::packages::Packages>,
    ) -> Facts {
        let image = &loaded.image;
        let mapping = dockerfile.map(|(_, m)| m);
        let base_layers = base_layers.or(mapping.map(|m| m.base_layers));
        let options = AnalysisOptions {
            base_layers,
            exclude: None,
            packages: Some(&*packages),
        };
        let waste = super::analyze(&loaded.tree, &options);
        let mut hints = super::hints(&loaded.tree, &options);
        if let Some((d, m)) = dockerfile {
            let layer_bytes: Vec<u64> = loaded.layers.iter().map(|l| l.content_bytes).collect();
            super::hints::add_dockerfile(&mut hints, d, m, &layer_bytes);
        }

        let history = &image.config.history;
        // Entries `0..base_entries` are the base image's own history (known only from the
        // Dockerfile mapping); `of_base` picks them, or the others.
        let base_entries = mapping.map_or(0, |m| m.base_entries);
        let metadata_where = |entries: &[usize], of_base: bool| -> Vec<String> {
            entries
                .iter()
                .filter(|&&i| (i < base_entries) == of_base)
                .filter_map(|&i| history.get(i))
                .filter(|e| e.empty_layer)
                .map(|e| super::secrets::redact_secrets(&e.instruction().display()))
                .collect()
        };
        let metadata_of = |entries: &[usize]| metadata_where(entries, false);
        let copy_from = |layer: usize, instruction: &str| -> Option<CopyFrom> {
            let step = mapping
                .and_then(|m| m.layer_line(layer))
                .zip(dockerfile)
                .and_then(|(line, (d, _))| d.steps.get(line.step).map(|s| (s, d)));
            if let Some((step, d)) = step {
                let stage = step.copy_from.clone()?;
                let base = d
                    .stage_by_reference(&stage)
                    .map(|i| d.stages[i].base.clone());
                return Some(CopyFrom { stage, base });
            }
            // Without the Dockerfile, BuildKit's history still says `COPY --from=NAME`.
            let flag = instruction
                .split_whitespace()
                .find_map(|w| w.strip_prefix("--from="))?;
            Some(CopyFrom {
                stage: flag.to_string(),
                base: None,
            })
        };
        let writable = |i: usize| image.layers.get(i).is_some_and(|l| l.writable.is_some());
        let layers = (0..loaded.tree.layer_count())
            .map(|i| {
                let paired = image.history.layers.get(i);
                let line = mapping.and_then(|m| m.layer_line(i));
                // The Dockerfile's own words when known: builders rewrite some (buildah's
                // `COPY dir:<digest> in /app` for `COPY . /app`).
                // Either may carry a secret (`RUN TOKEN=…`): shown redacted, as in every view.
                let instruction = line.map(|l| l.instruction.clone()).unwrap_or_else(|| {
                    paired.map_or_else(String::new, |h| h.instruction.display())
                });
                let instruction = super::secrets::redact_secrets(&instruction);
                LayerFacts {
                    copy_from: copy_from(i, &instruction),
                    instruction,
                    metadata: paired.map_or_else(Vec::new, |h| metadata_of(&h.entries)),
                    base_metadata: paired
                        .map_or_else(Vec::new, |h| metadata_where(&h.entries, true)),
                    // A writable layer is never downloaded: it has no compressed size.
                    compressed_bytes: loaded
                        .layers
                        .get(i)
                        .filter(|_| !writable(i))
                        .map(|l| l.compressed_bytes),
                    dockerfile_lines: line.map(|l| (l.line, l.end_line)),
                    base: i < waste.base_layers,
                    writable: writable(i),
                }
            })
            .collect();

        let multi_stage = match dockerfile {
            Some((d, _)) if d.stages.len() > 1 => {
                let chain = d.final_chain();
                Some(MultiStage {
                    stages: (0..d.stages.len())
                        .map(|i| {
                            let name = d.stages[i].name.clone();
                            let name = name.unwrap_or_else(|| format!("stage {i}"));
                            (name, d.stages[i].base.clone())
                        })
                        .collect(),
                    copies: chain
                        .iter()
                        .flat_map(|&s| d.stages[s].steps.iter())
                        .map(|&s| &d.steps[s])
                        .filter(|s| s.copy_from.is_some())
                        .map(|s| (Some(s.line), s.text.clone()))
                        .collect(),
                })
            }
            Some(_) => None,
            None => {
                let copies: Vec<(Option<usize>, String)> = image
                    .history
                    .layers
                    .iter()
                    .map(|h| super::secrets::redact_secrets(&h.instruction.display()))
                    .filter(|t| t.contains("--from="))
                    .map(|t| (None, t))
                    .collect();
                (!copies.is_empty()).then(|| MultiStage {
                    stages: Vec::new(),
                    copies,
                })
            }
        };
        Facts {
            name: image
                .tags
                .first()
                .cloned()
                .unwrap_or_else(|| image.source.clone()),
            waste,
            hints,
            layers,
            trailing_metadata: metadata_of(&image.history.trailing),
            multi_stage,
            base_image: mapping.map(|m| m.base_image.clone()),
            findings: super::secrets::findings(loaded, None),
            packages,
        }
    }

    /// The context to explain `tree` (the tree these facts were gathered from) with.
    pub fn context<'a>(&'a self, tree: &'a Tree) -> Context<'a> {
        Context {
            name: self.name.clone(),
            tree,
            waste: &self.waste,
            hints: &self.hints,
            layers: self.layers.clone(),
            trailing_metadata: self.trailing_metadata.clone(),
            multi_stage: self.multi_stage.clone(),
            base_image: self.base_image.clone(),
            findings: &self.findings,
            packages: &self.packages,
        }
    }
}

/// How many paths a layer's explanation lists per kind of change.
pub const LISTED_PATHS: usize = 5;
/// How many whiteout or opaque markers a layer's explanation lists one by one.
pub const LISTED_MARKERS: usize = 10;

fn text(s: impl Into<String>) -> Span {
    Span::Text(s.into())
}

fn code(s: impl Into<String>) -> Span {
    Span::Code(s.into())
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The instruction on one line, at most `max` characters.
pub fn one_line(instruction: &str, max: usize) -> String {
    let joined = instruction.split_whitespace().collect::<Vec<_>>().join(" ");
    if joined.chars().count() > max {
        let cut: String = joined.chars().take(max.saturating_sub(1)).collect();
        format!("{cut}…")
    } else {
        joined
    }
}

impl Context<'_> {
    fn facts(&self, layer: usize) -> LayerFacts {
        self.layers.get(layer).cloned().unwrap_or_default()
    }

    /// "layer 3 (`RUN …`, Dockerfile line 5)"
    fn layer_ref(&self, layer: usize) -> Vec<Span> {
        let facts = self.facts(layer);
        let mut spans = vec![
            text(format!("layer {layer} (")),
            code(one_line(&facts.instruction, 60)),
        ];
        if let Some((line, _)) = facts.dockerfile_lines {
            spans.push(text(format!(", Dockerfile line {line}")));
        }
        spans.push(text(")"));
        spans
    }
}

/// The whole image, layer by layer, then multi-stage builds, the container's layer and the
/// advice.
pub fn explain_image(ctx: &Context) -> Vec<Block> {
    let tree = ctx.tree;
    let waste = ctx.waste;
    let layers = tree.layer_count();
    let mut out = vec![Block::Heading(
        1,
        vec![text("How "), code(ctx.name.clone()), text(" is built")],
    )];
    let stack = if ctx.facts(layers.saturating_sub(1)).writable {
        format!(
            "This container is its image's stack of {} with its own writable layer on top \
             (layer {}, what the container wrote, as its engine reports it)",
            plural(layers - 1, "read-only layer", "read-only layers"),
            layers - 1
        )
    } else {
        format!(
            "This image is a stack of {}",
            plural(layers, "read-only layer", "read-only layers")
        )
    };
    out.push(Block::Paragraph(vec![
        text(format!(
            "{stack}. Each layer is {}: a later layer can only add, replace or hide. A \
             container sees all of them merged, bottom first. Together they ship ",
            glossary::LAYER,
        )),
        Span::Bytes(waste.total_bytes),
    ]));
    if let Some(Block::Paragraph(intro)) = out.last_mut() {
        if waste.wasted_bytes == 0 {
            intro.push(text(
                " of file content, and no byte of it is hidden by a later layer: everything \
                 shipped is visible.",
            ));
        } else {
            intro.push(text(" of file content; "));
            intro.push(Span::Bytes(waste.wasted_bytes));
            intro.push(text(
                " of it is hidden by later layers: downloaded and stored, but never seen.",
            ));
        }
    }
    if waste.base_layers > 0 && waste.base_layers < layers {
        out.push(Block::Paragraph(vec![text(format!(
            "{} from the base image, {}. Images built on the same base share those layers; a \
             shared layer is {}.",
            match waste.base_layers {
                1 => "Layer 0 comes".to_string(),
                n => format!(
                    "{} come",
                    glossary::capitalise(&glossary::layer_span(0, n - 1))
                ),
            },
            glossary::BASE_IMAGE,
            glossary::SHARED_LAYER,
        ))]));
    }
    for layer in 0..layers {
        out.extend(explain_layer(ctx, layer));
    }
    if !ctx.trailing_metadata.is_empty() {
        out.push(Block::Heading(2, vec![text("After the last layer")]));
        out.push(Block::Paragraph(metadata_sentence(&ctx.trailing_metadata)));
    }
    if let Some(multi) = &ctx.multi_stage {
        out.extend(explain_multi_stage(multi));
    }
    out.extend(explain_container(ctx));
    out.extend(explain_hints(ctx));
    out
}

/// Keywords of instructions that only change the image's configuration.
const CONFIG_ONLY: &[&str] = &[
    "ENV",
    "WORKDIR",
    "CMD",
    "ENTRYPOINT",
    "LABEL",
    "EXPOSE",
    "USER",
    "ARG",
    "VOLUME",
    "HEALTHCHECK",
    "SHELL",
    "STOPSIGNAL",
    "ONBUILD",
    "MAINTAINER",
];

/// History entries without a layer. Configuration instructions are explained as such; a
/// RUN, COPY or ADD without a layer changed nothing, or its builder folded its changes
/// into the next layer (buildah without `--layers` does), and the sentence says so.
fn metadata_sentence(metadata: &[String]) -> Vec<Span> {
    let is_config = |m: &String| {
        let word = m.split_whitespace().next().unwrap_or("");
        CONFIG_ONLY.contains(&word)
    };
    let (config, other): (Vec<&String>, Vec<&String>) = metadata.iter().partition(|m| is_config(m));
    let mut spans = Vec::new();
    if !config.is_empty() {
        code_list(&mut spans, &config);
        // Whether such an instruction makes a layer depends on the builder (BuildKit has
        // made a small one for WORKDIR), so the sentence states what this history records.
        spans.push(text(if config.len() == 1 {
            " changed only the image's configuration (environment, working directory, \
             command, labels…): this image's history marks it as making no layer \
             (`empty_layer`), so it ships no bytes."
        } else {
            " changed only the image's configuration (environment, working directory, \
             command, labels…): this image's history marks them as making no layer \
             (`empty_layer`), so they ship no bytes."
        }));
    }
    if !other.is_empty() {
        if !config.is_empty() {
            spans.push(text(" "));
        }
        code_list(&mut spans, &other);
        spans.push(text(
            " left no layer of its own: the builder recorded it as empty, because it \
             changed nothing or because its changes went into the next layer.",
        ));
    }
    spans
}

/// `a`, `b` and `c`.
fn code_list(spans: &mut Vec<Span>, items: &[&String]) {
    for (i, m) in items.iter().enumerate() {
        if i > 0 {
            spans.push(text(if i + 1 == items.len() { " and " } else { ", " }));
        }
        spans.push(code(one_line(m, 80)));
    }
}

/// Configuration the base image's history set, credited to the base, not to this
/// Dockerfile. A setting that one value replaces (CMD, ENTRYPOINT, WORKDIR, USER…) is
/// said to be replaced when this Dockerfile's history (`own`) sets it again.
fn base_metadata_sentence(metadata: &[String], own: &[&String]) -> Vec<Span> {
    const REPLACED_WHOLE: &[&str] = &[
        "CMD",
        "ENTRYPOINT",
        "WORKDIR",
        "USER",
        "SHELL",
        "STOPSIGNAL",
        "HEALTHCHECK",
    ];
    let keyword = |m: &str| m.split_whitespace().next().unwrap_or("").to_string();
    let mut spans = Vec::new();
    code_list(&mut spans, &metadata.iter().collect::<Vec<_>>());
    spans.push(text(
        " came from the base image's history, not from this Dockerfile.",
    ));
    for m in metadata {
        let word = keyword(m);
        if !REPLACED_WHOLE.contains(&word.as_str()) {
            continue;
        }
        match own.iter().rev().find(|o| keyword(o) == word) {
            Some(mine) => {
                spans.push(text(" This Dockerfile's "));
                spans.push(code(one_line(mine, 80)));
                spans.push(text(" replaces it in the image's configuration."));
            }
            None => spans.push(text(format!(
                " The final stage sets no {word} of its own, so the image's configuration \
                 keeps this one."
            ))),
        }
    }
    spans
}

/// One layer: what it adds, changes and deletes, its markers, its cost and its hints.
pub fn explain_layer(ctx: &Context, layer: usize) -> Vec<Block> {
    let tree = ctx.tree;
    let facts = ctx.facts(layer);
    let mut out = Vec::new();
    let mut heading = vec![
        text(format!("Layer {layer}: ")),
        code(one_line(&facts.instruction, 80)),
    ];
    if let Some((line, end)) = facts.dockerfile_lines {
        heading.push(text(if line == end {
            format!(" (Dockerfile line {line})")
        } else {
            format!(" (Dockerfile lines {line}-{end})")
        }));
    } else if facts.base {
        match &ctx.base_image {
            Some(base) => {
                heading.push(text(" (base image: "));
                heading.push(code(format!("FROM {base}")));
                heading.push(text(")"));
            }
            None => heading.push(text(" (base image)")),
        }
    }
    out.push(Block::Heading(2, heading));
    if !facts.base_metadata.is_empty() {
        let own: Vec<&String> = ctx
            .layers
            .iter()
            .flat_map(|l| &l.metadata)
            .chain(&ctx.trailing_metadata)
            .collect();
        out.push(Block::Paragraph(base_metadata_sentence(
            &facts.base_metadata,
            &own,
        )));
    }
    if !facts.metadata.is_empty() {
        let mut spans = vec![text("Before it, ")];
        spans.extend(metadata_sentence(&facts.metadata));
        out.push(Block::Paragraph(spans));
    }

    // Its own changes, as `changes` lists them.
    let mut added = Vec::new();
    let mut changed = Vec::new();
    let mut deleted = Vec::new();
    for diff in tree.diff(layer.checked_sub(1), layer) {
        let node = diff.node;
        match diff.kind {
            DiffKind::Added => {
                let size = tree
                    .live_at(node, layer)
                    .map_or(0, |v| tree.content_size(v));
                added.push((size, node));
            }
            DiffKind::Modified => {
                let size = tree
                    .live_at(node, layer)
                    .map_or(0, |v| tree.content_size(v));
                changed.push((size, node));
            }
            DiffKind::Removed => {
                let size = layer
                    .checked_sub(1)
                    .and_then(|below| tree.live_at(node, below))
                    .map_or(0, |v| tree.content_size(v));
                deleted.push((size, node));
            }
            DiffKind::Unchanged => {}
        }
    }
    let per_layer = ctx.waste.per_layer.get(layer).copied();
    let shipped = per_layer.map_or(0, |l| l.shipped_bytes);
    if added.is_empty() && changed.is_empty() && deleted.is_empty() {
        out.push(Block::Paragraph(vec![text(
            "It changes nothing a container can see: the files it holds, if any, are exactly \
             as they were below.",
        )]));
    } else {
        out.push(Block::Paragraph(vec![text(format!(
            "It adds {}, changes {} and deletes {}.",
            plural(added.len(), "path", "paths"),
            changed.len(),
            deleted.len()
        ))]));
    }
    // Biggest first; ties in node order (parents before children), without building
    // a path per comparison.
    let biggest = |list: &mut Vec<(u64, NodeId)>| {
        list.sort_unstable_by_key(|&(size, node)| (std::cmp::Reverse(size), node));
    };
    for (label, list) in [
        ("Added", &mut added),
        ("Changed", &mut changed),
        ("Deleted", &mut deleted),
    ] {
        if list.is_empty() {
            continue;
        }
        biggest(list);
        let mut items: Vec<Vec<Span>> = list
            .iter()
            .take(LISTED_PATHS)
            .map(|&(size, node)| {
                let mut item = vec![text(format!("{label} ")), Span::Path(tree.path(node))];
                let link = tree.live_at(node, layer).filter(|v| {
                    v.entry != NONE && tree.entry(v.entry).meta.kind == EntryKind::Hardlink
                });
                if let Some(v) = link.filter(|_| label != "Deleted") {
                    let mut target = b"/".to_vec();
                    target.extend_from_slice(tree.version_link(v));
                    item.push(text(", a hardlink to "));
                    item.push(Span::Path(target));
                    item.push(text(" (no bytes of its own)"));
                } else if size > 0 {
                    item.push(text(" ("));
                    item.push(Span::Bytes(size));
                    item.push(text(")"));
                }
                if label == "Changed" {
                    item.extend(change_reason(tree, node, layer));
                }
                item
            })
            .collect();
        if list.len() > LISTED_PATHS {
            items.push(vec![text(format!(
                "and {} more",
                list.len() - LISTED_PATHS
            ))]);
        }
        out.push(Block::List(items));
    }

    let hardlinks = tree
        .layer_entries(layer)
        .iter()
        .filter(|e| e.meta.kind == EntryKind::Hardlink)
        .count();
    if hardlinks > 0 {
        out.push(Block::Paragraph(vec![text(format!(
            "{hardlinks} of its entries {}. A hardlink is {}. Deleting one name leaves the \
             content reachable through the others.",
            if hardlinks == 1 {
                "is a hardlink"
            } else {
                "are hardlinks"
            },
            glossary::HARDLINK
        ))]));
    }

    out.extend(explain_markers(ctx, layer));
    out.extend(explain_packages(ctx, layer));

    let secrets: Vec<&Finding> = ctx
        .findings
        .iter()
        .filter(|f| f.path().is_some() && f.layer() == Some(layer))
        .collect();
    if !secrets.is_empty() {
        out.push(Block::Paragraph(vec![text(format!(
            "It ships {}, readable by anyone who pulls the image even where a later layer \
             deletes the file:",
            plural(secrets.len(), "secret finding", "secret findings")
        ))]));
        out.push(Block::List(
            secrets
                .iter()
                .take(LISTED_PATHS)
                .map(|f| {
                    vec![
                        code(f.rule.id),
                        text(" in "),
                        Span::Path(f.path().unwrap_or_default().to_vec()),
                        text(" ("),
                        code(f.preview.clone()),
                        text(")"),
                    ]
                })
                .collect(),
        ));
    }

    // What it costs.
    let mut cost = vec![
        text("It ships "),
        Span::Bytes(shipped),
        text(" of file content"),
    ];
    if let Some(compressed) = facts.compressed_bytes {
        cost.push(text(" ("));
        cost.push(Span::Bytes(compressed));
        cost.push(text(" to download, compressed)"));
    }
    cost.push(text("."));
    if let Some(l) = per_layer {
        if l.wasted_bytes > 0 {
            cost.push(text(" Of that, "));
            cost.push(Span::Bytes(l.wasted_bytes));
            cost.push(text(
                " is hidden by later layers: every pull still downloads it with this layer.",
            ));
        }
        if l.hid_bytes > 0 {
            cost.push(text(" It hides "));
            cost.push(Span::Bytes(l.hid_bytes));
            cost.push(text(
                " that was shipped before; hiding frees nothing, the bytes stay where they \
                 were written.",
            ));
        }
    }
    out.push(Block::Paragraph(cost));

    let hints: Vec<&Hint> = ctx
        .hints
        .iter()
        .filter(|h| h.layers.contains(&layer))
        .collect();
    if !hints.is_empty() {
        out.push(Block::List(hints.iter().map(|h| hint_item(h)).collect()));
    }
    out
}

/// How many packages a layer's explanation names one by one.
pub const LISTED_PACKAGES: usize = 5;

/// "This layer installed 63 packages, 182 MB; the largest: gcc-12 70 MB, …", and what it
/// removed and upgraded.
fn explain_packages(ctx: &Context, layer: usize) -> Vec<Block> {
    use super::packages::Package;
    let Some(changes) = ctx.packages.layers.iter().find(|l| l.index == layer) else {
        return Vec::new();
    };
    // "a 1 MB, b 2 MB, and 3 more": the first few items, then how many were left out.
    fn listed<T>(items: &[T], item: impl Fn(&T) -> Vec<Span>) -> Vec<Span> {
        let mut spans = Vec::new();
        for (i, it) in items.iter().take(LISTED_PACKAGES).enumerate() {
            if i > 0 {
                spans.push(text(", "));
            }
            spans.extend(item(it));
        }
        if items.len() > LISTED_PACKAGES {
            spans.push(text(format!(
                ", and {} more",
                items.len() - LISTED_PACKAGES
            )));
        }
        spans
    }
    let count = |n: usize| plural(n, "package", "packages");
    let mut out = Vec::new();
    let mut added: Vec<&Package> = changes.added.iter().collect();
    added.sort_by(|a, b| b.bytes.cmp(&a.bytes).then_with(|| a.name.cmp(&b.name)));
    if let Some(first) = added.first() {
        let mut spans = vec![
            text(format!(
                "It installs {} ({}), ",
                count(added.len()),
                first.manager.name()
            )),
            Span::Bytes(added.iter().map(|p| p.bytes).sum()),
            text(" of files in this layer; the largest: "),
        ];
        spans.extend(listed(&added, |p| {
            vec![code(p.name.clone()), text(" "), Span::Bytes(p.bytes)]
        }));
        spans.push(text("."));
        out.push(Block::Paragraph(spans));
    }
    if !changes.upgraded.is_empty() {
        let mut spans = vec![text(format!(
            "It upgrades {}: ",
            count(changes.upgraded.len())
        ))];
        spans.extend(listed(&changes.upgraded, |(u, p)| {
            vec![
                code(u.name.clone()),
                text(format!(" {} → {} (", u.from, u.to)),
                Span::Bytes(p.bytes),
                text(")"),
            ]
        }));
        spans.push(text("."));
        out.push(Block::Paragraph(spans));
    }
    if !changes.removed.is_empty() {
        let mut spans = vec![text(format!(
            "It removes {}: ",
            count(changes.removed.len())
        ))];
        spans.extend(listed(&changes.removed, |p| vec![code(p.name.clone())]));
        spans.push(text(
            ". Their files still ship in the layers that installed them.",
        ));
        out.push(Block::Paragraph(spans));
    }
    out
}

/// One layer on its own, as the explorer's `e` shows it: [`explain_layer`], then where a
/// `COPY --from` took its files and, for the top layer, the container's layer above it
/// (the whole image's explanation says both once, in sections of their own).
pub fn explain_layer_alone(ctx: &Context, layer: usize) -> Vec<Block> {
    let mut out = explain_layer(ctx, layer);
    let facts = ctx.facts(layer);
    if let Some(from) = &facts.copy_from {
        let mut spans = vec![
            text("It copies files from the build stage "),
            code(from.stage.clone()),
        ];
        if let Some(base) = &from.base {
            spans.push(text(" (which starts "));
            spans.push(code(format!("FROM {base}")));
            spans.push(text(")"));
        }
        spans.push(text(
            ": only the files it names cross over. The rest of that stage, its toolchain, \
             headers and caches, stays in the builder and is never shipped.",
        ));
        out.push(Block::Paragraph(spans));
    }

    if layer + 1 == ctx.tree.layer_count() {
        out.extend(explain_container(ctx));
    }
    out
}

/// Why a changed path counts as changed: content, or only mode or owner.
fn change_reason(tree: &Tree, node: NodeId, layer: usize) -> Vec<Span> {
    let (Some(below), Some(now)) = (
        layer.checked_sub(1).and_then(|b| tree.live_at(node, b)),
        tree.live_at(node, layer),
    ) else {
        return Vec::new();
    };
    let (a, b) = (tree.meta(below), tree.meta(now));
    if a.kind != b.kind {
        return vec![text(": its type changed")];
    }
    if a.hash == b.hash && a.size == b.size && b.kind == EntryKind::File {
        let what = if a.mode != b.mode {
            format!("only its mode changed ({:o} to {:o})", a.mode, b.mode)
        } else {
            format!(
                "only its owner changed ({}:{} to {}:{})",
                a.uid, a.gid, b.uid, b.gid
            )
        };
        return vec![text(format!(
            ": {what}, yet the layer stores the whole file again"
        ))];
    }
    vec![text(": new content")]
}

/// The whiteouts and opaque markers a layer carries and what they hide.
fn explain_markers(ctx: &Context, layer: usize) -> Vec<Block> {
    let tree = ctx.tree;
    // marker entry -> (paths hidden, bytes hidden, layers those bytes were shipped by)
    let mut markers: Vec<(u32, usize, u64, std::collections::BTreeSet<usize>)> = Vec::new();
    let start = tree.layer_entry_start(layer);
    for (i, entry) in tree.layer_entries(layer).iter().enumerate() {
        if matches!(entry.meta.kind, EntryKind::Whiteout | EntryKind::Opaque) {
            markers.push((start + i as u32, 0, 0, Default::default()));
        }
    }
    if markers.is_empty() {
        return Vec::new();
    }
    for &vid in tree.layer_version_ids(layer) {
        let (node, version) = tree.version_by_id(vid);
        if !version.change.is_removal()
            || !matches!(version.change, Change::Whiteout | Change::Opaque)
        {
            continue;
        }
        let Ok(at) = markers.binary_search_by_key(&version.entry, |m| m.0) else {
            continue;
        };
        let below = tree
            .versions(node)
            .iter()
            .rev()
            .find(|v| (v.layer as usize) < layer)
            .copied();
        markers[at].1 += 1;
        if let Some(below) = below.filter(|v| !v.change.is_removal()) {
            let bytes = shipped_by(tree, &below);
            if bytes > 0 {
                markers[at].2 = markers[at].2.saturating_add(bytes);
                markers[at].3.insert(below.layer as usize);
            }
        }
    }
    let mut items = Vec::new();
    for &(id, paths, bytes, ref from) in markers.iter().take(LISTED_MARKERS) {
        let entry = tree.entry(id);
        let target = tree.path(entry.node);
        let mut item = Vec::new();
        if entry.meta.kind == EntryKind::Opaque {
            item.push(Span::Path(opaque_marker(&target)));
            item.push(text(format!(
                " is an opaque whiteout, {}. In ",
                glossary::OPAQUE_WHITEOUT
            )));
            item.push(Span::Path(target));
            item.push(text(format!(
                " it hides {}",
                plural(paths, "path", "paths")
            )));
        } else {
            item.push(Span::Path(whiteout_marker(&target)));
            item.push(text(format!(
                " is a whiteout, {}. It deletes ",
                glossary::WHITEOUT
            )));
            item.push(Span::Path(target));
            if paths > 1 {
                item.push(text(format!(
                    " and the {} below it",
                    plural(paths - 1, "path", "paths")
                )));
            }
        }
        if bytes > 0 {
            item.push(text(". The "));
            item.push(Span::Bytes(bytes));
            item.push(text(format!(
                " it hides stay in {}: deleting only hides them",
                layer_list(from)
            )));
        }
        item.push(text("."));
        items.push(item);
    }
    if markers.len() > LISTED_MARKERS {
        items.push(vec![text(format!(
            "and {} more markers",
            markers.len() - LISTED_MARKERS
        ))]);
    }
    let mut out = vec![Block::Paragraph(vec![text(format!(
        "It carries {}: a layer cannot remove bytes from the layers below, so it records \
         deletions as marker entries.",
        plural(markers.len(), "deletion marker", "deletion markers")
    ))])];
    out.push(Block::List(items));
    out
}

fn layer_list(layers: &std::collections::BTreeSet<usize>) -> String {
    let names: Vec<String> = layers.iter().map(|l| l.to_string()).collect();
    if names.len() == 1 {
        format!("layer {}", names[0])
    } else {
        format!("layers {}", names.join(", "))
    }
}

/// Content bytes a written version's own entry ships (regular files only).
fn shipped_by(tree: &Tree, version: &Version) -> u64 {
    if version.entry == NONE {
        return 0;
    }
    let meta = tree.entry(version.entry).meta;
    if meta.kind == EntryKind::File {
        meta.size
    } else {
        0
    }
}

fn hint_item(hint: &Hint) -> Vec<Span> {
    let mut item = vec![text(format!("Hint ({}): ", hint.kind.name()))];
    item.push(text(format!("{}. ", hint.summary)));
    if hint.kind.saves_image_bytes() {
        item.push(text("Fixing it saves "));
        item.push(Span::Bytes(hint.bytes));
    } else {
        item.push(text("Every source change rebuilds "));
        item.push(Span::Bytes(hint.bytes));
    }
    item.push(text(format!(". Fix: {}.", hint.fix)));
    item
}

/// Why `COPY --from` leaves the build stages behind.
pub fn explain_multi_stage(multi: &MultiStage) -> Vec<Block> {
    let mut out = vec![Block::Heading(2, vec![text("A multi-stage build")])];
    let mut spans = vec![text(if multi.stages.is_empty() {
        "The history shows a multi-stage build (`COPY --from`)".to_string()
    } else {
        format!(
            "The Dockerfile has {}",
            plural(multi.stages.len(), "stage", "stages")
        )
    })];
    for (i, (name, base)) in multi.stages.iter().enumerate() {
        spans.push(text(if i == 0 { ": " } else { ", " }));
        spans.push(code(name.clone()));
        spans.push(text(" from "));
        spans.push(code(base.clone()));
    }
    spans.push(text(
        ". Only the last stage's layers are in this image. The other stages are built, used \
         and left in the builder's cache: their compilers, headers and caches are never \
         shipped.",
    ));
    out.push(Block::Paragraph(spans));
    if !multi.copies.is_empty() {
        out.push(Block::Paragraph(vec![text(
            "The final stage takes from them only what it copies:",
        )]));
        out.push(Block::List(
            multi
                .copies
                .iter()
                .map(|(line, copy)| {
                    let mut item = vec![code(one_line(copy, 100))];
                    if let Some(line) = line {
                        item.push(text(format!(" (line {line})")));
                    }
                    item.push(text(": one layer with just those files."));
                    item
                })
                .collect(),
        ));
    }
    out
}

/// The writable layer a container adds, with the image's own biggest file as the example.
pub fn explain_container(ctx: &Context) -> Vec<Block> {
    let tree = ctx.tree;
    let top = tree.layer_count().saturating_sub(1);
    let mut out = vec![Block::Heading(2, vec![text("When a container runs")])];
    out.push(Block::Paragraph(vec![text(format!(
        "A container adds one thin writable layer on top of these read-only ones, and all \
             its changes go there. Creating a file writes it to that layer. Deleting a file of \
             the image records a whiteout there, as the image's own layers do. Changing one \
             is copy-on-write: {}. The image's layers are never modified, so every container \
             of the image shares them.",
        glossary::COPY_ON_WRITE
    ))]));
    if ctx.facts(top).writable {
        out.push(Block::Paragraph(vec![text(format!(
            "Layer {top} above is that layer for this container: the engine's list of what \
             it added, changed and deleted, with each file as the engine archives it."
        ))]));
    }
    let biggest = (1..tree.node_count() as NodeId)
        .filter_map(|node| {
            let v = tree.live_at(node, top)?;
            (tree.meta(v).kind == EntryKind::File).then(|| (tree.content_size(v), node))
        })
        .max_by(|a, b| a.0.cmp(&b.0).then_with(|| b.1.cmp(&a.1)));
    if let Some((size, node)) = biggest.filter(|b| b.0 > 0) {
        out.push(Block::Paragraph(vec![
            text("Changing a file of the image first copies all of it up: appending one byte to "),
            Span::Path(tree.path(node)),
            text(" copies its "),
            Span::Bytes(size),
            text(" into the container's layer before the write."),
        ]));
    }
    out
}

/// Every hint, biggest first.
pub fn explain_hints(ctx: &Context) -> Vec<Block> {
    let mut out = vec![Block::Heading(2, vec![text("What to change")])];
    if ctx.hints.is_empty() {
        out.push(Block::Paragraph(vec![text(
            "Nothing: no cache, leftover, duplicate, toolchain or build-order problem was found.",
        )]));
        return out;
    }
    let saved = super::hints::image_bytes_saved(ctx.hints);
    out.push(Block::Paragraph(vec![
        text(format!(
            "{} {}. Together the image-size fixes save ",
            plural(ctx.hints.len(), "hint", "hints"),
            if ctx.hints.len() == 1 {
                "applies"
            } else {
                "apply"
            }
        )),
        Span::Bytes(saved),
        text(" (no byte is counted twice). Hints never change the efficiency score."),
    ]));
    let items = ctx
        .hints
        .iter()
        .map(|hint| {
            let mut item = hint_item(hint);
            let place = format!("[{}] ", hint.place());
            item.insert(1, text(place));
            item
        })
        .collect();
    out.push(Block::List(items));
    out
}

/// `/dir/.wh.name`, the whiteout marker that deletes `target`.
fn whiteout_marker(target: &[u8]) -> Vec<u8> {
    let (dir, name) = match target.iter().rposition(|&b| b == b'/') {
        Some(cut) => (&target[..=cut], &target[cut + 1..]),
        None => (&b"/"[..], target),
    };
    let mut marker = dir.to_vec();
    marker.extend_from_slice(b".wh.");
    marker.extend_from_slice(name);
    marker
}

/// `/dir/.wh..wh..opq`, the marker that makes `dir` opaque.
fn opaque_marker(dir: &[u8]) -> Vec<u8> {
    let mut marker = dir.to_vec();
    marker.extend_from_slice(b"/.wh..wh..opq");
    marker
}

/// Whether a written version differs from the one below only in mode or owner.
fn metadata_only_change(tree: &Tree, below: &Version, now: &Version) -> bool {
    if below.change.is_removal() || now.change.is_removal() || now.change != Change::Modified {
        return false;
    }
    let (a, b) = (tree.meta(below), tree.meta(now));
    a.kind == EntryKind::File && b.kind == a.kind && a.hash == b.hash && a.size == b.size
}

/// One path's story: every layer that wrote, changed or hid it, what that costs, where it
/// came from (a `COPY --from` stage, an instruction that made no layer), its other names,
/// what a container does with it, and any secret found in it.
pub fn explain_path(ctx: &Context, node: NodeId) -> Vec<Block> {
    let tree = ctx.tree;
    let path = tree.path(node);
    let top = tree.layer_count().saturating_sub(1);
    let mut out = vec![Block::Heading(2, vec![Span::Path(path.clone())])];
    let versions = tree.versions(node);
    let mut items = Vec::new();
    for (i, version) in versions.iter().enumerate() {
        let layer = version.layer as usize;
        let mut item = Vec::new();
        let mut who = ctx.layer_ref(layer);
        if let Some(Span::Text(first)) = who.first_mut() {
            *first = glossary::capitalise(first);
        }
        item.extend(who);
        match version.change {
            Change::Added | Change::Modified | Change::Unchanged => {
                let kind = if version.entry == NONE {
                    EntryKind::Dir
                } else {
                    tree.entry(version.entry).meta.kind
                };
                let verb = match version.change {
                    Change::Added => "wrote it",
                    Change::Modified => "replaced it",
                    _ => "wrote it again, unchanged",
                };
                item.push(text(format!(" {verb}")));
                match kind {
                    EntryKind::Hardlink => {
                        // Hardlink targets are stored normalised, without the leading `/`.
                        let mut target = b"/".to_vec();
                        target.extend_from_slice(tree.version_link(version));
                        item.push(text(" as a hardlink to "));
                        item.push(Span::Path(target));
                        item.push(text(
                            ": another name for the same file, which ships no bytes of its own",
                        ));
                    }
                    EntryKind::Symlink => {
                        item.push(text(" as a symlink to "));
                        item.push(Span::Path(tree.version_link(version).to_vec()));
                    }
                    EntryKind::Dir => item.push(text(" as a directory")),
                    _ => {
                        let size = shipped_by(tree, version);
                        item.push(text(" ("));
                        item.push(Span::Bytes(size));
                        item.push(text(")"));
                        if version.change == Change::Modified {
                            item.extend(change_reason(tree, node, layer));
                        }
                    }
                }
            }
            Change::Whiteout => {
                let cause = tree.entry(version.entry).node;
                let marker = whiteout_marker(&tree.path(cause));
                let marker_name = marker.rsplit(|&b| b == b'/').next().unwrap_or(&marker);
                if cause == node {
                    item.push(text(" deleted it with a whiteout "));
                } else {
                    item.push(text(" deleted its parent "));
                    item.push(Span::Path(tree.path(cause)));
                    item.push(text(" with a whiteout "));
                }
                item.push(Span::Code(
                    String::from_utf8_lossy(marker_name).into_owned(),
                ));
                item.push(text(", "));
                item.push(text(glossary::WHITEOUT));
            }
            Change::Opaque => {
                let dir = tree.path(tree.entry(version.entry).node);
                item.push(text(" hid it with an opaque marker "));
                item.push(Span::Path(opaque_marker(&dir)));
                item.push(text(format!(", {}", glossary::OPAQUE_WHITEOUT)));
            }
            Change::Replaced => {
                item.push(text(
                    " replaced it, or a parent directory, with a non-directory",
                ));
            }
        }
        let bytes = if version.change.is_removal() {
            0
        } else {
            shipped_by(tree, version)
        };
        if bytes > 0 {
            if let Some(next) = versions.get(i + 1) {
                item.push(text(format!(
                    ". Layer {} hid this copy, but its ",
                    next.layer
                )));
                item.push(Span::Bytes(bytes));
                item.push(text(format!(" are still downloaded with layer {layer}")));
            }
        }
        item.push(text("."));
        items.push(item);
    }
    out.push(Block::List(items));

    if let Some((manager, name)) = ctx.packages.owners.get(&node) {
        let version = ctx
            .packages
            .packages
            .iter()
            .find(|p| p.manager == *manager && &p.name == name);
        let mut spans = vec![text("It belongs to the package "), code(name.clone())];
        if let Some(p) = version {
            spans.push(text(format!(
                " {} ({}, installed by layer {}).",
                p.version,
                manager.name(),
                p.layer
            )));
        } else {
            spans.push(text(format!(" ({}).", manager.name())));
        }
        out.push(Block::Paragraph(spans));
    }

    // Where it came from: a build stage, or an instruction that made no layer.
    let mut seen = std::collections::BTreeSet::new();
    let path_text = String::from_utf8_lossy(&path).into_owned();
    for version in versions.iter().filter(|v| !v.change.is_removal()) {
        let layer = version.layer as usize;
        if !seen.insert(layer) {
            continue;
        }
        let facts = ctx.facts(layer);
        if let Some(from) = &facts.copy_from {
            let mut spans = vec![
                text(format!("Layer {layer} copied it from the build stage ")),
                code(from.stage.clone()),
            ];
            if let Some(base) = &from.base {
                spans.push(text(" (which starts "));
                spans.push(code(format!("FROM {base}")));
                spans.push(text(")"));
            }
            spans.push(text(
                ". A multi-stage build ships only what `COPY --from` names: the rest of that \
                 stage, its toolchain, headers and caches, stays in the builder and is never \
                 pulled.",
            ));
            out.push(Block::Paragraph(spans));
        }
        for meta in &facts.metadata {
            if meta
                .split_whitespace()
                .any(|w| w.trim_end_matches('/') == path_text)
            {
                out.push(Block::Paragraph(vec![
                    code(one_line(meta, 80)),
                    text(format!(
                        " made no layer: it changed only the image's configuration. The \
                         path itself is in the tar of the next layer, layer {layer}."
                    )),
                ]));
            }
        }
    }

    // Other names of the same content.
    let relative = path.strip_prefix(b"/").unwrap_or(&path);
    let mut names: Vec<NodeId> = tree
        .entries()
        .iter()
        .enumerate()
        .filter(|(id, e)| {
            e.meta.kind == EntryKind::Hardlink
                && e.node != node
                && tree.entry_link(*id as u32) == relative
        })
        .map(|(_, e)| e.node)
        .collect();
    names.sort_unstable();
    names.dedup();
    if let Some(&first) = names.first() {
        out.push(Block::Paragraph(vec![
            text(format!(
                "{} to it, e.g. ",
                plural(
                    names.len(),
                    "other name is a hardlink",
                    "other names are hardlinks"
                )
            )),
            Span::Path(tree.path(first)),
            text(
                ": the content is stored once, and deleting one name leaves it reachable \
                 through the others.",
            ),
        ]));
    }

    if let Some(w) = ctx.waste.paths.iter().find(|p| p.path == path) {
        let chmod = versions
            .windows(2)
            .any(|pair| metadata_only_change(tree, &pair[0], &pair[1]));
        let deleted = versions.iter().any(|v| v.change.is_removal());
        let fix = if chmod {
            "Set its mode or owner while copying (`COPY --chmod`, `--chown`) instead of in a \
             later layer, which stores the whole file again."
        } else if deleted {
            "Delete it in the same RUN that creates it, so that no layer ships it."
        } else {
            "Write it once, in its final form."
        };
        out.push(Block::Paragraph(vec![
            text("It wastes "),
            Span::Bytes(w.wasted_bytes),
            text(format!(": shipped, never visible. {fix}")),
        ]));
    }

    // What a container does with it.
    match tree.live_at(node, top) {
        Some(v) if tree.meta(v).kind == EntryKind::File => {
            out.push(Block::Paragraph(vec![
                text(format!(
                    "In a container, the file is read from layer {}'s copy. Writing to it \
                     first copies all ",
                    v.layer
                )),
                Span::Bytes(tree.content_size(v)),
                text(
                    " up into the container's writable layer (copy-on-write); deleting it \
                     there records a whiteout in that layer, and the image keeps its copy.",
                ),
            ]));
        }
        Some(v) if tree.meta(v).kind == EntryKind::Dir => {
            out.push(Block::Paragraph(vec![text(
                "In a container, a file created here goes to the container's own writable \
                 layer; the image's layers stay read-only and shared.",
            )]));
        }
        Some(_) => {}
        None => out.push(Block::Paragraph(vec![text(
            "A container never sees it: a layer above hides it. Every pull still downloads \
             the layers that wrote it.",
        )])),
    }

    for finding in ctx.findings.iter().filter(|f| f.path() == Some(&path[..])) {
        let layer = finding.layer().unwrap_or(0);
        let mut spans = vec![
            text("Secret: the rule "),
            code(finding.rule.id),
            text(format!(" ({}) matched ", finding.rule.title)),
            code(finding.preview.clone()),
            text(format!(" in layer {layer}'s copy")),
        ];
        spans.push(text(match finding.fate {
            Fate::Present => ", which is in the final filesystem.".to_string(),
            Fate::Deleted(by) => format!(
                ". Layer {by} deleted it, but the secret still ships in layer {layer}: anyone \
                 who pulls the image can read it."
            ),
            Fate::Overwritten(by) => format!(
                ". Layer {by} wrote over it, but the old copy still ships in layer {layer}."
            ),
        }));
        spans.push(text(format!(" Fix: {}.", finding.rule.fix)));
        out.push(Block::Paragraph(spans));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{tree, E::*};
    use super::*;
    use crate::analysis::{analyze, hints, AnalysisOptions};

    /// Blocks as plain text, one line per block or list item.
    fn flat(blocks: &[Block]) -> String {
        let spans = |spans: &[Span]| {
            spans
                .iter()
                .map(|s| match s {
                    Span::Text(t) => t.clone(),
                    Span::Code(c) => format!("`{c}`"),
                    Span::Path(p) => String::from_utf8_lossy(p).into_owned(),
                    Span::Bytes(b) => format!("{b}B"),
                })
                .collect::<String>()
        };
        let mut out = String::new();
        for block in blocks {
            match block {
                Block::Heading(_, s) | Block::Paragraph(s) => {
                    out.push_str(&spans(s));
                    out.push('\n');
                }
                Block::List(items) => {
                    for item in items {
                        out.push_str("- ");
                        out.push_str(&spans(item));
                        out.push('\n');
                    }
                }
            }
        }
        out
    }

    fn with_context(layers: &[&[crate::analysis::testutil::E]], check: impl Fn(&Context)) {
        let t = tree(layers);
        let options = AnalysisOptions::default();
        let waste = analyze(&t, &options);
        let hints = hints(&t, &options);
        let ctx = Context {
            name: "test".into(),
            tree: &t,
            waste: &waste,
            hints: &hints,
            layers: (0..t.layer_count())
                .map(|i| LayerFacts {
                    instruction: format!("RUN step {i}"),
                    base: i == 0,
                    ..Default::default()
                })
                .collect(),
            trailing_metadata: vec!["CMD [\"sh\"]".into()],
            multi_stage: None,
            base_image: None,
            findings: &[],
            packages: &Default::default(),
        };
        check(&ctx);
    }

    #[test]
    fn opaque_markers_say_what_they_hide() {
        with_context(
            &[
                &[Dir("d"), File("d/x", &[1; 10]), File("d/y", &[1; 5])],
                &[Dir("d"), Opaque("d"), File("d/z", &[1; 3])],
            ],
            |ctx| {
                let text = flat(&explain_layer(ctx, 1));
                assert!(
                    text.contains(&format!(
                        "- /d/.wh..wh..opq is an opaque whiteout, {}. In /d it hides 2 paths. \
                         The 15B it hides stay in layer 0: deleting only hides them.",
                        glossary::OPAQUE_WHITEOUT
                    )),
                    "{text}"
                );
                assert!(
                    text.contains("It hides 15B that was shipped before"),
                    "{text}"
                );
            },
        );
    }

    #[test]
    fn a_directory_whiteout_counts_what_is_below() {
        with_context(
            &[
                &[Dir("bin")],
                &[Dir("tmp"), File("tmp/a", &[1; 7]), File("tmp/b", &[1; 4])],
                &[Whiteout("tmp")],
            ],
            |ctx| {
                let text = flat(&explain_layer(ctx, 2));
                assert!(
                    text.contains(&format!(
                        "- /.wh.tmp is a whiteout, {}. It deletes /tmp and the 2 paths below \
                         it. The 11B it hides stay in layer 1",
                        glossary::WHITEOUT
                    )),
                    "{text}"
                );
                assert!(text.contains("Hint (deleted-later)"), "{text}");
                let whole = flat(&explain_image(ctx));
                assert!(whole.contains("`CMD [\"sh\"]` changed only the image's configuration"));
                assert!(
                    whole.contains("Together the image-size fixes save 11B"),
                    "{whole}"
                );
            },
        );
    }

    #[test]
    fn a_path_story_names_every_layer_and_the_hardlink() {
        with_context(
            &[
                &[Dir("bin")],
                &[File("a", &[1; 9]), Link("b", "a")],
                &[Whiteout("a")],
            ],
            |ctx| {
                let a = (1..ctx.tree.node_count() as NodeId)
                    .find(|&n| ctx.tree.name(n) == b"a")
                    .unwrap();
                let text = flat(&explain_path(ctx, a));
                assert!(
                    text.contains("- Layer 1 (`RUN step 1`) wrote it (9B). Layer 2 hid this copy"),
                    "{text}"
                );
                assert!(
                    text.contains("- Layer 2 (`RUN step 2`) deleted it with a whiteout `.wh.a`"),
                    "{text}"
                );
                // /b still reaches the content: nothing is wasted.
                assert!(!text.contains("It wastes"), "{text}");
                let b = (1..ctx.tree.node_count() as NodeId)
                    .find(|&n| ctx.tree.name(n) == b"b")
                    .unwrap();
                let text = flat(&explain_path(ctx, b));
                assert!(text.contains("as a hardlink to /a"), "{text}");
                let text = flat(&explain_layer(ctx, 1));
                assert!(
                    text.contains(&format!(
                        "1 of its entries is a hardlink. A hardlink is {}.",
                        glossary::HARDLINK
                    )),
                    "{text}"
                );
            },
        );
    }

    fn node(ctx: &Context, path: &str) -> NodeId {
        ctx.tree.lookup(path.as_bytes()).unwrap()
    }

    #[test]
    fn a_path_names_its_whiteout_or_opaque_marker_and_what_a_container_sees() {
        with_context(
            &[
                &[Dir("d"), File("d/x", &[1; 10]), File("a", &[1; 5])],
                &[Whiteout("a"), Dir("d"), Opaque("d"), File("d/z", &[1; 3])],
            ],
            |ctx| {
                let text = flat(&explain_path(ctx, node(ctx, "/a")));
                assert!(
                    text.contains(
                        "- Layer 0 (`RUN step 0`) wrote it (5B). Layer 1 hid this copy, but its \
                         5B are still downloaded with layer 0."
                    ),
                    "{text}"
                );
                assert!(
                    text.contains("- Layer 1 (`RUN step 1`) deleted it with a whiteout `.wh.a`"),
                    "{text}"
                );
                assert!(
                    text.contains(
                        "It wastes 5B: shipped, never visible. Delete it in the same RUN"
                    ),
                    "{text}"
                );
                assert!(text.contains("A container never sees it"), "{text}");
                let text = flat(&explain_path(ctx, node(ctx, "/d/x")));
                assert!(
                    text.contains(&format!(
                        "hid it with an opaque marker /d/.wh..wh..opq, {}",
                        glossary::OPAQUE_WHITEOUT
                    )),
                    "{text}"
                );
                let text = flat(&explain_path(ctx, node(ctx, "/d/z")));
                assert!(
                    text.contains(
                        "In a container, the file is read from layer 1's copy. Writing to it \
                         first copies all 3B up into the container's writable layer"
                    ),
                    "{text}"
                );
                let text = flat(&explain_path(ctx, node(ctx, "/d")));
                assert!(text.contains("a file created here goes to the container's own"));
            },
        );
    }

    #[test]
    fn a_mode_only_change_and_other_hardlinked_names() {
        with_context(
            &[
                &[File("f", &[1; 4]), File("a", &[2; 9]), Link("b", "a")],
                &[FileMode("f", &[1; 4], 0o755)],
            ],
            |ctx| {
                let text = flat(&explain_path(ctx, node(ctx, "/f")));
                assert!(
                    text.contains(
                        "replaced it (4B): only its mode changed (644 to 755), yet the layer \
                         stores the whole file again"
                    ),
                    "{text}"
                );
                assert!(text.contains("It wastes 4B"), "{text}");
                assert!(text.contains("Set its mode or owner while copying (`COPY --chmod`"));
                let text = flat(&explain_path(ctx, node(ctx, "/a")));
                assert!(
                    text.contains(
                        "1 other name is a hardlink to it, e.g. /b: the content is stored once"
                    ),
                    "{text}"
                );
            },
        );
    }

    #[test]
    fn build_stages_metadata_and_secrets_in_a_path_and_a_layer() {
        let t = tree(&[
            &[Dir("bin")],
            &[Dir("app"), File("app/.env", &[1; 6])],
            &[Whiteout("app/.env")],
        ]);
        let options = AnalysisOptions::default();
        let waste = analyze(&t, &options);
        let findings = vec![Finding {
            rule: crate::analysis::secrets::rule("dotenv-file").unwrap(),
            evidence: crate::analysis::secrets::Evidence::Path,
            preview: "DB_…nv".into(),
            place: crate::analysis::secrets::Place::File {
                layer: 1,
                path: b"/app/.env".to_vec(),
            },
            fate: Fate::Deleted(2),
        }];
        let ctx = Context {
            name: "test".into(),
            tree: &t,
            waste: &waste,
            hints: &[],
            layers: vec![
                LayerFacts {
                    instruction: "COPY rootfs/ /".into(),
                    base: true,
                    ..Default::default()
                },
                LayerFacts {
                    instruction: "COPY --from=build /out/ /app/".into(),
                    metadata: vec!["WORKDIR /app".into()],
                    dockerfile_lines: Some((7, 7)),
                    copy_from: Some(CopyFrom {
                        stage: "build".into(),
                        base: Some("golang".into()),
                    }),
                    ..Default::default()
                },
                LayerFacts {
                    instruction: "RUN rm /app/.env".into(),
                    ..Default::default()
                },
            ],
            trailing_metadata: Vec::new(),
            multi_stage: None,
            base_image: Some("busybox".into()),
            findings: &findings,
            packages: &Default::default(),
        };
        let text = flat(&explain_path(&ctx, node(&ctx, "/app")));
        assert!(
            text.contains("`WORKDIR /app` made no layer: it changed only the image's configuration. The path itself is in the tar of the next layer, layer 1."),
            "{text}"
        );
        let text = flat(&explain_path(&ctx, node(&ctx, "/app/.env")));
        assert!(
            text.contains(
                "Layer 1 copied it from the build stage `build` (which starts `FROM golang`). \
                 A multi-stage build ships only what `COPY --from` names"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "Secret: the rule `dotenv-file` (.env file) matched `DB_…nv` in layer 1's copy. \
                 Layer 2 deleted it, but the secret still ships in layer 1"
            ),
            "{text}"
        );
        let layer = flat(&explain_layer_alone(&ctx, 1));
        assert!(
            layer.contains("It copies files from the build stage `build`"),
            "{layer}"
        );
        assert!(layer.contains("It ships 1 secret finding"), "{layer}");
        assert!(
            layer.contains("- `dotenv-file` in /app/.env (`DB_…nv`)"),
            "{layer}"
        );
        assert!(
            !layer.contains("When a container runs"),
            "not the top layer"
        );
        let top = flat(&explain_layer_alone(&ctx, 2));
        assert!(top.contains("When a container runs"), "{top}");
        // The whole image's story says these once, in their own sections.
        let whole = flat(&explain_image(&ctx));
        assert!(
            !whole.contains("It copies files from the build stage"),
            "{whole}"
        );
        assert_eq!(whole.matches("When a container runs").count(), 1);
    }
}
