//! Real images built by real tools: the merged tree must list exactly what an unpacked
//! rootfs holds (`*.rootfs.txt`, made with umoci), with the right layer and history counts.
//!
//! The full set lives in `$LAYERSCOPE_FIXTURES` (`../shared/fixtures` by default); a few
//! small images are copied into `tests/fixtures/` so that part of this runs anywhere.

use layerscope::image::history::InstructionKind;
use layerscope::image::OpenOptions;
use layerscope::layer::ParseControl;
use layerscope::load::{load_path, LoadOptions, LoadedImage};
use std::path::PathBuf;

fn shared_fixtures() -> Option<PathBuf> {
    let dir = std::env::var_os("LAYERSCOPE_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures"));
    if dir.join("README.md").is_file() {
        Some(dir)
    } else {
        eprintln!("note: shared fixtures not found at {dir:?}; only tests/fixtures is checked");
        None
    }
}

fn local_fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn load(path: &std::path::Path, platform: Option<&str>) -> LoadedImage {
    let options = LoadOptions {
        open: OpenOptions {
            platform: platform.map(str::to_string),
            ..Default::default()
        },
        verify: true,
        threads: 0,
        ..Default::default()
    };
    load_path(
        path.to_str().unwrap(),
        &options,
        &ParseControl::default(),
        &mut |_| {},
    )
    .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn listing(loaded: &LoadedImage) -> String {
    let top = loaded.tree.layer_count() - 1;
    let mut text = String::new();
    for row in loaded.tree.listing(top) {
        text.push_str(&row.long_line());
        text.push('\n');
    }
    text
}

fn assert_matches_reference(
    image: &std::path::Path,
    reference: &std::path::Path,
    platform: Option<&str>,
) {
    let loaded = load(image, platform);
    let expected = std::fs::read_to_string(reference).unwrap();
    let actual = listing(&loaded);
    if actual != expected {
        let first_difference = actual
            .lines()
            .zip(expected.lines())
            .find(|(a, e)| a != e)
            .map(|(a, e)| format!("got      {a}\nexpected {e}"))
            .unwrap_or_else(|| {
                format!(
                    "{} lines vs {} lines",
                    actual.lines().count(),
                    expected.lines().count()
                )
            });
        panic!(
            "{}: listing differs from {}\n{first_difference}",
            image.display(),
            reference.display()
        );
    }
}

/// Every `NAME.tar` with a `NAME.rootfs.txt` in `dir`.
fn single_platform_images(dir: &std::path::Path) -> Vec<(PathBuf, PathBuf)> {
    let mut pairs: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "tar"))
        .filter_map(|tar| {
            let reference = tar.with_extension("rootfs.txt");
            reference.is_file().then_some((tar, reference))
        })
        .collect();
    pairs.sort();
    pairs
}

#[test]
fn local_fixture_listings_match_their_rootfs() {
    let pairs = single_platform_images(&local_fixtures());
    assert!(pairs.len() >= 6, "tests/fixtures lost its images");
    for (image, reference) in pairs {
        assert_matches_reference(&image, &reference, None);
    }
}

#[test]
fn shared_fixture_listings_match_their_rootfs() {
    let Some(dir) = shared_fixtures() else { return };
    let pairs = single_platform_images(&dir);
    assert!(
        pairs.len() >= 14,
        "expected every fixture of the README, found {}",
        pairs.len()
    );
    for (image, reference) in pairs {
        assert_matches_reference(&image, &reference, None);
    }
    for platform in ["linux/amd64", "linux/arm64"] {
        let reference = dir.join(format!(
            "multi-platform-oci-archive.{}.rootfs.txt",
            platform.replace('/', "-")
        ));
        assert_matches_reference(
            &dir.join("multi-platform-oci-archive.tar"),
            &reference,
            Some(platform),
        );
    }
}

/// Layer and history counts from the fixtures' README table.
#[test]
fn layer_and_history_counts_match_the_fixture_table() {
    let Some(dir) = shared_fixtures() else { return };
    let table = [
        ("dive-docker-legacy.tar", 14, 15),
        ("dive-kaniko.tar", 14, 15),
        ("buildx-oci-gzip.tar", 1, 1),
        ("buildx-oci-zstd.tar", 1, 1),
        ("buildx-oci-estargz.tar", 1, 1),
        ("buildx-oci-uncompressed.tar", 1, 1),
        ("docker25-hello-world.tar", 1, 2),
        ("containerd-store-nested-index.tar", 1, 2),
        ("ggcr-whiteout.tar", 3, 3),
        ("ggcr-overwritten-file.tar", 3, 3),
        ("small-docker-archive.tar", 4, 9),
        ("small-oci-archive.tar", 4, 9),
        ("small-zstd-oci-archive.tar", 4, 9),
        ("edge-oci-archive.tar", 3, 4),
    ];
    for (name, layers, history) in table {
        let loaded = load(&dir.join(name), None);
        assert_eq!(loaded.layers.len(), layers, "{name}: layers");
        assert_eq!(loaded.tree.layer_count(), layers, "{name}: tree layers");
        assert_eq!(
            loaded.image.config.history.len(),
            history,
            "{name}: history entries"
        );
        // Every history entry is shown exactly once: with a layer, or after the last one.
        let paired: usize = loaded
            .image
            .history
            .layers
            .iter()
            .map(|l| l.entries.len())
            .sum::<usize>()
            + loaded.image.history.trailing.len();
        assert_eq!(paired, history, "{name}: history pairing");
    }
}

#[test]
fn history_is_paired_with_the_layers_that_follow_metadata() {
    let Some(dir) = shared_fixtures() else { return };
    for name in ["small-docker-archive.tar", "small-oci-archive.tar"] {
        let loaded = load(&dir.join(name), None);
        let layers = &loaded.image.history.layers;
        // LABEL (empty) is folded into the COPY layer; WORKDIR/ENTRYPOINT/CMD trail.
        assert_eq!(layers[0].entries, vec![0, 1], "{name}");
        assert_eq!(layers[0].instruction.kind, InstructionKind::Copy);
        assert_eq!(layers[1].entries, vec![2, 3], "{name}");
        assert_eq!(layers[1].instruction.kind, InstructionKind::Run);
        assert!(layers[1].instruction.text.starts_with("sed -i"));
        assert_eq!(layers[3].entries, vec![5]);
        assert_eq!(loaded.image.history.trailing, vec![6, 7, 8]);
    }
    let kaniko = load(&dir.join("dive-kaniko.tar"), None);
    let kinds: Vec<_> = kaniko
        .image
        .history
        .layers
        .iter()
        .map(|l| l.instruction.kind)
        .collect();
    assert!(
        kinds.iter().filter(|k| **k == InstructionKind::Run).count() >= 10,
        "{kinds:?}"
    );
}

#[test]
fn small_image_changes_per_layer() {
    let Some(dir) = shared_fixtures() else { return };
    for name in [
        "small-docker-archive.tar",
        "small-oci-archive.tar",
        "small-zstd-oci-archive.tar",
    ] {
        let loaded = load(&dir.join(name), None);
        let tree = &loaded.tree;
        let changes = |layer: usize| {
            let mut rows: Vec<String> = tree
                .diff(layer.checked_sub(1), layer)
                .into_iter()
                .map(|d| {
                    format!(
                        "{} {}",
                        d.kind.letter(),
                        String::from_utf8_lossy(&tree.path(d.node))
                    )
                })
                .collect();
            rows.sort();
            rows
        };
        // sed + chmod 600: content and mode changes.
        assert_eq!(
            changes(1),
            ["C /etc/config/app.conf", "C /etc/config/logging.conf"],
            "{name}"
        );
        // rm -f of two files: whiteouts.
        assert_eq!(
            changes(2),
            ["D /app/tmp/cache.bin", "D /etc/config/logging.conf"],
            "{name}"
        );
        // rm -rf /app/static then new content: the opaque marker hides the old children.
        assert_eq!(
            changes(3),
            [
                "A /app/static/css",
                "A /app/static/css/site.css",
                "C /app/static/index.html",
                "A /app/static/main.js",
                "D /app/static/app.js",
                "D /app/static/style.css",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>()
            .tap_sort(),
            "{name}"
        );
    }
}

trait TapSort {
    fn tap_sort(self) -> Self;
}
impl TapSort for Vec<String> {
    fn tap_sort(mut self) -> Self {
        self.sort();
        self
    }
}

#[test]
fn containerd_store_picks_the_only_platform_with_blobs() {
    let image = local_fixtures().join("containerd-store-nested-index.tar");
    let loaded = load(&image, None);
    assert_eq!(
        loaded
            .image
            .platform
            .as_ref()
            .map(|p| p.to_string())
            .as_deref(),
        Some("linux/arm64/v8")
    );
}
