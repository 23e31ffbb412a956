//! What the reports on one loaded image share: the Dockerfile given with `--dockerfile`
//! laid over it, and each layer's summary and label (`ci` and `secrets` both write them).

use crate::analysis::secrets::{redact_mapping, redact_secrets};
use crate::ci::LayerSummary;
use crate::error::{Error, Result};
use crate::model::LoadedImage;

/// A Dockerfile given with `--dockerfile`, laid over the loaded image.
pub(crate) struct DockerfileContext {
    /// As the user gave it.
    pub path: String,
    pub dockerfile: crate::dockerfile::Dockerfile,
    pub mapping: crate::dockerfile::Mapping,
}

impl DockerfileContext {
    /// Read the Dockerfile at `path` and map it onto `loaded`.
    pub fn load(path: &std::path::Path, loaded: &LoadedImage) -> Result<DockerfileContext> {
        let shown = path.display().to_string();
        let dockerfile =
            crate::dockerfile::Dockerfile::read(path).map_err(|e| e.in_file(shown.clone()))?;
        let mut mapping = crate::dockerfile::map(
            &dockerfile,
            &loaded.image.config.history,
            &loaded.image.history,
        );
        redact_mapping(&mut mapping);
        Ok(DockerfileContext {
            path: shown,
            dockerfile,
            mapping,
        })
    }

    /// The label of layer `index` for reports: `line 7: COPY …`, `FROM <base>` for a base
    /// layer, `None` for a layer no line explains.
    pub fn layer_label(&self, index: usize) -> Option<String> {
        let layer = self.mapping.layers.get(index)?;
        match (&layer.origin, &layer.line) {
            (crate::dockerfile::LayerOrigin::Base, _) => {
                Some(format!("FROM {}", self.mapping.base_image))
            }
            (_, Some(line)) => Some(format!(
                "{}: {}",
                line_range(line.line, line.end_line),
                line.instruction
            )),
            _ => None,
        }
    }
}

/// `line 7` or `lines 7-9`.
pub(crate) fn line_range(line: usize, end_line: usize) -> String {
    if end_line > line {
        format!("lines {line}-{end_line}")
    } else {
        format!("line {line}")
    }
}

/// The text of a Dockerfile named on the command line, within the parser's size limit.
pub(crate) fn read_dockerfile_text(path: &std::path::Path) -> Result<String> {
    use std::io::Read;
    let shown = path.display().to_string();
    let io_error = |e| Error::io(shown.clone(), e);
    let file = std::fs::File::open(path).map_err(io_error)?;
    let limit = crate::dockerfile::MAX_DOCKERFILE_BYTES;
    let mut bytes = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(io_error)?;
    if bytes.len() as u64 > limit {
        return Err(crate::dockerfile::DockerfileError::TooLarge {
            size: bytes.len() as u64,
            limit,
        }
        .in_file(shown));
    }
    String::from_utf8(bytes).map_err(|e| {
        Error::Config(format!(
            "Dockerfile {shown}: not UTF-8 text (byte {})",
            e.utf8_error().valid_up_to()
        ))
    })
}

/// Read and parse a Dockerfile named on the command line; errors name the file once.
pub(crate) fn read_dockerfile(path: &std::path::Path) -> Result<crate::dockerfile::Dockerfile> {
    crate::dockerfile::Dockerfile::read(path).map_err(|e| match e {
        // Already names the file.
        crate::dockerfile::DockerfileError::Read { .. } => Error::Config(format!("Dockerfile {e}")),
        other => Error::Config(format!("Dockerfile {}: {other}", path.display())),
    })
}

/// One summary per layer: digest, size, change counts and the instruction that made it
/// (with `--dockerfile`, its line). Instructions are shown with their secrets redacted: a
/// `RUN` line may carry a token.
pub(crate) fn layer_summaries(
    loaded: &LoadedImage,
    dockerfile: Option<&DockerfileContext>,
) -> Vec<LayerSummary> {
    loaded
        .layers
        .iter()
        .map(|info| {
            let counts = loaded.tree.layer_change_counts(info.index);
            LayerSummary {
                index: info.index,
                digest: info
                    .diff_id
                    .clone()
                    .or_else(|| info.digest.clone())
                    .unwrap_or_default(),
                size_bytes: info.content_bytes,
                instruction: layer_instruction(loaded, dockerfile, info.index),
                dockerfile: layer_line(dockerfile, info.index),
                added: counts.added as u64,
                modified: counts.modified as u64,
                removed: counts.removed as u64,
            }
        })
        .collect()
}

/// The layer's label: its Dockerfile line (`line 7: COPY …`, `FROM <base>`), else its
/// history instruction; secrets redacted.
pub(crate) fn layer_instruction(
    loaded: &LoadedImage,
    dockerfile: Option<&DockerfileContext>,
    layer: usize,
) -> Option<String> {
    dockerfile
        .and_then(|d| d.layer_label(layer))
        .or_else(|| {
            loaded
                .image
                .history
                .layers
                .get(layer)
                .map(|h| h.instruction.display())
        })
        .map(|text| redact_secrets(&text))
}

pub(crate) fn layer_line(
    dockerfile: Option<&DockerfileContext>,
    layer: usize,
) -> Option<crate::ci::DockerfileLine> {
    dockerfile
        .and_then(|d| d.mapping.layer_line(layer))
        .map(|l| crate::ci::DockerfileLine {
            line: l.line,
            end_line: l.end_line,
            stage: l.stage.clone(),
            instruction: redact_secrets(&l.instruction),
        })
}

/// The layer stack every HTML view draws, and the analysis its hidden bytes come from.
pub(super) fn stack(
    loaded: &LoadedImage,
    dockerfile: Option<&DockerfileContext>,
    base_layers: Option<usize>,
) -> (crate::report::Stack, crate::analysis::Waste) {
    let waste = crate::analysis::analyze(
        &loaded.tree,
        &crate::analysis::AnalysisOptions {
            base_layers,
            exclude: None,
            packages: None,
        },
    );
    let stack = crate::report::Stack {
        layers: layer_summaries(loaded, dockerfile),
        compressed: loaded.layers.iter().map(|l| l.compressed_bytes).collect(),
        hidden: waste.per_layer.iter().map(|l| l.wasted_bytes).collect(),
        base_layers: waste.base_layers,
    };
    (stack, waste)
}
