//! `ci`: analyse, evaluate rules, report. The exit code gates a build: 0 pass, 1 a rule
//! failed, 2 bad input or config. Reports never skip rule evaluation.

use super::context::{
    layer_instruction, layer_line, layer_summaries, read_dockerfile, DockerfileContext,
};
use crate::analysis::{self, dive_score, AnalysisOptions};
use crate::ci::{
    self, evaluate, exit_code, render, CiConfig, CiInput, ReportFormat, RuleOverrides, ScoreKind,
    TextStyle,
};
use crate::cli::{CiArgs, CiFormat, GlobalArgs, ScoreArg};
use crate::error::{Error, Result};
use crate::model::LoadedImage;
use std::io::{IsTerminal, Write};

pub fn run(args: &CiArgs, global: &GlobalArgs, out: &mut dyn Write) -> Result<i32> {
    let cwd = std::env::current_dir().map_err(|e| Error::io("current directory", e))?;
    let mut config = CiConfig::load(args.config.as_deref(), &cwd)?;
    config.apply_overrides(&RuleOverrides {
        lowest_efficiency: args.lowest_efficiency.clone(),
        highest_wasted_bytes: args.highest_wasted_bytes.clone(),
        highest_user_wasted_percent: args.highest_user_wasted_percent.clone(),
        highest_image_bytes: args.highest_image_bytes.clone(),
        highest_layer_count: args.highest_layer_count.clone(),
        secrets: args.secrets.clone(),
    })?;
    let filter = config.path_filter(&args.exclude)?;
    for warning in &config.warnings {
        eprintln!(
            "layerscope: warning: {}",
            crate::escape::escape_str(warning)
        );
    }

    // The scan runs in the layer pass only when the rule will judge it: a disabled
    // `secrets` rule costs nothing.
    let scan_secrets = config.rules.secrets.is_some();
    // The package databases are read in the same pass, for the hints that name packages.
    let hook = if scan_secrets {
        crate::analysis::explorer_hooks()
    } else {
        crate::analysis::packages::Reader::hook()
    };
    let loaded = super::load_image_with(&args.image, global, Some(hook))?;
    let excludes = |path: &[u8]| filter.excludes(path);
    let exclude: Option<analysis::ExcludeFn<'_>> = (!filter.is_empty()).then_some(&excludes);
    let dockerfile = args
        .dockerfile
        .as_deref()
        .map(|path| DockerfileContext::load(path, &loaded))
        .transpose()?;
    // The Dockerfile's base image ends where its final stage's own layers start.
    let base_layers = args
        .base_layers
        .or(dockerfile.as_ref().map(|d| d.mapping.base_layers));
    let mut input = build_input(
        &loaded,
        args.score,
        base_layers,
        exclude,
        dockerfile.as_ref(),
    )?;
    if scan_secrets {
        // `exclude:` globs apply to secret findings as to the rest of the analysis.
        input.secrets = Some(super::secrets::report_findings(
            &loaded,
            exclude,
            dockerfile.as_ref(),
        ));
    }
    if let Some(path) = &args.dockerfile {
        add_dockerfile_hints(&mut input.hints, &loaded, path)?;
    }
    let outcomes = evaluate(&config.rules, &input);

    let format = report_format(args.format);
    let color_text = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let write_error = |e| Error::io("stdout", e);
    match &args.output {
        Some(path) => {
            let report = render(
                format,
                &input,
                &outcomes,
                &TextStyle {
                    color: false,
                    ..Default::default()
                },
            );
            std::fs::write(path, report).map_err(|e| Error::io(path.display().to_string(), e))?;
            let summary = render(
                ReportFormat::Text,
                &input,
                &outcomes,
                &TextStyle {
                    color: color_text,
                    ..Default::default()
                },
            );
            out.write_all(summary.as_bytes()).map_err(write_error)?;
        }
        None => {
            let style = TextStyle {
                color: color_text && format == ReportFormat::Text,
                ..Default::default()
            };
            out.write_all(render(format, &input, &outcomes, &style).as_bytes())
                .map_err(write_error)?;
        }
    }
    Ok(exit_code(&outcomes))
}

/// Give hints their Dockerfile lines and add the hints only the Dockerfile shows.
pub fn add_dockerfile_hints(
    hints: &mut Vec<analysis::Hint>,
    loaded: &LoadedImage,
    path: &std::path::Path,
) -> Result<()> {
    let dockerfile = read_dockerfile(path)?;
    let mapping = crate::dockerfile::map(
        &dockerfile,
        &loaded.image.config.history,
        &loaded.image.history,
    );
    let layer_bytes: Vec<u64> = loaded.layers.iter().map(|l| l.content_bytes).collect();
    analysis::hints::add_dockerfile(hints, &dockerfile, &mapping, &layer_bytes);
    Ok(())
}

fn report_format(format: CiFormat) -> ReportFormat {
    match format {
        CiFormat::Text => ReportFormat::Text,
        CiFormat::Json => ReportFormat::Json,
        CiFormat::Junit => ReportFormat::Junit,
        CiFormat::Github => ReportFormat::Github,
        CiFormat::Markdown => ReportFormat::Markdown,
        CiFormat::Sarif => ReportFormat::Sarif,
    }
}

/// The image's format, and for a container what is scored: the image's layers and the
/// container's writable layer together, as `docker commit` would make them one image.
fn source_format(image: &crate::image::Image) -> String {
    let format = image.format.name();
    match image.layers.last().and_then(|l| l.writable_label()) {
        Some(label) => format!(
            "{format} + the {label}: scored together, as `docker commit` would make them one image"
        ),
        None => format.to_string(),
    }
}

/// Analyse the image with the chosen score and gather what rules and reporters need
/// (all but the secret findings, which only a scanned load has).
pub fn build_input(
    loaded: &LoadedImage,
    score: ScoreArg,
    base_layers: Option<usize>,
    exclude: Option<analysis::ExcludeFn<'_>>,
    dockerfile: Option<&DockerfileContext>,
) -> Result<CiInput> {
    let image = &loaded.image;
    let tree = &loaded.tree;
    let mut input = CiInput {
        image: image
            .tags
            .first()
            .cloned()
            .unwrap_or_else(|| image.source.clone()),
        source: image.source.clone(),
        source_format: source_format(image),
        platform: image.platform.as_ref().map(|p| p.to_string()),
        layer_count: loaded.layers.len(),
        warnings: loaded.warnings.clone(),
        dockerfile: dockerfile.map(|d| ci::DockerfileSummary {
            path: d.path.clone(),
            base_image: d.mapping.base_image.clone(),
            base_layers: d.mapping.base_layers,
            from_line: d
                .dockerfile
                .steps
                .get(d.dockerfile.final_stage().from)
                .map(|step| step.line),
            unmatched_lines: d.mapping.unmatched_lines.clone(),
            unmatched_history: d.mapping.unmatched_history.clone(),
        }),
        ..Default::default()
    };
    // Empty unless the load read the package databases (`ci` and `report` do).
    let packages = analysis::packages::analyze(loaded);
    let options = AnalysisOptions {
        base_layers,
        exclude,
        packages: Some(&packages),
    };
    // Hints are measured on the same tree and options, whichever score the rules judge,
    // on a core of their own: the layers' change counts and the score do not wait for them.
    std::thread::scope(|scope| -> Result<()> {
        let hints = scope.spawn(|| analysis::hints(tree, &options));
        input.layers = layer_summaries(loaded, dockerfile);
        score_into(&mut input, loaded, score, &options, dockerfile)?;
        input.hints = match hints.join() {
            Ok(hints) => hints,
            Err(panic) => std::panic::resume_unwind(panic),
        };
        Ok(())
    })?;
    Ok(input)
}

/// The efficiency score `score` names, and the paths that waste the most, into `input`.
fn score_into(
    input: &mut CiInput,
    loaded: &LoadedImage,
    score: ScoreArg,
    options: &AnalysisOptions<'_>,
    dockerfile: Option<&DockerfileContext>,
) -> Result<()> {
    let (image, tree, exclude) = (&loaded.image, &loaded.tree, options.exclude);
    let instruction = |layer: usize| layer_instruction(loaded, dockerfile, layer);
    let layer_line = |layer: usize| layer_line(dockerfile, layer);
    match score {
        ScoreArg::Layerscope => {
            let waste = analysis::analyze(tree, options);
            input.score_kind = ScoreKind::Layerscope;
            input.efficiency = waste.efficiency;
            input.wasted_bytes = waste.wasted_bytes;
            input.total_bytes = waste.total_bytes;
            input.user_bytes = waste.user_bytes;
            input.user_wasted_ratio = waste.user_wasted_ratio;
            input.inefficient = waste
                .paths
                .iter()
                .map(|p| ci::WastedPath {
                    path: String::from_utf8_lossy(&p.path).into_owned(),
                    count: p.versions.len(),
                    wasted_bytes: p.wasted_bytes,
                    versions: p
                        .versions
                        .iter()
                        .map(|v| ci::PathVersion {
                            layer: v.layer,
                            instruction: instruction(v.layer),
                            dockerfile_line: layer_line(v.layer).map(|l| l.line),
                            action: v.action,
                            size_bytes: v.bytes,
                        })
                        .collect(),
                })
                .collect();
        }
        ScoreArg::Dive => {
            let dive = dive_score(tree, exclude).map_err(|limit| Error::Limit {
                path: image.source.clone(),
                at: "dive's score".into(),
                source: limit,
            })?;
            input.score_kind = ScoreKind::Dive;
            input.efficiency = dive.efficiency;
            input.wasted_bytes = dive.wasted_bytes;
            input.total_bytes = dive.size_bytes;
            input.user_bytes = dive.user_size_bytes;
            input.user_wasted_ratio = dive.user_wasted_percent;
            input.inefficient = dive
                .inefficient
                .iter()
                .map(|f| ci::WastedPath {
                    path: String::from_utf8_lossy(&f.path).into_owned(),
                    count: f.count,
                    wasted_bytes: f.cumulative_bytes,
                    versions: Vec::new(),
                })
                .collect();
        }
    }
    Ok(())
}
