//! The Dockerfile beside its layers, as the explorer shows it: every line of the file and
//! what it is to the layers (the instruction that made a layer, the base image's `FROM`,
//! an instruction that made no layer and is shown with the layer that follows), so that a
//! line selects its layer and a layer highlights its lines.

use crate::dockerfile::{self, Dockerfile, DockerfileError, LayerOrigin, Mapping};
use crate::model::LoadedImage;

/// What one line of the Dockerfile is to the layers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineRole {
    /// Part of the instruction that made this layer.
    Layer(usize),
    /// The `FROM` the final image starts from: it stands for the base image's layers.
    Base,
    /// An instruction that made no layer (ENV, WORKDIR, EXPOSE, CMD…): metadata of the
    /// layer that follows it, or of the image's configuration when no layer follows.
    Metadata(Option<usize>),
    /// A comment, a blank line, a build stage's instruction that is not in the image, or
    /// an instruction no history entry matched.
    Other,
}

/// How a line relates to the selected layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Highlight {
    /// The selected layer's own instruction (or the `FROM` of a selected base layer).
    Own,
    /// An instruction recorded with the selected layer that made no layer itself.
    Metadata,
    None,
}

/// A Dockerfile laid over the loaded image.
#[derive(Debug)]
pub struct DockerfileView {
    /// As the user named it (a path, or the demo's file name).
    pub name: String,
    /// The file's lines, raw (escape before drawing).
    lines: Vec<String>,
    roles: Vec<LineRole>,
    pub dockerfile: Dockerfile,
    pub mapping: Mapping,
}

impl DockerfileView {
    /// Parse `text` and map it onto `image`'s history and layers.
    pub fn new(
        name: impl Into<String>,
        text: &str,
        image: &LoadedImage,
    ) -> Result<DockerfileView, DockerfileError> {
        let parsed = Dockerfile::parse(text)?;
        let mapping = dockerfile::map(&parsed, &image.image.config.history, &image.image.history);
        let lines: Vec<String> = text.lines().map(str::to_owned).collect();
        let mut roles = vec![LineRole::Other; lines.len()];
        let mut mark = |step: usize, role: LineRole| {
            let step = &parsed.steps[step];
            let last = step.end_line.min(roles.len());
            let first = step.line.saturating_sub(1).min(last);
            roles[first..last].fill(role);
        };
        // Instructions that made no layer first: a layer's own lines win where both say.
        for step in mapping.matches.iter().map(|m| m.step) {
            mark(step, LineRole::Metadata(None));
        }
        for (layer, mapped) in mapping.layers.iter().enumerate() {
            for &step in &mapped.metadata_steps {
                mark(step, LineRole::Metadata(Some(layer)));
            }
        }
        for (layer, mapped) in mapping.layers.iter().enumerate() {
            if let LayerOrigin::Step { step } = mapped.origin {
                mark(step, LineRole::Layer(layer));
            }
        }
        let root = parsed.final_chain()[0];
        mark(parsed.stages[root].from, LineRole::Base);
        Ok(DockerfileView {
            name: name.into(),
            lines,
            roles,
            dockerfile: parsed,
            mapping,
        })
    }

    pub fn lines(&self) -> &[String] {
        &self.lines
    }

    pub fn len(&self) -> usize {
        self.lines.len()
    }

    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// What line `index` (0-based) is.
    pub fn role(&self, index: usize) -> LineRole {
        self.roles.get(index).copied().unwrap_or(LineRole::Other)
    }

    /// The layer line `index` (0-based) selects: the layer it made, the layer its metadata
    /// goes with, or the top base layer for the `FROM`.
    pub fn layer_of_line(&self, index: usize) -> Option<usize> {
        match self.role(index) {
            LineRole::Layer(layer) | LineRole::Metadata(Some(layer)) => Some(layer),
            LineRole::Base => self.mapping.base_layers.checked_sub(1),
            LineRole::Metadata(None) | LineRole::Other => None,
        }
    }

    /// The first line (1-based) of what made `layer`: its instruction, or the `FROM` of a
    /// base layer. `None` for a layer no line explains.
    pub fn line_of_layer(&self, layer: usize) -> Option<usize> {
        let mapped = self.mapping.layers.get(layer)?;
        match mapped.origin {
            LayerOrigin::Base => {
                let root = self.dockerfile.final_chain()[0];
                Some(self.dockerfile.steps[self.dockerfile.stages[root].from].line)
            }
            LayerOrigin::Step { step } => Some(self.dockerfile.steps[step].line),
            LayerOrigin::Unmatched => None,
        }
    }

    /// How line `index` (0-based) relates to the selected `layer`.
    pub fn highlight(&self, index: usize, layer: usize) -> Highlight {
        match self.role(index) {
            LineRole::Layer(l) if l == layer => Highlight::Own,
            LineRole::Base if self.mapping.is_base_layer(layer) => Highlight::Own,
            LineRole::Metadata(Some(l)) if l == layer => Highlight::Metadata,
            _ => Highlight::None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo;

    fn demo_view(name: &str) -> (LoadedImage, DockerfileView) {
        let image = demo::find(name).unwrap();
        let loaded = demo::load(image).unwrap();
        let view = DockerfileView::new(image.dockerfile_name, image.dockerfile, &loaded).unwrap();
        (loaded, view)
    }

    #[test]
    fn every_line_knows_its_layer_on_the_wasteful_demo() {
        let (loaded, view) = demo_view("wasteful");
        let line = |n: usize| &view.lines()[n - 1];
        // Layer 8 is `RUN rm /tmp/scratch.bin`, line 27 (assets/wasteful.mapping.txt).
        assert!(line(27).starts_with("RUN rm /tmp/scratch.bin"));
        assert_eq!(view.role(26), LineRole::Layer(8));
        assert_eq!(view.line_of_layer(8), Some(27));
        assert_eq!(view.layer_of_line(26), Some(8));
        // `WORKDIR /app` (line 14) made no layer: it goes with layer 1, `COPY . .`.
        assert!(line(14).starts_with("WORKDIR"));
        assert_eq!(view.role(13), LineRole::Metadata(Some(1)));
        assert_eq!(view.highlight(13, 1), Highlight::Metadata);
        assert_eq!(view.highlight(16, 1), Highlight::Own);
        // The final CMD has no layer after it.
        assert!(line(32).starts_with("CMD"));
        assert_eq!(view.role(31), LineRole::Metadata(None));
        assert_eq!(view.layer_of_line(31), None);
        // The build stage's RUN is not in the image; the final FROM is the base layer.
        assert!(line(8).starts_with("RUN apt-get"));
        assert_eq!(view.role(7), LineRole::Other);
        let from = view.line_of_layer(0).unwrap();
        assert_eq!(line(from), "FROM localhost/demo-base");
        assert_eq!(view.layer_of_line(from - 1), Some(0));
        assert_eq!(view.highlight(from - 1, 0), Highlight::Own);
        // Every layer has a line, and the line leads back to the layer.
        for layer in 0..loaded.tree.layer_count() {
            let line = view.line_of_layer(layer).unwrap();
            assert_eq!(view.layer_of_line(line - 1), Some(layer), "layer {layer}");
        }
    }

    #[test]
    fn continuation_lines_belong_to_their_instruction() {
        let (_, view) = demo_view("layers");
        // `RUN --mount=… \` on lines 23-24 made layer 3.
        assert_eq!(view.role(22), LineRole::Layer(3));
        assert_eq!(view.role(23), LineRole::Layer(3));
        assert_eq!(view.highlight(23, 3), Highlight::Own);
        assert_eq!(view.role(24), LineRole::Other, "the comment after it");
    }
}
