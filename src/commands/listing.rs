//! `ls` and `changes`: the merged filesystem after a layer (as text, or ncdu's export),
//! and one layer's changes.

use crate::cli::{ChangesArgs, LsArgs, LsFormat};
use crate::escape::{escape_bytes, escape_str};
use crate::model::LoadedImage;
use std::io::{self, Write};

/// `ls`: the text listing, or ncdu's export; a warning on stderr (unless `quiet`) when a
/// size had to be clamped for ncdu.
pub fn ls(
    loaded: &LoadedImage,
    args: &LsArgs,
    quiet: bool,
    out: &mut dyn Write,
) -> io::Result<i32> {
    let Some(layer) = pick_layer(loaded, args.layer) else {
        return Ok(2);
    };
    if args.format == LsFormat::Ncdu {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let clamped = super::ncdu::write(&loaded.tree, layer, now, out)?;
        if let (Some(first), false) = (&clamped.first, quiet) {
            eprintln!(
                "layerscope: warning: {}: {} file size(s) past ncdu's limit of {} bytes written as that limit (first: {})",
                escape_str(&loaded.image.source),
                clamped.count,
                super::ncdu::MAX_NCDU_SIZE,
                escape_bytes(first)
            );
        }
        return Ok(0);
    }
    for row in loaded.tree.listing(layer) {
        if args.long {
            writeln!(out, "{}", row.long_line())?;
        } else {
            writeln!(out, "{}", escape_bytes(&row.path))?;
        }
    }
    Ok(0)
}

pub fn changes(loaded: &LoadedImage, args: &ChangesArgs, out: &mut dyn Write) -> io::Result<i32> {
    let Some(layer) = pick_layer(loaded, Some(args.layer)) else {
        return Ok(2);
    };
    let tree = &loaded.tree;
    let mut rows: Vec<(Vec<u8>, char)> = tree
        .diff(layer.checked_sub(1), layer)
        .into_iter()
        .map(|d| (tree.path(d.node), d.kind.letter()))
        .collect();
    rows.sort_unstable();
    for (path, letter) in rows {
        writeln!(out, "{letter} {}", escape_bytes(&path))?;
    }
    Ok(0)
}

/// The requested layer, or the top one; `None` (after an error message) when out of range.
fn pick_layer(loaded: &LoadedImage, requested: Option<usize>) -> Option<usize> {
    let count = loaded.tree.layer_count();
    if count == 0 {
        eprintln!(
            "layerscope: error: {}: the image has no layers",
            loaded.image.source
        );
        return None;
    }
    match requested {
        None => Some(count - 1),
        Some(n) if n < count => Some(n),
        Some(n) => {
            eprintln!(
                "layerscope: error: {}: no layer {n}; the image has layers 0 to {}",
                loaded.image.source,
                count - 1
            );
            None
        }
    }
}
