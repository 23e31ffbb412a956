//! Bytes as JSON documents and history text: parsed as an image config (history paired
//! with layers, instructions parsed), as `created_by` text, and as `manifest.json`,
//! `index.json` and a config inside small archives opened through `image::open`.
#![no_main]

use layerscope::escape::escape_str;
use layerscope::image::history::{pair_history, Instruction};
use layerscope::image::{self, ImageConfig, OpenOptions, Platform};
use layerscope::source::Source;
use libfuzzer_sys::fuzz_target;
use std::io::Write;
use std::os::fd::AsRawFd;

/// Fixed blobs the fuzzed `index.json` can point at by name (digests are not checked:
/// verification is off, since the fuzzer cannot forge sha256).
const MANIFEST: &str = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const CONFIG: &str = "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
const LAYER: &str = "sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc";

fn blob(digest: &str) -> String {
    format!("blobs/sha256/{}", &digest[7..])
}

fn config_json() -> Vec<u8> {
    br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"]},"history":[{"created_by":"RUN x"}]}"#.to_vec()
}

fn layer_tar() -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_size(2);
    builder.append_data(&mut header, "f", &b"hi"[..]).unwrap();
    builder.into_inner().unwrap()
}

fn open(members: &[(String, Vec<u8>)]) {
    let mut builder = tar::Builder::new(Vec::new());
    for (name, bytes) in members {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        builder
            .append_data(&mut header, name, bytes.as_slice())
            .unwrap();
    }
    let mut file = tempfile::tempfile().expect("temporary file");
    file.write_all(&builder.into_inner().unwrap()).unwrap();
    let Ok(source) = Source::open(&format!("/proc/self/fd/{}", file.as_raw_fd())) else {
        return;
    };
    for platform in [None, Some("linux/amd64".to_string())] {
        let options = OpenOptions {
            platform,
            image: None,
            verify: false,
        };
        if let Ok(image) = image::open(&source, &options) {
            let _ = image.history.layers.len();
        }
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(config) = serde_json::from_slice::<ImageConfig>(data) {
        let n = config.history.len();
        for layers in [0, 1, n / 2, n, n + 3] {
            let pairing = pair_history(&config.history, layers);
            assert_eq!(pairing.layers.len(), layers);
        }
        for entry in &config.history {
            let instruction = entry.instruction();
            let _ = escape_str(&instruction.display());
            let _ = instruction.label();
        }
        let _ = config.diff_ids();
    }
    if let Ok(text) = std::str::from_utf8(data) {
        for comment in [None, Some("buildkit.dockerfile.v0")] {
            let instruction = Instruction::parse(text, comment);
            let _ = instruction.display();
            let _ = instruction.label();
        }
        let _ = Platform::parse(text);
    }

    let layer = layer_tar();
    let manifest = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{CONFIG}","size":1}},"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"{LAYER}","size":1}}]}}"#
    );
    let blobs = [
        (blob(MANIFEST), manifest.into_bytes()),
        (blob(CONFIG), config_json()),
        (blob(LAYER), layer.clone()),
    ];
    // As manifest.json, next to a config and a layer it can name.
    open(&[
        ("manifest.json".into(), data.to_vec()),
        ("config.json".into(), config_json()),
        ("layer.tar".into(), layer.clone()),
    ]);
    // As a config that a fixed manifest.json names.
    open(&[
        (
            "manifest.json".into(),
            br#"[{"Config":"config.json","RepoTags":["a:b"],"Layers":["layer.tar"]}]"#.to_vec(),
        ),
        ("config.json".into(), data.to_vec()),
        ("layer.tar".into(), layer),
    ]);
    // As index.json (and as a nested index and as the manifest it leads to).
    let mut members: Vec<(String, Vec<u8>)> = blobs.to_vec();
    members.push(("index.json".into(), data.to_vec()));
    open(&members);
    let mut members: Vec<(String, Vec<u8>)> = blobs.to_vec();
    members[0].1 = data.to_vec();
    members.push((
        "index.json".into(),
        format!(r#"{{"schemaVersion":2,"manifests":[{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{MANIFEST}","size":1}}]}}"#).into_bytes(),
    ));
    open(&members);
});
