//! Images read from a real registry: Debian's `docker-registry` (the CNCF distribution
//! server) on 127.0.0.1, with a config written here and storage in a temp dir, fixtures
//! pushed into it with skopeo. Listings read back through `registry://` must equal the
//! fixtures' umoci references byte for byte; bad cases must exit 2 with one line.
//!
//! Skipped (with a note) when docker-registry or skopeo is not installed; `.ci/run`
//! installs both.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_layerscope");

mod support;
use support::registry::{run, tools_present, Auth, Env, Registry};

fn shared_fixtures() -> Option<PathBuf> {
    let dir = std::env::var_os("LAYERSCOPE_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures"));
    dir.join("README.md").is_file().then_some(dir)
}

/// Change one byte in the middle of `path`, keeping its length.
fn flip_middle_byte(path: &Path) {
    let mut bytes = std::fs::read(path).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x55;
    std::fs::write(path, bytes).unwrap();
}

/// The small fixture pushed as `small:v1`: its registry, an empty environment and the
/// `registry://` name.
fn small_pushed(image: &Path) -> (Registry, Env, String) {
    let registry = Registry::start(Auth::None);
    registry.push(image, "small:v1", false, None);
    let name = format!("registry://{}/small:v1", registry.host());
    (registry, Env::new(BIN), name)
}

fn assert_listing(output: &Output, reference: &Path, what: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{what}: failed: {stderr}");
    let expected = std::fs::read(reference).unwrap();
    if output.stdout != expected {
        let actual = String::from_utf8_lossy(&output.stdout);
        let expected = String::from_utf8_lossy(&expected);
        let difference = actual
            .lines()
            .zip(expected.lines())
            .find(|(a, e)| a != e)
            .map(|(a, e)| format!("got      {a}\nexpected {e}"))
            .unwrap_or_else(|| {
                format!(
                    "{} lines vs {}",
                    actual.lines().count(),
                    expected.lines().count()
                )
            });
        panic!(
            "{what}: listing differs from {}\n{difference}",
            reference.display()
        );
    }
}

/// The one line of an error, checked for the registry and repository names.
fn assert_one_line_error(output: &Output, registry: &str, repository: &str) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(2), "exit code; stderr: {stderr}");
    let lines: Vec<&str> = stderr.lines().filter(|l| l.contains("error")).collect();
    assert_eq!(lines.len(), 1, "one error line expected: {stderr}");
    let line = lines[0];
    assert!(
        line.contains(&format!("{registry}/{repository}")),
        "the error names the registry and repository: {line}"
    );
    // Shown with --nocapture, so a run can quote the errors users see.
    eprintln!("{line}");
    line.to_string()
}

/// Fixtures that skopeo can push whole (the nested-index one holds one platform's blobs
/// of 23, so a registry cannot take it as it is).
fn pushable_fixtures(dir: &Path) -> Vec<(PathBuf, PathBuf)> {
    let mut pairs: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "tar"))
        .filter(|p| {
            !p.to_string_lossy()
                .contains("containerd-store-nested-index")
        })
        .filter_map(|tar| {
            let reference = tar.with_extension("rootfs.txt");
            reference.is_file().then_some((tar, reference))
        })
        .collect();
    pairs.sort();
    pairs
}

fn repo_name(path: &Path) -> String {
    path.file_stem()
        .unwrap()
        .to_string_lossy()
        .to_lowercase()
        .replace(|c: char| !c.is_ascii_alphanumeric(), "-")
}

#[test]
fn every_fixture_lists_the_same_from_the_registry() {
    let Some(dir) = shared_fixtures() else { return };
    if !tools_present() {
        return;
    }
    let registry = Registry::start(Auth::None);
    let env = Env::new(BIN);
    let pairs = pushable_fixtures(&dir);
    assert!(pairs.len() >= 13, "found {} fixtures", pairs.len());
    for (image, reference) in &pairs {
        let repo = repo_name(image);
        registry.push(image, &format!("{repo}:v1"), false, None);
        let name = format!("registry://{}/{repo}:v1", registry.host());
        // Cold (nothing cached), then warm (every blob from the cache).
        assert_listing(&env.ls(&name, &[]), reference, &format!("{name} cold"));
        assert_listing(&env.ls(&name, &[]), reference, &format!("{name} warm"));
        // Without the cache, and through --source with a bare reference.
        let bare = format!("{}/{repo}:v1", registry.host());
        assert_listing(
            &env.ls(&bare, &["--source", "registry", "--no-cache"]),
            reference,
            &format!("{bare} --source registry --no-cache"),
        );
    }
    // A bare reference with no engine around goes to the registry, and says so.
    let (image, reference) = &pairs[0];
    let bare = format!("{}/{}:v1", registry.host(), repo_name(image));
    let output = env.ls(&bare, &[]);
    assert_listing(&output, reference, &bare);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("from the registry 127.0.0.1"),
        "a note names the source: {stderr}"
    );
}

#[test]
fn multi_platform_index_pushed_with_all() {
    let Some(dir) = shared_fixtures() else { return };
    if !tools_present() {
        return;
    }
    let registry = Registry::start(Auth::None);
    let env = Env::new(BIN);
    let image = dir.join("multi-platform-oci-archive.tar");
    registry.push(&image, "multi:v1", true, None);
    let name = format!("registry://{}/multi:v1", registry.host());
    for platform in ["linux/amd64", "linux/arm64"] {
        let reference = dir.join(format!(
            "multi-platform-oci-archive.{}.rootfs.txt",
            platform.replace('/', "-")
        ));
        let output = env.ls(&name, &["--platform", platform]);
        assert_listing(&output, &reference, &format!("{name} {platform}"));
    }
    // The host's platform by default (the tests run on linux/amd64 or linux/arm64).
    let host = match std::env::consts::ARCH {
        "aarch64" => "linux-arm64",
        _ => "linux-amd64",
    };
    let reference = dir.join(format!("multi-platform-oci-archive.{host}.rootfs.txt"));
    assert_listing(&env.ls(&name, &[]), &reference, &format!("{name} default"));
    // A platform the index lacks: the error lists what it has.
    let output = env.ls(&name, &["--platform", "linux/s390x"]);
    let line = assert_one_line_error(&output, &registry.host(), "multi");
    assert!(
        line.contains("linux/amd64") && line.contains("linux/arm64"),
        "{line}"
    );
}

fn small_fixture() -> Option<(PathBuf, PathBuf)> {
    let dir = shared_fixtures()?;
    Some((
        dir.join("small-oci-archive.tar"),
        dir.join("small-oci-archive.rootfs.txt"),
    ))
}

#[test]
fn htpasswd_basic_auth_with_creds_config_and_helper() {
    let Some((image, reference)) = small_fixture() else {
        return;
    };
    if !tools_present() {
        return;
    }
    let registry = Registry::start(Auth::Htpasswd {
        user: "alice".into(),
        password: "correct-horse".into(),
    });
    registry.push(&image, "small:v1", false, Some("alice:correct-horse"));
    let name = format!("registry://{}/small:v1", registry.host());

    // --creds.
    let env = Env::new(BIN);
    assert_listing(
        &env.ls(&name, &["--creds", "alice:correct-horse"]),
        &reference,
        "--creds",
    );

    // A wrong password: exit 2, one line, how to log in, and the password nowhere.
    let env = Env::new(BIN);
    let output = env.ls(&name, &["--creds", "alice:Tr0ub4dor-wrong"]);
    let line = assert_one_line_error(&output, &registry.host(), "small");
    assert!(line.contains("login"), "says how to log in: {line}");
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(!all.contains("Tr0ub4dor"), "the password leaked: {all}");

    // No credentials at all.
    let env = Env::new(BIN);
    let line = assert_one_line_error(&env.ls(&name, &[]), &registry.host(), "small");
    assert!(line.contains("login"), "{line}");

    // config.json with `auths`.
    let env = Env::new(BIN);
    let docker = env.home.path().join("docker");
    std::fs::create_dir_all(&docker).unwrap();
    use base64::Engine;
    let auth = base64::engine::general_purpose::STANDARD.encode("alice:correct-horse");
    std::fs::write(
        docker.join("config.json"),
        format!(
            r#"{{"auths": {{"{}": {{"auth": "{auth}"}}}}}}"#,
            registry.host()
        ),
    )
    .unwrap();
    assert_listing(&env.ls(&name, &[]), &reference, "config.json auths");

    // REGISTRY_AUTH_FILE (containers' auth.json) comes before config.json: a wrong
    // password there must be the one used.
    let auth_file = env.home.path().join("auth.json");
    let wrong = base64::engine::general_purpose::STANDARD.encode("alice:nope-nope");
    std::fs::write(
        &auth_file,
        format!(
            r#"{{"auths": {{"{}": {{"auth": "{wrong}"}}}}}}"#,
            registry.host()
        ),
    )
    .unwrap();
    let output = env
        .command()
        .env("REGISTRY_AUTH_FILE", &auth_file)
        .args(["ls", "--long", &name])
        .output()
        .unwrap();
    let line = assert_one_line_error(&output, &registry.host(), "small");
    assert!(line.contains(&auth_file.display().to_string()), "{line}");

    // A docker-credential-* helper on PATH, named by credHelpers.
    let env = Env::new(BIN);
    let (path, log) = env.credential_helper(&registry.host(), "correct-horse");
    let output = env
        .command()
        .env("PATH", path)
        .args(["ls", "--long", &name])
        .output()
        .unwrap();
    assert_listing(&output, &reference, "credential helper");
    let asked = std::fs::read_to_string(&log).unwrap();
    assert_eq!(
        asked.trim(),
        registry.host(),
        "the helper is asked for the registry"
    );
}

#[test]
fn missing_tag_and_unknown_repository_exit_2() {
    let Some((image, _)) = small_fixture() else {
        return;
    };
    if !tools_present() {
        return;
    }
    let (registry, env, _) = small_pushed(&image);
    let output = env.ls(&format!("registry://{}/small:nope", registry.host()), &[]);
    let line = assert_one_line_error(&output, &registry.host(), "small");
    assert!(
        line.contains("manifest nope") && line.contains("404"),
        "{line}"
    );
    let output = env.ls(&format!("registry://{}/absent:v1", registry.host()), &[]);
    let line = assert_one_line_error(&output, &registry.host(), "absent");
    assert!(line.contains("404"), "{line}");
}

/// The path of a blob in the registry's filesystem storage.
fn stored_blob(registry: &Registry, digest: &str) -> PathBuf {
    let hex = digest.strip_prefix("sha256:").unwrap();
    registry
        .dir
        .path()
        .join("data/docker/registry/v2/blobs/sha256")
        .join(&hex[..2])
        .join(hex)
        .join("data")
}

/// The largest layer's digest, as `inspect --format json` reports it.
fn largest_layer(env: &Env, name: &str) -> String {
    let output = env
        .command()
        .args(["inspect", "--format", "json", "--no-cache", name])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let layers = json["layers"].as_array().expect("layers");
    layers
        .iter()
        .max_by_key(|l| l["compressed_bytes"].as_u64().unwrap_or(0))
        .and_then(|l| l["digest"].as_str())
        .expect("a digest")
        .to_string()
}

#[test]
fn a_blob_corrupted_on_the_servers_disk_is_a_digest_mismatch() {
    let Some((image, _)) = small_fixture() else {
        return;
    };
    if !tools_present() {
        return;
    }
    let (registry, env, name) = small_pushed(&image);
    let digest = largest_layer(&env, &name);
    flip_middle_byte(&stored_blob(&registry, &digest));
    let output = env.ls(&name, &[]);
    let line = assert_one_line_error(&output, &registry.host(), "small");
    assert!(
        line.contains("digest mismatch") && line.contains(&digest),
        "{line}"
    );
    // Nothing unverified was cached.
    assert!(!env.cached(&digest).exists(), "a bad blob was cached");
}

/// A cached blob damaged on the user's disk (same length, one byte changed) is caught by
/// the hash taken as the cache is read, dropped and fetched again: the listing stays right,
/// no warning or error is shown, and the cache holds the good blob afterwards.
#[test]
fn a_blob_damaged_in_the_cache_is_fetched_again() {
    use sha2::{Digest, Sha256};
    let Some((image, reference)) = small_fixture() else {
        return;
    };
    if !tools_present() {
        return;
    }
    let (_registry, env, name) = small_pushed(&image);
    assert_listing(&env.ls(&name, &[]), &reference, "cold");
    let digest = largest_layer(&env, &name);
    let cached = env.cached(&digest);
    assert!(cached.is_file(), "the blob was cached");
    flip_middle_byte(&cached);

    let output = env.ls(&name, &[]);
    assert_listing(&output, &reference, "with a damaged cache entry");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !stderr.contains("error") && !stderr.contains("warning"),
        "{stderr}"
    );
    let again = std::fs::read(&cached).expect("fetched and cached again");
    assert_eq!(
        format!("sha256:{}", hex::encode(Sha256::digest(&again))),
        digest,
        "the cache holds the good blob again"
    );
}

/// An OCI layout with one uncompressed layer holding `bytes` of incompressible data.
fn big_layout(dir: &Path, bytes: usize) -> PathBuf {
    use sha2::{Digest, Sha256};
    let layout = dir.join("big-layout");
    let blobs = layout.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).unwrap();
    let mut data = vec![0u8; bytes];
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    for chunk in data.chunks_mut(8) {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let word = state.to_le_bytes();
        chunk.copy_from_slice(&word[..chunk.len()]);
    }
    let mut layer = Vec::new();
    {
        let mut builder = tar::Builder::new(&mut layer);
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        builder
            .append_data(&mut header, "big.bin", &data[..])
            .unwrap();
        builder.finish().unwrap();
    }
    let write = |bytes: &[u8]| {
        let digest = format!("sha256:{}", hex::encode(Sha256::digest(bytes)));
        std::fs::write(blobs.join(&digest[7..]), bytes).unwrap();
        (digest, bytes.len())
    };
    let (layer_digest, layer_size) = write(&layer);
    let config = format!(
        r#"{{"architecture":"amd64","os":"linux","rootfs":{{"type":"layers","diff_ids":["{layer_digest}"]}},"history":[{{"created_by":"big"}}]}}"#
    );
    let (config_digest, config_size) = write(config.as_bytes());
    let manifest = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{config_digest}","size":{config_size}}},"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"{layer_digest}","size":{layer_size}}}]}}"#
    );
    let (manifest_digest, manifest_size) = write(manifest.as_bytes());
    std::fs::write(
        layout.join("index.json"),
        format!(
            r#"{{"schemaVersion":2,"manifests":[{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{manifest_digest}","size":{manifest_size}}}]}}"#
        ),
    )
    .unwrap();
    std::fs::write(
        layout.join("oci-layout"),
        r#"{"imageLayoutVersion":"1.0.0"}"#,
    )
    .unwrap();
    layout
}

#[test]
fn a_registry_killed_mid_pull_is_one_line() {
    if !tools_present() {
        return;
    }
    let mut registry = Registry::start(Auth::None);
    let scratch = tempfile::tempdir().unwrap();
    let layout = big_layout(scratch.path(), 160 << 20);
    run(Command::new("skopeo")
        .args(["--insecure-policy", "copy", "-q", "--dest-tls-verify=false"])
        .arg(format!("oci:{}", layout.display()))
        .arg(format!("docker://{}/big:v1", registry.host())));
    let env = Env::new(BIN);
    let name = format!("registry://{}/big:v1", registry.host());
    let mut child = env
        .command()
        .args(["ls", &name])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Once a blob is partly in, pause the pull (by PID), stop the registry, resume.
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut paused = false;
    while Instant::now() < deadline {
        let partial = std::fs::read_dir(env.blobs()).ok().and_then(|entries| {
            entries
                .flatten()
                .find(|e| e.file_name().to_string_lossy().starts_with(".partial-"))
                .and_then(|e| e.metadata().ok())
                .filter(|m| m.len() > 0)
        });
        if partial.is_some() {
            run(Command::new("kill").args(["-STOP", &child.id().to_string()]));
            paused = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    assert!(paused, "the pull never started");
    registry.kill();
    run(Command::new("kill").args(["-CONT", &child.id().to_string()]));
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let status = child.wait().unwrap();
    let output = Output {
        status,
        stdout: Vec::new(),
        stderr: stderr.into_bytes(),
    };
    let line = assert_one_line_error(&output, &registry.host(), "big");
    assert!(line.contains("layer 0"), "names the layer: {line}");
}

/// A token server for the registry's `token` auth: RS256 JWTs signed with a key whose
/// self-signed certificate the registry trusts (passed in the `x5c` header). It checks
/// basic credentials and grants the scopes asked for.
struct TokenServer {
    port: u16,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl TokenServer {
    fn start(dir: &Path, user: &str, password: &str) -> (TokenServer, PathBuf) {
        let key = dir.join("token.key");
        let cert = dir.join("token.pem");
        run(Command::new("openssl")
            .args([
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
            ])
            .arg("/CN=layerscope-test-token")
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&cert));
        let der = run(Command::new("openssl")
            .args(["x509", "-outform", "DER", "-in"])
            .arg(&cert))
        .stdout;
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        listener.set_nonblocking(true).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let expected = {
            use base64::Engine;
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
            )
        };
        let thread = {
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    match listener.accept() {
                        Ok((stream, _)) => {
                            let _ = serve_token(stream, &key, &der, &expected);
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(5)),
                    }
                }
            })
        };
        (
            TokenServer {
                port,
                stop,
                thread: Some(thread),
            },
            cert,
        )
    }
}

impl Drop for TokenServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("00");
                out.push(u8::from_str_radix(hex, 16).unwrap_or(b'?'));
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn serve_token(stream: TcpStream, key: &Path, der: &[u8], expected: &str) -> std::io::Result<()> {
    use base64::Engine;
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let mut authorization = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line == "\r\n" {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("authorization") {
                authorization = Some(value.trim().to_string());
            }
        }
    }
    let mut stream = stream;
    if authorization.as_deref() != Some(expected) {
        let body = r#"{"errors":[{"code":"UNAUTHORIZED","message":"bad credentials"}]}"#;
        write!(
            stream,
            "HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )?;
        return Ok(());
    }
    let target = request_line.split_whitespace().nth(1).unwrap_or("");
    let query = target.split_once('?').map_or("", |(_, q)| q);
    let mut access = Vec::new();
    for pair in query.split('&') {
        let Some((name, value)) = pair.split_once('=') else {
            continue;
        };
        if name != "scope" {
            continue;
        }
        let scope = percent_decode(value);
        let parts: Vec<&str> = scope.splitn(3, ':').collect();
        if let [kind, repo, actions] = parts.as_slice() {
            let actions: Vec<String> = actions.split(',').map(|a| format!("\"{a}\"")).collect();
            access.push(format!(
                r#"{{"type":"{kind}","name":"{repo}","actions":[{}]}}"#,
                actions.join(",")
            ));
        }
    }
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let header = format!(
        r#"{{"typ":"JWT","alg":"RS256","x5c":["{}"]}}"#,
        base64::engine::general_purpose::STANDARD.encode(der)
    );
    let claims = format!(
        r#"{{"iss":"layerscope-test-issuer","sub":"alice","aud":"layerscope-registry","exp":{},"nbf":{},"iat":{now},"jti":"{now}-{}","access":[{}]}}"#,
        now + 600,
        now - 10,
        access.len(),
        access.join(",")
    );
    let signing_input = format!("{}.{}", b64(header.as_bytes()), b64(claims.as_bytes()));
    let mut signer = Command::new("openssl")
        .args(["dgst", "-sha256", "-sign"])
        .arg(key)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    signer
        .stdin
        .take()
        .unwrap()
        .write_all(signing_input.as_bytes())?;
    let signature = signer.wait_with_output()?.stdout;
    let token = format!("{signing_input}.{}", b64(&signature));
    let body = format!(r#"{{"token":"{token}","expires_in":600}}"#);
    write!(
        stream,
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    Ok(())
}

#[test]
fn bearer_token_auth_from_a_token_server() {
    let Some((image, reference)) = small_fixture() else {
        return;
    };
    if !tools_present() {
        return;
    }
    let scratch = tempfile::tempdir().unwrap();
    let (server, cert) = TokenServer::start(scratch.path(), "alice", "token-pass");
    let registry = Registry::start(Auth::Token {
        realm: format!("http://127.0.0.1:{}/token", server.port),
        cert,
    });
    registry.push(&image, "small:v1", false, Some("alice:token-pass"));
    let name = format!("registry://{}/small:v1", registry.host());
    let env = Env::new(BIN);
    assert_listing(
        &env.ls(&name, &["--creds", "alice:token-pass"]),
        &reference,
        "bearer token",
    );
    let output = env.ls(&name, &["--creds", "alice:not-the-pass"]);
    let line = assert_one_line_error(&output, &registry.host(), "small");
    assert!(
        line.contains("token server refused") && line.contains("login"),
        "{line}"
    );
    assert!(!String::from_utf8_lossy(&output.stderr).contains("not-the-pass"));
    drop(registry);
    drop(server);
}

/// Runs `layerscope ARGS` with the environment of `env` on a pseudo-terminal (util-linux's
/// `script`), so that stderr is a TTY; returns what the terminal showed, or `None` when
/// `script` is missing.
fn on_a_terminal(env: &Env, args: &[&str], extra_env: &[(&str, &str)]) -> Option<String> {
    let available = Command::new("sh")
        .args(["-c", "command -v script"])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !available {
        eprintln!("note: util-linux's script is missing; the terminal check is skipped");
        return None;
    }
    let template = env.command();
    let scratch = tempfile::tempdir().unwrap();
    let log = scratch.path().join("terminal.log");
    let quoted: Vec<String> = std::iter::once(BIN)
        .chain(args.iter().copied())
        .map(|a| format!("'{a}'"))
        .collect();
    let mut command = Command::new("script");
    command.args([
        "-q",
        "-e",
        "-c",
        &format!("{} >/dev/null", quoted.join(" ")),
    ]);
    command.arg(&log).stdin(Stdio::null()).stdout(Stdio::null());
    for (key, value) in template.get_envs() {
        match value {
            Some(value) => command.env(key, value),
            None => command.env_remove(key),
        };
    }
    for (key, value) in extra_env {
        command.env(key, value);
    }
    let status = command.status().unwrap();
    assert!(status.success(), "layerscope on a terminal failed");
    Some(String::from_utf8_lossy(&std::fs::read(&log).unwrap()).into_owned())
}

#[test]
fn per_layer_progress_on_a_terminal_and_nothing_when_piped() {
    if !tools_present() {
        return;
    }
    let registry = Registry::start(Auth::None);
    let scratch = tempfile::tempdir().unwrap();
    let layout = big_layout(scratch.path(), 96 << 20);
    run(Command::new("skopeo")
        .args(["--insecure-policy", "copy", "-q", "--dest-tls-verify=false"])
        .arg(format!("oci:{}", layout.display()))
        .arg(format!("docker://{}/big:v1", registry.host())));
    let name = format!("registry://{}/big:v1", registry.host());

    // Piped: no progress at all.
    let env = Env::new(BIN);
    let output = env.ls(&name, &[]);
    assert!(output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !stderr.contains("layer   0") && !stderr.contains("B/s"),
        "progress on a pipe: {stderr}"
    );

    // On a terminal, with NO_COLOR: the layer's line with bytes, its size and a rate,
    // and no colour.
    let env = Env::new(BIN);
    let Some(screen) = on_a_terminal(&env, &["ls", &name], &[("NO_COLOR", "1")]) else {
        return;
    };
    // Frames are drawn in place; the layer's line is what follows its label, up to the
    // next escape or line end. The first frames may have no bytes yet.
    let line = screen
        .match_indices("layer   0 [")
        .map(|(at, _)| {
            let rest = &screen[at..];
            let end = rest.find(['\x1b', '\r', '\n']).unwrap_or(rest.len());
            &rest[..end]
        })
        .find(|l| l.contains(" / ") && l.contains("B/s"))
        .unwrap_or_else(|| panic!("no per-layer line with bytes and rate: {screen:?}"));
    // The layer blob is the 96 MiB file plus its tar headers: 100.7 MB.
    assert!(line.contains("/ 100.7 MB, "), "bytes of the size: {line}");
    assert!(!has_sgr(&screen), "colour under NO_COLOR: {screen:?}");
}

/// Whether `text` holds an SGR (colour or style) escape: ESC `[` digits and `;`, then `m`.
fn has_sgr(text: &str) -> bool {
    text.split("\x1b[").skip(1).any(|rest| {
        let end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == ';'))
            .unwrap_or(rest.len());
        rest[end..].starts_with('m')
    })
}
