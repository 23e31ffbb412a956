//! A registry's manifest and index responses: whatever bytes and Content-Type a hostile
//! registry sends, `registry::examine` classifies them, parses them and chooses a
//! platform, returning an error instead of panicking.
#![no_main]

use layerscope::image::Platform;
use layerscope::source::registry::client::Client;
use layerscope::source::registry::{examine, Step};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

const TYPES: [&str; 6] = [
    "",
    "application/json",
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.docker.distribution.manifest.v2+json",
];

fuzz_target!(|data: &[u8]| {
    static CLIENT: OnceLock<Client> = OnceLock::new();
    // Never connects: examine only reads the bytes it is given.
    let client = CLIENT.get_or_init(|| Client::new("fuzz.invalid", "repo", None, &[]).unwrap());
    let Some((&selector, bytes)) = data.split_first() else {
        return;
    };
    let media_type = TYPES[usize::from(selector) % TYPES.len()];
    let wanted = match selector >> 4 {
        0 => None,
        1 => Platform::parse("linux/arm64"),
        _ => Platform::parse("linux/amd64"),
    };
    if let Ok(Step::Follow { digest, .. }) = examine(client, "fuzz", media_type, bytes, wanted.as_ref()) {
        let _ = digest.len();
    }
});
