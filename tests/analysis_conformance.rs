//! The two waste scores on the real images in the shared fixtures.
//!
//! - `dive_score` must reproduce dive 0.13.1's numbers (the table in the fixtures'
//!   README.md) on every docker-archive.
//! - `analyze` must give the same numbers for the same image whatever its format, and those
//!   numbers are derived below from the layers' contents.
//!
//! The fixtures folder comes from `LAYERSCOPE_FIXTURES` (default `../shared/fixtures`);
//! without it the tests print a note and pass.

use layerscope::analysis::{analyze, dive_score, AnalysisOptions, DiveScore, PathEvent, Waste};
use layerscope::layer::ParseControl;
use layerscope::load::{load_path, LoadOptions};
use std::path::PathBuf;

fn fixtures() -> Option<PathBuf> {
    let dir = std::env::var_os("LAYERSCOPE_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures"));
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "note: fixtures not found at {}; set LAYERSCOPE_FIXTURES",
            dir.display()
        );
        None
    }
}

fn load(dir: &std::path::Path, name: &str) -> layerscope::tree::Tree {
    let path = dir.join(name);
    let options = LoadOptions {
        verify: true,
        ..Default::default()
    };
    load_path(
        path.to_str().unwrap(),
        &options,
        &ParseControl::default(),
        &mut |_| {},
    )
    .unwrap_or_else(|e| panic!("{name}: {e}"))
    .tree
}

/// dive's JSON export for one image (`--json`): efficiencyScore, inefficientBytes,
/// sizeBytes, userWastedPercent (from `--ci`) and inefficientFiles.
struct DiveReport {
    efficiency: f64,
    wasted: u64,
    size: u64,
    user_wasted_percent: f64,
    /// The README rounds this one's percent to six decimals.
    rounded: bool,
    files: &'static [(usize, u64, &'static str)],
}

const DIVE: &[(&str, DiveReport)] = &[
    (
        "dive-docker-legacy.tar",
        DiveReport {
            efficiency: 0.9844212134184309,
            wasted: 32025,
            size: 1220598,
            user_wasted_percent: 0.4834911001404049,
            rounded: false,
            files: &[
                (2, 12810, "/root/saved.txt"),
                (2, 12810, "/root/example/somefile1.txt"),
                (2, 6405, "/root/example/somefile3.txt"),
            ],
        },
    ),
    (
        "dive-kaniko.tar",
        DiveReport {
            efficiency: 0.9793688490216431,
            wasted: 46245,
            size: 1326410,
            user_wasted_percent: 0.4884502043790995,
            rounded: false,
            files: &[
                (2, 18498, "/root/saved.txt"),
                (2, 18498, "/root/example/somefile1.txt"),
                (2, 9249, "/root/example/somefile3.txt"),
            ],
        },
    ),
    (
        "small-docker-archive.tar",
        DiveReport {
            efficiency: 0.8563350138074335,
            wasted: 1048701,
            size: 7299329,
            // The README gives six decimals: 1048701 / 104.
            user_wasted_percent: 10083.663462,
            rounded: true,
            files: &[
                (2, 1048576, "/app/tmp/cache.bin"),
                (2, 56, "/etc/config/app.conf"),
                (2, 47, "/app/static/index.html"),
                (3, 22, "/etc/config/logging.conf"),
            ],
        },
    ),
    (
        "docker25-hello-world.tar",
        DiveReport {
            efficiency: 1.0,
            wasted: 0,
            size: 9136,
            user_wasted_percent: f64::NAN,
            rounded: false,
            files: &[],
        },
    ),
    (
        "ggcr-whiteout.tar",
        DiveReport {
            efficiency: 0.5,
            wasted: 4,
            size: 8,
            user_wasted_percent: f64::INFINITY,
            rounded: false,
            files: &[(2, 4, "/foo.txt")],
        },
    ),
    (
        "ggcr-overwritten-file.tar",
        DiveReport {
            efficiency: 0.5,
            wasted: 4,
            size: 8,
            user_wasted_percent: 1.0,
            rounded: false,
            files: &[(2, 4, "/foo.txt")],
        },
    ),
    (
        "containerd-store-nested-index.tar",
        DiveReport {
            efficiency: 1.0,
            wasted: 0,
            size: 5200,
            user_wasted_percent: f64::NAN,
            rounded: false,
            files: &[],
        },
    ),
];

fn close(actual: f64, expected: f64, tolerance: f64) -> bool {
    if expected.is_nan() {
        actual.is_nan()
    } else if expected.is_infinite() {
        actual == expected
    } else {
        (actual - expected).abs() <= tolerance
    }
}

fn check_dive(name: &str, score: &DiveScore, expected: &DiveReport) {
    assert!(
        close(score.efficiency, expected.efficiency, 1e-9),
        "{name}: efficiency {} != {}",
        score.efficiency,
        expected.efficiency
    );
    assert_eq!(score.wasted_bytes, expected.wasted, "{name}: wasted bytes");
    assert_eq!(score.size_bytes, expected.size, "{name}: size bytes");
    // dive computes the ratio from the two integers; the README may round it.
    let ratio = score.wasted_bytes as f64 / score.user_size_bytes as f64;
    assert!(
        close(score.user_wasted_percent, ratio, 0.0) || ratio.is_nan(),
        "{name}: user wasted percent is not wasted / user size"
    );
    let tolerance = if expected.rounded { 1e-6 } else { 1e-9 };
    assert!(
        close(
            score.user_wasted_percent,
            expected.user_wasted_percent,
            tolerance
        ),
        "{name}: user wasted percent {} != {}",
        score.user_wasted_percent,
        expected.user_wasted_percent
    );
    let files: Vec<(usize, u64, String)> = score
        .inefficient
        .iter()
        .map(|f| {
            (
                f.count,
                f.cumulative_bytes,
                String::from_utf8_lossy(&f.path).into_owned(),
            )
        })
        .collect();
    let expected_files: Vec<(usize, u64, String)> = expected
        .files
        .iter()
        .map(|&(c, b, p)| (c, b, p.to_string()))
        .collect();
    assert_eq!(files, expected_files, "{name}: inefficient files");
    assert!(score.aborted.is_empty(), "{name}: {:?}", score.aborted);
}

#[test]
fn dive_score_matches_dive_on_docker_archives() {
    let Some(dir) = fixtures() else { return };
    for (name, expected) in DIVE {
        let tree = load(&dir, name);
        check_dive(name, &dive_score(&tree, None).unwrap(), expected);
    }
}

#[test]
fn dive_score_on_oci_archives_is_what_dive_would_give_with_the_right_layer_order() {
    // dive orders an OCI archive's layers by map iteration; in manifest order the same
    // image scores as its docker-archive does.
    let Some(dir) = fixtures() else { return };
    let (_, expected) = DIVE
        .iter()
        .find(|(n, _)| *n == "small-docker-archive.tar")
        .unwrap();
    for name in ["small-oci-archive.tar", "small-zstd-oci-archive.tar"] {
        check_dive(
            name,
            &dive_score(&load(&dir, name), None).unwrap(),
            expected,
        );
    }
}

/// layerscope's score of the `small` image, from its layers:
///
/// ```text
/// layer 0  app/main 6250560, app/main.hardlink (hardlink, 0), app/static/app.js 16,
///          app/static/index.html 20, app/static/style.css 19, app/tmp/cache.bin 1048576,
///          etc/config/app.conf 23, etc/config/logging.conf 11        = 7299225 shipped
/// layer 1  etc/config/app.conf 33 (new content), etc/config/logging.conf 11 (chmod)
///                                                                   =      44 shipped
/// layer 2  whiteouts of app/tmp/cache.bin and etc/config/logging.conf =     0 shipped
/// layer 3  opaque app/static, with css/site.css 15, index.html 27, main.js 18
///                                                                   =      60 shipped
/// ```
///
/// Wasted: cache.bin 1048576 (deleted by layer 2); app.conf's first copy 23 (overwritten
/// by layer 1); logging.conf 11 + 11 (layer 0's copy overwritten by layer 1, layer 1's
/// deleted by layer 2); app.js 16, index.html 20 and style.css 19 (hidden by layer 3's
/// opaque directory). Total 1048676 of 7299329. Every hiding action is in layers 1..3, so
/// all of it is user waste, over 104 user bytes.
fn check_small(name: &str, waste: &Waste) {
    assert_eq!(waste.total_bytes, 7_299_329, "{name}");
    assert_eq!(waste.wasted_bytes, 1_048_676, "{name}");
    assert_eq!(waste.efficiency, 6_250_653.0 / 7_299_329.0, "{name}");
    assert_eq!(waste.base_layers, 1, "{name}");
    assert_eq!(waste.user_bytes, 104, "{name}");
    assert_eq!(waste.user_wasted_bytes, 1_048_676, "{name}");
    assert_eq!(waste.user_wasted_ratio, 1_048_676.0 / 104.0, "{name}");
    let layers: Vec<(u64, u64, u64)> = waste
        .per_layer
        .iter()
        .map(|l| (l.shipped_bytes, l.wasted_bytes, l.hid_bytes))
        .collect();
    assert_eq!(
        layers,
        vec![
            (7_299_225, 1_048_576 + 23 + 11 + 16 + 20 + 19, 0),
            (44, 11, 23 + 11),
            (0, 0, 1_048_576 + 11),
            (60, 0, 16 + 20 + 19),
        ],
        "{name}"
    );
    let paths: Vec<(String, u64)> = waste
        .paths
        .iter()
        .map(|p| {
            (
                String::from_utf8_lossy(&p.path).into_owned(),
                p.wasted_bytes,
            )
        })
        .collect();
    assert_eq!(
        paths,
        vec![
            ("/app/tmp/cache.bin".to_string(), 1_048_576),
            ("/etc/config/app.conf".to_string(), 23),
            ("/etc/config/logging.conf".to_string(), 22),
            ("/app/static/index.html".to_string(), 20),
            ("/app/static/style.css".to_string(), 19),
            ("/app/static/app.js".to_string(), 16),
        ],
        "{name}"
    );
    let logging = &waste.paths[2].versions;
    let actions: Vec<(usize, PathEvent, bool)> = logging
        .iter()
        .map(|v| (v.layer, v.action, v.wasted))
        .collect();
    assert_eq!(
        actions,
        vec![
            (0, PathEvent::Added, true),
            (1, PathEvent::Modified, true),
            (2, PathEvent::Deleted, false),
        ],
        "{name}"
    );
    let index = &waste.paths[3].versions;
    assert_eq!(index[1].action, PathEvent::OpaqueDir, "{name}");
    assert_eq!(
        index[1].cause.as_deref(),
        Some(&b"/app/static"[..]),
        "{name}"
    );
    // The new index.html is written after the opaque marker, and stays.
    assert_eq!((index[2].layer, index[2].wasted), (3, false), "{name}");
}

#[test]
fn layerscope_score_is_the_same_in_every_format() {
    let Some(dir) = fixtures() else { return };
    for name in [
        "small-docker-archive.tar",
        "small-oci-archive.tar",
        "small-zstd-oci-archive.tar",
    ] {
        check_small(
            name,
            &analyze(&load(&dir, name), &AnalysisOptions::default()),
        );
    }
}
