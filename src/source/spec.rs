//! What the IMAGE argument names: a file or directory, an engine's image, or a registry's.
//!
//! An existing path always wins, so files open exactly as they always did. Then come the
//! explicit forms (dive's spellings: `docker://`, `podman://`, `docker-archive://`,
//! `oci://`, `oci-archive://`, plus `registry://`, skopeo's `docker-daemon:`, and a
//! container's `container://`, `docker-container://`, `podman-container://`), or the
//! `--source` flag. Anything else that parses as an image reference is looked for in a local
//! engine first and then in its registry, as `docker run` would.

use super::reference;
use crate::error::{Error, Result};
use crate::source::engine::{self, EngineKind, Probe};
use oci_spec::distribution::Reference;
use std::path::Path;

/// `--source`: where to read IMAGE from, as dive's `--source` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SourceKind {
    /// The Docker engine (its API socket; `DOCKER_HOST` is honoured).
    Docker,
    /// Podman's API socket.
    Podman,
    /// A `docker save` tarball.
    DockerArchive,
    /// An OCI image-layout directory.
    Oci,
    /// An oci-archive tarball.
    OciArchive,
    /// A registry, directly (OCI distribution API).
    Registry,
    /// A container (running or stopped) in Docker's engine, else Podman's: its image's
    /// layers and its writable layer on top.
    Container,
}

/// A parsed IMAGE argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageSpec {
    /// A file, a directory or `-` (stdin): the format is detected.
    Path(String),
    /// An image in a local engine, by the name the engine knows it under.
    Engine { kind: EngineKind, name: String },
    /// An image in a registry.
    Registry(Reference),
    /// A bare reference: a local engine if one has it, else its registry.
    Auto { text: String, reference: Reference },
    /// A container, by name or ID; `kind` is `None` for `container://`, whose engine is
    /// whichever has it (Docker's first).
    Container {
        kind: Option<EngineKind>,
        name: String,
    },
}

impl ImageSpec {
    /// Read IMAGE (and `--source`, if given).
    pub fn parse(text: &str, source: Option<SourceKind>) -> Result<ImageSpec> {
        if text.is_empty() {
            return Err(Error::Usage("the image argument is empty".into()));
        }
        if let Some(kind) = source {
            // A prefix that agrees with the flag is allowed (`--source oci oci://dir`).
            let (prefixed, rest) = split_prefix(text).unwrap_or((Prefix::Kind(kind), text));
            if !prefixed.agrees_with(kind) {
                return Err(Error::Usage(format!(
                    "--source {} contradicts the image's prefix in {text:?}",
                    kind_name(kind)
                )));
            }
            return Self::of_prefix(prefixed, rest);
        }
        if text == "-" || Path::new(text).exists() {
            return Ok(ImageSpec::Path(text.to_string()));
        }
        if let Some((prefix, rest)) = split_prefix(text) {
            return Self::of_prefix(prefix, rest);
        }
        if looks_like_path(text) {
            // A missing file: say so, rather than asking a registry for `image.tar`.
            const ENOENT: i32 = 2;
            return Err(Error::io(text, std::io::Error::from_raw_os_error(ENOENT)));
        }
        match reference::parse(text) {
            Ok(reference) => Ok(ImageSpec::Auto {
                text: text.to_string(),
                reference,
            }),
            Err(detail) => Err(Error::Usage(format!(
                "{text:?} is neither a file nor an image reference ({detail}); see --help for the forms IMAGE takes"
            ))),
        }
    }

    fn of_prefix(prefix: Prefix, rest: &str) -> Result<ImageSpec> {
        if rest.is_empty() {
            return Err(Error::Usage(match prefix {
                Prefix::Kind(SourceKind::Container) | Prefix::Container(_) => {
                    format!("{}: the container name is missing", prefix.name())
                }
                Prefix::Kind(_) => format!("{}: the image name is missing", prefix.name()),
            }));
        }
        let kind = match prefix {
            Prefix::Container(engine) => {
                return Ok(ImageSpec::Container {
                    kind: Some(engine),
                    name: rest.to_string(),
                })
            }
            Prefix::Kind(kind) => kind,
        };
        Ok(match kind {
            SourceKind::Docker => ImageSpec::Engine {
                kind: EngineKind::Docker,
                name: rest.to_string(),
            },
            SourceKind::Podman => ImageSpec::Engine {
                kind: EngineKind::Podman,
                name: rest.to_string(),
            },
            SourceKind::DockerArchive | SourceKind::Oci | SourceKind::OciArchive => {
                ImageSpec::Path(rest.to_string())
            }
            SourceKind::Container => ImageSpec::Container {
                kind: None,
                name: rest.to_string(),
            },
            SourceKind::Registry => {
                ImageSpec::Registry(reference::parse(rest).map_err(|detail| {
                    Error::Usage(format!(
                        "registry://{rest}: not an image reference ({detail})"
                    ))
                })?)
            }
        })
    }

    /// Decide where a bare reference is read from: a local engine that answers and has the
    /// image, else its registry. The note says which, for stderr.
    pub fn resolve(self) -> (ImageSpec, Option<String>) {
        let ImageSpec::Auto { text, reference } = self else {
            return (self, None);
        };
        let mut reasons = Vec::new();
        for kind in [EngineKind::Docker, EngineKind::Podman] {
            match engine::probe(kind, &text) {
                Probe::Present => {
                    let note = format!("reading {text} from the {} engine", engine_name(kind));
                    return (ImageSpec::Engine { kind, name: text }, Some(note));
                }
                Probe::Missing => reasons.push(format!("{} does not have it", engine_name(kind))),
                Probe::Unreachable(_) => {
                    reasons.push(format!("{} does not answer", engine_name(kind)))
                }
            }
        }
        let note = format!(
            "reading {} from the registry {} ({})",
            reference.whole(),
            reference.registry(),
            reasons.join(", ")
        );
        (ImageSpec::Registry(reference), Some(note))
    }

    /// How to name this image in messages.
    pub fn display(&self) -> String {
        match self {
            ImageSpec::Path(path) => path.clone(),
            ImageSpec::Engine { kind, name } => format!("{}://{name}", engine_name(*kind)),
            ImageSpec::Registry(reference) => reference.whole(),
            ImageSpec::Auto { text, .. } => text.clone(),
            ImageSpec::Container { kind, name } => match kind {
                Some(kind) => format!("{}-container://{name}", engine_name(*kind)),
                None => format!("container://{name}"),
            },
        }
    }
}

fn engine_name(kind: EngineKind) -> &'static str {
    match kind {
        EngineKind::Docker => "docker",
        EngineKind::Podman => "podman",
    }
}

fn kind_name(kind: SourceKind) -> &'static str {
    match kind {
        SourceKind::Docker => "docker",
        SourceKind::Podman => "podman",
        SourceKind::DockerArchive => "docker-archive",
        SourceKind::Oci => "oci",
        SourceKind::OciArchive => "oci-archive",
        SourceKind::Registry => "registry",
        SourceKind::Container => "container",
    }
}

/// What a prefix (or `--source`) says: a source kind, or a container in a named engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Prefix {
    Kind(SourceKind),
    Container(EngineKind),
}

impl Prefix {
    fn name(self) -> String {
        match self {
            Prefix::Kind(kind) => kind_name(kind).to_string(),
            Prefix::Container(engine) => format!("{}-container", engine_name(engine)),
        }
    }

    /// Whether `--source kind` allows this prefix: its own, or a container in a named
    /// engine for `--source container`.
    fn agrees_with(self, kind: SourceKind) -> bool {
        match self {
            Prefix::Kind(own) => own == kind,
            Prefix::Container(_) => kind == SourceKind::Container,
        }
    }
}

/// Split an explicit source prefix off IMAGE.
fn split_prefix(text: &str) -> Option<(Prefix, &str)> {
    const PREFIXES: [(&str, Prefix); 10] = [
        ("docker-archive://", Prefix::Kind(SourceKind::DockerArchive)),
        ("oci-archive://", Prefix::Kind(SourceKind::OciArchive)),
        ("docker-container://", Prefix::Container(EngineKind::Docker)),
        ("podman-container://", Prefix::Container(EngineKind::Podman)),
        ("container://", Prefix::Kind(SourceKind::Container)),
        ("docker://", Prefix::Kind(SourceKind::Docker)),
        ("podman://", Prefix::Kind(SourceKind::Podman)),
        ("oci://", Prefix::Kind(SourceKind::Oci)),
        ("registry://", Prefix::Kind(SourceKind::Registry)),
        // skopeo's spelling of the Docker engine.
        ("docker-daemon:", Prefix::Kind(SourceKind::Docker)),
    ];
    PREFIXES
        .iter()
        .find_map(|(prefix, kind)| text.strip_prefix(prefix).map(|rest| (*kind, rest)))
}

/// Names that are clearly meant as files: a reference never starts with `/` or `.`, and
/// archives end in `.tar` and friends.
fn looks_like_path(text: &str) -> bool {
    const SUFFIXES: [&str; 6] = [
        ".tar",
        ".tar.gz",
        ".tgz",
        ".tar.zst",
        ".tar.zstd",
        ".tar.xz",
    ];
    text.starts_with('/')
        || text.starts_with('.')
        || text.starts_with('~')
        || SUFFIXES.iter().any(|s| text.ends_with(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> ImageSpec {
        ImageSpec::parse(text, None).unwrap()
    }

    #[test]
    fn existing_paths_win() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("nginx");
        std::fs::write(&file, b"x").unwrap();
        let text = file.to_str().unwrap();
        assert_eq!(parse(text), ImageSpec::Path(text.into()));
        assert_eq!(parse("-"), ImageSpec::Path("-".into()));
    }

    #[test]
    fn explicit_forms() {
        assert_eq!(
            parse("docker://nginx:1.27"),
            ImageSpec::Engine {
                kind: EngineKind::Docker,
                name: "nginx:1.27".into()
            }
        );
        assert_eq!(
            parse("docker-daemon:app"),
            ImageSpec::Engine {
                kind: EngineKind::Docker,
                name: "app".into()
            }
        );
        assert_eq!(
            parse("podman://app"),
            ImageSpec::Engine {
                kind: EngineKind::Podman,
                name: "app".into()
            }
        );
        assert_eq!(parse("oci://some/dir"), ImageSpec::Path("some/dir".into()));
        assert_eq!(
            parse("oci-archive://a.tar"),
            ImageSpec::Path("a.tar".into())
        );
        assert_eq!(
            parse("docker-archive://b.tar"),
            ImageSpec::Path("b.tar".into())
        );
        assert_eq!(
            parse("container://web"),
            ImageSpec::Container {
                kind: None,
                name: "web".into()
            }
        );
        assert_eq!(
            parse("docker-container://web"),
            ImageSpec::Container {
                kind: Some(EngineKind::Docker),
                name: "web".into()
            }
        );
        assert_eq!(
            parse("podman-container://0123abc"),
            ImageSpec::Container {
                kind: Some(EngineKind::Podman),
                name: "0123abc".into()
            }
        );
        assert!(ImageSpec::parse("container://", None).is_err());
        let ImageSpec::Registry(reference) = parse("registry://nginx") else {
            panic!("not a registry spec");
        };
        assert_eq!(reference.whole(), "docker.io/library/nginx:latest");
    }

    #[test]
    fn the_flag_chooses_the_source() {
        let spec = ImageSpec::parse("localhost:5000/app:v1", Some(SourceKind::Registry)).unwrap();
        let ImageSpec::Registry(reference) = spec else {
            panic!("not a registry spec");
        };
        assert_eq!(reference.registry(), "localhost:5000");
        assert_eq!(reference.repository(), "app");
        assert_eq!(reference.tag(), Some("v1"));
        assert_eq!(
            ImageSpec::parse("app", Some(SourceKind::Podman)).unwrap(),
            ImageSpec::Engine {
                kind: EngineKind::Podman,
                name: "app".into()
            }
        );
        assert!(ImageSpec::parse("docker://app", Some(SourceKind::Registry)).is_err());
        assert_eq!(
            ImageSpec::parse("web", Some(SourceKind::Container)).unwrap(),
            ImageSpec::Container {
                kind: None,
                name: "web".into()
            }
        );
        // A container in a named engine agrees with --source container; an image does not.
        assert_eq!(
            ImageSpec::parse("podman-container://web", Some(SourceKind::Container)).unwrap(),
            ImageSpec::Container {
                kind: Some(EngineKind::Podman),
                name: "web".into()
            }
        );
        assert!(ImageSpec::parse("docker://web", Some(SourceKind::Container)).is_err());
        assert!(ImageSpec::parse("podman-container://web", Some(SourceKind::Podman)).is_err());
    }

    #[test]
    fn bare_references_are_normalised() {
        let ImageSpec::Auto { reference, .. } = parse("nginx") else {
            panic!("not a bare reference");
        };
        assert_eq!(reference.whole(), "docker.io/library/nginx:latest");
        let ImageSpec::Auto { reference, .. } = parse("ghcr.io/org/app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef") else {
            panic!("not a bare reference");
        };
        assert_eq!(reference.registry(), "ghcr.io");
        assert_eq!(reference.repository(), "org/app");
        assert!(reference.digest().is_some());
    }

    #[test]
    fn missing_files_are_not_references() {
        let error = ImageSpec::parse("missing-image.tar", None).unwrap_err();
        assert!(error.to_string().contains("missing-image.tar"), "{error}");
        assert!(ImageSpec::parse("./nope", None).is_err());
        assert!(ImageSpec::parse("Not A Reference!", None).is_err());
    }
}
