//! Bytes as a layer blob (plain, gzip or zstd tar): parse it, apply it twice to a tree
//! (so that every path is also overwritten), and run every tree query.
#![no_main]

use layerscope::escape::escape_bytes;
use layerscope::layer::{parse_layer, ParseControl, ParseOptions};
use layerscope::tree::TreeBuilder;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let control = ParseControl::default();
    let Ok(layer) = parse_layer(data, ParseOptions { digests: true, ..Default::default() }, &control) else {
        return;
    };
    for record in &layer.records {
        let _ = escape_bytes(layer.path(record));
        let _ = escape_bytes(layer.link(record));
        let _ = record.meta.ls_mode();
    }
    let mut builder = TreeBuilder::new();
    builder.add_layer(&layer).expect("a fuzz input is far below the limits");
    builder.add_layer(&layer).expect("a fuzz input is far below the limits");
    let tree = builder.finish();
    for top in 0..tree.layer_count() {
        for row in tree.listing(top) {
            let _ = escape_bytes(&row.path);
        }
        let _ = tree.diff(top.checked_sub(1), top);
        let _ = tree.subtree_sizes(top);
    }
    let _ = tree.warnings();
});
