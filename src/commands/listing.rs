//! `ls` and `changes`: the merged filesystem after a layer, and one layer's changes.

use crate::cli::{ChangesArgs, LsArgs};
use crate::escape::escape_bytes;
use crate::load::LoadedImage;
use std::io::{self, Write};

pub fn ls(loaded: &LoadedImage, args: &LsArgs, out: &mut dyn Write) -> io::Result<i32> {
    let Some(layer) = pick_layer(loaded, args.layer) else {
        return Ok(2);
    };
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
