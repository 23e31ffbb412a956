//! Bytes as an engine's export stream (`GET /images/{name}/get`), delivered in short,
//! irregular reads as a socket delivers them, and loaded in one pass by
//! `load::load_stream`: member classification, layers parsed on arrival, kept JSON
//! members, links, manifest order, digests, tree. The second byte lowers the stream's
//! limits (members, name and link-target bytes, the decompression cap) to a few, so that
//! crossing each is reached: every failure must stay one line.
#![no_main]

use layerscope::layer::{Expansion, ParseControl};
use layerscope::limits::MemberLimits;
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
    let [first, limits, data @ ..] = input else {
        return;
    };
    let (first, limits) = (*first, usize::from(*limits));
    let reader = Chunked {
        data,
        step: 1 + usize::from(first) * 64,
        turn: 0,
    };
    // Above 0x7f the real limits; else 1 to 16 members, 64 to 2,048 bytes of names and of
    // link targets, and a layer may expand to 1 to 8 times its size, at least 4 KiB.
    let (members, expansion) = if limits > 0x7f {
        (MemberLimits::default(), Expansion::default())
    } else {
        (
            MemberLimits {
                members: 1 + (limits & 0xf),
                name_bytes: 64 << ((limits >> 4) & 0x5),
                link_bytes: 64 << (limits & 0x5),
            },
            Expansion {
                ratio: 1 + ((limits >> 4) & 0x7) as u64,
                floor: 4096,
            },
        )
    };
    let options = LoadOptions {
        verify: true,
        threads: 2,
        members,
        expansion,
        ..Default::default()
    };
    let control = ParseControl::default();
    match load_stream(reader, "<fuzz>", &options, &control, &mut |_| {}) {
        Ok(loaded) => {
            if let Some(top) = loaded.tree.layer_count().checked_sub(1) {
                let _ = loaded.tree.listing(top);
            }
        }
        Err(error) => {
            // As the binary prints it: escaped, so a name's own newline is no second line.
            let message = error.to_string();
            let shown = layerscope::escape::escape_str(&message);
            assert!(!shown.contains('\n'), "not one line: {shown}");
        }
    }
});
