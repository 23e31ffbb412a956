//! `packages IMAGE`: the OS packages of every layer ([`crate::analysis::packages`]), as
//! text or JSON; with `--layer N`, what that layer added, removed and upgraded.

use super::context::{layer_instruction, layer_line, DockerfileContext};
use crate::analysis::packages::{analyze, LayerPackages, Package, Packages};
use crate::cli::{PackagesArgs, PackagesFormat};
use crate::error::{Error, Result};
use crate::escape::escape_str;
use crate::model::LoadedImage;
use crate::size::human;
use serde_json::{json, Value};
use std::io::{self, Write};

/// The JSON schema's name and version.
pub const SCHEMA: &str = "layerscope.packages/v1";

pub fn run(args: &PackagesArgs, loaded: &LoadedImage, out: &mut dyn Write) -> Result<i32> {
    if let Some(layer) = args.layer {
        if layer >= loaded.layers.len() {
            return Err(Error::Usage(format!(
                "--layer {layer}: the image has {} layers (0 to {})",
                loaded.layers.len(),
                loaded.layers.len().saturating_sub(1)
            )));
        }
    }
    let dockerfile = args
        .dockerfile
        .as_deref()
        .map(|path| DockerfileContext::load(path, loaded))
        .transpose()?;
    let mut found = analyze(loaded);
    {
        let mut stderr = io::stderr().lock();
        for warning in &found.warnings {
            let _ = writeln!(stderr, "layerscope: warning: {warning}");
        }
    }
    if let Some(layer) = args.layer {
        found.layers.retain(|l| l.index == layer);
        found.packages.retain(|p| p.layer == layer);
    }
    let write_error = |e| Error::io("stdout", e);
    match args.format {
        PackagesFormat::Text => write_text(loaded, &found, args.layer, dockerfile.as_ref(), out),
        PackagesFormat::Json => {
            let value = to_json(loaded, &found, dockerfile.as_ref());
            serde_json::to_writer_pretty(&mut *out, &value)
                .map_err(io::Error::from)
                .and_then(|()| writeln!(out))
        }
    }
    .map_err(write_error)?;
    Ok(0)
}

fn package_json(package: &Package, dockerfile: Option<&DockerfileContext>) -> Value {
    let mut value = json!({
        "manager": package.manager,
        "name": package.name,
        "version": package.version,
        "arch": package.arch,
        "layer": package.layer,
        "bytes": package.bytes,
        "files": package.files,
        "hidden_bytes": package.hidden_bytes,
        "hidden_files": package.hidden_files,
        "declared_bytes": package.declared_bytes,
    });
    if let Some(line) = layer_line(dockerfile, package.layer) {
        value["dockerfile"] = json!(line);
    }
    value
}

fn to_json(
    loaded: &LoadedImage,
    found: &Packages,
    dockerfile: Option<&DockerfileContext>,
) -> Value {
    let names = |list: &[Package]| list.iter().map(|p| p.name.clone()).collect::<Vec<_>>();
    let layers: Vec<Value> = found
        .layers
        .iter()
        .map(|layer| {
            json!({
                "index": layer.index,
                "added": names(&layer.added),
                "removed": names(&layer.removed),
                "upgraded": layer.upgraded.iter().map(|(u, _)| u).collect::<Vec<_>>(),
                "added_bytes": layer.added.iter().map(|p| p.bytes).sum::<u64>(),
            })
        })
        .collect();
    json!({
        "schema": SCHEMA,
        "image": loaded.image.source,
        "packages": found.packages.iter().map(|p| package_json(p, dockerfile)).collect::<Vec<_>>(),
        "layers": layers,
        "unowned_bytes": found.unowned_bytes,
        "warnings": found.warnings,
    })
}

fn write_text(
    loaded: &LoadedImage,
    found: &Packages,
    layer: Option<usize>,
    dockerfile: Option<&DockerfileContext>,
    out: &mut dyn Write,
) -> io::Result<()> {
    if let Some(index) = layer {
        let label = layer_instruction(loaded, dockerfile, index).unwrap_or_default();
        writeln!(out, "layer {index}: {}", escape_str(&label))?;
        match found.layers.first() {
            Some(changes) => write_layer(changes, out)?,
            None => writeln!(out, "  no package changes")?,
        }
        return Ok(());
    }
    if found.packages.is_empty() {
        writeln!(out, "no dpkg, apk or rpm database in this image")?;
        return Ok(());
    }
    writeln!(
        out,
        "{:<5} {:<32} {:<28} {:>5} {:>10} {:>6}",
        "MGR", "PACKAGE", "VERSION", "LAYER", "BYTES", "FILES"
    )?;
    for p in &found.packages {
        write_package_row(p, out)?;
    }
    let total: u64 = found.packages.iter().map(|p| p.bytes).sum();
    writeln!(
        out,
        "{} packages, {} in their layers; {} in files no package owns",
        found.packages.len(),
        human(total),
        human(found.unowned_bytes)
    )?;
    for changes in &found.layers {
        let label = layer_instruction(loaded, dockerfile, changes.index).unwrap_or_default();
        writeln!(out, "\nlayer {}: {}", changes.index, escape_str(&label))?;
        write_layer(changes, out)?;
    }
    Ok(())
}

fn write_package_row(p: &Package, out: &mut dyn Write) -> io::Result<()> {
    let hidden = if p.hidden_files > 0 {
        format!("  ({} hidden later)", human(p.hidden_bytes))
    } else {
        String::new()
    };
    writeln!(
        out,
        "{:<5} {:<32} {:<28} {:>5} {:>10} {:>6}{hidden}",
        p.manager.name(),
        escape_str(&p.name),
        escape_str(&p.version),
        p.layer,
        human(p.bytes),
        p.files
    )
}

/// One layer's changes, biggest first.
fn write_layer(changes: &LayerPackages, out: &mut dyn Write) -> io::Result<()> {
    let mut added: Vec<&Package> = changes.added.iter().collect();
    added.sort_by(|a, b| b.bytes.cmp(&a.bytes).then(a.name.cmp(&b.name)));
    let total: u64 = added.iter().map(|p| p.bytes).sum();
    if !added.is_empty() {
        writeln!(
            out,
            "  installed {} packages, {}",
            added.len(),
            human(total)
        )?;
        for p in added {
            writeln!(
                out,
                "    + {} {}  {} in {} files",
                escape_str(&p.name),
                escape_str(&p.version),
                human(p.bytes),
                p.files
            )?;
        }
    }
    for (upgrade, p) in &changes.upgraded {
        writeln!(
            out,
            "    ^ {} {} -> {}  {} in {} files",
            escape_str(&upgrade.name),
            escape_str(&upgrade.from),
            escape_str(&upgrade.to),
            human(p.bytes),
            p.files
        )?;
    }
    for p in &changes.removed {
        writeln!(
            out,
            "    - {} {} (installed in layer {})",
            escape_str(&p.name),
            escape_str(&p.version),
            p.layer
        )?;
    }
    Ok(())
}
