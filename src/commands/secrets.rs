//! `secrets IMAGE`: the secret findings of every layer and of the config
//! ([`crate::analysis::secrets`]), as text, JSON or SARIF. Exit 0 with none, 1 with any.
//!
//! [`report_findings`] turns the analysis' findings into what every view shows (the layer,
//! its instruction and Dockerfile line, the fate, redacted), for this command and for
//! `ci`'s `secrets` rule alike.

use super::context::DockerfileContext;
use crate::analysis::secrets::{findings, redact_secrets, ConfigPart, Fate, Finding, Place};
use crate::analysis::ExcludeFn;
use crate::ci::report::sarif::{self, SarifReport};
use crate::ci::{DockerfileLine, SecretFinding};
use crate::cli::{SecretsArgs, SecretsFormat};
use crate::dockerfile::Step;
use crate::error::{Error, Result};
use crate::escape::{escape_bytes, escape_str};
use crate::image::history::InstructionKind;
use crate::model::LoadedImage;
use std::io::{self, Write};

/// The JSON schema's name and version.
pub const SCHEMA: &str = "layerscope.secrets/v1";

pub fn run(args: &SecretsArgs, loaded: &LoadedImage, out: &mut dyn Write) -> Result<i32> {
    let filter = crate::ci::config::CiConfig::default()
        .path_filter(&args.exclude)
        .map_err(|e| Error::Usage(e.to_string()))?;
    let exclude = |path: &[u8]| filter.excludes(path);
    let dockerfile = args
        .dockerfile
        .as_deref()
        .map(|path| DockerfileContext::load(path, loaded))
        .transpose()?;
    let found = report_findings(loaded, Some(&exclude), dockerfile.as_ref());
    let write_error = |e| Error::io("stdout", e);
    match args.format {
        SecretsFormat::Text => write_text(loaded, &found, out),
        SecretsFormat::Json => write_json(loaded, &found, dockerfile.is_some(), out),
        SecretsFormat::Sarif => {
            let layers = super::context::layer_summaries(loaded, dockerfile.as_ref());
            let report = sarif::write(&SarifReport {
                image: &loaded.image.source,
                source: &loaded.image.source,
                layers: &layers,
                secrets: &found,
                hints: None,
                outcomes: None,
                dockerfile: dockerfile.as_ref().map(|d| d.path.as_str()),
                from_line: None,
            });
            out.write_all(report.as_bytes())
        }
    }
    .map_err(write_error)?;
    Ok(if found.is_empty() { 0 } else { 1 })
}

/// Every finding of the image (file paths `exclude` matches left out), with what the views
/// show of it. Nothing returned holds a secret.
pub fn report_findings(
    loaded: &LoadedImage,
    exclude: Option<ExcludeFn<'_>>,
    dockerfile: Option<&DockerfileContext>,
) -> Vec<SecretFinding> {
    findings(loaded, exclude)
        .iter()
        .map(|finding| {
            let layer = finding.layer();
            let line = dockerfile.and_then(|d| dockerfile_line(d, finding));
            let (path, field) = match &finding.place {
                Place::File { path, .. } => (Some(path.clone()), None),
                Place::Config { part, .. } => (None, Some(part.field())),
            };
            SecretFinding {
                rule: finding.rule.id,
                title: finding.rule.title,
                severity: finding.rule.severity,
                fix: finding.rule.fix,
                evidence: finding.evidence,
                preview: finding.preview.clone(),
                path,
                field,
                layer,
                layer_digest: layer.and_then(|l| {
                    let info = loaded.layers.get(l)?;
                    info.diff_id.clone().or_else(|| info.digest.clone())
                }),
                instruction: layer
                    .map(|l| instruction(loaded, l))
                    .filter(|i| !i.is_empty()),
                description: describe(loaded, finding, line.as_ref()),
                dockerfile: line,
                fate: finding.fate,
            }
        })
        .collect()
}

/// The Dockerfile line behind a finding: the instruction whose history entry it is in,
/// the `ENV` or `LABEL` that set it, or the instruction that made its file's layer.
fn dockerfile_line(context: &DockerfileContext, finding: &Finding) -> Option<DockerfileLine> {
    let steps = &context.dockerfile.steps;
    let step = match &finding.place {
        Place::Config {
            part: ConfigPart::History(index),
            ..
        } => context.mapping.history.get(*index).copied().flatten(),
        Place::Config {
            part: ConfigPart::Env(name),
            ..
        } => setting(
            steps,
            &context.mapping.final_steps,
            InstructionKind::Env,
            name,
        ),
        Place::Config {
            part: ConfigPart::Label(key),
            ..
        } => setting(
            steps,
            &context.mapping.final_steps,
            InstructionKind::Label,
            key,
        ),
        Place::File { layer, .. } => context.mapping.layer_line(*layer).map(|l| l.step),
    }?;
    let step = steps.get(step)?;
    Some(DockerfileLine {
        line: step.line,
        end_line: step.end_line,
        stage: step.stage.map(|s| context.dockerfile.stage_label(s)),
        // The line may carry the very token being reported.
        instruction: redact_secrets(&step.text),
    })
}

/// The last `ENV`/`LABEL` of the final chain that sets `name` (`NAME=…`, or the legacy
/// `ENV NAME value`): the value in the config is the last one set.
fn setting(steps: &[Step], chain: &[usize], kind: InstructionKind, name: &str) -> Option<usize> {
    if name.is_empty() {
        return None;
    }
    chain.iter().rev().copied().find(|&index| {
        let step = &steps[index];
        step.kind == kind
            && step
                .arguments
                .split_whitespace()
                .enumerate()
                .any(|(i, word)| {
                    let word = word.trim_matches(['"', '\'']);
                    word.strip_prefix(name)
                        .is_some_and(|rest| rest.starts_with('=') || (i == 0 && rest.is_empty()))
                })
    })
}

/// The instruction of a layer, for "added by layer 3 `RUN …`".
/// Secrets in it are redacted: a `RUN` line may carry the very token being reported.
pub fn instruction(loaded: &LoadedImage, layer: usize) -> String {
    loaded
        .image
        .history
        .layers
        .get(layer)
        .map(|h| redact_secrets(&h.instruction.display()))
        .unwrap_or_default()
}

/// Where the finding is and what became of it, in words (escaped).
fn describe(loaded: &LoadedImage, finding: &Finding, line: Option<&DockerfileLine>) -> String {
    let quoted = |layer: usize| {
        let text = instruction(loaded, layer);
        if text.is_empty() {
            format!("layer {layer}")
        } else {
            format!("layer {layer} `{}`", escape_str(&shorten(&text, 60)))
        }
    };
    let at_line = line.map_or_else(String::new, |l| {
        format!(
            " (Dockerfile {}: {})",
            super::context::line_range(l.line, l.end_line),
            escape_str(&shorten(&l.instruction, 60))
        )
    });
    match &finding.place {
        Place::File { layer, .. } => {
            let added = format!("added by {}{at_line}", quoted(*layer));
            match finding.fate {
                Fate::Present => format!("{added}; in the final filesystem"),
                Fate::Deleted(by) => {
                    format!("{added}; deleted by layer {by}, but still shipped in layer {layer}")
                }
                Fate::Overwritten(by) => format!(
                    "{added}; overwritten by layer {by}, but still shipped in layer {layer}"
                ),
            }
        }
        Place::Config { part, layer } => {
            let field = part.field();
            match layer {
                Some(layer) => format!(
                    "in the image config's {field} (the history of {}){at_line}; every pull ships it",
                    quoted(*layer)
                ),
                None => format!("in the image config's {field}{at_line}; every pull ships it"),
            }
        }
    }
}

fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let mut short: String = text.chars().take(max - 1).collect();
        short.push('…');
        short
    }
}

fn write_text(
    loaded: &LoadedImage,
    found: &[SecretFinding],
    out: &mut dyn Write,
) -> io::Result<()> {
    let image = escape_str(&loaded.image.source);
    if found.is_empty() {
        return writeln!(out, "No secrets found in {image}.");
    }
    let hidden = found.iter().filter(|f| f.hidden_later()).count();
    writeln!(
        out,
        "{} finding{} in {image}{}:",
        found.len(),
        if found.len() == 1 { "" } else { "s" },
        if hidden > 0 {
            format!(" ({hidden} deleted or overwritten later, but still shipped)")
        } else {
            String::new()
        }
    )?;
    for finding in found {
        let preview = if finding.preview.is_empty() {
            String::new()
        } else {
            format!(" [{}]", escape_str(&finding.preview))
        };
        writeln!(
            out,
            "  {} ({}): {}{preview}",
            finding.rule,
            finding.severity.name(),
            finding.place()
        )?;
        writeln!(
            out,
            "    {} ({}): {}",
            finding.title,
            finding.evidence.phrase(),
            finding.description
        )?;
        writeln!(out, "    fix: {}", finding.fix)?;
    }
    Ok(())
}

fn write_json(
    loaded: &LoadedImage,
    found: &[SecretFinding],
    with_dockerfile: bool,
    out: &mut dyn Write,
) -> io::Result<()> {
    use serde_json::json;
    let document = json!({
        "schema": SCHEMA,
        "image": escape_str(&loaded.image.source),
        "findings": found.iter().map(|f| {
            let mut finding = json!({
                "rule": f.rule,
                "title": f.title,
                "severity": f.severity,
                "evidence": f.evidence,
                "preview": f.preview,
                "place": if f.path.is_some() { "file" } else { "config" },
                "path": f.path.as_ref().map(|p| escape_bytes(p).into_owned()),
                "field": f.field,
                "layer": f.layer,
                "layerDigest": f.layer_digest,
                "instruction": f.layer.map(|_| escape_str(f.instruction.as_deref().unwrap_or_default()).into_owned()),
                "fate": f.fate,
                "description": f.description,
                "fix": f.fix,
            });
            if with_dockerfile {
                finding["dockerfile"] = f.dockerfile.as_ref().map_or(serde_json::Value::Null, |d| json!({
                    "line": d.line,
                    "endLine": d.end_line,
                    "stage": d.stage,
                    "instruction": escape_str(&d.instruction),
                }));
            }
            finding
        }).collect::<Vec<_>>(),
    });
    serde_json::to_writer_pretty(&mut *out, &document)?;
    writeln!(out)
}
