//! The guided tour of `layerscope demo`: short steps about layered storage, each pointing
//! at a layer or a path of the open image. Every target is looked up in the image's own
//! content (a whiteout that deletes a file, an opaque marker, the biggest wasted path, a
//! `COPY --from` layer…), never a fixed index, so a rebuilt demo still gets its tour; a
//! step whose kind of thing the image lacks says so and points nowhere.

use super::Explorer;
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
}

/// Which idea a step teaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Topic {
    ReadOnlyLayers,
    Whiteout,
    OpaqueDirectory,
    WasteAndScore,
    SharedBase,
    MultiStage,
    ContainerLayer,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub topic: Topic,
    pub title: &'static str,
    /// Plain text; it quotes paths and instructions from the image, so escape it when
    /// drawing.
    pub text: String,
    /// `None` when the image has nothing of the kind.
    pub target: Option<Target>,
}

/// `layer 3 (`RUN …`, Dockerfile line 5)`, from the explanation's facts.
fn layer_name(explorer: &mut Explorer, layer: usize) -> String {
    let line = explorer
        .dockerfile()
        .and_then(|d| d.mapping.layer_line(layer))
        .map(|l| l.line);
    let facts = explorer.facts();
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

/// The tour's steps for the open image, in teaching order.
pub fn steps(explorer: &mut Explorer) -> Vec<Step> {
    vec![
        read_only_layers(explorer),
        whiteout(explorer),
        opaque_directory(explorer),
        waste_and_score(explorer),
        shared_base(explorer),
        multi_stage(explorer),
        container_layer(explorer),
    ]
}

fn read_only_layers(explorer: &mut Explorer) -> Step {
    let count = explorer.layer_count();
    let base = explorer.facts().waste.base_layers;
    // The first layer the image's own build made, else the first with files.
    let layers = &explorer.image().layers;
    let target = (base..count)
        .chain(0..base)
        .find(|&l| layers.get(l).is_some_and(|i| i.entries > 0));
    let text = match target {
        Some(layer) => {
            let info = &explorer.image().layers[layer];
            let (entries, bytes) = (info.entries, info.content_bytes);
            format!(
                "This image is a stack of {count} read-only layers. Each is a tar archive of \
                 changes to the layers below it. Selected: {}, {entries} entries, {} of file \
                 content. Once built, a layer never changes: a later layer can only add, \
                 replace or hide.",
                layer_name(explorer, layer),
                human(bytes)
            )
        }
        None => format!("This image is a stack of {count} read-only layers, all empty."),
    };
    Step {
        topic: Topic::ReadOnlyLayers,
        title: "An image is a stack of read-only layers",
        text,
        target: target.map(Target::Layer),
    }
}

fn whiteout(explorer: &mut Explorer) -> Step {
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
        return Step {
            topic: Topic::Whiteout,
            title: "Deleting a file only hides it",
            text: "No layer of this image deletes a file. `layerscope demo wasteful` has one."
                .into(),
            target: None,
        };
    };
    let shown = path(tree, node);
    let name = shown.rsplit('/').next().unwrap_or(&shown).to_string();
    let text = format!(
        "{} deletes {shown} with a whiteout `.wh.{name}`: {}. The {} that {} wrote are still \
         in that layer's tar: every pull downloads them, and no container can see them.",
        capitalised(&layer_name(explorer, deleted)),
        crate::analysis::glossary::WHITEOUT_EFFECT,
        human(bytes),
        layer_name(explorer, wrote),
    );
    Step {
        topic: Topic::Whiteout,
        title: "Deleting a file only hides it",
        text,
        target: Some(Target::Path {
            layer: deleted,
            node,
        }),
    }
}

fn opaque_directory(explorer: &mut Explorer) -> Step {
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
        return Step {
            topic: Topic::OpaqueDirectory,
            title: "An opaque directory hides everything below it",
            text: "No layer of this image marks a directory opaque. `layerscope demo opaque` \
                   has one."
                .into(),
            target: None,
        };
    };
    let shown = path(tree, dir);
    let text = format!(
        "{} replaced the directory {shown} and marks it opaque with `{shown}/.wh..wh..opq`: \
         the {count} paths the layers below put there are hidden, and only this layer's \
         entries show. As with a whiteout, the hidden bytes still ship with the layers that \
         wrote them.",
        capitalised(&layer_name(explorer, layer)),
    );
    Step {
        topic: Topic::OpaqueDirectory,
        title: "An opaque directory hides everything below it",
        text,
        target: Some(Target::Path { layer, node: dir }),
    }
}

fn waste_and_score(explorer: &mut Explorer) -> Step {
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
        "Efficiency {efficiency:.1} %: of the {} this image ships, {} can never be seen by a \
         container.",
        human(total),
        human(wasted)
    );
    let tree = &explorer.image().tree;
    let found = biggest.and_then(|(bytes_path, bytes, layer)| {
        let node = tree.lookup(&bytes_path)?;
        Some((node, bytes, layer))
    });
    let (text, target) = match found {
        Some((node, bytes, layer)) => (
            format!(
                "{score} The biggest waste is {} ({}), written by {}. The image pane lists \
                 every wasted path with its story; `e` explains the selected one, and the \
                 {hints} hints of `layerscope ci` say what to change.",
                path(tree, node),
                human(bytes),
                layer_name(explorer, layer)
            ),
            Some(Target::Path { layer, node }),
        ),
        None => (
            format!("{score} Nothing is wasted: `layerscope demo wasteful` shows waste."),
            None,
        ),
    };
    Step {
        topic: Topic::WasteAndScore,
        title: "Wasted bytes and the efficiency score",
        text,
        target,
    }
}

fn shared_base(explorer: &mut Explorer) -> Step {
    let base = explorer.facts().waste.base_layers;
    let from = explorer.dockerfile().map(|d| d.mapping.base_image.clone());
    let Some(top) = base.checked_sub(1) else {
        return Step {
            topic: Topic::SharedBase,
            title: "Identical layers are stored once",
            text: "This image has no base layers: it starts `FROM scratch`.".into(),
            target: None,
        };
    };
    let digest = explorer.image().layers[top].digest.clone();
    let others: Vec<&str> = digest
        .as_deref()
        .map(crate::demo::images_with_blob)
        .unwrap_or_default()
        .into_iter()
        .map(|d| d.name)
        .collect();
    let short = digest
        .as_deref()
        .map(|d| d.get(..19).unwrap_or(d).to_string())
        .unwrap_or_else(|| "?".into());
    let from = from.map_or_else(String::new, |f| format!(" (`FROM {f}`)"));
    let text = format!(
        "Layers 0..={top} come from the base image{from}. An image refers to each layer by \
         its digest, here {short}…, so images that share a layer share its bytes: a registry \
         stores it once and a host pulls it once. Of the demo images, {} carry this very \
         layer.",
        if others.is_empty() {
            "none".to_string()
        } else {
            others.join(", ")
        }
    );
    Step {
        topic: Topic::SharedBase,
        title: "Identical layers are stored once",
        text,
        target: Some(Target::Layer(top)),
    }
}

fn multi_stage(explorer: &mut Explorer) -> Step {
    let facts = explorer.facts();
    let copy = facts
        .layers
        .iter()
        .enumerate()
        .find_map(|(i, f)| f.copy_from.clone().map(|c| (i, c)));
    let stages = facts.multi_stage.as_ref().map_or(0, |m| m.stages.len());
    let Some((layer, from)) = copy else {
        return Step {
            topic: Topic::MultiStage,
            title: "A multi-stage build ships only what it copies",
            text: "This image copies nothing from a build stage. `layerscope demo hello` does."
                .into(),
            target: None,
        };
    };
    let base = from
        .base
        .map_or_else(String::new, |b| format!(", which starts `FROM {b}`"));
    let text = format!(
        "{} copies files from the build stage `{}`{base}. {}Only the last stage's layers \
         are in the image: the other stages are built, used and left in the builder, and \
         their compilers, headers and caches are never shipped, only what `COPY --from` \
         names.",
        capitalised(&layer_name(explorer, layer)),
        from.stage,
        if stages > 1 {
            format!("The Dockerfile has {stages} stages. ")
        } else {
            String::new()
        }
    );
    Step {
        topic: Topic::MultiStage,
        title: "A multi-stage build ships only what it copies",
        text,
        target: Some(Target::Layer(layer)),
    }
}

fn container_layer(explorer: &mut Explorer) -> Step {
    let tree = &explorer.image().tree;
    let Some(top) = tree.layer_count().checked_sub(1) else {
        return Step {
            topic: Topic::ContainerLayer,
            title: "A container adds one writable layer",
            text: "This image has no layers.".into(),
            target: None,
        };
    };
    let biggest = (1..tree.node_count() as NodeId)
        .filter_map(|node| {
            let v = tree.live_at(node, top)?;
            (tree.meta(v).kind == EntryKind::File).then(|| (tree.content_size(v), node))
        })
        .max_by(|a, b| a.0.cmp(&b.0).then_with(|| b.1.cmp(&a.1)));
    let mut text = format!(
        "A container adds one thin writable layer above layer {top}, and all its changes go \
         there, copy-on-write. Creating a file writes it there; deleting a file of the image \
         records a whiteout there. The image's layers are never modified, so every container \
         of the image shares them."
    );
    let target = match biggest {
        Some((size, node)) => {
            text.push_str(&format!(
                " Changing a file first copies all of it up: appending one byte to {} copies \
                 its {} into the container's layer.",
                path(tree, node),
                human(size)
            ));
            Target::Path { layer: top, node }
        }
        None => Target::Layer(top),
    };
    Step {
        topic: Topic::ContainerLayer,
        title: "A container adds one writable layer",
        text,
        target: Some(target),
    }
}

fn capitalised(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

impl Explorer {
    /// Select what a tour step points at: its layer (in layer mode), and its path.
    pub fn go_to(&mut self, target: Target) {
        let layer = match target {
            Target::Layer(layer) | Target::Path { layer, .. } => layer,
        };
        self.compare_layer();
        self.select_layer(layer);
        if let Target::Path { node, .. } = target {
            self.select_path(node);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo;

    /// The explorer on an embedded demo, with its Dockerfile, as `layerscope demo` opens it.
    fn demo_explorer(name: &str) -> Explorer {
        let image = demo::find(name).unwrap();
        let mut explorer = Explorer::new(demo::load(image).unwrap(), None, None);
        explorer
            .set_dockerfile(image.dockerfile_name, image.dockerfile)
            .unwrap();
        explorer
    }

    fn path_of(explorer: &Explorer, target: Target) -> Option<String> {
        match target {
            Target::Path { node, .. } => Some(path(&explorer.image().tree, node)),
            Target::Layer(_) => None,
        }
    }

    #[test]
    fn every_step_finds_its_target_in_the_embedded_demos() {
        let mut found = std::collections::BTreeMap::new();
        let mut named = Vec::new();
        for image in demo::IMAGES {
            let mut explorer = demo_explorer(image.name);
            let steps = steps(&mut explorer);
            assert_eq!(steps.len(), 7);
            for step in steps {
                let Some(target) = step.target else {
                    // It names a demo that has one.
                    let (_, after) = step.text.split_once("`layerscope demo ").unwrap();
                    let other = after.split('`').next().unwrap();
                    named.push((step.topic, other.to_string()));
                    continue;
                };
                // The target is there, and going to it selects it.
                explorer.go_to(target);
                let layer = match target {
                    Target::Layer(l) | Target::Path { layer: l, .. } => l,
                };
                assert_eq!(explorer.layer(), layer, "{}: {:?}", image.name, step.topic);
                if let Target::Path { node, .. } = target {
                    assert_eq!(explorer.selected_node(), Some(node), "{:?}", step.topic);
                }
                found
                    .entry(format!("{:?}", step.topic))
                    .or_insert_with(Vec::new)
                    .push(image.name);
            }
        }
        for (topic, other) in named {
            assert!(
                found[&format!("{topic:?}")].contains(&other.as_str()),
                "{topic:?}: {other} has none: {found:?}"
            );
        }
        for topic in [
            Topic::ReadOnlyLayers,
            Topic::Whiteout,
            Topic::OpaqueDirectory,
            Topic::WasteAndScore,
            Topic::SharedBase,
            Topic::MultiStage,
            Topic::ContainerLayer,
        ] {
            assert!(
                found.contains_key(&format!("{topic:?}")),
                "no demo has a target for {topic:?}: {found:?}"
            );
        }
    }

    #[test]
    fn the_opaque_demo_shows_its_replaced_directory() {
        let mut explorer = demo_explorer("opaque");
        let step = opaque_directory(&mut explorer);
        let target = step.target.unwrap();
        assert_eq!(
            path_of(&explorer, target).as_deref(),
            Some("/var/cache/app")
        );
        // demo/opaque/Dockerfile: the `rm -rf … && mkdir …` of line 12 is layer 2.
        assert!(matches!(target, Target::Path { layer: 2, .. }));
        assert!(
            step.text
                .contains("the 2 paths the layers below put there are hidden")
                && step.text.contains("Dockerfile line 12"),
            "{}",
            step.text
        );
    }

    #[test]
    fn the_wasteful_tour_points_at_what_its_dockerfile_does() {
        let mut explorer = demo_explorer("wasteful");
        let steps = steps(&mut explorer);
        let by_topic = |topic: Topic| steps.iter().find(|s| s.topic == topic).unwrap();
        // `RUN rm /tmp/scratch.bin` (line 27) deletes what line 26's `dd` wrote.
        let whiteout = by_topic(Topic::Whiteout);
        let target = whiteout.target.unwrap();
        assert_eq!(
            path_of(&explorer, target).as_deref(),
            Some("/tmp/scratch.bin")
        );
        assert!(matches!(target, Target::Path { layer: 8, .. }));
        assert!(
            whiteout.text.contains("`.wh.scratch.bin`")
                && whiteout.text.contains("Dockerfile line 27")
                && whiteout.text.contains("262.1 kB"),
            "{}",
            whiteout.text
        );
        // The first `COPY --from=debian` is layer 3 (line 20).
        let multi = by_topic(Topic::MultiStage);
        assert_eq!(multi.target, Some(Target::Layer(3)));
        assert!(multi.text.contains("`debian`"), "{}", multi.text);
        // The base layer is shared with every other demo.
        let base = by_topic(Topic::SharedBase);
        assert_eq!(base.target, Some(Target::Layer(0)));
        for other in ["hello", "layers", "fixed", "opaque"] {
            assert!(base.text.contains(other), "{}", base.text);
        }
        // The score is the waste analysis's.
        let waste = by_topic(Topic::WasteAndScore);
        let efficiency = explorer.facts().waste.efficiency * 100.0;
        assert!(
            waste.text.contains(&format!("{efficiency:.1} %")),
            "{}",
            waste.text
        );
        let top = explorer.layer_count() - 1;
        assert!(matches!(
            by_topic(Topic::ContainerLayer).target,
            Some(Target::Path { layer, .. }) if layer == top
        ));
    }
}
