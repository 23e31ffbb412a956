//! The Dockerfile mapping on real images, line by line: every committed image built from a
//! Dockerfile (the demo images in assets/, the buildah fixtures in tests/fixtures/dockerfile/,
//! dive's test image from the legacy builder and from kaniko in the shared fixtures) is
//! mapped, and the result is compared with the expected mapping committed beside it
//! (`*.mapping.txt`, reviewed by hand against each image's history).

use layerscope::dockerfile::{map, Dockerfile, LayerOrigin, Mapping, MatchQuality};
use layerscope::image::history::InstructionKind;
use layerscope::layer::ParseControl;
use layerscope::load::{load_path, LoadOptions, LoadedImage};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn shared_fixtures() -> Option<PathBuf> {
    let dir = std::env::var_os("LAYERSCOPE_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("../shared/fixtures"));
    dir.is_dir().then_some(dir).or_else(|| {
        eprintln!("note: shared fixtures not found; set LAYERSCOPE_FIXTURES");
        None
    })
}

fn load(path: &Path) -> LoadedImage {
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
    .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The mapping as reviewable text: one row per instruction of the final stage, one per
/// layer, then what matched nothing.
fn render(dockerfile: &Dockerfile, loaded: &LoadedImage, mapping: &Mapping) -> String {
    let history = &loaded.image.config.history;
    let mut out = String::new();
    let _ = writeln!(out, "base: FROM {}", mapping.base_image);
    for &step in &mapping.final_steps {
        let s = &dockerfile.steps[step];
        let entry = mapping.matches.iter().find(|m| m.step == step);
        let target = match entry {
            Some(m) => {
                let layer = mapping.layers.iter().position(
                    |l| matches!(l.origin, LayerOrigin::Step { step: own } if own == step),
                );
                match layer {
                    Some(layer) => format!("history {} layer {layer} ({:?})", m.history, m.quality),
                    None => format!("history {} no layer ({:?})", m.history, m.quality),
                }
            }
            None => "unmatched".to_string(),
        };
        let _ = writeln!(out, "line {}-{} {} -> {target}", s.line, s.end_line, s.text);
    }
    for (index, layer) in mapping.layers.iter().enumerate() {
        let what = match &layer.origin {
            LayerOrigin::Base => "base".to_string(),
            LayerOrigin::Step { step } => format!("line {}", dockerfile.steps[*step].line),
            LayerOrigin::Unmatched => "unmatched".to_string(),
        };
        let _ = writeln!(out, "layer {index}: {what}");
    }
    let _ = writeln!(out, "unmatched lines: {:?}", mapping.unmatched_lines);
    let unmatched: Vec<String> = mapping
        .unmatched_history
        .iter()
        .map(|&i| format!("{i} {:?}", history[i].created_by.as_deref().unwrap_or("")))
        .collect();
    let _ = writeln!(out, "unmatched history: {unmatched:?}");
    out
}

#[track_caller]
fn check(image: &Path, dockerfile: &Path, expected: &Path) -> Mapping {
    check_parsed(image, &Dockerfile::read(dockerfile).unwrap(), expected)
}

#[track_caller]
fn check_parsed(image: &Path, parsed: &Dockerfile, expected: &Path) -> Mapping {
    let loaded = load(image);
    let mapping = map(parsed, &loaded.image.config.history, &loaded.image.history);
    let actual = render(parsed, &loaded, &mapping);
    if std::env::var_os("LAYERSCOPE_BLESS").is_some() {
        std::fs::write(expected, &actual).unwrap();
    }
    let wanted =
        std::fs::read_to_string(expected).unwrap_or_else(|e| panic!("{}: {e}", expected.display()));
    assert_eq!(actual, wanted, "mapping of {}", image.display());
    assert_eq!(mapping.layers.len(), loaded.layers.len());
    mapping
}

#[test]
fn demo_images_map_line_by_line() {
    let assets = repo().join("assets");
    assert!(layerscope::demo::IMAGES.len() >= 2);
    for image in layerscope::demo::IMAGES {
        let name = image.name;
        // The embedded Dockerfile is the one in demo/ (include_str!).
        let mapping = check_parsed(
            &assets.join(image.file_name),
            &Dockerfile::parse(image.dockerfile).unwrap(),
            &assets.join(format!("{name}.mapping.txt")),
        );
        // Every demo is a clean build: all lines and entries explained.
        assert!(mapping.unmatched_lines.is_empty(), "{name}");
        assert!(mapping.unmatched_history.is_empty(), "{name}");
        assert_eq!(mapping.base_image, "localhost/demo-base", "{name}");
        assert_eq!(mapping.base_layers, 1, "{name}: demo-base is one layer");
    }
}

#[test]
fn buildah_fixture_maps_line_by_line() {
    let dir = repo().join("tests/fixtures/dockerfile");
    let mapping = check(
        &dir.join("buildah-features.oci.tar"),
        &dir.join("buildah-features/Dockerfile"),
        &dir.join("buildah-features.mapping.txt"),
    );
    assert!(mapping.unmatched_lines.is_empty() && mapping.unmatched_history.is_empty());
}

/// Heredocs, as Debian trixie's buildah 1.39 records them (scripts/make-heredoc-fixture.sh):
/// a heredoc `RUN` is `/bin/sh -c <<EOF` and its body, a heredoc `COPY` is `COPY file:<digest>`
/// (one heredoc) or `COPY multi:<digest>` (two) in its destination.
#[test]
fn buildah_heredoc_fixture_maps_line_by_line() {
    let dir = repo().join("tests/fixtures/dockerfile");
    let mapping = check(
        &dir.join("buildah-heredoc.oci.tar"),
        &dir.join("buildah-heredoc/Dockerfile"),
        &dir.join("buildah-heredoc.mapping.txt"),
    );
    assert!(mapping.unmatched_lines.is_empty() && mapping.unmatched_history.is_empty());
    // The fixture does exercise heredocs: three RUNs and three COPYs carry bodies, and
    // every RUN pairs by its text (first line and body), not by position.
    let parsed = Dockerfile::read(&dir.join("buildah-heredoc/Dockerfile")).unwrap();
    let heredoc_steps: Vec<usize> = (0..parsed.steps.len())
        .filter(|&s| !parsed.steps[s].heredocs.is_empty())
        .collect();
    assert_eq!(heredoc_steps.len(), 6);
    let runs: Vec<MatchQuality> = mapping
        .matches
        .iter()
        .filter(|m| parsed.steps[m.step].kind == InstructionKind::Run)
        .map(|m| m.quality)
        .collect();
    assert_eq!(runs, [MatchQuality::Text; 4]);
}

#[test]
fn legacy_builder_and_kaniko_map_line_by_line() {
    let Some(shared) = shared_fixtures() else {
        return;
    };
    let dir = repo().join("tests/fixtures/dockerfile");
    for name in ["dive-docker-legacy", "dive-kaniko"] {
        let mapping = check(
            &shared.join(format!("{name}.tar")),
            &dir.join("dive.Dockerfile"),
            &dir.join(format!("{name}.mapping.txt")),
        );
        // busybox's ADD and CMD are the base; each of the 13 instructions made a layer.
        assert_eq!(mapping.base_layers, 1, "{name}");
        assert_eq!(mapping.base_entries, 2, "{name}");
        assert_eq!(mapping.matches.len(), 13, "{name}");
    }
}

/// The binary carries the demo archives and their Dockerfiles, and they map.
#[test]
fn embedded_demo_loads_and_maps_to_its_dockerfile() {
    let dir = tempfile::tempdir().unwrap();
    let written = layerscope::demo::export(dir.path()).unwrap();
    assert_eq!(written.len(), 2 * layerscope::demo::IMAGES.len());
    for image in layerscope::demo::IMAGES {
        let path = dir.path().join(image.file_name);
        // The export is the embedded bytes, which are the committed asset.
        let committed = std::fs::read(repo().join("assets").join(image.file_name)).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), committed, "{}", image.name);
        let loaded = load(&path);
        let parsed = Dockerfile::parse(image.dockerfile).unwrap();
        let mapping = map(&parsed, &loaded.image.config.history, &loaded.image.history);
        let own_layers = mapping
            .layers
            .iter()
            .filter(|l| matches!(l.origin, LayerOrigin::Step { .. }))
            .count();
        assert_eq!(
            own_layers + mapping.base_layers,
            loaded.layers.len(),
            "{}",
            image.name
        );
        assert!(mapping.unmatched_history.is_empty(), "{}", image.name);
    }
    assert!(layerscope::demo::find("HELLO").is_some());
    assert!(layerscope::demo::find("nope").is_none());
}

fn layerscope(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_layerscope"))
        .env_remove("CI")
        .env("NO_COLOR", "1")
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn inspect_shows_the_dockerfile_lines() {
    let image = repo().join("assets/hello.oci.tar");
    let dockerfile = repo().join("demo/hello/Dockerfile");
    let (image, dockerfile) = (image.to_str().unwrap(), dockerfile.to_str().unwrap());
    let out = layerscope(&[
        "inspect",
        image,
        "--format",
        "json",
        "--dockerfile",
        dockerfile,
    ]);
    assert_eq!(out.status.code(), Some(0));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["schema"], "layerscope.inspect/v2");
    assert!(json["layers"][0]["dockerfile"].is_null(), "the base layer");
    let copy = &json["layers"][1]["dockerfile"];
    assert_eq!(copy["line"], 11);
    assert_eq!(copy["end_line"], 11);
    assert_eq!(copy["stage"], "1");
    assert_eq!(
        copy["instruction"],
        "COPY --from=build /out/hello /usr/local/bin/hello"
    );
    assert_eq!(json["dockerfile"]["path"], dockerfile);
    assert_eq!(json["dockerfile"]["base_image"], "localhost/demo-base");
    assert_eq!(json["dockerfile"]["unmatched_lines"], serde_json::json!([]));
    assert_eq!(
        json["dockerfile"]["unmatched_history"],
        serde_json::json!([])
    );

    let plain = layerscope(&["inspect", image, "--format", "json"]);
    let json: serde_json::Value = serde_json::from_slice(&plain.stdout).unwrap();
    assert!(json["dockerfile"].is_null() && json["layers"][1]["dockerfile"].is_null());

    let text = layerscope(&["inspect", image, "--dockerfile", dockerfile]);
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(
        text.contains("(base FROM localhost/demo-base: 1 layer)"),
        "{text}"
    );
    let rows: Vec<&str> = text
        .lines()
        .filter(|l| l.trim_start().starts_with(|c: char| c.is_ascii_digit()))
        .collect();
    assert!(rows[0].contains("  base   "), "{text}");
    assert!(rows[1].contains("  11     COPY"), "{text}");
}

#[test]
fn demo_export_writes_the_archives() {
    let dir = tempfile::tempdir().unwrap();
    let out = layerscope(&["demo", "--export", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    let listed = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        listed.lines().count(),
        2 * layerscope::demo::IMAGES.len(),
        "{listed}"
    );
    for image in layerscope::demo::IMAGES {
        let archive = dir.path().join(image.file_name);
        let inspect = layerscope(&["inspect", archive.to_str().unwrap()]);
        assert_eq!(inspect.status.code(), Some(0), "{}", image.name);
    }
    let unknown = layerscope(&["demo", "nope"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(String::from_utf8(unknown.stderr)
        .unwrap()
        .contains("hello, layers, wasteful, fixed, opaque"));
}

#[test]
fn the_explorer_refuses_a_bad_dockerfile_before_loading() {
    let image = repo().join("assets/hello.oci.tar");
    let image = image.to_str().unwrap();
    let missing = layerscope(&[image, "--dockerfile", "/nonexistent/Dockerfile"]);
    assert_eq!(missing.status.code(), Some(2));
    let stderr = String::from_utf8(missing.stderr).unwrap();
    assert!(stderr.contains("/nonexistent/Dockerfile"), "{stderr}");
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("Dockerfile");
    std::fs::write(&bad, "RUN echo no base\n").unwrap();
    let out = layerscope(&[image, "--dockerfile", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains(&format!("Dockerfile {}", bad.display()))
            && stderr.contains("expected FROM"),
        "{stderr}"
    );
}
