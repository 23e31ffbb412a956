//! Bytes as an image file: written to an unnamed temporary file and loaded the way the
//! CLI loads a path (source, format detection, manifests, configs, layers, tree).
#![no_main]

use layerscope::layer::ParseControl;
use layerscope::load::{load_path, LoadOptions};
use libfuzzer_sys::fuzz_target;
use std::io::Write;
use std::os::fd::AsRawFd;

fuzz_target!(|data: &[u8]| {
    let mut file = tempfile::tempfile().expect("temporary file");
    file.write_all(data).expect("write");
    // An unnamed file still has a path through /proc, so the real `Source::open` runs.
    let path = format!("/proc/self/fd/{}", file.as_raw_fd());
    let options = LoadOptions {
        verify: true,
        threads: 1,
        ..Default::default()
    };
    let control = ParseControl::default();
    if let Ok(loaded) = load_path(&path, &options, &control, &mut |_| {}) {
        if let Some(top) = loaded.tree.layer_count().checked_sub(1) {
            let _ = loaded.tree.listing(top);
            let _ = loaded.tree.diff(top.checked_sub(1), top);
        }
    }
});
