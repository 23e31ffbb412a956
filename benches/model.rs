//! Micro-benchmarks of the model: parsing a layer, applying whiteouts, building the merged
//! tree, both scores, and flattening the explorer's visible rows after a layer switch or a
//! filter keystroke. Run with `cargo bench --bench model`; never part of `cargo test`.
//!
//! Synthetic layers are built in memory (records for the tree benches, real tar bytes for
//! the parser) so that each benchmark measures one stage.

mod common;
#[path = "../tests/support/mod.rs"]
mod support;

use divan::{black_box, Bencher};
use layerscope::analysis::{analyze, dive_score, AnalysisOptions};
use layerscope::explore::filetree::{Compare, Filter, ViewOptions, VisibleRows};
use layerscope::layer::{parse_layer, EntryKind, ParseControl, ParseOptions, ParsedLayer};
use layerscope::tree::Tree;
use support::{Compression, Content, Encoder, LayerSpec};

fn main() {
    divan::main();
}

use common::{build, record, synthetic_layers};

#[divan::bench(args = [Compression::None, Compression::Gzip])]
fn parse_layer_20k_files(bencher: Bencher, compression: Compression) {
    let mut spec = LayerSpec::new();
    for i in 0..20_000u64 {
        spec = spec.content(
            format!("app/d{}/f{i}", i / 100),
            Content::Text { len: 2048, seed: i },
        );
    }
    let tar = spec.tar_bytes();
    let mut encoder = Encoder::new(Vec::new(), compression).unwrap();
    std::io::Write::write_all(&mut encoder, &tar).unwrap();
    let blob = encoder.finish().unwrap();
    bencher
        .counter(divan::counter::BytesCount::new(tar.len()))
        .bench(|| {
            let options = ParseOptions {
                digests: true,
                ..Default::default()
            };
            parse_layer(
                black_box(blob.as_slice()),
                options,
                &ParseControl::default(),
            )
            .unwrap()
        });
}

#[divan::bench]
fn whiteouts_10k_over_50k_files(bencher: Bencher) {
    let mut base = ParsedLayer::default();
    for i in 0..50_000 {
        record(
            &mut base,
            &format!("data/d{}/f{i}", i / 100),
            EntryKind::File,
            i,
        );
    }
    let mut deletes = ParsedLayer::default();
    for i in (0..50_000).step_by(5) {
        record(
            &mut deletes,
            &format!("data/d{}/f{i}", i / 100),
            EntryKind::Whiteout,
            0,
        );
    }
    bencher.bench(|| build(&[base.clone_layer(), deletes.clone_layer()]));
}

trait CloneLayer {
    fn clone_layer(&self) -> ParsedLayer;
}
impl CloneLayer for ParsedLayer {
    fn clone_layer(&self) -> ParsedLayer {
        ParsedLayer {
            records: self.records.clone(),
            arena: self.arena.clone(),
            ..Default::default()
        }
    }
}

#[divan::bench(args = [200_000, 1_000_000])]
fn build_tree(bencher: Bencher, paths: usize) {
    let layers = synthetic_layers(paths, 20);
    bencher.bench(|| build(&layers));
}

#[divan::bench(args = [200_000, 1_000_000])]
fn layerscope_score(bencher: Bencher, paths: usize) {
    let tree = build(&synthetic_layers(paths, 20));
    bencher.bench(|| analyze(&tree, &AnalysisOptions::default()));
}

#[divan::bench(args = [200_000, 1_000_000])]
fn dive_compatible_score(bencher: Bencher, paths: usize) {
    let tree = build(&synthetic_layers(paths, 20));
    bencher.bench(|| dive_score(&tree, None).expect("within the limits"));
}

/// The explorer's model on 1,000,000 paths over 50 layers, every directory expanded.
fn explorer_tree() -> (Tree, VisibleRows) {
    let tree = build(&synthetic_layers(1_000_000, 50));
    let mut rows = VisibleRows::new();
    rows.set_compare(
        &tree,
        Compare {
            from: Some(48),
            to: 49,
        },
    );
    (tree, rows)
}

#[divan::bench(sample_count = 20)]
fn visible_rows_switch_layer(bencher: Bencher) {
    let (tree, mut rows) = explorer_tree();
    let mut layer = 10;
    bencher.bench_local(|| {
        layer = if layer == 10 { 11 } else { 10 };
        rows.set_compare(
            &tree,
            Compare {
                from: Some(layer - 1),
                to: layer,
            },
        );
        rows.len()
    });
}

#[divan::bench(sample_count = 20)]
fn visible_rows_toggle_aggregated(bencher: Bencher) {
    let (tree, mut rows) = explorer_tree();
    let mut aggregated = false;
    bencher.bench_local(|| {
        aggregated = !aggregated;
        let from = if aggregated { None } else { Some(29) };
        rows.set_compare(&tree, Compare { from, to: 30 });
        rows.len()
    });
}

#[divan::bench(sample_count = 20)]
fn visible_rows_filter_keystroke(bencher: Bencher) {
    let (tree, mut rows) = explorer_tree();
    let mut long = false;
    bencher.bench_local(|| {
        long = !long;
        let text = if long { "file12345" } else { "file1234" };
        let options = ViewOptions {
            filter: Some(Filter::parse(text).unwrap()),
            ..ViewOptions::default()
        };
        rows.set_options(&tree, options);
        rows.match_count()
    });
}
