//! The model's limits (src/limits.rs): each one at the limit and one past it.
//!
//! The layer count is tested at its real value with the real binary, on synthetic images
//! whose manifests reference one tiny layer blob tens of thousands of times. The 4 Gi
//! limits (entries, paths, versions, name and link bytes) would need images of many GiB,
//! so the tree builder takes its limits as a parameter: these tests run the same checks at
//! small limits, and `limits::tests` asserts that the defaults are the types' capacities.

use layerscope::layer::{EntryKind, Meta, ParsedLayer};
use layerscope::limits::{LimitError, Limited, Limits, MAX_LAYERS};
use layerscope::tree::{DiffKind, TreeBuilder};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::Command;

fn meta(kind: EntryKind) -> Meta {
    Meta {
        kind,
        mode: 0o644,
        uid: 0,
        gid: 0,
        size: 1,
        hash: 1,
        offset: 0,
    }
}

/// A layer from (path, kind, link target) triples.
fn layer(entries: &[(&str, EntryKind, &str)]) -> ParsedLayer {
    let mut parsed = ParsedLayer::default();
    for (path, kind, link) in entries {
        parsed.push(path.as_bytes(), link.as_bytes(), meta(*kind));
    }
    parsed
}

fn file(path: &str) -> (&str, EntryKind, &str) {
    (path, EntryKind::File, "")
}

/// Apply `layers` under `limits`: the tree's listing of the top layer, or the first error.
fn build(limits: Limits, layers: &[ParsedLayer]) -> Result<Vec<String>, LimitError> {
    let mut builder = TreeBuilder::with_limits(limits);
    for layer in layers {
        builder.add_layer(layer)?;
    }
    let tree = builder.finish();
    Ok(tree
        .listing(tree.layer_count() - 1)
        .into_iter()
        .map(|row| String::from_utf8(row.path).unwrap())
        .collect())
}

fn refused(result: Result<Vec<String>, LimitError>, what: Limited, count: u64, limit: u64) {
    assert_eq!(result, Err(LimitError { what, count, limit }));
}

#[test]
fn layers_at_the_builder_limit_load_and_one_more_is_refused() {
    let limits = Limits {
        layers: 2,
        ..Limits::default()
    };
    let two = [layer(&[file("a")]), layer(&[file("b")])];
    assert_eq!(build(limits, &two).unwrap(), ["/a", "/b"]);
    let three = [
        layer(&[file("a")]),
        layer(&[file("b")]),
        layer(&[file("c")]),
    ];
    refused(build(limits, &three), Limited::Layers, 3, 2);
}

#[test]
fn the_builder_numbers_every_one_of_65536_layers_and_refuses_the_next() {
    let mut builder = TreeBuilder::new();
    let empty = ParsedLayer::default();
    for _ in 0..MAX_LAYERS - 1 {
        builder.add_layer(&empty).unwrap();
    }
    builder.add_layer(&layer(&[file("last")])).unwrap();
    let error = builder.add_layer(&empty).unwrap_err();
    assert_eq!(
        error,
        LimitError {
            what: Limited::Layers,
            count: 65_537,
            limit: 65_536
        }
    );
    // A failed builder stays failed.
    assert_eq!(builder.add_layer(&empty), Err(error));

    let mut builder = TreeBuilder::new();
    for _ in 0..MAX_LAYERS - 1 {
        builder.add_layer(&empty).unwrap();
    }
    builder.add_layer(&layer(&[file("last")])).unwrap();
    let tree = builder.finish();
    assert_eq!(tree.layer_count(), 65_536);
    let last = tree.layer_entries(65_535);
    assert_eq!(last.len(), 1);
    assert_eq!(last[0].layer, 65_535);
    let diff = tree.diff(Some(65_534), 65_535);
    let changed: Vec<(DiffKind, String)> = diff
        .iter()
        .map(|d| (d.kind, String::from_utf8(tree.path(d.node)).unwrap()))
        .collect();
    assert_eq!(changed, [(DiffKind::Added, "/last".to_string())]);
}

#[test]
fn entries_at_the_limit_load_and_one_more_is_refused() {
    let limits = Limits {
        entries: 3,
        ..Limits::default()
    };
    let at = [layer(&[file("a"), file("b")]), layer(&[file("c")])];
    assert_eq!(build(limits, &at).unwrap(), ["/a", "/b", "/c"]);
    let past = [
        layer(&[file("a"), file("b")]),
        layer(&[file("c"), file("d")]),
    ];
    refused(build(limits, &past), Limited::Entries, 4, 3);
}

#[test]
fn paths_at_the_limit_load_and_one_more_is_refused() {
    // The root is a node: `a/b` makes three.
    let limits = Limits {
        nodes: 3,
        ..Limits::default()
    };
    assert_eq!(
        build(limits, &[layer(&[file("a/b")])]).unwrap(),
        ["/a", "/a/b"]
    );
    // Rewriting a path makes no node.
    let again = [layer(&[file("a/b")]), layer(&[file("a/b")])];
    assert_eq!(build(limits, &again).unwrap(), ["/a", "/a/b"]);
    let past = [layer(&[file("a/b")]), layer(&[file("a/c")])];
    refused(build(limits, &past), Limited::Nodes, 4, 3);
}

#[test]
fn versions_at_the_limit_load_and_one_more_is_refused() {
    // `d/x` writes two versions (the implied `d`, then `d/x`); the whiteout of `d`
    // records a removal on both.
    let layers = [
        layer(&[file("d/x")]),
        layer(&[("d", EntryKind::Whiteout, ""), file("e")]),
    ];
    let at = Limits {
        versions: 5,
        ..Limits::default()
    };
    assert_eq!(build(at, &layers).unwrap(), ["/e"]);
    let below = Limits {
        versions: 4,
        ..Limits::default()
    };
    refused(build(below, &layers), Limited::Versions, 5, 4);
    // A removal alone can go past the limit too.
    let below = Limits {
        versions: 3,
        ..Limits::default()
    };
    refused(build(below, &layers[..2]), Limited::Versions, 4, 3);
}

#[test]
fn name_bytes_at_the_limit_load_and_one_more_is_refused() {
    // Names are stored once per path: `ab` and `ab/cd` hold 4 bytes, however often written.
    let limits = Limits {
        name_bytes: 4,
        ..Limits::default()
    };
    let at = [layer(&[file("ab/cd")]), layer(&[file("ab/cd")])];
    assert_eq!(build(limits, &at).unwrap(), ["/ab", "/ab/cd"]);
    let past = [layer(&[file("ab/cd")]), layer(&[file("ab/e")])];
    refused(build(limits, &past), Limited::NameBytes, 5, 4);
}

#[test]
fn link_bytes_at_the_limit_load_and_one_more_is_refused() {
    let limits = Limits {
        link_bytes: 7,
        ..Limits::default()
    };
    let at = [
        layer(&[file("target"), ("l", EntryKind::Symlink, "target")]),
        layer(&[("h", EntryKind::Hardlink, "l")]),
    ];
    assert_eq!(build(limits, &at).unwrap(), ["/h", "/l", "/target"]);
    let past = [
        layer(&[file("target"), ("l", EntryKind::Symlink, "target")]),
        layer(&[("h", EntryKind::Hardlink, "ta")]),
    ];
    refused(build(limits, &past), Limited::LinkBytes, 8, 7);
}

#[test]
fn paths_written_through_symlinks_at_the_limit_load_and_one_more_byte_is_refused() {
    // `bin/tool` lands at /usr/bin/tool; the tree keeps `bin/tool` (8 bytes) as written.
    let layers = [
        layer(&[
            ("usr/bin", EntryKind::Dir, ""),
            ("bin", EntryKind::Symlink, "usr/bin"),
        ]),
        layer(&[file("bin/tool")]),
    ];
    let at = Limits {
        written_bytes: 8,
        ..Limits::default()
    };
    assert_eq!(
        build(at, &layers).unwrap(),
        ["/bin", "/usr", "/usr/bin", "/usr/bin/tool"]
    );
    let below = Limits {
        written_bytes: 7,
        ..Limits::default()
    };
    refused(build(below, &layers), Limited::WrittenBytes, 8, 7);
}

// ---------------------------------------------------------------------------------------
// The layer count through the real binary.

/// A directory removed when the test ends, pass or fail.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let path =
            std::env::temp_dir().join(format!("layerscope-limits-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

fn tar_with(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (path, data) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        builder.append_data(&mut header, path, *data).unwrap();
    }
    builder.into_inner().unwrap()
}

/// The blobs of an image of `count` layers: `count - 1` copies of one empty layer, then
/// one that adds `/last.txt`.
struct Synthetic {
    /// The two layer blobs, with their digests.
    blobs: Vec<(String, Vec<u8>)>,
    /// One digest per layer.
    digests: Vec<String>,
    config: Vec<u8>,
}

fn layers_and_config(count: usize) -> Synthetic {
    let empty = tar_with(&[]);
    let last = tar_with(&[("last.txt", b"the top layer\n")]);
    let (empty_digest, last_digest) = (sha256(&empty), sha256(&last));
    let mut digests = vec![empty_digest.clone(); count - 1];
    digests.push(last_digest.clone());
    let config = serde_json::to_vec(&json!({
        "architecture": "amd64",
        "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": digests},
        "config": {},
    }))
    .unwrap();
    Synthetic {
        blobs: vec![(empty_digest, empty), (last_digest, last)],
        digests,
        config,
    }
}

/// An OCI image layout directory with `count` layers.
fn oci_layout(dir: &Path, count: usize) -> PathBuf {
    let root = dir.join(format!("oci-{count}"));
    let blobs = root.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).unwrap();
    let write_blob = |bytes: &[u8]| -> String {
        let digest = sha256(bytes);
        std::fs::write(blobs.join(&digest["sha256:".len()..]), bytes).unwrap();
        digest
    };
    let Synthetic {
        blobs: layer_blobs,
        digests,
        config,
    } = layers_and_config(count);
    for (_, bytes) in &layer_blobs {
        write_blob(bytes);
    }
    let size_of = |digest: &String| {
        layer_blobs
            .iter()
            .find(|(d, _)| d == digest)
            .map(|(_, b)| b.len())
            .unwrap()
    };
    let layers: Vec<Value> = digests
        .iter()
        .map(|d| {
            json!({
                "mediaType": "application/vnd.oci.image.layer.v1.tar",
                "digest": d,
                "size": size_of(d),
            })
        })
        .collect();
    let config_digest = write_blob(&config);
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": config_digest,
            "size": config.len(),
        },
        "layers": layers,
    }))
    .unwrap();
    let manifest_digest = write_blob(&manifest);
    let index = json!({
        "schemaVersion": 2,
        "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": manifest_digest,
            "size": manifest.len(),
        }],
    });
    std::fs::write(root.join("index.json"), index.to_string()).unwrap();
    std::fs::write(root.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    root
}

/// A docker-archive (`docker save` layout, as a directory-free tar) with `count` layers.
fn docker_archive(dir: &Path, count: usize) -> PathBuf {
    let Synthetic {
        blobs: layer_blobs,
        digests,
        config,
    } = layers_and_config(count);
    let member = |digest: &str| format!("{}.tar", &digest["sha256:".len()..]);
    let config_name = format!("{}.json", &sha256(&config)["sha256:".len()..]);
    let manifest = json!([{
        "Config": config_name,
        "RepoTags": ["many:layers"],
        "Layers": digests.iter().map(|d| member(d)).collect::<Vec<_>>(),
    }]);
    let mut builder = tar::Builder::new(Vec::new());
    let mut add = |name: &str, bytes: &[u8]| {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        builder.append_data(&mut header, name, bytes).unwrap();
    };
    for (digest, bytes) in &layer_blobs {
        add(&member(digest), bytes);
    }
    add(&config_name, &config);
    add("manifest.json", manifest.to_string().as_bytes());
    let path = dir.join(format!("docker-{count}.tar"));
    std::fs::write(&path, builder.into_inner().unwrap()).unwrap();
    path
}

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn run(args: &[&str], image: &Path) -> Run {
    let output = Command::new(env!("CARGO_BIN_EXE_layerscope"))
        .args(args)
        .arg(image)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    Run {
        code: output.status.code(),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
    }
}

/// One past the limit: exit 2, one line naming the count, the limit and the manifest,
/// before any layer blob is read.
fn assert_refused(image: &Path, member: &str) {
    for args in [&["inspect", "-q"][..], &["ls", "-q"], &["ci"]] {
        let run = run(args, image);
        assert_eq!(run.code, Some(2), "{args:?}: {}", run.stderr);
        assert_eq!(run.stdout, "", "{args:?}");
        let expected = format!(
            "{}: {member}: 65537 layers exceed layerscope's limit of 65536",
            image.display()
        );
        let lines: Vec<&str> = run.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{args:?}: {}", run.stderr);
        assert!(lines[0].ends_with(&expected), "{args:?}: {}", lines[0]);
    }
}

#[test]
fn an_oci_image_with_65536_layers_loads_and_one_more_is_refused() {
    let dir = TempDir::new("oci");
    let at = oci_layout(&dir.0, MAX_LAYERS);
    let run = run(&["inspect", "-q", "--format", "json"], &at);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    let layers = report["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 65_536);
    assert_eq!(layers[65_535]["index"], 65_535);
    // The last layer's diff is its own file; the one below it changed nothing.
    let changes = self::run(&["changes", "-q", "--layer", "65535"], &at);
    assert_eq!(changes.code, Some(0), "{}", changes.stderr);
    assert_eq!(changes.stdout, "A /last.txt\n");
    let below = self::run(&["changes", "-q", "--layer", "65534"], &at);
    assert_eq!(below.code, Some(0), "{}", below.stderr);
    assert_eq!(below.stdout, "");

    let past = oci_layout(&dir.0, MAX_LAYERS + 1);
    let index: Value =
        serde_json::from_slice(&std::fs::read(past.join("index.json")).unwrap()).unwrap();
    let manifest = index["manifests"][0]["digest"]
        .as_str()
        .unwrap()
        .replace(':', "/");
    // Refused before any layer blob is opened: with the blobs gone, the error is the same.
    for (digest, _) in layers_and_config(2).blobs {
        std::fs::remove_file(past.join("blobs/sha256").join(&digest["sha256:".len()..])).unwrap();
    }
    assert_refused(&past, &format!("blobs/{manifest}"));
}

#[test]
fn a_docker_archive_with_65536_layers_loads_and_one_more_is_refused() {
    let dir = TempDir::new("docker");
    let at = docker_archive(&dir.0, MAX_LAYERS);
    let changes = run(&["changes", "-q", "--layer", "65535"], &at);
    assert_eq!(changes.code, Some(0), "{}", changes.stderr);
    assert_eq!(changes.stdout, "A /last.txt\n");
    let past = docker_archive(&dir.0, MAX_LAYERS + 1);
    assert_refused(&past, "manifest.json");
}
