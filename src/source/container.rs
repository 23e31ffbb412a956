//! A container in a Docker or Podman engine, as a source: what it is
//! (`GET /containers/{name}/json`), which paths its writable layer changed
//! (`GET /containers/{id}/changes`), and one path's archive
//! (`GET /containers/{id}/archive?path=…`) as a stream of tar bytes. Nothing here builds a
//! layer: the load (`load/container.rs`) turns these answers into one.
//!
//! The same client and bounds as an image's ([`super::engine`]): inspect answers up to
//! [`DOCUMENT_LIMIT`], the change list up to [`CHANGES_LIMIT`], error bodies cut to one
//! line, and every wait bounded.

use super::engine::endpoint::Endpoint;
use super::engine::{
    describe, read_bounded, Api, EngineKind, ExportReader, API_VERSION, DOCUMENT_LIMIT,
    HEADERS_TIMEOUT, PROBE_TIMEOUT,
};
use crate::error::{Error, Result};
use crate::escape::escape_str;
use base64::Engine as _;
use reqwest::StatusCode;

/// Largest change list read: about a million changed paths. The list is JSON held whole
/// until parsed, so it has a bound of its own, larger than an inspect answer's.
pub const CHANGES_LIMIT: u64 = super::JSON_LIMIT;

/// What the engine says about a container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Container {
    /// The full container ID, used for every later request (the name may be reused).
    pub id: String,
    /// The name the user gave (a name or an ID).
    pub name: String,
    /// The image's ID (`sha256:…`), which the engine exports like any image.
    pub image: String,
}

/// How a path differs from the image, as the engine's change list says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    Modified,
    Added,
    Deleted,
}

/// One entry of the change list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathChange {
    /// Absolute, as the engine writes it (`/etc/motd`).
    pub path: String,
    pub kind: ChangeKind,
}

/// The engine's stat of an archived path (header `X-Docker-Container-Path-Stat`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct PathStat {
    #[serde(default)]
    pub size: i64,
    /// Go's `os.FileMode`: permission bits and type bits such as [`PathStat::SYMLINK`].
    #[serde(default)]
    pub mode: u32,
    /// The path the link leads to, from the container's root (engines fill it for every
    /// path; it means something only for a symlink).
    #[serde(default, rename = "linkTarget")]
    pub link_target: String,
}

impl PathStat {
    /// Go's `os.ModeDir`.
    pub const DIR: u32 = 1 << 31;
    /// Go's `os.ModeSymlink`.
    pub const SYMLINK: u32 = 1 << 27;

    pub fn is_dir(&self) -> bool {
        self.mode & Self::DIR != 0
    }
    pub fn is_symlink(&self) -> bool {
        self.mode & Self::SYMLINK != 0
    }
}

/// One path's archive: the engine's stat of it, and the tar stream.
pub(crate) struct Archive<'a> {
    pub stat: Option<PathStat>,
    pub body: ExportReader<&'a Api>,
}

/// A connection to one engine, for one container's requests.
pub struct Engine {
    api: Api,
}

impl Engine {
    pub fn connect(kind: EngineKind, endpoint: &Endpoint) -> Result<Engine> {
        Ok(Engine {
            api: Api::new(kind, endpoint)?,
        })
    }

    /// `{base}/v1.41/containers/{id}/{action}`, the id as one escaped path segment.
    fn url(&self, id: &str, action: &str) -> Result<reqwest::Url> {
        let mut url = reqwest::Url::parse(&self.api.base)
            .map_err(|e| self.api.error(format!("invalid address: {e}")))?;
        url.path_segments_mut()
            .map_err(|()| self.api.error("invalid address".into()))?
            .push(API_VERSION)
            .push("containers")
            .push(id)
            .push(action);
        Ok(url)
    }

    fn send(&self, url: reqwest::Url, limit: std::time::Duration) -> Result<reqwest::Response> {
        match self.api.within(limit, self.api.client.get(url).send()) {
            Some(Ok(response)) => Ok(response),
            Some(Err(error)) => Err(self.api.error(describe(&error))),
            None => Err(self.api.no_answer(limit)),
        }
    }

    /// A JSON answer, read up to `limit` bytes and refused past it.
    fn document(&self, what: &str, response: reqwest::Response, limit: u64) -> Result<Vec<u8>> {
        let too_large = || {
            self.api.error(format!(
                "{what}: the answer is larger than {} MiB; refused",
                limit >> 20
            ))
        };
        if response.content_length().is_some_and(|n| n > limit) {
            return Err(too_large());
        }
        let body = match self
            .api
            .within(PROBE_TIMEOUT, read_bounded(response, limit))
        {
            Some(Ok(body)) => body,
            Some(Err(error)) => {
                return Err(self.api.error(format!("{what}: {}", describe(&error))))
            }
            None => return Err(self.api.no_answer(PROBE_TIMEOUT)),
        };
        if body.len() as u64 > limit {
            return Err(too_large());
        }
        Ok(body)
    }

    fn malformed(&self, what: &str, error: serde_json::Error) -> Error {
        self.api.error(format!(
            "{what}: not an answer this request has: {}",
            super::one_line(error.to_string().as_bytes(), false)
        ))
    }

    /// The container `name` (a name or an ID). A container that does not exist is an
    /// error naming it.
    pub fn inspect(&self, name: &str) -> Result<Container> {
        let what = format!("GET /containers/{}/json", escape_str(name));
        let response = self.send(self.url(name, "json")?, PROBE_TIMEOUT)?;
        match response.status() {
            StatusCode::OK => {}
            StatusCode::NOT_FOUND => {
                return Err(self.api.error(format!("no container {}", escape_str(name))))
            }
            _ => return Err(self.api.failure(&what, response)),
        }
        let body = self.document(&what, response, DOCUMENT_LIMIT)?;
        #[derive(serde::Deserialize)]
        struct Inspection {
            #[serde(rename = "Id")]
            id: String,
            #[serde(rename = "Image")]
            image: String,
        }
        let parsed: Inspection =
            serde_json::from_slice(&body).map_err(|e| self.malformed(&what, e))?;
        if parsed.id.is_empty() || parsed.image.is_empty() {
            return Err(self
                .api
                .error(format!("{what}: the answer names no container or image")));
        }
        Ok(Container {
            id: parsed.id,
            name: name.to_string(),
            image: parsed.image,
        })
    }

    /// The container's change list, in the engine's order.
    pub fn changes(&self, container: &Container) -> Result<Vec<PathChange>> {
        let what = format!("GET /containers/{}/changes", escape_str(&container.name));
        let response = self.send(self.url(&container.id, "changes")?, PROBE_TIMEOUT)?;
        if response.status() == StatusCode::NOT_FOUND {
            return Err(self.api.error(format!(
                "no container {} (removed while it was read)",
                escape_str(&container.name)
            )));
        }
        if response.status() != StatusCode::OK {
            return Err(self.api.failure(&what, response));
        }
        let body = self.document(&what, response, CHANGES_LIMIT)?;
        #[derive(serde::Deserialize)]
        struct Change {
            #[serde(rename = "Path")]
            path: String,
            #[serde(rename = "Kind")]
            kind: u8,
        }
        // `null` when nothing changed (Docker).
        let parsed: Option<Vec<Change>> =
            serde_json::from_slice(&body).map_err(|e| self.malformed(&what, e))?;
        parsed
            .unwrap_or_default()
            .into_iter()
            .map(|change| {
                let kind = match change.kind {
                    0 => ChangeKind::Modified,
                    1 => ChangeKind::Added,
                    2 => ChangeKind::Deleted,
                    other => {
                        return Err(self.api.error(format!(
                            "{what}: unknown change kind {other} for {}",
                            escape_str(&change.path)
                        )))
                    }
                };
                Ok(PathChange {
                    path: change.path,
                    kind,
                })
            })
            .collect()
    }

    /// The archive of one path of the container, or `None` when the path is gone (a
    /// running container may delete it between the change list and this request).
    pub(crate) fn archive(&self, container: &Container, path: &str) -> Result<Option<Archive<'_>>> {
        let mut url = self.url(&container.id, "archive")?;
        url.query_pairs_mut().append_pair("path", path);
        let response = self.send(url, HEADERS_TIMEOUT)?;
        match response.status() {
            StatusCode::OK => {}
            StatusCode::NOT_FOUND => return Ok(None),
            _ => {
                let what = format!(
                    "GET /containers/{}/archive?path={}",
                    escape_str(&container.name),
                    escape_str(path)
                );
                return Err(self.api.failure(&what, response));
            }
        }
        // The stat is a convenience: a header that is missing or does not decode leaves
        // the tar header alone to say what the path is.
        let stat = response
            .headers()
            .get("X-Docker-Container-Path-Stat")
            .and_then(|value| {
                base64::engine::general_purpose::STANDARD
                    .decode(value.as_bytes())
                    .ok()
            })
            .and_then(|json| serde_json::from_slice::<PathStat>(&json).ok());
        Ok(Some(Archive {
            stat,
            body: ExportReader::new(&self.api, response),
        }))
    }

    /// The error to report about this engine.
    pub fn error(&self, detail: String) -> Error {
        self.api.error(detail)
    }
}

/// A container, and the engine that has it.
pub struct Found {
    pub kind: EngineKind,
    pub endpoint: Endpoint,
    pub engine: Engine,
    pub container: Container,
}

/// Which engine has the container `name`: Docker's, then Podman's (as a bare reference
/// is looked for). The error names both when neither has it.
pub fn find(name: &str) -> Result<Found> {
    let mut reasons = Vec::new();
    for kind in [EngineKind::Docker, EngineKind::Podman] {
        let found = super::engine::endpoint::resolve(kind).and_then(|endpoint| {
            let engine = Engine::connect(kind, &endpoint)?;
            let container = engine.inspect(name)?;
            Ok(Found {
                kind,
                endpoint,
                engine,
                container,
            })
        });
        match found {
            Ok(found) => return Ok(found),
            Err(error) => reasons.push(error.to_string()),
        }
    }
    Err(Error::Usage(format!(
        "no engine has the container {}: {}",
        escape_str(name),
        reasons.join("; ")
    )))
}

#[cfg(test)]
mod tests {
    use super::PathStat;
    use base64::Engine as _;

    fn stat(header: &str) -> PathStat {
        let json = base64::engine::general_purpose::STANDARD
            .decode(header)
            .unwrap();
        serde_json::from_slice(&json).unwrap()
    }

    /// `X-Docker-Container-Path-Stat` headers as Podman 4.3 sent them for a file, a
    /// symlink and a directory of a container: Go's `os.FileMode` bits decide the type.
    #[test]
    fn podmans_stat_headers_say_what_a_path_is() {
        let file = stat("eyJuYW1lIjoibmV3LnR4dCIsInNpemUiOjYsIm1vZGUiOjQyMCwibXRpbWUiOiIyMDI2LTEyLTA3VDExOjU1OjM5LjI1MzA3NjY4M1oiLCJpc0RpciI6ZmFsc2UsImxpbmtUYXJnZXQiOiIvbmV3LnR4dCJ9");
        assert_eq!((file.size, file.mode), (6, 0o644));
        assert!(!file.is_dir() && !file.is_symlink());
        let link = stat("eyJuYW1lIjoibmV3LnR4dCIsInNpemUiOjgsIm1vZGUiOjEzNDIxODIzOSwibXRpbWUiOiIyMDI2LTEyLTA3VDExOjU1OjM5LjI1NzA3NjY4M1oiLCJpc0RpciI6ZmFsc2UsImxpbmtUYXJnZXQiOiIvbmV3LnR4dCJ9");
        assert!(link.is_symlink() && !link.is_dir());
        assert_eq!(link.link_target, "/new.txt");
        let dir = stat("eyJuYW1lIjoibmV3ZGlyIiwic2l6ZSI6NDA5NiwibW9kZSI6MjE0NzQ4NDE0MSwibXRpbWUiOiIyMDI2LTEyLTA3VDExOjU1OjM5LjI1MzA3NjY4M1oiLCJpc0RpciI6dHJ1ZSwibGlua1RhcmdldCI6Ii9uZXdkaXIifQ==");
        assert!(dir.is_dir() && !dir.is_symlink());
        assert_eq!(dir.mode & 0o777, 0o755);
    }
}
