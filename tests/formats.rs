//! Every input format and variant, built with the test kit, loads to the same merged tree;
//! platform and image choice, outer compression, stdin and foreign layers behave as users of
//! docker, skopeo and dive expect.

mod support;

use layerscope::image::OpenOptions;
use layerscope::layer::ParseControl;
use layerscope::load::{load_path, LayerStatus, LoadOptions, LoadedImage};
use std::path::Path;
use std::process::{Command, Stdio};
use support::{
    Compression, DockerLayout, HistoryEntry, ImageSpec, LayerSpec, MultiPlatformSpec, Platform,
};

/// Three layers exercising adds, overwrites, whiteouts, opaque dirs, links and history.
fn sample(compression: Compression) -> ImageSpec {
    ImageSpec::new()
        .tag("example/app:1.0")
        .compression(compression)
        .history(HistoryEntry::empty("/bin/sh -c #(nop)  LABEL a=b"))
        .history(HistoryEntry::layer("/bin/sh -c #(nop) ADD file:abc in / "))
        .layer(
            LayerSpec::new()
                .dir("etc", 0o755)
                .file("etc/hosts", "127.0.0.1 localhost\n")
                .file("etc/old.conf", "old\n")
                .file("srv/static/a.css", "a{}\n") // srv/ and srv/static are implied
                .file("srv/static/b.js", "b()\n")
                .symlink("etc/link", "hosts")
                .hardlink("etc/hosts.hard", "etc/hosts"),
        )
        .history(HistoryEntry::empty("/bin/sh -c #(nop) WORKDIR /srv"))
        .history(
            HistoryEntry::layer(
                "RUN |1 V=2 /bin/sh -c rm /etc/old.conf && echo 2 > /etc/hosts # buildkit",
            )
            .comment("buildkit.dockerfile.v0"),
        )
        .layer(
            LayerSpec::new()
                .dir("etc", 0o755)
                .whiteout("etc/old.conf")
                .file("etc/hosts", "127.0.0.2 localhost\n"),
        )
        .history(
            HistoryEntry::layer("COPY static /srv/static # buildkit")
                .comment("buildkit.dockerfile.v0"),
        )
        .layer(
            LayerSpec::new()
                .file("srv/static/c.js", "c()\n")
                .opaque("srv/static"),
        )
        .history(HistoryEntry::empty("CMD [\"/bin/app\"]"))
}

const EXPECTED: &str = "\
drwxr-xr-x 0:0 0 /etc
-rw-r--r-- 0:0 20 /etc/hosts
-rw-r--r-- 0:0 20 /etc/hosts.hard
lrwxrwxrwx 0:0 0 /etc/link -> hosts
drwxr-xr-x 0:0 0 /srv
drwxr-xr-x 0:0 0 /srv/static
-rw-r--r-- 0:0 4 /srv/static/c.js
";

fn load(path: &Path, options: OpenOptions) -> Result<LoadedImage, layerscope::Error> {
    let options = LoadOptions {
        open: options,
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
}

fn load_err(path: &Path, options: OpenOptions) -> layerscope::Error {
    match load(path, options) {
        Ok(_) => panic!("{} loaded, but should not have", path.display()),
        Err(error) => error,
    }
}

fn listing(loaded: &LoadedImage) -> String {
    let top = loaded.tree.layer_count() - 1;
    loaded
        .tree
        .listing(top)
        .iter()
        .map(|r| r.long_line() + "\n")
        .collect()
}

fn check(path: &Path) -> LoadedImage {
    let loaded =
        load(path, OpenOptions::default()).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(listing(&loaded), EXPECTED, "{}", path.display());
    assert_eq!(loaded.layers.len(), 3);
    let history = &loaded.image.history;
    assert_eq!(
        history.layers[0].entries,
        vec![0, 1],
        "LABEL folds into the ADD layer"
    );
    assert_eq!(
        history.layers[1].instruction.display(),
        "RUN rm /etc/old.conf && echo 2 > /etc/hosts"
    );
    assert_eq!(
        history.layers[2].instruction.display(),
        "COPY static /srv/static"
    );
    assert_eq!(history.trailing, vec![5]);
    loaded
}

#[test]
fn docker_archive_variants_load_identically() {
    let dir = tempfile::tempdir().unwrap();
    let image = sample(Compression::None);
    let built = image.build();
    for (name, layout) in [
        ("legacy.tar", DockerLayout::Legacy),
        ("skopeo.tar", DockerLayout::Skopeo),
        ("crane.tar", DockerLayout::Crane),
        ("docker25.tar", DockerLayout::Docker25),
    ] {
        let path = dir.path().join(name);
        built.write_docker_archive_as(layout, &path).unwrap();
        let loaded = check(&path);
        assert_eq!(loaded.image.tags, ["example/app:1.0"], "{name}");
    }
}

#[test]
fn oci_archive_and_layout_with_every_layer_compression() {
    let dir = tempfile::tempdir().unwrap();
    for compression in [Compression::None, Compression::Gzip, Compression::Zstd] {
        let image = sample(compression);
        let archive = dir.path().join(format!("oci-{compression:?}.tar"));
        image.write_oci_archive(&archive).unwrap();
        let loaded = check(&archive);
        assert_eq!(loaded.image.format, layerscope::image::Format::OciArchive);
        let layout = dir.path().join(format!("layout-{compression:?}"));
        image.write_oci_layout(&layout).unwrap();
        let loaded = check(&layout);
        assert_eq!(loaded.image.format, layerscope::image::Format::OciLayout);
    }
}

#[test]
fn compressed_outer_archives_and_stdin() {
    let dir = tempfile::tempdir().unwrap();
    for outer in [Compression::Gzip, Compression::Zstd] {
        let path = dir.path().join(format!("saved-{outer:?}.tar.x"));
        sample(Compression::None)
            .outer_compression(outer)
            .write_docker_archive(&path)
            .unwrap();
        check(&path);
    }
    let path = dir.path().join("plain.tar");
    sample(Compression::Gzip).write_oci_archive(&path).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_layerscope"))
        .args(["ls", "--long", "-"])
        .stdin(Stdio::from(std::fs::File::open(&path).unwrap()))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(String::from_utf8(output.stdout).unwrap(), EXPECTED);
}

#[test]
fn several_images_in_one_archive() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("two.tar");
    let other = ImageSpec::new()
        .tag("example/other:2")
        .history(HistoryEntry::layer("/bin/sh -c #(nop) ADD file:x in / "))
        .layer(LayerSpec::new().file("only-in-other", "x"));
    support::write_docker_archive_multi(
        &[sample(Compression::None), other],
        DockerLayout::Legacy,
        &path,
    )
    .unwrap();
    let first = check(&path);
    assert!(
        first.warnings.iter().any(|w| w.contains("example/other:2")),
        "{:?}",
        first.warnings
    );
    for wanted in ["example/other:2", "1"] {
        let chosen = load(
            &path,
            OpenOptions {
                image: Some(wanted.into()),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(listing(&chosen), "-rw-r--r-- 0:0 1 /only-in-other\n");
    }
    let error = load_err(
        &path,
        OpenOptions {
            image: Some("nope".into()),
            ..Default::default()
        },
    );
    assert!(error.to_string().contains("example/other:2"), "{error}");
}

fn multi_platform() -> MultiPlatformSpec {
    let for_arch = |arch: &str| {
        ImageSpec::new()
            .platform(Platform::new("linux", arch))
            .history(HistoryEntry::layer("ADD rootfs /"))
            .layer(LayerSpec::new().file(format!("arch-{arch}"), arch))
    };
    MultiPlatformSpec::new()
        .image(for_arch("amd64"))
        .image(for_arch("arm64"))
        .image(for_arch("riscv64"))
}

#[test]
fn platform_choice_in_nested_indexes_with_attestations() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("multi.tar");
    multi_platform()
        .nested(true)
        .attestations(true)
        .write_oci_archive(&path)
        .unwrap();
    // Default: the host's platform when its blobs are present.
    let host = layerscope::image::Platform::host();
    let loaded = load(&path, OpenOptions::default()).unwrap();
    assert_eq!(loaded.image.platform.as_ref(), Some(&host));
    for arch in ["arm64", "riscv64"] {
        let loaded = load(
            &path,
            OpenOptions {
                platform: Some(format!("linux/{arch}")),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(
            listing(&loaded),
            format!("-rw-r--r-- 0:0 {} /arch-{arch}\n", arch.len())
        );
    }
    let error = load_err(
        &path,
        OpenOptions {
            platform: Some("linux/s390x".into()),
            ..Default::default()
        },
    );
    let message = error.to_string();
    assert!(
        message.contains("linux/arm64") && message.contains("linux/riscv64"),
        "{message}"
    );
    assert_eq!(error.exit_code(), 2);
}

#[test]
fn missing_blobs_of_other_platforms_are_tolerated() {
    let dir = tempfile::tempdir().unwrap();
    // Only arm64 keeps its blobs, as in a containerd-store `docker save`.
    let path = dir.path().join("partial.tar");
    multi_platform()
        .nested(true)
        .omit_platform(0)
        .omit_platform(2)
        .write_oci_archive(&path)
        .unwrap();
    let loaded = load(&path, OpenOptions::default()).unwrap();
    assert_eq!(listing(&loaded), "-rw-r--r-- 0:0 5 /arch-arm64\n");
    // Two complete platforms and no host match: the error lists them.
    let path = dir.path().join("ambiguous.tar");
    MultiPlatformSpec::new()
        .image(
            ImageSpec::new()
                .platform(Platform::new("linux", "ppc64le"))
                .layer(LayerSpec::new().file("a", "a")),
        )
        .image(
            ImageSpec::new()
                .platform(Platform::new("linux", "s390x"))
                .layer(LayerSpec::new().file("b", "b")),
        )
        .write_oci_archive(&path)
        .unwrap();
    let message = load_err(&path, OpenOptions::default()).to_string();
    assert!(
        message.contains("--platform") && message.contains("linux/s390x"),
        "{message}"
    );
}

#[test]
fn foreign_layers_that_are_not_shipped_are_marked_unavailable() {
    let dir = tempfile::tempdir().unwrap();
    let mut built = sample(Compression::Gzip).build();
    built.layers[0].media_type =
        "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip".into();
    let foreign = built.layers[0].digest.clone();
    let path = dir.path().join("foreign.tar");
    built.archive.omit.push(foreign);
    built.write_oci_archive(&path).unwrap();
    let loaded = load(&path, OpenOptions::default()).unwrap();
    assert!(matches!(
        loaded.layers[0].status,
        LayerStatus::Unavailable(_)
    ));
    assert_eq!(loaded.layers[1].status, LayerStatus::Loaded);
}

/// `--version` and `inspect --format json` name the gzip inflater the build chose, the same
/// one in both, and the gzip layers it inflated list as expected (.ci/run builds both).
#[test]
fn version_and_inspect_name_the_inflater() {
    let output = Command::new(env!("CARGO_BIN_EXE_layerscope"))
        .arg("--version")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    let version = String::from_utf8(output.stdout).unwrap();
    let inflater = version
        .lines()
        .find_map(|line| line.strip_prefix("gzip: "))
        .unwrap_or_else(|| panic!("no gzip line in {version:?}"));
    assert!(["isa-l", "zlib-rs"].contains(&inflater), "{version}");

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gzip.tar");
    sample(Compression::Gzip).write_oci_archive(&path).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_layerscope"))
        .args(["inspect", "--format", "json"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["inflater"], inflater);
    assert_eq!(json["layers"][0]["compression"], "gzip");
    assert_eq!(listing(&check(&path)), EXPECTED);
}
