//! The demo images, compiled into the binary so that `layerscope demo` works after
//! `cargo install`. They are real builds of the Dockerfiles in demo/ (see demo/build.sh),
//! stored in assets/ as oci-archives.

use std::path::Path;

/// One demo image and the Dockerfile it was built from.
#[derive(Debug, Clone, Copy)]
pub struct DemoImage {
    /// The name `layerscope demo NAME` takes.
    pub name: &'static str,
    /// What it shows.
    pub about: &'static str,
    /// File name of the archive (in assets/ and under `--export`).
    pub file_name: &'static str,
    pub archive: &'static [u8],
    /// File name of its Dockerfile under `--export`.
    pub dockerfile_name: &'static str,
    pub dockerfile: &'static str,
    /// For a multi-stage build, the measured size of the build stage that the image does
    /// not contain (`bytes=` and `files=` lines, written by demo/build.sh).
    pub build_stage: Option<&'static str>,
}

impl DemoImage {
    /// The build stage's measured size: (bytes, files).
    pub fn build_stage(&self) -> Option<(u64, u64)> {
        let field = |name: &str| {
            self.build_stage?
                .lines()
                .find_map(|l| l.strip_prefix(name)?.strip_prefix('='))?
                .trim()
                .parse()
                .ok()
        };
        Some((field("bytes")?, field("files")?))
    }
}

/// Every demo image.
pub const IMAGES: &[DemoImage] = &[
    DemoImage {
        name: "hello",
        about: "a Go hello-world built in one stage and shipped alone in another",
        file_name: "hello.oci.tar",
        archive: include_bytes!("../assets/hello.oci.tar"),
        dockerfile_name: "hello.Dockerfile",
        dockerfile: include_str!("../demo/hello/Dockerfile"),
        build_stage: Some(include_str!("../demo/hello/build-stage.size")),
    },
    DemoImage {
        name: "layers",
        about: "the five-layer example: base, runtime, requirements, dependencies, code",
        file_name: "layers.oci.tar",
        archive: include_bytes!("../assets/layers.oci.tar"),
        dockerfile_name: "layers.Dockerfile",
        dockerfile: include_str!("../demo/layers/Dockerfile"),
        build_stage: None,
    },
    DemoImage {
        name: "wasteful",
        about: "an image that ships bytes no container can use",
        file_name: "wasteful.oci.tar",
        archive: include_bytes!("../assets/wasteful.oci.tar"),
        dockerfile_name: "wasteful.Dockerfile",
        dockerfile: include_str!("../demo/waste/Dockerfile.wasteful"),
        build_stage: None,
    },
    DemoImage {
        name: "fixed",
        about: "the wasteful image's fixed twin",
        file_name: "fixed.oci.tar",
        archive: include_bytes!("../assets/fixed.oci.tar"),
        dockerfile_name: "fixed.Dockerfile",
        dockerfile: include_str!("../demo/waste/Dockerfile.fixed"),
        build_stage: None,
    },
    DemoImage {
        name: "opaque",
        about: "a directory replaced whole in a later layer: an opaque directory",
        file_name: "opaque.oci.tar",
        archive: include_bytes!("../assets/opaque.oci.tar"),
        dockerfile_name: "opaque.Dockerfile",
        dockerfile: include_str!("../demo/opaque/Dockerfile"),
        build_stage: None,
    },
];

/// The demo image called `name`.
pub fn find(name: &str) -> Option<&'static DemoImage> {
    IMAGES
        .iter()
        .find(|image| image.name.eq_ignore_ascii_case(name))
}

/// The names, for messages: `hello, layers, wasteful, fixed, opaque`.
pub fn names() -> String {
    IMAGES
        .iter()
        .map(|image| image.name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Write every archive and Dockerfile into `dir` (created if missing). Returns the paths
/// written.
pub fn export(dir: &Path) -> crate::Result<Vec<std::path::PathBuf>> {
    let io_error = |path: &Path, e| crate::Error::io(path.display().to_string(), e);
    std::fs::create_dir_all(dir).map_err(|e| io_error(dir, e))?;
    let mut written = Vec::new();
    for image in IMAGES {
        for (name, bytes) in [
            (image.file_name, image.archive),
            (image.dockerfile_name, image.dockerfile.as_bytes()),
        ] {
            let path = dir.join(name);
            std::fs::write(&path, bytes).map_err(|e| io_error(&path, e))?;
            written.push(path);
        }
    }
    Ok(written)
}

/// The archive in a temporary file, removed when the handle is dropped: the explorer and
/// the loader read a source by offset.
pub fn temp_archive(image: &DemoImage) -> crate::Result<tempfile::NamedTempFile> {
    use std::io::Write as _;
    let mut file = tempfile::Builder::new()
        .prefix("layerscope-demo-")
        .suffix(".oci.tar")
        .tempfile()
        .map_err(|e| crate::Error::io("temporary demo archive", e))?;
    file.write_all(image.archive)
        .and_then(|()| file.flush())
        .map_err(|e| crate::Error::io(file.path().display().to_string(), e))?;
    Ok(file)
}

/// Load a demo image as the explorer does (secret scan included), for the tour's checks
/// and for tests.
pub fn load(image: &DemoImage) -> crate::Result<crate::load::LoadedImage> {
    let file = temp_archive(image)?;
    let options = crate::load::LoadOptions {
        verify: true,
        content: Some(crate::analysis::secrets::Scan::hook()),
        ..Default::default()
    };
    let path = file.path().display().to_string();
    crate::load::load_path(
        &path,
        &options,
        &crate::layer::ParseControl::default(),
        &mut |_| {},
    )
}

/// The demo images whose archive holds the blob `digest` (`sha256:<hex>`): the images a
/// registry or a host stores that layer once for.
pub fn images_with_blob(digest: &str) -> Vec<&'static DemoImage> {
    let Some((algorithm, hex)) = digest.split_once(':') else {
        return Vec::new();
    };
    let wanted = format!("blobs/{algorithm}/{hex}");
    IMAGES
        .iter()
        .filter(|image| {
            let mut archive = tar::Archive::new(image.archive);
            let Ok(entries) = archive.entries() else {
                return false;
            };
            entries.flatten().any(|entry| {
                entry
                    .path_bytes()
                    .strip_prefix(b"./")
                    .unwrap_or(&entry.path_bytes())
                    == wanted.as_bytes()
            })
        })
        .collect()
}

/// The bytes of the archive's member `blobs/<algorithm>/<hex>` for `digest`.
pub fn blob(image: &DemoImage, digest: &str) -> Option<Vec<u8>> {
    use std::io::Read as _;
    let (algorithm, hex) = digest.split_once(':')?;
    let wanted = format!("blobs/{algorithm}/{hex}");
    let mut archive = tar::Archive::new(image.archive);
    let entries = archive.entries().ok()?;
    for entry in entries.flatten() {
        let path = entry.path_bytes().into_owned();
        if path.strip_prefix(b"./").unwrap_or(&path) == wanted.as_bytes() {
            let mut bytes = Vec::new();
            let mut entry = entry;
            entry.read_to_end(&mut bytes).ok()?;
            return Some(bytes);
        }
    }
    None
}

/// The image's layers as its manifest lists them: (stored size, digest), bottom first.
/// What a registry stores and a host pulls, read from the archive's own index.
pub fn layer_blobs(image: &DemoImage) -> Vec<(u64, String)> {
    let json = |bytes: Vec<u8>| serde_json::from_slice::<serde_json::Value>(&bytes).ok();
    let digest_of = |v: &serde_json::Value| v["digest"].as_str().map(str::to_string);
    let index = (|| {
        let mut archive = tar::Archive::new(image.archive);
        for entry in archive.entries().ok()?.flatten() {
            let path = entry.path_bytes().into_owned();
            if path.strip_prefix(b"./").unwrap_or(&path) == b"index.json" {
                let mut bytes = Vec::new();
                std::io::Read::read_to_end(&mut { entry }, &mut bytes).ok()?;
                return json(bytes);
            }
        }
        None
    })();
    let Some(manifest) = index
        .as_ref()
        .and_then(|i| digest_of(&i["manifests"][0]))
        .and_then(|d| blob(image, &d))
        .and_then(json)
    else {
        return Vec::new();
    };
    manifest["layers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|l| Some((l["size"].as_u64()?, digest_of(l)?)))
        .collect()
}
