//! Hints and `explain` on real images built by buildah (`tests/fixtures/hints/build.sh`).
//!
//! Every hint's bytes are checked against an independent count: the archive is opened
//! here with the `tar` and `flate2` crates alone (index.json → manifest → layer blobs), and
//! the sizes are summed straight from the layer tar headers, never through layerscope's
//! model.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// One entry of a layer tar, as its header says.
struct TarEntry {
    path: String,
    regular: bool,
    size: u64,
    mode: u32,
    data: Vec<u8>,
}

/// The layers of an oci-archive, bottom first, and the config's history `created_by`s of
/// the layers that have one.
fn read_oci_archive(path: &Path) -> (Vec<Vec<TarEntry>>, Vec<String>) {
    let mut members: HashMap<String, Vec<u8>> = HashMap::new();
    let mut archive = tar::Archive::new(std::fs::File::open(path).unwrap());
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let name = entry.path().unwrap().to_string_lossy().into_owned();
        let mut data = Vec::new();
        entry.read_to_end(&mut data).unwrap();
        members.insert(name.trim_start_matches("./").to_string(), data);
    }
    let blob = |digest: &str| -> &Vec<u8> {
        let hex = digest.strip_prefix("sha256:").unwrap();
        &members[&format!("blobs/sha256/{hex}")]
    };
    let json = |bytes: &[u8]| -> serde_json::Value { serde_json::from_slice(bytes).unwrap() };
    let index = json(&members["index.json"]);
    let manifest = json(blob(index["manifests"][0]["digest"].as_str().unwrap()));
    let config = json(blob(manifest["config"]["digest"].as_str().unwrap()));
    let layers = manifest["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|layer| {
            let compressed = blob(layer["digest"].as_str().unwrap());
            let mut tar_bytes = Vec::new();
            flate2::read::GzDecoder::new(compressed.as_slice())
                .read_to_end(&mut tar_bytes)
                .unwrap();
            let mut entries = Vec::new();
            let mut layer_tar = tar::Archive::new(tar_bytes.as_slice());
            for entry in layer_tar.entries().unwrap() {
                let mut entry = entry.unwrap();
                let header = entry.header().clone();
                let mut data = Vec::new();
                entry.read_to_end(&mut data).unwrap();
                entries.push(TarEntry {
                    path: entry
                        .path()
                        .unwrap()
                        .to_string_lossy()
                        .trim_start_matches("./")
                        .trim_end_matches('/')
                        .to_string(),
                    regular: header.entry_type().is_file(),
                    size: header.size().unwrap(),
                    mode: header.mode().unwrap() & 0o7777,
                    data,
                });
            }
            entries
        })
        .collect();
    let history = config["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| !h["empty_layer"].as_bool().unwrap_or(false))
        .map(|h| h["created_by"].as_str().unwrap_or("").to_string())
        .collect();
    (layers, history)
}

/// Regular-file bytes of layer entries under any of `prefixes`, and the layers they are in.
fn bytes_under(layers: &[Vec<TarEntry>], prefixes: &[&str]) -> (u64, Vec<usize>) {
    let mut bytes = 0;
    let mut found = Vec::new();
    for (index, layer) in layers.iter().enumerate() {
        for entry in layer {
            if entry.regular
                && prefixes
                    .iter()
                    .any(|p| entry.path.starts_with(&format!("{p}/")))
            {
                bytes += entry.size;
                if !found.contains(&index) {
                    found.push(index);
                }
            }
        }
    }
    (bytes, found)
}

fn layer_with(layers: &[Vec<TarEntry>], path: &str) -> usize {
    layers
        .iter()
        .position(|l| l.iter().any(|e| e.path == path))
        .unwrap_or_else(|| panic!("no layer holds {path}"))
}

/// The 1-based line of the first Containerfile line that starts with `prefix`.
fn line_of(containerfile: &str, prefix: &str) -> u64 {
    containerfile
        .lines()
        .position(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no line starts with {prefix}")) as u64
        + 1
}

fn ci_json(image: &Path, dockerfile: &Path) -> serde_json::Value {
    let out = Command::new(env!("CARGO_BIN_EXE_layerscope"))
        .env_remove("CI")
        .args(["ci", "-q", "--format", "json", "--dockerfile"])
        .arg(dockerfile)
        .arg(image)
        .output()
        .unwrap();
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn explain(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_layerscope"))
        .args(["explain", "-q"])
        .args(args)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The hint of `kind` whose first path starts with `prefix` (any, when empty).
fn hint<'a>(hints: &'a [serde_json::Value], kind: &str, prefix: &str) -> &'a serde_json::Value {
    let found: Vec<_> = hints
        .iter()
        .filter(|h| h["kind"] == kind)
        .filter(|h| prefix.is_empty() || h["paths"][0].as_str().unwrap().starts_with(prefix))
        .collect();
    assert_eq!(found.len(), 1, "{kind} {prefix}: {hints:#?}");
    found[0]
}

fn layers_of(h: &serde_json::Value) -> Vec<usize> {
    h["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_u64().unwrap() as usize)
        .collect()
}

#[test]
fn every_hint_of_the_wasteful_image_measures_its_bytes() {
    let image = fixture("hints-wasteful.tar");
    let dockerfile = fixture("hints/wasteful/Containerfile");
    let containerfile = std::fs::read_to_string(&dockerfile).unwrap();
    let (layers, history) = read_oci_archive(&image);
    let report = ci_json(&image, &dockerfile);
    let hints = report["hints"].as_array().unwrap();

    // Package caches, one hint per package manager, each counted from the tar headers.
    let caches = [
        ("/var/", &["var/lib/apt/lists", "var/cache/apt"][..]),
        ("/root/.cache/pip", &["root/.cache/pip"][..]),
        ("/root/.npm", &["root/.npm"][..]),
        (
            "/root/.cache/go-build",
            &["root/.cache/go-build", "root/go/pkg/mod"][..],
        ),
        ("/usr/local/cargo", &["usr/local/cargo/registry"][..]),
        ("/root/.m2", &["root/.m2"][..]),
    ];
    for (prefix, places) in caches {
        let (bytes, in_layers) = bytes_under(&layers, places);
        assert!(bytes > 0, "{prefix}");
        let h = hint(hints, "package-cache", prefix);
        assert_eq!(h["bytes"], bytes, "{prefix}");
        assert_eq!(layers_of(h), in_layers, "{prefix}");
        assert_eq!(h["bytesKind"], "image");
    }
    let apt = hint(hints, "package-cache", "/var/");
    assert_eq!(
        apt["dockerfileLines"],
        serde_json::json!([line_of(&containerfile, "RUN mkdir -p /var/lib/apt")])
    );

    // Added in one layer, deleted by a whiteout in the next.
    let added = layer_with(&layers, "tmp/sources.tar");
    let deleted = layer_with(&layers, "tmp/.wh.sources.tar");
    let size = layers[added]
        .iter()
        .find(|e| e.path == "tmp/sources.tar")
        .unwrap()
        .size;
    let h = hint(hints, "deleted-later", "");
    assert_eq!(h["bytes"], size);
    assert_eq!(layers_of(h), vec![added, deleted]);
    assert_eq!(h["paths"], serde_json::json!(["/tmp/sources.tar"]));
    assert!(h["fix"].as_str().unwrap().contains("same RUN"));
    assert_eq!(
        h["dockerfileLines"],
        serde_json::json!([
            line_of(&containerfile, "RUN dd if=/dev/urandom of=/tmp/sources.tar"),
            line_of(&containerfile, "RUN rm /tmp/sources.tar")
        ])
    );

    // chmod after COPY: the chmod layer holds the same bytes again with another mode.
    let chmod = history
        .iter()
        .position(|h| h.contains("chmod 0755 /app/run.sh"))
        .unwrap();
    let copy = layer_with(&layers, "app/run.sh");
    let mut chmod_bytes = 0;
    for entry in layers[chmod].iter().filter(|e| e.regular) {
        let below = layers[copy].iter().find(|e| e.path == entry.path).unwrap();
        assert_eq!(below.data, entry.data, "{}", entry.path);
        assert_ne!(below.mode, entry.mode, "{}", entry.path);
        chmod_bytes += entry.size;
    }
    let h = hint(hints, "chmod-copy", "");
    assert_eq!(h["bytes"], chmod_bytes);
    assert_eq!(layers_of(h), vec![copy, chmod]);
    assert!(h["fix"].as_str().unwrap().contains("COPY --chmod"));

    // .git from the build context.
    let (git_bytes, git_layers) = bytes_under(&layers, &["app/.git"]);
    let h = hint(hints, "vcs-directory", "/app/.git/");
    assert_eq!(
        (h["bytes"].as_u64().unwrap(), layers_of(h)),
        (git_bytes, git_layers)
    );
    assert!(h["fix"].as_str().unwrap().contains(".dockerignore"));

    // Compiler and headers.
    let (tool_bytes, tool_layers) = bytes_under(&layers, &["usr/lib/gcc", "usr/include"]);
    let h = hint(hints, "build-toolchain", "");
    assert_eq!(
        (h["bytes"].as_u64().unwrap(), layers_of(h)),
        (tool_bytes, tool_layers)
    );
    assert!(h["fix"].as_str().unwrap().contains("COPY --from"));

    // The same 20 KiB twice, compared byte for byte here.
    let data = |path: &str| {
        layers[copy]
            .iter()
            .find(|e| e.path == path)
            .unwrap()
            .data
            .clone()
    };
    assert_eq!(data("app/data.bin"), data("app/data-copy.bin"));
    let h = hint(hints, "duplicate-content", "");
    assert_eq!(h["bytes"], data("app/data-copy.bin").len() as u64);
    assert_eq!(
        h["paths"],
        serde_json::json!(["/app/data-copy.bin", "/app/data.bin"])
    );

    // COPY . before the install: the install layer is rebuilt on every source change.
    let install = history
        .iter()
        .position(|h| h.ends_with("-c npm ci"))
        .unwrap();
    let install_bytes: u64 = layers[install]
        .iter()
        .filter(|e| e.regular)
        .map(|e| e.size)
        .sum();
    let h = hint(hints, "cache-busting-order", "");
    assert_eq!(h["bytes"], install_bytes);
    assert_eq!(h["bytesKind"], "rebuild");
    assert_eq!(layers_of(h), vec![copy, install]);
    assert_eq!(
        h["dockerfileLines"],
        serde_json::json!([
            line_of(&containerfile, "COPY . /app"),
            line_of(&containerfile, "RUN npm ci")
        ])
    );

    // Nothing else, and no byte counted twice.
    assert_eq!(hints.len(), 12, "{hints:#?}");
    let image_bytes: u64 = hints
        .iter()
        .filter(|h| h["bytesKind"] == "image")
        .map(|h| h["bytes"].as_u64().unwrap())
        .sum();
    assert!(image_bytes <= report["image"]["totalBytes"].as_u64().unwrap());
    let sorted: Vec<u64> = hints.iter().map(|h| h["bytes"].as_u64().unwrap()).collect();
    assert!(sorted.windows(2).all(|w| w[0] >= w[1]), "{sorted:?}");
}

#[test]
fn the_clean_twin_gets_no_hint() {
    let report = ci_json(
        &fixture("hints-clean.tar"),
        &fixture("hints/clean/Containerfile"),
    );
    assert_eq!(report["hints"], serde_json::json!([]), "{report:#}");
    // Without the Dockerfile too.
    let out = Command::new(env!("CARGO_BIN_EXE_layerscope"))
        .env_remove("CI")
        .args(["ci", "-q", "--format", "json"])
        .arg(fixture("hints-clean.tar"))
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["hints"], serde_json::json!([]));
}

#[test]
fn hints_leave_the_score_alone() {
    // The score of the wasteful image is its hidden bytes over its shipped bytes, counted
    // here from the tar headers: the hints, though they name far more bytes, add nothing.
    let image = fixture("hints-wasteful.tar");
    let (layers, _) = read_oci_archive(&image);
    let total: u64 = layers
        .iter()
        .flatten()
        .filter(|e| e.regular)
        .map(|e| e.size)
        .sum();
    let sources = layers
        .iter()
        .flatten()
        .find(|e| e.path == "tmp/sources.tar")
        .unwrap()
        .size;
    let copy = layer_with(&layers, "app/run.sh");
    let chmod_copies: u64 = layers[copy]
        .iter()
        .filter(|e| e.path == "app/run.sh" || e.path == "app/data.bin")
        .map(|e| e.size)
        .sum();
    let report = ci_json(&image, &fixture("hints/wasteful/Containerfile"));
    assert_eq!(report["image"]["totalBytes"], total);
    assert_eq!(report["image"]["wastedBytes"], sources + chmod_copies);
}

#[test]
fn explain_markdown_on_the_wasteful_image() {
    let image = fixture("hints-wasteful.tar");
    let dockerfile = fixture("hints/wasteful/Containerfile");
    let md = explain(&[
        image.to_str().unwrap(),
        "--dockerfile",
        dockerfile.to_str().unwrap(),
        "--format",
        "markdown",
    ]);
    insta::assert_snapshot!("explain_wasteful_markdown", md);
}

#[test]
fn explain_text_tells_the_layer_story() {
    let image = fixture("hints-wasteful.tar");
    let text = explain(&[image.to_str().unwrap()]);
    let whiteout = format!(
        "/tmp/.wh.sources.tar is a whiteout, {}. It deletes /tmp/sources.tar. The 65.5 kB it \
         hides stay in layer 4",
        layerscope::analysis::glossary::WHITEOUT
    );
    assert!(text.contains(&whiteout), "{text}");
    assert!(
        text.contains(
            "only its mode changed (644 to 755), yet the layer stores the whole file again"
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "`ENV NODE_ENV=production` and `WORKDIR /app` changed only the image's configuration"
        ),
        "{text}"
    );
    assert!(text.contains("one thin writable layer"), "{text}");
    assert!(!text.contains('\x1b'));
}

#[test]
fn explain_the_multi_stage_clean_twin() {
    let image = fixture("hints-clean.tar");
    let dockerfile = fixture("hints/clean/Containerfile");
    let text = explain(&[
        image.to_str().unwrap(),
        "--dockerfile",
        dockerfile.to_str().unwrap(),
    ]);
    assert!(
        text.contains("The Dockerfile has 2 stages: `build` from `hints-base`"),
        "{text}"
    );
    assert!(
        text.contains("`COPY --from=build /out/tool /usr/local/bin/tool` (line 16)"),
        "{text}"
    );
    assert!(
        text.contains("What to change\n--------------\nNothing"),
        "{text}"
    );
}

#[test]
fn explain_shows_opaque_markers_and_runs_on_every_fixture() {
    let dir = std::env::var_os("LAYERSCOPE_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures"));
    let mut seen_opaque = false;
    let mut images: Vec<PathBuf> = std::fs::read_dir(fixture(""))
        .unwrap()
        .chain(std::fs::read_dir(&dir).into_iter().flatten())
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "tar"))
        .collect();
    images.sort();
    assert!(images.len() >= 8);
    for image in images {
        for format in ["text", "markdown"] {
            let out = explain(&[image.to_str().unwrap(), "--format", format]);
            assert!(out.ends_with('\n') && !out.ends_with("\n\n"), "{image:?}");
            seen_opaque |= out.contains(&format!(
                "is an opaque whiteout, {}",
                layerscope::analysis::glossary::OPAQUE_WHITEOUT
            ));
        }
    }
    if dir.join("small-docker-archive.tar").exists() {
        assert!(seen_opaque);
    }
}

#[test]
fn a_missing_or_broken_dockerfile_is_a_one_line_error() {
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("Dockerfile");
    std::fs::write(&broken, "RUN echo no FROM here\n").unwrap();
    for dockerfile in [dir.path().join("absent"), broken] {
        let out = Command::new(env!("CARGO_BIN_EXE_layerscope"))
            .args(["explain", "-q", "--dockerfile"])
            .arg(&dockerfile)
            .arg(fixture("hints-clean.tar"))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.contains("Dockerfile"), "{stderr}");
        assert!(out.stdout.is_empty());
    }
}
