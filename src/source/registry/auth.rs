//! Registry credentials, found in the order the container tools use:
//! `--creds`, `REGISTRY_AUTH_FILE`, `$XDG_RUNTIME_DIR/containers/auth.json`,
//! `$DOCKER_CONFIG/config.json` (or `~/.docker/config.json`), then anonymous.
//!
//! In each file, `credHelpers` for the registry wins, then its `auths` entry, then
//! `credsStore`; helpers are `docker-credential-NAME` programs on PATH spoken to by their
//! protocol (`get`, the server on stdin, JSON on stdout). A secret is never printed: the
//! type's Debug hides it and errors name only the helper or the file.

use crate::error::{Error, Result};
use base64::Engine;
use std::collections::HashMap;
use std::fmt;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Mutex, OnceLock};

/// Most bytes read from an auth file or a helper's answer.
const AUTH_LIMIT: u64 = 1 << 20;

/// A user name and password (or token) for one registry.
#[derive(Clone, PartialEq, Eq)]
pub struct Credential {
    pub username: String,
    pub secret: String,
    /// Where it came from, for messages ("--creds", a file, a helper).
    pub origin: String,
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credential")
            .field("username", &self.username)
            .field("origin", &self.origin)
            .finish_non_exhaustive()
    }
}

#[derive(Default, serde::Deserialize)]
struct AuthFile {
    #[serde(default)]
    auths: HashMap<String, AuthEntry>,
    #[serde(default, rename = "credHelpers")]
    cred_helpers: HashMap<String, String>,
    #[serde(default, rename = "credsStore")]
    creds_store: Option<String>,
}

#[derive(Default, serde::Deserialize)]
struct AuthEntry {
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
}

/// `docker.io` and its aliases are one registry to the auth files.
fn canonical_host(host: &str) -> &str {
    match host {
        "index.docker.io" | "registry-1.docker.io" | "docker.io" => "docker.io",
        other => other,
    }
}

/// A key of `auths` (`https://host/v1/`, `host`, `host/namespace/repo`) as
/// `host[/path]`, the path kept only when it scopes a repository.
fn normalise_key(key: &str) -> String {
    let bare = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key)
        .trim_end_matches('/');
    let (host, path) = bare.split_once('/').unwrap_or((bare, ""));
    let host = canonical_host(host);
    if path.is_empty() || path == "v1" || path == "v2" {
        host.to_string()
    } else {
        format!("{host}/{path}")
    }
}

/// The entry that applies to `registry/repository`: the longest repository-scoped key,
/// else the registry's.
fn best_key<'a, V>(map: &'a HashMap<String, V>, registry: &str, repository: &str) -> Option<&'a V> {
    let host = canonical_host(registry);
    let full = format!("{host}/{repository}");
    map.iter()
        .filter_map(|(key, value)| {
            let key = normalise_key(key);
            let applies = key == host || full == key || full.starts_with(&format!("{key}/"));
            applies.then_some((key.len(), value))
        })
        .max_by_key(|(len, _)| *len)
        .map(|(_, value)| value)
}

/// The auth files, in the order they are consulted.
fn auth_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    if let Some(path) = std::env::var_os("REGISTRY_AUTH_FILE").filter(|v| !v.is_empty()) {
        files.push(PathBuf::from(path));
    }
    if let Some(dir) = std::env::var_os("XDG_RUNTIME_DIR").filter(|v| !v.is_empty()) {
        files.push(PathBuf::from(dir).join("containers/auth.json"));
    }
    match std::env::var_os("DOCKER_CONFIG").filter(|v| !v.is_empty()) {
        Some(dir) => files.push(PathBuf::from(dir).join("config.json")),
        None => {
            if let Some(home) = std::env::var_os("HOME") {
                files.push(PathBuf::from(home).join(".docker/config.json"));
            }
        }
    }
    files
}

/// Credentials for `registry/repository`, or `None` for anonymous access.
pub fn find(registry: &str, repository: &str, creds: Option<&str>) -> Result<Option<Credential>> {
    if let Some(creds) = creds {
        return from_flag(creds).map(Some);
    }
    for path in auth_files() {
        let Some(file) = read_auth_file(&path)? else {
            continue;
        };
        let origin = path.display().to_string();
        if let Some(helper) = best_key(&file.cred_helpers, registry, repository) {
            if let Some(found) = run_helper(helper, registry)? {
                return Ok(Some(found));
            }
            continue;
        }
        if let Some(entry) = best_key(&file.auths, registry, repository) {
            if let Some(found) = decode_entry(entry, &origin)? {
                return Ok(Some(found));
            }
        }
        if let Some(store) = file.creds_store.as_deref().filter(|s| !s.is_empty()) {
            if let Some(found) = run_helper(store, registry)? {
                return Ok(Some(found));
            }
        }
    }
    Ok(None)
}

fn from_flag(creds: &str) -> Result<Credential> {
    let (username, secret) = match creds.split_once(':') {
        Some((user, pass)) => (user.to_string(), pass.to_string()),
        None => {
            use std::io::IsTerminal;
            if !std::io::stdin().is_terminal() {
                return Err(Error::Usage(
                    "--creds USER has no password and there is no terminal to ask on; give USER:PASS"
                        .into(),
                ));
            }
            let pass = rpassword::prompt_password(format!("Password for {creds}: "))
                .map_err(|e| Error::io("terminal", e))?;
            (creds.to_string(), pass)
        }
    };
    if username.is_empty() {
        return Err(Error::Usage("--creds: the user name is empty".into()));
    }
    Ok(Credential {
        username,
        secret,
        origin: "--creds".into(),
    })
}

fn read_auth_file(path: &std::path::Path) -> Result<Option<AuthFile>> {
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(path.display().to_string(), e)),
    };
    let mut bytes = Vec::new();
    file.take(AUTH_LIMIT + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(path.display().to_string(), e))?;
    if bytes.len() as u64 > AUTH_LIMIT {
        return Err(Error::Config(format!(
            "{}: larger than {} KiB; not an auth file",
            path.display(),
            AUTH_LIMIT >> 10
        )));
    }
    // serde_json's messages quote no input, so no secret leaks through them.
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| Error::Config(format!("{}: invalid auth file: {e}", path.display())))
}

fn decode_entry(entry: &AuthEntry, origin: &str) -> Result<Option<Credential>> {
    if let (Some(username), Some(password)) = (&entry.username, &entry.password) {
        return Ok(Some(Credential {
            username: username.clone(),
            secret: password.clone(),
            origin: origin.into(),
        }));
    }
    let Some(encoded) = entry.auth.as_deref().filter(|a| !a.is_empty()) else {
        return Ok(None);
    };
    let invalid = || Error::Config(format!("{origin}: an `auth` entry is not base64 USER:PASS"));
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .map_err(|_| invalid())?;
    let text = String::from_utf8(decoded).map_err(|_| invalid())?;
    let (user, pass) = text.split_once(':').ok_or_else(invalid)?;
    Ok(Some(Credential {
        username: user.to_string(),
        secret: pass.to_string(),
        origin: origin.into(),
    }))
}

#[derive(serde::Deserialize)]
struct HelperAnswer {
    #[serde(rename = "Username")]
    username: String,
    #[serde(rename = "Secret")]
    secret: String,
}

/// A helper's answer for a registry, asked once per process: `fleet` opens a registry's
/// client several times for each image (to describe it, to parse ahead, to load it), and a
/// helper may take a second (a cloud login). Failures are not kept.
fn run_helper(name: &str, registry: &str) -> Result<Option<Credential>> {
    type Answers = Mutex<HashMap<(String, String), Option<Credential>>>;
    static ANSWERS: OnceLock<Answers> = OnceLock::new();
    let answers = ANSWERS.get_or_init(Answers::default);
    let key = (name.to_string(), canonical_host(registry).to_string());
    // Held while the helper runs: images described at once wait for one answer.
    let mut answers = answers.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(known) = answers.get(&key) {
        return Ok(known.clone());
    }
    let found = ask_helper(name, registry)?;
    answers.insert(key, found.clone());
    Ok(found)
}

/// `docker-credential-NAME get`, with the server on stdin.
fn ask_helper(name: &str, registry: &str) -> Result<Option<Credential>> {
    if name.is_empty() || name.contains('/') {
        return Err(Error::Config(format!(
            "credential helper name {name:?} is not a plain name"
        )));
    }
    let program = format!("docker-credential-{name}");
    // Docker stores Docker Hub under its v1 URL; other registries under the host.
    let server = if canonical_host(registry) == "docker.io" {
        "https://index.docker.io/v1/".to_string()
    } else {
        registry.to_string()
    };
    let failed = |detail: String| Error::Config(format!("credential helper {program}: {detail}"));
    let mut child = Command::new(&program)
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| failed(format!("cannot run it: {e}")))?;
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(server.as_bytes());
    }
    let mut answer = Vec::new();
    if let Some(stdout) = child.stdout.take() {
        let _ = stdout.take(AUTH_LIMIT).read_to_end(&mut answer);
    }
    let status = child
        .wait()
        .map_err(|e| failed(format!("cannot wait for it: {e}")))?;
    if !status.success() {
        // The protocol's "credentials not found" answer means: anonymous.
        if String::from_utf8_lossy(&answer).contains("credentials not found") {
            return Ok(None);
        }
        return Err(failed(format!("it failed ({status})")));
    }
    let answer: HelperAnswer =
        serde_json::from_slice(&answer).map_err(|e| failed(format!("unreadable answer: {e}")))?;
    if answer.secret.is_empty() {
        return Ok(None);
    }
    Ok(Some(Credential {
        username: answer.username,
        secret: answer.secret,
        origin: program,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_match_hosts_and_repositories() {
        let mut map = HashMap::new();
        map.insert("https://index.docker.io/v1/".to_string(), 1);
        map.insert("ghcr.io".to_string(), 2);
        map.insert("ghcr.io/org".to_string(), 3);
        assert_eq!(best_key(&map, "docker.io", "library/nginx"), Some(&1));
        assert_eq!(best_key(&map, "ghcr.io", "other/app"), Some(&2));
        assert_eq!(best_key(&map, "ghcr.io", "org/app"), Some(&3));
        assert_eq!(best_key(&map, "ghcr.io", "organisation/app"), Some(&2));
        assert_eq!(best_key(&map, "quay.io", "x"), None);
    }

    #[test]
    fn auth_entries_decode_and_debug_hides_the_secret() {
        let entry = AuthEntry {
            auth: Some(base64::engine::general_purpose::STANDARD.encode("alice:s3cret")),
            ..Default::default()
        };
        let found = decode_entry(&entry, "config.json").unwrap().unwrap();
        assert_eq!(found.username, "alice");
        assert_eq!(found.secret, "s3cret");
        assert!(!format!("{found:?}").contains("s3cret"));
        let bad = AuthEntry {
            auth: Some("!!".into()),
            ..Default::default()
        };
        assert!(decode_entry(&bad, "config.json").is_err());
    }
}
