//! `secrets IMAGE`: the secret findings of every layer and of the config
//! ([`crate::analysis::secrets`]), as text, JSON or SARIF. Exit 0 with none, 1 with any.

use crate::analysis::secrets::{findings, Evidence, Fate, Finding, Place};
use crate::cli::{SecretsArgs, SecretsFormat};
use crate::error::{Error, Result};
use crate::escape::{escape_bytes, escape_str};
use crate::load::LoadedImage;
use std::io::{self, Write};

/// The JSON schema's name and version.
pub const SCHEMA: &str = "layerscope.secrets/v1";

pub fn run(args: &SecretsArgs, loaded: &LoadedImage, out: &mut dyn Write) -> Result<i32> {
    let filter = crate::ci::config::CiConfig::default()
        .path_filter(&args.exclude)
        .map_err(|e| Error::Usage(e.to_string()))?;
    let exclude = |path: &[u8]| filter.excludes(path);
    let found = findings(loaded, Some(&exclude));
    let write_error = |e| Error::io("stdout", e);
    match args.format {
        SecretsFormat::Text => write_text(loaded, &found, out),
        SecretsFormat::Json => write_json(loaded, &found, out),
        SecretsFormat::Sarif => super::sarif::write(loaded, &found, None, out),
    }
    .map_err(write_error)?;
    Ok(if found.is_empty() { 0 } else { 1 })
}

/// The instruction of a layer, for "added by layer 3 `RUN …`".
/// Secrets in it are redacted: a `RUN` line may carry the very token being reported.
pub fn instruction(loaded: &LoadedImage, layer: usize) -> String {
    loaded
        .image
        .history
        .layers
        .get(layer)
        .map(|h| crate::analysis::secrets::redact_secrets(&h.instruction.display()))
        .unwrap_or_default()
}

/// Where the finding is and what became of it, in words.
pub fn describe(loaded: &LoadedImage, finding: &Finding) -> String {
    let quoted = |layer: usize| {
        let text = instruction(loaded, layer);
        if text.is_empty() {
            format!("layer {layer}")
        } else {
            format!("layer {layer} `{}`", escape_str(&shorten(&text, 60)))
        }
    };
    match &finding.place {
        Place::File { layer, .. } => {
            let added = format!("added by {}", quoted(*layer));
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
        Place::Config { field, layer } => match layer {
            Some(layer) => format!(
                "in the image config's {field} (the history of {}); every pull ships it",
                quoted(*layer)
            ),
            None => format!("in the image config's {field}; every pull ships it"),
        },
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

fn evidence(e: Evidence) -> &'static str {
    match e {
        Evidence::Path => "by its name",
        Evidence::Content => "in its content",
        Evidence::Config => "in the config",
    }
}

fn write_text(loaded: &LoadedImage, found: &[Finding], out: &mut dyn Write) -> io::Result<()> {
    let image = escape_str(&loaded.image.source);
    if found.is_empty() {
        return writeln!(out, "No secrets found in {image}.");
    }
    let deleted = found
        .iter()
        .filter(|f| !matches!(f.fate, Fate::Present))
        .count();
    writeln!(
        out,
        "{} finding{} in {image}{}:",
        found.len(),
        if found.len() == 1 { "" } else { "s" },
        if deleted > 0 {
            format!(" ({deleted} deleted or overwritten later, but still shipped)")
        } else {
            String::new()
        }
    )?;
    for finding in found {
        let place = match &finding.place {
            Place::File { path, .. } => escape_bytes(path).into_owned(),
            Place::Config { field, .. } => format!("config {field}"),
        };
        let preview = if finding.preview.is_empty() {
            String::new()
        } else {
            format!(" [{}]", finding.preview)
        };
        writeln!(out, "  {}: {place}{preview}", finding.rule.id)?;
        writeln!(
            out,
            "    {} ({}): {}",
            finding.rule.title,
            evidence(finding.evidence),
            describe(loaded, finding)
        )?;
        writeln!(out, "    fix: {}", finding.rule.fix)?;
    }
    Ok(())
}

fn write_json(loaded: &LoadedImage, found: &[Finding], out: &mut dyn Write) -> io::Result<()> {
    use serde_json::json;
    let document = json!({
        "schema": SCHEMA,
        "image": escape_str(&loaded.image.source),
        "findings": found.iter().map(|f| {
            let (kind, path, field) = match &f.place {
                Place::File { path, .. } => ("file", Some(escape_bytes(path).into_owned()), None),
                Place::Config { field, .. } => ("config", None, Some(field.clone())),
            };
            json!({
                "rule": f.rule.id,
                "title": f.rule.title,
                "evidence": f.evidence,
                "preview": f.preview,
                "place": kind,
                "path": path,
                "field": field,
                "layer": f.layer(),
                "instruction": f.layer().map(|l| escape_str(&instruction(loaded, l)).into_owned()),
                "fate": f.fate,
                "fix": f.rule.fix,
            })
        }).collect::<Vec<_>>(),
    });
    serde_json::to_writer_pretty(&mut *out, &document)?;
    writeln!(out)
}
