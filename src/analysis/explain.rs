//! Plain-words explanations of an image, a layer or a path, for class notes, code review and
//! the explorer. The output is a small document model ([`Block`]s of [`Span`]s), free of
//! any terminal or Markdown: renderers decide how code, paths and sizes look, and escape
//! every name that comes from the image.
//!
//! Everything said is read from the merged tree, the waste analysis and the hints: sizes
//! are measured, never estimated.

use super::hints::Hint;
use super::waste::Waste;
use crate::layer::EntryKind;
use crate::tree::{Change, DiffKind, NodeId, Tree, Version, NONE};

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
    /// The stored (compressed) blob size, when known.
    pub compressed_bytes: Option<u64>,
    /// Dockerfile lines of the instruction (first, last), when the Dockerfile is known.
    pub dockerfile_lines: Option<(usize, usize)>,
    /// Whether it belongs to the base image.
    pub base: bool,
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
    out.push(Block::Paragraph(vec![
        text(format!(
            "This image is a stack of {}. Each layer is a tar archive of changes to the \
             layers below it: files it adds or replaces, and markers for files it deletes. \
             Once built, a layer never changes; a later layer can only add, replace or hide. \
             A container sees all of them merged, bottom first. Together they ship ",
            plural(layers, "read-only layer", "read-only layers")
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
            "{} from the base image. Images built on the same base share those layers: they \
             are stored and pulled once, whatever the number of images on top.",
            match waste.base_layers {
                1 => "Layer 0 comes".to_string(),
                2 => "Layers 0 and 1 come".to_string(),
                n => format!("Layers 0 to {} come", n - 1),
            }
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
    let list = |spans: &mut Vec<Span>, items: &[&String]| {
        for (i, m) in items.iter().enumerate() {
            if i > 0 {
                spans.push(text(if i + 1 == items.len() { " and " } else { ", " }));
            }
            spans.push(code(one_line(m, 80)));
        }
    };
    if !config.is_empty() {
        list(&mut spans, &config);
        spans.push(text(if config.len() == 1 {
            " changed only the image's configuration (environment, working directory, \
             command, labels…): such an instruction makes no layer and ships no bytes."
        } else {
            " changed only the image's configuration (environment, working directory, \
             command, labels…): such instructions make no layer and ship no bytes."
        }));
    }
    if !other.is_empty() {
        if !config.is_empty() {
            spans.push(text(" "));
        }
        list(&mut spans, &other);
        spans.push(text(
            " left no layer of its own: the builder recorded it as empty, because it \
             changed nothing or because its changes went into the next layer.",
        ));
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
        let sentence = if hardlinks == 1 {
            "1 of its entries is a hardlink: another name for a file's content, stored once, \
             so it ships no bytes of its own."
                .to_string()
        } else {
            format!(
                "{hardlinks} of its entries are hardlinks: other names for a file's content, \
                 stored once, so they ship no bytes of their own."
            )
        };
        out.push(Block::Paragraph(vec![text(format!(
            "{sentence} Deleting one name leaves the content reachable through the others."
        ))]));
    }

    out.extend(explain_markers(ctx, layer));

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
            let mut marker = target.clone();
            marker.extend_from_slice(b"/.wh..wh..opq");
            item.push(Span::Path(marker));
            item.push(text(
                " is an opaque marker: everything the layers below put in ",
            ));
            item.push(Span::Path(target));
            item.push(text(format!(
                " is hidden ({}), and only this layer's entries show there",
                plural(paths, "path", "paths")
            )));
        } else {
            let (dir, name) = match target.iter().rposition(|&b| b == b'/') {
                Some(cut) => (target[..=cut].to_vec(), target[cut + 1..].to_vec()),
                None => (b"/".to_vec(), target.clone()),
            };
            let mut marker = dir;
            marker.extend_from_slice(b".wh.");
            marker.extend_from_slice(&name);
            item.push(Span::Path(marker));
            item.push(text(" is a whiteout: it deletes "));
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

fn capitalise(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
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
    out.push(Block::Paragraph(vec![text(
        "A container adds one thin writable layer on top of these read-only ones, and all \
         its changes go there, copy-on-write. Creating a file writes it to that layer. \
         Deleting a file of the image records a whiteout there, as the layers above do. The \
         image's layers are never modified, so every container of the image shares them.",
    )]));
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
            "{} apply. Together the image-size fixes save ",
            plural(ctx.hints.len(), "hint", "hints")
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

/// One path's story: every layer that wrote, changed or hid it, and what that costs.
pub fn explain_path(ctx: &Context, node: NodeId) -> Vec<Block> {
    let tree = ctx.tree;
    let path = tree.path(node);
    let mut out = vec![Block::Heading(2, vec![Span::Path(path.clone())])];
    let versions = tree.versions(node);
    let mut items = Vec::new();
    for (i, version) in versions.iter().enumerate() {
        let layer = version.layer as usize;
        let mut item = Vec::new();
        let mut who = ctx.layer_ref(layer);
        if let Some(Span::Text(first)) = who.first_mut() {
            *first = capitalise(first);
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
                    }
                }
            }
            Change::Whiteout => {
                let cause = tree.entry(version.entry).node;
                if cause == node {
                    item.push(text(" deleted it with a whiteout"));
                } else {
                    item.push(text(" deleted its parent "));
                    item.push(Span::Path(tree.path(cause)));
                    item.push(text(" with a whiteout"));
                }
            }
            Change::Opaque => {
                item.push(text(" hid it with an opaque marker on "));
                item.push(Span::Path(tree.path(tree.entry(version.entry).node)));
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
                    ". Layer {} hid this copy, but its bytes still ship with layer {layer}",
                    next.layer
                )));
            }
        }
        item.push(text("."));
        items.push(item);
    }
    out.push(Block::List(items));
    let wasted = ctx.waste.paths.iter().find(|p| p.path == path);
    if let Some(w) = wasted {
        out.push(Block::Paragraph(vec![
            text("It wastes "),
            Span::Bytes(w.wasted_bytes),
            text(": shipped, never visible. Delete or change a file in the same RUN that creates it to save them."),
        ]));
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
                    text.contains(
                        "- /d/.wh..wh..opq is an opaque marker: everything the layers below put \
                         in /d is hidden (2 paths), and only this layer's entries show there. \
                         The 15B it hides stay in layer 0: deleting only hides them."
                    ),
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
                    text.contains(
                        "- /.wh.tmp is a whiteout: it deletes /tmp and the 2 paths below it. \
                         The 11B it hides stay in layer 1"
                    ),
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
                assert!(text.contains("- Layer 2 (`RUN step 2`) deleted it with a whiteout."));
                // /b still reaches the content: nothing is wasted.
                assert!(!text.contains("It wastes"), "{text}");
                let b = (1..ctx.tree.node_count() as NodeId)
                    .find(|&n| ctx.tree.name(n) == b"b")
                    .unwrap();
                let text = flat(&explain_path(ctx, b));
                assert!(text.contains("as a hardlink to /a"), "{text}");
                let text = flat(&explain_layer(ctx, 1));
                assert!(
                    text.contains("1 of its entries is a hardlink: another name"),
                    "{text}"
                );
            },
        );
    }
}
