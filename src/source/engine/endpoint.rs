//! Where an engine's API listens, found by the rules the engines' own clients use.
//!
//! Docker (as the docker CLI resolves it): `DOCKER_HOST`; else the context named by
//! `DOCKER_CONTEXT` or by `currentContext` in `$DOCKER_CONFIG/config.json` (default
//! `~/.docker`), whose endpoint is in `contexts/meta/<sha256 of the name>/meta.json`; else
//! `unix:///var/run/docker.sock`.
//!
//! Podman: `CONTAINER_HOST`; else `$XDG_RUNTIME_DIR/podman/podman.sock` when it exists
//! (rootless); else `/run/podman/podman.sock`.

use super::EngineKind;
use crate::error::{Error, Result};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// How to reach an engine's API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    Unix(PathBuf),
    /// `host:port`, plain HTTP.
    Tcp(String),
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Endpoint::Unix(path) => write!(f, "unix://{}", path.display()),
            Endpoint::Tcp(address) => write!(f, "tcp://{address}"),
        }
    }
}

const DOCKER_SOCKET: &str = "/var/run/docker.sock";
const PODMAN_SOCKET: &str = "/run/podman/podman.sock";

/// Resolve the endpoint from the process environment and files.
pub fn resolve(kind: EngineKind) -> Result<Endpoint> {
    resolve_with(kind, &|name| {
        std::env::var(name).ok().filter(|v| !v.is_empty())
    })
}

/// Resolve with `env` standing for the environment (tests pass their own).
pub fn resolve_with(kind: EngineKind, env: &dyn Fn(&str) -> Option<String>) -> Result<Endpoint> {
    match kind {
        EngineKind::Docker => {
            if let Some(host) = env("DOCKER_HOST") {
                return parse_host(&host, "DOCKER_HOST");
            }
            let config_dir = env("DOCKER_CONFIG")
                .map(PathBuf::from)
                .or_else(|| env("HOME").map(|home| Path::new(&home).join(".docker")));
            let context = env("DOCKER_CONTEXT").or_else(|| {
                config_dir
                    .as_deref()
                    .and_then(|dir| current_context(&dir.join("config.json")))
            });
            match (context, config_dir) {
                (Some(name), Some(dir)) if name != "default" => context_endpoint(&dir, &name),
                (Some(name), None) if name != "default" => Err(Error::Config(format!(
                    "docker context {name:?}: no docker config directory (set DOCKER_CONFIG or HOME)"
                ))),
                _ => Ok(Endpoint::Unix(PathBuf::from(DOCKER_SOCKET))),
            }
        }
        EngineKind::Podman => {
            if let Some(host) = env("CONTAINER_HOST") {
                return parse_host(&host, "CONTAINER_HOST");
            }
            if let Some(runtime) = env("XDG_RUNTIME_DIR") {
                let socket = Path::new(&runtime).join("podman/podman.sock");
                if socket.exists() {
                    return Ok(Endpoint::Unix(socket));
                }
            }
            Ok(Endpoint::Unix(PathBuf::from(PODMAN_SOCKET)))
        }
    }
}

/// `unix:///path`, `tcp://host:port` (or `http://`); ssh and named pipes are not spoken.
fn parse_host(host: &str, variable: &str) -> Result<Endpoint> {
    if let Some(path) = host.strip_prefix("unix://") {
        if path.is_empty() {
            return Err(Error::Config(format!("{variable}={host}: no socket path")));
        }
        return Ok(Endpoint::Unix(PathBuf::from(path)));
    }
    if let Some(address) = host
        .strip_prefix("tcp://")
        .or_else(|| host.strip_prefix("http://"))
    {
        let address = address.trim_end_matches('/');
        if address.is_empty() {
            return Err(Error::Config(format!("{variable}={host}: no address")));
        }
        // Docker's default port for plain tcp.
        let address = if address
            .rsplit_once(':')
            .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
        {
            address.to_string()
        } else {
            format!("{address}:2375")
        };
        return Ok(Endpoint::Tcp(address));
    }
    let scheme = host.split_once("://").map_or(host, |(s, _)| s);
    Err(Error::Config(format!(
        "{variable}={host}: the {scheme:?} scheme is not supported (use unix:// or tcp://)"
    )))
}

/// `currentContext` of a docker config.json, if any.
fn current_context(config: &Path) -> Option<String> {
    let bytes = read_bounded(config).ok()?;
    let value: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    value
        .get("currentContext")
        .and_then(|c| c.as_str())
        .filter(|c| !c.is_empty())
        .map(str::to_string)
}

/// The docker endpoint of a named context.
fn context_endpoint(config_dir: &Path, name: &str) -> Result<Endpoint> {
    let hash = hex::encode(Sha256::digest(name.as_bytes()));
    let meta = config_dir
        .join("contexts/meta")
        .join(hash)
        .join("meta.json");
    let bytes = read_bounded(&meta).map_err(|e| {
        Error::Config(format!(
            "docker context {name:?}: cannot read {}: {e}",
            meta.display()
        ))
    })?;
    let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| {
        Error::Config(format!(
            "docker context {name:?}: invalid JSON in {}: {e}",
            meta.display()
        ))
    })?;
    let host = value
        .pointer("/Endpoints/docker/Host")
        .and_then(|h| h.as_str())
        .ok_or_else(|| {
            Error::Config(format!(
                "docker context {name:?}: {} has no Endpoints.docker.Host",
                meta.display()
            ))
        })?;
    parse_host(host, &format!("docker context {name:?}"))
}

/// Config files are small; a huge one is refused rather than read.
fn read_bounded(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(crate::source::JSON_LIMIT)
        .read_to_end(&mut bytes)?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn docker_host_wins_and_is_parsed() {
        let env = env_of(&[
            ("DOCKER_HOST", "unix:///tmp/d.sock"),
            ("DOCKER_CONTEXT", "x"),
        ]);
        assert_eq!(
            resolve_with(EngineKind::Docker, &env).unwrap(),
            Endpoint::Unix("/tmp/d.sock".into())
        );
        let env = env_of(&[("DOCKER_HOST", "tcp://127.0.0.1:2376")]);
        assert_eq!(
            resolve_with(EngineKind::Docker, &env).unwrap(),
            Endpoint::Tcp("127.0.0.1:2376".into())
        );
        let env = env_of(&[("DOCKER_HOST", "tcp://engine")]);
        assert_eq!(
            resolve_with(EngineKind::Docker, &env).unwrap().to_string(),
            "tcp://engine:2375"
        );
        let env = env_of(&[("DOCKER_HOST", "ssh://me@box")]);
        let error = resolve_with(EngineKind::Docker, &env)
            .unwrap_err()
            .to_string();
        assert!(error.contains("\"ssh\" scheme is not supported"), "{error}");
    }

    #[test]
    fn the_current_context_names_the_endpoint() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("config.json"),
            r#"{"auths":{},"currentContext":"remote"}"#,
        )
        .unwrap();
        let hash = hex::encode(Sha256::digest(b"remote"));
        let meta = dir.path().join("contexts/meta").join(hash);
        std::fs::create_dir_all(&meta).unwrap();
        std::fs::write(
            meta.join("meta.json"),
            r#"{"Name":"remote","Metadata":{},"Endpoints":{"docker":{"Host":"unix:///srv/remote.sock","SkipTLSVerify":false}}}"#,
        )
        .unwrap();
        let config = dir.path().to_str().unwrap();
        let env = env_of(&[("DOCKER_CONFIG", config)]);
        assert_eq!(
            resolve_with(EngineKind::Docker, &env).unwrap(),
            Endpoint::Unix("/srv/remote.sock".into())
        );
        // DOCKER_CONTEXT overrides the file; "default" means the default socket.
        let env = env_of(&[("DOCKER_CONFIG", config), ("DOCKER_CONTEXT", "default")]);
        assert_eq!(
            resolve_with(EngineKind::Docker, &env).unwrap(),
            Endpoint::Unix(DOCKER_SOCKET.into())
        );
        let env = env_of(&[("DOCKER_CONFIG", config), ("DOCKER_CONTEXT", "gone")]);
        let error = resolve_with(EngineKind::Docker, &env)
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("docker context \"gone\": cannot read"),
            "{error}"
        );
        // Without any of it: the default socket.
        let env = env_of(&[("HOME", "/nonexistent")]);
        assert_eq!(
            resolve_with(EngineKind::Docker, &env).unwrap(),
            Endpoint::Unix(DOCKER_SOCKET.into())
        );
    }

    #[test]
    fn podman_sockets_follow_podmans_order() {
        let env = env_of(&[
            ("CONTAINER_HOST", "unix:///tmp/p.sock"),
            ("DOCKER_HOST", "unix:///tmp/d.sock"),
        ]);
        assert_eq!(
            resolve_with(EngineKind::Podman, &env).unwrap(),
            Endpoint::Unix("/tmp/p.sock".into())
        );
        let runtime = tempfile::tempdir().unwrap();
        let runtime_dir = runtime.path().to_str().unwrap();
        let env = env_of(&[("XDG_RUNTIME_DIR", runtime_dir)]);
        // No socket there yet: the system socket.
        assert_eq!(
            resolve_with(EngineKind::Podman, &env).unwrap(),
            Endpoint::Unix(PODMAN_SOCKET.into())
        );
        std::fs::create_dir_all(runtime.path().join("podman")).unwrap();
        std::fs::write(runtime.path().join("podman/podman.sock"), b"").unwrap();
        assert_eq!(
            resolve_with(EngineKind::Podman, &env).unwrap(),
            Endpoint::Unix(runtime.path().join("podman/podman.sock"))
        );
    }
}
