//! Synthetic layers for the benchmarks: records built in memory, so that a benchmark
//! measures one stage and not the parser.
#![allow(dead_code)]

use layerscope::image::{self, history::pair_history, Format, Image, LayerRef};
use layerscope::layer::{EntryKind, Meta, ParsedLayer};
use layerscope::load::{LayerInfo, LayerStatus, LoadedImage};
use layerscope::tree::{Tree, TreeBuilder};

pub fn record(layer: &mut ParsedLayer, path: &str, kind: EntryKind, hash: u64) {
    let meta = Meta {
        kind,
        mode: 0o644,
        uid: 0,
        gid: 0,
        size: 4096,
        hash,
        offset: 0,
    };
    layer.push(path.as_bytes(), b"", meta);
}

/// `paths` files spread over `layers` layers in directories of 100, each later layer also
/// overwriting 5% of the files of the layer below.
pub fn synthetic_layers(paths: usize, layers: usize) -> Vec<ParsedLayer> {
    let per_layer = paths / layers;
    let path = |n: usize| format!("usr/share/d{}/s{}/file{n}.txt", n / 10_000, n / 100);
    (0..layers)
        .map(|l| {
            let mut layer = ParsedLayer::default();
            for i in 0..per_layer {
                let n = l * per_layer + i;
                record(&mut layer, &path(n), EntryKind::File, n as u64);
            }
            if l > 0 {
                for i in (0..per_layer).step_by(20) {
                    let n = (l - 1) * per_layer + i;
                    record(&mut layer, &path(n), EntryKind::File, !(n as u64));
                }
            }
            layer
        })
        .collect()
}

pub fn build(layers: &[ParsedLayer]) -> Tree {
    let mut builder = TreeBuilder::new();
    for layer in layers {
        builder.add_layer(layer).expect("within the limits");
    }
    builder.finish()
}

/// A loaded image around a synthetic tree, as the explorer receives it.
pub fn loaded_image(paths: usize, layers: usize) -> LoadedImage {
    let parsed = synthetic_layers(paths, layers);
    let tree = build(&parsed);
    let infos = parsed
        .iter()
        .enumerate()
        .map(|(index, layer)| LayerInfo {
            index,
            status: LayerStatus::Loaded,
            compression: None,
            compressed_bytes: 0,
            uncompressed_bytes: 0,
            entries: layer.records.len(),
            content_bytes: layer.records.iter().map(|r| r.meta.size).sum(),
            digest: None,
            diff_id: None,
        })
        .collect();
    let image = Image {
        source: "synthetic".into(),
        format: Format::OciLayout,
        tags: Vec::new(),
        other_images: Vec::new(),
        platform: None,
        platforms: Vec::new(),
        config: image::ImageConfig::default(),
        config_digest: None,
        layers: (0..layers)
            .map(|index| LayerRef {
                index,
                member: None,
                media_type: None,
                digest: None,
                diff_id: None,
                size: None,
                unavailable: None,
                writable: None,
            })
            .collect(),
        history: pair_history(&[], layers),
        warnings: Vec::new(),
    };
    LoadedImage {
        image,
        layers: infos,
        tree,
        warnings: Vec::new(),
        found: Vec::new(),
    }
}
