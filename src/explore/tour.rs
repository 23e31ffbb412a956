//! The guided tour of `layerscope demo`: the lesson on layered storage, step by step,
//! across the embedded demo images. Each step names the demo image it needs (the tour
//! opens it) and selects the layer or path it talks about. Targets and figures are looked
//! up in the image's own content (a whiteout that deletes a file, an opaque marker, the
//! biggest wasted path, the blobs the archives share…), never fixed indices or numbers,
//! so a rebuilt demo still gets its tour.

use super::Explorer;
use crate::demo;
use crate::layer::EntryKind;
use crate::size::human;
use crate::tree::{Change, NodeId, Tree, NONE};

/// What a step selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Layer(usize),
    /// A path, shown in the changes of `layer`.
    Path {
        layer: usize,
        node: NodeId,
    },
    /// A path in the whole filesystem after the top layer (the aggregated view): what a
    /// container starts from.
    Merged {
        node: NodeId,
    },
}

/// Which idea a step teaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Topic {
    ReadOnlyLayers,
    /// One layer of the five-layer picture, by its index.
    FiveLayers(usize),
    ContainerLayer,
    SharedBase,
    MultiStage,
    Whiteout,
    OpaqueDirectory,
    WasteAndScore,
    CacheOrder,
    End,
}

/// The lesson, in order: the five ideas first, then the mechanics, each on the demo image
/// that shows it best. (No demo image holds a hardlink yet, so the lesson has no hardlink
/// step.)
pub const LESSON: &[(&str, Topic)] = &[
    ("layers", Topic::ReadOnlyLayers),
    ("layers", Topic::FiveLayers(0)),
    ("layers", Topic::FiveLayers(1)),
    ("layers", Topic::FiveLayers(2)),
    ("layers", Topic::FiveLayers(3)),
    ("layers", Topic::FiveLayers(4)),
    ("layers", Topic::ContainerLayer),
    ("layers", Topic::SharedBase),
    ("hello", Topic::MultiStage),
    ("wasteful", Topic::Whiteout),
    ("opaque", Topic::OpaqueDirectory),
    ("wasteful", Topic::WasteAndScore),
    ("fixed", Topic::CacheOrder),
    ("fixed", Topic::End),
];

/// The five layers of the lesson's picture, in build order.
const FIVE_ROLES: [(&str, &str); 5] = [
    (
        "a Linux base",
        "Every demo image starts with this same layer: the shell and the tools a program \
         expects to find.",
    ),
    (
        "the runtime and its package tool",
        "The runtime runs the code; the package tool installs what the requirements name.",
    ),
    (
        "the requirements file",
        "It is copied alone, before the code, so the next layer depends only on it: the \
         build cache reuses both until the requirements change.",
    ),
    (
        "the dependencies",
        "The package tool installed what the requirements file lists.",
    ),
    (
        "the source code",
        "The code changes most often, so it comes last: a change to it rebuilds only this \
         small layer.",
    ),
];

/// The step `at` of [`LESSON`] where a learner who asked for the demo `name` starts: its
/// first step on that image (the first step when there is none).
pub fn start(name: &str) -> usize {
    LESSON
        .iter()
        .position(|(image, _)| image.eq_ignore_ascii_case(name))
        .unwrap_or(0)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub topic: Topic,
    /// The demo image it is on.
    pub image: &'static str,
    pub title: &'static str,
    /// Plain text; it quotes paths and instructions from the image, so escape it when
    /// drawing.
    pub text: String,
    pub target: Target,
}

/// The explorer on a demo image, as `layerscope demo` opens it: its layers, the waste
/// analysis, its Dockerfile beside them, and the explanations gathered.
pub fn demo_explorer(image: &'static demo::DemoImage) -> crate::Result<Explorer> {
    let file = demo::temp_archive(image)?;
    let path = file.path().display().to_string();
    let spec = crate::source::spec::ImageSpec::parse(&path, None)?;
    let options = crate::load::LoadOptions {
        verify: true,
        content: Some(crate::analysis::secrets::Scan::hook()),
        ..Default::default()
    };
    // The source keeps the archive open: the file may go when `file` drops.
    let opened = crate::load::load_spec(
        &spec,
        &options,
        &crate::layer::ParseControl::default(),
        &mut |_| {},
    )?;
    drop(file);
    let analysis = super::image_analysis(&opened.loaded);
    let mut explorer = Explorer::new(opened.loaded, opened.source, Some(analysis));
    explorer
        .set_dockerfile(image.dockerfile_name, image.dockerfile)
        .map_err(|e| e.in_file(image.dockerfile_name))?;
    explorer.prepare_explanations();
    explorer.set_demo(image.name);
    Ok(explorer)
}

/// Open the demo image that step `at` needs, unless it is the one open; the viewport and
/// whether the Dockerfile pane shows carry over.
pub fn open_image_for(explorer: &mut Explorer, at: usize) -> crate::Result<()> {
    let (name, _) = LESSON[at];
    if explorer.demo() == Some(name) {
        return Ok(());
    }
    let image = demo::find(name).expect("the lesson names embedded demos");
    let mut next = demo_explorer(image)?;
    next.set_viewport(explorer.viewport());
    if next.dockerfile_shown() != explorer.dockerfile_shown() {
        next.toggle_dockerfile();
    }
    *explorer = next;
    Ok(())
}

/// Step `at` of [`LESSON`], read from `explorer`, which must be on the step's demo image
/// ([`open_image_for`]).
pub fn step(explorer: &mut Explorer, at: usize) -> Step {
    let (image, topic) = LESSON[at];
    let (title, text, target) = match topic {
        Topic::ReadOnlyLayers => read_only_layers(explorer),
        Topic::FiveLayers(layer) => five_layers(explorer, layer),
        Topic::ContainerLayer => container_layer(explorer),
        Topic::SharedBase => shared_base(explorer),
        Topic::MultiStage => multi_stage(explorer),
        Topic::Whiteout => whiteout(explorer),
        Topic::OpaqueDirectory => opaque_directory(explorer),
        Topic::WasteAndScore => waste_and_score(explorer),
        Topic::CacheOrder => cache_order(explorer),
        Topic::End => end(explorer),
    };
    Step {
        topic,
        image,
        title,
        text,
        target,
    }
}

type Parts = (&'static str, String, Target);

/// `layer 3 (`RUN …`, Dockerfile line 5)`, from the explanation's facts; a base layer is
/// named by the `FROM` image it comes from.
fn layer_name(explorer: &mut Explorer, layer: usize) -> String {
    let line = explorer
        .dockerfile()
        .and_then(|d| d.mapping.layer_line(layer))
        .map(|l| l.line);
    let facts = explorer.facts();
    let base = facts.layers.get(layer).is_some_and(|f| f.base);
    if let (true, Some(from)) = (base, facts.base_image.clone()) {
        return format!("layer {layer} (from the base image `{from}`)");
    }
    let instruction = facts
        .layers
        .get(layer)
        .map(|f| crate::analysis::explain::one_line(&f.instruction, 60))
        .unwrap_or_default();
    match line {
        Some(line) => format!("layer {layer} (`{instruction}`, Dockerfile line {line})"),
        None if instruction.is_empty() => format!("layer {layer}"),
        None => format!("layer {layer} (`{instruction}`)"),
    }
}

fn path(tree: &Tree, node: NodeId) -> String {
    String::from_utf8_lossy(&tree.path(node)).into_owned()
}

/// Bytes a written version's own entry ships (regular files only).
fn shipped(tree: &Tree, version: &crate::tree::Version) -> u64 {
    if version.change.is_removal() || version.entry == NONE {
        return 0;
    }
    let meta = tree.entry(version.entry).meta;
    if meta.kind == EntryKind::File {
        meta.size
    } else {
        0
    }
}

/// The biggest regular file layer `layer` writes, and its size.
fn biggest_written(tree: &Tree, layer: usize) -> Option<(u64, NodeId)> {
    (1..tree.node_count() as NodeId)
        .filter_map(|node| {
            let v = tree
                .versions(node)
                .iter()
                .find(|v| v.layer as usize == layer)?;
            (shipped(tree, v) > 0 && tree.entry(v.entry).node == node)
                .then(|| (shipped(tree, v), node))
        })
        .max_by(|a, b| a.0.cmp(&b.0).then_with(|| b.1.cmp(&a.1)))
}

/// Paths layer `layer` adds, as `changes` and `e` count them.
fn added_paths(tree: &Tree, layer: usize) -> usize {
    tree.layer_change_counts(layer).added
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn read_only_layers(explorer: &mut Explorer) -> Parts {
    let count = explorer.layer_count();
    let top = count.saturating_sub(1);
    let name = explorer.demo().unwrap_or("this image");
    let text = format!(
        "`{name}` is a stack of {count} read-only layers, numbered 0 to {top} from the \
         bottom. Each layer is a tar archive of changes to the layers below it; stacked in \
         order they make the filesystem a container starts from. Once built, a layer never \
         changes: a later layer can only add, replace or delete on top of it. Selected: \
         the top layer, {top}.",
    );
    (
        "An image is a stack of read-only layers",
        text,
        Target::Layer(top),
    )
}

fn five_layers(explorer: &mut Explorer, layer: usize) -> Parts {
    let (role, why) = FIVE_ROLES[layer.min(4)];
    let tree = &explorer.image().tree;
    let added = added_paths(tree, layer);
    let biggest = biggest_written(tree, layer);
    let biggest_text = biggest.map_or_else(String::new, |(bytes, node)| {
        format!(
            " The biggest file is {} ({}).",
            path(tree, node),
            human(bytes)
        )
    });
    let info = &explorer.image().layers[layer];
    let (content, stored) = (info.content_bytes, info.compressed_bytes);
    let title = match layer {
        0 => "Five layers, 0: a Linux base",
        1 => "Five layers, 1: the runtime and its package tool",
        2 => "Five layers, 2: the requirements file",
        3 => "Five layers, 3: the dependencies",
        _ => "Five layers, 4: the source code",
    };
    let text = format!(
        "{}: {role}. It adds {}, {} of file content, stored as a {} compressed blob: what \
         a pull downloads.{biggest_text} {why}",
        capitalised(&layer_name(explorer, layer)),
        plural(added, "path", "paths"),
        human(content),
        human(stored),
    );
    let target = biggest.map_or(Target::Layer(layer), |(_, node)| Target::Path {
        layer,
        node,
    });
    (title, text, target)
}

fn container_layer(explorer: &mut Explorer) -> Parts {
    let tree = &explorer.image().tree;
    let top = tree.layer_count().saturating_sub(1);
    // The biggest file a container sees: its copy-up costs the most.
    let biggest = (1..tree.node_count() as NodeId)
        .filter_map(|node| {
            let v = tree.live_at(node, top)?;
            (tree.meta(v).kind == EntryKind::File).then(|| (tree.content_size(v), node))
        })
        .max_by(|a, b| a.0.cmp(&b.0).then_with(|| b.1.cmp(&a.1)));
    let text = format!(
        "A container adds one thin writable layer on top of the image's read-only layers \
         0 to {top}; it is drawn above them. Everything the container changes goes there. \
         Copy-on-write: the first time the container modifies a file of a lower layer, the \
         whole file is copied up into its layer, then changed. Deleting a file of the image \
         records a whiteout there; a new file is written there. Try it on the selected \
         file: the image's layers never change, and removing the container discards its \
         layer."
    );
    let target = biggest.map_or(Target::Layer(top), |(_, node)| Target::Merged { node });
    ("A container adds one writable layer", text, target)
}

fn shared_base(explorer: &mut Explorer) -> Parts {
    let base = explorer.facts().waste.base_layers.max(1);
    let top = base - 1;
    let from = explorer.facts().base_image.clone();
    let digest = explorer.image().layers[top]
        .digest
        .clone()
        .unwrap_or_default();
    // The five images side by side, from their archives' manifests.
    let mut sizes = Vec::new();
    let (mut separate, mut carriers, mut base_size) = (0u64, 0usize, 0u64);
    for image in demo::IMAGES {
        let blobs = demo::layer_blobs(image);
        let total: u64 = blobs.iter().map(|(size, _)| size).sum();
        if let Some((size, _)) = blobs.iter().find(|(_, d)| *d == digest) {
            carriers += 1;
            base_size = *size;
        }
        separate += total;
        sizes.push(format!("{} {}", image.name, human(total)));
    }
    let shared = separate - base_size * carriers.saturating_sub(1) as u64;
    let short = digest.get(..19).unwrap_or(&digest);
    let from = from.map_or_else(String::new, |f| format!(" `{f}`"));
    let text = format!(
        "Layer {top} comes from the base image{from}. An image names each layer by the \
         digest of its compressed blob, here {short}…, so images built on the same base \
         share its bytes: a registry stores the blob once and a host pulls it once. The \
         demo images' compressed layers: {}. {carriers} of them carry this {} base layer: \
         as separate copies they take {}; with the base stored once, {}.",
        sizes.join(", "),
        human(base_size),
        human(separate),
        human(shared),
    );
    ("Identical layers are stored once", text, Target::Layer(top))
}

fn multi_stage(explorer: &mut Explorer) -> Parts {
    let facts = explorer.facts();
    let copy = facts
        .layers
        .iter()
        .enumerate()
        .find_map(|(i, f)| f.copy_from.clone().map(|c| (i, c)));
    let stages = facts.multi_stage.as_ref().map_or(0, |m| m.stages.len());
    let top = explorer.layer_count().saturating_sub(1);
    let (layer, from) = copy.unwrap_or((top, Default::default()));
    let tree = &explorer.image().tree;
    let biggest = biggest_written(tree, layer);
    let base = from
        .base
        .map_or_else(String::new, |b| format!(", which starts `FROM {b}`"));
    let files = (1..tree.node_count() as NodeId)
        .filter(|&node| {
            tree.versions(node).iter().any(|v| {
                v.layer as usize == layer
                    && shipped(tree, v) > 0
                    && tree.entry(v.entry).node == node
            })
        })
        .count();
    let copied = match (files, biggest) {
        (1, Some((bytes, node))) => format!(": {}, {}", path(tree, node), human(bytes)),
        (_, Some((bytes, node))) => {
            format!("; the biggest is {}, {}", path(tree, node), human(bytes))
        }
        _ => String::new(),
    };
    // The stage itself is not in the image: its size was measured when demo/build.sh
    // built it.
    let measured = explorer
        .demo()
        .and_then(demo::find)
        .and_then(|image| image.build_stage())
        .map_or_else(String::new, |(bytes, count)| {
            format!(
                " ({} in {} when demo/build.sh built it)",
                human(bytes),
                plural(count as usize, "file", "files")
            )
        });
    let text = format!(
        "The Dockerfile has {stages} stages. The build stage `{}`{base}, held the \
         compiler, the sources and the build's caches{measured}. None of it is in the \
         image: its history records only the last stage's steps. {} holds {} copied from \
         the build stage{copied}. A multi-stage build ships only what its last stage \
         copies.",
        from.stage,
        capitalised(&layer_name(explorer, layer)),
        plural(files, "file", "files"),
    );
    let target = biggest.map_or(Target::Layer(layer), |(_, node)| Target::Path {
        layer,
        node,
    });
    (
        "A multi-stage build ships only what it copies",
        text,
        target,
    )
}

fn whiteout(explorer: &mut Explorer) -> Parts {
    let title = "Deleting a file only hides it";
    let tree = &explorer.image().tree;
    // The file deleted by its own whiteout whose deleted copy ships the most bytes.
    let mut best: Option<(u64, NodeId, usize, usize)> = None;
    for node in 1..tree.node_count() as NodeId {
        let versions = tree.versions(node);
        for pair in versions.windows(2) {
            let (below, now) = (&pair[0], &pair[1]);
            if now.change != Change::Whiteout || tree.entry(now.entry).node != node {
                continue;
            }
            let bytes = shipped(tree, below);
            if best.is_none_or(|b| bytes > b.0) {
                best = Some((bytes, node, below.layer as usize, now.layer as usize));
            }
        }
    }
    let Some((bytes, node, wrote, deleted)) = best else {
        let top = explorer.layer_count().saturating_sub(1);
        return (
            title,
            "No layer of this image deletes a file with a whiteout.".into(),
            Target::Layer(top),
        );
    };
    let shown = path(tree, node);
    let name = shown.rsplit('/').next().unwrap_or(&shown).to_string();
    let text = format!(
        "{} deletes {shown} with a whiteout `.wh.{name}`: {}. The {} that {} wrote are still \
         in that layer's tar: every pull downloads them, and no container can see them.",
        capitalised(&layer_name(explorer, deleted)),
        crate::analysis::glossary::WHITEOUT,
        human(bytes),
        layer_name(explorer, wrote),
    );
    (
        title,
        text,
        Target::Path {
            layer: deleted,
            node,
        },
    )
}

fn opaque_directory(explorer: &mut Explorer) -> Parts {
    let title = "An opaque directory hides everything below it";
    let tree = &explorer.image().tree;
    // The opaque marker that hides the most paths.
    let mut hidden: std::collections::BTreeMap<(usize, NodeId), usize> = Default::default();
    for node in 1..tree.node_count() as NodeId {
        for version in tree.versions(node) {
            if version.change == Change::Opaque {
                let dir = tree.entry(version.entry).node;
                *hidden.entry((version.layer as usize, dir)).or_default() += 1;
            }
        }
    }
    let Some((&(layer, dir), &count)) = hidden.iter().max_by_key(|(key, count)| (**count, key.0))
    else {
        let top = explorer.layer_count().saturating_sub(1);
        return (
            title,
            "No layer of this image marks a directory opaque.".into(),
            Target::Layer(top),
        );
    };
    // What else the marker's layer holds: its own whiteouts, and what it writes in the
    // directory, as its tar lists them.
    let whiteouts = (1..tree.node_count() as NodeId)
        .flat_map(|node| tree.versions(node))
        .filter(|v| v.layer as usize == layer && v.change == Change::Whiteout)
        .count();
    let shown = path(tree, dir);
    let written: Vec<String> = tree
        .children(dir)
        .iter()
        .filter(|&&child| {
            tree.versions(child)
                .iter()
                .any(|v| v.layer as usize == layer && !v.change.is_removal())
        })
        .map(|&child| path(tree, child))
        .collect();
    let deletes = if whiteouts == 0 {
        format!(
            "The directory's old files were deleted, yet the layer's tar holds no whiteout \
             for them: only the marker `{shown}/.wh..wh..opq`{}.",
            if written.is_empty() {
                String::new()
            } else {
                format!(" and the new {}", written.join(", "))
            }
        )
    } else {
        format!(
            "The layer also holds {}.",
            plural(whiteouts, "whiteout", "whiteouts")
        )
    };
    let text = format!(
        "{} deleted the directory {shown} and made it again. {deletes} The opaque marker \
         hides the {count} paths the layers below put there; only this layer's entries \
         show. As with a whiteout, the hidden bytes still ship with the layers that wrote \
         them.",
        capitalised(&layer_name(explorer, layer)),
    );
    (title, text, Target::Path { layer, node: dir })
}

fn waste_and_score(explorer: &mut Explorer) -> Parts {
    let title = "Wasted bytes and the efficiency score";
    let facts = explorer.facts();
    let efficiency = facts.waste.efficiency * 100.0;
    let wasted = facts.waste.wasted_bytes;
    let total = facts.waste.total_bytes;
    let biggest = facts.waste.paths.first().map(|p| {
        let layer = p.versions.iter().find(|v| v.wasted).map_or(0, |v| v.layer);
        (p.path.clone(), p.wasted_bytes, layer)
    });
    let hints = facts.hints.len();
    let score = format!(
        "Efficiency {efficiency:.1} %: of the {} of files this image ships, {} can never \
         be seen by a container.",
        human(total),
        human(wasted)
    );
    let tree = &explorer.image().tree;
    let found = biggest.and_then(|(bytes_path, bytes, layer)| {
        let node = tree.lookup(&bytes_path)?;
        Some((node, bytes, layer))
    });
    match found {
        Some((node, bytes, layer)) => (
            title,
            format!(
                "{score} The biggest waste is {} ({}), written by {}. The image pane lists \
                 every wasted path; `e` explains the selected one, and {} of `layerscope \
                 ci` say what to change.",
                path(tree, node),
                human(bytes),
                layer_name(explorer, layer),
                plural(hints, "hint", "hints"),
            ),
            Target::Path { layer, node },
        ),
        None => (
            title,
            format!("{score} Nothing is wasted."),
            Target::Layer(explorer.layer_count().saturating_sub(1)),
        ),
    }
}

fn cache_order(explorer: &mut Explorer) -> Parts {
    let title = "Order decides what the build cache reuses";
    let base = explorer.facts().waste.base_layers;
    let count = explorer.layer_count();
    // The dependency install: the first layer of the image's own build made by a `RUN`.
    let install = (base..count)
        .find(|&l| {
            explorer
                .facts()
                .layers
                .get(l)
                .is_some_and(|f| f.instruction.trim_start().starts_with("RUN"))
        })
        .unwrap_or(count.saturating_sub(1));
    let before = install
        .checked_sub(1)
        .filter(|&l| l >= base)
        .map(|l| format!(" after {} copied the requirements", layer_name(explorer, l)))
        .unwrap_or_default();
    let last = count.saturating_sub(1);
    let after = if last > install {
        format!(
            " The source code comes last, in {}: a change to it rebuilds only that layer, and \
             the build cache reuses the ones below.",
            layer_name(explorer, last)
        )
    } else {
        String::new()
    };
    let text = format!(
        "A build reuses a cached layer until a step's input changes; then that step and \
         every step after it run again. Here {} installs the dependencies{before}.{after} \
         `wasteful` copies all its sources before installing (`COPY . .`), so any change \
         to them installs everything again.",
        layer_name(explorer, install),
    );
    (title, text, Target::Layer(install))
}

fn end(explorer: &mut Explorer) -> Parts {
    let top = explorer.layer_count().saturating_sub(1);
    let text = "The tour is over. Try next: `e` explains the selected layer or path; `f` \
                shows the Dockerfile beside the layers; `t` starts the tour again. On your \
                own image, run `layerscope IMAGE`, `layerscope explain IMAGE` and \
                `layerscope ci IMAGE`."
        .to_string();
    ("The end of the tour", text, Target::Layer(top))
}

fn capitalised(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

impl Explorer {
    /// Select what a tour step points at: its layer (its own changes), and its path; or a
    /// path of the whole filesystem after the top layer.
    pub fn go_to(&mut self, target: Target) {
        match target {
            Target::Layer(layer) | Target::Path { layer, .. } => {
                self.compare_layer();
                self.select_layer(layer);
            }
            Target::Merged { .. } => {
                self.compare_all();
                self.select_layer(self.layer_count().saturating_sub(1));
            }
        }
        if let Target::Path { node, .. } | Target::Merged { node } = target {
            self.select_path(node);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every step of the lesson on its own demo image, as the tour opens them.
    fn walk() -> Vec<(Step, Explorer)> {
        let mut current = demo_explorer(demo::find("hello").unwrap()).unwrap();
        (0..LESSON.len())
            .map(|at| {
                open_image_for(&mut current, at).unwrap();
                let step = step(&mut current, at);
                // A fresh explorer on the same image, for the test to select in.
                let fresh = demo_explorer(demo::find(step.image).unwrap()).unwrap();
                (step, fresh)
            })
            .collect()
    }

    fn selected(explorer: &Explorer) -> Option<String> {
        explorer
            .selected_node()
            .map(|node| path(&explorer.image().tree, node))
    }

    #[test]
    fn every_step_selects_its_target_in_the_embedded_demo_it_names() {
        for (step, mut explorer) in walk() {
            assert_eq!(explorer.demo(), Some(step.image), "{:?}", step.topic);
            explorer.go_to(step.target);
            let layer = match step.target {
                Target::Layer(l) | Target::Path { layer: l, .. } => l,
                Target::Merged { .. } => explorer.layer_count() - 1,
            };
            assert_eq!(explorer.layer(), layer, "{:?}", step.topic);
            if let Target::Path { node, .. } | Target::Merged { node } = step.target {
                assert_eq!(explorer.selected_node(), Some(node), "{:?}", step.topic);
            }
            assert!(
                !step.text.contains("No layer of this image"),
                "{}",
                step.text
            );
        }
    }

    #[test]
    fn the_five_ideas_come_first_in_the_lessons_order() {
        let topics: Vec<Topic> = LESSON.iter().map(|(_, t)| *t).collect();
        let first = |wanted: fn(&Topic) -> bool| topics.iter().position(wanted).unwrap();
        let ideas = [
            first(|t| *t == Topic::ReadOnlyLayers),
            first(|t| matches!(t, Topic::FiveLayers(_))),
            first(|t| *t == Topic::ContainerLayer),
            first(|t| *t == Topic::SharedBase),
            first(|t| *t == Topic::MultiStage),
        ];
        assert!(ideas.windows(2).all(|w| w[0] < w[1]), "{ideas:?}");
        // One step per layer of `demo layers`, in order, all before the container step.
        let five: Vec<usize> = topics
            .iter()
            .filter_map(|t| match t {
                Topic::FiveLayers(l) => Some(*l),
                _ => None,
            })
            .collect();
        assert_eq!(five, [0, 1, 2, 3, 4]);
        let layers = demo::load(demo::find("layers").unwrap()).unwrap();
        assert_eq!(layers.layers.len(), five.len());
        // Every mechanic after the five ideas; the end last.
        let mechanics = [
            Topic::Whiteout,
            Topic::OpaqueDirectory,
            Topic::WasteAndScore,
            Topic::CacheOrder,
        ];
        for m in mechanics {
            let at = topics.iter().position(|t| *t == m).unwrap();
            assert!(at > ideas[4], "{m:?}");
        }
        assert_eq!(topics.last(), Some(&Topic::End));
        // `layerscope demo NAME` starts on NAME; plain `layerscope demo` at step 1.
        assert_eq!(start("hello"), first(|t| *t == Topic::MultiStage));
        assert_eq!(LESSON[start("layers")].0, "layers");
        assert_eq!(start("layers"), 0);
    }

    #[test]
    fn the_five_layer_steps_measure_each_layer_of_demo_layers() {
        let steps = walk();
        let layers = demo::load(demo::find("layers").unwrap()).unwrap();
        for (step, explorer) in &steps {
            let Topic::FiveLayers(l) = step.topic else {
                continue;
            };
            assert!(matches!(step.target, Target::Path { layer, .. } if layer == l));
            // The sizes the loader measured from the layer's own tar and blob.
            let info = &layers.layers[l];
            for size in [info.content_bytes, info.compressed_bytes] {
                assert!(step.text.contains(&human(size)), "{}", step.text);
            }
            let _ = explorer;
        }
    }

    #[test]
    fn the_sharing_step_counts_the_base_blob_once_from_the_archives() {
        let (step, _) = walk()
            .into_iter()
            .find(|(s, _)| s.topic == Topic::SharedBase)
            .unwrap();
        // Oracle: each archive's manifest, read with serde_json here, and the blob sizes.
        let mut total = 0u64;
        let mut base = None;
        for image in demo::IMAGES {
            let blobs = demo::layer_blobs(image);
            assert!(!blobs.is_empty());
            let sum: u64 = blobs.iter().map(|(size, _)| size).sum();
            assert!(step
                .text
                .contains(&format!("{} {}", image.name, human(sum))));
            total += sum;
            let first = blobs[0].clone();
            assert_eq!(*base.get_or_insert(first.clone()), first, "{}", image.name);
        }
        let (base_size, _) = base.unwrap();
        assert!(
            step.text.contains(&format!(
                "5 of them carry this {} base layer: as separate copies they take {}; with the \
             base stored once, {}.",
                human(base_size),
                human(total),
                human(total - 4 * base_size)
            )),
            "{}",
            step.text
        );
    }

    #[test]
    fn the_opaque_step_says_what_the_rm_layer_really_holds() {
        let (step, explorer) = walk()
            .into_iter()
            .find(|(s, _)| s.topic == Topic::OpaqueDirectory)
            .unwrap();
        assert!(matches!(step.target, Target::Path { layer: 2, .. }));
        let Target::Path { node, .. } = step.target else {
            unreachable!()
        };
        assert_eq!(path(&explorer.image().tree, node), "/var/cache/app");
        // Oracle: the names in layer 2's own tar.
        let image = demo::find("opaque").unwrap();
        let (_, digest) = demo::layer_blobs(image)[2].clone();
        let blob = demo::blob(image, &digest).unwrap();
        let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(&blob[..]));
        let names: Vec<String> = tar
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().to_string_lossy().into_owned())
            .collect();
        assert!(names
            .iter()
            .any(|n| n.ends_with("var/cache/app/.wh..wh..opq")));
        assert!(!names
            .iter()
            .any(|n| n.contains("/.wh.") && !n.ends_with(".wh..opq")));
        assert!(names.iter().any(|n| n.ends_with("var/cache/app/index")));
        assert!(
            step.text.contains("holds no whiteout")
                && step
                    .text
                    .contains("`/var/cache/app/.wh..wh..opq` and the new /var/cache/app/index")
                && step.text.contains("rm -rf")
                && step.text.contains("Dockerfile line 12")
                && step.text.contains("hides the 2 paths"),
            "{}",
            step.text
        );
        let _ = selected(&explorer);
    }

    #[test]
    fn the_mechanics_point_at_what_the_dockerfiles_do() {
        let steps = walk();
        let by = |topic: Topic| steps.iter().find(|(s, _)| s.topic == topic).unwrap();
        // wasteful: `RUN rm /tmp/scratch.bin` (line 27) deletes what line 26's `dd` wrote.
        let (whiteout, explorer) = by(Topic::Whiteout);
        assert!(matches!(whiteout.target, Target::Path { layer: 8, .. }));
        let Target::Path { node, .. } = whiteout.target else {
            unreachable!()
        };
        assert_eq!(path(&explorer.image().tree, node), "/tmp/scratch.bin");
        assert!(
            whiteout.text.contains("`.wh.scratch.bin`")
                && whiteout.text.contains(crate::analysis::glossary::WHITEOUT)
                && whiteout.text.contains("Dockerfile line 27"),
            "{}",
            whiteout.text
        );
        // hello: the one file `COPY --from=build` put in layer 1.
        let (multi, _) = by(Topic::MultiStage);
        assert!(matches!(multi.target, Target::Path { layer: 1, .. }));
        assert!(
            multi
                .text
                .contains("holds 1 file copied from the build stage: /usr/local/bin/hello")
                && multi.text.contains("`build`"),
            "{}",
            multi.text
        );
        // The stage's size as demo/build.sh measured it (demo/hello/build-stage.size).
        assert!(
            multi
                .text
                .contains("(651.5 MB in 18470 files when demo/build.sh built it)"),
            "{}",
            multi.text
        );
        // fixed: the install (line 9) after the requirements (line 8), the source last.
        let (order, _) = by(Topic::CacheOrder);
        assert_eq!(order.target, Target::Layer(2));
        assert!(
            order.text.contains("Dockerfile line 9") && order.text.contains("Dockerfile line 11"),
            "{}",
            order.text
        );
        let wasteful = demo::find("wasteful").unwrap().dockerfile;
        let copy_all = wasteful.find("COPY . .").unwrap();
        assert!(copy_all < wasteful.find("install-deps.sh").unwrap());
        let (end, _) = by(Topic::End);
        assert!(end.text.starts_with("The tour is over."));
    }
}
