//! Bytes as an engine's export stream (`GET /images/{name}/get`), delivered in short,
//! irregular reads as a socket delivers them, and loaded in one pass by
//! `load::load_stream`: member classification, layers parsed on arrival, kept JSON
//! members, links, manifest order, digests, tree.
#![no_main]

use layerscope::layer::ParseControl;
use layerscope::load::{load_stream, LoadOptions};
use libfuzzer_sys::fuzz_target;
use std::io::Read;

/// Reads of 1..=`step` bytes, the step cycling, like an HTTP body's chunks.
struct Chunked<'a> {
    data: &'a [u8],
    step: usize,
    turn: usize,
}

impl Read for Chunked<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.turn = self.turn.wrapping_add(1);
        let want = 1 + (self.turn * 7919) % self.step;
        let n = want.min(buf.len()).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

fuzz_target!(|input: &[u8]| {
    let Some((&first, data)) = input.split_first() else {
        return;
    };
    let reader = Chunked {
        data,
        step: 1 + usize::from(first) * 64,
        turn: 0,
    };
    let options = LoadOptions {
        verify: true,
        threads: 2,
        ..Default::default()
    };
    let control = ParseControl::default();
    if let Ok(loaded) = load_stream(reader, "<fuzz>", &options, &control, &mut |_| {}) {
        if let Some(top) = loaded.tree.layer_count().checked_sub(1) {
            let _ = loaded.tree.listing(top);
        }
    }
});
