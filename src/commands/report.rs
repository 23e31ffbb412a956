//! `report`: one self-contained HTML page about an image ([`crate::report`]), from the same
//! analyses `ci` and `explain` run, so every figure is the one they give.

use crate::analysis::{self, AnalysisOptions, Waste};
use crate::cli::{GlobalArgs, ReportArgs, ScoreArg};
use crate::error::{Error, Result};
use crate::model::LoadedImage;
use crate::report::{Page, Stack};
use std::io::Write;

pub fn run(args: &ReportArgs, global: &GlobalArgs, out: &mut dyn Write) -> Result<i32> {
    // A bad Dockerfile is refused before the image loads.
    if let Some(path) = &args.dockerfile {
        super::context::read_dockerfile(path)?;
    }
    let loaded =
        super::load_image_with(&args.image, global, Some(crate::analysis::explorer_hooks()))?;
    let dockerfile = args
        .dockerfile
        .as_deref()
        .map(|path| super::context::DockerfileContext::load(path, &loaded))
        .transpose()?;
    let base_layers = dockerfile.as_ref().map(|d| d.mapping.base_layers);
    let mut input = super::ci::build_input(
        &loaded,
        ScoreArg::Layerscope,
        base_layers,
        None,
        dockerfile.as_ref(),
    )?;
    if let Some(path) = &args.dockerfile {
        super::ci::add_dockerfile_hints(&mut input.hints, &loaded, path)?;
    }
    let secrets = super::secrets::report_findings(&loaded, None, dockerfile.as_ref());
    let (stack, waste) = stack(&loaded, dockerfile.as_ref(), base_layers);
    let story =
        super::explain::explain_loaded(&loaded, dockerfile.as_ref().map(|d| &d.dockerfile), None);
    let html = crate::report::page(&Page {
        input: &input,
        stack,
        tree: &loaded.tree,
        waste: &waste,
        secrets: &secrets,
        story: &story,
    });
    match &args.output {
        Some(path) => {
            std::fs::write(path, html).map_err(|e| Error::io(path.display().to_string(), e))?
        }
        None => out
            .write_all(html.as_bytes())
            .map_err(|e| Error::io("stdout", e))?,
    }
    Ok(0)
}

/// The layer stack every HTML view draws, and the analysis its hidden bytes come from.
pub(super) fn stack(
    loaded: &LoadedImage,
    dockerfile: Option<&super::context::DockerfileContext>,
    base_layers: Option<usize>,
) -> (Stack, Waste) {
    let waste = analysis::analyze(
        &loaded.tree,
        &AnalysisOptions {
            base_layers,
            exclude: None,
            packages: None,
        },
    );
    let stack = Stack {
        layers: super::context::layer_summaries(loaded, dockerfile),
        compressed: loaded.layers.iter().map(|l| l.compressed_bytes).collect(),
        hidden: waste.per_layer.iter().map(|l| l.wasted_bytes).collect(),
        base_layers: waste.base_layers,
    };
    (stack, waste)
}
