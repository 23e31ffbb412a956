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
    },
    DemoImage {
        name: "layers",
        about: "the five-layer example: base, runtime, requirements, dependencies, code",
        file_name: "layers.oci.tar",
        archive: include_bytes!("../assets/layers.oci.tar"),
        dockerfile_name: "layers.Dockerfile",
        dockerfile: include_str!("../demo/layers/Dockerfile"),
    },
    DemoImage {
        name: "wasteful",
        about: "an image that ships bytes no container can use",
        file_name: "wasteful.oci.tar",
        archive: include_bytes!("../assets/wasteful.oci.tar"),
        dockerfile_name: "wasteful.Dockerfile",
        dockerfile: include_str!("../demo/waste/Dockerfile.wasteful"),
    },
    DemoImage {
        name: "fixed",
        about: "the wasteful image's fixed twin",
        file_name: "fixed.oci.tar",
        archive: include_bytes!("../assets/fixed.oci.tar"),
        dockerfile_name: "fixed.Dockerfile",
        dockerfile: include_str!("../demo/waste/Dockerfile.fixed"),
    },
    DemoImage {
        name: "opaque",
        about: "a directory replaced whole in a later layer: an opaque directory",
        file_name: "opaque.oci.tar",
        archive: include_bytes!("../assets/opaque.oci.tar"),
        dockerfile_name: "opaque.Dockerfile",
        dockerfile: include_str!("../demo/opaque/Dockerfile"),
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
        secrets: true,
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

#[cfg(test)]
mod tests {
    /// `demo --help` names every demo image, in the summary `layerscope --help` prints and
    /// in the NAME argument's help: a demo added to `IMAGES` must be added there too.
    #[test]
    fn demo_help_names_every_demo_image() {
        use clap::CommandFactory;
        let mut cli = crate::cli::Cli::command();
        let demo = cli.find_subcommand_mut("demo").expect("a demo subcommand");
        let help = demo.render_long_help().to_string();
        let about = demo.get_about().map(|a| a.to_string()).unwrap_or_default();
        for image in super::IMAGES {
            assert!(about.contains(image.name), "{} missing from: {about}", image.name);
            assert!(help.contains(image.name), "{} missing from: {help}", image.name);
        }
    }
}
